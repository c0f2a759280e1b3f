//! `locks`: every server lock held across the fleet, of any owner — what
//! `apply` waits for, and what `unlock` breaks.

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions, Progress};
use crate::live::{Locks, ServerLocks};
use crate::session::Session;

/// Whose servers to read, and how.
#[derive(Debug, Clone)]
pub struct LocksRequest {
    pub source: SourceSpec,
    pub fleet: FleetOptions,
}

/// The locks held on every server of the config, servers concurrently;
/// a server that cannot be read has its `error` and does not stop the
/// others.
pub async fn locks(
    req: &LocksRequest,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Locks, Error> {
    let loaded = super::load(&req.source)?;
    let config = loaded.config;
    let mut session = Session::new(super::fleet_for(req.fleet, &config)?, cancel.clone());
    let mut read = session.held_locks(&config.servers, progress).await?;
    session.close().await;
    let servers = config
        .servers
        .iter()
        .map(|s| match read.remove(&s.name) {
            Some(Ok(locks)) => ServerLocks {
                server: s.name.clone(),
                locks,
                error: None,
            },
            Some(Err(e)) => ServerLocks {
                server: s.name.clone(),
                locks: Vec::new(),
                error: Some(e),
            },
            None => ServerLocks {
                server: s.name.clone(),
                locks: Vec::new(),
                error: Some("not read".to_string()),
            },
        })
        .collect();
    Ok(Locks {
        format_version: 1,
        owner: config.owner,
        servers,
    })
}

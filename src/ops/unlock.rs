//! `unlock`: break a server's lock left behind by a berth that is gone —
//! this config's owner's lock, and with `legacy` the `berth-lock` of a berth
//! from before locks were per owner.

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions};
use crate::config::{Config, Server};
use crate::docker::{LEGACY_LOCK_VOLUME, lock_volume};

/// Which locks to break.
#[derive(Debug, Clone)]
pub struct UnlockRequest {
    pub source: SourceSpec,
    pub server: String,
    /// Also break a legacy `berth-lock` (every owner's).
    pub legacy: bool,
    pub fleet: FleetOptions,
}

/// Whose locks were broken, if the server was locked.
#[derive(Debug)]
pub struct Unlocked {
    pub server: String,
    /// The config's owner: the lock `unlock` breaks is this owner's.
    pub owner: String,
    /// The holder of this owner's lock, when it was held:
    /// `root@ci-7 (pid 4242) since …, 3m 12s ago`
    pub holder: Option<String>,
    /// With `legacy`: the holder of the legacy `berth-lock`, when it was held.
    pub legacy_holder: Option<String>,
}

pub async fn unlock(req: &UnlockRequest, cancel: &CancellationToken) -> Result<Unlocked, Error> {
    let loaded = super::load(&req.source)?;
    let server = find_server(&loaded.config, &req.server)?;
    let owner = loaded.config.owner.clone();
    let work = async {
        let connection =
            crate::docker::connect(server, req.fleet.timeout, std::time::Duration::ZERO).await?;
        let client = &connection.client;
        let holder = client.unlock(&lock_volume(&owner), None).await?;
        let legacy_holder = match req.legacy {
            true => client.unlock(LEGACY_LOCK_VOLUME, None).await?,
            false => None,
        };
        Ok((holder, legacy_holder))
    };
    let (holder, legacy_holder) = tokio::select! {
        r = work => r.map_err(|e| Error::server(&server.name, &e))?,
        _ = cancel.cancelled() => return Err(Error::Interrupted),
    };
    Ok(Unlocked {
        server: server.name.clone(),
        owner,
        holder: holder.map(|h| h.to_string()),
        legacy_holder: legacy_holder.map(|h| h.to_string()),
    })
}

/// The declared server `name`, or an error listing the declared ones.
pub(super) fn find_server<'a>(config: &'a Config, name: &str) -> Result<&'a Server, Error> {
    config.server(name).ok_or_else(|| Error::UnknownServer {
        name: name.to_string(),
        known: config.servers.iter().map(|s| s.name.clone()).collect(),
    })
}

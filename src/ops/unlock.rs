//! `unlock`: break a server's lock left behind by a berth that is gone.

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions};
use crate::config::{Config, Server};

/// Whose lock was broken, if the server was locked.
#[derive(Debug)]
pub struct Unlocked {
    pub server: String,
    /// `root@ci-7 (pid 4242) since …, 3m 12s ago`
    pub holder: Option<String>,
}

pub async fn unlock(
    spec: &SourceSpec,
    server: &str,
    fleet: FleetOptions,
    cancel: &CancellationToken,
) -> Result<Unlocked, Error> {
    let loaded = super::load(spec)?;
    let server = find_server(&loaded.config, server)?;
    let work = async {
        let connection = crate::docker::connect(server, fleet.timeout).await?;
        connection.client.unlock(None).await
    };
    let holder = tokio::select! {
        r = work => r.map_err(|e| Error::server(&server.name, &e))?,
        _ = cancel.cancelled() => return Err(Error::Interrupted),
    };
    Ok(Unlocked {
        server: server.name.clone(),
        holder: holder.map(|h| h.to_string()),
    })
}

/// The declared server `name`, or an error listing the declared ones.
pub(super) fn find_server<'a>(config: &'a Config, name: &str) -> Result<&'a Server, Error> {
    config.server(name).ok_or_else(|| Error::UnknownServer {
        name: name.to_string(),
        known: config.servers.iter().map(|s| s.name.clone()).collect(),
    })
}

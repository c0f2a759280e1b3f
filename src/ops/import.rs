//! `import`: the config (TOML) for what runs on one declared server now.

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions};

pub async fn import(
    spec: &SourceSpec,
    server: &str,
    fleet: FleetOptions,
    cancel: &CancellationToken,
) -> Result<String, Error> {
    let loaded = super::load(spec)?;
    let server = super::unlock::find_server(&loaded.config, server)?;
    let read = async {
        let connection = crate::docker::connect(server, fleet.timeout).await?;
        let client = &connection.client;
        let mut snapshot = client.snapshot(false).await?;
        let details = client
            .inspect_many(crate::import::inspections(&snapshot))
            .await?;
        snapshot.enrich(details);
        Ok::<_, crate::docker::DockerError>(snapshot)
    };
    let snapshot = tokio::select! {
        r = read => r.map_err(|e| Error::server(&server.name, &e))?,
        _ = cancel.cancelled() => return Err(Error::Interrupted),
    };
    Ok(crate::import::import(&loaded.config, server, &snapshot))
}

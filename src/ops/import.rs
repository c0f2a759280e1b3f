//! `import`: the config (TOML) for what runs on one server now: a server
//! the config declares, or one named by its address alone (no config yet).

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions};
use crate::config::{Server, SourceFile};
use crate::source::SourceError;

/// The server to read.
#[derive(Debug, Clone)]
pub enum ImportFrom {
    /// A `[[server]]` of the config, by name.
    Declared(String),
    /// An address (`local`, `unix://…`, `ssh://…`), no config needed; the
    /// server is called `name`.
    Address { address: String, name: String },
}

impl ImportFrom {
    /// The server's name, as progress shows it.
    pub fn name(&self) -> &str {
        match self {
            ImportFrom::Declared(name) | ImportFrom::Address { name, .. } => name,
        }
    }
}

const NO_CONFIG: &str = "no config yet? `berth import --address local` (or `--address ssh://user@host`) reads a server without one; or write a berth.toml with a [[server]] table (name, address) and run `berth import --server NAME`";

pub async fn import(
    spec: &SourceSpec,
    from: &ImportFrom,
    fleet: FleetOptions,
    cancel: &CancellationToken,
) -> Result<String, Error> {
    let (owner, servers) = match from {
        ImportFrom::Declared(pattern) => {
            let loaded = super::load(spec).map_err(no_config_hint)?;
            let servers = match super::unlock::find_server(&loaded.config, pattern) {
                Ok(server) => vec![server.clone()],
                // A glob or `tag:` pattern: every server it matches, as one
                // config (a network alike on several is one destination).
                Err(not_a_name) if is_pattern(pattern) => {
                    let target = crate::plan::Target {
                        servers: vec![pattern.clone()],
                        ..Default::default()
                    };
                    let selection =
                        crate::plan::select(&loaded.config, &target).map_err(|_| not_a_name)?;
                    loaded
                        .config
                        .servers
                        .iter()
                        .filter(|s| selection.servers.contains(&s.name))
                        .cloned()
                        .collect()
                }
                Err(e) => return Err(e),
            };
            (Some(loaded.config.owner), servers)
        }
        ImportFrom::Address { address, name } => (None, vec![server_at(name, address)?]),
    };
    let reads = servers.iter().map(|server| async move {
        // `import` connects for the run only (no kept SSH master).
        let connection = crate::docker::connect(server, fleet.timeout, std::time::Duration::ZERO)
            .await
            .map_err(|e| Error::server(&server.name, &e))?;
        let client = &connection.client;
        let mut snapshot = client
            .snapshot(false)
            .await
            .map_err(|e| Error::server(&server.name, &e))?;
        let details = client
            .inspect_many(crate::import::inspections(&snapshot))
            .await
            .map_err(|e| Error::server(&server.name, &e))?;
        snapshot.enrich(details);
        Ok::<_, Error>(snapshot)
    });
    let snapshots = tokio::select! {
        r = futures_util::future::try_join_all(reads) => r?,
        _ = cancel.cancelled() => return Err(Error::Interrupted),
    };
    if let ([server], [snapshot]) = (servers.as_slice(), snapshots.as_slice()) {
        return Ok(crate::import::import(owner.as_deref(), server, snapshot));
    }
    let fleet: Vec<_> = servers.iter().zip(&snapshots).collect();
    Ok(crate::import::import_fleet(owner.as_deref(), &fleet))
}

/// A glob or a `tag:` pattern rather than one server's name.
fn is_pattern(s: &str) -> bool {
    s.starts_with("tag:") || s.contains(['*', '?', '['])
}

/// A directory without config files: say what to do first.
fn no_config_hint(e: Error) -> Error {
    match e {
        Error::Source {
            error: error @ SourceError::Empty { .. },
            ..
        } => Error::Source {
            error,
            hint: NO_CONFIG,
        },
        other => other,
    }
}

/// The server `--address` names, checked as a `[[server]]` table would be.
fn server_at(name: &str, address: &str) -> Result<Server, Error> {
    #[derive(serde::Serialize)]
    struct Table<'a> {
        server: [ServerTable<'a>; 1],
    }
    #[derive(serde::Serialize)]
    struct ServerTable<'a> {
        name: &'a str,
        address: &'a str,
    }
    let text = toml::to_string(&Table {
        server: [ServerTable { name, address }],
    })
    .map_err(|e| Error::Server {
        server: name.to_string(),
        message: format!("cannot use --server {name:?} --address {address:?}: {e}"),
        hint: None,
    })?;
    let config = crate::config::load(&[SourceFile {
        path: "(--server, --address)".into(),
        text,
    }])
    .map_err(Error::Config)?;
    config
        .servers
        .into_iter()
        .next()
        .ok_or_else(|| Error::UnknownServer {
            name: name.to_string(),
            known: Vec::new(),
        })
}

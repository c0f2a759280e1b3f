//! Reads the live state of every declared server, servers concurrently (at
//! most `parallelism` at once), and keeps the connections for `apply`. Two
//! rounds: the list calls of every server, then the few inspections the
//! whole picture calls for (aliases to compare, clone sources, what depends
//! on a network being removed). With a lock, each server's lock is taken
//! before it is read.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use crate::config::{Config, Server};
use crate::docker::{Client, DockerError, LockHolder};
use crate::live::{LiveState, Snapshot};

/// The live state and the open connection of each server that answered.
pub struct Refreshed {
    pub live: LiveState,
    pub clients: BTreeMap<String, Client>,
}

/// Per-server progress, for spinners.
pub trait Progress: Sync {
    fn server_started(&self, server: &str, doing: &str);
    fn server_done(&self, server: &str, ok: bool);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn server_started(&self, _: &str, _: &str) {}
    fn server_done(&self, _: &str, _: bool) {}
}

#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Servers read at once (protects sshd's MaxStartups).
    pub parallelism: usize,
    /// Take each server's lock (as this holder, waiting this long) first.
    pub lock: Option<(&'a LockHolder, Duration)>,
}

pub async fn refresh(config: &Config, opts: Options<'_>, progress: &dyn Progress) -> Refreshed {
    let reads = config.servers.iter().map(|server| async move {
        progress.server_started(&server.name, "reading");
        let result = read(config, server, opts).await;
        progress.server_done(&server.name, result.is_ok());
        (server.name.clone(), result)
    });
    let results: Vec<_> = stream::iter(reads)
        .buffer_unordered(opts.parallelism.max(1))
        .collect()
        .await;
    let mut live = LiveState::default();
    let mut clients = BTreeMap::new();
    for (name, result) in results {
        match result {
            Ok((client, snapshot)) => {
                clients.insert(name.clone(), client);
                live.servers.insert(name, Ok(snapshot));
            }
            Err(e) => {
                live.servers.insert(name, Err(e.full()));
            }
        }
    }

    let wanted: Vec<(String, Vec<String>)> = clients
        .keys()
        .map(|name| {
            (
                name.clone(),
                crate::plan::inspections(config, name, &live)
                    .into_iter()
                    .collect(),
            )
        })
        .filter(|(_, names): &(String, Vec<String>)| !names.is_empty())
        .collect();
    let inspections = wanted.into_iter().map(|(name, names)| {
        let client = clients[&name].clone();
        async move { (name, client.inspect_many(names).await) }
    });
    let details: Vec<_> = stream::iter(inspections)
        .buffer_unordered(opts.parallelism.max(1))
        .collect()
        .await;
    for (name, result) in details {
        match result {
            Ok(details) => {
                if let Some(Ok(snapshot)) = live.servers.get_mut(&name) {
                    snapshot.enrich(details);
                }
            }
            Err(e) => {
                clients.remove(&name);
                live.servers.insert(name, Err(e.full()));
            }
        }
    }
    Refreshed { live, clients }
}

async fn read(
    config: &Config,
    server: &Server,
    opts: Options<'_>,
) -> Result<(Client, Snapshot), DockerError> {
    let client = Client::open(server).await?;
    if let Some((me, timeout)) = opts.lock {
        crate::lock::acquire(&client, &server.name, me, timeout).await?;
    }
    let snapshot = client
        .snapshot(crate::plan::needs_images(config, &server.name))
        .await?;
    Ok((client, snapshot))
}

//! Reads the live state of every declared server, all servers at once, and
//! keeps the connections for `apply`. Two rounds: the list calls of every
//! server, then the few inspections the whole picture calls for (aliases
//! to compare, clone sources, dependencies of a removal).

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::config::Config;
use crate::docker::{Client, DockerError};
use crate::live::LiveState;

/// The live state and the open connection of each server that answered.
pub struct Refreshed {
    pub live: LiveState,
    pub clients: BTreeMap<String, Client>,
}

pub async fn refresh(config: &Config) -> Refreshed {
    let reads = config.servers.iter().map(|server| async move {
        let result = async {
            let client = Client::open(server).await?;
            let images = crate::plan::needs_images(config, &server.name);
            let snapshot = client.snapshot(images).await?;
            Ok::<_, DockerError>((client, snapshot))
        }
        .await;
        (server.name.clone(), result)
    });
    let mut live = LiveState::default();
    let mut clients = BTreeMap::new();
    for (name, result) in join_all(reads).await {
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
    for (name, result) in join_all(inspections).await {
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

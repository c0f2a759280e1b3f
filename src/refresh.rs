//! Reads the live state of every declared server, all servers at once, and
//! keeps the connections for `apply`.

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::config::Config;
use crate::docker::Client;
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
            let mut snapshot = client.snapshot().await?;
            let wanted = crate::plan::inspections(config, &server.name, &snapshot);
            if !wanted.is_empty() {
                snapshot.enrich(client.inspect_many(wanted).await?);
            }
            Ok::<_, crate::docker::DockerError>((client, snapshot))
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
    Refreshed { live, clients }
}

//! Forgotten networks: `berth forget` records on the server that berth no
//! longer manages a network it created, as a created, never-started
//! container (network mode `none`, like a journal) labelled with the
//! network's id and the owner. Docker never relabels a network, so the
//! marker says it instead; it is in the container list every plan reads,
//! so honouring it costs no extra call.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::{Client, DockerError, answer, read};
use crate::live::{Container, Network, labels};

/// What `forget_network` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgot {
    /// The marker was written now.
    Now { id: String, marker: String },
    /// Forgotten already: the marker is there.
    Already { id: String, marker: String },
    /// No network of that name.
    Missing,
    /// The network is not this owner's: berth does not manage it.
    NotOwned { owner: Option<String> },
    /// No image on the server to make the marker from.
    NoImage,
}

/// The marker's name for network `id` and `owner`: `berth-forgotten-`, the
/// id's first 12 digits and 6 bytes of the owner's SHA-256.
pub fn marker_name(id: &str, owner: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(owner.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("berth-forgotten-{}-{hash}", id.get(..12).unwrap_or(id))
}

/// Networks a marker of their own owner names read as not berth's: their
/// `berth.managed` label reads `forgotten`. Markers leave the container list.
pub(super) fn apply_markers(networks: &mut [Network], containers: &mut Vec<Container>) {
    let markers: Vec<(String, String)> = containers
        .iter()
        .filter_map(|c| {
            Some((
                c.label(labels::FORGOTTEN)?.to_string(),
                c.label(labels::OWNER)?.to_string(),
            ))
        })
        .collect();
    if markers.is_empty() {
        return;
    }
    containers.retain(|c| c.label(labels::FORGOTTEN).is_none());
    for n in networks {
        let forgotten = markers
            .iter()
            .any(|(id, owner)| *id == n.id && n.label(labels::OWNER) == Some(owner.as_str()));
        if forgotten {
            n.labels
                .insert(labels::MANAGED.to_string(), "forgotten".to_string());
        }
    }
}

impl Client {
    /// Records that `owner` no longer manages network `name` (see the
    /// module). Idempotent: a marker there already is `Forgot::Already`.
    pub async fn forget_network(&self, name: &str, owner: &str) -> Result<Forgot, DockerError> {
        let Some(net) = self.network_named(name).await? else {
            return Ok(Forgot::Missing);
        };
        let marker = marker_name(&net.id, owner);
        let containers: Vec<read::ContainerSummary> = self
            .get_json("/containers/json?all=true&size=false", "list containers")
            .await?;
        let containers: Vec<Container> = containers
            .into_iter()
            .map(read::ContainerSummary::into_live)
            .collect();
        let mine = |c: &Container| {
            c.label(labels::FORGOTTEN) == Some(net.id.as_str())
                && c.label(labels::OWNER) == Some(owner)
        };
        if containers.iter().any(mine) {
            return Ok(Forgot::Already { id: net.id, marker });
        }
        if !net.owned_by(owner) {
            return Ok(Forgot::NotOwned {
                owner: net.label(labels::OWNER).map(str::to_string),
            });
        }
        let image = match containers.iter().find(|c| !c.image_id.is_empty()) {
            Some(c) => c.image_id.clone(),
            None => {
                let images: Vec<read::ImageSummary> =
                    self.get_json("/images/json", "list images").await?;
                match images.into_iter().map(read::ImageSummary::into_live).next() {
                    Some(i) => i.id,
                    None => return Ok(Forgot::NoImage),
                }
            }
        };
        let labels = HashMap::from([
            (labels::OWNER.to_string(), owner.to_string()),
            (labels::FORGOTTEN.to_string(), net.id.clone()),
            (labels::FORGOTTEN_NETWORK.to_string(), name.to_string()),
        ]);
        let body = ContainerCreateBody {
            image: Some(image),
            cmd: Some(vec!["berth-forgotten: never started".to_string()]),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            network_disabled: Some(true),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&marker)
            .build();
        match self.docker.create_container(Some(opts), body).await {
            Ok(_) => Ok(Forgot::Now { id: net.id, marker }),
            // Its name is the network's and the owner's: written already.
            Err(e) if answer::exists(&e) => Ok(Forgot::Already { id: net.id, marker }),
            Err(e) => Err(self.fail(&format!("write marker {marker}"), &e)),
        }
    }
}

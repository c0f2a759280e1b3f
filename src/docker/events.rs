//! Docker's event stream, as plain data: the container, network and (on a
//! swarm manager) service events a watcher reacts to, through the same
//! connection (and SSH tunnel) as every other call.

use std::collections::HashMap;

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::{Stream, StreamExt};

use super::{Client, DockerError};
use crate::live::Event;

/// The events that can change what a plan says (a manager's service
/// events included: `create`, `update`, `remove`).
const CONTAINER_ACTIONS: [&str; 5] = ["create", "start", "die", "destroy", "rename"];
const NETWORK_ACTIONS: [&str; 4] = ["create", "destroy", "connect", "disconnect"];
const SERVICE_ACTIONS: [&str; 2] = ["update", "remove"];

impl Client {
    /// Every container create/start/die/destroy/rename, network
    /// create/destroy/connect/disconnect and service update/remove from now
    /// on. The stream ends (or
    /// yields an error) when the daemon or the connection goes.
    pub fn events(&self) -> impl Stream<Item = Result<Event, DockerError>> + use<'_> {
        let filters = HashMap::from([
            ("type", vec!["container", "network", "service"]),
            (
                "event",
                CONTAINER_ACTIONS
                    .iter()
                    .chain(NETWORK_ACTIONS.iter())
                    .chain(SERVICE_ACTIONS.iter())
                    .copied()
                    .collect(),
            ),
        ]);
        let opts = EventsOptionsBuilder::default().filters(&filters).build();
        self.docker.events(Some(opts)).map(move |e| {
            let e = e.map_err(|e| self.fail("follow events", &e))?;
            let kind = e.typ.map(|t| t.to_string()).unwrap_or_default();
            let (id, mut attributes) = e
                .actor
                .map(|a| (a.id.unwrap_or_default(), a.attributes.unwrap_or_default()))
                .unwrap_or_default();
            let name = attributes
                .remove("name")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| id.chars().take(12).collect());
            let container = attributes.remove("container");
            // `/old` on a rename: Docker's names keep their leading slash.
            let old_name = attributes
                .remove("oldName")
                .map(|n| n.trim_start_matches('/').to_string());
            // A container event carries the container's labels, beside
            // Docker's own `image` (and `exitCode`, `signal`, …).
            let labels = if kind == "container" {
                attributes.into_iter().collect()
            } else {
                Default::default()
            };
            Ok(Event {
                kind,
                action: e.action.unwrap_or_default(),
                id,
                name,
                labels,
                old_name,
                container,
            })
        })
    }
}

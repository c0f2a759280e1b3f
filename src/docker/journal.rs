//! Journals on the server: a created, never-started container (network
//! mode `none`) whose labels record what an interrupted change must leave
//! behind. It appears in the container list every plan reads, so finding
//! one costs no extra call.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
};

use super::{Client, DockerError, absent, answer};
use crate::live::labels;

impl Client {
    /// Writes a journal named `name` recording `record` (a JSON label) for
    /// `action`, as a container of `image` (one already on the server: the
    /// journal is never started, it only has to exist).
    pub async fn write_journal(
        &self,
        name: &str,
        owner: &str,
        action: &str,
        image: &str,
        record: String,
    ) -> Result<(), DockerError> {
        let labels: HashMap<String, String> = HashMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (labels::OWNER.to_string(), owner.to_string()),
            (labels::JOURNAL.to_string(), action.to_string()),
            (labels::JOURNAL_RECORD.to_string(), record),
        ]);
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            // Never run; Docker only wants a command to create it.
            cmd: Some(vec!["berth-journal: never started".to_string()]),
            labels: Some(labels.clone()),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            network_disabled: Some(true),
            ..Default::default()
        };
        let what = format!("write journal {name}");
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        let mut answer = self
            .docker
            .create_container(Some(opts.clone()), body.clone())
            .await;
        if crate::fault::sent("write_journal") {
            answer = self.docker.create_container(Some(opts), body).await;
        }
        match answer {
            Ok(_) => {}
            // Written already (its answer lost): done if it is this record.
            Err(e) if answer::exists(&e) => {
                let found = absent(
                    self.docker
                        .inspect_container(name, None::<InspectContainerOptions>)
                        .await,
                )
                .map_err(|e| self.fail(&what, &e))?
                .and_then(|c| c.config)
                .and_then(|c| c.labels)
                .unwrap_or_default();
                if found.get(labels::JOURNAL_RECORD) != labels.get(labels::JOURNAL_RECORD)
                    || found.get(labels::OWNER) != labels.get(labels::OWNER)
                {
                    return Err(self.fail(&what, &e));
                }
            }
            Err(e) => return Err(self.fail(&what, &e)),
        }
        crate::fault::point("journal.written");
        Ok(())
    }

    /// Removes a journal once its change is complete (gone already: done).
    pub async fn remove_journal(&self, name: &str) -> Result<(), DockerError> {
        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
        let mut answer = self.docker.remove_container(name, Some(opts.clone())).await;
        if crate::fault::sent("remove_journal") {
            answer = self.docker.remove_container(name, Some(opts)).await;
        }
        absent(answer)
            .map(drop)
            .map_err(|e| self.fail(&format!("remove journal {name}"), &e))
    }
}

/// A journal name unique to this change: `berth-journal-<nanos>`.
pub fn journal_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("berth-journal-{}-{}", std::process::id(), now.as_nanos())
}

//! Changing a manager's swarm services: a service's task networks set
//! through its spec (Swarm replaces the tasks; a network connected to a
//! task container by hand would be lost with the next task), a service
//! copied from another's spec, and how far the manager has got with either.
//!
//! Specs are read and sent back as the JSON Docker gave, changed only where
//! berth means to: a spec decoded into bollard's structs would lose fields
//! they do not know (an engine newer than bollard), and the update would
//! drop them from the service.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::swarm::{NetworkNames, RawTask, task};
use super::{Client, DockerError, VolumeRename};
use crate::live::labels;

/// A network a service's tasks join, with their aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAttachment {
    pub network: String,
    pub aliases: Vec<String>,
}

/// A new service made from another's spec.
pub struct ServiceCopy<'a> {
    pub source: &'a str,
    pub name: &'a str,
    /// Its one network, with its aliases.
    pub network: ServiceAttachment,
    /// Set over the source's labels.
    pub labels: BTreeMap<String, String>,
    /// Named volumes mounted under a fresh name.
    pub volumes: &'a [VolumeRename],
}

/// The update an earlier call started, to tell it from the updates before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMark {
    /// `UpdateStatus.StartedAt` before the update: the manager's record of
    /// the previous update.
    previous: Option<String>,
}

/// How far the manager has got with a change to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Every task runs the new spec.
    Converged,
    /// Still going: what the manager says.
    Progressing(String),
    /// The manager stopped (paused, or rolled back): its message.
    Failed(String),
}

impl Client {
    /// Sets the networks of `service`'s task template (and clears the
    /// deprecated service-level list, which would otherwise win): the
    /// manager starts a rolling update. Made against the version just read;
    /// a write in between (the manager's own, or another client's) is
    /// retried once on the new version. An update refused as out of
    /// sequence because it went through already (its answer lost, or sent
    /// twice) is done: the spec read again has these networks.
    pub async fn update_service_networks(
        &self,
        service: &str,
        networks: &[ServiceAttachment],
    ) -> Result<UpdateMark, DockerError> {
        let what = format!("update swarm service {service}");
        let mut tries = 0;
        loop {
            tries += 1;
            let current = self.service_json(service).await?;
            let version = current["Version"]["Index"].as_u64().unwrap_or(0);
            let mark = UpdateMark {
                previous: current["UpdateStatus"]["StartedAt"]
                    .as_str()
                    .map(str::to_string),
            };
            let mut spec = current["Spec"].clone();
            let Some(obj) = spec.as_object_mut() else {
                return Err(self.fail(&what, &no_spec(service)));
            };
            obj.remove("Networks");
            spec["TaskTemplate"]["Networks"] = attachments(networks);
            let path = format!(
                "/services/{}/update?version={version}",
                path_segment(service)
            );
            let mut answer = self.post_json(&path, &spec, &what).await;
            if crate::fault::sent("update_service") {
                answer = self.post_json(&path, &spec, &what).await;
            }
            match answer {
                Ok(_) => return Ok(mark),
                Err(e) if super::answer::out_of_sequence(&e) => {
                    if self.has_networks(service, networks).await? {
                        return Ok(mark);
                    }
                    if tries < 2 {
                        continue;
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Where the update `mark` was taken before stands.
    pub async fn update_progress(
        &self,
        service: &str,
        mark: &UpdateMark,
    ) -> Result<Progress, DockerError> {
        let current = self.service_json(service).await?;
        let status = &current["UpdateStatus"];
        let started = status["StartedAt"].as_str().map(str::to_string);
        if started.is_none() || started == mark.previous {
            return Ok(Progress::Progressing(
                "waiting for the manager to start the update".to_string(),
            ));
        }
        let message = status["Message"].as_str().unwrap_or_default().to_string();
        Ok(match status["State"].as_str().unwrap_or_default() {
            "completed" => Progress::Converged,
            "paused" | "rollback_paused" | "rollback_completed" => Progress::Failed(message),
            _ => Progress::Progressing(message),
        })
    }

    /// Creates a service from `copy.source`'s spec: its name, labels,
    /// volumes and one network changed, published ports dropped (the
    /// source holds them on every node). Returns the new service's id.
    pub async fn create_service_copy(&self, copy: &ServiceCopy<'_>) -> Result<String, DockerError> {
        let what = format!("create swarm service {}", copy.name);
        let source = self.service_json(copy.source).await?;
        let mut spec = source["Spec"].clone();
        if !spec.is_object() {
            return Err(self.fail(&what, &no_spec(copy.source)));
        }
        copy_spec(&mut spec, copy);
        let send = || self.exchange_json(hyper::Method::POST, "/services/create", &spec);
        let mut answer = send().await;
        if crate::fault::sent("create_service") {
            answer = send().await;
        }
        let e = match answer {
            Ok(body) => {
                let created: Value = self.decode(&body, &what)?;
                return Ok(created["ID"].as_str().unwrap_or_default().to_string());
            }
            Err(e) if super::answer::exists(&e) => e,
            Err(e) => return Err(self.fail(&what, &e)),
        };
        // Made already (its answer lost, or sent twice): done if the
        // service of that name is this copy, by its labels (owner,
        // destination, resource, the service it copies).
        let found: Option<Value> = self
            .get_json_opt(
                &format!("/services/{}", path_segment(copy.name)),
                &format!("inspect swarm service {}", copy.name),
            )
            .await?;
        let Some(found) = found else {
            return Err(self.fail(&what, &e));
        };
        let have = &found["Spec"]["Labels"];
        if copy
            .labels
            .iter()
            .all(|(k, v)| have[k.as_str()].as_str() == Some(v.as_str()))
        {
            return Ok(found["ID"].as_str().unwrap_or_default().to_string());
        }
        Err(DockerError::Api {
            what,
            status: None,
            message: format!(
                "a swarm service named {name} exists and is not this clone ({theirs}); berth leaves it alone: remove it (`docker service rm {name}`) or give the clone another `swarm_service`",
                name = copy.name,
                theirs = not_this_copy(have, &copy.labels),
            ),
        })
    }

    /// How far a new service's tasks have got: as many running as its
    /// replicas (a global service: every task meant to run).
    pub async fn tasks_progress(&self, service: &str) -> Result<Progress, DockerError> {
        let spec = self.service_json(service).await?;
        let wanted = spec["Spec"]["Mode"]["Replicated"]["Replicas"].as_u64();
        let filters = json!({ "service": [service] }).to_string();
        let path = format!("/tasks?filters={}", query_value(&filters));
        let raw: Vec<RawTask> = self
            .get_json(&path, &format!("list the tasks of swarm service {service}"))
            .await?;
        let names = NetworkNames::new(&[]);
        let tasks: Vec<_> = raw.into_iter().map(|t| task(t, &names)).collect();
        let (meant, running) = crate::live::swarm::meant_to_run(tasks.iter());
        let want = wanted.unwrap_or(meant.len() as u64);
        if running >= want && (wanted.is_some() || !meant.is_empty()) {
            return Ok(Progress::Converged);
        }
        let error = tasks.iter().rev().find_map(|t| t.error.clone());
        Ok(Progress::Progressing(match error {
            Some(e) => format!("{running} of {want} task(s) running; last task error: {e}"),
            None => format!("{running} of {want} task(s) running"),
        }))
    }

    /// Whether `service`'s task template names exactly `networks` (by name
    /// or id), with their aliases, and no service-level list.
    async fn has_networks(
        &self,
        service: &str,
        networks: &[ServiceAttachment],
    ) -> Result<bool, DockerError> {
        let current = self.service_json(service).await?;
        let spec = &current["Spec"];
        if spec["Networks"].as_array().is_some_and(|n| !n.is_empty()) {
            return Ok(false);
        }
        let live = spec["TaskTemplate"]["Networks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if live.len() != networks.len() {
            return Ok(false);
        }
        let mut have = Vec::new();
        for n in &live {
            let target = n["Target"].as_str().unwrap_or_default();
            let name: Option<Value> = self
                .get_json_opt(
                    &format!("/networks/{}", path_segment(target)),
                    &format!("inspect network {target}"),
                )
                .await?;
            let name = name
                .and_then(|v| v["Name"].as_str().map(str::to_string))
                .unwrap_or_else(|| target.to_string());
            let mut aliases: Vec<String> = n["Aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect();
            aliases.sort();
            have.push((name, aliases));
        }
        let mut want: Vec<(String, Vec<String>)> = networks
            .iter()
            .map(|n| {
                let mut aliases = n.aliases.clone();
                aliases.sort();
                (n.network.clone(), aliases)
            })
            .collect();
        have.sort();
        want.sort();
        Ok(have == want)
    }

    async fn service_json(&self, service: &str) -> Result<Value, DockerError> {
        self.get_json(
            &format!("/services/{}", path_segment(service)),
            &format!("inspect swarm service {service}"),
        )
        .await
    }
}

/// The spec of `copy`, changed from its source's in place.
fn copy_spec(spec: &mut Value, copy: &ServiceCopy<'_>) {
    spec["Name"] = json!(copy.name);
    let mut service_labels = drop_stack_labels(&spec["Labels"]);
    service_labels.extend(copy.labels.clone());
    spec["Labels"] = json!(service_labels);
    if let Some(obj) = spec.as_object_mut() {
        obj.remove("Networks");
    }
    spec["TaskTemplate"]["Networks"] = attachments(std::slice::from_ref(&copy.network));
    let container = &mut spec["TaskTemplate"]["ContainerSpec"];
    container["Labels"] = json!(drop_stack_labels(&container["Labels"]));
    if let Some(mounts) = container["Mounts"].as_array_mut() {
        for m in mounts {
            if m["Type"].as_str() != Some("volume") {
                continue;
            }
            let source = m["Source"].as_str().unwrap_or_default();
            if let Some(r) = copy.volumes.iter().find(|r| r.source == source) {
                m["Source"] = json!(r.target);
            }
            if m["VolumeOptions"]["Labels"].is_object() {
                m["VolumeOptions"]["Labels"] =
                    json!(drop_stack_labels(&m["VolumeOptions"]["Labels"]));
            }
        }
    }
    if let Some(endpoint) = spec["EndpointSpec"].as_object_mut() {
        endpoint.remove("Ports");
    }
}

/// How a service's labels `have` differ from the copy's `want`: the first
/// label that does, or that it carries none of berth's.
fn not_this_copy(have: &Value, want: &BTreeMap<String, String>) -> String {
    if want.keys().all(|k| have[k.as_str()].as_str().is_none()) {
        return "it carries no berth labels".to_string();
    }
    want.iter()
        .find(|(k, v)| have[k.as_str()].as_str() != Some(v.as_str()))
        .map(|(k, v)| match have[k.as_str()].as_str() {
            Some(theirs) => format!("its {k} is {}, this clone's {v}", labels::printable(theirs)),
            None => format!("it has no {k} label, this clone's is {v}"),
        })
        .unwrap_or_default()
}

/// Labels without the ones that make a service part of a `docker stack`.
fn drop_stack_labels(labels: &Value) -> BTreeMap<String, String> {
    labels
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with("com.docker.stack."))
        .filter(|(k, _)| k.as_str() != labels::STACK_NAMESPACE)
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

fn attachments(networks: &[ServiceAttachment]) -> Value {
    Value::Array(
        networks
            .iter()
            .map(|n| json!({ "Target": n.network, "Aliases": n.aliases }))
            .collect(),
    )
}

fn no_spec(service: &str) -> bollard::errors::Error {
    bollard::errors::Error::DockerResponseServerError {
        status_code: 500,
        message: format!("the manager's answer for service {service} has no spec"),
    }
}

/// A name as one segment of a request path (service names are
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; anything else is escaped).
pub(super) fn path_segment(name: &str) -> String {
    query_value(name)
}

/// Percent-encodes everything but unreserved characters.
pub(super) fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_keeps_the_spec_but_what_berth_changes() {
        let mut spec = json!({
            "Name": "web_api",
            "Labels": {"com.docker.stack.namespace": "web", "com.docker.stack.image": "x", "team": "a"},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": "busybox",
                    "Labels": {"com.docker.stack.namespace": "web"},
                    "Mounts": [
                        {"Type": "volume", "Source": "web_data", "Target": "/data",
                         "VolumeOptions": {"Labels": {"com.docker.stack.namespace": "web"}}},
                        {"Type": "bind", "Source": "/srv", "Target": "/srv"}
                    ],
                    "FutureField": 7
                },
                "Networks": [{"Target": "abc", "Aliases": ["api"]}]
            },
            "Networks": [{"Target": "old"}],
            "EndpointSpec": {"Mode": "dnsrr", "Ports": [{"PublishedPort": 80, "TargetPort": 80}]},
            "Mode": {"Replicated": {"Replicas": 2}}
        });
        let volumes = [VolumeRename {
            source: "web_data".into(),
            target: "web_data-copy".into(),
        }];
        let copy = ServiceCopy {
            source: "web_api",
            name: "api-copy",
            network: ServiceAttachment {
                network: "dest".into(),
                aliases: vec!["api-copy".into()],
            },
            labels: BTreeMap::from([(labels::CLONE_OF.to_string(), "api".to_string())]),
            volumes: &volumes,
        };
        copy_spec(&mut spec, &copy);
        assert_eq!(spec["Name"], "api-copy");
        assert_eq!(
            spec["Labels"],
            json!({"berth.clone-of": "api", "team": "a"})
        );
        assert_eq!(
            spec["TaskTemplate"]["Networks"],
            json!([{"Target": "dest", "Aliases": ["api-copy"]}])
        );
        assert!(spec.get("Networks").is_none());
        let c = &spec["TaskTemplate"]["ContainerSpec"];
        assert_eq!(c["Labels"], json!({}));
        assert_eq!(c["Mounts"][0]["Source"], "web_data-copy");
        assert_eq!(c["Mounts"][0]["VolumeOptions"]["Labels"], json!({}));
        assert_eq!(c["Mounts"][1]["Source"], "/srv");
        assert_eq!(c["FutureField"], 7, "fields berth does not know are kept");
        assert_eq!(spec["EndpointSpec"], json!({"Mode": "dnsrr"}));
        assert_eq!(spec["Mode"], json!({"Replicated": {"Replicas": 2}}));
    }

    #[test]
    fn a_service_not_this_copy_is_told_by_its_first_differing_label() {
        let want = labels::of_copy("me", "d2", ("application", "api-copy"), "api");
        assert_eq!(
            not_this_copy(&json!({"team": "a"}), &want),
            "it carries no berth labels"
        );
        let mut theirs: serde_json::Map<String, Value> =
            want.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        theirs.insert(labels::OWNER.to_string(), json!("someone\u{1b}[2J"));
        assert_eq!(
            not_this_copy(&Value::Object(theirs), &want),
            "its berth.owner is someone\\u{1b}[2J, this clone's me"
        );
        let theirs = json!({(labels::OWNER): "me"});
        assert_eq!(
            not_this_copy(&theirs, &want),
            "it has no berth.clone-of label, this clone's is api"
        );
    }

    #[test]
    fn names_are_escaped_in_paths() {
        assert_eq!(path_segment("web_api.1"), "web_api.1");
        assert_eq!(path_segment("a/../b"), "a%2F..%2Fb");
        assert_eq!(query_value(r#"{"a":1}"#), "%7B%22a%22%3A1%7D");
    }
}

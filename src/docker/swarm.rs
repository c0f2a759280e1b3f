//! Reading a swarm manager: nodes, services and tasks into `live::swarm`.
//!
//! Whether the engine is a manager is learnt from the nodes list itself:
//! `GET /nodes` answers 503 on an engine outside any swarm and on a worker
//! ("This node is not a swarm manager"), so it is asked beside the networks
//! and containers lists: on a manager it costs nothing more, elsewhere one
//! refusal (under a millisecond here; `/info` would cost the same call on
//! every server, and 10-15 ms and 2-4 KB of answer). A manager that has
//! lost its quorum answers 500 ("The swarm does not have a leader"): an
//! error, not "no swarm". On a manager, services and tasks follow: five
//! list calls in all, whatever the number of services and tasks.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::read::nullable;
use super::{Client, DockerError};
use crate::live::swarm::{
    Availability, EndpointMode, FailureAction, Node, NodeRole, NodeState, Service, ServiceMode,
    ServiceNetwork, Swarm, Task, TaskNetwork, TaskState, UpdateConfig, UpdateOrder, UpdateState,
};
use crate::live::{Mount, Network};

/// Every task, service tasks and the network attachments of standalone
/// containers (Docker lists container tasks alone unless asked):
/// `filters={"runtime":["container","attachment"]}`.
const TASKS_PATH: &str =
    "/tasks?filters=%7B%22runtime%22%3A%5B%22container%22%2C%22attachment%22%5D%7D";

impl Client {
    /// The swarm's nodes; `None` when this engine is not a swarm manager.
    pub(super) async fn swarm_nodes(&self) -> Result<Option<Vec<Node>>, DockerError> {
        let what = "list swarm nodes";
        match self.get_raw("/nodes").await {
            Ok(body) => {
                let nodes: Vec<RawNode> = self.decode(&body, what)?;
                let mut nodes: Vec<Node> = nodes.into_iter().map(node).collect();
                nodes.sort_by(|a, b| (&a.hostname, &a.id).cmp(&(&b.hostname, &b.id)));
                Ok(Some(nodes))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 503, ..
            }) => Ok(None),
            Err(e) => Err(self.fail(what, &e)),
        }
    }

    /// The rest of a manager's swarm: services and tasks (two calls), their
    /// network ids resolved with the server's network list.
    pub(super) async fn swarm(
        &self,
        nodes: Vec<Node>,
        networks: &[Network],
    ) -> Result<Swarm, DockerError> {
        let (services, tasks) = tokio::try_join!(
            self.get_json::<Vec<RawService>>("/services", "list swarm services"),
            // bollard's `Task` lacks `NetworksAttachments` (the tasks'
            // addresses): read the list as Docker sends it.
            self.get_json::<Vec<RawTask>>(TASKS_PATH, "list swarm tasks"),
        )?;
        let names = NetworkNames::new(networks);
        let mut services: Vec<Service> = services.into_iter().map(|s| service(s, &names)).collect();
        services.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let order: HashMap<&str, usize> = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut tasks: Vec<Task> = tasks.into_iter().map(|t| task(t, &names)).collect();
        tasks.sort_by_key(|t| {
            let service = t.service_id.as_deref().and_then(|s| order.get(s).copied());
            (service.is_none(), service, t.slot, t.id.clone())
        });
        Ok(Swarm {
            nodes,
            services,
            tasks,
        })
    }
}

/// A network's `(name, id)` by its id or its name, from the server's
/// network list (a manager lists every swarm-scoped network).
pub(super) struct NetworkNames(HashMap<String, (String, String)>);

impl NetworkNames {
    pub(super) fn new(networks: &[Network]) -> Self {
        let mut map = HashMap::new();
        for n in networks {
            map.insert(n.name.clone(), (n.name.clone(), n.id.clone()));
        }
        for n in networks {
            map.insert(n.id.clone(), (n.name.clone(), n.id.clone()));
        }
        NetworkNames(map)
    }

    /// `(name, id)` of a spec's target (an id, or a name as given at
    /// create); the target itself for both when no listed network matches.
    fn resolve(&self, target: &str) -> (String, String) {
        self.0
            .get(target)
            .cloned()
            .unwrap_or_else(|| (target.to_string(), target.to_string()))
    }
}

fn node(n: RawNode) -> Node {
    Node {
        id: n.id,
        hostname: n.description.hostname,
        role: match n.spec.role.as_str() {
            "manager" => NodeRole::Manager,
            _ => NodeRole::Worker,
        },
        availability: match n.spec.availability.as_str() {
            "pause" => Availability::Pause,
            "drain" => Availability::Drain,
            _ => Availability::Active,
        },
        state: match n.status.state.as_str() {
            "ready" => NodeState::Ready,
            "down" => NodeState::Down,
            "disconnected" => NodeState::Disconnected,
            _ => NodeState::Unknown,
        },
        address: Some(n.status.addr).filter(|a| !a.is_empty()),
        leader: n.manager_status.leader,
        labels: n.spec.labels,
    }
}

fn service(s: RawService, names: &NetworkNames) -> Service {
    let spec = s.spec;
    let template = spec.task_template;
    let container = template.container_spec;
    // Services made through the deprecated top-level `Networks` (API < 1.44
    // keeps them there) have none in the task template.
    let attachments = if template.networks.is_empty() {
        spec.networks
    } else {
        template.networks
    };
    let mut networks: Vec<ServiceNetwork> = attachments
        .into_iter()
        .filter_map(|a| {
            let (network, id) = names.resolve(a.target.as_deref()?);
            Some(ServiceNetwork {
                network,
                id,
                aliases: a.aliases,
            })
        })
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    let mode = spec.mode;
    let mode = if mode.global.is_some() {
        ServiceMode::Global
    } else if mode.replicated_job.is_some() {
        ServiceMode::ReplicatedJob
    } else if mode.global_job.is_some() {
        ServiceMode::GlobalJob
    } else {
        ServiceMode::Replicated {
            replicas: mode
                .replicated
                .and_then(|r| r.replicas)
                .map_or(1, |r| r.max(0) as u64),
        }
    };
    let update = spec.update_config.map(|u| UpdateConfig {
        parallelism: u.parallelism.max(0) as u64,
        order: match u.order.as_str() {
            "start-first" => UpdateOrder::StartFirst,
            _ => UpdateOrder::StopFirst,
        },
        failure_action: match u.failure_action.as_str() {
            "continue" => FailureAction::Continue,
            "rollback" => FailureAction::Rollback,
            _ => FailureAction::Pause,
        },
    });
    let update_state = match s.update_status.state.as_str() {
        "updating" => Some(UpdateState::Updating),
        "paused" => Some(UpdateState::Paused),
        "completed" => Some(UpdateState::Completed),
        "rollback_started" => Some(UpdateState::RollbackStarted),
        "rollback_paused" => Some(UpdateState::RollbackPaused),
        "rollback_completed" => Some(UpdateState::RollbackCompleted),
        _ => None,
    };
    let mounts = container
        .mounts
        .into_iter()
        .filter_map(|m| {
            let path = m.target?;
            match m.typ.as_str() {
                // A volume without a source is anonymous: the task's own.
                "volume" => Some(Mount::Volume {
                    name: m.source.filter(|s| !s.is_empty())?,
                    path,
                }),
                "bind" => Some(Mount::Bind {
                    source: m.source?,
                    path,
                }),
                _ => None,
            }
        })
        .collect();
    let published_ports = spec
        .endpoint_spec
        .ports
        .into_iter()
        .filter_map(|p| {
            let protocol = Some(p.protocol)
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "tcp".to_string());
            Some(format!(
                "{}:{}/{protocol}",
                p.published_port?, p.target_port
            ))
        })
        .collect();
    Service {
        id: s.id,
        name: spec.name,
        version: s.version.index,
        labels: spec.labels,
        image: container.image,
        mode,
        networks,
        endpoint_mode: match spec.endpoint_spec.mode.as_str() {
            "dnsrr" => EndpointMode::Dnsrr,
            _ => EndpointMode::Vip,
        },
        published_ports,
        update,
        update_state,
        mounts,
    }
}

pub(super) fn task(t: RawTask, names: &NetworkNames) -> Task {
    let status = t.status.unwrap_or_default();
    let spec = t.spec.unwrap_or_default();
    let container_id = status
        .container_status
        .and_then(|c| c.container_id)
        .or(spec.network_attachment_spec.and_then(|a| a.container_id))
        .filter(|c| !c.is_empty());
    let attachments = t.networks_attachments.unwrap_or_default();
    // Addresses come once the network is allocated; until then, the
    // networks the task is meant to join.
    let mut networks: Vec<TaskNetwork> = if attachments.is_empty() {
        spec.networks
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| {
                let (network, id) = names.resolve(n.target.as_deref()?);
                Some(TaskNetwork {
                    network,
                    id,
                    addresses: Vec::new(),
                })
            })
            .collect()
    } else {
        attachments
            .into_iter()
            .map(|a| {
                let net = a.network.unwrap_or_default();
                let id = net.id.unwrap_or_default();
                let name = net
                    .spec
                    .and_then(|s| s.name)
                    .unwrap_or_else(|| names.resolve(&id).0);
                TaskNetwork {
                    network: name,
                    id,
                    addresses: a
                        .addresses
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|a| a.parse().ok())
                        .collect(),
                }
            })
            .collect()
    };
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    Task {
        id: t.id,
        service_id: t.service_id.filter(|s| !s.is_empty()),
        slot: t.slot.filter(|s| *s > 0),
        node_id: t.node_id.filter(|n| !n.is_empty()),
        desired_state: TaskState::parse(t.desired_state.as_deref().unwrap_or("")),
        state: TaskState::parse(status.state.as_deref().unwrap_or("")),
        error: status.err.filter(|e| !e.is_empty()),
        container_id,
        networks,
    }
}

// The fields of `GET /nodes` berth reads, as Docker sends them.

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNode {
    #[serde(rename = "ID", default, deserialize_with = "nullable")]
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    description: RawNodeDescription,
    #[serde(default, deserialize_with = "nullable")]
    spec: RawNodeSpec,
    #[serde(default, deserialize_with = "nullable")]
    status: RawNodeStatus,
    #[serde(default, deserialize_with = "nullable")]
    manager_status: RawManagerStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawNodeDescription {
    #[serde(default, deserialize_with = "nullable")]
    hostname: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawNodeSpec {
    #[serde(default, deserialize_with = "nullable")]
    role: String,
    #[serde(default, deserialize_with = "nullable")]
    availability: String,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawNodeStatus {
    #[serde(default, deserialize_with = "nullable")]
    state: String,
    #[serde(default, deserialize_with = "nullable")]
    addr: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawManagerStatus {
    #[serde(default, deserialize_with = "nullable")]
    leader: bool,
}

// The fields of `GET /services` berth reads, as Docker sends them.

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawService {
    #[serde(rename = "ID", default, deserialize_with = "nullable")]
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    version: RawVersion,
    #[serde(default, deserialize_with = "nullable")]
    spec: RawServiceSpec,
    #[serde(default, deserialize_with = "nullable")]
    update_status: RawUpdateStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawVersion {
    #[serde(default, deserialize_with = "nullable")]
    index: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawServiceSpec {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    task_template: RawTaskTemplate,
    #[serde(default, deserialize_with = "nullable")]
    mode: RawMode,
    #[serde(default)]
    update_config: Option<RawUpdateConfig>,
    /// Deprecated (API < 1.44 keeps services' networks here).
    #[serde(default, deserialize_with = "nullable")]
    networks: Vec<RawServiceAttachment>,
    #[serde(default, deserialize_with = "nullable")]
    endpoint_spec: RawEndpointSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawTaskTemplate {
    #[serde(default, deserialize_with = "nullable")]
    container_spec: RawContainerSpec,
    #[serde(default, deserialize_with = "nullable")]
    networks: Vec<RawServiceAttachment>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawContainerSpec {
    #[serde(default, deserialize_with = "nullable")]
    image: String,
    #[serde(default, deserialize_with = "nullable")]
    mounts: Vec<RawServiceMount>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawServiceMount {
    #[serde(rename = "Type", default, deserialize_with = "nullable")]
    typ: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawServiceAttachment {
    #[serde(default)]
    target: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    aliases: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawMode {
    #[serde(default)]
    replicated: Option<RawReplicated>,
    #[serde(default)]
    global: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    replicated_job: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    global_job: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawReplicated {
    #[serde(default)]
    replicas: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawUpdateConfig {
    #[serde(default, deserialize_with = "nullable")]
    parallelism: i64,
    #[serde(default, deserialize_with = "nullable")]
    order: String,
    #[serde(default, deserialize_with = "nullable")]
    failure_action: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawUpdateStatus {
    #[serde(default, deserialize_with = "nullable")]
    state: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawEndpointSpec {
    #[serde(default, deserialize_with = "nullable")]
    mode: String,
    #[serde(default, deserialize_with = "nullable")]
    ports: Vec<RawPort>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPort {
    #[serde(default, deserialize_with = "nullable")]
    protocol: String,
    #[serde(default, deserialize_with = "nullable")]
    target_port: u64,
    #[serde(default)]
    published_port: Option<u64>,
}

// The fields of `GET /tasks` berth reads, as Docker sends them.

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawTask {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "ServiceID", default)]
    service_id: Option<String>,
    #[serde(default)]
    slot: Option<u64>,
    #[serde(rename = "NodeID", default)]
    node_id: Option<String>,
    #[serde(default)]
    desired_state: Option<String>,
    #[serde(default)]
    status: Option<RawTaskStatus>,
    #[serde(default)]
    spec: Option<RawTaskSpec>,
    #[serde(default)]
    networks_attachments: Option<Vec<RawAttachment>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawTaskStatus {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    err: Option<String>,
    #[serde(default)]
    container_status: Option<RawContainerStatus>,
}

#[derive(Deserialize)]
struct RawContainerStatus {
    #[serde(rename = "ContainerID", default)]
    container_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawTaskSpec {
    #[serde(default)]
    network_attachment_spec: Option<RawContainerStatus>,
    #[serde(default)]
    networks: Option<Vec<RawTarget>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawTarget {
    #[serde(default)]
    target: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawAttachment {
    #[serde(default)]
    network: Option<RawAttachedNetwork>,
    #[serde(default)]
    addresses: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawAttachedNetwork {
    #[serde(rename = "ID", default)]
    id: Option<String>,
    #[serde(default)]
    spec: Option<RawNetworkSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawNetworkSpec {
    #[serde(default)]
    name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlay(name: &str, id: &str) -> Network {
        Network {
            id: id.into(),
            name: name.into(),
            driver: "overlay".into(),
            internal: false,
            attachable: true,
            enable_ipv6: false,
            options: Default::default(),
            ipam: Vec::new(),
            labels: Default::default(),
            ..Default::default()
        }
    }

    // Trimmed from Engine 20.10's `GET /tasks`: a service's running task,
    // a standalone container's attachment, and a task not yet scheduled.
    const TASKS: &str = r#"[
      {"ID": "1xbpham8266rr058rb5t63o2l", "Version": {"Index": 110},
       "Spec": {"ContainerSpec": {"Image": "berth-test/busybox:1"},
                "Networks": [{"Target": "s10q29jnh6y1k78rkdpor1szq"},
                             {"Target": "xgn8kf64kxozbm40ja9xme6ja", "Aliases": ["webalias"]}],
                "ForceUpdate": 0},
       "ServiceID": "i9btb1j1im05zmwpc4511a02d", "Slot": 3,
       "NodeID": "u8x3ma486mszfmxg1thp7a4ps",
       "Status": {"Timestamp": "2026-11-29T03:19:51.98363577Z", "State": "running",
                  "Message": "started",
                  "ContainerStatus": {"ContainerID": "25b40d0243c6", "PID": 21898, "ExitCode": 0},
                  "PortStatus": {}},
       "DesiredState": "running",
       "NetworksAttachments": [
         {"Network": {"ID": "xgn8kf64kxozbm40ja9xme6ja", "Spec": {"Name": "ov2"}},
          "Addresses": ["10.0.2.9/24"]},
         {"Network": {"ID": "s10q29jnh6y1k78rkdpor1szq", "Spec": {"Name": "ov1"}},
          "Addresses": ["10.0.1.12/24"]}]},
      {"ID": "86hdpc8zw4sue1g0br6jw8v6z", "Labels": {},
       "Spec": {"NetworkAttachmentSpec": {"ContainerID": "83841bac5a48"},
                "Networks": [{"Target": "srgvbnpg1z9g20ikj1h1cr5r1"}],
                "ForceUpdate": 0, "Runtime": "attachment"},
       "NodeID": "rmc3la6neiwfjmgc3ddvdaupw",
       "Status": {"State": "running", "Message": "started", "PortStatus": {}},
       "DesiredState": "running",
       "NetworksAttachments": [
         {"Network": {"ID": "srgvbnpg1z9g20ikj1h1cr5r1", "Spec": {"Name": "ov4"}},
          "Addresses": ["10.0.4.2/24"]}]},
      {"ID": "pending0000000000000000000",
       "Spec": {"Networks": [{"Target": "s10q29jnh6y1k78rkdpor1szq"}]},
       "ServiceID": "i9btb1j1im05zmwpc4511a02d", "Slot": 1, "NodeID": "",
       "Status": {"State": "pending", "Err": "no suitable node", "ContainerStatus": null},
       "DesiredState": "running", "NetworksAttachments": null}
    ]"#;

    #[test]
    fn tasks_read_as_docker_sends_them() {
        let networks = [
            overlay("ov1", "s10q29jnh6y1k78rkdpor1szq"),
            overlay("ov2", "xgn8kf64kxozbm40ja9xme6ja"),
        ];
        let names = NetworkNames::new(&networks);
        let raw: Vec<RawTask> = serde_json::from_str(TASKS).expect("tasks JSON");
        let tasks: Vec<Task> = raw.into_iter().map(|t| task(t, &names)).collect();

        let running = &tasks[0];
        assert_eq!(
            running.service_id.as_deref(),
            Some("i9btb1j1im05zmwpc4511a02d")
        );
        assert_eq!(running.slot, Some(3));
        assert_eq!(
            (&running.state, &running.desired_state),
            (&TaskState::Running, &TaskState::Running)
        );
        assert_eq!(running.container_id.as_deref(), Some("25b40d0243c6"));
        let shown: Vec<(&str, String)> = running
            .networks
            .iter()
            .map(|n| (n.network.as_str(), n.addresses[0].to_string()))
            .collect();
        assert_eq!(
            shown,
            [
                ("ov1", "10.0.1.12/24".into()),
                ("ov2", "10.0.2.9/24".into())
            ]
        );

        let attachment = &tasks[1];
        assert!(attachment.is_attachment());
        assert_eq!(attachment.container_id.as_deref(), Some("83841bac5a48"));
        assert_eq!(
            attachment.networks[0].network, "ov4",
            "named by the attachment itself"
        );

        let pending = &tasks[2];
        assert_eq!(pending.node_id, None);
        assert_eq!(pending.state, TaskState::Pending);
        assert_eq!(pending.error.as_deref(), Some("no suitable node"));
        assert_eq!(pending.container_id, None);
        assert_eq!(
            (
                pending.networks[0].network.as_str(),
                pending.networks[0].addresses.len()
            ),
            ("ov1", 0),
            "not yet allocated: the networks it is meant to join, by name"
        );
    }

    #[test]
    fn nodes_and_services_read_as_each_engine_sends_them() {
        use crate::docker::read::tests::engines;
        for e in engines() {
            let v = e.version.trim();
            let nodes: Vec<RawNode> = serde_json::from_str(e.nodes)
                .unwrap_or_else(|err| panic!("GET /nodes from Engine {v}: {err}"));
            let nodes: Vec<Node> = nodes.into_iter().map(node).collect();
            assert_eq!(nodes.len(), 1, "Engine {v}");
            let n = &nodes[0];
            assert!(!n.id.is_empty() && !n.hostname.is_empty(), "Engine {v}");
            assert_eq!(
                (&n.role, &n.availability, &n.state, n.leader),
                (
                    &NodeRole::Manager,
                    &Availability::Active,
                    &NodeState::Ready,
                    true
                ),
                "Engine {v}"
            );
            assert_eq!(n.address.as_deref(), Some("127.0.0.1"), "Engine {v}");

            let networks: Vec<super::super::read::NetworkJson> =
                serde_json::from_str(e.networks).expect("networks");
            let networks: Vec<Network> = networks.into_iter().map(|n| n.into_live()).collect();
            let names = NetworkNames::new(&networks);
            let services: Vec<RawService> = serde_json::from_str(e.services)
                .unwrap_or_else(|err| panic!("GET /services from Engine {v}: {err}"));
            let services: Vec<Service> = services.into_iter().map(|s| service(s, &names)).collect();
            let find = |name: &str| {
                services
                    .iter()
                    .find(|s| s.name == name)
                    .unwrap_or_else(|| panic!("{name} listed by Engine {v}"))
            };
            let svc = find("fx-svc");
            assert!(svc.version > 0 && !svc.id.is_empty(), "Engine {v}");
            assert_eq!(
                svc.image.split('@').next(),
                Some("berth-test/busybox:1"),
                "Engine {v}"
            );
            assert_eq!(
                svc.mode,
                ServiceMode::Replicated { replicas: 2 },
                "Engine {v}"
            );
            assert_eq!(svc.label("team"), Some("a"), "Engine {v}");
            let joined: Vec<(&str, &[String])> = svc
                .networks
                .iter()
                .map(|n| (n.network.as_str(), n.aliases.as_slice()))
                .collect();
            assert_eq!(joined, [("fx-ov", &["svc".to_string()][..])], "Engine {v}");
            let ov = networks.iter().find(|n| n.name == "fx-ov").expect("fx-ov");
            assert_eq!(svc.networks[0].id, ov.id, "Engine {v}");
            assert_eq!(
                svc.update,
                Some(UpdateConfig {
                    parallelism: 1,
                    order: UpdateOrder::StartFirst,
                    failure_action: FailureAction::Rollback,
                }),
                "Engine {v}"
            );
            assert_eq!(svc.update_state, None, "Engine {v}: never updated");
            assert_eq!(
                (&svc.endpoint_mode, svc.published_ports.as_slice()),
                (&EndpointMode::Vip, &["18082:80/tcp".to_string()][..]),
                "Engine {v}"
            );
            assert_eq!(
                svc.mounts,
                [
                    Mount::Volume {
                        name: "fx-svol".into(),
                        path: "/d".into()
                    },
                    Mount::Bind {
                        source: "/tmp".into(),
                        path: "/t".into()
                    },
                ],
                "Engine {v}"
            );

            let global = find("fx-global");
            assert_eq!(
                (&global.mode, &global.endpoint_mode, global.networks.len()),
                (&ServiceMode::Global, &EndpointMode::Dnsrr, 0),
                "Engine {v}"
            );
        }
    }

    #[test]
    fn a_target_no_listed_network_matches_is_kept_as_it_is() {
        let networks = [overlay("ov1", "s10q29jnh6y1k78rkdpor1szq")];
        let names = NetworkNames::new(&networks);
        assert_eq!(
            names.resolve("ov1"),
            ("ov1".into(), "s10q29jnh6y1k78rkdpor1szq".into())
        );
        assert_eq!(names.resolve("gone0"), ("gone0".into(), "gone0".into()));
        assert_eq!(
            TaskState::parse("someday"),
            TaskState::Other("someday".into())
        );
    }
}

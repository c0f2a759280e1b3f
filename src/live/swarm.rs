//! A Docker Swarm as its manager tells it: nodes, services and tasks, as
//! plain data. Read only from a manager (`Snapshot::swarm` is `None` on any
//! other engine), with a fixed number of list calls whatever the number of
//! services and tasks; see `docker::snapshot`.
//!
//! Services name networks by id; the reader resolves them to names with the
//! snapshot's network list (a manager lists every swarm-scoped network), so
//! everything here speaks network *names*, like the rest of `live`, and keeps
//! the id beside it.

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::Mount;

/// The swarm a manager belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Swarm {
    /// Sorted by host name.
    pub nodes: Vec<Node>,
    /// Sorted by name.
    pub services: Vec<Service>,
    /// Every task the manager keeps, finished ones included (Docker keeps a
    /// few per slot), and the network attachment tasks of standalone
    /// containers on attachable overlays. Sorted by service, slot, id.
    pub tasks: Vec<Task>,
}

impl Swarm {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The tasks of a service (by id), finished ones included.
    pub fn tasks_of<'a>(&'a self, service_id: &'a str) -> impl Iterator<Item = &'a Task> {
        self.tasks
            .iter()
            .filter(move |t| t.service_id.as_deref() == Some(service_id))
    }

    /// A service's tasks meant to run (desired state running), and how many
    /// of them do.
    pub fn meant_to_run<'a>(&'a self, service_id: &'a str) -> (Vec<&'a Task>, u64) {
        meant_to_run(self.tasks_of(service_id))
    }

    /// Services whose task template names `network`.
    pub fn services_on<'a>(&'a self, network: &'a str) -> impl Iterator<Item = &'a Service> {
        self.services
            .iter()
            .filter(move |s| s.networks.iter().any(|n| n.network == network))
    }

    /// Tasks meant to run (service tasks and standalone containers'
    /// attachments) with an endpoint on `network`, on any node.
    pub fn attached_to<'a>(&'a self, network: &'a str) -> impl Iterator<Item = &'a Task> {
        self.tasks.iter().filter(move |t| {
            t.desired_state == TaskState::Running && t.networks.iter().any(|n| n.network == network)
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    /// The node's host name (`docker node ls`'s HOSTNAME).
    pub hostname: String,
    pub role: NodeRole,
    pub availability: Availability,
    pub state: NodeState,
    /// The address the node reaches the swarm from, as the manager sees it.
    pub address: Option<String>,
    /// The leader among the managers.
    pub leader: bool,
    /// Node labels (`docker node update --label-add`), used in placement.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    Manager,
    Worker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Unknown,
    Down,
    Ready,
    Disconnected,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub name: String,
    /// The spec's version: an update must send it back
    /// (`POST /services/{id}/update?version=N`), or Docker refuses it
    /// ("update out of sequence").
    pub version: u64,
    /// Service labels (not the labels of its containers).
    pub labels: BTreeMap<String, String>,
    pub image: String,
    pub mode: ServiceMode,
    /// The networks its tasks join, with their aliases there; by name.
    pub networks: Vec<ServiceNetwork>,
    pub endpoint_mode: EndpointMode,
    /// Published ports, as `published:target/protocol`.
    pub published_ports: Vec<String>,
    /// How a change rolls out; `None` when the spec has none.
    pub update: Option<UpdateConfig>,
    /// The last rollout's state; `None` when the service was never updated.
    pub update_state: Option<UpdateState>,
    /// Named volumes and bind mounts of its tasks (anonymous volumes and
    /// tmpfs are the task's own and skipped).
    pub mounts: Vec<Mount>,
}

impl Service {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// The `docker stack deploy` stack it belongs to.
    pub fn stack(&self) -> Option<&str> {
        self.label(super::labels::STACK_NAMESPACE)
    }

    /// Its aliases on `network`; `None` when it does not join it.
    pub fn aliases_on(&self, network: &str) -> Option<&[String]> {
        self.networks
            .iter()
            .find(|n| n.network == network)
            .map(|n| n.aliases.as_slice())
    }
}

/// One entry of a service's networks (`TaskTemplate.Networks`, or the
/// deprecated top-level `Networks` of services made that way).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNetwork {
    /// The network's name; the target as the spec gives it when no network
    /// of the snapshot has that id or name.
    pub network: String,
    /// The network's id (the spec's target when unresolved).
    pub id: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceMode {
    Replicated { replicas: u64 },
    Global,
    ReplicatedJob,
    GlobalJob,
}

/// How other tasks find the service's tasks: a virtual IP (needs IPVS), or
/// DNS round robin over the tasks' own addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointMode {
    Vip,
    Dnsrr,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateConfig {
    /// Tasks replaced at once (0: all at once).
    pub parallelism: u64,
    pub order: UpdateOrder,
    pub failure_action: FailureAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOrder {
    /// The old task stops before its replacement starts (Docker's default).
    StopFirst,
    /// The replacement starts first: both run for a moment.
    StartFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    Pause,
    Continue,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateState {
    Updating,
    Paused,
    Completed,
    RollbackStarted,
    RollbackPaused,
    RollbackCompleted,
}

impl UpdateState {
    /// Docker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Updating => "updating",
            UpdateState::Paused => "paused",
            UpdateState::Completed => "completed",
            UpdateState::RollbackStarted => "rollback_started",
            UpdateState::RollbackPaused => "rollback_paused",
            UpdateState::RollbackCompleted => "rollback_completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    /// `None` for a network attachment task: a standalone container on
    /// some node attached to an attachable overlay.
    pub service_id: Option<String>,
    /// Its replica slot (replicated services).
    pub slot: Option<u64>,
    /// `None` until the scheduler assigns it.
    pub node_id: Option<String>,
    pub desired_state: TaskState,
    pub state: TaskState,
    /// Why it failed or was rejected, when it did.
    pub error: Option<String>,
    /// The task's container (the attached container, for an attachment
    /// task); on the task's node, not necessarily this server.
    pub container_id: Option<String>,
    /// Its endpoints on overlay networks, with their addresses; by name.
    pub networks: Vec<TaskNetwork>,
}

impl Task {
    /// A standalone container's attachment to an overlay, not a service's
    /// task.
    pub fn is_attachment(&self) -> bool {
        self.service_id.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskNetwork {
    pub network: String,
    pub id: String,
    /// Addresses with their prefix (`10.0.1.3/24`).
    pub addresses: Vec<IpNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    New,
    Allocated,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Shutdown,
    Failed,
    Rejected,
    Remove,
    Orphaned,
    /// A state this berth does not know (a newer engine's), as Docker spells it.
    Other(String),
}

impl TaskState {
    /// Each state with Docker's spelling.
    const NAMES: [(TaskState, &'static str); 15] = [
        (TaskState::New, "new"),
        (TaskState::Allocated, "allocated"),
        (TaskState::Pending, "pending"),
        (TaskState::Assigned, "assigned"),
        (TaskState::Accepted, "accepted"),
        (TaskState::Preparing, "preparing"),
        (TaskState::Ready, "ready"),
        (TaskState::Starting, "starting"),
        (TaskState::Running, "running"),
        (TaskState::Complete, "complete"),
        (TaskState::Shutdown, "shutdown"),
        (TaskState::Failed, "failed"),
        (TaskState::Rejected, "rejected"),
        (TaskState::Remove, "remove"),
        (TaskState::Orphaned, "orphaned"),
    ];

    /// Docker's spelling (`running`, `shutdown`, …).
    pub fn parse(s: &str) -> TaskState {
        Self::NAMES.iter().find(|(_, name)| *name == s).map_or_else(
            || TaskState::Other(s.to_string()),
            |(state, _)| state.clone(),
        )
    }

    pub fn as_str(&self) -> &str {
        match self {
            TaskState::Other(s) => s,
            known => Self::NAMES
                .iter()
                .find(|(state, _)| state == known)
                .map_or("", |(_, name)| name),
        }
    }
}

/// Of `tasks`, those meant to run (desired state running), and how many of
/// them do.
pub fn meant_to_run<'a>(tasks: impl Iterator<Item = &'a Task>) -> (Vec<&'a Task>, u64) {
    let meant: Vec<&Task> = tasks
        .filter(|t| t.desired_state == TaskState::Running)
        .collect();
    let running = meant
        .iter()
        .filter(|t| t.state == TaskState::Running)
        .count() as u64;
    (meant, running)
}

//! The plan as data (a contract, docs/reference.md § Plan JSON): what berth
//! will do, what it refuses to do and why. Renderers and the executor read
//! only this. Each change is one variant per action carrying exactly its
//! data; the JSON keeps `action` as its tag.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::diff::ConfigDiff;
use crate::config::{EndpointSpec, NetworkSpec, ResourceKind};
pub use crate::source::{SourceInfo, SourceKind};

mod options;
mod record;
mod topology;

pub use options::Options;
pub use record::{Member, Record};
pub use topology::{TopoDestination, TopoResource, TopoServer, TopoState, Topology};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
#[schemars(title = "berth plan (format_version 1)")]
pub struct Plan {
    pub format_version: u32,
    pub source: SourceInfo,
    pub servers: Vec<ServerReading>,
    pub changes: Vec<Change>,
    /// Declared resources with no container on their destination's server.
    pub missing: Vec<Missing>,
    pub warnings: Vec<Warning>,
    /// Conflicts berth refuses to resolve (e.g. an adopted network that
    /// differs from its destination). Any entry makes `plan` exit 1.
    pub errors: Vec<PlanError>,
    /// Planned changes per action, and `blocked`: the number of blocked changes.
    pub summary: BTreeMap<String, usize>,
    /// `plan --base`: the desired-config change from the base commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_diff: Option<ConfigDiff>,
    /// `plan --out`: per server, a digest of each live object the plan read,
    /// so `apply PLANFILE` can refuse a plan made stale since.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, BTreeMap<String, String>>,
    /// Servers → destinations → resources as the plan leaves them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
    /// `plan --out`: the berth owner the plan was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `plan --out`: the berth version that saved the plan; another version
    /// refuses to apply it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub berth_version: Option<String>,
    /// `plan --out`: the choices the plan was made with (`--allow-replace`,
    /// `--no-image-transfer`); `apply PLANFILE` plans again with the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
    /// `--server`/`--destination`: the patterns the plan was limited to,
    /// and the servers left out (not contacted); absent for a whole plan.
    /// `apply PLANFILE` applies exactly this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// `plan --base` and the push hooks: the servers whose part of the
    /// config the change leaves as it was, not contacted (`--all` plans
    /// them too). `apply PLANFILE` leaves them out too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unaffected: Vec<String>,
}

impl Plan {
    /// The servers `--server`/`--destination` left out (not contacted).
    pub fn not_targeted(&self) -> &[String] {
        self.target.as_ref().map_or(&[], |t| &t.not_targeted)
    }

    /// The servers shown one by one: all but those left out by a target
    /// or unaffected by the change under review.
    pub fn shown_servers(&self) -> impl Iterator<Item = &ServerReading> {
        self.servers.iter().filter(|s| {
            !self.not_targeted().contains(&s.name) && !self.unaffected.contains(&s.name)
        })
    }

    pub fn blocked(&self) -> usize {
        self.changes.iter().filter(|c| c.is_blocked()).count()
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Declared resources that match nothing, told as warnings (in strict
    /// mode they are errors instead).
    pub fn not_found(&self) -> usize {
        self.warnings
            .iter()
            .filter(|w| w.code == WarningCode::DeclaredNotFound)
            .count()
    }

    pub fn failed_servers(&self) -> impl Iterator<Item = &ServerReading> {
        self.servers
            .iter()
            .filter(|s| s.status == ServerHealth::Error)
    }
}

/// A server as this run read it: whether it answered (`status`), why not,
/// and a manager's swarm.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ServerReading {
    pub name: String,
    /// The address from the config (`local`, `unix://…`, `ssh://…`).
    pub address: String,
    pub status: ServerHealth,
    /// Why the server could not be read; `null` when `ok`.
    pub error: Option<String>,
    /// The server is a Docker Swarm manager: the swarm's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmSummary>,
    /// Other servers this server's plan reads from: where the clones still
    /// to be made on it are copied from (up a clone's `clone_of` chain, as
    /// far as it is known). `apply --partial` skips this server when one of
    /// them is skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// A swarm as its manager tells it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SwarmSummary {
    pub nodes: Vec<SwarmNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SwarmNode {
    pub name: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `ready`, `down`, `disconnected`, `unknown`.
    pub state: String,
    /// `active`, `pause`, `drain`.
    pub availability: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ServerHealth {
    Ok,
    Error,
    /// Not contacted: a server that only an untrusted head (`plan --base`) names.
    Skipped,
}

/// The kinds of change, in the order a server applies them.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Restore,
    CreateNetwork,
    ReplaceNetwork,
    Clone,
    CloneService,
    Connect,
    UpdateService,
    Disconnect,
    RemoveNetwork,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Restore,
        Action::CreateNetwork,
        Action::ReplaceNetwork,
        Action::Clone,
        Action::CloneService,
        Action::Connect,
        Action::UpdateService,
        Action::Disconnect,
        Action::RemoveNetwork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Restore => "restore",
            Action::CreateNetwork => "create_network",
            Action::RemoveNetwork => "remove_network",
            Action::ReplaceNetwork => "replace_network",
            Action::Connect => "connect",
            Action::Disconnect => "disconnect",
            Action::Clone => "clone",
            Action::CloneService => "clone_service",
            Action::UpdateService => "update_service",
        }
    }
}

/// Whether a change goes ahead (`planned`) or not (`blocked`, with its
/// reasons).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    #[default]
    Planned,
    Blocked,
}

/// How every view names a change: one verb per kind of change, the same
/// word in the terminal, the plan JSON (`verb`) and the pull-request
/// comment. Finer than [`Action`]: a `connect` that fixes the aliases of a
/// container already attached is a `reconnect` (apply disconnects it, then
/// connects it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Restore,
    CreateNetwork,
    ReplaceNetwork,
    Clone,
    CloneService,
    Connect,
    Reconnect,
    UpdateService,
    Disconnect,
    RemoveNetwork,
}

impl Verb {
    /// Every verb, in the order a server applies its changes.
    pub const ALL: [Verb; 10] = [
        Verb::Restore,
        Verb::CreateNetwork,
        Verb::ReplaceNetwork,
        Verb::Clone,
        Verb::CloneService,
        Verb::Connect,
        Verb::Reconnect,
        Verb::UpdateService,
        Verb::Disconnect,
        Verb::RemoveNetwork,
    ];

    /// The word every view uses: `create network`, `reconnect`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Restore => "restore",
            Verb::CreateNetwork => "create network",
            Verb::ReplaceNetwork => "replace network",
            Verb::Clone => "clone",
            Verb::CloneService => "clone swarm service",
            Verb::Connect => "connect",
            Verb::Reconnect => "reconnect",
            Verb::UpdateService => "update swarm service",
            Verb::Disconnect => "disconnect",
            Verb::RemoveNetwork => "remove network",
        }
    }

    /// What it does to what it touches: `+` adds, `-` removes, `-/+`
    /// removes then adds again (a brief disconnect), `~` changes in place.
    pub fn symbol(self) -> &'static str {
        match self {
            Verb::CreateNetwork | Verb::Clone | Verb::CloneService | Verb::Connect => "+",
            Verb::Disconnect | Verb::RemoveNetwork => "-",
            Verb::ReplaceNetwork | Verb::Reconnect => "-/+",
            Verb::Restore | Verb::UpdateService => "~",
        }
    }

    /// The plan JSON's `action` of a change with this verb.
    pub fn action(self) -> Action {
        match self {
            Verb::Restore => Action::Restore,
            Verb::CreateNetwork => Action::CreateNetwork,
            Verb::ReplaceNetwork => Action::ReplaceNetwork,
            Verb::Clone => Action::Clone,
            Verb::CloneService => Action::CloneService,
            Verb::Connect | Verb::Reconnect => Action::Connect,
            Verb::UpdateService => Action::UpdateService,
            Verb::Disconnect => Action::Disconnect,
            Verb::RemoveNetwork => Action::RemoveNetwork,
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Verb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One change on one server: one variant per action, each with exactly the
/// data its action needs. In JSON: `action` (the variant), `verb` (how the
/// views name it), then its data. `verb` is derived: reading a
/// change ignores it.
#[derive(Debug, Clone, JsonSchema, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case")]
#[schemars(transform = with_verb)]
pub enum Change {
    Restore(Restore),
    CreateNetwork(CreateNetwork),
    ReplaceNetwork(ReplaceNetwork),
    Clone(CloneResource),
    CloneService(CloneService),
    Connect(Connect),
    UpdateService(UpdateService),
    Disconnect(Disconnect),
    RemoveNetwork(RemoveNetwork),
}

/// A swarm service's task template gets the networks (with aliases) its
/// destinations call for: a rolling update of its tasks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateService {
    pub server: String,
    pub destination: String,
    /// The destination network the update is about (added, or aliases
    /// changed, or left).
    pub network: String,
    /// The swarm service.
    pub service: String,
    pub resource: ResourceRef,
    /// The networks the task template names after the update, by name.
    pub networks: Vec<ServiceNetworkRef>,
    /// The networks it names now.
    pub live_networks: Vec<ServiceNetworkRef>,
    /// How its tasks are replaced.
    pub rollout: Rollout,
    /// The state the service's last rolling update ended in, when it did
    /// not complete (`paused`, `rollback_completed`, …): a rollout berth
    /// starts may meet the same fate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// A network of a service's task template, with the aliases its tasks get.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetworkRef {
    pub network: String,
    pub aliases: Vec<String>,
}

/// A service's update policy: how a spec change replaces its tasks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// `replicated` (with `replicas`) or `global`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    /// Tasks replaced at once (0: all).
    pub parallelism: u64,
    /// `stop-first` or `start-first`.
    pub order: String,
    /// `pause`, `continue` or `rollback`.
    pub failure_action: String,
}

/// A new swarm service from a source service's spec (never the data):
/// a new name, fresh named volumes, the destination's network.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloneService {
    pub server: String,
    pub destination: String,
    pub network: String,
    /// The service to create.
    pub service: String,
    pub aliases: Vec<String>,
    pub resource: ResourceRef,
    /// The service copied.
    pub source: String,
    pub source_resource: ResourceRef,
    pub image: String,
    /// Named volumes: each a fresh one.
    pub volumes: Vec<VolumeCopy>,
    /// Published ports dropped (they would collide in the swarm).
    pub dropped_ports: Vec<String>,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// Completes a change an earlier apply began and did not finish (it was
/// killed, or lost its server), as the journal it left on the server
/// records: every container that was attached is attached again.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    pub network: String,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The journal container on the server; removed once restored.
    pub journal: String,
    /// What the journal records: the interrupted change, and for a replace
    /// the containers to attach again with their aliases.
    pub record: Record,
}

/// A destination's network that does not exist yet.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateNetwork {
    pub server: String,
    pub destination: String,
    pub network: String,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The network as berth creates it.
    pub spec: NetworkSpec,
}

/// A berth-owned network whose immutable properties changed: disconnect
/// what is attached, recreate, reconnect with the same aliases.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplaceNetwork {
    pub server: String,
    pub destination: String,
    pub network: String,
    pub status: ChangeStatus,
    /// Why it is blocked, or what it will do to attached containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Containers attached to the network now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<Attached>,
    /// Blocked: what to do to unblock it (`--allow-replace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The network as berth recreates it.
    pub spec: NetworkSpec,
    /// Properties that differ between the live network and its destination.
    pub differences: Vec<Difference>,
    /// Set when the network is not berth's and its destination says
    /// `manage = true`: berth takes it over, recreating it with its own
    /// labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takeover: Option<Takeover>,
}

/// A network berth did not create, replaced because its destination says
/// `manage = true`: once recreated it carries berth's labels and is
/// berth's from then on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Takeover {
    /// The live network's id when the plan was made: the executor replaces
    /// that network and no other (one recreated since is refused).
    pub network_id: String,
}

/// A new instance of a resource (never a move, never the data).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloneResource {
    pub server: String,
    pub destination: String,
    pub network: String,
    /// Applications and databases: the container to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Applications and databases: its aliases on the destination network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    pub resource: ResourceRef,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What the clone copies, from where.
    pub clone: CloneSpec,
}

/// Attach a container to its destination's network; with `live_aliases`,
/// reconnect one already attached whose aliases or endpoint settings
/// differ.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub server: String,
    pub destination: String,
    pub network: String,
    pub container: String,
    pub aliases: Vec<String>,
    /// What the endpoint asks for beyond aliases: `ipv4_address`,
    /// `ipv6_address`, `link_local_ips`, `driver_opts`, as the config
    /// sets them. Absent: the daemon's choice for all four.
    #[serde(default, skip_serializing_if = "EndpointSpec::is_empty")]
    pub endpoint: EndpointSpec,
    /// A reconnect: the aliases the container has now (kept unless they
    /// differ too). Docker cannot edit aliases or endpoint settings in
    /// place, so apply disconnects and connects again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_aliases: Option<Vec<String>>,
    pub resource: ResourceRef,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl Connect {
    /// A reconnect whose aliases change (not only its endpoint settings).
    pub fn aliases_change(&self) -> bool {
        self.live_aliases.as_ref().is_some_and(|live| {
            let mut a: Vec<&String> = live.iter().collect();
            let mut b: Vec<&String> = self.aliases.iter().collect();
            a.sort();
            a.dedup();
            b.sort();
            b.dedup();
            a != b
        })
    }
}

/// Detach a container from a berth-owned network of a declared destination
/// it no longer belongs to (never its last network).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Disconnect {
    pub server: String,
    pub destination: String,
    pub network: String,
    pub container: String,
    pub resource: ResourceRef,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// A berth-owned network that no destination declares any more; blocked
/// while anything is attached.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemoveNetwork {
    pub server: String,
    /// The destination it was created for (its `berth.destination` label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    pub network: String,
    pub status: ChangeStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Containers attached to the network, running or stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<Attached>,
    /// Blocked: what to do to unblock it (the `docker network disconnect`
    /// commands, the declared resources to reassign first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Applies `$body` to the variant's struct, whatever the action.
macro_rules! each_change {
    ($change:expr, $c:ident => $body:expr) => {
        match $change {
            Change::Restore($c) => $body,
            Change::CreateNetwork($c) => $body,
            Change::ReplaceNetwork($c) => $body,
            Change::Clone($c) => $body,
            Change::CloneService($c) => $body,
            Change::Connect($c) => $body,
            Change::UpdateService($c) => $body,
            Change::Disconnect($c) => $body,
            Change::RemoveNetwork($c) => $body,
        }
    };
}

/// The same variants over borrowed and owned data, for the derived
/// serde code: `Change` adds `verb` when written and drops it when read.
macro_rules! change_serde {
    ($($variant:ident($data:ident)),* $(,)?) => {
        impl Serialize for Change {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[derive(Serialize)]
                struct Verbed<'a, T> {
                    verb: Verb,
                    #[serde(flatten)]
                    data: &'a T,
                }
                #[derive(Serialize)]
                #[serde(tag = "action", rename_all = "snake_case")]
                enum Tagged<'a> {
                    $($variant(Verbed<'a, $data>),)*
                }
                let verb = self.verb();
                match self {
                    $(Change::$variant(data) => Tagged::$variant(Verbed { verb, data }),)*
                }
                .serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for Change {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(tag = "action", rename_all = "snake_case")]
                enum Tagged {
                    $($variant($data),)*
                }
                let mut value = serde_json::Value::deserialize(d)?;
                if let Some(map) = value.as_object_mut() {
                    map.remove("verb");
                }
                let tagged = Tagged::deserialize(value).map_err(serde::de::Error::custom)?;
                Ok(match tagged {
                    $(Tagged::$variant(data) => Change::$variant(data),)*
                })
            }
        }
    };
}

change_serde!(
    Restore(Restore),
    CreateNetwork(CreateNetwork),
    ReplaceNetwork(ReplaceNetwork),
    Clone(CloneResource),
    CloneService(CloneService),
    Connect(Connect),
    UpdateService(UpdateService),
    Disconnect(Disconnect),
    RemoveNetwork(RemoveNetwork),
);

/// The schema of each variant gains its `verb`: the verbs of its action.
fn with_verb(schema: &mut schemars::Schema) {
    let Some(variants) = schema
        .get_mut("oneOf")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for v in variants {
        let action = v
            .pointer("/properties/action/const")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        let verbs: Vec<&str> = Verb::ALL
            .iter()
            .filter(|verb| verb.action().as_str() == action)
            .map(|verb| verb.as_str())
            .collect();
        if let Some(props) = v
            .get_mut("properties")
            .and_then(serde_json::Value::as_object_mut)
        {
            props.insert(
                "verb".into(),
                serde_json::json!({
                    "description": "How every view names this change (`berth plan`'s text, this JSON, the pull-request comment).",
                    "type": "string",
                    "enum": verbs,
                }),
            );
        }
        if let Some(required) = v
            .get_mut("required")
            .and_then(serde_json::Value::as_array_mut)
        {
            required.insert(1, "verb".into());
        }
    }
}

impl Change {
    /// How every view names it.
    pub fn verb(&self) -> Verb {
        match self {
            Change::Restore(_) => Verb::Restore,
            Change::CreateNetwork(_) => Verb::CreateNetwork,
            Change::ReplaceNetwork(_) => Verb::ReplaceNetwork,
            Change::Clone(_) => Verb::Clone,
            Change::CloneService(_) => Verb::CloneService,
            Change::Connect(c) if c.live_aliases.is_some() => Verb::Reconnect,
            Change::Connect(_) => Verb::Connect,
            Change::UpdateService(_) => Verb::UpdateService,
            Change::Disconnect(_) => Verb::Disconnect,
            Change::RemoveNetwork(_) => Verb::RemoveNetwork,
        }
    }

    /// What to do to unblock it, when the planner knows (a blocked removal
    /// or replacement).
    pub fn hint(&self) -> Option<&str> {
        match self {
            Change::RemoveNetwork(c) => c.hint.as_deref(),
            Change::ReplaceNetwork(c) => c.hint.as_deref(),
            _ => None,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Change::Restore(_) => Action::Restore,
            Change::CreateNetwork(_) => Action::CreateNetwork,
            Change::ReplaceNetwork(_) => Action::ReplaceNetwork,
            Change::Clone(_) => Action::Clone,
            Change::CloneService(_) => Action::CloneService,
            Change::Connect(_) => Action::Connect,
            Change::UpdateService(_) => Action::UpdateService,
            Change::Disconnect(_) => Action::Disconnect,
            Change::RemoveNetwork(_) => Action::RemoveNetwork,
        }
    }

    pub fn server(&self) -> &str {
        each_change!(self, c => &c.server)
    }

    pub fn network(&self) -> &str {
        each_change!(self, c => &c.network)
    }

    pub fn status(&self) -> ChangeStatus {
        each_change!(self, c => c.status)
    }

    pub fn is_blocked(&self) -> bool {
        self.status() == ChangeStatus::Blocked
    }

    pub fn reasons(&self) -> &[String] {
        each_change!(self, c => &c.reasons)
    }

    /// The destination it belongs to; a removed network may have none.
    pub fn destination(&self) -> Option<&str> {
        match self {
            Change::Restore(c) => c.destination.as_deref(),
            Change::RemoveNetwork(c) => c.destination.as_deref(),
            Change::CreateNetwork(c) => Some(&c.destination),
            Change::ReplaceNetwork(c) => Some(&c.destination),
            Change::Clone(c) => Some(&c.destination),
            Change::CloneService(c) => Some(&c.destination),
            Change::Connect(c) => Some(&c.destination),
            Change::UpdateService(c) => Some(&c.destination),
            Change::Disconnect(c) => Some(&c.destination),
        }
    }

    /// The container it attaches, detaches or creates, if one.
    pub fn container(&self) -> Option<&str> {
        match self {
            Change::Restore(r) => r.record.change.container(),
            Change::Connect(c) => Some(&c.container),
            Change::Disconnect(c) => Some(&c.container),
            Change::Clone(c) => c.container.as_deref(),
            _ => None,
        }
    }

    /// The declared resource it serves, if one.
    pub fn resource(&self) -> Option<&ResourceRef> {
        match self {
            Change::Restore(r) => r.record.change.resource(),
            Change::Connect(c) => Some(&c.resource),
            Change::Disconnect(c) => Some(&c.resource),
            Change::Clone(c) => Some(&c.resource),
            Change::CloneService(c) => Some(&c.resource),
            Change::UpdateService(c) => Some(&c.resource),
            _ => None,
        }
    }

    /// Containers attached to the network (removals and replacements).
    pub fn attached(&self) -> &[Attached] {
        match self {
            Change::RemoveNetwork(c) => &c.attached,
            Change::ReplaceNetwork(c) => &c.attached,
            _ => &[],
        }
    }

    /// Marks the change blocked, for `reason`.
    pub fn block(&mut self, reason: String) {
        each_change!(self, c => {
            c.status = ChangeStatus::Blocked;
            c.reasons.push(reason);
        })
    }

    /// Adds a note (or, on a blocked change, one more reason).
    pub fn note(&mut self, reason: String) {
        each_change!(self, c => c.reasons.push(reason))
    }
}

/// What a clone copies and from where: for an application or database one
/// container, for a stack all of them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CloneSpec {
    pub source_server: String,
    /// The resource cloned.
    pub source: ResourceRef,
    /// Stacks: the compose project copied, and the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_project: Option<String>,
    /// Stacks with `connect_to_predefined_networks`: also attach to the destination.
    #[serde(default)]
    pub connect_to_destination: bool,
    /// The images are not on the target server: berth streams them there
    /// from the source server.
    pub image_transfer: bool,
    pub members: Vec<CloneMember>,
}

/// One container of a clone.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CloneMember {
    pub source: String,
    pub target: String,
    /// Stacks: the compose service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub image: String,
    /// Names of the env variables copied; values are never shown.
    pub env: Vec<String>,
    /// Named volumes: each gets a fresh, empty volume.
    pub volumes: Vec<VolumeCopy>,
    /// Host paths shared with the source (bind mounts are kept).
    pub binds: Vec<String>,
    /// Published host ports kept (clone on another server).
    pub ports: Vec<String>,
    /// Published host ports dropped (same server: they would collide).
    pub dropped_ports: Vec<String>,
    /// Started because the source runs.
    pub start: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VolumeCopy {
    pub source: String,
    pub target: String,
    /// Mount path in the container.
    pub path: String,
}

/// A declared resource: its kind and name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    pub kind: ResourceKind,
    pub name: String,
}

impl ResourceRef {
    pub fn new(kind: ResourceKind, name: &str) -> Self {
        ResourceRef {
            kind,
            name: name.to_string(),
        }
    }
}

/// What an attached container is, as the removal guard classifies it:
/// from the config, else Coolify's labels, else compose's, else unmanaged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttachedKind {
    Application,
    Database,
    /// A compose stack (`service`, as Coolify and the config say).
    Stack,
    /// Another class of Coolify's `coolify.type` label, e.g. `coolify proxy`.
    Coolify(String),
    Unmanaged,
}

impl AttachedKind {
    /// `application`, `database`, `service`, `coolify <type>`, `unmanaged`.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            AttachedKind::Application => "application".into(),
            AttachedKind::Database => "database".into(),
            AttachedKind::Stack => "service".into(),
            AttachedKind::Coolify(t) => format!("coolify {t}").into(),
            AttachedKind::Unmanaged => "unmanaged".into(),
        }
    }
}

impl From<ResourceKind> for AttachedKind {
    fn from(k: ResourceKind) -> Self {
        match k {
            ResourceKind::Application => AttachedKind::Application,
            ResourceKind::Database => AttachedKind::Database,
            ResourceKind::Stack => AttachedKind::Stack,
        }
    }
}

impl fmt::Display for AttachedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl JsonSchema for AttachedKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AttachedKind".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`application`, `database`, `service` (a compose stack), `coolify <type>` (another class of Coolify's `coolify.type` label), or `unmanaged`.",
            "pattern": "^(application|database|service|unmanaged|coolify .+)$"
        })
    }
}

impl Serialize for AttachedKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for AttachedKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "application" => AttachedKind::Application,
            "database" => AttachedKind::Database,
            "service" => AttachedKind::Stack,
            "unmanaged" => AttachedKind::Unmanaged,
            other => match other.strip_prefix("coolify ") {
                Some(t) => AttachedKind::Coolify(t.to_string()),
                None => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown kind `{other}`: expected application, database, service, coolify <type> or unmanaged"
                    )));
                }
            },
        })
    }
}

/// A container attached to a network (on an overlay: a task or a swarm
/// service, on any node of the swarm).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Attached {
    pub container: String,
    pub kind: AttachedKind,
    /// The resource it belongs to, when known.
    pub resource: Option<String>,
    pub running: bool,
    /// The swarm node it runs on (overlays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A copy berth made (its `berth.clone-of` label): the resource it
    /// copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_of: Option<String>,
}

impl Attached {
    /// `pg (database pg, stopped)`, `api-copy (application api-copy, clone
    /// of api, running)`
    pub fn describe(&self) -> String {
        let mut what = match &self.resource {
            Some(r) => format!("{} {r}", self.kind),
            None => self.kind.to_string(),
        };
        if let Some(source) = &self.clone_of {
            what = format!("{what}, clone of {source}");
        }
        let state = if self.running { "running" } else { "stopped" };
        match &self.node {
            Some(node) => format!("{} ({what}, {state}, on node {node})", self.container),
            None => format!("{} ({what}, {state})", self.container),
        }
    }

    /// [`describe`](Self::describe) with its noun: `container web (…)`;
    /// swarm entries carry theirs (`service web`, `task web.1`: a
    /// container's name has no space).
    pub fn subject(&self) -> String {
        if self.container.contains(' ') {
            self.describe()
        } else {
            format!("container {}", self.describe())
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Difference {
    pub property: String,
    pub live: String,
    pub desired: String,
}

/// A declared resource with no container on its destination's server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Missing {
    pub resource: ResourceRef,
    pub server: String,
    /// What selects its containers: a name, `key=value` labels, or the
    /// compose project label.
    #[serde(rename = "container")]
    pub selector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The live names on that server nearest to what the config says
    /// (containers, compose projects, `key=value` labels, swarm services)
    /// that no other declared resource claims: a typo's likely fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl Missing {
    /// `application nc-ap: no container nc-ap on server s1; did you mean
    /// nc-app? …`: the one sentence every view gives.
    pub fn describe(&self) -> String {
        format!(
            "{} {}: {}",
            self.resource.kind,
            self.resource.name,
            self.note.clone().unwrap_or_else(|| format!(
                "nothing matches {} on server {}",
                self.selector, self.server
            ))
        )
    }
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// A stack's compose file defines networks of its own.
    ComposeDefinesNetworks,
    /// Another container's env names a container or alias on a network being removed.
    EnvReferencesNetwork,
    /// A container on a network being removed is also on other networks.
    BridgesNetwork,
    /// A proxy routes into a network being removed.
    ProxyRoutesIntoNetwork,
    /// A clone shares a host path with its source.
    CloneBindMount,
    /// A clone on the source's server drops published ports.
    ClonePortsDropped,
    /// A declared resource's selector (container name, `match_labels`,
    /// swarm service, compose project) matches nothing on a server it is
    /// assigned to; `suggestions` holds the closest live names. An error
    /// instead with `--strict` or `settings.strict`.
    DeclaredNotFound,
    /// A destination's network is not created on a server because its
    /// subnet comes from a `subnet_pool` and the run does not read the
    /// destination's other servers (`watch` plans one server at a time).
    PoolNotAllocated,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The declared resource it is about (`declared_not_found`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    /// `declared_not_found`: the nearest live names (see `Missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl Warning {
    /// A warning about something on `server`.
    pub fn on(server: &str, code: WarningCode, message: String) -> Warning {
        Warning {
            code,
            message,
            file: None,
            server: Some(server.to_string()),
            resource: None,
            suggestions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlanError {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    pub network: String,
    pub message: String,
    pub hint: String,
}

/// The JSON schema of the plan (`schemas/plan.schema.json`).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Plan)).expect("a schema is JSON")
}

/// Planned changes per action, and `blocked`: a plan's `summary`.
pub(super) fn summarize(changes: &[Change]) -> BTreeMap<String, usize> {
    let mut summary = BTreeMap::new();
    for c in changes {
        let key = match c.status() {
            ChangeStatus::Planned => c.action().as_str(),
            ChangeStatus::Blocked => "blocked",
        };
        *summary.entry(key.to_string()).or_insert(0) += 1;
    }
    summary
}

/// The patterns a run was limited to (shell globs: `*`, `?`, `[a-z]`), and
/// the servers they leave out. Recorded in a saved plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// `--server` patterns: server names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// `--destination` patterns: destination names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<String>,
    /// The config's servers not targeted: not contacted, not planned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_targeted: Vec<String>,
}

impl Target {
    /// No pattern: the whole config.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.destinations.is_empty()
    }

    /// Does the target let a change of `destination` through? (Any without
    /// `--destination`; a change of no destination only then.)
    pub fn keeps_destination(&self, destination: Option<&str>) -> bool {
        if self.destinations.is_empty() {
            return true;
        }
        destination.is_some_and(|d| {
            self.destinations
                .iter()
                .any(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(d)))
        })
    }
}

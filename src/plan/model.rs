//! The plan as data (DESIGN §4, a contract): what berth will do, what it
//! refuses to do and why. Renderers and `apply` read only this.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[schemars(title = "berth plan (format_version 1)")]
pub struct Plan {
    pub format_version: u32,
    pub source: SourceInfo,
    pub servers: Vec<ServerStatus>,
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
    pub config_diff: Option<crate::diff::ConfigDiff>,
    /// `plan --out`: per server, a digest of each live object the plan read,
    /// so `apply PLANFILE` can refuse a plan made stale since.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, BTreeMap<String, String>>,
    /// Servers → destinations → resources as the plan leaves them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<super::Topology>,
    /// `plan --out`: the berth owner the plan was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Plan {
    pub fn blocked(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.status == Status::Blocked)
            .count()
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn failed_servers(&self) -> impl Iterator<Item = &ServerStatus> {
        self.servers
            .iter()
            .filter(|s| s.status == ServerHealth::Error)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// The git ref asked for (`--ref`), for `git` sources.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The commit id the config was read from, for `git` sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The repository it was read from (absolute), for `git` sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The directory the config was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    #[default]
    Worktree,
    Git,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ServerStatus {
    pub name: String,
    /// The address from the config (`local`, `unix://…`, `ssh://…`).
    pub address: String,
    pub status: ServerHealth,
    /// Why the server could not be read; `null` when `ok`.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ServerHealth {
    Ok,
    Error,
    /// Not contacted: a server that only an untrusted head (`plan --base`) names.
    Skipped,
}

#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateNetwork,
    ReplaceNetwork,
    Clone,
    Connect,
    Disconnect,
    RemoveNetwork,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateNetwork => "create_network",
            Action::RemoveNetwork => "remove_network",
            Action::ReplaceNetwork => "replace_network",
            Action::Connect => "connect",
            Action::Disconnect => "disconnect",
            Action::Clone => "clone",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Planned,
    Blocked,
}

/// One change on one server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Change {
    pub action: Action,
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    pub network: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// `connect` that fixes aliases: the aliases the container has now.
    /// Docker cannot edit aliases in place, so apply disconnects and
    /// connects again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_aliases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    pub status: Status,
    /// Why the change is blocked (one entry per cause), or notes on a planned one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Containers attached to the network (removals and replacements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<Attached>,
    /// The network as berth creates it (create and replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<crate::config::NetworkSpec>,
    /// Properties that differ between the live network and its destination (replace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// What a `clone` copies, from where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone: Option<CloneSpec>,
}

/// A new instance of a resource (never a move, never the data): for an
/// application or database one container, for a stack all of them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
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
pub struct VolumeCopy {
    pub source: String,
    pub target: String,
    /// Mount path in the container.
    pub path: String,
}

impl Change {
    pub fn new(action: Action, server: &str, network: &str) -> Self {
        Change {
            action,
            server: server.to_string(),
            destination: None,
            network: network.to_string(),
            container: None,
            aliases: None,
            live_aliases: None,
            resource: None,
            status: Status::Planned,
            reasons: Vec::new(),
            attached: Vec::new(),
            spec: None,
            differences: Vec::new(),
            clone: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceRef {
    pub kind: String,
    pub name: String,
}

impl ResourceRef {
    pub fn new(kind: impl ToString, name: &str) -> Self {
        ResourceRef {
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }
}

/// A container attached to a network.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Attached {
    pub container: String,
    /// `application`, `database`, `service`, or `unmanaged`.
    pub kind: String,
    /// The resource it belongs to, when known.
    pub resource: Option<String>,
    pub running: bool,
}

impl Attached {
    /// `pg (database pg, stopped)`
    pub fn describe(&self) -> String {
        let what = match &self.resource {
            Some(r) => format!("{} {r}", self.kind),
            None => self.kind.clone(),
        };
        let state = if self.running { "running" } else { "stopped" };
        format!("{} ({what}, {state})", self.container)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Difference {
    pub property: String,
    pub live: String,
    pub desired: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Missing {
    pub resource: ResourceRef,
    pub server: String,
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Warning {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
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

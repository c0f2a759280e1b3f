//! The shape a plan leaves behind, as data: servers → destinations →
//! resources, each marked with what the plan does to it (`plan::topology`
//! computes it; the Markdown view draws it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AttachedKind;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub servers: Vec<TopoServer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopoServer {
    pub name: String,
    pub destinations: Vec<TopoDestination>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopoDestination {
    /// The destination's name; for a network being removed, its network name.
    pub name: String,
    pub network: String,
    pub state: TopoState,
    pub resources: Vec<TopoResource>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopoResource {
    pub kind: AttachedKind,
    pub name: String,
    pub state: TopoState,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TopoState {
    Unchanged,
    Added,
    Changed,
    Removed,
}

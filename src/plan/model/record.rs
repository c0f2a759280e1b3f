//! A journal's record: what an interrupted change must leave behind, as
//! the journal container's label holds it (`plan::journal` reads it back).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Change;
use crate::config::EndpointSpec;

/// What an interrupted change must leave behind.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The change that was under way: a `replace_network`, a `connect`
    /// fixing aliases, or a `clone`.
    pub change: Box<Change>,
    /// `replace_network`: every container attached when it began, with the
    /// aliases it had; each is attached again with them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reattach: Vec<Member>,
    /// The consent given (`--allow-replace`), so the restoration rolls
    /// forward without asking again.
    #[serde(default)]
    pub allow_replace: bool,
}

/// A container and its aliases on a network, with what its endpoint
/// asked for there (static addresses, link-local addresses, driver
/// options).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub container: String,
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "EndpointSpec::is_empty")]
    pub endpoint: EndpointSpec,
}

impl Record {
    /// The record as the journal's label holds it.
    pub fn to_label(&self) -> String {
        serde_json::to_string(self).expect("a record serializes")
    }
}

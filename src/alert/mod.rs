//! Alerts from `watch`: which conditions are open and when each fires or
//! resolves (`track`, pure), the notice a receiver gets (the webhook body,
//! `schemas/alert.schema.json`), and delivery to webhook, Slack and ntfy
//! receivers from tasks of their own (`send`), so a dead receiver never
//! slows healing. URLs are read from the environment or a file and never
//! shown.

mod send;
mod track;

use schemars::JsonSchema;
use serde::Serialize;

pub use crate::config::AlertCondition;
pub use send::{AlertError, Delivery, Dispatcher, Outcome, Receiver, receivers};
pub use track::{Signal, Tracker};

/// The version of the notice's JSON: bumped only for a change that is not
/// an added key.
pub const FORMAT_VERSION: u32 = 1;

/// Whether a condition has begun (and held past its grace) or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    Firing,
    Resolved,
}

impl std::fmt::Display for NoticeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoticeState::Firing => "firing",
            NoticeState::Resolved => "resolved",
        })
    }
}

/// One notification, as the generic webhook receives it (JSON, POSTed);
/// Slack and ntfy receivers get its `summary` and `detail` as text. One
/// `firing` per condition and subject until it resolves, then one
/// `resolved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(title = "berth watch alert notice (format_version 1)")]
pub struct Notice {
    /// `1`.
    pub format_version: u32,
    /// The `[[alert]]` table's `name`.
    pub alert: String,
    pub condition: AlertCondition,
    pub state: NoticeState,
    /// What the condition is about, the same in the `firing` and the
    /// `resolved` notice: `server s1`, `server s1: connect api on network
    /// prod-net (destination prod)`, `git fetch in /srv/infra`, `config`.
    pub subject: String,
    /// The server it concerns, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// One line for a person: `server s1 is unreachable`.
    pub summary: String,
    /// Why, as watch last saw it (the connection error, why a change is
    /// not applied, the failed step's error, git's message, the config's
    /// located errors); empty when there is nothing more to say.
    pub detail: String,
    /// When the condition began (RFC 3339).
    pub since: String,
    /// When this notice was made (RFC 3339).
    pub at: String,
    /// `settings.owner` of the watched config.
    pub owner: String,
    /// `config_invalid`: the invalid commit (firing) or the valid one that
    /// resolved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// `config_invalid`: the last good commit, whose config stays in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_good_commit: Option<String>,
}

/// The JSON schema of a webhook notice (`schemas/alert.schema.json`).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Notice)).expect("a schema is JSON")
}

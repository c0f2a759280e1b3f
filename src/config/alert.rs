//! `[[alert]]` as checked: where `watch` notifies, on which conditions,
//! after how long. The URL itself is never in the config, only where to
//! read it (`url_env`, `url_file`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::diag::Location;

/// How long a lasting condition holds before an alert fires, by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(120);
/// How many notifications an alert sends in any hour, by default.
pub const DEFAULT_MAX_PER_HOUR: u32 = 30;

/// One `[[alert]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub name: String,
    pub kind: AlertKind,
    /// Where the URL is read when watch starts.
    pub url: UrlFrom,
    /// The conditions it notifies, each once, in the order written.
    pub on: Vec<AlertCondition>,
    /// How long a lasting condition (`server_down`, `not_healing`,
    /// `fetch_failed`) holds before it fires.
    pub grace: Duration,
    pub max_per_hour: u32,
    pub at: Location,
}

/// What a receiver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A JSON body (`schemas/alert.schema.json`), POSTed.
    Webhook,
    /// A Slack-compatible incoming webhook: `{"text": …}`.
    Slack,
    /// An ntfy topic URL: the text POSTed, with Title/Priority/Tags headers.
    Ntfy,
}

impl AlertKind {
    pub const ALL: [(&'static str, AlertKind); 3] = [
        ("webhook", AlertKind::Webhook),
        ("slack", AlertKind::Slack),
        ("ntfy", AlertKind::Ntfy),
    ];
}

/// Where an alert's URL is read: never from the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlFrom {
    /// `url_env`: this environment variable.
    Env(String),
    /// `url_file`: the first line of this file.
    File(PathBuf),
}

impl fmt::Display for UrlFrom {
    /// `url from $BERTH_ALERT_URL`: how logs and errors name the URL
    /// without showing it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlFrom::Env(var) => write!(f, "url from ${var}"),
            UrlFrom::File(path) => write!(f, "url from file {}", path.display()),
        }
    }
}

/// What an alert is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertCondition {
    /// A server cannot be reached (and, resolved, is reached again).
    ServerDown,
    /// A change watch does not apply (blocked, or not a healing change)
    /// outstanding longer than `grace`.
    NotHealing,
    /// A change watch applied failed.
    ApplyFailed,
    /// `git fetch` of the watched repository fails.
    FetchFailed,
    /// The watched ref's new commit has an invalid config: the last good
    /// one stays in force.
    ConfigInvalid,
}

impl AlertCondition {
    pub const ALL: [AlertCondition; 5] = [
        AlertCondition::ServerDown,
        AlertCondition::NotHealing,
        AlertCondition::ApplyFailed,
        AlertCondition::FetchFailed,
        AlertCondition::ConfigInvalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertCondition::ServerDown => "server_down",
            AlertCondition::NotHealing => "not_healing",
            AlertCondition::ApplyFailed => "apply_failed",
            AlertCondition::FetchFailed => "fetch_failed",
            AlertCondition::ConfigInvalid => "config_invalid",
        }
    }

    /// A condition that lasts, and fires only once it has held for the
    /// alert's `grace`; the others fire at once.
    pub fn lasting(self) -> bool {
        matches!(
            self,
            AlertCondition::ServerDown | AlertCondition::NotHealing | AlertCondition::FetchFailed
        )
    }
}

impl fmt::Display for AlertCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! `watch`'s log: each event's text line, how much it matters (the level
//! `--log-level` compares), the event as JSON for a log pipeline, and the
//! whole line as written (`<time> <text>`, or a JSON object with `ts` and
//! `level`). The CLI hands these to `tracing` and writes what it returns.

use std::time::SystemTime;

use tracing::Level;

use crate::alert::NoticeState;
use crate::ops::{DeliveryOutcome, WatchEvent};

/// How much a watch event matters: what `--log-level` compares.
pub fn level(event: &WatchEvent) -> Level {
    match event {
        WatchEvent::Unrelated { .. } => Level::DEBUG,
        WatchEvent::Error { .. }
        | WatchEvent::ConfigInvalid { .. }
        | WatchEvent::NotFound { error: true, .. }
        | WatchEvent::Applied { ok: false, .. }
        | WatchEvent::AlertDelivery {
            outcome: DeliveryOutcome::Failed,
            ..
        } => Level::ERROR,
        WatchEvent::Alert {
            state: NoticeState::Firing,
            ..
        }
        | WatchEvent::AlertDelivery {
            outcome: DeliveryOutcome::Dropped,
            ..
        }
        | WatchEvent::Down { .. }
        | WatchEvent::Note { .. }
        | WatchEvent::Held { .. }
        | WatchEvent::NotFound { .. } => Level::WARN,
        _ => Level::INFO,
    }
}

/// The event as one JSON object (`"event": "<kind>"` and its fields).
pub fn json(event: &WatchEvent) -> String {
    serde_json::to_string(event).expect("a watch event serializes")
}

/// One record of the log as `tracing` hands it over: one of watch's own
/// (its text, and with `json` its JSON object) or another crate's.
pub struct Record<'a> {
    pub time: SystemTime,
    pub level: Level,
    /// `berth::watch` for watch's own records.
    pub target: &'a str,
    /// Watch's own record: its text line.
    pub ours: bool,
    pub message: &'a str,
    /// The record's other fields, as ` key=value`.
    pub rest: &'a str,
    /// Watch's own record in JSON lines: the event as JSON.
    pub json: Option<&'a str>,
}

/// The line written for a record, without its newline: `<rfc3339 time>
/// <text>` (another crate's record says its level and target), or with
/// `json_lines` a JSON object with `ts` and `level` added (another crate's
/// record as `"event": "log"` with its target and message).
pub fn line(record: &Record<'_>, json_lines: bool) -> String {
    let now = humantime::format_rfc3339_millis(record.time).to_string();
    let level = record.level.as_str().to_ascii_lowercase();
    if !json_lines {
        return if record.ours {
            format!("{now} {}", record.message)
        } else {
            format!(
                "{now} {level} {}: {}{}",
                record.target, record.message, record.rest
            )
        };
    }
    let mut value = record
        .json
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| {
            serde_json::json!({
                "event": "log",
                "target": record.target,
                "message": format!("{}{}", record.message, record.rest),
            })
        });
    if let Some(map) = value.as_object_mut() {
        map.insert("ts".into(), now.into());
        map.insert("level".into(), level.into());
    }
    value.to_string()
}

pub fn text(event: &WatchEvent) -> String {
    match event {
        WatchEvent::Started { servers } => format!("watching server(s) {}", servers.join(", ")),
        WatchEvent::Config { commit, reference } => {
            let short = |c: &String| c.chars().take(12).collect::<String>();
            match (commit, reference) {
                (Some(c), Some(r)) => format!("config: {r} at {}", short(c)),
                (Some(c), None) => format!("config: commit {}", short(c)),
                (None, Some(r)) => format!("config: {r}"),
                (None, None) => "config: the work tree".to_string(),
            }
        }
        WatchEvent::ConfigInvalid {
            message,
            commit: Some(commit),
            keeping,
        } => {
            let short = |c: &String| c.chars().take(12).collect::<String>();
            let keeping = match keeping {
                Some(k) => format!("commit {}", short(k)),
                None => "the previous one".to_string(),
            };
            format!(
                "config: commit {} is invalid, {keeping} stays in force:\n{message}",
                short(commit)
            )
        }
        WatchEvent::ConfigInvalid { message, .. } => format!(
            "config: the new config is invalid, the previous one stays in force:\n{message}"
        ),
        WatchEvent::Alert {
            alert,
            condition,
            state,
            summary,
            ..
        } => format!("alert {alert}: {state}: {summary} ({condition})"),
        WatchEvent::AlertDelivery {
            alert,
            from,
            condition,
            state,
            outcome,
            attempts,
            error,
            ..
        } => {
            let what = format!("alert {alert} ({from}): {state} {condition}");
            let why = error.as_deref().unwrap_or("");
            match outcome {
                DeliveryOutcome::Sent => format!(
                    "{what} sent ({attempts} attempt{})",
                    if *attempts == 1 { "" } else { "s" }
                ),
                DeliveryOutcome::Failed => {
                    format!("{what} not delivered after {attempts} attempt(s): {why}")
                }
                DeliveryOutcome::Dropped => format!("{what} dropped: {why}"),
            }
        }
        WatchEvent::Note { server, message } => format!("server {server}: {message}"),
        WatchEvent::Connected { server } => {
            format!("server {server}: connected, following its events")
        }
        WatchEvent::Down {
            server,
            error,
            retry_in_ms,
        } => format!(
            "server {server}: down ({error}); retrying in {}",
            humantime::format_duration(std::time::Duration::from_millis(*retry_in_ms))
        ),
        WatchEvent::Docker {
            server,
            kind,
            action,
            name,
        } => format!("server {server}: {kind} {name}: {action}"),
        WatchEvent::Unrelated {
            server,
            kind,
            action,
            name,
        } => format!("server {server}: {kind} {name}: {action} (unrelated to the config)"),
        WatchEvent::Applied {
            server,
            change,
            ok,
            error,
        } => match (ok, error) {
            (true, _) => format!("server {server}: ✓ {}", super::describe(change)),
            (false, e) => format!(
                "server {server}: ✗ {}: {}",
                super::describe(change),
                e.as_deref().unwrap_or("failed")
            ),
        },
        WatchEvent::Held {
            server,
            change,
            why,
        } => format!(
            "server {server}: not applied: {}: {why}",
            super::describe(change)
        ),
        WatchEvent::NotFound {
            server,
            message,
            error,
            ..
        } => format!(
            "server {server}: {}: {message}",
            if *error { "error" } else { "warning" }
        ),
        WatchEvent::Synced {
            server,
            trigger,
            drift,
            not_found: 0,
        } => format!("server {server}: planned ({trigger}): {drift} change(s) left"),
        WatchEvent::Synced {
            server,
            trigger,
            drift,
            not_found,
        } => format!(
            "server {server}: planned ({trigger}): {} change(s) left, {not_found} declared resource(s) not found",
            drift - not_found
        ),
        WatchEvent::Error { server, message } => match server {
            Some(s) => format!("server {s}: error: {message}"),
            None => format!("error: {message}"),
        },
        WatchEvent::Stopped => "stopped: locks released".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn unrelated_events_are_debug_and_what_needs_a_person_is_a_warning_or_worse() {
        let unrelated = WatchEvent::Unrelated {
            server: "s".into(),
            kind: "container".into(),
            action: "start".into(),
            name: "scratch".into(),
        };
        assert_eq!(level(&unrelated), Level::DEBUG);
        assert_eq!(
            text(&unrelated),
            "server s: container scratch: start (unrelated to the config)"
        );
        let down = WatchEvent::Down {
            server: "s".into(),
            error: "gone".into(),
            retry_in_ms: 1500,
        };
        assert_eq!(level(&down), Level::WARN);
        assert_eq!(text(&down), "server s: down (gone); retrying in 1s 500ms");
        let note = WatchEvent::Note {
            server: "s".into(),
            message: "broke the lock of a@b (pid 1)".into(),
        };
        assert_eq!(level(&note), Level::WARN);
        assert_eq!(text(&note), "server s: broke the lock of a@b (pid 1)");
        let invalid = WatchEvent::ConfigInvalid {
            message: "bad".into(),
            commit: None,
            keeping: None,
        };
        assert_eq!(level(&invalid), Level::ERROR);
        assert_eq!(level(&WatchEvent::Stopped), Level::INFO);
    }

    #[test]
    fn alerts_and_their_delivery_name_the_receiver_by_where_its_url_comes_from() {
        use crate::alert::AlertCondition;
        let firing = WatchEvent::Alert {
            alert: "ops".into(),
            condition: AlertCondition::ServerDown,
            state: NoticeState::Firing,
            subject: "server s1".into(),
            summary: "server s1 is unreachable".into(),
            detail: "refused".into(),
            since: "2027-01-15T08:00:00Z".into(),
        };
        assert_eq!(level(&firing), Level::WARN);
        assert_eq!(
            text(&firing),
            "alert ops: firing: server s1 is unreachable (server_down)"
        );
        let v: serde_json::Value = serde_json::from_str(&json(&firing)).expect("JSON");
        assert_eq!(
            (v["event"].as_str(), v["state"].as_str()),
            (Some("alert"), Some("firing"))
        );
        let failed = WatchEvent::AlertDelivery {
            alert: "ops".into(),
            from: "url from $HOOK".into(),
            condition: AlertCondition::ServerDown,
            state: NoticeState::Resolved,
            subject: "server s1".into(),
            outcome: DeliveryOutcome::Failed,
            attempts: 4,
            error: Some("the receiver answered 500".into()),
        };
        assert_eq!(level(&failed), Level::ERROR);
        assert_eq!(
            text(&failed),
            "alert ops (url from $HOOK): resolved server_down not delivered after 4 attempt(s): the receiver answered 500"
        );
        let invalid = WatchEvent::ConfigInvalid {
            message: "error: bad".into(),
            commit: Some("2222222222222222".into()),
            keeping: Some("1111111111111111".into()),
        };
        assert_eq!(
            text(&invalid),
            "config: commit 222222222222 is invalid, commit 111111111111 stays in force:\nerror: bad"
        );
    }

    #[test]
    fn a_line_is_the_time_and_the_text_or_one_json_object() {
        let time = UNIX_EPOCH + Duration::from_millis(1_796_594_427_017);
        let down = WatchEvent::Down {
            server: "s".into(),
            error: "gone".into(),
            retry_in_ms: 1000,
        };
        let message = text(&down);
        let event = json(&down);
        let ours = Record {
            time,
            level: level(&down),
            target: "berth::watch",
            ours: true,
            message: &message,
            rest: "",
            json: Some(&event),
        };
        assert_eq!(
            line(&ours, false),
            "2026-12-06T22:00:27.017Z server s: down (gone); retrying in 1s"
        );
        let v: serde_json::Value = serde_json::from_str(&line(&ours, true)).expect("JSON");
        assert_eq!(v["event"], "down");
        assert_eq!(v["retry_in_ms"], 1000);
        assert_eq!(v["ts"], "2026-12-06T22:00:27.017Z");
        assert_eq!(v["level"], "warn");

        let theirs = Record {
            time,
            level: Level::WARN,
            target: "hyper",
            ours: false,
            message: "slow",
            rest: " ms=3",
            json: None,
        };
        assert_eq!(
            line(&theirs, false),
            "2026-12-06T22:00:27.017Z warn hyper: slow ms=3"
        );
        let v: serde_json::Value = serde_json::from_str(&line(&theirs, true)).expect("JSON");
        assert_eq!(
            (
                v["event"].as_str(),
                v["target"].as_str(),
                v["message"].as_str()
            ),
            (Some("log"), Some("hyper"), Some("slow ms=3"))
        );
    }
}

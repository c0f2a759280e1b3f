//! `berth watch`: the reconciler's log, one line per event and action
//! (text, or JSON lines for a log pipeline); exits 0 when stopped.

use std::io::Write;
use std::sync::Mutex;

use super::{Exit, LogFormat, WatchArgs, block_on, failed};
use crate::ops::{WatchEvent, WatchObserver, WatchRequest};
use crate::render;

pub fn run(args: &WatchArgs) -> Exit {
    let req = WatchRequest {
        source: args.source.spec(),
        fetch_interval: args.fetch_interval,
        fleet: args.fleet.fleet(),
        lock_timeout: args.lock_timeout,
        apply_all: args.apply_all,
        resync: args.resync,
        server: args.server.clone(),
        local: args.local,
        metrics: args.metrics,
    };
    let log = Log {
        format: args.log_format,
        out: Mutex::new(std::io::stdout()),
    };
    match block_on(|cancel| async move { crate::ops::watch(&req, &log, &cancel).await }) {
        // Stopped by a signal: the step under way finished, locks released.
        None | Some(Ok(())) => Exit::Ok,
        Some(Err(e)) => failed(&e),
    }
}

struct Log {
    format: LogFormat,
    out: Mutex<std::io::Stdout>,
}

impl WatchObserver for Log {
    fn event(&self, event: &WatchEvent) {
        let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
        let line = match self.format {
            LogFormat::Json => {
                let mut value = serde_json::to_value(event).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.insert("ts".into(), now.to_string().into());
                }
                value.to_string()
            }
            LogFormat::Text => format!("{now} {}", text(event)),
        };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn text(event: &WatchEvent) -> String {
    match event {
        WatchEvent::Started { servers } => format!("watching server(s) {}", servers.join(", ")),
        WatchEvent::Config { commit, reference } => match (commit, reference) {
            (Some(c), Some(r)) => {
                format!("config: {r} at {}", c.chars().take(12).collect::<String>())
            }
            _ => "config: the work tree".to_string(),
        },
        WatchEvent::ConfigInvalid { message } => format!(
            "config: the new config is invalid, the previous one stays in force:\n{message}"
        ),
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
        WatchEvent::Applied {
            server,
            change,
            ok,
            error,
        } => match (ok, error) {
            (true, _) => format!("server {server}: ✓ {}", render::describe(change)),
            (false, e) => format!(
                "server {server}: ✗ {}: {}",
                render::describe(change),
                e.as_deref().unwrap_or("failed")
            ),
        },
        WatchEvent::Held {
            server,
            change,
            why,
        } => format!(
            "server {server}: not applied: {}: {why}",
            render::describe(change)
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

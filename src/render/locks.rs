//! The view of `berth locks`: one aligned line per held lock (server,
//! owner, holder, pid, since and how long ago), then each server that could
//! not be read, then a summary. Human text with ANSI styles; the JSON is
//! [`crate::live::Locks`] itself.

use std::fmt::Write;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use crate::live::{Lock, Locks};

const RED: Style = AnsiColor::Red.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// The owner column: the owner, `legacy (every owner)`, or `unknown`.
fn owner(lock: &Lock) -> String {
    match (&lock.owner, lock.legacy) {
        (_, true) => "legacy (every owner)".to_string(),
        (Some(owner), false) => owner.clone(),
        (None, false) => "unknown".to_string(),
    }
}

/// `2026-12-06T19:50:00Z (3m 12s ago)`, or `unknown` for a lock whose
/// labels were lost.
fn since(lock: &Lock) -> String {
    if lock.since_unix == 0 {
        return "unknown".to_string();
    }
    format!(
        "{} ({} ago)",
        lock.since,
        humantime::format_duration(Duration::from_secs(lock.age_seconds))
    )
}

pub fn human(locks: &Locks) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "SERVER".into(),
        "OWNER".into(),
        "HOLDER".into(),
        "PID".into(),
        "SINCE".into(),
    ]];
    for s in &locks.servers {
        for lock in &s.locks {
            rows.push([
                s.server.clone(),
                owner(lock),
                if lock.holder.is_empty() {
                    "unknown".to_string()
                } else {
                    lock.holder.clone()
                },
                if lock.pid == 0 {
                    "-".to_string()
                } else {
                    lock.pid.to_string()
                },
                since(lock),
            ]);
        }
    }
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let held = rows.len() - 1;
    if held > 0 {
        for (i, row) in rows.iter().enumerate() {
            let mut line = String::new();
            for (w, cell) in widths.iter().zip(row) {
                let pad = w - cell.chars().count();
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
            line.push_str(&row[4]);
            let line = if i == 0 { paint(BOLD, &line) } else { line };
            let _ = writeln!(out, "{line}");
        }
    }
    let failed: Vec<_> = locks
        .servers
        .iter()
        .filter_map(|s| Some((&s.server, s.error.as_ref()?)))
        .collect();
    for (server, error) in &failed {
        let _ = writeln!(
            out,
            "{} server {server} could not be read: {error}",
            paint(RED, "✗")
        );
    }
    let read = locks.servers.len() - failed.len();
    let on = locks.servers.iter().filter(|s| !s.locks.is_empty()).count();
    let mut summary = match held {
        0 => format!("No locks held on {}.", servers(read)),
        1 => format!("1 lock held, on 1 of {}.", servers(read)),
        n => format!("{n} locks held, on {on} of {}.", servers(read)),
    };
    if !failed.is_empty() {
        let _ = write!(
            summary,
            " {} could not be read.",
            match failed.len() {
                1 => "1 server".to_string(),
                n => format!("{n} servers"),
            }
        );
    }
    let _ = writeln!(out, "{summary}");
    if held > 0 {
        let _ = writeln!(
            out,
            "{}",
            paint(
                DIM,
                &format!(
                    "A lock whose berth is gone: `berth unlock --server NAME` breaks owner {}'s (this config's).",
                    locks.owner
                )
            )
        );
    }
    out
}

/// `1 server read`, `3 servers read`.
fn servers(n: usize) -> String {
    match n {
        1 => "1 server read".to_string(),
        n => format!("{n} servers read"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::ServerLocks;

    fn lock(owner: Option<&str>, legacy: bool) -> Lock {
        Lock {
            volume: "berth-lock-x".into(),
            owner: owner.map(String::from),
            legacy,
            holder: "root@ci-7".into(),
            pid: 4242,
            since: "2026-12-06T19:50:00Z".into(),
            since_unix: 1_796_586_600,
            age_seconds: 192,
        }
    }

    #[test]
    fn one_line_per_lock_then_unreadable_servers_then_a_summary() {
        let locks = Locks {
            format_version: 1,
            owner: "acme".into(),
            servers: vec![
                ServerLocks {
                    server: "boat".into(),
                    locks: vec![lock(Some("acme"), false), lock(None, true)],
                    error: None,
                },
                ServerLocks {
                    server: "idle".into(),
                    locks: vec![],
                    error: None,
                },
                ServerLocks {
                    server: "gone".into(),
                    locks: vec![],
                    error: Some("cannot reach Docker at unix:///x".into()),
                },
            ],
        };
        let text = anstream::adapter::strip_str(&human(&locks)).to_string();
        assert_eq!(
            text,
            "\
SERVER  OWNER                 HOLDER     PID   SINCE
boat    acme                  root@ci-7  4242  2026-12-06T19:50:00Z (3m 12s ago)
boat    legacy (every owner)  root@ci-7  4242  2026-12-06T19:50:00Z (3m 12s ago)
✗ server gone could not be read: cannot reach Docker at unix:///x
2 locks held, on 1 of 2 servers read. 1 server could not be read.
A lock whose berth is gone: `berth unlock --server NAME` breaks owner acme's (this config's).
"
        );
    }

    #[test]
    fn nothing_held_is_one_line() {
        let locks = Locks {
            format_version: 1,
            owner: "acme".into(),
            servers: vec![ServerLocks {
                server: "boat".into(),
                locks: vec![],
                error: None,
            }],
        };
        assert_eq!(human(&locks), "No locks held on 1 server read.\n");
    }
}

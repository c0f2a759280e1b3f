//! Fault points for the fault tests. Built with the `fault-injection`
//! feature, `BERTH_FAULT=<point>[@<n>]:<action>[,…]` makes berth act at the
//! n-th time (default: the first) it reaches a named point: `panic`, `kill`
//! (SIGKILL itself, as an OOM killer or a closed laptop would), `hang`,
//! `sleep=<ms>` (a window for a test to kill a daemon or cut a connection),
//! or `stop` (SIGSTOP itself: the test acts on the servers while berth is
//! frozen, then sends SIGCONT).
//!
//! Every Docker request that changes something is followed by a point
//! `sent.<request>` (`sent.connect`, `sent.disconnect`,
//! `sent.create_network`, `sent.remove_network`, `sent.write_journal`,
//! `sent.remove_journal`, a clone's `sent.create_volume`,
//! `sent.create_copy`, `sent.start`, `sent.remove_container`,
//! `sent.remove_volume`, a swarm service's `sent.update_service`, and a
//! service clone's `sent.create_service`),
//! reached when Docker has carried it out and berth
//! has not yet read the answer: a `kill` there is a berth dying between a
//! request and its answer. At those points one more action, `again`, sends
//! the request a second time and keeps the second answer (the "already
//! done" one); `sent.*` names every such point.
//! Without the feature every point compiles to nothing; release builds
//! lack it.

/// Reached a named point: act if `BERTH_FAULT` asks for it.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}

/// A change request named `request` was carried out by Docker, its answer
/// not yet read: acts at the point `sent.<request>` like [`point`], and
/// says whether `BERTH_FAULT` asks for the request to be sent again
/// (`sent.<request>:again` or `sent.*:again`).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn sent(_request: &str) -> bool {
    false
}

/// A change request named `request` was carried out by Docker, its answer
/// not yet read: acts at the point `sent.<request>` like [`point`], and
/// says whether `BERTH_FAULT` asks for the request to be sent again
/// (`sent.<request>:again` or `sent.*:again`).
#[cfg(feature = "fault-injection")]
pub fn sent(request: &str) -> bool {
    let name = format!("sent.{request}");
    point(&name);
    let Ok(spec) = std::env::var("BERTH_FAULT") else {
        return false;
    };
    let again = spec.split(',').any(|entry| {
        entry
            .trim()
            .split_once(':')
            .is_some_and(|(at, action)| action == "again" && (at == name || at == "sent.*"))
    });
    if again {
        eprintln!("berth: fault injected at {name}: again");
    }
    again
}

/// Reached a named point: act if `BERTH_FAULT` asks for it.
#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static HITS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    let Ok(spec) = std::env::var("BERTH_FAULT") else {
        return;
    };
    let hit = {
        let mut hits = HITS.lock().unwrap_or_else(|p| p.into_inner());
        let n = hits
            .get_or_insert_with(HashMap::new)
            .entry(name.to_string())
            .or_insert(0);
        *n += 1;
        *n
    };
    for entry in spec.split(',') {
        let Some((at, action)) = entry.trim().split_once(':') else {
            continue;
        };
        let (point, nth) = match at.split_once('@') {
            Some((p, n)) => (p, n.parse().unwrap_or(1)),
            None => (at, 1),
        };
        if point != name || nth != hit {
            continue;
        }
        eprintln!("berth: fault injected at {name} (hit {hit}): {action}");
        match action {
            "panic" => panic!("fault injected at {name}"),
            // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
            "kill" => unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            },
            // SAFETY: as above; the test sends SIGCONT.
            "stop" => unsafe {
                libc::kill(libc::getpid(), libc::SIGSTOP);
            },
            // Handled by `sent`.
            "again" => {}
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            other => match other.strip_prefix("sleep=").and_then(|ms| ms.parse().ok()) {
                Some(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
                None => eprintln!("berth: unknown fault action `{other}`"),
            },
        }
    }
}

//! The per-server lock (issue 5): a `berth-lock` volume on the daemon that
//! `apply` takes before reading a server and releases on every exit path.
//!
//! Every test uses its own second `dockerd` (reached via `unix://`), so
//! its lock is independent of other tests' applies on the local daemon.

use std::collections::HashMap;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::config::{destination, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::spawn::Spawned;
use crate::common::{Project, Run, TEST_IMAGE, ensure_image, unique};
use serde_json::Value;

const LOCK: &str = "berth-lock";
const GHOST_HOLDER: &str = "ghost@gone-host";
const GHOST_PID: &str = "4242";
const GHOST_TOKEN: &str = "ghost-token";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn config(owner: &str, servers: &[(&str, &SecondDaemon)], destinations: &[(&str, &str)]) -> String {
    let mut s = settings(owner);
    for (name, d) in servers {
        s += &server(name, &d.address());
    }
    for (i, (on, network)) in destinations.iter().enumerate() {
        s += &destination(&format!("dest-{i}"), on, network);
    }
    s
}

/// Leaves a lock on `d` as a berth that was killed would: the volume with
/// holder labels, taken two minutes ago.
fn hold_lock_by_hand(d: &SecondDaemon) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 120;
    d.docker_ok(&[
        "volume",
        "create",
        "--label",
        &format!("berth.lock.holder={GHOST_HOLDER}"),
        "--label",
        &format!("berth.lock.pid={GHOST_PID}"),
        "--label",
        &format!("berth.lock.since={since}"),
        "--label",
        &format!("berth.lock.token={GHOST_TOKEN}"),
        LOCK,
    ]);
}

/// The labels of the lock volume on `d`, or None when it is not locked.
fn lock_labels(d: &SecondDaemon) -> Option<HashMap<String, String>> {
    let out = d.docker(&["volume", "inspect", "--format", "{{json .Labels}}", LOCK]);
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).expect("labels are JSON");
    Some(serde_json::from_value(v).unwrap_or_default())
}

/// How many networks named exactly `name` exist on `d` (Docker allows
/// duplicates: two unlocked creates would make two).
fn networks_named(d: &SecondDaemon, name: &str) -> usize {
    let filter = format!("name=^{name}$");
    d.docker_ok(&["network", "ls", "-q", "--filter", &filter])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

/// `berth ARGS --dir <project>`, started now (not serialised with other
/// applies, unlike `Project::berth`), given 120 s.
fn run_berth(p: &Project, args: &[&str]) -> Run {
    Spawned::start(p, args).finish(Duration::from_secs(120))
}

// ---------------------------------------------------------------------------
// A lock left by a killed process
// ---------------------------------------------------------------------------

#[test]
fn a_stale_lock_blocks_apply_naming_its_holder_until_unlock_breaks_it() {
    let d2 = SecondDaemon::start();
    let owner = unique("own");
    let net = unique("locknet");
    let p = Project::new();
    p.write(
        "berth.toml",
        &config(&owner, &[("boat", &d2)], &[("boat", &net)]),
    );
    hold_lock_by_hand(&d2);

    // Waits about --lock-timeout, then fails naming server, holder and fix.
    let started = Instant::now();
    let run = run_berth(&p, &["apply", "--yes", "--lock-timeout", "1s"]);
    let took = started.elapsed();
    run.expect_code(1);
    assert!(
        took >= Duration::from_secs(1),
        "apply gave up after {took:?}, before --lock-timeout 1s\n{run}"
    );
    assert!(
        took < Duration::from_secs(30),
        "apply waited {took:?} with --lock-timeout 1s\n{run}"
    );
    for needle in [
        "boat",
        &format!("locked by {GHOST_HOLDER} (pid {GHOST_PID}) since"),
        "berth unlock --server boat",
    ] {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks `{needle}`\n{run}"
        );
    }
    assert_eq!(
        networks_named(&d2, &net),
        0,
        "applied despite the lock\n{run}"
    );
    // The failed apply did not break or replace someone else's lock.
    let labels = lock_labels(&d2).expect("the stale lock is still there");
    assert_eq!(labels["berth.lock.token"], GHOST_TOKEN);

    // plan takes no lock: it still reads the locked server.
    let run = run_berth(&p, &["plan", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(
        run.json()["changes"].as_array().map(Vec::len),
        Some(1),
        "{run}"
    );

    // unlock breaks it and says whose it was.
    let run = run_berth(&p, &["unlock", "--server", "boat"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(GHOST_HOLDER) && run.stdout.contains(GHOST_PID),
        "unlock does not name the holder\n{run}"
    );
    assert!(lock_labels(&d2).is_none(), "the lock is still there\n{run}");

    let run = run_berth(&p, &["unlock", "--server", "boat"]);
    run.expect_code(0);
    assert!(run.stdout.contains("not locked"), "{run}");

    let run = run_berth(&p, &["unlock", "--server", "no-such-server"]);
    run.expect_code(1);

    // Now apply goes through, and releases its own lock.
    let run = run_berth(&p, &["apply", "--yes", "--lock-timeout", "1s"]);
    run.expect_code(0);
    assert_eq!(networks_named(&d2, &net), 1, "{run}");
    assert!(lock_labels(&d2).is_none(), "apply left its lock\n{run}");
}

// ---------------------------------------------------------------------------
// Released after success and after refusals
// ---------------------------------------------------------------------------

#[test]
fn the_lock_is_released_after_success_blocked_and_failed_applies() {
    ensure_image();
    let d2 = SecondDaemon::start();
    d2.load_image(TEST_IMAGE);
    let owner = unique("own");
    let p = Project::new();

    // Success.
    let net = unique("okn");
    p.write(
        "berth.toml",
        &config(&owner, &[("boat", &d2)], &[("boat", &net)]),
    );
    let run = run_berth(&p, &["apply", "--yes"]);
    run.expect_code(0);
    assert_eq!(networks_named(&d2, &net), 1, "{run}");
    assert!(lock_labels(&d2).is_none(), "lock left after success\n{run}");

    // Blocked (exit 3): a berth-owned network nothing declares any more,
    // with a stopped container attached.
    let old = unique("oldn");
    d2.docker_ok(&[
        "network",
        "create",
        "--label",
        "berth.managed=true",
        "--label",
        &format!("berth.owner={owner}"),
        "--label",
        "berth.destination=old",
        &old,
    ]);
    let parked = unique("parked");
    d2.docker_ok(&[
        "create",
        "--name",
        &parked,
        "--network",
        &old,
        TEST_IMAGE,
        "sleep",
        "60",
    ]);
    let run = run_berth(&p, &["apply", "--yes"]);
    run.expect_code(3);
    assert_eq!(networks_named(&d2, &old), 1, "{run}");
    assert!(lock_labels(&d2).is_none(), "lock left after exit 3\n{run}");
    d2.docker_ok(&["rm", "-f", &parked]);
    d2.docker_ok(&["network", "rm", &old]);

    // Failed (exit 1): an adopted network that differs from its destination.
    let adopted = unique("adopt");
    d2.docker_ok(&["network", "create", "--internal", &adopted]);
    p.write(
        "berth.toml",
        &config(
            &owner,
            &[("boat", &d2)],
            &[("boat", &net), ("boat", &adopted)],
        ),
    );
    let run = run_berth(&p, &["apply", "--yes"]);
    run.expect_code(1);
    assert!(lock_labels(&d2).is_none(), "lock left after exit 1\n{run}");

    // Refused (exit 1): changes, but no --yes and stdin is not a terminal.
    d2.docker_ok(&["network", "rm", &adopted]);
    let run = run_berth(&p, &["apply"]);
    run.expect_code(1);
    assert_eq!(networks_named(&d2, &adopted), 0, "{run}");
    assert!(
        lock_labels(&d2).is_none(),
        "lock left after a refusal\n{run}"
    );
}

// ---------------------------------------------------------------------------
// Applies at once never interleave
// ---------------------------------------------------------------------------

#[test]
fn concurrent_applies_on_one_daemon_run_one_after_the_other() {
    let d2 = SecondDaemon::start();
    let owner = unique("own");
    let nets: Vec<String> = (0..8).map(|i| unique(&format!("cc{i}"))).collect();
    let p = Project::new();
    let dests: Vec<(&str, &str)> = nets.iter().map(|n| ("boat", n.as_str())).collect();
    p.write("berth.toml", &config(&owner, &[("boat", &d2)], &dests));

    // Same config, started together: each waits for the other's lock.
    let applies: Vec<Spawned> = (0..3)
        .map(|_| Spawned::start(&p, &["apply", "--yes", "--lock-timeout", "60s"]))
        .collect();
    let runs: Vec<Run> = applies
        .into_iter()
        .map(|a| a.finish(Duration::from_secs(120)))
        .collect();
    let all = runs
        .iter()
        .map(Run::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for run in &runs {
        run.expect_code(0);
    }
    // Exactly one applied; the others planned after it and found nothing.
    let appliers = runs
        .iter()
        .filter(|r| r.stdout.contains("✓ create network"))
        .count();
    assert_eq!(appliers, 1, "not exactly one apply created networks\n{all}");
    let idle = runs
        .iter()
        .filter(|r| r.stdout.contains("No changes"))
        .count();
    assert_eq!(
        idle, 2,
        "the later applies did not see the first's changes\n{all}"
    );
    for net in &nets {
        assert_eq!(networks_named(&d2, net), 1, "{net} created twice?\n{all}");
    }
    assert!(lock_labels(&d2).is_none(), "a lock was left\n{all}");
}

// ---------------------------------------------------------------------------
// SIGTERM while waiting: prompt exit, own locks released, others kept
// ---------------------------------------------------------------------------

#[test]
fn sigterm_while_waiting_for_a_lock_exits_promptly_and_releases_only_its_own() {
    let free = SecondDaemon::start();
    let held = SecondDaemon::start();
    let owner = unique("own");
    let net_free = unique("freen");
    let net_held = unique("heldn");
    let p = Project::new();
    p.write(
        "berth.toml",
        &config(
            &owner,
            &[("free", &free), ("held", &held)],
            &[("free", &net_free), ("held", &net_held)],
        ),
    );
    hold_lock_by_hand(&held);

    let mut apply = Spawned::start(&p, &["apply", "--yes", "--lock-timeout", "30s"]);
    // Wait until it holds the free server's lock (it is then waiting for
    // the other one); its labels name this process.
    let deadline = Instant::now() + Duration::from_secs(30);
    let labels = loop {
        if let Some(labels) = lock_labels(&free) {
            break labels;
        }
        assert!(
            apply.still_running(),
            "apply ended before taking a lock\n{}",
            apply.finish(Duration::from_secs(5))
        );
        assert!(Instant::now() < deadline, "apply took no lock within 30 s");
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        labels["berth.lock.pid"],
        apply.pid().to_string(),
        "{labels:?}"
    );
    assert!(labels["berth.lock.holder"].contains('@'), "{labels:?}");
    assert!(!labels["berth.lock.token"].is_empty(), "{labels:?}");
    assert!(
        labels["berth.lock.since"].parse::<u64>().is_ok(),
        "{labels:?}"
    );
    thread::sleep(Duration::from_millis(500));
    assert!(
        apply.still_running(),
        "apply did not wait for the held lock"
    );

    let pid = apply.pid().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let signalled = Instant::now();
    let run = apply.finish(Duration::from_secs(15));
    let took = signalled.elapsed();
    run.expect_code(130);
    assert!(
        took < Duration::from_secs(5),
        "exit took {took:?} after SIGTERM\n{run}"
    );

    assert!(
        lock_labels(&free).is_none(),
        "the lock apply held is still there after SIGTERM\n{run}"
    );
    let labels = lock_labels(&held).expect("the hand-made lock is gone");
    assert_eq!(labels["berth.lock.token"], GHOST_TOKEN, "{run}");
    assert_eq!(networks_named(&free, &net_free), 0, "{run}");
    assert_eq!(networks_named(&held, &net_held), 0, "{run}");
}

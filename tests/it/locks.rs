//! The per-server lock (issue 5), per owner since issue 18: a
//! `berth-lock-<owner>-<hash>` volume on the daemon that `apply` takes
//! before reading a server and releases on every exit path; configs of
//! different owners never wait on each other; a legacy `berth-lock` (a
//! berth from before per-owner locks) is waited for by every owner;
//! `berth locks` lists what is held across the fleet.
//!
//! Every test uses its own second `dockerd` (reached via `unix://`), so
//! its lock is independent of other tests' applies on the local daemon.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berthing::docker::lock_volume;

use crate::common::config::{destination, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::spawn::Spawned;
use crate::common::{Project, Run, TEST_IMAGE, ensure_image, unique};
use serde_json::Value;

/// The lock of berths from before locks were per owner.
const LEGACY: &str = "berth-lock";
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

/// Leaves the lock `volume` on `d` as a berth that was killed would: the
/// volume with holder labels (and `owner`'s, unless it is a legacy lock),
/// taken two minutes ago.
fn hold_lock_by_hand(d: &SecondDaemon, volume: &str, owner: Option<&str>) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 120;
    let mut labels = vec![
        format!("berth.lock.holder={GHOST_HOLDER}"),
        format!("berth.lock.pid={GHOST_PID}"),
        format!("berth.lock.since={since}"),
        format!("berth.lock.token={GHOST_TOKEN}"),
    ];
    labels.extend(owner.map(|o| format!("berth.lock.owner={o}")));
    let mut args = vec!["volume", "create"];
    for l in &labels {
        args.extend(["--label", l.as_str()]);
    }
    args.push(volume);
    d.docker_ok(&args);
}

/// The labels of the lock volume `volume` on `d`, or None when it is not
/// there.
fn lock_labels(d: &SecondDaemon, volume: &str) -> Option<HashMap<String, String>> {
    let out = d.docker(&["volume", "inspect", "--format", "{{json .Labels}}", volume]);
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

/// Waits (at most 30 s) until `apply` holds the lock `volume` on `d`, and
/// returns its labels; `None` when apply ended first.
fn until_locked(
    apply: &mut Spawned,
    d: &SecondDaemon,
    volume: &str,
) -> Option<HashMap<String, String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(labels) = lock_labels(d, volume) {
            return Some(labels);
        }
        if !apply.still_running() {
            return None;
        }
        assert!(Instant::now() < deadline, "apply took no lock within 30 s");
        thread::sleep(Duration::from_millis(50));
    }
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
    let lock = lock_volume(&owner);
    hold_lock_by_hand(&d2, &lock, Some(&owner));

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
    let labels = lock_labels(&d2, &lock).expect("the stale lock is still there");
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
    assert!(
        run.stdout.contains(&format!("owner {owner}")),
        "unlock does not say whose lock it broke\n{run}"
    );
    assert!(
        lock_labels(&d2, &lock).is_none(),
        "the lock is still there\n{run}"
    );

    let run = run_berth(&p, &["unlock", "--server", "boat"]);
    run.expect_code(0);
    assert!(run.stdout.contains("not locked"), "{run}");

    let run = run_berth(&p, &["unlock", "--server", "no-such-server"]);
    run.expect_code(1);

    // Now apply goes through, and releases its own lock.
    let run = run_berth(&p, &["apply", "--yes", "--lock-timeout", "1s"]);
    run.expect_code(0);
    assert_eq!(networks_named(&d2, &net), 1, "{run}");
    assert!(
        lock_labels(&d2, &lock).is_none(),
        "apply left its lock\n{run}"
    );
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
    let lock = lock_volume(&owner);
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
    assert!(
        lock_labels(&d2, &lock).is_none(),
        "lock left after success\n{run}"
    );

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
    assert!(
        lock_labels(&d2, &lock).is_none(),
        "lock left after exit 3\n{run}"
    );
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
    assert!(
        lock_labels(&d2, &lock).is_none(),
        "lock left after exit 1\n{run}"
    );

    // Refused (exit 1): changes, but no --yes and stdin is not a terminal.
    d2.docker_ok(&["network", "rm", &adopted]);
    let run = run_berth(&p, &["apply"]);
    run.expect_code(1);
    assert_eq!(networks_named(&d2, &adopted), 0, "{run}");
    assert!(
        lock_labels(&d2, &lock).is_none(),
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
    assert!(
        lock_labels(&d2, &lock_volume(&owner)).is_none(),
        "a lock was left\n{all}"
    );
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
    let lock = lock_volume(&owner);
    hold_lock_by_hand(&held, &lock, Some(&owner));

    let mut apply = Spawned::start(&p, &["apply", "--yes", "--lock-timeout", "30s"]);
    // Wait until it holds the free server's lock (it is then waiting for
    // the other one); its labels name this process.
    let Some(labels) = until_locked(&mut apply, &free, &lock) else {
        panic!(
            "apply ended before taking a lock\n{}",
            apply.finish(Duration::from_secs(5))
        )
    };
    assert_eq!(
        labels["berth.lock.pid"],
        apply.pid().to_string(),
        "{labels:?}"
    );
    assert!(labels["berth.lock.holder"].contains('@'), "{labels:?}");
    assert_eq!(labels["berth.lock.owner"], owner, "{labels:?}");
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
        lock_labels(&free, &lock).is_none(),
        "the lock apply held is still there after SIGTERM\n{run}"
    );
    let labels = lock_labels(&held, &lock).expect("the hand-made lock is gone");
    assert_eq!(labels["berth.lock.token"], GHOST_TOKEN, "{run}");
    assert_eq!(networks_named(&free, &net_free), 0, "{run}");
    assert_eq!(networks_named(&held, &net_held), 0, "{run}");
}

// ---------------------------------------------------------------------------
// Per owner: different owners at once, the same owner one after the other
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn two_owners_lock_one_engine_at_once_while_the_same_owner_still_waits() {
    let d2 = SecondDaemon::start();
    let (first, second) = (unique("own-a"), unique("own-b"));
    let (net_a, net_b, net_c) = (unique("pa"), unique("pb"), unique("pc"));
    let a = Project::new();
    a.write(
        "berth.toml",
        &config(&first, &[("boat", &d2)], &[("boat", &net_a)]),
    );
    let b = Project::new();
    b.write(
        "berth.toml",
        &config(&second, &[("boat", &d2)], &[("boat", &net_b)]),
    );
    // The first owner again, from another checkout.
    let a2 = Project::new();
    a2.write(
        "berth.toml",
        &config(&first, &[("boat", &d2)], &[("boat", &net_c)]),
    );

    // The first owner's apply holds its lock for 10 s: it sleeps before its
    // first step.
    let mut slow = Spawned::command(
        a.args(&["apply", "--yes"]),
        a.path(),
        &[("BERTH_FAULT", OsStr::new("apply.step:sleep=10000"))],
    );
    let Some(labels) = until_locked(&mut slow, &d2, &lock_volume(&first)) else {
        panic!(
            "the slow apply ended before taking its lock\n{}",
            slow.finish(Duration::from_secs(5))
        )
    };
    assert_eq!(labels["berth.lock.pid"], slow.pid().to_string());
    assert_ne!(lock_volume(&first), lock_volume(&second));

    // Another owner applies meanwhile without waiting at all: with a lock
    // timeout of 0 any wait would fail it.
    let started = Instant::now();
    let run = run_berth(&b, &["apply", "--yes", "--lock-timeout", "0s"]);
    let took = started.elapsed();
    run.expect_code(0);
    assert_eq!(networks_named(&d2, &net_b), 1, "{run}");
    assert!(
        slow.still_running(),
        "the first owner's apply ended before the second's did: they did not overlap"
    );
    assert!(
        took < Duration::from_secs(8),
        "the second owner's apply took {took:?}\n{run}"
    );
    assert!(
        lock_labels(&d2, &lock_volume(&second)).is_none(),
        "the second owner's lock was left\n{run}"
    );

    // `berth locks`, from either owner's config, lists the held lock:
    // server, owner, holder, since.
    let run = run_berth(&b, &["locks", "--format", "json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["owner"], second.as_str(), "{run}");
    let servers = json["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 1, "{run}");
    assert_eq!(servers[0]["server"], "boat", "{run}");
    let locks = servers[0]["locks"].as_array().expect("locks");
    assert_eq!(locks.len(), 1, "only the first owner's lock is held\n{run}");
    let lock = &locks[0];
    assert_eq!(lock["owner"], first.as_str(), "{run}");
    assert_eq!(lock["legacy"], false, "{run}");
    assert_eq!(lock["volume"], lock_volume(&first).as_str(), "{run}");
    assert_eq!(lock["pid"], u64::from(slow.pid()), "{run}");
    assert_eq!(
        lock["holder"],
        labels["berth.lock.holder"].as_str(),
        "{run}"
    );
    let since = lock["since"].as_str().expect("since");
    let since = humantime::parse_rfc3339(since).expect("since is RFC 3339");
    let ago = SystemTime::now().duration_since(since).unwrap_or_default();
    assert!(ago < Duration::from_secs(60), "since {since:?}\n{run}");
    assert!(lock["age_seconds"].as_u64().expect("age") < 60, "{run}");

    let run = run_berth(&a, &["locks"]);
    run.expect_code(0);
    let pid = slow.pid().to_string();
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("boat "))
        .unwrap_or_else(|| panic!("no line for server boat\n{run}"));
    for needle in [first.as_str(), pid.as_str(), "@", " ago)"] {
        assert!(line.contains(needle), "`{line}` lacks `{needle}`\n{run}");
    }
    assert!(run.stdout.contains("1 lock held"), "{run}");

    // The same owner still waits for its own lock, and gives up naming the
    // holder.
    let started = Instant::now();
    let run = run_berth(&a2, &["apply", "--yes", "--lock-timeout", "1s"]);
    let took = started.elapsed();
    run.expect_code(1);
    assert!(
        took >= Duration::from_secs(1),
        "gave up after {took:?}\n{run}"
    );
    assert!(
        run.stderr.contains(&format!("(pid {pid}) since")),
        "the error does not name the holder\n{run}"
    );
    assert_eq!(
        networks_named(&d2, &net_c),
        0,
        "applied despite the lock\n{run}"
    );
    assert!(
        slow.still_running(),
        "the slow apply ended too soon for this test"
    );

    let run = slow.finish(Duration::from_secs(60));
    run.expect_code(0);
    assert_eq!(networks_named(&d2, &net_a), 1, "{run}");

    // Released: nothing is listed any more.
    let run = run_berth(&a, &["locks", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(
        run.json()["servers"][0]["locks"].as_array().map(Vec::len),
        Some(0),
        "{run}"
    );
    let run = run_berth(&a, &["locks"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "No locks held on 1 server read.\n", "{run}");
}

// ---------------------------------------------------------------------------
// A legacy `berth-lock` (a berth from before per-owner locks)
// ---------------------------------------------------------------------------

#[test]
fn a_legacy_lock_holds_every_owner_until_unlock_legacy_breaks_it() {
    let d2 = SecondDaemon::start();
    let owner = unique("own");
    let net = unique("legacyn");
    let p = Project::new();
    p.write(
        "berth.toml",
        &config(&owner, &[("boat", &d2)], &[("boat", &net)]),
    );
    hold_lock_by_hand(&d2, LEGACY, None);

    let run = run_berth(&p, &["apply", "--yes", "--lock-timeout", "1s"]);
    run.expect_code(1);
    for needle in [
        &format!("locked by {GHOST_HOLDER} (pid {GHOST_PID}) since"),
        "legacy `berth-lock`",
        "berth unlock --server boat --legacy",
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
    assert!(
        lock_labels(&d2, &lock_volume(&owner)).is_none(),
        "the apply that gave up left its own lock\n{run}"
    );

    let run = run_berth(&p, &["locks"]);
    run.expect_code(0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("boat "))
        .unwrap_or_else(|| panic!("no line for server boat\n{run}"));
    for needle in ["legacy (every owner)", GHOST_HOLDER, GHOST_PID, "(2m"] {
        assert!(line.contains(needle), "`{line}` lacks `{needle}`\n{run}");
    }

    // unlock alone breaks only this owner's lock; --legacy breaks the old one.
    let run = run_berth(&p, &["unlock", "--server", "boat"]);
    run.expect_code(0);
    assert!(run.stdout.contains("not locked for owner"), "{run}");
    assert_eq!(
        lock_labels(&d2, LEGACY).map(|l| l["berth.lock.token"].clone()),
        Some(GHOST_TOKEN.to_string()),
        "unlock without --legacy broke the legacy lock\n{run}"
    );
    let run = run_berth(&p, &["unlock", "--server", "boat", "--legacy"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("legacy lock") && run.stdout.contains(GHOST_HOLDER),
        "{run}"
    );
    assert!(lock_labels(&d2, LEGACY).is_none(), "{run}");

    let run = run_berth(&p, &["apply", "--yes", "--lock-timeout", "1s"]);
    run.expect_code(0);
    assert_eq!(networks_named(&d2, &net), 1, "{run}");
}

// ---------------------------------------------------------------------------
// `berth locks` across a fleet with a server down
// ---------------------------------------------------------------------------

#[test]
fn locks_lists_the_servers_it_reads_and_names_the_one_it_cannot() {
    let d2 = SecondDaemon::start();
    let owner = unique("own");
    let other = unique("other-team");
    let gone = format!("unix:///tmp/{}/nope.sock", unique("gone"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner) + &server("boat", &d2.address()) + &server("gone", &gone)),
    );
    // Another owner's lock, left by a berth that is gone.
    hold_lock_by_hand(&d2, &lock_volume(&other), Some(&other));

    let run = run_berth(&p, &["locks", "--format", "json"]);
    run.expect_code(1);
    let json = run.json();
    let servers = json["servers"].as_array().expect("servers");
    let names: Vec<&str> = servers
        .iter()
        .filter_map(|s| s["server"].as_str())
        .collect();
    assert_eq!(
        names,
        ["boat", "gone"],
        "every server, in the config's order\n{run}"
    );
    assert_eq!(servers[0]["locks"][0]["owner"], other.as_str(), "{run}");
    assert_eq!(servers[0]["locks"][0]["holder"], GHOST_HOLDER, "{run}");
    assert!(servers[0].get("error").is_none(), "{run}");
    let error = servers[1]["error"].as_str().expect("gone has an error");
    assert!(
        error.contains("nope.sock"),
        "the error says what failed: {error}"
    );

    let run = run_berth(&p, &["locks"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("boat ") && l.contains(&other) && l.contains(GHOST_HOLDER)),
        "{run}"
    );
    assert!(
        run.stdout.contains("server gone could not be read"),
        "the unreachable server is not named\n{run}"
    );

    // This owner's unlock leaves the other owner's lock alone.
    let run = run_berth(&p, &["unlock", "--server", "boat"]);
    run.expect_code(0);
    assert!(lock_labels(&d2, &lock_volume(&other)).is_some(), "{run}");
}

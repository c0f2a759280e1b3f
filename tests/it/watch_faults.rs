//! `berth watch` through the faults a long-running reconciler meets, on
//! real engines: its engine hung mid-apply (watch must not lock itself
//! out), drift made while it plans (it must still be healed), and one
//! outage after another (each starts its backoff again at 1 s). Built with
//! the `fault-injection` feature: `BERTH_FAULT` opens the windows.

use std::time::Duration;

use crate::common::config::{destination, local_header, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::{Cleanup, Project, container_networks, docker_ok, ensure_image, unique};
use crate::watch::{Watcher, args};

fn start_env(p: &Project, extra: &[&str], env: &[(&str, &str)]) -> Watcher {
    let a = args(p, extra);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    Watcher::start_env(p.path(), &a, env)
}

/// The engine freezes (SIGSTOP) right after watch's first step, and stays
/// frozen past `--timeout`: the release of watch's lock never gets
/// through, and the lock volume keeps watch's own pid under the token of
/// a session that is gone. Once the engine answers again, watch must
/// break that lock (its own process, a session no longer alive) and heal,
/// not wait for itself forever.
#[test]
fn watch_reclaims_the_lock_its_own_dead_session_left_on_a_hung_engine() {
    let d = SecondDaemon::start();
    let owner = unique("watch-hung");
    let first = unique("watch-hung-a");
    let second = unique("watch-hung-b");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("d", &d.address())
            + &destination("a", "d", &first)
            + &destination("b", "d", &second)),
    );
    let w = start_env(
        &p,
        &["--resync", "1h", "--timeout", "3s", "--lock-timeout", "2s"],
        // A window after the first step to freeze the engine in.
        &[("BERTH_FAULT", "apply.step@1:sleep=3000")],
    );
    w.expect_line("server d: ✓ create network");
    d.freeze();
    w.expect_line("server d: down");
    // Longer than --timeout: every call watch had under way gave up.
    std::thread::sleep(Duration::from_secs(8));
    d.resume();
    w.expect_line("server d: connected");
    // Drift to heal, which takes the lock (the thawed engine may have
    // carried out the step that timed out: the network is removed then).
    let _ = d.docker(&["network", "rm", &second]);
    let lock = berthing::docker::lock_volume(&owner);
    w.until("recreate the network after the engine thawed", || {
        [&first, &second]
            .iter()
            .all(|n| d.docker(&["network", "inspect", n]).status.success())
    });
    let me = format!("(pid {})", w.pid());
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("locked by") && l.contains(&me)),
        "watch waited for its own lock:\n{log}"
    );
    assert!(
        log.contains("broke the lock of")
            && log.contains("left by a session of this process that has ended"),
        "watch did not say it broke its own stale lock:\n{log}"
    );
    assert!(
        !d.docker(&["volume", "inspect", &lock]).status.success(),
        "watch left its lock\n{log}"
    );
}

/// The same over SSH: the ssh master is killed right after watch's first
/// step, so the release of its lock cannot get through. Watch reconnects
/// through a new master and breaks the lock its ended session left.
#[test]
fn watch_reclaims_its_lock_after_its_ssh_connection_is_cut_mid_apply() {
    let sshd = crate::common::sshd::Sshd::start();
    let d = SecondDaemon::start();
    let tmpdir = tempfile::tempdir().expect("tempdir");
    let owner = unique("watch-cut");
    let first = unique("watch-cut-a");
    let second = unique("watch-cut-b");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &format!(
                "\n[[server]]\nname = \"far\"\naddress = \"{}\"\ndocker_socket = \"{}\"\nidentity_file = \"{}\"\nknown_hosts_file = \"{}\"\n",
                sshd.address(),
                d.socket.display(),
                sshd.client_key().display(),
                sshd.known_hosts().display()
            )
            + &destination("a", "far", &first)
            + &destination("b", "far", &second)),
    );
    let tmp = tmpdir.path().display().to_string();
    let w = start_env(
        &p,
        &["--resync", "1h", "--lock-timeout", "2s"],
        &[
            ("BERTH_FAULT", "apply.step@1:sleep=3000"),
            ("TMPDIR", tmp.as_str()),
        ],
    );
    w.expect_line("server far: ✓ create network");
    let masters: Vec<String> = crate::ssh::processes_mentioning(&tmp)
        .into_iter()
        .filter(|(_, cmd)| cmd.starts_with("ssh "))
        .map(|(pid, _)| pid)
        .collect();
    assert!(
        !masters.is_empty(),
        "no ssh master under TMPDIR: this test would prove nothing"
    );
    for pid in &masters {
        let _ = std::process::Command::new("kill")
            .args(["-9", pid])
            .status();
    }
    w.expect_line("server far: down");
    w.until("create both networks through a new connection", || {
        [&first, &second]
            .iter()
            .all(|n| d.docker(&["network", "inspect", n]).status.success())
    });
    let me = format!("(pid {})", w.pid());
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("locked by") && l.contains(&me)),
        "watch waited for its own lock:\n{log}"
    );
    assert!(
        log.contains("left by a session of this process that has ended"),
        "watch did not say it broke its own stale lock:\n{log}"
    );
    assert!(
        !d.docker(&["volume", "inspect", &berthing::docker::lock_volume(&owner)])
            .status
            .success(),
        "watch left its lock\n{log}"
    );
}

/// A container detached by hand while watch's first sync is under way
/// (after it read the server, before the sync ends) is attached again: the
/// events were followed from before the sync, so its event is not lost.
#[test]
fn drift_made_during_the_first_sync_is_healed() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("watch-during");
    let net = cleanup.network(&unique("watch-during-n"));
    let app = cleanup.container(&unique("watch-during-app"));
    crate::common::run_container(&app, "bridge", &[]);
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &crate::common::config::application("app", "prod", &app)),
    );
    let w = start_env(
        &p,
        &["--resync", "1h"],
        // Holds the first sync, once it has read and healed the server.
        &[("BERTH_FAULT", "watch.synced@1:sleep=4000")],
    );
    w.expect_line("server local: planned (start): 0 change(s) left");
    assert!(container_networks(&app).contains_key(&net), "{}", w.log());
    docker_ok(&["network", "disconnect", &net, &app]);
    w.until(
        "attach the container detached during the first sync",
        || container_networks(&app).contains_key(&net),
    );
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
}

/// `retry_in_ms` of each `down` line of server d, in order, and where each
/// outage begins (the index of its first `down` after a `connected`).
fn retries(log: &str) -> Vec<Vec<u64>> {
    let mut outages: Vec<Vec<u64>> = Vec::new();
    let mut connected = true;
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["server"] != "d" {
            continue;
        }
        match v["event"].as_str() {
            Some("connected") => connected = true,
            Some("down") => {
                let ms = v["retry_in_ms"].as_u64().expect("retry_in_ms");
                if connected {
                    outages.push(Vec::new());
                    connected = false;
                }
                outages.last_mut().expect("an outage").push(ms);
            }
            _ => {}
        }
    }
    outages
}

/// Two outages in one watch: each starts its backoff at 1 s (plus at most
/// as much jitter) and doubles, whatever came before. Read from the
/// logged waits, not timed.
#[test]
fn each_outage_starts_its_backoff_again_at_one_second() {
    let mut d = SecondDaemon::start();
    let owner = unique("watch-backoff");
    let net = unique("watch-backoff-n");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner) + &server("d", &d.address()) + &destination("x", "d", &net)),
    );
    let w = start_env(&p, &["--resync", "1h", "--log-format", "json"], &[]);
    w.expect_line("\"event\":\"connected\"");

    // The first outage: long enough for the wait to double twice.
    d.kill();
    w.until("retry d three times", || {
        retries(&w.log()).first().is_some_and(|o| o.len() >= 3)
    });
    d.restart();
    w.until("reconnect d", || {
        w.log().matches("\"event\":\"connected\"").count() >= 2
    });

    // The second outage starts again from 1 s.
    d.kill();
    w.until("retry d in the second outage", || {
        retries(&w.log()).len() >= 2
    });
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    let outages = retries(&log);
    let first = &outages[0];
    assert!(
        (1000..2000).contains(&first[0])
            && (2000..4000).contains(&first[1])
            && (4000..8000).contains(&first[2]),
        "the first outage's waits are not 1 s, 2 s, 4 s (each plus jitter up to as much): {first:?}\n{log}"
    );
    let second = &outages[1];
    assert!(
        (1000..2000).contains(&second[0]),
        "the second outage did not start again at 1 s: {outages:?}\n{log}"
    );
}

//! `berth watch` against real engines: containers started after it runs are
//! attached, hand-made drift is healed, a deleted destination comes back,
//! removals wait for `--apply-all`, a restarted daemon is reconnected, an
//! SSH server is followed, new commits are applied, metrics are served, and
//! SIGTERM leaves no lock. Timings are asserted with generous bounds only;
//! the latency figures come from `cargo bench --bench watch`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::config::{
    aliases_line, destination, local_header, resource_head, server, settings,
};
use crate::common::daemon::SecondDaemon;
use crate::common::{
    Cleanup, Project, container_networks, docker_ok, ensure_image, network_exists, unique,
};

/// How long a test waits for watch to act: far above the 2 s target.
const PATIENCE: Duration = Duration::from_secs(30);

/// `berth watch` running in the background, its log lines collected.
pub(crate) struct Watcher {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watcher {
    fn start(cwd: &Path, args: &[&str]) -> Watcher {
        Watcher::start_with(cwd, args, None)
    }

    /// With `RUST_LOG` set to `rust_log` (else unset, whatever the test's
    /// environment says).
    fn start_with(cwd: &Path, args: &[&str], rust_log: Option<&str>) -> Watcher {
        match rust_log {
            Some(filter) => Watcher::start_env(cwd, args, &[("RUST_LOG", filter)]),
            None => Watcher::start_env(cwd, args, &[]),
        }
    }

    /// With these environment variables (`RUST_LOG` unset unless given).
    pub(crate) fn start_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Watcher {
        let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
        command.env_remove("RUST_LOG");
        command.envs(env.iter().copied());
        let mut child = command
            .arg("watch")
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start berth watch");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let lines = lines.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        Watcher { child, lines }
    }

    pub(crate) fn log(&self) -> String {
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// Waits until a log line contains `needle`.
    pub(crate) fn expect_line(&self, needle: &str) {
        self.until(&format!("a log line with `{needle}`"), || {
            self.log().contains(needle)
        });
    }

    /// Waits until `done` holds (within [`PATIENCE`]).
    pub(crate) fn until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "watch did not get to {what} within {PATIENCE:?}; its log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The watch process's id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// SIGTERM, then the exit code (at most 30 s later).
    pub(crate) fn stop(self) -> (i32, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait()
    }

    /// The exit code of a watch that stops by itself (at most 30 s).
    fn wait(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                thread::sleep(Duration::from_millis(100));
                return (status.code().unwrap_or(-1), self.log());
            }
            assert!(
                Instant::now() < deadline,
                "watch did not stop within 30 s:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn args<'a>(p: &'a Project, extra: &[&'a str]) -> Vec<String> {
    let mut v = vec!["--dir".to_string(), p.path().display().to_string()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

pub(crate) fn start(p: &Project, extra: &[&str]) -> Watcher {
    let a = args(p, extra);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    Watcher::start(p.path(), &a)
}

fn attached_with(container: &str, network: &str, alias: &str) -> bool {
    container_networks(container)
        .get(network)
        .is_some_and(|a| a.iter().any(|x| x == alias))
}

/// An application selecting containers by label, as Coolify deploys them.
fn shop(owner: &str, net: &str) -> String {
    local_header(owner)
        + &destination("prod", "local", net)
        + &resource_head("application", "shop", "prod")
        + "match_labels = { \"coolify.applicationId\" = \"4711\" }\n"
        + &aliases_line(&["shop"])
}

#[test]
fn watch_attaches_new_containers_heals_drift_and_recreates_a_deleted_destination() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("watch");
    let net = cleanup.network(&unique("watch-n"));
    let first = cleanup.container(&unique("watch-shop-a"));
    let second = cleanup.container(&unique("watch-shop-b"));
    let p = Project::new();
    p.write("berth.toml", &shop(&owner, &net));
    let w = start(&p, &["--resync", "1h"]);
    w.expect_line("connected, following its events");
    assert!(network_exists(&net), "the destination was created on start");

    // A deploy (a new <uuid>-<timestamp> with the same labels).
    for c in [&first, &second] {
        docker_ok(&[
            "run",
            "-d",
            "--name",
            c,
            "--label",
            "coolify.applicationId=4711",
            crate::common::TEST_IMAGE,
            "sleep",
            "3600",
        ]);
        w.until("attach the new container", || {
            attached_with(c, &net, "shop")
        });
    }

    // Someone detaches one by hand.
    docker_ok(&["network", "disconnect", &net, &first]);
    w.until("heal a hand-made disconnect", || {
        attached_with(&first, &net, "shop")
    });

    // Someone deletes the destination network itself (watch frozen
    // meanwhile, or it heals each disconnect before the removal).
    w.signal("STOP");
    docker_ok(&["network", "disconnect", &net, &first]);
    docker_ok(&["network", "disconnect", &net, &second]);
    docker_ok(&["network", "rm", &net]);
    w.signal("CONT");
    w.until("recreate the destination and reattach its members", || {
        network_exists(&net)
            && attached_with(&first, &net, "shop")
            && attached_with(&second, &net, "shop")
    });
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("stopped: locks released"), "{log}");
}

#[test]
fn watch_reports_a_removal_and_applies_it_only_with_apply_all() {
    let cleanup = Cleanup::new();
    let owner = unique("watch-rm");
    let keep = cleanup.network(&unique("watch-keep"));
    let old = cleanup.network(&unique("watch-old"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("keep", "local", &keep)
            + &destination("old", "local", &old)),
    );
    crate::common::plan::apply(&p, &[], 0);
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("keep", "local", &keep)),
    );
    let w = start(&p, &["--resync", "1h"]);
    w.expect_line(&format!("not applied: remove network {old}"));
    w.expect_line("watch applies only what heals");
    assert!(network_exists(&old), "watch removed a network by default");
    let (code, _) = w.stop();
    assert_eq!(code, 0);

    let w = start(&p, &["--resync", "1h", "--apply-all"]);
    w.until("remove the network with --apply-all", || {
        !network_exists(&old)
    });
    w.stop();
}

#[test]
fn watch_reconnects_to_a_restarted_daemon_and_plans_it_again() {
    let mut d = SecondDaemon::start();
    let owner = unique("watch-restart");
    let net = unique("watch-restart-n");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner) + &server("d", &d.address()) + &destination("x", "d", &net)),
    );
    let w = start(&p, &["--resync", "1h"]);
    w.expect_line("server d: connected");
    d.kill();
    w.expect_line("server d: down");
    // While it was away, its network went (fresh state is never assumed).
    d.restart();
    d.docker_ok(&["network", "rm", &net]);
    w.until("reconnect and recreate the network", || {
        d.docker(&["network", "inspect", &net]).status.success()
    });
    w.until("log the reconnection", || {
        w.log().matches("server d: connected").count() >= 2
    });
    w.stop();
}

/// One engine down never stops the others: with the second engine
/// stopped, a container detached by hand on the first is attached again
/// within seconds, while the second is logged as down.
#[test]
fn a_stopped_engine_never_stops_watch_healing_the_others() {
    ensure_image();
    let mut d = SecondDaemon::start();
    let cleanup = Cleanup::new();
    let owner = unique("watch-down");
    let net = cleanup.network(&unique("watch-down-n"));
    let far = unique("watch-down-far");
    let api = cleanup.container(&unique("watch-down-api"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &server("d", &d.address())
            + &destination("prod", "local", &net)
            + &destination("far", "d", &far)
            + &resource_head("application", "api", "prod")
            + &format!("container = \"{api}\"\n")
            + &aliases_line(&["api"])),
    );
    crate::common::run_container(&api, "bridge", &[]);
    let w = start(&p, &["--resync", "1h"]);
    w.until("attach the container on start", || {
        attached_with(&api, &net, "api")
    });
    w.expect_line("server d: connected");

    d.stop();
    w.expect_line("server d: down");
    docker_ok(&["network", "disconnect", &net, &api]);
    let detached = Instant::now();
    w.until("heal the local server while d is down", || {
        attached_with(&api, &net, "api")
    });
    let took = detached.elapsed();
    eprintln!("healed on local in {took:?} with d down");
    assert!(
        took < Duration::from_secs(10),
        "healing local took {took:?} with d down; the log:\n{}",
        w.log()
    );
    // d is still being retried, and said to be down.
    w.until("log d down again", || {
        w.log().matches("server d: down").count() >= 2
    });
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn watch_serves_metrics_and_sigterm_leaves_no_lock() {
    let d = SecondDaemon::start();
    let owner = unique("watch-metrics");
    let net = unique("watch-metrics-n");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner) + &server("d", &d.address()) + &destination("x", "d", &net)),
    );
    let port = crate::common::sshd::free_port();
    let addr = format!("127.0.0.1:{port}");
    let w = start(
        &p,
        &["--resync", "1h", "--metrics", &addr, "--log-format", "json"],
    );
    w.expect_line("\"event\":\"connected\"");
    let mut text = String::new();
    w.until("serve metrics", || {
        let out = Command::new("curl")
            .args(["-sf", &format!("http://{addr}/metrics")])
            .output()
            .expect("run curl");
        text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("berth_server_up{server=\"d\"} 1")
    });
    for metric in [
        "berth_drift{server=\"d\"} 0",
        "berth_last_sync_timestamp_seconds{server=\"d\"}",
        "berth_applies_total{server=\"d\"} 1",
    ] {
        assert!(text.contains(metric), "no `{metric}` in:\n{text}");
    }
    for line in w.log().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(v["ts"].is_string() && v["event"].is_string(), "{line}");
    }
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        !d.docker(&["volume", "inspect", &berthing::docker::lock_volume(&owner)])
            .status
            .success(),
        "watch left its lock\n{log}"
    );
}

#[test]
fn watch_applies_each_new_commit_of_the_watched_ref() {
    let cleanup = Cleanup::new();
    let owner = unique("watch-git");
    let first = cleanup.network(&unique("watch-git-a"));
    let second = cleanup.network(&unique("watch-git-b"));
    let origin = tempfile::tempdir().expect("tempdir");
    let git = |dir: &Path, args: &[&str]| {
        crate::git::git_ok(dir, args);
    };
    git(origin.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(
        origin.path().join("berth.toml"),
        local_header(&owner) + &destination("a", "local", &first),
    )
    .expect("write");
    git(origin.path(), &["add", "."]);
    git(origin.path(), &["commit", "-qm", "one"]);
    let clone = tempfile::tempdir().expect("tempdir");
    let work = clone.path().join("infra");
    git(
        clone.path(),
        &["clone", "-q", &origin.path().display().to_string(), "infra"],
    );
    let repo = work.display().to_string();
    let w = Watcher::start(
        clone.path(),
        &[
            "--repo",
            &repo,
            "--ref",
            "origin/main",
            "--fetch-interval",
            "1s",
            "--resync",
            "1h",
        ],
    );
    w.until("apply the first commit", || network_exists(&first));
    std::fs::write(
        origin.path().join("berth.toml"),
        local_header(&owner)
            + &destination("a", "local", &first)
            + &destination("b", "local", &second),
    )
    .expect("write");
    git(origin.path(), &["commit", "-qam", "two"]);
    w.until("apply the new commit", || network_exists(&second));
    w.expect_line("config: origin/main at");
    w.stop();
}

#[test]
fn watch_follows_an_ssh_server_through_its_tunnel() {
    ensure_image();
    let sshd = crate::common::sshd::Sshd::start();
    let d = SecondDaemon::start();
    d.load_image(crate::common::TEST_IMAGE);
    let owner = unique("watch-ssh");
    let net = unique("watch-ssh-n");
    let app = unique("watch-ssh-app");
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
            + &destination("x", "far", &net)
            + &crate::common::config::application("app", "x", &app)),
    );
    let w = start(&p, &["--resync", "1h"]);
    w.expect_line("server far: connected");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        &app,
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    w.until("attach the container over ssh", || {
        let out = d.docker_ok(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            &app,
        ]);
        out.contains(&net) && out.contains("\"app\"")
    });
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn pull_mode_reads_one_server_through_the_local_socket() {
    let cleanup = Cleanup::new();
    let owner = unique("watch-pull");
    let mine = cleanup.network(&unique("watch-pull-mine"));
    let theirs = cleanup.network(&unique("watch-pull-theirs"));
    let p = Project::new();
    // The fleet's config: this server is reached over ssh from elsewhere;
    // run on the server itself, watch uses the local socket and leaves the
    // other server's destinations alone.
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("here", "ssh://deploy@198.51.100.20")
            + &server("other", "ssh://deploy@198.51.100.21")
            + &destination("mine", "here", &mine)
            + &destination("theirs", "other", &theirs)),
    );
    let w = start(&p, &["--server", "here", "--local", "--resync", "1h"]);
    w.until("create this server's destination", || network_exists(&mine));
    w.expect_line("watching server(s) here");
    assert!(!network_exists(&theirs));
    assert!(!w.log().contains("other"), "{}", w.log());
    w.stop();
}

/// The value of a metric with `server="local"` in Prometheus text (0 when
/// the endpoint does not list it yet).
fn local_metric(addr: &str, name: &str) -> f64 {
    let out = Command::new("curl")
        .args(["-sf", &format!("http://{addr}/metrics")])
        .output()
        .expect("run curl");
    let prefix = format!("{name}{{server=\"local\"}} ");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Makes and removes, `times` times, a container and a network the config
/// knows nothing of (and attaches the one to the other): the busy host's
/// traffic. Returns their names.
fn unrelated_churn(cleanup: &Cleanup, times: usize) -> Vec<String> {
    let mut names = Vec::new();
    for _ in 0..times {
        let c = cleanup.container(&unique("watch-stranger"));
        let n = cleanup.network(&unique("watch-strangers-net"));
        docker_ok(&["network", "create", &n]);
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &c,
            crate::common::TEST_IMAGE,
            "sleep",
            "3600",
        ]);
        docker_ok(&["network", "connect", &n, &c]);
        docker_ok(&["rm", "-f", &c]);
        docker_ok(&["network", "rm", &n]);
        names.extend([c, n]);
    }
    names
}

#[test]
fn watch_logs_what_concerns_its_config_and_counts_the_rest() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("watch-quiet");
    let net = cleanup.network(&unique("watch-quiet-n"));
    let app = cleanup.container(&unique("watch-quiet-app"));
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &app,
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &crate::common::config::application("app", "prod", &app)),
    );
    let port = crate::common::sshd::free_port();
    let addr = format!("127.0.0.1:{port}");
    let w = start(&p, &["--resync", "1h", "--metrics", &addr]);
    w.expect_line("connected, following its events");
    w.until("attach the declared container", || {
        container_networks(&app).contains_key(&net)
    });
    let before = local_metric(&addr, "berth_watch_events_ignored_total");

    let strangers = unrelated_churn(&cleanup, 3);
    // Someone detaches the declared container: that is logged and healed.
    // Events arrive in order: once its line is there, every stranger's
    // event before it was seen.
    docker_ok(&["network", "disconnect", &net, &app]);
    w.expect_line(&format!("network {net}: disconnect"));
    w.until("heal the disconnect", || {
        container_networks(&app).contains_key(&net)
    });
    let healed = format!("✓ connect {app} to {net}");
    w.until("log the heal", || w.log().matches(&healed).count() >= 2);
    let mut ignored = 0.0;
    w.until("count the unrelated events", || {
        ignored = local_metric(&addr, "berth_watch_events_ignored_total");
        // Per round at least: network create, container create, start,
        // connect (bridge and the network), die, destroy, network destroy.
        ignored - before >= 3.0 * 7.0
    });
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    for name in &strangers {
        assert!(
            !log.contains(name.as_str()),
            "`{name}` concerns nothing in the config, yet it was logged (at the default level):\n{log}"
        );
    }
    assert!(!log.contains("unrelated"), "{log}");

    // At debug, the same traffic is logged, marked as unrelated.
    let w = start(&p, &["--resync", "1h", "--log-level", "debug"]);
    w.expect_line("connected, following its events");
    let strangers = unrelated_churn(&cleanup, 1);
    for name in &strangers {
        w.expect_line(name);
    }
    w.expect_line("(unrelated to the config)");
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.lines()
            .filter(|l| strangers.iter().any(|s| l.contains(s.as_str())))
            .all(|l| l.ends_with("(unrelated to the config)")),
        "{log}"
    );
}

#[test]
fn watch_log_level_follows_the_flag_then_rust_log() {
    let cleanup = Cleanup::new();
    let owner = unique("watch-level");
    let keep = cleanup.network(&unique("watch-level-keep"));
    let old = cleanup.network(&unique("watch-level-old"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("keep", "local", &keep)
            + &destination("old", "local", &old)),
    );
    crate::common::plan::apply(&p, &[], 0);
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("keep", "local", &keep)),
    );
    // At warn: the held removal (a warning), none of the info lines.
    let w = start(&p, &["--resync", "1h", "--log-level", "warn"]);
    w.expect_line(&format!("not applied: remove network {old}"));
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("connected, following"), "{log}");
    assert!(!log.contains("stopped: locks released"), "{log}");

    // RUST_LOG when the flag is absent; the flag when both are given.
    let run = |rust_log: &str, extra: &[&str]| {
        let mut a = args(&p, &["--resync", "1h"]);
        a.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        Watcher::start_with(p.path(), &a, Some(rust_log))
    };
    let w = run("berth=error", &[]);
    let w2 = run("berth=error", &["--log-level", "info"]);
    w2.expect_line("connected, following its events");
    w2.expect_line(&format!("not applied: remove network {old}"));
    thread::sleep(Duration::from_secs(1));
    let (_, quiet) = w.stop();
    assert!(
        !quiet.contains("connected") && !quiet.contains("not applied"),
        "RUST_LOG=berth=error let info and warn lines through:\n{quiet}"
    );
    w2.stop();

    // A RUST_LOG that is no filter is a clear error, not a silent default.
    let bad = run("berth=loud", &[]);
    let (code, log) = bad.wait();
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("RUST_LOG=berth=loud"), "{log}");
}

#[test]
fn watch_names_what_a_clone_without_a_source_would_copy() {
    let cleanup = Cleanup::new();
    let owner = unique("watch-ghost");
    let prod = cleanup.network(&unique("watch-ghost-prod"));
    let staging = cleanup.network(&unique("watch-ghost-stg"));
    let ghost = unique("watch-ghost-gone");
    let copy = cleanup.container(&unique("watch-ghost-copy"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &prod)
            + &destination("staging", "local", &staging)
            + &crate::common::config::application("api", "prod", &ghost)
            + &crate::common::config::application(&copy, "staging", &copy)
            + "clone_of = \"api\"\n"),
    );
    let w = start(&p, &["--resync", "1h"]);
    w.expect_line(&format!(
        "not applied: clone application api (server local) → {copy} (destination staging): blocked: source application api has no container on server local: nothing to clone"
    ));
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains('?'), "a placeholder reached the log:\n{log}");
}

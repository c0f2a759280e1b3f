//! SSH servers end to end (issue 5): the real `berth` binary, a real
//! `sshd` on loopback with throwaway keys, and a second real `dockerd`
//! whose socket is the SSH server's `docker_socket`.
//!
//! Each test has its own owner, names, sshd and (where it needs one)
//! second daemon; everything is removed on drop, pass or fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::config::{application, destination, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{apply, plan, plan_detailed};
use crate::common::spawn::Spawned;
use crate::common::sshd::{Sshd, free_port};
use crate::common::{
    Cleanup, CountingProxy, Project, TEST_IMAGE, docker_socket, ensure_image, network_exists,
    unique,
};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Config snippets
// ---------------------------------------------------------------------------

fn unix_server(name: &str, socket: &Path) -> String {
    server(name, &format!("unix://{}", socket.display()))
}

/// An `ssh://root@127.0.0.1:PORT` server with explicit key and known_hosts.
fn ssh_server(
    name: &str,
    port: u16,
    docker_socket: &Path,
    identity_file: &Path,
    known_hosts_file: &Path,
) -> String {
    format!(
        r#"
[[server]]
name = "{name}"
address = "ssh://root@127.0.0.1:{port}"
docker_socket = "{}"
identity_file = "{}"
known_hosts_file = "{}"
"#,
        docker_socket.display(),
        identity_file.display(),
        known_hosts_file.display()
    )
}

// ---------------------------------------------------------------------------
// Plan helpers
// ---------------------------------------------------------------------------

fn changes(plan: &Value) -> Vec<Value> {
    plan["changes"].as_array().cloned().unwrap_or_default()
}

/// The change with this action, server and network, if any.
fn find_change<'a>(
    plan: &'a Value,
    action: &str,
    server: &str,
    network: &str,
) -> Option<&'a Value> {
    plan["changes"]
        .as_array()?
        .iter()
        .find(|c| c["action"] == action && c["server"] == server && c["network"] == network)
}

/// The `servers[]` entry named `name`.
fn server_entry<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no servers[] entry named {name} in {plan:#}"))
}

/// Does a network named exactly `name` exist on the second daemon?
fn d2_network_exists(d2: &SecondDaemon, name: &str) -> bool {
    let out = d2.docker(&["network", "inspect", "--format", "{{.Name}}", name]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == name
}

// ---------------------------------------------------------------------------
// Signals and what berth leaves behind
// ---------------------------------------------------------------------------

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {pid} failed");
}

/// Entries of `dir` whose name starts with `berth-ssh-`.
fn ssh_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("berth-ssh-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Processes (pid, command line) whose command line mentions `needle`:
/// an ssh master's names its control socket, under berth's TMPDIR.
pub(crate) fn processes_mentioning(needle: &str) -> Vec<(String, String)> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.filter_map(Result::ok) {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push((pid, cmdline.trim().to_string()));
        }
    }
    found
}

/// Nothing berth opened for SSH is left: no `berth-ssh-*` dir in `tmpdir`,
/// no process (an ssh master) naming a path in it. A master that is
/// shutting down gets 3 s.
fn assert_no_ssh_leftovers(tmpdir: &Path, after: &str) {
    let needle = tmpdir.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let dirs = ssh_dirs(tmpdir);
        let procs = processes_mentioning(&needle);
        if dirs.is_empty() && procs.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {after}: berth left SSH state behind\n  dirs in TMPDIR: {dirs:?}\n  processes: {procs:#?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// 1. plan and apply over SSH reach the remote daemon, not the local one
// ---------------------------------------------------------------------------

#[test]
fn plan_and_apply_over_ssh_change_the_remote_daemon_only() {
    ensure_image();
    let sshd = Sshd::start();
    let d2 = SecondDaemon::start();
    d2.load_image(TEST_IMAGE);
    let cleanup = Cleanup::new();
    let owner = unique("own");
    // Registered locally too: if berth wrongly created it here, it goes.
    let net = cleanup.network(&unique("sshnet"));
    let app = unique("sshapp");
    d2.docker_ok(&["run", "-d", "--name", &app, TEST_IMAGE, "sleep", "3600"]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &format!(
            "{}{}{}{}",
            settings(&owner),
            ssh_server(
                "remote",
                sshd.port,
                &d2.socket,
                &sshd.client_key(),
                &sshd.known_hosts()
            ),
            destination("web", "remote", &net),
            application("api", "web", &app),
        ),
    );

    let (run, plan) = plan(&p, 0);
    let entry = server_entry(&plan, "remote");
    assert_eq!(entry["status"], "ok", "{run}");
    assert!(entry["error"].is_null(), "{run}");
    assert!(
        find_change(&plan, "create_network", "remote", &net).is_some(),
        "no create_network for {net} on remote\n{run}"
    );
    let connect = find_change(&plan, "connect", "remote", &net)
        .unwrap_or_else(|| panic!("no connect on remote\n{run}"));
    assert_eq!(connect["container"], app.as_str(), "{run}");
    assert_eq!(changes(&plan).len(), 2, "{run}");

    let run = apply(&p, &[], 0);
    assert!(
        run.stdout.contains(&format!(
            "✓ create network {net} (destination web) on remote"
        )),
        "no step line for the network\n{run}"
    );

    // On the second daemon, with berth's labels; not on the local one.
    assert!(
        d2_network_exists(&d2, &net),
        "{net} not on the second daemon\n{run}"
    );
    let owner_label = d2.docker_ok(&[
        "network",
        "inspect",
        "--format",
        "{{index .Labels \"berth.owner\"}}",
        &net,
    ]);
    assert_eq!(owner_label, owner);
    assert!(
        !network_exists(&net),
        "{net} was created on the local daemon\n{run}"
    );
    // The container on the second daemon is attached with its alias.
    let aliases = d2.docker_ok(&[
        "inspect",
        "--format",
        &format!("{{{{json (index .NetworkSettings.Networks \"{net}\").Aliases}}}}"),
        &app,
    ]);
    assert!(
        aliases.contains("\"api\""),
        "{app} on the second daemon is not attached to {net} with alias api: {aliases}\n{run}"
    );

    // A second plan over SSH shows no changes.
    let (run, plan) = plan_detailed(&p, 0);
    assert!(changes(&plan).is_empty(), "changes after apply\n{run}");
}

// ---------------------------------------------------------------------------
// 2. one local and one SSH server in one config
// ---------------------------------------------------------------------------

#[test]
fn one_plan_covers_a_local_and_an_ssh_server_and_apply_changes_both() {
    let sshd = Sshd::start();
    let d2 = SecondDaemon::start();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let local_net = cleanup.network(&unique("locnet"));
    let remote_net = cleanup.network(&unique("remnet"));

    let p = Project::new();
    p.write(
        "berth.toml",
        &format!(
            "{}{}{}{}{}",
            settings(&owner),
            server("here", "local"),
            ssh_server(
                "there",
                sshd.port,
                &d2.socket,
                &sshd.client_key(),
                &sshd.known_hosts()
            ),
            destination("local-dest", "here", &local_net),
            destination("remote-dest", "there", &remote_net),
        ),
    );

    let (run, plan) = plan(&p, 0);
    assert_eq!(server_entry(&plan, "here")["status"], "ok", "{run}");
    assert_eq!(server_entry(&plan, "there")["status"], "ok", "{run}");
    assert!(
        find_change(&plan, "create_network", "here", &local_net).is_some(),
        "{run}"
    );
    assert!(
        find_change(&plan, "create_network", "there", &remote_net).is_some(),
        "{run}"
    );
    assert_eq!(changes(&plan).len(), 2, "{run}");

    let run = apply(&p, &[], 0);
    assert!(network_exists(&local_net), "{run}");
    assert!(d2_network_exists(&d2, &remote_net), "{run}");
    // Each on its own server only.
    assert!(!network_exists(&remote_net), "{run}");
    assert!(!d2_network_exists(&d2, &local_net), "{run}");

    let (run, plan) = plan_detailed(&p, 0);
    assert!(changes(&plan).is_empty(), "{run}");
}

// ---------------------------------------------------------------------------
// 3. unknown / changed host key, wrong key: refused, named, nothing applied
// ---------------------------------------------------------------------------

/// One refused connection: plan exits 1 naming the server with `hints`
/// (lowercased stderr contains each), the JSON marks the server `error`,
/// and `apply --yes` exits 1 without creating `net`.
fn assert_refused(p: &Project, server: &str, net: &str, hints: &[&str]) {
    let (run, plan) = plan(p, 1);
    let entry = server_entry(&plan, server);
    assert_eq!(entry["status"], "error", "{run}");
    assert!(
        entry["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{run}"
    );
    let stderr = run.stderr.to_lowercase();
    assert!(
        stderr.contains(&format!("server {server}")),
        "stderr does not name server {server}\n{run}"
    );
    for hint in hints {
        assert!(stderr.contains(hint), "stderr lacks `{hint}`\n{run}");
    }
    assert!(changes(&plan).is_empty(), "{run}");

    let run = apply(p, &[], 1);
    let stderr = run.stderr.to_lowercase();
    assert!(stderr.contains(&format!("server {server}")), "{run}");
    for hint in hints {
        assert!(
            stderr.contains(hint),
            "apply's stderr lacks `{hint}`\n{run}"
        );
    }
    assert!(!network_exists(net), "{net} was created anyway\n{run}");
}

#[test]
fn unknown_or_changed_host_key_and_wrong_key_are_refused_with_the_fix() {
    let sshd = Sshd::start();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("keynet"));
    // The SSH server's Docker socket is the local daemon's: if a refused
    // connection got through anyway, the network would appear here.
    let socket = docker_socket();
    let config = |key: &Path, known_hosts: &Path| {
        format!(
            "{}{}{}",
            settings(&owner),
            ssh_server("guarded", sshd.port, &socket, key, known_hosts),
            destination("d", "guarded", &net)
        )
    };
    let p = Project::new();

    // Host not in known_hosts.
    p.write(
        "berth.toml",
        &config(&sshd.client_key(), &sshd.unknown_known_hosts()),
    );
    assert_refused(&p, "guarded", &net, &["ssh-keyscan", "known_hosts"]);

    // Host in known_hosts with another key.
    p.write(
        "berth.toml",
        &config(&sshd.client_key(), &sshd.changed_known_hosts()),
    );
    assert_refused(&p, "guarded", &net, &["ssh-keyscan", "known_hosts"]);

    // A key the server does not accept.
    p.write(
        "berth.toml",
        &config(&sshd.wrong_key(), &sshd.known_hosts()),
    );
    assert_refused(&p, "guarded", &net, &["identity_file", "authorized_keys"]);

    // Control: with the right key and known host the same config works.
    p.write(
        "berth.toml",
        &config(&sshd.client_key(), &sshd.known_hosts()),
    );
    let (run, plan) = plan(&p, 0);
    assert_eq!(server_entry(&plan, "guarded")["status"], "ok", "{run}");
    assert!(
        find_change(&plan, "create_network", "guarded", &net).is_some(),
        "{run}"
    );
}

// ---------------------------------------------------------------------------
// 4. an unreachable server beside a healthy one
// ---------------------------------------------------------------------------

#[test]
fn unreachable_servers_fail_by_name_and_apply_changes_nothing() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let healthy_net = cleanup.network(&unique("okn"));
    let ssh_net = cleanup.network(&unique("sshdown"));
    let unix_net = cleanup.network(&unique("unixdown"));
    let missing_socket = std::env::temp_dir()
        .join(unique("nosock"))
        .join("docker.sock");
    let keys = Sshd::start();
    // Nothing listens on this port.
    let closed = free_port();

    let p = Project::new();
    p.write(
        "berth.toml",
        &format!(
            "{}{}{}{}{}{}{}",
            settings(&owner),
            server("healthy", "local"),
            ssh_server(
                "ssh-down",
                closed,
                &docker_socket(),
                &keys.client_key(),
                &keys.known_hosts()
            ),
            unix_server("unix-down", &missing_socket),
            destination("ok-dest", "healthy", &healthy_net),
            destination("ssh-dest", "ssh-down", &ssh_net),
            destination("unix-dest", "unix-down", &unix_net),
        ),
    );

    let (run, plan) = plan(&p, 1);
    assert_eq!(server_entry(&plan, "healthy")["status"], "ok", "{run}");
    for down in ["ssh-down", "unix-down"] {
        let entry = server_entry(&plan, down);
        assert_eq!(entry["status"], "error", "{run}");
        assert!(
            entry["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{run}"
        );
        assert!(
            run.stderr.contains(&format!("server {down}")),
            "stderr does not name {down}\n{run}"
        );
        assert!(
            changes(&plan).iter().all(|c| c["server"] != down),
            "changes planned for the unreadable {down}\n{run}"
        );
    }
    assert!(
        run.stderr.contains("hint") || run.stderr.contains("check"),
        "no hint on stderr\n{run}"
    );
    // The healthy server's change is still shown.
    assert!(
        find_change(&plan, "create_network", "healthy", &healthy_net).is_some(),
        "{run}"
    );

    let run = apply(&p, &[], 1);
    assert!(run.stderr.contains("ssh-down"), "{run}");
    assert!(run.stderr.contains("unix-down"), "{run}");
    assert!(
        !network_exists(&healthy_net),
        "apply changed the healthy server although another did not answer\n{run}"
    );
}

// ---------------------------------------------------------------------------
// 5. no ssh master and no forwarded socket dir is left, signals included
// ---------------------------------------------------------------------------

/// With reuse off (`ssh_persist = "0s"` in the config for the plans,
/// `--no-ssh-persist` for the applies), every run's connection ends with
/// it: nothing in TMPDIR, no master, nothing in the control directory.
#[test]
fn ssh_masters_and_socket_dirs_are_gone_after_every_run() {
    let sshd = Sshd::start();
    let d2 = SecondDaemon::start();
    // Counting proxy: shows when the apply below is waiting for the lock.
    let (proxy_socket, proxy) = CountingProxy::start(&d2.socket);
    let owner = unique("own");
    let net = unique("leftnet");
    let tmp = tempfile::Builder::new()
        .prefix("bt-tmp-")
        .tempdir()
        .expect("tempdir");
    let tmpdir = tmp.path();
    let runtime = tempfile::Builder::new()
        .prefix("bt-xdg-")
        .tempdir()
        .expect("tempdir");
    let start = |p: &Project, args: &[&str]| {
        Spawned::command(
            p.args(args),
            p.path(),
            &[
                ("TMPDIR", tmpdir.as_os_str()),
                ("XDG_RUNTIME_DIR", runtime.path().as_os_str()),
            ],
        )
    };
    let nothing_kept = |after: &str| {
        assert_no_ssh_leftovers(tmpdir, after);
        let kept = runtime.path().join("berth");
        assert!(
            !kept.exists(),
            "after {after}: reuse is off, yet berth made {}",
            kept.display()
        );
    };
    let config = |known_hosts: &Path| {
        format!(
            "{}ssh_persist = \"0s\"\n{}{}",
            settings(&owner),
            ssh_server(
                "remote",
                sshd.port,
                &proxy_socket,
                &sshd.client_key(),
                known_hosts
            ),
            destination("d", "remote", &net)
        )
    };
    let p = Project::new();
    p.write("berth.toml", &config(&sshd.known_hosts()));
    let limit = Duration::from_secs(120);

    let run = start(&p, &["plan", "--format", "json"]).finish(limit);
    run.expect_code(0);
    nothing_kept("a plan");

    let run = start(&p, &["apply", "--yes", "--no-ssh-persist"]).finish(limit);
    run.expect_code(0);
    assert!(d2_network_exists(&d2, &net), "{run}");
    nothing_kept("an apply");

    p.write("berth.toml", &config(&sshd.unknown_known_hosts()));
    let run = start(&p, &["plan", "--format", "json"]).finish(limit);
    run.expect_code(1);
    nothing_kept("a refused connection");

    // SIGTERM while apply waits for a lock another berth holds (a legacy
    // `berth-lock`, which every owner waits for): the tunnel is up (berth
    // took its own lock through it, then waits for the legacy one).
    p.write("berth.toml", &config(&sshd.known_hosts()));
    d2.docker_ok(&[
        "volume",
        "create",
        "--label",
        "berth.lock.holder=ghost@elsewhere",
        "--label",
        "berth.lock.pid=4242",
        "--label",
        "berth.lock.since=1700000000",
        "--label",
        "berth.lock.token=ghost-token",
        "berth-lock",
    ]);
    proxy.reset();
    let mut apply = start(
        &p,
        &[
            "apply",
            "--yes",
            "--no-ssh-persist",
            "--lock-timeout",
            "60s",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !proxy
        .requests()
        .iter()
        .any(|r| r.starts_with("POST") && r.contains("/volumes/create"))
    {
        assert!(
            apply.still_running(),
            "apply ended before it asked for the lock:\n{}",
            apply.finish(limit)
        );
        assert!(
            Instant::now() < deadline,
            "apply did not ask for the lock within 30 s; requests: {:?}",
            proxy.requests()
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !ssh_dirs(tmpdir).is_empty(),
        "berth's forwarded socket dir is not under TMPDIR={}: this test would prove nothing",
        tmpdir.display()
    );
    let masters = processes_mentioning(&tmpdir.display().to_string());
    assert!(
        masters.iter().any(|(_, cmd)| cmd.starts_with("ssh ")),
        "no ssh master naming TMPDIR while the tunnel is up: this test would prove nothing; processes: {masters:?}"
    );
    sigterm(apply.pid());
    let signalled = Instant::now();
    let run = apply.finish(Duration::from_secs(10));
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "berth took {:?} to exit after SIGTERM\n{run}",
        signalled.elapsed()
    );
    run.expect_code(130);
    nothing_kept("SIGTERM during apply");
    // The lock berth waited for is someone else's: still there.
    assert_eq!(
        d2.docker_ok(&[
            "volume",
            "inspect",
            "--format",
            "{{index .Labels \"berth.lock.token\"}}",
            "berth-lock"
        ]),
        "ghost-token"
    );
}

// ---------------------------------------------------------------------------
// 6. fifty servers behind one sshd with its default limits (issue 10, item 3)
// ---------------------------------------------------------------------------

/// Fifty `[[server]]`s reached through one loopback sshd with its default
/// `MaxStartups` (10:30:100), at the default `--parallelism` (16): sshd
/// drops some handshakes before the key exchange, berth tries them again,
/// and every server is read, every run. Prints the wall time of each run
/// and how many handshakes sshd dropped (each one a try berth repeated).
/// The timed runs connect afresh (`--no-ssh-persist`); then a run with
/// reuse on (the masters it leaves launched under the same throttling)
/// and one after it, which makes no handshake at all.
#[test]
fn fifty_servers_behind_one_sshd_with_default_limits_are_all_read_every_run() {
    const SERVERS: usize = 50;
    const RUNS: usize = 3;
    let sshd = Sshd::start_with_default_limits();
    let owner = unique("own");
    let mut config = settings(&owner);
    for i in 0..SERVERS {
        let name = format!("s{i:02}");
        config += &ssh_server(
            &name,
            sshd.port,
            &docker_socket(),
            &sshd.client_key(),
            &sshd.known_hosts(),
        );
        // A destination that does not exist: the plan creates it, so each
        // server's part of the plan shows it was read. Nothing is applied.
        config += &destination(&format!("d{i:02}"), &name, &unique("fifty"));
    }
    let p = Project::new();
    p.write("berth.toml", &config);
    let runtime = tempfile::Builder::new()
        .prefix("bt-xdg-")
        .tempdir()
        .expect("tempdir");
    let plan_run = |extra: &[&str]| {
        let mut args = vec!["plan", "--format", "json"];
        args.extend(extra);
        Spawned::command(
            p.args(&args),
            p.path(),
            &[("XDG_RUNTIME_DIR", runtime.path().as_os_str())],
        )
        .finish(Duration::from_secs(120))
    };

    let mut dropped_before = sshd.dropped_past_max_startups();
    let mut report = Vec::new();
    for run_no in 1..=RUNS + 2 {
        // The last two runs keep and reuse their connections.
        let extra: &[&str] = if run_no <= RUNS {
            &["--no-ssh-persist"]
        } else {
            &[]
        };
        let accepted_before = sshd.accepted();
        let started = Instant::now();
        let run = plan_run(extra);
        let took = started.elapsed();
        let dropped = sshd.dropped_past_max_startups() - dropped_before;
        dropped_before += dropped;
        let plan = run.json();
        let servers = plan["servers"].as_array().cloned().unwrap_or_default();
        let unread: Vec<String> = servers
            .iter()
            .filter(|s| s["status"] != "ok")
            .map(|s| format!("{}: {}", s["name"], s["error"]))
            .collect();
        assert!(
            servers.len() == SERVERS && unread.is_empty(),
            "run {run_no}: {} of {SERVERS} servers read; sshd dropped {dropped} handshakes; unread: {unread:#?}\n{run}\n--- sshd log (tail) ---\n{}",
            servers.len() - unread.len(),
            tail(&sshd.log(), 40)
        );
        run.expect_code(0);
        assert_eq!(
            changes(&plan)
                .iter()
                .filter(|c| c["action"] == "create_network")
                .count(),
            SERVERS,
            "every server's destination is planned\n{run}"
        );
        let handshakes = sshd.accepted() - accepted_before;
        if run_no == RUNS + 2 {
            assert_eq!(
                handshakes, 0,
                "the run after a run with reuse on made new handshakes\n{run}"
            );
        }
        report.push(format!(
            "run {run_no}{}: {SERVERS}/{SERVERS} read in {} ms; {handshakes} handshakes; sshd dropped {dropped} past MaxStartups (each tried again by berth)",
            extra.first().map(|f| format!(" ({f})")).unwrap_or_else(|| " (reuse on)".into()),
            took.as_millis()
        ));
    }
    // The masters the last runs left, for no next run.
    for (pid, cmd) in processes_mentioning(&runtime.path().display().to_string()) {
        if cmd.starts_with("ssh ") {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
    // Shown with `--nocapture`; BENCHMARKS.md quotes it.
    for line in &report {
        eprintln!("fifty servers: {line}");
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

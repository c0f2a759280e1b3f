//! Faults: berth killed after each step of a multi-step change, a panic
//! inside apply, a Docker daemon killed or hung mid-run. Each leaves a state
//! the next run completes, with nothing stranded: every container that was
//! attached is attached again, with its aliases, and the plan is then empty.
//!
//! The kills and panics come from the fault points of the `fault-injection`
//! feature (`BERTH_FAULT=<point>:<action>`), which CONTRIBUTING.md's test command
//! enables; without it these tests are ignored.

use std::ffi::OsStr;
use std::time::Duration;

use crate::common::config::{
    aliases_line, application, destination, destination_with_subnet, local_header, resource,
    resource_head, server, settings,
};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{apply, assert_settled, changes, plan};
use crate::common::spawn::Spawned;
use crate::common::{
    Cleanup, Project, Run, container_networks, container_running, docker, docker_ok, ensure_image,
    network_subnet, run_container, unique,
};

/// `berth ARGS` on `p` with `BERTH_FAULT=fault`, given 120 s.
pub(crate) fn with_fault(p: &Project, args: &[&str], fault: &str) -> Run {
    Spawned::command(
        p.args(args),
        p.path(),
        &[("BERTH_FAULT", OsStr::new(fault))],
    )
    .finish(Duration::from_secs(120))
}

/// A run that berth's own fault point killed (SIGKILL: no exit code).
pub(crate) fn assert_killed(run: &Run, point: &str) {
    assert_eq!(run.code, -1, "berth was not killed at {point}\n{run}");
    assert!(
        run.stderr.contains(&format!("fault injected at {point}")),
        "the fault point {point} was never reached\n{run}"
    );
}

/// The journals berth left on the local daemon for `owner`.
fn journals(owner: &str) -> Vec<String> {
    docker_ok(&[
        "ps",
        "-a",
        "--filter",
        "label=berth.journal",
        "--filter",
        &format!("label=berth.owner={owner}"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// The plan shows one restoration of the interrupted change; apply then
/// completes it without asking for consent again, and leaves no journal.
pub(crate) fn restore_completes(p: &Project, owner: &str, action: &str) -> Run {
    let (run, before) = plan(p, 0);
    let restores: Vec<_> = changes(&before)
        .iter()
        .filter(|c| c["action"] == "restore")
        .collect();
    assert_eq!(restores.len(), 1, "one restoration planned\n{run}");
    assert_eq!(restores[0]["record"]["change"]["action"], action, "{run}");
    assert!(
        run.stdout.contains("an earlier apply was interrupted"),
        "the plan says why\n{run}"
    );
    let run = apply(p, &[], 0);
    assert!(journals(owner).is_empty(), "the journal stays\n{run}");
    assert_settled(p);
    run
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_panic_inside_apply_leaves_no_lock_on_the_server() {
    let d = SecondDaemon::start();
    let owner = unique("fault-panic");
    let net = unique("fault-panic-n");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner) + &server("d", &d.address()) + &destination("x", "d", &net)),
    );
    let run = with_fault(&p, &["apply", "--yes"], "apply.step:panic");
    assert_eq!(run.code, 101, "a panic exits 101\n{run}");
    assert!(run.stderr.contains("fault injected at apply.step"), "{run}");
    let lock = d.docker(&["volume", "inspect", &berthing::docker::lock_volume(&owner)]);
    assert!(
        !lock.status.success(),
        "the lock is left on the server after a panic\n{run}"
    );
    // The step before the panic was done; the next apply has nothing to do.
    assert!(d.docker(&["network", "inspect", &net]).status.success());
    apply(&p, &[], 0);
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_replace_killed_after_any_step_is_completed_by_the_next_apply() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("fault-rep");
    let net = cleanup.network(&unique("fault-rep-n"));
    let api = cleanup.container(&unique("fault-rep-api"));
    let stray = cleanup.container(&unique("fault-rep-stray"));
    let p = Project::new();
    let config = |subnet: &str| {
        local_header(&owner)
            + &destination_with_subnet("prod", "local", &net, subnet)
            + &resource("application", "api", "prod", &api, Some(&["api", "api-v2"]))
    };
    p.write("berth.toml", &config("10.241.1.0/24"));
    run_container(&api, "bridge", &[]);
    run_container(&stray, "bridge", &[]);
    apply(&p, &[], 0);
    // Unmanaged: berth never declared it, but it must not be lost either.
    docker_ok(&["network", "connect", "--alias", "legacy", &net, &stray]);

    // After each step, and between each kind of request and its answer
    // (Docker did it, berth died before reading the answer).
    let points = [
        "journal.written",
        "replace.disconnected",
        "replace.removed",
        "replace.created",
        "replace.reconnected",
        "sent.write_journal",
        "sent.disconnect",
        "sent.remove_network",
        "sent.create_network",
        "sent.connect",
        "sent.remove_journal",
    ];
    for (i, point) in points.iter().enumerate() {
        let subnet = format!("10.241.{}.0/24", 2 + i);
        p.write("berth.toml", &config(&subnet));
        let run = with_fault(
            &p,
            &["apply", "--yes", "--allow-replace"],
            &format!("{point}:kill"),
        );
        assert_killed(&run, point);
        // No --allow-replace: the journal recorded the consent. (The killed
        // run's lock is broken by whichever apply on this daemon comes
        // next: see the second-daemon test below.) Killed as it removed
        // the journal, the replace is complete: nothing is left to do.
        let run = if *point == "sent.remove_journal" {
            assert!(journals(&owner).is_empty(), "the journal was removed");
            let (run, plan) = plan(&p, 0);
            crate::common::plan::assert_no_changes(&run, &plan);
            run
        } else {
            restore_completes(&p, &owner, "replace_network")
        };
        assert_eq!(
            network_subnet(&net).as_deref(),
            Some(subnet.as_str()),
            "{run}"
        );
        let nets = container_networks(&api);
        let aliases = &nets[&net];
        assert!(
            aliases.contains(&"api".into()) && aliases.contains(&"api-v2".into()),
            "after {point}: api is back with its aliases: {aliases:?}"
        );
        assert!(
            container_networks(&stray)[&net].contains(&"legacy".into()),
            "after {point}: the unmanaged container is back with its alias"
        );
    }
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn an_alias_fix_killed_after_any_step_is_completed_by_the_next_apply() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("fault-alias");
    let net = cleanup.network(&unique("fault-alias-n"));
    let web = cleanup.container(&unique("fault-alias-web"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("prod", "local", &net)),
    );
    apply(&p, &[], 0);
    run_container(&web, &net, &["old"]);
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &resource("application", "web", "prod", &web, Some(&["web", "www"]))),
    );
    for point in [
        "journal.written",
        "alias_fix.disconnected",
        "alias_fix.connected",
    ] {
        let run = with_fault(&p, &["apply", "--yes"], &format!("{point}:kill"));
        assert_killed(&run, point);
        restore_completes(&p, &owner, "connect");
        let aliases = &container_networks(&web)[&net];
        assert!(
            aliases.contains(&"web".into()) && aliases.contains(&"www".into()),
            "after {point}: the new aliases: {aliases:?}"
        );
        assert!(!aliases.contains(&"old".into()), "{aliases:?}");
        // Back to the old alias for the next round.
        docker_ok(&["network", "disconnect", &net, &web]);
        docker_ok(&["network", "connect", "--alias", "old", &net, &web]);
    }
}

/// An alias fix killed after the disconnect, then its network removed
/// (found by the watch soak: a destination deleted while watch fixed
/// aliases): the restore has nothing to complete, so it must not fail on
/// the missing network, and hold back the create and the connect that heal
/// it, at every apply (watch was wedged for the rest of its run).
#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn an_alias_fix_whose_network_was_removed_since_is_restored_by_creating_it() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("fault-alias-gone");
    let net = cleanup.network(&unique("fault-alias-gone-n"));
    let web = cleanup.container(&unique("fault-alias-gone-web"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("prod", "local", &net)),
    );
    apply(&p, &[], 0);
    run_container(&web, &net, &["old"]);
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &resource("application", "web", "prod", &web, Some(&["web", "www"]))),
    );
    let run = with_fault(&p, &["apply", "--yes"], "alias_fix.disconnected:kill");
    assert_killed(&run, "alias_fix.disconnected");
    docker_ok(&["network", "rm", &net]);
    let run = apply(&p, &[], 0);
    assert!(journals(&owner).is_empty(), "the journal stays\n{run}");
    let aliases = &container_networks(&web)[&net];
    assert!(
        aliases.contains(&"web".into()) && aliases.contains(&"www".into()),
        "the network made again, the container on it with its aliases: {aliases:?}\n{run}"
    );
    assert_settled(&p);
}

/// An application `api` running with a volume, and `api-copy` declared as
/// its clone (alias `copy`) on destination `prod`: what the clone fault
/// tests start from. Names begin with `prefix`.
struct CloneCase {
    cleanup: Cleanup,
    owner: String,
    net: String,
    api: String,
    copy: String,
    /// `api`'s volume.
    volume: String,
    /// The fresh volume the copy gets.
    fresh: String,
    p: Project,
}

fn clone_case(prefix: &str) -> CloneCase {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique(prefix);
    let net = cleanup.network(&unique(&format!("{prefix}-n")));
    let api = cleanup.container(&unique(&format!("{prefix}-api")));
    let copy = cleanup.container(&unique(&format!("{prefix}-copy")));
    let volume = unique(&format!("{prefix}-v"));
    let fresh = format!("{volume}-api-copy");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &application("api", "prod", &api)
            + &resource_head("application", "api-copy", "prod")
            + &format!("container = \"{copy}\"\nclone_of = \"api\"\n")
            + &aliases_line(&["copy"])),
    );
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &api,
        "-v",
        &format!("{volume}:/data"),
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    CloneCase {
        cleanup,
        owner,
        net,
        api,
        copy,
        volume,
        fresh,
        p,
    }
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_clone_killed_after_any_step_is_completed_by_the_next_apply() {
    let CloneCase {
        cleanup: _cleanup,
        owner,
        net,
        api,
        copy,
        volume,
        fresh,
        p,
    } = clone_case("fault-clone");
    for point in ["journal.written", "clone.created"] {
        let run = with_fault(&p, &["apply", "--yes"], &format!("{point}:kill"));
        assert_killed(&run, point);
        restore_completes(&p, &owner, "clone");
        assert!(container_running(&copy), "after {point}: the copy runs");
        assert!(
            container_networks(&copy)[&net].contains(&"copy".into()),
            "after {point}: the copy is attached with its alias"
        );
        // Again from scratch for the next round.
        docker_ok(&["rm", "-f", &copy]);
        docker_ok(&["volume", "rm", &fresh]);
    }
    let _ = docker(&["rm", "-f", &api]);
    let _ = docker(&["volume", "rm", &volume]);
}

/// Three destinations on the second daemon `d`.
fn three_destinations(owner: &str, d: &SecondDaemon, nets: &[String]) -> String {
    let mut text = settings(owner) + &server("d", &d.address());
    for (i, net) in nets.iter().enumerate() {
        text += &destination(&format!("x{i}"), "d", net);
    }
    text
}

fn exists_on(d: &SecondDaemon, net: &str) -> bool {
    d.docker(&["network", "inspect", net]).status.success()
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_daemon_killed_mid_apply_is_reported_step_by_step_and_the_next_apply_completes() {
    let mut d = SecondDaemon::start();
    let owner = unique("fault-dkill");
    let nets: Vec<String> = (0..3).map(|i| unique(&format!("fault-dkill{i}"))).collect();
    let p = Project::new();
    p.write("berth.toml", &three_destinations(&owner, &d, &nets));
    // A window after the first step, in which the daemon dies.
    let mut run = Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[("BERTH_FAULT", OsStr::new("apply.step@1:sleep=3000"))],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !nets.iter().any(|n| exists_on(&d, n)) {
        assert!(std::time::Instant::now() < deadline && run.still_running());
        std::thread::sleep(Duration::from_millis(50));
    }
    d.kill();
    let run = run.finish(Duration::from_secs(120));
    run.expect_code(1);
    assert!(
        run.stdout.contains("1 done, 1 failed, 1 not attempted"),
        "the report says what was done, what failed, what was not attempted\n{run}"
    );
    assert!(run.stdout.contains("cannot reach Docker"), "{run}");
    d.restart();
    apply(&p, &[], 0);
    assert!(nets.iter().all(|n| exists_on(&d, n)));
    assert_settled(&p);
}

#[test]
fn a_hung_daemon_is_named_after_the_timeout_and_the_others_are_planned() {
    let d = SecondDaemon::start();
    let owner = unique("fault-hung");
    let net = unique("fault-hung-n");
    let local_net = unique("fault-hung-l");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &server("frozen", &d.address())
            + &destination("here", "local", &local_net)
            + &destination("there", "frozen", &net)),
    );
    d.freeze();
    let started = std::time::Instant::now();
    let run = p.berth(&["plan", "--timeout", "2s"]);
    let took = started.elapsed();
    let applied = p.berth(&["apply", "--yes", "--timeout", "2s"]);
    d.resume();
    run.expect_code(1);
    assert!(took < Duration::from_secs(30), "plan took {took:?}\n{run}");
    assert!(
        run.stdout.contains(&format!("network {local_net}")),
        "the server that answered is planned\n{run}"
    );
    assert!(
        run.stderr.contains("server frozen") && run.stderr.contains("did not answer within 2s"),
        "the hung server is named, with the timeout\n{run}"
    );
    applied.expect_code(1);
    assert!(
        applied.stderr.contains("nothing applied"),
        "apply applies nothing\n{applied}"
    );
    assert!(!crate::common::network_exists(&local_net), "{applied}");
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_container_attached_between_the_plan_and_the_removal_blocks_it() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("fault-race");
    let keep = cleanup.network(&unique("fault-race-k"));
    let old = cleanup.network(&unique("fault-race-o"));
    let late = cleanup.container(&unique("fault-race-c"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("old", "local", &old)),
    );
    apply(&p, &[], 0);
    // The next apply creates one network, then removes the old one; in
    // between, someone attaches a container to the old one.
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("keep", "local", &keep)),
    );
    let mut run = Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[("BERTH_FAULT", OsStr::new("apply.step@1:sleep=3000"))],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !crate::common::network_exists(&keep) {
        assert!(std::time::Instant::now() < deadline && run.still_running());
        std::thread::sleep(Duration::from_millis(50));
    }
    run_container(&late, &old, &[]);
    let run = run.finish(Duration::from_secs(120));
    run.expect_code(1);
    assert!(
        run.stdout.contains(&format!(
            "refused: attached to {old} since the plan was made: {late}"
        )),
        "{run}"
    );
    assert!(crate::common::network_exists(&old), "{run}");
    assert!(container_networks(&late).contains_key(&old));
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn an_ssh_connection_cut_mid_apply_is_reported_and_the_next_apply_completes() {
    use crate::common::sshd::Sshd;
    let sshd = Sshd::start();
    let d = SecondDaemon::start();
    let owner = unique("fault-ssh");
    let nets: Vec<String> = (0..3).map(|i| unique(&format!("fault-ssh{i}"))).collect();
    let p = Project::new();
    let mut text = settings(&owner)
        + &format!(
            "\n[[server]]\nname = \"far\"\naddress = \"{}\"\ndocker_socket = \"{}\"\nidentity_file = \"{}\"\nknown_hosts_file = \"{}\"\n",
            sshd.address(),
            d.socket.display(),
            sshd.client_key().display(),
            sshd.known_hosts().display()
        );
    for (i, net) in nets.iter().enumerate() {
        text += &destination(&format!("x{i}"), "far", net);
    }
    p.write("berth.toml", &text);
    let tmpdir = tempfile::tempdir().expect("tempdir");
    let mut run = Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[
            ("BERTH_FAULT", OsStr::new("apply.step@1:sleep=3000")),
            ("TMPDIR", tmpdir.path().as_os_str()),
            // The master kept for the next run lives here.
            ("XDG_RUNTIME_DIR", tmpdir.path().as_os_str()),
        ],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !nets.iter().any(|n| exists_on(&d, n)) {
        if !run.still_running() {
            panic!("berth ended early\n{}", run.finish(Duration::from_secs(1)));
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    // Cut the connection: kill the ssh master (its command line names its
    // control socket, under berth's XDG_RUNTIME_DIR).
    let masters = crate::ssh::processes_mentioning(&tmpdir.path().display().to_string());
    assert!(!masters.is_empty(), "no ssh master found");
    for (pid, _) in &masters {
        let _ = std::process::Command::new("kill")
            .args(["-9", pid])
            .status();
    }
    let run = run.finish(Duration::from_secs(120));
    run.expect_code(1);
    assert!(
        run.stdout.contains("1 done, 1 failed, 1 not attempted"),
        "what was done, what failed, what was not attempted\n{run}"
    );
    apply(&p, &[], 0);
    assert!(nets.iter().all(|n| exists_on(&d, n)));
    assert_settled(&p);
}

/// The state letter of process `pid` (`T`: stopped), from /proc.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S …`: the state follows the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Waits until `run` has stopped itself (a `stop` fault point).
pub(crate) fn wait_stopped(run: &mut Spawned) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while process_state(run.pid()) != Some('T') {
        assert!(
            std::time::Instant::now() < deadline && run.still_running(),
            "berth never reached its stop point"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Issue 19's "recovery trips on its own steps": berth is SIGKILLed
/// during `apply --allow-replace` of a network with 25 containers, while
/// a disconnect is on its way; that request lands after the next apply
/// has read the server, so the container it was about to disconnect is
/// not connected any more. The next apply converges all the same, first
/// time: every container back with its alias, the journal removed.
#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_killed_runs_request_landing_after_the_next_apply_read_the_server_is_done_not_failed() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("fault-late");
    let net = cleanup.network(&unique("fault-late-n"));
    let p = Project::new();
    let config = |subnet: &str| {
        local_header(&owner) + &destination_with_subnet("prod", "local", &net, subnet)
    };
    p.write("berth.toml", &config("10.242.1.0/24"));
    apply(&p, &[], 0);
    let members: Vec<(String, String)> = (0..25)
        .map(|i| {
            (
                cleanup.container(&unique(&format!("fault-late-{i}"))),
                format!("app-{i}"),
            )
        })
        .collect();
    for (c, alias) in &members {
        run_container(c, &net, &[alias]);
    }

    // Killed between a disconnect request and its answer, half-way.
    p.write("berth.toml", &config("10.242.2.0/24"));
    let run = with_fault(
        &p,
        &["apply", "--yes", "--allow-replace"],
        "sent.disconnect@13:kill",
    );
    assert_killed(&run, "sent.disconnect");
    assert_eq!(journals(&owner).len(), 1, "the journal records the replace");

    // The next apply reads the server; then the killed run's next request
    // lands: one more container leaves the network.
    let mut next = Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[("BERTH_FAULT", OsStr::new("restore.read:stop"))],
    );
    wait_stopped(&mut next);
    let late = crate::common::network_containers(&net)
        .into_iter()
        .next()
        .expect("containers still attached after the kill");
    docker_ok(&["network", "disconnect", &net, &late]);
    let cont = std::process::Command::new("kill")
        .args(["-CONT", &next.pid().to_string()])
        .status()
        .expect("kill -CONT");
    assert!(cont.success());
    let run = next.finish(Duration::from_secs(120));
    run.expect_code(0);
    assert!(journals(&owner).is_empty(), "the journal stays\n{run}");
    assert_eq!(
        network_subnet(&net).as_deref(),
        Some("10.242.2.0/24"),
        "{run}"
    );
    for (c, alias) in &members {
        assert!(
            container_networks(c)
                .get(&net)
                .is_some_and(|a| a.contains(alias)),
            "{c} is back on {net} with its alias {alias}\n{run}"
        );
    }
    assert_settled(&p);
}

/// How many networks of exactly that name the local daemon has.
fn networks_named(name: &str) -> usize {
    docker_ok(&[
        "network",
        "ls",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.Name}}",
    ])
    .lines()
    .filter(|l| *l == name)
    .count()
}

/// Every Docker step idempotent: with `sent.*:again` each change request
/// goes to Docker twice and berth reads the second answer, Docker's
/// "already done" (connected already, not connected, exists, gone, the
/// journal written or removed already). Every kind of change a plan makes
/// — create, connect, alias fix, replace, a move (connect and
/// disconnect), remove, and the restore of an interrupted replace —
/// succeeds, leaves one network of each name and an empty plan.
#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn every_step_of_every_change_kind_sent_twice_is_done_once() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("twice");
    let net_a = cleanup.network(&unique("twice-a"));
    let net_b = cleanup.network(&unique("twice-b"));
    let web = cleanup.container(&unique("twice-web"));
    run_container(&web, "bridge", &[]);
    let p = Project::new();
    let config = |subnet_a: Option<&str>, subnet_b: &str, on: &str, aliases: &[&str]| {
        let mut text = local_header(&owner);
        if let Some(subnet) = subnet_a {
            text += &destination_with_subnet("a", "local", &net_a, subnet);
        }
        text += &destination_with_subnet("b", "local", &net_b, subnet_b);
        text + &resource("application", "web", on, &web, Some(aliases))
    };
    // Applies `text` with every request sent twice, after checking that
    // the plan makes each change in `actions` (a verb, for the alias fix).
    let twice = |text: String, extra: &[&str], actions: &[&str], requests: &[&str]| {
        p.write("berth.toml", &text);
        let (run, before) = crate::common::plan::plan_json(&p, extra, 0);
        for action in actions {
            assert!(
                changes(&before)
                    .iter()
                    .any(|c| c["action"] == *action || c["verb"] == *action),
                "the plan makes a {action}\n{run}"
            );
        }
        let mut args = vec!["apply", "--yes"];
        args.extend(extra);
        let run = with_fault(&p, &args, "sent.*:again");
        run.expect_code(0);
        for request in requests {
            assert!(
                run.stderr
                    .contains(&format!("fault injected at sent.{request}: again")),
                "{request} was sent twice\n{run}"
            );
        }
        assert!(journals(&owner).is_empty(), "{run}");
        assert_settled(&p);
        assert!(networks_named(&net_b) == 1, "one network {net_b}\n{run}");
        run
    };

    twice(
        config(Some("10.243.1.0/24"), "10.243.2.0/24", "a", &["web"]),
        &[],
        &["create_network", "connect"],
        &["create_network", "connect"],
    );
    assert_eq!(networks_named(&net_a), 1, "one network {net_a}");
    assert!(container_networks(&web)[&net_a].contains(&"web".into()));

    twice(
        config(Some("10.243.1.0/24"), "10.243.2.0/24", "a", &["web", "www"]),
        &[],
        &["reconnect"],
        &["write_journal", "disconnect", "connect", "remove_journal"],
    );
    let aliases = &container_networks(&web)[&net_a];
    assert!(aliases.contains(&"www".into()), "{aliases:?}");

    twice(
        config(Some("10.243.3.0/24"), "10.243.2.0/24", "a", &["web", "www"]),
        &["--allow-replace"],
        &["replace_network"],
        &[
            "write_journal",
            "disconnect",
            "remove_network",
            "create_network",
            "connect",
            "remove_journal",
        ],
    );
    assert_eq!(network_subnet(&net_a).as_deref(), Some("10.243.3.0/24"));
    assert_eq!(networks_named(&net_a), 1, "one network {net_a}");
    assert!(container_networks(&web)[&net_a].contains(&"www".into()));

    twice(
        config(Some("10.243.3.0/24"), "10.243.2.0/24", "b", &["web"]),
        &[],
        &["connect", "disconnect"],
        &["connect", "disconnect"],
    );
    let nets = container_networks(&web);
    assert!(
        !nets.contains_key(&net_a) && nets.contains_key(&net_b),
        "{nets:?}"
    );

    twice(
        config(None, "10.243.2.0/24", "b", &["web"]),
        &[],
        &["remove_network"],
        &["remove_network"],
    );
    assert_eq!(networks_named(&net_a), 0, "{net_a} is removed");

    // A replace killed after the network was removed, restored with every
    // request sent twice.
    p.write("berth.toml", &config(None, "10.243.4.0/24", "b", &["web"]));
    let run = with_fault(
        &p,
        &["apply", "--yes", "--allow-replace"],
        "replace.removed:kill",
    );
    assert_killed(&run, "replace.removed");
    twice(
        config(None, "10.243.4.0/24", "b", &["web"]),
        &[],
        &["restore"],
        &["create_network", "connect", "remove_journal"],
    );
    assert_eq!(network_subnet(&net_b).as_deref(), Some("10.243.4.0/24"));
    assert!(container_networks(&web)[&net_b].contains(&"web".into()));
}

/// A clone, and the restore of one killed part-way, with every request
/// sent twice: the journal, the fresh volume, the copy, its start. One
/// copy, one fresh volume, an empty plan.
#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_clone_with_every_request_sent_twice_is_made_once() {
    let CloneCase {
        cleanup: _cleanup,
        owner,
        net,
        api,
        copy,
        volume,
        fresh,
        p,
    } = clone_case("twice-clone");
    let check = |run: &Run, requests: &[&str]| {
        run.expect_code(0);
        for request in requests {
            assert!(
                run.stderr
                    .contains(&format!("fault injected at sent.{request}: again")),
                "{request} was sent twice\n{run}"
            );
        }
        assert!(journals(&owner).is_empty(), "{run}");
        assert_settled(&p);
        assert!(container_running(&copy), "the copy runs\n{run}");
        assert!(
            container_networks(&copy)[&net].contains(&"copy".into()),
            "the copy is attached with its alias\n{run}"
        );
        let volumes = docker_ok(&["volume", "ls", "-q", "--filter", &format!("name={fresh}")]);
        assert_eq!(volumes.lines().filter(|v| *v == fresh).count(), 1, "{run}");
    };
    let run = with_fault(&p, &["apply", "--yes"], "sent.*:again");
    check(
        &run,
        &[
            "write_journal",
            "create_volume",
            "create_copy",
            "start",
            "remove_journal",
        ],
    );

    // Killed after the copy was made (not started yet); the restore starts
    // it, every request twice.
    docker_ok(&["rm", "-f", &copy]);
    docker_ok(&["volume", "rm", &fresh]);
    let run = with_fault(&p, &["apply", "--yes"], "clone.created:kill");
    assert_killed(&run, "clone.created");
    let run = with_fault(&p, &["apply", "--yes"], "sent.*:again");
    check(&run, &["start", "remove_journal"]);
    let _ = docker(&["rm", "-f", &copy, &api]);
    let _ = docker(&["volume", "rm", &fresh, &volume]);
}

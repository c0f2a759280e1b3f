//! Cheap repeated runs over SSH (issue 18 item 5): a run leaves its SSH
//! connection (an OpenSSH control master) in a private control directory
//! for `ssh_persist`, and the next run within that time uses it instead of
//! a new handshake. Real sshd on loopback (its log counts handshakes),
//! the local Docker engine as the server's Docker socket; each test has
//! its own sshd and its own `XDG_RUNTIME_DIR`, so its own control
//! directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::config::{destination, settings};
use crate::common::spawn::Spawned;
use crate::common::sshd::Sshd;
use crate::common::{Project, Run, docker_socket, unique};
use crate::ssh::processes_mentioning;

/// One sshd, one project whose only server is reached through it, one
/// control directory (`$XDG_RUNTIME_DIR/berth/ssh`) for berth's masters.
struct Fixture {
    sshd: Sshd,
    project: Project,
    runtime: tempfile::TempDir,
    owner: String,
}

impl Fixture {
    /// `extra_settings` goes into `[settings]` (e.g. `ssh_persist = "2s"`).
    fn new(extra_settings: &str) -> Fixture {
        let sshd = Sshd::start();
        let runtime = tempfile::Builder::new()
            .prefix("bt-xdg-")
            .tempdir()
            .expect("tempdir");
        let owner = unique("own");
        let f = Fixture {
            sshd,
            project: Project::new(),
            runtime,
            owner,
        };
        f.write(extra_settings);
        f
    }

    fn write(&self, extra_settings: &str) {
        let config = format!(
            r#"{}{extra_settings}
[[server]]
name = "remote"
address = "ssh://root@127.0.0.1:{port}"
docker_socket = "{docker}"
identity_file = "{key}"
known_hosts_file = "{known}"
{dest}"#,
            settings(&self.owner),
            port = self.sshd.port,
            docker = docker_socket().display(),
            key = self.sshd.client_key().display(),
            known = self.sshd.known_hosts().display(),
            // Not there: the plan creates it, so a plan shows the server
            // was read. Nothing is applied.
            dest = destination("web", "remote", &unique("persist")),
        );
        self.project.write("berth.toml", &config);
    }

    /// `$XDG_RUNTIME_DIR/berth/ssh`.
    fn control_dir(&self) -> PathBuf {
        self.runtime.path().join("berth").join("ssh")
    }

    /// `berth ARGS` with this fixture's XDG_RUNTIME_DIR and RUST_LOG.
    fn berth(&self, args: &[&str]) -> Run {
        self.berth_env(args, &[])
    }

    /// `berth ARGS` as [`Fixture::berth`], with more environment.
    fn berth_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all: Vec<(&str, &std::ffi::OsStr)> = vec![
            ("XDG_RUNTIME_DIR", self.runtime.path().as_os_str()),
            ("RUST_LOG", "berth::ssh=debug".as_ref()),
        ];
        all.extend(env.iter().map(|(k, v)| (*k, v.as_ref())));
        Spawned::command(self.project.args(args), self.project.path(), &all)
            .finish(Duration::from_secs(120))
    }

    /// `berth plan --format json ARGS`: exits 0 with the server read.
    fn plan_ok(&self, args: &[&str]) -> Run {
        let mut all = vec!["plan", "--format", "json"];
        all.extend(args);
        let run = self.berth(&all);
        run.expect_code(0);
        let plan = run.json();
        assert_eq!(plan["servers"][0]["status"], "ok", "{run}");
        run
    }

    /// Pids of the ssh masters berth left in this fixture's control
    /// directory (their command line names their control socket).
    fn masters(&self) -> Vec<u32> {
        processes_mentioning(&self.control_dir().display().to_string())
            .into_iter()
            .filter(|(_, cmd)| cmd.starts_with("ssh "))
            .filter_map(|(pid, _)| pid.parse().ok())
            .collect()
    }

    /// The one master berth left, or a failure naming what is there.
    fn master(&self, after: &str) -> u32 {
        let masters = self.masters();
        assert_eq!(
            masters.len(),
            1,
            "after {after}: expected one ssh master in {}, found {masters:?}",
            self.control_dir().display()
        );
        masters[0]
    }
}

impl Drop for Fixture {
    /// The masters berth left for a next run that will not come.
    fn drop(&mut self) {
        for pid in self.masters() {
            kill(pid);
        }
    }
}

fn kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_second_run_within_the_window_reuses_the_connection_without_a_handshake() {
    let f = Fixture::new("");
    let before = f.sshd.accepted();
    f.plan_ok(&[]);
    assert_eq!(
        f.sshd.accepted(),
        before + 1,
        "the first run connects once\n{}",
        f.sshd.log()
    );
    let master = f.master("the first run");

    let run = f.plan_ok(&[]);
    assert_eq!(
        f.sshd.accepted(),
        before + 1,
        "the second run (default ssh_persist, 60s) made a new SSH handshake\n{run}\n--- sshd log ---\n{}",
        f.sshd.log()
    );
    assert_eq!(f.master("the second run"), master, "{run}");
    assert!(
        run.stderr.contains("reusing a running SSH connection"),
        "RUST_LOG=berth::ssh=debug says nothing of the reuse\n{run}"
    );
    // status and locks reuse it too.
    f.berth(&["status"]).expect_code(0);
    f.berth(&["locks"]).expect_code(0);
    assert_eq!(
        f.sshd.accepted(),
        before + 1,
        "status or locks connected again"
    );

    // --no-ssh-persist neither uses nor leaves a master: a handshake of its
    // own, closed with the run; the kept master is untouched.
    f.plan_ok(&["--no-ssh-persist"]);
    assert_eq!(f.sshd.accepted(), before + 2);
    assert_eq!(f.masters(), vec![master]);
}

#[test]
fn after_the_window_the_master_is_gone_and_the_next_run_connects_again() {
    let f = Fixture::new("ssh_persist = \"2s\"\n");
    let before = f.sshd.accepted();
    f.plan_ok(&[]);
    // ControlPersist=2s: the idle master ends by itself.
    outlives_no_window(f.master("the first run"));
    f.plan_ok(&[]);
    assert_eq!(
        f.sshd.accepted(),
        before + 2,
        "after the window, a new handshake\n{}",
        f.sshd.log()
    );
    // A master keeps the window it was started with; once it is gone,
    // --ssh-persist wins over the setting: this master stays a minute.
    outlives_no_window(f.master("the run after the window"));
    let run = f.plan_ok(&["--ssh-persist", "1m"]);
    let kept = f.master("a run with --ssh-persist 1m");
    assert!(
        processes_mentioning(&f.control_dir().display().to_string())
            .iter()
            .any(|(pid, cmd)| pid == &kept.to_string() && cmd.contains("ControlPersist=60s")),
        "the master was not started with ControlPersist=60s\n{run}"
    );
}

/// The window counts from the end of a run, never inside one: a run that
/// holds its connection idle for longer than `ssh_persist` (500 servers
/// connected before the first is read, a confirmation prompt answered
/// late) still reads its server through it. Before the run held a channel
/// open, the master ended 2 s into the 5 s pause and the read failed with
/// `Connection refused`.
#[cfg(feature = "fault-injection")]
#[test]
fn a_run_idle_for_longer_than_the_window_keeps_its_connection() {
    let f = Fixture::new("ssh_persist = \"2s\"\n");
    let mut args = vec!["plan", "--format", "json"];
    args.extend(["--timeout", "30s"]);
    let run = f.berth_env(&args, &[("BERTH_FAULT", "read.server:sleep=5000")]);
    run.expect_code(0);
    assert_eq!(run.json()["servers"][0]["status"], "ok", "{run}");
    // And the window still runs from the end of the run.
    outlives_no_window(f.master("a run idle for 5 s"));
}

/// Waits (at most 30 s) for a master started with a 2 s window to end.
fn outlives_no_window(master: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(master) {
        assert!(
            Instant::now() < deadline,
            "the ssh master {master} still runs 30 s after a 2 s window"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_master_never_fails_the_next_run() {
    let f = Fixture::new("");
    let before = f.sshd.accepted();
    f.plan_ok(&[]);
    let master = f.master("the first run");
    kill(master);
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(master) {
        assert!(Instant::now() < deadline, "kill -9 {master} did not end it");
        thread::sleep(Duration::from_millis(50));
    }
    // Its control socket and forwarded socket are left behind, dead.
    let run = f.plan_ok(&[]);
    assert_eq!(f.sshd.accepted(), before + 2, "{run}");
    assert!(
        run.stderr.contains("stale control socket"),
        "the fallback is not said at debug level\n{run}"
    );
    let fresh = f.master("the run after the kill");
    assert_ne!(fresh, master);
    // And the fresh master is reused in turn.
    f.plan_ok(&[]);
    assert_eq!(f.sshd.accepted(), before + 2);
}

#[test]
fn a_control_directory_others_may_enter_is_refused_with_the_fix() {
    let f = Fixture::new("");
    let dir = f.control_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // One error for the run (not one per server), with the fix; nothing
    // contacted.
    let run = f.berth(&["plan", "--format", "json"]);
    run.expect_code(1);
    let shown = dir.display();
    assert!(
        run.stderr.contains(&format!(
            "error: refusing to keep SSH connections in {shown}"
        )) && run.stderr.contains("its mode is 0755, not 0700")
            && run.stderr.contains(&format!(
                "hint: remove it (berth creates it again, 0700) or `chmod 700 {shown}`"
            )),
        "no clear refusal with its fix\n{run}"
    );
    assert_eq!(
        run.stderr.matches("refusing").count(),
        1,
        "said once for the run\n{run}"
    );
    assert_eq!(
        f.masters(),
        Vec::<u32>::new(),
        "a master in a refused directory"
    );
    assert_eq!(
        f.sshd.accepted(),
        0,
        "berth connected despite a refused directory"
    );

    // A symlink to a private directory is refused too.
    let elsewhere = f.runtime.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::remove_dir(&dir).expect("rmdir");
    std::os::unix::fs::symlink(&elsewhere, &dir).expect("symlink");
    let run = f.berth(&["status"]);
    run.expect_code(1);
    assert!(run.stderr.contains("it is a symlink"), "{run}");
    // With reuse off the directory is not used, so not in the way.
    f.plan_ok(&["--no-ssh-persist"]);

    // Fixed as the hint says: the run works and keeps its master there.
    std::fs::remove_file(&dir).expect("rm symlink");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    f.plan_ok(&[]);
    f.master("the run in a private directory");
}

#[test]
fn a_missing_control_directory_is_made_private() {
    let f = Fixture::new("");
    f.plan_ok(&[]);
    let mode = std::fs::metadata(f.control_dir())
        .expect("berth made the control directory")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "{}", f.control_dir().display());
}

#[test]
fn two_identities_to_one_sshd_never_share_a_master() {
    // Same host and port, another known_hosts file (same content): another
    // connection identity, so another master and another handshake.
    let f = Fixture::new("");
    let before = f.sshd.accepted();
    f.plan_ok(&[]);
    let first = f.master("the first run");
    let copy = f.runtime.path().join("known_hosts_copy");
    std::fs::copy(f.sshd.known_hosts(), &copy).expect("copy known_hosts");
    let text = std::fs::read_to_string(f.project.path().join("berth.toml")).expect("read");
    let text = text.replace(
        &f.sshd.known_hosts().display().to_string(),
        &copy.display().to_string(),
    );
    f.project.write("berth.toml", &text);
    f.plan_ok(&[]);
    assert_eq!(f.sshd.accepted(), before + 2);
    let mut masters = f.masters();
    masters.sort_unstable();
    assert_eq!(masters.len(), 2, "{masters:?}");
    assert!(masters.contains(&first));
}

#[test]
fn an_invalid_ssh_persist_is_a_located_config_error() {
    let f = Fixture::new("ssh_persist = \"soon\"\n");
    let run = f.berth(&["validate"]);
    run.expect_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("`ssh_persist` is not a duration") && all.contains("berth.toml:3:"),
        "{run}"
    );
    f.write("ssh_persist = \"2d\"\n");
    let run = f.berth(&["validate"]);
    run.expect_code(1);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("longer than a day"),
        "{run}"
    );
}

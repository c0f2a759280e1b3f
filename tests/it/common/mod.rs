//! Harness for the integration tests: they run the real `berth` binary
//! against the real local Docker Engine and check the result with the
//! `docker` CLI.
//!
//! Every test owns its Docker objects: names come from [`unique`], and a
//! [`Cleanup`] guard created before the first object removes them again,
//! whether the test passes or fails.
//!
//! Submodules: [`config`] (config snippets), [`plan`] (plan/apply steps and
//! plan JSON accessors), [`spawn`] (berth as a child process), [`daemon`]
//! (a second dockerd), [`swarm`] (a three-node swarm of them) and [`sshd`]
//! (a real sshd).

// The integration tests use most of these helpers, the fleet benchmark
// (which includes this module by path) a few; neither uses them all.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use spawn::Spawned;

/// The image every test container runs (built from Debian's static busybox).
pub const TEST_IMAGE: &str = "berth-test/busybox:1";

/// How long one berth run may take before the harness kills it.
const BERTH_TIMEOUT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// A name no other test (thread or process) uses: `bt-<prefix>-<pid>-<n>-<t>`.
/// Valid as a Docker container or network name and as a berth owner.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "bt-{prefix}-{}-{n}-{:x}",
        std::process::id(),
        nanos % 0x10_0000
    )
}

// ---------------------------------------------------------------------------
// Docker CLI
// ---------------------------------------------------------------------------

/// Path of the Docker socket berth's `local` server means: `$DOCKER_HOST`
/// when it is a `unix://` address, else `/var/run/docker.sock`.
pub fn docker_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

/// Runs `docker ARGS` and returns its output, whatever the exit status.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the docker CLI")
}

/// Panics, showing the command (`what`), its status and its output, unless
/// it succeeded.
fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `docker ARGS`, panics unless it succeeds, returns trimmed stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert_success(&format!("docker {}", args.join(" ")), &out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `docker inspect`-style call with `--format '{{json EXPR}}'`, parsed.
fn docker_json(args: &[&str]) -> Value {
    let text = docker_ok(args);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("docker {} printed no JSON ({e}): {text}", args.join(" ")))
}

/// Makes sure the test image exists, building it from `/bin/busybox` (as
/// `.ci/run` does) at most once per test process.
pub fn ensure_image() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if docker(&["image", "inspect", TEST_IMAGE]).status.success() {
            return;
        }
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "/bin/busybox is missing: apt-get install -y busybox-static"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("rootfs/bin");
        std::fs::create_dir_all(&bin).expect("mkdir rootfs/bin");
        std::fs::copy(busybox, bin.join("busybox")).expect("copy busybox");
        for applet in ["sh", "sleep", "nc", "httpd", "cat", "env", "ls", "echo"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("symlink applet");
        }
        let script = format!(
            "tar -C '{}' -c . | docker import - {TEST_IMAGE}",
            dir.path().join("rootfs").display()
        );
        let status = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .status()
            .expect("run sh");
        assert!(status.success(), "building {TEST_IMAGE} failed");
    });
}

/// Does a network with exactly this name exist on the local engine?
pub fn network_exists(name: &str) -> bool {
    let out = docker(&["network", "inspect", "--format", "{{.Name}}", name]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == name
}

/// The labels of a network (empty when it has none).
pub fn network_labels(name: &str) -> HashMap<String, String> {
    let v = docker_json(&["network", "inspect", "--format", "{{json .Labels}}", name]);
    serde_json::from_value(v).unwrap_or_default()
}

/// The first IPAM subnet of a network, if any.
pub fn network_subnet(name: &str) -> Option<String> {
    let v = docker_json(&[
        "network",
        "inspect",
        "--format",
        "{{json .IPAM.Config}}",
        name,
    ]);
    v.as_array()?
        .iter()
        .find_map(|c| c.get("Subnet")?.as_str().map(str::to_string))
}

/// The networks a container is attached to, each with its aliases there
/// (from `.NetworkSettings.Networks[net].Aliases`). Docker 20.10 adds the
/// short container id to the aliases: check with `contains`, not equality.
pub fn container_networks(container: &str) -> HashMap<String, Vec<String>> {
    let v = docker_json(&[
        "inspect",
        "--type",
        "container",
        "--format",
        "{{json .NetworkSettings.Networks}}",
        container,
    ]);
    let Some(nets) = v.as_object() else {
        return HashMap::new();
    };
    nets.iter()
        .map(|(net, settings)| {
            let aliases = settings
                .get("Aliases")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (net.clone(), aliases)
        })
        .collect()
}

/// The full id of a container.
pub fn container_id(container: &str) -> String {
    docker_ok(&[
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.Id}}",
        container,
    ])
}

/// Is the container running?
pub fn container_running(container: &str) -> bool {
    docker_ok(&[
        "inspect",
        "--type",
        "container",
        "--format",
        "{{.State.Running}}",
        container,
    ]) == "true"
}

fn container_args<'a>(name: &'a str, network: &'a str, aliases: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--name", name, "--network", network];
    for alias in aliases {
        args.extend(["--network-alias", alias]);
    }
    args.extend([TEST_IMAGE, "sleep", "3600"]);
    args
}

/// Starts `sleep 3600` detached on the test image, attached to `network`
/// with `aliases`. Call [`ensure_image`] first.
pub fn run_container(name: &str, network: &str, aliases: &[&str]) {
    let mut args = vec!["run", "-d"];
    args.extend(container_args(name, network, aliases));
    docker_ok(&args);
}

/// Creates (never starts) a container attached to `network` with `aliases`.
/// Call [`ensure_image`] first.
pub fn create_stopped_container(name: &str, network: &str, aliases: &[&str]) {
    let mut args = vec!["create"];
    args.extend(container_args(name, network, aliases));
    docker_ok(&args);
}

// ---------------------------------------------------------------------------
// The local daemon: shared, or one test alone
// ---------------------------------------------------------------------------

/// Who uses the local daemon. Tests that create or remove things on it share
/// it; a test that reads the whole of it and needs it to keep still (`berth
/// import`) has it alone. All integration tests are one binary (`tests/it`),
/// so without this such a test would run beside the others.
struct DaemonUse {
    sharers: usize,
    alone: bool,
    /// Tests waiting to have it alone: no test starts sharing meanwhile.
    waiting: usize,
}

static DAEMON_USE: Mutex<DaemonUse> = Mutex::new(DaemonUse {
    sharers: 0,
    alone: false,
    waiting: 0,
});
static DAEMON_USE_CHANGED: Condvar = Condvar::new();

/// What the current test holds. Kept in a thread local, so it is released
/// when the test's thread ends, after every guard of the test (`Cleanup`,
/// `ComposeStack`, a test's own sweep) has run its drop, pass or fail.
enum Hold {
    Shared,
    Alone,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut used = lock(&DAEMON_USE);
        match self {
            Hold::Shared => used.sharers -= 1,
            Hold::Alone => used.alone = false,
        }
        DAEMON_USE_CHANGED.notify_all();
    }
}

thread_local! {
    static HOLD: RefCell<Option<Hold>> = const { RefCell::new(None) };
}

fn wait_for_change(used: MutexGuard<'_, DaemonUse>) -> MutexGuard<'_, DaemonUse> {
    DAEMON_USE_CHANGED
        .wait(used)
        .unwrap_or_else(PoisonError::into_inner)
}

/// Shares the local daemon until the current test ends; first waits while
/// a test has it alone or waits to. [`Cleanup::new`] calls it: every test
/// that changes the local daemon creates a `Cleanup` first.
pub fn share_local_daemon() {
    if HOLD.with_borrow(Option::is_some) {
        return;
    }
    let mut used = lock(&DAEMON_USE);
    while used.alone || used.waiting > 0 {
        used = wait_for_change(used);
    }
    used.sharers += 1;
    drop(used);
    HOLD.set(Some(Hold::Shared));
}

/// Has the local daemon alone until the current test ends: waits until no
/// other test shares it, and tests that would start sharing it wait.
pub fn local_daemon_alone() {
    match HOLD.take() {
        Some(Hold::Alone) => {
            HOLD.set(Some(Hold::Alone));
            return;
        }
        // A share of this test's own is given up, or it would wait for itself.
        held => drop(held),
    }
    let mut used = lock(&DAEMON_USE);
    used.waiting += 1;
    while used.alone || used.sharers > 0 {
        used = wait_for_change(used);
    }
    used.waiting -= 1;
    used.alone = true;
    drop(used);
    HOLD.set(Some(Hold::Alone));
}

// ---------------------------------------------------------------------------
// Cleanup guard
// ---------------------------------------------------------------------------

/// Records the containers and networks a test creates (or expects berth to
/// create) and force-removes them on drop, containers first, pass or fail.
/// Creating one shares the local daemon until the test ends
/// ([`share_local_daemon`]).
#[derive(Default)]
pub struct Cleanup {
    containers: Mutex<Vec<String>>,
    networks: Mutex<Vec<String>>,
}

impl Cleanup {
    pub fn new() -> Self {
        share_local_daemon();
        Self::default()
    }

    /// Registers a container name; returns it for convenience.
    pub fn container(&self, name: &str) -> String {
        lock(&self.containers).push(name.to_string());
        name.to_string()
    }

    /// Registers a network name; returns it for convenience.
    pub fn network(&self, name: &str) -> String {
        lock(&self.networks).push(name.to_string());
        name.to_string()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let containers = std::mem::take(&mut *lock(&self.containers));
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(containers.iter().map(String::as_str));
            quiet_remove(&args);
        }
        for net in std::mem::take(&mut *lock(&self.networks)) {
            quiet_remove(&["network", "rm", &net]);
        }
    }
}

/// Runs a removal; "not found" is fine, anything else is reported (never
/// panics: this runs in `Drop`, possibly while unwinding).
fn quiet_remove(args: &[&str]) {
    let out = docker(args);
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && !err.contains("No such") && !err.contains("not found") {
        eprintln!("cleanup: docker {} failed: {err}", args.join(" "));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------
// Running berth
// ---------------------------------------------------------------------------

/// What one berth run left behind.
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics (showing the whole run) unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }

    /// stdout parsed as JSON; panics with the whole run if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ berth {}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs the berth binary with exactly `args`: `NO_COLOR=1`, stdin null,
/// killed after [`BERTH_TIMEOUT`].
pub fn berth_raw(args: &[String], cwd: &Path) -> Run {
    // Applies are serialised within a test process: berth locks each daemon
    // while applying, and all tests share the one local daemon.
    static APPLY: Mutex<()> = Mutex::new(());
    let _apply = (args.first().map(String::as_str) == Some("apply")).then(|| lock(&APPLY));

    Spawned::command(args.to_vec(), cwd, &[]).finish(BERTH_TIMEOUT)
}

/// A config directory (a tempdir) that a test writes TOML files into.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (or overwrites) `name` in the config directory.
    pub fn write(&self, name: &str, text: &str) {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write config file");
    }

    /// `SUBCOMMAND --dir <project> REST...`: the arguments of a berth run
    /// on this project.
    pub fn args(&self, args: &[&str]) -> Vec<String> {
        let mut full: Vec<String> = Vec::with_capacity(args.len() + 2);
        if let Some((sub, rest)) = args.split_first() {
            full.push(sub.to_string());
            full.push("--dir".into());
            full.push(self.path().display().to_string());
            full.extend(rest.iter().map(|s| s.to_string()));
        }
        full
    }

    /// Runs `berth SUBCOMMAND --dir <project> REST...`, e.g.
    /// `berth(&["plan", "--format", "json"])`.
    pub fn berth(&self, args: &[&str]) -> Run {
        berth_raw(&self.args(args), self.path())
    }
}

// ---------------------------------------------------------------------------
// Counting proxy
// ---------------------------------------------------------------------------

/// A unix-socket proxy in front of the Docker socket that counts the HTTP
/// requests clients send through it (keep-alive connections included).
pub struct CountingProxy {
    socket: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl CountingProxy {
    /// Starts the proxy; returns the path clients connect to and the handle.
    pub fn start(upstream: &Path) -> (PathBuf, CountingProxy) {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket).expect("bind proxy socket");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let upstream = upstream.to_path_buf();
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let upstream = upstream.clone();
                    let requests = Arc::clone(&requests);
                    thread::spawn(move || proxy_connection(client, &upstream, &requests));
                }
            });
        }
        let proxy = CountingProxy {
            socket: socket.clone(),
            requests,
            stop,
            _dir: dir,
        };
        (socket, proxy)
    }

    /// Number of requests seen since start (or the last [`reset`](Self::reset)).
    pub fn count(&self) -> usize {
        lock(&self.requests).len()
    }

    /// The request lines seen, e.g. `GET /v1.41/networks`.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.requests).clone()
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        lock(&self.requests).clear();
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.socket);
    }
}

fn proxy_connection(client: UnixStream, upstream: &Path, requests: &Mutex<Vec<String>>) {
    let Ok(server) = UnixStream::connect(upstream) else {
        return;
    };
    let (Ok(mut client_r), Ok(mut server_w)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let (mut server_r, mut client_w) = (server, client);
    let back = thread::spawn(move || {
        let _ = io::copy(&mut server_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Write);
    });
    let mut counter = RequestCounter::default();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match client_r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Count before forwarding: when the client has its answer, its
        // request is already recorded.
        for line in counter.feed(&buf[..n]) {
            lock(requests).push(line);
        }
        if server_w.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server_w.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

/// Splits a client's byte stream into HTTP/1.1 requests: a request line, the
/// headers up to a blank line, then `Content-Length` bytes of body.
#[derive(Default)]
pub struct RequestCounter {
    line: Vec<u8>,
    in_headers: bool,
    content_length: usize,
    body_left: usize,
}

impl RequestCounter {
    /// Feeds bytes; returns the request lines (method and path) completed.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len());
                self.body_left -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let byte = bytes[0];
            bytes = &bytes[1..];
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            let line = String::from_utf8_lossy(&self.line)
                .trim_end_matches('\r')
                .to_string();
            self.line.clear();
            if !self.in_headers {
                if is_request_line(&line) {
                    // "GET /v1.41/networks HTTP/1.1" -> "GET /v1.41/networks"
                    let shown = line.rsplit_once(' ').map_or(&*line, |(l, _)| l);
                    found.push(shown.to_string());
                    self.in_headers = true;
                    self.content_length = 0;
                }
            } else if line.is_empty() {
                self.in_headers = false;
                self.body_left = self.content_length;
            } else if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    self.content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        found
    }
}

fn is_request_line(line: &str) -> bool {
    ["GET /", "POST /", "DELETE /", "PUT /", "HEAD /"]
        .iter()
        .any(|m| line.starts_with(m))
}

// ---------------------------------------------------------------------------
// More Docker CLI helpers (issue 3: assignments)
// ---------------------------------------------------------------------------

/// The names of the containers Docker's `network inspect` lists on
/// `network` (running ones only: that is all Docker shows there).
pub fn network_containers(network: &str) -> Vec<String> {
    let v = docker_json(&[
        "network",
        "inspect",
        "--format",
        "{{json .Containers}}",
        network,
    ]);
    let mut names: Vec<String> = v
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|c| c.get("Name")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Names of every container (running or not) carrying label `key=value`.
pub fn containers_labelled(key: &str, value: &str) -> Vec<String> {
    let filter = format!("label={key}={value}");
    let text = docker_ok(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]);
    let mut names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// A compose project name no other test uses: lowercase letters and digits
/// only (compose v1 strips other characters from project names).
pub fn unique_project(prefix: &str) -> String {
    unique(prefix)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The compose tool: Debian's `docker-compose` (v1) when installed, else
/// the `docker compose` plugin.
pub fn compose_command() -> Vec<String> {
    let v1 = Command::new("docker-compose")
        .arg("version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if v1 {
        vec!["docker-compose".into()]
    } else {
        vec!["docker".into(), "compose".into()]
    }
}

/// A compose project run with the real compose tool from a compose file in
/// a tempdir. Dropping it runs `down` (containers and the project's own
/// networks go), pass or fail; create it after the [`Cleanup`] guard so it
/// drops first.
pub struct ComposeStack {
    pub project: String,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl ComposeStack {
    /// Writes the compose file; starts nothing yet (see [`up`](Self::up)).
    pub fn new(project: &str, compose_yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, compose_yaml).expect("write compose file");
        Self {
            project: project.to_string(),
            file,
            _dir: dir,
        }
    }

    /// Runs `<compose> -p PROJECT -f FILE ARGS...`, whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        let cmd = compose_command();
        let file = self.file.display().to_string();
        Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(["-p", &self.project, "-f", &file])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run the compose tool")
    }

    /// `up -d EXTRA...`; panics unless it succeeds.
    pub fn up(&self, extra: &[&str]) {
        let mut args = vec!["up", "-d"];
        args.extend(extra);
        let out = self.run(&args);
        assert_success(&format!("compose {}", args.join(" ")), &out);
    }

    /// Every container of the project (by its compose label), sorted.
    pub fn containers(&self) -> Vec<String> {
        containers_labelled("com.docker.compose.project", &self.project)
    }

    /// The project's own network: `<project>_default`.
    pub fn default_network(&self) -> String {
        format!("{}_default", self.project)
    }
}

impl Drop for ComposeStack {
    fn drop(&mut self) {
        let out = self.run(&["down", "--remove-orphans", "--timeout", "1"]);
        if !out.status.success() {
            eprintln!(
                "cleanup: compose down of {} failed: {}",
                self.project,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// What the benches ran on: CPU model and count, memory, load average, the
/// Docker Engine, and berth's build profile.
pub fn machine() -> String {
    let first = |file: &str, prefix: &str| {
        std::fs::read_to_string(file).ok().and_then(|text| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .and_then(|l| l.split_once(':'))
                .map(|(_, value)| value.trim().to_string())
        })
    };
    let cpu = first("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    let nproc = thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = first("/proc/meminfo", "MemTotal")
        .and_then(|kb| kb.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let docker = Command::new("docker")
        .args([
            "version",
            "--format",
            "{{.Server.Version}} (API {{.Server.APIVersion}})",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "{cpu}, {nproc} CPUs, {mem_gib:.0} GiB RAM, load average {}; Docker {docker}; berth built {profile}",
        load.join(" ")
    )
}

pub mod config;
pub mod daemon;
pub mod plan;
pub mod spawn;
pub mod sshd;
pub mod swarm;

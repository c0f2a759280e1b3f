//! One server, close to the engine's floor (issue 10, item 8): a
//! steady-state plan of 20 destinations and 100 attached containers on one
//! server (a second `dockerd` of the bench's own, in its own network
//! namespace), and what it costs against what the engine must answer.
//!
//! It prints:
//!
//! 1. **the floor**: the very requests `berth plan` makes (recorded once
//!    through a counting proxy: the list calls, then one inspect per
//!    attached container) replayed from this warm process with a small
//!    hyper client over the unix socket, the list calls at once, then the
//!    inspects 8 at a time on kept-alive connections; median over repeated
//!    runs after a warm-up. Also the same with a new connection per request,
//!    as berth made them before;
//! 2. **`berth plan --format json`** as a whole process (median of N runs),
//!    beside `berth --version` (process start alone) and `berth validate`
//!    (start and config loading, no Docker);
//! 3. **a docker CLI script** doing the same check: `docker network
//!    inspect` per network plus one `docker inspect` of the 100 containers;
//!
//! and the ratios. Then, over SSH with 50 ms of round-trip time (this
//! kernel has no netem: a tokio proxy in front of sshd's TCP port delays
//! every chunk 25 ms each way), `berth plan` and the floor's inspects at
//! several concurrencies, through an `ssh -L` tunnel over the same delay.
//!
//! Not a timed test: it prints and never fails on time.
//!
//! ```sh
//! cargo bench --bench floor                     # release build of berth
//! BERTH_BENCH_RUNS=50 cargo bench --bench floor
//! BERTH_BENCH_SSH=0 cargo bench --bench floor   # skip the SSH part
//! BERTH_BENCH_BIN=/tmp/berth-x cargo bench --bench floor     # time another build
//! BERTH_BENCH_BEFORE=/tmp/berth-old cargo bench --bench floor # and this one beside it
//! BERTH_BENCH_CALLGRIND=/tmp/cg cargo bench --bench floor    # + instructions per run (valgrind)
//! ```
//!
//! Needs root, `dockerd`, `nsenter`, `ip`, `sshd`, `ssh-keygen` (as the
//! integration tests do). The daemon, sshd, proxies and tunnel are stopped
//! and removed at the end, or when a step panics.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use common::daemon::SecondDaemon;
use common::sshd::Sshd;
use common::{CountingProxy, Project, TEST_IMAGE, ensure_image};

const DESTINATIONS: usize = 20;
const CONTAINERS: usize = 100;
/// Requests in flight at once in the floor's replay (berth's inspect
/// concurrency on a local socket).
const CONCURRENCY: usize = 8;
/// Added to each direction of the SSH experiment's TCP connection.
const ONE_WAY: Duration = Duration::from_millis(25);

fn main() {
    let runs: usize = env_number("BERTH_BENCH_RUNS", 30).max(3);
    let with_ssh = std::env::var("BERTH_BENCH_SSH").map_or(true, |v| v != "0");
    println!("machine: {}", common::machine());
    ensure_image();

    eprintln!("starting a dockerd with {CONTAINERS} containers ...");
    let started = Instant::now();
    let d = SecondDaemon::start();
    d.load_image(TEST_IMAGE);
    start_containers(&d);
    eprintln!("  ready in {:.1?}", started.elapsed());

    // The steady state: networks created, every container attached with
    // its aliases.
    let p = Project::new();
    p.write(
        "berth.toml",
        &config(&format!("unix://{}", d.socket.display()), None),
    );
    let run = common::berth_raw(&p.args(&["apply", "--yes"]), p.path());
    assert_eq!(run.code, 0, "setup apply failed\n{run}");

    // The requests a plan makes, through a counting proxy.
    let (proxy_socket, proxy) = CountingProxy::start(&d.socket);
    let counted = Project::new();
    counted.write(
        "berth.toml",
        &config(&format!("unix://{}", proxy_socket.display()), None),
    );
    let run = common::berth_raw(&counted.args(&["plan", "--format", "json"]), counted.path());
    assert_eq!(run.code, 0, "plan failed\n{run}");
    assert!(
        run.json()["changes"]
            .as_array()
            .is_some_and(|c| c.is_empty()),
        "the steady-state plan has changes\n{run}"
    );
    let requests = proxy.requests();
    drop(proxy);
    let paths: Vec<String> = requests
        .iter()
        .map(|r| {
            let (method, path) = r.split_once(' ').expect("method and path");
            assert_eq!(method, "GET", "a plan only reads: {r}");
            path.to_string()
        })
        .collect();
    let (inspects, lists): (Vec<String>, Vec<String>) = paths
        .into_iter()
        .partition(|p| p.starts_with("/containers/") && p.ends_with("/json"));
    println!(
        "\nthe requests of `berth plan` ({} in all, counted by a proxy): {} list calls ({}) + {} container inspects",
        requests.len(),
        lists.len(),
        lists.join(", "),
        inspects.len()
    );

    // 1. The floor.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let replay = Replay {
        socket: d.socket.clone(),
        lists: lists.clone(),
        inspects: inspects.clone(),
    };
    let floor = rt.block_on(replay.time(CONCURRENCY, Reuse::KeepAlive, runs));
    let floor_new = rt.block_on(replay.time(CONCURRENCY, Reuse::NewPerRequest, runs));
    let floor_16 = rt.block_on(replay.time(16, Reuse::KeepAlive, runs));

    // 2. berth as a whole process.
    let berth = |args: &[&str]| {
        let args = p.args(args);
        move || {
            let out = Command::new(berth_bin())
                .args(&args)
                .current_dir(std::env::temp_dir())
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .expect("run berth");
            assert!(out.status.success(), "berth {args:?} failed: {out:?}");
        }
    };
    let version = time_runs(runs, || {
        let out = Command::new(berth_bin())
            .arg("--version")
            .output()
            .expect("run berth");
        assert!(out.status.success());
    });
    let validate = time_runs(runs, berth(&["validate"]));
    let plan = time_runs(runs, berth(&["plan", "--format", "json"]));
    let before = before_bin().map(|bin| {
        let args = p.args(&["plan", "--format", "json"]);
        time_runs(runs, || {
            let out = Command::new(&bin)
                .args(&args)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .expect("run berth");
            assert!(out.status.success(), "berth {args:?} failed: {out:?}");
        })
    });

    // 3. The docker CLI doing the same check.
    let script = cli_script(&d.socket);
    let cli = time_runs(runs.min(5), || {
        let out = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "the docker CLI script failed: {out:?}"
        );
    });

    println!(
        "\none server, {DESTINATIONS} destinations, {CONTAINERS} attached containers; median (min-max) of {runs} runs\n"
    );
    println!(
        "{:<66}  {:>34}  {:>8}",
        "", "median (min-max), cpu per run", "÷ floor"
    );
    let row = |what: &str, t: &Times| {
        println!(
            "{what:<66}  {:>34}  {:>7.2}x",
            t.show(),
            t.median.as_secs_f64() / floor.median.as_secs_f64()
        );
    };
    row(
        &format!("floor: the same requests, warm process, {CONCURRENCY} at a time, kept alive"),
        &floor,
    );
    row("  same, 16 at a time, kept alive", &floor_16);
    row(
        &format!("  same, {CONCURRENCY} at a time, a new connection per request"),
        &floor_new,
    );
    row("berth --version (process start and exit)", &version);
    row("berth validate (+ config loading, no Docker)", &validate);
    row("berth plan --format json (whole process)", &plan);
    if let Some(t) = &before {
        row("  same, the build in BERTH_BENCH_BEFORE", t);
    }
    row(
        &format!(
            "docker CLI script ({DESTINATIONS}× network inspect + 1 inspect), {} runs",
            runs.min(5)
        ),
        &cli,
    );
    println!(
        "\nberth plan ÷ floor = {:.2}x (target ≤ 1.5x); berth plan ÷ docker CLI script = {:.3}x (target ≤ 0.1x)",
        plan.median.as_secs_f64() / floor.median.as_secs_f64(),
        plan.median.as_secs_f64() / cli.median.as_secs_f64()
    );

    if let Some(dir) = std::env::var_os("BERTH_BENCH_CALLGRIND") {
        instructions(&p, Path::new(&dir));
    }

    if with_ssh {
        ssh_rtt(&d, &replay, runs.min(7));
    }
    eprintln!("stopping the daemon ...");
    drop(d);
}

/// The instructions one run executes, counted by callgrind (steady where
/// times on a shared machine are not): `berth --version`, `berth validate`
/// and `berth plan`, this build and the one in `BERTH_BENCH_BEFORE`. Each
/// run's profile stays in `dir` (`callgrind_annotate` reads it).
fn instructions(p: &Project, dir: &Path) {
    std::fs::create_dir_all(dir).expect("callgrind directory");
    let mut builds = vec![("this", berth_bin())];
    builds.extend(before_bin().map(|b| ("before", b)));
    println!(
        "\ninstructions per run, counted by valgrind --tool=callgrind (profiles in {})\n",
        dir.display()
    );
    for (label, bin) in builds {
        for (what, args) in [
            ("version", vec!["--version".to_string()]),
            ("validate", p.args(&["validate"])),
            ("plan", p.args(&["plan", "--format", "json"])),
        ] {
            let out_file = dir.join(format!("callgrind.{label}.{what}.out"));
            let out = Command::new("valgrind")
                .arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out_file.display()))
                .arg(&bin)
                .args(&args)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .expect("run valgrind (is it installed?)");
            assert!(
                out.status.success(),
                "callgrind of berth {args:?} failed: {out:?}"
            );
            let profile = std::fs::read_to_string(&out_file).expect("callgrind profile");
            let total: u64 = profile
                .lines()
                .find_map(|l| {
                    l.strip_prefix("totals: ")
                        .or_else(|| l.strip_prefix("summary: "))
                })
                .and_then(|n| n.trim().parse().ok())
                .expect("a callgrind total");
            println!(
                "{:<66}  {:>12.1} M instructions",
                format!("berth {what}, {label} build"),
                total as f64 / 1e6
            );
        }
    }
}

/// `berth plan` and the floor's inspects over SSH with 50 ms RTT.
fn ssh_rtt(d: &SecondDaemon, replay: &Replay, runs: usize) {
    let sshd = Sshd::start();
    let delay = DelayProxy::start(sshd.port, ONE_WAY);
    // The host key, known at the delayed port.
    let known = std::fs::read_to_string(sshd.known_hosts()).expect("known_hosts");
    let key = known.split_once(' ').expect("known_hosts line").1;
    let known_hosts = sshd.dir().join("delayed_known_hosts");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}", delay.port)).expect("write");

    let p = Project::new();
    p.write(
        "berth.toml",
        &config(
            &format!("ssh://root@127.0.0.1:{}", delay.port),
            Some((&d.socket, &sshd.client_key(), &known_hosts)),
        ),
    );
    let args = p.args(&["plan", "--format", "json"]);
    let time_plan = |bin: PathBuf| {
        time_runs(runs, || {
            let out = Command::new(&bin)
                .args(&args)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .expect("run berth");
            assert!(out.status.success(), "plan over ssh failed: {out:?}");
        })
    };
    let plan = time_plan(berth_bin());
    let before = before_bin().map(time_plan);

    // A tunnel of our own over the same delay: the floor's requests
    // through it, at several concurrencies.
    let tunnel = Tunnel::open(&sshd, delay.port, &known_hosts, &d.socket);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let over = Replay {
        socket: tunnel.socket.clone(),
        lists: replay.lists.clone(),
        inspects: replay.inspects.clone(),
    };
    let handshake = time_runs(runs, || {
        let out = Command::new("ssh")
            .args(ssh_args(&sshd, delay.port, &known_hosts))
            .arg("true")
            .output()
            .expect("run ssh");
        assert!(out.status.success(), "ssh true failed: {out:?}");
    });
    println!(
        "\nover SSH with {} ms RTT (a delay proxy in front of sshd's port); median (min-max) of {runs} runs\n",
        ONE_WAY.as_millis() * 2
    );
    println!("{:<66}  {:>22}", "", "median (min-max)");
    println!(
        "{:<66}  {:>22}",
        "ssh ... true (handshake, auth, one command)",
        handshake.show()
    );
    println!(
        "{:<66}  {:>22}",
        "berth plan --format json (whole process, handshake included)",
        plan.show()
    );
    if let Some(t) = &before {
        println!(
            "{:<66}  {:>22}",
            "  same, the build in BERTH_BENCH_BEFORE",
            t.show()
        );
    }
    for (concurrency, reuse) in [
        (8, Reuse::NewPerRequest),
        (8, Reuse::KeepAlive),
        (16, Reuse::KeepAlive),
        (32, Reuse::KeepAlive),
        (CONTAINERS, Reuse::KeepAlive),
    ] {
        let t = rt.block_on(over.time(concurrency, reuse, runs));
        println!(
            "{:<66}  {:>22}",
            format!(
                "the plan's requests through an ssh -L tunnel, {concurrency} at a time, {}",
                reuse.name()
            ),
            t.show()
        );
    }
    drop(tunnel);
    drop(delay);
    drop(sshd);
}

/// `n` containers `c000`… running on `d`, started a few at a time.
fn start_containers(d: &SecondDaemon) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= CONTAINERS {
                        break;
                    }
                    d.docker_ok(&[
                        "run",
                        "-d",
                        "--name",
                        &container(i),
                        TEST_IMAGE,
                        "sleep",
                        "36000",
                    ]);
                }
            });
        }
    });
}

fn container(i: usize) -> String {
    format!("c{i:03}")
}

fn network(j: usize) -> String {
    format!("floor-net-{j:02}")
}

/// The config: one server at `address` (over SSH when `ssh` gives its
/// docker socket, key and known_hosts), 20 destinations, an application
/// per container spread over them.
fn config(address: &str, ssh: Option<(&Path, &Path, &Path)>) -> String {
    let mut s = format!(
        "[settings]\nowner = \"berth-bench-floor\"\n\n[[server]]\nname = \"one\"\naddress = \"{address}\"\n"
    );
    if let Some((socket, key, known_hosts)) = ssh {
        s += &format!(
            "docker_socket = \"{}\"\nidentity_file = \"{}\"\nknown_hosts_file = \"{}\"\n",
            socket.display(),
            key.display(),
            known_hosts.display()
        );
    }
    for j in 0..DESTINATIONS {
        s += &format!(
            "\n[[destination]]\nname = \"d{j:02}\"\nserver = \"one\"\nnetwork = \"{}\"\n",
            network(j)
        );
    }
    for i in 0..CONTAINERS {
        s += &format!(
            "\n[[application]]\nname = \"app{i:03}\"\ndestination = \"d{:02}\"\ncontainer = \"{}\"\naliases = [\"app{i:03}\"]\n",
            i % DESTINATIONS,
            container(i)
        );
    }
    s
}

/// `docker network inspect` per network, then one `docker inspect` of
/// every container: what a person's script checks.
fn cli_script(socket: &Path) -> String {
    let host = format!("unix://{}", socket.display());
    let mut s = String::new();
    for j in 0..DESTINATIONS {
        s += &format!(
            "docker -H {host} network inspect {} >/dev/null\n",
            network(j)
        );
    }
    s += &format!("docker -H {host} inspect");
    for i in 0..CONTAINERS {
        s += &format!(" {}", container(i));
    }
    s += " >/dev/null\n";
    s
}

// ---------------------------------------------------------------------------
// The floor: berth's requests from a warm process
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Reuse {
    /// One connection per worker, kept alive across requests and runs.
    KeepAlive,
    /// A new connection for every request.
    NewPerRequest,
}

impl Reuse {
    fn name(self) -> &'static str {
        match self {
            Reuse::KeepAlive => "kept alive",
            Reuse::NewPerRequest => "new connection per request",
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

struct Replay {
    socket: PathBuf,
    lists: Vec<String>,
    inspects: Vec<String>,
}

impl Replay {
    /// Median of `runs` replays after `runs / 5 + 2` warm-up ones.
    async fn time(&self, concurrency: usize, reuse: Reuse, runs: usize) -> Times {
        let mut conns: Vec<Option<Sender>> = (0..concurrency.max(self.lists.len()))
            .map(|_| None)
            .collect();
        for _ in 0..runs / 5 + 2 {
            self.once(concurrency, reuse, &mut conns).await;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            self.once(concurrency, reuse, &mut conns).await;
            times.push(t.elapsed());
        }
        Times::of(times)
    }

    /// The list calls at once, then the inspects `concurrency` at a time.
    async fn once(&self, concurrency: usize, reuse: Reuse, conns: &mut [Option<Sender>]) {
        let socket = Arc::new(self.socket.clone());
        let lists = conns[..self.lists.len()]
            .iter_mut()
            .zip(&self.lists)
            .map(|(conn, path)| get(&socket, conn, path, reuse));
        futures_util::future::join_all(lists).await;
        let next = AtomicUsize::new(0);
        let workers = conns[..concurrency].iter_mut().map(|conn| {
            let next = &next;
            let socket = &socket;
            async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = self.inspects.get(i) else {
                        break;
                    };
                    get(socket, conn, path, reuse).await;
                }
            }
        });
        futures_util::future::join_all(workers).await;
    }
}

/// One GET, its body read to the end.
async fn get(socket: &Path, conn: &mut Option<Sender>, path: &str, reuse: Reuse) {
    if matches!(reuse, Reuse::NewPerRequest) {
        *conn = None;
    }
    let sender = match conn {
        Some(s) if !s.is_closed() => s,
        _ => conn.insert(connect(socket).await),
    };
    sender.ready().await.expect("connection ready");
    let req = hyper::Request::get(path)
        .header("Host", "docker")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let res = sender.send_request(req).await.expect("an answer");
    let status = res.status();
    let body = res.into_body().collect().await.expect("the body");
    // /nodes answers 503 on a daemon that is not a swarm manager.
    assert!(
        status.is_success() || status.as_u16() == 503,
        "GET {path}: {status}"
    );
    drop(body);
}

async fn connect(socket: &Path) -> Sender {
    let stream = UnixStream::connect(socket).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

// ---------------------------------------------------------------------------
// 50 ms of RTT: a delaying TCP proxy, and an ssh -L tunnel through it
// ---------------------------------------------------------------------------

/// A TCP proxy on 127.0.0.1 in front of `upstream`: every chunk read is
/// written on `one_way` later, in order, in each direction.
struct DelayProxy {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

impl DelayProxy {
    fn start(upstream: u16, one_way: Duration) -> DelayProxy {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(delayed(cr, sw, one_way), delayed(sr, cw, one_way));
                });
            }
        });
        DelayProxy { port, _runtime: rt }
    }
}

/// Copies `r` to `w`, each chunk `delay` after it was read.
async fn delayed(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if w.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(reader, writer);
}

fn ssh_args(sshd: &Sshd, port: u16, known_hosts: &Path) -> Vec<String> {
    vec![
        "-p".into(),
        port.to_string(),
        "-i".into(),
        sshd.client_key().display().to_string(),
        "-o".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o".into(),
        "StrictHostKeyChecking=yes".into(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-F".into(),
        "/dev/null".into(),
        "root@127.0.0.1".into(),
    ]
}

/// `ssh -N -L <local socket>:<remote socket>`, killed on drop.
struct Tunnel {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tunnel {
    fn open(sshd: &Sshd, port: u16, known_hosts: &Path, remote: &Path) -> Tunnel {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let child = Command::new("ssh")
            .arg("-N")
            .arg("-o")
            .arg("ExitOnForwardFailure=yes")
            .arg("-L")
            .arg(format!("{}:{}", socket.display(), remote.display()))
            .args(ssh_args(sshd, port, known_hosts))
            .stdin(Stdio::null())
            .spawn()
            .expect("start ssh -L");
        let mut tunnel = Tunnel {
            child,
            socket,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !tunnel.socket.exists() {
            if let Ok(Some(status)) = tunnel.child.try_wait() {
                panic!("ssh -L exited ({status})");
            }
            assert!(Instant::now() < deadline, "ssh -L made no socket in 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        tunnel
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

struct Times {
    median: Duration,
    min: Duration,
    max: Duration,
    /// CPU time (user + system) of the child processes, per run.
    cpu: Option<Duration>,
}

impl Times {
    fn of(mut times: Vec<Duration>) -> Times {
        times.sort();
        Times {
            median: times[times.len() / 2],
            min: times[0],
            max: times[times.len() - 1],
            cpu: None,
        }
    }

    fn show(&self) -> String {
        let cpu = self
            .cpu
            .map(|c| format!(", cpu {}", ms(c)))
            .unwrap_or_default();
        format!(
            "{} ({}-{}){cpu}",
            ms(self.median),
            ms(self.min),
            ms(self.max)
        )
    }
}

/// CPU time of this process's waited-for children so far (`cutime` +
/// `cstime` of /proc/self/stat, at the kernel's 100 ticks a second).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let ticks: u64 = rest
        .split(' ')
        .skip(13)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Runs `f` once to warm up, then `runs` times, timed.
fn time_runs(runs: usize, mut f: impl FnMut()) -> Times {
    f();
    let cpu = children_cpu();
    let mut times = Times::of(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    );
    times.cpu = Some((children_cpu() - cpu) / runs as u32);
    times
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The berth binary timed: this build's, or `BERTH_BENCH_BIN` (to compare
/// with another build).
fn berth_bin() -> PathBuf {
    std::env::var_os("BERTH_BENCH_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_berth")), PathBuf::from)
}

/// Another build to time `berth plan` with, beside this one
/// (`BERTH_BENCH_BEFORE`: the build before a change).
fn before_bin() -> Option<PathBuf> {
    std::env::var_os("BERTH_BENCH_BEFORE").map(PathBuf::from)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

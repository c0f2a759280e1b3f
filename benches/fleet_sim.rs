//! Fleet benchmark at 10, 100 and 500 servers (issue 18): `berth plan
//! --format json` over N `ssh://` servers, all behind one loopback sshd,
//! each with its own Docker API unix socket (`docker_socket`) served by a
//! simulator (`fleet_sim/sim.rs`) that answers with JSON recorded from a
//! real engine (`fleet_sim/record.rs`, into `benches/fixtures/fleet_sim/`).
//! Real engines cannot run 500 times on this machine; the integration
//! tests keep using real ones, and `cargo bench --bench fleet` times 1–8
//! real engines.
//!
//! Each server has the same three destinations, the proxy
//! (`coolify-proxy`, `destinations = "*"`) and one application per
//! destination: the steady state, no changes. Per size it prints the cold
//! plan (a fresh `XDG_RUNTIME_DIR`: no SSH master to reuse), the warm plan
//! (a second run in the same one, reusing the masters the first left:
//! `ssh_persist`), berth's own
//! CPU per server and that of the `ssh` clients it ran (from the exited
//! process, `/proc/PID/stat` read before `wait4`), sshd's CPU per server,
//! berth's peak RSS (`wait4`'s maxrss), and one dead server's effect: its
//! socket never answering, and its sshd refusing the connection.
//!
//! Not a timed test: it prints tables and fails only when a plan is wrong
//! (changes, servers not read, a request nothing was recorded for).
//!
//! ```sh
//! cargo bench --bench fleet_sim                        # 10, 100, 500 servers
//! BERTH_BENCH_SIZES=10,50 BERTH_BENCH_RUNS=1 cargo bench --bench fleet_sim
//! BERTH_BENCH_ARGS="--ssh-persist 10m" BERTH_BENCH_KEX=0 BERTH_BENCH_DEAD=0 \
//!     cargo bench --bench fleet_sim                    # cold and warm only
//! cargo bench --bench fleet_sim -- --record            # record the fixtures again
//! ```
//!
//! Needs root (sshd; `--record` also `dockerd`, `nsenter`, `ip`),
//! `sshd` and `ssh-keygen`. It raises its open-files limit to the hard
//! limit (berth inherits it: 500 forwarded sockets and their connections).

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "fleet_sim/record.rs"]
mod record;
#[path = "fleet_sim/sim.rs"]
mod sim;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Project;
use common::sshd::{Sshd, free_port};
use sim::{Behaviour, Recorded, Simulator, fixtures_dir};

/// The owner every simulated network was created by.
const OWNER: &str = "berth-fleet-sim";
/// The three destinations' networks, the same on every server.
const NETWORKS: [&str; 3] = ["coolify", "fleet-web", "fleet-db"];
/// The proxy container, on every destination of its server.
const PROXY: &str = "coolify-proxy";
/// The key exchange of the comparison row (OpenSSH's default before 9.0).
const CLASSIC_KEX: &str = "curve25519-sha256";
/// How long a dead server's calls may take in the dead-server rows.
const DEAD_TIMEOUT: &str = "10s";

/// The containers of one server: the proxy, and `app<i>` on `NETWORKS[i]`.
fn container_names() -> Vec<String> {
    let mut names = vec![PROXY.to_string()];
    names.extend((0..NETWORKS.len()).map(|i| format!("app{i}")));
    names
}

/// The fleet's config: one `[[server]]` `s<i>` per entry (the entry is the
/// lines after its name: address and the SSH keys), its three destinations
/// and three applications, and the proxy once for all of them.
fn config(servers: &[String]) -> String {
    let mut s = format!(
        "[settings]\nowner = \"{OWNER}\"\n\n[[application]]\nname = \"proxy\"\ncontainer = \"{PROXY}\"\ndestinations = \"*\"\naliases = [\"{PROXY}\"]\n"
    );
    for (i, lines) in servers.iter().enumerate() {
        s += &format!("\n[[server]]\nname = \"s{i}\"\n{lines}");
        for (d, network) in NETWORKS.iter().enumerate() {
            s += &format!(
                "\n[[destination]]\nname = \"s{i}-{network}\"\nserver = \"s{i}\"\nnetwork = \"{network}\"\n\n[[application]]\nname = \"s{i}-app{d}\"\ndestination = \"s{i}-{network}\"\ncontainer = \"app{d}\"\naliases = [\"app{d}\"]\n"
            );
        }
    }
    s
}

/// The `[[server]]` lines of an `ssh://` server reached through `sshd` at
/// `port`, whose Docker socket is `socket`.
fn ssh_server(sshd: &Sshd, port: u16, socket: &Path) -> String {
    format!(
        "address = \"ssh://root@127.0.0.1:{port}\"\ndocker_socket = \"{}\"\nidentity_file = \"{}\"\nknown_hosts_file = \"{}\"\n",
        socket.display(),
        sshd.client_key().display(),
        sshd.known_hosts().display()
    )
}

fn main() {
    if std::env::args().any(|a| a == "--record") {
        record::run();
        return;
    }
    let sizes: Vec<usize> = std::env::var("BERTH_BENCH_SIZES")
        .unwrap_or_else(|_| "10,100,500".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    let runs = env_number("BERTH_BENCH_RUNS", 3).max(1);
    let max = sizes
        .iter()
        .copied()
        .max()
        .expect("BERTH_BENCH_SIZES names no size");
    let nofile = raise_nofile();

    println!("machine: {}", common::machine());
    let recorded = Recorded::load(&fixtures_dir()).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "fixtures: {} exchanges recorded from {} ({})",
        recorded.index.exchanges.len(),
        recorded.index.engine,
        recorded.index.recorded_at
    );
    println!("open files limit raised to {nofile} (berth inherits it)");
    // Servers 0..max answer; the last socket is the silent one.
    let mut behaviours = vec![Behaviour::Answer; max];
    behaviours.push(Behaviour::Silent);
    let simulator = Simulator::start(recorded, &behaviours, 1);
    let silent = simulator.socket(max).to_path_buf();
    let sshd = Sshd::start();
    let sshd_pid = sshd_pid_of(&sshd);
    // The same fleet with a key exchange a tenth as costly: OpenSSH 9's
    // default, sntrup761x25519-sha512 (post-quantum), is most of each
    // handshake's CPU.
    let classic = std::env::var("BERTH_BENCH_KEX")
        .map_or(true, |v| v != "0")
        .then(|| Sshd::start_with_options(&format!("KexAlgorithms {CLASSIC_KEX}\n")));
    let classic_pid = classic.as_ref().and_then(sshd_pid_of);
    let warm = warm_supported();
    println!(
        "sshd: one loopback sshd (MaxStartups 100:30:200, MaxSessions 100); berth --parallelism default (16); {runs} cold run(s) per size{}",
        if warm {
            ", warm = a second run reusing the first's SSH connections"
        } else {
            "; warm: n/a (this berth does not keep SSH connections between runs)"
        }
    );

    let mut rows = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for &n in &sizes {
        eprintln!("{n} servers ...");
        let p = Project::new();
        let servers: Vec<String> = (0..n)
            .map(|i| ssh_server(&sshd, sshd.port, simulator.socket(i)))
            .collect();
        p.write("berth.toml", &config(&servers));
        let mut plan = p.args(&["plan", "--format", "json"]);
        // More options for every plan over SSH (`--ssh-persist 10m`).
        plan.extend(
            std::env::var("BERTH_BENCH_ARGS")
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from),
        );

        // The same fleet through unix sockets: berth's own cost, no SSH.
        let unix_config: Vec<String> = (0..n)
            .map(|i| format!("address = \"unix://{}\"\n", simulator.socket(i).display()))
            .collect();
        let up = Project::new();
        up.write("berth.toml", &config(&unix_config));
        let env = RunEnv::new();
        let unix = measure(
            &up.args(&["plan", "--format", "json"]),
            up.path(),
            &env,
            &simulator,
            None,
        );
        unix.expect_read(n, n, 0);
        env.finish();
        if std::env::var("BERTH_BENCH_SSH").is_ok_and(|v| v == "0") {
            rows.push(Row {
                n,
                unix,
                cold: Vec::new(),
                warm: None,
                kex: None,
                silent: None,
                refused: None,
            });
            continue;
        }

        // Each cold run in a new environment (no master to reuse), then,
        // when berth keeps its SSH masters, a warm run reusing them.
        let mut cold = Vec::new();
        let mut warm_runs = warm.then(Vec::new);
        for _ in 0..runs {
            let env = RunEnv::new();
            let mut m = measure(&plan, p.path(), &env, &simulator, sshd_pid);
            problems.extend(m.problem(n).map(|p| format!("{n} servers, cold: {p}")));
            if let Some(w) = warm_runs.as_mut() {
                let again = measure(&plan, p.path(), &env, &simulator, None);
                problems.extend(again.problem(n).map(|p| format!("{n} servers, warm: {p}")));
                w.push(again);
            }
            env.finish();
            settle_sshd(&mut m);
            cold.push(m);
        }

        let kex = classic.as_ref().map(|c| {
            let servers: Vec<String> = (0..n)
                .map(|i| ssh_server(c, c.port, simulator.socket(i)))
                .collect();
            p.write("berth.toml", &config(&servers));
            let env = RunEnv::new();
            let mut m = measure(&plan, p.path(), &env, &simulator, classic_pid);
            m.expect_read(n, n, 0);
            env.finish();
            settle_sshd(&mut m);
            m
        });

        let (silent_run, refused_run) = if std::env::var("BERTH_BENCH_DEAD").is_ok_and(|v| v == "0")
        {
            (None, None)
        } else {
            dead_server(&p, &plan, &servers, &sshd, &simulator, &silent, n)
        };

        let unknown = simulator.unknown();
        assert!(
            unknown.is_empty(),
            "berth asked the simulator for what was never recorded (record again: \
             `cargo bench --bench fleet_sim -- --record`): {unknown:?}"
        );
        rows.push(Row {
            n,
            unix,
            cold,
            warm: warm_runs,
            kex,
            silent: silent_run,
            refused: refused_run,
        });
    }
    assert_eq!(
        simulator.lock_volumes(),
        0,
        "a plan left a lock volume behind"
    );
    print_tables(&rows);
    if !problems.is_empty() {
        println!("\nruns that did not read every server:");
        for p in &problems {
            println!("  {p}");
        }
        panic!(
            "{} run(s) did not read every server (above)",
            problems.len()
        );
    }
    drop(classic);
    drop(sshd);
    drop(simulator);
}

struct Row {
    n: usize,
    /// The same fleet over unix:// straight to the simulator.
    unix: Measured,
    cold: Vec<Measured>,
    warm: Option<Vec<Measured>>,
    /// A cold run through an sshd offering only `CLASSIC_KEX`.
    kex: Option<Measured>,
    silent: Option<Measured>,
    refused: Option<Measured>,
}

fn print_tables(rows: &[Row]) {
    println!(
        "\nberth plan --format json over unix:// straight to the simulator (no SSH): berth's own cost"
    );
    println!(
        "{:>7}  {:>9}  {:>12}  {:>16}  {:>8}  {:>7}",
        "servers", "wall", "wall/server", "berth CPU/server", "peak RSS", "req/srv"
    );
    for r in rows {
        let n = r.n as f64;
        println!(
            "{:>7}  {:>9}  {:>12}  {:>16}  {:>8}  {:>7}",
            r.n,
            secs(r.unix.wall),
            format!("{:.2} ms", r.unix.wall.as_secs_f64() * 1000.0 / n),
            format!("{:.2} ms", r.unix.own_cpu * 1000.0 / n),
            format!("{:.0} MiB", r.unix.maxrss_kib as f64 / 1024.0),
            format!("{:.1}", r.unix.requests as f64 / n),
        );
    }
    if rows.iter().all(|r| r.cold.is_empty()) {
        return;
    }
    println!(
        "\nberth plan --format json, steady state (no changes), ssh:// through one loopback sshd"
    );
    println!(
        "{:>7}  {:>20}  {:>9}  {:>12}  {:>9}  {:>11}  {:>9}  {:>9}  {:>8}  {:>7}",
        "servers",
        "cold median (min-max)",
        "warm",
        "cold/server",
        "berth CPU",
        "ssh clients",
        "sshd CPU",
        "simulator",
        "peak RSS",
        "req/srv"
    );
    println!(
        "{:>7}  {:>20}  {:>9}  {:>12}  {:>9}  {:>11}  {:>9}  {:>9}  {:>8}  {:>7}",
        "", "", "", "", "/server", "CPU/server", "/server", "CPU/srv", "", ""
    );
    for r in rows.iter().filter(|r| !r.cold.is_empty()) {
        let n = r.n as f64;
        let cold = median(&r.cold);
        let warm = r.warm.as_ref().map_or("n/a".to_string(), |w| {
            let m = median(w);
            secs(m.wall) + &read_note(m, r.n)
        });
        let (lo, hi) = (
            r.cold.iter().map(|m| m.wall).min().unwrap_or_default(),
            r.cold.iter().map(|m| m.wall).max().unwrap_or_default(),
        );
        println!(
            "{:>7}  {:>20}  {:>9}  {:>12}  {:>9}  {:>11}  {:>9}  {:>9}  {:>8}  {:>7}",
            r.n,
            format!("{} ({}-{})", secs(cold.wall), secs(lo), secs(hi)) + &read_note(cold, r.n),
            warm,
            format!("{:.1} ms", cold.wall.as_secs_f64() * 1000.0 / n),
            format!("{:.1} ms", cold.own_cpu * 1000.0 / n),
            format!("{:.1} ms", cold.children_cpu * 1000.0 / n),
            cold.sshd_cpu
                .map_or("?".into(), |c| format!("{:.1} ms", c * 1000.0 / n)),
            format!("{:.1} ms", cold.sim_cpu * 1000.0 / n),
            format!("{:.0} MiB", cold.maxrss_kib as f64 / 1024.0),
            format!("{:.1}", cold.requests as f64 / n),
        );
    }
    let left = rows
        .iter()
        .flat_map(|r| r.cold.iter().chain(&r.kex))
        .map(|m| m.ssh_left)
        .max()
        .unwrap_or(0);
    println!(
        "  ssh processes still running when berth had exited (cold runs, at most): {left}{}",
        if rows.iter().any(|r| r.warm.is_some()) {
            " (the masters kept for the next run: ssh_persist)"
        } else {
            ""
        }
    );
    for r in rows.iter().filter(|r| r.warm.is_some()) {
        let w = median(r.warm.as_ref().expect("warm"));
        let n = r.n as f64;
        println!(
            "  warm {}: berth CPU/server {:.1} ms, ssh clients {:.1} ms, peak RSS {:.0} MiB",
            r.n,
            w.own_cpu * 1000.0 / n,
            w.children_cpu * 1000.0 / n,
            w.maxrss_kib as f64 / 1024.0
        );
    }
    if rows.iter().any(|r| r.kex.is_some()) {
        println!(
            "\ncold plan by key exchange: OpenSSH 9's default (sntrup761x25519-sha512) against an sshd offering only {CLASSIC_KEX}"
        );
        println!(
            "{:>7}  {:>12}  {:>12}  {:>22}  {:>22}",
            "servers", "default kex", CLASSIC_KEX, "ssh clients CPU/server", "sshd CPU/server"
        );
        for r in rows.iter().filter(|r| r.kex.is_some()) {
            let (d, k) = (median(&r.cold), r.kex.as_ref().expect("kex"));
            let n = r.n as f64;
            let cpu = |c: Option<f64>| c.map_or("?".into(), |c| format!("{:.1}", c * 1000.0 / n));
            println!(
                "{:>7}  {:>12}  {:>12}  {:>22}  {:>22}",
                r.n,
                secs(d.wall),
                secs(k.wall),
                format!(
                    "{:.1} -> {:.1} ms",
                    d.children_cpu * 1000.0 / n,
                    k.children_cpu * 1000.0 / n
                ),
                format!("{} -> {} ms", cpu(d.sshd_cpu), cpu(k.sshd_cpu)),
            );
        }
    }
    println!("\none dead server (s0) among them: wall time, servers read, exit code");
    println!(
        "{:>7}  {:>40}  {:>40}",
        "servers",
        format!("socket never answers (--timeout {DEAD_TIMEOUT})"),
        "sshd port refuses (retried, 5 tries/20 s)"
    );
    for r in rows {
        let show = |m: &Option<Measured>| {
            m.as_ref().map_or("-".into(), |m| {
                format!(
                    "{}, {}/{} read, exit {}",
                    secs(m.wall),
                    m.servers_ok,
                    r.n,
                    m.code
                )
            })
        };
        println!(
            "{:>7}  {:>40}  {:>40}",
            r.n,
            show(&r.silent),
            show(&r.refused)
        );
    }
    if let Some(r) = rows.last() {
        for (what, m) in [("socket", &r.silent), ("refused", &r.refused)] {
            if let Some(m) = m {
                println!("  s0's error ({what}): {}", m.dead_error);
            }
        }
    }
    println!(
        "\n(wall time of the whole `berth plan` process, start to exit; berth CPU is its own user+sys, \
         ssh clients the `ssh` processes it started and reaped; machine busy CPU during the median cold run of the largest size: {})",
        rows.last()
            .filter(|r| !r.cold.is_empty())
            .map_or("?".into(), |r| format!(
                "{:.1} s",
                median(&r.cold).machine_cpu
            ))
    );
}

/// ` (415/500 read)` when a run did not read every server.
fn read_note(m: &Measured, n: usize) -> String {
    if m.servers_ok == n {
        String::new()
    } else {
        format!(" ({}/{n} read)", m.servers_ok)
    }
}

fn median(runs: &[Measured]) -> &Measured {
    let mut sorted: Vec<&Measured> = runs.iter().collect();
    sorted.sort_by_key(|m| m.wall);
    sorted[sorted.len() / 2]
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// One berth run, measured.
struct Measured {
    wall: Duration,
    code: i32,
    /// berth's own user+sys, seconds.
    own_cpu: f64,
    /// user+sys of the children berth waited for (the `ssh` clients).
    children_cpu: f64,
    /// sshd's CPU for the run (its connections' processes, once they
    /// ended): set by `settle_sshd`.
    sshd_cpu: Option<f64>,
    /// sshd's pid and its CPU before the run.
    sshd_before: Option<(i32, f64)>,
    /// The bench process's CPU during the run: the simulator.
    sim_cpu: f64,
    /// Every CPU of the machine, busy, during the run (others' jobs too).
    machine_cpu: f64,
    /// Peak RSS of berth (and of the children it reaped, far smaller), KiB.
    maxrss_kib: i64,
    /// `ssh` processes of this run still running once berth had exited.
    ssh_left: usize,
    /// Requests the simulator answered.
    requests: usize,
    servers_ok: usize,
    /// The first server in error, with its error.
    dead_error: String,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

impl Measured {
    /// Panics unless `ok` of `n` servers were read and `errors` were not,
    /// the plan has no changes and the exit code says so.
    /// What is wrong with a run that should have read all `n` servers
    /// with no changes: `None` when nothing is. Printed after the tables
    /// (and the bench then fails), so a run that reads only some servers
    /// still shows its figures.
    fn problem(&self, n: usize) -> Option<String> {
        let json: serde_json::Value = serde_json::from_str(&self.stdout).ok()?;
        let servers = json["servers"].as_array().cloned().unwrap_or_default();
        let mut errors: std::collections::BTreeMap<String, usize> = Default::default();
        for s in servers.iter().filter(|s| s["status"] != "ok") {
            let e = s["error"].as_str().unwrap_or("?");
            // The same error on many servers once, with how many.
            let e: String = e
                .split_whitespace()
                .map(|w| {
                    if w.contains(".sock") || w.contains("127.0.0.1:") {
                        "…"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            *errors.entry(e).or_default() += 1;
        }
        let changes = json["changes"].as_array().map_or(0, Vec::len);
        (self.servers_ok != n || changes != 0 || self.code != 0).then(|| {
            format!(
                "$ berth {}: exit {}, {}/{n} servers read, {changes} changes; errors: {errors:?}",
                self.args.join(" "),
                self.code,
                self.servers_ok
            )
        })
    }

    fn expect_read(&self, n: usize, ok: usize, errors: usize) {
        let show = || {
            format!(
                "$ berth {}\nexit {}\n--- stderr ---\n{}\n--- stdout (head) ---\n{}",
                self.args.join(" "),
                self.code,
                self.stderr,
                self.stdout.chars().take(4000).collect::<String>()
            )
        };
        let json: serde_json::Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", show()));
        let servers = json["servers"].as_array().cloned().unwrap_or_default();
        assert_eq!(servers.len(), n, "{}", show());
        let read = servers.iter().filter(|s| s["status"] == "ok").count();
        assert_eq!(read, ok, "servers read\n{}", show());
        assert_eq!(
            servers.iter().filter(|s| s["status"] == "error").count(),
            errors,
            "{}",
            show()
        );
        assert!(
            json["changes"].as_array().is_some_and(|c| c.is_empty()),
            "the steady-state plan has changes\n{}",
            show()
        );
        assert_eq!(self.code, if errors == 0 { 0 } else { 1 }, "{}", show());
    }
}

/// A fresh `TMPDIR` and `XDG_RUNTIME_DIR` for berth runs: no SSH
/// connection of an earlier run can be found there, so a run in a new one
/// is cold.
struct RunEnv {
    dir: tempfile::TempDir,
}

impl RunEnv {
    fn new() -> RunEnv {
        let dir = tempfile::Builder::new()
            .prefix("fsr-")
            .tempdir()
            .expect("run dir");
        for d in ["tmp", "run"] {
            let path = dir.path().join(d);
            std::fs::create_dir_all(&path).expect("mkdir");
            // berth keeps its SSH masters under $XDG_RUNTIME_DIR/berth/ssh
            // and refuses a directory others may enter.
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .expect("chmod 700");
        }
        RunEnv { dir }
    }

    /// Stops the `ssh` processes berth left running from this environment
    /// (kept connections), by their pids, and says how many there were.
    fn finish(self) -> usize {
        let pids = processes_mentioning(&self.dir.path().display().to_string());
        for &pid in &pids {
            // SAFETY: a plain kill(2) of a pid just read from /proc.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        pids.len()
    }
}

/// `ssh` processes whose command line mentions `text`.
fn processes_mentioning(text: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            comm.trim() == "ssh" && String::from_utf8_lossy(&cmdline).contains(text)
        })
        .collect()
}

/// sshd's CPU for `m`'s run, once every connection process of sshd has
/// ended (at most 30 s after the masters were stopped).
fn settle_sshd(m: &mut Measured) {
    let Some((pid, before)) = m.sshd_before else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while children_of(pid) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    m.sshd_cpu = (children_of(pid) == 0).then(|| children_cpu(pid).unwrap_or(0.0) - before);
}

/// The plan with one dead server, `s0`: its socket never answering, then
/// its sshd port refusing.
fn dead_server(
    p: &Project,
    plan: &[String],
    servers: &[String],
    sshd: &Sshd,
    simulator: &Simulator,
    silent: &Path,
    n: usize,
) -> (Option<Measured>, Option<Measured>) {
    // One dead server: its socket never answers.
    let mut dead = servers.to_vec();
    dead[0] = ssh_server(sshd, sshd.port, silent);
    p.write("berth.toml", &config(&dead));
    let mut args = plan.to_vec();
    args.extend(["--timeout".into(), DEAD_TIMEOUT.into()]);
    let env = RunEnv::new();
    let silent_run = measure(&args, p.path(), &env, simulator, None);
    silent_run.expect_read(n, n - 1, 1);
    env.finish();

    // One dead server: its sshd refuses the connection.
    let mut refused = servers.to_vec();
    refused[0] = ssh_server(sshd, free_port(), simulator.socket(0));
    p.write("berth.toml", &config(&refused));
    let env = RunEnv::new();
    let refused_run = measure(plan, p.path(), &env, simulator, None);
    refused_run.expect_read(n, n - 1, 1);
    env.finish();

    (Some(silent_run), Some(refused_run))
}

/// The pid of the listening sshd (its PidFile).
fn sshd_pid_of(sshd: &Sshd) -> Option<i32> {
    std::fs::read_to_string(sshd.dir().join("sshd.pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
}

/// The berth binary timed: this build's, or `BERTH_BENCH_BIN`.
fn berth_bin() -> PathBuf {
    std::env::var_os("BERTH_BENCH_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_berth")), PathBuf::from)
}

/// Does this berth keep SSH connections for the next run? (`BERTH_BENCH_WARM=0|1`
/// decides; else its `plan --help` says so.)
fn warm_supported() -> bool {
    if let Ok(v) = std::env::var("BERTH_BENCH_WARM") {
        return v == "1";
    }
    let help = Command::new(berth_bin())
        .args(["plan", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_lowercase())
        .unwrap_or_default();
    help.contains("persist")
}

/// Runs berth with `args` in `cwd` and measures it.
fn measure(
    args: &[String],
    cwd: &Path,
    env: &RunEnv,
    simulator: &Simulator,
    sshd_pid: Option<i32>,
) -> Measured {
    let out_path = env.dir.path().join("stdout");
    let err_path = env.dir.path().join("stderr");
    let requests = simulator.requests();
    let sshd_before = sshd_pid.map(|p| children_cpu(p).unwrap_or(0.0));
    let sim_before = self_cpu();
    let machine_before = machine_busy();
    let started = Instant::now();
    let child = Command::new(berth_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("TMPDIR", env.dir.path().join("tmp"))
        .env("XDG_RUNTIME_DIR", env.dir.path().join("run"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start berth");
    let pid = child.id() as libc::pid_t;
    drop(child);
    // Wait for it to exit but leave it a zombie, so that its /proc/PID/stat
    // still tells its own CPU apart from its children's.
    // SAFETY: waitid on our own child with a zeroed siginfo_t it fills in.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
        assert_eq!(r, 0, "waitid: {}", std::io::Error::last_os_error());
    }
    let wall = started.elapsed();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ticks = clock_ticks();
    // Fields after the command's closing parenthesis start at field 3
    // (state): utime is 14, stime 15, cutime 16, cstime 17.
    let fields: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let field = |n: usize| fields.get(n - 3).copied().unwrap_or(0.0) / ticks;
    let (own_cpu, children) = (field(14) + field(15), field(16) + field(17));
    let mut status = 0;
    // SAFETY: wait4 on our own child with a zeroed rusage it fills in.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let r = libc::wait4(pid, &mut status, 0, &mut usage);
        assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
        usage
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    let ssh_left = processes_mentioning(&env.dir.path().display().to_string()).len();
    let sim_cpu = self_cpu() - sim_before;
    let machine_cpu = machine_busy() - machine_before;
    let requests = simulator.requests() - requests;
    // sshd's share is known once its connection processes have ended:
    // after `RunEnv::finish` stops the masters kept for the next run
    // (`settle_sshd`).
    let sshd_cpu = match (sshd_pid, sshd_before) {
        (Some(p), Some(before)) => Some((p, before)),
        _ => None,
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let (servers_ok, dead_error) = serde_json::from_str::<serde_json::Value>(&stdout)
        .ok()
        .map(|j| {
            let servers = j["servers"].as_array().cloned().unwrap_or_default();
            let ok = servers.iter().filter(|s| s["status"] == "ok").count();
            let err = servers
                .iter()
                .find(|s| s["status"] == "error")
                .map(|s| {
                    format!(
                        "{}: {}",
                        s["name"].as_str().unwrap_or("?"),
                        s["error"].as_str().unwrap_or("?")
                    )
                })
                .unwrap_or_default();
            (ok, err)
        })
        .unwrap_or_default();
    Measured {
        wall,
        code,
        own_cpu,
        children_cpu: children,
        sshd_cpu: None,
        sshd_before: sshd_cpu,
        sim_cpu,
        machine_cpu,
        maxrss_kib: usage.ru_maxrss,
        ssh_left,
        requests,
        servers_ok,
        dead_error,
        stdout,
        stderr,
        args: args.to_vec(),
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// user+sys of `pid` and of the children it reaped (sshd's connections).
fn children_cpu(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<f64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let ticks = clock_ticks();
    Some(
        (11..=14)
            .map(|i| fields.get(i).copied().unwrap_or(0.0))
            .sum::<f64>()
            / ticks,
    )
}

/// How many processes `pid` is the parent of.
fn children_of(pid: i32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<i32>()
                        .ok()
                })
                == Some(pid)
        })
        .count()
}

/// This process's user+sys, seconds (the simulator's threads).
fn self_cpu() -> f64 {
    // SAFETY: getrusage fills in a zeroed rusage.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// CPU-seconds every CPU of the machine spent busy so far (`/proc/stat`).
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal
    [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| f.get(i).copied().unwrap_or(0.0))
        .sum::<f64>()
        / clock_ticks()
}

/// Raises the open-files limit to the hard limit; returns the new limit.
fn raise_nofile() -> u64 {
    // SAFETY: get/setrlimit on a zeroed rlimit.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

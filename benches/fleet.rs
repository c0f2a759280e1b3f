//! Fleet benchmark (issue 5): `berth plan --format json` against 1, 2, 4
//! and 8 servers, each a real second `dockerd` (its own network namespace)
//! with 10 destinations and 3 containers, a counting proxy in front of each
//! to count the Docker API requests per server. Two transports: `unix://`
//! straight to the proxy, and `ssh://` through one loopback sshd whose
//! `docker_socket` is the proxy.
//!
//! Not a timed test: it prints a table and never fails on time.
//!
//! ```sh
//! cargo bench --bench fleet                    # release build of berth
//! BERTH_BENCH_RUNS=10 cargo bench --bench fleet
//! BERTH_BENCH_SSH=0 cargo bench --bench fleet  # unix:// only
//! ```
//!
//! Needs root, `dockerd`, `nsenter`, `ip`, `sshd`, `ssh-keygen` (as the
//! integration tests do). Every daemon, proxy and sshd is stopped and
//! removed at the end, or when a step panics.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::daemon::SecondDaemon;
use common::sshd::Sshd;
use common::{CountingProxy, Project, TEST_IMAGE, berth_raw, ensure_image};

const SERVER_COUNTS: [usize; 4] = [1, 2, 4, 8];
const DESTINATIONS: usize = 10;
const CONTAINERS: usize = 3;

/// One benchmark server: a daemon, its counting proxy, its containers.
struct Server {
    /// Kept running until the benchmark ends (stopped on drop).
    _daemon: SecondDaemon,
    proxy: CountingProxy,
    proxy_socket: PathBuf,
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Unix,
    Ssh,
}

fn main() {
    let runs: usize = std::env::var("BERTH_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let with_ssh = std::env::var("BERTH_BENCH_SSH").map_or(true, |v| v != "0");
    let max = SERVER_COUNTS[SERVER_COUNTS.len() - 1];

    println!("machine: {}", common::machine());
    ensure_image();
    eprintln!("starting {max} dockerd instances ...");
    let started = Instant::now();
    let servers = start_servers(max);
    eprintln!("  ready in {:.1?}", started.elapsed());
    let sshd = with_ssh.then(Sshd::start);

    // Bring every server to its steady state once (networks created,
    // containers connected), so that each timed plan has no changes but
    // reads everything, aliases included.
    let setup = Project::new();
    setup.write("berth.toml", &config(&servers, max, Transport::Unix, None));
    let run = berth_raw(
        &[
            "apply".into(),
            "--dir".into(),
            setup.path().display().to_string(),
            "--yes".into(),
        ],
        setup.path(),
    );
    assert_eq!(run.code, 0, "setup apply failed\n{run}");

    let mut transports = vec![Transport::Unix];
    if with_ssh {
        transports.push(Transport::Ssh);
    }
    for transport in transports {
        let label = match transport {
            Transport::Unix => "unix:// (counting proxy -> dockerd)",
            Transport::Ssh => "ssh:// (loopback sshd -> counting proxy -> dockerd)",
        };
        println!("\nberth plan --format json, {runs} runs per row, transport {label}");
        println!(
            "{:>20}  {:>10}  {:>10}  {:>10}  {:>11}  {:>22}",
            "servers", "median", "min", "max", "vs 1 server", "API calls per server"
        );
        let mut one_server_median = None;
        // The last row reads the most servers one at a time: the baseline
        // that concurrency is measured against.
        let rows = SERVER_COUNTS
            .iter()
            .map(|&n| (n, None))
            .chain([(max, Some(1))]);
        for (n, parallelism) in rows {
            let p = Project::new();
            p.write("berth.toml", &config(&servers, n, transport, sshd.as_ref()));
            let mut args = vec![
                "plan".to_string(),
                "--dir".into(),
                p.path().display().to_string(),
                "--format".into(),
                "json".into(),
            ];
            if let Some(k) = parallelism {
                args.extend(["--parallelism".into(), k.to_string()]);
            }
            // Warm-up (page cache, first SSH handshake), not measured.
            let warm = berth_raw(&args, p.path());
            assert_eq!(warm.code, 0, "plan failed\n{warm}");
            assert!(
                warm.json()["changes"]
                    .as_array()
                    .is_some_and(|c| c.is_empty()),
                "the steady-state plan has changes\n{warm}"
            );

            let mut times = Vec::with_capacity(runs);
            let mut calls: Vec<usize> = Vec::new();
            for _ in 0..runs {
                for s in &servers {
                    s.proxy.reset();
                }
                let t = Instant::now();
                let run = berth_raw(&args, p.path());
                times.push(t.elapsed());
                assert_eq!(run.code, 0, "plan failed\n{run}");
                calls.extend(servers[..n].iter().map(|s| s.proxy.count()));
            }
            times.sort();
            let median = times[times.len() / 2];
            let base = *one_server_median.get_or_insert(median);
            let (lo, hi) = (
                calls.iter().min().copied().unwrap_or(0),
                calls.iter().max().copied().unwrap_or(0),
            );
            let calls = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            };
            let row = match parallelism {
                Some(k) => format!("{n} (--parallelism {k})"),
                None => n.to_string(),
            };
            println!(
                "{row:>20}  {:>10}  {:>10}  {:>10}  {:>10.2}x  {calls:>22}",
                ms(median),
                ms(times[0]),
                ms(times[times.len() - 1]),
                median.as_secs_f64() / base.as_secs_f64(),
            );
        }
        if let Some(s) = servers.first() {
            s.proxy.reset();
            let p = Project::new();
            p.write("berth.toml", &config(&servers, 1, transport, sshd.as_ref()));
            let run = berth_raw(
                &[
                    "plan".into(),
                    "--dir".into(),
                    p.path().display().to_string(),
                    "--format".into(),
                    "json".into(),
                ],
                p.path(),
            );
            assert_eq!(run.code, 0, "{run}");
            println!(
                "  requests of one server: {}",
                s.proxy.requests().join(", ")
            );
        }
    }
    println!(
        "\n({DESTINATIONS} destinations and {CONTAINERS} connected containers per server; \
         wall time of the whole `berth plan` process, start to exit)"
    );
    eprintln!("stopping daemons ...");
    drop(sshd);
    drop(servers);
}

/// Starts `n` daemons in parallel, each with the test image and
/// `CONTAINERS` running containers, and a counting proxy in front.
fn start_servers(n: usize) -> Vec<Server> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                scope.spawn(|| {
                    let daemon = SecondDaemon::start();
                    daemon.load_image(TEST_IMAGE);
                    for c in 0..CONTAINERS {
                        daemon.docker_ok(&[
                            "run",
                            "-d",
                            "--name",
                            &format!("app{c}"),
                            TEST_IMAGE,
                            "sleep",
                            "3600",
                        ]);
                    }
                    let (proxy_socket, proxy) = CountingProxy::start(&daemon.socket);
                    Server {
                        _daemon: daemon,
                        proxy,
                        proxy_socket,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a daemon failed to start"))
            .collect()
    })
}

/// A config over the first `n` servers: 10 destinations each, and an
/// application per container on one of them.
fn config(servers: &[Server], n: usize, transport: Transport, sshd: Option<&Sshd>) -> String {
    let mut s = String::from("[settings]\nowner = \"berth-bench\"\n");
    for (i, server) in servers[..n].iter().enumerate() {
        match (transport, sshd) {
            (Transport::Ssh, Some(sshd)) => {
                s += &format!(
                    "\n[[server]]\nname = \"s{i}\"\naddress = \"{}\"\ndocker_socket = \"{}\"\nidentity_file = \"{}\"\nknown_hosts_file = \"{}\"\n",
                    sshd.address(),
                    server.proxy_socket.display(),
                    sshd.client_key().display(),
                    sshd.known_hosts().display()
                );
            }
            _ => {
                s += &format!(
                    "\n[[server]]\nname = \"s{i}\"\naddress = \"unix://{}\"\n",
                    server.proxy_socket.display()
                );
            }
        }
        for d in 0..DESTINATIONS {
            s += &format!(
                "\n[[destination]]\nname = \"s{i}-d{d}\"\nserver = \"s{i}\"\nnetwork = \"bench-net-{d}\"\n"
            );
        }
        for c in 0..CONTAINERS {
            s += &format!(
                "\n[[application]]\nname = \"s{i}-app{c}\"\ndestination = \"s{i}-d{c}\"\ncontainer = \"app{c}\"\naliases = [\"app{c}\"]\n"
            );
        }
    }
    s
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

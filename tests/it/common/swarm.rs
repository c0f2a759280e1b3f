//! A three-node Docker Swarm on this machine: a manager and two workers,
//! each a [`SecondDaemon`] in a network namespace of its own, joined by a
//! Linux bridge in one more namespace.
//!
//! ```text
//!   <id>-br:   br0 ── p0 ┬ p1 ┬ p2          (no address: a switch)
//!                        │    │    │  veth pairs
//!   <id>-n0:  eth0 192.0.2.10   manager   (hostname "manager")
//!   <id>-n1:  eth0 192.0.2.11   worker    (hostname "worker1")
//!   <id>-n2:  eth0 192.0.2.12   worker    (hostname "worker2")
//! ```
//!
//! 192.0.2.0/24 (TEST-NET-1) exists only inside these namespaces: no
//! namespace has a route out, nothing is routed to or from the host, so
//! several swarms can run at once with the same addresses. Swarm's control
//! plane (TCP 2377), gossip (7946) and overlay data (VXLAN, UDP 4789) flow
//! over the bridge; overlay subnets come from Docker's default pool
//! (10.0.0.0/8), inside the namespaces too.
//!
//! What it takes here: the kernel's VXLAN and bridge support (built in);
//! `dockerd --iptables=false` as for any second daemon: overlays work
//! without iptables, service VIPs and the ingress mesh do not (they need
//! IPVS, which this kernel lacks), so services use `--endpoint-mode
//! dnsrr` and are reached by name or task address. Each daemon has a UTS
//! namespace of its own so the nodes have distinct host names.
//!
//! Dropping the swarm kills every container, stops the three daemons at
//! once, deletes their directories, then the namespaces (and with them the
//! veths and the bridge).

use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::daemon::{Options, SecondDaemon};
use super::{TEST_IMAGE, ensure_image, unique};

/// The manager's address; worker `i` (from 1) has `.10 + i`.
pub const MANAGER_ADDRESS: &str = "192.0.2.10";
const PREFIX: &str = "192.0.2";

pub struct Swarm {
    pub manager: SecondDaemon,
    pub workers: Vec<SecondDaemon>,
    fabric: Fabric,
    /// How long `start` took.
    pub started_in: Duration,
    /// One swarm at a time per test process: three daemons each are load
    /// enough on a small machine shared with other tests.
    _turn: MutexGuard<'static, ()>,
}

static TURN: Mutex<()> = Mutex::new(());

impl Swarm {
    /// Starts the three daemons, forms the swarm, waits until the manager
    /// lists three Ready nodes, and loads the test image into each node.
    pub fn start() -> Swarm {
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let began = Instant::now();
        ensure_image();
        let fabric = Fabric::new(&unique("sw"), 3);
        let hostnames = ["manager", "worker1", "worker2"];
        let mut daemons: Vec<SecondDaemon> = std::thread::scope(|scope| {
            let started: Vec<_> = hostnames
                .iter()
                .enumerate()
                .map(|(i, hostname)| {
                    let options = Options {
                        netns: Some(fabric.node(i)),
                        hostname: Some(hostname.to_string()),
                        args: Vec::new(),
                    };
                    scope.spawn(move || SecondDaemon::start_with(options))
                })
                .collect();
            started
                .into_iter()
                .map(|h| h.join().expect("a swarm node's dockerd did not start"))
                .collect()
        });
        let workers = daemons.split_off(1);
        let manager = daemons.pop().expect("the manager");
        let swarm = Swarm {
            manager,
            workers,
            fabric,
            started_in: Duration::ZERO,
            _turn: turn,
        };
        swarm.form();
        std::thread::scope(|scope| {
            for node in swarm.nodes() {
                scope.spawn(move || node.load_image(TEST_IMAGE));
            }
        });
        let mut swarm = swarm;
        swarm.started_in = began.elapsed();
        swarm
    }

    fn form(&self) {
        self.manager
            .docker_ok(&["swarm", "init", "--advertise-addr", MANAGER_ADDRESS]);
        let token = self
            .manager
            .docker_ok(&["swarm", "join-token", "--quiet", "worker"]);
        let manager = format!("{MANAGER_ADDRESS}:2377");
        std::thread::scope(|scope| {
            for (i, worker) in self.workers.iter().enumerate() {
                let (token, manager) = (&token, &manager);
                scope.spawn(move || {
                    let address = address(i + 1);
                    worker.docker_ok(&[
                        "swarm",
                        "join",
                        "--advertise-addr",
                        &address,
                        "--token",
                        token,
                        manager,
                    ]);
                });
            }
        });
        self.wait_for("3 Ready nodes", Duration::from_secs(60), || {
            let nodes = self
                .manager
                .docker(&["node", "ls", "--format", "{{.Status}}"]);
            String::from_utf8_lossy(&nodes.stdout)
                .lines()
                .filter(|s| s.trim() == "Ready")
                .count()
                == 3
        });
    }

    /// The manager, then the workers.
    pub fn nodes(&self) -> impl Iterator<Item = &SecondDaemon> {
        std::iter::once(&self.manager).chain(&self.workers)
    }

    /// `docker -H <manager> ARGS`, which must succeed; trimmed stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        self.manager.docker_ok(args)
    }

    /// Polls `done` every 200 ms until it holds; panics after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "swarm: no {what} within {limit:?}; nodes:\n{}\nservices:\n{}",
                String::from_utf8_lossy(&self.manager.docker(&["node", "ls"]).stdout),
                String::from_utf8_lossy(&self.manager.docker(&["service", "ls"]).stdout),
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (at most 90 s) until `service` has `replicas` tasks running.
    pub fn wait_running(&self, service: &str, replicas: usize) {
        self.wait_for(
            &format!("{replicas} running tasks of {service}"),
            Duration::from_secs(90),
            || self.running_tasks(service).len() == replicas,
        );
    }

    /// The tasks of `service` that run now: `(task id, node host name)`.
    pub fn running_tasks(&self, service: &str) -> Vec<(String, String)> {
        let out = self.manager.docker(&[
            "service",
            "ps",
            "--no-trunc",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.ID}} {{.Node}} {{.CurrentState}}",
            service,
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let (id, node, state) = (words.next()?, words.next()?, words.next()?);
                (state == "Running").then(|| (id.to_string(), node.to_string()))
            })
            .collect()
    }

    /// A task's addresses on `network` (`10.0.1.3`, without the prefix).
    pub fn task_addresses(&self, task: &str, network: &str) -> Vec<String> {
        let format = format!(
            "{{{{range .NetworksAttachments}}}}{{{{if eq .Network.Spec.Name \"{network}\"}}}}{{{{range .Addresses}}}}{{{{.}}}} {{{{end}}}}{{{{end}}}}{{{{end}}}}"
        );
        self.docker_ok(&["inspect", "--type", "task", "--format", &format, task])
            .split_whitespace()
            .filter_map(|a| a.split('/').next().map(str::to_string))
            .collect()
    }

    /// The names of its network namespaces and the daemons' directories and
    /// pids: what dropping it must leave nothing of.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            namespaces: self.fabric.namespaces(),
            dirs: self.nodes().map(|d| d.dir().to_path_buf()).collect(),
            pids: self.nodes().map(SecondDaemon::pid).collect(),
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        // Every container first, then the daemons at once: a swarm daemon
        // takes 2-3 s to shut down, and in that time nothing reschedules
        // (a task's restart waits 5 s).
        for node in self.nodes() {
            node.kill_containers();
        }
        std::thread::scope(|scope| {
            for node in std::iter::once(&mut self.manager).chain(&mut self.workers) {
                scope.spawn(move || node.stop());
            }
        });
        // The fields drop after this (stopped daemons do nothing more), and
        // with `fabric` the namespaces, veths and bridge go.
    }
}

/// What a swarm occupies on the machine.
#[derive(Debug)]
pub struct Footprint {
    pub namespaces: Vec<String>,
    pub dirs: Vec<std::path::PathBuf>,
    pub pids: Vec<u32>,
}

impl Footprint {
    /// What of it is still there (empty when nothing is).
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        let listed = output(&["ip", "netns", "list"]);
        for ns in &self.namespaces {
            if listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns))
            {
                left.push(format!("network namespace {ns}"));
            }
        }
        let mounts = output(&["findmnt", "-rn", "-o", "TARGET"]);
        for dir in &self.dirs {
            if dir.exists() {
                left.push(format!("directory {}", dir.display()));
            }
            let prefix = dir.display().to_string();
            for m in mounts.lines().filter(|m| m.starts_with(&prefix)) {
                left.push(format!("mount {m}"));
            }
            let procs = output(&["pgrep", "-af", &prefix]);
            for p in procs.lines().filter(|p| !p.contains("pgrep")) {
                left.push(format!("process {p}"));
            }
        }
        for pid in &self.pids {
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                left.push(format!("dockerd pid {pid}"));
            }
        }
        left
    }
}

fn output(args: &[&str]) -> String {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn address(node: usize) -> String {
    format!("{PREFIX}.{}", 10 + node)
}

/// The namespaces and links: a bridge namespace and one per node.
struct Fabric {
    id: String,
    nodes: usize,
}

impl Fabric {
    /// Creates them; deletes what it made if a step fails.
    fn new(id: &str, nodes: usize) -> Fabric {
        let mut fabric = Fabric {
            id: id.to_string(),
            nodes: 0,
        };
        let bridge = fabric.bridge();
        ip(&["netns", "add", &bridge]);
        ip(&["-n", &bridge, "link", "set", "lo", "up"]);
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        for i in 0..nodes {
            let ns = fabric.node(i);
            ip(&["netns", "add", &ns]);
            fabric.nodes = i + 1;
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            // Made in the bridge's namespace, its peer in the node's: no
            // interface ever appears in the host's namespace.
            let port = format!("p{i}");
            ip(&[
                "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            let cidr = format!("{}/24", address(i));
            ip(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        }
        fabric
    }

    fn bridge(&self) -> String {
        format!("{}-br", self.id)
    }

    fn node(&self, i: usize) -> String {
        format!("{}-n{i}", self.id)
    }

    fn namespaces(&self) -> Vec<String> {
        std::iter::once(self.bridge())
            .chain((0..self.nodes).map(|i| self.node(i)))
            .collect()
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        for ns in self.namespaces() {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

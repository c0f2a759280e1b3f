//! Watch soak: `berth watch` (release build) against a second engine for
//! `--minutes` (default 10) while containers are redeployed the way Coolify
//! does (removed, then created and started with the same labels and a new
//! `<uuid>-<timestamp>` name), detached by hand, and destination networks
//! removed (their containers detached first, in one burst); the engine is
//! killed and started again half-way. Then the same server over SSH (a
//! loopback sshd) for `--ssh-minutes` (default 2), its ssh master killed
//! three times, each cut followed at once by a hand detach.
//!
//! Heal latency is read from the engine's own event timestamps: from the
//! disruption's event (the new container's `start`, the `disconnect`, the
//! network's `destroy`) to the last `connect` that puts things back. A
//! disruption not healed within 10 s is a miss. Reconnect time: from the
//! engine answering again (`docker info`) to watch's `connected` line
//! (written after its full sync). Watch's RSS and open fds are sampled
//! every 500 ms from /proc.
//!
//! Not a timed test: it prints a table and never fails on a figure.
//!
//! ```sh
//! cargo bench --bench watch_soak -- --minutes 10 --ssh-minutes 2
//! ```
//!
//! Needs root, `dockerd`, `nsenter`, `ip`, `sshd`, `ssh-keygen` (as the
//! integration tests do); everything runs on an engine of the bench's own,
//! stopped at the end.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::daemon::SecondDaemon;
use common::sshd::Sshd;
use common::{Project, TEST_IMAGE, ensure_image, unique};

const APPS: usize = 40;
const DESTINATIONS: usize = 5;
/// A disruption not healed within this is a miss.
const MISS_AFTER: Duration = Duration::from_secs(10);
/// A detach made right after the ssh master was killed: its heal is
/// measured from the kill.
const CUT: &str = "detach after a cut";

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as i64
}

/// A Docker event, as `docker events --format '{{json .}}'` gives it.
#[derive(Debug, Clone)]
struct Ev {
    t: i64,
    kind: String,
    action: String,
    id: String,
    /// `Actor.Attributes.name` (a network's name, a container's name).
    name: String,
    /// `Actor.Attributes.container` (network connect/disconnect).
    container: String,
}

/// Follows the engine's events for as long as the bench runs, starting a
/// new `docker events --since <last>` whenever the stream ends (the
/// engine restarted).
fn follow_events(address: String, stop: Arc<AtomicBool>) -> Arc<Mutex<Vec<Ev>>> {
    let events = Arc::new(Mutex::new(Vec::<Ev>::new()));
    let out = events.clone();
    std::thread::spawn(move || {
        let mut since = now_ns();
        while !stop.load(Ordering::Relaxed) {
            let child = Command::new("docker")
                .args(["-H", &address, "events", "--format", "{{json .}}"])
                .args(["--filter", "type=container", "--filter", "type=network"])
                .args([
                    "--since",
                    &format!("{}.{:09}", since / 1_000_000_000, since % 1_000_000_000),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn();
            let Ok(mut child) = child else {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            };
            let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
            for line in lines.map_while(Result::ok) {
                let Ok(e) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                let attr = |k: &str| {
                    e["Actor"]["Attributes"][k]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                };
                let ev = Ev {
                    t: e["timeNano"].as_i64().unwrap_or(0),
                    kind: e["Type"].as_str().unwrap_or_default().to_string(),
                    action: e["Action"].as_str().unwrap_or_default().to_string(),
                    id: e["Actor"]["ID"].as_str().unwrap_or_default().to_string(),
                    name: attr("name"),
                    container: attr("container"),
                };
                since = since.max(ev.t + 1);
                let mut all = out.lock().expect("events");
                // `--since` replays: keep each event once.
                if !all
                    .iter()
                    .rev()
                    .take(64)
                    .any(|x| x.t == ev.t && x.action == ev.action && x.id == ev.id)
                {
                    all.push(ev);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    events
}

/// One request to the engine's API over its unix socket (fast enough to
/// detach a network's containers and remove it before watch's 100 ms
/// settle): the status and the body.
fn api(socket: &Path, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return (0, String::new());
    };
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = match (answer.find("\r\n\r\n"), answer.rfind('}')) {
        (Some(head), Some(end)) => answer[head..=end]
            .find('{')
            .map(|at| answer[head + at..=end].to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    (status, json)
}

/// A Coolify-style container of app `i`: created with its labels and a
/// new `<uuid>-<timestamp>` name, started. Its id.
fn deploy(socket: &Path, uuid: &str, i: usize) -> Option<String> {
    let name = format!(
        "{uuid}-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis()
    );
    let (status, body) = api(
        socket,
        "POST",
        &format!("/containers/create?name={name}"),
        Some(&serde_json::json!({
            "Image": TEST_IMAGE,
            "Cmd": ["sleep", "86400"],
            "Labels": {
                "coolify.managed": "true",
                "coolify.applicationId": i.to_string(),
                "coolify.type": "application",
            },
            "HostConfig": { "RestartPolicy": { "Name": "unless-stopped" } },
        })),
    );
    if status != 201 {
        eprintln!("create {name}: {status} {body}");
        return None;
    }
    let id = serde_json::from_str::<serde_json::Value>(&body).ok()?["Id"]
        .as_str()?
        .to_string();
    let (status, body) = api(socket, "POST", &format!("/containers/{id}/start"), None);
    if status != 204 && status != 304 {
        eprintln!("start {name}: {status} {body}");
    }
    Some(id)
}

fn destination_of(i: usize) -> usize {
    i % DESTINATIONS
}

/// A disruption the bench made, and what heals it.
struct Expect {
    what: &'static str,
    /// Wall clock just before the bench acted (ns).
    t0: i64,
    at: Instant,
    /// The kind/action of the event the latency is measured from, with
    /// its actor (a container id, or a network name).
    from: (&'static str, &'static str, String),
    /// (container id, network) attachments that must come back.
    pairs: Vec<(String, String)>,
    apps: Vec<usize>,
    /// Measure from here instead (the SSH cut: the kill of the master).
    from_override: Option<i64>,
    /// The events before this index came before the disruption.
    index: usize,
}

#[derive(Default)]
struct Tally {
    disruptions: BTreeMap<&'static str, usize>,
    latencies: Vec<(&'static str, Duration)>,
    misses: Vec<String>,
}

impl Tally {
    /// p50 / p95 / max of every heal but those measured from a cut.
    fn summary(&self) -> String {
        let mut v: Vec<Duration> = self
            .latencies
            .iter()
            .filter(|(what, _)| *what != CUT)
            .map(|(_, d)| *d)
            .collect();
        v.sort();
        let pct = |p: f64| {
            if v.is_empty() {
                Duration::ZERO
            } else {
                v[((v.len() as f64 - 1.0) * p).round() as usize]
            }
        };
        format!(
            "{} ms / {} ms / {} ms",
            pct(0.5).as_millis(),
            pct(0.95).as_millis(),
            v.last().copied().unwrap_or_default().as_millis()
        )
    }
}

/// Tries to settle an expectation against the events: `Some(latency)`
/// when healed, `Some(None)`-like miss after 10 s (+2 s for the events to
/// arrive), `None` while pending.
fn settle(e: &Expect, events: &[Ev]) -> Option<Result<Duration, String>> {
    let events = &events[e.index.saturating_sub(64).min(events.len())..];
    let event = events
        .iter()
        .filter(|x| x.t >= e.t0 && x.kind == e.from.0 && x.action == e.from.1)
        .find(|x| match e.from.0 {
            "network" if e.from.1 == "destroy" => x.name == e.from.2,
            "network" => x.container == e.from.2,
            _ => x.id == e.from.2,
        })
        .map(|x| x.t);
    let from = e.from_override.or(event);
    let base = from.unwrap_or(e.t0);
    // What heals comes after the disruption's event; a new container may
    // be attached before its start event (counted as 0).
    let after = match (e.from.1, event) {
        ("start", _) | (_, None) => e.t0,
        (_, Some(t)) => t,
    };
    let mut last = base;
    let mut healed = true;
    for (id, net) in &e.pairs {
        match events.iter().find(|x| {
            x.t >= after
                && x.kind == "network"
                && x.action == "connect"
                && x.name == *net
                && x.container == *id
        }) {
            Some(x) => last = last.max(x.t),
            None => healed = false,
        }
    }
    let took = Duration::from_nanos((last - base).max(0) as u64);
    if healed && from.is_some() {
        if took > MISS_AFTER {
            return Some(Err(format!("{} healed after {took:?}", e.what)));
        }
        return Some(Ok(took));
    }
    if e.at.elapsed() > MISS_AFTER + Duration::from_secs(2) {
        return Some(Err(format!(
            "{} of {:?} at {} not healed within 10 s (its event seen: {}; pairs {:?})",
            e.what,
            e.apps,
            humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(e.t0 as u64)),
            from.is_some(),
            e.pairs
        )));
    }
    None
}

/// Watch's process: its JSON log lines as they arrive, its RSS and fds.
struct Watch {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, serde_json::Value)>>>,
    samples: Arc<Mutex<Vec<(u64, usize)>>>,
}

impl Watch {
    /// Starts watch on the config in `dir`; its log is copied to `log`.
    fn start(dir: &Path, env: &[(&str, &str)], log: &Path) -> Watch {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(["watch", "--log-format", "json", "--dir"])
            .arg(dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start berth watch");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = lines.clone();
        let stdout = child.stdout.take().expect("stdout");
        let mut copy = std::fs::File::create(log).expect("watch log file");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(copy, "{line}");
                if let Ok(v) = serde_json::from_str(&line) {
                    out.lock().expect("lines").push((Instant::now(), v));
                }
            }
        });
        let samples = Arc::new(Mutex::new(Vec::new()));
        let into = samples.clone();
        let pid = child.id();
        std::thread::spawn(move || {
            while let Some(s) = sample(pid) {
                into.lock().expect("samples").push(s);
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        Watch {
            child,
            lines,
            samples,
        }
    }

    /// When watch logged `event` (for `server`, if given) after `after`.
    fn wait_for(&self, event: &str, after: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some((at, _)) = self
                .lines
                .lock()
                .expect("lines")
                .iter()
                .find(|(at, v)| *at >= after && v["event"] == event)
            {
                return Some(*at);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// What watch said of its failures: `applied` not ok, `error`, `down`.
    fn failures(&self) -> Vec<String> {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|(_, v)| {
                (v["event"] == "applied" && v["ok"] == false)
                    || v["event"] == "error"
                    || v["event"] == "down"
            })
            .map(|(_, v)| v.to_string())
            .collect()
    }

    fn count(&self, pred: impl Fn(&serde_json::Value) -> bool) -> usize {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|(_, v)| pred(v))
            .count()
    }

    fn last_sample(&self) -> (u64, usize) {
        *self
            .samples
            .lock()
            .expect("samples")
            .last()
            .expect("a sample")
    }

    fn peak(&self, from: usize) -> (u64, usize) {
        let s = self.samples.lock().expect("samples");
        let rss = s[from..].iter().map(|x| x.0).max().unwrap_or(0);
        let fds = s[from..].iter().map(|x| x.1).max().unwrap_or(0);
        (rss, fds)
    }

    fn samples_len(&self) -> usize {
        self.samples.lock().expect("samples").len()
    }

    fn stop(mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code()).unwrap_or(-1)
    }
}

/// (VmRSS in KiB, open fds) of a live process.
fn sample(pid: u32) -> Option<(u64, usize)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    if status
        .lines()
        .any(|l| l.starts_with("State:") && l.contains("Z"))
    {
        return None;
    }
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

/// The apps and what the bench does to them.
struct Fleet {
    socket: PathBuf,
    events: Arc<Mutex<Vec<Ev>>>,
    uuids: Vec<String>,
    ids: Vec<String>,
    nets: Vec<String>,
    busy: Vec<bool>,
    rng: u64,
}

impl Fleet {
    fn rand(&mut self, n: usize) -> usize {
        // xorshift: the sequence is the same every run.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n as u64) as usize
    }

    /// How many events the bench has seen.
    fn seen(&self) -> usize {
        self.events.lock().expect("events").len()
    }

    fn free_app(&mut self) -> Option<usize> {
        let free: Vec<usize> = (0..APPS).filter(|i| !self.busy[*i]).collect();
        (!free.is_empty()).then(|| free[self.rand(free.len())])
    }

    fn redeploy(&mut self, i: usize) -> Option<Expect> {
        let index = self.seen();
        let t0 = now_ns();
        let at = Instant::now();
        api(
            &self.socket,
            "DELETE",
            &format!("/containers/{}?force=true", self.ids[i]),
            None,
        );
        let id = deploy(&self.socket, &self.uuids[i], i)?;
        self.ids[i] = id.clone();
        self.busy[i] = true;
        Some(Expect {
            what: "redeploy",
            t0,
            at,
            from: ("container", "start", id.clone()),
            pairs: vec![(id, self.nets[destination_of(i)].clone())],
            apps: vec![i],
            from_override: None,
            index,
        })
    }

    fn detach(&mut self, i: usize, from_override: Option<i64>) -> Expect {
        let index = self.seen();
        let t0 = now_ns();
        let at = Instant::now();
        let net = self.nets[destination_of(i)].clone();
        api(
            &self.socket,
            "POST",
            &format!("/networks/{net}/disconnect"),
            Some(&serde_json::json!({"Container": self.ids[i], "Force": true})),
        );
        self.busy[i] = true;
        Expect {
            what: "detach",
            t0,
            at,
            from: ("network", "disconnect", self.ids[i].clone()),
            pairs: vec![(self.ids[i].clone(), net)],
            apps: vec![i],
            from_override,
            index,
        }
    }

    /// Detaches every container of destination `k` and removes its
    /// network (again while watch re-attaches some first).
    fn remove_network(&mut self, k: usize) -> Expect {
        let index = self.seen();
        let t0 = now_ns();
        let at = Instant::now();
        let net = self.nets[k].clone();
        let apps: Vec<usize> = (0..APPS).filter(|i| destination_of(*i) == k).collect();
        for _ in 0..10 {
            for i in &apps {
                api(
                    &self.socket,
                    "POST",
                    &format!("/networks/{net}/disconnect"),
                    Some(&serde_json::json!({"Container": self.ids[*i], "Force": true})),
                );
            }
            let (status, _) = api(&self.socket, "DELETE", &format!("/networks/{net}"), None);
            if status == 204 || status == 404 {
                break;
            }
        }
        for i in &apps {
            self.busy[*i] = true;
        }
        Expect {
            what: "network removed",
            t0,
            at,
            from: ("network", "destroy", net.clone()),
            pairs: apps
                .iter()
                .map(|i| (self.ids[*i].clone(), net.clone()))
                .collect(),
            apps,
            from_override: None,
            index,
        }
    }

    /// Every app's container attached to its destination with its alias.
    fn all_attached(&self, d: &SecondDaemon) -> Result<(), String> {
        let out = d.docker(
            &[
                &[
                    "inspect",
                    "--format",
                    "{{.Id}} {{json .NetworkSettings.Networks}}",
                ][..],
                &self.ids.iter().map(String::as_str).collect::<Vec<_>>()[..],
            ]
            .concat(),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        for (i, id) in self.ids.iter().enumerate() {
            let Some(line) = text.lines().find(|l| l.starts_with(id.as_str())) else {
                return Err(format!("app {i}: container {id} not found"));
            };
            let nets: serde_json::Value =
                serde_json::from_str(line.split_once(' ').map(|x| x.1).unwrap_or("{}"))
                    .unwrap_or_default();
            let net = &self.nets[destination_of(i)];
            let alias = format!("app-{i}");
            let ok = nets[net]["Aliases"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == alias.as_str()));
            if !ok {
                return Err(format!("app {i} ({id}) is not on {net} as {alias}"));
            }
        }
        Ok(())
    }
}

fn config(owner: &str, server: &str, nets: &[String]) -> String {
    let mut t = format!("[settings]\nowner = \"{owner}\"\n{server}");
    for (k, net) in nets.iter().enumerate() {
        t +=
            &format!("[[destination]]\nname = \"dest-{k}\"\nserver = \"d\"\nnetwork = \"{net}\"\n");
    }
    for i in 0..APPS {
        t += &format!(
            "[[application]]\nname = \"app-{i}\"\ndestination = \"dest-{}\"\n\
             match_labels = {{ \"coolify.applicationId\" = \"{i}\" }}\naliases = [\"app-{i}\"]\n",
            destination_of(i)
        );
    }
    t
}

/// Runs disruptions for `length`, one every 0.5–1.5 s on apps not already
/// disrupted; calls `at_mark` once at each of `marks` (fractions of
/// `length`) with everything settled, and again makes disruptions after.
fn run_ops(
    fleet: &mut Fleet,
    events: &Mutex<Vec<Ev>>,
    tally: &mut Tally,
    length: Duration,
    marks: &[f64],
    mut at_mark: impl FnMut(usize, &mut Fleet, &mut Vec<Expect>),
) {
    let start = Instant::now();
    let mut pending: Vec<Expect> = Vec::new();
    let mut next = Instant::now();
    let mut mark = 0;
    loop {
        let done = start.elapsed() >= length;
        // Settle what can be settled.
        {
            let all = events.lock().expect("events");
            pending.retain(|e| match settle(e, &all) {
                None => true,
                Some(r) => {
                    for i in &e.apps {
                        fleet.busy[*i] = false;
                    }
                    match r {
                        Ok(took) => tally.latencies.push((e.what, took)),
                        Err(why) => {
                            eprintln!("MISS: {why}");
                            tally.misses.push(why);
                        }
                    }
                    false
                }
            });
        }
        if done && pending.is_empty() {
            break;
        }
        if mark < marks.len() && start.elapsed() >= length.mul_f64(marks[mark]) {
            if pending.is_empty() {
                at_mark(mark, fleet, &mut pending);
                mark += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if !done && Instant::now() >= next {
            let roll = fleet.rand(100);
            let made = if roll < 60 {
                fleet.free_app().and_then(|i| fleet.redeploy(i))
            } else if roll < 92 {
                fleet.free_app().map(|i| fleet.detach(i, None))
            } else {
                let k = fleet.rand(DESTINATIONS);
                let all_free = (0..APPS)
                    .filter(|i| destination_of(*i) == k)
                    .all(|i| !fleet.busy[i]);
                all_free.then(|| fleet.remove_network(k))
            };
            if let Some(e) = made {
                *tally.disruptions.entry(e.what).or_default() += 1;
                pending.push(e);
            }
            next = Instant::now() + Duration::from_millis(500 + fleet.rand(1000) as u64);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn main() {
    let minutes = arg("--minutes", 10.0);
    let ssh_minutes = arg("--ssh-minutes", 2.0);
    ensure_image();
    let mut d = SecondDaemon::start();
    d.load_image(TEST_IMAGE);
    let stop = Arc::new(AtomicBool::new(false));
    let events = follow_events(d.address(), stop.clone());
    let nets: Vec<String> = (0..DESTINATIONS)
        .map(|k| unique(&format!("soak-{k}")))
        .collect();
    let mut fleet = Fleet {
        socket: d.socket.clone(),
        events: events.clone(),
        uuids: (0..APPS).map(|i| unique(&format!("a{i}"))).collect(),
        ids: Vec::new(),
        nets: nets.clone(),
        busy: vec![false; APPS],
        rng: 0x9e37_79b9_7f4a_7c15,
    };
    for i in 0..APPS {
        let id = deploy(&fleet.socket, &fleet.uuids[i], i).expect("deploy");
        fleet.ids.push(id);
    }
    let load = |what: &str| {
        let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "load average {what}: {}",
            l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    };
    load("at start");

    // Part 1: the engine's unix socket, restarted half-way.
    let p = Project::new();
    let owner = unique("soak");
    p.write(
        "berth.toml",
        &config(
            &owner,
            &format!("[[server]]\nname = \"d\"\naddress = \"{}\"\n", d.address()),
            &nets,
        ),
    );
    let begun = Instant::now();
    let logs = std::env::var_os("BERTH_BENCH_LOGS")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    println!(
        "watch's logs: {}/watch-soak-{{unix,ssh}}.jsonl",
        logs.display()
    );
    let w = Watch::start(p.path(), &[], &logs.join("watch-soak-unix.jsonl"));
    w.wait_for("connected", begun, Duration::from_secs(60))
        .expect("watch connected");
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = fleet.all_attached(&d) {
        assert!(Instant::now() < deadline, "first sync: {e}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let first_sample = w.samples_len().saturating_sub(1);
    let at_start = w.last_sample();
    let mut tally = Tally::default();
    let mut reconnect = None;
    let mut restart_check = String::new();
    run_ops(
        &mut fleet,
        &events,
        &mut tally,
        Duration::from_secs_f64(minutes * 60.0),
        &[0.5],
        |_, fleet, _| {
            println!("restarting the engine (SIGKILL, then started again)");
            let killed = Instant::now();
            d.kill();
            std::thread::sleep(Duration::from_secs(2));
            d.restart();
            let answering = Instant::now();
            let connected = w.wait_for("connected", killed, Duration::from_secs(120));
            reconnect = Some(connected.map(|c| c.saturating_duration_since(answering)));
            let deadline = Instant::now() + MISS_AFTER;
            restart_check = loop {
                match fleet.all_attached(&d) {
                    Ok(()) => break "every container attached again".to_string(),
                    Err(e) if Instant::now() > deadline => {
                        break format!("MISS after the restart: {e}");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            };
            println!("after the restart: {restart_check}");
        },
    );
    let final_check = fleet.all_attached(&d);
    std::thread::sleep(Duration::from_secs(2));
    let at_end = w.last_sample();
    let peak = w.peak(first_sample);
    let docker_lines = w.count(|v| v["event"] == "docker");
    let applied = w.count(|v| v["event"] == "applied" && v["ok"] == true);
    let failed = w.count(|v| v["event"] == "applied" && v["ok"] == false);
    let downs = w.count(|v| v["event"] == "down");
    let errors = w.count(|v| v["event"] == "error");
    let failures = w.failures();
    let code = w.stop();
    let lasted = begun.elapsed();
    load("after the unix part");

    // Part 2: the same engine through a loopback sshd, the master cut.
    let sshd = Sshd::start();
    let tmpdir = tempfile::tempdir().expect("tempdir");
    let tmp = tmpdir.path().display().to_string();
    let ps = Project::new();
    ps.write(
        "berth.toml",
        &config(
            &owner,
            &format!(
                "[[server]]\nname = \"d\"\naddress = \"{}\"\ndocker_socket = \"{}\"\nidentity_file = \"{}\"\nknown_hosts_file = \"{}\"\n",
                sshd.address(),
                d.socket.display(),
                sshd.client_key().display(),
                sshd.known_hosts().display()
            ),
            &nets,
        ),
    );
    let ssh_begun = Instant::now();
    let ws = Watch::start(
        ps.path(),
        &[("TMPDIR", tmp.as_str())],
        &logs.join("watch-soak-ssh.jsonl"),
    );
    ws.wait_for("connected", ssh_begun, Duration::from_secs(60))
        .expect("watch over SSH connected");
    std::thread::sleep(Duration::from_secs(1));
    let ssh_first = ws.samples_len().saturating_sub(1);
    let ssh_start = ws.last_sample();
    let mut ssh_tally = Tally::default();
    let mut cuts: Vec<Option<Duration>> = Vec::new();
    run_ops(
        &mut fleet,
        &events,
        &mut ssh_tally,
        Duration::from_secs_f64(ssh_minutes * 60.0),
        &[0.25, 0.5, 0.75],
        |_, fleet, pending| {
            let masters: Vec<String> = processes_mentioning(&tmp)
                .into_iter()
                .filter(|(_, cmd)| cmd.starts_with("ssh "))
                .map(|(pid, _)| pid)
                .collect();
            println!("cutting the SSH connection: killing ssh master(s) {masters:?}");
            let cut = Instant::now();
            let cut_ns = now_ns();
            for pid in &masters {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
            if let Some(i) = fleet.free_app() {
                let mut e = fleet.detach(i, Some(cut_ns));
                e.what = CUT;
                pending.push(e);
            }
            let connected = ws
                .wait_for("connected", cut, Duration::from_secs(60))
                .map(|c| c - cut);
            cuts.push(connected);
            std::thread::sleep(Duration::from_secs(1));
            let (rss, fds) = ws.last_sample();
            println!(
                "after the cut: reconnected in {connected:?}, RSS {}, {fds} fds",
                mib(rss)
            );
        },
    );
    let ssh_final = fleet.all_attached(&d);
    std::thread::sleep(Duration::from_secs(2));
    let ssh_end = ws.last_sample();
    let ssh_peak = ws.peak(ssh_first);
    let ssh_downs = ws.count(|v| v["event"] == "down");
    let ssh_failed = ws.count(|v| v["event"] == "applied" && v["ok"] == false);
    let ssh_applied = ws.count(|v| v["event"] == "applied" && v["ok"] == true);
    let ssh_docker_lines = ws.count(|v| v["event"] == "docker");
    let ssh_errors = ws.count(|v| v["event"] == "error");
    let ssh_failures = ws.failures();
    let ssh_code = ws.stop();
    load("at the end");
    stop.store(true, Ordering::Relaxed);

    // The heal after each cut, in the order the cuts were made: the
    // "detach after a cut" latencies are measured from the kill.
    println!();
    println!(
        "berth watch soak: {APPS} apps over {DESTINATIONS} destinations, {:.1} min on unix:// (engine restarted half-way), then {:.1} min over ssh:// ({} cuts)",
        lasted.as_secs_f64() / 60.0,
        ssh_begun.elapsed().as_secs_f64() / 60.0,
        cuts.len()
    );
    println!();
    println!("| | unix:// | ssh:// |");
    println!("|---|---|---|");
    let count = |t: &Tally| {
        let n: usize = t.disruptions.values().sum();
        let parts: Vec<String> = t
            .disruptions
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        format!("{n} ({})", parts.join(", "))
    };
    println!(
        "| disruptions made | {} | {} |",
        count(&tally),
        count(&ssh_tally)
    );
    println!(
        "| Docker events watch acted on (`docker` lines) | {docker_lines} | {ssh_docker_lines} |"
    );
    println!(
        "| misses (not healed within 10 s) | {} | {} |",
        tally.misses.len(),
        ssh_tally.misses.len()
    );
    println!(
        "| heal latency p50 / p95 / max | {} | {} |",
        tally.summary(),
        ssh_tally.summary()
    );
    println!("| steps applied ok / failed | {applied} / {failed} | {ssh_applied} / {ssh_failed} |");
    println!("| `down` lines / `error` lines | {downs} / {errors} | {ssh_downs} / {ssh_errors} |");
    println!(
        "| reconnect after the engine answered again | {} | |",
        match reconnect {
            Some(Some(t)) => format!("{} ms", t.as_millis()),
            Some(None) => "never (120 s)".to_string(),
            None => "no restart made".to_string(),
        }
    );
    println!(
        "| reconnect after the ssh master was killed | | {} |",
        cuts.iter()
            .map(|c| match c {
                Some(t) => format!("{} ms", t.as_millis()),
                None => "never (60 s)".to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| heal after a cut (kill of the master → detached container back) | | {} |",
        ssh_tally
            .latencies
            .iter()
            .filter(|(what, _)| *what == CUT)
            .map(|(_, d)| format!("{} ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| RSS start / peak / end | {} / {} / {} | {} / {} / {} |",
        mib(at_start.0),
        mib(peak.0),
        mib(at_end.0),
        mib(ssh_start.0),
        mib(ssh_peak.0),
        mib(ssh_end.0)
    );
    println!(
        "| open fds start / peak / end | {} / {} / {} | {} / {} / {} |",
        at_start.1, peak.1, at_end.1, ssh_start.1, ssh_peak.1, ssh_end.1
    );
    println!(
        "| final state | {} | {} |",
        match &final_check {
            Ok(()) => "every container attached".to_string(),
            Err(e) => e.clone(),
        },
        match &ssh_final {
            Ok(()) => "every container attached".to_string(),
            Err(e) => e.clone(),
        }
    );
    println!("| watch's exit code | {code} | {ssh_code} |");
    println!();
    println!("after the restart: {restart_check}");
    for m in tally.misses.iter().chain(ssh_tally.misses.iter()) {
        println!("miss: {m}");
    }
    for f in failures {
        println!("unix:// watch said: {f}");
    }
    for f in ssh_failures {
        println!("ssh:// watch said: {f}");
    }
    drop(sshd);
    d.stop();
}

/// Pids and command lines of the processes whose command line mentions
/// `needle` (the ssh master names its control socket under TMPDIR).
fn processes_mentioning(needle: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.filter_map(Result::ok) {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
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

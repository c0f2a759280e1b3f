//! Watch latency: how long after a container's `start` event `berth watch`
//! has it attached to its destination with its aliases, the way a Coolify
//! redeploy starts a new `<uuid>-<timestamp>` container that a resource
//! selects by label. 20 starts (`BERTH_BENCH_STARTS`), each timed from
//! Docker's own event timestamps (the container's `create` and `start`
//! events and the network `connect` event), so polling adds nothing.
//!
//! Not a timed test: it prints p50/p95 and never fails on time.
//!
//! ```sh
//! cargo bench --bench watch
//! ```
//!
//! Needs root, `dockerd`, `nsenter`, `ip` (as the integration tests do):
//! the containers run on a second `dockerd` of the bench's own, stopped at
//! the end.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::daemon::SecondDaemon;
use common::{Project, TEST_IMAGE, ensure_image, unique};

fn main() {
    let starts: usize = std::env::var("BERTH_BENCH_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .max(1);
    ensure_image();
    let d = SecondDaemon::start();
    d.load_image(TEST_IMAGE);
    let net = unique("bench-watch");
    let p = Project::new();
    p.write(
        "berth.toml",
        &format!(
            "[settings]\nowner = \"bench-watch\"\n[[server]]\nname = \"d\"\naddress = \"{}\"\n\
             [[destination]]\nname = \"prod\"\nserver = \"d\"\nnetwork = \"{net}\"\n\
             [[application]]\nname = \"shop\"\ndestination = \"prod\"\n\
             match_labels = {{ \"coolify.applicationId\" = \"1\" }}\naliases = [\"shop\"]\n",
            d.address()
        ),
    );
    let mut watch = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["watch", "--dir"])
        .arg(p.path())
        .args(["--resync", "1h"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start berth watch");
    let mut log = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    for line in log.by_ref() {
        let line = line.expect("watch log");
        if line.contains("connected, following its events") {
            break;
        }
    }
    std::thread::spawn(move || log.for_each(drop));

    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let mut names = Vec::new();
    for i in 0..starts {
        let name = unique(&format!("bench-watch-{i}"));
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            "coolify.applicationId=1",
            TEST_IMAGE,
            "sleep",
            "3600",
        ]);
        // Wait for it, so starts do not pile up into one burst.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !d
            .docker_ok(&[
                "inspect",
                "--format",
                "{{json .NetworkSettings.Networks}}",
                &name,
            ])
            .contains(&net)
        {
            assert!(Instant::now() < deadline, "{name} was never attached");
            std::thread::sleep(Duration::from_millis(20));
        }
        names.push(name);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status();
    let _ = watch.wait();

    // Docker's own timestamps of each container's create/start and of its
    // connect to the destination network.
    let until = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let events = d.docker_ok(&[
        "events",
        "--since",
        &format!("{}.{:09}", since.as_secs(), since.subsec_nanos()),
        "--until",
        &format!("{}.{:09}", until.as_secs(), until.subsec_nanos()),
        "--format",
        "{{json .}}",
    ]);
    let ids: BTreeMap<String, String> = names
        .iter()
        .map(|n| {
            (
                d.docker_ok(&["inspect", "--format", "{{.Id}}", n]),
                n.clone(),
            )
        })
        .collect();
    let mut at: BTreeMap<(String, &str), i64> = BTreeMap::new();
    for line in events.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("event JSON");
        let t = e["timeNano"].as_i64().unwrap_or(0);
        let attrs = &e["Actor"]["Attributes"];
        match (e["Type"].as_str(), e["Action"].as_str()) {
            (Some("container"), Some(action @ ("create" | "start"))) => {
                let action: &'static str = if action == "create" {
                    "create"
                } else {
                    "start"
                };
                if let Some(name) = ids.get(e["Actor"]["ID"].as_str().unwrap_or("")) {
                    at.insert((name.clone(), action), t);
                }
            }
            (Some("network"), Some("connect")) if attrs["name"] == net.as_str() => {
                if let Some(name) = ids.get(attrs["container"].as_str().unwrap_or("")) {
                    at.insert((name.clone(), "connect"), t);
                }
            }
            _ => {}
        }
    }
    let mut from_start = Vec::new();
    let mut from_create = Vec::new();
    let mut before_start = 0;
    for n in &names {
        let get = |what| at.get(&(n.clone(), what)).copied();
        let (Some(create), Some(start), Some(connect)) =
            (get("create"), get("start"), get("connect"))
        else {
            panic!("missing events for {n}");
        };
        from_create.push(Duration::from_nanos((connect - create).max(0) as u64));
        from_start.push(Duration::from_nanos((connect - start).max(0) as u64));
        before_start += usize::from(connect < start);
    }
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    println!("berth watch: {starts} containers started after watch was running");
    println!(
        "  start event → attached with aliases: p50 {:?}, p95 {:?} ({before_start} attached before their start event, counted as 0)",
        pct(&mut from_start, 0.5),
        pct(&mut from_start, 0.95)
    );
    println!(
        "  create event → attached: p50 {:?}, p95 {:?}",
        pct(&mut from_create, 0.5),
        pct(&mut from_create, 0.95)
    );
}

//! Docker Swarm: the three-node harness ([`Swarm`]) proved by hand with the
//! docker CLI.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::common::swarm::Swarm;
use crate::common::{TEST_IMAGE, unique};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `docker service create` on the manager: detached, stopped within 1 s
/// (busybox as PID 1 ignores SIGTERM: Docker would wait 10 s), reached by
/// DNS round robin (no IPVS here for a VIP); `extra` before the image.
fn create_service(swarm: &Swarm, name: &str, extra: &[&str], command: &[&str]) {
    let mut args = vec![
        "service",
        "create",
        "--detach",
        "--quiet",
        "--name",
        name,
        "--stop-grace-period",
        "1s",
        "--endpoint-mode",
        "dnsrr",
    ];
    args.extend(extra);
    args.push(TEST_IMAGE);
    args.extend(command);
    swarm.docker_ok(&args);
}

/// `printf 'GET / HTTP/1.0…' | nc TARGET 80` from `container` on the
/// manager: the first line of the answer.
fn http_status_line(swarm: &Swarm, container: &str, target: &str) -> String {
    let script = format!(r#"printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 {target} 80 | head -n 1"#);
    let out = swarm
        .manager
        .docker(&["exec", container, "sh", "-c", &script]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The addresses `name` resolves to from `container` (busybox's nslookup
/// through Docker's embedded DNS).
fn resolve(swarm: &Swarm, container: &str, name: &str) -> BTreeSet<String> {
    let out = swarm
        .manager
        .docker(&["exec", container, "busybox", "nslookup", name]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("Address"))
        .filter_map(|l| l.split_whitespace().last())
        // The server's line is `127.0.0.11:53`: not an address alone.
        .filter(|a| a.parse::<IpAddr>().is_ok())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

#[test]
fn a_swarm_of_three_nodes_carries_overlay_traffic_and_leaves_nothing_behind() {
    let swarm = Swarm::start();
    println!("swarm started in {:?}", swarm.started_in);

    let nodes = swarm.docker_ok(&[
        "node",
        "ls",
        "--format",
        "{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}",
    ]);
    let mut nodes: Vec<&str> = nodes.lines().map(str::trim_end).collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            "manager Ready Active Leader",
            "worker1 Ready Active",
            "worker2 Ready Active"
        ],
        "docker node ls"
    );

    let net = unique("ov");
    swarm.docker_ok(&[
        "network",
        "create",
        "--driver",
        "overlay",
        "--attachable",
        &net,
    ]);
    create_service(
        &swarm,
        "web",
        &[
            "--replicas",
            "3",
            "--network",
            &net,
            "--constraint",
            "node.role==worker",
        ],
        &["httpd", "-f", "-p", "80"],
    );
    swarm.wait_running("web", 3);
    let tasks = swarm.running_tasks("web");
    assert!(
        tasks.iter().all(|(_, node)| node.starts_with("worker")),
        "a task left the workers: {tasks:?}"
    );

    // A standalone container on the manager, on the same overlay.
    swarm.docker_ok(&[
        "run",
        "-d",
        "--name",
        "client",
        "--network",
        &net,
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let mut addresses = BTreeSet::new();
    for (task, node) in &tasks {
        let task_addresses = swarm.task_addresses(task, &net);
        assert_eq!(task_addresses.len(), 1, "task {task} on {net}");
        let address = &task_addresses[0];
        assert_eq!(
            http_status_line(&swarm, "client", address),
            "HTTP/1.1 404 Not Found",
            "the manager's container did not reach task {task} on {node} at {address}"
        );
        addresses.insert(address.clone());
    }
    // By the service's name: DNS round robin over the tasks' addresses
    // (the embedded DNS may lag the tasks a moment).
    swarm.wait_for(
        "DNS answer for web with every task",
        Duration::from_secs(20),
        || resolve(&swarm, "client", "web") == addresses,
    );
    assert_eq!(
        http_status_line(&swarm, "client", "web"),
        "HTTP/1.1 404 Not Found",
        "the manager's container did not reach the service by name"
    );

    let footprint = swarm.footprint();
    let stopping = Instant::now();
    drop(swarm);
    println!("swarm stopped and removed in {:?}", stopping.elapsed());
    let left = footprint.leftovers();
    assert!(left.is_empty(), "the swarm left behind: {left:#?}");
}

//! Docker Swarm: the three-node harness ([`Swarm`]) proved by hand with the
//! docker CLI, then berth's reading of a manager (`Snapshot::swarm`): what
//! it reads and what it costs.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use berthing::config::{Address, Server};
use berthing::diag::Location;
use berthing::live::Snapshot;
use berthing::live::swarm::{
    Availability, EndpointMode, FailureAction, NodeRole, NodeState, ServiceMode, TaskState,
    UpdateOrder,
};

use crate::common::config::{destination, header};
use crate::common::plan::{changes, plan};
use crate::common::swarm::{MANAGER_ADDRESS, Swarm};
use crate::common::{CountingProxy, Project, TEST_IMAGE, docker_ok, docker_socket, unique};

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

/// berth's snapshot of the engine at `socket`, read as `berth plan` reads
/// it.
fn snapshot(socket: &Path) -> Snapshot {
    let server = Server {
        name: "s".into(),
        address: Address::Unix(socket.to_path_buf()),
        at: Location {
            file: String::new(),
            span: 0..0,
        },
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let connection = berthing::docker::connect(&server, Duration::from_secs(30))
            .await
            .expect("connect");
        connection
            .client
            .snapshot(false)
            .await
            .unwrap_or_else(|e| panic!("snapshot of {}: {}", socket.display(), e.full()))
    })
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

// ---------------------------------------------------------------------------
// berth reading a manager
// ---------------------------------------------------------------------------

#[test]
fn berth_reads_a_managers_swarm_with_the_same_calls_for_1_and_30_services() {
    let swarm = Swarm::start();
    let (front, back) = (unique("front"), unique("back"));
    for net in [&front, &back] {
        swarm.docker_ok(&[
            "network",
            "create",
            "--driver",
            "overlay",
            "--attachable",
            net,
        ]);
    }
    let front_alias = format!("name={front},alias=api-alias");
    create_service(
        &swarm,
        "api",
        &[
            "--replicas",
            "2",
            "--network",
            &front_alias,
            "--network",
            &back,
            "--constraint",
            "node.role==worker",
            "--update-order",
            "start-first",
            "--update-parallelism",
            "2",
            "--update-failure-action",
            "rollback",
            "--mount",
            "type=volume,source=api-data,target=/data",
            "--mount",
            "type=volume,target=/scratch",
            "--label",
            "team=web",
        ],
        &["sleep", "3600"],
    );
    // A standalone container on a worker, on an attachable overlay: the
    // manager knows it only as a network attachment task.
    let worker1 = &swarm.workers[0];
    worker1.docker_ok(&[
        "run",
        "-d",
        "--name",
        "loner",
        "--network",
        &front,
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let loner = worker1.docker_ok(&["inspect", "--format", "{{.Id}}", "loner"]);
    swarm.wait_running("api", 2);

    // What berth reads.
    let snap = snapshot(&swarm.manager.socket);
    let sw = snap
        .swarm
        .as_ref()
        .expect("a manager's snapshot has its swarm");
    let hosts: Vec<&str> = sw.nodes.iter().map(|n| n.hostname.as_str()).collect();
    assert_eq!(hosts, ["manager", "worker1", "worker2"]);
    for (i, n) in sw.nodes.iter().enumerate() {
        assert_eq!(n.state, NodeState::Ready, "{n:?}");
        assert_eq!(n.availability, Availability::Active, "{n:?}");
        assert_eq!(
            n.address.as_deref(),
            Some(format!("192.0.2.{}", 10 + i).as_str()),
            "{n:?}"
        );
        let manager = i == 0;
        assert_eq!(n.role == NodeRole::Manager, manager, "{n:?}");
        assert_eq!(n.leader, manager, "{n:?}");
    }
    assert_eq!(sw.nodes[0].address.as_deref(), Some(MANAGER_ADDRESS));

    let api = sw.service("api").expect("service api");
    let id_of = |name: &str| snap.network(name).expect(name).id.clone();
    // By name: `bt-back-…` before `bt-front-…`.
    assert_eq!(
        api.networks
            .iter()
            .map(|n| (n.network.as_str(), n.id.clone(), n.aliases.clone()))
            .collect::<Vec<_>>(),
        [
            (back.as_str(), id_of(&back), vec![]),
            (front.as_str(), id_of(&front), vec!["api-alias".to_string()]),
        ],
        "api's networks, by name, with their ids and aliases"
    );
    assert_eq!(api.aliases_on(&front), Some(&["api-alias".to_string()][..]));
    assert_eq!(api.mode, ServiceMode::Replicated { replicas: 2 });
    assert_eq!(api.endpoint_mode, EndpointMode::Dnsrr);
    let update = api.update.expect("update config");
    assert_eq!(
        (update.parallelism, update.order, update.failure_action),
        (2, UpdateOrder::StartFirst, FailureAction::Rollback)
    );
    assert_eq!(
        api.mounts,
        [berthing::live::Mount::Volume {
            name: "api-data".into(),
            path: "/data".into()
        }],
        "the named volume only: the anonymous one is the task's own"
    );
    assert_eq!(api.label("team"), Some("web"));
    assert_eq!(api.image, TEST_IMAGE);
    assert!(api.version > 0);
    assert_eq!(
        sw.services_on(&back).map(|s| &s.name).collect::<Vec<_>>(),
        ["api"]
    );

    let workers: Vec<&str> = sw.nodes[1..].iter().map(|n| n.id.as_str()).collect();
    let front_subnet = snap.network(&front).expect("front").ipam[0]
        .subnet
        .expect("front's subnet");
    let api_tasks: Vec<_> = sw
        .tasks_of(&api.id)
        .filter(|t| t.desired_state == TaskState::Running)
        .collect();
    assert_eq!(api_tasks.len(), 2, "{:#?}", sw.tasks);
    for t in &api_tasks {
        assert_eq!(t.state, TaskState::Running, "{t:?}");
        assert!(
            workers.contains(&t.node_id.as_deref().unwrap_or("")),
            "{t:?}"
        );
        assert!(t.container_id.is_some(), "{t:?}");
        let on_front = t
            .networks
            .iter()
            .find(|n| n.network == front)
            .expect("front");
        assert!(
            on_front.addresses.len() == 1 && front_subnet.contains(&on_front.addresses[0].addr()),
            "{t:?} not addressed in {front_subnet}"
        );
        assert!(t.networks.iter().any(|n| n.network == back), "{t:?}");
    }
    let attachment = sw
        .tasks
        .iter()
        .find(|t| t.is_attachment())
        .expect("the standalone container's attachment task");
    assert_eq!(attachment.node_id.as_deref(), Some(workers[0]));
    assert_eq!(attachment.container_id.as_deref(), Some(loner.as_str()));
    assert_eq!(
        attachment
            .networks
            .iter()
            .map(|n| n.network.as_str())
            .collect::<Vec<_>>(),
        [front.as_str()]
    );
    let on_front: BTreeSet<&str> = sw.attached_to(&front).map(|t| t.id.as_str()).collect();
    assert_eq!(
        on_front.len(),
        3,
        "api's two tasks and the loner: {on_front:?}"
    );

    // Nothing but a manager has a swarm to tell.
    assert_eq!(snapshot(&worker1.socket).swarm, None, "a worker");
    let local_is_manager = docker_ok(&["info", "--format", "{{.Swarm.ControlAvailable}}"]);
    if local_is_manager != "true" {
        assert_eq!(
            snapshot(&docker_socket()).swarm,
            None,
            "the machine's engine"
        );
    }

    // What it costs: `berth plan` through a counting proxy, with 1 and
    // then 30 services (and their tasks) on the manager.
    let (proxied, proxy) = CountingProxy::start(&swarm.manager.socket);
    let p = Project::new();
    let owner = unique("own");
    p.write(
        "berth.toml",
        &(header(&owner, "mgr", &format!("unix://{}", proxied.display()))
            + &destination("d", "mgr", &unique("calls"))),
    );
    let mut counts = Vec::new();
    for total in [1, 30] {
        let have = swarm
            .docker_ok(&["service", "ls", "--quiet"])
            .lines()
            .count();
        for i in have..total {
            create_service(
                &swarm,
                &format!("filler{i}"),
                &["--replicas", "1", "--network", &back],
                &["sleep", "3600"],
            );
        }
        swarm.wait_for(
            &format!("{total} services with their tasks running"),
            Duration::from_secs(120),
            || {
                let replicas = swarm.docker_ok(&["service", "ls", "--format", "{{.Replicas}}"]);
                let lines: Vec<&str> = replicas.lines().collect();
                lines.len() == total
                    && lines.iter().all(|r| {
                        let (running, wanted) = r.split_once('/').unwrap_or(("", "?"));
                        running == wanted
                    })
            },
        );
        proxy.reset();
        let (run, plan) = plan(&p, 0);
        assert_eq!(changes(&plan).len(), 1, "{run}");
        println!(
            "{total} service(s): {} requests: {:?}",
            proxy.count(),
            proxy.requests()
        );
        counts.push(proxy.requests());
    }
    let (one, thirty) = (&counts[0], &counts[1]);
    assert_eq!(
        one.len(),
        thirty.len(),
        "API calls grow with services:\n 1: {one:?}\n30: {thirty:?}"
    );
    for path in [
        "/networks",
        "/containers/json",
        "/nodes",
        "/services",
        "/tasks",
    ] {
        let asked = thirty
            .iter()
            .filter(|r| r.starts_with("GET ") && r.split('?').next().unwrap_or("").ends_with(path))
            .count();
        assert_eq!(asked, 1, "GET {path} asked {asked} times: {thirty:?}");
    }
    assert_eq!(thirty.len(), 5, "a manager's read: {thirty:?}");

    // Any other engine: the lists, and `/nodes` refused.
    let (proxied, proxy) = CountingProxy::start(&worker1.socket);
    p.write(
        "berth.toml",
        &(header(&owner, "w1", &format!("unix://{}", proxied.display()))
            + &destination("d", "w1", &unique("calls"))),
    );
    let (run, _) = plan(&p, 0);
    let mut asked = proxy.requests();
    asked.sort();
    assert_eq!(
        asked,
        [
            "GET /containers/json?all=true&size=false",
            "GET /networks",
            "GET /nodes"
        ],
        "a worker's read\n{run}"
    );
}

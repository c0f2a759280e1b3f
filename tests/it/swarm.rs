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

use crate::common::config::{aliases_line, destination, header, resource_head};
use crate::common::plan::{apply, assert_no_changes, changes, plan, set, strings, the_change};
use crate::common::swarm::{MANAGER_ADDRESS, Swarm};
use crate::common::{CountingProxy, Project, TEST_IMAGE, docker_ok, docker_socket, unique};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `apply --yes` with every request sent twice (`sent.*:again`), given as
/// long as a swarm rollout may take.
fn apply_sending_every_request_twice(p: &Project) -> crate::common::Run {
    crate::common::spawn::Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[("BERTH_FAULT", std::ffi::OsStr::new("sent.*:again"))],
    )
    .finish(Duration::from_secs(180))
}

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
        tags: Vec::new(),
        at: Location {
            file: String::new(),
            span: 0..0,
        },
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let connection =
            berthing::docker::connect(&server, Duration::from_secs(30), Duration::ZERO)
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

// ---------------------------------------------------------------------------
// berth changing a swarm
// ---------------------------------------------------------------------------

/// `[[destination]]` for an attachable overlay on the manager `mgr`.
fn overlay_destination(name: &str, network: &str) -> String {
    destination(name, "mgr", network) + "driver = \"overlay\"\nattachable = true\n"
}

/// `[[application]]` selecting swarm service `service`.
fn service_resource(name: &str, dest: &str, service: &str, extra: &str) -> String {
    resource_head("application", name, dest) + &format!("swarm_service = \"{service}\"\n") + extra
}

/// `docker service inspect` of `service`, as JSON.
fn inspect_service(swarm: &Swarm, service: &str) -> serde_json::Value {
    let text = swarm.docker_ok(&["service", "inspect", service]);
    let list: serde_json::Value = serde_json::from_str(&text).expect("service JSON");
    list[0].clone()
}

/// `(network name, aliases)` of a service's task template.
fn template_networks(swarm: &Swarm, service: &str) -> Vec<(String, Vec<String>)> {
    let s = inspect_service(swarm, service);
    s["Spec"]["TaskTemplate"]["Networks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let target = n["Target"].as_str().unwrap_or_default();
            let name = swarm.docker_ok(&["network", "inspect", "--format", "{{.Name}}", target]);
            (name, strings(&n["Aliases"]))
        })
        .collect()
}

/// The swarm change kind of the "every step twice" coverage
/// (`tests/it/faults.rs`): a service's networks set through its spec, the
/// update request sent twice (`sent.update_service:again`). The second is
/// refused as out of sequence; the spec read again has the networks, so
/// the step is done, waits for the one rollout, and the plan is then empty.
/// Twice: the network added, then its aliases changed.
#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_service_update_sent_twice_is_done_once() {
    let swarm = Swarm::start();
    let p = Project::new();
    let owner = unique("own");
    let net = unique("ov");
    let head = header(
        &owner,
        "mgr",
        &format!("unix://{}", swarm.manager.socket.display()),
    );
    create_service(
        &swarm,
        "web",
        &["--replicas", "1"],
        &["httpd", "-f", "-p", "80"],
    );
    swarm.wait_running("web", 1);
    for aliases in [&["web-a"][..], &["web-a", "web-b"][..]] {
        p.write(
            "berth.toml",
            &(head.clone()
                + &overlay_destination("d", &net)
                + &service_resource("web", "d", "web", &aliases_line(aliases))),
        );
        let (run, before) = plan(&p, 0);
        the_change(&run, &before, "update_service", &net);
        let run = apply_sending_every_request_twice(&p);
        run.expect_code(0);
        assert!(
            run.stderr
                .contains("fault injected at sent.update_service: again"),
            "the update was sent twice\n{run}"
        );
        assert_eq!(
            template_networks(&swarm, "web"),
            [(
                net.clone(),
                aliases.iter().map(|a| a.to_string()).collect::<Vec<_>>()
            )],
            "{run}"
        );
        let (run, after) = plan(&p, 0);
        assert_no_changes(&run, &after);
    }
}

/// The service clone of the "every step twice" coverage: a foreign
/// service given the clone's name between the plan and the create (berth
/// stopped after the overlay's step) is an error naming it, and left
/// alone; then the create sent twice (`sent.create_service:again`) is
/// refused as a name conflict, the service of that name is the clone berth
/// meant (its labels), so the step is done, and the plan is then empty.
#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_service_clone_sent_twice_is_done_once_and_a_foreign_service_of_its_name_is_an_error() {
    let swarm = Swarm::start();
    let p = Project::new();
    let owner = unique("own");
    let (net, net2) = (unique("ov"), unique("ov2"));
    let head = header(
        &owner,
        "mgr",
        &format!("unix://{}", swarm.manager.socket.display()),
    );
    create_service(
        &swarm,
        "api",
        &["--replicas", "1"],
        &["httpd", "-f", "-p", "80"],
    );
    swarm.wait_running("api", 1);
    let assigned = head.clone()
        + &overlay_destination("d", &net)
        + &service_resource("api", "d", "api", &aliases_line(&["api"]));
    p.write("berth.toml", &assigned);
    apply(&p, &[], 0);
    p.write(
        "berth.toml",
        &(assigned
            + &overlay_destination("d2", &net2)
            + &service_resource("api-copy", "d2", "api-copy", "clone_of = \"api\"\n")),
    );
    let (run, before) = plan(&p, 0);
    the_change(&run, &before, "create_network", &net2);
    the_change(&run, &before, "clone_service", &net2);

    // A foreign service takes the name after the plan: an error naming it.
    let mut stopped = crate::common::spawn::Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[("BERTH_FAULT", std::ffi::OsStr::new("apply.step@1:stop"))],
    );
    crate::faults::wait_stopped(&mut stopped);
    create_service(&swarm, "api-copy", &["--replicas", "0"], &["sleep", "3600"]);
    let cont = std::process::Command::new("kill")
        .args(["-CONT", &stopped.pid().to_string()])
        .status()
        .expect("kill -CONT");
    assert!(cont.success());
    let run = stopped.finish(Duration::from_secs(180));
    run.expect_code(1);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("a swarm service named api-copy exists and is not this clone")
            && said.contains("docker service rm api-copy"),
        "{run}"
    );
    let foreign = inspect_service(&swarm, "api-copy");
    assert!(
        foreign["Spec"]["Labels"]["berth.clone-of"].is_null(),
        "the foreign service is left alone: {foreign:#}"
    );
    swarm.docker_ok(&["service", "rm", "api-copy"]);

    // Sent twice: done once.
    let (run, before) = plan(&p, 0);
    the_change(&run, &before, "clone_service", &net2);
    let run = apply_sending_every_request_twice(&p);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("fault injected at sent.create_service: again"),
        "the create was sent twice\n{run}"
    );
    let copy = inspect_service(&swarm, "api-copy");
    assert_eq!(copy["Spec"]["Labels"]["berth.clone-of"], "api", "{run}");
    let named = swarm.docker_ok(&["service", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        named.lines().filter(|n| *n == "api-copy").count(),
        1,
        "one service api-copy\n{run}"
    );
    assert_eq!(swarm.running_tasks("api-copy").len(), 1, "{run}");
    let (run, after) = plan(&p, 0);
    assert_no_changes(&run, &after);
}

#[test]
fn berth_attaches_clones_and_guards_swarm_services_through_their_specs() {
    let swarm = Swarm::start();
    let p = Project::new();
    let owner = unique("own");
    let (net, net2) = (unique("ov"), unique("ov2"));
    let head = header(
        &owner,
        "mgr",
        &format!("unix://{}", swarm.manager.socket.display()),
    );
    create_service(
        &swarm,
        "api",
        &[
            "--replicas",
            "2",
            "--constraint",
            "node.role==worker",
            "--mount",
            "type=volume,source=api-data,target=/data",
            "--publish",
            "mode=host,published=8080,target=80",
        ],
        &["httpd", "-f", "-p", "80"],
    );
    swarm.wait_running("api", 2);
    let assigned = head.clone()
        + &overlay_destination("d", &net)
        + &service_resource("api", "d", "api", &aliases_line(&["api-alias"]));
    p.write("berth.toml", &assigned);

    // The plan: the overlay, then a rolling update of the service's spec.
    let (run, plan1) = plan(&p, 0);
    let update = the_change(&run, &plan1, "update_service", &net);
    assert_eq!(update["service"], "api", "{run}");
    assert_eq!(
        update["networks"],
        serde_json::json!([{"network": net, "aliases": ["api-alias"]}])
    );
    assert_eq!(update["live_networks"], serde_json::json!([]));
    assert_eq!(update["rollout"]["replicas"], 2);
    assert_eq!(
        plan1["servers"][0]["swarm"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let human = p.berth(&["plan"]);
    human.expect_code(0);
    println!("{}", human.stdout);
    assert!(
        human.stdout.contains("update swarm service api")
            && human
                .stdout
                .contains("2 replica(s) replaced 1 at a time, stop-first"),
        "{}",
        human.stdout
    );

    apply(&p, &[], 0);
    assert_eq!(
        template_networks(&swarm, "api"),
        [(net.clone(), vec!["api-alias".to_string()])],
        "the task template names the destination with its alias"
    );
    swarm.wait_running("api", 2);
    // Every running task (on the workers) has an address on the overlay,
    // and the alias resolves to them from a container on the manager.
    let mut addresses = BTreeSet::new();
    for (task, node) in swarm.running_tasks("api") {
        assert!(node.starts_with("worker"), "{task} on {node}");
        let a = swarm.task_addresses(&task, &net);
        assert_eq!(a.len(), 1, "task {task} on {net}: {a:?}");
        addresses.extend(a);
    }
    swarm.docker_ok(&[
        "run",
        "-d",
        "--name",
        "probe",
        "--network",
        &net,
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    swarm.wait_for(
        "api-alias resolving to both tasks",
        Duration::from_secs(20),
        || resolve(&swarm, "probe", "api-alias") == addresses,
    );
    assert_eq!(
        http_status_line(&swarm, "probe", "api-alias"),
        "HTTP/1.1 404 Not Found"
    );
    let (run, again) = plan(&p, 0);
    assert_no_changes(&run, &again);

    // Status: the service on its destination, its tasks on their nodes.
    let status = p.berth(&["status", "--format", "json"]);
    status.expect_code(0);
    let status = status.json();
    let d = &status["destinations"][0];
    let services = d["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "{d:#}");
    assert_eq!(
        (
            &services[0]["service"],
            &services[0]["running"],
            &services[0]["desired"]
        ),
        (
            &serde_json::json!("api"),
            &serde_json::json!(2),
            &serde_json::json!(2)
        )
    );
    let nodes: BTreeSet<String> = services[0]["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["node"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(nodes, set(&["worker1", "worker2"]), "{d:#}");
    let text = p.berth(&["status"]);
    println!("{}", text.stdout);
    assert!(
        text.stdout.contains("swarm manager, 3 of 3 node(s) ready")
            && text.stdout.contains("service api")
            && text.stdout.contains("on worker1"),
        "{}",
        text.stdout
    );

    // A clone on a second overlay: the source's spec, fresh volume, no
    // published port, the destination's network only.
    let cloned = assigned.clone()
        + &overlay_destination("d2", &net2)
        + &service_resource("api-copy", "d2", "api-copy", "clone_of = \"api\"\n");
    p.write("berth.toml", &cloned);
    let (run, plan2) = plan(&p, 0);
    println!("{}", p.berth(&["plan"]).stdout);
    let clone = the_change(&run, &plan2, "clone_service", &net2);
    assert_eq!(clone["source"], "api");
    assert_eq!(clone["volumes"][0]["target"], "api-data-api-copy");
    assert_eq!(clone["dropped_ports"], serde_json::json!(["8080:80/tcp"]));
    apply(&p, &[], 0);
    let copy = inspect_service(&swarm, "api-copy");
    assert_eq!(copy["Spec"]["Labels"]["berth.clone-of"], "api");
    assert_eq!(
        copy["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["Source"],
        "api-data-api-copy"
    );
    assert!(copy["Spec"]["EndpointSpec"]["Ports"].is_null(), "{copy:#}");
    assert_eq!(
        template_networks(&swarm, "api-copy"),
        [(net2.clone(), vec!["api-copy".to_string()])]
    );
    assert_eq!(
        swarm.running_tasks("api-copy").len(),
        2,
        "apply waits for the copy's tasks"
    );
    let (run, again) = plan(&p, 0);
    assert_no_changes(&run, &again);

    // The removal guard sees tasks on every node: dropping d2 while
    // api-copy's tasks run on it is refused, naming them and their nodes.
    p.write("berth.toml", &assigned);
    let (run, plan3) = plan(&p, 3);
    let removal = the_change(&run, &plan3, "remove_network", &net2);
    println!("{}", p.berth(&["plan"]).stdout);
    assert_eq!(removal["status"], "blocked", "{run}");
    let reasons = removal["reasons"].to_string();
    assert!(
        reasons.contains("service api-copy") && reasons.contains("on node worker"),
        "{reasons}"
    );
    let refused = apply(&p, &[], 3);
    assert!(
        refused.stderr.contains("blocked") || refused.stdout.contains("blocked"),
        "{}",
        refused.stderr
    );
    assert!(
        swarm
            .manager
            .docker(&["network", "inspect", &net2])
            .status
            .success()
    );

    // Scaled to 0, no task runs, yet the service's spec still names the
    // network: the removal stays blocked, naming the service.
    swarm.docker_ok(&["service", "scale", "--detach", "api-copy=0"]);
    swarm.wait_for("api-copy scaled to 0", Duration::from_secs(60), || {
        swarm.running_tasks("api-copy").is_empty()
    });
    let (run, plan4) = plan(&p, 3);
    let removal = the_change(&run, &plan4, "remove_network", &net2);
    assert_eq!(removal["status"], "blocked", "{run}");
    let reasons = removal["reasons"].to_string();
    assert!(
        reasons.contains("service api-copy") && !reasons.contains("task api-copy"),
        "{reasons}"
    );

    // Alias drift is fixed through the spec: a rolling update that gives
    // the tasks the declared aliases.
    p.write(
        "berth.toml",
        &(head.clone()
            + &overlay_destination("d", &net)
            + &service_resource("api", "d", "api", &aliases_line(&["api-v2"]))
            + &overlay_destination("d2", &net2)
            + &service_resource("api-copy", "d2", "api-copy", "clone_of = \"api\"\n")),
    );
    let (run, plan5) = plan(&p, 0);
    let fix = the_change(&run, &plan5, "update_service", &net);
    assert_eq!(
        fix["live_networks"],
        serde_json::json!([{"network": net, "aliases": ["api-alias"]}]),
        "{run}"
    );
    apply(&p, &[], 0);
    assert_eq!(
        template_networks(&swarm, "api"),
        [(net.clone(), vec!["api-v2".to_string()])]
    );
    swarm.wait_running("api", 2);
    swarm.wait_for("api-v2 resolving", Duration::from_secs(30), || {
        resolve(&swarm, "probe", "api-v2").len() == 2
    });
    let (run, again) = plan(&p, 0);
    assert_no_changes(&run, &again);

    // An overlay destination on a server that is no manager: a plan error.
    let worker = Project::new();
    worker.write(
        "berth.toml",
        &(header(
            &owner,
            "w",
            &format!("unix://{}", swarm.workers[0].socket.display()),
        ) + &destination("d", "w", &unique("ov"))
            + "driver = \"overlay\"\n"),
    );
    let run = worker.berth(&["plan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("not a swarm manager") || run.stdout.contains("not a swarm manager"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn watch_keeps_a_docker_stack_on_its_destination_through_the_service_spec() {
    let swarm = Swarm::start();
    let p = Project::new();
    let owner = unique("own");
    let net = unique("ov");
    let stack = unique("web");
    p.write(
        "stack.yml",
        &format!(
            r#"version: "3.8"
services:
  app:
    image: {TEST_IMAGE}
    command: ["httpd", "-f", "-p", "80"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
"#
        ),
    );
    let file = p.path().join("stack.yml");
    swarm.docker_ok(&[
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "--detach=true",
        "-c",
        &file.display().to_string(),
        &stack,
    ]);
    let service = format!("{stack}_app");
    swarm.wait_running(&service, 2);
    p.write(
        "berth.toml",
        &(header(&owner, "mgr", &format!("unix://{}", swarm.manager.socket.display()))
            + &overlay_destination("d", &net)
            + &format!(
                "\n[[service]]\nname = \"web\"\ndestination = \"d\"\nproject = \"{stack}\"\nconnect_to_predefined_networks = true\nshort_aliases = true\n"
            )),
    );

    // Watch creates the overlay and gives the stack's service the
    // destination with Coolify's aliases, through a rolling update.
    let watcher = crate::watch::start(&p, &[]);
    let aliased = |aliases: &[&str]| {
        template_networks(&swarm, &service)
            .iter()
            .any(|(n, a)| *n == net && set(a) == set(aliases))
    };
    let app_alias = format!("app-{stack}");
    watcher.until("the stack's service on the destination", || {
        aliased(&[&app_alias, "app"])
    });
    watcher.expect_line(&format!("update swarm service {service}"));
    swarm.wait_running(&service, 2);

    // Taken off by hand: the service update event brings it back.
    swarm.docker_ok(&[
        "service",
        "update",
        "--detach",
        "--network-rm",
        &net,
        &service,
    ]);
    watcher.until("the network given back after --network-rm", || {
        aliased(&[&app_alias, "app"])
    });
    let (code, log) = watcher.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.matches(&format!("update swarm service {service}"))
            .count()
            >= 2,
        "{log}"
    );
    assert_eq!(
        template_networks(&swarm, &service).len(),
        2,
        "the stack's own network and the destination"
    );

    // Toggled off: apply takes the destination out of the spec and leaves
    // the stack's own network in it.
    let own = format!("{stack}_default");
    assert!(
        template_networks(&swarm, &service)
            .iter()
            .any(|(n, _)| *n == own)
    );
    p.write(
        "berth.toml",
        &(header(&owner, "mgr", &format!("unix://{}", swarm.manager.socket.display()))
            + &overlay_destination("d", &net)
            + &format!(
                "\n[[service]]\nname = \"web\"\ndestination = \"d\"\nproject = \"{stack}\"\nconnect_to_predefined_networks = false\n"
            )),
    );
    let (run, off) = plan(&p, 0);
    let update = the_change(&run, &off, "update_service", &net);
    assert_eq!(update["service"], service.as_str(), "{run}");
    apply(&p, &[], 0);
    let networks: Vec<String> = template_networks(&swarm, &service)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(networks, [own], "only the stack's own network is left");
    let (run, again) = plan(&p, 0);
    assert_no_changes(&run, &again);
}

/// `scope = "swarm"` on a local driver, applied on a manager (Engine 20.10
/// takes `--scope swarm` for `bridge`, `macvlan` and `ipvlan` there):
/// inspect shows it, the next plan is empty; a change of scope replaces
/// the network, and then nothing is left to do.
#[test]
fn a_bridge_network_with_swarm_scope_is_made_kept_and_replaced_on_a_manager() {
    let swarm = Swarm::start();
    let p = Project::new();
    let owner = unique("own");
    let net = unique("scoped");
    let head = header(
        &owner,
        "mgr",
        &format!("unix://{}", swarm.manager.socket.display()),
    );
    let scoped = |scope: &str| {
        head.clone()
            + &destination("d", "mgr", &net)
            + &format!("driver = \"bridge\"\nscope = \"{scope}\"\n")
    };
    let inspect = || {
        swarm
            .manager
            .docker_ok(&[
                "network",
                "inspect",
                "--format",
                "{{.Scope}} {{.Driver}}",
                &net,
            ])
            .trim()
            .to_string()
    };
    p.write("berth.toml", &scoped("swarm"));
    let (run, first) = plan(&p, 0);
    the_change(&run, &first, "create_network", &net);
    apply(&p, &[], 0);
    assert_eq!(inspect(), "swarm bridge");
    let (run, again) = plan(&p, 0);
    assert_no_changes(&run, &again);

    p.write("berth.toml", &scoped("local"));
    let (run, changed) = plan(&p, 0);
    the_change(&run, &changed, "replace_network", &net);
    apply(&p, &[], 0);
    assert_eq!(inspect(), "local bridge");
    let (run, settled) = plan(&p, 0);
    assert_no_changes(&run, &settled);
}

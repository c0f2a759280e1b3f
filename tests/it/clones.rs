//! Clones end to end (issue 4): a resource declared with `clone_of` whose
//! container does not exist becomes a copy of the source's live container
//! (never a move, never the data), on the same server or on another one (a
//! second real `dockerd`), and a compose stack clones as a whole under a new
//! project. The real `berth` binary against real Docker Engines.
//!
//! Each test uses its own `owner` and its own names. Volumes are not handled
//! by `Cleanup`: a [`Sweep`] guard, created first so that it drops last,
//! removes what berth's clones leave (containers and volumes carrying the
//! test's owner label, a cloned stack's containers and network) and the
//! volumes the test made.

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::config::{
    aliases_line, destination, local_header, resource_head, server, service,
};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{
    apply, assert_settled, changes, changes_for, plan, plan_detailed, plan_json, set, string_set,
    strings, warnings_of,
};
use crate::common::{
    Cleanup, ComposeStack, Project, Run, TEST_IMAGE, container_id, container_networks,
    container_running, containers_labelled, docker, docker_ok, ensure_image, network_exists,
    unique, unique_project,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Cleanup of what Cleanup does not handle
// ---------------------------------------------------------------------------

/// Removes, on drop, every local container labelled `berth.owner=<owner>` or
/// with one of `projects` as compose project, then `networks`, then the
/// volumes labelled `berth.owner=<owner>` and `volumes`. Never panics.
struct Sweep {
    owner: String,
    projects: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Sweep {
    fn new(owner: &str) -> Self {
        Self {
            owner: owner.to_string(),
            projects: Vec::new(),
            networks: Vec::new(),
            volumes: Vec::new(),
        }
    }
}

/// Trimmed non-empty lines of `docker ARGS` stdout (empty on failure).
fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = docker(args);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl Drop for Sweep {
    fn drop(&mut self) {
        let owner_filter = format!("label=berth.owner={}", self.owner);
        let mut containers = docker_lines(&["ps", "-aq", "--filter", &owner_filter]);
        for project in &self.projects {
            let filter = format!("label=com.docker.compose.project={project}");
            containers.extend(docker_lines(&["ps", "-aq", "--filter", &filter]));
        }
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(containers.iter().map(String::as_str));
            let _ = docker(&args);
        }
        // By id: a name may be ambiguous when a bug made duplicates.
        for net in &self.networks {
            let filter = format!("name={net}");
            for line in docker_lines(&[
                "network",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.ID}} {{.Name}}",
            ]) {
                if let Some((id, name)) = line.split_once(' ') {
                    if name == net {
                        let _ = docker(&["network", "rm", id]);
                    }
                }
            }
        }
        let mut volumes = docker_lines(&["volume", "ls", "-q", "--filter", &owner_filter]);
        volumes.extend(self.volumes.iter().cloned());
        for vol in &volumes {
            let out = docker(&["volume", "rm", "-f", vol]);
            if !out.status.success() {
                eprintln!(
                    "cleanup: docker volume rm {vol} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Config snippets
// ---------------------------------------------------------------------------

/// `[[application]]`/`[[database]]`; `container` and `clone_of` optional,
/// `aliases` always written (unlike `common::config::resource`).
fn resource(
    kind: &str,
    name: &str,
    destination: &str,
    container: Option<&str>,
    aliases: &[&str],
    clone_of: Option<&str>,
) -> String {
    let mut text = resource_head(kind, name, destination);
    if let Some(container) = container {
        text += &format!("container = \"{container}\"\n");
    }
    text += &aliases_line(aliases);
    if let Some(source) = clone_of {
        text += &format!("clone_of = \"{source}\"\n");
    }
    text
}

// ---------------------------------------------------------------------------
// berth steps and plan helpers
// ---------------------------------------------------------------------------

/// The one `clone` change of a plan; panics (showing the run) otherwise.
fn the_clone<'a>(run: &Run, plan: &'a Value) -> &'a Value {
    let clones: Vec<&Value> = changes(plan)
        .iter()
        .filter(|c| c["action"] == "clone")
        .collect();
    assert_eq!(
        clones.len(),
        1,
        "expected exactly one `clone` change\n{run}"
    );
    clones[0]
}

fn members(run: &Run, clone: &Value) -> Vec<Value> {
    clone["clone"]["members"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("clone change has no clone.members\n{run}"))
}

fn reasons(change: &Value) -> String {
    strings(&change["reasons"]).join("\n")
}

/// Panics when `secret` occurs anywhere in the run's stdout or stderr.
fn assert_secret_absent(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "an env value leaked into berth's output\n{run}"
    );
}

// ---------------------------------------------------------------------------
// Docker helpers
// ---------------------------------------------------------------------------

/// `docker inspect --format '{{json EXPR}}' NAME` on `docker` (local or d2).
fn inspect_json(docker_ok: impl Fn(&[&str]) -> String, what: &str, expr: &str) -> Value {
    let format = format!("{{{{json {expr}}}}}");
    let text = docker_ok(&["inspect", "--format", &format, what]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn local_inspect(what: &str, expr: &str) -> Value {
    inspect_json(docker_ok, what, expr)
}

fn labels_of(inspect: impl Fn(&str, &str) -> Value, container: &str) -> Value {
    inspect(container, ".Config.Labels")
}

/// A container's aliases on `network` without the short id Docker adds.
fn user_aliases(networks: &Value, id: &str, network: &str) -> BTreeSet<String> {
    let aliases = networks
        .get(network)
        .unwrap_or_else(|| panic!("not attached to {network}: {networks}"));
    strings(&aliases["Aliases"])
        .into_iter()
        .filter(|a| !(a.len() == 12 && id.starts_with(a.as_str())))
        .collect()
}

fn network_names(networks: &Value) -> BTreeSet<String> {
    networks
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// No published host port: `PortBindings` is null or `{}`, and `docker port`
/// lists nothing.
fn assert_no_published_ports(container: &str) {
    let bindings = local_inspect(container, ".HostConfig.PortBindings");
    assert!(
        bindings.is_null() || bindings.as_object().is_some_and(|m| m.is_empty()),
        "{container} publishes ports: {bindings}"
    );
    assert_eq!(
        docker_ok(&["port", container]),
        "",
        "docker port {container} lists published ports"
    );
}

/// The named volume mounted at `path` in `container`, if any.
fn volume_at(inspect: impl Fn(&str, &str) -> Value, container: &str, path: &str) -> Option<String> {
    let mounts = inspect(container, ".Mounts");
    mounts.as_array()?.iter().find_map(|m| {
        (m["Destination"] == path && m["Type"] == "volume")
            .then(|| m["Name"].as_str().map(str::to_string))
            .flatten()
    })
}

/// Runs `docker exec CONTAINER ARGS...` until it succeeds (at most `secs`),
/// returning its trimmed stdout; panics with the last output otherwise.
fn exec_until_ok(container: &str, args: &[&str], secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut full = vec!["exec", container];
        full.extend(args);
        let out = docker(&full);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "docker {} kept failing: {}{}",
            full.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        thread::sleep(Duration::from_millis(300));
    }
}

// ---------------------------------------------------------------------------
// 1. Same server: application clone
// ---------------------------------------------------------------------------

#[test]
fn same_server_application_clone_gets_fresh_volume_no_ports_env_and_labels_without_leaking_env() {
    ensure_image();
    let owner = unique("own");
    let mut sweep = Sweep::new(&owner);
    let cleanup = Cleanup::new();
    let net_a = cleanup.network(&unique("prod"));
    let net_b = cleanup.network(&unique("stg"));
    let source = cleanup.container(&unique("api"));
    // The clone's resource name; its container defaults to the same name.
    let clone = cleanup.container(&unique("apistg"));
    let vol = unique("apidata");
    let fresh = format!("{vol}-{clone}");
    sweep.volumes.extend([vol.clone(), fresh.clone()]);
    let secret = format!("tok-{}", unique("s3cr3t"));
    let env = format!("API_TOKEN={secret}");
    let data = format!("{vol}:/data");

    docker_ok(&["network", "create", &net_a]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &source,
        "--network",
        &net_a,
        "--network-alias",
        "api",
        "-e",
        &env,
        "-e",
        "LOG_LEVEL=debug",
        "-v",
        &data,
        "-p",
        "0:80",
        "--restart",
        "unless-stopped",
        "--label",
        "team=core",
        TEST_IMAGE,
        "sh",
        "-c",
        "sleep 3600",
    ]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net_a)
            + &destination("staging", "local", &net_b)
            + &resource("application", "api", "prod", Some(&source), &["api"], None)
            + &resource(
                "application",
                &clone,
                "staging",
                None,
                &["api-staging", "api-stg"],
                Some("api"),
            )),
    );

    // Plan, human: the clone, env names, never the value.
    let human = p.berth(&["plan"]);
    human.expect_code(0);
    assert_secret_absent(&human, &secret);
    assert!(
        human.stdout.contains("clone") && human.stdout.contains(&clone),
        "the human plan shows the clone\n{human}"
    );
    assert!(
        human.stdout.contains("API_TOKEN"),
        "the human plan names the env variables it copies\n{human}"
    );

    // Plan, JSON.
    let (run, plan) = plan_detailed(&p, 2);
    assert_secret_absent(&run, &secret);
    let c = the_clone(&run, &plan);
    assert_eq!(c["status"], "planned", "{run}");
    assert_eq!(c["server"], "local", "{run}");
    assert_eq!(c["destination"], "staging", "{run}");
    assert_eq!(c["network"], net_b.as_str(), "{run}");
    assert_eq!(c["container"], clone.as_str(), "{run}");
    assert_eq!(
        string_set(&c["aliases"]),
        set(&["api-staging", "api-stg"]),
        "{run}"
    );
    assert_eq!(
        c["resource"],
        json!({"kind": "application", "name": clone}),
        "{run}"
    );
    assert_eq!(c["clone"]["source_server"], "local", "{run}");
    assert_eq!(
        c["clone"]["source"],
        json!({"kind": "application", "name": "api"}),
        "{run}"
    );
    assert_eq!(
        c["clone"]["image_transfer"], false,
        "same server: no image transfer\n{run}"
    );
    let ms = members(&run, c);
    assert_eq!(ms.len(), 1, "one member\n{run}");
    let m = &ms[0];
    assert_eq!(m["source"], source.as_str(), "{run}");
    assert_eq!(m["target"], clone.as_str(), "{run}");
    assert_eq!(m["image"], TEST_IMAGE, "{run}");
    assert_eq!(m["start"], true, "the source runs\n{run}");
    let env_names = strings(&m["env"]);
    assert!(
        env_names.contains(&"API_TOKEN".to_string())
            && env_names.contains(&"LOG_LEVEL".to_string()),
        "env names listed\n{run}"
    );
    assert!(
        env_names.iter().all(|n| !n.contains('=')),
        "env entries are names only\n{run}"
    );
    assert_eq!(
        m["volumes"],
        json!([{"source": vol, "target": fresh, "path": "/data"}]),
        "{run}"
    );
    assert!(
        strings(&m["dropped_ports"])
            .iter()
            .any(|p| p.contains("80")),
        "the published port is dropped on the same server\n{run}"
    );
    assert!(strings(&m["ports"]).is_empty(), "{run}");
    assert!(
        !warnings_of(&plan, "clone_ports_dropped").is_empty(),
        "warning clone_ports_dropped\n{run}"
    );
    assert!(
        !docker(&["inspect", "--type", "container", &clone])
            .status
            .success(),
        "plan must not create anything\n{run}"
    );

    // Apply.
    let run = apply(&p, &[], 0);
    assert_secret_absent(&run, &secret);

    assert!(container_running(&clone), "the clone runs\n{run}");
    let networks = local_inspect(&clone, ".NetworkSettings.Networks");
    assert_eq!(
        network_names(&networks),
        set(&[&net_b]),
        "attached only to its destination's network\n{run}"
    );
    assert_eq!(
        user_aliases(&networks, &container_id(&clone), &net_b),
        set(&["api-staging", "api-stg"]),
        "{run}"
    );

    // Fresh, empty volume: data written into the source's is not there.
    assert_eq!(
        volume_at(local_inspect, &clone, "/data").as_deref(),
        Some(fresh.as_str()),
        "{run}"
    );
    assert_eq!(
        volume_at(local_inspect, &source, "/data").as_deref(),
        Some(vol.as_str()),
        "the source keeps its volume"
    );
    docker_ok(&["exec", &source, "sh", "-c", "echo x > /data/marker"]);
    assert_eq!(
        docker_ok(&["exec", &source, "ls", "/data"]),
        "marker",
        "the marker is in the source's volume"
    );
    let listing = docker_ok(&["exec", &clone, "ls", "/data"]);
    assert!(
        !listing.contains("marker"),
        "the clone shares the source's data: ls /data = {listing:?}"
    );

    // No published port, env copied, command, restart policy.
    assert_no_published_ports(&clone);
    assert!(
        !docker_ok(&["port", &source]).is_empty(),
        "the source keeps its port"
    );
    let clone_env = strings(&local_inspect(&clone, ".Config.Env"));
    assert!(
        clone_env.contains(&env) && clone_env.contains(&"LOG_LEVEL=debug".to_string()),
        "env copied: {clone_env:?}"
    );
    assert_eq!(
        local_inspect(&clone, ".Config.Cmd"),
        json!(["sh", "-c", "sleep 3600"])
    );
    assert_eq!(
        local_inspect(&clone, ".HostConfig.RestartPolicy.Name"),
        "unless-stopped"
    );

    // Labels: the source's plus berth's.
    let labels = labels_of(local_inspect, &clone);
    for (key, value) in [
        ("team", "core"),
        ("berth.managed", "true"),
        ("berth.owner", owner.as_str()),
        ("berth.destination", "staging"),
        ("berth.resource", clone.as_str()),
        ("berth.kind", "application"),
        ("berth.clone-of", "api"),
    ] {
        assert_eq!(labels[key], value, "label {key} of the clone: {labels}");
    }

    // The source is untouched.
    assert!(container_running(&source));
    assert_eq!(
        container_networks(&source)
            .into_keys()
            .collect::<BTreeSet<_>>(),
        set(&[&net_a]),
        "the source's networks changed"
    );

    // Now an ordinary resource: no second clone.
    assert_settled(&p);
    let human = p.berth(&["plan"]);
    human.expect_code(0);
    assert_secret_absent(&human, &secret);
}

// ---------------------------------------------------------------------------
// 2. Across servers: database clone, image streamed
// ---------------------------------------------------------------------------

#[test]
fn cross_server_database_clone_streams_the_image_and_runs_on_the_target_destination() {
    ensure_image();
    let owner = unique("own");
    let mut sweep = Sweep::new(&owner);
    let cleanup = Cleanup::new();
    let d2 = SecondDaemon::start();
    let net_local = cleanup.network(&unique("data"));
    let net_remote = unique("rdata");
    let source = cleanup.container(&unique("pg"));
    let clone = unique("pgcopy");
    let vol = unique("pgdata");
    let fresh = format!("{vol}-{clone}");
    sweep.volumes.push(vol.clone());
    let secret = format!("pw-{}", unique("hunter2"));
    let env = format!("POSTGRES_PASSWORD={secret}");
    let data = format!("{vol}:/var/lib/db");

    assert!(
        !d2.docker(&["image", "inspect", TEST_IMAGE])
            .status
            .success(),
        "the second daemon starts without the test image"
    );
    docker_ok(&["network", "create", &net_local]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &source,
        "--network",
        &net_local,
        "--network-alias",
        "pg",
        "-e",
        &env,
        "-v",
        &data,
        "-p",
        "0:5432",
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &server("remote", &d2.address())
            + &destination("data", "local", &net_local)
            + &destination("remote-data", "remote", &net_remote)
            + &resource("database", "pg", "data", Some(&source), &["pg"], None)
            + &resource(
                "database",
                &clone,
                "remote-data",
                None,
                &["pg", "db"],
                Some("pg"),
            )),
    );

    // Plan: one clone on the remote server, with an image transfer.
    let (run, plan) = plan_detailed(&p, 2);
    assert_secret_absent(&run, &secret);
    let c = the_clone(&run, &plan);
    assert_eq!(c["status"], "planned", "{run}");
    assert_eq!(c["server"], "remote", "{run}");
    assert_eq!(c["network"], net_remote.as_str(), "{run}");
    assert_eq!(c["container"], clone.as_str(), "{run}");
    assert_eq!(
        c["resource"],
        json!({"kind": "database", "name": clone}),
        "{run}"
    );
    assert_eq!(c["clone"]["source_server"], "local", "{run}");
    assert_eq!(
        c["clone"]["source"],
        json!({"kind": "database", "name": "pg"}),
        "{run}"
    );
    assert_eq!(c["clone"]["image_transfer"], true, "{run}");
    let why = reasons(c);
    assert!(
        why.contains(TEST_IMAGE)
            && why.contains("is not on server remote")
            && why.contains("streams it from local"),
        "the plan says the image is streamed\n{run}"
    );
    let ms = members(&run, c);
    assert_eq!(ms.len(), 1, "{run}");
    assert!(
        strings(&ms[0]["env"]).contains(&"POSTGRES_PASSWORD".to_string()),
        "{run}"
    );
    assert!(
        !strings(&ms[0]["ports"]).is_empty() && strings(&ms[0]["dropped_ports"]).is_empty(),
        "across servers published ports are kept\n{run}"
    );
    assert!(
        warnings_of(&plan, "clone_ports_dropped").is_empty(),
        "no port warning across servers\n{run}"
    );
    let human = p.berth(&["plan"]);
    human.expect_code(0);
    assert_secret_absent(&human, &secret);

    // --no-image-transfer: blocked, plan and apply exit 3, nothing happens.
    let (run, plan) = plan_json(&p, &["--no-image-transfer"], 3);
    let c = the_clone(&run, &plan);
    assert_eq!(c["status"], "blocked", "{run}");
    assert!(
        reasons(c).contains("--no-image-transfer"),
        "the reason names the flag\n{run}"
    );
    let run = apply(&p, &["--no-image-transfer"], 3);
    assert_secret_absent(&run, &secret);
    assert!(
        !d2.docker(&["image", "inspect", TEST_IMAGE])
            .status
            .success(),
        "a blocked apply streamed the image\n{run}"
    );
    assert!(
        !d2.docker(&["inspect", "--type", "container", &clone])
            .status
            .success(),
        "a blocked apply created the clone\n{run}"
    );

    // Apply: the image arrives, the clone runs on the remote destination.
    let run = apply(&p, &[], 0);
    assert_secret_absent(&run, &secret);
    d2.docker_ok(&["image", "inspect", TEST_IMAGE]);
    let remote = |what: &str, expr: &str| inspect_json(|a| d2.docker_ok(a), what, expr);
    assert_eq!(
        remote(&clone, ".State.Running"),
        true,
        "the clone runs on the remote server\n{run}"
    );
    let networks = remote(&clone, ".NetworkSettings.Networks");
    assert_eq!(
        network_names(&networks),
        set(&[&net_remote]),
        "attached only to the remote destination's network\n{run}"
    );
    let id = d2.docker_ok(&["inspect", "--format", "{{.Id}}", &clone]);
    assert_eq!(
        user_aliases(&networks, &id, &net_remote),
        set(&["pg", "db"]),
        "{run}"
    );
    assert_eq!(
        volume_at(remote, &clone, "/var/lib/db").as_deref(),
        Some(fresh.as_str()),
        "a fresh volume on the remote server\n{run}"
    );
    assert!(
        strings(&remote(&clone, ".Config.Env")).contains(&env),
        "env copied"
    );
    let bindings = remote(&clone, ".HostConfig.PortBindings");
    assert!(
        bindings.get("5432/tcp").is_some(),
        "the published port is kept across servers: {bindings}"
    );
    let labels = labels_of(remote, &clone);
    for (key, value) in [
        ("berth.managed", "true"),
        ("berth.owner", owner.as_str()),
        ("berth.destination", "remote-data"),
        ("berth.resource", clone.as_str()),
        ("berth.kind", "database"),
        ("berth.clone-of", "pg"),
    ] {
        assert_eq!(labels[key], value, "label {key} of the clone: {labels}");
    }
    // Nothing of the clone on the local server; the source untouched.
    assert!(
        !docker(&["inspect", "--type", "container", &clone])
            .status
            .success(),
        "the clone appeared on the local server"
    );
    assert!(container_running(&source));

    assert_settled(&p);
}

// ---------------------------------------------------------------------------
// 3. A compose stack clones as a whole
// ---------------------------------------------------------------------------

/// `web` serves its own hostname (= its short container id), so a request
/// tells which container answered; `data` is a compose volume.
const STACK: &str = r#"version: "2.4"
services:
  web:
    image: berth-test/busybox:1
    command: ["sh", "-c", "busybox mkdir -p /www && busybox hostname > /www/index.html && exec httpd -f -p 80 -h /www"]
    volumes:
      - data:/www
  worker:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
volumes:
  data: {}
"#;

#[test]
fn stack_clone_runs_under_a_new_project_and_services_reach_each_other_by_name() {
    ensure_image();
    let owner = unique("own");
    let old = unique_project("shop");
    let new = unique_project("shopstg");
    let new_net = format!("{new}_default");
    let mut sweep = Sweep::new(&owner);
    sweep.projects.extend([old.clone(), new.clone()]);
    sweep.networks.push(new_net.clone());
    sweep
        .volumes
        .extend([format!("{old}_data"), format!("{new}_data")]);
    let cleanup = Cleanup::new();
    let net_a = cleanup.network(&unique("prod"));
    let net_b = cleanup.network(&unique("stg"));
    let new_web = cleanup.container(&format!("{new}_web_1"));
    let new_worker = cleanup.container(&format!("{new}_worker_1"));
    cleanup.network(&new_net);
    let stack = ComposeStack::new(&old, STACK);
    stack.up(&[]);
    let originals = stack.containers();
    assert_eq!(
        originals,
        vec![format!("{old}_web_1"), format!("{old}_worker_1")]
    );

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net_a)
            + &destination("staging", "local", &net_b)
            + &service("shop", "prod", &old, false, None)
            + &service("shopstg", "staging", &new, true, Some("shop"))),
    );

    let (run, plan) = plan_detailed(&p, 2);
    let c = the_clone(&run, &plan);
    assert_eq!(c["status"], "planned", "{run}");
    assert_eq!(c["server"], "local", "{run}");
    assert_eq!(c["network"], net_b.as_str(), "{run}");
    assert_eq!(
        c["resource"],
        json!({"kind": "service", "name": "shopstg"}),
        "{run}"
    );
    assert_eq!(c["clone"]["source_project"], old.as_str(), "{run}");
    assert_eq!(c["clone"]["target_project"], new.as_str(), "{run}");
    assert_eq!(c["clone"]["connect_to_destination"], true, "{run}");
    let ms = members(&run, c);
    let pairs: BTreeSet<(String, String)> = ms
        .iter()
        .map(|m| {
            (
                m["source"].as_str().unwrap_or("").to_string(),
                m["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        BTreeSet::from([
            (format!("{old}_web_1"), new_web.clone()),
            (format!("{old}_worker_1"), new_worker.clone()),
        ]),
        "one member per source container, project prefix rewritten\n{run}"
    );
    let web_member = ms
        .iter()
        .find(|m| m["target"] == new_web.as_str())
        .expect("web member");
    assert_eq!(
        web_member["volumes"],
        json!([{"source": format!("{old}_data"), "target": format!("{new}_data"), "path": "/www"}]),
        "compose volumes are renamed with the project\n{run}"
    );

    let run = apply(&p, &[], 0);

    // Both services under the new project, running, on the new stack network
    // (compose service name as alias) and on B (alias <service>-<project>).
    assert_eq!(
        containers_labelled("com.docker.compose.project", &new),
        vec![new_web.clone(), new_worker.clone()],
        "{run}"
    );
    assert!(network_exists(&new_net), "{new_net} was not created\n{run}");
    let net_labels = local_inspect(&new_net, ".Labels");
    assert_eq!(
        net_labels["com.docker.compose.project"],
        new.as_str(),
        "{net_labels}"
    );
    for (container, svc) in [(&new_web, "web"), (&new_worker, "worker")] {
        assert!(container_running(container), "{container} runs\n{run}");
        let labels = labels_of(local_inspect, container);
        assert_eq!(
            labels["com.docker.compose.project"],
            new.as_str(),
            "{labels}"
        );
        assert_eq!(labels["com.docker.compose.service"], svc, "{labels}");
        assert_eq!(labels["berth.clone-of"], "shop", "{labels}");
        let networks = local_inspect(container, ".NetworkSettings.Networks");
        assert_eq!(
            network_names(&networks),
            set(&[&new_net, &net_b]),
            "{container}: only the new stack network and the destination\n{run}"
        );
        let id = container_id(container);
        assert!(
            user_aliases(&networks, &id, &new_net).contains(svc),
            "{container} has alias {svc} on {new_net}: {networks}"
        );
        assert_eq!(
            user_aliases(&networks, &id, &net_b),
            set(&[&format!("{svc}-{new}")]),
            "{container} on the destination network: {networks}"
        );
    }
    assert_eq!(
        volume_at(local_inspect, &new_web, "/www").as_deref(),
        Some(format!("{new}_data").as_str()),
        "the clone's web has its own volume"
    );

    // The clone's worker reaches the clone's web by service name, and by
    // its destination alias.
    let web_host = container_id(&new_web)[..12].to_string();
    let answer = exec_until_ok(
        &new_worker,
        &["busybox", "wget", "-q", "-O-", "http://web/"],
        20,
    );
    assert_eq!(
        answer, web_host,
        "`web` on the new stack network is the clone's web"
    );
    let alias_url = format!("http://web-{new}/");
    let answer = exec_until_ok(
        &new_worker,
        &["busybox", "wget", "-q", "-O-", &alias_url],
        20,
    );
    assert_eq!(answer, web_host, "{alias_url} is the clone's web");

    // The original stack is untouched.
    assert_eq!(stack.containers(), originals);
    for container in &originals {
        assert!(container_running(container), "{container} stopped");
        assert_eq!(
            container_networks(container)
                .into_keys()
                .collect::<BTreeSet<_>>(),
            set(&[&stack.default_network()]),
            "{container} networks changed"
        );
    }

    assert_settled(&p);
}

// ---------------------------------------------------------------------------
// 4. Source container missing
// ---------------------------------------------------------------------------

#[test]
fn clone_of_a_missing_source_is_blocked_and_apply_creates_nothing() {
    ensure_image();
    let owner = unique("own");
    let _sweep = Sweep::new(&owner);
    let cleanup = Cleanup::new();
    let net_a = cleanup.network(&unique("prod"));
    let net_b = cleanup.network(&unique("stg"));
    let ghost = unique("gone");
    let clone = cleanup.container(&unique("apicopy"));

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net_a)
            + &destination("staging", "local", &net_b)
            + &resource("application", "api", "prod", Some(&ghost), &["api"], None)
            + &resource(
                "application",
                &clone,
                "staging",
                None,
                &["api"],
                Some("api"),
            )),
    );

    let (run, plan) = plan(&p, 3);
    let c = the_clone(&run, &plan);
    assert_eq!(c["status"], "blocked", "{run}");
    assert_eq!(c["container"], clone.as_str(), "{run}");
    assert_eq!(
        reasons(c),
        "source application api has no container on server local: nothing to clone",
        "{run}"
    );
    let human = p.berth(&["plan"]);
    human.expect_code(3);
    assert!(
        human.stdout.contains("BLOCKED")
            && human
                .stdout
                .contains("source application api has no container on server local"),
        "the human plan shows the blocked clone and why\n{human}"
    );

    let run = apply(&p, &[], 3);
    assert!(
        !docker(&["inspect", "--type", "container", &clone])
            .status
            .success(),
        "apply created the clone\n{run}"
    );
    assert!(
        !network_exists(&net_a) && !network_exists(&net_b),
        "a blocked apply created networks\n{run}"
    );
    assert!(
        docker_lines(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=berth.owner={owner}")
        ])
        .is_empty()
            && docker_lines(&[
                "volume",
                "ls",
                "-q",
                "--filter",
                &format!("label=berth.owner={owner}")
            ])
            .is_empty(),
        "a blocked apply left containers or volumes\n{run}"
    );
}

/// A clone berth made holds the network of a destination the config no
/// longer declares (its resource gone too): the blocked removal calls it a
/// clone of its source, in JSON and text, and its hint gives the command
/// that detaches it; run, the next plan removes the network.
#[test]
fn a_removal_blocked_by_a_clone_says_clone_of_and_how_to_detach_it() {
    ensure_image();
    let owner = unique("own");
    let _sweep = Sweep::new(&owner);
    let cleanup = Cleanup::new();
    let net_a = cleanup.network(&unique("prod"));
    let net_b = cleanup.network(&unique("stg"));
    let source = cleanup.container(&unique("api"));
    let clone = cleanup.container(&unique("apicopy"));
    docker_ok(&["network", "create", &net_a]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &source,
        "--network",
        &net_a,
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let p = Project::new();
    let kept = local_header(&owner)
        + &destination("prod", "local", &net_a)
        + &resource("application", "api", "prod", Some(&source), &["api"], None);
    p.write(
        "berth.toml",
        &(kept.clone()
            + &destination("staging", "local", &net_b)
            + &resource(
                "application",
                &clone,
                "staging",
                None,
                &["api"],
                Some("api"),
            )),
    );
    apply(&p, &[], 0);
    assert!(container_running(&clone), "the clone runs");

    // The staging destination and the clone leave the config.
    p.write("berth.toml", &kept);
    let (run, blocked) = plan(&p, 3);
    let removal = changes_for(&blocked, &net_b)
        .into_iter()
        .find(|c| c["action"] == "remove_network")
        .unwrap_or_else(|| panic!("no removal of {net_b}\n{run}"));
    assert_eq!(removal["status"], "blocked", "{run}");
    assert_eq!(removal["verb"], "remove network", "{run}");
    assert_eq!(
        removal["attached"],
        json!([{
            "container": clone,
            "kind": "application",
            "resource": clone,
            "running": true,
            "clone_of": "api",
        }]),
        "{run}"
    );
    let detach = format!("docker network disconnect {net_b} {clone}");
    let hint = removal["hint"].as_str().unwrap_or_default();
    assert!(hint.contains(&format!("`{detach}`")), "{run}");
    let human = p.berth(&["plan"]);
    human.expect_code(3);
    assert!(
        human.stdout.contains(&format!(
            "container {clone} (application {clone}, clone of api, running) is attached to {net_b}"
        )) && human.stdout.contains(&format!(
            "hint: to unblock, detach it by hand, then plan again: `{detach}`"
        )),
        "the human plan calls it a clone and says how to unblock\n{human}"
    );

    // The hint's command unblocks it.
    let args: Vec<&str> = detach.split(' ').skip(1).collect();
    docker_ok(&args);
    let (run, unblocked) = plan(&p, 0);
    let removal = changes_for(&unblocked, &net_b)
        .into_iter()
        .find(|c| c["action"] == "remove_network")
        .unwrap_or_else(|| panic!("no removal of {net_b}\n{run}"));
    assert_eq!(removal["status"], "planned", "{run}");
    apply(&p, &[], 0);
    assert!(!network_exists(&net_b), "the network is removed");
    assert!(container_running(&clone), "berth never removes the clone");
}

// ---------------------------------------------------------------------------
// 5. A clone that fails half-way leaves nothing behind
// ---------------------------------------------------------------------------

#[test]
fn clone_failing_at_start_removes_what_it_made_and_the_next_apply_finishes_it() {
    ensure_image();
    let owner = unique("own");
    let mut sweep = Sweep::new(&owner);
    let cleanup = Cleanup::new();
    let d2 = SecondDaemon::start();
    d2.load_image(TEST_IMAGE);
    let net_local = cleanup.network(&unique("app"));
    let net_remote = unique("rapp");
    let source = cleanup.container(&unique("api"));
    let clone = unique("apicopy");
    let vol = unique("apidata");
    let fresh = format!("{vol}-{clone}");
    sweep.volumes.push(vol.clone());
    // A fixed host port: kept across servers, and taken there by `blocker`.
    let port = 40_000 + std::process::id() % 20_000;
    let publish = format!("{port}:80");
    let data = format!("{vol}:/data");

    docker_ok(&["network", "create", &net_local]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &source,
        "--network",
        &net_local,
        "-v",
        &data,
        "-p",
        &publish,
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    d2.docker_ok(&[
        "run", "-d", "--name", "blocker", "-p", &publish, TEST_IMAGE, "sleep", "3600",
    ]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &server("remote", &d2.address())
            + &destination("app", "local", &net_local)
            + &destination("remote-app", "remote", &net_remote)
            + &resource("application", "api", "app", Some(&source), &["api"], None)
            + &resource(
                "application",
                &clone,
                "remote-app",
                None,
                &["api"],
                Some("api"),
            )),
    );

    let (run, plan) = plan(&p, 0);
    let c = the_clone(&run, &plan);
    assert_eq!(
        c["clone"]["image_transfer"], false,
        "the image is already there\n{run}"
    );

    // The start fails (port taken): the container and its fresh volume go.
    let run = apply(&p, &[], 1);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(
        output.contains("nothing was left behind"),
        "apply says nothing was left behind\n{run}"
    );
    assert!(
        !d2.docker(&["inspect", "--type", "container", &clone])
            .status
            .success(),
        "the half-made clone is still there\n{run}"
    );
    assert!(
        !d2.docker(&["volume", "inspect", &fresh]).status.success(),
        "the clone's fresh volume is still there\n{run}"
    );

    // Port free again: the next apply finishes the clone.
    d2.docker_ok(&["rm", "-f", "blocker"]);
    let run = apply(&p, &[], 0);
    assert_eq!(
        d2.docker_ok(&["inspect", "--format", "{{.State.Running}}", &clone]),
        "true",
        "{run}"
    );
    assert_settled(&p);
}

// ---------------------------------------------------------------------------
// 6. A stack clone whose network is left over is finished, not duplicated
// ---------------------------------------------------------------------------

const ONE_SERVICE: &str = r#"version: "2.4"
services:
  worker:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
"#;

/// Ids of the local networks named exactly `name`.
fn networks_named(name: &str) -> Vec<String> {
    let filter = format!("name={name}");
    docker_lines(&[
        "network",
        "ls",
        "--filter",
        &filter,
        "--format",
        "{{.ID}} {{.Name}}",
    ])
    .into_iter()
    .filter_map(|l| {
        let (id, n) = l.split_once(' ')?;
        (n == name).then(|| id.to_string())
    })
    .collect()
}

#[test]
fn stack_clone_with_its_network_left_over_is_recloned_without_a_duplicate_network() {
    ensure_image();
    let owner = unique("own");
    let old = unique_project("left");
    let new = unique_project("leftstg");
    let new_net = format!("{new}_default");
    let mut sweep = Sweep::new(&owner);
    sweep.projects.extend([old.clone(), new.clone()]);
    sweep.networks.push(new_net.clone());
    let cleanup = Cleanup::new();
    let net_a = cleanup.network(&unique("prod"));
    let net_b = cleanup.network(&unique("stg"));
    let stack = ComposeStack::new(&old, ONE_SERVICE);
    stack.up(&[]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net_a)
            + &destination("staging", "local", &net_b)
            + &service("left", "prod", &old, false, None)
            + &service("leftstg", "staging", &new, false, Some("left"))),
    );
    apply(&p, &[], 0);
    let clone = format!("{new}_worker_1");
    assert!(container_running(&clone));
    assert_eq!(networks_named(&new_net).len(), 1);

    // Someone removes the clone's containers (as `docker rm` does), not its
    // network: the next plan clones again, and apply must finish it.
    docker_ok(&["rm", "-f", &clone]);
    let (run, plan) = plan(&p, 0);
    assert_eq!(the_clone(&run, &plan)["status"], "planned", "{run}");
    let run = p.berth(&["apply", "--yes"]);
    let count = networks_named(&new_net).len();
    assert_eq!(
        count, 1,
        "{count} networks are named {new_net} after the second apply\n{run}"
    );
    run.expect_code(0);
    assert!(container_running(&clone), "{run}");
    assert_eq!(
        container_networks(&clone)
            .into_keys()
            .collect::<BTreeSet<_>>(),
        set(&[&new_net]),
        "{run}"
    );
    assert_settled(&p);
}

// ---------------------------------------------------------------------------
// A stack whose services share a volume (Coolify's chaskiq template)
// ---------------------------------------------------------------------------

const SHARED: &str = r#"version: "2.4"
services:
  app:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
    volumes:
      - storage:/data
  sidekiq:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
    volumes:
      - storage:/shared
volumes:
  storage: {}
"#;

#[test]
fn a_stack_clone_keeps_a_volume_its_services_share_shared() {
    ensure_image();
    let owner = unique("own");
    let old = unique_project("chask");
    let new = unique_project("chaskstg");
    let mut sweep = Sweep::new(&owner);
    sweep.projects.extend([old.clone(), new.clone()]);
    sweep.networks.push(format!("{new}_default"));
    sweep
        .volumes
        .extend([format!("{old}_storage"), format!("{new}_storage")]);
    let cleanup = Cleanup::new();
    let net = cleanup.network(&unique("prod"));
    let stack = ComposeStack::new(&old, SHARED);
    stack.up(&[]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &service("chaskiq", "prod", &old, false, None)
            + &service("chaskiq-stg", "prod", &new, false, Some("chaskiq"))),
    );
    let run = apply(&p, &[], 0);
    let (app, sidekiq) = (format!("{new}_app_1"), format!("{new}_sidekiq_1"));
    let fresh = format!("{new}_storage");
    assert_eq!(
        volume_at(local_inspect, &app, "/data").as_deref(),
        Some(fresh.as_str()),
        "{run}"
    );
    assert_eq!(
        volume_at(local_inspect, &sidekiq, "/shared").as_deref(),
        Some(fresh.as_str()),
        "both copies mount the one fresh volume\n{run}"
    );
    // Shared for real: what one writes, the other reads.
    exec_until_ok(&app, &["sh", "-c", "echo shared > /data/probe"], 20);
    assert_eq!(
        exec_until_ok(&sidekiq, &["cat", "/shared/probe"], 20),
        "shared"
    );
    assert_eq!(
        docker_lines(&["volume", "ls", "-q", "--filter", &format!("name=^{new}_")]),
        vec![fresh.clone()],
        "one fresh volume, not one per mount"
    );
    assert_settled(&p);
}

//! Assignments end to end (issue 3): applications, databases and compose
//! stacks connected to their destinations, alias fixes, moves between
//! destinations, missing containers, and the complete removal guard with
//! its dependency warnings. The real `berth` binary against the real local
//! Docker Engine; compose stacks are started with the real compose tool.
//!
//! Each test uses its own `owner` and its own names, registered with a
//! `Cleanup` guard before anything is created.

use std::collections::BTreeSet;

use crate::common::config::{destination, local_header, resource, service};
use crate::common::plan::{
    apply, assert_no_changes, assert_settled, changes, plan, plan_detailed, set, string_set,
    warnings_of,
};
use crate::common::{
    Cleanup, ComposeStack, Project, Run, container_id, container_networks, container_running,
    docker_ok, ensure_image, network_containers, network_exists, run_container, unique,
    unique_project,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Plan and container helpers
// ---------------------------------------------------------------------------

/// The changes of `action` that concern `container`.
fn changes_of<'a>(plan: &'a Value, action: &str, container: &str) -> Vec<&'a Value> {
    changes(plan)
        .iter()
        .filter(|c| c["action"] == action && c["container"] == container)
        .collect()
}

/// The one change of `action` for `container`; panics (showing the run)
/// unless there is exactly one.
fn the_change<'a>(run: &Run, plan: &'a Value, action: &str, container: &str) -> &'a Value {
    let found = changes_of(plan, action, container);
    assert_eq!(
        found.len(),
        1,
        "expected one `{action}` of container {container}\n{run}"
    );
    found[0]
}

/// The aliases `container` has on `network` as a user set them: without the
/// 12-character short id Docker 20.10 adds by itself. Panics when the
/// container is not attached to `network`.
fn user_aliases(container: &str, network: &str) -> BTreeSet<String> {
    let networks = container_networks(container);
    let aliases = networks
        .get(network)
        .unwrap_or_else(|| panic!("{container} is not attached to {network}: {networks:?}"));
    let id = container_id(container);
    aliases
        .iter()
        .filter(|a| !(a.len() == 12 && id.starts_with(a.as_str())))
        .cloned()
        .collect()
}

/// The network names a container is attached to.
fn networks_of(container: &str) -> BTreeSet<String> {
    container_networks(container).into_keys().collect()
}

/// A label of a container.
fn container_label(container: &str, key: &str) -> String {
    let format = format!("{{{{index .Config.Labels \"{key}\"}}}}");
    docker_ok(&[
        "inspect",
        "--type",
        "container",
        "--format",
        &format,
        container,
    ])
}

/// Runs `docker run -d --name NAME EXTRA... IMAGE sleep 3600`.
fn run_with(name: &str, extra: &[&str]) {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend(extra);
    args.extend([crate::common::TEST_IMAGE, "sleep", "3600"]);
    docker_ok(&args);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn application_gets_two_aliases_then_changed_aliases_are_fixed_in_one_change() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("appnet"));
    let container = cleanup.container(&unique("api"));
    // On Docker's default bridge only, as `docker run` leaves it.
    run_container(&container, "bridge", &[]);

    let p = Project::new();
    let config = |aliases: &[&str]| {
        local_header(&owner)
            + &destination("prod", "local", &net)
            + &resource("application", "api", "prod", &container, Some(aliases))
    };
    p.write("berth.toml", &config(&["api-a", "api-b"]));

    let (run, plan) = plan_detailed(&p, 2);
    let connect = the_change(&run, &plan, "connect", &container);
    assert_eq!(connect["network"], net.as_str(), "{run}");
    assert_eq!(connect["server"], "local", "{run}");
    assert_eq!(connect["destination"], "prod", "{run}");
    assert_eq!(connect["status"], "planned", "{run}");
    assert_eq!(
        connect["resource"],
        json!({"kind": "application", "name": "api"}),
        "{run}"
    );
    assert_eq!(
        string_set(&connect["aliases"]),
        set(&["api-a", "api-b"]),
        "{run}"
    );
    assert!(
        connect.get("live_aliases").is_none_or(Value::is_null),
        "a first connect has no live aliases\n{run}"
    );
    assert!(
        !networks_of(&container).contains(&net),
        "plan must not connect anything\n{run}"
    );

    let run = apply(&p, &[], 0);
    assert!(
        network_containers(&net).contains(&container),
        "docker network inspect {net} does not list {container}\n{run}"
    );
    assert_eq!(
        user_aliases(&container, &net),
        set(&["api-a", "api-b"]),
        "aliases after apply\n{run}"
    );
    assert!(
        networks_of(&container).contains("bridge"),
        "the container left its own network\n{run}"
    );
    assert_settled(&p);

    // New aliases: Docker cannot edit them in place; berth shows one change.
    p.write("berth.toml", &config(&["api-c", "api-a", "api-d"]));
    let (run, plan) = plan_detailed(&p, 2);
    assert_eq!(changes(&plan).len(), 1, "exactly one change\n{run}");
    let fix = the_change(&run, &plan, "connect", &container);
    assert_eq!(fix["network"], net.as_str(), "{run}");
    assert_eq!(
        string_set(&fix["live_aliases"]),
        set(&["api-a", "api-b"]),
        "live_aliases are the aliases it has now\n{run}"
    );
    assert_eq!(
        string_set(&fix["aliases"]),
        set(&["api-a", "api-c", "api-d"]),
        "{run}"
    );
    assert!(
        fix["reasons"].as_array().is_some_and(|r| !r.is_empty()),
        "an alias fix says why\n{run}"
    );

    let run = apply(&p, &[], 0);
    assert_eq!(
        user_aliases(&container, &net),
        set(&["api-a", "api-c", "api-d"]),
        "new aliases live, old one gone\n{run}"
    );
    assert!(container_running(&container), "container stopped\n{run}");
    assert_settled(&p);

    // Aliases compare as sets: another order is no change.
    p.write("berth.toml", &config(&["api-d", "api-c", "api-a"]));
    assert_settled(&p);
}

const STACK_TWO_SERVICES: &str = r#"version: "2.4"
services:
  web:
    image: berth-test/busybox:1
    command: sleep 3600
  worker:
    image: berth-test/busybox:1
    command: sleep 3600
"#;

const STACK_ONE_SERVICE: &str = r#"version: "2.4"
services:
  web:
    image: berth-test/busybox:1
    command: sleep 3600
"#;

#[test]
fn compose_stack_is_connected_and_disconnected_by_connect_to_predefined_networks() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("stacknet"));
    let project = unique_project("stk");
    let other_project = unique_project("oth");
    let stack = ComposeStack::new(&project, STACK_TWO_SERVICES);
    let other = ComposeStack::new(&other_project, STACK_ONE_SERVICE);
    cleanup.network(&stack.default_network());
    cleanup.network(&other.default_network());
    stack.up(&[]);
    other.up(&[]);
    let containers = stack.containers();
    let other_containers = other.containers();
    for c in containers.iter().chain(&other_containers) {
        cleanup.container(c);
    }
    assert_eq!(containers.len(), 2, "two containers in {project}");
    assert_eq!(
        other_containers.len(),
        1,
        "one container in {other_project}"
    );
    let other_container = &other_containers[0];
    let other_networks_before = networks_of(other_container);

    let p = Project::new();
    // The service's name differs from its project: the alias uses the project.
    let config = |connect: bool| {
        local_header(&owner)
            + &destination("shared", "local", &net)
            + &service("monitoring", "shared", &project, connect, None)
    };

    // false: the stack is managed, but wanted on no destination network.
    p.write("berth.toml", &config(false));
    let (run, plan) = plan_detailed(&p, 2);
    assert!(
        changes(&plan)
            .iter()
            .all(|c| c["action"] == "create_network" && c["network"] == net.as_str()),
        "only the destination is created\n{run}"
    );
    apply(&p, &[], 0);
    assert!(network_exists(&net));
    for c in &containers {
        assert!(!networks_of(c).contains(&net), "{c} connected while false");
    }

    // true: every container of the stack, `<service>-<project>`.
    p.write("berth.toml", &config(true));
    let (run, plan) = plan_detailed(&p, 2);
    assert_eq!(
        changes(&plan).len(),
        containers.len(),
        "one connect per container of the stack\n{run}"
    );
    for c in &containers {
        let service = container_label(c, "com.docker.compose.service");
        let change = the_change(&run, &plan, "connect", c);
        assert_eq!(change["network"], net.as_str(), "{run}");
        assert_eq!(
            string_set(&change["aliases"]),
            set(&[&format!("{service}-{project}")]),
            "{run}"
        );
        assert_eq!(
            change["resource"],
            json!({"kind": "service", "name": "monitoring"}),
            "{run}"
        );
    }
    assert!(
        changes(&plan)
            .iter()
            .all(|c| c["container"] != other_container.as_str()),
        "a container of another project is in the plan\n{run}"
    );

    let run = apply(&p, &[], 0);
    for c in &containers {
        let service = container_label(c, "com.docker.compose.service");
        assert_eq!(
            user_aliases(c, &net),
            set(&[&format!("{service}-{project}")]),
            "aliases of {c} on {net}\n{run}"
        );
        assert!(
            networks_of(c).contains(&stack.default_network()),
            "{c} left its compose network\n{run}"
        );
    }
    assert!(
        network_containers(&net)
            .iter()
            .all(|c| containers.contains(c)),
        "docker network inspect {net} lists more than the stack\n{run}"
    );
    assert_eq!(
        networks_of(other_container),
        other_networks_before,
        "the other project's container was touched\n{run}"
    );
    assert_settled(&p);

    // A container that joins the stack later is picked up by the next plan.
    stack.up(&["--scale", "web=2"]);
    let scaled: Vec<String> = stack
        .containers()
        .into_iter()
        .filter(|c| !containers.contains(c))
        .collect();
    for c in &scaled {
        cleanup.container(c);
    }
    assert_eq!(scaled.len(), 1, "one new container after scaling up");
    let (run, plan) = plan_detailed(&p, 2);
    assert_eq!(
        changes(&plan).len(),
        1,
        "one connect, for the new one\n{run}"
    );
    let change = the_change(&run, &plan, "connect", &scaled[0]);
    assert_eq!(
        string_set(&change["aliases"]),
        set(&[&format!("web-{project}")]),
        "{run}"
    );
    apply(&p, &[], 0);
    let all = stack.containers();
    assert_settled(&p);

    // false again: those connections go; the compose network stays.
    p.write("berth.toml", &config(false));
    let (run, plan) = plan_detailed(&p, 2);
    assert_eq!(
        changes(&plan).len(),
        all.len(),
        "one disconnect per container of the stack\n{run}"
    );
    for c in &all {
        let change = the_change(&run, &plan, "disconnect", c);
        assert_eq!(change["network"], net.as_str(), "{run}");
    }
    let run = apply(&p, &[], 0);
    for c in &all {
        let networks = networks_of(c);
        assert!(!networks.contains(&net), "{c} still on {net}\n{run}");
        assert!(
            networks.contains(&stack.default_network()),
            "{c} left its compose network: {networks:?}\n{run}"
        );
    }
    assert!(network_exists(&stack.default_network()));
    assert_eq!(
        networks_of(other_container),
        other_networks_before,
        "the other project's container was touched\n{run}"
    );
    assert_settled(&p);
}

#[test]
fn removal_is_blocked_by_a_stopped_database_and_an_unmanaged_container() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("guard"));
    let db = cleanup.container(&unique("pg"));
    let stray = cleanup.container(&unique("stray"));
    let db_name = unique("orders-db");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("data", "local", &net)),
    );
    apply(&p, &[], 0);
    assert!(network_exists(&net));

    // A Coolify database, created and never started; an unlabelled one, running.
    let type_label = "coolify.type=database".to_string();
    let name_label = format!("coolify.resourceName={db_name}");
    docker_ok(&[
        "create",
        "--name",
        &db,
        "--network",
        &net,
        "--label",
        &type_label,
        "--label",
        &name_label,
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    run_container(&stray, &net, &[]);

    p.write("berth.toml", &local_header(&owner));
    let (run, plan) = plan(&p, 3);
    let removals: Vec<&Value> = changes(&plan)
        .iter()
        .filter(|c| c["action"] == "remove_network" && c["network"] == net.as_str())
        .collect();
    assert_eq!(removals.len(), 1, "one removal of {net}\n{run}");
    let removal = removals[0];
    assert_eq!(removal["status"], "blocked", "{run}");
    let attached = removal["attached"]
        .as_array()
        .unwrap_or_else(|| panic!("`attached` is missing\n{run}"));
    assert_eq!(attached.len(), 2, "two attached containers\n{run}");
    let entry = |name: &str| {
        attached
            .iter()
            .find(|a| a["container"] == name)
            .unwrap_or_else(|| panic!("`attached` does not list {name}\n{run}"))
    };
    assert_eq!(
        entry(&db),
        &json!({"container": db, "kind": "database", "resource": db_name, "running": false}),
        "{run}"
    );
    assert_eq!(
        entry(&stray),
        &json!({"container": stray, "kind": "unmanaged", "resource": null, "running": true}),
        "{run}"
    );
    let reasons = removal["reasons"].to_string();
    for name in [&db, &stray] {
        assert!(
            reasons.contains(name.as_str()),
            "reasons name {name}\n{run}"
        );
    }

    // Human output says so too.
    let human = p.berth(&["plan"]);
    human.expect_code(3);
    for name in [&db, &stray, &db_name] {
        assert!(
            human.stdout.contains(name.as_str()),
            "human plan names {name}\n{human}"
        );
    }

    let run = apply(&p, &[], 3);
    assert!(network_exists(&net), "a blocked removal happened\n{run}");
    assert!(
        networks_of(&db).contains(&net),
        "{db} was disconnected\n{run}"
    );
    assert!(
        networks_of(&stray).contains(&net),
        "{stray} was disconnected\n{run}"
    );
}

#[test]
fn removal_warns_about_env_references_bridges_and_proxies_without_printing_env_values() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("olddb"));
    let other_net = cleanup.network(&unique("backend"));
    let pg = cleanup.container(&unique("pg"));
    let client = cleanup.container(&unique("client"));
    let proxy = cleanup.container(&unique("traefik"));
    let alias = unique("pg-alias");
    let secret = format!("Sekr3t{}", unique("pw").replace('-', ""));
    let url = format!("postgres://u:{secret}@{alias}:5432/db");

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("legacy", "local", &net)),
    );
    apply(&p, &[], 0);
    docker_ok(&["network", "create", &other_net]);

    // pg on the network (with an alias) and on another one: it bridges them.
    run_container(&pg, &net, &[&alias]);
    docker_ok(&["network", "connect", &other_net, &pg]);
    // A client elsewhere whose env names pg's alias on the network.
    let env = format!("DATABASE_URL={url}");
    run_with(&client, &["--network", "bridge", "--env", &env]);
    // A proxy told to route into the network.
    let label = format!("traefik.docker.network={net}");
    run_with(&proxy, &["--network", "bridge", "--label", &label]);

    p.write("berth.toml", &local_header(&owner));
    let (run, plan) = plan(&p, 3);
    assert!(
        changes(&plan)
            .iter()
            .any(|c| c["action"] == "remove_network" && c["network"] == net.as_str()),
        "the removal of {net} is planned\n{run}"
    );

    let env_warnings = warnings_of(&plan, "env_references_network");
    let env_warning = env_warnings
        .iter()
        .find(|w| w["message"].as_str().is_some_and(|m| m.contains(&client)))
        .unwrap_or_else(|| panic!("no env_references_network warning naming {client}\n{run}"));
    let message = env_warning["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("DATABASE_URL"),
        "the warning names the env var\n{run}"
    );
    assert_eq!(env_warning["server"], "local", "{run}");

    let bridges = warnings_of(&plan, "bridges_network");
    assert!(
        bridges
            .iter()
            .any(|w| w["message"].as_str().is_some_and(|m| m.contains(&pg))),
        "no bridges_network warning naming {pg}\n{run}"
    );
    let proxies = warnings_of(&plan, "proxy_routes_into_network");
    assert!(
        proxies
            .iter()
            .any(|w| w["message"].as_str().is_some_and(|m| m.contains(&proxy))),
        "no proxy_routes_into_network warning naming {proxy}\n{run}"
    );

    let human = p.berth(&["plan"]);
    human.expect_code(3);
    assert!(
        human.stdout.contains("DATABASE_URL") || human.stderr.contains("DATABASE_URL"),
        "the human plan prints the warnings\n{human}"
    );
    let applied = apply(&p, &[], 3);
    assert!(
        network_exists(&net),
        "a blocked removal happened\n{applied}"
    );

    for r in [&run, &human, &applied] {
        for text in [&r.stdout, &r.stderr] {
            assert!(
                !text.contains(&secret) && !text.contains(&url),
                "an env value was printed\n{r}"
            );
        }
    }
}

#[test]
fn a_declared_application_without_container_is_missing_not_an_error() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("ghostnet"));
    let container = unique("never-deployed");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &resource("application", "web", "prod", &container, None)),
    );

    let check_missing = |run: &Run, plan: &Value| {
        let missing = plan["missing"]
            .as_array()
            .unwrap_or_else(|| panic!("plan has no `missing` array\n{run}"));
        let entry = missing
            .iter()
            .find(|m| m["container"] == container.as_str())
            .unwrap_or_else(|| panic!("`missing` does not list {container}\n{run}"));
        assert_eq!(
            entry["resource"],
            json!({"kind": "application", "name": "web"}),
            "{run}"
        );
        assert_eq!(entry["server"], "local", "{run}");
        assert!(
            entry["note"].as_str().is_some_and(|n| !n.is_empty()),
            "the missing entry has a note\n{run}"
        );
        assert!(
            changes(plan)
                .iter()
                .all(|c| c["container"] != container.as_str()),
            "a change for a container that does not exist\n{run}"
        );
    };

    let (run, plan) = plan(&p, 0);
    check_missing(&run, &plan);
    let human = p.berth(&["plan"]);
    human.expect_code(0);
    assert!(
        human.stdout.contains(&container),
        "the human plan names the missing container\n{human}"
    );

    apply(&p, &[], 0);
    assert!(network_exists(&net));

    // Only the missing container left: nothing to change.
    let (run, plan) = plan_detailed(&p, 0);
    assert_no_changes(&run, &plan);
    check_missing(&run, &plan);
    apply(&p, &[], 0);
}

#[test]
fn an_application_moved_to_another_destination_changes_networks() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let blue = cleanup.network(&unique("blue"));
    let green = cleanup.network(&unique("green"));
    let container = cleanup.container(&unique("app"));
    run_container(&container, "bridge", &[]);

    let p = Project::new();
    let config = |dest: &str| {
        local_header(&owner)
            + &destination("blue", "local", &blue)
            + &destination("green", "local", &green)
            + &resource("application", "shop", dest, &container, None)
    };
    p.write("berth.toml", &config("blue"));
    apply(&p, &[], 0);
    assert_eq!(
        networks_of(&container),
        set(&["bridge", &blue]),
        "on blue after the first apply"
    );
    assert_eq!(user_aliases(&container, &blue), set(&["shop"]));

    p.write("berth.toml", &config("green"));
    let (run, plan) = plan_detailed(&p, 2);
    assert_eq!(changes(&plan).len(), 2, "a connect and a disconnect\n{run}");
    let connect = the_change(&run, &plan, "connect", &container);
    assert_eq!(connect["network"], green.as_str(), "{run}");
    assert_eq!(connect["destination"], "green", "{run}");
    assert_eq!(string_set(&connect["aliases"]), set(&["shop"]), "{run}");
    let disconnect = the_change(&run, &plan, "disconnect", &container);
    assert_eq!(disconnect["network"], blue.as_str(), "{run}");

    let run = apply(&p, &[], 0);
    assert_eq!(
        networks_of(&container),
        set(&["bridge", &green]),
        "on green only (and its own bridge)\n{run}"
    );
    assert_eq!(user_aliases(&container, &green), set(&["shop"]), "{run}");
    assert!(network_exists(&blue), "blue is still declared\n{run}");
    assert_settled(&p);
}

//! `berth import` round trip (issue 3): the TOML it prints for what runs on
//! a server now plans no changes against that same server.
//!
//! It has the local daemon alone (`local_daemon_alone`): the other tests
//! run in the same binary, and none of them creates or removes Docker
//! objects while this one imports the whole daemon.

use crate::common::config::{destination, local_header};
use crate::common::plan::apply;
use crate::common::{
    Cleanup, ComposeStack, Project, Run, create_stopped_container, docker_ok, ensure_image,
    local_daemon_alone, network_exists, run_container, unique, unique_project,
};
use serde_json::Value;

const SERVER_ONLY: &str = r#"[[server]]
name = "local"
address = "local"
"#;

const STACK: &str = r#"version: "2.4"
services:
  web:
    image: berth-test/busybox:1
    command: sleep 3600
"#;

/// The tables of `kind` (`destination`, `application`, …) in a parsed config.
fn tables<'a>(config: &'a toml::Table, kind: &str) -> Vec<&'a toml::Table> {
    config
        .get(kind)
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_table).collect())
        .unwrap_or_default()
}

fn str_key<'a>(t: &'a toml::Table, key: &str) -> Option<&'a str> {
    t.get(key).and_then(toml::Value::as_str)
}

/// The `[[application]]`/`[[database]]` table (of `kind`) for `container`:
/// its `container` key, or its name when the key is left at its default.
fn resource_for<'a>(
    config: &'a toml::Table,
    kind: &str,
    container: &str,
    run: &Run,
) -> &'a toml::Table {
    tables(config, kind)
        .into_iter()
        .find(|t| str_key(t, "container").or(str_key(t, "name")) == Some(container))
        .unwrap_or_else(|| panic!("no [[{kind}]] for container {container}\n{run}"))
}

/// The network of the destination called `name`.
fn network_of_destination<'a>(config: &'a toml::Table, name: &str) -> Option<&'a str> {
    tables(config, "destination")
        .into_iter()
        .find(|d| str_key(d, "name") == Some(name))
        .and_then(|d| str_key(d, "network"))
}

fn aliases(t: &toml::Table, default: &str) -> Vec<String> {
    let mut list: Vec<String> = match t.get("aliases").and_then(toml::Value::as_array) {
        Some(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        None => vec![default.to_string()],
    };
    list.sort();
    list
}

#[test]
fn imported_config_plans_no_changes_on_the_same_server() {
    local_daemon_alone();
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let hand_net = cleanup.network(&unique("imp-hand"));
    let berth_net = cleanup.network(&unique("imp-berth"));
    let app = cleanup.container(&unique("imp-app"));
    let db = cleanup.container(&unique("imp-db"));
    let worker = cleanup.container(&unique("imp-worker"));
    let db_name = unique("imp-orders");
    let project = unique_project("imp");
    let stack = ComposeStack::new(&project, STACK);
    cleanup.network(&stack.default_network());

    // One network by hand with a subnet, one created by berth.
    let subnet = "10.213.91.0/24";
    docker_ok(&["network", "create", "--subnet", subnet, &hand_net]);
    let created = Project::new();
    created.write(
        "berth.toml",
        &(local_header(&owner) + &destination("backend", "local", &berth_net)),
    );
    apply(&created, &[], 0);
    assert!(network_exists(&berth_net));

    // Three containers: an application with two aliases, a Coolify database
    // with one, a stopped worker with one.
    run_container(&app, &hand_net, &["web", "www"]);
    let type_label = "coolify.type=database".to_string();
    let name_label = format!("coolify.resourceName={db_name}");
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &db,
        "--network",
        &berth_net,
        "--network-alias",
        "postgres",
        "--label",
        &type_label,
        "--label",
        &name_label,
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    create_stopped_container(&worker, &berth_net, &["jobs"]);

    // One compose stack, connected by hand the way berth (and Coolify) would.
    stack.up(&[]);
    let stack_containers = stack.containers();
    for c in &stack_containers {
        cleanup.container(c);
    }
    assert_eq!(stack_containers.len(), 1, "one container in {project}");
    let stack_alias = format!("web-{project}");
    docker_ok(&[
        "network",
        "connect",
        "--alias",
        &stack_alias,
        &hand_net,
        &stack_containers[0],
    ]);

    // Import from a config that holds only the server.
    let p = Project::new();
    p.write("berth.toml", SERVER_ONLY);
    let import = p.berth(&["import", "--server", "local"]);
    import.expect_code(0);
    let imported = import.stdout.clone();
    for name in [&hand_net, &berth_net, &app, &db, &worker, &project] {
        assert!(
            imported.contains(name.as_str()),
            "the imported config does not mention {name}\n{import}"
        );
    }
    assert!(
        !imported.contains(&format!("\"{}\"", stack.default_network())),
        "the stack's own compose network became a destination\n{import}"
    );
    let config: toml::Table = toml::from_str(&imported)
        .unwrap_or_else(|e| panic!("the import is not TOML ({e})\n{import}"));
    assert!(config.get("settings").is_some(), "no [settings]\n{import}");
    let servers = tables(&config, "server");
    assert!(
        servers.iter().any(|s| str_key(s, "name") == Some("local")),
        "no [[server]] local\n{import}"
    );

    let hand_dest = tables(&config, "destination")
        .into_iter()
        .find(|d| str_key(d, "network") == Some(hand_net.as_str()))
        .unwrap_or_else(|| panic!("no [[destination]] for {hand_net}\n{import}"));
    assert_eq!(
        str_key(hand_dest, "subnet"),
        Some(subnet),
        "the subnet set by hand\n{import}"
    );
    assert!(
        tables(&config, "destination")
            .iter()
            .any(|d| str_key(d, "network") == Some(berth_net.as_str())),
        "no [[destination]] for {berth_net}\n{import}"
    );
    assert!(
        tables(&config, "destination")
            .iter()
            .all(|d| !matches!(str_key(d, "network"), Some("bridge" | "host" | "none"))),
        "a predefined network became a destination\n{import}"
    );

    let app_table = resource_for(&config, "application", &app, &import);
    let app_name = str_key(app_table, "name").unwrap_or_default();
    assert_eq!(aliases(app_table, app_name), ["web", "www"], "{import}");
    let db_table = resource_for(&config, "database", &db, &import);
    let db_table_name = str_key(db_table, "name").unwrap_or_default();
    assert_eq!(aliases(db_table, db_table_name), ["postgres"], "{import}");
    assert_eq!(
        network_of_destination(
            &config,
            str_key(db_table, "destination").unwrap_or_default()
        ),
        Some(berth_net.as_str()),
        "the database's destination\n{import}"
    );
    let worker_table = resource_for(&config, "application", &worker, &import);
    let worker_name = str_key(worker_table, "name").unwrap_or_default();
    assert_eq!(aliases(worker_table, worker_name), ["jobs"], "{import}");

    let service = tables(&config, "service")
        .into_iter()
        .find(|s| str_key(s, "project").or(str_key(s, "name")) == Some(project.as_str()))
        .unwrap_or_else(|| panic!("no [[service]] for project {project}\n{import}"));
    assert_eq!(
        service
            .get("connect_to_predefined_networks")
            .and_then(toml::Value::as_bool),
        Some(true),
        "the stack is attached to {hand_net}\n{import}"
    );
    assert_eq!(
        network_of_destination(&config, str_key(service, "destination").unwrap_or_default()),
        Some(hand_net.as_str()),
        "the stack's destination\n{import}"
    );

    // The round trip: the imported config, planned against the same server.
    p.write("berth.toml", &imported);
    p.berth(&["validate"]).expect_code(0);
    let run = p.berth(&["plan", "--detailed-exitcode", "--format", "json"]);
    run.expect_code(0);
    let plan: Value = run.json();
    assert!(
        plan["changes"].as_array().is_some_and(Vec::is_empty),
        "the imported config plans changes\n{run}\n--- imported ---\n{imported}"
    );
    let missing = plan["missing"].as_array().cloned().unwrap_or_default();
    assert!(
        missing.is_empty(),
        "the imported config declares what is not there\n{run}"
    );
}

/// In a directory without config, `import --server` says what to write
/// first, and `--address` needs none; a bad address is located.
#[test]
fn import_without_a_config_says_what_to_do_and_address_needs_none() {
    let empty = Project::new();
    let run = empty.berth(&["import", "--server", "local"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no *.toml config files")
            && run.stderr.contains("berth import --address local")
            && run.stderr.contains("[[server]] table"),
        "the error says what to run or write first\n{run}"
    );

    let run = empty.berth(&["import", "--address", "tcp://10.0.0.1:2375"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("invalid server address `tcp://10.0.0.1:2375`")
            && run.stderr.contains("ssh://user@host:port"),
        "{run}"
    );

    let run = empty.berth(&["import", "--address", "local"]);
    run.expect_code(0);
    let config: toml::Table = toml::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("the import is not TOML ({e})\n{run}"));
    let server = &tables(&config, "server")[0];
    assert_eq!(str_key(server, "name"), Some("local"), "{run}");
    assert_eq!(str_key(server, "address"), Some("local"), "{run}");
}

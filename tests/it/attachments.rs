//! Attachments beyond aliases (issue 19): `ipv4_address`, `ipv6_address`,
//! `link_local_ips` and `driver_opts` on applications and per compose
//! service, applied by the real `berth` binary on the real Docker Engine
//! and checked with `docker inspect`: set → shown → re-plan empty → change
//! → `reconnect` with the aliases kept → re-plan empty; kept through a
//! journaled replace; written back by `import`.

use serde_json::Value;

use crate::common::config::{destination, local_header, resource};
use crate::common::plan::{apply, changes, plan, plan_detailed, plan_json};
use crate::common::{
    Cleanup, ComposeStack, Project, docker_ok, ensure_image, run_container, unique, unique_project,
};

/// A container's endpoint on `network`, as `docker inspect` shows it.
fn endpoint(container: &str, network: &str) -> Value {
    let text = docker_ok(&[
        "inspect",
        "--type",
        "container",
        "--format",
        "{{json .NetworkSettings.Networks}}",
        container,
    ]);
    let all: Value = serde_json::from_str(&text).expect("networks JSON");
    all.get(network)
        .cloned()
        .unwrap_or_else(|| panic!("{container} is not on {network}: {all}"))
}

/// The aliases a user set (without Docker's own short id and name).
fn aliases(ep: &Value, container: &str) -> Vec<String> {
    let id = docker_ok(&["inspect", "--format", "{{.Id}}", container]);
    let mut out: Vec<String> = ep["Aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|a| !(a.len() == 12 && id.starts_with(a)) && *a != container)
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

fn subnet_destination(network: &str, subnet: &str, extra: &str) -> String {
    destination("prod", "local", network) + &format!("subnet = \"{subnet}\"\n{extra}")
}

/// The connect changes of a plan.
fn connects(plan: &Value) -> Vec<&Value> {
    changes(plan)
        .iter()
        .filter(|c| c["action"] == "connect")
        .collect()
}

#[test]
fn a_static_address_is_applied_changed_by_a_reconnect_and_settles() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("ipnet"));
    let api = cleanup.container(&unique("api"));
    run_container(&api, "bridge", &[]);
    let p = Project::new();
    let config = |ip: &str| {
        local_header(&owner)
            + &subnet_destination(&net, "10.219.51.0/24", "")
            + &resource("application", "api", "prod", &api, Some(&["api", "api-v2"]))
            + &format!("ipv4_address = \"{ip}\"\n")
    };
    p.write("berth.toml", &config("10.219.51.10"));
    let (run, planned) = plan_detailed(&p, 2);
    let c = connects(&planned);
    assert_eq!(c.len(), 1, "{run}");
    assert_eq!(c[0]["verb"], "connect", "{run}");
    assert_eq!(c[0]["endpoint"]["ipv4_address"], "10.219.51.10", "{run}");
    apply(&p, &[], 0);
    let ep = endpoint(&api, &net);
    assert_eq!(ep["IPAddress"], "10.219.51.10", "{ep}");
    assert_eq!(ep["IPAMConfig"]["IPv4Address"], "10.219.51.10", "{ep}");
    assert_eq!(aliases(&ep, &api), ["api", "api-v2"], "{ep}");
    plan_detailed(&p, 0);

    p.write("berth.toml", &config("10.219.51.11"));
    let (run, planned) = plan_detailed(&p, 2);
    let c = connects(&planned);
    assert_eq!(c.len(), 1, "{run}");
    assert_eq!(c[0]["verb"], "reconnect", "{run}");
    assert_eq!(c[0]["endpoint"]["ipv4_address"], "10.219.51.11", "{run}");
    let reasons = c[0]["reasons"].to_string();
    assert!(
        reasons.contains("ipv4_address: live 10.219.51.10, desired 10.219.51.11"),
        "{run}"
    );
    let human = p.berth(&["plan"]);
    assert!(
        human.stdout.contains("ipv4 10.219.51.11"),
        "{}",
        human.stdout
    );
    apply(&p, &[], 0);
    let ep = endpoint(&api, &net);
    assert_eq!(ep["IPAddress"], "10.219.51.11", "{ep}");
    assert_eq!(
        aliases(&ep, &api),
        ["api", "api-v2"],
        "aliases intact: {ep}"
    );
    plan_detailed(&p, 0);

    // Unset: the daemon's choice, never drift.
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &subnet_destination(&net, "10.219.51.0/24", "")
            + &resource("application", "api", "prod", &api, Some(&["api", "api-v2"]))),
    );
    plan_detailed(&p, 0);
}

#[test]
fn an_ipv6_address_on_an_ipv6_destination() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("ip6net"));
    let api = cleanup.container(&unique("api"));
    run_container(&api, "bridge", &[]);
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &subnet_destination(
                &net,
                "10.219.52.0/24",
                "enable_ipv6 = true\nsubnet_v6 = \"fd19:52::/64\"\n",
            )
            + &resource("application", "api", "prod", &api, None)
            + "ipv4_address = \"10.219.52.7\"\nipv6_address = \"fd19:52::7\"\n"),
    );
    apply(&p, &[], 0);
    let ep = endpoint(&api, &net);
    assert_eq!(ep["GlobalIPv6Address"], "fd19:52::7", "{ep}");
    assert_eq!(ep["IPAMConfig"]["IPv6Address"], "fd19:52::7", "{ep}");
    assert_eq!(ep["IPAddress"], "10.219.52.7", "{ep}");
    plan_detailed(&p, 0);
}

#[test]
fn driver_opts_and_link_local_ips_are_set_and_enforced() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("optnet"));
    let api = cleanup.container(&unique("api"));
    run_container(&api, "bridge", &[]);
    let p = Project::new();
    let config = |opts: &str| {
        local_header(&owner)
            + &subnet_destination(&net, "10.219.53.0/24", "")
            + &resource("application", "api", "prod", &api, None)
            + &format!("link_local_ips = [\"169.254.53.9\"]\ndriver_opts = {{ {opts} }}\n")
    };
    p.write("berth.toml", &config("\"com.example.tier\" = \"gold\""));
    apply(&p, &[], 0);
    let ep = endpoint(&api, &net);
    assert_eq!(ep["DriverOpts"]["com.example.tier"], "gold", "{ep}");
    assert_eq!(ep["IPAMConfig"]["LinkLocalIPs"][0], "169.254.53.9", "{ep}");
    plan_detailed(&p, 0);

    // `driver_opts = {}` asks for none: the option is taken off.
    p.write("berth.toml", &config(""));
    let (run, planned) = plan_detailed(&p, 2);
    assert_eq!(connects(&planned)[0]["verb"], "reconnect", "{run}");
    apply(&p, &[], 0);
    let ep = endpoint(&api, &net);
    assert!(
        ep["DriverOpts"].is_null() || ep["DriverOpts"] == serde_json::json!({}),
        "{ep}"
    );
    assert_eq!(ep["IPAMConfig"]["LinkLocalIPs"][0], "169.254.53.9", "{ep}");
    plan_detailed(&p, 0);
}

#[test]
fn a_compose_service_gets_its_static_address_and_unknown_services_are_errors() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("stknet"));
    let project = unique_project("stk");
    let compose = format!(
        "services:\n  web:\n    image: {img}\n    command: [\"sleep\", \"3600\"]\n  db:\n    image: {img}\n    command: [\"sleep\", \"3600\"]\n",
        img = crate::common::TEST_IMAGE
    );
    let stack = ComposeStack::new(&project, &compose);
    stack.up(&[]);
    let member = |service: &str| {
        stack
            .containers()
            .into_iter()
            .find(|c| {
                docker_ok(&[
                    "inspect",
                    "--format",
                    "{{index .Config.Labels \"com.docker.compose.service\"}}",
                    c,
                ]) == service
            })
            .unwrap_or_else(|| panic!("no {service} container in {project}"))
    };
    let (web, db) = (member("web"), member("db"));
    let p = Project::new();
    p.write("compose.yaml", &compose);
    let config = |service: &str| {
        local_header(&owner)
            + &subnet_destination(&net, "10.219.54.0/24", "")
            + &format!(
                "\n[[service]]\nname = \"mon\"\ndestination = \"prod\"\nproject = \"{project}\"\nconnect_to_predefined_networks = true\ncompose_file = \"compose.yaml\"\nattachments = {{ {service} = {{ ipv4_address = \"10.219.54.20\" }} }}\n"
            )
    };
    p.write("berth.toml", &config("nope"));
    let run = p.berth(&["plan"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("`attachments` names `nope`, which is not a service of compose.yaml"),
        "{run}"
    );
    assert!(run.stderr.contains("berth.toml:"), "{run}");

    p.write("berth.toml", &config("web"));
    apply(&p, &[], 0);
    let ep = endpoint(&web, &net);
    assert_eq!(ep["IPAddress"], "10.219.54.20", "{ep}");
    assert_eq!(aliases(&ep, &web), [format!("web-{project}")], "{ep}");
    assert!(endpoint(&db, &net)["IPAMConfig"]["IPv4Address"].is_null());
    plan_detailed(&p, 0);
    drop(stack);
}

#[test]
fn import_writes_the_attachment_settings_back() {
    ensure_image();
    let cleanup = Cleanup::new();
    let net = cleanup.network(&unique("impnet"));
    let api = cleanup.container(&unique("api"));
    docker_ok(&["network", "create", "--subnet", "10.219.55.0/24", &net]);
    run_container(&api, "bridge", &[]);
    docker_ok(&[
        "network",
        "connect",
        "--ip",
        "10.219.55.30",
        "--link-local-ip",
        "169.254.55.3",
        "--driver-opt",
        "com.example.tier=silver",
        "--alias",
        "api",
        &net,
        &api,
    ]);
    let empty = Project::new();
    let run = empty.berth(&["import", "--address", "local"]);
    run.expect_code(0);
    let toml = &run.stdout;
    let table = toml
        .split("\n[[")
        .find(|t| {
            t.contains(&format!("container = \"{api}\""))
                || t.contains(&format!("name = \"{api}\""))
        })
        .unwrap_or_else(|| panic!("no table for {api}:\n{toml}"));
    assert!(table.contains("ipv4_address = \"10.219.55.30\""), "{table}");
    assert!(
        table.contains("link_local_ips = [\"169.254.55.3\"]"),
        "{table}"
    );
    assert!(
        table.contains("\"com.example.tier\" = \"silver\""),
        "{table}"
    );

    // What it wrote loads and plans nothing for that container.
    empty.write("berth.toml", toml);
    let (run, planned) = plan(&empty, 0);
    assert!(
        changes(&planned)
            .iter()
            .all(|c| c["container"] != api.as_str()),
        "{run}"
    );
}

#[test]
fn a_replace_reconnects_with_the_static_address_link_local_ips_and_driver_opts() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("repnet"));
    let api = cleanup.container(&unique("api"));
    run_container(&api, "bridge", &[]);
    let p = Project::new();
    let config_in = |internal: bool, net24: &str| {
        local_header(&owner)
            + &subnet_destination(
                &net,
                &format!("{net24}.0/24"),
                &format!("internal = {internal}\n"),
            )
            + &resource("application", "api", "prod", &api, Some(&["api", "api-2"]))
            + &format!(
                "ipv4_address = \"{net24}.40\"\nlink_local_ips = [\"169.254.56.4\"]\ndriver_opts = {{ \"com.example.tier\" = \"bronze\" }}\n"
            )
    };
    let config = |internal: bool| config_in(internal, "10.219.56");
    p.write("berth.toml", &config(false));
    apply(&p, &[], 0);
    let id_before = docker_ok(&["network", "inspect", "--format", "{{.Id}}", &net]);

    p.write("berth.toml", &config(true));
    let (run, planned) = plan(&p, 3);
    assert!(
        changes(&planned)
            .iter()
            .any(|c| c["action"] == "replace_network"),
        "{run}"
    );
    apply(&p, &["--allow-replace"], 0);
    let id_after = docker_ok(&["network", "inspect", "--format", "{{.Id}}", &net]);
    assert_ne!(id_before, id_after, "the network was replaced");
    let ep = endpoint(&api, &net);
    assert_eq!(ep["IPAddress"], "10.219.56.40", "{ep}");
    assert_eq!(ep["IPAMConfig"]["IPv4Address"], "10.219.56.40", "{ep}");
    assert_eq!(ep["IPAMConfig"]["LinkLocalIPs"][0], "169.254.56.4", "{ep}");
    assert_eq!(ep["DriverOpts"]["com.example.tier"], "bronze", "{ep}");
    assert_eq!(aliases(&ep, &api), ["api", "api-2"], "{ep}");
    plan_detailed(&p, 0);

    // A new subnet with the address moved into it: the replace leaves the
    // old address behind (it no longer fits), the same apply's reconnect
    // sets the new one.
    p.write("berth.toml", &config_in(true, "10.219.57"));
    let (run, planned) = plan_json(&p, &["--allow-replace"], 0);
    let verbs: Vec<&str> = changes(&planned)
        .iter()
        .filter_map(|c| c["verb"].as_str())
        .collect();
    assert_eq!(verbs, ["replace network", "reconnect"], "{run}");
    apply(&p, &["--allow-replace"], 0);
    let ep = endpoint(&api, &net);
    assert_eq!(ep["IPAddress"], "10.219.57.40", "{ep}");
    assert_eq!(ep["IPAMConfig"]["LinkLocalIPs"][0], "169.254.56.4", "{ep}");
    assert_eq!(ep["DriverOpts"]["com.example.tier"], "bronze", "{ep}");
    assert_eq!(aliases(&ep, &api), ["api", "api-2"], "{ep}");
    plan_detailed(&p, 0);
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_static_address_reconnect_killed_after_any_step_is_completed_by_the_next_apply() {
    use crate::faults::{assert_killed, restore_completes, with_fault};
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("kilnet"));
    let api = cleanup.container(&unique("api"));
    run_container(&api, "bridge", &[]);
    let p = Project::new();
    let config = |ip: &str| {
        local_header(&owner)
            + &subnet_destination(&net, "10.219.58.0/24", "")
            + &resource("application", "api", "prod", &api, Some(&["api", "www"]))
            + &format!("ipv4_address = \"{ip}\"\n")
    };
    p.write("berth.toml", &config("10.219.58.10"));
    apply(&p, &[], 0);
    for (i, point) in [
        "journal.written",
        "alias_fix.disconnected",
        "alias_fix.connected",
    ]
    .into_iter()
    .enumerate()
    {
        let ip = format!("10.219.58.{}", 11 + i);
        p.write("berth.toml", &config(&ip));
        let run = with_fault(&p, &["apply", "--yes"], &format!("{point}:kill"));
        assert_killed(&run, point);
        restore_completes(&p, &owner, "connect");
        let ep = endpoint(&api, &net);
        assert_eq!(ep["IPAddress"], ip.as_str(), "after {point}: {ep}");
        assert_eq!(aliases(&ep, &api), ["api", "www"], "after {point}: {ep}");
    }
}

//! Destinations end to end (issue 2): the real `berth` binary against the
//! real local Docker Engine.
//!
//! Each test uses its own `owner`, so no test ever sees another test's
//! networks as removable, and its own names, registered with a `Cleanup`
//! guard before anything is created.

use crate::common::config::{destination, destination_with_subnet, header, local_header};
use crate::common::plan::{
    apply, assert_settled, changes, changes_for, plan, plan_detailed, the_change,
};
use crate::common::{
    Cleanup, CountingProxy, Project, container_networks, container_running,
    create_stopped_container, docker_ok, docker_socket, ensure_image, network_exists,
    network_labels, network_subnet, run_container, unique,
};

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

fn assert_berth_labels(network: &str, owner: &str, destination: &str) {
    let labels = network_labels(network);
    for (key, value) in [
        ("berth.managed", "true"),
        ("berth.owner", owner),
        ("berth.destination", destination),
    ] {
        assert_eq!(
            labels.get(key).map(String::as_str),
            Some(value),
            "label {key} of network {network}; all labels: {labels:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn two_destinations_are_created_labelled_and_then_settled() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let prod_net = cleanup.network(&unique("prod"));
    let staging_net = cleanup.network(&unique("staging"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &prod_net)
            + &destination("staging", "local", &staging_net)),
    );

    let (run, plan) = plan_detailed(&p, 2);
    assert_eq!(plan["format_version"], 1, "{run}");
    assert_eq!(changes(&plan).len(), 2, "exactly two changes\n{run}");
    for (net, dest) in [(&prod_net, "prod"), (&staging_net, "staging")] {
        let change = the_change(&run, &plan, "create_network", net);
        assert_eq!(change["status"], "planned", "{run}");
        assert_eq!(change["server"], "local", "{run}");
        assert_eq!(change["destination"], dest, "{run}");
    }
    assert_eq!(plan["summary"]["create_network"], 2, "{run}");
    assert!(
        !network_exists(&prod_net) && !network_exists(&staging_net),
        "plan must not create anything\n{run}"
    );

    apply(&p, &[], 0);
    assert_berth_labels(&prod_net, &owner, "prod");
    assert_berth_labels(&staging_net, &owner, "staging");

    assert_settled(&p);
}

#[test]
fn removal_is_blocked_by_a_stopped_container_until_it_is_gone() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("net"));
    let container = cleanup.container(&unique("stopped"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("prod", "local", &net)),
    );
    apply(&p, &[], 0);
    assert!(network_exists(&net));

    // Created, never started: Docker's network inspect does not list it,
    // and Docker would let the network be removed under it.
    create_stopped_container(&container, &net, &[]);
    p.write("berth.toml", &local_header(&owner));

    let (run, plan) = plan(&p, 3);
    assert_eq!(changes(&plan).len(), 1, "exactly one change\n{run}");
    let change = the_change(&run, &plan, "remove_network", &net);
    assert_eq!(change["status"], "blocked", "{run}");
    let reasons = change["reasons"].to_string();
    assert!(
        reasons.contains(&container),
        "reasons name the container\n{run}"
    );
    let attached = change["attached"]
        .as_array()
        .unwrap_or_else(|| panic!("`attached` is missing\n{run}"));
    let entry = attached
        .iter()
        .find(|a| a["container"] == container.as_str())
        .unwrap_or_else(|| panic!("`attached` does not name {container}\n{run}"));
    assert_eq!(entry["running"], false, "{run}");
    assert_eq!(entry["kind"], "unmanaged", "{run}");

    // Blocked: apply applies nothing.
    apply(&p, &[], 3);
    assert!(network_exists(&net), "a blocked removal happened anyway");

    docker_ok(&["rm", &container]);
    apply(&p, &[], 0);
    assert!(!network_exists(&net), "network {net} still exists");

    assert_settled(&p);
}

#[test]
fn adopted_network_is_never_labelled_nor_removed() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("adopt"));
    let id = docker_ok(&["network", "create", &net]);
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("prod", "local", &net)),
    );

    assert_settled(&p);
    apply(&p, &[], 0);
    let labels = network_labels(&net);
    assert!(
        labels.keys().all(|k| !k.starts_with("berth.")),
        "an adopted network got berth labels: {labels:?}"
    );

    // No longer declared: still never removed, as berth did not create it.
    p.write("berth.toml", &local_header(&owner));
    let (run, plan) = plan_detailed(&p, 0);
    assert!(
        changes_for(&plan, &net).is_empty(),
        "no change for the adopted network\n{run}"
    );
    apply(&p, &[], 0);
    assert!(network_exists(&net), "adopted network was removed");
    let id_after = docker_ok(&["network", "inspect", "--format", "{{.Id}}", &net]);
    assert_eq!(id_after, id, "adopted network was recreated");
}

#[test]
fn replace_reconnects_containers_with_their_aliases() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("replace"));
    let container = cleanup.container(&unique("db"));
    let (old_subnet, new_subnet) = ("10.213.41.0/24", "10.213.42.0/24");
    let p = Project::new();
    let config =
        |subnet| local_header(&owner) + &destination_with_subnet("prod", "local", &net, subnet);

    p.write("berth.toml", &config(old_subnet));
    apply(&p, &[], 0);
    assert_eq!(network_subnet(&net).as_deref(), Some(old_subnet));
    run_container(&container, &net, &["db", "primary"]);

    p.write("berth.toml", &config(new_subnet));
    let (run, plan) = plan(&p, 3);
    let change = the_change(&run, &plan, "replace_network", &net);
    assert_eq!(change["status"], "blocked", "{run}");
    assert!(
        change["reasons"].as_array().is_some_and(|r| !r.is_empty()),
        "a blocked change says why\n{run}"
    );

    // Without --allow-replace the plan stays blocked and nothing changes.
    apply(&p, &[], 3);
    assert_eq!(network_subnet(&net).as_deref(), Some(old_subnet));

    let run = apply(&p, &["--allow-replace"], 0);
    assert_eq!(
        network_subnet(&net).as_deref(),
        Some(new_subnet),
        "subnet after replace\n{run}"
    );
    assert_berth_labels(&net, &owner, "prod");
    let networks = container_networks(&container);
    let aliases = networks
        .get(&net)
        .unwrap_or_else(|| panic!("{container} not attached to {net} again: {networks:?}\n{run}"));
    for alias in ["db", "primary"] {
        assert!(
            aliases.iter().any(|a| a == alias),
            "alias {alias} lost: {aliases:?}\n{run}"
        );
    }
    assert!(container_running(&container), "container stopped\n{run}");

    assert_settled(&p);
}

#[test]
fn unreachable_server_is_an_error_and_nothing_is_applied() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let ghost_net = cleanup.network(&unique("never"));
    let local_net = cleanup.network(&unique("notyet"));
    let server = "ghost-box";
    let address = format!("unix:///tmp/{}/nope.sock", unique("gone"));
    let p = Project::new();
    // One unreachable server, and a reachable one with work to do: berth
    // applies only when every server answered.
    p.write(
        "berth.toml",
        &(header(&owner, server, &address)
            + &crate::common::config::server("local", "local")
            + &destination("gone", server, &ghost_net)
            + &destination("prod", "local", &local_net)),
    );

    let run = p.berth(&["plan", "--format", "json"]);
    run.expect_code(1);
    if run.stdout.trim().is_empty() {
        assert!(
            run.stderr.contains(server),
            "stderr names the server\n{run}"
        );
    } else {
        // If a plan is printed at all, it reports the server as failed and
        // plans nothing for it.
        let plan = run.json();
        let entry = plan["servers"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == server))
            .unwrap_or_else(|| panic!("`servers` does not list {server}\n{run}"));
        assert_eq!(entry["status"], "error", "{run}");
        assert!(
            entry["error"].is_string() || run.stderr.contains(server),
            "the error is told\n{run}"
        );
        assert!(
            changes(&plan).iter().all(|c| c["server"] != server),
            "changes planned on an unreachable server\n{run}"
        );
    }

    let run = p.berth(&["plan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(server),
        "human plan: stderr names the server\n{run}"
    );

    let run = apply(&p, &[], 1);
    assert!(
        run.stderr.contains(server),
        "stderr names the server\n{run}"
    );
    for net in [&ghost_net, &local_net] {
        assert!(!network_exists(net), "apply created {net}\n{run}");
    }
}

#[test]
fn live_state_costs_the_same_api_calls_for_1_and_50_destinations() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let (socket, proxy) = CountingProxy::start(&docker_socket());
    let address = format!("unix://{}", socket.display());
    let networks: Vec<String> = (0..50)
        .map(|i| cleanup.network(&unique(&format!("calls{i}"))))
        .collect();
    let config = |n: usize| {
        let mut text = header(&owner, "proxied", &address);
        for (i, net) in networks.iter().take(n).enumerate() {
            text += &destination(&format!("d{i}"), "proxied", net);
        }
        text
    };
    let p = Project::new();

    let mut counts = Vec::new();
    for n in [1, 50] {
        p.write("berth.toml", &config(n));
        proxy.reset();
        let (run, plan) = plan(&p, 0);
        let creates = changes(&plan)
            .iter()
            .filter(|c| c["action"] == "create_network")
            .count();
        assert_eq!(creates, n, "{run}");
        println!(
            "{n} destination(s): {} requests: {:?}",
            proxy.count(),
            proxy.requests()
        );
        counts.push((proxy.count(), proxy.requests()));
    }

    let (one, fifty) = (&counts[0], &counts[1]);
    assert_eq!(
        one.0, fifty.0,
        "API calls grow with destinations:\n 1: {:?}\n50: {:?}",
        one.1, fifty.1
    );
    assert!(
        one.0 <= 6,
        "too many API calls for a plan: {} {:?}",
        one.0,
        one.1
    );
    assert!(
        networks.iter().all(|n| !network_exists(n)),
        "plan created networks"
    );
}

#[test]
fn apply_without_yes_refuses_when_stdin_is_not_a_terminal() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("noyes"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("prod", "local", &net)),
    );

    let run = p.berth(&["apply"]);
    run.expect_code(1);
    assert!(!network_exists(&net), "apply without --yes applied\n{run}");
}

#[test]
fn validate_accepts_a_good_config() {
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&unique("own")) + &destination("prod", "local", "prod-net")),
    );
    p.berth(&["validate"]).expect_code(0);
}

#[test]
fn validate_rejects_an_unknown_key_with_its_location() {
    let p = Project::new();
    // The unknown key sits on line 12.
    let text =
        local_header("acme") + &destination("prod", "local", "prod-net") + "netwrok = \"x\"\n";
    assert_eq!(
        text.lines().position(|l| l.starts_with("netwrok")),
        Some(11)
    );
    p.write("berth.toml", &text);

    let run = p.berth(&["validate"]);
    run.expect_code(1);
    let at = run
        .stderr
        .find("berth.toml:12:")
        .unwrap_or_else(|| panic!("stderr names berth.toml:12:COL\n{run}"));
    let column = &run.stderr[at + "berth.toml:12:".len()..];
    assert!(
        column.starts_with(|c: char| c.is_ascii_digit()),
        "stderr names berth.toml:12:COL\n{run}"
    );
    assert!(
        run.stderr.contains("netwrok"),
        "stderr names the key\n{run}"
    );
}

#[test]
fn help_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = crate::common::berth_raw(&["--help".to_string()], dir.path());
    run.expect_code(0);
    for command in ["validate", "plan", "apply"] {
        assert!(run.stdout.contains(command), "help lists {command}\n{run}");
    }
}

#[test]
fn ipv6_ip_range_and_driver_options_are_created_and_then_settled() {
    let clean = Cleanup::new();
    let p = Project::new();
    let owner = unique("own");
    let net = clean.network(&unique("v6"));
    let declared = |mtu: &str| {
        local_header(&owner)
            + &destination_with_subnet("dual", "local", &net, "10.77.0.0/24")
            + &format!(
                "ip_range = \"10.77.0.128/25\"\nenable_ipv6 = true\nsubnet_v6 = \"fd77:1::/64\"\ngateway_v6 = \"fd77:1::1\"\noptions = {{ \"com.docker.network.driver.mtu\" = \"{mtu}\" }}\n"
            )
    };
    p.write("berth.toml", &declared("1400"));
    apply(&p, &[], 0);
    let inspect = |format: &str| docker_ok(&["network", "inspect", "--format", format, &net]);
    assert_eq!(inspect("{{.EnableIPv6}}"), "true");
    assert_eq!(
        inspect("{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}};{{end}}"),
        "10.77.0.0/24 10.77.0.128/25 ;fd77:1::/64  fd77:1::1;"
    );
    assert_eq!(
        inspect(r#"{{index .Options "com.docker.network.driver.mtu"}}"#),
        "1400"
    );
    // Docker's own defaults (its IPv4 gateway, other options) are not drift.
    assert_settled(&p);

    // An option changed: Docker cannot edit it, so the network is replaced.
    p.write("berth.toml", &declared("1450"));
    let (run, plan) = plan(&p, 0);
    let replace = the_change(&run, &plan, "replace_network", &net);
    assert!(
        replace["differences"]
            .to_string()
            .contains("com.docker.network.driver.mtu"),
        "{replace:#}"
    );
}

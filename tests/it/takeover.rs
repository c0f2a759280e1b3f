//! Declared consent and guards on a destination, on the real engine:
//! `manage = true` takes over a network berth did not create (the Coolify
//! case: IPv6 turned on for the `coolify` network with the proxy and every
//! app on it), a kill mid-takeover is completed by the next apply, and
//! `prevent_removal = true` keeps a network whose destination is gone.

use std::ffi::OsStr;
use std::time::Duration;

use crate::common::config::{destination, local_header};
use crate::common::plan::{apply, assert_settled, changes, plan, plan_json};
use crate::common::spawn::Spawned;
use crate::common::{
    Cleanup, Project, container_networks, docker, docker_ok, ensure_image, network_exists,
    network_labels, unique,
};

/// The `coolify` network as Coolify makes it (attachable, no IPv6), with a
/// proxy and three apps labelled as Coolify labels them, each attached with
/// its aliases. Returns (network, proxy, apps).
fn coolify(cleanup: &Cleanup, subnet: &str) -> (String, String, Vec<String>) {
    ensure_image();
    let net = cleanup.network(&unique("coolify"));
    docker_ok(&[
        "network",
        "create",
        "--attachable",
        "--subnet",
        subnet,
        &net,
    ]);
    let proxy = cleanup.container(&unique("coolify-proxy"));
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &proxy,
        "--label",
        "coolify.managed=true",
        "--label",
        "coolify.proxy=true",
        "--network",
        &net,
        "--network-alias",
        "coolify-proxy",
        "berth-test/busybox:1",
        "sleep",
        "3600",
    ]);
    let mut apps = Vec::new();
    for n in 1..=3 {
        let app = cleanup.container(&unique(&format!("coolify-app{n}")));
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &app,
            "--label",
            "coolify.managed=true",
            "--label",
            &format!("coolify.applicationId={n}"),
            "--label",
            "coolify.type=application",
            "--network",
            &net,
            "--network-alias",
            &format!("app{n}"),
            "--network-alias",
            &format!("app{n}.internal"),
            "berth-test/busybox:1",
            "sleep",
            "3600",
        ]);
        apps.push(app);
    }
    (net, proxy, apps)
}

/// The destination on the `coolify` network, taken over, with IPv6.
fn takeover_config(owner: &str, net: &str, subnet: &str, subnet_v6: &str) -> String {
    local_header(owner)
        + &destination("coolify", "local", net)
        + &format!(
            "manage = true\nattachable = true\nsubnet = \"{subnet}\"\nenable_ipv6 = true\nsubnet_v6 = \"{subnet_v6}\"\n"
        )
}

fn enable_ipv6(net: &str) -> bool {
    docker_ok(&["network", "inspect", "--format", "{{.EnableIPv6}}", net]).trim() == "true"
}

/// Every container is back on `net` with its aliases, and they find each
/// other by name.
fn all_back(net: &str, proxy: &str, apps: &[String], when: &str) {
    assert!(
        container_networks(proxy)[net].contains(&"coolify-proxy".to_string()),
        "{when}: the proxy is back with its alias"
    );
    for (i, app) in apps.iter().enumerate() {
        let n = i + 1;
        let aliases = &container_networks(app)[net];
        assert!(
            aliases.contains(&format!("app{n}")) && aliases.contains(&format!("app{n}.internal")),
            "{when}: {app} is back with its aliases: {aliases:?}"
        );
    }
    // DNS between them still resolves, by alias, both ways.
    for (from, to) in [
        (proxy, "app1"),
        (apps[0].as_str(), "coolify-proxy"),
        (apps[2].as_str(), "app2.internal"),
    ] {
        let out = docker(&["exec", from, "busybox", "ping", "-c1", "-W2", to]);
        assert!(
            out.status.success(),
            "{when}: {from} cannot reach {to}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn manage_true_turns_ipv6_on_for_the_coolify_network_with_every_container_on_it() {
    let cleanup = Cleanup::new();
    let owner = unique("takeover");
    let (net, proxy, apps) = coolify(&cleanup, "10.244.10.0/24");
    let p = Project::new();

    // Without `manage`, the network berth did not create is never changed.
    let adopted = local_header(&owner)
        + &destination("coolify", "local", &net)
        + "attachable = true\nsubnet = \"10.244.10.0/24\"\nenable_ipv6 = true\nsubnet_v6 = \"fd44:10::/64\"\n";
    p.write("berth.toml", &adopted);
    let (run, _) = plan(&p, 1);
    assert!(run.stdout.contains("berth did not create it"), "{run}");

    p.write(
        "berth.toml",
        &takeover_config(&owner, &net, "10.244.10.0/24", "fd44:10::/64"),
    );
    // Blocked without --allow-replace (exit 3), and it says what it takes over.
    let (run, json) = plan(&p, 3);
    let replace = changes(&json)
        .iter()
        .find(|c| c["action"] == "replace_network")
        .unwrap_or_else(|| panic!("a replace is planned\n{run}"));
    assert_eq!(replace["status"], "blocked", "{run}");
    assert_eq!(
        replace["takeover"]["network_id"].as_str().map(str::len),
        Some(64),
        "{run}"
    );
    assert_eq!(
        replace["attached"].as_array().map(Vec::len),
        Some(4),
        "{run}"
    );
    let human = p.berth(&["plan"]);
    assert!(
        human
            .stdout
            .contains("which berth did not create (manage = true)"),
        "{human}"
    );
    let md = p.berth(&["plan", "--format", "markdown"]);
    assert!(
        md.stdout.contains("taken over, berth did not create it"),
        "{md}"
    );

    let run = apply(&p, &["--allow-replace"], 0);
    assert!(enable_ipv6(&net), "the network has IPv6 now\n{run}");
    let labels = network_labels(&net);
    assert_eq!(labels.get("berth.owner"), Some(&owner), "berth's now");
    all_back(&net, &proxy, &apps, "after the takeover");
    assert_settled(&p);
    // berth's from then on: without `manage` nothing changes.
    p.write(
        "berth.toml",
        &takeover_config(&owner, &net, "10.244.10.0/24", "fd44:10::/64")
            .replace("manage = true\n", ""),
    );
    assert_settled(&p);
}

/// `berth ARGS` on `p` with `BERTH_FAULT=fault`, given 120 s.
fn with_fault(p: &Project, args: &[&str], fault: &str) -> crate::common::Run {
    Spawned::command(
        p.args(args),
        p.path(),
        &[("BERTH_FAULT", OsStr::new(fault))],
    )
    .finish(Duration::from_secs(120))
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_takeover_killed_at_any_step_is_completed_by_the_next_apply() {
    let points = [
        "journal.written",
        "replace.disconnected",
        "sent.remove_network",
        "replace.created",
        "replace.reconnected",
    ];
    for (i, point) in points.iter().enumerate() {
        let cleanup = Cleanup::new();
        let owner = unique("takeover-kill");
        let subnet = format!("10.244.{}.0/24", 20 + i);
        let (net, proxy, apps) = coolify(&cleanup, &subnet);
        let p = Project::new();
        p.write(
            "berth.toml",
            &takeover_config(&owner, &net, &subnet, &format!("fd44:{}::/64", 20 + i)),
        );
        let run = with_fault(
            &p,
            &["apply", "--yes", "--allow-replace"],
            &format!("{point}:kill"),
        );
        assert_eq!(run.code, -1, "berth was not killed at {point}\n{run}");
        assert!(
            run.stderr.contains(&format!("fault injected at {point}")),
            "{run}"
        );
        // The next apply restores it (the journal holds the consent).
        let (run, json) = plan_json(&p, &[], 0);
        assert!(
            changes(&json).iter().any(|c| c["action"] == "restore"),
            "after {point}: a restore is planned\n{run}"
        );
        let run = apply(&p, &[], 0);
        assert!(enable_ipv6(&net), "after {point}\n{run}");
        all_back(&net, &proxy, &apps, &format!("after a kill at {point}"));
        assert_settled(&p);
    }
}

#[test]
fn prevent_removal_keeps_a_network_whose_destination_is_deleted() {
    let cleanup = Cleanup::new();
    let owner = unique("guarded");
    let net = cleanup.network(&unique("guarded-n"));
    let p = Project::new();
    let declared = local_header(&owner)
        + &destination("db", "local", &net)
        + "subnet = \"10.244.40.0/24\"\nprevent_removal = true\n";
    p.write("berth.toml", &declared);
    apply(&p, &[], 0);
    assert_eq!(
        network_labels(&net)
            .get("berth.prevent_removal")
            .map(String::as_str),
        Some("true")
    );
    // A change that needs a replace: a plan error at the key.
    p.write(
        "berth.toml",
        &declared.replace("10.244.40.0/24", "10.244.41.0/24"),
    );
    let (run, json) = plan(&p, 1);
    assert!(changes(&json).is_empty(), "{run}");
    assert!(
        run.stdout.contains("berth.toml:13:19"),
        "the error names the key's place\n{run}"
    );
    // The block deleted: the label still guards it.
    p.write("berth.toml", &local_header(&owner));
    let (run, json) = plan(&p, 1);
    assert!(changes(&json).is_empty(), "{run}");
    assert!(run.stdout.contains("prevent_removal"), "{run}");
    let run = p.berth(&["apply", "--yes"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(network_exists(&net), "the network is kept\n{run}");
}

#[test]
fn forget_keeps_the_network_and_berth_never_removes_it_again() {
    let cleanup = Cleanup::new();
    ensure_image();
    let owner = unique("forget");
    let net = cleanup.network(&unique("forget-n"));
    let app = cleanup.container(&unique("forget-app"));
    let p = Project::new();
    let declared = local_header(&owner)
        + &destination("old", "local", &net)
        + "subnet = \"10.244.50.0/24\"\nprevent_removal = true\n";
    p.write("berth.toml", &declared);
    apply(&p, &[], 0);
    crate::common::run_container(&app, &net, &["app"]);
    let id = docker_ok(&["network", "inspect", "--format", "{{.Id}}", &net]);
    let marker = berthing::docker::marker_name(id.trim(), &owner);
    cleanup.container(&marker);

    let run = p.berth(&["forget", &net, "--server", "local"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(&format!("Forgot network {net}")),
        "{run}"
    );
    // Again: done already, harmless.
    let run = p.berth(&["forget", &net, "--server", "local"]);
    run.expect_code(0);
    assert!(run.stdout.contains("forgotten already"), "{run}");
    // The marker is on the server, labelled with the network's id.
    let labels = docker_ok(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"berth.forgotten\"}}",
        &marker,
    ]);
    assert_eq!(labels.trim(), id.trim());

    // The block deleted: no removal, no error (prevent_removal no longer
    // applies: berth does not manage it), and the network stays.
    p.write("berth.toml", &local_header(&owner));
    assert_settled(&p);
    apply(&p, &[], 0);
    assert!(network_exists(&net));
    assert!(container_networks(&app)[&net].contains(&"app".to_string()));
    // Declared again (another subnet): adopted, so a difference is an
    // error, never a replace.
    p.write(
        "berth.toml",
        &declared.replace("10.244.50.0/24", "10.244.51.0/24"),
    );
    let (run, _) = plan(&p, 1);
    assert!(run.stdout.contains("berth did not create it"), "{run}");
    // Status names it as adopted.
    p.write("berth.toml", &declared);
    let status = p.berth(&["status"]);
    assert!(status.stdout.contains("adopted"), "{status}");
    // A network that is not berth's: nothing to forget.
    let foreign = cleanup.network(&unique("forget-foreign"));
    docker_ok(&["network", "create", &foreign]);
    let run = p.berth(&["forget", &foreign, "--server", "local"]);
    run.expect_code(1);
    assert!(run.stderr.contains("is not berth's"), "{run}");
}

#[test]
#[cfg_attr(
    not(feature = "fault-injection"),
    ignore = "needs --features fault-injection"
)]
fn a_foreign_network_made_again_since_the_plan_is_not_taken_over() {
    let cleanup = Cleanup::new();
    let owner = unique("takeover-race");
    let first = cleanup.network(&unique("takeover-race-first"));
    let net = cleanup.network(&unique("takeover-race-n"));
    docker_ok(&["network", "create", "--subnet", "10.244.60.0/24", &net]);
    let p = Project::new();
    // The apply creates `first`, then takes `net` over; in between, someone
    // makes `net` again (same name, another network).
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("first", "local", &first)
            + &destination("n", "local", &net)
            + "manage = true\nsubnet = \"10.244.60.0/24\"\nenable_ipv6 = true\nsubnet_v6 = \"fd44:60::/64\"\n"),
    );
    let mut run = Spawned::command(
        p.args(&["apply", "--yes"]),
        p.path(),
        &[("BERTH_FAULT", OsStr::new("apply.step@1:sleep=3000"))],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !network_exists(&first) {
        assert!(std::time::Instant::now() < deadline && run.still_running());
        std::thread::sleep(Duration::from_millis(50));
    }
    docker_ok(&["network", "rm", &net]);
    docker_ok(&["network", "create", "--subnet", "10.244.60.0/24", &net]);
    let run = run.finish(Duration::from_secs(120));
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("is not the one the plan takes over: it was made again since the plan"),
        "{run}"
    );
    assert!(
        !enable_ipv6(&net),
        "the network made since is left as it is"
    );
    assert!(!network_labels(&net).contains_key("berth.owner"));
}

//! Containers shared by destinations (a proxy on every destination of its
//! server), short aliases for stacks, and a Coolify fleet imported and then
//! redeployed under `berth watch`: real engines, the real binary.

use std::time::{Duration, Instant};

use crate::common::config::{destination, local_header, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{apply, assert_settled, changes, plan};
use crate::common::{
    Cleanup, ComposeStack, Project, TEST_IMAGE, container_networks, ensure_image, network_exists,
    run_container, unique, unique_project,
};

fn proxy(container: &str) -> String {
    format!(
        "\n[[application]]\nname = \"proxy\"\ndestinations = \"*\"\ncontainer = \"{container}\"\naliases = [\"proxy\"]\n"
    )
}

#[test]
fn a_proxy_on_every_destination_joins_new_ones_and_does_not_block_a_removal() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("shared");
    let a = cleanup.network(&unique("shared-a"));
    let b = cleanup.network(&unique("shared-b"));
    let c = cleanup.network(&unique("shared-c"));
    let traefik = cleanup.container(&unique("shared-proxy"));
    run_container(&traefik, "bridge", &[]);
    let p = Project::new();
    let config = |nets: &[(&str, &str)]| {
        let mut t = local_header(&owner);
        for (name, net) in nets {
            t += &destination(name, "local", net);
        }
        t + &proxy(&traefik)
    };
    p.write("berth.toml", &config(&[("a", &a), ("b", &b)]));
    apply(&p, &[], 0);
    let nets = container_networks(&traefik);
    assert!(nets[&a].contains(&"proxy".into()) && nets[&b].contains(&"proxy".into()));

    // A new destination: the proxy joins it in the same apply.
    p.write("berth.toml", &config(&[("a", &a), ("b", &b), ("c", &c)]));
    apply(&p, &[], 0);
    assert!(container_networks(&traefik)[&c].contains(&"proxy".into()));
    // A rename of a destination (same network) changes nothing.
    p.write(
        "berth.toml",
        &config(&[("a", &a), ("b", &b), ("renamed", &c)]),
    );
    assert_settled(&p);

    // Destination b goes: the proxy leaves it as part of the removal and
    // does not block it.
    p.write("berth.toml", &config(&[("a", &a), ("renamed", &c)]));
    let (run, before) = plan(&p, 0);
    let remove = changes(&before)
        .iter()
        .find(|x| x["action"] == "remove_network" && x["network"] == b.as_str())
        .unwrap_or_else(|| panic!("no removal of {b}\n{run}"));
    assert_eq!(remove["status"], "planned", "{run}");
    assert!(
        changes(&before).iter().any(|x| x["action"] == "disconnect"
            && x["container"] == traefik.as_str()
            && x["network"] == b.as_str()),
        "{run}"
    );
    apply(&p, &[], 0);
    assert!(!network_exists(&b));
    let nets = container_networks(&traefik);
    assert!(nets.contains_key(&a) && nets.contains_key(&c) && !nets.contains_key(&b));
    assert_settled(&p);
}

const TWO_WEBS: &str = r#"version: "2.4"
services:
  web:
    image: berth-test/busybox:1
    command: ["sleep", "3600"]
"#;

#[test]
fn short_aliases_add_the_service_name_and_a_collision_is_an_error_naming_both() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("short");
    let net = cleanup.network(&unique("short-n"));
    let (one, two) = (unique_project("shorta"), unique_project("shortb"));
    let first = ComposeStack::new(&one, TWO_WEBS);
    first.up(&[]);
    let second = ComposeStack::new(&two, TWO_WEBS);
    second.up(&[]);
    let stack = |name: &str, project: &str, short: bool| {
        format!(
            "\n[[service]]\nname = \"{name}\"\ndestination = \"prod\"\nproject = \"{project}\"\nconnect_to_predefined_networks = true\nshort_aliases = {short}\n"
        )
    };
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &stack("one", &one, true)
            + &stack("two", &two, false)),
    );
    apply(&p, &[], 0);
    let web = first.containers()[0].clone();
    let aliases = &container_networks(&web)[&net];
    assert!(
        aliases.contains(&"web".into()) && aliases.contains(&format!("web-{one}")),
        "{aliases:?}"
    );
    assert_settled(&p);

    // Both stacks want `web` on one destination: it would resolve to both.
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("prod", "local", &net)
            + &stack("one", &one, true)
            + &stack("two", &two, true)),
    );
    let (run, result) = plan(&p, 1);
    let errors = result["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| {
            let m = e["message"].as_str().unwrap_or("");
            m.contains("short alias `web`") && m.contains("one and two")
        }),
        "{run}"
    );
    let run = p.berth(&["apply", "--yes"]);
    run.expect_code(1);
    assert!(run.stderr.contains("the plan has errors"), "{run}");
}

/// A Coolify-managed container: the labels Coolify v4 gives an application.
fn coolify_app(d: &SecondDaemon, name: &str, app_id: &str, pull_request: &str, network: &str) {
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        network,
        "--network-alias",
        "shop",
        "--label",
        "coolify.managed=true",
        "--label",
        "coolify.type=application",
        "--label",
        &format!("coolify.applicationId={app_id}"),
        "--label",
        &format!("coolify.pullRequestId={pull_request}"),
        "--label",
        "coolify.resourceName=my shop",
        "--label",
        &format!("coolify.name={name}"),
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
}

#[test]
fn an_imported_coolify_application_survives_a_redeploy_under_watch() {
    ensure_image();
    let d = SecondDaemon::start();
    d.load_image(TEST_IMAGE);
    let owner = unique("coolify");
    let net = unique("coolify-n");
    d.docker_ok(&["network", "create", &net]);
    let old = "m4k0mqqy4-20261129034500";
    coolify_app(&d, old, "12", "0", &net);
    let previews = unique("coolify-pr");
    d.docker_ok(&["network", "create", &previews]);
    coolify_app(&d, "m4k0mqqy4-pr-7", "12", "7", &previews);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner) + &server("d", &d.address())),
    );
    let run = p.berth(&["import", "--server", "d"]);
    run.expect_code(0);
    let imported: toml::Table =
        toml::from_str(&run.stdout).unwrap_or_else(|e| panic!("not TOML ({e})\n{run}"));
    let app = imported["application"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"].as_str() == Some("my-shop")))
        .unwrap_or_else(|| panic!("named from coolify.resourceName\n{run}"));
    let selector: toml::Table =
        toml::from_str("\"coolify.applicationId\" = \"12\"\n\"coolify.pullRequestId\" = \"0\"\n")
            .unwrap();
    assert_eq!(
        app.get("match_labels").and_then(toml::Value::as_table),
        Some(&selector),
        "selects by Coolify's id, pull request 0\n{run}"
    );
    assert!(run.stdout.contains("a preview deployment"), "{run}");
    p.write(
        "berth.toml",
        &run.stdout
            .replace("owner = \"berth\"", &format!("owner = \"{owner}\"")),
    );
    assert_settled(&p);

    // Under watch, Coolify redeploys: the old container goes, a new
    // <uuid>-<timestamp> with the same labels comes, without the alias.
    let mut watch = crate::common::spawn::Spawned::start(&p, &["watch", "--resync", "1h"]);
    std::thread::sleep(Duration::from_secs(2));
    d.docker_ok(&["rm", "-f", old]);
    let new = "m4k0mqqy4-20261129040000";
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        new,
        "--label",
        "coolify.managed=true",
        "--label",
        "coolify.type=application",
        "--label",
        "coolify.applicationId=12",
        "--label",
        "coolify.pullRequestId=0",
        "--label",
        "coolify.resourceName=my shop",
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let nets = d.docker_ok(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            new,
        ]);
        if nets.contains(&net) && nets.contains("\"shop\"") {
            break;
        }
        assert!(
            Instant::now() < deadline && watch.still_running(),
            "watch did not attach the redeployed container: {nets}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The preview deployment was left alone.
    let preview = d.docker_ok(&[
        "inspect",
        "--format",
        "{{json .NetworkSettings.Networks}}",
        "m4k0mqqy4-pr-7",
    ]);
    assert!(!preview.contains(&net), "{preview}");
    drop(watch);
}

//! `berth status` against the real engine: an ok, a missing, a differing,
//! an adopted and an unused destination; a stopped and an unhealthy
//! container; a selected container that is not attached; an orphan network.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::config::{application, destination, destination_with_subnet, local_header};
use crate::common::plan::apply;
use crate::common::{
    Cleanup, Project, TEST_IMAGE, create_stopped_container, docker_ok, ensure_image, run_container,
    unique,
};

fn dest<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["destinations"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no destination {name}: {status:#}"))
}

fn attached<'a>(d: &'a Value, container: &str) -> &'a Value {
    d["attached"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["container"] == container))
        .unwrap_or_else(|| panic!("{container} not attached: {d:#}"))
}

#[test]
fn status_shows_every_destination_its_state_what_runs_there_and_the_drift() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("status");
    let ok = cleanup.network(&unique("status-ok"));
    let missing = unique("status-missing");
    let differs = cleanup.network(&unique("status-diff"));
    let adopted = cleanup.network(&unique("status-adopt"));
    let unused = cleanup.network(&unique("status-unused"));
    let orphan = cleanup.network(&unique("status-orphan"));
    let api = cleanup.container(&unique("status-api"));
    let sick = cleanup.container(&unique("status-sick"));
    let stopped = cleanup.container(&unique("status-stopped"));
    let web = cleanup.container(&unique("status-web"));
    let p = Project::new();

    // berth creates ok, differs, unused and the orphan-to-be; then the
    // config changes under them.
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("ok", "local", &ok)
            + &destination_with_subnet("differs", "local", &differs, "10.243.1.0/24")
            + &destination("unused", "local", &unused)
            + &destination("gone", "local", &orphan)),
    );
    apply(&p, &[], 0);
    docker_ok(&["network", "create", &adopted]);
    run_container(&api, &ok, &["api"]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &sick,
        "--network",
        &ok,
        "--health-cmd",
        "exit 1",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    create_stopped_container(&stopped, &ok, &[]);
    run_container(&web, "bridge", &[]);
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("ok", "local", &ok)
            + &destination("missing", "local", &missing)
            + &destination_with_subnet("differs", "local", &differs, "10.243.2.0/24")
            + &destination("adopted", "local", &adopted)
            + &destination("unused", "local", &unused)
            + &application("api", "ok", &api)
            + &application("web", "ok", &web)),
    );
    // Docker takes a moment to call the container unhealthy.
    let deadline = Instant::now() + Duration::from_secs(30);
    while docker_ok(&["inspect", "--format", "{{.State.Health.Status}}", &sick]) != "unhealthy" {
        assert!(Instant::now() < deadline, "the health check never failed");
        std::thread::sleep(Duration::from_millis(300));
    }

    let run = p.berth(&["status", "--format", "json"]);
    run.expect_code(0);
    let s = run.json();
    assert_eq!(s["format_version"], 1);
    assert_eq!(dest(&s, "ok")["state"], "ok", "{s:#}");
    assert_eq!(dest(&s, "missing")["state"], "missing");
    assert_eq!(dest(&s, "differs")["state"], "differs");
    assert_eq!(dest(&s, "differs")["subnet"], "10.243.1.0/24");
    assert_eq!(dest(&s, "adopted")["state"], "adopted");
    assert_eq!(dest(&s, "unused")["unused"], true);
    assert_eq!(dest(&s, "ok")["unused"], false);
    assert_eq!(dest(&s, "ok")["driver"], "bridge");
    assert_eq!(dest(&s, "ok")["address"], "local");
    let o = dest(&s, "ok");
    let a = attached(o, &api);
    assert_eq!(
        (&a["kind"], &a["resource"], &a["state"]),
        (&"application".into(), &"api".into(), &"running".into())
    );
    assert!(a["uptime"].is_string(), "{a:#}");
    assert_eq!(attached(o, &sick)["health"], "unhealthy", "{o:#}");
    assert_eq!(attached(o, &sick)["kind"], "unmanaged");
    assert_eq!(attached(o, &stopped)["state"], "created");
    let detached = o["detached"].as_array().expect("detached");
    assert_eq!(detached.len(), 1, "{o:#}");
    assert_eq!(detached[0]["container"], web.as_str());
    assert_eq!(detached[0]["resource"], "web");
    let orphans = s["orphans"].as_array().expect("orphans");
    assert!(
        orphans
            .iter()
            .any(|x| x["network"] == orphan.as_str() && x["destination"] == "gone"),
        "{s:#}"
    );
    assert!(s["drift"].as_u64().unwrap_or(0) >= 1, "{s:#}");

    let human = p.berth(&["status"]);
    human.expect_code(0);
    for needle in [
        format!("destination ok · network {ok} · ok"),
        format!("destination missing · network {missing} · missing"),
        format!("destination adopted · network {adopted} · adopted"),
        format!("{web} (application web, running) is not attached"),
        format!("orphan: network {orphan}"),
        "unhealthy".to_string(),
    ] {
        assert!(
            human.stdout.contains(&needle),
            "missing `{needle}`\n{human}"
        );
    }
    // Drift exits 2 when asked; one destination alone.
    p.berth(&["status", "--detailed-exitcode"]).expect_code(2);
    let one = p.berth(&["status", "--destination", "adopted", "--format", "json"]);
    one.expect_code(0);
    assert_eq!(one.json()["destinations"].as_array().map(Vec::len), Some(1));
    p.berth(&["status", "--destination", "nope"]).expect_code(1);

    let used = p.berth(&[
        "status",
        "--usage",
        "--destination",
        "ok",
        "--format",
        "json",
    ]);
    used.expect_code(0);
    let u = used.json();
    let a = attached(&u["destinations"][0], &api);
    assert!(
        a["usage"]["memory_bytes"].as_u64().is_some_and(|m| m > 0),
        "{a:#}"
    );
    assert!(a["usage"]["cpu_percent"].as_f64().is_some(), "{a:#}");
    assert!(
        u["destinations"][0]["usage"]["memory_bytes"]
            .as_u64()
            .is_some()
    );
    assert!(u["usage_ms"].as_u64().is_some(), "{u:#}");
}

#[test]
fn a_detached_container_is_drift_counted_once_and_its_destination_is_not_unused() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("status-once");
    let net = cleanup.network(&unique("status-once-n"));
    let web = cleanup.container(&unique("status-once-web"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("front", "local", &net)),
    );
    apply(&p, &[], 0);
    // Declared on front, running on the default bridge only: one thing
    // drifted (the plan connects it), and front is drift, not unused.
    run_container(&web, "bridge", &[]);
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("front", "local", &net)
            + &application("web", "front", &web)),
    );
    let run = p.berth(&["status", "--format", "json"]);
    run.expect_code(0);
    let s = run.json();
    let d = dest(&s, "front");
    assert_eq!(d["detached"].as_array().map(Vec::len), Some(1), "{d:#}");
    assert_eq!(d["changes"], 1, "{d:#}");
    assert_eq!(s["drift"], 1, "one detached container is one drift: {s:#}");
    assert_eq!(d["unused"], false, "{d:#}");

    let human = p.berth(&["status"]);
    human.expect_code(0);
    let line = human
        .stdout
        .lines()
        .find(|l| l.contains("destination front"))
        .unwrap_or_else(|| panic!("no front line\n{human}"));
    assert!(
        line.contains("drift") && !line.contains("unused"),
        "{line}\n{human}"
    );
    assert!(
        human.stdout.contains("0 unused.") && human.stdout.contains("Drift: 1 "),
        "{human}"
    );
    p.berth(&["status", "--detailed-exitcode"]).expect_code(2);
}

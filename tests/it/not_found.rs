//! A declared container that matches nothing on its server (issue 17,
//! item 4), against the real engine: a misspelled `container` with the real
//! one running is a warning naming it (did you mean) in the terminal,
//! JSON and Markdown plans and in `status` (listed, counted as drift, exit
//! 2 with `--detailed-exitcode`); `--strict` and `[settings] strict = true`
//! make it an error (exit 1, `apply` applies nothing). A stopped container
//! counts as there.

use serde_json::Value;

use crate::common::config::{destination, local_header, resource};
use crate::common::plan::apply;
use crate::common::{
    Cleanup, Project, create_stopped_container, ensure_image, run_container, unique,
};

fn not_found(plan: &Value) -> Vec<&Value> {
    plan["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter(|w| w["code"] == "declared_not_found")
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_misspelled_container_is_a_warning_with_its_fix_in_every_view_and_drift_in_status() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("nf");
    let net = cleanup.network(&unique("nf-net"));
    let base = unique("nf");
    let app = cleanup.container(&format!("{base}-nc-app"));
    let typo = format!("{base}-nc-ap");
    let stopped = cleanup.container(&unique("nf-db"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("cloud", "local", &net)),
    );
    apply(&p, &[], 0);
    run_container(&app, &net, &[]);
    create_stopped_container(&stopped, &net, &["db"]);
    let config = local_header(&owner)
        + &destination("cloud", "local", &net)
        + &resource("application", "nextcloud", "cloud", &typo, None)
        + &resource("database", "db", "cloud", &stopped, Some(&["db"]));
    p.write("berth.toml", &config);

    // Plan: a warning with the fix, no change to apply, exit codes as
    // before (nothing to apply is 0, with --detailed-exitcode too).
    let human = p.berth(&["plan"]);
    human.expect_code(0);
    let want = format!(
        "warning: application nextcloud: no container {typo} on server local; did you mean {app}"
    );
    assert!(human.stdout.contains(&want), "no `{want}`\n{human}");
    assert!(
        human
            .stdout
            .contains("1 declared resource(s) match nothing"),
        "{human}"
    );
    assert!(
        !human.stdout.contains(&format!("no container {stopped}")),
        "a stopped container is there: {human}"
    );
    p.berth(&["plan", "--detailed-exitcode"]).expect_code(0);

    let json = p.berth(&["plan", "--format", "json"]);
    json.expect_code(0);
    let plan = json.json();
    let w = not_found(&plan);
    assert_eq!(w.len(), 1, "{plan:#}");
    assert_eq!(w[0]["server"], "local");
    assert_eq!(w[0]["resource"]["name"], "nextcloud");
    assert_eq!(w[0]["resource"]["kind"], "application");
    assert_eq!(w[0]["suggestions"][0], app.as_str(), "{plan:#}");
    assert_eq!(plan["missing"][0]["suggestions"][0], app.as_str());
    assert!(
        plan["changes"].as_array().is_some_and(Vec::is_empty),
        "{plan:#}"
    );

    let md = p.berth(&["plan", "--format", "markdown"]);
    md.expect_code(0);
    assert!(
        md.stdout.contains(&format!("did you mean {app}"))
            && md.stdout.contains("declared resource(s) match nothing"),
        "{md}"
    );

    // Status lists it under its destination and counts it as drift.
    let status = p.berth(&["status"]);
    status.expect_code(0);
    assert!(
        status.stdout.contains(&format!(
            "not found: application nextcloud: no container {typo}"
        )) && status.stdout.contains(&format!("did you mean {app}"))
            && status.stdout.contains("Drift: 1")
            && !status.stdout.contains("No drift"),
        "{status}"
    );
    p.berth(&["status", "--detailed-exitcode"]).expect_code(2);
    let s = p.berth(&["status", "--format", "json"]);
    s.expect_code(0);
    let s = s.json();
    assert_eq!(s["drift"], 1, "{s:#}");
    let d = &s["destinations"][0];
    assert_eq!(d["not_found"].as_array().map(Vec::len), Some(1), "{d:#}");
    assert_eq!(d["not_found"][0]["suggestions"][0], app.as_str());
    assert_eq!(
        d["unused"], false,
        "a destination with declared resources is not unused"
    );
    let md = p.berth(&["status", "--format", "markdown"]);
    md.expect_code(0);
    assert!(md.stdout.contains(&format!("did you mean {app}")), "{md}");

    // --strict: an error; apply applies nothing.
    let strict = p.berth(&["plan", "--strict"]);
    strict.expect_code(1);
    assert!(
        strict.stdout.contains(&format!(
            "error: application nextcloud: no container {typo} on server local; did you mean {app}"
        )) && strict.stdout.contains("hint:"),
        "{strict}"
    );
    let refused = apply(&p, &["--strict"], 1);
    assert!(
        refused
            .stderr
            .contains("nothing applied: the plan has errors"),
        "{refused}"
    );

    // [settings] strict = true: the same for every run.
    p.write(
        "berth.toml",
        &config.replacen("[settings]\n", "[settings]\nstrict = true\n", 1),
    );
    let (_, plan) = crate::common::plan::plan(&p, 1);
    assert!(not_found(&plan).is_empty(), "{plan:#}");
    let errors = plan["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{plan:#}");
    assert_eq!(errors[0]["destination"], "cloud");
    assert_eq!(errors[0]["network"], net.as_str());
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("did you mean {app}"))),
        "{plan:#}"
    );
    apply(&p, &[], 1);

    // Fixed, nothing is missing any more.
    p.write("berth.toml", &config.replace(&typo, &app));
    let (_, plan) = crate::common::plan::plan(&p, 0);
    assert!(not_found(&plan).is_empty(), "{plan:#}");
    assert!(
        plan["missing"].as_array().is_some_and(Vec::is_empty),
        "{plan:#}"
    );
}

#[test]
fn watch_logs_a_missing_container_once_when_it_appears_and_counts_it_as_drift() {
    ensure_image();
    let cleanup = Cleanup::new();
    let owner = unique("nf-watch");
    let net = cleanup.network(&unique("nf-watch-n"));
    let base = unique("nf-watch");
    let app = cleanup.container(&format!("{base}-web"));
    let other = cleanup.container(&unique("nf-watch-other"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("front", "local", &net)),
    );
    apply(&p, &[], 0);
    run_container(&app, &net, &[]);
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("front", "local", &net)
            + &resource("application", "web", "front", &format!("{base}-wbe"), None)),
    );
    let w = crate::watch::start(&p, &["--resync", "1h"]);
    let warning = format!("did you mean {app}");
    w.expect_line(&warning);
    w.expect_line("planned (start): 0 change(s) left, 1 declared resource(s) not found");
    // Events make it plan again: the warning is not repeated.
    run_container(&other, &net, &[]);
    w.until("plan after the event", || {
        w.log().contains("planned (event)")
    });
    let (_, log) = w.stop();
    assert_eq!(
        log.lines().filter(|l| l.contains(&warning)).count(),
        1,
        "logged once, when it appeared:\n{log}"
    );
    assert!(
        log.lines().any(|l| l.contains(&format!(
            "server local: warning: application web: no container {base}-wbe"
        ))),
        "{log}"
    );
}

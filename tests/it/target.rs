//! Targeting: `--server PATTERN` and `--destination PATTERN` limit a run
//! to some servers and destinations; the others are not contacted (a dead
//! or stopped one does not matter), a saved plan keeps its target, and a
//! pattern matching nothing is an error naming the closest names. Real
//! engines: the local one, a second dockerd in its own network namespace,
//! and an address that refuses.

use crate::common::config::{destination, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{apply, changes, plan_json};
use crate::common::{Cleanup, Project, network_exists, unique};

#[test]
fn a_targeted_plan_never_contacts_the_other_servers_and_a_saved_one_keeps_its_target() {
    let cleanup = Cleanup::new();
    let owner = unique("tgt");
    let local_net = cleanup.network(&unique("tgt-local"));
    let ghost_address = format!("unix:///tmp/{}/nope.sock", unique("tgt-gone"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("ghost", &ghost_address)
            + &server("local", "local")
            + &destination("gone", "ghost", &unique("tgt-ghost"))
            + &destination("prod", "local", &local_net)),
    );
    // Untargeted, the dead server fails the plan.
    p.berth(&["plan"]).expect_code(1);

    // Targeted: it succeeds and plans only local; ghost is not contacted.
    let (run, plan) = plan_json(&p, &["--server", "loc*"], 0);
    let servers: Vec<(String, String)> = plan["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        servers.contains(&("ghost".into(), "skipped".into()))
            && servers.contains(&("local".into(), "ok".into())),
        "{run}"
    );
    assert_eq!(plan["target"]["servers"][0], "loc*", "{run}");
    assert_eq!(plan["target"]["not_targeted"][0], "ghost", "{run}");
    let changes = changes(&plan);
    assert!(!changes.is_empty(), "{run}");
    assert!(changes.iter().all(|c| c["server"] == "local"), "{run}");
    let human = p.berth(&["plan", "--server", "local"]);
    human.expect_code(0);
    assert!(
        human
            .stdout
            .contains("1 server(s) not targeted, not contacted"),
        "{human}"
    );
    assert!(!human.stdout.contains("nope.sock"), "{human}");

    // Status too.
    p.berth(&["status", "--server", "local"]).expect_code(0);

    // A pattern matching nothing, or a tag: errors with what to do.
    let run = p.berth(&["plan", "--server", "lcal"]);
    run.expect_code(1);
    assert!(run.stderr.contains("no server matches `lcal`"), "{run}");
    assert!(run.stderr.contains("did you mean local?"), "{run}");
    let run = p.berth(&["plan", "--destination", "prd"]);
    run.expect_code(1);
    assert!(run.stderr.contains("no destination matches `prd`"), "{run}");
    assert!(run.stderr.contains("did you mean prod?"), "{run}");
    let run = p.berth(&["plan", "--server", "tag:web"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("no server's tag matches `tag:web`"),
        "{run}"
    );

    // A saved plan records its target; applying it applies only that.
    let saved = p.path().join("reviewed.json");
    p.berth(&[
        "plan",
        "--server",
        "local",
        "--out",
        saved.to_str().unwrap(),
    ])
    .expect_code(0);
    let run = apply(&p, &[saved.to_str().unwrap()], 0);
    assert!(network_exists(&local_net), "{run}");
    assert!(!run.stderr.contains("nothing applied"), "{run}");
}

#[test]
fn apply_changes_only_the_targeted_servers_and_destinations() {
    let mut d = SecondDaemon::start();
    let cleanup = Cleanup::new();
    let owner = unique("tgt2");
    let on_local = cleanup.network(&unique("tgt2-a"));
    let b = unique("tgt2-b");
    let c = unique("tgt2-c");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("local", "local")
            + &server("d", &d.address())
            + &destination("a", "local", &on_local)
            + &destination("b", "d", &b)
            + &destination("c", "d", &c)),
    );
    let on_d = |net: &str| d.docker(&["network", "inspect", net]).status.success();

    // --destination: only b, on d.
    let run = apply(&p, &["--destination", "b"], 0);
    assert!(on_d(&b), "{run}");
    assert!(!on_d(&c), "c is not targeted\n{run}");
    assert!(!network_exists(&on_local), "local is not targeted\n{run}");

    // --server d: all of d, nothing of local.
    let run = apply(&p, &["--server", "d"], 0);
    assert!(on_d(&c), "{run}");
    assert!(!network_exists(&on_local), "local is not targeted\n{run}");
    assert!(
        run.stdout
            .contains("1 server(s) not targeted, not contacted"),
        "{run}"
    );

    // d stopped: a run targeting local neither notices nor waits on it.
    d.stop();
    let run = apply(&p, &["--server", "local", "--timeout", "5s"], 0);
    assert!(network_exists(&on_local), "{run}");
}

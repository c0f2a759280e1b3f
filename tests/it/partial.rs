//! One dead or blocked server never freezes the others: `apply` applies
//! nothing unless every server can be applied (the default, safe for
//! hooks); `apply --partial` and `[settings] partial = true` apply every
//! server whose own plan is complete and unblocked, name each server left
//! as it is with why, and exit non-zero. Real engines: the local one, a
//! second dockerd in its own network namespace, and an address that
//! refuses.

use crate::common::config::{destination, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::apply;
use crate::common::{Cleanup, Project, TEST_IMAGE, docker_ok, network_exists, unique};

/// The config: `ghost` (a socket that is not there) and `local`, each with
/// one destination; `partial` adds `partial = true` to `[settings]`.
fn ghost_and_local(owner: &str, ghost_net: &str, local_net: &str, partial: bool) -> String {
    let address = format!("unix:///tmp/{}/nope.sock", unique("gone"));
    let mut text = settings(owner);
    if partial {
        text += "partial = true\n";
    }
    text += &server("ghost", &address);
    text + &server("local", "local")
        + &destination("gone", "ghost", ghost_net)
        + &destination("prod", "local", local_net)
}

#[test]
fn an_unreachable_server_stops_every_apply_unless_partial_which_applies_the_others() {
    let cleanup = Cleanup::new();
    let owner = unique("partial");
    let ghost_net = cleanup.network(&unique("partial-ghost"));
    let local_net = cleanup.network(&unique("partial-local"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &ghost_and_local(&owner, &ghost_net, &local_net, false),
    );

    // The default: all or nothing, and it says why.
    let run = apply(&p, &[], 1);
    assert!(
        run.stderr
            .contains("nothing applied: server(s) ghost could not be read"),
        "{run}"
    );
    assert!(
        run.stderr.contains("--partial"),
        "the hint names --partial\n{run}"
    );
    assert!(!network_exists(&local_net), "{run}");

    // --partial: the server that answered is applied, the other named.
    let run = apply(&p, &["--partial"], 1);
    assert!(network_exists(&local_net), "local was not applied\n{run}");
    assert!(
        run.stdout
            .contains("Partial apply: 1 server(s) skipped, left as they are:"),
        "{run}"
    );
    assert!(
        run.stdout.contains("server ghost skipped: unreachable: ")
            && run.stdout.contains("nope.sock"),
        "the skipped server is named with its read error\n{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "✓ create network {local_net} (destination prod) on local"
        )),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("partial apply: server(s) ghost skipped, left as they are"),
        "{run}"
    );
    // Nothing left to do on local, ghost still down: still not 0.
    let run = apply(&p, &["--partial"], 1);
    assert!(run.stdout.contains("server ghost skipped"), "{run}");

    // `[settings] partial = true` makes it the default.
    docker_ok(&["network", "rm", &local_net]);
    p.write(
        "berth.toml",
        &ghost_and_local(&owner, &ghost_net, &local_net, true),
    );
    let run = apply(&p, &[], 1);
    assert!(
        network_exists(&local_net),
        "settings.partial ignored\n{run}"
    );
    assert!(
        run.stdout.contains("server ghost skipped: unreachable"),
        "{run}"
    );

    // A saved plan honours it too: what was reviewed, minus the skipped.
    docker_ok(&["network", "rm", &local_net]);
    p.write(
        "berth.toml",
        &ghost_and_local(&owner, &ghost_net, &local_net, false),
    );
    let saved = p.path().join("reviewed.json");
    p.berth(&["plan", "--out", saved.to_str().unwrap()])
        .expect_code(1);
    let run = apply(&p, &[saved.to_str().unwrap()], 1);
    assert!(run.stderr.contains("nothing applied"), "{run}");
    assert!(!network_exists(&local_net), "{run}");
    let run = apply(&p, &[saved.to_str().unwrap(), "--partial"], 1);
    assert!(network_exists(&local_net), "{run}");
    assert!(run.stdout.contains("server ghost skipped"), "{run}");
}

#[test]
fn a_blocked_removal_on_one_server_leaves_the_other_applied_with_partial() {
    let d = SecondDaemon::start();
    d.load_image(TEST_IMAGE);
    let cleanup = Cleanup::new();
    let owner = unique("partial-blk");
    let old = unique("partial-old");
    let new = cleanup.network(&unique("partial-new"));
    let p = Project::new();
    let with_old = settings(&owner)
        + &server("local", "local")
        + &server("d", &d.address())
        + &destination("old", "d", &old);
    p.write("berth.toml", &with_old);
    apply(&p, &[], 0);
    // Something is attached to `old` on d: its removal is blocked.
    let holder = unique("partial-holder");
    d.docker_ok(&[
        "create",
        "--name",
        &holder,
        "--network",
        &old,
        TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("local", "local")
            + &server("d", &d.address())
            + &destination("new", "local", &new)),
    );

    let run = apply(&p, &[], 3);
    assert!(run.stderr.contains("change(s) are blocked"), "{run}");
    assert!(!network_exists(&new), "{run}");

    let run = apply(&p, &["--partial"], 3);
    assert!(
        network_exists(&new),
        "the unblocked server was not applied\n{run}"
    );
    assert!(
        run.stdout
            .contains(&format!("server d skipped: blocked: remove network {old}")),
        "the blocked server is named with its blocked change\n{run}"
    );
    assert!(
        run.stdout.contains(&holder),
        "the reason names what holds it\n{run}"
    );
    assert!(
        d.docker(&["network", "inspect", &old]).status.success(),
        "a skipped server was changed\n{run}"
    );
}

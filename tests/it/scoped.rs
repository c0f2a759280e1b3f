//! Changes touch only the servers they concern: `plan --base` (PR
//! previews) and the push hooks contact only the servers whose part of the
//! config the change touches; `--all` contacts every one. Non-contact is
//! proved on real engines: a second dockerd in its own network namespace
//! behind a request-counting proxy (zero requests), and an address that
//! refuses (a plan that contacted it would fail).

use crate::common::config::{destination, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::{Cleanup, CountingProxy, network_exists, unique};
use crate::git::{Repo, git_ok, rev_parse, text};

/// The servers of a plan JSON with their status.
fn statuses(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn a_pr_changing_one_server_contacts_only_that_server_and_all_contacts_every_one() {
    let d = SecondDaemon::start();
    let (proxied, proxy) = CountingProxy::start(&d.socket);
    let cleanup = Cleanup::new();
    let owner = unique("scp");
    let on_local = cleanup.network(&unique("scp-l"));
    let added = cleanup.network(&unique("scp-l2"));
    let on_d = unique("scp-d");
    let ghost = format!("unix:///tmp/{}/refuses.sock", unique("scp-ghost"));
    let on_ghost = unique("scp-g");
    let config = |extra: &str| {
        settings(&owner)
            + &server("local", "local")
            + &server("d", &format!("unix://{}", proxied.display()))
            + &server("ghost", &ghost)
            + &destination("l", "local", &on_local)
            + &destination("dd", "d", &on_d)
            + &destination("g", "ghost", &on_ghost)
            + extra
    };
    let repo = Repo::new();
    repo.write("berth.toml", &config(""));
    repo.commit("base");
    // The change: a destination more on local, nothing else.
    repo.write("berth.toml", &config(&destination("l2", "local", &added)));
    repo.commit("head: a destination on local");
    let w = repo.path();
    let berth = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        crate::common::berth_raw(&args, w)
    };

    let run = berth(&[
        "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "json",
    ]);
    run.expect_code(0);
    let plan = run.json();
    assert_eq!(
        proxy.count(),
        0,
        "d was contacted: {:?}\n{run}",
        proxy.requests()
    );
    assert_eq!(names(&plan["unaffected"]), ["d", "ghost"], "{run}");
    assert_eq!(
        statuses(&plan),
        [
            ("local".into(), "ok".into()),
            ("d".into(), "skipped".into()),
            ("ghost".into(), "skipped".into())
        ],
        "{run}"
    );
    let changes = plan["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["network"] == added.as_str())
            && changes.iter().all(|c| c["server"] == "local"),
        "{run}"
    );

    for (format, says) in [
        (
            "human",
            "2 server(s) unaffected by the change, not contacted",
        ),
        (
            "markdown",
            "2 server(s) unaffected by the change, not contacted",
        ),
    ] {
        let run = berth(&[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", format,
        ]);
        run.expect_code(0);
        assert!(run.stdout.contains(says), "{format}:\n{run}");
        assert!(!run.stdout.contains("refuses"), "{format}:\n{run}");
    }
    assert_eq!(proxy.count(), 0, "{:?}", proxy.requests());

    assert!(!network_exists(&added), "a plan changes nothing");

    // A saved preview applies as it was planned: local only.
    let saved = w.join("reviewed.json");
    let saved = saved.to_str().unwrap();
    berth(&["plan", "--base", "HEAD~1", "--ref", "HEAD", "--out", saved]).expect_code(0);
    let run = berth(&["apply", "--yes", saved]);
    run.expect_code(0);
    assert!(network_exists(&added) && network_exists(&on_local), "{run}");
    assert_eq!(proxy.count(), 0, "{:?}\n{run}", proxy.requests());

    // --all: every server, the dead one too (it fails the plan).
    let run = berth(&[
        "plan", "--base", "HEAD~1", "--ref", "HEAD", "--all", "--format", "json",
    ]);
    run.expect_code(1);
    assert!(proxy.count() > 0, "--all did not contact d\n{run}");
    let plan = run.json();
    assert!(plan.get("unaffected").is_none(), "{run}");
    assert!(
        statuses(&plan).contains(&("ghost".into(), "error".into())),
        "{run}"
    );

    // A change on d contacts d, not ghost; local is unaffected.
    proxy.reset();
    repo.write(
        "berth.toml",
        &config(&destination("l2", "local", &added)).replace(
            &format!("network = \"{on_d}\"\n"),
            &format!("network = \"{on_d}\"\ninternal = true\n"),
        ),
    );
    repo.commit("head: d's destination internal");
    let run = berth(&[
        "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "json",
    ]);
    run.expect_code(0);
    assert!(proxy.count() > 0, "d is affected\n{run}");
    let plan = run.json();
    assert_eq!(names(&plan["unaffected"]), ["local", "ghost"], "{run}");
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["server"] == "d"),
        "{run}"
    );
}

#[test]
fn push_hooks_read_and_apply_only_the_servers_a_push_touches() {
    let d = SecondDaemon::start();
    let (proxied, proxy) = CountingProxy::start(&d.socket);
    let cleanup = Cleanup::new();
    let owner = unique("scph");
    let on_local = cleanup.network(&unique("scph-l"));
    let more = cleanup.network(&unique("scph-m"));
    let later = cleanup.network(&unique("scph-x"));
    let on_d = unique("scph-d");
    let config = |extra: &str| {
        settings(&owner)
            + &server("local", "local")
            + &server("d", &format!("unix://{}", proxied.display()))
            + &destination("l", "local", &on_local)
            + &destination("dd", "d", &on_d)
            + extra
    };
    let on_d_exists = || d.docker(&["network", "inspect", &on_d]).status.success();

    let remote_dir = tempfile::tempdir().expect("tempdir");
    let bare = remote_dir.path().join("config.git");
    git_ok(
        remote_dir.path(),
        &["init", "-q", "--bare", "-b", "main", "config.git"],
    );
    let install = |extra: &[&str]| {
        let mut args = vec![
            "hook".to_string(),
            "install".into(),
            "--git-dir".into(),
            bare.display().to_string(),
            "--apply-on-push".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        crate::common::berth_raw(&args, remote_dir.path()).expect_code(0);
    };
    install(&[]);
    let work = Repo::clone_of(&bare);

    // 1. The first push creates the branch: nothing to compare with, both
    //    servers are checked and applied.
    work.write("berth.toml", &config(""));
    work.commit("two servers");
    let out = work.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(network_exists(&on_local) && on_d_exists(), "{}", text(&out));
    assert!(proxy.count() > 0);

    // 2. A push touching local only: d is neither read by pre-receive nor
    //    by post-receive.
    proxy.reset();
    work.write("berth.toml", &config(&destination("m", "local", &more)));
    let pushed = work.commit("a destination more on local");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert_eq!(rev_parse(&bare, "main"), pushed);
    assert!(network_exists(&more), "post-receive applied it\n{said}");
    assert_eq!(
        proxy.count(),
        0,
        "d was contacted: {:?}\n{said}",
        proxy.requests()
    );
    assert!(
        said.contains("1 server(s) unaffected by the change, not contacted"),
        "{said}"
    );

    // 3. A push that touches no server (a README) contacts none.
    work.write("README.md", "the infra repo\n");
    work.commit("docs only");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("2 server(s) unaffected by the change, not contacted"),
        "{said}"
    );
    assert_eq!(proxy.count(), 0, "{:?}\n{said}", proxy.requests());

    // 4. d's drift is not a push's business unless it touches d: a push
    //    touching local leaves d's missing network missing; with the hooks
    //    installed with --all, the next push heals it.
    d.docker_ok(&["network", "rm", &on_d]);
    work.write("berth.toml", &config(&destination("x", "local", &later)));
    work.commit("local: m out, x in");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(network_exists(&later) && !network_exists(&more), "{said}");
    assert!(!on_d_exists(), "d is not this push's business\n{said}");
    assert_eq!(proxy.count(), 0, "{:?}\n{said}", proxy.requests());

    install(&["--all"]);
    work.write("berth.toml", &config(""));
    work.commit("local: x out, hooks with --all");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(proxy.count() > 0, "--all contacts d\n{said}");
    assert!(on_d_exists(), "--all applied d too\n{said}");
    assert!(!network_exists(&later), "{said}");
    assert!(!said.contains("unaffected"), "{said}");
}

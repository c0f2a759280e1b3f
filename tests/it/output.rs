//! What berth tells the user: a Docker error in the middle of an apply, and
//! colour only where it belongs. Real binary, real Docker Engine.

use std::process::{Command, Stdio};

use crate::common::config::{destination, destination_with_subnet, local_header, server, settings};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::apply;
use crate::common::{Cleanup, Project, docker_ok, network_exists, unique};

#[test]
fn docker_error_mid_apply_reports_done_failed_and_not_attempted() {
    let cleanup = Cleanup::new();
    let owner = unique("owner");
    let foreign = cleanup.network(&unique("foreign"));
    let ok = cleanup.network(&unique("ok"));
    let clash = cleanup.network(&unique("clash"));
    let old = cleanup.network(&unique("old"));
    // A network berth does not manage holds the pool the second destination asks for:
    // Docker refuses to create it.
    docker_ok(&["network", "create", "--subnet", "10.214.1.0/24", &foreign]);
    // A berth-owned network no destination declares: its removal comes last.
    docker_ok(&[
        "network",
        "create",
        "--label",
        "berth.managed=true",
        "--label",
        &format!("berth.owner={owner}"),
        &old,
    ]);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("ok", "local", &ok)
            + &destination_with_subnet("clash", "local", &clash, "10.214.1.0/24")),
    );
    let run = apply(&p, &[], 1);
    let out = run
        .stdout
        .split("Applying:")
        .nth(1)
        .unwrap_or_else(|| panic!("no apply section\n{run}"));
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}\n{run}"))
    };
    assert!(line(&format!("create network {ok}")).contains('✓'), "{run}");
    let failed = line(&format!("create network {clash}"));
    assert!(
        failed.contains('✗') && failed.contains("overlaps"),
        "the Docker error is shown: {failed}\n{run}"
    );
    assert!(
        line(&format!("remove network {old}")).contains("not attempted"),
        "{run}"
    );
    assert!(
        out.contains("Apply failed: 1 done, 1 failed, 1 not attempted."),
        "{run}"
    );

    assert!(network_exists(&ok));
    assert!(!network_exists(&clash));
    assert!(
        network_exists(&old),
        "a step after the failure was not attempted"
    );

    // The next plan continues from what is live: only what is left.
    let plan = p.berth(&["plan", "--format", "json"]).json();
    let left: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["network"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        left,
        [
            ("create_network".to_string(), clash.clone()),
            ("remove_network".to_string(), old.clone())
        ]
    );
}

fn plan_output(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    plan_output_with(dir, env, &[])
}

fn plan_output_with(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args(["plan", "--dir"])
        .arg(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    cmd.envs(env.iter().copied()).stdin(Stdio::null());
    let out = cmd.output().expect("run berth");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn colour_only_on_request_when_not_a_terminal_and_never_with_no_color() {
    let p = Project::new();
    let owner = unique("owner");
    let net = unique("colour");
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("d", "local", &net)),
    );
    let piped = plan_output(p.path(), &[]);
    assert!(
        piped.contains(&format!("network {net}")) && piped.contains("+ create network"),
        "{piped}"
    );
    assert!(
        !piped.contains('\x1b'),
        "no escape codes into a pipe:\n{piped:?}"
    );
    let forced = plan_output(p.path(), &[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.contains("\x1b["),
        "CLICOLOR_FORCE=1 forces colour:\n{forced:?}"
    );
    let no_color = plan_output(p.path(), &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!no_color.contains('\x1b'), "NO_COLOR wins:\n{no_color:?}");
    // The same for the per-server view.
    let env = [("CLICOLOR_FORCE", "1")];
    let forced = plan_output_with(p.path(), &env, &["--verbose"]);
    assert!(
        forced.contains("\x1b[") && forced.contains("server local"),
        "{forced:?}"
    );
    let env = [("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")];
    let no_color = plan_output_with(p.path(), &env, &["--verbose"]);
    assert!(
        !no_color.contains('\x1b') && no_color.contains("server local (local)"),
        "NO_COLOR wins with --verbose:\n{no_color:?}"
    );
}

/// Runs `berth ARGS` on a pseudo-terminal (util-linux `script`), typing
/// `answer` on its stdin. Returns (exit code, everything it printed).
fn on_a_terminal(args: &[&str], answer: &str) -> (i32, String) {
    use std::io::Write;
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_berth"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{answer}\n").as_bytes())
        .expect("type the answer");
    let out = child.wait_with_output().expect("wait for script(1)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn apply_asks_on_a_terminal_and_shows_spinners_only_there() {
    let cleanup = Cleanup::new();
    let net = cleanup.network(&unique("tty"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&unique("owner")) + &destination("d", "local", &net)),
    );
    let dir = p.path().display().to_string();

    let (code, out) = on_a_terminal(&["apply", "--dir", &dir], "no");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Only `yes` is accepted") && out.contains("Apply cancelled"),
        "{out}"
    );
    assert!(!network_exists(&net), "nothing applied after `no`");

    let (code, out) = on_a_terminal(&["apply", "--dir", &dir], "yes");
    assert_eq!(code, 0, "{out}");
    assert!(network_exists(&net));
    assert!(
        out.contains("local: applying 1 change(s)"),
        "a spinner line per server on a terminal:\n{out}"
    );

    // Off a terminal: no prompt, no spinner.
    let p2 = Project::new();
    let net2 = cleanup.network(&unique("notty"));
    p2.write(
        "berth.toml",
        &(local_header(&unique("owner")) + &destination("d", "local", &net2)),
    );
    let run = apply(&p2, &[], 0);
    assert!(
        !run.stdout.contains("applying 1 change(s)")
            && !run.stderr.contains("applying 1 change(s)"),
        "{run}"
    );
    assert!(!run.stdout.contains("Only `yes`"), "{run}");
}

/// The same destination network on two real engines: the plan, the
/// Markdown and the status say each identical change once, naming both
/// servers; `--verbose` goes back to one part per server; the JSON stays
/// one change per server.
#[test]
fn the_same_network_on_two_engines_is_one_line_unless_verbose() {
    let d = SecondDaemon::start();
    let cleanup = Cleanup::new();
    let owner = unique("fleet");
    let net = cleanup.network(&unique("fleet-net"));
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("local", "local")
            + &server("d", &d.address())
            + &destination("web-a", "local", &net)
            + &destination("web-b", "d", &net)),
    );
    let plan = p.berth(&["plan"]);
    plan.expect_code(0);
    assert!(
        plan.stdout
            .contains(&format!("network {net} · destinations web-a, web-b\n")),
        "{plan}"
    );
    assert!(
        plan.stdout
            .contains("+ create network  on 2 servers (d, local)\n"),
        "{plan}"
    );
    assert_eq!(plan.stdout.matches("create network").count(), 1, "{plan}");
    assert!(plan.stdout.contains("Plan: 2 to create."), "{plan}");

    let verbose = p.berth(&["plan", "--verbose"]);
    verbose.expect_code(0);
    assert!(
        verbose.stdout.contains("server local (local)\n")
            && verbose
                .stdout
                .contains(&format!("server d ({})\n", d.address())),
        "{verbose}"
    );
    assert_eq!(
        verbose.stdout.matches("+ create network").count(),
        2,
        "{verbose}"
    );

    let json = p.berth(&["plan", "--format", "json"]);
    let mut creates: Vec<String> = json.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["server"].as_str().unwrap().to_string())
        .collect();
    creates.sort();
    assert_eq!(creates, ["d", "local"], "{json}");

    let md = p.berth(&["plan", "--format", "markdown"]);
    assert!(
        md.stdout
            .contains("| 2 servers: `d`, `local` | ok | 1 | 0 | 0 | 0 | 0 | 0 | 0 |"),
        "{md}"
    );

    p.berth(&["apply", "--yes"]).expect_code(0);
    let status = p.berth(&["status"]);
    status.expect_code(0);
    assert!(
        status
            .stdout
            .contains(&format!("destinations web-a, web-b · network {net} · ok"))
            && status.stdout.contains("on 2 servers (d, local)\n"),
        "{status}"
    );
    let status = p.berth(&["status", "--verbose"]);
    assert!(
        status.stdout.contains("server local (local)\n")
            && status
                .stdout
                .contains(&format!("destination web-b · network {net} · ok")),
        "{status}"
    );
    let no_changes = p.berth(&["plan"]);
    assert!(
        no_changes
            .stdout
            .contains("No changes. The servers match the config."),
        "{no_changes}"
    );
}

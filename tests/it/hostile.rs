//! Hostile and broken input, through the real binary: bytes that are not
//! UTF-8, symlinks out of the repository (a pull request must not make a CI
//! job read and echo a file of the machine), clone_of loops, hand-edited or
//! foreign saved plans, absurd numbers and bad flags. Each is a clear,
//! located error; nothing panics; nothing is applied.

use crate::common::config::{destination, local_header, resource_head};
use crate::common::plan::{apply, changes};
use crate::common::{Cleanup, Project, berth_raw, docker_ok, network_exists, unique};

/// A secret outside the repository that no output may ever show.
const SECRET: &str = "hunter2-do-not-echo";

#[test]
fn a_config_file_that_is_not_utf8_is_located() {
    let p = Project::new();
    let mut bytes = b"[[server]]\nname = \"s\xff1\"\n".to_vec();
    bytes.extend_from_slice(b"address = \"local\"\n");
    std::fs::write(p.path().join("berth.toml"), bytes).expect("write");
    let run = p.berth(&["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("berth.toml:2:10: not UTF-8 text (byte 0xff)"),
        "file:line:col of the first bad byte\n{run}"
    );
}

#[test]
fn a_compose_file_that_is_not_utf8_is_located() {
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header("hostile")
            + &destination("d", "local", "hostile-net")
            + "\n[[service]]\nname = \"mon\"\ndestination = \"d\"\ncompose_file = \"compose.yaml\"\n"),
    );
    std::fs::write(
        p.path().join("compose.yaml"),
        b"services:\n  a:\n    image: \xfe\n",
    )
    .expect("write");
    let run = p.berth(&["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("compose.yaml:3:12: not UTF-8 text (byte 0xfe)"),
        "{run}"
    );
}

/// A directory outside any repository holding a secret, and a project whose
/// files link to it.
fn secret_outside() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret.toml"), format!("{SECRET}\n")).expect("write");
    dir
}

#[test]
fn a_config_file_linking_out_of_the_repository_is_refused_unread() {
    let outside = secret_outside();
    let p = Project::new();
    p.write("berth.toml", &local_header("hostile"));
    std::os::unix::fs::symlink(
        outside.path().join("secret.toml"),
        p.path().join("evil.toml"),
    )
    .expect("symlink");
    for args in [&["validate"][..], &["plan", "--format", "markdown"]] {
        let run = p.berth(args);
        run.expect_code(1);
        assert!(
            run.stderr
                .contains("evil.toml is a symlink to a file outside the repository"),
            "the link is named\n{run}"
        );
        assert!(
            !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
            "bytes from outside the repository were echoed\n{run}"
        );
    }
}

#[test]
fn a_compose_file_linking_out_of_the_repository_is_refused_unread() {
    let outside = secret_outside();
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header("hostile")
            + &destination("d", "local", "hostile-net")
            + "\n[[service]]\nname = \"mon\"\ndestination = \"d\"\ncompose_file = \"stacks/compose.yaml\"\n"),
    );
    std::fs::create_dir_all(p.path().join("stacks")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.path().join("secret.toml"),
        p.path().join("stacks/compose.yaml"),
    )
    .expect("symlink");
    let run = p.berth(&["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("stacks/compose.yaml is a symlink to a file outside the repository"),
        "{run}"
    );
    assert!(!run.stderr.contains(SECRET), "{run}");
}

#[test]
fn a_clone_of_loop_is_an_error_at_every_clone_of_line() {
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header("hostile")
            + &destination("d", "local", "hostile-net")
            + &resource_head("application", "a", "d")
            + "clone_of = \"b\"\n"
            + &resource_head("application", "b", "d")
            + "clone_of = \"a\"\n"),
    );
    let run = p.berth(&["validate"]);
    run.expect_code(1);
    for (line, who) in [(16, "a"), (21, "b")] {
        assert!(
            run.stderr.contains(&format!(
                "berth.toml:{line}:12: application `{who}` is part of a clone_of loop"
            )),
            "each member at its clone_of line\n{run}"
        );
    }
    assert!(run.stderr.contains("a → b → a"), "{run}");
}

#[test]
fn markdown_of_an_invalid_config_is_a_comment_whose_verdict_is_the_error() {
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header("hostile")
            + "\n[[destination]]\nname = \"d\"\nserver = \"local\"\nnetwrok = \"n\"\n"),
    );
    let run = p.berth(&["plan", "--format", "markdown"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .starts_with("<!-- berth-plan -->\n### berth plan: ❌ **error**: the config has"),
        "{run}"
    );
    assert!(
        run.stdout.contains("berth.toml:11:1") && run.stdout.contains("netwrok"),
        "the located messages are in the comment\n{run}"
    );
}

#[test]
fn usage_errors_and_absurd_durations_exit_1_with_a_message() {
    let p = Project::new();
    p.write("berth.toml", &local_header("hostile"));
    for (args, says) in [
        (
            &["plan", "--detailed-exitcode", "--parallelism", "abc"][..],
            "invalid value 'abc'",
        ),
        (&["plan", "--no-such-flag"], "unexpected argument"),
        (
            &["apply", "--lock-timeout", "18446744073709551615s"],
            "longer than the maximum, 1day",
        ),
        (
            &["apply", "--lock-timeout", "307445734561825861m"],
            "longer than the maximum, 1day",
        ),
        (
            &["apply", "--lock-timeout", "25h"],
            "longer than the maximum, 1day",
        ),
        (&["plan", "--timeout", "2h"], "longer than the maximum, 1h"),
    ] {
        let run = p.berth(args);
        run.expect_code(1);
        assert!(run.stderr.contains(says), "{args:?}\n{run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
    }
    berth_raw(&["--help".to_string()], p.path()).expect_code(0);
}

/// `plan --out` of a project with one destination, and the saved JSON.
fn saved_plan(p: &Project, net: &str, owner: &str) -> (std::path::PathBuf, serde_json::Value) {
    p.write(
        "berth.toml",
        &(local_header(owner) + &destination("d", "local", net)),
    );
    let file = p.path().join("saved.json.out");
    let file_arg = file.display().to_string();
    p.berth(&["plan", "--out", &file_arg]).expect_code(0);
    let saved = serde_json::from_str(&std::fs::read_to_string(&file).expect("read"))
        .expect("the saved plan is JSON");
    (file, saved)
}

#[test]
fn a_hand_edited_saved_plan_is_refused_and_nothing_is_applied() {
    let cleanup = Cleanup::new();
    let owner = unique("hostile-edit");
    let net = cleanup.network(&unique("hostile-edit-n"));
    let foreign = cleanup.network(&unique("hostile-foreign"));
    docker_ok(&["network", "create", &foreign]);
    let p = Project::new();
    let (file, mut saved) = saved_plan(&p, &net, &owner);
    // Someone adds the removal of a network berth does not own, and fixes
    // up the summary to match.
    saved["changes"]
        .as_array_mut()
        .expect("changes")
        .push(serde_json::json!({
            "action": "remove_network", "server": "local", "network": foreign,
            "status": "planned"
        }));
    saved["summary"]["remove_network"] = 1.into();
    std::fs::write(&file, serde_json::to_string_pretty(&saved).expect("json")).expect("write");
    let run = p.berth(&["apply", &file.display().to_string(), "--yes"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "saved, but not what berth would do now: remove_network {foreign} on server local"
        )),
        "the difference is named\n{run}"
    );
    assert!(network_exists(&foreign), "the foreign network was removed");
    assert!(!network_exists(&net), "part of an edited plan was applied");
    // The untouched plan would have applied.
    apply(&p, &[], 0);
}

#[test]
fn a_plan_saved_by_another_berth_version_is_refused() {
    let owner = unique("hostile-ver");
    let net = unique("hostile-ver-n");
    let p = Project::new();
    let (file, mut saved) = saved_plan(&p, &net, &owner);
    assert_eq!(saved["berth_version"], env!("CARGO_PKG_VERSION"));
    assert!(!changes(&saved).is_empty());
    saved["berth_version"] = "0.0.1".into();
    std::fs::write(&file, serde_json::to_string(&saved).expect("json")).expect("write");
    let run = p.berth(&["apply", &file.display().to_string(), "--yes"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("was saved by another berth version (0.0.1)")
            && run.stderr.contains("plan again"),
        "{run}"
    );
    assert!(!network_exists(&net));
}

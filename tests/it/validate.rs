//! `validate` (and every command that loads a config) reports every problem
//! in one run: config errors and compose-file errors together, each at its
//! `file:line:col` with the line quoted. A missing compose file says where
//! berth looked, against which directory, and what is there instead. Real
//! binary, real files and git; no Docker.

use std::path::Path;

use crate::common::{Project, Run, berth_raw};
use crate::git::Repo;

/// A server with an unknown key (line 4), a service whose destination is
/// misspelt (line 13) and whose compose file does not exist (line 14).
const THREE_PROBLEMS: &str = r#"[[server]]
name = "s1"
address = "local"
colour = "red"

[[destination]]
name = "prod"
server = "s1"
network = "validate-net"

[[service]]
name = "mon"
destination = "prdo"
compose_file = "stacks/mon/compose.yaml"
"#;

/// The canonical path of `p`, as berth names the directory it resolved against.
fn real(p: &Path) -> String {
    std::fs::canonicalize(p)
        .expect("canonicalize")
        .display()
        .to_string()
}

fn assert_has(run: &Run, wanted: &str) {
    assert!(run.stderr.contains(wanted), "missing:\n{wanted}\n\n{run}");
}

#[test]
fn config_errors_and_a_missing_compose_file_are_reported_in_one_run() {
    let p = Project::new();
    p.write("berth.toml", THREE_PROBLEMS);
    let dir = p.path().display().to_string();
    for args in [
        &["validate"][..],
        &["plan"],
        &["plan", "--format", "json"],
        &["status"],
    ] {
        let run = p.berth(args);
        run.expect_code(1);
        for title in [
            "berth.toml:4:1: unknown key `colour` in [[server]]",
            "berth.toml:13:15: service `mon` refers to unknown destination `prdo`",
            "berth.toml:14:16: compose_file `stacks/mon/compose.yaml` does not exist",
        ] {
            assert_has(&run, &format!("error: {dir}/{title}"));
        }
        assert_has(&run, "14 | compose_file = \"stacks/mon/compose.yaml\"");
        assert!(
            run.stderr.ends_with("error: the config has 3 problems\n"),
            "{run}"
        );
    }
}

#[test]
fn a_missing_compose_file_names_where_it_was_looked_for_and_the_closest_name() {
    let p = Project::new();
    let config = THREE_PROBLEMS
        .replace("colour = \"red\"\n", "")
        .replace("prdo", "prod");
    p.write("berth.toml", &config);
    p.write(
        "stacks/mon/docker-compose.yml",
        "services:\n  web:\n    image: x\n",
    );
    let run = p.berth(&["validate"]);
    run.expect_code(1);
    let dir = p.path().display().to_string();
    let root = real(p.path());
    // Outside a git work tree, the config directory is the root.
    assert_has(
        &run,
        &format!(
            "error: {dir}/berth.toml:13:16: compose_file `stacks/mon/compose.yaml` does not exist
  --> {dir}/berth.toml:13:16
   |
13 | compose_file = \"stacks/mon/compose.yaml\"
   |                ^^^^^^^^^^^^^^^^^^^^^^^^^ no such file
   |
note: looked for {root}/stacks/mon/compose.yaml, resolved against the config directory {root} (no git work tree encloses it)
help: did you mean `stacks/mon/docker-compose.yml`?

error: the config has 1 problem"
        ),
    );

    // `compose.yml` for `compose.yaml`; a misspelt directory and file name;
    // a directory that does not exist, with nothing close.
    let nothing_close =
        "compose_file is a path from the repository root: correct it, or add the file";
    for (file, named, gone, help) in [
        (
            "stacks/mon/compose.yml",
            "stacks/mon/compose.yaml",
            "",
            "did you mean `stacks/mon/compose.yml`?",
        ),
        (
            "stacks/monitoring/grafana.yaml",
            "stacks/monitorng/grafana.yml",
            " (stacks/monitorng/ does not exist)",
            "did you mean `stacks/monitoring/grafana.yaml`?",
        ),
        (
            "stacks/mon/compose.yaml",
            "elsewhere/compose.yaml",
            " (elsewhere/ does not exist)",
            nothing_close,
        ),
    ] {
        let p = Project::new();
        p.write(
            "berth.toml",
            &config.replace("stacks/mon/compose.yaml", named),
        );
        p.write(file, "services:\n  web:\n    image: x\n");
        let run = p.berth(&["validate"]);
        run.expect_code(1);
        let root = real(p.path());
        assert_has(
            &run,
            &format!(
                "note: looked for {root}/{named}{gone}, resolved against the config directory {root} (no git work tree encloses it)\nhelp: {help}\n"
            ),
        );
    }
}

#[test]
fn an_unparsable_compose_file_and_config_errors_are_reported_in_one_run() {
    let p = Project::new();
    p.write(
        "berth.toml",
        &THREE_PROBLEMS.replace("prdo", "prod").replace(
            "compose_file = \"stacks/mon/compose.yaml\"",
            "compose_file = \"stacks/mon/compose.yaml\"\n\n[[service]]\nname = \"web\"\ndestination = \"prod\"\ncompose_file = \"stacks/web/compose.yaml\"",
        ),
    );
    // An unclosed flow sequence (line 3), and a merge key that merges a list.
    p.write(
        "stacks/mon/compose.yaml",
        "services:\n  web:\n    image: [x\n",
    );
    p.write(
        "stacks/web/compose.yaml",
        "x-env: &env\n  - A=1\nservices:\n  web:\n    environment:\n      <<: *env\n",
    );
    let run = p.berth(&["validate"]);
    run.expect_code(1);
    let dir = p.path().display().to_string();
    assert_has(
        &run,
        &format!("error: {dir}/berth.toml:4:1: unknown key `colour` in [[server]]"),
    );
    assert_has(
        &run,
        "error: stacks/mon/compose.yaml:3:14: invalid YAML in compose file: did not find expected ',' or ']'
 --> stacks/mon/compose.yaml:3:14
  |
3 |     image: [x
  |              ^ here",
    );
    assert_has(
        &run,
        "error: stacks/web/compose.yaml:6:7: `<<: *env` merges a list into a mapping",
    );
    assert!(
        run.stderr.ends_with("error: the config has 3 problems\n"),
        "{run}"
    );
}

#[test]
fn compose_files_from_a_git_revision_are_checked_in_the_same_pass() {
    let repo = Repo::new();
    // The config in infra/ names its compose file relative to itself; berth
    // resolves compose_file from the repository root.
    repo.write(
        "infra/berth.toml",
        &THREE_PROBLEMS
            .replace("prdo", "prod")
            .replace("stacks/mon/compose.yaml", "compose.yaml"),
    );
    repo.write("infra/compose.yaml", "services:\n  web:\n    image: x\n");
    let commit = repo.commit("infra");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let repo_arg = repo.path().display().to_string();
    let run = berth_raw(
        &[
            "validate", "--repo", &repo_arg, "--ref", "HEAD", "--dir", "infra",
        ]
        .map(String::from),
        elsewhere.path(),
    );
    run.expect_code(1);
    assert_has(
        &run,
        "error: infra/berth.toml:4:1: unknown key `colour` in [[server]]",
    );
    assert_has(
        &run,
        &format!(
            "error: infra/berth.toml:14:16: compose_file `compose.yaml` does not exist
  --> infra/berth.toml:14:16
   |
14 | compose_file = \"compose.yaml\"
   |                ^^^^^^^^^^^^^^ no such file
   |
note: looked for compose.yaml, resolved against the root of the tree of `HEAD` ({}) in {}
help: did you mean `infra/compose.yaml`?

error: the config has 2 problems",
            &commit[..12],
            real(repo.path())
        ),
    );

    // The work tree of the same repository: resolved against its root.
    let run = berth_raw(
        &["validate", "--dir", "infra"].map(String::from),
        repo.path(),
    );
    run.expect_code(1);
    assert_has(
        &run,
        &format!(
            "note: looked for {0}/compose.yaml, resolved against the repository root {0}\nhelp: did you mean `infra/compose.yaml`?",
            real(repo.path())
        ),
    );
}

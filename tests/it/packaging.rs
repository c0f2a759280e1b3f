//! What the Debian package and an upgrade rely on: `berth --version` names
//! its commit, `berth generate-man` writes a page per command, `berth
//! schema` prints the files the package ships, a config written for v1
//! keeps validating, and the JSON formats stay at version 1. No Docker.

use std::path::Path;
use std::process::Command;

use crate::common::berth_raw;

fn berth(args: &[&str]) -> crate::common::Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    berth_raw(&args, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// `berth 0.1.0 (commit 1a2b3c4d5e6f, dirty)`, `… (commit 1a2b3c4d5e6f)` or
/// `… (commit unknown)` outside a git checkout: the commit part.
fn commit_part(line: &str) -> Option<(&str, bool)> {
    let prefix = format!("berth {} (commit ", env!("CARGO_PKG_VERSION"));
    let rest = line.strip_prefix(&prefix)?.strip_suffix(')')?;
    let (commit, dirty) = match rest.strip_suffix(", dirty") {
        Some(c) => (c, true),
        None => (rest, false),
    };
    let hex = commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit());
    (hex || (commit == "unknown" && !dirty)).then_some((commit, dirty))
}

#[test]
fn version_names_the_commit_and_whether_the_tree_was_dirty() {
    let run = berth(&["--version"]);
    run.expect_code(0);
    let line = run.stdout.trim_end();
    let (commit, _dirty) = commit_part(line).unwrap_or_else(|| {
        panic!("`berth --version` printed {line:?}, not `berth <version> (commit <12 hex digits>[, dirty])`")
    });
    // Built from this checkout: the commit is its HEAD.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(out) = head.ok().filter(|o| o.status.success()) {
        assert_eq!(
            commit,
            String::from_utf8_lossy(&out.stdout).trim(),
            "{line}"
        );
    }
    // `-V` is the version alone; subcommands print the same long version.
    let short = berth(&["-V"]);
    assert_eq!(
        short.stdout.trim_end(),
        format!("berth {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        berth(&["plan", "--version"]).stdout.trim_end(),
        format!("berth-plan {}", &line["berth ".len()..])
    );
}

#[test]
fn version_format_check_accepts_only_the_documented_forms() {
    let v = env!("CARGO_PKG_VERSION");
    assert!(commit_part(&format!("berth {v} (commit 0123456789ab)")).is_some());
    assert!(commit_part(&format!("berth {v} (commit 0123456789ab, dirty)")).is_some());
    assert!(commit_part(&format!("berth {v} (commit unknown)")).is_some());
    assert!(commit_part(&format!("berth {v}")).is_none());
    assert!(commit_part(&format!("berth {v} (commit 0123)")).is_none());
}

#[test]
fn generate_man_writes_a_page_for_berth_and_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    berth(&["generate-man", out.to_str().unwrap()]).expect_code(0);
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for want in [
        "berth.1",
        "berth-validate.1",
        "berth-plan.1",
        "berth-apply.1",
        "berth-status.1",
        "berth-watch.1",
        "berth-hook.1",
        "berth-hook-install.1",
        "berth-hook-pre-receive.1",
        "berth-import.1",
        "berth-unlock.1",
        "berth-forget.1",
        "berth-schema.1",
        "berth-completions.1",
    ] {
        assert!(pages.iter().any(|p| p == want), "no {want} in {pages:?}");
    }
    // Neither clap's `help` pseudo-command nor this hidden one get a page.
    assert!(
        !pages
            .iter()
            .any(|p| p.contains("help") || p.contains("generate-man")),
        "{pages:?}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let script = berth(&["completions", shell]);
        script.expect_code(0);
        assert!(!script.stdout.contains("generate-man"), "{shell}");
    }
    let plan = std::fs::read_to_string(out.join("berth-plan.1")).unwrap();
    assert!(
        plan.starts_with(".ie \\n(.g .ds Aq") || plan.contains(".TH"),
        "{plan}"
    );
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

#[test]
fn schema_prints_the_files_the_package_ships() {
    for (kind, file) in [
        ("config", "schemas/berth.schema.json"),
        ("plan", "schemas/plan.schema.json"),
        ("status", "schemas/status.schema.json"),
        ("alert", "schemas/alert.schema.json"),
    ] {
        let run = berth(&["schema", kind]);
        run.expect_code(0);
        let shipped =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        assert!(
            run.stdout == shipped,
            "`berth schema {kind}` differs from {file}: regenerate it with `BERTH_UPDATE_SCHEMAS=1 cargo test --test it schemas`"
        );
    }
}

#[test]
fn json_formats_stay_at_version_1() {
    // Raising a format_version breaks every script that reads the JSON:
    // do it only with the change described in docs/reference.md and CHANGELOG.md.
    assert_eq!(berthing::plan::FORMAT_VERSION, 1);
    assert_eq!(berthing::status::FORMAT_VERSION, 1);
    assert_eq!(berthing::alert::FORMAT_VERSION, 1);
    for file in [
        "schemas/plan.schema.json",
        "schemas/status.schema.json",
        "schemas/alert.schema.json",
    ] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        assert!(text.contains("(format_version 1)"), "{file}");
    }
}

#[test]
fn a_config_written_for_v1_still_validates() {
    // Copied out of this repository: its compose_file is relative to the
    // config's own root, not berth's checkout.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat/v1");
    let dir = tempfile::tempdir().unwrap();
    for rel in ["berth.toml", "stacks/monitoring.yaml"] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture.join(rel), &to).unwrap();
    }
    let args = vec![
        "validate".to_string(),
        "--dir".to_string(),
        dir.path().display().to_string(),
    ];
    berth_raw(&args, dir.path()).expect_code(0);
}

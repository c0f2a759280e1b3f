//! Build script: tells `berth --version` which commit it was built from and
//! whether the work tree had uncommitted changes.
//!
//! It never fails. Outside a git checkout (a crate tarball, a source export)
//! or without a `git` binary the commit is `unknown`; a tarball made by
//! `cargo package` still names its commit through `.cargo_vcs_info.json`.
//!
//! Sets `BERTH_LONG_VERSION`, e.g. `0.1.0 (commit 1a2b3c4d5e6f, dirty)`,
//! `0.1.0 (commit 1a2b3c4d5e6f)` or `0.1.0 (commit unknown)`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    // Edits to the sources make the tree dirty.
    println!("cargo:rerun-if-changed=src");

    let described = match from_git(&manifest_dir) {
        Some((commit, dirty)) => describe(&commit, dirty),
        None => match from_vcs_info(&manifest_dir) {
            Some((commit, dirty)) => describe(&commit, dirty),
            None => "commit unknown".to_string(),
        },
    };
    println!("cargo:rustc-env=BERTH_LONG_VERSION={version} ({described})");
}

fn describe(commit: &str, dirty: bool) -> String {
    if dirty {
        format!("commit {commit}, dirty")
    } else {
        format!("commit {commit}")
    }
}

/// Runs `git` in `dir`; its trimmed stdout when it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        // Never write the index (`git status` would otherwise refresh it,
        // which would look like a change and run this script again).
        .arg("--no-optional-locks")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit (12 hex digits) and whether tracked files differ from it, when
/// the crate is the top of a git work tree (not a crate inside some other
/// repository).
fn from_git(dir: &Path) -> Option<(String, bool)> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return None;
    }
    // Run again when HEAD moves: HEAD itself, the branch it names, packed
    // refs, and the index (a commit or `git add`). A linked worktree keeps
    // HEAD and its index apart from the shared refs; `--git-path` resolves
    // each one.
    let mut watch = vec![
        "HEAD".to_string(),
        "index".to_string(),
        "packed-refs".to_string(),
    ];
    if let Some(head_ref) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(head_ref);
    }
    for name in &watch {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", name]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let dirty =
        git(dir, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some((commit, dirty))
}

/// `.cargo_vcs_info.json`, written by `cargo package`:
/// `{"git": {"sha1": "…", "dirty": true}, "path_in_vcs": ""}`.
fn from_vcs_info(dir: &Path) -> Option<(String, bool)> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let start = text.find("\"sha1\"")? + "\"sha1\"".len();
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let sha: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    if sha.len() < 12 {
        return None;
    }
    let dirty = text.contains("\"dirty\": true") || text.contains("\"dirty\":true");
    Some((sha[..12].to_string(), dirty))
}

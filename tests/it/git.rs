//! Git-driven berth (issue 6) end to end: config read from git objects at
//! any revision (bare repositories too), pull-request previews with
//! `--base`, push hooks on a real bare repository, saved plans.
//!
//! Real `git` CLI, real repositories in temp dirs, the real `berth` binary
//! and the real local Docker Engine. Every test has its own `owner` and its
//! own network and container names, registered with a `Cleanup` guard
//! before anything is created.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::config::{application, destination, header, local_header};
use crate::common::plan::apply;
use crate::common::{
    Cleanup, Project, Run, TEST_IMAGE, berth_raw, container_networks, docker_ok, ensure_image,
    network_exists, network_labels, run_container, unique,
};
use serde_json::Value;

// ---------------------------------------------------------------------------
// git
// ---------------------------------------------------------------------------

/// Runs `git ARGS` in `dir` with a fixed identity, no system or global
/// config (the developer's settings must not change what a test sees), and
/// `NO_COLOR=1` (inherited by the hooks a push runs).
fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=berth-test",
            "-c",
            "user.email=berth-test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run git")
}

/// `git ARGS` in `dir`; panics unless it succeeds; trimmed stdout.
pub(crate) fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {} failed in {} ({}):\n{}{}",
        args.join(" "),
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A work tree: `git init -b main` in a fresh tempdir.
pub(crate) struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub(crate) fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        git_ok(dir.path(), &["init", "-q", "-b", "main", "."]);
        Repo { dir }
    }

    /// A clone of `origin` (a bare repository, possibly still empty).
    pub(crate) fn clone_of(origin: &Path) -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let origin = origin.display().to_string();
        git_ok(dir.path(), &["clone", "-q", &origin, "."]);
        // An empty origin leaves the clone without a branch: name it.
        git_ok(dir.path(), &["checkout", "-q", "-B", "main"]);
        Repo { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, name: &str, text: &str) {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write file");
    }

    /// `git add -A && git commit -m MSG`; returns the new commit id.
    pub(crate) fn commit(&self, msg: &str) -> String {
        git_ok(self.path(), &["add", "-A"]);
        git_ok(self.path(), &["commit", "-q", "--allow-empty", "-m", msg]);
        self.rev_parse("HEAD")
    }

    fn rev_parse(&self, rev: &str) -> String {
        rev_parse(self.path(), rev)
    }

    /// `git push ARGS` (the output, whatever the status).
    pub(crate) fn push(&self, args: &[&str]) -> Output {
        let mut full = vec!["push"];
        full.extend(args);
        git(self.path(), &full)
    }
}

pub(crate) fn rev_parse(dir: &Path, rev: &str) -> String {
    git_ok(
        dir,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )
}

/// `git clone --bare SRC` into a fresh tempdir; returns (tempdir, path).
fn bare_clone(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bare = dir.path().join("config.git");
    let (s, b) = (src.display().to_string(), bare.display().to_string());
    git_ok(dir.path(), &["clone", "-q", "--bare", &s, &b]);
    (dir, bare)
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------
// berth
// ---------------------------------------------------------------------------

/// Runs `berth ARGS` in `cwd` (no implicit `--dir`).
fn berth(cwd: &Path, args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    berth_raw(&args, cwd)
}

/// `berth plan --format json ARGS` in `cwd`, checked for `code`.
fn plan_json(cwd: &Path, args: &[&str], code: i32) -> Value {
    let mut full = vec!["plan", "--format", "json"];
    full.extend(args);
    let run = berth(cwd, &full);
    run.expect_code(code);
    run.json()
}

// ---------------------------------------------------------------------------
// Plan JSON helpers
// ---------------------------------------------------------------------------

fn changes(plan: &Value) -> &Vec<Value> {
    plan["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("plan has no changes array:\n{plan:#}"))
}

/// `(action, network, container)` of every change, sorted.
fn change_keys(plan: &Value) -> Vec<(String, String, String)> {
    let mut keys: Vec<(String, String, String)> = changes(plan)
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or("").to_string(),
                c["network"].as_str().unwrap_or("").to_string(),
                c["container"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    keys.sort();
    keys
}

fn creates(plan: &Value) -> Vec<String> {
    let mut nets: Vec<String> = changes(plan)
        .iter()
        .filter(|c| c["action"] == "create_network")
        .map(|c| c["network"].as_str().unwrap_or("").to_string())
        .collect();
    nets.sort();
    nets
}

fn server<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no server {name} in the plan:\n{plan:#}"))
}

fn entity<'a>(plan: &'a Value, kind: &str, name: &str) -> &'a Value {
    plan["config_diff"]["entities"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == kind && e["name"] == name))
        .unwrap_or_else(|| panic!("config_diff names no {kind} {name}:\n{plan:#}"))
}

fn assert_git_source(plan: &Value, rev: &str, commit: &str) {
    assert_eq!(plan["source"]["kind"], "git", "source: {}", plan["source"]);
    assert_eq!(plan["source"]["ref"], rev, "source: {}", plan["source"]);
    assert_eq!(
        plan["source"]["commit"], commit,
        "source: {}",
        plan["source"]
    );
}

// ---------------------------------------------------------------------------
// Markdown / Mermaid helpers
// ---------------------------------------------------------------------------

/// Markdown split the way CommonMark reads fenced code blocks: a line
/// indented at most 3 spaces that starts with 3+ backticks (or tildes)
/// opens a block; a line of at least as many of the same character (and
/// nothing else) closes it. Returns the blocks as (info string, body lines)
/// and the lines outside any block.
struct Fences<'a> {
    blocks: Vec<(String, Vec<&'a str>)>,
    outside: Vec<&'a str>,
}

fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = rest.len() - rest.trim_start_matches(c).len();
    (n >= 3).then(|| (c, n, rest[n..].trim()))
}

fn fences(md: &str) -> Fences<'_> {
    let mut out = Fences {
        blocks: Vec::new(),
        outside: Vec::new(),
    };
    let mut open: Option<(char, usize)> = None;
    for line in md.lines() {
        match open {
            None => match fence_of(line) {
                Some((c, n, info)) if !(c == '`' && info.contains('`')) => {
                    open = Some((c, n));
                    out.blocks.push((info.to_string(), Vec::new()));
                }
                _ => out.outside.push(line),
            },
            Some((c, n)) => match fence_of(line) {
                Some((c2, n2, rest)) if c2 == c && n2 >= n && rest.is_empty() => open = None,
                _ => out.blocks.last_mut().expect("open block").1.push(line),
            },
        }
    }
    out
}

/// The body of the only fenced block whose info string is `lang`.
fn fenced(md: &str, lang: &str) -> Option<String> {
    let f = fences(md);
    let bodies: Vec<String> = f
        .blocks
        .iter()
        .filter(|(info, _)| info == lang)
        .map(|(_, lines)| lines.join("\n"))
        .collect();
    assert!(
        bodies.len() <= 1,
        "{} ```{lang} blocks:\n{md}",
        bodies.len()
    );
    bodies.into_iter().next()
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a Mermaid flowchart the way berth writes it: `graph LR`, then only
/// node definitions `id["…"]` / `id(["…"])` (optionally `:::class` of a
/// defined `classDef`), edges `a --> b` between defined nodes, and
/// `classDef`s. Labels hold no raw `"`. Returns the node labels by id.
fn check_mermaid(block: &str) -> std::collections::BTreeMap<String, String> {
    let mut lines = block.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("graph LR"),
        "mermaid starts with `graph LR`:\n{block}"
    );
    let mut nodes = std::collections::BTreeMap::new();
    let mut edges = Vec::new();
    let mut classes_used = Vec::new();
    let mut classes = HashSet::new();
    for raw in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("classDef ") {
            let name = rest.split_whitespace().next().unwrap_or("");
            assert!(is_id(name), "bad classDef line `{line}` in:\n{block}");
            classes.insert(name.to_string());
            continue;
        }
        if let Some((a, b)) = line.split_once(" --> ") {
            assert!(
                is_id(a.trim()) && is_id(b.trim()),
                "bad edge `{line}` in:\n{block}"
            );
            edges.push((a.trim().to_string(), b.trim().to_string()));
            continue;
        }
        let id_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or_else(|| panic!("line `{line}` is no node, edge or classDef:\n{block}"));
        let (id, rest) = line.split_at(id_end);
        assert!(is_id(id), "bad node id in `{line}`:\n{block}");
        let (shape, class) = match rest.split_once(":::") {
            Some((s, c)) => (s, Some(c)),
            None => (rest, None),
        };
        let label = if let Some(l) = shape
            .strip_prefix("([\"")
            .and_then(|s| s.strip_suffix("\"])"))
        {
            l
        } else if let Some(l) = shape
            .strip_prefix("[\"")
            .and_then(|s| s.strip_suffix("\"]"))
        {
            l
        } else {
            panic!("node `{line}` is neither id[\"…\"] nor id([\"…\"]):\n{block}")
        };
        assert!(
            !label.contains('"'),
            "unbalanced quote in label of `{line}`:\n{block}"
        );
        if let Some(c) = class {
            assert!(is_id(c), "bad class in `{line}`:\n{block}");
            classes_used.push(c.to_string());
        }
        assert!(
            nodes.insert(id.to_string(), label.to_string()).is_none(),
            "node {id} defined twice:\n{block}"
        );
    }
    for (a, b) in &edges {
        assert!(
            nodes.contains_key(a) && nodes.contains_key(b),
            "edge {a} --> {b} between undefined nodes:\n{block}"
        );
    }
    for c in &classes_used {
        assert!(
            classes.contains(c),
            "class {c} used but not defined:\n{block}"
        );
    }
    assert_eq!(
        block.matches('"').count() % 2,
        0,
        "quotes are not balanced:\n{block}"
    );
    nodes
}

// ---------------------------------------------------------------------------
// 1. Plans at any revision, bare clones, and the working tree
// ---------------------------------------------------------------------------

#[test]
fn plans_at_head_and_head_1_differ_and_name_their_commit_also_from_a_bare_clone() {
    let owner = unique("git-rev");
    let net_a = unique("git-rev-a");
    let net_b = unique("git-rev-b");
    let net_c = unique("git-rev-c");
    let cleanup = Cleanup::new();
    for n in [&net_a, &net_b, &net_c] {
        cleanup.network(n);
    }

    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("a", "local", &net_a)),
    );
    let first = repo.commit("destination a");
    repo.write("dests/b.toml", &destination("b", "local", &net_b));
    let second = repo.commit("destination b");
    assert_ne!(first, second);
    let w = repo.path();

    // In the work tree, the repository around the current directory.
    let old = plan_json(w, &["--ref", "HEAD~1"], 0);
    let new = plan_json(w, &["--ref", "HEAD"], 0);
    assert_git_source(&old, "HEAD~1", &first);
    assert_git_source(&new, "HEAD", &second);
    assert_eq!(creates(&old), vec![net_a.clone()], "HEAD~1:\n{old:#}");
    let mut both = vec![net_a.clone(), net_b.clone()];
    both.sort();
    assert_eq!(creates(&new), both, "HEAD:\n{new:#}");
    assert_eq!(changes(&new).len(), changes(&old).len() + 1);

    // `--repo` from elsewhere, a commit id and `main` as revspecs.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let repo_arg = w.display().to_string();
    let by_id = plan_json(elsewhere.path(), &["--repo", &repo_arg, "--ref", &first], 0);
    assert_git_source(&by_id, &first, &first);
    assert_eq!(change_keys(&by_id), change_keys(&old));
    let main = plan_json(elsewhere.path(), &["--repo", &repo_arg, "--ref", "main"], 0);
    assert_git_source(&main, "main", &second);
    assert_eq!(change_keys(&main), change_keys(&new));

    // An annotated tag peels to its commit; a remote-tracking ref of a clone.
    git_ok(w, &["tag", "-a", "v1", "-m", "release v1", "HEAD~1"]);
    let tagged = plan_json(elsewhere.path(), &["--repo", &repo_arg, "--ref", "v1"], 0);
    assert_git_source(&tagged, "v1", &first);
    assert_eq!(change_keys(&tagged), change_keys(&old));
    let clone = Repo::clone_of(w);
    let clone_arg = clone.path().display().to_string();
    let tracking = plan_json(
        elsewhere.path(),
        &["--repo", &clone_arg, "--ref", "origin/main"],
        0,
    );
    assert_git_source(&tracking, "origin/main", &second);
    assert_eq!(change_keys(&tracking), change_keys(&new));

    // The same from a bare clone: no work tree at all.
    let (_bare_dir, bare) = bare_clone(w);
    let bare_arg = bare.display().to_string();
    let bare_main = plan_json(elsewhere.path(), &["--repo", &bare_arg, "--ref", "main"], 0);
    assert_git_source(&bare_main, "main", &second);
    assert_eq!(change_keys(&bare_main), change_keys(&new));
    let bare_old = plan_json(
        elsewhere.path(),
        &["--repo", &bare_arg, "--ref", "HEAD~1"],
        0,
    );
    assert_git_source(&bare_old, "HEAD~1", &first);
    assert_eq!(change_keys(&bare_old), change_keys(&old));
    // Run inside the bare repository, without --repo.
    let inside = plan_json(&bare, &["--ref", "HEAD~1"], 0);
    assert_git_source(&inside, "HEAD~1", &first);
    assert_eq!(change_keys(&inside), change_keys(&old));
    // validate reads git objects too.
    berth(
        elsewhere.path(),
        &["validate", "--repo", &bare_arg, "--ref", "main"],
    )
    .expect_code(0);

    // The working tree with the same content plans the same changes.
    let worktree = plan_json(elsewhere.path(), &["--dir", &repo_arg], 0);
    assert_eq!(worktree["source"]["kind"], "worktree", "{worktree:#}");
    assert_eq!(changes(&worktree), changes(&new));

    // --ref reads the commit, not the checkout: an uncommitted destination
    // shows in the working tree's plan only.
    repo.write("dests/c.toml", &destination("c", "local", &net_c));
    let dirty = plan_json(elsewhere.path(), &["--dir", &repo_arg], 0);
    assert_eq!(creates(&dirty).len(), 3, "{dirty:#}");
    let still = plan_json(w, &["--ref", "HEAD"], 0);
    assert_eq!(changes(&still), changes(&new));

    // Plans only: nothing was created.
    for n in [&net_a, &net_b, &net_c] {
        assert!(!network_exists(n), "plan created network {n}");
    }
}

#[test]
fn dir_selects_a_directory_of_the_tree_and_compose_files_come_from_the_commit() {
    let owner = unique("git-dir");
    let net = unique("git-dir-n");
    let project = crate::common::unique_project("gitdir");
    let cleanup = Cleanup::new();
    cleanup.network(&net);

    let repo = Repo::new();
    // Outside --dir: a TOML file that is not a berth config at all.
    repo.write("Cargo.toml", "[package]\nname = \"x\"\n");
    repo.write(
        "infra/berth.toml",
        &format!(
            "{}{}
[[service]]
name = \"stack\"
destination = \"main\"
project = \"{project}\"
compose_file = \"stacks/compose.yaml\"
",
            local_header(&owner),
            destination("main", "local", &net)
        ),
    );
    repo.write(
        "stacks/compose.yaml",
        "services:\n  web:\n    image: x\n    networks: [front]\nnetworks:\n  front: {}\n",
    );
    let commit = repo.commit("infra");
    let (_bare_dir, bare) = bare_clone(repo.path());
    let bare_arg = bare.display().to_string();
    let elsewhere = tempfile::tempdir().expect("tempdir");

    let plan = plan_json(
        elsewhere.path(),
        &["--repo", &bare_arg, "--ref", "main", "--dir", "infra"],
        0,
    );
    assert_git_source(&plan, "main", &commit);
    assert_eq!(creates(&plan), vec![net.clone()], "{plan:#}");
    let warned = plan["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w["code"] == "compose_defines_networks"));
    assert!(
        warned,
        "the compose file is read from the commit (a bare repo has no checkout):\n{plan:#}"
    );

    // Without --dir the whole tree is read, Cargo.toml included: an error
    // that names the file.
    let run = berth(
        elsewhere.path(),
        &["validate", "--repo", &bare_arg, "--ref", "main"],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("Cargo.toml"), "{run}");

    // A compose file missing in the commit is an error naming it, even when
    // the working tree still has it.
    git_ok(
        repo.path(),
        &["rm", "-q", "--cached", "stacks/compose.yaml"],
    );
    git_ok(
        repo.path(),
        &["commit", "-q", "-m", "drop compose from git"],
    );
    assert!(repo.path().join("stacks/compose.yaml").exists());
    let repo_arg = repo.path().display().to_string();
    let run = berth(
        elsewhere.path(),
        &[
            "validate", "--repo", &repo_arg, "--ref", "HEAD", "--dir", "infra",
        ],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("stacks/compose.yaml"), "{run}");
    let run = berth(
        elsewhere.path(),
        &[
            "validate", "--repo", &repo_arg, "--ref", "HEAD~1", "--dir", "infra",
        ],
    );
    run.expect_code(0);
}

// ---------------------------------------------------------------------------
// 2. Pull-request previews
// ---------------------------------------------------------------------------

#[test]
fn pr_preview_lists_the_config_change_never_contacts_a_new_server_and_renders_markdown() {
    ensure_image();
    let owner = unique("git-pr");
    let net_a = unique("git-pr-a");
    let net_b = unique("git-pr-b");
    let app = unique("git-pr-app");
    let secret = unique("s3cret-value");
    let project = crate::common::unique_project("gitpr");
    let cleanup = Cleanup::new();
    cleanup.network(&net_a);
    cleanup.network(&net_b);
    cleanup.container(&app);

    // A running container with a secret in its env, declared in the config.
    let env = format!("SECRET_X={secret}");
    docker_ok(&[
        "run", "-d", "--name", &app, "-e", &env, TEST_IMAGE, "sleep", "3600",
    ]);

    // The address only the head names: a socket of ours, never to be dialled.
    let sock_dir = tempfile::tempdir().expect("tempdir");
    let sock = sock_dir.path().join("must-not-be-contacted.sock");
    let listener = UnixListener::bind(&sock).expect("bind the trap socket");

    let repo = Repo::new();
    let stack = |connect: &str| {
        format!(
            "
[[service]]
name = \"stack\"
destination = \"a\"
project = \"{project}\"
{connect}"
        )
    };
    let application = application("app", "a", &app);
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("a", "local", &net_a) + &application + &stack("")),
    );
    let base = repo.commit("base");
    repo.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("a", "local", &net_a)
            + &application
            + &stack("connect_to_predefined_networks = true\n")),
    );
    repo.write("more/b.toml", &destination("b", "local", &net_b));
    repo.write(
        "more/edge.toml",
        &format!(
            "[[server]]\nname = \"edge\"\naddress = \"unix://{}\"\n",
            sock.display()
        ),
    );
    let head = repo.commit("head");
    let w = repo.path();

    // JSON.
    let run = berth(
        w,
        &[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "json",
        ],
    );
    run.expect_code(0);
    let plan = run.json();
    assert_git_source(&plan, "HEAD", &head);
    let diff = &plan["config_diff"];
    assert_eq!(diff["base_ref"], "HEAD~1", "{diff:#}");
    assert_eq!(diff["base_commit"], base.as_str(), "{diff:#}");
    let entities = diff["entities"].as_array().expect("entities");
    assert_eq!(
        entities.len(),
        3,
        "exactly three entities changed:\n{diff:#}"
    );
    assert_eq!(entity(&plan, "destination", "b")["change"], "added");
    assert_eq!(entity(&plan, "server", "edge")["change"], "added");
    let svc = entity(&plan, "service", "stack");
    assert_eq!(svc["change"], "changed", "{svc:#}");
    let fields = svc["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 1, "{svc:#}");
    assert_eq!(fields[0]["field"], "connect_to_predefined_networks");
    assert_eq!(fields[0]["base"], "false");
    assert_eq!(fields[0]["head"], "true");
    let files: Vec<&str> = diff["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().unwrap_or(""))
        .collect();
    for f in ["berth.toml", "more/b.toml", "more/edge.toml"] {
        assert!(files.contains(&f), "file diff of {f} missing: {files:?}");
    }
    let berth_toml = diff["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["path"] == "berth.toml"))
        .expect("berth.toml diff");
    assert_eq!(berth_toml["change"], "changed");
    let unified = berth_toml["unified"].as_str().unwrap_or("");
    assert!(
        unified.contains("+connect_to_predefined_networks = true"),
        "{unified}"
    );
    let notes = diff["notes"].to_string();
    assert!(
        notes.contains("edge"),
        "a note names the new server: {notes}"
    );
    // The new server: skipped, with a reason, and never dialled.
    let edge = server(&plan, "edge");
    assert_eq!(edge["status"], "skipped", "{edge:#}");
    assert!(
        edge["error"].as_str().is_some_and(|r| !r.is_empty()),
        "a skipped server says why: {edge:#}"
    );
    assert_eq!(server(&plan, "local")["status"], "ok");
    // The head's live plan: both destinations created, the app connected.
    let mut nets = vec![net_a.clone(), net_b.clone()];
    nets.sort();
    assert_eq!(creates(&plan), nets, "{plan:#}");
    assert!(
        changes(&plan)
            .iter()
            .any(|c| c["action"] == "connect" && c["container"] == app.as_str()),
        "{plan:#}"
    );
    let missing = plan["missing"].to_string();
    assert!(
        missing.contains("stack"),
        "the empty stack is missing: {missing}"
    );

    // Markdown.
    let run = berth(
        w,
        &[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "markdown",
        ],
    );
    run.expect_code(0);
    let md = run.stdout.clone();
    let mut lines = md.lines();
    assert_eq!(lines.next(), Some("<!-- berth-plan -->"), "{md}");
    let verdict = lines.find(|l| !l.trim().is_empty()).unwrap_or("");
    let n = changes(&plan).len();
    assert_eq!(verdict, format!("### berth plan: 🔶 {n} change(s)"), "{md}");
    assert!(md.contains("| server |"), "a summary table:\n{md}");
    assert!(md.contains("`edge`"), "{md}");
    assert!(
        md.lines()
            .any(|l| l.contains("`edge`") && l.contains("not contacted")),
        "the table says edge was not contacted:\n{md}"
    );
    assert!(md.contains("➕ destination `b` added"), "{md}");
    assert!(md.contains("➕ server `edge` added"), "{md}");
    assert!(
        md.lines().any(|l| l.contains("✏️ service `stack` changed")
            && l.contains("connect_to_predefined_networks")
            && l.contains("`false` → `true`")),
        "{md}"
    );
    assert!(
        md.contains("does not contact servers that only the head names"),
        "the comment says the new server was not contacted:\n{md}"
    );
    assert!(md.contains("```diff\n"), "file diffs:\n{md}");
    assert!(md.contains("<details>"), "{md}");
    assert!(md.len() < 65_536);
    let block = fenced(&md, "mermaid").unwrap_or_else(|| panic!("no mermaid block:\n{md}"));
    let nodes = check_mermaid(&block);
    let labels: Vec<&String> = nodes.values().collect();
    for want in [
        "server local".to_string(),
        "server edge".to_string(),
        format!("network {net_b}"),
        "service stack".to_string(),
        "application app".to_string(),
    ] {
        assert!(
            labels.iter().any(|l| l.contains(&want)),
            "no mermaid node labelled `{want}`: {labels:?}\n{block}"
        );
    }
    let b_line = block
        .lines()
        .find(|l| l.contains(&format!("network {net_b}")))
        .unwrap_or("");
    assert!(
        b_line.ends_with(":::added"),
        "destination b is drawn as added: `{b_line}`"
    );

    // No env value anywhere.
    for (what, out) in [("json", &plan.to_string()), ("markdown", &md)] {
        assert!(!out.contains(&secret), "{what} leaks an env value:\n{out}");
        assert!(
            !out.contains("SECRET_X="),
            "{what} prints an env assignment"
        );
    }

    // Nobody dialled the new server's socket.
    listener.set_nonblocking(true).expect("nonblocking");
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => panic!("accept on the trap socket: {e}"),
        Ok(_) => panic!(
            "berth connected to {}, which only the head names",
            sock.display()
        ),
    }
    // Only plans: nothing was created.
    assert!(!network_exists(&net_a) && !network_exists(&net_b));
}

#[test]
fn pr_preview_contacts_a_server_the_head_re_addresses_at_the_base_address_only() {
    let owner = unique("git-readdr");
    let net = unique("git-readdr-n");
    let cleanup = Cleanup::new();
    cleanup.network(&net);

    // The head points `local` at an ssh address where we listen: berth must
    // not connect there (it uses the base's `local`).
    let trap = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = trap.local_addr().expect("addr").port();
    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("a", "local", &net)),
    );
    repo.commit("base");
    let head_header = header(&owner, "local", &format!("ssh://attacker@127.0.0.1:{port}"));
    repo.write(
        "berth.toml",
        &(head_header + &destination("a", "local", &net)),
    );
    repo.commit("head re-addresses local");

    let plan = plan_json(repo.path(), &["--base", "HEAD~1", "--ref", "HEAD"], 0);
    let local = entity(&plan, "server", "local");
    assert_eq!(local["change"], "changed", "{local:#}");
    assert_eq!(server(&plan, "local")["status"], "ok", "{plan:#}");
    assert_eq!(creates(&plan), vec![net.clone()], "{plan:#}");
    let notes = plan["config_diff"]["notes"].to_string();
    assert!(
        notes.contains("local") && notes.contains("base"),
        "a note says local was contacted at the base's address: {notes}"
    );
    trap.set_nonblocking(true).expect("nonblocking");
    match trap.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => panic!("accept on the trap port: {e}"),
        Ok((_, from)) => panic!("berth connected to the head's ssh address (from {from})"),
    }
}

#[test]
fn pr_preview_of_a_blocked_removal_names_the_container_and_hides_env_values() {
    ensure_image();
    let owner = unique("git-prb");
    let net = unique("git-prb-n");
    let db = unique("git-prb-db");
    let web = unique("git-prb-web");
    let alias = unique("dbalias");
    let secret = unique("pw");
    let cleanup = Cleanup::new();
    cleanup.network(&net);
    cleanup.container(&db);
    cleanup.container(&web);

    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("old", "local", &net)),
    );
    repo.commit("base: destination old");
    repo.write("berth.toml", &local_header(&owner));
    repo.commit("head: drop destination old");
    let w = repo.path();

    // Apply the base commit: berth creates (and owns) the network.
    berth(w, &["apply", "--ref", "HEAD~1", "--yes"]).expect_code(0);
    assert!(network_exists(&net));
    assert_eq!(
        network_labels(&net).get("berth.owner").map(String::as_str),
        Some(owner.as_str())
    );
    run_container(&db, &net, &[&alias]);
    let env = format!("DATABASE_URL=postgres://app:{secret}@{alias}:5432/app");
    docker_ok(&[
        "run", "-d", "--name", &web, "-e", &env, TEST_IMAGE, "sleep", "3600",
    ]);

    let json_run = berth(
        w,
        &[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "json",
        ],
    );
    json_run.expect_code(3);
    let plan = json_run.json();
    assert_eq!(entity(&plan, "destination", "old")["change"], "removed");
    let removal = changes(&plan)
        .iter()
        .find(|c| c["action"] == "remove_network" && c["network"] == net.as_str())
        .unwrap_or_else(|| panic!("no remove_network of {net}:\n{plan:#}"));
    assert_eq!(removal["status"], "blocked", "{removal:#}");
    assert!(removal["reasons"].to_string().contains(&db), "{removal:#}");
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("env_references_network")
            && warnings.contains(&web)
            && warnings.contains("DATABASE_URL"),
        "a warning names the env variable (not its value): {warnings}"
    );

    let md_run = berth(
        w,
        &[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "markdown",
        ],
    );
    md_run.expect_code(3);
    let md = &md_run.stdout;
    let verdict = md.lines().nth(1).unwrap_or("");
    assert!(
        verdict.starts_with("### berth plan: ⛔ **blocked**"),
        "verdict: `{verdict}`\n{md}"
    );
    assert!(md.contains("➖ destination `old` removed"), "{md}");
    // Reasons in plain sight: before any <details>.
    let folded_from = md.find("<details>").unwrap_or(md.len());
    let db_at = md.find(&db).unwrap_or(usize::MAX);
    assert!(
        db_at < folded_from,
        "the blocking container is named outside <details>:\n{md}"
    );
    check_mermaid(&fenced(md, "mermaid").unwrap_or_else(|| panic!("no mermaid:\n{md}")));

    let human = berth(w, &["plan", "--base", "HEAD~1", "--ref", "HEAD"]);
    human.expect_code(3);
    for (what, out) in [
        ("json", &json_run.stdout),
        ("json stderr", &json_run.stderr),
        ("markdown", md),
        ("markdown stderr", &md_run.stderr),
        ("human", &human.stdout),
        ("human stderr", &human.stderr),
    ] {
        assert!(!out.contains(&secret), "{what} leaks an env value:\n{out}");
    }
    assert!(network_exists(&net), "a plan removes nothing");
}

// ---------------------------------------------------------------------------
// 3. Push hooks on a real bare repository
// ---------------------------------------------------------------------------

#[test]
fn push_hooks_reject_a_blocked_removal_and_apply_accepted_pushes() {
    ensure_image();
    let owner = unique("git-hook");
    let net = unique("git-hook-n");
    let other_net = unique("git-hook-o");
    let blocker = unique("git-hook-c");
    let cleanup = Cleanup::new();
    cleanup.network(&net);
    cleanup.network(&other_net);
    cleanup.container(&blocker);

    let remote_dir = tempfile::tempdir().expect("tempdir");
    let bare = remote_dir.path().join("config.git");
    git_ok(
        remote_dir.path(),
        &["init", "-q", "--bare", "-b", "main", "config.git"],
    );
    let git_dir = bare.display().to_string();
    let install = berth(
        remote_dir.path(),
        &["hook", "install", "--git-dir", &git_dir, "--apply-on-push"],
    );
    install.expect_code(0);
    for hook in ["pre-receive", "post-receive"] {
        let path = bare.join("hooks").join(hook);
        let meta = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{} missing: {e}\n{install}", path.display()));
        use std::os::unix::fs::PermissionsExt;
        assert!(
            meta.permissions().mode() & 0o111 != 0,
            "{hook} not executable"
        );
    }

    let work = Repo::clone_of(&bare);
    let w = work.path();

    // 1. A push that adds a destination lands and post-receive creates it.
    work.write(
        "berth.toml",
        &(local_header(&owner) + &destination("d", "local", &net)),
    );
    let added = work.commit("add destination d");
    let out = work.push(&["-q", "origin", "main"]);
    assert!(out.status.success(), "first push rejected:\n{}", text(&out));
    assert_eq!(rev_parse(&bare, "main"), added);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        said.contains("remote: "),
        "the hooks talk to the pusher:\n{said}"
    );
    assert!(
        network_exists(&net),
        "post-receive did not create {net}:\n{said}"
    );
    let labels = network_labels(&net);
    assert_eq!(
        labels.get("berth.managed").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        labels.get("berth.owner").map(String::as_str),
        Some(owner.as_str())
    );
    assert_eq!(
        labels.get("berth.destination").map(String::as_str),
        Some("d")
    );

    // 2. A container attaches; removing the destination is rejected.
    run_container(&blocker, &net, &[]);
    work.write("berth.toml", &local_header(&owner));
    let removal = work.commit("remove destination d");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(
        !out.status.success(),
        "blocked removal was accepted:\n{said}"
    );
    assert!(said.contains("pre-receive hook declined"), "{said}");
    assert!(
        said.contains("remote: ") && said.contains(&blocker),
        "the pusher sees the blocking container named:\n{said}"
    );
    assert_eq!(rev_parse(&bare, "main"), added, "main did not move");
    assert!(network_exists(&net), "a rejected push removed the network");
    assert!(container_networks(&blocker).contains_key(&net));

    // 3. Once the container is gone, the same push lands and post-receive
    //    removes the network.
    docker_ok(&["rm", "-f", &blocker]);
    let out = work.push(&["origin", "main"]);
    assert!(out.status.success(), "push rejected:\n{}", text(&out));
    assert_eq!(rev_parse(&bare, "main"), removal);
    assert!(
        !network_exists(&net),
        "post-receive did not remove {net}:\n{}",
        text(&out)
    );

    // 4. Another branch passes, even with an invalid config, and is not
    //    applied; deleting it passes too.
    git_ok(w, &["checkout", "-q", "-b", "feature"]);
    work.write(
        "berth.toml",
        &(local_header(&owner)
            + &destination("o", "local", &other_net)
            + "\n[[application]]\nname = \"x\"\ndestination = \"o\"\nbogus_key = 1\n"),
    );
    let feature = work.commit("invalid config on a feature branch");
    let out = work.push(&["origin", "feature"]);
    assert!(
        out.status.success(),
        "feature push rejected:\n{}",
        text(&out)
    );
    assert_eq!(rev_parse(&bare, "feature"), feature);
    assert!(!network_exists(&other_net), "a feature branch was applied");
    let out = work.push(&["origin", "--delete", "feature"]);
    assert!(
        out.status.success(),
        "branch deletion rejected:\n{}",
        text(&out)
    );

    // 5. The same invalid config on main is rejected with file:line:col.
    git_ok(w, &["checkout", "-q", "main"]);
    git_ok(w, &["merge", "-q", "--ff-only", "feature"]);
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(!out.status.success(), "invalid config accepted:\n{said}");
    assert!(said.contains("pre-receive hook declined"), "{said}");
    let line = local_header(&owner).lines().count()
        + destination("o", "local", &other_net).lines().count()
        + 5;
    let at = format!("berth.toml:{line}:1");
    assert!(
        said.contains(&at) && said.contains("bogus_key"),
        "the pusher sees the unknown key at {at}:\n{said}"
    );
    assert_eq!(rev_parse(&bare, "main"), removal);
    assert!(!network_exists(&other_net));
}

#[test]
fn pre_receive_reads_the_quarantined_objects_of_a_push_in_a_subdirectory() {
    // The hook with --dir: config under infra/, a push whose objects are
    // still in git's quarantine while the hook runs (a new file git has
    // never seen before).
    let owner = unique("git-quar");
    let net = unique("git-quar-n");
    let cleanup = Cleanup::new();
    cleanup.network(&net);

    let remote_dir = tempfile::tempdir().expect("tempdir");
    let bare = remote_dir.path().join("r.git");
    git_ok(
        remote_dir.path(),
        &["init", "-q", "--bare", "-b", "main", "r.git"],
    );
    let git_dir = bare.display().to_string();
    berth(
        remote_dir.path(),
        &["hook", "install", "--git-dir", &git_dir, "--dir", "infra"],
    )
    .expect_code(0);
    assert!(
        !bare.join("hooks/post-receive").exists(),
        "post-receive only with --apply-on-push"
    );

    let work = Repo::clone_of(&bare);
    work.write("README", "not config\n");
    work.write(
        "infra/berth.toml",
        &(local_header(&owner) + &destination("q", "local", &net)),
    );
    let commit = work.commit("config under infra/");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(out.status.success(), "push rejected:\n{said}");
    assert!(
        said.contains(&commit[..12]) && said.contains("accepted"),
        "pre-receive planned the pushed commit:\n{said}"
    );
    assert!(
        !network_exists(&net),
        "without --apply-on-push nothing is applied"
    );

    // A second push whose config is invalid: rejected (the hook reads the
    // new, quarantined commit, not the old main).
    work.write(
        "infra/berth.toml",
        &(local_header(&owner) + &destination("q", "local", &net) + "subnet = \"not-a-subnet\"\n"),
    );
    work.commit("bad subnet");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(!out.status.success(), "invalid config accepted:\n{said}");
    assert!(said.contains("infra/berth.toml"), "{said}");
    assert_eq!(rev_parse(&bare, "main"), commit);
}

#[test]
fn a_strict_config_rejects_a_push_whose_container_matches_nothing_saying_why() {
    ensure_image();
    let owner = unique("git-strict");
    let net = unique("git-strict-n");
    let base = unique("git-strict");
    let app = format!("{base}-app");
    let cleanup = Cleanup::new();
    cleanup.network(&net);
    cleanup.container(&app);

    let remote_dir = tempfile::tempdir().expect("tempdir");
    let bare = remote_dir.path().join("r.git");
    git_ok(
        remote_dir.path(),
        &["init", "-q", "--bare", "-b", "main", "r.git"],
    );
    let git_dir = bare.display().to_string();
    berth(
        remote_dir.path(),
        &["hook", "install", "--git-dir", &git_dir],
    )
    .expect_code(0);
    run_container(&app, "bridge", &[]);

    // Not strict: a warning, and the push lands.
    let work = Repo::clone_of(&bare);
    let config = local_header(&owner)
        + &destination("d", "local", &net)
        + &application("web", "d", &format!("{base}-ap"));
    work.write("berth.toml", &config);
    let lenient = work.commit("a misspelled container");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(out.status.success(), "push rejected:\n{said}");
    assert!(said.contains(&format!("did you mean {app}")), "{said}");
    assert_eq!(rev_parse(&bare, "main"), lenient);

    // strict = true: the same config is rejected, naming the fix.
    work.write(
        "berth.toml",
        &config.replacen("[settings]\n", "[settings]\nstrict = true\n", 1),
    );
    work.commit("strict");
    let out = work.push(&["origin", "main"]);
    let said = text(&out);
    assert!(!out.status.success(), "strict push accepted:\n{said}");
    assert!(
        said.contains("pre-receive hook declined")
            && said.contains("push rejected")
            && said.contains("1 error(s)")
            && said.contains(&format!("error: application web: no container {base}-ap"))
            && said.contains(&format!("did you mean {app}")),
        "{said}"
    );
    assert_eq!(rev_parse(&bare, "main"), lenient, "main did not move");
}

// ---------------------------------------------------------------------------
// 4. Saved plans
// ---------------------------------------------------------------------------

fn read_json(plan_out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(plan_out).expect("read the saved plan"))
        .expect("the saved plan is JSON")
}

#[test]
fn a_saved_plan_made_stale_by_an_attached_container_is_refused() {
    ensure_image();
    let owner = unique("git-saved");
    let net = unique("git-saved-n");
    let late = unique("git-saved-late");
    let cleanup = Cleanup::new();
    cleanup.network(&net);
    cleanup.container(&late);

    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner) + &destination("d", "local", &net)),
    );
    apply(&p, &[], 0);
    assert!(network_exists(&net));

    // The destination goes: a saved plan removes the (empty) network.
    p.write("berth.toml", &local_header(&owner));
    let saved_dir = tempfile::tempdir().expect("tempdir");
    let file = saved_dir.path().join("plan.json");
    let file_arg = file.display().to_string();
    let run = p.berth(&["plan", "--format", "json", "--out", &file_arg]);
    run.expect_code(0);
    let saved = read_json(&file);
    assert!(
        changes(&saved)
            .iter()
            .any(|c| c["action"] == "remove_network"
                && c["network"] == net.as_str()
                && c["status"] == "planned"),
        "{saved:#}"
    );
    assert!(
        saved["fingerprints"]["local"].is_object()
            && !saved["fingerprints"]["local"]
                .as_object()
                .is_some_and(|m| m.is_empty()),
        "fingerprints per server: {saved:#}"
    );
    assert_eq!(saved["owner"], owner.as_str());

    // Someone attaches a container after the review.
    run_container(&late, &net, &[]);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let run = berth(elsewhere.path(), &["apply", &file_arg, "--yes"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("the saved plan is stale, nothing applied"),
        "{run}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("server local") && l.contains(&late)),
        "the stale reason names the container:\n{run}"
    );
    assert!(network_exists(&net), "a stale plan removed the network");
    assert!(container_networks(&late).contains_key(&net));

    // A fresh plan (the container gone) applies exactly, and then nothing
    // is left to do.
    docker_ok(&["rm", "-f", &late]);
    let fresh = saved_dir.path().join("fresh.json");
    let fresh_arg = fresh.display().to_string();
    p.berth(&["plan", "--out", &fresh_arg]).expect_code(0);
    let run = berth(elsewhere.path(), &["apply", &fresh_arg, "--yes"]);
    run.expect_code(0);
    assert!(
        !network_exists(&net),
        "the fresh plan was not applied:\n{run}"
    );
    let after = p.berth(&["plan", "--format", "json", "--detailed-exitcode"]);
    after.expect_code(0);
    assert!(changes(&after.json()).is_empty(), "{after}");
}

#[test]
fn a_saved_plan_from_a_commit_applies_exactly_that_commit() {
    let owner = unique("git-savedc");
    let net = unique("git-savedc-n");
    let net2 = unique("git-savedc-m");
    let cleanup = Cleanup::new();
    cleanup.network(&net);
    cleanup.network(&net2);

    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("d", "local", &net)),
    );
    let commit = repo.commit("one destination");
    let w = repo.path();
    let saved_dir = tempfile::tempdir().expect("tempdir");
    let file = saved_dir.path().join("plan.json");
    let file_arg = file.display().to_string();
    berth(w, &["plan", "--ref", "main", "--out", &file_arg]).expect_code(0);
    let saved = read_json(&file);
    assert_git_source(&saved, "main", &commit);

    // main moves on after the review: the saved plan still applies its own
    // commit (one network), not the new main.
    repo.write("more.toml", &destination("e", "local", &net2));
    repo.commit("another destination");
    let run = berth(w, &["apply", &file_arg, "--yes"]);
    run.expect_code(0);
    assert!(network_exists(&net), "{run}");
    assert!(
        !network_exists(&net2),
        "apply FILE applied a commit nobody reviewed:\n{run}"
    );

    // Applying the now stale plan again: its network exists now.
    let run = berth(w, &["apply", &file_arg, "--yes"]);
    run.expect_code(1);
    assert!(run.stderr.contains("stale"), "{run}");
    assert!(run.stderr.contains(&net), "{run}");

    // The rest, through a normal apply at main.
    berth(w, &["apply", "--ref", "main", "--yes"]).expect_code(0);
    assert!(network_exists(&net2));
    let after = plan_json(w, &["--ref", "main", "--detailed-exitcode"], 0);
    assert!(changes(&after).is_empty(), "{after:#}");
}

// ---------------------------------------------------------------------------
// Pull-request previews: robustness
// ---------------------------------------------------------------------------

/// An untrusted pull request controls every name in the comment: names with
/// newlines, backticks, fences, pipes and quotes must neither break the
/// Mermaid block nor put text of theirs outside a code block or inline code.
#[test]
fn pr_preview_markdown_stays_well_formed_whatever_the_names() {
    let owner = unique("git-names");
    let net_1 = unique("git-names-1");
    let net_2 = unique("git-names-2");
    let net_3 = unique("git-names-3");
    let cleanup = Cleanup::new();
    for n in [&net_1, &net_2, &net_3] {
        cleanup.network(n);
    }

    let repo = Repo::new();
    // The base already holds a multi-line label with a fence line in it: a
    // change next to it shows it as an unchanged (context) line ` ```` of
    // the file diff.
    let fenced_label = |network: &str| {
        format!(
            r#"
[[destination]]
name = "labelled"
server = "local"
network = "{network}"
labels = {{ note = """
```
# INJECTED-FROM-CONTEXT
""" }}
"#
        )
    };
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &fenced_label(&net_1)),
    );
    repo.commit("base");
    let evil = format!(
        r#"
[[destination]]
name = "evil\"] ``` # not-a-heading | x"
server = "local"
network = "{net_2}"

[[destination]]
name = "a|b`c<d>]) --> s0"
server = "local"
network = "{net_3}"
"#
    );
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &fenced_label(&format!("{net_1}-x")) + &evil),
    );
    repo.commit("head");
    cleanup.network(&format!("{net_1}-x"));

    let run = berth(
        repo.path(),
        &[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "markdown",
        ],
    );
    run.expect_code(0);
    let md = &run.stdout;
    let f = fences(md);
    for line in &f.outside {
        assert!(
            !line.contains("INJECTED"),
            "text from the config escaped its code block: `{line}`\n{md}"
        );
        assert!(
            !line.starts_with('#')
                || line.starts_with("### berth plan")
                || line.starts_with("#### "),
            "a name made a heading: `{line}`\n{md}"
        );
    }
    let block = fenced(md, "mermaid").unwrap_or_else(|| panic!("no mermaid block:\n{md}"));
    check_mermaid(&block);
    assert!(
        f.blocks.iter().any(|(info, _)| info == "diff"),
        "the file diff is a ```diff block:\n{md}"
    );
}

/// A name with a newline could break out of any Markdown construct: the
/// config rejects control characters in names, with the place.
#[test]
fn names_with_control_characters_are_config_errors() {
    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&unique("git-ctl"))
            + "\n[[destination]]\nname = \"evil\\n```\\n# INJECTED\"\nserver = \"local\"\nnetwork = \"n\"\n"),
    );
    repo.commit("control characters");
    let run = berth(repo.path(), &["validate", "--ref", "HEAD"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("berth.toml:") && run.stderr.contains("contains a control character"),
        "{run}"
    );
}

/// GitHub refuses comments over 65,536 characters: a large change folds
/// details away and still says what it does.
#[test]
fn pr_preview_markdown_stays_under_the_comment_limit() {
    let owner = unique("git-big");
    let prefix = unique("git-big");
    let repo = Repo::new();
    repo.write("berth.toml", &local_header(&owner));
    repo.commit("base");
    let mut many = String::new();
    for i in 0..1500 {
        many += &destination(
            &format!("destination-number-{i}"),
            "local",
            &format!("{prefix}-network-{i}"),
        );
    }
    repo.write("many.toml", &many);
    repo.commit("1500 destinations");

    let run = berth(
        repo.path(),
        &[
            "plan", "--base", "HEAD~1", "--ref", "HEAD", "--format", "markdown",
        ],
    );
    run.expect_code(0);
    let md = &run.stdout;
    assert!(
        md.chars().count() <= 65_536,
        "the comment has {} characters; GitHub takes 65,536",
        md.chars().count()
    );
    assert_eq!(md.lines().next(), Some("<!-- berth-plan -->"));
    assert!(md.contains("### berth plan: 🔶 1500 change(s)"), "{md}");
    assert!(md.contains("| `local` | ok | 1500 |"), "{md}");
    let filter = format!("name={prefix}-network-");
    let created = docker_ok(&["network", "ls", "-q", "--filter", &filter]);
    assert!(created.is_empty(), "a plan created networks: {created}");
}

/// `plan --base REV` with the head in the working tree at `--dir D`: the
/// base is the same directory of REV's tree in the repository around D,
/// wherever berth runs from.
#[test]
fn base_preview_of_a_working_tree_named_by_dir() {
    let owner = unique("git-wtb");
    let net_a = unique("git-wtb-a");
    let net_b = unique("git-wtb-b");
    let cleanup = Cleanup::new();
    cleanup.network(&net_a);
    cleanup.network(&net_b);

    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("a", "local", &net_a)),
    );
    let base = repo.commit("base");
    // Uncommitted: the head is the working tree.
    repo.write("b.toml", &destination("b", "local", &net_b));
    let w = repo.path();

    // From the repository root, no --dir: works.
    let plan = plan_json(w, &["--base", "HEAD"], 0);
    assert_eq!(plan["config_diff"]["base_commit"], base.as_str());
    assert_eq!(entity(&plan, "destination", "b")["change"], "added");

    // --dir naming the same work tree (absolute), from inside and outside.
    let dir = w.display().to_string();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    for cwd in [w, elsewhere.path()] {
        let run = berth(
            cwd,
            &["plan", "--dir", &dir, "--base", "HEAD", "--format", "json"],
        );
        run.expect_code(0);
        let plan = run.json();
        assert_eq!(plan["config_diff"]["base_commit"], base.as_str(), "{run}");
        assert_eq!(entity(&plan, "destination", "b")["change"], "added");
    }
}

/// A plan saved from `--repo R --ref REV` names where it came from: `apply
/// FILE` finds the same commit wherever it runs (a CI job's next step).
#[test]
fn a_saved_plan_from_a_repo_applies_from_another_directory() {
    let owner = unique("git-savedr");
    let net = unique("git-savedr-n");
    let cleanup = Cleanup::new();
    cleanup.network(&net);

    let repo = Repo::new();
    repo.write(
        "berth.toml",
        &(local_header(&owner) + &destination("d", "local", &net)),
    );
    let commit = repo.commit("one destination");
    let (_bare_dir, bare) = bare_clone(repo.path());
    let bare_arg = bare.display().to_string();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let file = elsewhere.path().join("plan.json");
    let file_arg = file.display().to_string();
    berth(
        elsewhere.path(),
        &[
            "plan", "--repo", &bare_arg, "--ref", "main", "--out", &file_arg,
        ],
    )
    .expect_code(0);
    assert_git_source(&read_json(&file), "main", &commit);

    let run = berth(elsewhere.path(), &["apply", &file_arg, "--yes"]);
    run.expect_code(0);
    assert!(network_exists(&net), "{run}");
}

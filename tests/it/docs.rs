//! The docs as a map that holds: every relative link and `#anchor` in the
//! repository's Markdown (README, ARCHITECTURE, CONTRIBUTING, BENCHMARKS,
//! CHANGELOG, `docs/`, `examples/`) resolves, anchors by GitHub's heading
//! slugs; the README stays a front door (at most 15,000 bytes); the
//! reference's CLI synopsis names exactly the flags each command's `--help`
//! lists; and the README's quick start works as written, cleanup command
//! included.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::common::{
    Cleanup, berth_raw, container_networks, docker, docker_ok, network_exists, network_labels,
    unique,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The README's size limit: past it, material belongs in `docs/`.
const README_MAX_BYTES: u64 = 15_000;

/// What one Markdown file offers and asks for.
struct Doc {
    /// Heading anchors, as GitHub makes them.
    anchors: Vec<String>,
    /// Link and image destinations, with the line they are on.
    links: Vec<(usize, String)>,
}

/// GitHub's slug of a heading's text: lowercase; every character that is
/// not a letter, a digit, a space, `-` or `_` removed; spaces become `-`.
fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn parse(text: &str) -> Doc {
    let mut anchors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    for (event, range) in Parser::new_ext(text, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                // Duplicates get -1, -2, … in order.
                let n = seen.entry(base.clone()).or_insert(0);
                anchors.push(if *n == 0 { base } else { format!("{base}-{n}") });
                *n += 1;
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                links.push((line_of(range.start), dest_url.to_string()));
            }
            _ => {}
        }
    }
    Doc { anchors, links }
}

/// `base.join(rel)` with `.` and `..` taken out, so that it can be looked up.
fn normalize(base: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every relative link or anchor in `files` that does not resolve, as
/// `file:line: what`, with paths shown relative to `root`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut docs: BTreeMap<PathBuf, Doc> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        docs.insert(f.clone(), parse(&text));
    }
    let show = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let mut problems = Vec::new();
    for (file, doc) in &docs {
        for (line, url) in &doc.links {
            if url.contains("://") || url.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = url.split_once('#').unwrap_or((url, ""));
            let target = if path.is_empty() {
                file.clone()
            } else {
                normalize(file.parent().unwrap_or(root), path)
            };
            let at = format!("{}:{line}: link `{url}`", show(file));
            if !target.exists() {
                problems.push(format!("{at}: no file {}", show(&target)));
                continue;
            }
            if anchor.is_empty() {
                continue;
            }
            let anchors = match docs.get(&target) {
                Some(d) => d.anchors.clone(),
                None if target.extension().is_some_and(|e| e == "md") => {
                    parse(&std::fs::read_to_string(&target).unwrap_or_default()).anchors
                }
                None => {
                    problems.push(format!(
                        "{at}: #{anchor} in {}, which is not Markdown",
                        show(&target)
                    ));
                    continue;
                }
            };
            if !anchors.iter().any(|a| a == anchor) {
                problems.push(format!(
                    "{at}: {} has no heading #{anchor} (its anchors: {})",
                    show(&target),
                    anchors.join(", ")
                ));
            }
        }
    }
    problems
}

fn markdown_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.expect("read_dir entry").path();
        if p.is_dir() {
            markdown_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

/// The repository's Markdown: the top-level files, `docs/` and `examples/`.
/// Not `docs/pending/` (notes for the next change to fold in, not docs),
/// nor test fixtures (berth's own Markdown output).
fn repository_markdown(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("read the repository root")
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "md"))
        .collect();
    markdown_under(&root.join("docs"), &mut files);
    markdown_under(&root.join("examples"), &mut files);
    files.retain(|p| !p.starts_with(root.join("docs/pending")));
    files.sort();
    files
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let root = Path::new(ROOT);
    let files = repository_markdown(root);
    for expected in [
        "README.md",
        "ARCHITECTURE.md",
        "CONTRIBUTING.md",
        "BENCHMARKS.md",
        "CHANGELOG.md",
        "docs/guide.md",
        "docs/reference.md",
    ] {
        assert!(
            files.contains(&root.join(expected)),
            "{expected} is missing"
        );
    }
    let problems = broken_links(root, &files);
    assert!(
        problems.is_empty(),
        "{} broken link(s) in the Markdown files:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_broken_link_or_anchor_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("docs")).unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Title\n\n## Exit codes\n\n## Exit codes\n\n\
         [ok](docs/guide.md#adopting-a-live-server) [ok](#exit-codes-1) \
         [ok](https://example.com/nowhere)\n\n\
         [gone](docs/gone.md)\n\n[bad anchor](docs/guide.md#adopting)\n\n\
         | a | b |\n|---|---|\n| [in a table](#no-such) | x |\n",
    )
    .unwrap();
    std::fs::write(
        root.join("docs/guide.md"),
        "# Guide\n\n## Adopting a live server\n\n[back](../README.md#title)\n\
         [`[[service]]`](#service-a-compose-stack)\n\n### `[[service]]` (a compose stack)\n",
    )
    .unwrap();
    let problems = broken_links(root, &repository_markdown(root));
    let text = problems.join("\n");
    assert_eq!(problems.len(), 3, "{text}");
    assert!(
        text.contains("README.md:9: link `docs/gone.md`: no file docs/gone.md"),
        "{text}"
    );
    assert!(
        text.contains(
            "README.md:11: link `docs/guide.md#adopting`: docs/guide.md has no heading #adopting"
        ),
        "{text}"
    );
    assert!(text.contains("link `#no-such`"), "{text}");
}

#[test]
fn slugs_follow_githubs_rule() {
    for (heading, anchor) in [
        ("Config (format v1)", "config-format-v1"),
        (
            "[[application]] and [[database]]",
            "application-and-database",
        ),
        ("Day two: status and watch", "day-two-status-and-watch"),
        (
            "One server against the engine's floor",
            "one-server-against-the-engines-floor",
        ),
        ("snake_case and kebab-case", "snake_case-and-kebab-case"),
    ] {
        assert_eq!(slug(heading), anchor);
    }
}

#[test]
fn readme_is_a_front_door() {
    let size = std::fs::metadata(Path::new(ROOT).join("README.md"))
        .expect("README.md")
        .len();
    assert!(
        size <= README_MAX_BYTES,
        "README.md is {size} bytes, over {README_MAX_BYTES}: move material to docs/ and link to it"
    );
}

/// `examples/quickstart/berth.toml` as it is, its `hello` application
/// (the last table) selecting the test's own container (a unique name
/// instead of `hello`).
fn quickstart_with_hello(container: &str) -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join("examples/quickstart/berth.toml"))
        .expect("examples/quickstart/berth.toml");
    let table = "[[application]]\nname = \"hello\"\ndestination = \"production\"\n";
    assert!(
        text.ends_with(table),
        "the quickstart no longer ends with the hello application:\n{text}"
    );
    format!("{text}container = \"{container}\"\n")
}

/// The README's way to make a `busybox` image without a registry.
const BUSYBOX_IMPORT: &str =
    "tar -C /bin -c busybox | docker import -c 'ENTRYPOINT [\"/busybox\"]' - busybox";

/// An image removed on drop, pass or fail.
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.0]);
    }
}

#[test]
fn quick_start_works_as_written() {
    let root = Path::new(ROOT);
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    // The README's commands, which this test runs (the container under a
    // unique name, to clash with nothing a person left running).
    for command in [
        "cargo run -- apply --dir examples/quickstart --yes",
        "docker run -d --name hello busybox sleep 3600",
        "docker rm -f hello",
        BUSYBOX_IMPORT,
        "cargo run -- apply --dir examples/quickstart-teardown --yes",
        "berth schema config >",
    ] {
        assert!(
            readme.contains(command),
            "the README's quick start lacks `{command}`"
        );
    }
    // Dropped after `cleanup` has removed the container that uses it.
    let image = Image(unique("busybox"));
    let cleanup = Cleanup::new();
    let production = cleanup.network("quickstart-production");
    let staging = cleanup.network("quickstart-staging");
    let hello = cleanup.container(&unique("hello"));
    let berth = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        berth_raw(&args, root)
    };
    let teardown = ["apply", "--dir", "examples/quickstart-teardown", "--yes"];

    // A quick start tried by hand may have left its networks: the teardown
    // command removes them (and proves it works on an engine without them).
    berth(&teardown).expect_code(0);
    assert!(!network_exists(&production) && !network_exists(&staging));

    let run = berth(&["apply", "--dir", "examples/quickstart", "--yes"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Plan: 2 to create."), "{run}");
    // The declared hello runs nowhere yet: a warning, never silence.
    assert!(
        run.stdout
            .contains("application hello: no container hello on server local"),
        "{run}"
    );
    for net in [&production, &staging] {
        assert!(network_exists(net), "{net} was not created\n{run}");
        assert_eq!(
            network_labels(net).get("berth.owner").map(String::as_str),
            Some("berth-quickstart")
        );
    }
    let again = berth(&[
        "plan",
        "--dir",
        "examples/quickstart",
        "--detailed-exitcode",
    ]);
    again.expect_code(0);

    // A hello container from the image the README's one line makes
    // (under a unique tag), selected by the example's hello application.
    let import = BUSYBOX_IMPORT.replace(" - busybox", &format!(" - {}", image.0));
    let out = Command::new("sh")
        .args(["-c", &import])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{import}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    docker_ok(&["run", "-d", "--name", &hello, &image.0, "sleep", "3600"]);
    let copy = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        copy.path().join("berth.toml"),
        quickstart_with_hello(&hello),
    )
    .unwrap();
    let dir = copy.path().display().to_string();
    let plan = berth(&["plan", "--dir", &dir]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains(&format!(
            "+ connect {hello}  application hello  aliases hello"
        )),
        "{plan}"
    );
    assert!(plan.stdout.contains("Plan: 1 to connect."), "{plan}");
    berth(&["apply", "--dir", &dir, "--yes"]).expect_code(0);
    let nets = container_networks(&hello);
    assert!(
        nets.get(&production)
            .is_some_and(|a| a.iter().any(|a| a == "hello")),
        "{hello} is not on {production} with alias hello: {nets:?}"
    );

    // Cleanup by a command: blocked while hello is attached, as the README
    // warns; after `docker rm -f hello`, both networks go.
    let blocked = berth(&teardown);
    blocked.expect_code(3);
    assert!(
        network_exists(&production) && network_exists(&staging),
        "{blocked}"
    );
    assert!(docker(&["rm", "-f", &hello]).status.success());
    let done = berth(&teardown);
    done.expect_code(0);
    assert!(done.stdout.contains("Plan: 2 to remove."), "{done}");
    assert!(
        !network_exists(&production) && !network_exists(&staging),
        "the teardown left a network\n{done}"
    );
}

/// The long flags `berth ARGS --help` lists, without `--help` and `--version`.
fn flags_in_help(args: &[&str]) -> Vec<String> {
    let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    full.push("--help".into());
    let run = berth_raw(&full, Path::new(ROOT));
    run.expect_code(0);
    let mut flags: Vec<String> = run
        .stdout
        .lines()
        // Option lines are indented 2 (`  -d, --dir`) or 6 (`      --repo`)
        // columns; descriptions, wrapped or listing values, further.
        .filter(|l| (2..=6).contains(&(l.len() - l.trim_start().len())))
        .map(str::trim_start)
        .filter_map(|l| {
            let l = match l.as_bytes() {
                [b'-', c, b',', b' ', ..] if c.is_ascii_alphanumeric() => &l[4..],
                _ => l,
            };
            l.starts_with("--")
                .then(|| l.split([' ', '=']).next().unwrap_or(l))
        })
        .filter(|f| *f != "--help" && *f != "--version")
        .map(str::to_string)
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

/// The reference's synopsis: for each command (`hook pre-receive` for
/// the hooks), the long flags its lines name.
fn synopsis() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("docs/reference.md"))
        .expect("docs/reference.md");
    let start = text
        .find("### Synopsis\n\n```\n")
        .expect("docs/reference.md has a ### Synopsis code block");
    let block = &text[start..];
    let block = &block[block.find("```\n").unwrap() + 4..];
    let block = &block[..block.find("```").unwrap()];
    let mut entries: Vec<(Vec<String>, String)> = Vec::new();
    for line in block.lines() {
        if let Some(rest) = line.strip_prefix("berth ") {
            let mut words = rest.split_whitespace();
            let command = words.next().unwrap_or_default().to_string();
            let names = if command == "hook" {
                let sub = words.next().unwrap_or_default();
                sub.split('|').map(|s| format!("hook {s}")).collect()
            } else {
                vec![command]
            };
            entries.push((names, rest.to_string()));
        } else if let Some((_, text)) = entries.last_mut() {
            text.push_str(line);
        }
    }
    // A command on several lines (`import --server …`, `import --address
    // …`) takes the flags of all of them.
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (names, text) in entries {
        let flags = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--"))
            .map(str::to_string);
        let flags: Vec<String> = flags.collect();
        for name in names {
            out.entry(name).or_default().extend(flags.iter().cloned());
        }
    }
    for flags in out.values_mut() {
        flags.sort();
        flags.dedup();
    }
    out
}

#[test]
fn the_reference_synopsis_names_every_flag_of_every_command() {
    let synopsis = synopsis();
    let commands = [
        "validate",
        "plan",
        "apply",
        "status",
        "watch",
        "hook pre-receive",
        "hook post-receive",
        "hook install",
        "import",
        "unlock",
        "forget",
        "schema",
        "completions",
    ];
    let mut problems = Vec::new();
    for command in commands {
        let Some(documented) = synopsis.get(command) else {
            problems.push(format!("`berth {command}` is not in the synopsis"));
            continue;
        };
        let args: Vec<&str> = command.split(' ').collect();
        let actual = flags_in_help(&args);
        for flag in &actual {
            if !documented.contains(flag) {
                problems.push(format!(
                    "`berth {command}` takes {flag}: the synopsis lacks it"
                ));
            }
        }
        for flag in documented {
            if !actual.contains(flag) {
                problems.push(format!(
                    "the synopsis gives `berth {command}` {flag}, which its --help does not list"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/reference.md § Synopsis disagrees with `--help`:\n{}",
        problems.join("\n")
    );
}

#[test]
fn berth_help_lists_the_reference_exit_codes() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("docs/reference.md"))
        .expect("docs/reference.md");
    let table = &text[text.find("## Exit codes").expect("## Exit codes")..];
    let codes: Vec<&str> = table
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next())
        .filter(|c| c.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        codes,
        ["0", "1", "2", "3", "130"],
        "the reference's exit codes"
    );
    let run = berth_raw(&["--help".to_string()], Path::new(ROOT));
    run.expect_code(0);
    let help = &run.stdout[run
        .stdout
        .find("Exit codes:")
        .expect("berth --help lists exit codes")..];
    let listed: Vec<&str> = help
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed, codes,
        "berth --help's exit codes differ from docs/reference.md"
    );
    assert!(
        help.contains("`status --detailed-exitcode` found drift"),
        "{help}"
    );
}

/// The fenced ```` ```toml ```` blocks of a Markdown text, in order.
fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::CodeBlock(pulldown_cmark::CodeBlockKind::Fenced(lang)))
                if &*lang == "toml" =>
            {
                current = Some(String::new());
            }
            Event::Text(t) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(current.take()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_readme_config_is_a_valid_config() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    let blocks = toml_blocks(&readme);
    let config = blocks.first().expect("the README shows a config");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("berth.toml"), config).unwrap();
    let loaded = berthing::source::worktree(dir.path()).expect("read the README's config");
    if let Err(d) = berthing::config::load(&loaded.files) {
        panic!("the README's config is invalid:\n{}", d.render(false));
    }
}

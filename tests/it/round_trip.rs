//! `berth import` round trip over every scenario and fixture the suite has
//! (issue 17): for each case, what runs (made by hand, by Coolify's labels,
//! by compose, by a berth apply of the case's config) is imported; the
//! imported config planned against the same engine changes nothing; and
//! applied on a second engine where only the hand-made part was set up, it
//! rebuilds a state whose import is the same TOML.
//!
//! The cases are the table [`SCENARIOS`]: adding a fixture adds a row
//! (`every_fixture_is_a_case` fails for a fixture file no row names).
//! Both engines are private `dockerd`s (in their own network namespaces):
//! an import reads a whole engine, and the local one is shared with every
//! other test. The import runs in a directory without config
//! (`--address`), as a first import would.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::daemon::{Options, SecondDaemon};
use crate::common::{Project, Run, TEST_IMAGE, compose_command, ensure_image};
use serde_json::Value;

/// The server name in every case's config and import.
const SERVER: &str = "engine";
/// Where a case's config says its server's address goes.
const ADDRESS: &str = "@ADDRESS@";

/// One case: a config for the first engine (with [`ADDRESS`]), what exists
/// before berth runs (on both engines), and what its import must keep.
struct Scenario {
    name: &'static str,
    /// The fixture files (under `tests/fixtures/`) it covers.
    fixtures: &'static [&'static str],
    /// The repository: (path, text) of each file.
    files: fn() -> Vec<(String, String)>,
    setup: fn(&Engine),
    /// What the import must have kept, beyond an empty plan and the same
    /// TOML: one message per thing missing.
    expect: fn(&toml::Table) -> Vec<String>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "hand-made, a Coolify database and a compose stack (tests/it/import.rs)",
        fixtures: &[],
        files: hand_made_files,
        setup: hand_made_setup,
        expect: hand_made_expect,
    },
    Scenario {
        name: "destinations named apart from their networks, shared resources (tests/it/assignments.rs, tests/it/shared.rs)",
        fixtures: &[],
        files: assignments_files,
        setup: assignments_setup,
        expect: assignments_expect,
    },
    Scenario {
        name: "a stack with short aliases",
        fixtures: &[],
        files: short_aliases_files,
        setup: short_aliases_setup,
        expect: short_aliases_expect,
    },
    Scenario {
        name: "clones of an application, a database and a stack (tests/it/clones.rs)",
        fixtures: &[],
        files: clones_files,
        setup: clones_setup,
        expect: clones_expect,
    },
    Scenario {
        name: "Coolify's resources by their labels, and a clone of one",
        fixtures: &[],
        files: coolify_files,
        setup: coolify_setup,
        expect: coolify_expect,
    },
    Scenario {
        name: "every network property of a destination (tests/it/destinations.rs)",
        fixtures: &[],
        files: network_files,
        setup: |_| {},
        expect: network_expect,
    },
    Scenario {
        name: "the v1 compat config (every table and key), its ssh server aside",
        fixtures: &["compat/v1/berth.toml", "compat/v1/stacks/monitoring.yaml"],
        files: compat_files,
        setup: compat_setup,
        expect: compat_expect,
    },
    Scenario {
        name: "Coolify's compose templates (services and networks, on the test image)",
        fixtures: &[
            "compose/opnform.yaml",
            "compose/soju.yaml",
            "compose/chibisafe.yaml",
        ],
        files: templates_files,
        setup: templates_setup,
        expect: templates_expect,
    },
];

/// Fixtures that are no live state to import, and why.
const NOT_LIVE: &[(&str, &str)] = &[
    (
        "compose/langfuse.yaml",
        "merges a list into a mapping, which YAML forbids: compose refuses it (it tests berth's compose errors)",
    ),
    (
        "compose/gramps-web.yaml",
        "merges a list into a mapping, which YAML forbids: compose refuses it (it tests berth's compose errors)",
    ),
    ("compose/README.md", "not a stack"),
    (
        "golden/",
        "the golden plan's configs and views: its live state is hand-built data (tests/it/golden.rs) on servers that do not exist",
    ),
];

#[test]
fn every_fixture_is_a_case() {
    let root = fixtures_dir();
    let mut unlisted = Vec::new();
    for file in files_under(&root) {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let covered = SCENARIOS.iter().any(|s| s.fixtures.contains(&rel.as_str()))
            || NOT_LIVE.iter().any(|(f, _)| rel.starts_with(f));
        if !covered {
            unlisted.push(rel);
        }
    }
    assert!(
        unlisted.is_empty(),
        "fixtures no round-trip case covers (add a row to SCENARIOS, or to NOT_LIVE with the reason): {unlisted:?}"
    );
}

#[test]
fn import_round_trips_every_scenario() {
    ensure_image();
    let a = Engine::start("10.201.0.0/16");
    let b = Engine::start("10.202.0.0/16");
    let mut failures = Vec::new();
    for s in SCENARIOS {
        if let Err(why) = round_trip(s, &a, &b) {
            failures.push(format!("=== {} ===\n{why}", s.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} round trips failed:\n{}",
        failures.len(),
        SCENARIOS.len(),
        failures.join("\n\n")
    );
}

/// Two engines imported as one config (`import --server '*'`): a network
/// alike on both is one destination over `"*"`, networks from one subnet
/// pool one destination with the pool, the proxy on both one table; the import plans no change on either, and applied to two fresh
/// engines where only the containers exist, rebuilds them to the same TOML.
#[test]
fn a_fleet_import_round_trips_in_the_grouped_form() {
    ensure_image();
    let a = Engine::start("10.203.0.0/16");
    let b = Engine::start("10.204.0.0/16");
    let setup = |e: &Engine| e.run("proxy", &[]);
    let config = |a: &Engine, b: &Engine| {
        format!(
            "[settings]\nowner = \"rt-fleet\"\n\n[[server]]\nname = \"a\"\naddress = \"{}\"\ntags = [\"web\"]\n\n[[server]]\nname = \"b\"\naddress = \"{}\"\ntags = [\"web\"]\n",
            a.address(),
            b.address()
        )
    };
    setup(&a);
    setup(&b);
    let original = Project::new();
    original.write(
        "berth.toml",
        &(config(&a, &b)
            + "\n[[destination]]\nname = \"front\"\nservers = \"*\"\nnetwork = \"front\"\nsubnet = \"10.210.0.0/24\"\n\n[[destination]]\nname = \"apps\"\nservers = [\"tag:web\"]\nnetwork = \"apps\"\nsubnet_pool = \"10.211.0.0/16\"\nsubnet_prefix = 24\n\n[[application]]\nname = \"proxy\"\ndestinations = \"*\"\n"),
    );
    run_ok(&original, &["apply", "--yes"]).unwrap();
    let first = run_ok(&original, &["import", "--server", "*"])
        .unwrap()
        .stdout;
    let t: toml::Table = toml::from_str(&first).unwrap();
    let front = table(&t, "destination", "front").unwrap_or_else(|| panic!("{first}"));
    assert_eq!(front.get("servers"), Some(&s("*")), "{first}");
    assert_eq!(tables(&t, "application").len(), 1, "{first}");
    assert_eq!(tables(&t, "destination").len(), 2, "{first}");
    let apps = table(&t, "destination", "apps").unwrap_or_else(|| panic!("{first}"));
    assert_eq!(
        apps.get("subnet_pool"),
        Some(&s("10.211.0.0/16")),
        "{first}"
    );

    let imported = Project::new();
    imported.write("berth.toml", &first);
    let run = imported.berth(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "the import plans something\n{run}\n{first}");

    // Fresh engines with the containers only: the import rebuilds them.
    let (c, d) = (
        Engine::start("10.205.0.0/16"),
        Engine::start("10.206.0.0/16"),
    );
    setup(&c);
    setup(&d);
    let swap = |text: &str, from: (&Engine, &Engine), to: (&Engine, &Engine)| {
        text.replace(&from.0.address(), &to.0.address())
            .replace(&from.1.address(), &to.1.address())
    };
    let rebuilt = Project::new();
    rebuilt.write("berth.toml", &swap(&first, (&a, &b), (&c, &d)));
    run_ok(&rebuilt, &["apply", "--yes"]).unwrap();
    let second = run_ok(&rebuilt, &["import", "--server", "tag:web"])
        .unwrap()
        .stdout;
    assert_eq!(
        swap(&second, (&c, &d), (&a, &b)),
        first,
        "{}",
        diff(&first, &second)
    );
}

/// One case, start to end; the first thing that differs, with the runs.
fn round_trip(s: &Scenario, a: &Engine, b: &Engine) -> Result<(), String> {
    a.wipe();
    b.wipe();
    // The first engine: the hand-made part, then the case's config applied.
    (s.setup)(a);
    let original = Project::new();
    for (path, text) in (s.files)() {
        original.write(&path, &text.replace(ADDRESS, &a.address()));
    }
    run_ok(&original, &["apply", "--yes"])?;
    let first = import(a)?;

    // The import against the same engine: nothing to do.
    let imported = Project::new();
    imported.write("berth.toml", &first);
    let run = imported.berth(&["plan", "--detailed-exitcode", "--format", "json"]);
    let plan: Value = serde_json::from_str(&run.stdout).map_err(|e| format!("{e}\n{run}"))?;
    let empty = |key: &str| plan[key].as_array().is_none_or(Vec::is_empty);
    if run.code != 0 || !empty("changes") || !empty("missing") || !empty("errors") {
        return Err(format!(
            "the imported config plans something\n{run}\n--- imported ---\n{first}"
        ));
    }
    let table: toml::Table = toml::from_str(&first).map_err(|e| format!("{e}\n{first}"))?;
    let missing = (s.expect)(&table);
    if !missing.is_empty() {
        return Err(format!(
            "the import lost: {}\n--- imported ---\n{first}",
            missing.join("; ")
        ));
    }

    // The second engine: the hand-made part only, then the import applied.
    (s.setup)(b);
    let rebuilt = Project::new();
    rebuilt.write("berth.toml", &first.replace(&a.address(), &b.address()));
    run_ok(&rebuilt, &["apply", "--yes"])?;
    let second = import(b)?.replace(&b.address(), &a.address());
    if second != first {
        return Err(format!(
            "the import of the rebuilt engine differs\n{}",
            diff(&first, &second)
        ));
    }
    Ok(())
}

/// `berth import --address <engine> --server engine` in a directory
/// without config.
fn import(engine: &Engine) -> Result<String, String> {
    let empty = Project::new();
    let run = empty.berth(&["import", "--address", &engine.address(), "--server", SERVER]);
    if run.code != 0 {
        return Err(format!("import failed\n{run}"));
    }
    Ok(run.stdout)
}

fn run_ok(p: &Project, args: &[&str]) -> Result<Run, String> {
    let run = p.berth(args);
    if run.code != 0 {
        return Err(format!("{run}"));
    }
    Ok(run)
}

/// The lines of `a` and `b` that differ, marked `-` and `+`.
fn diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = Vec::new();
    for i in 0..la.len().max(lb.len()) {
        match (la.get(i), lb.get(i)) {
            (Some(x), Some(y)) if x == y => out.push(format!("  {x}")),
            (x, y) => {
                out.extend(x.map(|x| format!("- {x}")));
                out.extend(y.map(|y| format!("+ {y}")));
            }
        }
    }
    out.join("\n")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(rel))
        .unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// A private engine
// ---------------------------------------------------------------------------

struct Engine {
    daemon: SecondDaemon,
}

impl Engine {
    /// A private engine that takes the subnets it picks itself from `pool`.
    /// The two engines' pools are apart: an import writes the subnets the
    /// first one picked, and on the second they must not be one that its
    /// compose projects were given meanwhile (Docker hands pools out in
    /// turn, not lowest first, so the two engines' choices drift apart).
    fn start(pool: &str) -> Engine {
        let daemon = SecondDaemon::start_with(Options {
            args: vec![
                "--default-address-pool".into(),
                format!("base={pool},size=24"),
            ],
            ..Options::default()
        });
        daemon.load_image(TEST_IMAGE);
        Engine { daemon }
    }

    fn address(&self) -> String {
        self.daemon.address()
    }

    fn docker(&self, args: &[&str]) -> String {
        self.daemon.docker_ok(args)
    }

    /// `docker run -d` of `sleep 3600` on the test image, `extra` before it.
    fn run(&self, name: &str, extra: &[&str]) {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend(extra);
        args.extend([TEST_IMAGE, "sleep", "3600"]);
        self.docker(&args);
    }

    /// `compose -p PROJECT up -d` of `yaml` against this engine.
    fn compose_up(&self, project: &str, yaml: &str) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, yaml).expect("write compose file");
        let cmd = compose_command();
        let out = Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(["-p", project, "-f"])
            .arg(&file)
            .args(["up", "-d"])
            .env("DOCKER_HOST", self.address())
            .stdin(Stdio::null())
            .output()
            .expect("run compose");
        assert!(
            out.status.success(),
            "compose up of {project} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Removes every container, user network and volume.
    fn wipe(&self) {
        let ids = self.docker(&["ps", "-aq"]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            self.docker(&args);
        }
        self.docker(&["network", "prune", "-f"]);
        // Engine 20.10 under load can keep a removed container's endpoint,
        // and prune then leaves its network ("has active endpoints"): force
        // such endpoints off, then remove what is left.
        let left = self.docker(&["network", "ls", "-q", "--filter", "type=custom"]);
        for net in left.split_whitespace() {
            let endpoints = self.docker(&[
                "network",
                "inspect",
                "-f",
                "{{range $id, $e := .Containers}}{{$e.Name}} {{end}}",
                net,
            ]);
            for endpoint in endpoints.split_whitespace() {
                self.docker(&["network", "disconnect", "-f", net, endpoint]);
            }
            self.docker(&["network", "rm", net]);
        }
        self.docker(&["volume", "prune", "-f"]);
    }
}

// ---------------------------------------------------------------------------
// Reading the import
// ---------------------------------------------------------------------------

fn tables<'a>(config: &'a toml::Table, kind: &str) -> Vec<&'a toml::Table> {
    config
        .get(kind)
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_table).collect())
        .unwrap_or_default()
}

/// The `[[kind]]` table called `name`.
fn table<'a>(config: &'a toml::Table, kind: &str, name: &str) -> Option<&'a toml::Table> {
    tables(config, kind)
        .into_iter()
        .find(|t| t.get("name").and_then(toml::Value::as_str) == Some(name))
}

/// A message unless the `[[kind]]` called `name` has `key = value`.
fn has(config: &toml::Table, kind: &str, name: &str, key: &str, value: toml::Value) -> Vec<String> {
    match table(config, kind, name) {
        None => vec![format!("no [[{kind}]] {name}")],
        Some(t) if t.get(key) != Some(&value) => vec![format!(
            "[[{kind}]] {name}: {key} is {:?}, not {value}",
            t.get(key)
        )],
        Some(_) => Vec::new(),
    }
}

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.to_string())
}

fn list(items: &[&str]) -> toml::Value {
    toml::Value::Array(items.iter().map(|i| s(i)).collect())
}

fn yes() -> toml::Value {
    toml::Value::Boolean(true)
}

fn header() -> String {
    format!(
        "[settings]\nowner = \"rt\"\n\n[[server]]\nname = \"{SERVER}\"\naddress = \"{ADDRESS}\"\n"
    )
}

fn berth_toml(body: &str) -> Vec<(String, String)> {
    vec![("berth.toml".to_string(), header() + body)]
}

// ---------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------

const ONE_SERVICE: &str =
    "services:\n  web:\n    image: berth-test/busybox:1\n    command: sleep 3600\n";
const TWO_SERVICES: &str = "services:\n  web:\n    image: berth-test/busybox:1\n    command: sleep 3600\n  db:\n    image: berth-test/busybox:1\n    command: sleep 3600\n";

fn hand_made_files() -> Vec<(String, String)> {
    berth_toml(
        r#"
[[destination]]
name = "backend"
server = "engine"
network = "rt-berth"

[[database]]
name = "orders"
destination = "backend"
container = "rt-db"
aliases = ["postgres"]

[[application]]
name = "worker"
destination = "backend"
container = "rt-worker"
aliases = ["jobs"]
"#,
    )
}

fn hand_made_setup(e: &Engine) {
    e.docker(&["network", "create", "--subnet", "10.213.91.0/24", "rt-hand"]);
    e.run(
        "rt-app",
        &[
            "--network",
            "rt-hand",
            "--network-alias",
            "web",
            "--network-alias",
            "www",
        ],
    );
    e.run(
        "rt-db",
        &[
            "--label",
            "coolify.type=database",
            "--label",
            "coolify.resourceName=orders",
        ],
    );
    e.docker(&["create", "--name", "rt-worker", TEST_IMAGE, "sleep", "3600"]);
    e.compose_up("rtimp", ONE_SERVICE);
    e.docker(&[
        "network",
        "connect",
        "--alias",
        "web-rtimp",
        "rt-hand",
        "rtimp_web_1",
    ]);
}

fn hand_made_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "destination", "rt-hand", "subnet", s("10.213.91.0/24"));
    out.extend(has(t, "destination", "backend", "network", s("rt-berth")));
    out.extend(has(
        t,
        "application",
        "rt-app",
        "aliases",
        list(&["web", "www"]),
    ));
    out.extend(has(t, "database", "rt-db", "aliases", list(&["postgres"])));
    out.extend(has(t, "database", "rt-db", "destination", s("backend")));
    out.extend(has(
        t,
        "application",
        "rt-worker",
        "aliases",
        list(&["jobs"]),
    ));
    out.extend(has(
        t,
        "service",
        "rtimp",
        "connect_to_predefined_networks",
        yes(),
    ));
    out.extend(has(t, "service", "rtimp", "destination", s("rt-hand")));
    out
}

fn assignments_files() -> Vec<(String, String)> {
    berth_toml(
        r#"
[[destination]]
name = "production"
server = "engine"
network = "rt-prod-net"
subnet = "10.214.1.0/24"

[[destination]]
name = "staging"
server = "engine"
network = "rt-stg-net"

[[application]]
name = "api"
destination = "production"
container = "api-1"
aliases = ["api", "api-v2"]

[[application]]
name = "proxy"
destinations = "*"
container = "rt-proxy"

[[database]]
name = "cache"
destinations = ["production", "staging"]
container = "rt-cache"
"#,
    )
}

fn assignments_setup(e: &Engine) {
    for c in ["api-1", "rt-proxy", "rt-cache"] {
        e.run(c, &[]);
    }
}

fn assignments_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "destination", "production", "network", s("rt-prod-net"));
    out.extend(has(t, "destination", "staging", "network", s("rt-stg-net")));
    out.extend(has(
        t,
        "application",
        "api-1",
        "aliases",
        list(&["api", "api-v2"]),
    ));
    out.extend(has(
        t,
        "application",
        "api-1",
        "destination",
        s("production"),
    ));
    let both = list(&["production", "staging"]);
    out.extend(has(
        t,
        "application",
        "rt-proxy",
        "destinations",
        both.clone(),
    ));
    // Nothing on a plain container says it is a database.
    out.extend(has(t, "application", "rt-cache", "destinations", both));
    out
}

fn short_aliases_files() -> Vec<(String, String)> {
    berth_toml(
        r#"
[[destination]]
name = "front"
server = "engine"
network = "rt-front"

[[service]]
name = "monitoring"
destination = "front"
project = "rtmon"
connect_to_predefined_networks = true
short_aliases = true
"#,
    )
}

fn short_aliases_setup(e: &Engine) {
    e.compose_up("rtmon", TWO_SERVICES);
}

fn short_aliases_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "service", "rtmon", "short_aliases", yes());
    out.extend(has(
        t,
        "service",
        "rtmon",
        "connect_to_predefined_networks",
        yes(),
    ));
    out.extend(has(t, "service", "rtmon", "destination", s("front")));
    out
}

fn clones_files() -> Vec<(String, String)> {
    berth_toml(
        r#"
[[destination]]
name = "prod"
server = "engine"
network = "rt-prod"

[[destination]]
name = "stg"
server = "engine"
network = "rt-stg"

[[application]]
name = "api"
destination = "prod"

[[application]]
name = "api-staging"
destination = "stg"
container = "api-stg"
clone_of = "api"

[[database]]
name = "pg"
destination = "prod"
container = "pg-main"
aliases = ["db"]

[[database]]
name = "pg-staging"
destination = "stg"
clone_of = "pg"

[[service]]
name = "mon"
destination = "prod"
project = "rtclmon"
connect_to_predefined_networks = true

[[service]]
name = "mon-staging"
destination = "stg"
project = "rtclmonstg"
connect_to_predefined_networks = true
clone_of = "mon"
"#,
    )
}

fn clones_setup(e: &Engine) {
    e.run("api", &["-e", "APP=api"]);
    // Named apart from its resource: the import tells it by what its copy
    // shares with it.
    e.run("pg-main", &["-e", "APP=pg"]);
    e.compose_up("rtclmon", TWO_SERVICES);
}

fn clones_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "application", "api-staging", "clone_of", s("api"));
    out.extend(has(
        t,
        "application",
        "api-staging",
        "container",
        s("api-stg"),
    ));
    out.extend(has(t, "database", "pg-staging", "clone_of", s("pg")));
    out.extend(has(t, "database", "pg", "container", s("pg-main")));
    out.extend(has(t, "service", "mon-staging", "clone_of", s("mon")));
    out.extend(has(t, "service", "mon-staging", "project", s("rtclmonstg")));
    out
}

fn coolify_files() -> Vec<(String, String)> {
    berth_toml(
        r#"
[[destination]]
name = "prod"
server = "engine"
network = "rt-cool-prod"

[[destination]]
name = "stg"
server = "engine"
network = "rt-cool-stg"

[[application]]
name = "shop"
destination = "prod"
match_labels = { "coolify.applicationId" = "12", "coolify.pullRequestId" = "0" }

[[application]]
name = "shop-staging"
destination = "stg"
container = "shop-stg"
clone_of = "shop"

[[database]]
name = "orders"
destination = "prod"
match_labels = { "coolify.databaseId" = "3" }
aliases = ["orders", "postgres"]
"#,
    )
}

fn coolify_setup(e: &Engine) {
    let app = [
        "--label",
        "coolify.managed=true",
        "--label",
        "coolify.type=application",
        "--label",
        "coolify.applicationId=12",
        "--label",
        "coolify.pullRequestId=0",
        "--label",
        "coolify.resourceName=shop",
    ];
    e.run("x8k2-1712", &app);
    e.run(
        "pg-x9",
        &[
            "--label",
            "coolify.managed=true",
            "--label",
            "coolify.type=database",
            "--label",
            "coolify.databaseId=3",
            "--label",
            "coolify.resourceName=orders",
        ],
    );
}

fn coolify_expect(t: &toml::Table) -> Vec<String> {
    let mut labels = toml::Table::new();
    labels.insert("coolify.applicationId".into(), s("12"));
    labels.insert("coolify.pullRequestId".into(), s("0"));
    let mut out = has(t, "application", "shop", "match_labels", labels.into());
    out.extend(has(t, "application", "shop-staging", "clone_of", s("shop")));
    out.extend(has(
        t,
        "database",
        "orders",
        "aliases",
        list(&["orders", "postgres"]),
    ));
    out
}

fn network_files() -> Vec<(String, String)> {
    berth_toml(
        r#"
[[destination]]
name = "fenced"
server = "engine"
network = "rt-fenced"
internal = true
attachable = true
subnet = "10.215.0.0/24"
gateway = "10.215.0.254"
ip_range = "10.215.0.128/25"
options = { "com.docker.network.driver.mtu" = "1400" }
labels = { team = "core" }

[[destination]]
name = "dual"
server = "engine"
network = "rt-dual"
subnet = "10.216.0.0/24"
enable_ipv6 = true
subnet_v6 = "fd00:216::/64"
gateway_v6 = "fd00:216::1"
"#,
    )
}

fn network_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "destination", "fenced", "internal", yes());
    out.extend(has(t, "destination", "fenced", "attachable", yes()));
    out.extend(has(
        t,
        "destination",
        "fenced",
        "gateway",
        s("10.215.0.254"),
    ));
    out.extend(has(
        t,
        "destination",
        "fenced",
        "ip_range",
        s("10.215.0.128/25"),
    ));
    let mut options = toml::Table::new();
    options.insert("com.docker.network.driver.mtu".into(), s("1400"));
    out.extend(has(t, "destination", "fenced", "options", options.into()));
    let mut labels = toml::Table::new();
    labels.insert("team".into(), s("core"));
    out.extend(has(t, "destination", "fenced", "labels", labels.into()));
    out.extend(has(t, "destination", "dual", "enable_ipv6", yes()));
    out.extend(has(
        t,
        "destination",
        "dual",
        "subnet_v6",
        s("fd00:216::/64"),
    ));
    out.extend(has(
        t,
        "destination",
        "dual",
        "gateway_v6",
        s("fd00:216::1"),
    ));
    out
}

/// The compat config on one server: its `local` server is the engine, its
/// ssh server (and what is on it) left out.
fn compat_files() -> Vec<(String, String)> {
    let mut config: toml::Table = toml::from_str(&fixture("compat/v1/berth.toml")).expect("compat");
    let keep = |kind: &str, config: &mut toml::Table, keep: &dyn Fn(&toml::Table) -> bool| {
        if let Some(toml::Value::Array(items)) = config.get_mut(kind) {
            items.retain(|v| v.as_table().is_some_and(keep));
        }
    };
    keep("server", &mut config, &|t| {
        t["name"].as_str() == Some("local")
    });
    keep("destination", &mut config, &|t| {
        t["server"].as_str() == Some("local")
    });
    if let Some(toml::Value::Array(servers)) = config.get_mut("server") {
        for s in servers.iter_mut().filter_map(toml::Value::as_table_mut) {
            s.insert("name".into(), toml::Value::String(SERVER.into()));
            s.insert("address".into(), toml::Value::String(ADDRESS.into()));
        }
    }
    if let Some(toml::Value::Array(dests)) = config.get_mut("destination") {
        for d in dests.iter_mut().filter_map(toml::Value::as_table_mut) {
            d.insert("server".into(), toml::Value::String(SERVER.into()));
        }
    }
    vec![
        ("berth.toml".into(), toml::to_string(&config).expect("toml")),
        (
            "stacks/monitoring.yaml".into(),
            on_test_image(&fixture("compat/v1/stacks/monitoring.yaml")),
        ),
    ]
}

fn compat_setup(e: &Engine) {
    e.run("api-1", &["-e", "APP=api"]);
    e.run(
        "web-a1b2",
        &[
            "--label",
            "coolify.managed=true",
            "--label",
            "coolify.type=application",
            "--label",
            "coolify.applicationId=12",
            "--label",
            "coolify.pullRequestId=0",
            "--label",
            "coolify.resourceName=web",
        ],
    );
    e.run("coolify-proxy", &["-e", "APP=proxy"]);
    e.run(
        "pg-c3",
        &[
            "--label",
            "coolify.managed=true",
            "--label",
            "coolify.type=database",
            "--label",
            "coolify.databaseId=3",
            "--label",
            "coolify.resourceName=pg",
        ],
    );
    e.run("cache", &["-e", "APP=cache"]);
    e.compose_up(
        "monitoring",
        &on_test_image(&fixture("compat/v1/stacks/monitoring.yaml")),
    );
}

fn compat_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "destination", "production", "gateway", s("10.233.10.1"));
    out.extend(has(t, "destination", "production", "attachable", yes()));
    out.extend(has(t, "application", "api", "container", s("api-1")));
    out.extend(has(t, "application", "api-staging", "clone_of", s("api")));
    out.extend(has(t, "application", "web", "destination", s("production")));
    out.extend(has(
        t,
        "database",
        "pg",
        "aliases",
        list(&["pg", "postgres"]),
    ));
    out.extend(has(t, "service", "monitoring", "short_aliases", yes()));
    out.extend(has(
        t,
        "service",
        "monitoring-staging",
        "clone_of",
        s("monitoring"),
    ));
    out
}

/// A compose file's services on the test image (`sleep`), keeping their
/// names and networks (with aliases), and its networks; the rest (ports,
/// volumes, environment, health checks) needs the real images.
fn on_test_image(yaml: &str) -> String {
    use serde_yaml::{Mapping, Value as Y};
    let mut doc: Y = serde_yaml::from_str(yaml).expect("compose YAML");
    doc.apply_merge().expect("merge keys");
    let mut services = Mapping::new();
    for (name, service) in doc["services"].as_mapping().cloned().unwrap_or_default() {
        let mut out = Mapping::new();
        out.insert("image".into(), TEST_IMAGE.into());
        out.insert("command".into(), "sleep 3600".into());
        if let Some(networks) = service.get("networks") {
            out.insert("networks".into(), networks.clone());
        }
        services.insert(name, Y::Mapping(out));
    }
    let mut top = Mapping::new();
    top.insert("services".into(), Y::Mapping(services));
    if let Some(networks) = doc.get("networks") {
        top.insert("networks".into(), networks.clone());
    }
    serde_yaml::to_string(&Y::Mapping(top)).expect("YAML")
}

const TEMPLATES: &[(&str, &str)] = &[
    ("rtopnform", "compose/opnform.yaml"),
    ("rtsoju", "compose/soju.yaml"),
    ("rtchibisafe", "compose/chibisafe.yaml"),
];

fn templates_files() -> Vec<(String, String)> {
    let mut body = String::from(
        "\n[[destination]]\nname = \"coolify\"\nserver = \"engine\"\nnetwork = \"rt-coolify\"\n",
    );
    for (i, (project, _)) in TEMPLATES.iter().enumerate() {
        // One stack connected with short aliases, one connected, one not.
        body += &format!(
            "\n[[service]]\nname = \"{project}\"\ndestination = \"coolify\"\nconnect_to_predefined_networks = {}\nshort_aliases = {}\n",
            i < 2,
            i == 0
        );
    }
    berth_toml(&body)
}

fn templates_setup(e: &Engine) {
    for (project, file) in TEMPLATES {
        e.compose_up(project, &on_test_image(&fixture(file)));
    }
}

fn templates_expect(t: &toml::Table) -> Vec<String> {
    let mut out = has(t, "service", "rtopnform", "short_aliases", yes());
    out.extend(has(
        t,
        "service",
        "rtsoju",
        "connect_to_predefined_networks",
        yes(),
    ));
    out.extend(has(
        t,
        "service",
        "rtchibisafe",
        "connect_to_predefined_networks",
        toml::Value::Boolean(false),
    ));
    out
}

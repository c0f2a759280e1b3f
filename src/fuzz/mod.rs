//! Fuzz targets: untrusted bytes through berth's real parsers and what runs on their output; each target takes any bytes and must give a value or a located error, never panic (tests and the `fuzzing` feature only).
//!
//! One file a target: [`config()`] (config files → validated config →
//! compose check → plan), [`compose()`] (compose parsing),
//! [`saved_plan()`] (`apply PLANFILE`'s reading and checks) and
//! [`journal()`] (a journal record read from a server's container labels →
//! plan). `tests/it/fuzz.rs` runs them for a bounded time with proptest;
//! the afl.rs harness in `fuzz/` runs them for hours. The seeds the planner
//! makes (a saved plan, journals) come from [`saved_plan_seeds`] and
//! [`journal_seeds`].

mod compose;
mod config;
mod journal;
mod saved_plan;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use compose::compose;
pub use config::config;
pub use journal::{journal, journal_seeds};
pub use saved_plan::{saved_plan, saved_plan_seeds};

use crate::config::{Config, SourceFile};
use crate::diag::Diagnostics;
use crate::live::{Container, Endpoint, IpamPool, LiveState, Network, Snapshot, labels};
use crate::plan::Plan;

/// A fuzz target: any bytes, no panic.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: [(&str, Target); 4] = [
    ("config", config),
    ("compose", compose),
    ("saved_plan", saved_plan),
    ("journal", journal),
];

/// The config the saved-plan and journal targets plan with: two servers,
/// a destination on each, an application, a clone of it on the other
/// server, and a stack with a compose file.
pub const SCENARIO: &str = r#"[settings]
owner = "fuzz"

[[server]]
name = "s1"
address = "local"

[[server]]
name = "s2"
address = "ssh://deploy@203.0.113.10:22"

[[destination]]
name = "prod"
server = "s1"
network = "prod-net"
subnet = "10.40.0.0/24"
labels = { team = "core" }

[[destination]]
name = "edge"
server = "s2"
network = "edge-net"

[[application]]
name = "api"
destination = "prod"
aliases = ["api", "api-v2"]

[[application]]
name = "api-edge"
destination = "edge"
clone_of = "api"

[[service]]
name = "mon"
destination = "prod"
compose_file = "stacks/mon.yaml"
"#;

/// The compose file the scenario's stack (and any fuzzed config's) names.
pub const COMPOSE: &str = "services:\n  prometheus:\n    image: prom/prometheus\n  grafana:\n    image: grafana/grafana\n";

/// The scenario's config files.
pub fn scenario_files() -> Vec<SourceFile> {
    vec![SourceFile {
        path: "berth.toml".into(),
        text: SCENARIO.into(),
    }]
}

/// The scenario, loaded (once).
pub fn scenario() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        crate::config::load(&scenario_files()).expect("the fuzz scenario is a valid config")
    })
}

/// Live states of the scenario that make the planner write every change
/// berth journals: on `s1`, `prod-net` is berth's with another subnet (a
/// replace) and `api` is attached with other aliases (an alias fix); `s2`
/// is empty (a clone). With `subnet_matches`, no replace.
pub fn live(subnet_matches: bool) -> LiveState {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let subnet = if subnet_matches {
        "10.40.0.0/24"
    } else {
        "10.41.0.0/24"
    };
    let network = Network {
        id: "n1".into(),
        name: "prod-net".into(),
        driver: "bridge".into(),
        internal: false,
        attachable: false,
        ipam: vec![IpamPool {
            subnet: subnet.parse().ok(),
            ..Default::default()
        }],
        labels: map(&[
            (labels::MANAGED, "true"),
            (labels::OWNER, "fuzz"),
            (labels::DESTINATION, "prod"),
            ("team", "core"),
        ]),
        ..Default::default()
    };
    let attached = |id: &str, name: &str, aliases: &[&str]| Container {
        id: id.into(),
        name: name.into(),
        image: "busybox".into(),
        image_id: format!("sha256:{id}"),
        running: true,
        state: "running".into(),
        status: "Up 3 hours".into(),
        labels: BTreeMap::new(),
        networks: BTreeMap::from([(
            "prod-net".to_string(),
            Endpoint {
                aliases: Some(aliases.iter().map(|a| a.to_string()).collect()),
                requested: None,
            },
        )]),
        env: Some(vec![("A".into(), "1".into())]),
        mounts: Some(Vec::new()),
        ports: Some(Vec::new()),
    };
    let s1 = Snapshot {
        networks: vec![network],
        containers: vec![
            attached("c1", "api", &["api"]),
            attached("c2", "worker", &["worker"]),
        ],
        images: Some(Vec::new()),
        journals: Vec::new(),
        swarm: None,
    };
    let s2 = Snapshot {
        images: Some(Vec::new()),
        ..Snapshot::default()
    };
    LiveState {
        servers: BTreeMap::from([("s1".to_string(), Ok(s1)), ("s2".to_string(), Ok(s2))]),
        skipped: BTreeMap::new(),
    }
}

/// Every view of a plan, as `plan` and `apply` print them.
fn render(plan: &Plan) {
    let _ = crate::render::human(plan, crate::render::View::Grouped);
    let _ = crate::render::human(plan, crate::render::View::PerServer);
    let _ = crate::render::json(plan);
    let _ = crate::render::markdown(plan, crate::render::View::Grouped);
    let _ = crate::render::markdown(plan, crate::render::View::PerServer);
}

/// Renders every diagnostic, which must name its file with a line and a
/// column inside it.
fn check_diagnostics(d: &Diagnostics) {
    assert!(!d.errors.is_empty(), "an error with no diagnostic");
    for e in &d.errors {
        let position = e.position(&d.sources);
        let text = d.sources.get(&e.at.file).unwrap_or("");
        let (line, _) = crate::diag::line_col(text, e.at.span.start);
        assert!(
            position.starts_with(&format!("{}:{line}:", e.at.file)),
            "{position} for {e}"
        );
        let rendered = e.render(&d.sources, false);
        assert!(rendered.contains(&position), "{rendered}");
        let _ = e.render(&d.sources, true);
    }
    let _ = d.render(false);
}

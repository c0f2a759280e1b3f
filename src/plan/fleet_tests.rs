//! Destinations over sets of servers and subnet pools, planned on
//! hand-built live states of many servers: no Docker involved.

use std::collections::BTreeSet;

use super::*;
use crate::config::{Config, SourceFile, check};
use crate::live::{Container, Endpoint, IpamPool, LiveState, Network, Snapshot};

/// The 500-server fleet of issue 18: three destinations on every server
/// and the proxy on all of them. The server list aside, under 40 lines.
const FLEET: &str = r#"[settings]
owner = "acme"

[[destination]]
name = "coolify"
servers = "*"
network = "coolify"

[[destination]]
name = "internal"
servers = "*"
network = "internal"
internal = true

[[destination]]
name = "apps"
servers = "*"
network = "apps"
subnet_pool = "10.64.0.0/14"
subnet_prefix = 24

[[application]]
name = "proxy"
container = "coolify-proxy"
destinations = "*"
aliases = ["proxy"]
"#;

fn load(text: &str) -> Config {
    let checked = check(&[SourceFile {
        path: "berth.toml".into(),
        text: text.to_string(),
    }]);
    assert!(
        checked.diagnostics.errors.is_empty(),
        "{}",
        checked.diagnostics.render(false)
    );
    checked.config
}

fn servers(names: &[String], tags: &str) -> String {
    names
        .iter()
        .map(|n| format!("[[server]]\nname = \"{n}\"\naddress = \"local\"\ntags = [{tags}]\n"))
        .collect()
}

fn proxy() -> Container {
    Container {
        id: "proxy0123456789abcdef".into(),
        name: "coolify-proxy".into(),
        image: "traefik".into(),
        running: true,
        networks: [("bridge".to_string(), Endpoint::default())]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

fn snapshot(networks: Vec<Network>, containers: Vec<Container>) -> Snapshot {
    Snapshot {
        networks,
        containers,
        images: None,
        journals: Vec::new(),
        swarm: None,
    }
}

fn net(name: &str, subnet: &str, owner: Option<&str>) -> Network {
    let subnet: ipnet::IpNet = subnet.parse().unwrap();
    let labels = match owner {
        Some(o) => [
            ("berth.managed", "true"),
            ("berth.owner", o),
            ("berth.destination", name),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        None => Default::default(),
    };
    Network {
        id: format!("id-{name}"),
        name: name.into(),
        driver: "bridge".into(),
        ipam: vec![IpamPool {
            subnet: Some(subnet),
            gateway: subnet.hosts().next(),
            ip_range: None,
            ..Default::default()
        }],
        labels,
        ..Default::default()
    }
}

fn run(config: &Config, live: &LiveState) -> Plan {
    plan(config, live, Options::default())
}

/// The subnet each `CreateNetwork` of `network` gets, by server.
fn created(p: &Plan, network: &str) -> Vec<(String, String)> {
    p.changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateNetwork(c) if c.network == network => Some((
                c.server.clone(),
                c.spec.subnet.map(|s| s.to_string()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn five_hundred_servers_from_one_page() {
    assert!(
        FLEET.lines().count() < 40,
        "{} lines",
        FLEET.lines().count()
    );
    let names: Vec<String> = (1..=500).map(|i| format!("node-{i:03}")).collect();
    let config = load(&format!("{}{FLEET}", servers(&names, "")));
    assert_eq!(config.servers.len(), 500);
    assert_eq!(config.destinations.len(), 1500);
    let mut live = LiveState::default();
    for n in &names {
        live.servers
            .insert(n.clone(), Ok(snapshot(Vec::new(), vec![proxy()])));
    }
    let p = run(&config, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors.first());
    assert_eq!(
        p.summary.get("create_network"),
        Some(&1500),
        "{:?}",
        p.summary
    );
    // The proxy joins the three networks on every server.
    assert_eq!(p.summary.get("connect"), Some(&1500), "{:?}", p.summary);
    let apps = created(&p, "apps");
    assert_eq!(apps.len(), 500);
    let subnets: BTreeSet<&str> = apps.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(subnets.len(), 500, "each server its own subnet");
    assert_eq!(apps[0], ("node-001".into(), "10.64.0.0/24".into()));
    assert_eq!(apps[499], ("node-500".into(), "10.65.243.0/24".into()));
    let spec = p
        .changes
        .iter()
        .find_map(|c| match c {
            Change::CreateNetwork(c) if c.network == "apps" => Some(&c.spec),
            _ => None,
        })
        .unwrap();
    assert_eq!(spec.subnet_pool, Some("10.64.0.0/14".parse().unwrap()));
}

const POOLED: &str = r#"
[[destination]]
name = "apps"
servers = ["tag:web"]
network = "apps"
subnet_pool = "10.40.0.0/22"
subnet_prefix = 24
"#;

fn pooled(names: &[&str]) -> Config {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    load(&format!("{}{POOLED}", servers(&names, "\"web\"")))
}

#[test]
fn a_pool_keeps_live_subnets_and_fills_the_gaps() {
    let config = pooled(&["a", "b", "c"]);
    let mut live = LiveState::default();
    // a holds the second block; c's network is outside the pool: both kept.
    live.servers.insert(
        "a".into(),
        Ok(snapshot(
            vec![net("apps", "10.40.1.0/24", Some("berth"))],
            vec![],
        )),
    );
    live.servers
        .insert("b".into(), Ok(snapshot(vec![], vec![])));
    live.servers.insert(
        "c".into(),
        Ok(snapshot(
            vec![net("apps", "192.168.7.0/24", Some("berth"))],
            vec![],
        )),
    );
    let p = run(&config, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(
        created(&p, "apps"),
        vec![("b".into(), "10.40.0.0/24".into())]
    );

    // b got its network; a server joins: a, b and c keep theirs.
    live.servers.insert(
        "b".into(),
        Ok(snapshot(
            vec![net("apps", "10.40.0.0/24", Some("berth"))],
            vec![],
        )),
    );
    let config = pooled(&["d", "a", "b", "c"]);
    live.servers.insert(
        "d".into(),
        // Something else on d's host already uses the third block.
        Ok(snapshot(vec![net("other", "10.40.2.0/24", None)], vec![])),
    );
    let p = run(&config, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(
        created(&p, "apps"),
        vec![("d".into(), "10.40.3.0/24".into())]
    );

    // a leaves the set: nobody is renumbered, and its block is free again.
    let config = pooled(&["b", "c", "e"]);
    live.servers.remove("a");
    live.servers
        .insert("e".into(), Ok(snapshot(vec![], vec![])));
    let p = run(&config, &live);
    assert_eq!(
        created(&p, "apps"),
        vec![("e".into(), "10.40.1.0/24".into())]
    );
}

#[test]
fn a_pool_never_guesses_beside_a_server_it_could_not_read() {
    let config = pooled(&["a", "b"]);
    let mut live = LiveState::default();
    live.servers
        .insert("a".into(), Err("connection refused".into()));
    live.servers
        .insert("b".into(), Ok(snapshot(vec![], vec![])));
    let p = run(&config, &live);
    assert!(created(&p, "apps").is_empty());
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].server, "b");
    assert!(
        p.errors[0]
            .message
            .contains("server a of the destination could not be read")
    );
}

#[test]
fn an_exhausted_pool_names_the_server_left_without_a_subnet() {
    let config = pooled(&["a", "b", "c"]);
    let mut live = LiveState::default();
    // Every block of the pool is in use on c's host already.
    live.servers
        .insert("a".into(), Ok(snapshot(vec![], vec![])));
    live.servers
        .insert("b".into(), Ok(snapshot(vec![], vec![])));
    live.servers.insert(
        "c".into(),
        Ok(snapshot(vec![net("vpn", "10.40.0.0/22", None)], vec![])),
    );
    let p = run(&config, &live);
    assert_eq!(created(&p, "apps").len(), 2);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].server, "c");
    assert!(
        p.errors[0]
            .message
            .contains("exhausted: server c is left without a /24 subnet")
    );
}

#[test]
fn a_resource_over_a_set_runs_where_it_runs() {
    let names = ["a".to_string(), "b".to_string()];
    let config = load(&format!(
        "{}{POOLED}[[application]]\nname = \"api\"\ndestination = \"apps\"\n",
        servers(&names, "\"web\"")
    ));
    let api = Container {
        name: "api".into(),
        running: true,
        ..proxy()
    };
    let mut live = LiveState::default();
    live.servers.insert(
        "a".into(),
        Ok(snapshot(
            vec![net("apps", "10.40.0.0/24", Some("berth"))],
            vec![api],
        )),
    );
    live.servers.insert(
        "b".into(),
        Ok(snapshot(
            vec![net("apps", "10.40.1.0/24", Some("berth"))],
            vec![],
        )),
    );
    let p = run(&config, &live);
    // Attached on a, where it runs; not "missing" on b.
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(p.changes[0].server(), "a");
    assert!(p.missing.is_empty(), "{:?}", p.missing);
}

#[test]
fn a_run_of_one_server_leaves_a_pool_network_to_apply_with_a_warning() {
    // `watch` plans one server: the config keeps only it.
    let mut config = pooled(&["a", "b"]);
    config.servers.retain(|s| s.name == "b");
    let mut live = LiveState::default();
    live.servers
        .insert("b".into(), Ok(snapshot(vec![], vec![])));
    let p = run(&config, &live);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(created(&p, "apps").is_empty());
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert_eq!(p.warnings[0].code, WarningCode::PoolNotAllocated);
    assert!(
        p.warnings[0]
            .message
            .contains("does not read the destination's other servers (a)")
    );
}

//! `berth import`: TOML for what runs on a server now, so a fleet that
//! Coolify or hand-run `docker` commands set up can be brought under berth.
//! Pure: a snapshot in, config text out.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::{Address, Config, Server};
use crate::live::{Container, Network, Snapshot, labels};

/// Networks that can be destinations: user-defined, not a compose stack's
/// own network, not Docker's or swarm's.
pub fn destination_networks(live: &Snapshot) -> Vec<&Network> {
    live.networks
        .iter()
        .filter(|n| !n.is_predefined() && !matches!(n.name.as_str(), "ingress" | "docker_gwbridge"))
        .filter(|n| n.label("com.docker.compose.network").is_none())
        .collect()
}

/// Containers whose aliases the import needs (those on destination networks).
pub fn inspections(live: &Snapshot) -> Vec<String> {
    let nets: Vec<&str> = destination_networks(live)
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    live.containers
        .iter()
        .filter(|c| c.networks.keys().any(|n| nets.contains(&n.as_str())))
        .map(|c| c.name.clone())
        .collect()
}

fn toml_string(s: &str) -> String {
    // JSON string escapes are a subset of TOML basic-string escapes.
    serde_json::to_string(s).expect("a string serializes")
}

fn inline_table(m: &BTreeMap<String, String>) -> String {
    let kv: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{} = {}", toml_string(k), toml_string(v)))
        .collect();
    format!("{{ {} }}", kv.join(", "))
}

fn list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| toml_string(s)).collect();
    format!("[{}]", items.join(", "))
}

const COOLIFY_MANAGED: &str = "coolify.managed";
const COOLIFY_PULL_REQUEST: &str = "coolify.pullRequestId";

/// `application` or `database`, by Coolify's `coolify.type` label.
fn kind_of(c: &Container) -> &'static str {
    match c.label(labels::COOLIFY_TYPE) {
        Some("database") => "database",
        _ => "application",
    }
}

/// Coolify's id label of a container it manages: (`coolify.applicationId`
/// or `coolify.databaseId`, its value).
fn coolify_id(c: &Container) -> Option<(&'static str, &str)> {
    if c.label(COOLIFY_MANAGED) != Some("true") {
        return None;
    }
    let key = match c.label(labels::COOLIFY_TYPE)? {
        "application" => "coolify.applicationId",
        "database" => "coolify.databaseId",
        _ => return None,
    };
    Some((key, c.label(key)?))
}

/// Resource names as they are handed out: valid and unique per kind.
#[derive(Default)]
struct Names {
    taken: BTreeMap<&'static str, Vec<String>>,
}

impl Names {
    /// `base` made a name (printable, no spaces) and unique for `kind`;
    /// taken again on another network, it gets the network's name, then a
    /// number.
    fn take(&mut self, kind: &'static str, base: &str, network: &str) -> String {
        let clean: String = base
            .chars()
            .map(|c| {
                if c.is_control() || c.is_whitespace() {
                    '-'
                } else {
                    c
                }
            })
            .collect();
        let clean = if clean.is_empty() {
            "resource".to_string()
        } else {
            clean
        };
        let taken = self.taken.entry(kind).or_default();
        let mut name = clean.clone();
        if taken.contains(&name) {
            name = format!("{clean}-{network}");
        }
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{clean}-{network}-{n}");
            n += 1;
        }
        taken.push(name.clone());
        name
    }
}

/// The whole config for `server` as its snapshot shows it.
pub fn import(config: &Config, server: &Server, live: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#:schema ./schemas/berth.schema.json");
    let _ = writeln!(
        out,
        "# What runs on server {} now (berth import).",
        server.name
    );
    let _ = writeln!(
        out,
        "# `berth plan` with this config shows no changes for this server.\n"
    );
    let _ = writeln!(out, "[settings]\nowner = {}\n", toml_string(&config.owner));
    server_table(&mut out, server);

    let nets = destination_networks(live);
    for n in &nets {
        destination(&mut out, &server.name, n);
    }

    // Compose stacks first: their containers are the stack, not applications.
    let mut stacks: BTreeMap<&str, Vec<&Container>> = BTreeMap::new();
    let mut singles: Vec<&Container> = Vec::new();
    for c in &live.containers {
        match (
            c.label(labels::COOLIFY_TYPE),
            c.label(labels::COMPOSE_PROJECT),
        ) {
            (None, Some(project)) => stacks.entry(project).or_default().push(c),
            _ => singles.push(c),
        }
    }
    // Coolify's applications and databases: one resource per Coolify id,
    // selected by that id (a redeploy's new `<uuid>-<timestamp>` container
    // stays selected), preview deployments left out.
    let (coolify, plain): (Vec<&Container>, Vec<&Container>) =
        singles.into_iter().partition(|c| coolify_id(c).is_some());
    let mut names = Names::default();
    let mut by_id: BTreeMap<(&str, &str, &str), Vec<&Container>> = BTreeMap::new();
    for c in coolify {
        let Some((key, id)) = coolify_id(c) else {
            continue;
        };
        if c.label(COOLIFY_PULL_REQUEST).is_some_and(|p| p != "0") {
            let _ = writeln!(
                out,
                "# {}: a preview deployment (coolify.pullRequestId={}); the resource below selects pull request 0 only
",
                c.name,
                c.label(COOLIFY_PULL_REQUEST).unwrap_or_default()
            );
            continue;
        }
        by_id.entry((kind_of(c), key, id)).or_default().push(c);
    }
    for ((kind, key, id), group) in by_id {
        let base = group
            .iter()
            .find_map(|c| c.label(labels::COOLIFY_NAME))
            .unwrap_or(id);
        let mut selector = BTreeMap::from([(key.to_string(), id.to_string())]);
        if group
            .iter()
            .any(|c| c.label(COOLIFY_PULL_REQUEST).is_some())
        {
            selector.insert(COOLIFY_PULL_REQUEST.to_string(), "0".to_string());
        }
        for n in nets
            .iter()
            .filter(|n| group.iter().any(|c| c.networks.contains_key(&n.name)))
        {
            let name = names.take(kind, base, &n.name);
            let _ = writeln!(out, "[[{kind}]]");
            let _ = writeln!(out, "name = {}", toml_string(&name));
            let _ = writeln!(out, "destination = {}", toml_string(&n.name));
            let _ = writeln!(out, "match_labels = {}", inline_table(&selector));
            let aliases = group
                .iter()
                .find_map(|c| c.aliases_on(&n.name))
                .unwrap_or_default();
            let _ = writeln!(out, "aliases = {}\n", list(&aliases));
        }
    }
    for c in plain {
        let kind = kind_of(c);
        for n in nets.iter().filter(|n| c.networks.contains_key(&n.name)) {
            let name = names.take(kind, &c.name, &n.name);
            let _ = writeln!(out, "[[{kind}]]");
            let _ = writeln!(out, "name = {}", toml_string(&name));
            let _ = writeln!(out, "destination = {}", toml_string(&n.name));
            if name != c.name {
                let _ = writeln!(out, "container = {}", toml_string(&c.name));
            }
            let aliases = c.aliases_on(&n.name).unwrap_or_default();
            let _ = writeln!(out, "aliases = {}\n", list(&aliases));
        }
    }
    for (project, containers) in stacks {
        let attached = nets
            .iter()
            .find(|n| containers.iter().any(|c| c.networks.contains_key(&n.name)));
        let Some(dest) = attached.or(nets.first()) else {
            let _ = writeln!(
                out,
                "# compose project {project}: no destination network on this server to assign it to\n"
            );
            continue;
        };
        let _ = writeln!(out, "[[service]]");
        let _ = writeln!(out, "name = {}", toml_string(project));
        let _ = writeln!(out, "destination = {}", toml_string(&dest.name));
        let _ = writeln!(
            out,
            "connect_to_predefined_networks = {}\n",
            attached.is_some()
        );
    }
    out
}

fn server_table(out: &mut String, server: &Server) {
    let _ = writeln!(
        out,
        "[[server]]\nname = {}\naddress = {}",
        toml_string(&server.name),
        toml_string(&server.address.to_string())
    );
    if let Address::Ssh {
        docker_socket,
        identity_file,
        known_hosts_file,
        ..
    } = &server.address
    {
        let _ = writeln!(out, "docker_socket = {}", toml_string(docker_socket));
        if let Some(f) = identity_file {
            let _ = writeln!(out, "identity_file = {}", toml_string(f));
        }
        if let Some(f) = known_hosts_file {
            let _ = writeln!(out, "known_hosts_file = {}", toml_string(f));
        }
    }
    out.push('\n');
}

fn destination(out: &mut String, server: &str, n: &Network) {
    let _ = writeln!(out, "[[destination]]");
    let _ = writeln!(out, "name = {}", toml_string(&n.name));
    let _ = writeln!(out, "server = {}", toml_string(server));
    let _ = writeln!(out, "network = {}", toml_string(&n.name));
    if n.driver != crate::config::DEFAULT_DRIVER {
        let _ = writeln!(out, "driver = {}", toml_string(&n.driver));
    }
    if n.internal {
        let _ = writeln!(out, "internal = true");
    }
    if n.attachable {
        let _ = writeln!(out, "attachable = true");
    }
    if let Some(pool) = n.ipam.iter().find(|p| p.subnet.is_some()) {
        if let Some(s) = pool.subnet {
            let _ = writeln!(out, "subnet = {}", toml_string(&s.to_string()));
        }
        if let Some(g) = pool.gateway {
            let _ = writeln!(out, "gateway = {}", toml_string(&g.to_string()));
        }
    }
    let user: BTreeMap<String, String> = n
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("berth."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !user.is_empty() {
        let _ = writeln!(out, "labels = {}", inline_table(&user));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceFile, load};
    use crate::live::{Endpoint, IpamPool, LiveState};
    use crate::plan::{Options, plan};

    fn net(name: &str, subnet: &str, extra: &[(&str, &str)]) -> Network {
        Network {
            id: name.into(),
            name: name.into(),
            driver: "bridge".into(),
            internal: false,
            attachable: false,
            enable_ipv6: false,
            options: Default::default(),
            ipam: vec![IpamPool {
                subnet: Some(subnet.parse().unwrap()),
                ip_range: None,
                gateway: None,
            }],
            labels: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn container(name: &str, nets: &[(&str, &[&str])], extra: &[(&str, &str)]) -> Container {
        Container {
            id: format!("{name}-0123456789"),
            name: name.into(),
            image: "busybox".into(),
            running: true,
            labels: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            networks: nets
                .iter()
                .map(|(n, a)| {
                    (
                        n.to_string(),
                        Endpoint {
                            aliases: Some(a.iter().map(|s| s.to_string()).collect()),
                        },
                    )
                })
                .collect(),
            env: Some(Vec::new()),
            ..Default::default()
        }
    }

    #[test]
    fn imported_config_plans_no_changes_on_the_same_server() {
        let base = load(&[SourceFile {
            path: "b.toml".into(),
            text: "[[server]]\nname = \"s\"\naddress = \"local\"\n".into(),
        }])
        .unwrap();
        let snapshot = Snapshot {
            images: None,
            journals: Vec::new(),
            swarm: None,
            networks: vec![
                net("front", "10.1.0.0/24", &[("team", "web")]),
                net("data", "10.2.0.0/24", &[]),
                net(
                    "mon_default",
                    "10.3.0.0/24",
                    &[("com.docker.compose.network", "default")],
                ),
                net("bridge", "172.17.0.0/16", &[]),
            ],
            containers: vec![
                container("web", &[("front", &["web", "www"]), ("data", &[])], &[]),
                container("pg", &[("data", &["db"])], &[("coolify.type", "database")]),
                container(
                    "mon-grafana-1",
                    &[("mon_default", &[]), ("front", &["grafana-mon"])],
                    &[
                        ("com.docker.compose.project", "mon"),
                        ("com.docker.compose.service", "grafana"),
                    ],
                ),
                container("loner", &[("bridge", &[])], &[]),
            ],
        };
        let text = import(&base, &base.servers[0], &snapshot);
        let config = load(&[SourceFile {
            path: "import.toml".into(),
            text: text.clone(),
        }])
        .map_err(|d| d.render(false))
        .unwrap();
        assert_eq!(
            config.destinations.len(),
            2,
            "not bridge, not the compose network:\n{text}"
        );
        assert_eq!(
            config.resources.len(),
            3,
            "web on two networks, pg:\n{text}"
        );
        assert!(text.contains("[[database]]\nname = \"pg\""), "{text}");
        assert!(
            text.contains("connect_to_predefined_networks = true"),
            "{text}"
        );
        assert!(
            !text.contains("loner"),
            "not on a destination network:\n{text}"
        );
        let mut live = LiveState::default();
        live.servers.insert("s".into(), Ok(snapshot));
        let p = plan(&config, &live, Options::default());
        assert!(p.changes.is_empty(), "{:#?}", p.changes);
        assert!(p.missing.is_empty() && p.errors.is_empty());
    }
}

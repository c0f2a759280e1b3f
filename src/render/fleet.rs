//! Reading a fleet at a glance: what repeats across servers is said once.
//! Items (changes, warnings, errors, status rows) that are identical except
//! for their server collapse into one group, told with a count and a short
//! server list (`on 500 servers (web-001, web-002, web-003 and 497 more)`);
//! the text that names the server is said of each server instead.

use std::collections::HashMap;

use crate::plan::Change;

/// How a view shows a fleet: identical per-server items collapsed (the
/// default), or one line per server (`--verbose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Grouped,
    PerServer,
}

impl View {
    /// `--verbose` asks for one line per server.
    pub fn from_verbose(verbose: bool) -> View {
        if verbose {
            View::PerServer
        } else {
            View::Grouped
        }
    }
}

/// How many server names a collapsed line lists before `and N more`.
pub(crate) const LISTED: usize = 3;

/// Stands for the server's name in a text told of many servers.
const PLACEHOLDER: &str = "\u{1}server\u{1}";

/// Items in groups, in the order each group was first seen; a group keeps
/// its items in the order they came.
pub(crate) struct Groups<T> {
    index: HashMap<String, usize>,
    pub groups: Vec<Vec<T>>,
}

impl<T> Groups<T> {
    pub fn new() -> Self {
        Groups {
            index: HashMap::new(),
            groups: Vec::new(),
        }
    }

    pub fn push(&mut self, key: String, item: T) {
        match self.index.get(&key) {
            Some(&i) => self.groups[i].push(item),
            None => {
                self.index.insert(key, self.groups.len());
                self.groups.push(vec![item]);
            }
        }
    }
}

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Groups `items` by `key` in one pass (linear in the items).
pub(crate) fn group<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
) -> Vec<Vec<T>> {
    let mut g = Groups::new();
    for item in items {
        let k = key(&item);
        g.push(k, item);
    }
    g.groups
}

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// `text` with each whole-word occurrence of the server's name replaced by
/// a placeholder: two servers' texts that differ only in the name become
/// equal (`no container api on server web-001` and `… web-002`).
pub(crate) fn normalize(text: &str, server: &str) -> String {
    if server.is_empty() || !text.contains(server) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(at) = rest.find(server) {
        let before = rest[..at].chars().next_back().or(prev);
        let after = rest[at + server.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(name_char) || after.is_some_and(name_char) {
            out.push_str(server);
        } else {
            out.push_str(PLACEHOLDER);
        }
        prev = server.chars().next_back();
        rest = &rest[at + server.len()..];
    }
    out.push_str(rest);
    out
}

/// A normalized text told of every server of a group: `server <name>`
/// becomes `each server`, a bare name `each server` too.
pub(crate) fn of_each(normalized: &str) -> String {
    normalized
        .replace(&format!("server {PLACEHOLDER}"), "each server")
        .replace(&format!("servers {PLACEHOLDER}"), "each server")
        .replace(PLACEHOLDER, "each server")
}

/// `text` (which names `server`) as said of a group of `n` servers: as is
/// for one, else with the name said of each.
pub(crate) fn said_of(text: &str, server: &str, n: usize) -> String {
    if n <= 1 {
        text.to_string()
    } else {
        of_each(&normalize(text, server))
    }
}

/// `server s1`, or `3 servers (a, b, c)`, or `500 servers (web-001,
/// web-002, web-003 and 497 more)`.
pub(crate) fn servers(names: &[&str]) -> String {
    servers_with(names, |s| s.to_string())
}

/// [`servers`] with each listed name formatted by `name` (Markdown code).
pub(crate) fn servers_with(names: &[&str], name: impl Fn(&str) -> String) -> String {
    match names {
        [] => "no server".to_string(),
        [one] => format!("server {}", name(one)),
        many => format!("{} servers ({})", many.len(), listed(many, name)),
    }
}

/// `a, b, c` or `a, b, c and 497 more`.
pub(crate) fn listed(names: &[&str], name: impl Fn(&str) -> String) -> String {
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    let shown: Vec<String> = sorted.iter().take(LISTED).map(|n| name(n)).collect();
    match names.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// What makes two changes the same change on different servers: the
/// change as data, without its server and its destination's name (a
/// network declared once per server has one destination per server), and
/// with the server's name made a placeholder wherever a text names it. A
/// created network's subnet and gateway are left out too (each server's
/// own, from a pool): [`subnets`] tells them.
pub(crate) fn change_key(c: &Change) -> String {
    let mut value = serde_json::to_value(c).expect("a change serializes");
    if let Some(map) = value.as_object_mut() {
        map.remove("server");
        map.remove("destination");
        if matches!(c, Change::CreateNetwork(_)) {
            if let Some(spec) = map.get_mut("spec").and_then(|s| s.as_object_mut()) {
                spec.remove("subnet");
                spec.remove("gateway");
            }
        }
    }
    normalize(&value.to_string(), c.server())
}

/// The subnets of a group of created networks, when they differ (each
/// server's own): `None` when they are all the same.
pub(crate) fn subnets(group: &[&Change]) -> Option<usize> {
    let mut seen: Vec<Option<String>> = Vec::new();
    for c in group {
        if let Change::CreateNetwork(n) = c {
            let s = n.spec.subnet.map(|s| s.to_string());
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    (seen.len() > 1).then_some(seen.len())
}

/// The destinations a group of changes on one network belongs to, in the
/// order first seen.
pub(crate) fn destinations<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for d in changes.into_iter().filter_map(Change::destination) {
        if seen.insert(d) {
            out.push(d);
        }
    }
    out
}

/// Networks in the order the plan first names them.
pub(crate) fn networks<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if seen.insert(n) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_replaced_only_as_a_whole_word() {
        let n = normalize("no container s1-api on server s1; see s1.", "s1");
        assert_eq!(
            of_each(&n),
            "no container s1-api on each server; see each server."
        );
        assert_eq!(normalize("services", "s"), "services");
        assert_eq!(
            normalize("on server web-001", "web-001"),
            normalize("on server web-002", "web-002")
        );
    }

    #[test]
    fn a_server_list_names_a_few_then_counts() {
        assert_eq!(servers(&["a"]), "server a");
        assert_eq!(servers(&["a", "b"]), "2 servers (a, b)");
        let many: Vec<String> = (1..=500).map(|i| format!("web-{i:03}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            servers(&many),
            "500 servers (web-001, web-002, web-003 and 497 more)"
        );
    }

    /// A fleet of 500 servers (`web-001` … `web-500`), each with a
    /// destination of its own on network `coolify`, an application whose
    /// container is not there (a warning naming the server) and the
    /// proxy attached where the network is; `web-007` lacks the network.
    mod fleet_of_500 {
        use std::collections::BTreeMap;

        use crate::config::{SourceFile, load};
        use crate::live::{Container, Endpoint, IpamPool, LiveState, Network, Snapshot};
        use crate::plan::{Change, ChangeStatus, Connect, Plan, ResourceRef};
        use crate::render::View;

        const N: usize = 500;

        fn name(i: usize) -> String {
            format!("web-{i:03}")
        }

        fn config() -> crate::config::Config {
            let mut text = String::new();
            for i in 1..=N {
                let s = name(i);
                text.push_str(&format!(
                    "[[server]]\nname = \"{s}\"\naddress = \"local\"\n\
                     [[destination]]\nname = \"coolify-{s}\"\nserver = \"{s}\"\nnetwork = \"coolify\"\n\
                     [[application]]\nname = \"api-{s}\"\ndestination = \"coolify-{s}\"\ncontainer = \"api\"\n"
                ));
            }
            load(&[SourceFile {
                path: "fleet.toml".into(),
                text,
            }])
            .unwrap()
        }

        fn proxy(network: Option<&str>) -> Container {
            Container {
                id: "proxy-id".into(),
                name: "coolify-proxy".into(),
                image: "traefik:3".into(),
                image_id: "sha256:t".into(),
                running: true,
                state: "running".into(),
                status: "Up 3 hours".into(),
                labels: BTreeMap::new(),
                networks: network
                    .map(|n| {
                        (
                            n.to_string(),
                            Endpoint {
                                aliases: Some(vec!["proxy".into()]),
                                requested: None,
                            },
                        )
                    })
                    .into_iter()
                    .collect(),
                env: Some(Vec::new()),
                mounts: Some(Vec::new()),
                ports: Some(Vec::new()),
            }
        }

        fn live(config: &crate::config::Config) -> LiveState {
            let mut live = LiveState::default();
            for s in &config.servers {
                let mut snap = Snapshot::default();
                if s.name != name(7) {
                    snap.networks.push(Network {
                        id: "coolify-id".into(),
                        name: "coolify".into(),
                        driver: "bridge".into(),
                        internal: false,
                        attachable: false,
                        enable_ipv6: false,
                        options: Default::default(),
                        ipam: vec![IpamPool {
                            subnet: None,
                            ip_range: None,
                            gateway: None,
                            ..Default::default()
                        }],
                        labels: Default::default(),
                        ..Default::default()
                    });
                    snap.containers.push(proxy(Some("coolify")));
                } else {
                    snap.containers.push(proxy(None));
                }
                live.servers.insert(s.name.clone(), Ok(snap));
            }
            live
        }

        /// The planner's plan of the fleet, made once for every test.
        fn planned() -> &'static Plan {
            static PLAN: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
            PLAN.get_or_init(|| {
                let config = config();
                crate::plan::plan(&config, &live(&config), Default::default())
            })
        }

        /// The plan: the network created on `web-007` only, the proxy
        /// connected everywhere (with alias `proxy`; on `web-042` with
        /// `edge` too), the api missing on every server.
        fn plan() -> Plan {
            let mut p = planned().clone();
            // One application over every server, as a group of servers
            // declares it: the same name in each server's warning.
            for w in &mut p.warnings {
                let s = w.server.clone().unwrap_or_default();
                w.message = w.message.replace(&format!("api-{s}"), "api");
            }
            for i in 1..=N {
                let s = name(i);
                p.changes.push(Change::Connect(Connect {
                    server: s.clone(),
                    destination: format!("coolify-{s}"),
                    network: "coolify".into(),
                    container: "coolify-proxy".into(),
                    aliases: if i == 42 {
                        vec!["proxy".into(), "edge".into()]
                    } else {
                        vec!["proxy".into()]
                    },
                    endpoint: Default::default(),
                    live_aliases: None,
                    resource: ResourceRef::new(crate::config::ResourceKind::Application, "proxy"),
                    status: ChangeStatus::Planned,
                    reasons: vec![format!("proxy runs on server {s}")],
                }));
            }
            p
        }

        fn text(s: &str) -> String {
            anstream::adapter::strip_str(s).to_string()
        }

        #[test]
        fn the_plan_collapses_what_repeats_and_keeps_counts_exact() {
            let p = plan();
            assert_eq!(p.changes.len(), N + 1, "{:#?}", p.changes.first());
            let out = text(&crate::render::human(&p, View::Grouped));
            assert!(
                out.lines().count() < 25,
                "{} lines:\n{out}",
                out.lines().count()
            );
            assert!(
                out.contains(
                    "+ connect coolify-proxy  application proxy  aliases proxy  on 499 servers (web-001, web-002, web-003 and 496 more)\n"
                ),
                "{out}"
            );
            assert!(out.contains("· proxy runs on each server\n"), "{out}");
            assert!(
                out.contains("aliases proxy, edge  on server web-042\n")
                    && out.contains("· proxy runs on server web-042\n"),
                "the differing server stays separate: {out}"
            );
            assert!(
                out.contains("+ create network  on server web-007\n"),
                "{out}"
            );
            assert!(
                out.contains("network coolify · destinations coolify-web-001, coolify-web-002, coolify-web-003 and 497 more\n"),
                "{out}"
            );
            assert!(
                out.contains("warning: application api: no container api on each server;"),
                "{out}"
            );
            assert!(
                out.contains("and the next plan connects it  on 500 servers ("),
                "{out}"
            );
            assert!(
                out.contains(&format!(
                    "Plan: 1 to create, {N} to connect. {N} declared resource(s) match nothing"
                )),
                "{out}"
            );
        }

        #[test]
        fn verbose_shows_every_server() {
            let p = plan();
            let out = text(&crate::render::human(&p, View::PerServer));
            for i in 1..=N {
                assert!(
                    out.contains(&format!("server {} (local)\n", name(i))),
                    "{}",
                    name(i)
                );
            }
            assert!(out.lines().count() > 4 * N);
            assert!(out.contains(&format!("Plan: 1 to create, {N} to connect.")));
        }

        #[test]
        fn markdown_collapses_rows_and_changes_verbose_lists_them() {
            let p = plan();
            let md = crate::render::markdown(&p, View::Grouped);
            assert!(md.lines().count() < 60, "{md}");
            assert!(
                md.contains("| 499 servers: `web-001`, `web-002`, `web-003` and 496 more | ok | 0 | 0 | 0 | 1 | 0 | 0 | 0 |"),
                "{md}"
            );
            assert!(
                md.contains("| `web-007` | ok | 1 | 0 | 0 | 1 | 0 | 0 | 0 |"),
                "{md}"
            );
            assert!(md.contains(&format!("All {} change(s)", N + 1)), "{md}");
            assert!(md.contains("on server `web-042`"), "{md}");
            assert!(md.contains("on 499 servers (`web-001`"), "{md}");
            let verbose = crate::render::markdown(&p, View::PerServer);
            for i in 1..=N {
                assert!(
                    verbose.contains(&format!("| `{}` | ok |", name(i))),
                    "{}",
                    name(i)
                );
            }
        }

        #[test]
        fn status_collapses_the_same_destination_across_servers() {
            let config = config();
            let live = live(&config);
            let mut report = crate::status::status(
                &config,
                &live,
                planned(),
                &Default::default(),
                &Default::default(),
            );
            // One application over every server, as a group declares it.
            for d in &mut report.destinations {
                for m in &mut d.not_found {
                    m.resource.name = "api".into();
                }
            }
            let out = text(&crate::render::status::human(&report, View::Grouped));
            assert!(out.lines().count() < 20, "{out}");
            assert!(
                out.contains("network coolify · adopted")
                    && out.contains("on 499 servers (web-001, web-002, web-003 and 496 more)"),
                "{out}"
            );
            assert!(
                out.contains("coolify-proxy  unmanaged  running\n"),
                "uptime left to --verbose: {out}"
            );
            assert!(
                out.contains("destination coolify-web-007 · network coolify · missing"),
                "{out}"
            );
            assert!(
                out.contains(&format!("{N} destination(s): 0 ok, 499 adopted, 1 missing")),
                "{out}"
            );
            let verbose = text(&crate::render::status::human(&report, View::PerServer));
            for i in 1..=N {
                assert!(verbose.contains(&format!("server {} (local)\n", name(i))));
            }
            let md = crate::render::status::markdown(&report, View::Grouped);
            assert!(md.lines().count() < 20, "{md}");
            assert!(md.contains("| 499 servers: `web-001`"), "{md}");
            let md = crate::render::status::markdown(&report, View::PerServer);
            assert!(md.lines().count() > N, "{md}");
        }
    }

    #[test]
    fn groups_keep_first_seen_order() {
        let g = group([3, 1, 4, 1, 5, 9, 2, 6], |n| (n % 2).to_string());
        assert_eq!(g, vec![vec![3, 1, 1, 5, 9], vec![4, 2, 6]]);
    }
}

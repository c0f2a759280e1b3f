//! The golden plan: a fixture config (with a base, as a pull-request
//! preview) planned against a fixed live state must give, byte for byte,
//! the plan JSON, human text and Markdown committed beside it. Refactors of
//! the planner, the plan model and the views keep these outputs; a change
//! that means to alter them regenerates them with
//! `BERTH_UPDATE_GOLDEN=1 cargo test --test it golden` and says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berthing::config::{Config, SourceFile};
use berthing::live::{Container, Endpoint, Image, IpamPool, LiveState, Mount, Network, Snapshot};
use berthing::render::View;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/golden")
        .join(rel)
}

fn files(dir: &str) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "berth.toml".into(),
        text: std::fs::read_to_string(fixture(&format!("{dir}/berth.toml"))).unwrap(),
    }]
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn owned(dest: &str) -> BTreeMap<String, String> {
    labels(&[
        ("berth.managed", "true"),
        ("berth.owner", "acme"),
        ("berth.destination", dest),
    ])
}

fn network(name: &str, subnet: &str, labels: BTreeMap<String, String>) -> Network {
    let subnet: ipnet::IpNet = subnet.parse().unwrap();
    Network {
        id: format!("{name}-id"),
        name: name.into(),
        driver: "bridge".into(),
        internal: false,
        attachable: false,
        enable_ipv6: false,
        options: Default::default(),
        ipam: vec![IpamPool {
            subnet: Some(subnet),
            ip_range: None,
            gateway: subnet.hosts().next(),
            ..Default::default()
        }],
        labels,
        ..Default::default()
    }
}

/// A container as the refresh leaves it once inspected: every network's
/// aliases (with Docker's own short-id alias), env, mounts and ports.
struct C {
    name: &'static str,
    running: bool,
    image: &'static str,
    labels: &'static [(&'static str, &'static str)],
    networks: &'static [(&'static str, &'static [&'static str])],
    env: &'static [(&'static str, &'static str)],
    mounts: Vec<Mount>,
    ports: &'static [&'static str],
}

impl C {
    fn new(name: &'static str, networks: &'static [(&'static str, &'static [&'static str])]) -> C {
        C {
            name,
            running: true,
            image: "app:1",
            labels: &[],
            networks,
            env: &[],
            mounts: Vec::new(),
            ports: &[],
        }
    }

    fn build(self) -> Container {
        let id = format!(
            "{:0<64}",
            self.name
                .replace(['-', '_'], "0")
                .chars()
                .map(|c| if c.is_ascii_hexdigit() { c } else { 'f' })
                .collect::<String>()
        );
        let short: String = id.chars().take(12).collect();
        Container {
            name: self.name.into(),
            image: self.image.into(),
            image_id: format!("sha256:{}", self.image.replace(':', "")),
            running: self.running,
            state: if self.running { "running" } else { "exited" }.into(),
            status: String::new(),
            labels: labels(self.labels),
            networks: self
                .networks
                .iter()
                .map(|(n, aliases)| {
                    let mut a: Vec<String> = aliases.iter().map(|s| s.to_string()).collect();
                    a.push(short.clone());
                    (
                        n.to_string(),
                        Endpoint {
                            aliases: Some(a),
                            requested: Some(Default::default()),
                        },
                    )
                })
                .collect(),
            env: Some(
                self.env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            mounts: Some(self.mounts),
            ports: Some(self.ports.iter().map(|p| p.to_string()).collect()),
            id,
        }
    }
}

fn s1() -> Snapshot {
    let mut their = network("their-net", "10.99.0.0/24", labels(&[("team", "other")]));
    their.attachable = true;
    let networks = vec![
        network("bridge", "172.17.0.0/16", BTreeMap::new()),
        network("prod-net", "10.30.0.0/24", owned("prod")),
        network("data-net", "10.32.0.0/24", owned("data")),
        network("empty-net", "10.36.0.0/24", owned("empty")),
        their,
        network("old-net", "10.40.0.0/24", owned("legacy")),
        network("gone-net", "10.41.0.0/24", owned("gone")),
        network("someone-net", "10.42.0.0/24", {
            let mut l = owned("x");
            l.insert("berth.owner".into(), "someone".into());
            l
        }),
        network(
            "monitoring_default",
            "172.30.0.0/16",
            labels(&[
                ("com.docker.compose.network", "default"),
                ("com.docker.compose.project", "monitoring"),
            ]),
        ),
    ];
    let containers = vec![
        C {
            env: &[("DB_URL", "postgres://pg:5432/app"), ("SECRET", "hunter2")],
            mounts: vec![
                Mount::Volume {
                    name: "api-data".into(),
                    path: "/data".into(),
                },
                Mount::Bind {
                    source: "/srv/api".into(),
                    path: "/cfg".into(),
                },
            ],
            ports: &["0.0.0.0:8080->80/tcp"],
            ..C::new("api", &[("prod-net", &["api", "api-v2"])])
        },
        C {
            env: &[("DB_HOST", "oldie")],
            ..C::new("web", &[("prod-net", &["web"])])
        },
        C::new("worker-1", &[("bridge", &[])]),
        C {
            labels: &[("coolify.applicationId", "12")],
            ..C::new("shop-a", &[("prod-net", &["shop"])])
        },
        C {
            labels: &[("coolify.applicationId", "12")],
            ..C::new("shop-b", &[("bridge", &[])])
        },
        C::new("mover", &[("prod-net", &["mover"]), ("bridge", &[])]),
        C {
            running: false,
            image: "postgres:16",
            ..C::new("pg", &[("data-net", &["pg"])])
        },
        C {
            image: "grafana:10",
            labels: &[
                ("com.docker.compose.project", "monitoring"),
                ("com.docker.compose.service", "grafana"),
            ],
            mounts: vec![Mount::Volume {
                name: "monitoring_grafana-data".into(),
                path: "/var/lib/grafana".into(),
            }],
            ..C::new(
                "monitoring-grafana-1",
                &[("monitoring_default", &["grafana"])],
            )
        },
        C {
            labels: &[
                ("com.docker.compose.project", "legacy"),
                ("com.docker.compose.service", "app"),
            ],
            ..C::new(
                "legacy-app-1",
                &[("prod-net", &["app-legacy"]), ("bridge", &[])],
            )
        },
        C {
            running: false,
            ..C::new("oldie", &[("old-net", &["oldie"])])
        },
        C {
            labels: &[
                ("coolify.type", "application"),
                ("coolify.resourceName", "cool"),
            ],
            ..C::new("cool-1", &[("old-net", &["cool"]), ("bridge", &[])])
        },
        C {
            image: "traefik:3",
            labels: &[("traefik.docker.network", "old-net")],
            ..C::new("traefik", &[("bridge", &[])])
        },
    ];
    Snapshot {
        networks,
        containers: containers.into_iter().map(C::build).collect(),
        images: Some(vec![Image {
            id: "sha256:app1".into(),
            tags: vec!["app:1".into()],
        }]),
        journals: Vec::new(),
        swarm: None,
    }
}

fn s2() -> Snapshot {
    Snapshot {
        networks: vec![network("bridge", "172.17.0.0/16", BTreeMap::new())],
        containers: vec![C::new("roamer", &[("bridge", &[])]).build()],
        images: Some(vec![Image {
            id: "sha256:busybox".into(),
            tags: vec!["busybox:1".into()],
        }]),
        journals: Vec::new(),
        swarm: None,
    }
}

fn live(config: &Config, skipped: &[String]) -> LiveState {
    let mut live = LiveState::default();
    live.servers.insert("s1".into(), Ok(s1()));
    live.servers.insert("s2".into(), Ok(s2()));
    live.servers.insert(
        "s3".into(),
        Err("cannot reach Docker at unix:///run/s3/docker.sock: Connection refused (os error 111) (check that dockerd runs and that /run/s3/docker.sock is its socket (`docker -H unix:///run/s3/docker.sock info`))".into()),
    );
    for name in skipped {
        live.skipped.insert(
            name.clone(),
            "not contacted: this server is new in the change under review".into(),
        );
    }
    assert_eq!(config.servers.len(), 4);
    live
}

/// The config of a fixture directory, as `ops::load` gives it, its source
/// recorded as the commit it stands for.
fn loaded(dir: &str, commit: &str) -> berthing::ops::Loaded {
    let source = berthing::source::Loaded {
        files: files(dir),
        info: berthing::plan::SourceInfo {
            kind: berthing::plan::SourceKind::Git,
            reference: Some("HEAD".into()),
            commit: Some(commit.into()),
            repo: Some("/srv/git/infra.git".into()),
            path: None,
        },
        reader: berthing::source::Reader::Worktree(fixture(dir)),
    };
    berthing::ops::check(source).unwrap()
}

/// The preview `berth plan --base main --ref HEAD` makes of the fixture.
fn golden_plan() -> berthing::plan::Plan {
    let base = loaded("base", "1111111111111111111111111111111111111111");
    let mut head = loaded("head", "2222222222222222222222222222222222222222");
    let preview = berthing::ops::compare(&base, &mut head, "main");
    let live = live(&head.config, &preview.skipped);
    berthing::ops::assemble(head, Some(preview), &live, Default::default())
}

fn check(name: &str, have: &str) {
    let path = fixture(name);
    if std::env::var_os("BERTH_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, have).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let diff = similar::TextDiff::from_lines(&want, have)
            .unified_diff()
            .header(name, "now")
            .to_string();
        panic!("{name} changed:\n{diff}");
    }
}

#[test]
fn golden_plan_json_is_byte_identical() {
    check(
        "plan.json",
        &(berthing::render::json(&golden_plan()) + "\n"),
    );
}

#[test]
fn golden_human_view_is_unchanged() {
    for (view, file) in [
        (View::Grouped, "plan.txt"),
        (View::PerServer, "plan.verbose.txt"),
    ] {
        let text = anstream::adapter::strip_str(&berthing::render::human(&golden_plan(), view))
            .to_string();
        check(file, &text);
    }
}

#[test]
fn golden_markdown_view_is_unchanged() {
    check(
        "plan.md",
        &berthing::render::markdown(&golden_plan(), View::Grouped),
    );
    check(
        "plan.verbose.md",
        &berthing::render::markdown(&golden_plan(), View::PerServer),
    );
}

// The views' golden plan: one plan with every kind of change, made by the
// pure planner from a fixture config and a hand-built live state, rendered
// in the terminal (no colour), as JSON and as Markdown. Each change reads
// the same in the three: one verb per kind (`berthing::plan::Verb`).

mod every_kind {
    use std::collections::BTreeMap;

    use berthing::live::swarm::{
        Availability, EndpointMode, Node, NodeRole, NodeState, Service, ServiceMode,
        ServiceNetwork, Swarm,
    };
    use berthing::live::{Journal, LiveState, Mount, Snapshot};
    use berthing::plan::journal::Record;
    use berthing::plan::{Change, ChangeStatus, Connect, Plan, ResourceRef, Verb};

    use super::{C, View, check, files, labels, network, owned};

    /// An alias fix that an earlier apply began and did not finish.
    fn journal() -> Journal {
        let record = Record {
            change: Box::new(Change::Connect(Connect {
                server: "s1".into(),
                destination: "prod".into(),
                network: "prod-net".into(),
                container: "cache".into(),
                aliases: vec!["cache".into()],
                endpoint: Default::default(),
                live_aliases: Some(vec!["cache-old".into()]),
                resource: ResourceRef::new(berthing::config::ResourceKind::Application, "cache"),
                status: ChangeStatus::Planned,
                reasons: Vec::new(),
            })),
            reattach: Vec::new(),
            allow_replace: false,
        };
        Journal {
            name: "berth-journal-1".into(),
            labels: labels(&[
                ("berth.managed", "true"),
                ("berth.owner", "acme"),
                ("berth.journal", "connect"),
                ("berth.journal.record", &record.to_label()),
            ]),
        }
    }

    fn s1() -> Snapshot {
        let containers = vec![
            C {
                mounts: vec![Mount::Volume {
                    name: "api-data".into(),
                    path: "/data".into(),
                }],
                ..C::new("api", &[("prod-net", &["api"])])
            },
            C::new("web", &[("prod-net", &["web"])]),
            C::new("worker-1", &[("bridge", &[])]),
            C::new("mover", &[("prod-net", &["mover"]), ("bridge", &[])]),
            C::new("cache", &[("prod-net", &["cache-old"])]),
            C {
                running: false,
                image: "postgres:16",
                ..C::new("pg", &[("data-net", &["pg"])])
            },
        ];
        // A copy berth made for a resource the config no longer declares.
        let mut copy = C::new("old-copy", &[("old-net", &["old-copy"])]).build();
        copy.labels =
            berthing::live::labels::of_copy("acme", "legacy", ("application", "old-copy"), "api");
        Snapshot {
            networks: vec![
                network("bridge", "172.17.0.0/16", BTreeMap::new()),
                network("prod-net", "10.30.0.0/24", owned("prod")),
                network("data-net", "10.32.0.0/24", owned("data")),
                network("old-net", "10.40.0.0/24", owned("legacy")),
                network("gone-net", "10.41.0.0/24", owned("gone")),
            ],
            containers: containers.into_iter().map(C::build).chain([copy]).collect(),
            images: None,
            journals: vec![journal()],
            swarm: None,
        }
    }

    /// A swarm manager running `svc` on a network of its own.
    fn s2() -> Snapshot {
        let mut cluster = network("cluster-net", "10.50.0.0/24", owned("cluster"));
        cluster.driver = "overlay".into();
        cluster.attachable = true;
        let mut own = network("svc-own", "10.51.0.0/24", BTreeMap::new());
        own.driver = "overlay".into();
        let node = Node {
            id: "node-manager".into(),
            hostname: "manager".into(),
            role: NodeRole::Manager,
            availability: Availability::Active,
            state: NodeState::Ready,
            address: None,
            leader: true,
            labels: BTreeMap::new(),
        };
        let svc = Service {
            id: "id-svc".into(),
            name: "svc".into(),
            version: 7,
            labels: BTreeMap::new(),
            image: "app:1".into(),
            mode: ServiceMode::Replicated { replicas: 2 },
            networks: vec![ServiceNetwork {
                network: "svc-own".into(),
                id: "svc-own-id".into(),
                aliases: vec!["svc".into()],
            }],
            endpoint_mode: EndpointMode::Vip,
            published_ports: Vec::new(),
            update: None,
            update_state: None,
            mounts: vec![Mount::Volume {
                name: "svc-data".into(),
                path: "/data".into(),
            }],
        };
        Snapshot {
            networks: vec![cluster, own],
            containers: Vec::new(),
            images: None,
            journals: Vec::new(),
            swarm: Some(Swarm {
                nodes: vec![node],
                services: vec![svc],
                tasks: Vec::new(),
            }),
        }
    }

    fn plan() -> Plan {
        let config = berthing::config::load(&files("kinds")).unwrap();
        let mut live = LiveState::default();
        live.servers.insert("s1".into(), Ok(s1()));
        live.servers.insert("s2".into(), Ok(s2()));
        berthing::plan::plan(&config, &live, Default::default())
    }

    fn human(p: &Plan) -> String {
        anstream::adapter::strip_str(&berthing::render::human(p, View::Grouped)).to_string()
    }

    /// The verb a view's line starts with after `prefix` and the symbol:
    /// the longest that fits (`clone swarm service` before `clone`).
    fn verb_of(line: &str) -> Option<Verb> {
        Verb::ALL
            .iter()
            .copied()
            .filter(|v| {
                let head = format!("{} {}", v.symbol(), v.as_str());
                line.strip_prefix(&head)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
            .max_by_key(|v| v.as_str().len())
    }

    fn count(verbs: impl Iterator<Item = Verb>) -> BTreeMap<Verb, usize> {
        let mut out = BTreeMap::new();
        for v in verbs {
            *out.entry(v).or_insert(0) += 1;
        }
        out
    }

    #[test]
    fn golden_views_of_every_kind_of_change() {
        let p = plan();
        check("kinds/plan.json", &(berthing::render::json(&p) + "\n"));
        check("kinds/plan.txt", &human(&p));
        check(
            "kinds/plan.md",
            &berthing::render::markdown(&p, View::Grouped),
        );
        check(
            "kinds/plan.verbose.txt",
            &anstream::adapter::strip_str(&berthing::render::human(&p, View::PerServer))
                .to_string(),
        );
        check(
            "kinds/plan.verbose.md",
            &berthing::render::markdown(&p, View::PerServer),
        );
    }

    #[test]
    fn each_change_reads_the_same_in_the_terminal_the_json_and_the_markdown() {
        let p = plan();
        assert!(p.errors.is_empty(), "{:#?}", p.errors);
        let kinds: Vec<Verb> = p.changes.iter().map(Change::verb).collect();
        for v in Verb::ALL {
            assert!(kinds.contains(&v), "the fixture has no {v}: {kinds:?}");
        }
        let want = count(kinds.iter().copied());

        // JSON: each change carries its verb beside its action.
        let json: serde_json::Value = serde_json::from_str(&berthing::render::json(&p)).unwrap();
        let changes = json["changes"].as_array().unwrap();
        for (c, j) in p.changes.iter().zip(changes) {
            assert_eq!(j["verb"], c.verb().as_str(), "{j:#}");
            assert_eq!(j["action"], c.action().as_str(), "{j:#}");
        }

        // Terminal: one line per change, `<symbol> <verb> …`.
        let text = human(&p);
        let seen = count(text.lines().filter_map(|l| verb_of(l.trim_start())));
        assert_eq!(seen, want, "{text}");
        assert!(
            text.contains("-/+ reconnect web"),
            "a reconnect shows its disconnect: {text}"
        );

        // Markdown: the change list, `` - `<symbol>` <verb> … ``.
        let md = berthing::render::markdown(&p, View::Grouped);
        let list = md
            .split("<details><summary>All ")
            .nth(1)
            .expect("a change list")
            .split("</details>")
            .next()
            .unwrap();
        let seen = count(
            list.lines()
                .filter_map(|l| l.strip_prefix("- "))
                .filter_map(|l| verb_of(&l.replacen('`', "", 2))),
        );
        assert_eq!(seen, want, "{md}");

        // The diagram marks the reconnected application changed, not added.
        let web = md
            .lines()
            .find(|l| l.contains("([\"application web\"])"))
            .expect("web in the diagram");
        assert!(web.ends_with(":::changed"), "{web}");

        // The clone berth made that holds old-net is a clone in every
        // view, and the hint gives the command that detaches it.
        let detach = "docker network disconnect old-net old-copy";
        assert!(
            text.contains("clone of api") && text.contains(detach),
            "{text}"
        );
        assert!(md.contains("clone of api") && md.contains(detach), "{md}");
        let removal = changes.iter().find(|c| c["network"] == "old-net").unwrap();
        assert_eq!(removal["attached"][0]["clone_of"], "api", "{removal:#}");
        assert!(
            removal["hint"].as_str().unwrap().contains(detach),
            "{removal:#}"
        );
    }
}

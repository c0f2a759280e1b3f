//! The import on hand-built snapshots: what it writes loads, plans no
//! changes against the same snapshot, and keeps what berth declared.

use super::*;
use crate::config::{Config, SourceFile, load};
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
            ..Default::default()
        }],
        labels: extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

fn container(name: &str, nets: &[(&str, &[&str])], extra: &[(&str, &str)]) -> Container {
    Container {
        id: format!("{name}-0123456789"),
        name: name.into(),
        image: "busybox".into(),
        image_id: "sha256:b0".into(),
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
                        requested: Some(Default::default()),
                    },
                )
            })
            .collect(),
        env: Some(vec![("APP".into(), name.into())]),
        ..Default::default()
    }
}

fn snapshot(networks: Vec<Network>, containers: Vec<Container>) -> Snapshot {
    Snapshot {
        networks,
        containers,
        ..Default::default()
    }
}

fn server() -> Server {
    let base = load(&[SourceFile {
        path: "b.toml".into(),
        text: "[[server]]\nname = \"s\"\naddress = \"local\"\n".into(),
    }])
    .unwrap();
    base.servers[0].clone()
}

/// Imports `snapshot`, loads the text, and checks that its plan against
/// the same snapshot is empty.
fn round_trip(snapshot: &Snapshot) -> (String, Config) {
    let (text, config, p) = imported_plan(snapshot);
    assert!(p.missing.is_empty(), "{:#?}\n{text}", p.missing);
    (text, config)
}

/// The import of `snapshot` loaded, and its plan against the same
/// snapshot, checked to change nothing and have no errors.
fn imported_plan(snapshot: &Snapshot) -> (String, Config, crate::plan::Plan) {
    let text = import(None, &server(), snapshot);
    let config = load(&[SourceFile {
        path: "import.toml".into(),
        text: text.clone(),
    }])
    .map_err(|d| d.render(false))
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut live = LiveState::default();
    live.servers.insert("s".into(), Ok(snapshot.clone()));
    let p = plan(&config, &live, Options::default());
    assert!(p.changes.is_empty(), "{:#?}\n{text}", p.changes);
    assert!(p.errors.is_empty(), "{:#?}\n{text}", p.errors);
    (text, config, p)
}

fn berth_net(name: &str, subnet: &str, destination: &str) -> Network {
    net(
        name,
        subnet,
        &[
            ("berth.managed", "true"),
            ("berth.owner", "acme"),
            ("berth.destination", destination),
        ],
    )
}

#[test]
fn imported_config_plans_no_changes_on_the_same_server() {
    let snapshot = snapshot(
        vec![
            net("front", "10.1.0.0/24", &[("team", "web")]),
            net("data", "10.2.0.0/24", &[]),
            net(
                "mon_default",
                "10.3.0.0/24",
                &[("com.docker.compose.network", "default")],
            ),
            net("bridge", "172.17.0.0/16", &[]),
        ],
        vec![
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
    );
    let (text, config) = round_trip(&snapshot);
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
    assert!(!text.contains("short_aliases"), "{text}");
}

#[test]
fn destinations_keep_the_name_berth_labelled_their_network_with() {
    let snapshot = snapshot(
        vec![
            berth_net("acme-prod-net", "10.1.0.0/24", "production"),
            net("by-hand", "10.2.0.0/24", &[]),
        ],
        vec![container("api", &[("acme-prod-net", &["api"])], &[])],
    );
    let (text, config) = round_trip(&snapshot);
    let prod = config.destination("production").expect(&text);
    assert_eq!(prod.network, "acme-prod-net");
    assert!(config.destination("by-hand").is_some(), "{text}");
    assert_eq!(
        config.owner, "acme",
        "the owner of berth's networks\n{text}"
    );
    assert!(
        !text.contains("berth.destination") && !text.contains("berth.managed"),
        "berth's labels are its own\n{text}"
    );
    assert!(
        !text.contains("prevent_removal"),
        "no guard recorded, none written\n{text}"
    );
}

/// The guard berth records on a network (`berth.prevent_removal=true`)
/// comes back as the destination's `prevent_removal = true`.
#[test]
fn a_network_berth_guarded_comes_back_with_prevent_removal() {
    let mut guarded = berth_net("acme-db-net", "10.3.0.0/24", "db");
    guarded
        .labels
        .insert("berth.prevent_removal".into(), "true".into());
    let snapshot = snapshot(
        vec![guarded, berth_net("acme-web-net", "10.4.0.0/24", "web")],
        vec![],
    );
    let (text, config) = round_trip(&snapshot);
    let db = config.destination("db").expect(&text);
    assert!(db.spec.prevent_removal, "{text}");
    assert!(text.contains("prevent_removal = true"), "{text}");
    assert!(!text.contains("berth.prevent_removal"), "{text}");
    let web = config.destination("web").expect(&text);
    assert!(!web.spec.prevent_removal, "{text}");
}

#[test]
fn a_stack_with_short_aliases_comes_back_with_them() {
    let stack = |service: &str, aliases: &'static [&'static str]| {
        container(
            &format!("mon-{service}-1"),
            &[("mon_default", &[]), ("front", aliases)],
            &[
                ("com.docker.compose.project", "mon"),
                ("com.docker.compose.service", service),
            ],
        )
    };
    let snapshot = snapshot(
        vec![
            net("front", "10.1.0.0/24", &[]),
            net(
                "mon_default",
                "10.3.0.0/24",
                &[("com.docker.compose.network", "default")],
            ),
        ],
        vec![
            stack("grafana", &["grafana-mon", "grafana"]),
            stack("prom", &["prom-mon", "prom"]),
        ],
    );
    let (text, config) = round_trip(&snapshot);
    assert!(config.stacks[0].short_aliases, "{text}");
    assert!(config.stacks[0].connect_to_predefined_networks, "{text}");
}

#[test]
fn clones_come_back_as_clones_of_their_source() {
    let copy = |name: &str, dest: &str, source: &str, like: &str| {
        let mut c = container(
            name,
            &[(&format!("{dest}-net"), &[] as &[&str])]
                .map(|(n, a)| (Box::leak(n.clone().into_boxed_str()) as &str, a)),
            &[
                ("berth.managed", "true"),
                ("berth.owner", "acme"),
                ("berth.destination", dest),
                ("berth.kind", "application"),
                ("berth.clone-of", source),
            ],
        );
        c.labels
            .insert("berth.resource".into(), format!("{source}-{dest}"));
        c.env = Some(vec![("APP".into(), like.into())]);
        c
    };
    let snapshot = snapshot(
        vec![
            berth_net("prod-net", "10.1.0.0/24", "prod"),
            berth_net("stg-net", "10.2.0.0/24", "stg"),
        ],
        vec![
            // The source of one clone runs under the clone's recorded name,
            container("api", &[("prod-net", &["api"])], &[]),
            copy("api-copy", "stg", "api", "api"),
            // the other's under another name: told by what the copy shares.
            container("worker-1", &[("prod-net", &["jobs"])], &[]),
            copy("worker-copy", "stg", "worker", "worker-1"),
        ],
    );
    let (text, config) = round_trip(&snapshot);
    let by_name = |n: &str| {
        config
            .resources
            .iter()
            .find(|r| r.name == n)
            .unwrap_or_else(|| panic!("no resource {n}\n{text}"))
    };
    assert_eq!(
        by_name("api-stg").clone_of.as_deref(),
        Some("api"),
        "{text}"
    );
    assert_eq!(
        by_name("worker-stg").clone_of.as_deref(),
        Some("worker"),
        "{text}"
    );
    assert_eq!(
        by_name("worker").selector,
        crate::config::Selector::Name("worker-1".into()),
        "the source renamed after the clone's record\n{text}"
    );
}

#[test]
fn a_clone_whose_source_cannot_be_told_stays_valid_and_says_so() {
    let mut copy = container(
        "ghost-copy",
        &[("prod-net", &[])],
        &[
            ("berth.destination", "prod"),
            ("berth.kind", "application"),
            ("berth.resource", "ghost-copy"),
            ("berth.clone-of", "ghost"),
        ],
    );
    copy.env = Some(vec![("APP".into(), "nobody".into())]);
    let snapshot = snapshot(
        vec![berth_net("prod-net", "10.1.0.0/24", "prod")],
        vec![copy],
    );
    let (text, config) = round_trip(&snapshot);
    assert_eq!(config.resources[0].clone_of, None, "{text}");
    assert!(text.contains("a copy of application `ghost`"), "{text}");
}

#[test]
fn a_stack_clone_comes_back_as_a_clone_of_its_stack() {
    let member = |project: &str, clone: Option<(&'static str, &'static str)>| {
        let net: &'static str = if clone.is_some() {
            "stg-net"
        } else {
            "prod-net"
        };
        let alias: &'static str = Box::leak(format!("web-{project}").into_boxed_str());
        let aliases: &'static [&'static str] = Box::leak(vec![alias].into_boxed_slice());
        let mut c = container(
            &format!("{project}-web-1"),
            &[(net, aliases)],
            &[("com.docker.compose.service", "web")],
        );
        c.labels
            .insert("com.docker.compose.project".into(), project.into());
        if let Some((resource, dest)) = clone {
            for (k, v) in [
                ("berth.resource", resource),
                ("berth.kind", "service"),
                ("berth.destination", dest),
                ("berth.clone-of", "monitoring"),
            ] {
                c.labels.insert(k.into(), v.into());
            }
        }
        c
    };
    let snapshot = snapshot(
        vec![
            berth_net("prod-net", "10.1.0.0/24", "prod"),
            berth_net("stg-net", "10.2.0.0/24", "stg"),
        ],
        vec![
            member("monitoring", None),
            member("monstg", Some(("monitoring-stg", "stg"))),
        ],
    );
    let (text, config) = round_trip(&snapshot);
    let clone = config
        .stacks
        .iter()
        .find(|s| s.name == "monitoring-stg")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(clone.clone_of.as_deref(), Some("monitoring"), "{text}");
    assert_eq!(clone.project, "monstg");
    assert_eq!(clone.destination, "stg");
}

#[test]
fn every_network_property_a_destination_has_comes_back() {
    let mut n = berth_net("edge-net", "10.9.0.0/24", "edge");
    n.internal = true;
    n.attachable = true;
    n.enable_ipv6 = true;
    n.ipam[0].gateway = Some("10.9.0.254".parse().unwrap());
    n.ipam[0].ip_range = Some("10.9.0.128/25".parse().unwrap());
    n.ipam.push(IpamPool {
        subnet: Some("fd00:9::/64".parse().unwrap()),
        gateway: Some("fd00:9::1".parse().unwrap()),
        ip_range: None,
        ..Default::default()
    });
    n.options
        .insert("com.docker.network.driver.mtu".into(), "1400".into());
    n.labels.insert("team".into(), "core".into());
    let snapshot = snapshot(vec![n], vec![]);
    let (text, config) = round_trip(&snapshot);
    let spec = &config.destinations[0].spec;
    assert!(
        spec.internal && spec.attachable && spec.enable_ipv6 == Some(true),
        "{text}"
    );
    assert_eq!(
        spec.ip_range.map(|r| r.to_string()).as_deref(),
        Some("10.9.0.128/25")
    );
    assert_eq!(
        spec.gateway.map(|g| g.to_string()).as_deref(),
        Some("10.9.0.254")
    );
    assert_eq!(
        spec.subnet_v6.map(|s| s.to_string()).as_deref(),
        Some("fd00:9::/64")
    );
    assert_eq!(
        spec.gateway_v6.map(|g| g.to_string()).as_deref(),
        Some("fd00:9::1")
    );
    assert_eq!(spec.options["com.docker.network.driver.mtu"], "1400");
    assert_eq!(spec.labels["team"], "core");
}

#[test]
fn coolify_resources_come_back_by_id_and_type() {
    let coolify = |name: &str, net: &'static str, kind: &str, id: (&str, &str)| {
        container(
            name,
            &[(net, &["x"])],
            &[
                ("coolify.managed", "true"),
                ("coolify.type", kind),
                id,
                ("coolify.resourceName", "shop"),
                ("coolify.pullRequestId", "0"),
            ],
        )
    };
    let mut preview = coolify(
        "abc-pr-7",
        "front",
        "application",
        ("coolify.applicationId", "12"),
    );
    preview
        .labels
        .insert("coolify.pullRequestId".into(), "7".into());
    let snapshot = snapshot(
        vec![net("front", "10.1.0.0/24", &[])],
        vec![
            coolify(
                "abc-1712",
                "front",
                "application",
                ("coolify.applicationId", "12"),
            ),
            coolify("pg-9", "front", "database", ("coolify.databaseId", "3")),
            preview,
        ],
    );
    let (text, config) = round_trip(&snapshot);
    let kinds: Vec<(ResourceKind, &str)> = config
        .resources
        .iter()
        .map(|r| (r.kind, r.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ResourceKind::Application, "shop"),
            (ResourceKind::Database, "shop")
        ],
        "{text}"
    );
    assert!(text.contains("# abc-pr-7: a preview deployment"), "{text}");
}

#[test]
fn a_database_clone_makes_its_plain_source_a_database() {
    let mut copy = container(
        "pg-staging",
        &[("stg-net", &["pg-staging"])],
        &[
            ("berth.destination", "stg"),
            ("berth.kind", "database"),
            ("berth.resource", "pg-staging"),
            ("berth.clone-of", "pg"),
        ],
    );
    copy.env = Some(vec![("APP".into(), "pg-main".into())]);
    let snapshot = snapshot(
        vec![
            berth_net("prod-net", "10.1.0.0/24", "prod"),
            berth_net("stg-net", "10.2.0.0/24", "stg"),
        ],
        vec![container("pg-main", &[("prod-net", &["db"])], &[]), copy],
    );
    let (text, config) = round_trip(&snapshot);
    let pg = config
        .resources
        .iter()
        .find(|r| r.name == "pg")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(pg.kind, ResourceKind::Database, "{text}");
    assert!(text.contains("clone_of = \"pg\""), "{text}");
}

#[test]
fn swarm_services_and_stacks_come_back_by_service_and_namespace() {
    use crate::live::swarm::{EndpointMode, Service, ServiceMode, ServiceNetwork, Swarm};
    let service = |name: &str, aliases: &[&str], extra: &[(&str, &str)]| Service {
        id: format!("{name}-id"),
        name: name.into(),
        version: 1,
        labels: extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        image: "busybox".into(),
        mode: ServiceMode::Replicated { replicas: 1 },
        networks: vec![ServiceNetwork {
            network: "mesh".into(),
            id: "mesh".into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }],
        endpoint_mode: EndpointMode::Vip,
        published_ports: Vec::new(),
        update: None,
        update_state: None,
        mounts: Vec::new(),
    };
    let mut mesh = net("mesh", "10.50.0.0/24", &[]);
    mesh.driver = "overlay".into();
    mesh.attachable = true;
    let mut snapshot = snapshot(
        vec![mesh],
        vec![container(
            "api.1.x7",
            &[("mesh", &["api"])],
            &[("com.docker.swarm.service.name", "api")],
        )],
    );
    snapshot.swarm = Some(Swarm {
        services: vec![
            service("api", &["api", "api-v2"], &[]),
            service(
                "mon_grafana",
                &["grafana-mon", "grafana"],
                &[("com.docker.stack.namespace", "mon")],
            ),
        ],
        ..Default::default()
    });
    // The planner reports a `docker stack deploy` stack whose tasks run on
    // other nodes as missing (it looks for compose containers): not the
    // import's to change.
    let (text, config, p) = imported_plan(&snapshot);
    assert!(
        p.missing.iter().all(|m| m.resource.name == "mon"),
        "{:#?}\n{text}",
        p.missing
    );
    assert_eq!(
        config.resources.len(),
        1,
        "the task's container is its service's\n{text}"
    );
    assert_eq!(
        config.resources[0].selector,
        crate::config::Selector::SwarmService("api".into()),
        "{text}"
    );
    assert_eq!(config.resources[0].aliases, ["api", "api-v2"], "{text}");
    assert_eq!(config.destinations[0].spec.driver, "overlay", "{text}");
    let stack = &config.stacks[0];
    assert_eq!(stack.project, "mon", "{text}");
    assert!(
        stack.connect_to_predefined_networks && stack.short_aliases,
        "{text}"
    );
}

#[test]
fn a_container_with_the_same_aliases_on_several_destinations_is_shared() {
    let snapshot = snapshot(
        vec![
            net("a-net", "10.1.0.0/24", &[]),
            net("b-net", "10.2.0.0/24", &[]),
        ],
        vec![
            container(
                "proxy",
                &[("a-net", &["proxy"]), ("b-net", &["proxy"])],
                &[],
            ),
            container("web", &[("a-net", &["web"]), ("b-net", &["www"])], &[]),
        ],
    );
    let (text, config) = round_trip(&snapshot);
    let proxy = config
        .resources
        .iter()
        .find(|r| r.name == "proxy")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        proxy.placement,
        crate::config::Placement::Listed(vec!["a-net".into(), "b-net".into()]),
        "{text}"
    );
    assert_eq!(
        config.resources.len(),
        3,
        "web twice, its aliases differ\n{text}"
    );
}

#[test]
fn a_destination_label_naming_another_network_never_makes_two_destinations_of_one_name() {
    // `a-net` says its destination is `zzz`, and a network named `zzz`
    // exists too (and a `zzz-2`): every destination still gets its own name.
    let snapshot = snapshot(
        vec![
            berth_net("a-net", "10.1.0.0/24", "zzz"),
            net("zzz", "10.2.0.0/24", &[]),
            net("zzz-2", "10.3.0.0/24", &[]),
        ],
        Vec::new(),
    );
    let (text, config) = round_trip(&snapshot);
    let names: BTreeSet<&str> = config
        .destinations
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names.len(), 3, "{text}");
    assert_eq!(config.destination("zzz").expect(&text).network, "a-net");
}

#[test]
fn a_label_value_with_control_characters_never_breaks_the_toml() {
    let mut preview = container(
        "abc-pr-7",
        &[("front", &["x"])],
        &[
            ("coolify.managed", "true"),
            ("coolify.type", "application"),
            ("coolify.applicationId", "12"),
        ],
    );
    preview
        .labels
        .insert("coolify.pullRequestId".into(), "7\r\u{1b}[2J\u{0}".into());
    let snapshot = snapshot(vec![net("front", "10.1.0.0/24", &[])], vec![preview]);
    let (text, _) = round_trip(&snapshot);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
    assert!(
        text.contains("coolify.pullRequestId=7\\r\\u{1b}[2J\\u{0}"),
        "{text}"
    );
}

/// Several servers imported as one config (`import --server 'web-*'`):
/// it loads, groups what is alike, and plans no change on any of them.
#[test]
fn a_fleet_import_groups_networks_alike_and_plans_no_change() {
    let servers = load(&[SourceFile {
        path: "b.toml".into(),
        text: "[[server]]\nname = \"a\"\naddress = \"local\"\ntags = [\"web\"]\n\
               [[server]]\nname = \"b\"\naddress = \"local\"\ntags = [\"web\"]\n\
               [[server]]\nname = \"c\"\naddress = \"local\"\n"
            .into(),
    }])
    .unwrap()
    .servers;
    let proxy = |n: &[(&'static str, &'static [&'static str])]| container("proxy", n, &[]);
    let pooled = |subnet: &str| {
        let mut n = berth_net("pooled", subnet, "pooled");
        n.labels
            .insert("berth.subnet_pool".into(), "10.64.0.0/14".into());
        n
    };
    let a = snapshot(
        vec![
            net("coolify", "10.0.1.0/24", &[]),
            net("apps", "10.9.0.0/24", &[]),
            net("solo", "10.7.0.0/24", &[]),
            pooled("10.64.0.0/24"),
        ],
        vec![
            proxy(&[("coolify", &["proxy"]), ("apps", &["proxy"])]),
            container("api", &[("apps", &["api"])], &[]),
        ],
    );
    let b = snapshot(
        vec![
            net("coolify", "10.0.1.0/24", &[]),
            net("apps", "10.9.0.0/24", &[]),
            pooled("10.64.1.0/24"),
        ],
        vec![proxy(&[("coolify", &["proxy"]), ("apps", &["proxy"])])],
    );
    let c = snapshot(
        vec![
            net("coolify", "10.0.1.0/24", &[]),
            // Same name, another spec: its own destination.
            net("apps", "10.5.0.0/24", &[]),
        ],
        vec![container("api", &[("apps", &["api", "v2"])], &[])],
    );
    let fleet: Vec<(&Server, &Snapshot)> =
        vec![(&servers[0], &a), (&servers[1], &b), (&servers[2], &c)];
    let text = import_fleet(None, &fleet);
    let config = load(&[SourceFile {
        path: "import.toml".into(),
        text: text.clone(),
    }])
    .map_err(|d| d.render(false))
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let dests = doc["destination"].as_array().unwrap();
    let find = |name: &str| {
        dests
            .iter()
            .find(|d| d["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no destination {name}\n{text}"))
    };
    assert_eq!(find("coolify")["servers"].as_str(), Some("*"), "{text}");
    assert_eq!(
        find("apps")["servers"].as_array().unwrap()[0].as_str(),
        Some("tag:web"),
        "{text}"
    );
    assert_eq!(find("apps-c")["server"].as_str(), Some("c"), "{text}");
    assert_eq!(find("solo")["server"].as_str(), Some("a"), "{text}");
    // Networks of one pool are one destination, whatever their subnets.
    let pool = find("pooled");
    assert_eq!(pool["subnet_pool"].as_str(), Some("10.64.0.0/14"), "{text}");
    assert_eq!(pool["subnet_prefix"].as_integer(), Some(24), "{text}");
    assert!(
        pool.get("subnet").is_none() && pool.get("gateway").is_none(),
        "{text}"
    );
    // The proxy alike on a and b is one table; api differs on c.
    assert_eq!(doc["application"].as_array().unwrap().len(), 3, "{text}");
    assert!(
        text.contains("name = \"api-c\"\ndestination = \"apps-c\"\ncontainer = \"api\""),
        "{text}"
    );

    let mut live = LiveState::default();
    for (s, snap) in &fleet {
        live.servers.insert(s.name.clone(), Ok((*snap).clone()));
    }
    let p = plan(&config, &live, Options::default());
    assert!(p.changes.is_empty(), "{:#?}\n{text}", p.changes);
    assert!(p.errors.is_empty(), "{:#?}\n{text}", p.errors);
}

/// Attachment settings in a fleet import: a resource with the same ones on
/// every server of a grouped destination is one table carrying them; where
/// they differ between servers, the destination stays one per server and
/// each server's table keeps its own; a pooled destination where a
/// resource has a static IPv4 address stays one per server with its
/// subnet (a pool gives no static address). Loads, plans no change.
#[test]
fn a_fleet_import_keeps_attachment_settings_alike_or_per_server() {
    let servers = load(&[SourceFile {
        path: "b.toml".into(),
        text: "[[server]]\nname = \"a\"\naddress = \"local\"\n\
               [[server]]\nname = \"b\"\naddress = \"local\"\n"
            .into(),
    }])
    .unwrap()
    .servers;
    let with = |mut c: Container, net: &str, r: crate::live::Requested| {
        c.networks.get_mut(net).unwrap().requested = Some(r);
        c
    };
    let ip = |a: &str| crate::live::Requested {
        ipv4_address: Some(a.parse().unwrap()),
        ..Default::default()
    };
    let opts = crate::live::Requested {
        driver_opts: [("com.example.opt".to_string(), "1".to_string())].into(),
        link_local_ips: vec!["169.254.10.5".parse().unwrap()],
        ..Default::default()
    };
    let pooled = |subnet: &str| {
        let mut n = berth_net("pooled", subnet, "pooled");
        n.labels
            .insert("berth.subnet_pool".into(), "10.64.0.0/14".into());
        n
    };
    let on = |server: usize, cache: &str, db: &str, q: &str| {
        snapshot(
            vec![
                net("apps", "10.9.0.0/24", &[]),
                net("data", "10.8.0.0/24", &[]),
                pooled(&format!("10.64.{server}.0/24")),
            ],
            vec![
                // The same static address and options on both servers.
                with(
                    container("api", &[("apps", &["api"])], &[]),
                    "apps",
                    opts.clone(),
                ),
                with(
                    container("cache", &[("apps", &["cache"])], &[]),
                    "apps",
                    ip(cache),
                ),
                with(container("db", &[("data", &["db"])], &[]), "data", ip(db)),
                with(container("q", &[("pooled", &["q"])], &[]), "pooled", ip(q)),
            ],
        )
    };
    let a = on(0, "10.9.0.5", "10.8.0.5", "10.64.0.5");
    let b = on(1, "10.9.0.5", "10.8.0.6", "10.64.1.5");
    let fleet: Vec<(&Server, &Snapshot)> = vec![(&servers[0], &a), (&servers[1], &b)];
    let text = import_fleet(None, &fleet);
    let config = load(&[SourceFile {
        path: "import.toml".into(),
        text: text.clone(),
    }])
    .map_err(|d| d.render(false))
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let dests = doc["destination"].as_array().unwrap();
    let dest = |name: &str| {
        dests
            .iter()
            .find(|d| d["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no destination {name}\n{text}"))
    };
    let apps = doc["application"].as_array().unwrap();
    let app = |name: &str| {
        apps.iter()
            .find(|d| d["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no application {name}\n{text}"))
    };
    // Alike on both: one destination, one table each with its settings.
    assert_eq!(dest("apps")["servers"].as_str(), Some("*"), "{text}");
    assert_eq!(
        app("cache")["ipv4_address"].as_str(),
        Some("10.9.0.5"),
        "{text}"
    );
    assert_eq!(
        app("api")["driver_opts"]["com.example.opt"].as_str(),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        app("api")["link_local_ips"].as_array().unwrap()[0].as_str(),
        Some("169.254.10.5"),
        "{text}"
    );
    // db's address differs: `data` per server, a table on each.
    assert_eq!(dest("data")["server"].as_str(), Some("a"), "{text}");
    assert_eq!(dest("data-b")["server"].as_str(), Some("b"), "{text}");
    assert_eq!(app("db")["destination"].as_str(), Some("data"), "{text}");
    assert_eq!(
        app("db")["ipv4_address"].as_str(),
        Some("10.8.0.5"),
        "{text}"
    );
    assert_eq!(
        app("db-b")["destination"].as_str(),
        Some("data-b"),
        "{text}"
    );
    assert_eq!(app("db-b")["container"].as_str(), Some("db"), "{text}");
    assert_eq!(
        app("db-b")["ipv4_address"].as_str(),
        Some("10.8.0.6"),
        "{text}"
    );
    // A static address on a pooled network: per server, with its subnet.
    assert_eq!(dest("pooled")["server"].as_str(), Some("a"), "{text}");
    assert_eq!(
        dest("pooled")["subnet"].as_str(),
        Some("10.64.0.0/24"),
        "{text}"
    );
    assert!(dest("pooled").get("subnet_pool").is_none(), "{text}");
    assert_eq!(
        dest("pooled-b")["subnet"].as_str(),
        Some("10.64.1.0/24"),
        "{text}"
    );
    assert_eq!(
        app("q-b")["ipv4_address"].as_str(),
        Some("10.64.1.5"),
        "{text}"
    );

    let mut live = LiveState::default();
    for (s, snap) in &fleet {
        live.servers.insert(s.name.clone(), Ok((*snap).clone()));
    }
    let p = plan(&config, &live, Options::default());
    assert!(p.changes.is_empty(), "{:#?}\n{text}", p.changes);
    assert!(p.errors.is_empty(), "{:#?}\n{text}", p.errors);
    assert!(p.missing.is_empty(), "{:#?}\n{text}", p.missing);
}

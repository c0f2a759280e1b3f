//! The planner on hand-built configs and live states: no Docker involved.

use std::collections::BTreeMap;

use super::*;
use crate::config::{
    Address, Config, Destination, NetworkSpec, Resource, ResourceKind, Selector, Server,
};
use crate::diag::Location;
use crate::live::{Container, Endpoint, IpamPool, LiveState, Network, Snapshot};

const OWNER: &str = "acme";

fn at() -> Location {
    Location {
        file: "berth.toml".into(),
        span: 0..0,
    }
}

fn spec(subnet: Option<&str>) -> NetworkSpec {
    NetworkSpec {
        driver: "bridge".into(),
        internal: false,
        attachable: false,
        subnet: subnet.map(|s| s.parse().unwrap()),
        gateway: None,
        ip_range: None,
        enable_ipv6: None,
        subnet_v6: None,
        gateway_v6: None,
        options: Default::default(),
        labels: BTreeMap::new(),
        subnet_pool: None,
        ..Default::default()
    }
}

fn dest(name: &str, network: &str, subnet: Option<&str>) -> Destination {
    Destination {
        name: name.into(),
        server: "s1".into(),
        network: network.into(),
        spec: spec(subnet),
        group: None,
        pool: None,
        manage: false,
        prevent_removal: None,
        at: at(),
    }
}

fn config(destinations: Vec<Destination>) -> Config {
    Config {
        owner: OWNER.into(),
        partial: false,
        strict: false,
        ssh_persist: crate::config::DEFAULT_SSH_PERSIST,
        servers: vec![Server {
            name: "s1".into(),
            address: Address::Local,
            tags: Vec::new(),
            at: at(),
        }],
        destinations,
        resources: Vec::new(),
        stacks: Vec::new(),
        alerts: Vec::new(),
        by_server: Default::default(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A network as Docker reports it: the daemon fills in a gateway.
fn net(name: &str, subnet: &str, owner: Option<&str>) -> Network {
    let mut l = BTreeMap::new();
    if let Some(o) = owner {
        l = labels(&[
            ("berth.managed", "true"),
            ("berth.owner", o),
            ("berth.destination", "whatever"),
        ]);
    }
    let subnet: ipnet::IpNet = subnet.parse().unwrap();
    Network {
        id: format!("id-{name}"),
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
        labels: l,
        ..Default::default()
    }
}

fn container(name: &str, network: &str, running: bool, l: &[(&str, &str)]) -> Container {
    Container {
        id: format!("{name}0123456789abcdef"),
        name: name.into(),
        image: "busybox".into(),
        running,
        labels: labels(l),
        networks: [(network.to_string(), Endpoint::default())]
            .into_iter()
            .collect(),
        env: None,
        ..Default::default()
    }
}

/// One server, `s1`, with these networks and containers.
pub(super) fn live(networks: Vec<Network>, containers: Vec<Container>) -> LiveState {
    let mut l = LiveState::default();
    l.servers.insert(
        "s1".into(),
        Ok(Snapshot {
            networks,
            containers,
            images: None,
            journals: Vec::new(),
            swarm: None,
        }),
    );
    l
}

/// Typed views of a change, for assertions.
fn spec_of(c: &Change) -> &NetworkSpec {
    match c {
        Change::CreateNetwork(c) => &c.spec,
        Change::ReplaceNetwork(c) => &c.spec,
        other => panic!("no spec: {other:?}"),
    }
}

fn differences(c: &Change) -> &[Difference] {
    match c {
        Change::ReplaceNetwork(c) => &c.differences,
        _ => &[],
    }
}

fn clone_spec(c: &Change) -> &CloneSpec {
    match c {
        Change::Clone(c) => &c.clone,
        other => panic!("not a clone: {other:?}"),
    }
}

fn aliases(c: &Change) -> Option<Vec<String>> {
    match c {
        Change::Connect(c) => Some(c.aliases.clone()),
        Change::Clone(c) => c.aliases.clone(),
        _ => None,
    }
}

fn live_aliases(c: &Change) -> Option<Vec<String>> {
    match c {
        Change::Connect(c) => c.live_aliases.clone(),
        _ => None,
    }
}

fn code(w: &Warning) -> String {
    serde_json::to_value(w.code)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn run(c: &Config, l: &LiveState) -> Plan {
    plan(c, l, Options::default())
}

#[test]
fn missing_network_is_created_with_its_spec() {
    let p = run(
        &config(vec![dest("prod", "prod-net", Some("10.30.0.0/24"))]),
        &live(vec![], vec![]),
    );
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!(
        (c.action(), c.status()),
        (Action::CreateNetwork, ChangeStatus::Planned)
    );
    assert_eq!(c.destination(), Some("prod"));
    assert_eq!(spec_of(c).subnet.unwrap().to_string(), "10.30.0.0/24");
    assert_eq!(p.summary.get("create_network"), Some(&1));
}

#[test]
fn daemon_defaults_are_not_drift() {
    // No subnet declared; the daemon chose one and a gateway: nothing to do.
    let c = config(vec![dest("prod", "prod-net", None)]);
    let p = run(
        &c,
        &live(vec![net("prod-net", "172.20.0.0/16", Some(OWNER))], vec![]),
    );
    assert!(p.changes.is_empty(), "{:?}", p.changes);
    assert!(p.errors.is_empty());
}

#[test]
fn renaming_a_destination_touches_nothing() {
    // berth.destination still says the old name: not drift.
    let c = config(vec![dest("renamed", "prod-net", Some("10.30.0.0/24"))]);
    let p = run(
        &c,
        &live(vec![net("prod-net", "10.30.0.0/24", Some(OWNER))], vec![]),
    );
    assert!(p.changes.is_empty(), "{:?}", p.changes);
}

#[test]
fn foreign_network_is_adopted_never_removed() {
    let c = config(vec![dest("prod", "prod-net", None)]);
    let p = run(
        &c,
        &live(vec![net("prod-net", "10.1.0.0/24", None)], vec![]),
    );
    assert!(p.changes.is_empty());
    // No longer declared: still never removed, it is not berth's.
    let p = run(
        &config(vec![]),
        &live(vec![net("prod-net", "10.1.0.0/24", None)], vec![]),
    );
    assert!(p.changes.is_empty());
}

#[test]
fn adopted_network_that_differs_is_an_error_not_a_change() {
    let c = config(vec![dest("prod", "prod-net", Some("10.2.0.0/24"))]);
    let p = run(
        &c,
        &live(vec![net("prod-net", "10.1.0.0/24", None)], vec![]),
    );
    assert!(p.changes.is_empty());
    assert_eq!(p.errors.len(), 1);
    assert!(
        p.errors[0].message.contains("berth did not create it"),
        "{}",
        p.errors[0].message
    );
    assert!(p.errors[0].message.contains("subnet"));
}

#[test]
fn another_owners_network_is_neither_replaced_nor_removed() {
    let theirs = net("prod-net", "10.1.0.0/24", Some("someone-else"));
    let p = run(&config(vec![]), &live(vec![theirs.clone()], vec![]));
    assert!(p.changes.is_empty());
    let p = run(
        &config(vec![dest("prod", "prod-net", Some("10.2.0.0/24"))]),
        &live(vec![theirs], vec![]),
    );
    assert!(p.changes.is_empty());
    assert!(p.errors[0].message.contains("someone-else"));
}

#[test]
fn changed_subnet_replaces_an_empty_owned_network() {
    let c = config(vec![dest("prod", "prod-net", Some("10.2.0.0/24"))]);
    let p = run(
        &c,
        &live(vec![net("prod-net", "10.1.0.0/24", Some(OWNER))], vec![]),
    );
    assert_eq!(p.changes.len(), 1);
    let ch = &p.changes[0];
    assert_eq!(
        (ch.action(), ch.status()),
        (Action::ReplaceNetwork, ChangeStatus::Planned)
    );
    assert_eq!(differences(ch)[0].property, "subnet");
    assert_eq!(differences(ch)[0].live, "10.1.0.0/24");
    assert_eq!(differences(ch)[0].desired, "10.2.0.0/24");
}

#[test]
fn replace_is_blocked_while_containers_are_attached_unless_allowed() {
    let c = config(vec![dest("prod", "prod-net", Some("10.2.0.0/24"))]);
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![container("pg", "prod-net", false, &[])],
    );
    let p = run(&c, &l);
    let ch = &p.changes[0];
    assert_eq!(
        (ch.action(), ch.status()),
        (Action::ReplaceNetwork, ChangeStatus::Blocked)
    );
    assert!(
        ch.reasons()
            .iter()
            .any(|r| r.contains("pg (unmanaged, stopped)")),
        "{:?}",
        ch.reasons()
    );
    assert!(
        ch.hint().is_some_and(|h| h.contains("--allow-replace")),
        "the hint says how to unblock: {:?}",
        ch.hint()
    );
    assert_eq!(p.summary.get("blocked"), Some(&1));

    let p = plan(
        &c,
        &l,
        Options {
            allow_replace: true,
            ..Default::default()
        },
    );
    assert_eq!(p.changes[0].status(), ChangeStatus::Planned);
    assert_eq!(p.changes[0].attached()[0].container, "pg");
}

#[test]
fn changed_driver_internal_and_labels_are_replacements() {
    let mut d = dest("prod", "prod-net", None);
    d.spec.internal = true;
    d.spec.labels = labels(&[("team", "core")]);
    let p = run(
        &config(vec![d]),
        &live(vec![net("prod-net", "10.1.0.0/24", Some(OWNER))], vec![]),
    );
    let props: Vec<&str> = differences(&p.changes[0])
        .iter()
        .map(|d| d.property.as_str())
        .collect();
    assert_eq!(props, ["internal", "labels"]);
}

#[test]
fn undeclared_owned_network_is_removed() {
    let p = run(
        &config(vec![]),
        &live(vec![net("old-net", "10.9.0.0/24", Some(OWNER))], vec![]),
    );
    assert_eq!(p.changes.len(), 1);
    assert_eq!(
        (p.changes[0].action(), p.changes[0].status()),
        (Action::RemoveNetwork, ChangeStatus::Planned)
    );
}

#[test]
fn removal_is_blocked_by_every_attached_container_running_or_stopped() {
    let mut c = config(vec![dest("other", "other-net", None)]);
    c.resources.push(Resource {
        kind: ResourceKind::Database,
        name: "pg".into(),
        placement: crate::config::Placement::One("other".into()),
        selector: Selector::Name("pg-1".into()),
        aliases: vec!["pg".into()],
        endpoint: Default::default(),
        clone_of: None,
        at: at(),
    });
    let l = live(
        vec![
            net("old-net", "10.9.0.0/24", Some(OWNER)),
            net("other-net", "10.8.0.0/24", Some(OWNER)),
        ],
        vec![
            container("pg-1", "old-net", false, &[]),
            container(
                "web",
                "old-net",
                true,
                &[
                    ("coolify.type", "application"),
                    ("coolify.resourceName", "shop"),
                ],
            ),
            container(
                "grafana",
                "old-net",
                true,
                &[("com.docker.compose.project", "monitoring")],
            ),
            container("stray", "old-net", true, &[]),
        ],
    );
    let p = run(&c, &l);
    let rm = p
        .changes
        .iter()
        .find(|c| c.action() == Action::RemoveNetwork)
        .unwrap();
    assert_eq!(rm.status(), ChangeStatus::Blocked);
    let got: Vec<(String, String, Option<String>, bool)> = rm
        .attached()
        .iter()
        .map(|a| {
            (
                a.container.clone(),
                a.kind.to_string(),
                a.resource.clone(),
                a.running,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("pg-1".into(), "database".into(), Some("pg".into()), false),
            (
                "web".into(),
                "application".into(),
                Some("shop".into()),
                true
            ),
            (
                "grafana".into(),
                "service".into(),
                Some("monitoring".into()),
                true
            ),
            ("stray".into(), "unmanaged".into(), None, true),
        ]
    );
    assert_eq!(rm.reasons().len(), 4, "one per container");
    assert!(
        rm.reasons()[0].contains("pg-1 (database pg, stopped)"),
        "{}",
        rm.reasons()[0]
    );
    // More than three containers: one loop detaches them all; the declared
    // database is named with the way to move it through the config.
    assert_eq!(
        rm.hint(),
        Some(
            "to unblock, detach them by hand, then plan again: `for c in pg-1 web grafana stray; do docker network disconnect old-net \"$c\"; done`; or move database pg off it through the config: declare destination whatever again, reassign it, apply, then remove the destination"
        )
    );
}

/// A copy berth made whose resource the config no longer declares is a
/// clone of its source (not unmanaged, and not the source it copies the
/// Coolify labels of), and the blocked removal it holds says how to detach
/// it, with `-H` for a server that is not the local engine.
#[test]
fn a_berth_clone_blocks_a_removal_as_a_clone_with_the_command_that_detaches_it() {
    let mut c = config(vec![dest("other", "other-net", None)]);
    c.servers[0].address = Address::Unix("/run/s1/docker.sock".into());
    let mut copy_labels =
        crate::live::labels::of_copy(OWNER, "gone", ("application", "api-copy"), "api");
    copy_labels.insert("coolify.type".into(), "application".into());
    copy_labels.insert("coolify.resourceName".into(), "api".into());
    let mut copy = container("api-copy", "old-net", true, &[]);
    copy.labels = copy_labels;
    let l = live(
        vec![
            net("old-net", "10.9.0.0/24", Some(OWNER)),
            net("other-net", "10.8.0.0/24", Some(OWNER)),
        ],
        vec![copy],
    );
    let p = run(&c, &l);
    let rm = p
        .changes
        .iter()
        .find(|c| c.action() == Action::RemoveNetwork)
        .unwrap();
    assert_eq!(rm.status(), ChangeStatus::Blocked);
    let a = &rm.attached()[0];
    assert_eq!(
        (
            a.kind.as_str().into_owned(),
            a.resource.as_deref(),
            a.clone_of.as_deref()
        ),
        ("application".to_string(), Some("api-copy"), Some("api"))
    );
    assert_eq!(
        rm.reasons(),
        ["container api-copy (application api-copy, clone of api, running) is attached to old-net"]
    );
    assert_eq!(
        rm.hint(),
        Some(
            "to unblock, detach it by hand, then plan again: `docker -H 'unix:///run/s1/docker.sock' network disconnect old-net api-copy`; or keep destination whatever in the config"
        )
    );
}

/// Up to three containers get one command each; swarm services one
/// `service update` each (their tasks with them); odd names are quoted.
#[test]
fn a_removal_hint_lists_a_command_per_container_and_quotes_names() {
    let c = config(vec![]);
    let l = live(
        vec![net("old net", "10.9.0.0/24", Some(OWNER))],
        vec![
            container("a", "old net", true, &[]),
            container("b", "old net", false, &[]),
        ],
    );
    let p = run(&c, &l);
    let rm = p
        .changes
        .iter()
        .find(|c| c.action() == Action::RemoveNetwork)
        .unwrap();
    assert_eq!(
        rm.hint(),
        Some(
            "to unblock, detach them by hand, then plan again: `docker network disconnect 'old net' a`; `docker network disconnect 'old net' b`; or keep destination whatever in the config"
        )
    );
}

#[test]
fn predefined_networks_are_never_touched() {
    let mut bridge = net("bridge", "172.17.0.0/16", Some(OWNER));
    bridge.driver = "bridge".into();
    let p = run(&config(vec![]), &live(vec![bridge], vec![]));
    assert!(p.changes.is_empty());
}

#[test]
fn an_unreadable_server_is_reported_and_planned_for_nothing() {
    let c = config(vec![dest("prod", "prod-net", None)]);
    let mut l = LiveState::default();
    l.servers
        .insert("s1".into(), Err("cannot reach Docker".into()));
    let p = run(&c, &l);
    assert!(p.changes.is_empty());
    assert_eq!(p.servers[0].status, ServerHealth::Error);
    assert_eq!(p.servers[0].error.as_deref(), Some("cannot reach Docker"));
}

#[test]
fn declared_gateway_must_match() {
    let mut d = dest("prod", "prod-net", Some("10.1.0.0/24"));
    d.spec.gateway = Some("10.1.0.254".parse().unwrap());
    let p = run(
        &config(vec![d]),
        &live(vec![net("prod-net", "10.1.0.0/24", Some(OWNER))], vec![]),
    );
    assert_eq!(differences(&p.changes[0])[0].property, "gateway");
    assert_eq!(differences(&p.changes[0])[0].live, "10.1.0.1");
}

// --- assignments -----------------------------------------------------------

fn app(name: &str, destination: &str, selector: Selector, aliases: &[&str]) -> Resource {
    Resource {
        kind: ResourceKind::Application,
        name: name.into(),
        placement: crate::config::Placement::One(destination.into()),
        selector,
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        endpoint: Default::default(),
        clone_of: None,
        at: at(),
    }
}

fn declared_stack(name: &str, destination: &str, connect: bool) -> crate::config::Stack {
    crate::config::Stack {
        name: name.into(),
        destination: destination.into(),
        project: name.into(),
        connect_to_predefined_networks: connect,
        short_aliases: false,
        compose_file: None,
        clone_of: None,
        attachments: Default::default(),
        at: at(),
    }
}

/// A container as inspected: its aliases on each of its networks are known.
fn on(mut c: Container, extra: &[(&str, &[&str])]) -> Container {
    for (net, aliases) in extra {
        c.networks.insert(net.to_string(), Endpoint::default());
        c.networks.get_mut(*net).unwrap().aliases =
            Some(aliases.iter().map(|a| a.to_string()).collect());
    }
    c
}

fn actions(p: &Plan) -> Vec<(Action, String, Option<String>, ChangeStatus)> {
    p.changes
        .iter()
        .map(|c| {
            (
                c.action(),
                c.network().to_string(),
                c.container().map(str::to_string),
                c.status(),
            )
        })
        .collect()
}

#[test]
fn unattached_application_is_connected_with_its_aliases() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.resources.push(app(
        "api",
        "prod",
        Selector::Name("api".into()),
        &["api", "api-v2"],
    ));
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![container("api", "bridge", true, &[])],
    );
    let p = run(&c, &l);
    assert_eq!(
        actions(&p),
        [(
            Action::Connect,
            "prod-net".into(),
            Some("api".into()),
            ChangeStatus::Planned
        )]
    );
    assert_eq!(
        aliases(&p.changes[0]).as_deref(),
        Some(&["api".to_string(), "api-v2".to_string()][..])
    );
    assert_eq!(
        p.changes[0].resource().cloned(),
        Some(ResourceRef::new(ResourceKind::Application, "api"))
    );
}

#[test]
fn aliases_are_compared_as_sets_ignoring_the_short_id_and_fixed_by_reconnecting() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.resources.push(app(
        "api",
        "prod",
        Selector::Name("api".into()),
        &["api", "v2"],
    ));
    let nets = vec![net("prod-net", "10.1.0.0/24", Some(OWNER))];
    // Docker adds the short id as an alias by itself: not drift.
    let same = on(
        container("api", "bridge", true, &[]),
        &[("prod-net", &["v2", "api", "api012345678"])],
    );
    assert!(run(&c, &live(nets.clone(), vec![same])).changes.is_empty());

    let other = on(
        container("api", "bridge", true, &[]),
        &[("prod-net", &["old"])],
    );
    let p = run(&c, &live(nets, vec![other]));
    assert_eq!(
        p.changes.len(),
        1,
        "one change for the user: {:?}",
        p.changes
    );
    let ch = &p.changes[0];
    assert_eq!(ch.action(), Action::Connect);
    assert_eq!(live_aliases(ch).as_deref(), Some(&["old".to_string()][..]));
    assert!(ch.reasons()[0].contains("aliases differ"));
}

#[test]
fn match_labels_selects_every_container_of_a_rolling_deploy() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    let sel = Selector::Labels(labels(&[("coolify.applicationId", "12")]));
    c.resources.push(app("shop", "prod", sel, &["shop"]));
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![
            container("abc-1", "bridge", true, &[("coolify.applicationId", "12")]),
            container("abc-2", "bridge", true, &[("coolify.applicationId", "12")]),
            container("other", "bridge", true, &[("coolify.applicationId", "13")]),
        ],
    );
    let got: Vec<Option<String>> = run(&c, &l)
        .changes
        .iter()
        .map(|c| c.container().map(str::to_string))
        .collect();
    assert_eq!(got, [Some("abc-1".into()), Some("abc-2".into())]);
}

#[test]
fn moving_to_another_destination_on_the_same_server_connects_then_disconnects() {
    let mut c = config(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.resources.push(app(
        "api",
        "staging",
        Selector::Name("api".into()),
        &["api"],
    ));
    let l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("staging-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![on(
            container("api", "prod-net", true, &[]),
            &[("prod-net", &["api"])],
        )],
    );
    let p = run(&c, &l);
    assert_eq!(
        actions(&p),
        [
            (
                Action::Connect,
                "staging-net".into(),
                Some("api".into()),
                ChangeStatus::Planned
            ),
            (
                Action::Disconnect,
                "prod-net".into(),
                Some("api".into()),
                ChangeStatus::Planned
            ),
        ]
    );
    assert!(p.changes[1].reasons()[0].contains("belongs to destination staging now"));
}

#[test]
fn a_removed_destination_stays_while_declared_containers_are_attached() {
    let mut c = config(vec![dest("new", "new-net", None)]);
    c.resources
        .push(app("api", "new", Selector::Name("api".into()), &["api"]));
    let l = live(
        vec![
            net("old-net", "10.1.0.0/24", Some(OWNER)),
            net("new-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![on(
            container("api", "old-net", true, &[]),
            &[("old-net", &["api"])],
        )],
    );
    let p = run(&c, &l);
    let rm = p
        .changes
        .iter()
        .find(|c| c.action() == Action::RemoveNetwork)
        .unwrap();
    assert_eq!(rm.status(), ChangeStatus::Blocked);
    assert!(
        rm.reasons()[0].contains("api (application api, running)"),
        "{:?}",
        rm.reasons()
    );
    assert_eq!(
        rm.hint(),
        Some(
            "to unblock, detach it by hand, then plan again: `docker network disconnect old-net api`; or move application api off it through the config: declare destination whatever again, reassign it, apply, then remove the destination"
        )
    );
    // berth never empties an undeclared network on its own.
    assert!(!p.changes.iter().any(|c| c.action() == Action::Disconnect));
    assert!(
        p.changes
            .iter()
            .any(|c| c.action() == Action::Connect && c.network() == "new-net")
    );
}

#[test]
fn a_container_is_never_disconnected_from_its_last_network() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.stacks.push(declared_stack("mon", "prod", false));
    let only = container(
        "grafana",
        "prod-net",
        true,
        &[("com.docker.compose.project", "mon")],
    );
    let p = run(
        &c,
        &live(
            vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
            vec![only],
        ),
    );
    assert!(p.changes.is_empty(), "{:?}", p.changes);
}

#[test]
fn stacks_connect_every_container_with_service_project_aliases_and_disconnect_when_turned_off() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.stacks.push(declared_stack("mon", "prod", true));
    let stack = |name: &str, service: &str, project: &str| {
        on(
            container(
                name,
                &format!("{project}_default"),
                true,
                &[
                    ("com.docker.compose.project", project),
                    ("com.docker.compose.service", service),
                ],
            ),
            &[],
        )
    };
    let nets = vec![net("prod-net", "10.1.0.0/24", Some(OWNER))];
    let containers = vec![
        stack("mon-web-1", "web", "mon"),
        stack("mon-db-1", "db", "mon"),
        stack("x-web-1", "web", "x"),
    ];
    let p = run(&c, &live(nets.clone(), containers));
    let got: Vec<(Option<String>, Option<Vec<String>>)> = p
        .changes
        .iter()
        .map(|c| (c.container().map(str::to_string), aliases(c)))
        .collect();
    assert_eq!(
        got,
        [
            (Some("mon-db-1".into()), Some(vec!["db-mon".into()])),
            (Some("mon-web-1".into()), Some(vec!["web-mon".into()])),
        ],
        "the other project's web is untouched"
    );

    c.stacks[0].connect_to_predefined_networks = false;
    let attached = vec![
        on(
            stack("mon-web-1", "web", "mon"),
            &[("prod-net", &["web-mon"])],
        ),
        on(stack("x-web-1", "web", "x"), &[("prod-net", &["web-x"])]),
    ];
    let p = run(&c, &live(nets, attached));
    assert_eq!(
        actions(&p),
        [(
            Action::Disconnect,
            "prod-net".into(),
            Some("mon-web-1".into()),
            ChangeStatus::Planned
        )]
    );
    assert!(p.changes[0].reasons()[0].contains("connect_to_predefined_networks = false"));
}

#[test]
fn a_missing_container_is_noted_with_where_it_still_runs() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.servers.push(Server {
        name: "s2".into(),
        address: Address::Local,
        tags: Vec::new(),
        at: at(),
    });
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    let mut l = live(vec![net("prod-net", "10.1.0.0/24", Some(OWNER))], vec![]);
    let p = run(&c, &l);
    assert!(p.changes.is_empty());
    assert_eq!(p.missing.len(), 1);
    assert_eq!(p.missing[0].selector, "api");

    l.servers.insert(
        "s2".into(),
        Ok(Snapshot {
            containers: vec![container("api", "bridge", true, &[])],
            ..Default::default()
        }),
    );
    let p = run(&c, &l);
    let note = p.missing[0].note.as_deref().unwrap();
    assert!(
        note.contains("runs on server s2")
            && note.contains("never moves")
            && note.contains("clone_of"),
        "{note}"
    );
}

#[test]
fn removal_warns_about_env_references_bridges_and_proxies_by_name_only() {
    let c = config(vec![]);
    let mut web = container("web", "front", true, &[]);
    web.env = Some(vec![(
        "DATABASE_URL".into(),
        "postgres://u:secret@db-alias:5432/x".into(),
    )]);
    let pg = on(
        container("pg", "old-net", false, &[]),
        &[("old-net", &["db-alias"]), ("other", &[])],
    );
    let proxy = container(
        "traefik",
        "front",
        true,
        &[("traefik.docker.network", "old-net")],
    );
    let l = live(
        vec![net("old-net", "10.1.0.0/24", Some(OWNER))],
        vec![web, pg, proxy],
    );
    let p = run(&c, &l);
    let codes: Vec<String> = p.warnings.iter().map(code).collect();
    assert_eq!(
        codes,
        [
            "env_references_network",
            "bridges_network",
            "proxy_routes_into_network"
        ]
    );
    assert!(
        p.warnings[0].message.contains("DATABASE_URL")
            && p.warnings[0].message.contains("db-alias")
    );
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains("secret"), "env values never appear: {json}");
}

#[test]
fn inspections_cover_attached_declared_containers_or_everything_before_a_removal() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources
        .push(app("new", "prod", Selector::Name("new".into()), &["new"]));
    let containers = vec![
        container("api", "prod-net", true, &[]),
        container("new", "bridge", true, &[]),
        container("stray", "bridge", true, &[]),
    ];
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        containers.clone(),
    );
    assert_eq!(
        inspections(&c, "s1", &l).into_iter().collect::<Vec<_>>(),
        ["api"]
    );
    let l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("gone", "10.9.0.0/24", Some(OWNER)),
        ],
        containers,
    );
    assert_eq!(inspections(&c, "s1", &l).len(), 3);
}

// --- clones ----------------------------------------------------------------

use crate::live::{Image, Mount};

fn two_servers(destinations: Vec<Destination>) -> Config {
    let mut c = config(destinations);
    c.servers.push(Server {
        name: "s2".into(),
        address: Address::Local,
        tags: Vec::new(),
        at: at(),
    });
    c
}

fn clone_app(name: &str, destination: &str, source: &str) -> Resource {
    let mut r = app(name, destination, Selector::Name(name.into()), &[name]);
    r.clone_of = Some(source.into());
    r
}

/// A source container as inspected: env, a named volume, a bind, a port.
fn source_container() -> Container {
    let mut c = on(
        container("api", "bridge", true, &[("coolify.applicationId", "7")]),
        &[],
    );
    c.image = "shop/api:3".into();
    c.image_id = "sha256:aaa".into();
    c.env = Some(vec![("DATABASE_PASSWORD".into(), "s3cret".into())]);
    c.mounts = Some(vec![
        Mount::Volume {
            name: "api-data".into(),
            path: "/data".into(),
        },
        Mount::Bind {
            source: "/srv/uploads".into(),
            path: "/uploads".into(),
        },
    ]);
    c.ports = Some(vec!["8080->80/tcp".into()]);
    c
}

#[test]
fn a_missing_clone_on_the_same_server_copies_config_with_fresh_volumes_and_no_ports() {
    let mut c = config(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources.push(clone_app("api-staging", "staging", "api"));
    let l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("staging-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![on(source_container(), &[("prod-net", &["api"])])],
    );
    let p = run(&c, &l);
    let clone = p
        .changes
        .iter()
        .find(|c| c.action() == Action::Clone)
        .expect("a clone");
    assert_eq!(clone.status(), ChangeStatus::Planned);
    assert_eq!(clone.network(), "staging-net");
    assert_eq!(clone.container(), Some("api-staging"));
    let spec = clone_spec(clone);
    assert!(!spec.image_transfer);
    let m = &spec.members[0];
    assert_eq!(
        (m.source.as_str(), m.target.as_str(), m.start),
        ("api", "api-staging", true)
    );
    assert_eq!(m.env, ["DATABASE_PASSWORD"]);
    assert_eq!(
        m.volumes,
        [VolumeCopy {
            source: "api-data".into(),
            target: "api-data-api-staging".into(),
            path: "/data".into()
        }]
    );
    assert_eq!(m.binds, ["/srv/uploads"]);
    assert!(m.ports.is_empty());
    assert_eq!(m.dropped_ports, ["8080->80/tcp"]);
    let codes: Vec<String> = p.warnings.iter().map(code).collect();
    assert_eq!(codes, ["clone_bind_mount", "clone_ports_dropped"]);
    assert!(p.missing.is_empty(), "a pending clone is not `missing`");
    assert!(
        !serde_json::to_string(&p).unwrap().contains("s3cret"),
        "env values never appear"
    );
}

#[test]
fn an_existing_clone_is_an_ordinary_resource() {
    let mut c = config(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources.push(clone_app("api-staging", "staging", "api"));
    let l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("staging-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![
            on(source_container(), &[("prod-net", &["api"])]),
            on(container("api-staging", "bridge", true, &[]), &[]),
        ],
    );
    let p = run(&c, &l);
    assert_eq!(
        actions(&p),
        [(
            Action::Connect,
            "staging-net".into(),
            Some("api-staging".into()),
            ChangeStatus::Planned
        )]
    );
}

#[test]
fn a_clone_whose_source_is_missing_is_blocked_naming_the_source() {
    let mut c = config(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources.push(clone_app("api-staging", "staging", "api"));
    let l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("staging-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![],
    );
    let p = run(&c, &l);
    let clone = p
        .changes
        .iter()
        .find(|c| c.action() == Action::Clone)
        .unwrap();
    assert_eq!(clone.status(), ChangeStatus::Blocked);
    assert_eq!(
        clone.reasons(),
        ["source application api has no container on server s1: nothing to clone"]
    );
}

#[test]
fn across_servers_a_missing_image_is_streamed_or_blocked_on_request() {
    let mut target = dest("remote", "remote-net", None);
    target.server = "s2".into();
    let mut c = two_servers(vec![dest("prod", "prod-net", None), target]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources.push(clone_app("api-remote", "remote", "api"));
    assert!(needs_images(&c, "s2") && !needs_images(&c, "s1"));
    let mut l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![on(source_container(), &[("prod-net", &["api"])])],
    );
    let remote = |images: Vec<Image>| Snapshot {
        networks: vec![net("remote-net", "10.5.0.0/24", Some(OWNER))],
        containers: vec![],
        images: Some(images),
        journals: Vec::new(),
        swarm: None,
    };
    l.servers.insert("s2".into(), Ok(remote(vec![])));
    let p = run(&c, &l);
    let clone = p
        .changes
        .iter()
        .find(|c| c.action() == Action::Clone)
        .unwrap();
    assert_eq!(
        (clone.server(), clone.status()),
        ("s2", ChangeStatus::Planned)
    );
    let spec = clone_spec(clone);
    assert!(spec.image_transfer);
    assert_eq!(spec.source_server, "s1");
    assert_eq!(
        spec.members[0].ports,
        ["8080->80/tcp"],
        "ports are kept on another server"
    );
    assert!(
        clone.reasons()[0].contains("berth streams it from s1"),
        "{:?}",
        clone.reasons()
    );

    let blocked = plan(
        &c,
        &l,
        Options {
            no_image_transfer: true,
            ..Default::default()
        },
    );
    let clone = blocked
        .changes
        .iter()
        .find(|c| c.action() == Action::Clone)
        .unwrap();
    assert_eq!(clone.status(), ChangeStatus::Blocked);
    assert!(clone.reasons()[0].contains("--no-image-transfer"));

    l.servers.insert(
        "s2".into(),
        Ok(remote(vec![Image {
            id: "sha256:other".into(),
            tags: vec!["shop/api:3".into()],
        }])),
    );
    let p = run(&c, &l);
    assert!(
        !clone_spec(
            p.changes
                .iter()
                .find(|c| c.action() == Action::Clone)
                .unwrap()
        )
        .image_transfer
    );
}

/// A clone still to be made reads from its source's server: the reading
/// records it, whether that server answered or not, and `apply --partial`
/// skips the target with the source. A clone that exists reads nothing.
#[test]
fn a_pending_clone_depends_on_its_source_server_and_is_skipped_with_it() {
    let mut target = dest("remote", "remote-net", None);
    target.server = "s2".into();
    let mut c = two_servers(vec![dest("prod", "prod-net", None), target]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources.push(clone_app("api-remote", "remote", "api"));
    let remote = |containers: Vec<Container>| Snapshot {
        networks: vec![net("remote-net", "10.5.0.0/24", Some(OWNER))],
        containers,
        images: Some(Vec::new()),
        journals: Vec::new(),
        swarm: None,
    };
    let mut l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![on(source_container(), &[("prod-net", &["api"])])],
    );
    l.servers.insert("s2".into(), Ok(remote(vec![])));
    let depends = |p: &Plan| -> Vec<(String, Vec<String>)> {
        p.servers
            .iter()
            .map(|s| (s.name.clone(), s.depends_on.clone()))
            .collect()
    };
    let p = run(&c, &l);
    assert_eq!(
        depends(&p),
        [("s1".into(), vec![]), ("s2".into(), vec!["s1".to_string()])]
    );
    assert!(skipped(&p).is_empty());

    // The source's server does not answer: no clone can be planned, and
    // the target is skipped with it rather than applied without its clone.
    l.servers
        .insert("s1".into(), Err("connection refused".into()));
    let p = run(&c, &l);
    assert!(p.changes.iter().all(|c| c.action() != Action::Clone));
    assert_eq!(depends(&p)[1].1, ["s1"]);
    let skipped = skipped(&p);
    assert_eq!(
        skipped
            .iter()
            .map(|k| (k.server.as_str(), k.reason.clone()))
            .collect::<Vec<_>>(),
        [
            ("s1", SkipReason::Unreachable("connection refused".into())),
            ("s2", SkipReason::DependsOn("s1".into())),
        ]
    );

    // Once made, the clone is an ordinary resource: s2 reads nothing of s1.
    let copy = on(
        container("api-remote", "bridge", true, &[]),
        &[("remote-net", &["api-remote"])],
    );
    l.servers.insert("s2".into(), Ok(remote(vec![copy])));
    let p = run(&c, &l);
    assert!(depends(&p)[1].1.is_empty(), "{:?}", depends(&p));
    assert_eq!(
        crate::plan::skipped(&p)
            .iter()
            .map(|k| k.server.as_str())
            .collect::<Vec<_>>(),
        ["s1"]
    );
}

#[test]
fn a_stack_clones_as_a_whole_under_its_new_project() {
    let mut c = config(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.stacks.push(declared_stack("shop", "prod", false));
    let mut copy = declared_stack("shopstg", "staging", true);
    copy.clone_of = Some("shop".into());
    c.stacks.push(copy);
    let member = |name: &str, service: &str| {
        let mut m = on(
            container(
                name,
                "shop_default",
                true,
                &[
                    ("com.docker.compose.project", "shop"),
                    ("com.docker.compose.service", service),
                ],
            ),
            &[],
        );
        m.mounts = Some(vec![Mount::Volume {
            name: format!("shop_{service}-data"),
            path: "/d".into(),
        }]);
        m
    };
    let l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("staging-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![member("shop_web_1", "web"), member("shop_db_1", "db")],
    );
    let p = run(&c, &l);
    let clone = p
        .changes
        .iter()
        .find(|c| c.action() == Action::Clone)
        .unwrap();
    let spec = clone_spec(clone);
    assert_eq!(
        (
            spec.source_project.as_deref(),
            spec.target_project.as_deref()
        ),
        (Some("shop"), Some("shopstg"))
    );
    assert!(spec.connect_to_destination);
    let got: Vec<(&str, &str, &str)> = spec
        .members
        .iter()
        .map(|m| {
            (
                m.target.as_str(),
                m.service.as_deref().unwrap(),
                m.volumes[0].target.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("shopstg_db_1", "db", "shopstg_db-data"),
            ("shopstg_web_1", "web", "shopstg_web-data")
        ]
    );
}

#[test]
fn a_label_selector_skips_clones_made_for_another_resource() {
    let mut c = config(vec![dest("prod", "prod-net", None)]);
    c.resources.push(app(
        "shop",
        "prod",
        Selector::Labels(labels(&[("coolify.applicationId", "7")])),
        &["shop"],
    ));
    let original = container("shop-1", "bridge", true, &[("coolify.applicationId", "7")]);
    let copy = container(
        "shop-staging",
        "bridge",
        true,
        &[
            ("coolify.applicationId", "7"),
            ("berth.resource", "shop-staging"),
        ],
    );
    let p = run(
        &c,
        &live(
            vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
            vec![original, copy],
        ),
    );
    let got: Vec<Option<String>> = p
        .changes
        .iter()
        .map(|c| c.container().map(str::to_string))
        .collect();
    assert_eq!(got, [Some("shop-1".into())]);
}

// Found by the model-based property test (tests/it/planner_model.rs).

/// Plan, apply the plan to the live model, plan again.
fn replan(c: &Config, l: &LiveState) -> (Plan, Plan) {
    let first = run(c, l);
    let mut after = l.clone();
    simulate::apply_plan(&mut after, &first, &c.owner);
    (first, run(c, &after))
}

fn database(name: &str, destination: &str, selector: Selector, aliases: &[&str]) -> Resource {
    Resource {
        kind: ResourceKind::Database,
        ..app(name, destination, selector, aliases)
    }
}

#[test]
fn a_copy_that_another_resource_selects_is_attached_for_it_in_the_same_plan() {
    // Database `a0` is a clone of `b0` and makes container a0; application
    // a0 selects that container too, on another destination. One apply
    // must do both: the connect used to come only with the next plan.
    let mut c = config(vec![dest("d0", "n0", None), dest("d1", "n1", None)]);
    c.resources
        .push(app("a0", "d1", Selector::Name("a0".into()), &["a0"]));
    c.resources
        .push(database("b0", "d0", Selector::Name("b0".into()), &["b0"]));
    let mut copy = database("a0", "d0", Selector::Name("a0".into()), &["a0"]);
    copy.clone_of = Some("b0".into());
    c.resources.push(copy);
    let mut source = source_container();
    source.name = "b0".into();
    source.networks.clear();
    let l = live(
        vec![
            net("n0", "10.1.0.0/24", Some(OWNER)),
            net("n1", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![on(source, &[("n0", &["b0"])])],
    );
    let (first, again) = replan(&c, &l);
    assert_eq!(
        actions(&first),
        [
            (
                Action::Clone,
                "n0".into(),
                Some("a0".into()),
                ChangeStatus::Planned
            ),
            (
                Action::Connect,
                "n1".into(),
                Some("a0".into()),
                ChangeStatus::Planned
            ),
        ]
    );
    assert!(first.missing.is_empty(), "{:?}", first.missing);
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

#[test]
fn a_label_selector_skips_copies_made_for_a_resource_of_another_kind() {
    // Application a0's copy keeps its source's `app=y`; database a0
    // selects `app=y` but is another resource of the same name.
    let mut c = config(vec![dest("d0", "n0", None)]);
    c.resources.push(database(
        "a0",
        "d0",
        Selector::Labels(labels(&[("app", "y")])),
        &["db"],
    ));
    let copy = container(
        "a0",
        "bridge",
        true,
        &[
            ("app", "y"),
            ("berth.resource", "a0"),
            ("berth.kind", "application"),
        ],
    );
    let mine = container(
        "pg",
        "bridge",
        true,
        &[
            ("app", "y"),
            ("berth.resource", "a0"),
            ("berth.kind", "database"),
        ],
    );
    let p = run(
        &c,
        &live(
            vec![net("n0", "10.1.0.0/24", Some(OWNER))],
            vec![copy, mine],
        ),
    );
    let got: Vec<Option<&str>> = p.changes.iter().map(|c| c.container()).collect();
    assert_eq!(got, [Some("pg")]);
}

/// Stack `shop` on prod-net and its clone `shopstg` on staging-net.
fn stack_clone_config() -> Config {
    let mut c = config(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.stacks.push(declared_stack("shop", "prod", false));
    let mut copy = declared_stack("shopstg", "staging", true);
    copy.clone_of = Some("shop".into());
    c.stacks.push(copy);
    c
}

fn shop_member() -> Container {
    on(
        container(
            "shop_web_1",
            "shop_default",
            true,
            &[
                ("com.docker.compose.project", "shop"),
                ("com.docker.compose.service", "web"),
            ],
        ),
        &[],
    )
}

fn the_clone(p: &Plan) -> &Change {
    p.changes
        .iter()
        .find(|c| c.action() == Action::Clone)
        .expect("a clone")
}

#[test]
fn a_stack_clone_whose_network_name_is_taken_is_blocked() {
    // Docker refuses to make shopstg_default (the executor will not take
    // over a network that is not the project's): the plan says so.
    let c = stack_clone_config();
    let mut theirs = net("shopstg_default", "10.9.0.0/24", None);
    let networks = vec![
        net("prod-net", "10.1.0.0/24", Some(OWNER)),
        net("staging-net", "10.2.0.0/24", Some(OWNER)),
    ];
    let with = |extra: Network| {
        let mut n = networks.clone();
        n.push(extra);
        live(n, vec![shop_member()])
    };
    let p = run(&c, &with(theirs.clone()));
    let clone = the_clone(&p);
    assert_eq!(clone.status(), ChangeStatus::Blocked);
    assert!(
        clone.reasons()[0].starts_with(
            "network shopstg_default exists on server s1 and is not compose project shopstg's own"
        ),
        "{:?}",
        clone.reasons()
    );
    // The project's own network (left by an earlier attempt) is reused.
    theirs.labels = labels(&[("com.docker.compose.project", "shopstg")]);
    let (first, again) = replan(&c, &with(theirs));
    assert_eq!(the_clone(&first).status(), ChangeStatus::Planned);
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

#[test]
fn a_clone_whose_container_name_is_taken_is_blocked() {
    // A container named like the copy, not of the project: Docker refuses
    // a second container of the name.
    let c = stack_clone_config();
    let networks = vec![
        net("prod-net", "10.1.0.0/24", Some(OWNER)),
        net("staging-net", "10.2.0.0/24", Some(OWNER)),
    ];
    let p = run(
        &c,
        &live(
            networks.clone(),
            vec![
                shop_member(),
                container("shopstg_web_1", "bridge", false, &[]),
            ],
        ),
    );
    let clone = the_clone(&p);
    assert_eq!(clone.status(), ChangeStatus::Blocked);
    assert!(
        clone.reasons()[0].starts_with("container shopstg_web_1 already exists on server s1"),
        "{:?}",
        clone.reasons()
    );

    // Two clones that make one container: the second is blocked.
    let mut c = config(vec![dest("d0", "n0", None)]);
    c.resources
        .push(app("api", "d0", Selector::Name("api".into()), &["api"]));
    c.resources
        .push(database("pg", "d0", Selector::Name("pg".into()), &["pg"]));
    let mut one = clone_app("cp", "d0", "api");
    one.selector = Selector::Name("cp".into());
    let mut two = database("cp", "d0", Selector::Name("cp".into()), &["cp"]);
    two.clone_of = Some("pg".into());
    c.resources.extend([one, two]);
    let mut pg = source_container();
    pg.name = "pg".into();
    let p = run(
        &c,
        &live(
            vec![net("n0", "10.1.0.0/24", Some(OWNER))],
            vec![source_container(), pg],
        ),
    );
    let statuses: Vec<(Option<&str>, ChangeStatus)> = p
        .changes
        .iter()
        .filter(|c| c.action() == Action::Clone)
        .map(|c| (c.resource().map(|r| r.name.as_str()), c.status()))
        .collect();
    assert_eq!(
        statuses,
        [
            (Some("cp"), ChangeStatus::Planned),
            (Some("cp"), ChangeStatus::Blocked)
        ]
    );
}

// ---------------------------------------------------------------------------
// Swarm services (a manager's snapshot)
// ---------------------------------------------------------------------------

mod swarm {
    use super::*;
    use crate::live::swarm::{
        Availability, EndpointMode, Node, NodeRole, NodeState, Service, ServiceMode,
        ServiceNetwork, Swarm, Task, TaskNetwork, TaskState, UpdateState,
    };

    fn overlay(name: &str, network: &str) -> Destination {
        let mut d = dest(name, network, None);
        d.spec.driver = "overlay".into();
        d.spec.attachable = true;
        d
    }

    fn overlay_net(name: &str) -> Network {
        let mut n = net(name, "10.0.9.0/24", Some(OWNER));
        n.driver = "overlay".into();
        n.attachable = true;
        n
    }

    fn service(name: &str, networks: &[(&str, &[&str])]) -> Service {
        Service {
            id: format!("id-{name}"),
            name: name.into(),
            version: 7,
            labels: BTreeMap::new(),
            image: "busybox".into(),
            mode: ServiceMode::Replicated { replicas: 2 },
            networks: networks
                .iter()
                .map(|(n, a)| ServiceNetwork {
                    network: n.to_string(),
                    id: format!("id-{n}"),
                    aliases: a.iter().map(|x| x.to_string()).collect(),
                })
                .collect(),
            endpoint_mode: EndpointMode::Dnsrr,
            published_ports: vec!["8080:80/tcp".into()],
            update: None,
            update_state: None,
            mounts: vec![Mount::Volume {
                name: "data".into(),
                path: "/data".into(),
            }],
        }
    }

    fn task(service: &str, slot: u64, node: &str, network: &str) -> Task {
        Task {
            id: format!("task-{service}-{slot}"),
            service_id: Some(format!("id-{service}")),
            slot: Some(slot),
            node_id: Some(format!("node-{node}")),
            desired_state: TaskState::Running,
            state: TaskState::Running,
            error: None,
            container_id: Some(format!("ctr-{service}-{slot}")),
            networks: vec![TaskNetwork {
                network: network.into(),
                id: format!("id-{network}"),
                addresses: Vec::new(),
            }],
        }
    }

    fn manager(networks: Vec<Network>, services: Vec<Service>, tasks: Vec<Task>) -> LiveState {
        let mut l = live(networks, Vec::new());
        let nodes = ["manager", "worker1"]
            .iter()
            .map(|h| Node {
                id: format!("node-{h}"),
                hostname: h.to_string(),
                role: if *h == "manager" {
                    NodeRole::Manager
                } else {
                    NodeRole::Worker
                },
                availability: Availability::Active,
                state: NodeState::Ready,
                address: None,
                leader: *h == "manager",
                labels: BTreeMap::new(),
            })
            .collect();
        if let Some(Ok(s)) = l.servers.get_mut("s1") {
            s.swarm = Some(Swarm {
                nodes,
                services,
                tasks,
            });
        }
        l
    }

    fn api(dest: &str, aliases: &[&str]) -> Resource {
        app("api", dest, Selector::SwarmService("api".into()), aliases)
    }

    fn updates(p: &Plan) -> Vec<&UpdateService> {
        p.changes
            .iter()
            .filter_map(|c| match c {
                Change::UpdateService(u) => Some(u),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_service_gets_its_destination_through_its_spec_keeping_its_other_networks() {
        let mut c = config(vec![overlay("d", "ov")]);
        c.resources.push(api("d", &["api-alias"]));
        let l = manager(
            vec![overlay_net("ov"), {
                // Not berth's: the service's own network, kept.
                let mut own = overlay_net("own");
                own.labels.clear();
                own
            }],
            vec![service("api", &[("own", &["x"])])],
            vec![task("api", 1, "worker1", "own")],
        );
        let p = run(&c, &l);
        let u = updates(&p);
        assert_eq!(u.len(), 1, "{:#?}", p.changes);
        assert_eq!(
            u[0].networks,
            [
                ServiceNetworkRef {
                    network: "own".into(),
                    aliases: vec!["x".into()]
                },
                ServiceNetworkRef {
                    network: "ov".into(),
                    aliases: vec!["api-alias".into()]
                }
            ]
        );
        assert_eq!(u[0].rollout.replicas, Some(2));
        assert_eq!(
            (u[0].rollout.parallelism, u[0].rollout.order.as_str()),
            (1, "stop-first"),
            "Docker's defaults when the spec has no update config"
        );
        assert!(p.errors.is_empty() && p.missing.is_empty(), "{p:#?}");

        // Applied (as the manager would), nothing is left to do.
        let mut after = l.clone();
        simulate::apply_plan(&mut after, &p, OWNER);
        let again = run(&c, &after);
        assert!(again.changes.is_empty(), "{:#?}", again.changes);
    }

    #[test]
    fn aliases_that_differ_are_an_update_and_a_failed_last_rollout_is_told() {
        let mut c = config(vec![overlay("d", "ov")]);
        c.resources.push(api("d", &["new"]));
        let mut s = service("api", &[("ov", &["old"])]);
        s.update_state = Some(UpdateState::RollbackCompleted);
        let p = run(&c, &manager(vec![overlay_net("ov")], vec![s], Vec::new()));
        let u = updates(&p);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].live_networks[0].aliases, ["old"]);
        assert_eq!(u[0].networks[0].aliases, ["new"]);
        assert_eq!(u[0].last_update.as_deref(), Some("rollback_completed"));
        assert!(
            u[0].reasons
                .iter()
                .any(|r| r.contains("ended rollback_completed"))
        );
    }

    #[test]
    fn a_missing_service_is_missing_and_a_clone_is_made_from_its_source() {
        let mut c = config(vec![overlay("d", "ov"), overlay("d2", "ov2")]);
        c.resources.push(api("d", &["api"]));
        let mut copy = app(
            "api-copy",
            "d2",
            Selector::SwarmService("api-copy".into()),
            &["api-copy"],
        );
        copy.clone_of = Some("api".into());
        c.resources.push(copy);
        c.resources.push(app(
            "gone",
            "d",
            Selector::SwarmService("gone".into()),
            &["gone"],
        ));
        let l = manager(
            vec![overlay_net("ov"), overlay_net("ov2")],
            vec![service("api", &[("ov", &["api"])])],
            Vec::new(),
        );
        let p = run(&c, &l);
        assert_eq!(
            p.missing
                .iter()
                .map(|m| m.selector.as_str())
                .collect::<Vec<_>>(),
            ["swarm service gone"]
        );
        let clone = p
            .changes
            .iter()
            .find_map(|c| match c {
                Change::CloneService(c) => Some(c),
                _ => None,
            })
            .expect("a clone_service change");
        assert_eq!(
            (clone.source.as_str(), clone.network.as_str()),
            ("api", "ov2")
        );
        assert_eq!(clone.volumes[0].target, "data-api-copy");
        assert_eq!(clone.dropped_ports, ["8080:80/tcp"]);

        let mut after = l.clone();
        simulate::apply_plan(&mut after, &p, OWNER);
        let again = run(&c, &after);
        assert!(
            again
                .changes
                .iter()
                .all(|c| c.action() != Action::CloneService),
            "{:#?}",
            again.changes
        );
    }

    #[test]
    fn a_misspelled_swarm_service_suggests_the_services_and_a_swarm_stack_is_found() {
        let mut c = config(vec![overlay("d", "ov")]);
        c.resources.push(app(
            "api",
            "d",
            Selector::SwarmService("apii".into()),
            &["api"],
        ));
        let mut web = service("shop_web", &[]);
        web.labels
            .insert("com.docker.stack.namespace".into(), "shop".into());
        c.stacks.push({
            let mut s = declared_stack("shop", "d", true);
            s.project = "shop".into();
            s
        });
        let l = manager(
            vec![overlay_net("ov")],
            vec![service("api", &[("ov", &["api"])]), web],
            Vec::new(),
        );
        let p = run(&c, &l);
        let missing: Vec<_> = p.missing.iter().map(|m| m.resource.name.as_str()).collect();
        assert_eq!(
            missing,
            ["api"],
            "a deployed swarm stack is found: {:#?}",
            p.missing
        );
        assert_eq!(p.missing[0].suggestions, ["api"]);
        let w = p
            .warnings
            .iter()
            .find(|w| w.code == WarningCode::DeclaredNotFound)
            .expect("a declared_not_found warning");
        assert!(
            w.message
                .contains("no swarm service apii on manager s1; did you mean api?"),
            "{}",
            w.message
        );
    }

    #[test]
    fn tasks_on_other_nodes_block_a_removal_and_are_named_with_their_node() {
        let c = config(Vec::new());
        let l = manager(
            vec![overlay_net("ov")],
            vec![service("web", &[("ov", &[])])],
            vec![task("web", 1, "worker1", "ov")],
        );
        let p = run(&c, &l);
        let removal = p
            .changes
            .iter()
            .find(|c| c.action() == Action::RemoveNetwork)
            .expect("the undeclared overlay is a removal");
        assert!(removal.is_blocked());
        let reasons = removal.reasons().join("\n");
        assert!(
            reasons.contains("service web (unmanaged, running)")
                && reasons.contains("task web.1 (unmanaged, running, on node worker1)"),
            "{reasons}"
        );
        // The service leaves the network through its spec; its task with it.
        assert_eq!(
            removal.hint(),
            Some(
                "to unblock, detach them by hand, then plan again: `docker service update --network-rm ov web`; or keep destination whatever in the config"
            )
        );
    }

    #[test]
    fn swarm_services_need_an_overlay_on_a_manager() {
        let mut c = config(vec![dest("b", "br", None)]);
        c.resources.push(api("b", &["api"]));
        let on_manager = run(
            &c,
            &manager(
                vec![net("br", "10.1.0.0/24", Some(OWNER))],
                Vec::new(),
                Vec::new(),
            ),
        );
        assert!(
            on_manager
                .errors
                .iter()
                .any(|e| e.message.contains("overlay networks only")),
            "{:#?}",
            on_manager.errors
        );
        let elsewhere = run(
            &c,
            &live(vec![net("br", "10.1.0.0/24", Some(OWNER))], Vec::new()),
        );
        assert!(
            elsewhere
                .errors
                .iter()
                .any(|e| e.message.contains("is not a swarm manager")),
            "{:#?}",
            elsewhere.errors
        );
    }
}

/// A journal is written by whoever reaches the daemon: a clone record is
/// restored only as the config declares that clone, never from another
/// source container or server.
#[test]
fn a_forged_clone_journal_is_an_error_never_a_copy() {
    use crate::live::{Journal, labels};
    use crate::plan::journal::Record;
    let mut c = two_servers(vec![
        dest("prod", "prod-net", None),
        dest("staging", "staging-net", None),
    ]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    c.resources.push(clone_app("api-staging", "staging", "api"));
    let mut l = live(
        vec![
            net("prod-net", "10.1.0.0/24", Some(OWNER)),
            net("staging-net", "10.2.0.0/24", Some(OWNER)),
        ],
        vec![on(source_container(), &[("prod-net", &["api"])])],
    );
    let clone = run(&c, &l)
        .changes
        .into_iter()
        .find(|c| c.action() == Action::Clone)
        .expect("a clone");
    let journal = |change: Change| Journal {
        name: "berth-journal-1".into(),
        labels: BTreeMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (labels::OWNER.to_string(), OWNER.to_string()),
            (labels::JOURNAL.to_string(), "clone".to_string()),
            (
                labels::JOURNAL_RECORD.to_string(),
                Record {
                    change: Box::new(change),
                    reattach: Vec::new(),
                    allow_replace: false,
                }
                .to_label(),
            ),
        ]),
    };
    let with_journal = |l: &mut LiveState, change: Change| {
        let Ok(s) = l.servers.get_mut("s1").unwrap() else {
            unreachable!()
        };
        s.journals = vec![journal(change)];
    };

    // The record as berth writes it is restored.
    with_journal(&mut l, clone.clone());
    let p = run(&c, &l);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(p.changes.iter().any(|c| c.action() == Action::Restore));

    // Forged: another source container, another source server, another
    // source resource: each is a plan error and nothing is restored.
    let forge = |f: &dyn Fn(&mut CloneResource)| {
        let Change::Clone(mut r) = clone.clone() else {
            unreachable!()
        };
        f(&mut r);
        Change::Clone(r)
    };
    let forgeries: [&dyn Fn(&mut CloneResource); 3] = [
        &|r| r.clone.members[0].source = "secrets-db".into(),
        &|r| r.clone.source_server = "s2".into(),
        &|r| r.clone.source.name = "api-staging".into(),
    ];
    for f in forgeries {
        with_journal(&mut l, forge(f));
        let p = run(&c, &l);
        assert!(
            !p.changes.iter().any(|c| c.action() == Action::Restore),
            "a forged record is restored: {:?}",
            p.changes
        );
        assert!(
            p.errors
                .iter()
                .any(|e| e.message.contains("does not declare as recorded")),
            "{:?}",
            p.errors
        );
    }
}

/// Declared but not found: a warning with the closest live names, an error
/// in strict mode, and nothing for what is legitimately absent.
mod not_found {
    use super::*;

    fn not_found(p: &Plan) -> Vec<&Warning> {
        p.warnings
            .iter()
            .filter(|w| w.code == WarningCode::DeclaredNotFound)
            .collect()
    }

    fn nextcloud() -> (Config, LiveState) {
        let mut c = config(vec![dest("prod", "prod-net", None)]);
        c.resources.push(app(
            "nextcloud",
            "prod",
            Selector::Name("nc-ap".into()),
            &["nc"],
        ));
        let l = live(
            vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
            vec![
                container("nc-app", "prod-net", true, &[]),
                container("nc-db", "bridge", true, &[]),
                container("postgres", "bridge", true, &[]),
            ],
        );
        (c, l)
    }

    #[test]
    fn a_misspelled_container_is_a_warning_naming_the_closest_live_container() {
        let (c, l) = nextcloud();
        let p = run(&c, &l);
        assert!(p.changes.is_empty() && p.errors.is_empty(), "{p:#?}");
        let w = not_found(&p);
        assert_eq!(w.len(), 1, "{:#?}", p.warnings);
        assert_eq!(code(w[0]), "declared_not_found");
        assert_eq!(w[0].server.as_deref(), Some("s1"));
        assert_eq!(
            w[0].resource,
            Some(ResourceRef::new(ResourceKind::Application, "nextcloud"))
        );
        assert_eq!(w[0].suggestions, ["nc-app"], "nc-db is further off");
        assert_eq!(w[0].file.as_deref(), Some("berth.toml"));
        assert!(
            w[0].message
                .starts_with("application nextcloud: no container nc-ap on server s1")
                && w[0].message.contains("did you mean nc-app?"),
            "{}",
            w[0].message
        );
        // The structured entry says the same.
        assert_eq!(p.missing.len(), 1);
        assert_eq!(p.missing[0].suggestions, ["nc-app"]);
        assert_eq!(p.not_found(), 1);
    }

    #[test]
    fn a_container_another_resource_declares_is_never_the_suggestion() {
        let mut c = config(vec![dest("prod", "prod-net", None)]);
        c.resources
            .push(app("api", "prod", Selector::Name("api-1".into()), &["api"]));
        c.resources.push(app(
            "worker",
            "prod",
            Selector::Name("api-2".into()),
            &["worker"],
        ));
        let l = live(
            vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
            vec![
                container("api-1", "prod-net", true, &[]),
                container("api-3", "bridge", true, &[]),
                container("api-gateway", "bridge", true, &[]),
            ],
        );
        let p = run(&c, &l);
        let w = not_found(&p);
        assert_eq!(w.len(), 1, "{:#?}", p.warnings);
        assert_eq!(
            w[0].suggestions,
            ["api-3"],
            "api-1 is api's; api-gateway only shares a prefix"
        );
    }

    #[test]
    fn nothing_close_gives_no_suggestion_and_the_old_advice() {
        let (mut c, l) = nextcloud();
        c.resources[0].selector = Selector::Name("zz-totally-else".into());
        let p = run(&c, &l);
        let w = not_found(&p);
        assert_eq!(w.len(), 1);
        assert!(w[0].suggestions.is_empty(), "{:?}", w[0].suggestions);
        assert!(!w[0].message.contains("did you mean"), "{}", w[0].message);
        assert!(w[0].message.contains("deploy it"), "{}", w[0].message);
    }

    #[test]
    fn strict_mode_makes_it_an_error_on_its_destination_from_the_flag_or_the_config() {
        let (mut c, l) = nextcloud();
        let strict = Options {
            strict: true,
            ..Options::default()
        };
        for p in [plan(&c, &l, strict), {
            c.strict = true;
            run(&c, &l)
        }] {
            assert!(not_found(&p).is_empty(), "an error, not also a warning");
            assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
            let e = &p.errors[0];
            assert_eq!(
                (
                    e.server.as_str(),
                    e.destination.as_deref(),
                    e.network.as_str()
                ),
                ("s1", Some("prod"), "prod-net")
            );
            assert!(e.message.contains("did you mean nc-app?"), "{}", e.message);
            assert!(e.hint.contains("strict"), "{}", e.hint);
            assert_eq!(p.missing.len(), 1, "still listed as missing");
        }
    }

    #[test]
    fn a_stopped_container_an_unread_server_and_a_found_one_give_no_warning() {
        let (mut c, mut l) = nextcloud();
        c.resources[0].selector = Selector::Name("nc-app".into());
        if let Some(Ok(s)) = l.servers.get_mut("s1") {
            s.containers[0].running = false;
        }
        let p = run(&c, &l);
        assert!(not_found(&p).is_empty() && p.missing.is_empty(), "{p:#?}");

        c.resources[0].selector = Selector::Name("nc-ap".into());
        l.servers
            .insert("s1".into(), Err("connection refused".to_string()));
        let p = plan(
            &c,
            &l,
            Options {
                strict: true,
                ..Options::default()
            },
        );
        assert!(
            not_found(&p).is_empty() && p.missing.is_empty(),
            "an unread server is unread, not empty: {p:#?}"
        );
        assert_eq!(p.errors.len(), 0, "{:#?}", p.errors);
    }

    #[test]
    fn a_misspelled_stack_project_suggests_the_compose_projects_of_the_server() {
        let mut c = config(vec![dest("prod", "prod-net", None)]);
        let mut s = declared_stack("mon", "prod", true);
        s.project = "monitorng".into();
        c.stacks.push(s);
        let project = |name: &str, p: &str| {
            container(name, "bridge", true, &[("com.docker.compose.project", p)])
        };
        let l = live(
            vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
            vec![
                project("monitoring-grafana-1", "monitoring"),
                project("monitoring-prom-1", "monitoring"),
                project("shop-web-1", "shop"),
            ],
        );
        let p = run(&c, &l);
        let w = not_found(&p);
        assert_eq!(w.len(), 1, "{:#?}", p.warnings);
        assert_eq!(w[0].suggestions, ["monitoring"]);
        assert!(
            w[0].message.starts_with(
                "service mon: no container of compose project monitorng on server s1; did you mean monitoring?"
            ),
            "{}",
            w[0].message
        );
    }

    #[test]
    fn a_label_selector_that_matches_nothing_suggests_values_and_keys_seen() {
        let mut c = config(vec![dest("prod", "prod-net", None)]);
        let coolify = |v: &str| Selector::Labels(labels(&[("coolify.applicationId", v)]));
        c.resources.push(app("shop", "prod", coolify("4712"), &[]));
        let l = live(
            vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
            vec![
                container(
                    "shop-a",
                    "bridge",
                    true,
                    &[("coolify.applicationId", "4711")],
                ),
                container("other", "bridge", true, &[("coolify.applicationId", "99")]),
            ],
        );
        let p = run(&c, &l);
        let w = not_found(&p);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].suggestions, ["coolify.applicationId=4711"]);
        assert!(
            w[0].message
                .contains("no container labelled coolify.applicationId=4712 on server s1"),
            "{}",
            w[0].message
        );

        // A misspelled key: the keys seen, with the wanted value.
        c.resources[0].selector = Selector::Labels(labels(&[("coolify.applicationid", "4711")]));
        let p = run(&c, &l);
        assert_eq!(not_found(&p)[0].suggestions, ["coolify.applicationId=4711"]);
    }

    #[test]
    fn a_pending_clone_is_planned_not_missing() {
        let (mut c, l) = nextcloud();
        c.resources[0].selector = Selector::Name("nc-app".into());
        c.resources
            .push(clone_app("nextcloud-staging", "prod", "nextcloud"));
        let p = run(&c, &l);
        assert!(
            p.changes.iter().any(|c| c.action() == Action::Clone),
            "{:#?}",
            p.changes
        );
        assert!(not_found(&p).is_empty(), "{:#?}", p.warnings);
    }
}

/// A container as inspected, with what its endpoint on `network` asked for.
fn requesting(network: &str, aliases: &[&str], requested: crate::live::Requested) -> Container {
    let mut c = on(container("api", "bridge", true, &[]), &[(network, aliases)]);
    c.networks.get_mut(network).unwrap().requested = Some(requested);
    c
}

fn v4(a: &str) -> Option<std::net::IpAddr> {
    Some(a.parse().unwrap())
}

fn endpoint_of(c: &Change) -> &crate::config::EndpointSpec {
    match c {
        Change::Connect(c) => &c.endpoint,
        other => panic!("not a connect: {other:?}"),
    }
}

#[test]
fn an_unset_endpoint_key_is_the_daemons_choice_never_drift() {
    let mut c = config(vec![dest("prod", "prod-net", Some("10.1.0.0/24"))]);
    c.resources
        .push(app("api", "prod", Selector::Name("api".into()), &["api"]));
    let live_api = requesting(
        "prod-net",
        &["api"],
        crate::live::Requested {
            ipv4_address: v4("10.1.0.9"),
            link_local_ips: vec!["169.254.1.1".parse().unwrap()],
            driver_opts: labels(&[("a", "b")]),
            ..Default::default()
        },
    );
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![live_api],
    );
    assert!(run(&c, &l).changes.is_empty());
}

#[test]
fn a_static_address_that_differs_is_a_reconnect_keeping_the_aliases() {
    let mut c = config(vec![dest("prod", "prod-net", Some("10.1.0.0/24"))]);
    let mut api = app("api", "prod", Selector::Name("api".into()), &["api", "v2"]);
    api.endpoint.ipv4_address = Some("10.1.0.20".parse().unwrap());
    c.resources.push(api);
    let nets = vec![net("prod-net", "10.1.0.0/24", Some(OWNER))];
    let with = |ip: &str| {
        requesting(
            "prod-net",
            &["v2", "api"],
            crate::live::Requested {
                ipv4_address: v4(ip),
                ..Default::default()
            },
        )
    };
    assert!(
        run(&c, &live(nets.clone(), vec![with("10.1.0.20")]))
            .changes
            .is_empty()
    );

    let p = run(&c, &live(nets.clone(), vec![with("10.1.0.10")]));
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    let ch = &p.changes[0];
    assert_eq!(ch.verb(), Verb::Reconnect);
    assert_eq!(
        live_aliases(ch).as_deref(),
        Some(&["v2".to_string(), "api".to_string()][..]),
        "the aliases are kept"
    );
    assert_eq!(
        endpoint_of(ch).ipv4_address,
        Some("10.1.0.20".parse().unwrap())
    );
    assert!(
        ch.reasons()[0].contains("ipv4_address: live 10.1.0.10, desired 10.1.0.20"),
        "{:?}",
        ch.reasons()
    );
    let json = serde_json::to_value(ch).unwrap();
    assert_eq!(json["verb"], "reconnect");
    assert_eq!(json["endpoint"]["ipv4_address"], "10.1.0.20");

    // One the daemon chose (no IPAMConfig) is not the one asked for.
    let daemons = requesting("prod-net", &["api", "v2"], Default::default());
    let p = run(&c, &live(nets.clone(), vec![daemons]));
    assert_eq!(p.changes.len(), 1);

    // Not inspected: nothing known, nothing compared.
    let mut unknown = container("api", "prod-net", true, &[]);
    unknown.networks.get_mut("prod-net").unwrap().aliases = None;
    assert!(run(&c, &live(nets, vec![unknown])).changes.is_empty());
}

#[test]
fn a_new_attachment_connects_with_its_endpoint_and_explicit_empties_are_enforced() {
    let mut c = config(vec![dest("prod", "prod-net", Some("10.1.0.0/24"))]);
    let mut api = app("api", "prod", Selector::Name("api".into()), &["api"]);
    api.endpoint.driver_opts = Some(BTreeMap::new());
    api.endpoint.link_local_ips = Some(vec!["169.254.7.7".parse().unwrap()]);
    c.resources.push(api);
    let nets = vec![net("prod-net", "10.1.0.0/24", Some(OWNER))];
    let p = run(
        &c,
        &live(nets.clone(), vec![container("api", "bridge", true, &[])]),
    );
    assert_eq!(p.changes[0].verb(), Verb::Connect);
    assert_eq!(endpoint_of(&p.changes[0]), &c.resources[0].endpoint);

    // `driver_opts = {}` says none: a live option is drift.
    let live_api = requesting(
        "prod-net",
        &["api"],
        crate::live::Requested {
            link_local_ips: vec!["169.254.7.7".parse().unwrap()],
            driver_opts: labels(&[("com.example.opt", "1")]),
            ..Default::default()
        },
    );
    let p = run(&c, &live(nets, vec![live_api]));
    assert_eq!(p.changes.len(), 1);
    assert!(
        p.changes[0].reasons()[0].contains("driver_opts: live {com.example.opt=1}, desired {}")
    );
}

#[test]
fn a_stack_service_gets_its_attachment_settings() {
    let mut c = config(vec![dest("prod", "prod-net", Some("10.1.0.0/24"))]);
    let mut mon = declared_stack("mon", "prod", true);
    mon.attachments.insert(
        "web".into(),
        crate::config::EndpointSpec {
            ipv4_address: Some("10.1.0.50".parse().unwrap()),
            ..Default::default()
        },
    );
    c.stacks.push(mon);
    let member = |name: &str, service: &str| {
        container(
            name,
            "mon_default",
            true,
            &[
                ("com.docker.compose.project", "mon"),
                ("com.docker.compose.service", service),
            ],
        )
    };
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![member("mon-web-1", "web"), member("mon-db-1", "db")],
    );
    let p = run(&c, &l);
    let by_container: BTreeMap<&str, &crate::config::EndpointSpec> = p
        .changes
        .iter()
        .map(|ch| (ch.container().unwrap(), endpoint_of(ch)))
        .collect();
    assert_eq!(
        by_container["mon-web-1"].ipv4_address,
        Some("10.1.0.50".parse().unwrap())
    );
    assert!(by_container["mon-db-1"].is_empty());

    // Applied (simulated), planned again: nothing left.
    let mut after = l.clone();
    simulate::apply_plan(&mut after, &p, OWNER);
    assert!(run(&c, &after).changes.is_empty());
}

#[test]
fn a_reconnect_converges_in_the_model() {
    let mut c = config(vec![dest("prod", "prod-net", Some("10.1.0.0/24"))]);
    let mut api = app("api", "prod", Selector::Name("api".into()), &["api"]);
    api.endpoint.ipv4_address = Some("10.1.0.20".parse().unwrap());
    api.endpoint.driver_opts = Some(labels(&[("x", "y")]));
    c.resources.push(api);
    let l = live(
        vec![net("prod-net", "10.1.0.0/24", Some(OWNER))],
        vec![requesting("prod-net", &["api"], Default::default())],
    );
    let p = run(&c, &l);
    assert_eq!(p.changes.len(), 1);
    let mut after = l.clone();
    simulate::apply_plan(&mut after, &p, OWNER);
    assert!(run(&c, &after).changes.is_empty());
}

// --- every network property (issue 19) -------------------------------------

/// The properties `networks::differences` finds between `spec` and `live`.
fn props(spec: &NetworkSpec, live: &Network, owned: bool) -> Vec<String> {
    super::networks::differences(spec, live, owned)
        .into_iter()
        .map(|d| d.property)
        .collect()
}

fn v6_net() -> Network {
    let mut n = net("n", "10.213.127.0/24", Some(OWNER));
    n.enable_ipv6 = true;
    n.ipam.push(IpamPool {
        subnet: Some("fdd1:ac8c:557:7ce3::/64".parse().unwrap()),
        gateway: Some("fdd1:ac8c:557:7ce3::1".parse().unwrap()),
        ..Default::default()
    });
    n
}

#[test]
fn enable_ipv6_unset_is_the_daemons_choice_and_false_is_enforced() {
    let live = v6_net();
    let mut s = spec(Some("10.213.127.0/24"));
    assert!(props(&s, &live, true).is_empty(), "unset: never drift");
    s.enable_ipv6 = Some(true);
    assert!(props(&s, &live, true).is_empty());
    // The issue's reproduction: false, and subnet_v6 dropped.
    s.enable_ipv6 = Some(false);
    assert_eq!(props(&s, &live, true), ["enable_ipv6"]);
    let p = run(
        &config(vec![Destination {
            spec: s,
            ..dest("d", "n", None)
        }]),
        &self::live(vec![live], vec![]),
    );
    assert!(matches!(p.changes[0], Change::ReplaceNetwork(_)), "{p:?}");
    // Explicit false on a network without IPv6: nothing to do.
    let plain = net("n", "10.213.127.0/24", Some(OWNER));
    let mut s = spec(Some("10.213.127.0/24"));
    s.enable_ipv6 = Some(false);
    assert!(props(&s, &plain, true).is_empty());
}

#[test]
fn extra_pools_are_compared_as_a_set_per_declared_family() {
    let mut live = v6_net();
    live.ipam.push(IpamPool {
        subnet: Some("10.213.128.0/24".parse().unwrap()),
        gateway: Some("10.213.128.1".parse().unwrap()),
        ip_range: Some("10.213.128.0/25".parse().unwrap()),
        ..Default::default()
    });
    let mut s = spec(Some("10.213.127.0/24"));
    s.enable_ipv6 = Some(true);
    s.subnet_v6 = Some("fdd1:ac8c:557:7ce3::/64".parse().unwrap());
    // A live v4 pool the config does not declare, once it declares v4 pools.
    assert_eq!(props(&s, &live, true), ["extra_pools"]);
    s.extra_pools = vec![crate::config::Pool {
        subnet: "10.213.128.0/24".parse().unwrap(),
        gateway: Some("10.213.128.1".parse().unwrap()),
        ip_range: Some("10.213.128.0/25".parse().unwrap()),
    }];
    assert!(props(&s, &live, true).is_empty());
    s.extra_pools[0].ip_range = Some("10.213.128.128/25".parse().unwrap());
    s.extra_pools[0].gateway = Some("10.213.128.254".parse().unwrap());
    assert_eq!(
        props(&s, &live, true),
        [
            "gateway of pool 10.213.128.0/24",
            "ip_range of pool 10.213.128.0/24"
        ]
    );
    // No IPv6 pool declared: the live one is the daemon's choice.
    let mut s = spec(Some("10.213.127.0/24"));
    s.extra_pools = vec![crate::config::Pool {
        subnet: "10.213.128.0/24".parse().unwrap(),
        gateway: None,
        ip_range: None,
    }];
    assert!(props(&s, &live, true).is_empty());
    // A changed first subnet is one difference, not two.
    let plain = net("n", "10.1.0.0/24", Some(OWNER));
    assert_eq!(props(&spec(Some("10.2.0.0/24")), &plain, true), ["subnet"]);
}

#[test]
fn aux_addresses_ipam_scope_config_and_parent_are_compared() {
    let mut live = net("n", "10.213.127.0/24", Some(OWNER));
    live.ipam[0]
        .aux_addresses
        .insert("router".into(), "10.213.127.2".parse().unwrap());
    live.ipam_driver = "default".into();
    live.scope = "local".into();
    live.driver = "macvlan".into();
    live.options.insert("parent".into(), "eth0".into());
    let mut s = spec(Some("10.213.127.0/24"));
    s.driver = "macvlan".into();
    // Owned: an address the config drops is drift; a foreign network's
    // undeclared ones are not.
    assert_eq!(props(&s, &live, true), ["aux_addresses"]);
    assert!(props(&s, &live, false).is_empty());
    s.aux_addresses
        .insert("router".into(), "10.213.127.2".parse().unwrap());
    assert!(props(&s, &live, true).is_empty());
    s.ipam_driver = Some("default".into());
    s.scope = Some("local".into());
    s.parent = Some("eth0".into());
    assert!(props(&s, &live, true).is_empty());
    s.ipam_driver = Some("other".into());
    s.ipam_options.insert("k".into(), "v".into());
    s.scope = Some("swarm".into());
    s.parent = Some("eth1".into());
    s.config_from = Some("cfg".into());
    assert_eq!(
        props(&s, &live, true),
        [
            "scope",
            "config_from",
            "ipam_driver",
            "ipam option k",
            "parent"
        ]
    );
    let mut cfg = spec(None);
    cfg.driver = "null".into();
    cfg.config_only = true;
    assert_eq!(
        props(&cfg, &live, true),
        ["driver", "config_only", "aux_addresses"]
    );
}

#[test]
fn configuration_networks_are_created_first() {
    let mut from = dest("app", "app-net", None);
    from.spec.config_from = Some("cfg-net".into());
    let mut cfg = dest("cfg", "cfg-net", Some("10.9.0.0/24"));
    cfg.spec.config_only = true;
    cfg.spec.driver = "null".into();
    let p = run(&config(vec![from, cfg]), &live(vec![], vec![]));
    let order: Vec<&str> = p.changes.iter().map(|c| c.network()).collect();
    assert_eq!(order, ["cfg-net", "app-net"]);
}

#[test]
fn configuration_networks_are_removed_last_and_lend_their_labels() {
    let mut cfg = net("a-cfg", "10.9.0.0/24", Some(OWNER));
    cfg.config_only = true;
    cfg.driver = "null".into();
    let mut from = net("b-app", "10.9.0.0/24", Some(OWNER));
    from.config_from = "a-cfg".into();
    from.labels.insert("team".into(), "core".into());
    let p = run(&config(vec![]), &live(vec![cfg, from.clone()], vec![]));
    let order: Vec<&str> = p.changes.iter().map(|c| c.network()).collect();
    assert_eq!(order, ["b-app", "a-cfg"]);
    // Its labels and pools are the configuration network's: not compared.
    let mut s = spec(None);
    s.config_from = Some("a-cfg".into());
    assert!(props(&s, &from, true).is_empty());
}

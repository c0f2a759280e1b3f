//! What a server's plan reads, as far as Docker events go: the networks,
//! containers and swarm services whose events can change it. `watch` plans
//! again on an event that concerns the config and only counts the others.
//! Keep it in step with the planner: an event it calls unrelated must not
//! be able to change the server's plan (the next resync would catch it).

use std::collections::BTreeSet;

use super::guard::selects;
use crate::config::{Config, ResourceKind, Selector};
use crate::live::{Container, Event, Snapshot, labels};

/// A server's scope, from the config and the server's last snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    owner: String,
    /// Destination networks, networks of this owner, and the networks of a
    /// declared stack's compose project (`<project>_…`) are named here or
    /// by `projects`.
    networks: BTreeSet<String>,
    /// Resources on this server: what selects their containers.
    selectors: Vec<(ResourceKind, String, Selector)>,
    /// Compose projects of the stacks on this server (clones' included).
    projects: BTreeSet<String>,
    /// Containers of the snapshot that concern the config, by id and by
    /// name (a network event names its container by id).
    containers: BTreeSet<String>,
    /// Swarm services: declared ones, and those of the snapshot on one of
    /// the networks above.
    services: BTreeSet<String>,
}

impl Scope {
    /// `config`'s part of `server`, as `live` (its last snapshot) shows it.
    pub fn new(config: &Config, server: &str, live: &Snapshot) -> Scope {
        let mut scope = Scope {
            owner: config.owner.clone(),
            ..Scope::default()
        };
        scope.networks.extend(
            config
                .destinations_on(server)
                .map(|d| d.network.clone())
                .chain(
                    live.networks
                        .iter()
                        .filter(|n| n.owned_by(&config.owner))
                        .map(|n| n.name.clone()),
                ),
        );
        for r in &config.resources {
            if r.destinations_on(config, server).next().is_none() {
                continue;
            }
            if let Selector::SwarmService(name) = &r.selector {
                scope.services.insert(name.clone());
            }
            scope
                .selectors
                .push((r.kind, r.name.clone(), r.selector.clone()));
        }
        scope.projects.extend(
            config
                .stacks
                .iter()
                .filter(|s| config.destination_on(&s.destination, server).is_some())
                .map(|s| s.project.clone()),
        );
        let containers: Vec<&Container> = live
            .containers
            .iter()
            .filter(|c| scope.container(&c.name, &c.labels) || scope.attached(c))
            .collect();
        scope.containers = containers
            .iter()
            .flat_map(|c| [c.id.clone(), c.name.clone()])
            .chain(live.journals.iter().map(|j| j.name.clone()))
            .collect();
        if let Some(swarm) = &live.swarm {
            let on_ours: Vec<String> = swarm
                .services
                .iter()
                .filter(|s| s.networks.iter().any(|n| scope.network(&n.network)))
                .map(|s| s.name.clone())
                .collect();
            scope.services.extend(on_ours);
        }
        scope
    }

    /// Can this event change the server's plan?
    pub fn concerns(&self, e: &Event) -> bool {
        match e.kind.as_str() {
            "container" => {
                self.container(&e.name, &e.labels)
                    || self.containers.contains(&e.id)
                    || self.containers.contains(&e.name)
                    || e.old_name.as_ref().is_some_and(|n| {
                        self.containers.contains(n) || self.container(n, &e.labels)
                    })
            }
            "network" => {
                self.network(&e.name)
                    || e.container
                        .as_ref()
                        .is_some_and(|id| self.containers.contains(id))
            }
            "service" => self.services.contains(&e.name),
            // Nothing else is followed; whatever it is, plan again.
            _ => true,
        }
    }

    /// A network the plan reads: a destination's, this owner's, or one of
    /// a declared stack's compose project (which a stack clone needs free).
    fn network(&self, name: &str) -> bool {
        self.networks.contains(name)
            || self.projects.iter().any(|p| {
                name.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('_'))
            })
    }

    /// A container, by what it is: one a declared resource selects, one of
    /// a declared stack's project (or named like one: a stack clone's names
    /// must be free), or one this owner made (a clone, a journal).
    fn container(&self, name: &str, labels: &std::collections::BTreeMap<String, String>) -> bool {
        let probe = Container {
            name: name.to_string(),
            labels: labels.clone(),
            ..Container::default()
        };
        (!self.owner.is_empty() && labels.get(labels::OWNER) == Some(&self.owner))
            || labels
                .get(labels::COMPOSE_PROJECT)
                .is_some_and(|p| self.projects.contains(p))
            || self.projects.iter().any(|p| {
                name.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with(['-', '_']))
            })
            || self
                .selectors
                .iter()
                .any(|(kind, resource, selector)| selects(*kind, resource, selector, &probe))
    }

    /// Attached to a network the plan reads: the guard of a removal, a
    /// replacement's reconnections and `status` all count it.
    fn attached(&self, c: &Container) -> bool {
        c.networks.keys().any(|n| self.network(n))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{Destination, Placement, Resource, Stack};
    use crate::live::{Endpoint, Journal, Network};

    fn config() -> Config {
        let at = crate::diag::Location {
            file: "berth.toml".into(),
            span: 0..0,
        };
        let dest = |name: &str, server: &str, network: &str| Destination {
            name: name.into(),
            server: server.into(),
            network: network.into(),
            spec: crate::config::NetworkSpec {
                driver: "bridge".into(),
                internal: false,
                attachable: false,
                subnet: None,
                gateway: None,
                ip_range: None,
                enable_ipv6: None,
                subnet_v6: None,
                gateway_v6: None,
                options: BTreeMap::new(),
                labels: BTreeMap::new(),
                subnet_pool: None,
                ..Default::default()
            },
            group: None,
            pool: None,
            manage: false,
            prevent_removal: None,
            at: at.clone(),
        };
        let resource = |name: &str, destination: &str, selector: Selector| Resource {
            kind: ResourceKind::Application,
            name: name.into(),
            placement: Placement::One(destination.into()),
            selector,
            aliases: vec![],
            endpoint: Default::default(),
            clone_of: None,
            at: at.clone(),
        };
        Config {
            owner: "me".into(),
            partial: false,
            strict: false,
            ssh_persist: crate::config::DEFAULT_SSH_PERSIST,
            servers: vec![],
            destinations: vec![dest("prod", "s1", "prod-net"), dest("far", "s2", "far-net")],
            resources: vec![
                resource("api", "prod", Selector::Name("api-1".into())),
                resource(
                    "shop",
                    "prod",
                    Selector::Labels(BTreeMap::from([(
                        "coolify.applicationId".into(),
                        "4711".into(),
                    )])),
                ),
                resource("elsewhere", "far", Selector::Name("far-1".into())),
                resource("web", "prod", Selector::SwarmService("web".into())),
            ],
            stacks: vec![Stack {
                name: "blog".into(),
                destination: "prod".into(),
                project: "blog".into(),
                connect_to_predefined_networks: true,
                short_aliases: false,
                compose_file: None,
                clone_of: None,
                attachments: Default::default(),
                at: at.clone(),
            }],
            alerts: Vec::new(),
            by_server: Default::default(),
        }
    }

    fn container(id: &str, name: &str, networks: &[&str]) -> Container {
        Container {
            id: id.into(),
            name: name.into(),
            networks: networks
                .iter()
                .map(|n| (n.to_string(), Endpoint::default()))
                .collect(),
            ..Container::default()
        }
    }

    fn snapshot() -> Snapshot {
        let mut owned = Network {
            name: "old-net".into(),
            ..Network::default()
        };
        owned.labels = BTreeMap::from([
            (labels::MANAGED.into(), "true".into()),
            (labels::OWNER.into(), "me".into()),
        ]);
        Snapshot {
            networks: vec![owned],
            containers: vec![
                container("id-proxy", "proxy", &["bridge", "prod-net"]),
                container("id-old", "old-app", &["old-net"]),
                container("id-other", "other", &["bridge", "someone-elses"]),
            ],
            journals: vec![Journal {
                name: "berth-journal-1".into(),
                labels: BTreeMap::new(),
            }],
            ..Snapshot::default()
        }
    }

    fn event(kind: &str, name: &str) -> Event {
        Event {
            kind: kind.into(),
            action: "start".into(),
            id: format!("id-{name}"),
            name: name.into(),
            ..Event::default()
        }
    }

    fn with_label(mut e: Event, key: &str, value: &str) -> Event {
        e.labels.insert(key.into(), value.into());
        e
    }

    #[test]
    fn what_the_config_declares_concerns_it() {
        let scope = Scope::new(&config(), "s1", &snapshot());
        for e in [
            event("container", "api-1"),
            with_label(
                event("container", "shop-7"),
                "coolify.applicationId",
                "4711",
            ),
            with_label(
                event("container", "anything"),
                labels::COMPOSE_PROJECT,
                "blog",
            ),
            // A stack clone's names and network must be free.
            event("container", "blog-web-1"),
            event("network", "blog_default"),
            // Berth's own: a clone, a journal.
            with_label(event("container", "api-copy"), labels::OWNER, "me"),
            event("network", "prod-net"),
            event("network", "old-net"),
            event("service", "web"),
        ] {
            assert!(scope.concerns(&e), "{e:?}");
        }
    }

    #[test]
    fn what_the_snapshot_attaches_to_its_networks_concerns_it() {
        let scope = Scope::new(&config(), "s1", &snapshot());
        // Unmanaged but on a destination (the removal guard counts it), or
        // on a network of this owner.
        assert!(scope.concerns(&event("container", "proxy")));
        assert!(scope.concerns(&event("container", "old-app")));
        // A journal, whatever its labels.
        assert!(scope.concerns(&event("container", "berth-journal-1")));
        // Its connects to any network, by id.
        let mut connect = event("network", "someone-elses");
        connect.container = Some("id-proxy".into());
        assert!(scope.concerns(&connect));
        // Renamed away from a declared name.
        let mut renamed = event("container", "api-old");
        renamed.old_name = Some("api-1".into());
        assert!(scope.concerns(&renamed));
    }

    #[test]
    fn what_nothing_declares_is_unrelated() {
        let scope = Scope::new(&config(), "s1", &snapshot());
        let mut connect = event("network", "someone-elses");
        connect.container = Some("id-other".into());
        for e in [
            event("container", "other"),
            event("container", "scratch"),
            with_label(event("container", "shop-8"), "coolify.applicationId", "9"),
            // Another owner's clone, another server's resource.
            with_label(event("container", "x"), labels::OWNER, "someone"),
            event("container", "far-1"),
            event("container", "blogger"),
            event("network", "someone-elses"),
            event("network", "far-net"),
            event("network", "blogs_default"),
            connect,
            event("service", "batch"),
        ] {
            assert!(!scope.concerns(&e), "{e:?}");
        }
    }
}

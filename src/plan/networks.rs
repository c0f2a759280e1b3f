//! Destinations: create missing networks, adopt foreign ones, replace
//! berth-owned ones whose immutable properties changed, remove berth-owned
//! ones no destination declares, guarded by what is attached.

use std::collections::BTreeMap;

use super::guard::attached;
use super::model::*;
use ipnet::IpNet;

use crate::config::{Address, Config, Destination, NetworkSpec, PARENT_OPTION};
use crate::live::{Network, Snapshot, labels};

/// Network changes on one server, and the conflicts berth will not resolve.
pub fn plan(
    config: &Config,
    server: &str,
    live: &Snapshot,
    opts: Options,
    errors: &mut Vec<PlanError>,
) -> Vec<Change> {
    let mut changes = declared(config, server, live, opts, errors);
    let mut removals = Removals::new(config, server, live);
    // Configuration-only networks last: Docker keeps one while a network
    // made from it exists.
    let mut gone: Vec<&Network> = removal_candidates(config, server, live).collect();
    gone.sort_by_key(|n| n.config_only);
    for net in gone {
        match super::consent::removal_refused(config, server, net) {
            Some(refused) => errors.push(refused),
            None => changes.extend(removals.remove(net)),
        }
    }
    changes
}

/// The networks of the server's destinations: created when missing,
/// replaced when berth owns them and they differ, a conflict when they
/// differ and are not berth's.
fn declared(
    config: &Config,
    server: &str,
    live: &Snapshot,
    opts: Options,
    errors: &mut Vec<PlanError>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    // Configuration-only networks first: a network made `config_from` one
    // needs it there.
    let mut dests: Vec<&Destination> = config.destinations_on(server).collect();
    dests.sort_by_key(|d| !d.spec.config_only);
    for dest in dests {
        match live.network(&dest.network) {
            // No subnet from its pool (an error of `pools` says why).
            None if dest.pool.is_some() && dest.spec.subnet.is_none() => {}
            None => changes.push(Change::CreateNetwork(CreateNetwork {
                server: server.to_string(),
                destination: dest.name.clone(),
                network: dest.network.clone(),
                status: ChangeStatus::Planned,
                reasons: Vec::new(),
                spec: dest.spec.clone(),
            })),
            Some(net) => {
                let owned = net.owned_by(&config.owner);
                let differences = differences(&dest.spec, net, owned);
                if differences.is_empty() {
                    continue;
                }
                let takeover = super::consent::takeover(config, dest, net);
                if !owned && takeover.is_none() {
                    errors.push(
                        super::consent::foreign_owner_error(
                            config,
                            server,
                            dest,
                            net,
                            &differences,
                        )
                        .unwrap_or_else(|| {
                            adoption_conflict(config, server, dest, net, &differences)
                        }),
                    );
                } else if let Some(refused) =
                    super::consent::replace_refused(server, dest, &differences)
                {
                    errors.push(refused);
                } else {
                    let replace = replace(config, server, dest, live, differences, opts);
                    changes.push(take_over(replace, takeover));
                }
            }
        }
    }
    changes
}

/// What the removals on one server share, computed once for all of them.
struct Removals<'a> {
    config: &'a Config,
    server: &'a str,
    live: &'a Snapshot,
    /// Containers the config selects, with where they go.
    selected: BTreeMap<String, Vec<super::attach::Attachment>>,
    /// Containers of resources on every destination, with their resource.
    followers: BTreeMap<&'a str, ResourceRef>,
    /// Networks each container will be on (those it has, and those the
    /// plan attaches it to): one shared by every destination leaves removed
    /// ones, but never its last network.
    remaining: BTreeMap<&'a str, usize>,
}

impl<'a> Removals<'a> {
    fn new(config: &'a Config, server: &'a str, live: &'a Snapshot) -> Self {
        let selected = super::attach::selected(config, server, live);
        let remaining = live
            .containers
            .iter()
            .map(|c| {
                let joins = selected.get(&c.name).map_or(0, |wanted| {
                    wanted
                        .iter()
                        .filter(|w| !c.networks.contains_key(&w.network))
                        .count()
                });
                (c.name.as_str(), c.networks.len() + joins)
            })
            .collect();
        Removals {
            config,
            server,
            live,
            selected,
            followers: followers(config, live),
            remaining,
        }
    }

    /// The removal of `net`, blocked by what stays attached to it (with how
    /// to unblock it), after the disconnects of the shared resources that
    /// leave it.
    fn remove(&mut self, net: &Network) -> Vec<Change> {
        let attached = attached(self.config, self.server, self.live, &net.name);
        let destination = net.label(labels::DESTINATION).map(str::to_string);
        let leaving: Vec<&str> = attached
            .iter()
            .filter(|a| self.followers.contains_key(a.container.as_str()))
            .filter(|a| {
                self.remaining
                    .get(a.container.as_str())
                    .is_some_and(|n| *n > 1)
            })
            .map(|a| a.container.as_str())
            .collect();
        let leaves = |a: &Attached| leaving.contains(&a.container.as_str());
        let blockers: Vec<&Attached> = attached.iter().filter(|a| !leaves(a)).collect();
        let reasons: Vec<String> = blockers
            .iter()
            .map(|a| format!("{} is attached to {}", a.subject(), net.name))
            .collect();
        let blocked = !reasons.is_empty();
        let hint = blocked.then(|| self.unblock(net, destination.as_deref(), &blockers));
        let mut changes = Vec::new();
        // Only when the removal goes ahead: a blocked one keeps them.
        if !blocked {
            let leaving: Vec<&Attached> = attached.iter().filter(|a| leaves(a)).collect();
            changes = self.disconnects(net, destination.as_deref(), &leaving);
        }
        changes.push(Change::RemoveNetwork(RemoveNetwork {
            server: self.server.to_string(),
            destination,
            network: net.name.clone(),
            status: if blocked {
                ChangeStatus::Blocked
            } else {
                ChangeStatus::Planned
            },
            reasons,
            attached,
            hint,
        }));
        changes
    }

    /// How to unblock the removal of `net`, which `blockers` hold.
    fn unblock(&self, net: &Network, destination: Option<&str>, blockers: &[&Attached]) -> String {
        let declared: Vec<&Attached> = blockers
            .iter()
            .copied()
            .filter(|a| self.selected.contains_key(&a.container))
            .collect();
        unblock_removal(
            self.config,
            self.server,
            &net.name,
            destination,
            blockers,
            &declared,
        )
    }

    /// Containers of resources on every destination leave `net` as part of
    /// its removal (each one fewer network to be on).
    fn disconnects(
        &mut self,
        net: &Network,
        destination: Option<&str>,
        leaving: &[&Attached],
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for a in leaving {
            if let Some(n) = self.remaining.get_mut(a.container.as_str()) {
                *n -= 1;
            }
            let resource = &self.followers[a.container.as_str()];
            changes.push(Change::Disconnect(Disconnect {
                server: self.server.to_string(),
                destination: destination.unwrap_or(&net.name).to_string(),
                network: net.name.clone(),
                container: a.container.clone(),
                resource: resource.clone(),
                status: ChangeStatus::Planned,
                reasons: vec![format!(
                    "{} {} is shared by every destination (destinations = \"*\"): it leaves {} as part of its removal",
                    resource.kind, resource.name, net.name
                )],
            }));
        }
        changes
    }
}

/// Detach commands beyond this many are folded into one shell loop.
const DETACH_COMMANDS: usize = 3;

/// What unblocks a removal: the commands that detach what is attached
/// (collapsed into one loop when many), then, for declared resources, the
/// way to move them off through the config; or keeping the destination.
/// berth itself never detaches what the config does not ask it to: the
/// guard is the point, and a detach by hand is explicit and auditable.
fn unblock_removal(
    config: &Config,
    server: &str,
    network: &str,
    destination: Option<&str>,
    blockers: &[&Attached],
    declared: &[&Attached],
) -> String {
    let docker = docker_command(config, server);
    let net = quote(network);
    let mut containers: Vec<String> = Vec::new();
    let mut services: Vec<String> = Vec::new();
    let mut elsewhere: Vec<String> = Vec::new();
    for a in blockers {
        // Swarm entries carry their noun (`service web`, `task web.1`,
        // `container 0123abcd` on another node); containers have none.
        match a.container.split_once(' ') {
            None => containers.push(a.container.clone()),
            Some(("service", name)) => services.push(name.to_string()),
            // A service's task (`web.1`): its service leaves the network.
            Some(("task", task)) if task.contains('.') => {
                let service = task.rsplit_once('.').map_or(task, |(s, _)| s);
                services.push(service.to_string());
            }
            // An attachment task whose node has not started its container.
            Some(("task", task)) => elsewhere.push(format!(
                "the container of task {task} once {} starts it",
                a.node
                    .as_deref()
                    .map_or("its node".to_string(), |n| format!("node {n}"))
            )),
            Some((_, id)) => elsewhere.push(match &a.node {
                Some(node) => format!(
                    "`docker network disconnect {net} {}` on node {node}",
                    quote(id)
                ),
                None => format!("`docker network disconnect {net} {}`", quote(id)),
            }),
        }
    }
    services.sort();
    services.dedup();
    let mut commands: Vec<String> = if containers.len() > DETACH_COMMANDS {
        let names: Vec<String> = containers.iter().map(|c| quote(c)).collect();
        vec![format!(
            "`for c in {}; do {docker} network disconnect {net} \"$c\"; done`",
            names.join(" ")
        )]
    } else {
        containers
            .iter()
            .map(|c| format!("`{docker} network disconnect {net} {}`", quote(c)))
            .collect()
    };
    commands.extend(
        services
            .iter()
            .map(|s| format!("`{docker} service update --network-rm {net} {}`", quote(s))),
    );
    commands.extend(elsewhere);
    let mut hint = format!(
        "to unblock, detach {} by hand, then plan again: {}",
        if blockers.len() == 1 { "it" } else { "them" },
        commands.join("; ")
    );
    let keep = match destination {
        Some(d) => format!("destination {d}"),
        None => format!("a destination for network {network}"),
    };
    if declared.is_empty() {
        hint.push_str(&format!("; or keep {keep} in the config"));
    } else {
        let names: Vec<String> = declared
            .iter()
            .map(|a| match &a.resource {
                Some(r) => format!("{} {r}", a.kind),
                None => a.container.clone(),
            })
            .collect();
        hint.push_str(&format!(
            "; or move {} off it through the config: declare {keep} again, reassign {}, apply, then remove the destination",
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" },
        ));
    }
    hint
}

/// `docker`, with `-H` for a server that is not the local engine.
fn docker_command(config: &Config, server: &str) -> String {
    match config.server(server).map(|s| &s.address) {
        None | Some(Address::Local) => "docker".to_string(),
        Some(address) => format!("docker -H {}", quote(&address.to_string())),
    }
}

/// A word as a POSIX shell reads it.
fn quote(word: &str) -> String {
    shell_escape::unix::escape(word.into()).into_owned()
}

/// Containers a resource shares with every destination of their server
/// (`destinations = "*"`), by name, with that resource.
fn followers<'a>(config: &'a Config, live: &'a Snapshot) -> BTreeMap<&'a str, ResourceRef> {
    config
        .resources
        .iter()
        .filter(|r| r.everywhere())
        .flat_map(|r| {
            live.containers
                .iter()
                .filter(|c| super::guard::selects(r.kind, &r.name, &r.selector, c))
                .map(move |c| (c.name.as_str(), ResourceRef::new(r.kind, &r.name)))
        })
        .collect()
}

/// berth-owned networks on `server` that no destination declares.
pub fn removal_candidates<'a>(
    config: &'a Config,
    server: &'a str,
    live: &'a Snapshot,
) -> impl Iterator<Item = &'a Network> {
    live.networks.iter().filter(move |net| {
        net.owned_by(&config.owner)
            && !net.is_predefined()
            && !config
                .destinations_on(server)
                .any(|d| d.network == net.name)
    })
}

fn replace(
    config: &Config,
    server: &str,
    dest: &Destination,
    live: &Snapshot,
    differences: Vec<Difference>,
    opts: Options,
) -> Change {
    let attached = attached(config, server, live, &dest.network);
    let mut status = ChangeStatus::Planned;
    let mut reasons = Vec::new();
    let mut hint = None;
    if !attached.is_empty() {
        let names: Vec<String> = attached.iter().map(Attached::describe).collect();
        if opts.allow_replace {
            reasons.push(format!(
                "will disconnect, recreate and reconnect with their aliases: {}",
                names.join(", ")
            ));
        } else {
            let what: Vec<String> = differences
                .iter()
                .map(|d| format!("{} {} → {}", d.property, d.live, d.desired))
                .collect();
            let one = names.len() == 1;
            status = ChangeStatus::Blocked;
            reasons.push(format!(
                "Docker cannot change {} of a network in place; it must be recreated, but {} container{} {} attached: {}",
                what.join(", "),
                names.len(),
                if one { "" } else { "s" },
                if one { "is" } else { "are" },
                names.join(", ")
            ));
            hint = Some(
                "to unblock, apply with --allow-replace: berth disconnects them, recreates the network and reconnects them with their aliases".to_string(),
            );
        }
    }
    Change::ReplaceNetwork(ReplaceNetwork {
        server: server.to_string(),
        destination: dest.name.clone(),
        network: dest.network.clone(),
        status,
        reasons,
        attached,
        hint,
        spec: dest.spec.clone(),
        differences,
        takeover: None,
    })
}

/// A replace of a network berth did not create says so, in its reasons
/// and its `takeover`.
fn take_over(mut change: Change, takeover: Option<Takeover>) -> Change {
    if let (Change::ReplaceNetwork(r), Some(t)) = (&mut change, takeover) {
        r.reasons.insert(
            0,
            format!(
                "takes over network {}, which berth did not create (manage = true): it is recreated with berth's labels and is berth's from then on",
                r.network
            ),
        );
        r.takeover = Some(t);
    }
    change
}

fn adoption_conflict(
    config: &Config,
    server: &str,
    dest: &Destination,
    net: &Network,
    differences: &[Difference],
) -> PlanError {
    let owner = match (net.label(labels::MANAGED), net.label(labels::OWNER)) {
        (Some("true"), Some(other)) => format!(
            "it belongs to berth owner `{other}`, not `{}`",
            config.owner
        ),
        _ => "berth did not create it".to_string(),
    };
    let what: Vec<String> = differences
        .iter()
        .map(|d| {
            format!(
                "{} is {} live but {} in the config",
                d.property, d.live, d.desired
            )
        })
        .collect();
    PlanError {
        server: server.to_string(),
        destination: Some(dest.name.clone()),
        network: dest.network.clone(),
        message: format!(
            "network {} on server {} differs from destination {} ({}), and {owner}, so berth will not change it",
            dest.network,
            server,
            dest.name,
            what.join("; ")
        ),
        hint: "make the destination match the live network, or remove the network by hand so berth creates it".to_string(),
    }
}
/// Properties of `spec` that the live network does not have. Unset optional
/// properties are the daemon's choice, never drift; a value the config
/// gives (`false` included) is always compared. For networks berth does
/// not own, only the labels and auxiliary addresses the config names are
/// compared. A pure function of its three arguments.
pub fn differences(spec: &NetworkSpec, live: &Network, owned: bool) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut diff = |property: &str, live: String, desired: String| {
        if live != desired {
            out.push(Difference {
                property: property.to_string(),
                live,
                desired,
            });
        }
    };
    let text = |v: Option<&str>| v.filter(|v| !v.is_empty()).unwrap_or("unset").to_string();
    diff("driver", live.driver.clone(), spec.driver.clone());
    diff(
        "internal",
        live.internal.to_string(),
        spec.internal.to_string(),
    );
    diff(
        "attachable",
        live.attachable.to_string(),
        spec.attachable.to_string(),
    );
    if let Some(scope) = &spec.scope {
        diff("scope", text(Some(&live.scope)), scope.clone());
    }
    diff(
        "config_only",
        live.config_only.to_string(),
        spec.config_only.to_string(),
    );
    diff(
        "config_from",
        text(Some(&live.config_from)),
        text(spec.config_from.as_deref()),
    );
    if let Some(enable) = spec.enable_ipv6 {
        diff(
            "enable_ipv6",
            live.enable_ipv6.to_string(),
            enable.to_string(),
        );
    }
    for d in pool_differences(spec, live) {
        diff(&d.property, d.live, d.desired);
    }
    if let Some(driver) = &spec.ipam_driver {
        // An engine that names no IPAM driver uses Docker's default.
        let have = if live.ipam_driver.is_empty() {
            "default"
        } else {
            &live.ipam_driver
        };
        diff("ipam_driver", have.to_string(), driver.clone());
    }
    for (key, want) in &spec.ipam_options {
        diff(
            &format!("ipam option {key}"),
            text(live.ipam_options.get(key).map(String::as_str)),
            want.clone(),
        );
    }
    if let Some(parent) = &spec.parent {
        diff(
            "parent",
            text(live.options.get(PARENT_OPTION).map(String::as_str)),
            parent.clone(),
        );
    }
    // Only the options the config names: the daemon adds its own.
    for (key, want) in &spec.options {
        let have = live
            .options
            .get(key)
            .cloned()
            .unwrap_or_else(|| "unset".to_string());
        diff(&format!("option {key}"), have, want.clone());
    }
    // A network made `config_from` another has that one's pools and
    // labels: they are the configuration network's to compare.
    let inherited = spec.config_from.is_some();
    let live_aux: BTreeMap<&String, String> = live
        .ipam
        .iter()
        .flat_map(|p| p.aux_addresses.iter())
        .filter(|(k, _)| owned || spec.aux_addresses.contains_key(*k))
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    let desired_aux: BTreeMap<&String, String> = spec
        .aux_addresses
        .iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    if live_aux != desired_aux && !inherited {
        diff("aux_addresses", show_map(&live_aux), show_map(&desired_aux));
    }
    let live_labels: BTreeMap<&String, &String> = live
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("berth."))
        .filter(|(k, _)| owned || spec.labels.contains_key(*k))
        .collect();
    let desired_labels: BTreeMap<&String, &String> = spec.labels.iter().collect();
    if live_labels != desired_labels && !inherited {
        diff("labels", show_map(&live_labels), show_map(&desired_labels));
    }
    out
}

/// `{a=1, b=2}`, `{}` when empty.
fn show_map<K: std::fmt::Display, V: std::fmt::Display>(m: &BTreeMap<K, V>) -> String {
    let kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", kv.join(", "))
}

/// The IPAM pools: each declared one there with the gateway and range the
/// config gives. The first pool of each family is `subnet` / `subnet_v6`
/// (what stands live in its place when it is missing); once the config
/// declares a family's pools, a live pool of that family it does not
/// declare is drift (`extra_pools`), while a family it leaves out is the
/// daemon's choice.
fn pool_differences(spec: &NetworkSpec, live: &Network) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut diff = |property: String, live: String, desired: String| {
        if live != desired {
            out.push(Difference {
                property,
                live,
                desired,
            });
        }
    };
    let live_subnets: Vec<IpNet> = live.ipam.iter().filter_map(|p| p.subnet).collect();
    let list = |nets: &[IpNet]| {
        if nets.is_empty() {
            "none".to_string()
        } else {
            let mut s: Vec<String> = nets.iter().map(ToString::to_string).collect();
            s.sort();
            s.join(",")
        }
    };
    let family = |n: &IpNet, v6: bool| n.addr().is_ipv6() == v6;
    let mut live_extra: Vec<IpNet> = Vec::new();
    let mut declared_extra: Vec<IpNet> = Vec::new();
    for (v6, first, key) in [
        (false, spec.subnet, "subnet"),
        (true, spec.subnet_v6, "subnet_v6"),
    ] {
        let declared: Vec<IpNet> = spec
            .extra_pools
            .iter()
            .map(|p| p.subnet)
            .filter(|n| family(n, v6))
            .collect();
        if first.is_none() && declared.is_empty() {
            continue;
        }
        let mut live_family: Vec<IpNet> = live_subnets
            .iter()
            .copied()
            .filter(|n| family(n, v6))
            .collect();
        if let Some(first) = first {
            match live_family.iter().position(|n| *n == first) {
                Some(i) => {
                    live_family.remove(i);
                }
                None => {
                    diff(key.to_string(), list(&live_family), first.to_string());
                    // What stands in its place is not an extra pool.
                    if !live_family.is_empty() {
                        live_family.remove(0);
                    }
                }
            }
        }
        live_extra.extend(live_family);
        declared_extra.extend(declared);
    }
    diff(
        "extra_pools".to_string(),
        list(&live_extra),
        list(&declared_extra),
    );
    let first_v4 = spec.subnet;
    for pool in spec.pools() {
        let Some(have) = live.ipam.iter().find(|p| p.subnet == Some(pool.subnet)) else {
            continue;
        };
        let (gateway, range) = if Some(pool.subnet) == first_v4 {
            ("gateway".to_string(), "ip_range".to_string())
        } else if Some(pool.subnet) == spec.subnet_v6 {
            (
                "gateway_v6".to_string(),
                format!("ip_range of pool {}", pool.subnet),
            )
        } else {
            (
                format!("gateway of pool {}", pool.subnet),
                format!("ip_range of pool {}", pool.subnet),
            )
        };
        let show = |a: Option<String>| a.unwrap_or_else(|| "none".to_string());
        if let Some(gw) = pool.gateway {
            diff(
                gateway,
                show(have.gateway.map(|g| g.to_string())),
                gw.to_string(),
            );
        }
        if let Some(r) = pool.ip_range {
            diff(
                range,
                show(have.ip_range.map(|r| r.to_string())),
                r.to_string(),
            );
        }
    }
    out
}

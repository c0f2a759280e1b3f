//! Destinations: create missing networks, adopt foreign ones, replace
//! berth-owned ones whose immutable properties changed, remove berth-owned
//! ones no destination declares, guarded by what is attached.

use std::collections::BTreeMap;

use super::guard::attached;
use super::model::*;
use crate::config::{Address, Config, Destination, NetworkSpec};
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
    for net in removal_candidates(config, server, live) {
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
    for dest in config.destinations_on(server) {
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
/// properties are daemon defaults, never drift. For networks berth does not
/// own, only the labels the config names are compared.
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
    let pools = || {
        let s: Vec<String> = live
            .ipam
            .iter()
            .filter_map(|p| p.subnet)
            .map(|n| n.to_string())
            .collect();
        if s.is_empty() {
            "none".to_string()
        } else {
            s.join(",")
        }
    };
    if let Some(subnet) = spec.subnet {
        if !live.ipam.iter().any(|p| p.subnet == Some(subnet)) {
            diff("subnet", pools(), subnet.to_string());
        }
    }
    if let Some(gw) = spec.gateway {
        let pool = live
            .ipam
            .iter()
            .find(|p| spec.subnet.is_none() || p.subnet == spec.subnet);
        let live_gw = pool
            .and_then(|p| p.gateway)
            .map_or("none".to_string(), |g| g.to_string());
        diff("gateway", live_gw, gw.to_string());
    }
    if let Some(range) = spec.ip_range {
        let pool = live
            .ipam
            .iter()
            .find(|p| spec.subnet.is_none() || p.subnet == spec.subnet);
        let live_range = pool
            .and_then(|p| p.ip_range)
            .map_or("none".to_string(), |r| r.to_string());
        diff("ip_range", live_range, range.to_string());
    }
    if spec.enable_ipv6 {
        diff(
            "enable_ipv6",
            live.enable_ipv6.to_string(),
            spec.enable_ipv6.to_string(),
        );
    }
    if let Some(subnet) = spec.subnet_v6 {
        if !live.ipam.iter().any(|p| p.subnet == Some(subnet)) {
            diff("subnet_v6", pools(), subnet.to_string());
        }
    }
    if let Some(gw) = spec.gateway_v6 {
        let live_gw = live
            .ipam
            .iter()
            .find(|p| p.subnet.is_some() && p.subnet == spec.subnet_v6)
            .and_then(|p| p.gateway)
            .map_or("none".to_string(), |g| g.to_string());
        diff("gateway_v6", live_gw, gw.to_string());
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
    let live_labels: BTreeMap<&String, &String> = live
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("berth."))
        .filter(|(k, _)| owned || spec.labels.contains_key(*k))
        .collect();
    let desired_labels: BTreeMap<&String, &String> = spec.labels.iter().collect();
    if live_labels != desired_labels {
        let show = |m: &BTreeMap<&String, &String>| {
            if m.is_empty() {
                "{}".to_string()
            } else {
                let kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{{{}}}", kv.join(", "))
            }
        };
        diff("labels", show(&live_labels), show(&desired_labels));
    }
    out
}

//! `[[destination]]`: its server, the network's name, driver and labels,
//! and the rules across destinations (one network per destination, no
//! overlapping subnets on a server). IPAM keys are checked in `ipam`.

use std::collections::BTreeMap;

use ipnet::IpNet;

use std::collections::BTreeSet;

use super::super::load::{Entry, RawConfig, did_you_mean};
use super::super::model::{
    DEFAULT_DRIVER, Destination, Group, Members, NetworkSpec, PARENT_OPTION, SubnetPool,
};
use super::super::raw::{RawDestination, RawServers};
use super::{dangling, ipam, names};
use crate::diag::Diagnostic;

/// Docker's own rule for network (and container) names.
pub fn valid_docker_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && s.len() <= 255
}

/// The destination's network on each server of its set (one for
/// `server = "..."`); empty when the table has an error.
pub(super) fn destination(
    e: &Entry<RawDestination>,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Destination> {
    let r = &e.raw;
    let mut ok = true;
    let members = members(e, raw, errors);
    if !valid_docker_name(&r.network) {
        ok = false;
        errors.push(
            Diagnostic::new(format!("Docker would refuse the network name `{}`", r.network), e.loc("network"))
                .label("invalid network name")
                .help("network names start with a letter or digit, continue with letters, digits, `_`, `.` or `-`, and are at most 255 characters"),
        );
    }
    let pool = pool(e, members.as_ref().map(|(s, _)| s.as_slice()), errors);
    let Some(mut spec) = network_spec(e, errors) else {
        return Vec::new();
    };
    let (Some((servers, group)), Some(pool), true) = (members, pool, ok) else {
        return Vec::new();
    };
    spec.subnet_pool = pool.map(|p| p.pool);
    servers
        .into_iter()
        .map(|server| Destination {
            name: r.name.clone(),
            server,
            network: r.network.clone(),
            spec: spec.clone(),
            group: group.clone(),
            pool,
            manage: r.manage.unwrap_or(false),
            // The file for now; `config::check` makes it `file:line:col`.
            prevent_removal: (r.prevent_removal == Some(true))
                .then(|| e.loc("prevent_removal").file),
            at: e.loc("name"),
        })
        .collect()
}

/// The servers a destination lives on, in the config's order, and the set
/// as declared (`servers`); `None` after an error.
fn members(
    e: &Entry<RawDestination>,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<(Vec<String>, Option<Group>)> {
    let r = &e.raw;
    let who = format!("destination `{}`", r.name);
    let all: Vec<&str> = names(&raw.servers, |s| &s.raw.name);
    match (&r.server, &r.servers) {
        (Some(_), Some(_)) => {
            errors.push(
                Diagnostic::new("`server` and `servers` exclude each other", e.loc("servers"))
                    .label("second placement")
                    .related(e.loc("server"), "server named here")
                    .help("one server (`server = \"db-1\"`), or a set (`servers = [\"tag:web\", \"db-1\"]` or `\"*\"`)"),
            );
            None
        }
        (None, None) => {
            errors.push(
                Diagnostic::new(format!("{who} has no `server`"), e.at.clone())
                    .label("no server")
                    .help("add `server = \"…\"`, or `servers = [\"…\", \"tag:…\"]` (or \"*\") for one network on each server of a set"),
            );
            None
        }
        (Some(server), None) => {
            if all.contains(&server.as_str()) {
                Some((vec![server.clone()], None))
            } else {
                errors.push(dangling(&who, "server", server, e.loc("server"), all));
                None
            }
        }
        (None, Some(RawServers::All(star))) if star == "*" => {
            let servers: Vec<String> = all.iter().map(|s| s.to_string()).collect();
            if servers.is_empty() {
                errors.push(empty_set(
                    e,
                    "`servers = \"*\"` matches no server: the config declares none",
                ));
                return None;
            }
            let group = Group {
                declared: Members::All,
                servers: servers.clone(),
                at: e.loc("servers"),
            };
            Some((servers, Some(group)))
        }
        (None, Some(RawServers::All(other))) => {
            errors.push(
                Diagnostic::new(
                    format!("`servers = \"{other}\"`: only \"*\" (every server) is a string here"),
                    e.loc("servers"),
                )
                .label("not a list")
                .help(format!(
                    "write `servers = [\"{other}\"]`, or `server = \"{other}\"` for one"
                )),
            );
            None
        }
        (None, Some(RawServers::Listed(list))) => listed(e, raw, list, errors),
    }
}

/// `servers = [...]`: server names and `tag:NAME` entries, each naming at
/// least one server.
fn listed(
    e: &Entry<RawDestination>,
    raw: &RawConfig,
    list: &[String],
    errors: &mut Vec<Diagnostic>,
) -> Option<(Vec<String>, Option<Group>)> {
    let who = format!("destination `{}`", e.raw.name);
    if list.is_empty() {
        errors.push(empty_set(e, "`servers` is empty"));
        return None;
    }
    let all: Vec<&str> = names(&raw.servers, |s| &s.raw.name);
    let mut tags: Vec<&str> = raw
        .servers
        .iter()
        .flat_map(|s| s.raw.tags.iter().flatten().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut ok = true;
    for entry in list {
        if let Some(tag) = entry.strip_prefix("tag:") {
            let tagged: Vec<&str> = raw
                .servers
                .iter()
                .filter(|s| s.raw.tags.iter().flatten().any(|t| t == tag))
                .map(|s| s.raw.name.as_str())
                .collect();
            if tagged.is_empty() {
                ok = false;
                let d = Diagnostic::new(
                    format!("{who} refers to unknown tag `{tag}`"),
                    e.loc("servers"),
                )
                .label("no server carries this tag");
                let d = match did_you_mean(tag, &tags) {
                    Some(best) => d.help(format!("did you mean `tag:{best}`?")),
                    None if tags.is_empty() => d.help(
                        "no server has tags yet: add `tags = [\"…\"]` to its [[server]] table",
                    ),
                    None => d.help(format!("known tags: {}", tags.join(", "))),
                };
                errors.push(d);
            }
            wanted.extend(tagged);
        } else if entry == "*" {
            ok = false;
            errors.push(
                Diagnostic::new("`\"*\"` inside a list", e.loc("servers"))
                    .label("not a server name")
                    .help("write `servers = \"*\"` (no list) for every server"),
            );
        } else if all.contains(&entry.as_str()) {
            wanted.insert(entry);
        } else {
            ok = false;
            errors.push(dangling(
                &who,
                "server",
                entry,
                e.loc("servers"),
                all.clone(),
            ));
        }
    }
    if !ok {
        return None;
    }
    let servers: Vec<String> = all
        .iter()
        .filter(|s| wanted.contains(*s))
        .map(|s| s.to_string())
        .collect();
    let mut seen = BTreeSet::new();
    let servers: Vec<String> = servers
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect();
    let group = Group {
        declared: Members::Listed(list.to_vec()),
        servers: servers.clone(),
        at: e.loc("servers"),
    };
    Some((servers, Some(group)))
}

fn empty_set(e: &Entry<RawDestination>, what: &str) -> Diagnostic {
    Diagnostic::new(
        format!("destination `{}`: {what}", e.raw.name),
        e.loc("servers"),
    )
    .label("empty set of servers")
    .help("list server names or `tag:NAME` entries, or write `servers = \"*\"` for every server")
}

/// `subnet_pool` with `subnet_prefix` (instead of `subnet`): an IPv4 pool
/// holding a subnet for every server of the set. `Some(None)` without a
/// pool, `None` after an error. `servers` is `None` when the set itself
/// has an error.
fn pool(
    e: &Entry<RawDestination>,
    servers: Option<&[String]>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Option<SubnetPool>> {
    let r = &e.raw;
    let Some(text) = r.subnet_pool.as_deref() else {
        if r.subnet_prefix.is_some() {
            errors.push(
                Diagnostic::new(
                    "`subnet_prefix` needs a `subnet_pool`",
                    e.loc("subnet_prefix"),
                )
                .label("prefix without pool")
                .help("add `subnet_pool = \"10.40.0.0/16\"`, or remove `subnet_prefix`"),
            );
            return None;
        }
        return Some(None);
    };
    if r.subnet.is_some() {
        errors.push(
            Diagnostic::new("`subnet` and `subnet_pool` exclude each other", e.loc("subnet_pool"))
                .label("second subnet")
                .related(e.loc("subnet"), "subnet given here")
                .help("one subnet for one server (`subnet`), or a pool each server's subnet comes from (`subnet_pool`)"),
        );
        return None;
    }
    let pool = match text.parse::<IpNet>() {
        Ok(IpNet::V4(net)) if net.trunc() == net => IpNet::V4(net),
        Ok(IpNet::V4(net)) => {
            errors.push(
                Diagnostic::new(
                    format!("subnet_pool `{net}` has host bits set"),
                    e.loc("subnet_pool"),
                )
                .label("not a network address")
                .help(format!("did you mean `{}`?", net.trunc())),
            );
            return None;
        }
        Ok(IpNet::V6(_)) => {
            errors.push(
                Diagnostic::new(
                    format!("subnet_pool `{text}` is an IPv6 network"),
                    e.loc("subnet_pool"),
                )
                .label("not IPv4")
                .help("pools are IPv4; give IPv6 networks a `subnet_v6`"),
            );
            return None;
        }
        Err(_) => {
            errors.push(
                Diagnostic::new(
                    format!("`{text}` is not a subnet in CIDR form"),
                    e.loc("subnet_pool"),
                )
                .label("invalid subnet_pool")
                .help("write it like `10.40.0.0/16`"),
            );
            return None;
        }
    };
    let Some(prefix) = r.subnet_prefix else {
        errors.push(
            Diagnostic::new(
                "`subnet_pool` needs a `subnet_prefix`",
                e.loc("subnet_pool"),
            )
            .label("no prefix")
            .help(format!(
                "add the size of each server's subnet, e.g. `subnet_prefix = {}`",
                pool.prefix_len().clamp(24, 30)
            )),
        );
        return None;
    };
    if prefix < pool.prefix_len() || prefix > 30 {
        errors.push(
            Diagnostic::new(
                format!("subnet_prefix {prefix} does not fit pool {pool}"),
                e.loc("subnet_prefix"),
            )
            .label("invalid prefix")
            .help(format!(
                "a prefix from {} (the whole pool) to 30",
                pool.prefix_len()
            )),
        );
        return None;
    }
    let p = SubnetPool { pool, prefix };
    let servers = servers?;
    let slots = usize::try_from(p.slots()).unwrap_or(usize::MAX);
    if servers.len() > slots {
        let left = &servers[slots..];
        errors.push(
            Diagnostic::new(
                format!(
                    "subnet_pool {pool} holds {slots} /{prefix} subnets for {} servers: {} left without one",
                    servers.len(),
                    list_some(left)
                ),
                e.loc("subnet_pool"),
            )
            .label("pool too small")
            .related(e.loc("subnet_prefix"), "subnet size")
            .help("give a larger pool, or a longer `subnet_prefix`"),
        );
        return None;
    }
    Some(Some(p))
}

/// Names for a message: all of a few, the first ones of many.
pub fn list_some(names: &[String]) -> String {
    const SHOWN: usize = 5;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

/// The network a destination declares: driver, IPAM and labels, each
/// checked as Docker would.
fn network_spec(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Option<NetworkSpec> {
    let r = &e.raw;
    let before = errors.len();
    if let Some(driver) = &r.driver {
        if !valid_docker_name(driver) {
            errors.push(
                Diagnostic::new(
                    format!("invalid network driver `{driver}`"),
                    e.loc("driver"),
                )
                .label("invalid driver"),
            );
        }
    }
    let ipam = ipam::ipam(e, errors);
    reserved_labels(e, errors);
    driver_keys(e, errors);
    config_only(e, errors);
    config_from(e, errors);
    let config_only = r.config_only.unwrap_or(false);
    (errors.len() == before).then(|| NetworkSpec {
        // Docker keeps no driver for a configuration-only network.
        driver: match (&r.driver, config_only) {
            (_, true) => CONFIG_ONLY_DRIVER.to_string(),
            (Some(d), false) => d.clone(),
            (None, false) => DEFAULT_DRIVER.to_string(),
        },
        internal: r.internal.unwrap_or(false),
        attachable: r.attachable.unwrap_or(false),
        subnet: ipam.subnet,
        gateway: ipam.gateway,
        ip_range: ipam.ip_range,
        enable_ipv6: r.enable_ipv6,
        subnet_v6: ipam.subnet_v6,
        gateway_v6: ipam.gateway_v6,
        extra_pools: ipam.extra_pools,
        aux_addresses: ipam.aux_addresses,
        ipam_driver: r.ipam_driver.clone(),
        ipam_options: r.ipam_options.clone(),
        scope: r.scope.clone(),
        config_only,
        config_from: r.config_from.clone(),
        parent: r.parent.clone(),
        options: r.options.clone(),
        labels: r.labels.clone(),
        subnet_pool: None,
        prevent_removal: r.prevent_removal.unwrap_or(false),
    })
}

/// The driver Docker records for a configuration-only network.
pub const CONFIG_ONLY_DRIVER: &str = "null";

/// Drivers whose networks sit on a host interface (`parent`).
const PARENT_DRIVERS: [&str; 2] = ["macvlan", "ipvlan"];

/// `parent` (macvlan and ipvlan only, not also in `options`), `scope`
/// and `ipam_driver`.
fn driver_keys(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) {
    let r = &e.raw;
    if let Some(parent) = &r.parent {
        let driver = r.driver.as_deref().unwrap_or(DEFAULT_DRIVER);
        if parent.is_empty() || parent.chars().any(|c| c.is_whitespace() || c == '/') {
            errors.push(
                Diagnostic::new(
                    format!("`{parent}` is not an interface name"),
                    e.loc("parent"),
                )
                .label("invalid parent")
                .help("name a host interface, e.g. `eth0` or `eth0.10` (a VLAN)"),
            );
        }
        if r.config_only != Some(true) && !PARENT_DRIVERS.contains(&driver) {
            errors.push(
                Diagnostic::new(
                    format!("`parent` is for macvlan and ipvlan networks, not {driver}"),
                    e.loc("parent"),
                )
                .label("no parent for this driver")
                .related(e.loc("driver"), "driver set here (bridge when unset)")
                .help("set `driver = \"macvlan\"` or `\"ipvlan\"`, or remove `parent`"),
            );
        }
        if r.options.contains_key(PARENT_OPTION) {
            errors.push(
                Diagnostic::new("`parent` is given twice", e.loc("options"))
                    .label("`parent` in options")
                    .related(e.loc("parent"), "and as its own key")
                    .help("keep `parent = \"…\"` and drop it from `options`"),
            );
        }
    }
    if let Some(scope) = &r.scope {
        if !matches!(scope.as_str(), "local" | "swarm") {
            errors.push(
                Diagnostic::new(format!("unknown scope `{scope}`"), e.loc("scope"))
                    .label("invalid scope")
                    .help("write `scope = \"local\"` or `\"swarm\"`"),
            );
        }
    }
    if let Some(driver) = &r.ipam_driver {
        if !valid_docker_name(driver) {
            errors.push(
                Diagnostic::new(
                    format!("invalid IPAM driver `{driver}`"),
                    e.loc("ipam_driver"),
                )
                .label("invalid ipam_driver"),
            );
        }
    }
}

/// `config_only = true`: a network only other networks' configuration
/// comes from. Docker refuses the operator keys on it (`driver` goes on
/// the network made from it).
fn config_only(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) {
    let r = &e.raw;
    if r.config_only != Some(true) {
        return;
    }
    let set = [
        ("driver", r.driver.is_some()),
        ("internal", r.internal.is_some()),
        ("attachable", r.attachable.is_some()),
        ("scope", r.scope.is_some()),
        ("config_from", r.config_from.is_some()),
    ];
    for (key, _) in set.iter().filter(|(_, on)| *on) {
        errors.push(
            Diagnostic::new(
                format!("`{key}` is not for a configuration-only network"),
                e.loc(key),
            )
            .label(format!("{key} with config_only"))
            .related(e.loc("config_only"), "config_only set here")
            .help(format!(
                "set `{key}` on the destination made from it (`config_from = \"{}\"`)",
                r.network
            )),
        );
    }
}

/// `config_from`: the network's IPAM, IPv6 and driver options all come
/// from the configuration-only network, so none may be given here.
fn config_from(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) {
    let r = &e.raw;
    let Some(from) = &r.config_from else {
        return;
    };
    if !valid_docker_name(from) || *from == r.network {
        errors.push(
            Diagnostic::new(
                format!("`config_from` must name another network, not `{from}`"),
                e.loc("config_from"),
            )
            .label("invalid config_from")
            .help("name a configuration-only network (`config_only = true`) on the same server"),
        );
    }
    let set = [
        ("subnet", r.subnet.is_some()),
        ("gateway", r.gateway.is_some()),
        ("ip_range", r.ip_range.is_some()),
        ("subnet_pool", r.subnet_pool.is_some()),
        ("enable_ipv6", r.enable_ipv6.is_some()),
        ("subnet_v6", r.subnet_v6.is_some()),
        ("gateway_v6", r.gateway_v6.is_some()),
        ("extra_pools", r.extra_pools.is_some()),
        ("aux_addresses", !r.aux_addresses.is_empty()),
        ("ipam_driver", r.ipam_driver.is_some()),
        ("ipam_options", !r.ipam_options.is_empty()),
        ("options", !r.options.is_empty()),
        ("parent", r.parent.is_some()),
        ("labels", !r.labels.is_empty()),
    ];
    for (key, _) in set.iter().filter(|(_, on)| *on) {
        errors.push(
            Diagnostic::new(
                format!("`{key}` cannot be set on a network made `config_from` `{from}`: Docker takes it from there, or refuses it"),
                e.loc(key),
            )
            .label(format!("{key} with config_from"))
            .related(e.loc("config_from"), "config_from set here")
            .help(format!(
                "set `{key}` on the destination of network `{from}` (config_only = true), or drop `config_from`"
            )),
        );
    }
}

/// `berth.*` labels are berth's own.
fn reserved_labels(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) {
    for key in e.raw.labels.keys() {
        if key.starts_with("berth.") {
            errors.push(
                Diagnostic::new(
                    format!("label `{key}` uses berth's reserved `berth.` prefix"),
                    e.loc("labels"),
                )
                .label("reserved label")
                .help("berth writes `berth.*` labels itself; choose another key"),
            );
        }
    }
}

/// Two destinations with one network on one server (each destination
/// over a set counts on each of its servers).
pub(super) fn same_network_twice(
    entries: &[Entry<RawDestination>],
    valid: &[Destination],
    errors: &mut Vec<Diagnostic>,
) {
    let entry = |d: &Destination| entries.iter().find(|e| e.raw.name == d.name);
    let mut seen: BTreeMap<(&str, &str), &Destination> = BTreeMap::new();
    let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
    for d in valid {
        let key = (d.server.as_str(), d.network.as_str());
        let Some(first) = seen.get(&key) else {
            seen.insert(key, d);
            continue;
        };
        // Two sets meeting on many servers: one error per pair.
        if !reported.insert((first.name.as_str(), d.name.as_str())) {
            continue;
        }
        let (Some(ef), Some(ed)) = (entry(first), entry(d)) else {
            continue;
        };
        errors.push(
            Diagnostic::new(
                format!(
                    "destinations `{}` and `{}` both use network `{}` on server `{}`",
                    first.name, d.name, d.network, d.server
                ),
                ed.loc("network"),
            )
            .label("same network again")
            .related(ef.loc("network"), "first used here")
            .help("a network is one destination: give each destination its own network"),
        );
    }
}

pub(super) fn overlapping_subnets(
    entries: &[Entry<RawDestination>],
    valid: &[Destination],
    errors: &mut Vec<Diagnostic>,
) {
    let with_subnet: Vec<(&Destination, IpNet)> = valid
        .iter()
        .flat_map(|d| d.spec.pools().into_iter().map(move |p| (d, p.subnet)))
        .collect();
    let entry = |d: &Destination| entries.iter().find(|e| e.raw.name == d.name);
    let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (i, (a, na)) in with_subnet.iter().enumerate() {
        for (b, nb) in &with_subnet[..i] {
            if a.server == b.server
                && a.network != b.network
                && (na.contains(nb) || nb.contains(na))
                && reported.insert((a.name.as_str(), b.name.as_str()))
            {
                let (Some(ea), Some(eb)) = (entry(a), entry(b)) else {
                    continue;
                };
                errors.push(
                    Diagnostic::new(
                        format!(
                            "subnet {na} of destination `{}` overlaps {nb} of `{}` on server `{}`",
                            a.name, b.name, a.server
                        ),
                        ea.loc("subnet"),
                    )
                    .label("overlapping subnet")
                    .related(eb.loc("subnet"), "overlaps this one")
                    .help("Docker refuses overlapping pools on one host: pick disjoint subnets"),
                );
            }
        }
    }
}

/// `config_from` names a network on the same server: when a destination
/// there declares it, that one must be `config_only`.
pub(super) fn config_from_refs(
    entries: &[Entry<RawDestination>],
    valid: &[Destination],
    errors: &mut Vec<Diagnostic>,
) {
    let entry = |d: &Destination| entries.iter().find(|e| e.raw.name == d.name);
    let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
    for d in valid {
        let Some(from) = &d.spec.config_from else {
            continue;
        };
        let Some(source) = valid
            .iter()
            .find(|s| s.server == d.server && s.network == *from)
        else {
            continue;
        };
        if source.spec.config_only || !reported.insert((d.name.as_str(), source.name.as_str())) {
            continue;
        }
        let (Some(ed), Some(es)) = (entry(d), entry(source)) else {
            continue;
        };
        errors.push(
            Diagnostic::new(
                format!(
                    "network `{from}` of destination `{}` is not configuration-only, so `{}` cannot take its configuration from it",
                    source.name, d.name
                ),
                ed.loc("config_from"),
            )
            .label("not a configuration network")
            .related(es.loc("network"), "declared here without `config_only = true`")
            .help(format!(
                "add `config_only = true` to destination `{}`, or drop `config_from`",
                source.name
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_names() {
        assert!(valid_docker_name("prod-net"));
        assert!(valid_docker_name("a.b_c-1"));
        assert!(!valid_docker_name("-net"));
        assert!(!valid_docker_name("has space"));
        assert!(!valid_docker_name(&"a".repeat(256)));
    }
}

#[cfg(test)]
mod group_tests {
    use crate::config::{Members, SourceFile, check};

    const SERVERS: &str = r#"
[[server]]
name = "web-1"
address = "local"
tags = ["web", "eu"]
[[server]]
name = "web-2"
address = "unix:///tmp/w2.sock"
tags = ["web"]
[[server]]
name = "db-1"
address = "unix:///tmp/d1.sock"
"#;

    /// The config of `SERVERS` plus `text`: its destinations' (name,
    /// server) pairs, or every error message with its line and help.
    fn load(text: &str) -> Result<Vec<(String, String)>, Vec<String>> {
        let full = format!("{SERVERS}{text}");
        let checked = check(&[SourceFile {
            path: "berth.toml".into(),
            text: full.clone(),
        }]);
        if checked.diagnostics.errors.is_empty() {
            return Ok(checked
                .config
                .destinations
                .iter()
                .map(|d| (d.name.clone(), d.server.clone()))
                .collect());
        }
        Err(checked
            .diagnostics
            .errors
            .iter()
            .map(|d| {
                let line = full[..d.at.span.start].lines().count();
                format!(
                    "{} @{line} ({})",
                    d.message,
                    d.help.clone().unwrap_or_default()
                )
            })
            .collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_set_is_one_network_per_server() {
        let got = load(
            "[[destination]]\nname = \"front\"\nservers = [\"tag:web\", \"db-1\", \"web-1\"]\nnetwork = \"front\"\n\
             [[destination]]\nname = \"all\"\nservers = \"*\"\nnetwork = \"all\"\n",
        )
        .unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("front", "web-1"),
                ("front", "web-2"),
                ("front", "db-1"),
                ("all", "web-1"),
                ("all", "web-2"),
                ("all", "db-1"),
            ])
        );
        let checked = check(&[SourceFile {
            path: "b.toml".into(),
            text: format!(
                "{SERVERS}[[destination]]\nname = \"f\"\nservers = [\"tag:web\"]\nnetwork = \"f\"\n"
            ),
        }]);
        let c = checked.config;
        assert_eq!(c.destinations_on("web-2").count(), 1);
        assert_eq!(c.destinations_on("db-1").count(), 0);
        assert_eq!(c.destination_on("f", "web-2").unwrap().server, "web-2");
        assert_eq!(
            c.destinations[0].group.as_ref().unwrap().declared,
            Members::Listed(vec!["tag:web".into()])
        );
        assert_eq!(c.server("web-1").unwrap().tags, vec!["web", "eu"]);
    }

    #[test]
    fn every_set_error_is_located_with_a_hint() {
        let e = load(
            "[[destination]]\nname = \"x\"\nserver = \"db-1\"\nservers = \"*\"\nnetwork = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            e[0].starts_with("`server` and `servers` exclude each other @16"),
            "{e:?}"
        );
        let e = load("[[destination]]\nname = \"x\"\nnetwork = \"x\"\n").unwrap_err();
        assert!(e[0].contains("has no `server`"), "{e:?}");
        let e = load("[[destination]]\nname = \"x\"\nservers = [\"tag:webs\"]\nnetwork = \"x\"\n")
            .unwrap_err();
        assert!(
            e[0].contains("unknown tag `webs` @15 (did you mean `tag:web`?)"),
            "{e:?}"
        );
        let e = load("[[destination]]\nname = \"x\"\nservers = [\"db-2\"]\nnetwork = \"x\"\n")
            .unwrap_err();
        assert!(
            e[0].contains("unknown server `db-2` @15 (did you mean `db-1`?)"),
            "{e:?}"
        );
        let e = load("[[destination]]\nname = \"x\"\nservers = []\nnetwork = \"x\"\n").unwrap_err();
        assert!(e[0].contains("`servers` is empty @15"), "{e:?}");
        let e = load("[[destination]]\nname = \"x\"\nservers = \"web\"\nnetwork = \"x\"\n")
            .unwrap_err();
        assert!(e[0].contains("only \"*\""), "{e:?}");
        let e = load("[[destination]]\nname = \"x\"\nservers = [\"*\"]\nnetwork = \"x\"\n")
            .unwrap_err();
        assert!(e[0].contains("inside a list"), "{e:?}");
    }

    #[test]
    fn tags_are_checked() {
        let e = load(
            "[[server]]\nname = \"z\"\naddress = \"local\"\ntags = [\"a\", \"a\", \"\", \"b c\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("listed twice"), "{e:?}");
        assert!(e[1].contains("invalid tag ``"), "{e:?}");
        assert!(e[2].contains("invalid tag `b c`"), "{e:?}");
    }

    #[test]
    fn one_network_per_server_across_sets() {
        let e = load(
            "[[destination]]\nname = \"a\"\nservers = \"*\"\nnetwork = \"n\"\n\
             [[destination]]\nname = \"b\"\nservers = [\"tag:web\"]\nnetwork = \"n\"\n",
        )
        .unwrap_err();
        // One error for the pair, not one per shared server.
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("both use network `n` on server `web-1`"),
            "{e:?}"
        );
    }

    #[test]
    fn pools() {
        let ok = load(
            "[[destination]]\nname = \"p\"\nservers = \"*\"\nnetwork = \"p\"\nsubnet_pool = \"10.40.0.0/16\"\nsubnet_prefix = 24\n",
        );
        assert_eq!(ok.unwrap().len(), 3);
        let e = load("[[destination]]\nname = \"p\"\nservers = \"*\"\nnetwork = \"p\"\nsubnet_pool = \"10.40.0.0/23\"\nsubnet_prefix = 24\n").unwrap_err();
        assert!(
            e[0].contains("holds 2 /24 subnets for 3 servers: db-1 left without one"),
            "{e:?}"
        );
        let e = load("[[destination]]\nname = \"p\"\nservers = \"*\"\nnetwork = \"p\"\nsubnet = \"10.1.0.0/24\"\nsubnet_pool = \"10.40.0.0/16\"\nsubnet_prefix = 24\n").unwrap_err();
        assert!(e[0].contains("exclude each other"), "{e:?}");
        let e = load("[[destination]]\nname = \"p\"\nservers = \"*\"\nnetwork = \"p\"\nsubnet_pool = \"10.40.0.0/16\"\n").unwrap_err();
        assert!(e[0].contains("needs a `subnet_prefix`"), "{e:?}");
        let e = load("[[destination]]\nname = \"p\"\nservers = \"*\"\nnetwork = \"p\"\nsubnet_pool = \"10.40.0.0/16\"\nsubnet_prefix = 8\n").unwrap_err();
        assert!(e[0].contains("does not fit"), "{e:?}");
        let e = load(
            "[[destination]]\nname = \"p\"\nservers = \"*\"\nnetwork = \"p\"\nsubnet_prefix = 24\n",
        )
        .unwrap_err();
        assert!(e[0].contains("needs a `subnet_pool`"), "{e:?}");
    }

    #[test]
    fn a_clone_over_a_set_is_refused() {
        let e = load(
            "[[destination]]\nname = \"all\"\nservers = \"*\"\nnetwork = \"all\"\n\
             [[destination]]\nname = \"one\"\nserver = \"db-1\"\nnetwork = \"one\"\n\
             [[application]]\nname = \"api\"\ndestination = \"all\"\n\
             [[application]]\nname = \"api-copy\"\ndestination = \"one\"\nclone_of = \"api\"\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("its source's destination `all` spans a set of servers"),
            "{e:?}"
        );
    }

    #[test]
    fn every_network_property_is_checked_where_it_is_written() {
        let dest = |extra: &str| {
            format!("[[destination]]\nname = \"d\"\nserver = \"web-1\"\nnetwork = \"n\"\n{extra}\n")
        };
        let ok = load(&dest(
            "subnet = \"10.30.0.0/24\"\nenable_ipv6 = false\naux_addresses = { r = \"10.30.1.9\" }\n\
             extra_pools = [{ subnet = \"10.30.1.0/24\", gateway = \"10.30.1.1\", ip_range = \"10.30.1.0/25\" }]\n\
             ipam_driver = \"default\"\nipam_options = { a = \"b\" }\nscope = \"local\"\n",
        ));
        assert!(ok.is_ok(), "{ok:?}");
        for (extra, wanted) in [
            (
                "subnet = \"10.30.0.0/24\"\naux_addresses = { r = \"10.31.0.9\" }",
                "in none of the network's subnets",
            ),
            ("aux_addresses = { r = \"nope\" }", "is not an IP address"),
            (
                "subnet = \"10.30.0.0/24\"\nextra_pools = [{ subnet = \"10.30.0.0/25\" }]",
                "overlap",
            ),
            (
                "extra_pools = [{ subnet = \"10.30.1.0/24\" }]",
                "the first IPv4 pool goes in `subnet`",
            ),
            (
                "subnet_v6 = \"fd00::/64\"\nenable_ipv6 = true\nextra_pools = [{ subnet = \"fd01::/64\" }]",
                "",
            ),
            (
                "subnet = \"10.30.0.0/24\"\nextra_pools = [{ subnet = \"10.30.1.0/24\", gateway = \"10.30.2.1\" }]",
                "outside its subnet",
            ),
            (
                "parent = \"eth0\"",
                "`parent` is for macvlan and ipvlan networks, not bridge",
            ),
            (
                "driver = \"macvlan\"\nparent = \"eth0\"\noptions = { parent = \"eth1\" }",
                "`parent` is given twice",
            ),
            ("scope = \"galaxy\"", "unknown scope"),
            (
                "config_only = true\ninternal = true",
                "`internal` is not for a configuration-only network",
            ),
            (
                "config_from = \"cfg\"\nsubnet = \"10.30.0.0/24\"",
                "`subnet` cannot be set on a network made `config_from` `cfg`",
            ),
            ("config_from = \"n\"", "must name another network"),
        ] {
            let got = load(&dest(extra));
            if wanted.is_empty() {
                assert!(got.is_ok(), "{extra}: {got:?}");
            } else {
                let errors = got.expect_err(extra);
                assert!(
                    errors.iter().any(|e| e.contains(wanted)),
                    "{extra}: {errors:?}"
                );
            }
        }
        // config_from naming a network another destination declares
        // without config_only.
        let errors = load(
            &(dest("config_from = \"other\"")
                + "[[destination]]\nname = \"o\"\nserver = \"web-1\"\nnetwork = \"other\"\n"),
        )
        .expect_err("not configuration-only");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("is not configuration-only")),
            "{errors:?}"
        );
    }
}

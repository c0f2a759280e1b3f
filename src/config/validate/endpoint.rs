//! Attachments beyond aliases: `ipv4_address`, `ipv6_address`,
//! `link_local_ips` and `driver_opts` on `[[application]]`/`[[database]]`
//! and per compose service in a `[[service]]`'s `attachments`. Each value
//! parses; a static address lies in its destination's subnet, is neither
//! its network, broadcast nor gateway address, and is taken by one
//! resource only per destination; static addresses need one container on
//! one destination (no `destinations`, no `match_labels`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::super::load::{Entry, RawConfig};
use super::super::model::{Destination, EndpointSpec};
use super::super::raw::{RawAttachment, RawResource};
use crate::diag::{Diagnostic, Location};

/// The four keys as written, wherever they are written.
struct Keys<'a> {
    ipv4_address: Option<&'a String>,
    ipv6_address: Option<&'a String>,
    link_local_ips: Option<&'a Vec<String>>,
    driver_opts: Option<&'a BTreeMap<String, String>>,
}

impl<'a> From<&'a RawResource> for Keys<'a> {
    fn from(r: &'a RawResource) -> Self {
        Keys {
            ipv4_address: r.ipv4_address.as_ref(),
            ipv6_address: r.ipv6_address.as_ref(),
            link_local_ips: r.link_local_ips.as_ref(),
            driver_opts: r.driver_opts.as_ref(),
        }
    }
}

impl<'a> From<&'a RawAttachment> for Keys<'a> {
    fn from(r: &'a RawAttachment) -> Self {
        Keys {
            ipv4_address: r.ipv4_address.as_ref(),
            ipv6_address: r.ipv6_address.as_ref(),
            link_local_ips: r.link_local_ips.as_ref(),
            driver_opts: r.driver_opts.as_ref(),
        }
    }
}

/// An application's or database's endpoint keys, parsed; `None` when one
/// does not parse or the resource cannot carry them.
pub(super) fn of_resource(
    e: &Entry<RawResource>,
    errors: &mut Vec<Diagnostic>,
) -> Option<EndpointSpec> {
    let r = &e.raw;
    let spec = parse(Keys::from(r), &|key| e.loc(key), errors)?;
    if spec.is_empty() {
        return Some(spec);
    }
    let first_key = [
        "ipv4_address",
        "ipv6_address",
        "link_local_ips",
        "driver_opts",
    ]
    .into_iter()
    .find(|k| e.fields.contains_key(*k))
    .unwrap_or("name");
    let mut ok = true;
    if r.swarm_service.is_some() {
        ok = false;
        errors.push(
            Diagnostic::new(
                format!("`{first_key}` is for containers; a swarm service's tasks get their endpoints from the service"),
                e.loc(first_key),
            )
            .label("not for a swarm service")
            .related(e.loc("swarm_service"), "a swarm service")
            .help("remove it; a service's networks are set through its spec"),
        );
    }
    if !spec.addresses().is_empty() {
        let key = ["ipv4_address", "ipv6_address", "link_local_ips"]
            .into_iter()
            .find(|k| e.fields.contains_key(*k))
            .unwrap_or("name");
        if r.destinations.is_some() {
            ok = false;
            errors.push(
                Diagnostic::new(
                    "a static address needs one destination, not `destinations`",
                    e.loc(key),
                )
                .label("static address on a shared container")
                .related(e.loc("destinations"), "shared here")
                .help(
                    "give the resource `destination = \"…\"`, or leave the address to the daemon",
                ),
            );
        }
        if r.match_labels.is_some() {
            ok = false;
            errors.push(
                Diagnostic::new(
                    "a static address needs one container, and `match_labels` can select several (a redeploy's new container beside the old one)",
                    e.loc(key),
                )
                .label("static address on a label selector")
                .related(e.loc("match_labels"), "labels select here")
                .help("name the container with `container = \"…\"`, or leave the address to the daemon"),
            );
        }
    }
    ok.then_some(spec)
}

/// A stack's `attachments`, by compose service; `None` when one does not
/// parse or the stack is connected nowhere.
pub(super) fn of_stack_service(
    at: &Location,
    a: &RawAttachment,
    errors: &mut Vec<Diagnostic>,
) -> Option<EndpointSpec> {
    parse(Keys::from(a), &|_| at.clone(), errors)
}

fn parse(
    keys: Keys<'_>,
    at: &dyn Fn(&str) -> Location,
    errors: &mut Vec<Diagnostic>,
) -> Option<EndpointSpec> {
    let mut ok = true;
    let mut bad = |key: &str, value: &str, what: &str, example: &str| {
        ok = false;
        errors.push(
            Diagnostic::new(format!("`{key}`: `{value}` is not {what}"), at(key))
                .label(format!("not {what}"))
                .help(format!("write one address, e.g. `{key} = {example}`")),
        );
    };
    let ipv4_address = keys.ipv4_address.and_then(|v| {
        let a = v.parse::<Ipv4Addr>().ok();
        if a.is_none() {
            bad("ipv4_address", v, "an IPv4 address", "\"10.30.0.5\"");
        }
        a
    });
    let ipv6_address = keys.ipv6_address.and_then(|v| {
        let a = v.parse::<Ipv6Addr>().ok();
        if a.is_none() {
            bad("ipv6_address", v, "an IPv6 address", "\"fd00:30::5\"");
        }
        a
    });
    let link_local_ips = keys.link_local_ips.map(|list| {
        list.iter()
            .filter_map(|v| {
                let a = v.parse::<IpAddr>().ok();
                if a.is_none() {
                    bad("link_local_ips", v, "an IP address", "[\"169.254.10.5\"]");
                }
                a
            })
            .collect::<Vec<_>>()
    });
    ok.then(|| EndpointSpec {
        ipv4_address,
        ipv6_address,
        link_local_ips,
        driver_opts: keys.driver_opts.cloned(),
    })
}

/// One static address, where it was declared and by whom.
struct Claim<'a> {
    destination: &'a str,
    address: IpAddr,
    who: String,
    key: &'static str,
    at: Location,
}

/// Every static address against its destination (its subnet, IPv6
/// enabled) and against the other resources on that destination.
pub(super) fn check_addresses(
    raw: &RawConfig,
    destinations: &[Destination],
    errors: &mut Vec<Diagnostic>,
) {
    let mut claims: Vec<Claim<'_>> = Vec::new();
    for (kind, entries) in [
        ("application", &raw.applications),
        ("database", &raw.databases),
    ] {
        for e in entries {
            let (Some(dest), None, None) = (
                &e.raw.destination,
                &e.raw.match_labels,
                &e.raw.swarm_service,
            ) else {
                continue;
            };
            let who = format!("{kind} `{}`", e.raw.name);
            claim(&mut claims, dest, &who, Keys::from(&e.raw), &|k| e.loc(k));
        }
    }
    for e in &raw.stacks {
        for (service, a) in &e.raw.attachments {
            let who = format!("service `{}` (compose service `{service}`)", e.raw.name);
            claim(
                &mut claims,
                &e.raw.destination,
                &who,
                Keys::from(a),
                &|_| e.loc("attachments"),
            );
        }
    }
    let mut seen: BTreeMap<(&str, IpAddr), &Claim<'_>> = BTreeMap::new();
    for c in &claims {
        let Some(dest) = destinations.iter().find(|d| d.name == c.destination) else {
            continue; // an unknown destination is reported where it is named
        };
        if let Some(d) = in_subnet(c, dest) {
            errors.push(d);
        }
        match seen.get(&(c.destination, c.address)) {
            Some(first) => errors.push(
                Diagnostic::new(
                    format!(
                        "{} and {} both take {} on destination {}",
                        first.who, c.who, c.address, c.destination
                    ),
                    c.at.clone(),
                )
                .label("taken again here")
                .related(first.at.clone(), "first taken here")
                .help("an address belongs to one container per network: give each its own"),
            ),
            None => {
                seen.insert((c.destination, c.address), c);
            }
        }
    }
}

fn claim<'a>(
    claims: &mut Vec<Claim<'a>>,
    destination: &'a str,
    who: &str,
    keys: Keys<'_>,
    at: &dyn Fn(&str) -> Location,
) {
    let mut push = |key: &'static str, address: IpAddr| {
        claims.push(Claim {
            destination,
            address,
            who: who.to_string(),
            key,
            at: at(key),
        })
    };
    if let Some(a) = keys.ipv4_address.and_then(|v| v.parse::<Ipv4Addr>().ok()) {
        push("ipv4_address", IpAddr::V4(a));
    }
    if let Some(a) = keys.ipv6_address.and_then(|v| v.parse::<Ipv6Addr>().ok()) {
        push("ipv6_address", IpAddr::V6(a));
    }
    for a in keys
        .link_local_ips
        .into_iter()
        .flatten()
        .filter_map(|v| v.parse::<IpAddr>().ok())
    {
        push("link_local_ips", a);
    }
}

/// A static IPv4 or IPv6 address Docker would refuse on this destination.
/// Link-local addresses are outside the subnet by design.
fn in_subnet(c: &Claim<'_>, dest: &Destination) -> Option<Diagnostic> {
    let spec = &dest.spec;
    let (subnet, gateway, family) = match c.key {
        "ipv4_address" => (spec.subnet, spec.gateway, "IPv4"),
        "ipv6_address" => {
            if spec.enable_ipv6 != Some(true) {
                return Some(
                    Diagnostic::new(
                        format!(
                            "{} asks for IPv6 address {} on destination {}, which has no IPv6",
                            c.who, c.address, c.destination
                        ),
                        c.at.clone(),
                    )
                    .label("IPv6 off there")
                    .related(dest.at.clone(), "destination declared here")
                    .help("set `enable_ipv6 = true` and `subnet_v6` on the destination, or drop the address"),
                );
            }
            (spec.subnet_v6, spec.gateway_v6, "IPv6")
        }
        _ => return None,
    };
    let key = if family == "IPv4" {
        "subnet"
    } else {
        "subnet_v6"
    };
    let Some(subnet) = subnet else {
        let why = if dest.pool.is_some() && family == "IPv4" {
            "takes each server's subnet from `subnet_pool`, so no one address fits every server"
        } else {
            "declares no subnet, and Docker takes a static address only on a network with a subnet of the user's"
        };
        return Some(
            Diagnostic::new(
                format!(
                    "{} asks for {family} address {}, but destination {} {why}",
                    c.who, c.address, c.destination
                ),
                c.at.clone(),
            )
            .label("no subnet to check it against")
            .related(dest.at.clone(), "destination declared here")
            .help(format!(
                "declare `{key}` on the destination (the live network's subnet), or leave the address to the daemon"
            )),
        );
    };
    let problem = if !subnet.contains(&c.address) || !same_family(&subnet, &c.address) {
        Some(format!("is outside its {key} {subnet}"))
    } else if c.address == subnet.network() {
        Some(format!("is the network address of {subnet}"))
    } else if matches!(subnet, IpNet::V4(_)) && c.address == subnet.broadcast() {
        Some(format!("is the broadcast address of {subnet}"))
    } else if Some(c.address) == gateway.or_else(|| default_gateway(&subnet)) {
        Some("is its gateway".to_string())
    } else {
        None
    };
    problem.map(|why| {
        Diagnostic::new(
            format!(
                "{} asks for {} on destination {}, which {why}",
                c.who, c.address, c.destination
            ),
            c.at.clone(),
        )
        .label(format!("not a free {family} address of the destination"))
        .related(dest.at.clone(), "destination declared here")
        .help(format!("pick a host address inside {subnet}"))
    })
}

fn same_family(net: &IpNet, a: &IpAddr) -> bool {
    matches!(
        (net, a),
        (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_))
    )
}

/// The gateway Docker gives an IPv4 subnet declared without one: its first
/// host address.
fn default_gateway(subnet: &IpNet) -> Option<IpAddr> {
    match subnet {
        IpNet::V4(n) => u32::from(n.network())
            .checked_add(1)
            .map(|a| IpAddr::V4(a.into())),
        IpNet::V6(_) => None,
    }
}

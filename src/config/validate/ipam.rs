//! A destination's address pools: `subnet` and `gateway`, `ip_range`, the
//! IPv6 pool (`subnet_v6`, `gateway_v6`), `extra_pools` and the
//! `aux_addresses` inside them, each checked as Docker would.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::super::load::Entry;
use super::super::model::Pool;
use super::super::raw::{RawDestination, RawPool};
use crate::diag::Diagnostic;

/// The checked IPAM keys of one destination; `None` where absent or invalid.
pub(super) struct Ipam {
    pub subnet: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNet>,
    pub subnet_v6: Option<IpNet>,
    pub gateway_v6: Option<IpAddr>,
    pub extra_pools: Vec<Pool>,
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

pub(super) fn ipam(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Ipam {
    let subnet = subnet(e, errors);
    let gateway = gateway(e, subnet, errors);
    let (ip_range, subnet_v6, gateway_v6) = more_ipam(e, subnet, errors);
    let extra_pools = extra_pools(e, errors);
    let mut all: Vec<IpNet> = subnet.into_iter().chain(subnet_v6).collect();
    all.extend(extra_pools.iter().map(|p| p.subnet));
    overlaps(e, &all, errors);
    let aux_addresses = aux_addresses(e, &all, errors);
    Ipam {
        subnet,
        gateway,
        ip_range,
        subnet_v6,
        gateway_v6,
        extra_pools,
        aux_addresses,
    }
}

/// `extra_pools`: each a network with its gateway and range inside it; an
/// IPv4 one after `subnet`, an IPv6 one after `subnet_v6` (the first pool
/// of a family has its own keys).
fn extra_pools(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Vec<Pool> {
    let key = "extra_pools";
    let Some(raw) = &e.raw.extra_pools else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let at = format!("extra_pools[{i}]");
        if let Some(pool) = extra_pool(e, &at, p, errors) {
            let v6 = pool.subnet.addr().is_ipv6();
            let (first, first_key) = if v6 {
                (e.raw.subnet_v6.is_some(), "subnet_v6")
            } else {
                (
                    e.raw.subnet.is_some() || e.raw.subnet_pool.is_some(),
                    "subnet",
                )
            };
            if !first {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "{at}: the first IPv{} pool goes in `{first_key}`",
                            if v6 { 6 } else { 4 }
                        ),
                        e.loc(key),
                    )
                    .label("a pool before the first")
                    .help(format!(
                        "write `{first_key} = \"{}\"` and leave `extra_pools` for the pools after it",
                        pool.subnet
                    )),
                );
            }
            if v6 && e.raw.enable_ipv6 != Some(true) {
                errors.push(
                    Diagnostic::new(
                        format!("{at}: an IPv6 pool needs `enable_ipv6 = true`"),
                        e.loc(key),
                    )
                    .label("IPv6 not enabled")
                    .help("add `enable_ipv6 = true`"),
                );
            }
            out.push(pool);
        }
    }
    out
}

/// One pool of `extra_pools`, `at` naming it in messages.
fn extra_pool(
    e: &Entry<RawDestination>,
    at: &str,
    p: &RawPool,
    errors: &mut Vec<Diagnostic>,
) -> Option<Pool> {
    let key = "extra_pools";
    let bad = |what: String, help: &str| {
        Diagnostic::new(format!("{at}: {what}"), e.loc(key))
            .label(format!("invalid {at}"))
            .help(help.to_string())
    };
    let subnet = match p.subnet.parse::<IpNet>() {
        Ok(n) if n.trunc() == n => n,
        Ok(n) => {
            errors.push(bad(
                format!("subnet `{n}` has host bits set"),
                &format!("did you mean `{}`?", n.trunc()),
            ));
            return None;
        }
        Err(_) => {
            errors.push(bad(
                format!("`{}` is not a subnet in CIDR form", p.subnet),
                "write it like `10.30.1.0/24` or `fd00:31::/64`",
            ));
            return None;
        }
    };
    let gateway = match p.gateway.as_deref().map(str::parse::<IpAddr>) {
        None => None,
        Some(Ok(gw)) if subnet.contains(&gw) => Some(gw),
        Some(Ok(gw)) => {
            errors.push(bad(
                format!("gateway {gw} is outside its subnet {subnet}"),
                &format!(
                    "pick an address inside {subnet}, e.g. {}",
                    first_host(subnet)
                ),
            ));
            None
        }
        Some(Err(_)) => {
            errors.push(bad(
                format!(
                    "`{}` is not an IP address",
                    p.gateway.as_deref().unwrap_or("")
                ),
                "write the gateway like `10.30.1.1`",
            ));
            None
        }
    };
    let ip_range = match p.ip_range.as_deref().map(str::parse::<IpNet>) {
        None => None,
        Some(Ok(r)) if r.trunc() == r && subnet.contains(&r) => Some(r),
        Some(Ok(r)) => {
            errors.push(bad(
                format!("ip_range {r} is not a network inside its subnet {subnet}"),
                "give a range inside the pool's subnet, without host bits",
            ));
            None
        }
        Some(Err(_)) => {
            errors.push(bad(
                format!(
                    "`{}` is not a network in CIDR form",
                    p.ip_range.as_deref().unwrap_or("")
                ),
                "write the range like `10.30.1.128/25`",
            ));
            None
        }
    };
    Some(Pool {
        subnet,
        gateway,
        ip_range,
    })
}

/// No two pools of one network may overlap (Docker refuses it).
fn overlaps(e: &Entry<RawDestination>, all: &[IpNet], errors: &mut Vec<Diagnostic>) {
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.contains(b) || b.contains(a) {
                errors.push(
                    Diagnostic::new(
                        format!("pools {a} and {b} of network `{}` overlap", e.raw.network),
                        e.loc(if e.raw.extra_pools.is_some() {
                            "extra_pools"
                        } else {
                            "subnet"
                        }),
                    )
                    .label("overlapping pools")
                    .help("each pool of a network needs its own addresses"),
                );
            }
        }
    }
}

/// `aux_addresses`: each an address inside one of the network's pools.
fn aux_addresses(
    e: &Entry<RawDestination>,
    pools: &[IpNet],
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, IpAddr> {
    let key = "aux_addresses";
    let mut out = BTreeMap::new();
    for (name, text) in &e.raw.aux_addresses {
        let Ok(ip) = text.parse::<IpAddr>() else {
            errors.push(
                Diagnostic::new(
                    format!("aux_addresses.{name}: `{text}` is not an IP address"),
                    e.loc(key),
                )
                .label("invalid address")
                .help("write it like `10.30.0.2`"),
            );
            continue;
        };
        if !pools.iter().any(|p| p.contains(&ip)) {
            let declared: Vec<String> = pools.iter().map(ToString::to_string).collect();
            errors.push(
                Diagnostic::new(
                    format!("aux_addresses.{name}: {ip} is in none of the network's subnets"),
                    e.loc(key),
                )
                .label("outside every pool")
                .help(if declared.is_empty() {
                    "an auxiliary address needs a declared subnet (`subnet`, `subnet_v6` or `extra_pools`) that holds it".to_string()
                } else {
                    format!("pick an address inside {}", declared.join(", "))
                }),
            );
            continue;
        }
        out.insert(name.clone(), ip);
    }
    out
}

/// `ip_range` (inside `subnet`), and the IPv6 pool: `subnet_v6` (an IPv6
/// network, with `enable_ipv6`) and `gateway_v6` (inside it).
fn more_ipam(
    e: &Entry<RawDestination>,
    subnet: Option<IpNet>,
    errors: &mut Vec<Diagnostic>,
) -> (Option<IpNet>, Option<IpNet>, Option<IpAddr>) {
    let ip_range = ip_range(e, subnet, errors);
    let subnet_v6 = subnet_v6(e, errors);
    let gateway_v6 = gateway_v6(e, subnet_v6, errors);
    (ip_range, subnet_v6, gateway_v6)
}

/// `subnet`, in CIDR form with no host bits set.
fn subnet(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Option<IpNet> {
    let text = e.raw.subnet.as_deref()?;
    match text.parse::<IpNet>() {
        Ok(net) if net.trunc() == net => Some(net),
        Ok(net) => {
            errors.push(
                Diagnostic::new(format!("subnet `{net}` has host bits set"), e.loc("subnet"))
                    .label("not a network address")
                    .help(format!("did you mean `{}`?", net.trunc())),
            );
            None
        }
        Err(_) => {
            errors.push(
                Diagnostic::new(
                    format!("`{text}` is not a subnet in CIDR form"),
                    e.loc("subnet"),
                )
                .label("invalid subnet")
                .help("write it like `10.30.0.0/24`"),
            );
            None
        }
    }
}

/// `gateway`: an address inside the (valid) subnet, which it needs.
fn gateway(
    e: &Entry<RawDestination>,
    subnet: Option<IpNet>,
    errors: &mut Vec<Diagnostic>,
) -> Option<IpAddr> {
    let text = e.raw.gateway.as_deref()?;
    let Ok(gw) = text.parse::<IpAddr>() else {
        errors.push(
            Diagnostic::new(format!("`{text}` is not an IP address"), e.loc("gateway"))
                .label("invalid gateway"),
        );
        return None;
    };
    match subnet {
        Some(net) if !net.contains(&gw) => errors.push(
            Diagnostic::new(
                format!("gateway {gw} is outside subnet {net}"),
                e.loc("gateway"),
            )
            .label("outside the subnet")
            .related(e.loc("subnet"), "subnet declared here")
            .help(format!(
                "pick an address inside {net}, e.g. {}",
                first_host(net)
            )),
        ),
        None if e.raw.subnet.is_none() => errors.push(
            Diagnostic::new("`gateway` needs a `subnet`", e.loc("gateway"))
                .label("gateway without subnet")
                .help("add `subnet = \"…\"` or remove `gateway`"),
        ),
        _ => {}
    }
    Some(gw)
}

fn first_host(net: IpNet) -> String {
    net.hosts()
        .next()
        .map_or_else(|| net.addr().to_string(), |h| h.to_string())
}

/// The network `key` names, in CIDR form with no host bits set.
fn network(
    e: &Entry<RawDestination>,
    key: &str,
    text: Option<&str>,
    errors: &mut Vec<Diagnostic>,
) -> Option<IpNet> {
    let text = text?;
    match text.parse::<IpNet>() {
        Ok(n) if n.trunc() == n => Some(n),
        Ok(n) => {
            errors.push(
                Diagnostic::new(format!("`{key}` {n} has host bits set"), e.loc(key))
                    .label("not a network address")
                    .help(format!("did you mean `{}`?", n.trunc())),
            );
            None
        }
        Err(_) => {
            errors.push(
                Diagnostic::new(
                    format!("`{text}` is not a network in CIDR form"),
                    e.loc(key),
                )
                .label(format!("invalid {key}")),
            );
            None
        }
    }
}

/// `ip_range`: a network inside `subnet`, which it needs.
fn ip_range(
    e: &Entry<RawDestination>,
    subnet: Option<IpNet>,
    errors: &mut Vec<Diagnostic>,
) -> Option<IpNet> {
    let ip_range = network(e, "ip_range", e.raw.ip_range.as_deref(), errors);
    match (ip_range, subnet) {
        (Some(range), Some(subnet)) if !subnet.contains(&range) => errors.push(
            Diagnostic::new(
                format!("ip_range {range} is outside subnet {subnet}"),
                e.loc("ip_range"),
            )
            .label("outside the subnet")
            .related(e.loc("subnet"), "subnet declared here"),
        ),
        (Some(_), None) if e.raw.subnet.is_none() => errors.push(
            Diagnostic::new("`ip_range` needs a `subnet`", e.loc("ip_range"))
                .label("ip_range without subnet")
                .help("add `subnet = \"…\"` or remove `ip_range`"),
        ),
        _ => {}
    }
    ip_range
}

/// `subnet_v6`: an IPv6 network, with `enable_ipv6 = true`.
fn subnet_v6(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Option<IpNet> {
    let v6 = network(e, "subnet_v6", e.raw.subnet_v6.as_deref(), errors)?;
    if !matches!(v6, IpNet::V6(_)) {
        errors.push(
            Diagnostic::new(
                format!("subnet_v6 {v6} is not an IPv6 network"),
                e.loc("subnet_v6"),
            )
            .label("not IPv6")
            .help("IPv4 pools go in `subnet`"),
        );
    } else if e.raw.enable_ipv6 != Some(true) {
        errors.push(
            Diagnostic::new("`subnet_v6` needs `enable_ipv6 = true`", e.loc("subnet_v6"))
                .label("IPv6 not enabled")
                .help("add `enable_ipv6 = true`"),
        );
    }
    Some(v6)
}

/// `gateway_v6`: an address inside `subnet_v6`, which it needs.
fn gateway_v6(
    e: &Entry<RawDestination>,
    subnet_v6: Option<IpNet>,
    errors: &mut Vec<Diagnostic>,
) -> Option<IpAddr> {
    let text = e.raw.gateway_v6.as_deref()?;
    let Ok(gw) = text.parse::<IpAddr>() else {
        errors.push(
            Diagnostic::new(
                format!("`{text}` is not an IP address"),
                e.loc("gateway_v6"),
            )
            .label("invalid gateway_v6"),
        );
        return None;
    };
    match subnet_v6 {
        Some(net) if !net.contains(&gw) => errors.push(
            Diagnostic::new(
                format!("gateway_v6 {gw} is outside subnet_v6 {net}"),
                e.loc("gateway_v6"),
            )
            .label("outside the subnet")
            .related(e.loc("subnet_v6"), "subnet_v6 declared here"),
        ),
        None if e.raw.subnet_v6.is_none() => errors.push(
            Diagnostic::new("`gateway_v6` needs a `subnet_v6`", e.loc("gateway_v6"))
                .label("gateway without subnet"),
        ),
        _ => {}
    }
    Some(gw)
}

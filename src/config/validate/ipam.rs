//! A destination's address pools: `subnet` and `gateway`, `ip_range`, and
//! the IPv6 pool (`subnet_v6`, `gateway_v6`), each checked as Docker would.

use std::net::IpAddr;

use ipnet::IpNet;

use super::super::load::Entry;
use super::super::raw::RawDestination;
use crate::diag::Diagnostic;

/// The checked IPAM keys of one destination; `None` where absent or invalid.
pub(super) struct Ipam {
    pub subnet: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNet>,
    pub subnet_v6: Option<IpNet>,
    pub gateway_v6: Option<IpAddr>,
}

pub(super) fn ipam(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Ipam {
    let subnet = subnet(e, errors);
    let gateway = gateway(e, subnet, errors);
    let (ip_range, subnet_v6, gateway_v6) = more_ipam(e, subnet, errors);
    Ipam {
        subnet,
        gateway,
        ip_range,
        subnet_v6,
        gateway_v6,
    }
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

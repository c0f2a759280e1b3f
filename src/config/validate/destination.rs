//! `[[destination]]`: its server, the network's name, driver and labels,
//! and the rules across destinations (one network per destination, no
//! overlapping subnets on a server). IPAM keys are checked in `ipam`.

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::super::load::{Entry, RawConfig};
use super::super::model::{DEFAULT_DRIVER, Destination, NetworkSpec};
use super::super::raw::RawDestination;
use super::{dangling, ipam, names};
use crate::diag::Diagnostic;

/// Docker's own rule for network (and container) names.
pub fn valid_docker_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && s.len() <= 255
}

pub(super) fn destination(
    e: &Entry<RawDestination>,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Destination> {
    let r = &e.raw;
    let mut ok = true;
    if !raw.servers.iter().any(|s| s.raw.name == r.server) {
        ok = false;
        errors.push(dangling(
            &format!("destination `{}`", r.name),
            "server",
            &r.server,
            e.loc("server"),
            names(&raw.servers, |s| &s.raw.name),
        ));
    }
    if !valid_docker_name(&r.network) {
        ok = false;
        errors.push(
            Diagnostic::new(format!("Docker would refuse the network name `{}`", r.network), e.loc("network"))
                .label("invalid network name")
                .help("network names start with a letter or digit, continue with letters, digits, `_`, `.` or `-`, and are at most 255 characters"),
        );
    }
    let spec = network_spec(e, errors)?;
    ok.then(|| Destination {
        name: r.name.clone(),
        server: r.server.clone(),
        network: r.network.clone(),
        spec,
        at: e.loc("name"),
    })
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
    (errors.len() == before).then(|| NetworkSpec {
        driver: r
            .driver
            .clone()
            .unwrap_or_else(|| DEFAULT_DRIVER.to_string()),
        internal: r.internal.unwrap_or(false),
        attachable: r.attachable.unwrap_or(false),
        subnet: ipam.subnet,
        gateway: ipam.gateway,
        ip_range: ipam.ip_range,
        enable_ipv6: r.enable_ipv6.unwrap_or(false),
        subnet_v6: ipam.subnet_v6,
        gateway_v6: ipam.gateway_v6,
        options: r.options.clone(),
        labels: r.labels.clone(),
    })
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

pub(super) fn same_network_twice(entries: &[Entry<RawDestination>], errors: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(&str, &str), &Entry<RawDestination>> = BTreeMap::new();
    for e in entries {
        let key = (e.raw.server.as_str(), e.raw.network.as_str());
        if let Some(first) = seen.get(&key) {
            errors.push(
                Diagnostic::new(
                    format!(
                        "destinations `{}` and `{}` both use network `{}` on server `{}`",
                        first.raw.name, e.raw.name, e.raw.network, e.raw.server
                    ),
                    e.loc("network"),
                )
                .label("same network again")
                .related(first.loc("network"), "first used here")
                .help("a network is one destination: give each destination its own network"),
            );
        } else {
            seen.insert(key, e);
        }
    }
}

pub(super) fn overlapping_subnets(
    entries: &[Entry<RawDestination>],
    valid: &[Destination],
    errors: &mut Vec<Diagnostic>,
) {
    let with_subnet: Vec<(&Destination, IpNet)> = valid
        .iter()
        .filter_map(|d| d.spec.subnet.map(|s| (d, s)))
        .collect();
    let entry = |d: &Destination| entries.iter().find(|e| e.raw.name == d.name);
    for (i, (a, na)) in with_subnet.iter().enumerate() {
        for (b, nb) in &with_subnet[..i] {
            if a.server == b.server
                && a.network != b.network
                && (na.contains(nb) || nb.contains(na))
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

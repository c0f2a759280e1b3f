//! Subnet pools: each server of a destination with `subnet_pool` gets its
//! own subnet. Pure: the allocation is a function of the config and the
//! live state of the destination's servers. A live network keeps the
//! subnet it has (adopted, never moved); a server without the network
//! takes the lowest block of the pool that no server of the destination
//! holds and that overlaps nothing on its own host. Adding or removing a
//! server therefore never renumbers another's network.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::model::{PlanError, Warning, WarningCode};
use crate::config::{Config, SubnetPool};
use crate::live::{LiveState, Snapshot};

/// `config` with the subnet of every pool destination's network filled in
/// (`None` when no destination has a pool), and an error for each network
/// left without one: the pool is full, or a server of the destination
/// could not be read (its subnet is unknown, so nothing is allocated beside
/// it). A server of the destination that this run leaves out of
/// `config.servers` on purpose (`watch` plans one server at a time) holds
/// back the allocation with a warning instead: another run that reads them
/// all makes the network.
pub fn resolve(
    config: &Config,
    live: &LiveState,
    errors: &mut Vec<PlanError>,
    warnings: &mut Vec<Warning>,
) -> Option<Config> {
    if config.destinations.iter().all(|d| d.pool.is_none()) {
        return None;
    }
    let snapshot = |s: &str| live.servers.get(s).and_then(|r| r.as_ref().ok());
    let mut resolved = config.clone();
    // Subnets given out by this run, per server: two pool destinations on
    // one host never get overlapping blocks.
    let mut given: BTreeMap<String, Vec<IpNet>> = BTreeMap::new();
    let mut names: Vec<&str> = config
        .destinations
        .iter()
        .filter(|d| d.pool.is_some())
        .map(|d| d.name.as_str())
        .collect();
    names.dedup();
    for name in names {
        let instances: Vec<usize> = (0..config.destinations.len())
            .filter(|i| config.destinations[*i].name == name)
            .collect();
        let first = &config.destinations[instances[0]];
        let Some(pool) = first.pool else { continue };
        // Held: the live subnets of this destination's networks.
        let mut held = Held::new(pool);
        let mut unread: Vec<String> = Vec::new();
        let mut left_out: Vec<String> = Vec::new();
        let mut wanting: Vec<usize> = Vec::new();
        for &i in &instances {
            let d = &config.destinations[i];
            match snapshot(&d.server) {
                None if config.server(&d.server).is_none() => left_out.push(d.server.clone()),
                None => unread.push(d.server.clone()),
                Some(s) => match s.network(&d.network) {
                    Some(net) => {
                        let subnet = v4_subnet(net);
                        held.extend(subnet);
                        resolved.destinations[i].spec.subnet = subnet;
                    }
                    None => wanting.push(i),
                },
            }
        }
        for i in wanting {
            let d = &config.destinations[i];
            if !unread.is_empty() {
                errors.push(PlanError {
                    server: d.server.clone(),
                    destination: Some(d.name.clone()),
                    network: d.network.clone(),
                    message: format!(
                        "no subnet from pool {} for destination {} on server {}: server {} of the destination could not be read, and its subnet might be the one this server would get",
                        pool.pool,
                        d.name,
                        d.server,
                        unread.join(", ")
                    ),
                    hint: "plan again when every server of the destination answers, or take the unreadable ones out of its `servers`".to_string(),
                });
                continue;
            }
            if !left_out.is_empty() {
                warnings.push(Warning::on(
                    &d.server,
                    WarningCode::PoolNotAllocated,
                    format!(
                        "network {} of destination {} is not created: its subnet comes from pool {}, and this run does not read the destination's other servers ({}); `berth apply` reads them all and creates it",
                        d.network,
                        d.name,
                        pool.pool,
                        crate::config::list_some(&left_out)
                    ),
                ));
                continue;
            }
            let Some(here) = snapshot(&d.server) else {
                continue;
            };
            let mine = given.entry(d.server.clone()).or_default();
            let host = host_subnets(config, &d.server, here);
            let busy = |i: u128, n: &IpNet| {
                held.holds(i, n) || overlaps_any(n, mine) || overlaps_any(n, &host)
            };
            match free_slot(pool, busy) {
                Some(subnet) => {
                    held.extend(Some(subnet));
                    mine.push(subnet);
                    resolved.destinations[i].spec.subnet = Some(subnet);
                }
                None => errors.push(PlanError {
                    server: d.server.clone(),
                    destination: Some(d.name.clone()),
                    network: d.network.clone(),
                    message: format!(
                        "subnet pool {} of destination {} is exhausted: server {} is left without a /{} subnet",
                        pool.pool, d.name, d.server, pool.prefix
                    ),
                    hint: "give the destination a larger `subnet_pool` or a longer `subnet_prefix`, or free a block (remove the network from a server that left the set)".to_string(),
                }),
            }
        }
    }
    Some(resolved)
}

/// The IPv4 subnet of a live network, if it has one.
fn v4_subnet(net: &crate::live::Network) -> Option<IpNet> {
    net.ipam
        .iter()
        .filter_map(|p| p.subnet)
        .find(|s| s.addr().is_ipv4())
}

/// What a new network on `server` must not overlap: every subnet live
/// there, and every fixed `subnet` the config gives a destination there.
fn host_subnets(config: &Config, server: &str, live: &Snapshot) -> Vec<IpNet> {
    live.networks
        .iter()
        .flat_map(|n| n.ipam.iter().filter_map(|p| p.subnet))
        .chain(config.destinations_on(server).filter_map(|d| d.spec.subnet))
        .collect()
}

fn overlaps_any(n: &IpNet, others: &[IpNet]) -> bool {
    others.iter().any(|o| o.contains(n) || n.contains(o))
}

/// The subnets a destination's servers hold: blocks of the pool by index
/// (a lookup, at any number of servers), any other subnet as it is.
struct Held {
    pool: SubnetPool,
    slots: BTreeSet<u128>,
    other: Vec<IpNet>,
}

impl Held {
    fn new(pool: SubnetPool) -> Held {
        Held {
            pool,
            slots: BTreeSet::new(),
            other: Vec::new(),
        }
    }

    fn extend(&mut self, subnet: Option<IpNet>) {
        let Some(subnet) = subnet else { return };
        match self.index(&subnet) {
            Some(i) => {
                self.slots.insert(i);
            }
            None => self.other.push(subnet),
        }
    }

    /// The index of `subnet` when it is exactly one block of the pool.
    fn index(&self, subnet: &IpNet) -> Option<u128> {
        let (IpNet::V4(pool), IpNet::V4(net)) = (self.pool.pool, subnet) else {
            return None;
        };
        if net.prefix_len() != self.pool.prefix || !pool.contains(net) {
            return None;
        }
        let offset = u32::from(net.network()) - u32::from(pool.network());
        Some(u128::from(offset >> (32 - u32::from(self.pool.prefix))))
    }

    /// Is block `i` (`subnet`) held?
    fn holds(&self, i: u128, subnet: &IpNet) -> bool {
        self.slots.contains(&i) || overlaps_any(subnet, &self.other)
    }
}

/// The lowest block of `pool` that is not `busy` (given its index).
fn free_slot(pool: SubnetPool, busy: impl Fn(u128, &IpNet) -> bool) -> Option<IpNet> {
    let mut i = 0u128;
    while let Some(subnet) = pool.slot(i) {
        if !busy(i, &subnet) {
            return Some(subnet);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_the_pool_cut_in_blocks() {
        let pool = SubnetPool {
            pool: "10.40.0.0/16".parse().unwrap(),
            prefix: 24,
        };
        assert_eq!(pool.slots(), 256);
        assert_eq!(pool.slot(0), Some("10.40.0.0/24".parse().unwrap()));
        assert_eq!(pool.slot(5), Some("10.40.5.0/24".parse().unwrap()));
        assert_eq!(pool.slot(255), Some("10.40.255.0/24".parse().unwrap()));
        assert_eq!(pool.slot(256), None);
        let taken: Vec<IpNet> = vec![
            "10.40.0.0/24".parse().unwrap(),
            "10.40.1.0/25".parse().unwrap(),
        ];
        assert_eq!(
            free_slot(pool, |_, n| overlaps_any(n, &taken)),
            Some("10.40.2.0/24".parse().unwrap())
        );
        let whole: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(free_slot(pool, |_, n| overlaps_any(n, &whole)), None);
        let mut held = Held::new(pool);
        held.extend(Some("10.40.3.0/24".parse().unwrap()));
        held.extend(Some("10.40.8.0/23".parse().unwrap()));
        assert_eq!(held.slots, BTreeSet::from([3]));
        assert!(held.holds(3, &"10.40.3.0/24".parse().unwrap()));
        assert!(held.holds(9, &"10.40.9.0/24".parse().unwrap()));
        assert!(!held.holds(4, &"10.40.4.0/24".parse().unwrap()));
    }
}

//! What a destination consents to and what it forbids: `manage = true`
//! lets berth take over a network it did not create (a replace that makes
//! it berth's), `prevent_removal = true` makes any removal or replace of
//! the network a plan error, on the destination and, through the network's
//! `berth.prevent_removal` label, once no destination declares it.

use super::model::*;
use crate::config::{Config, Destination};
use crate::live::{Network, labels};

/// The berth owner that made `net`, when it is not `owner`.
fn other_owner<'a>(net: &'a Network, owner: &str) -> Option<&'a str> {
    match (net.label(labels::MANAGED), net.label(labels::OWNER)) {
        (Some("true"), Some(other)) if other != owner => Some(other),
        _ => None,
    }
}

/// The takeover of `net`, which berth did not create, when its
/// destination says `manage = true` and no other berth owner made it;
/// `None` otherwise (the network is adopted: used as it is).
pub fn takeover(config: &Config, dest: &Destination, net: &Network) -> Option<Takeover> {
    (dest.manage && !net.owned_by(&config.owner) && other_owner(net, &config.owner).is_none()).then(
        || Takeover {
            network_id: net.id.clone(),
        },
    )
}

/// Why a journal's takeover may not be restored, if it may not. A restore
/// replaces `live` (the network it names, if it is there) though it is not
/// berth's only while the config still says `manage = true` for it on
/// `server`, no other berth owner made it, and it is the very network the
/// plan took over (its id).
pub fn refuse_restore(
    config: &Config,
    server: &str,
    network: &str,
    takeover: &Takeover,
    live: Option<&Network>,
) -> Option<String> {
    let declared = config
        .destinations_on(server)
        .any(|d| d.network == network && d.manage);
    if !declared {
        return Some(format!(
            "it takes over network {network}, which berth did not create, and no destination on server {server} says `manage = true` for it now"
        ));
    }
    let net = live.filter(|n| !n.owned_by(&config.owner))?;
    match other_owner(net, &config.owner) {
        Some(other) => Some(format!(
            "network {network} now belongs to berth owner `{other}`"
        )),
        None if net.id != takeover.network_id => Some(format!(
            "network {network} is not the one it took over (id {} then, {} now)",
            short(&takeover.network_id),
            short(&net.id)
        )),
        None => None,
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `manage = true` on a network another berth owner made, which differs
/// from its destination: berth never takes a network from another owner.
pub fn foreign_owner_error(
    config: &Config,
    server: &str,
    dest: &Destination,
    net: &Network,
    differences: &[Difference],
) -> Option<PlanError> {
    let other = other_owner(net, &config.owner).filter(|_| dest.manage)?;
    Some(PlanError {
        server: server.to_string(),
        destination: Some(dest.name.clone()),
        network: dest.network.clone(),
        message: format!(
            "network {} on server {server} differs from destination {} ({}) and belongs to berth owner `{other}`: `manage = true` takes over only networks no berth made, never another owner's",
            dest.network,
            dest.name,
            describe(differences)
        ),
        hint: format!(
            "make the destination match the live network; or let owner `{other}` give it up first (`berth forget` there, or drop its destination)"
        ),
    })
}

/// A replace of a declared destination's network that `prevent_removal`
/// forbids.
pub fn replace_refused(
    server: &str,
    dest: &Destination,
    differences: &[Difference],
) -> Option<PlanError> {
    let at = dest.prevent_removal.as_deref()?;
    Some(PlanError {
        server: server.to_string(),
        destination: Some(dest.name.clone()),
        network: dest.network.clone(),
        message: format!(
            "network {} on server {server} would be replaced ({}), but destination {} sets `prevent_removal = true` ({at})",
            dest.network,
            describe(differences),
            dest.name
        ),
        hint: "make the destination match the live network again; or, to let berth recreate it, set `prevent_removal = false` (or remove the key) and plan again".to_string(),
    })
}

/// The removal of `net` (berth's, declared by no destination on `server`)
/// when it carries the `berth.prevent_removal` label: a plan error, never
/// a change.
pub fn removal_refused(config: &Config, server: &str, net: &Network) -> Option<PlanError> {
    if net.label(labels::PREVENT_REMOVAL) != Some("true") {
        return None;
    }
    let destination = net.label(labels::DESTINATION);
    let why = match destination {
        Some(d) if config.destinations.iter().any(|x| x.name == d) => {
            format!("destination {d} no longer includes server {server}")
        }
        Some(d) => format!("no destination declares it (it was destination {d})"),
        None => "no destination declares it".to_string(),
    };
    Some(PlanError {
        server: server.to_string(),
        destination: destination.map(str::to_string),
        network: net.name.clone(),
        message: format!(
            "network {} on server {server} would be removed ({why}), but it was created with `prevent_removal = true` (its label `{}=true`)",
            net.name,
            labels::PREVENT_REMOVAL
        ),
        hint: format!(
            "declare it again on server {server}; or keep the network and stop managing it: `berth forget {} --server {server}`; or, to remove it, detach what is attached and remove it by hand: `docker network rm {}`",
            net.name, net.name
        ),
    })
}

fn describe(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(|d| format!("{} {} → {}", d.property, d.live, d.desired))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::journal::Record;
    use super::super::model::*;
    use super::super::target::tests::valid;
    use super::super::tests::live;
    use crate::config::Config;
    use crate::live::{Container, Endpoint, IpamPool, Journal, Network};

    /// One server, `s1`, and one destination on network `coolify`, with
    /// `extra` keys.
    fn config(extra: &str) -> Config {
        valid(&format!(
            r#"
[settings]
owner = "acme"

[[server]]
name = "s1"
address = "local"

[[destination]]
name = "apps"
server = "s1"
network = "coolify"
{extra}
"#
        ))
    }

    fn network(labels: &[(&str, &str)]) -> Network {
        Network {
            id: "a".repeat(64),
            name: "coolify".into(),
            driver: "bridge".into(),
            internal: false,
            attachable: false,
            enable_ipv6: false,
            options: BTreeMap::new(),
            ipam: vec![IpamPool {
                subnet: Some("10.0.7.0/24".parse().unwrap()),
                gateway: Some("10.0.7.1".parse().unwrap()),
                ip_range: None,
                ..Default::default()
            }],
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn attached(name: &str, aliases: &[&str]) -> Container {
        Container {
            id: format!("{name}0123456789abcdef"),
            name: name.into(),
            image: "busybox".into(),
            running: true,
            labels: [("coolify.managed".to_string(), "true".to_string())]
                .into_iter()
                .collect(),
            networks: [(
                "coolify".to_string(),
                Endpoint {
                    aliases: Some(aliases.iter().map(|a| a.to_string()).collect()),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        }
    }

    const IPV6: &str = r#"
subnet = "10.0.7.0/24"
enable_ipv6 = true
subnet_v6 = "fd00:7::/64"
"#;

    fn allow() -> Options {
        Options {
            allow_replace: true,
            ..Options::default()
        }
    }

    fn replaces(p: &Plan) -> Vec<&ReplaceNetwork> {
        p.changes
            .iter()
            .filter_map(|c| match c {
                Change::ReplaceNetwork(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn without_manage_a_foreign_network_that_differs_is_an_error() {
        let p = super::super::plan(
            &config(IPV6),
            &live(vec![network(&[])], vec![attached("proxy", &["proxy"])]),
            allow(),
        );
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert!(p.errors[0].message.contains("berth did not create it"));
    }

    #[test]
    fn manage_takes_a_foreign_network_over_through_a_replace() {
        let c = config(&format!("manage = true\n{IPV6}"));
        let l = live(
            vec![network(&[])],
            vec![attached("proxy", &["proxy"]), attached("app-1", &["app-1"])],
        );
        // Blocked without consent, like any replace with containers on it.
        let p = super::super::plan(&c, &l, Options::default());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let r = replaces(&p);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, ChangeStatus::Blocked);
        assert!(r[0].reasons[0].contains("takes over network coolify"));
        let p = super::super::plan(&c, &l, allow());
        let r = replaces(&p);
        assert_eq!(r[0].status, ChangeStatus::Planned);
        assert_eq!(
            r[0].takeover,
            Some(Takeover {
                network_id: "a".repeat(64)
            })
        );
        let mut names: Vec<&str> = r[0].attached.iter().map(|a| a.container.as_str()).collect();
        names.sort();
        assert_eq!(names, ["app-1", "proxy"]);
        assert!(r[0].differences.iter().any(|d| d.property == "enable_ipv6"));
        // Applied: berth's from then on, and nothing left to do.
        let mut after = l.clone();
        super::super::simulate::apply_plan(&mut after, &p, "acme");
        let s = after.servers["s1"].as_ref().unwrap();
        assert!(s.network("coolify").unwrap().owned_by("acme"));
        let again = super::super::plan(&c, &after, allow());
        assert!(again.changes.is_empty(), "{:?}", again.changes);
    }

    #[test]
    fn manage_without_differences_changes_nothing() {
        let c = config("manage = true\nsubnet = \"10.0.7.0/24\"");
        let p = super::super::plan(&c, &live(vec![network(&[])], vec![]), allow());
        assert!(p.changes.is_empty() && p.errors.is_empty(), "{p:?}");
    }

    #[test]
    fn manage_never_takes_another_owners_network() {
        let theirs = network(&[("berth.managed", "true"), ("berth.owner", "other")]);
        let c = config(&format!("manage = true\n{IPV6}"));
        let p = super::super::plan(&c, &live(vec![theirs], vec![]), allow());
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].message.contains("berth owner `other`"));
        assert!(p.errors[0].message.contains("manage = true"));
    }

    #[test]
    fn prevent_removal_refuses_a_replace_at_its_key() {
        let c = config(&format!("prevent_removal = true\n{IPV6}"));
        let owned = network(&[("berth.managed", "true"), ("berth.owner", "acme")]);
        let p = super::super::plan(&c, &live(vec![owned], vec![]), allow());
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert_eq!(p.errors.len(), 1);
        let e = &p.errors[0];
        // The key is on line 13 of the config, column 1.
        assert!(e.message.contains("berth.toml:13:"), "{}", e.message);
        assert!(e.message.contains("enable_ipv6"), "{}", e.message);
        assert!(e.hint.contains("prevent_removal = false"), "{}", e.hint);
        // And so is a takeover.
        let c = config(&format!("manage = true\nprevent_removal = true\n{IPV6}"));
        let p = super::super::plan(&c, &live(vec![network(&[])], vec![]), allow());
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert!(p.errors[0].message.contains("prevent_removal"));
    }

    #[test]
    fn the_label_refuses_a_removal_once_the_destination_is_gone() {
        let guarded = network(&[
            ("berth.managed", "true"),
            ("berth.owner", "acme"),
            ("berth.destination", "apps"),
            ("berth.prevent_removal", "true"),
        ]);
        let nothing =
            valid("[settings]\nowner = \"acme\"\n[[server]]\nname = \"s1\"\naddress = \"local\"\n");
        let p = super::super::plan(&nothing, &live(vec![guarded.clone()], vec![]), allow());
        assert!(p.changes.is_empty(), "{:?}", p.changes);
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].message.contains("prevent_removal"));
        assert!(p.errors[0].hint.contains("docker network rm coolify"));
        // Without the label it is removed as ever.
        let mut plain = guarded;
        plain.labels.remove("berth.prevent_removal");
        let p = super::super::plan(&nothing, &live(vec![plain], vec![]), allow());
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action(), Action::RemoveNetwork);
    }

    #[test]
    fn a_group_that_shrinks_keeps_a_guarded_network() {
        let text = |servers: &str| {
            format!(
                r#"
[settings]
owner = "acme"
[[server]]
name = "s1"
address = "local"
[[server]]
name = "s2"
address = "local"
[[destination]]
name = "apps"
servers = {servers}
network = "coolify"
prevent_removal = true
"#
            )
        };
        let guarded = network(&[
            ("berth.managed", "true"),
            ("berth.owner", "acme"),
            ("berth.destination", "apps"),
            ("berth.prevent_removal", "true"),
        ]);
        let p = super::super::plan(
            &valid(&text("[\"s2\"]")),
            &live(vec![guarded], vec![]),
            allow(),
        );
        assert!(
            !p.changes
                .iter()
                .any(|c| c.action() == Action::RemoveNetwork),
            "{:?}",
            p.changes
        );
        assert!(
            p.errors[0]
                .message
                .contains("destination apps no longer includes server s1"),
            "{}",
            p.errors[0].message
        );
    }

    #[test]
    fn created_networks_carry_the_guard() {
        let c = config("prevent_removal = true");
        let p = super::super::plan(&c, &live(vec![], vec![]), allow());
        match &p.changes[0] {
            Change::CreateNetwork(n) => assert!(n.spec.prevent_removal),
            other => panic!("{other:?}"),
        }
    }

    fn journal(change: Change) -> Journal {
        let record = Record {
            change: Box::new(change),
            reattach: vec![Member {
                container: "proxy".into(),
                aliases: vec!["proxy".into()],
                endpoint: Default::default(),
            }],
            allow_replace: true,
        };
        Journal {
            name: "berth-journal-1".into(),
            labels: [
                ("berth.journal".to_string(), "replace_network".to_string()),
                ("berth.owner".to_string(), "acme".to_string()),
                ("berth.journal.record".to_string(), record.to_label()),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn a_cut_takeover_is_restored_only_for_the_network_it_took_over() {
        let c = config(&format!("manage = true\n{IPV6}"));
        let l = live(vec![network(&[])], vec![attached("proxy", &["proxy"])]);
        let p = super::super::plan(&c, &l, allow());
        let change = p.changes[0].clone();
        let with = |net: Network, c: &Config| {
            let mut l = live(vec![net], vec![attached("proxy", &["proxy"])]);
            if let Ok(s) = l.servers.get_mut("s1").unwrap() {
                s.journals.push(journal(change.clone()));
            }
            super::super::plan(c, &l, allow())
        };
        // Cut before the removal: the foreign network is still there.
        let p = with(network(&[]), &c);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.changes[0].action(), Action::Restore);
        assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
        // Another network of that name since: refused.
        let mut other = network(&[]);
        other.id = "b".repeat(64);
        let p = with(other, &c);
        assert!(p.errors[0].message.contains("not the one it took over"));
        // The config no longer consents: refused.
        let p = with(network(&[]), &config(IPV6));
        assert!(p.errors[0].message.contains("manage = true"));
    }
}

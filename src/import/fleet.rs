//! Several servers imported as one config: a network with the same name
//! and spec on several servers becomes one `[[destination]]` over the set
//! (`servers = "*"` when it is every server imported, `"tag:NAME"` when a
//! tag names exactly that set, else the list); resources identical on
//! several servers are written once. Pure, like the one-server import.

use std::collections::{BTreeMap, BTreeSet};

use super::{Document, ResourceTable, ServersValue, ServiceTable, Settings, document, finish};
use crate::config::Server;
use crate::live::Snapshot;

/// The whole config for `fleet` (servers in this order) as their
/// snapshots show them.
pub fn import_fleet(owner: Option<&str>, fleet: &[(&Server, &Snapshot)]) -> String {
    let docs: Vec<(&Server, Document, Vec<String>)> = fleet
        .iter()
        .map(|(s, live)| {
            let (doc, notes) = document(owner, s, live);
            (*s, doc, notes)
        })
        .collect();
    let mut out = Document {
        settings: Settings {
            owner: docs
                .first()
                .map(|(_, d, _)| d.settings.owner.clone())
                .unwrap_or_default(),
        },
        ..Document::default()
    };
    out.server = docs.iter().flat_map(|(_, d, _)| d.server.clone()).collect();
    let dest_names = destinations(&docs, &mut out);
    resources(&docs, &dest_names, &mut out);
    let notes: Vec<String> = docs
        .iter()
        .flat_map(|(s, _, notes)| notes.iter().map(move |n| format!("server {}: {n}", s.name)))
        .collect();
    let names: Vec<&str> = docs.iter().map(|(s, _, _)| s.name.as_str()).collect();
    let head = format!(
        "#:schema ./schemas/berth.schema.json\n# What runs on servers {} now (berth import).\n# `berth plan` with this config shows no changes for these servers.\n",
        names.join(", ")
    );
    finish(head, &out, &notes)
}

/// Each server's destination names as written: (server, name) → name.
type Renames = BTreeMap<(String, String), String>;

/// The destination tables, grouped where a network is the same on several
/// servers; what each server's destination names became.
fn destinations(docs: &[(&Server, Document, Vec<String>)], out: &mut Document) -> Renames {
    // A clone copies one server's resource to one server: the destinations
    // of clones and of their sources stay per server.
    let sources: BTreeSet<&str> = docs
        .iter()
        .flat_map(|(_, d, _)| {
            d.application
                .iter()
                .chain(&d.database)
                .filter_map(|r| r.clone_of.as_deref())
                .chain(d.service.iter().filter_map(|s| s.clone_of.as_deref()))
        })
        .collect();
    let mut pinned: BTreeSet<String> = BTreeSet::new();
    for (_, d, _) in docs {
        for r in d.application.iter().chain(&d.database) {
            if r.clone_of.is_some() || sources.contains(r.name.as_str()) {
                pinned.extend(r.destination.iter().cloned());
                pinned.extend(r.destinations.iter().flatten().cloned());
            }
        }
        for s in &d.service {
            if s.clone_of.is_some() || sources.contains(s.name.as_str()) {
                pinned.insert(s.destination.clone());
            }
        }
    }
    // Tables alike but for their server, in the order first seen.
    let mut groups: Vec<(super::DestinationTable, Vec<&Server>)> = Vec::new();
    for (server, d, _) in docs {
        for t in &d.destination {
            let mut key = t.clone();
            key.server = None;
            // Networks of one pool: alike whatever subnet each was given
            // (inside the pool), their gateway being the subnet's.
            if let Some(prefix) = pooled(t) {
                key.subnet = None;
                key.gateway = None;
                key.subnet_prefix = Some(prefix);
                key.subnet_pool = key.pool_label.clone();
            }
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) if !pinned.contains(&t.name) => members.push(server),
                _ => groups.push((key, vec![server])),
            }
        }
    }
    // A destination whose resources differ between its servers (aliases,
    // attachment settings) would give each server every server's tables:
    // it stays one per server, as does a pooled one where a resource has a
    // static IPv4 address (a pool's subnet takes none).
    let groups: Vec<(super::DestinationTable, Vec<&Server>)> = groups
        .into_iter()
        .flat_map(|(key, members)| {
            let split = members.len() > 1
                && (differ(docs, &key.name, &members)
                    || (key.subnet_pool.is_some() && static_v4(docs, &key.name, &members)));
            if split {
                members
                    .into_iter()
                    .map(|m| (key.clone(), vec![m]))
                    .collect()
            } else {
                vec![(key, members)]
            }
        })
        .collect();
    let everyone: Vec<&str> = docs.iter().map(|(s, _, _)| s.name.as_str()).collect();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut renames = Renames::new();
    for (mut table, members) in groups {
        let original = table.name.clone();
        if taken.contains(&table.name) {
            table.name = free(&taken, &format!("{}-{}", original, members[0].name));
        }
        taken.insert(table.name.clone());
        for m in &members {
            renames.insert((m.name.clone(), original.clone()), table.name.clone());
        }
        if members.len() == 1 {
            table.server = Some(members[0].name.clone());
            // One server: its subnet as it is (`subnet_pool` is for sets).
            if table.subnet_pool.take().is_some() {
                let own = docs
                    .iter()
                    .find(|(s, _, _)| s.name == members[0].name)
                    .and_then(|(_, d, _)| d.destination.iter().find(|t| t.name == original));
                if let Some(own) = own {
                    table = own.clone();
                    table.name = renames[&(members[0].name.clone(), original.clone())].clone();
                }
            }
        } else {
            table.servers = Some(set_of(&members, &everyone, docs));
        }
        out.destination.push(table);
    }
    renames
}

/// The tables of `server`'s resources on its destination `dest`, by kind
/// and name.
fn tables_on<'d>(doc: &'d Document, dest: &str) -> BTreeMap<(&'static str, &'d str), Table<'d>> {
    let on = |r: &&ResourceTable| {
        r.destination.as_deref() == Some(dest) || r.destinations.iter().flatten().any(|d| d == dest)
    };
    let apps = doc
        .application
        .iter()
        .filter(on)
        .map(|r| (("application", r.name.as_str()), Table::Resource(r)));
    let dbs = doc
        .database
        .iter()
        .filter(on)
        .map(|r| (("database", r.name.as_str()), Table::Resource(r)));
    let stacks = doc
        .service
        .iter()
        .filter(|s| s.destination == dest)
        .map(|s| (("service", s.name.as_str()), Table::Stack(s)));
    apps.chain(dbs).chain(stacks).collect()
}

/// A resource's or stack's table, as one server's import wrote it.
#[derive(PartialEq)]
enum Table<'d> {
    Resource(&'d ResourceTable),
    Stack(&'d ServiceTable),
}

fn doc_of<'a>(
    docs: &'a [(&Server, Document, Vec<String>)],
    server: &Server,
) -> Option<&'a Document> {
    docs.iter()
        .find(|(s, _, _)| s.name == server.name)
        .map(|(_, d, _)| d)
}

/// Does a resource on destination `dest` have different tables on two of
/// `members`?
fn differ(docs: &[(&Server, Document, Vec<String>)], dest: &str, members: &[&Server]) -> bool {
    let mut seen: BTreeMap<(&str, &str), Table<'_>> = BTreeMap::new();
    for m in members {
        let Some(doc) = doc_of(docs, m) else { continue };
        for (key, table) in tables_on(doc, dest) {
            match seen.get(&key) {
                Some(other) if *other != table => return true,
                Some(_) => {}
                None => {
                    seen.insert(key, table);
                }
            }
        }
    }
    false
}

/// Does a resource (or a stack's service) on destination `dest` of one of
/// `members` have a static IPv4 address?
fn static_v4(docs: &[(&Server, Document, Vec<String>)], dest: &str, members: &[&Server]) -> bool {
    members
        .iter()
        .filter_map(|m| doc_of(docs, m))
        .flat_map(|doc| tables_on(doc, dest).into_values())
        .any(|t| match t {
            Table::Resource(r) => r.endpoint.ipv4_address.is_some(),
            Table::Stack(s) => s.attachments.values().any(|k| k.ipv4_address.is_some()),
        })
}

/// The prefix length of a network berth made from a `subnet_pool`, when
/// its subnet lies inside that pool.
fn pooled(t: &super::DestinationTable) -> Option<u8> {
    let pool: ipnet::IpNet = t.pool_label.as_deref()?.parse().ok()?;
    let subnet: ipnet::IpNet = t.subnet.as_deref()?.parse().ok()?;
    (pool.contains(&subnet) && subnet.prefix_len() <= 30).then(|| subnet.prefix_len())
}

/// How the config writes `members`: `"*"`, one tag, or their names.
fn set_of(
    members: &[&Server],
    everyone: &[&str],
    docs: &[(&Server, Document, Vec<String>)],
) -> ServersValue {
    let names: BTreeSet<&str> = members.iter().map(|s| s.name.as_str()).collect();
    if names.len() == everyone.len() {
        return ServersValue::All("*".to_string());
    }
    let tags: BTreeSet<&str> = docs
        .iter()
        .flat_map(|(s, _, _)| s.tags.iter().map(String::as_str))
        .collect();
    for tag in tags {
        let tagged: BTreeSet<&str> = docs
            .iter()
            .filter(|(s, _, _)| s.tags.iter().any(|t| t == tag))
            .map(|(s, _, _)| s.name.as_str())
            .collect();
        if tagged == names {
            return ServersValue::Listed(vec![format!("tag:{tag}")]);
        }
    }
    ServersValue::Listed(members.iter().map(|s| s.name.clone()).collect())
}

/// `base`, or `base-2`, `base-3`, … when taken.
fn free(taken: &BTreeSet<String>, base: &str) -> String {
    (1..)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|n| !taken.contains(n))
        .expect("an endless list of names has a free one")
}

/// Applications, databases and stacks of every server, on the renamed
/// destinations; a table the same on several servers is written once, a
/// name taken by another table gets the server's name.
fn resources(docs: &[(&Server, Document, Vec<String>)], dests: &Renames, out: &mut Document) {
    let dest = |server: &str, name: &String| {
        dests
            .get(&(server.to_string(), name.clone()))
            .cloned()
            .unwrap_or_else(|| name.clone())
    };
    let mut renamed: BTreeMap<(String, &str, String), String> = BTreeMap::new();
    let mut apps: Vec<(String, ResourceTable)> = Vec::new();
    let mut dbs: Vec<(String, ResourceTable)> = Vec::new();
    let mut stacks: Vec<(String, ServiceTable)> = Vec::new();
    for (server, d, _) in docs {
        let s = server.name.as_str();
        for (kind, tables, into) in [
            ("application", &d.application, &mut apps),
            ("database", &d.database, &mut dbs),
        ] {
            for t in tables {
                let mut t = t.clone();
                t.destination = t.destination.map(|n| dest(s, &n));
                t.destinations = t
                    .destinations
                    .map(|list| list.iter().map(|n| dest(s, n)).collect());
                if into.iter().any(|(_, x)| *x == t) {
                    continue;
                }
                if into.iter().any(|(_, x)| x.name == t.name) {
                    let taken: BTreeSet<String> =
                        into.iter().map(|(_, x)| x.name.clone()).collect();
                    let name = free(&taken, &format!("{}-{s}", t.name));
                    renamed.insert((s.to_string(), kind, t.name.clone()), name.clone());
                    // A container picked by name: the name no longer says it.
                    if t.container.is_none()
                        && t.swarm_service.is_none()
                        && t.match_labels.is_none()
                    {
                        t.container = Some(t.name.clone());
                    }
                    t.name = name;
                }
                into.push((s.to_string(), t));
            }
        }
        for t in &d.service {
            let mut t = t.clone();
            t.destination = dest(s, &t.destination);
            if stacks.iter().any(|(_, x)| *x == t) {
                continue;
            }
            if stacks.iter().any(|(_, x)| x.name == t.name) {
                let taken: BTreeSet<String> = stacks.iter().map(|(_, x)| x.name.clone()).collect();
                let name = free(&taken, &format!("{}-{s}", t.name));
                // The project stays what it was: the name no longer says it.
                t.project.get_or_insert_with(|| t.name.clone());
                renamed.insert((s.to_string(), "service", t.name.clone()), name.clone());
                t.name = name;
            }
            stacks.push((s.to_string(), t));
        }
    }
    // A clone names its source as its own server's table calls it now.
    let source = |s: &str, kind: &str, name: Option<String>| {
        name.map(|n| {
            renamed
                .get(&(s.to_string(), kind, n.clone()))
                .cloned()
                .unwrap_or(n)
        })
    };
    out.application = apps
        .into_iter()
        .map(|(s, mut t)| {
            t.clone_of = source(&s, "application", t.clone_of.take());
            t
        })
        .collect();
    out.database = dbs
        .into_iter()
        .map(|(s, mut t)| {
            t.clone_of = source(&s, "database", t.clone_of.take());
            t
        })
        .collect();
    out.service = stacks
        .into_iter()
        .map(|(s, mut t)| {
            t.clone_of = source(&s, "service", t.clone_of.take());
            t
        })
        .collect();
}

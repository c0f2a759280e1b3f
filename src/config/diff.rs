//! The desired-config change between two commits, for pull-request
//! previews: entities added, removed or changed (with the fields that
//! changed), and a unified diff of each changed file. Pure: two configs in,
//! data out.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Address, Config, Selector, SourceFile};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ConfigDiff {
    /// The base revision and commit.
    pub base_ref: String,
    pub base_commit: String,
    pub entities: Vec<EntityChange>,
    pub files: Vec<FileDiff>,
    /// How servers were contacted: only with the base commit's connection details.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct EntityChange {
    pub kind: EntityKind,
    pub name: String,
    pub change: ChangeKind,
    /// For `changed`: each field that differs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// The tables of a config, in the order berth lists them.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Settings,
    Server,
    Destination,
    Application,
    Database,
    /// A compose stack: a `[[service]]` table.
    #[serde(rename = "service")]
    Stack,
}

impl EntityKind {
    /// The table's name as written in a config file.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Settings => "settings",
            EntityKind::Server => "server",
            EntityKind::Destination => "destination",
            EntityKind::Application => "application",
            EntityKind::Database => "database",
            EntityKind::Stack => "service",
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<super::ResourceKind> for EntityKind {
    fn from(k: super::ResourceKind) -> Self {
        match k {
            super::ResourceKind::Application => EntityKind::Application,
            super::ResourceKind::Database => EntityKind::Database,
            super::ResourceKind::Stack => EntityKind::Stack,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub base: Option<String>,
    pub head: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FileDiff {
    pub path: String,
    pub change: ChangeKind,
    /// Unified diff (3 lines of context).
    pub unified: String,
}

type Fields = BTreeMap<String, String>;

/// Every entity of a config as comparable fields, by (kind, name).
fn entities(c: &Config) -> BTreeMap<(EntityKind, String), Fields> {
    let mut out = BTreeMap::new();
    let mut put = |kind: EntityKind, name: &str, fields: Vec<(&str, Option<String>)>| {
        let f: Fields = fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?)))
            .collect();
        out.insert((kind, name.to_string()), f);
    };
    put(
        EntityKind::Settings,
        "settings",
        vec![
            ("owner", Some(c.owner.clone())),
            ("strict", c.strict.then(|| "true".to_string())),
        ],
    );
    for s in &c.servers {
        let mut f = vec![("address", Some(s.address.to_string()))];
        if let Address::Ssh {
            docker_socket,
            identity_file,
            known_hosts_file,
            ..
        } = &s.address
        {
            f.push(("docker_socket", Some(docker_socket.clone())));
            f.push(("identity_file", identity_file.clone()));
            f.push(("known_hosts_file", known_hosts_file.clone()));
        }
        if !s.tags.is_empty() {
            f.push(("tags", Some(s.tags.join(", "))));
        }
        put(EntityKind::Server, &s.name, f);
    }
    // A destination over a set is one entity: its set as declared, and one
    // field per member server (`server web-3`), so that a server joining
    // or leaving it (a new tag, a new server under "*") is a change of
    // that server's field.
    let members: Vec<String> = c
        .destinations
        .iter()
        .map(|d| format!("server {}", d.server))
        .collect();
    for (i, d) in c.destinations.iter().enumerate() {
        if c.destinations[..i].iter().any(|x| x.name == d.name) {
            continue;
        }
        let labels = (!d.spec.labels.is_empty()).then(|| format!("{:?}", d.spec.labels));
        let mut fields = match &d.group {
            None => vec![("server", Some(d.server.clone()))],
            Some(g) => {
                let mut f = vec![("servers", Some(g.declared.text()))];
                for (j, x) in c.destinations.iter().enumerate() {
                    if x.name == d.name {
                        f.push((members[j].as_str(), Some("member".to_string())));
                    }
                }
                f
            }
        };
        if d.manage {
            fields.push(("manage", Some("true".to_string())));
        }
        if d.prevent_removal.is_some() {
            fields.push(("prevent_removal", Some("true".to_string())));
        }
        fields.extend(
            d.pool
                .map(|p| {
                    vec![
                        ("subnet_pool", Some(p.pool.to_string())),
                        ("subnet_prefix", Some(p.prefix.to_string())),
                    ]
                })
                .unwrap_or_default(),
        );
        put(
            EntityKind::Destination,
            &d.name,
            [
                fields,
                vec![
                    ("network", Some(d.network.clone())),
                    ("driver", Some(d.spec.driver.clone())),
                    ("internal", Some(d.spec.internal.to_string())),
                    ("attachable", Some(d.spec.attachable.to_string())),
                    ("subnet", d.spec.subnet.map(|s| s.to_string())),
                    ("gateway", d.spec.gateway.map(|g| g.to_string())),
                    ("ip_range", d.spec.ip_range.map(|s| s.to_string())),
                    ("enable_ipv6", d.spec.enable_ipv6.map(|b| b.to_string())),
                    ("subnet_v6", d.spec.subnet_v6.map(|s| s.to_string())),
                    ("gateway_v6", d.spec.gateway_v6.map(|g| g.to_string())),
                    (
                        "extra_pools",
                        (!d.spec.extra_pools.is_empty())
                            .then(|| format!("{:?}", d.spec.extra_pools)),
                    ),
                    (
                        "aux_addresses",
                        (!d.spec.aux_addresses.is_empty())
                            .then(|| format!("{:?}", d.spec.aux_addresses)),
                    ),
                    ("ipam_driver", d.spec.ipam_driver.clone()),
                    (
                        "ipam_options",
                        (!d.spec.ipam_options.is_empty())
                            .then(|| format!("{:?}", d.spec.ipam_options)),
                    ),
                    ("scope", d.spec.scope.clone()),
                    (
                        "config_only",
                        d.spec.config_only.then(|| "true".to_string()),
                    ),
                    ("config_from", d.spec.config_from.clone()),
                    ("parent", d.spec.parent.clone()),
                    (
                        "options",
                        (!d.spec.options.is_empty()).then(|| format!("{:?}", d.spec.options)),
                    ),
                    ("labels", labels),
                ],
            ]
            .concat(),
        );
    }
    for r in &c.resources {
        let (container, match_labels, swarm_service) = match &r.selector {
            Selector::Name(n) => (Some(n.clone()), None, None),
            Selector::Labels(l) => (None, Some(format!("{l:?}")), None),
            Selector::SwarmService(s) => (None, None, Some(s.clone())),
        };
        put(
            r.kind.into(),
            &r.name,
            vec![
                (
                    if matches!(r.placement, super::Placement::One(_)) {
                        "destination"
                    } else {
                        "destinations"
                    },
                    Some(r.placement_text()),
                ),
                ("container", container),
                ("match_labels", match_labels),
                ("swarm_service", swarm_service),
                ("aliases", Some(r.aliases.join(", "))),
                ("clone_of", r.clone_of.clone()),
            ],
        );
    }
    for s in &c.stacks {
        put(
            EntityKind::Stack,
            &s.name,
            vec![
                ("destination", Some(s.destination.clone())),
                ("project", Some(s.project.clone())),
                (
                    "connect_to_predefined_networks",
                    Some(s.connect_to_predefined_networks.to_string()),
                ),
                (
                    "compose_file",
                    s.compose_file.as_ref().map(|f| f.path.clone()),
                ),
                ("clone_of", s.clone_of.clone()),
            ],
        );
    }
    out
}

/// What changed from `base` to `head`, entity by entity and file by file.
pub fn diff(
    base: &Config,
    head: &Config,
    base_files: &[SourceFile],
    head_files: &[SourceFile],
) -> ConfigDiff {
    let (b, h) = (entities(base), entities(head));
    let mut changes = Vec::new();
    for ((kind, name), hf) in &h {
        match b.get(&(*kind, name.clone())) {
            None => changes.push(EntityChange {
                kind: *kind,
                name: name.clone(),
                change: ChangeKind::Added,
                fields: Vec::new(),
            }),
            Some(bf) if bf != hf => {
                let keys: std::collections::BTreeSet<&String> =
                    bf.keys().chain(hf.keys()).collect();
                let fields = keys
                    .into_iter()
                    .filter(|k| bf.get(*k) != hf.get(*k))
                    .map(|k| FieldChange {
                        field: k.clone(),
                        base: bf.get(k).cloned(),
                        head: hf.get(k).cloned(),
                    })
                    .collect();
                changes.push(EntityChange {
                    kind: *kind,
                    name: name.clone(),
                    change: ChangeKind::Changed,
                    fields,
                });
            }
            Some(_) => {}
        }
    }
    for (kind, name) in b.keys().filter(|k| !h.contains_key(*k)) {
        changes.push(EntityChange {
            kind: *kind,
            name: name.clone(),
            change: ChangeKind::Removed,
            fields: Vec::new(),
        });
    }
    changes.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));

    ConfigDiff {
        entities: changes,
        files: file_diffs(base_files, head_files),
        ..Default::default()
    }
}

/// A unified diff of each file added, removed or changed.
fn file_diffs(base_files: &[SourceFile], head_files: &[SourceFile]) -> Vec<FileDiff> {
    let text = |files: &[SourceFile], path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.text.clone())
    };
    let mut paths: Vec<&String> = base_files
        .iter()
        .chain(head_files)
        .map(|f| &f.path)
        .collect();
    paths.sort();
    paths.dedup();
    let mut files = Vec::new();
    for path in paths {
        let (old, new) = (text(base_files, path), text(head_files, path));
        if old == new {
            continue;
        }
        let change = match (&old, &new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        };
        let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
        let unified = similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string();
        files.push(FileDiff {
            path: path.clone(),
            change,
            unified,
        });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

    fn cfg(text: &str) -> (Config, Vec<SourceFile>) {
        let files = vec![SourceFile {
            path: "berth.toml".into(),
            text: text.into(),
        }];
        (load(&files).map_err(|d| d.render(false)).unwrap(), files)
    }

    #[test]
    fn a_server_joining_a_set_is_a_field_of_the_destination() {
        let base_text = "[[server]]\nname = \"a\"\naddress = \"local\"\ntags = [\"web\"]\n[[server]]\nname = \"b\"\naddress = \"local\"\n[[destination]]\nname = \"front\"\nservers = [\"tag:web\"]\nnetwork = \"front\"\n";
        let (base, bf) = cfg(base_text);
        let (head, hf) = cfg(&base_text.replacen(
            "name = \"b\"\naddress = \"local\"\n",
            "name = \"b\"\naddress = \"local\"\ntags = [\"web\"]\n",
            1,
        ));
        let d = diff(&base, &head, &bf, &hf);
        let fields: Vec<(&str, &str, Option<&str>, Option<&str>)> = d
            .entities
            .iter()
            .flat_map(|e| {
                e.fields.iter().map(move |f| {
                    (
                        e.name.as_str(),
                        f.field.as_str(),
                        f.base.as_deref(),
                        f.head.as_deref(),
                    )
                })
            })
            .collect();
        assert_eq!(
            fields,
            [
                ("b", "tags", None, Some("web")),
                ("front", "server b", None, Some("member")),
            ]
        );
    }

    const BASE: &str = "[[server]]\nname = \"s1\"\naddress = \"unix:///run/a.sock\"\n[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"p\"\n[[service]]\nname = \"mon\"\ndestination = \"prod\"\n";

    #[test]
    fn entities_added_removed_and_changed_with_their_fields() {
        let (base, bf) = cfg(BASE);
        let head_text = BASE.replace(
            "address = \"unix:///run/a.sock\"",
            "address = \"unix:///run/evil.sock\"",
        ) + "connect_to_predefined_networks = true\n[[server]]\nname = \"s2\"\naddress = \"ssh://root@198.51.100.7\"\n[[destination]]\nname = \"stg\"\nserver = \"s1\"\nnetwork = \"s\"\n";
        let (head, hf) = cfg(&head_text);
        let d = diff(&base, &head, &bf, &hf);
        let got: Vec<(&str, &str, ChangeKind)> = d
            .entities
            .iter()
            .map(|e| (e.kind.as_str(), e.name.as_str(), e.change))
            .collect();
        assert_eq!(
            got,
            [
                ("server", "s1", ChangeKind::Changed),
                ("server", "s2", ChangeKind::Added),
                ("destination", "stg", ChangeKind::Added),
                ("service", "mon", ChangeKind::Changed),
            ]
        );
        let mon = &d.entities[3].fields[0];
        assert_eq!(
            (mon.field.as_str(), mon.base.as_deref(), mon.head.as_deref()),
            (
                "connect_to_predefined_networks",
                Some("false"),
                Some("true")
            )
        );
        assert_eq!(d.files.len(), 1);
        assert!(
            d.files[0].unified.contains("+name = \"stg\""),
            "{}",
            d.files[0].unified
        );
    }
}

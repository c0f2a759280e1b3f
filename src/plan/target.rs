//! Targeting (`--server`, `--destination`): which servers a run contacts
//! and changes, which it reads only (a targeted clone's source), and which
//! destinations its changes are limited to. Pure: config and patterns in,
//! a selection out; `restrict` cuts a plan down to it.

use std::collections::BTreeSet;

use super::model::{Plan, Target, summarize};
use crate::config::{Config, Members};

/// What a target selects in a config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Servers read, locked and changed.
    pub servers: BTreeSet<String>,
    /// Servers read only: sources of clones the targeted servers declare.
    pub read_only: BTreeSet<String>,
    /// With `--destination`: the only destinations changed.
    pub destinations: Option<BTreeSet<String>>,
    /// The config's other servers: not contacted.
    pub not_targeted: Vec<String>,
    /// Servers the change under review leaves as they were (`plan --base`,
    /// the push hooks): not contacted.
    pub unaffected: Vec<String>,
}

impl Selection {
    /// Every server of `config`, none left out.
    pub fn all(config: &Config) -> Selection {
        Selection {
            servers: config.servers.iter().map(|s| s.name.clone()).collect(),
            ..Selection::default()
        }
    }

    /// Every server the run contacts.
    pub fn contacted(&self) -> BTreeSet<String> {
        self.servers.union(&self.read_only).cloned().collect()
    }
}

/// Why a target selects nothing it could mean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("`{pattern}` is not a valid pattern: {why}")]
    BadPattern { pattern: String, why: String },
    /// `what` is `server` or `destination`.
    #[error("no {what} matches `{pattern}`")]
    NoMatch {
        what: &'static str,
        pattern: String,
        closest: Vec<String>,
        known: Vec<String>,
    },
    #[error("no destination matching {destinations} is on a server matching {servers}")]
    Disjoint {
        servers: String,
        destinations: String,
    },
}

impl TargetError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            TargetError::NoMatch { closest, known, .. } if !closest.is_empty() => {
                format!(
                    "did you mean {}? (known: {})",
                    closest.join(", "),
                    known.join(", ")
                )
            }
            TargetError::NoMatch { known, .. } => format!("known: {}", known.join(", ")),
            _ => "patterns are shell globs (`*`, `?`, `[a-z]`) over the config's names".to_string(),
        }
    }
}

/// The servers and destinations `target`'s patterns select in `config`:
/// servers matching a `--server` pattern (all without one) that host a
/// destination matching a `--destination` pattern (any without one). Every
/// pattern must match something.
pub fn select(config: &Config, target: &Target) -> Result<Selection, TargetError> {
    let server_names: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    let mut dest_names: Vec<&str> = config
        .destinations
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    // A destination over a set is one entry per server, one after another.
    dest_names.dedup();
    let tags = config.tags();
    // `tag:GLOB`: servers carrying a matching tag; destinations declared
    // over one (`servers = ["tag:web"]`).
    let tagged_servers = |glob: &glob::Pattern| -> Vec<&str> {
        config
            .servers
            .iter()
            .filter(|s| s.tags.iter().any(|t| glob.matches(t)))
            .map(|s| s.name.as_str())
            .collect()
    };
    let tagged_destinations = |glob: &glob::Pattern| -> Vec<&str> {
        let mut out: Vec<&str> = config
            .destinations
            .iter()
            .filter(|d| match d.group.as_ref().map(|g| &g.declared) {
                Some(Members::Listed(list)) => list
                    .iter()
                    .filter_map(|e| e.strip_prefix("tag:"))
                    .any(|t| glob.matches(t)),
                _ => false,
            })
            .map(|d| d.name.as_str())
            .collect();
        out.dedup();
        out
    };
    let servers = matching(
        "server",
        &target.servers,
        &server_names,
        (&tags, &tagged_servers),
    )?;
    let destinations = matching(
        "destination",
        &target.destinations,
        &dest_names,
        (&tags, &tagged_destinations),
    )?;
    let mut chosen: BTreeSet<String> = server_names
        .iter()
        .filter(|s| servers.as_ref().is_none_or(|m| m.contains(**s)))
        .map(|s| s.to_string())
        .collect();
    let destinations = destinations.map(|wanted| {
        config
            .destinations
            .iter()
            .filter(|d| wanted.contains(&d.name) && chosen.contains(&d.server))
            .map(|d| d.name.clone())
            .collect::<BTreeSet<String>>()
    });
    if let Some(dests) = &destinations {
        if dests.is_empty() {
            return Err(TargetError::Disjoint {
                servers: target.servers.join(", "),
                destinations: target.destinations.join(", "),
            });
        }
        chosen.retain(|s| config.destinations_on(s).any(|d| dests.contains(&d.name)));
    }
    let read_only = read_only(config, &chosen, destinations.as_ref());
    let not_targeted = server_names
        .iter()
        .filter(|s| !chosen.contains(**s) && !read_only.contains(**s))
        .map(|s| s.to_string())
        .collect();
    Ok(Selection {
        servers: chosen,
        read_only,
        destinations,
        not_targeted,
        unaffected: Vec::new(),
    })
}

/// The servers `chosen` servers' plans read besides themselves, read-only:
/// the sources of their clones (up each `clone_of` chain) and, for a
/// destination with a subnet pool (among `destinations`, when limited),
/// every server of its group, since the pool allocates against them all.
fn read_only(
    config: &Config,
    chosen: &BTreeSet<String>,
    destinations: Option<&BTreeSet<String>>,
) -> BTreeSet<String> {
    let pool_servers = chosen.iter().flat_map(|s| {
        config
            .destinations_on(s)
            .filter(|d| d.pool.is_some())
            .filter(|d| destinations.is_none_or(|set| set.contains(&d.name)))
            .flat_map(|d| d.group.iter().flat_map(|g| g.servers.iter().cloned()))
    });
    chosen
        .iter()
        .flat_map(|s| super::clone::source_servers(config, s))
        .chain(pool_servers)
        .filter(|s| !chosen.contains(s))
        .collect()
}

/// `selection` limited to the servers a change `affected`
/// ([`super::affected::affected`]): the others it would have changed are
/// unaffected, not contacted, unless a clone on an affected server copies
/// from one or a subnet pool allocates against it (read-only then, as
/// with `--server`). Servers keep `config`'s order.
pub fn only_affected(
    config: &Config,
    selection: Selection,
    affected: &BTreeSet<String>,
) -> Selection {
    let servers: BTreeSet<String> = selection.servers.intersection(affected).cloned().collect();
    let read_only = read_only(config, &servers, selection.destinations.as_ref());
    let unaffected = config
        .servers
        .iter()
        .map(|s| &s.name)
        .filter(|s| {
            !servers.contains(*s) && !read_only.contains(*s) && !selection.not_targeted.contains(s)
        })
        .cloned()
        .collect();
    Selection {
        servers,
        read_only,
        unaffected,
        ..selection
    }
}

/// The names a `tag:GLOB` pattern matches, given the glob.
type ByTag<'a> = dyn Fn(&glob::Pattern) -> Vec<&'a str> + 'a;

/// The names among `names` that some pattern matches (`None` without
/// patterns); a pattern matching none is an error with the closest names.
/// A `tag:GLOB` pattern matches the names `by_tag` gives for it; `tags` are
/// the config's tags, for the error.
fn matching<'a>(
    what: &'static str,
    patterns: &[String],
    names: &[&str],
    (tags, by_tag): (&[&str], &ByTag<'a>),
) -> Result<Option<BTreeSet<String>>, TargetError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut out = BTreeSet::new();
    for pattern in patterns {
        let glob = |p: &str| {
            glob::Pattern::new(p).map_err(|e| TargetError::BadPattern {
                pattern: pattern.clone(),
                why: e.msg.to_string(),
            })
        };
        if let Some(tag) = pattern.strip_prefix("tag:") {
            let hits = by_tag(&glob(tag)?);
            if hits.is_empty() {
                let what = if what == "server" {
                    "server's tag"
                } else {
                    "destination's set of servers"
                };
                return Err(TargetError::NoMatch {
                    what,
                    pattern: pattern.clone(),
                    closest: super::suggest::closest(tag, tags.iter().copied())
                        .into_iter()
                        .map(|t| format!("tag:{t}"))
                        .collect(),
                    known: tags.iter().map(|t| format!("tag:{t}")).collect(),
                });
            }
            out.extend(hits.into_iter().map(str::to_string));
            continue;
        }
        let glob = glob(pattern)?;
        let hits: Vec<&str> = names.iter().copied().filter(|n| glob.matches(n)).collect();
        if hits.is_empty() {
            return Err(TargetError::NoMatch {
                what,
                pattern: pattern.clone(),
                closest: super::suggest::closest(pattern, names.iter().copied()),
                known: names.iter().map(|n| n.to_string()).collect(),
            });
        }
        out.extend(hits.into_iter().map(str::to_string));
    }
    Ok(Some(out))
}

/// `plan` limited to `selection`: only the changes, errors, warnings and
/// missing resources of the targeted servers (and, with `--destination`,
/// of the targeted destinations); records `target` (unless empty) and the
/// servers a change leaves unaffected.
pub fn restrict(plan: &mut Plan, selection: &Selection, target: &Target) {
    let server = |s: &str| selection.servers.contains(s);
    let dest = |d: Option<&str>| match (&selection.destinations, d) {
        (None, _) => true,
        (Some(set), Some(d)) => set.contains(d),
        (Some(_), None) => false,
    };
    plan.changes
        .retain(|c| server(c.server()) && dest(c.destination()));
    plan.errors
        .retain(|e| server(&e.server) && dest(e.destination.as_deref()));
    plan.warnings
        .retain(|w| w.server.as_deref().is_none_or(server));
    plan.missing.retain(|m| server(&m.server));
    plan.summary = summarize(&plan.changes);
    plan.target = (!target.is_empty()).then(|| Target {
        not_targeted: selection.not_targeted.clone(),
        ..target.clone()
    });
    plan.unaffected = selection.unaffected.clone();
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::SourceFile;
    use crate::config::check;

    /// The config of `text` (`berth.toml`), which must have no error.
    pub(in crate::plan) fn valid(text: &str) -> Config {
        let checked = check(&[SourceFile {
            path: "berth.toml".into(),
            text: text.to_string(),
        }]);
        assert!(
            checked.diagnostics.errors.is_empty(),
            "{:?}",
            checked.diagnostics
        );
        checked.config
    }

    fn config() -> Config {
        let text = r#"
[[server]]
name = "web-1"
address = "local"
[[server]]
name = "web-2"
address = "unix:///tmp/w2.sock"
[[server]]
name = "db-1"
address = "unix:///tmp/d1.sock"
[[destination]]
name = "front-1"
server = "web-1"
network = "front-1"
[[destination]]
name = "front-2"
server = "web-2"
network = "front-2"
[[destination]]
name = "data"
server = "db-1"
network = "data"
[[application]]
name = "app"
destination = "front-1"
container = "app"
[[application]]
name = "app-copy"
destination = "front-2"
container = "app-copy"
clone_of = "app"
"#;
        valid(text)
    }

    fn t(servers: &[&str], destinations: &[&str]) -> Target {
        Target {
            servers: servers.iter().map(|s| s.to_string()).collect(),
            destinations: destinations.iter().map(|s| s.to_string()).collect(),
            not_targeted: Vec::new(),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_server_glob_selects_matching_servers_and_leaves_the_rest_out() {
        let s = select(&config(), &t(&["web-1"], &[])).unwrap();
        assert_eq!(s.servers, set(&["web-1"]));
        assert!(s.read_only.is_empty());
        assert_eq!(s.not_targeted, ["web-2", "db-1"]);
        let s = select(&config(), &t(&["web-*"], &[])).unwrap();
        assert_eq!(s.servers, set(&["web-1", "web-2"]));
        assert_eq!(s.destinations, None);
    }

    #[test]
    fn a_clone_source_server_is_read_only() {
        let s = select(&config(), &t(&["web-2"], &[])).unwrap();
        assert_eq!(s.servers, set(&["web-2"]));
        assert_eq!(s.read_only, set(&["web-1"]));
        assert_eq!(s.contacted(), set(&["web-1", "web-2"]));
    }

    #[test]
    fn a_destination_pattern_limits_destinations_and_their_servers() {
        let s = select(&config(), &t(&[], &["front-*"])).unwrap();
        assert_eq!(s.servers, set(&["web-1", "web-2"]));
        assert_eq!(s.destinations, Some(set(&["front-1", "front-2"])));
        let s = select(&config(), &t(&["web-1", "db-1"], &["front-*"])).unwrap();
        assert_eq!(s.servers, set(&["web-1"]));
        assert_eq!(s.destinations, Some(set(&["front-1"])));
        assert!(matches!(
            select(&config(), &t(&["db-1"], &["front-*"])),
            Err(TargetError::Disjoint { .. })
        ));
    }

    #[test]
    fn a_pattern_matching_nothing_names_the_closest() {
        let e = select(&config(), &t(&["web-3"], &[])).unwrap_err();
        let TargetError::NoMatch { closest, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(closest, &["web-1", "web-2"]);
        assert!(
            e.hint().contains("did you mean web-1, web-2?"),
            "{}",
            e.hint()
        );
        let e = select(&config(), &t(&[], &["frnt-1"])).unwrap_err();
        assert!(e.to_string().contains("no destination matches `frnt-1`"));
        assert!(e.hint().contains("front-1"));
    }

    fn grouped() -> Config {
        let text = r#"
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
tags = ["db"]
[[destination]]
name = "front"
servers = ["tag:web"]
network = "front"
subnet_pool = "10.40.0.0/16"
subnet_prefix = 24
[[destination]]
name = "data"
server = "db-1"
network = "data"
"#;
        valid(text)
    }

    #[test]
    fn only_affected_servers_are_contacted_and_a_clone_source_is_read_only() {
        let all = Selection::all(&config());
        assert_eq!(all.servers, set(&["web-1", "web-2", "db-1"]));
        // web-2's clone copies from web-1: read-only, not unaffected.
        let s = only_affected(&config(), all.clone(), &set(&["web-2"]));
        assert_eq!(s.servers, set(&["web-2"]));
        assert_eq!(s.read_only, set(&["web-1"]));
        assert_eq!(s.unaffected, ["db-1"]);
        let s = only_affected(&config(), all.clone(), &set(&["db-1"]));
        assert_eq!((s.servers, s.read_only), (set(&["db-1"]), set(&[])));
        assert_eq!(s.unaffected, ["web-1", "web-2"]);
        let s = only_affected(&config(), all, &set(&[]));
        assert!(s.contacted().is_empty());
        assert_eq!(s.unaffected.len(), 3);
        // With a target: what it leaves out stays not targeted.
        let targeted = select(&config(), &t(&["web-*"], &[])).unwrap();
        let s = only_affected(&config(), targeted, &set(&["web-1", "db-1"]));
        assert_eq!(s.servers, set(&["web-1"]));
        assert_eq!(s.not_targeted, ["db-1"]);
        assert_eq!(s.unaffected, ["web-2"]);
    }

    #[test]
    fn restrict_records_the_unaffected_servers_and_no_empty_target() {
        let config = config();
        let mut live = crate::live::LiveState::default();
        for s in ["web-1", "web-2", "db-1"] {
            live.servers
                .insert(s.to_string(), Ok(crate::live::Snapshot::default()));
        }
        let mut plan = crate::plan::plan(&config, &live, Default::default());
        assert!(plan.changes.iter().any(|c| c.server() == "db-1"));
        let s = only_affected(&config, Selection::all(&config), &set(&["web-1"]));
        restrict(&mut plan, &s, &Target::default());
        assert!(plan.changes.iter().all(|c| c.server() == "web-1"));
        assert_eq!(plan.unaffected, ["web-2", "db-1"]);
        assert_eq!(plan.target, None);
        let shown: Vec<&str> = plan.shown_servers().map(|s| s.name.as_str()).collect();
        assert_eq!(shown, ["web-1"]);
    }

    #[test]
    fn tags_select_servers_and_destinations() {
        let c = grouped();
        let s = select(&c, &t(&["tag:web"], &[])).unwrap();
        assert_eq!(s.servers, set(&["web-1", "web-2"]));
        assert_eq!(s.not_targeted, vec!["db-1".to_string()]);
        let s = select(&c, &t(&["tag:e*"], &[])).unwrap();
        // The pool's other server is read, read-only, to allocate against.
        assert_eq!(s.servers, set(&["web-1"]));
        assert_eq!(s.read_only, set(&["web-2"]));
        let s = select(&c, &t(&[], &["tag:web"])).unwrap();
        assert_eq!(s.destinations, Some(set(&["front"])));
        assert_eq!(s.servers, set(&["web-1", "web-2"]));
        let e = select(&c, &t(&["tag:wbe"], &[])).unwrap_err();
        assert!(e.to_string().contains("`tag:wbe`"), "{e}");
        assert!(e.hint().contains("did you mean tag:web"), "{}", e.hint());
        let e = select(&c, &t(&[], &["tag:db"])).unwrap_err();
        assert!(matches!(e, TargetError::NoMatch { .. }), "{e}");
    }
}

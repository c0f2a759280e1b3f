//! Names and the references between tables: unique names per kind,
//! `destination` and `clone_of` references (with a did-you-mean), and
//! `clone_of` loops.

use std::collections::BTreeMap;

use super::super::load::{Entry, RawConfig, did_you_mean};
use super::super::raw::RawResource;
use crate::diag::{Diagnostic, Location};

/// Names are non-empty, printable and unique per kind across all files.
pub(super) fn unique_names(raw: &RawConfig, errors: &mut Vec<Diagnostic>) {
    unique("server", &raw.servers, |r| &r.name, errors);
    unique("destination", &raw.destinations, |r| &r.name, errors);
    unique("application", &raw.applications, |r| &r.name, errors);
    unique("database", &raw.databases, |r| &r.name, errors);
    unique("service", &raw.stacks, |r| &r.name, errors);
    unique("alert", &raw.alerts, |r| &r.name, errors);
}

fn unique<T>(
    kind: &str,
    entries: &[Entry<T>],
    name: impl Fn(&T) -> &String,
    errors: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<&str, &Entry<T>> = BTreeMap::new();
    for e in entries {
        let name = name(&e.raw);
        if name.trim().is_empty() {
            errors.push(
                Diagnostic::new(format!("{kind} name is empty"), e.loc("name")).label("empty name"),
            );
            continue;
        }
        if name.chars().any(char::is_control) {
            errors.push(
                Diagnostic::new(
                    format!("{kind} name contains a control character (newline, tab, …)"),
                    e.loc("name"),
                )
                .label("control character")
                .help(
                    "names are shown in plans and pull-request comments: use printable characters",
                ),
            );
            continue;
        }
        if let Some(first) = seen.get(name.as_str()) {
            errors.push(
                Diagnostic::new(format!("duplicate {kind} name `{name}`"), e.loc("name"))
                    .label("declared again here")
                    .related(first.loc("name"), "first declared here")
                    .help(format!(
                        "{kind} names must be unique across all config files"
                    )),
            );
        } else {
            seen.insert(name, e);
        }
    }
}

/// `who` (e.g. "application `api`") must name a declared destination.
pub(super) fn destination_ref(
    who: &str,
    dest: &str,
    at: Location,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    if raw.destinations.iter().any(|d| d.raw.name == dest) {
        return true;
    }
    let d = dangling(
        who,
        "destination",
        dest,
        at,
        names(&raw.destinations, |d| &d.raw.name),
    );
    let d = if d
        .help
        .as_deref()
        .is_some_and(|h| h.starts_with("did you mean"))
    {
        d
    } else {
        d.help(format!(
            "a destination cannot be removed while a resource references it: reassign or remove {who} first"
        ))
    };
    errors.push(d);
    false
}

/// A clone copies one resource on one server into one destination on one
/// server: neither the clone's destination (`dest`) nor its source's
/// (`source_dest`) may be declared over a set of servers (`servers`).
pub(super) fn clone_over_set(
    who: &str,
    dest: Option<&str>,
    source_dest: Option<&str>,
    at: Location,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    let over_set = |name: Option<&str>| {
        raw.destinations
            .iter()
            .find(|d| Some(d.raw.name.as_str()) == name && d.raw.servers.is_some())
    };
    let mut ok = true;
    let both = dest.is_some() && dest == source_dest;
    for (whose, d) in [("its", dest), ("its source's", source_dest)] {
        if both && whose != "its" {
            continue;
        }
        let whose = if both { "its and its source's" } else { whose };
        if let Some(e) = over_set(d) {
            ok = false;
            errors.push(
                Diagnostic::new(
                    format!(
                        "{who} is a clone, and {whose} destination `{}` spans a set of servers",
                        e.raw.name
                    ),
                    at.clone(),
                )
                .label("clone over a set of servers")
                .related(e.loc("servers"), "the set is declared here")
                .help("a clone copies one resource from one server to one server: clone between destinations declared with `server = \"…\"`"),
            );
        }
    }
    ok
}

/// `clone_of` names another declared resource of the same kind.
pub(super) fn clone_ref<'a>(
    kind: &str,
    name: &str,
    source: &str,
    at: Location,
    mut candidates: impl Iterator<Item = &'a String>,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    if source == name {
        errors.push(
            Diagnostic::new(format!("{kind} `{name}` is a clone of itself"), at)
                .label("clone_of names itself"),
        );
        return false;
    }
    let all: Vec<&String> = candidates.by_ref().collect();
    if all.iter().any(|c| *c == source) {
        return true;
    }
    errors.push(dangling(
        &format!("{kind} `{name}`"),
        &format!("{kind} (clone_of)"),
        source,
        at,
        all.iter().map(|s| s.as_str()).collect(),
    ));
    false
}

/// `clone_of` loops of every kind.
pub(super) fn clone_loops(raw: &RawConfig, errors: &mut Vec<Diagnostic>) {
    fn of(r: &RawResource) -> (&str, Option<&str>) {
        (r.name.as_str(), r.clone_of.as_deref())
    }
    loops("application", &raw.applications, of, errors);
    loops("database", &raw.databases, of, errors);
    loops(
        "service",
        &raw.stacks,
        |r| (r.name.as_str(), r.clone_of.as_deref()),
        errors,
    );
}

/// `clone_of` chains that come back to where they started: each resource
/// of a loop is reported at its `clone_of`, naming the whole loop.
fn loops<T>(
    kind: &str,
    entries: &[Entry<T>],
    name_and_source: impl Fn(&T) -> (&str, Option<&str>),
    errors: &mut Vec<Diagnostic>,
) {
    let source: BTreeMap<&str, &str> = entries
        .iter()
        .filter_map(|e| match name_and_source(&e.raw) {
            (name, Some(source)) => Some((name, source)),
            (_, None) => None,
        })
        .collect();
    let mut reported: Vec<&str> = Vec::new();
    for e in entries {
        let start = name_and_source(&e.raw).0;
        if reported.contains(&start) {
            continue;
        }
        let Some(chain) = loop_from(start, &source) else {
            continue;
        };
        let shown: Vec<&str> = chain.iter().copied().chain([start]).collect();
        for member in &chain {
            let Some(m) = entries
                .iter()
                .find(|e| name_and_source(&e.raw).0 == *member)
            else {
                continue;
            };
            errors.push(
                Diagnostic::new(
                    format!(
                        "{kind} `{member}` is part of a clone_of loop: {}",
                        shown.join(" → ")
                    ),
                    m.loc("clone_of"),
                )
                .label("clone_of loop")
                .help("a clone copies a resource that runs somewhere: one resource of the chain must have no clone_of"),
            );
        }
        reported.extend(chain);
    }
}

/// The loop of two or more resources that `start` begins, following
/// `clone_of`: `None` when the chain ends, when `start` names itself
/// (reported as such), or when it runs into a loop further on (reported
/// from that loop's own members).
fn loop_from<'a>(start: &'a str, source: &BTreeMap<&'a str, &'a str>) -> Option<Vec<&'a str>> {
    let mut chain = vec![start];
    let mut at = start;
    while let Some(&next) = source.get(at) {
        if next == start {
            break;
        }
        if chain.contains(&next) || chain.len() > source.len() {
            return None;
        }
        chain.push(next);
        at = next;
    }
    (source.get(at) == Some(&start) && source.get(start) != Some(&start)).then_some(chain)
}

/// The names of `entries`, for a did-you-mean.
pub(super) fn names<T>(entries: &[Entry<T>], name: impl Fn(&Entry<T>) -> &String) -> Vec<&str> {
    entries.iter().map(|e| name(e).as_str()).collect()
}

/// `who` refers to `target` `name`, which is not declared.
pub(super) fn dangling(
    who: &str,
    target: &str,
    name: &str,
    at: Location,
    known: Vec<&str>,
) -> Diagnostic {
    let d = Diagnostic::new(format!("{who} refers to unknown {target} `{name}`"), at)
        .label(format!("no {target} of that name"));
    match did_you_mean(name, &known) {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None if known.is_empty() => d.help(format!(
            "declare it in a [[{}]] table",
            target.split(' ').next().unwrap_or(target)
        )),
        None => d.help(format!("known: {}", known.join(", "))),
    }
}

//! `[[application]]` and `[[database]]`: placement (`destination` or
//! `destinations`), the selector (a container name, labels or a swarm
//! service), aliases, and what a clone needs.

use super::super::load::{Entry, RawConfig};
use super::super::model::{Placement, Resource, ResourceKind, Selector};
use super::super::raw::{RawDestinations, RawResource};
use super::destination::valid_docker_name;
use super::{clone_over_set, clone_ref, destination_ref};
use crate::diag::Diagnostic;

/// Every valid application, then every valid database.
pub(super) fn resources(raw: &RawConfig, errors: &mut Vec<Diagnostic>) -> Vec<Resource> {
    let mut resources = Vec::new();
    for (kind, entries) in [
        (ResourceKind::Application, &raw.applications),
        (ResourceKind::Database, &raw.databases),
    ] {
        for e in entries {
            if let Some(r) = resource(kind, e, entries, raw, errors) {
                resources.push(r);
            }
        }
    }
    resources
}

fn resource(
    kind: ResourceKind,
    e: &Entry<RawResource>,
    same_kind: &[Entry<RawResource>],
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Resource> {
    let r = &e.raw;
    let placement = placement(kind, e, raw, errors)?;
    let (selector, selector_ok) = selector(e, errors)?;
    let aliases = r.aliases.clone().unwrap_or_else(|| vec![r.name.clone()]);
    let endpoint = super::endpoint::of_resource(e, errors);
    let mut ok = selector_ok & valid_aliases(e, &aliases, errors) & endpoint.is_some();
    if let Some(source) = &r.clone_of {
        ok &= clone(
            kind,
            e,
            source,
            same_kind,
            (&selector, &placement),
            raw,
            errors,
        );
    }
    ok.then(|| Resource {
        kind,
        name: r.name.clone(),
        placement,
        selector,
        aliases,
        endpoint: endpoint.unwrap_or_default(),
        clone_of: r.clone_of.clone(),
        at: e.loc("name"),
    })
}

/// Each alias is a DNS name.
fn valid_aliases(e: &Entry<RawResource>, aliases: &[String], errors: &mut Vec<Diagnostic>) -> bool {
    let mut ok = true;
    for alias in aliases {
        if alias.is_empty() || alias.chars().any(|c| c.is_whitespace() || c == '/') {
            ok = false;
            errors.push(
                Diagnostic::new(format!("invalid network alias `{alias}`"), e.loc("aliases"))
                    .label("invalid alias")
                    .help("an alias is a DNS name: letters, digits, `-`, `_` and `.`"),
            );
        }
    }
    ok
}

/// A clone copies a declared resource of its kind that belongs to one
/// destination, into one destination, under a container name.
fn clone(
    kind: ResourceKind,
    e: &Entry<RawResource>,
    source: &str,
    same_kind: &[Entry<RawResource>],
    (selector, placement): (&Selector, &Placement),
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    let names = same_kind.iter().map(|s| &s.raw.name);
    let at = e.loc("clone_of");
    let found = clone_ref(
        kind.as_str(),
        &e.raw.name,
        source,
        at.clone(),
        names,
        errors,
    );
    let mut problems = Vec::new();
    if matches!(selector, Selector::Labels(_)) {
        problems.push(
            Diagnostic::new(
                "a clone needs a container name, not `match_labels`",
                at.clone(),
            )
            .label("clone with a label selector")
            .help("set `container` (default: the resource name) for the clone to create"),
        );
    }
    let shared = |x: &Entry<RawResource>| x.raw.name == source && x.raw.destinations.is_some();
    if same_kind.iter().any(shared) {
        problems.push(
            Diagnostic::new(format!("`{source}` is shared by several destinations (`destinations`): it cannot be cloned"), at.clone())
                .label("clone of a shared resource")
                .help("clone a resource that belongs to one destination"),
        );
    }
    if !matches!(placement, Placement::One(_)) {
        problems.push(
            Diagnostic::new("a clone belongs to one destination, not `destinations`", at)
                .label("clone of a shared resource")
                .related(e.loc("destinations"), "shared here")
                .help("give the clone `destination = \"…\"`"),
        );
    }
    let ok = found && problems.is_empty();
    errors.extend(problems);
    let source_dest = same_kind
        .iter()
        .find(|x| x.raw.name == source)
        .and_then(|x| x.raw.destination.as_deref());
    let own = match placement {
        Placement::One(d) => Some(d.as_str()),
        _ => None,
    };
    let who = format!("{kind} `{}`", e.raw.name);
    clone_over_set(&who, own, source_dest, e.loc("clone_of"), raw, errors) && ok
}

/// Where a resource belongs: one `destination`, or `destinations` (a list
/// of declared ones, or `"*"`); exactly one of the two.
fn placement(
    kind: ResourceKind,
    e: &Entry<RawResource>,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Placement> {
    let r = &e.raw;
    let who = format!("{kind} `{}`", r.name);
    match (&r.destination, &r.destinations) {
        (Some(_), Some(_)) => {
            errors.push(
                Diagnostic::new(
                    "`destination` and `destinations` exclude each other",
                    e.loc("destinations"),
                )
                .label("second placement")
                .related(e.loc("destination"), "destination named here")
                .help(
                    "one destination, or `destinations` for a container several destinations share",
                ),
            );
            None
        }
        (None, None) => {
            errors.push(
                Diagnostic::new(format!("{who} has no `destination`"), e.at.clone())
                    .label("no destination")
                    .help("add `destination = \"…\"`, or `destinations = [\"…\"]` (or \"*\") for a shared container such as a proxy"),
            );
            None
        }
        (Some(d), None) => destination_ref(&who, d, e.loc("destination"), raw, errors)
            .then(|| Placement::One(d.clone())),
        (None, Some(RawDestinations::All(star))) if star == "*" => Some(Placement::Everywhere),
        (None, Some(RawDestinations::All(other))) => {
            errors.push(
                Diagnostic::new(
                    format!("`destinations = \"{other}\"`: only \"*\" (every destination) is a string here"),
                    e.loc("destinations"),
                )
                .label("not a list")
                .help(format!("write `destinations = [\"{other}\"]` for one, or `destination = \"{other}\"`")),
            );
            None
        }
        (None, Some(RawDestinations::Listed(list))) => listed(&who, e, list, raw, errors),
    }
}

/// `destinations = [...]`: at least one, each declared.
fn listed(
    who: &str,
    e: &Entry<RawResource>,
    list: &[String],
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Placement> {
    if list.is_empty() {
        errors.push(
            Diagnostic::new("`destinations` is empty", e.loc("destinations"))
                .label("no destination")
                .help("list at least one destination, or write \"*\" for every one"),
        );
        return None;
    }
    let mut ok = true;
    for d in list {
        ok &= destination_ref(who, d, e.loc("destinations"), raw, errors);
    }
    ok.then(|| Placement::Listed(list.to_vec()))
}

/// Which containers a resource is: a name (default: its own), labels, or a
/// swarm service. `None` when two of them are given or the labels are
/// empty; the flag is false for a name Docker would refuse.
fn selector(e: &Entry<RawResource>, errors: &mut Vec<Diagnostic>) -> Option<(Selector, bool)> {
    let r = &e.raw;
    if let Some(service) = &r.swarm_service {
        return swarm_service(e, service, errors);
    }
    let selector = match (&r.container, &r.match_labels) {
        (Some(_), Some(_)) => {
            errors.push(
                Diagnostic::new(
                    "`container` and `match_labels` exclude each other",
                    e.loc("match_labels"),
                )
                .label("second selector")
                .related(e.loc("container"), "container named here")
                .help("name one container, or select containers by labels, not both"),
            );
            return None;
        }
        (_, Some(labels)) if labels.is_empty() => {
            errors.push(
                Diagnostic::new(
                    "`match_labels` is empty and would select every container",
                    e.loc("match_labels"),
                )
                .label("empty selector")
                .help("list at least one label, e.g. { \"coolify.applicationId\" = \"12\" }"),
            );
            return None;
        }
        (_, Some(labels)) => return Some((Selector::Labels(labels.clone()), true)),
        (Some(c), None) => c,
        (None, None) => &r.name,
    };
    let ok = container_name(e, selector, errors);
    Some((Selector::Name(selector.clone()), ok))
}

/// A container name Docker accepts.
fn container_name(e: &Entry<RawResource>, name: &str, errors: &mut Vec<Diagnostic>) -> bool {
    if valid_docker_name(name) {
        return true;
    }
    let at = e
        .fields
        .get("container")
        .cloned()
        .unwrap_or_else(|| e.loc("name"));
    errors.push(
        Diagnostic::new(
            format!("Docker would refuse the container name `{name}`"),
            at,
        )
        .label("invalid container name")
        .help(
            "container names start with a letter or digit and use letters, digits, `_`, `.` or `-`",
        ),
    );
    false
}

/// `swarm_service`, which excludes the other two selectors.
fn swarm_service(
    e: &Entry<RawResource>,
    service: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<(Selector, bool)> {
    let r = &e.raw;
    if r.container.is_some() || r.match_labels.is_some() {
        errors.push(
            Diagnostic::new(
                "`swarm_service` excludes `container` and `match_labels`",
                e.loc("swarm_service"),
            )
            .label("second selector")
            .help("a resource is one container, the containers some labels select, or one swarm service"),
        );
        return None;
    }
    let ok = valid_docker_name(service);
    if !ok {
        errors.push(
            Diagnostic::new(
                format!("Docker would refuse the service name `{service}`"),
                e.loc("swarm_service"),
            )
            .label("invalid service name"),
        );
    }
    Some((Selector::SwarmService(service.to_string()), ok))
}

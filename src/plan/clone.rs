//! Clones: a resource with `clone_of` whose container (or stack) is missing
//! on its server becomes a copy of the source's live configuration (never a
//! move, never the data). Once it exists it is an ordinary resource.

use std::collections::BTreeSet;

use super::guard::selects;
use super::model::*;
use crate::config::{Config, Destination, Placement, ResourceKind, Selector};
use crate::live::{Container, LiveState, Mount, Snapshot, labels};

/// A declared clone whose target does not exist yet, with its source.
struct Pending<'a> {
    kind: ResourceKind,
    name: &'a str,
    dest: &'a Destination,
    /// Application/database: the container to create. Stack: None.
    target: Option<&'a str>,
    aliases: &'a [String],
    /// The declared source, when it is itself a clone not made yet and its
    /// own source is copied instead.
    via: Option<&'a str>,
    source: ResourceRef,
    source_server: &'a str,
    /// Source containers on the source server (empty: nothing to clone).
    sources: Vec<&'a Container>,
    /// Stacks: (source project, target project, connect to destination).
    stack: Option<(&'a str, &'a str, bool)>,
}

/// A resource or stack of the config, as far as cloning is concerned.
struct Declared<'a> {
    kind: ResourceKind,
    name: &'a str,
    destination: &'a str,
    clone_of: Option<&'a str>,
    /// Application/database: its selector. Stack: None (its project selects).
    selector: Option<&'a Selector>,
    aliases: &'a [String],
    /// Stacks: (project, connect to predefined networks).
    stack: Option<(&'a str, bool)>,
}

impl Declared<'_> {
    fn picks(&self, c: &Container) -> bool {
        match (self.selector, self.stack) {
            (Some(sel), _) => selects(self.kind, self.name, sel, c),
            (None, Some((project, _))) => c.label(labels::COMPOSE_PROJECT) == Some(project),
            (None, None) => false,
        }
    }
}

/// Resources and stacks with one destination: shared resources
/// (`destinations`) neither clone nor are cloned.
fn declared(config: &Config) -> impl Iterator<Item = Declared<'_>> {
    let resources = config.resources.iter().filter_map(|r| match &r.placement {
        Placement::One(destination) => Some(Declared {
            kind: r.kind,
            name: &r.name,
            destination,
            clone_of: r.clone_of.as_deref(),
            selector: Some(&r.selector),
            aliases: &r.aliases,
            stack: None,
        }),
        _ => None,
    });
    let stacks = config.stacks.iter().map(|s| Declared {
        kind: ResourceKind::Stack,
        name: &s.name,
        destination: &s.destination,
        clone_of: s.clone_of.as_deref(),
        selector: None,
        aliases: &[],
        stack: Some((&s.project, s.connect_to_predefined_networks)),
    });
    resources.chain(stacks)
}

/// Clones whose target is missing on `server`, when both servers were read.
fn pending<'a>(config: &'a Config, server: &str, live: &'a LiveState) -> Vec<Pending<'a>> {
    let snapshot = |s: &str| live.servers.get(s).and_then(|r| r.as_ref().ok());
    let Some(here) = snapshot(server) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in declared(config) {
        let Some(source_name) = d.clone_of else {
            continue;
        };
        let Some(dest) = config.destination_on(d.destination, server) else {
            continue;
        };
        if here.containers.iter().any(|c| d.picks(c)) {
            continue;
        }
        let target = match d.selector {
            Some(Selector::Name(name)) => Some(name.as_str()),
            Some(Selector::Labels(_)) => continue, // validation forbids it
            Some(Selector::SwarmService(_)) => continue, // a service clone (swarm)
            None => None,
        };
        let Some((src, src_dest, mut sources)) = origin(config, live, d.kind, source_name) else {
            continue;
        };
        if target.is_some() {
            // One container to copy: a running one if any.
            sources.sort_by_key(|c| (!c.running, c.name.clone()));
            sources.truncate(1);
        } else {
            sources.sort_by_key(|c| c.name.clone());
        }
        out.push(Pending {
            kind: d.kind,
            name: d.name,
            dest,
            target,
            aliases: d.aliases,
            via: (src.name != source_name).then_some(source_name),
            source: ResourceRef::new(src.kind, src.name),
            source_server: &src_dest.server,
            sources,
            stack: match (src.stack, d.stack) {
                (Some((from, _)), Some((to, connect))) => Some((from, to, connect)),
                _ => None,
            },
        });
    }
    out
}

/// What a clone of `source_name` copies: the source's containers, or, when
/// the source is itself a clone that does not exist yet, its own source's,
/// up the chain (validation forbids loops; the walk is bounded anyway).
fn origin<'a>(
    config: &'a Config,
    live: &'a LiveState,
    kind: ResourceKind,
    source_name: &str,
) -> Option<(Declared<'a>, &'a Destination, Vec<&'a Container>)> {
    let mut name = source_name;
    for _ in 0..=declared(config).count() {
        let src = declared(config).find(|s| s.kind == kind && s.name == name)?;
        let src_dest = config.destination(src.destination)?;
        let there = live.servers.get(&src_dest.server)?.as_ref().ok()?;
        let sources: Vec<&Container> = there.containers.iter().filter(|c| src.picks(c)).collect();
        match src.clone_of {
            Some(next) if sources.is_empty() => name = next,
            _ => return Some((src, src_dest, sources)),
        }
    }
    None
}

/// The resources (or stacks) up `d`'s clone_of chain, nearest first.
/// Validation forbids loops; the walk stops at one anyway.
fn ancestors<'a>(config: &'a Config, d: &Declared<'a>) -> Vec<Declared<'a>> {
    let mut out: Vec<Declared<'a>> = Vec::new();
    let mut next = d.clone_of;
    while let Some(name) = next.filter(|n| *n != d.name && !out.iter().any(|a| a.name == *n)) {
        let Some(src) = declared(config).find(|s| s.kind == d.kind && s.name == name) else {
            break;
        };
        next = src.clone_of;
        out.push(src);
    }
    out
}

/// Servers up a resource's clone_of chain, nearest first.
fn chain_servers<'a>(config: &'a Config, d: &Declared<'a>) -> Vec<&'a str> {
    ancestors(config, d)
        .iter()
        .filter_map(|s| config.destination(s.destination))
        .map(|dest| dest.server.as_str())
        .collect()
}

/// Does the config declare clone `c` as it is recorded (a journal's
/// record is untrusted): a resource or stack of that kind and name on the
/// recorded destination, whose clone_of chain leads to the recorded source
/// (a clone of a clone copies the nearest source that exists), copied from
/// a server that source lives on, and from its container (picked by name)
/// or its compose project?
pub(super) fn declares(config: &Config, c: &CloneResource) -> bool {
    let spec = &c.clone;
    let Some(clone) =
        declared(config).find(|d| d.kind == c.resource.kind && d.name == c.resource.name)
    else {
        return false;
    };
    let Some(source) = ancestors(config, &clone)
        .into_iter()
        .find(|s| s.kind == spec.source.kind && s.name == spec.source.name)
    else {
        return false;
    };
    let from_it = match (source.selector, source.stack) {
        (Some(Selector::Name(name)), _) => spec.members.iter().all(|m| m.source == *name),
        (None, Some((project, _))) => spec.source_project.as_deref() == Some(project),
        _ => true,
    };
    clone.destination == c.destination
        && config
            .destination_on(source.destination, &spec.source_server)
            .is_some()
        && from_it
}

/// The other servers `server`'s clones still to be made are copied from:
/// for each declared clone whose target is missing there, the servers up
/// its `clone_of` chain as far as [`origin`] walks it (to the first source
/// that has containers; an unread server ends the walk, as it ends the
/// clone's planning). Sorted, each once.
pub(super) fn depends_on(config: &Config, server: &str, live: &LiveState) -> Vec<String> {
    let Some(Ok(here)) = live.servers.get(server) else {
        return Vec::new();
    };
    let mut out: BTreeSet<String> = BTreeSet::new();
    for d in declared(config) {
        if d.clone_of.is_none()
            || config.destination_on(d.destination, server).is_none()
            || matches!(
                d.selector,
                Some(Selector::Labels(_) | Selector::SwarmService(_))
            )
            || here.containers.iter().any(|c| d.picks(c))
        {
            continue;
        }
        for src in ancestors(config, &d) {
            let Some(src_dest) = config.destination(src.destination) else {
                break;
            };
            if src_dest.server != server {
                out.insert(src_dest.server.clone());
            }
            let Some(Ok(there)) = live.servers.get(&src_dest.server) else {
                break;
            };
            if there.containers.iter().any(|c| src.picks(c)) {
                break;
            }
        }
    }
    out.into_iter().collect()
}

/// Does `server` need its image list (a clone from another server, or
/// from another server up its chain, targets it)?
pub fn needs_images(config: &Config, server: &str) -> bool {
    declared(config).any(|d| {
        config.destination_on(d.destination, server).is_some()
            && chain_servers(config, &d).iter().any(|s| *s != server)
    })
}

/// Containers on `server` that are sources of clones still to be made.
pub fn sources_to_inspect(config: &Config, server: &str, live: &LiveState) -> Vec<String> {
    // Asked once per server, and each answer walks every server's pending
    // clones: without a clone declared, skip the walk (a fleet of 500
    // servers spent 40% of its plan's CPU here).
    if !declared(config).any(|d| d.clone_of.is_some()) {
        return Vec::new();
    }
    config
        .servers
        .iter()
        .flat_map(|target| pending(config, &target.name, live))
        .filter(|p| p.source_server == server)
        .flat_map(|p| p.sources.into_iter().map(|c| c.name.clone()))
        .collect()
}

/// `clone` changes for `server` (the target), and their warnings.
pub fn plan(
    config: &Config,
    server: &str,
    live: &LiveState,
    opts: Options,
) -> (Vec<Change>, Vec<Warning>) {
    let Some(Ok(here)) = live.servers.get(server) else {
        return (Vec::new(), Vec::new());
    };
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    // Container names in use on the server, and those the clones planned
    // so far will take: Docker refuses a second container of a name.
    let mut taken: BTreeSet<String> = here.containers.iter().map(|c| c.name.clone()).collect();
    for p in pending(config, server, live) {
        let same_server = p.source_server == server;
        let members: Vec<CloneMember> = p
            .sources
            .iter()
            .map(|src| member(src, &p, same_server))
            .collect();
        let image_transfer = !same_server
            && p.sources
                .iter()
                .any(|s| here.has_image(&s.image_id, &s.image) != Some(true));
        let mut names = taken.clone();
        let (status, reasons) =
            verdict(&p, server, here, &members, &mut names, image_transfer, opts);
        if status == ChangeStatus::Planned {
            taken = names;
        }
        warnings.extend(members.iter().flat_map(|m| member_warnings(server, m)));
        changes.push(change(&p, server, status, reasons, image_transfer, members));
    }
    (changes, warnings)
}

/// Whether clone `p` can be made, and why not (or what it will do): a
/// container name already taken (`names`: those taken so far, to which its
/// members' are added), a compose network in the way, nothing to copy, an
/// image to stream that `--no-image-transfer` forbids.
fn verdict(
    p: &Pending<'_>,
    server: &str,
    here: &Snapshot,
    members: &[CloneMember],
    names: &mut BTreeSet<String>,
    image_transfer: bool,
    opts: Options,
) -> (ChangeStatus, Vec<String>) {
    let clashes: Vec<&str> = members
        .iter()
        .filter(|m| !names.insert(m.target.clone()))
        .map(|m| m.target.as_str())
        .collect();
    let mut reasons: Vec<String> = [
        name_clash(&clashes, server),
        network_in_the_way(p, server, here),
        nothing_to_clone(p, members),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut blocked = !reasons.is_empty();
    if let Some(via) = p.via {
        reasons.push(format!(
            "{} {via} is itself a clone that does not exist yet: berth copies its source, {}",
            p.kind, p.source.name
        ));
    }
    if image_transfer {
        let images: Vec<&str> = p.sources.iter().map(|s| s.image.as_str()).collect();
        let images = images.join(", ");
        blocked |= opts.no_image_transfer;
        reasons.push(if opts.no_image_transfer {
            format!(
                "image {images} is not on server {server}, and --no-image-transfer forbids streaming it from {}",
                p.source_server
            )
        } else {
            format!(
                "image {images} is not on server {server}: berth streams it from {}",
                p.source_server
            )
        });
    }
    let status = if blocked {
        ChangeStatus::Blocked
    } else {
        ChangeStatus::Planned
    };
    (status, reasons)
}

/// Containers the clone would make that exist already (or that another
/// clone of this plan makes).
fn name_clash(clashes: &[&str], server: &str) -> Option<String> {
    (!clashes.is_empty()).then(|| format!(
        "container {} already exists on server {server} (or another clone of this plan makes it): Docker refuses a second container of a name; rename or remove it",
        clashes.join(", ")
    ))
}

/// A stack clone's `<project>_default` network exists and is not its
/// compose project's own.
fn network_in_the_way(p: &Pending<'_>, server: &str, here: &Snapshot) -> Option<String> {
    let (_, project, _) = p.stack?;
    let name = format!("{project}_default");
    let same: Vec<_> = here.networks.iter().filter(|n| n.name == name).collect();
    let theirs = match same.as_slice() {
        [] => false,
        [one] => one.label(labels::COMPOSE_PROJECT) != Some(project),
        _ => true,
    };
    theirs.then(|| format!(
        "network {name} exists on server {server} and is not compose project {project}'s own: the clone's network cannot be made; remove or rename it"
    ))
}

/// The source has no container to copy.
fn nothing_to_clone(p: &Pending<'_>, members: &[CloneMember]) -> Option<String> {
    if !members.is_empty() {
        return None;
    }
    Some(match p.stack {
        Some((project, _, _)) => format!(
            "source service {} has no container of compose project {project} on server {}: nothing to clone",
            p.source.name, p.source_server
        ),
        None => format!(
            "source {} {} has no container on server {}: nothing to clone",
            p.source.kind, p.source.name, p.source_server
        ),
    })
}

/// The `clone` change of `p`.
fn change(
    p: &Pending<'_>,
    server: &str,
    status: ChangeStatus,
    reasons: Vec<String>,
    image_transfer: bool,
    members: Vec<CloneMember>,
) -> Change {
    Change::Clone(CloneResource {
        server: server.to_string(),
        destination: p.dest.name.clone(),
        network: p.dest.network.clone(),
        container: p.target.map(str::to_string),
        aliases: p.target.map(|_| p.aliases.to_vec()),
        resource: ResourceRef::new(p.kind, p.name),
        status,
        reasons,
        clone: CloneSpec {
            source_server: p.source_server.to_string(),
            source: p.source.clone(),
            source_project: p.stack.map(|(s, _, _)| s.to_string()),
            target_project: p.stack.map(|(_, t, _)| t.to_string()),
            connect_to_destination: p.stack.is_some_and(|(_, _, connect)| connect),
            image_transfer,
            members,
        },
    })
}

/// What a clone member shares with its source or leaves out.
fn member_warnings(server: &str, m: &CloneMember) -> Vec<Warning> {
    let mut out: Vec<Warning> = m
        .binds
        .iter()
        .map(|path| {
            Warning::on(
                server,
                WarningCode::CloneBindMount,
                format!(
                    "clone {} shares host path {path} with {} (bind mounts are kept, not copied)",
                    m.target, m.source
                ),
            )
        })
        .collect();
    if !m.dropped_ports.is_empty() {
        out.push(Warning::on(
            server,
            WarningCode::ClonePortsDropped,
            format!(
                "clone {} drops published port(s) {} of {}: both run on server {server} and would collide",
                m.target,
                m.dropped_ports.join(", "),
                m.source
            ),
        ));
    }
    out
}

/// How a clone's containers and volumes are named.
enum Naming<'a> {
    /// `<target>`; volumes `<volume>-<clone>`.
    Resource { target: &'a str, clone: &'a str },
    /// `<project>` prefix rewritten; compose volumes `<old>_x` → `<new>_x`.
    Stack {
        old: &'a str,
        new: &'a str,
        clone: &'a str,
    },
}

impl Naming<'_> {
    fn container(&self, source: &str) -> String {
        match self {
            Naming::Resource { target, .. } => target.to_string(),
            Naming::Stack { old, new, .. } => match source.strip_prefix(old) {
                Some(rest) => format!("{new}{rest}"),
                None => format!("{new}-{source}"),
            },
        }
    }

    fn volume(&self, source: &str) -> String {
        match self {
            Naming::Stack { old, new, clone } => match source.strip_prefix(&format!("{old}_")) {
                Some(rest) => format!("{new}_{rest}"),
                None => format!("{source}-{clone}"),
            },
            Naming::Resource { clone, .. } => format!("{source}-{clone}"),
        }
    }
}

fn member(src: &Container, p: &Pending<'_>, same_server: bool) -> CloneMember {
    let naming = match (p.target, p.stack) {
        (_, Some((old, new, _))) => Naming::Stack {
            old,
            new,
            clone: p.name,
        },
        (target, None) => Naming::Resource {
            target: target.unwrap_or(&src.name),
            clone: p.name,
        },
    };
    let target = naming.container(&src.name);
    let mut volumes = Vec::new();
    let mut binds = Vec::new();
    for m in src.mounts.iter().flatten() {
        match m {
            Mount::Volume { name, path } => volumes.push(VolumeCopy {
                source: name.clone(),
                target: naming.volume(name),
                path: path.clone(),
            }),
            Mount::Bind { source, .. } => binds.push(source.clone()),
        }
    }
    let ports = src.ports.clone().unwrap_or_default();
    CloneMember {
        source: src.name.clone(),
        target,
        service: src.label(labels::COMPOSE_SERVICE).map(str::to_string),
        image: src.image.clone(),
        env: src.env.iter().flatten().map(|(k, _)| k.clone()).collect(),
        volumes,
        binds,
        ports: if same_server {
            Vec::new()
        } else {
            ports.clone()
        },
        dropped_ports: if same_server { ports } else { Vec::new() },
        start: src.running,
    }
}

/// The other servers the clones declared on `server`'s destinations may
/// copy from (up each `clone_of` chain): what a targeted plan of `server`
/// must read, read-only. From the config alone.
pub fn source_servers(config: &Config, server: &str) -> BTreeSet<String> {
    declared(config)
        .filter(|d| config.destination_on(d.destination, server).is_some())
        .flat_map(|d| chain_servers(config, &d))
        .filter(|s| *s != server)
        .map(str::to_string)
        .collect()
}

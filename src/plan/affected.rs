//! Which servers a config change concerns (`plan --base`, the push hooks):
//! each server's part of a config — everything the config says that lands
//! on it — projected base and head and compared. Pure: two configs (and the
//! compose files they name) in, server names out.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Destination, Resource, ResourceKind, Server, Stack};

/// The text of each compose file a config names, by its path as the config
/// writes it (`compose_file`).
pub type ComposeTexts = BTreeMap<String, String>;

/// A config and the compose files it names: one side of a change.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub config: &'a Config,
    pub compose: &'a ComposeTexts,
}

/// One server's part of a config, entry by entry (`destination front`,
/// `application web`, …): what is compared base against head.
pub type Projection = BTreeMap<String, String>;

/// The servers of `head` whose part of the config differs from `base`'s:
/// a server new in the head, one whose `[[server]]` entry changed, one that
/// gained, lost or changed a destination, a resource or stack assigned to
/// one of its destinations (a compose file's contents included), or the
/// source of one of its clones; every server when `[settings]` changed.
/// The others are unaffected.
pub fn affected(base: Side<'_>, head: Side<'_>) -> BTreeSet<String> {
    head.config
        .servers
        .iter()
        .map(|s| s.name.as_str())
        .filter(|s| projection(base, s) != projection(head, s))
        .map(str::to_string)
        .collect()
}

/// What `side`'s config says that lands on `server` (empty when the
/// config has no such server).
///
/// Each table is taken apart field by field, without `..`: a field added
/// to the config model does not compile here until someone decides whether
/// it lands on a server.
pub fn projection(side: Side<'_>, server: &str) -> Projection {
    let config = side.config;
    let mut out = Projection::new();
    let Some(s) = config.server(server) else {
        return out;
    };
    // Settings change every server's plan (owner: whose networks; strict:
    // errors or warnings; partial: how an apply goes). How long an SSH
    // connection is kept is how berth connects, not what lands anywhere;
    // alerts are watch's, not any server's.
    let Config {
        owner,
        partial,
        strict,
        ssh_persist: _,
        servers: _,
        destinations: _,
        resources,
        stacks,
        alerts: _,
        by_server: _,
    } = config;
    out.insert(
        "settings".into(),
        format!("owner={owner:?} strict={strict} partial={partial}"),
    );
    // Tags matter through what they bring onto the server (destinations
    // over `tag:` sets, expanded at load), not by themselves.
    let Server {
        name: _,
        address,
        tags: _,
        at: _,
    } = s;
    out.insert("server".into(), format!("{address:?}"));
    for d in config.destinations_on(server) {
        // The group's other members do not land here: a pool never
        // renumbers a server's network when another joins or leaves.
        let Destination {
            name,
            server: _,
            network,
            spec,
            group: _,
            pool,
            manage,
            prevent_removal,
            at: _,
        } = d;
        out.insert(
            format!("destination {name}"),
            format!(
                "network={network:?} spec={} pool={pool:?} manage={manage} prevent_removal={}",
                serde_json::to_string(spec).unwrap_or_default(),
                prevent_removal.is_some()
            ),
        );
    }
    for r in resources {
        let Resource {
            kind,
            name,
            placement: _, // as `here` and `everywhere` below
            selector,
            aliases,
            endpoint,
            clone_of,
            at: _,
        } = r;
        let here: Vec<&str> = r
            .destinations_on(config, server)
            .map(|d| d.name.as_str())
            .collect();
        if here.is_empty() {
            continue;
        }
        out.insert(
            format!("{kind} {name}"),
            format!(
                "on={here:?} everywhere={} selector={selector:?} aliases={aliases:?} endpoint={endpoint:?} clone_of={clone_of:?}",
                r.everywhere(),
            ),
        );
        sources(config, *kind, clone_of.as_deref(), &mut out);
    }
    for st in stacks {
        if config.destination_on(&st.destination, server).is_none() {
            continue;
        }
        let file = st.compose_file.as_ref().map(|f| {
            let text = side.compose.get(&f.path).map(String::as_str);
            format!("{:?} {:?}", f.path, text)
        });
        out.insert(
            format!("service {}", st.name),
            format!("{} compose_file={file:?}", stack_line(st)),
        );
        sources(
            config,
            ResourceKind::Stack,
            st.clone_of.as_deref(),
            &mut out,
        );
    }
    out
}

/// Up a clone's `clone_of` chain: each source as the clone reads it (what
/// selects its containers, its destination and that destination's server).
/// Validation forbids loops; the walk stops at one anyway.
fn sources<'a>(
    config: &'a Config,
    kind: ResourceKind,
    mut next: Option<&'a str>,
    out: &mut Projection,
) {
    let mut seen = BTreeSet::new();
    while let Some(name) = next.filter(|n| seen.insert(n.to_string())) {
        let (line, clone_of) = if kind == ResourceKind::Stack {
            let Some(st) = config.stacks.iter().find(|s| s.name == name) else {
                break;
            };
            (Some(stack_line(st)), st.clone_of.as_deref())
        } else {
            let Some(r) = config
                .resources
                .iter()
                .find(|r| r.kind == kind && r.name == name)
            else {
                break;
            };
            let line = format!(
                "at={:?} selector={:?} clone_of={:?}",
                r.placement_text(),
                r.selector,
                r.clone_of
            );
            (Some(line), r.clone_of.as_deref())
        };
        let placed = placement(config, kind, name);
        out.insert(
            format!("source {kind} {name}"),
            format!("{} {placed}", line.unwrap_or_default()),
        );
        next = clone_of;
    }
}

/// A stack's own keys (its compose file's contents apart).
fn stack_line(st: &Stack) -> String {
    let Stack {
        name: _,
        destination,
        project,
        connect_to_predefined_networks,
        short_aliases,
        compose_file: _,
        clone_of,
        attachments,
        at: _,
    } = st;
    format!(
        "destination={destination:?} project={project:?} predefined={connect_to_predefined_networks} short_aliases={short_aliases} clone_of={clone_of:?} attachments={attachments:?}"
    )
}

/// Where a clone source lives: its single destination's network and server.
fn placement(config: &Config, kind: ResourceKind, name: &str) -> String {
    let destination = if kind == ResourceKind::Stack {
        config
            .stacks
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.destination.clone())
    } else {
        config
            .resources
            .iter()
            .find(|r| r.kind == kind && r.name == name)
            .map(|r| r.placement_text())
    };
    let d = destination.as_deref().and_then(|d| config.destination(d));
    match d {
        Some(d) => format!("server={:?} network={:?}", d.server, d.network),
        None => "nowhere".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceFile, load};

    /// Three servers: web-1 and web-2 with a front each, db-1 with data;
    /// a proxy on every destination of web-1 and web-2, an app on front-1,
    /// a database on data, a stack on front-2 and clones across servers.
    const BASE: &str = r#"
[settings]
owner = "acme"

[[server]]
name = "web-1"
address = "unix:///run/web-1.sock"

[[server]]
name = "web-2"
address = "unix:///run/web-2.sock"

[[server]]
name = "db-1"
address = "unix:///run/db-1.sock"

[[destination]]
name = "front-1"
server = "web-1"
network = "front"

[[destination]]
name = "front-2"
server = "web-2"
network = "front"

[[destination]]
name = "data"
server = "db-1"
network = "data"

[[application]]
name = "app"
destination = "front-1"
container = "app"
aliases = ["app"]

[[application]]
name = "app-copy"
destination = "front-2"
container = "app-copy"
clone_of = "app"

[[database]]
name = "pg"
destination = "data"
container = "pg"

[[application]]
name = "proxy"
destinations = "*"
container = "proxy"

[[service]]
name = "shop"
destination = "front-2"
project = "shop"
compose_file = "shop/compose.yaml"
"#;

    const COMPOSE: &str = "services:\n  web:\n    image: busybox\n";

    fn cfg(text: &str) -> Config {
        load(&[SourceFile {
            path: "berth.toml".into(),
            text: text.into(),
        }])
        .map_err(|d| d.render(false))
        .unwrap()
    }

    fn texts(compose: &str) -> ComposeTexts {
        [("shop/compose.yaml".to_string(), compose.to_string())]
            .into_iter()
            .collect()
    }

    /// The servers `edit` of BASE affects (compose file as given).
    fn changed(head: &str, compose: &str) -> Vec<String> {
        let (base, head) = (cfg(BASE), cfg(head));
        let (bt, ht) = (texts(COMPOSE), texts(compose));
        affected(
            Side {
                config: &base,
                compose: &bt,
            },
            Side {
                config: &head,
                compose: &ht,
            },
        )
        .into_iter()
        .collect()
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "{from}");
        BASE.replacen(from, to, 1)
    }

    #[test]
    fn no_change_affects_no_server() {
        assert!(changed(BASE, COMPOSE).is_empty());
        // Reordering tables is no change either.
        let moved = edit(
            "[[database]]\nname = \"pg\"\ndestination = \"data\"\ncontainer = \"pg\"\n",
            "",
        ) + "\n[[database]]\nname = \"pg\"\ndestination = \"data\"\ncontainer = \"pg\"\n";
        assert!(changed(&moved, COMPOSE).is_empty());
    }

    #[test]
    fn a_destination_change_affects_its_server_only() {
        let head = edit(
            "name = \"data\"\nserver = \"db-1\"\nnetwork = \"data\"\n",
            "name = \"data\"\nserver = \"db-1\"\nnetwork = \"data\"\ninternal = true\n",
        );
        assert_eq!(changed(&head, COMPOSE), ["db-1"]);
        let added = format!(
            "{BASE}\n[[destination]]\nname = \"extra\"\nserver = \"web-2\"\nnetwork = \"extra\"\n"
        );
        // web-2 gains a destination (and the proxy, shared by all, on it).
        assert_eq!(changed(&added, COMPOSE), ["web-2"]);
    }

    #[test]
    fn moving_a_destination_affects_both_servers() {
        let head = edit(
            "name = \"data\"\nserver = \"db-1\"",
            "name = \"data\"\nserver = \"web-1\"",
        );
        assert_eq!(changed(&head, COMPOSE), ["db-1", "web-1"]);
    }

    #[test]
    fn a_server_entry_change_affects_that_server() {
        let head = edit("/run/web-2.sock", "/run/other.sock");
        assert_eq!(changed(&head, COMPOSE), ["web-2"]);
        let new = format!("{BASE}\n[[server]]\nname = \"new\"\naddress = \"local\"\n");
        assert_eq!(
            changed(&new, COMPOSE),
            ["new"],
            "a server only the head names"
        );
    }

    #[test]
    fn a_resource_change_affects_the_servers_of_its_destinations() {
        let head = edit("container = \"pg\"", "container = \"postgres\"");
        assert_eq!(changed(&head, COMPOSE), ["db-1"]);
        // The shared proxy lands on every server with a destination.
        let head = edit("container = \"proxy\"", "container = \"traefik\"");
        assert_eq!(changed(&head, COMPOSE), ["db-1", "web-1", "web-2"]);
        let head = format!(
            "{BASE}\n[[application]]\nname = \"api\"\ndestination = \"data\"\ncontainer = \"api\"\n"
        );
        assert_eq!(changed(&head, COMPOSE), ["db-1"], "a resource added");
        let moved = edit(
            "name = \"pg\"\ndestination = \"data\"",
            "name = \"pg\"\ndestination = \"front-2\"",
        );
        assert_eq!(changed(&moved, COMPOSE), ["db-1", "web-2"], "moved across");
    }

    #[test]
    fn a_clone_source_change_affects_the_clone_s_server_too() {
        // app on web-1 is the source of app-copy on web-2.
        let head = edit("container = \"app\"", "container = \"app-v2\"");
        assert_eq!(changed(&head, COMPOSE), ["web-1", "web-2"]);
        // Its aliases are its own: the clone keeps its own.
        let head = edit("aliases = [\"app\"]", "aliases = [\"app\", \"api\"]");
        assert_eq!(changed(&head, COMPOSE), ["web-1"]);
    }

    #[test]
    fn a_compose_file_s_contents_affect_its_stack_s_server() {
        let other = "services:\n  web:\n    image: busybox\n  worker:\n    image: busybox\n";
        assert_eq!(changed(BASE, other), ["web-2"]);
        let head = edit("project = \"shop\"", "project = \"store\"");
        assert_eq!(changed(&head, COMPOSE), ["web-2"]);
    }

    #[test]
    fn settings_affect_every_server() {
        let all = ["db-1", "web-1", "web-2"];
        assert_eq!(
            changed(&edit("owner = \"acme\"", "owner = \"other\""), COMPOSE),
            all
        );
        assert_eq!(
            changed(
                &edit("owner = \"acme\"", "owner = \"acme\"\nstrict = true"),
                COMPOSE
            ),
            all
        );
    }

    #[test]
    fn a_server_removed_from_the_head_is_not_listed() {
        let head = edit(
            "[[server]]\nname = \"db-1\"\naddress = \"unix:///run/db-1.sock\"\n",
            "",
        )
        .replace(
            "[[destination]]\nname = \"data\"\nserver = \"db-1\"\nnetwork = \"data\"\n",
            "",
        )
        .replace(
            "[[database]]\nname = \"pg\"\ndestination = \"data\"\ncontainer = \"pg\"\n",
            "",
        );
        assert!(changed(&head, COMPOSE).is_empty());
    }
}

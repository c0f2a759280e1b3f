//! Raw entities → the checked `Config`: names, references, Docker's rules for
//! network names, subnets and addresses. Every problem is collected.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use ipnet::IpNet;

use super::load::{Entry, RawConfig};
use super::model::*;
use super::raw::{RawDestination, RawResource, RawServer, RawService};
use crate::diag::{Diagnostic, Location};

pub fn validate(raw: RawConfig, errors: &mut Vec<Diagnostic>) -> Config {
    let owner = settings(&raw, errors);
    let strict = raw.settings.first().and_then(|s| s.raw.strict) == Some(true);
    unique_names(
        "server",
        raw.servers.iter().map(|e| (&e.raw.name, e)),
        errors,
    );
    unique_names(
        "destination",
        raw.destinations.iter().map(|e| (&e.raw.name, e)),
        errors,
    );
    unique_names(
        "application",
        raw.applications.iter().map(|e| (&e.raw.name, e)),
        errors,
    );
    unique_names(
        "database",
        raw.databases.iter().map(|e| (&e.raw.name, e)),
        errors,
    );
    unique_names(
        "service",
        raw.stacks.iter().map(|e| (&e.raw.name, e)),
        errors,
    );

    let servers: Vec<Server> = raw
        .servers
        .iter()
        .filter_map(|e| server(e, errors))
        .collect();
    let destinations: Vec<Destination> = raw
        .destinations
        .iter()
        .filter_map(|e| destination(e, &raw, errors))
        .collect();
    same_network_twice(&raw.destinations, errors);
    overlapping_subnets(&raw.destinations, &destinations, errors);

    let mut resources = Vec::new();
    for (kind, entries) in [
        (ResourceKind::Application, &raw.applications),
        (ResourceKind::Database, &raw.databases),
    ] {
        for e in entries {
            if let Some(r) = resource(kind, e, entries, &raw, errors) {
                resources.push(r);
            }
        }
    }
    let stacks = raw
        .stacks
        .iter()
        .filter_map(|e| stack(e, &raw, errors))
        .collect();
    clone_loops(
        "application",
        &raw.applications,
        |r| r.clone_of.as_deref(),
        |r| &r.name,
        errors,
    );
    clone_loops(
        "database",
        &raw.databases,
        |r| r.clone_of.as_deref(),
        |r| &r.name,
        errors,
    );
    clone_loops(
        "service",
        &raw.stacks,
        |r| r.clone_of.as_deref(),
        |r| &r.name,
        errors,
    );
    Config {
        owner,
        strict,
        servers,
        destinations,
        resources,
        stacks,
    }
}

fn settings(raw: &RawConfig, errors: &mut Vec<Diagnostic>) -> String {
    if let [first, rest @ ..] = raw.settings.as_slice() {
        for again in rest {
            errors.push(
                Diagnostic::new("more than one [settings] table", again.at.clone())
                    .label("second [settings]")
                    .related(first.at.clone(), "first [settings] here")
                    .help("keep a single [settings] table in the whole config"),
            );
        }
        if let Some(owner) = &first.raw.owner {
            if !valid_label_value(owner) {
                errors.push(
                    Diagnostic::new(
                        "`owner` must be a non-empty label value without spaces",
                        first.loc("owner"),
                    )
                    .label("invalid owner"),
                );
            }
            return owner.clone();
        }
    }
    DEFAULT_OWNER.to_string()
}

fn valid_label_value(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_whitespace)
}

fn unique_names<'a, T: 'a>(
    kind: &str,
    entries: impl Iterator<Item = (&'a String, &'a Entry<T>)>,
    errors: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<&str, &Entry<T>> = BTreeMap::new();
    for (name, e) in entries {
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

fn server(e: &Entry<RawServer>, errors: &mut Vec<Diagnostic>) -> Option<Server> {
    let r = &e.raw;
    let address = match parse_address(&r.address) {
        Ok(a) => a,
        Err(why) => {
            errors.push(
                Diagnostic::new(
                    format!("invalid server address `{}`: {why}", r.address),
                    e.loc("address"),
                )
                .label("invalid address")
                .help("use `ssh://user@host:port`, `unix:///path/to/docker.sock` or `local`"),
            );
            return None;
        }
    };
    let address = match address {
        ParsedAddress::Ssh { user, host, port } => Address::Ssh {
            user,
            host,
            port,
            docker_socket: r
                .docker_socket
                .clone()
                .unwrap_or_else(|| DEFAULT_DOCKER_SOCKET.to_string()),
            identity_file: r.identity_file.clone(),
            known_hosts_file: r.known_hosts_file.clone(),
        },
        other => {
            for key in ["docker_socket", "identity_file", "known_hosts_file"] {
                if let Some(at) = e.fields.get(key) {
                    errors.push(
                        Diagnostic::new(
                            format!("`{key}` applies to ssh:// servers only"),
                            at.clone(),
                        )
                        .label("ignored for this address")
                        .help(format!("remove `{key}`, or use an `ssh://` address")),
                    );
                }
            }
            match other {
                ParsedAddress::Unix(p) => Address::Unix(p),
                _ => Address::Local,
            }
        }
    };
    Some(Server {
        name: r.name.clone(),
        address,
        at: e.loc("name"),
    })
}

enum ParsedAddress {
    Local,
    Unix(PathBuf),
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

fn parse_address(s: &str) -> Result<ParsedAddress, String> {
    if s == "local" {
        return Ok(ParsedAddress::Local);
    }
    if let Some(path) = s.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(
                "a unix socket path must be absolute (`unix:///var/run/docker.sock`)".into(),
            );
        }
        return Ok(ParsedAddress::Unix(PathBuf::from(path)));
    }
    if let Some(rest) = s.strip_prefix("ssh://") {
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(
                "an ssh address has no path; set `docker_socket` for the socket on the server"
                    .into(),
            );
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some(_) => return Err("empty user before `@`".into()),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !hostport.ends_with(']') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("`{p}` is not a port number"))?;
                (h, Some(port))
            }
            _ => (hostport, None),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        // ssh reads an argument starting with `-` as an option
        // (`-oProxyCommand=...` runs a command): never a host or a user.
        if host.trim_start_matches('[').starts_with('-') {
            return Err("a host cannot start with `-` (ssh would read it as an option)".into());
        }
        if user.as_deref().is_some_and(|u| u.starts_with('-')) {
            return Err("a user cannot start with `-` (ssh would read it as an option)".into());
        }
        return Ok(ParsedAddress::Ssh {
            user,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        });
    }
    Err("not an ssh://, unix:// or local address".into())
}

/// Docker's own rule for network (and container) names.
pub fn valid_docker_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && s.len() <= 255
}

fn destination(
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
    let subnet = subnet(e, errors);
    let gateway = gateway(e, subnet, errors);
    let (ip_range, subnet_v6, gateway_v6) = more_ipam(e, subnet, errors);
    for key in r.labels.keys() {
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
    (errors.len() == before).then(|| NetworkSpec {
        driver: r
            .driver
            .clone()
            .unwrap_or_else(|| DEFAULT_DRIVER.to_string()),
        internal: r.internal.unwrap_or(false),
        attachable: r.attachable.unwrap_or(false),
        subnet,
        gateway,
        ip_range,
        enable_ipv6: r.enable_ipv6.unwrap_or(false),
        subnet_v6,
        gateway_v6,
        options: r.options.clone(),
        labels: r.labels.clone(),
    })
}

/// `ip_range` (inside `subnet`), and the IPv6 pool: `subnet_v6` (an IPv6
/// network, with `enable_ipv6`) and `gateway_v6` (inside it).
fn more_ipam(
    e: &Entry<RawDestination>,
    subnet: Option<IpNet>,
    errors: &mut Vec<Diagnostic>,
) -> (Option<IpNet>, Option<IpNet>, Option<IpAddr>) {
    let r = &e.raw;
    let net = |key: &str, text: &Option<String>, errors: &mut Vec<Diagnostic>| {
        let text = text.as_deref()?;
        match text.parse::<IpNet>() {
            Ok(n) if n.trunc() == n => Some(n),
            Ok(n) => {
                errors.push(
                    Diagnostic::new(format!("`{key}` {n} has host bits set"), e.loc(key))
                        .label("not a network address")
                        .help(format!("did you mean `{}`?", n.trunc())),
                );
                None
            }
            Err(_) => {
                errors.push(
                    Diagnostic::new(
                        format!("`{text}` is not a network in CIDR form"),
                        e.loc(key),
                    )
                    .label(format!("invalid {key}")),
                );
                None
            }
        }
    };
    let ip_range = net("ip_range", &r.ip_range, errors);
    match (ip_range, subnet) {
        (Some(range), Some(subnet)) if !subnet.contains(&range) => errors.push(
            Diagnostic::new(
                format!("ip_range {range} is outside subnet {subnet}"),
                e.loc("ip_range"),
            )
            .label("outside the subnet")
            .related(e.loc("subnet"), "subnet declared here"),
        ),
        (Some(_), None) if r.subnet.is_none() => errors.push(
            Diagnostic::new("`ip_range` needs a `subnet`", e.loc("ip_range"))
                .label("ip_range without subnet")
                .help("add `subnet = \"…\"` or remove `ip_range`"),
        ),
        _ => {}
    }
    let subnet_v6 = net("subnet_v6", &r.subnet_v6, errors);
    if let Some(v6) = subnet_v6 {
        if !matches!(v6, IpNet::V6(_)) {
            errors.push(
                Diagnostic::new(
                    format!("subnet_v6 {v6} is not an IPv6 network"),
                    e.loc("subnet_v6"),
                )
                .label("not IPv6")
                .help("IPv4 pools go in `subnet`"),
            );
        } else if r.enable_ipv6 != Some(true) {
            errors.push(
                Diagnostic::new("`subnet_v6` needs `enable_ipv6 = true`", e.loc("subnet_v6"))
                    .label("IPv6 not enabled")
                    .help("add `enable_ipv6 = true`"),
            );
        }
    }
    let gateway_v6 = match r.gateway_v6.as_deref().map(str::parse::<IpAddr>) {
        None => None,
        Some(Err(_)) => {
            errors.push(
                Diagnostic::new(
                    format!(
                        "`{}` is not an IP address",
                        r.gateway_v6.as_deref().unwrap_or("")
                    ),
                    e.loc("gateway_v6"),
                )
                .label("invalid gateway_v6"),
            );
            None
        }
        Some(Ok(gw)) => {
            match subnet_v6 {
                Some(net) if !net.contains(&gw) => errors.push(
                    Diagnostic::new(
                        format!("gateway_v6 {gw} is outside subnet_v6 {net}"),
                        e.loc("gateway_v6"),
                    )
                    .label("outside the subnet")
                    .related(e.loc("subnet_v6"), "subnet_v6 declared here"),
                ),
                None if r.subnet_v6.is_none() => errors.push(
                    Diagnostic::new("`gateway_v6` needs a `subnet_v6`", e.loc("gateway_v6"))
                        .label("gateway without subnet"),
                ),
                _ => {}
            }
            Some(gw)
        }
    };
    (ip_range, subnet_v6, gateway_v6)
}

/// `subnet`, in CIDR form with no host bits set.
fn subnet(e: &Entry<RawDestination>, errors: &mut Vec<Diagnostic>) -> Option<IpNet> {
    let text = e.raw.subnet.as_deref()?;
    match text.parse::<IpNet>() {
        Ok(net) if net.trunc() == net => Some(net),
        Ok(net) => {
            errors.push(
                Diagnostic::new(format!("subnet `{net}` has host bits set"), e.loc("subnet"))
                    .label("not a network address")
                    .help(format!("did you mean `{}`?", net.trunc())),
            );
            None
        }
        Err(_) => {
            errors.push(
                Diagnostic::new(
                    format!("`{text}` is not a subnet in CIDR form"),
                    e.loc("subnet"),
                )
                .label("invalid subnet")
                .help("write it like `10.30.0.0/24`"),
            );
            None
        }
    }
}

/// `gateway`: an address inside the (valid) subnet, which it needs.
fn gateway(
    e: &Entry<RawDestination>,
    subnet: Option<IpNet>,
    errors: &mut Vec<Diagnostic>,
) -> Option<IpAddr> {
    let text = e.raw.gateway.as_deref()?;
    let Ok(gw) = text.parse::<IpAddr>() else {
        errors.push(
            Diagnostic::new(format!("`{text}` is not an IP address"), e.loc("gateway"))
                .label("invalid gateway"),
        );
        return None;
    };
    match subnet {
        Some(net) if !net.contains(&gw) => errors.push(
            Diagnostic::new(
                format!("gateway {gw} is outside subnet {net}"),
                e.loc("gateway"),
            )
            .label("outside the subnet")
            .related(e.loc("subnet"), "subnet declared here")
            .help(format!(
                "pick an address inside {net}, e.g. {}",
                first_host(net)
            )),
        ),
        None if e.raw.subnet.is_none() => errors.push(
            Diagnostic::new("`gateway` needs a `subnet`", e.loc("gateway"))
                .label("gateway without subnet")
                .help("add `subnet = \"…\"` or remove `gateway`"),
        ),
        _ => {}
    }
    Some(gw)
}

fn first_host(net: IpNet) -> String {
    net.hosts()
        .next()
        .map_or_else(|| net.addr().to_string(), |h| h.to_string())
}

fn same_network_twice(entries: &[Entry<RawDestination>], errors: &mut Vec<Diagnostic>) {
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

fn overlapping_subnets(
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

fn resource(
    kind: ResourceKind,
    e: &Entry<RawResource>,
    same_kind: &[Entry<RawResource>],
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Resource> {
    let r = &e.raw;
    let placement = placement(kind, e, raw, errors)?;
    let mut ok = true;
    let (selector, selector_ok) = selector(e, errors)?;
    ok &= selector_ok;
    let aliases = r.aliases.clone().unwrap_or_else(|| vec![r.name.clone()]);
    for alias in &aliases {
        if alias.is_empty() || alias.chars().any(|c| c.is_whitespace() || c == '/') {
            ok = false;
            errors.push(
                Diagnostic::new(format!("invalid network alias `{alias}`"), e.loc("aliases"))
                    .label("invalid alias")
                    .help("an alias is a DNS name: letters, digits, `-`, `_` and `.`"),
            );
        }
    }
    if let Some(source) = &r.clone_of {
        ok &= clone_ref(
            kind.as_str(),
            &r.name,
            source,
            e.loc("clone_of"),
            same_kind.iter().map(|s| &s.raw.name),
            errors,
        );
        if matches!(selector, Selector::Labels(_)) {
            ok = false;
            errors.push(
                Diagnostic::new(
                    "a clone needs a container name, not `match_labels`",
                    e.loc("clone_of"),
                )
                .label("clone with a label selector")
                .help("set `container` (default: the resource name) for the clone to create"),
            );
        }
        if same_kind
            .iter()
            .any(|x| x.raw.name == *source && x.raw.destinations.is_some())
        {
            ok = false;
            errors.push(
                Diagnostic::new(
                    format!("`{source}` is shared by several destinations (`destinations`): it cannot be cloned"),
                    e.loc("clone_of"),
                )
                .label("clone of a shared resource")
                .help("clone a resource that belongs to one destination"),
            );
        }
        if !matches!(placement, Placement::One(_)) {
            ok = false;
            errors.push(
                Diagnostic::new(
                    "a clone belongs to one destination, not `destinations`",
                    e.loc("clone_of"),
                )
                .label("clone of a shared resource")
                .related(e.loc("destinations"), "shared here")
                .help("give the clone `destination = \"…\"`"),
            );
        }
    }
    ok.then(|| Resource {
        kind,
        name: r.name.clone(),
        placement,
        selector,
        aliases,
        clone_of: r.clone_of.clone(),
        at: e.loc("name"),
    })
}

/// Where a resource belongs: one `destination`, or `destinations` (a list
/// of declared ones, or `"*"`); exactly one of the two.
fn placement(
    kind: ResourceKind,
    e: &Entry<RawResource>,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Placement> {
    use super::raw::RawDestinations;
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
        (None, Some(RawDestinations::Listed(list))) => {
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
                ok &= destination_ref(&who, d, e.loc("destinations"), raw, errors);
            }
            ok.then(|| Placement::Listed(list.clone()))
        }
    }
}

/// Which containers a resource is: a name (default: its own) or labels.
/// `None` when the two exclude each other or the labels are empty; the
/// flag is false for a name Docker would refuse.
fn selector(e: &Entry<RawResource>, errors: &mut Vec<Diagnostic>) -> Option<(Selector, bool)> {
    let r = &e.raw;
    if let Some(service) = &r.swarm_service {
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
        if !valid_docker_name(service) {
            errors.push(
                Diagnostic::new(
                    format!("Docker would refuse the service name `{service}`"),
                    e.loc("swarm_service"),
                )
                .label("invalid service name"),
            );
            return Some((Selector::SwarmService(service.clone()), false));
        }
        return Some((Selector::SwarmService(service.clone()), true));
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
        (_, Some(labels)) => Selector::Labels(labels.clone()),
        (Some(c), None) => Selector::Name(c.clone()),
        (None, None) => Selector::Name(r.name.clone()),
    };
    if let Selector::Name(c) = &selector {
        if !valid_docker_name(c) {
            let at = e
                .fields
                .get("container")
                .cloned()
                .unwrap_or_else(|| e.loc("name"));
            errors.push(
                Diagnostic::new(format!("Docker would refuse the container name `{c}`"), at)
                    .label("invalid container name")
                    .help("container names start with a letter or digit and use letters, digits, `_`, `.` or `-`"),
            );
            return Some((selector, false));
        }
    }
    Some((selector, true))
}

fn stack(e: &Entry<RawService>, raw: &RawConfig, errors: &mut Vec<Diagnostic>) -> Option<Stack> {
    let r = &e.raw;
    let mut ok = destination_ref(
        &format!("service `{}`", r.name),
        &r.destination,
        e.loc("destination"),
        raw,
        errors,
    );
    let project = r.project.clone().unwrap_or_else(|| r.name.clone());
    if !valid_compose_project(&project) {
        ok = false;
        let at = e
            .fields
            .get("project")
            .cloned()
            .unwrap_or_else(|| e.loc("name"));
        errors.push(
            Diagnostic::new(format!("`{project}` is not a valid compose project name"), at)
                .label("invalid project name")
                .help("compose project names use lowercase letters, digits, `-` and `_`, starting with a letter or digit"),
        );
    }
    if let Some(path) = &r.compose_file {
        if let Err(why) = repo_relative(path) {
            ok = false;
            errors.push(
                Diagnostic::new(format!("compose_file `{path}` {why}"), e.loc("compose_file"))
                    .label("outside the repository")
                    .help("give a path relative to the repository root, e.g. `stacks/monitoring/compose.yaml`"),
            );
        }
    }
    if let Some(source) = &r.clone_of {
        ok &= clone_ref(
            "service",
            &r.name,
            source,
            e.loc("clone_of"),
            raw.stacks.iter().map(|s| &s.raw.name),
            errors,
        );
    }
    ok.then(|| Stack {
        name: r.name.clone(),
        destination: r.destination.clone(),
        project,
        connect_to_predefined_networks: r.connect_to_predefined_networks.unwrap_or(false),
        short_aliases: r.short_aliases.unwrap_or(false),
        compose_file: r.compose_file.clone().map(|path| FileRef {
            path,
            at: e.loc("compose_file"),
        }),
        clone_of: r.clone_of.clone(),
        at: e.loc("name"),
    })
}

/// Compose's own rule: lowercase letters, digits, dashes, underscores.
fn valid_compose_project(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// A path inside the repository: relative, never climbing out.
pub fn repo_relative(path: &str) -> Result<PathBuf, &'static str> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Err("is absolute");
    }
    let mut depth = 0i32;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err("leaves the repository");
        }
    }
    if depth == 0 {
        return Err("names no file");
    }
    Ok(p.to_path_buf())
}

/// `who` (e.g. "application `api`") must name a declared destination.
fn destination_ref(
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

fn clone_ref<'a>(
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

/// `clone_of` chains that come back to where they started: each resource
/// of a loop is reported at its `clone_of`, naming the whole loop.
fn clone_loops<T>(
    kind: &str,
    entries: &[Entry<T>],
    clone_of: impl Fn(&T) -> Option<&str>,
    name: impl Fn(&T) -> &String,
    errors: &mut Vec<Diagnostic>,
) {
    let source: BTreeMap<&str, &str> = entries
        .iter()
        .filter_map(|e| Some((name(&e.raw).as_str(), clone_of(&e.raw)?)))
        .collect();
    let mut reported: Vec<&str> = Vec::new();
    for e in entries {
        let start = name(&e.raw).as_str();
        if reported.contains(&start) {
            continue;
        }
        let mut chain = vec![start];
        let mut at = start;
        while let Some(&next) = source.get(at) {
            if next == start {
                break;
            }
            if chain.contains(&next) || chain.len() > source.len() {
                chain.clear(); // a loop further on, reported from its own members
                break;
            }
            chain.push(next);
            at = next;
        }
        if chain.is_empty() || source.get(at) != Some(&start) || source.get(start) == Some(&start) {
            continue;
        }
        let shown: Vec<&str> = chain.iter().copied().chain([start]).collect();
        for member in &chain {
            let Some(m) = entries.iter().find(|e| name(&e.raw) == member) else {
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

fn names<T>(entries: &[Entry<T>], name: impl Fn(&Entry<T>) -> &String) -> Vec<&str> {
    entries.iter().map(|e| name(e).as_str()).collect()
}

fn dangling(who: &str, target: &str, name: &str, at: Location, known: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(format!("{who} refers to unknown {target} `{name}`"), at)
        .label(format!("no {target} of that name"));
    match super::load::did_you_mean(name, &known) {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None if known.is_empty() => d.help(format!(
            "declare it in a [[{}]] table",
            target.split(' ').next().unwrap_or(target)
        )),
        None => d.help(format!("known: {}", known.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(matches!(parse_address("local"), Ok(ParsedAddress::Local)));
        assert!(matches!(
            parse_address("unix:///run/d.sock"),
            Ok(ParsedAddress::Unix(_))
        ));
        match parse_address("ssh://deploy@203.0.113.10:2222") {
            Ok(ParsedAddress::Ssh { user, host, port }) => {
                assert_eq!(user.as_deref(), Some("deploy"));
                assert_eq!(host, "203.0.113.10");
                assert_eq!(port, Some(2222));
            }
            _ => panic!("ssh address not parsed"),
        }
        assert!(parse_address("tcp://1.2.3.4:2375").is_err());
        assert!(parse_address("unix://relative.sock").is_err());
        assert!(parse_address("ssh://host:notaport").is_err());
        assert!(parse_address("ssh://-oProxyCommand=x").is_err());
        assert!(parse_address("ssh://-oProxyCommand=x@host").is_err());
        assert!(parse_address("ssh://[-oProxyCommand=x]").is_err());
    }

    #[test]
    fn docker_names() {
        assert!(valid_docker_name("prod-net"));
        assert!(valid_docker_name("a.b_c-1"));
        assert!(!valid_docker_name("-net"));
        assert!(!valid_docker_name("has space"));
        assert!(!valid_docker_name(&"a".repeat(256)));
    }

    #[test]
    fn repo_paths() {
        assert!(repo_relative("stacks/a/compose.yaml").is_ok());
        assert!(repo_relative("a/../b.yaml").is_ok());
        assert!(repo_relative("../b.yaml").is_err());
        assert!(repo_relative("/etc/passwd").is_err());
    }
}

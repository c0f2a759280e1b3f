//! Views of `berth status`: per server, each destination with its live
//! network, state and attached containers; drift and cleanup candidates
//! called out. Human text (ANSI styles), JSON (the `status` schema) and
//! Markdown.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::fleet::{self, View, said_of};
use super::markdown::{code, text};
use crate::plan::ServerHealth;
use crate::status::{DestinationState, DestinationStatus, Report, ServiceStatus, Usage};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

fn state_word(state: DestinationState) -> (Style, &'static str) {
    match state {
        DestinationState::Ok => (GREEN, "ok"),
        DestinationState::Missing => (RED, "missing"),
        DestinationState::Differs => (YELLOW, "differs"),
        DestinationState::Adopted => (GREEN, "adopted"),
        DestinationState::Unknown => (RED, "unknown"),
    }
}

/// `1.5% cpu, 12.3 MiB`
fn usage(u: &Usage) -> String {
    format!(
        "{:.1}% cpu, {:.1} MiB",
        u.cpu_percent,
        u.memory_bytes as f64 / (1024.0 * 1024.0)
    )
}

/// The network's live shape: `bridge 10.30.0.0/24 gw 10.30.0.1`.
fn shape(d: &DestinationStatus) -> String {
    let mut parts: Vec<String> = d.driver.iter().cloned().collect();
    parts.extend(d.subnet.iter().cloned());
    parts.extend(d.gateway.iter().map(|g| format!("gw {g}")));
    parts.join(" ")
}

/// The status as JSON (`schemas/status.schema.json`): what `status
/// --format json` prints, and what every other front end that serves a
/// status as JSON writes.
pub fn json(status: &Report) -> String {
    serde_json::to_string_pretty(status).expect("a status serializes")
}

/// The status for a terminal: grouped by destination network across the
/// servers, a destination the same on many servers told once with them
/// ([`View::Grouped`]), or server by server ([`View::PerServer`],
/// `--verbose`).
pub fn human(status: &Report, view: View) -> String {
    let mut out = String::new();
    match view {
        View::PerServer => per_server(&mut out, status),
        View::Grouped => grouped(&mut out, status),
    }
    totals(&mut out, status);
    out
}

/// What makes two servers' destinations the same: all but the server,
/// its address and name (one per server), the live subnet and gateway (each
/// server's own, from a pool), uptimes and usage, with the server's name
/// made a placeholder wherever a text names it.
fn destination_key(d: &DestinationStatus) -> String {
    let mut value = serde_json::to_value(d).expect("a status serializes");
    if let Some(map) = value.as_object_mut() {
        for k in ["server", "address", "name", "subnet", "gateway", "usage"] {
            map.remove(k);
        }
        if let Some(list) = map.get_mut("attached").and_then(|a| a.as_array_mut()) {
            for a in list.iter_mut().filter_map(|a| a.as_object_mut()) {
                a.remove("uptime");
                a.remove("usage");
            }
        }
    }
    fleet::normalize(&value.to_string(), &d.server)
}

/// Destinations per network across the servers, each the same on many
/// servers once; then servers not read, swarm managers and orphans, each
/// the same on many servers once.
fn grouped(out: &mut String, status: &Report) {
    let nets = fleet::networks(status.destinations.iter().map(|d| d.network.as_str()));
    let mut by_net: std::collections::HashMap<&str, Vec<&DestinationStatus>> = Default::default();
    for d in &status.destinations {
        by_net.entry(d.network.as_str()).or_default().push(d);
    }
    for net in nets {
        for group in fleet::group(by_net.remove(net).unwrap_or_default(), |d| {
            destination_key(d)
        }) {
            let mut part = String::new();
            let names: Vec<&str> = group.iter().map(|d| d.server.as_str()).collect();
            destination(
                &mut part,
                &group,
                Some(&format!("on {}", fleet::servers(&names))),
            );
            for line in part.lines() {
                let _ = writeln!(out, "{}", line.strip_prefix("  ").unwrap_or(line));
            }
        }
    }
    if !status.destinations.is_empty() {
        out.push('\n');
    }
    let mut any = false;
    let unread = status
        .servers
        .iter()
        .filter(|s| s.status != ServerHealth::Ok);
    for group in fleet::group(unread, |s| {
        fleet::normalize(s.error.as_deref().unwrap_or("not read"), &s.name)
    }) {
        let s = group[0];
        let names: Vec<&str> = group.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "{} {}  {}",
            paint(RED.bold(), "error:"),
            said_of(
                s.error.as_deref().unwrap_or("not read"),
                &s.name,
                names.len()
            ),
            paint(DIM, &format!("on {}", fleet::servers(&names)))
        );
        any = true;
    }
    for s in status.servers.iter().filter(|s| s.swarm.is_some()) {
        let _ = writeln!(
            out,
            "{}{}",
            paint(BOLD, &format!("server {}", s.name)),
            swarm(s)
        );
        any = true;
    }
    let orphans = status.orphans.iter();
    for group in fleet::group(orphans, |o| {
        format!("{}\n{:?}\n{}", o.network, o.destination, o.attached)
    }) {
        let names: Vec<&str> = group.iter().map(|o| o.server.as_str()).collect();
        let _ = writeln!(
            out,
            "{}  {}",
            orphan(group[0]),
            paint(DIM, &format!("on {}", fleet::servers(&names)))
        );
        any = true;
    }
    if any {
        out.push('\n');
    }
}

/// ` · swarm manager, 2 of 3 node(s) ready · node n3 down active`
fn swarm(s: &crate::plan::ServerReading) -> String {
    let mut out = String::new();
    if let Some(swarm) = &s.swarm {
        let ready = swarm.nodes.iter().filter(|n| n.state == "ready").count();
        let _ = write!(
            out,
            " {}",
            paint(
                DIM,
                &format!(
                    "· swarm manager, {ready} of {} node(s) ready",
                    swarm.nodes.len()
                )
            )
        );
        for n in swarm
            .nodes
            .iter()
            .filter(|n| n.state != "ready" || n.availability != "active")
        {
            let _ = write!(
                out,
                " {}",
                paint(
                    YELLOW,
                    &format!("· node {} {} {}", n.name, n.state, n.availability)
                )
            );
        }
    }
    out
}

/// `orphan: network old (berth's, once destination d) no destination
/// declares it; 0 attached`
fn orphan(o: &crate::status::Orphan) -> String {
    format!(
        "{} network {} (berth's{}) no destination declares it; {} attached",
        paint(YELLOW, "orphan:"),
        o.network,
        o.destination
            .as_ref()
            .map(|d| format!(", once destination {d}"))
            .unwrap_or_default(),
        o.attached
    )
}

/// Server by server, each destination with everything on it.
fn per_server(out: &mut String, status: &Report) {
    for s in &status.servers {
        let _ = write!(
            out,
            "{} {}{}",
            paint(BOLD, &format!("server {}", s.name)),
            paint(DIM, &format!("({})", s.address)),
            swarm(s)
        );
        match s.status {
            ServerHealth::Ok => out.push('\n'),
            _ => {
                let _ = writeln!(
                    out,
                    "  {} {}",
                    paint(RED.bold(), "error:"),
                    s.error.as_deref().unwrap_or("not read")
                );
            }
        }
        for d in status.destinations.iter().filter(|d| d.server == s.name) {
            destination(out, &[d], None);
        }
        for o in status.orphans.iter().filter(|o| o.server == s.name) {
            let _ = writeln!(out, "  {}", orphan(o));
        }
        out.push('\n');
    }
}

/// The closing line: destinations per state, drift, sampling time.
fn totals(out: &mut String, status: &Report) {
    let n = status.destinations.len();
    let count = |st: DestinationState| status.destinations.iter().filter(|d| d.state == st).count();
    let unused = status.destinations.iter().filter(|d| d.unused).count();
    let _ = write!(
        out,
        "{n} destination(s): {} ok, {} adopted, {} missing, {} differ, {unused} unused.",
        count(DestinationState::Ok),
        count(DestinationState::Adopted),
        count(DestinationState::Missing),
        count(DestinationState::Differs),
    );
    if status.drift > 0 {
        let _ = write!(out, " {}", paint(YELLOW.bold(), &drift_line(status)));
    } else {
        let _ = write!(out, " {}", paint(GREEN.bold(), "No drift."));
    }
    if let Some(ms) = status.usage_ms {
        let _ = write!(out, " Usage sampled in {ms} ms.");
    }
    out.push('\n');
}

/// A destination, or the same destination on a group of servers (told
/// with them, `where_`; uptimes and usage then left to `--verbose`).
fn destination(out: &mut String, group: &[&DestinationStatus], where_: Option<&str>) {
    let d = group[0];
    let n = group.len();
    let (style, word) = state_word(d.state);
    let names = fleet::networks(group.iter().map(|d| d.name.as_str()));
    let _ = write!(
        out,
        "  {} · network {} · {}",
        paint(
            BOLD,
            &match names.as_slice() {
                [one] => format!("destination {one}"),
                many => format!("destinations {}", fleet::listed(many, |d| d.to_string())),
            }
        ),
        d.network,
        paint(style, word)
    );
    let subnets = fleet::networks(group.iter().filter_map(|d| d.subnet.as_deref()));
    let shape = if subnets.len() > 1 {
        let driver = d.driver.clone().unwrap_or_default();
        format!("{driver} subnet per server ({} different)", subnets.len())
            .trim()
            .to_string()
    } else {
        shape(d)
    };
    if !shape.is_empty() {
        let _ = write!(out, " · {}", paint(DIM, &shape));
    }
    if d.unused && d.state != DestinationState::Missing {
        let _ = write!(out, " · {}", paint(YELLOW, "unused"));
    }
    if !d.detached.is_empty() || !d.not_found.is_empty() {
        let _ = write!(out, " · {}", paint(YELLOW, "drift"));
    }
    if let Some(u) = d.usage.as_ref().filter(|_| n == 1) {
        let _ = write!(out, " · {}", usage(u));
    }
    if d.changes > 0 {
        let _ = write!(
            out,
            " · {}",
            paint(YELLOW, &format!("{} change(s) planned", d.changes))
        );
    }
    if let Some(w) = where_ {
        let _ = write!(out, " · {}", paint(DIM, w));
    }
    out.push('\n');
    for a in &d.attached {
        let what = match &a.resource {
            Some(r) => format!("{} {r}", a.kind),
            None => a.kind.to_string(),
        };
        let state_style = if a.state == "running" { GREEN } else { YELLOW };
        let _ = write!(
            out,
            "      {}  {}  {}",
            a.container,
            paint(DIM, &what),
            paint(state_style, &a.state)
        );
        if let Some(h) = &a.health {
            let style = if h == "healthy" { GREEN } else { RED };
            let _ = write!(out, "  {}", paint(style, h));
        }
        if let Some(up) = a.uptime.as_ref().filter(|_| n == 1) {
            let _ = write!(out, "  {}", paint(DIM, &format!("up {up}")));
        }
        if let Some(u) = a.usage.as_ref().filter(|_| n == 1) {
            let _ = write!(out, "  {}", usage(u));
        }
        out.push('\n');
    }
    for s in &d.services {
        service(out, s);
    }
    for x in &d.detached {
        let _ = writeln!(
            out,
            "    {} {} ({} {}, {}) is not attached",
            paint(RED, "!"),
            x.container,
            x.kind,
            x.resource,
            x.state
        );
    }
    for m in &d.not_found {
        let _ = writeln!(
            out,
            "    {} {} {}",
            paint(RED, "!"),
            paint(YELLOW.bold(), "not found:"),
            said_of(&m.describe(), &d.server, n)
        );
    }
}

/// A swarm service on the overlay, then each task meant to run.
fn service(out: &mut String, s: &ServiceStatus) {
    let what = match &s.resource {
        Some(r) => format!("{} {r}", s.kind),
        None => s.kind.to_string(),
    };
    let style = if s.running >= s.desired {
        GREEN
    } else {
        YELLOW
    };
    let _ = write!(
        out,
        "      service {}  {}  {}",
        s.service,
        paint(DIM, &what),
        paint(style, &format!("{}/{} running", s.running, s.desired))
    );
    if !s.aliases.is_empty() {
        let _ = write!(
            out,
            "  {}",
            paint(DIM, &format!("aliases {}", s.aliases.join(", ")))
        );
    }
    if let Some(u) = s.update.as_deref().filter(|u| *u != "completed") {
        let style = if u == "updating" { YELLOW } else { RED };
        let _ = write!(out, "  {}", paint(style, &format!("update {u}")));
    }
    out.push('\n');
    for t in &s.tasks {
        let style = if t.state == "running" { GREEN } else { YELLOW };
        let _ = write!(
            out,
            "        {}  {}  {}",
            t.name,
            paint(
                DIM,
                &format!("on {}", t.node.as_deref().unwrap_or("no node yet"))
            ),
            paint(style, &t.state)
        );
        if let Some(e) = &t.error {
            let _ = write!(out, "  {}", paint(RED, e));
        }
        out.push('\n');
    }
}

/// The status as a Markdown table and notes; [`View::Grouped`] gives a
/// destination the same on many servers one row (and a note the same on
/// many servers one line), with the servers it is on.
pub fn markdown(status: &Report, view: View) -> String {
    let mut out = String::from("### berth status\n\n");
    let _ = writeln!(
        out,
        "| server | destination | network | state | attached | detached | not found | unused |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    let rows = status.destinations.iter().map(|d| {
        let row = format!(
            " {} | {} | {} | {} | {} | {} |",
            code(&d.network),
            state_word(d.state).1,
            d.attached.len(),
            d.detached.len(),
            d.not_found.len(),
            if d.unused { "yes" } else { "" }
        );
        (d, row)
    });
    let rows: Vec<Vec<(&DestinationStatus, String)>> = match view {
        View::PerServer => rows.map(|r| vec![r]).collect(),
        View::Grouped => fleet::group(rows, |(_, row)| row.clone()),
    };
    for group in rows {
        let servers: Vec<&str> = group.iter().map(|(d, _)| d.server.as_str()).collect();
        let names = fleet::networks(group.iter().map(|(d, _)| d.name.as_str()));
        let who = match servers.as_slice() {
            [one] => code(one),
            many => format!("{} servers: {}", many.len(), fleet::listed(many, code)),
        };
        let _ = writeln!(
            out,
            "| {who} | {} |{}",
            fleet::listed(&names, code),
            group[0].1
        );
    }
    // Each note with its server, as said of it alone and as said of many;
    // the same note on many servers once.
    let mut notes: Vec<(&str, String, String)> = Vec::new();
    for d in &status.destinations {
        for m in &d.not_found {
            let what = text(&m.describe());
            notes.push((
                &d.server,
                format!("⚠️ not found on {}: {what}", code(&d.name)),
                format!("⚠️ not found on network {}: {what}", code(&d.network)),
            ));
        }
    }
    for s in status
        .servers
        .iter()
        .filter(|s| s.status != ServerHealth::Ok)
    {
        let why = text(s.error.as_deref().unwrap_or("not read"));
        notes.push((
            &s.name,
            format!("server {}: {why}", code(&s.name)),
            format!("not read: {why}"),
        ));
    }
    for d in &status.destinations {
        for s in &d.services {
            let state = format!("{}/{} running", s.running, s.desired);
            notes.push((
                &d.server,
                format!(
                    "swarm service {} on {}: {state}",
                    code(&s.service),
                    code(&d.name)
                ),
                format!(
                    "swarm service {} on network {}: {state}",
                    code(&s.service),
                    code(&d.network)
                ),
            ));
        }
    }
    for o in &status.orphans {
        notes.push((
            &o.server,
            format!(
                "orphan network {} on {}: no destination declares it",
                code(&o.network),
                code(&o.server)
            ),
            format!(
                "orphan network {}: no destination declares it",
                code(&o.network)
            ),
        ));
    }
    let notes: Vec<Vec<(&str, String, String)>> = match view {
        View::PerServer => notes.into_iter().map(|n| vec![n]).collect(),
        View::Grouped => fleet::group(notes, |(server, _, note)| fleet::normalize(note, server)),
    };
    for group in notes {
        let (server, alone, note) = &group[0];
        match group.len() {
            1 => {
                let _ = writeln!(out, "\n- {alone}");
            }
            n => {
                let names: Vec<&str> = group.iter().map(|(s, _, _)| *s).collect();
                let _ = writeln!(
                    out,
                    "\n- {} (on {})",
                    said_of(note, server, n),
                    fleet::servers_with(&names, code)
                );
            }
        }
    }
    let _ = writeln!(out, "\nDrift: {}", status.drift);
    out
}

/// `Drift: N (…)` with what to do: `berth plan` shows (and `apply` heals)
/// what berth can change; a declared resource that matches nothing is the
/// config's or the deploy's to fix, which no plan does.
fn drift_line(status: &Report) -> String {
    let not_found: std::collections::BTreeSet<_> = status
        .destinations
        .iter()
        .flat_map(|d| d.not_found.iter().map(|m| (&m.server, &m.resource)))
        .collect();
    let fix = "fix the config or deploy them";
    match not_found.len() {
        0 => format!("Drift: {} (run `berth plan`).", status.drift),
        n if n == status.drift => {
            format!("Drift: {n} (declared but not found: {fix}).")
        }
        n => format!(
            "Drift: {} (run `berth plan`; {n} declared but not found: {fix}).",
            status.drift
        ),
    }
}

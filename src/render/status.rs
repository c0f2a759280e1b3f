//! Views of `berth status`: per server, each destination with its live
//! network, state and attached containers; drift and cleanup candidates
//! called out. Human text (ANSI styles), JSON (the `status` schema) and
//! Markdown.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

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

pub fn human(status: &Report) -> String {
    let mut out = String::new();
    for s in &status.servers {
        let _ = write!(
            out,
            "{} {}",
            paint(BOLD, &format!("server {}", s.name)),
            paint(DIM, &format!("({})", s.address))
        );
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
            destination(&mut out, d);
        }
        for o in status.orphans.iter().filter(|o| o.server == s.name) {
            let _ = writeln!(
                out,
                "  {} network {} (berth's{}) no destination declares it; {} attached",
                paint(YELLOW, "orphan:"),
                o.network,
                o.destination
                    .as_ref()
                    .map(|d| format!(", once destination {d}"))
                    .unwrap_or_default(),
                o.attached
            );
        }
        out.push('\n');
    }
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
    out
}

fn destination(out: &mut String, d: &DestinationStatus) {
    let (style, word) = state_word(d.state);
    let _ = write!(
        out,
        "  {} · network {} · {}",
        paint(BOLD, &format!("destination {}", d.name)),
        d.network,
        paint(style, word)
    );
    let shape = shape(d);
    if !shape.is_empty() {
        let _ = write!(out, " · {}", paint(DIM, &shape));
    }
    if d.unused && d.state != DestinationState::Missing {
        let _ = write!(out, " · {}", paint(YELLOW, "unused"));
    }
    if !d.detached.is_empty() || !d.not_found.is_empty() {
        let _ = write!(out, " · {}", paint(YELLOW, "drift"));
    }
    if let Some(u) = &d.usage {
        let _ = write!(out, " · {}", usage(u));
    }
    if d.changes > 0 {
        let _ = write!(
            out,
            " · {}",
            paint(YELLOW, &format!("{} change(s) planned", d.changes))
        );
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
        if let Some(up) = &a.uptime {
            let _ = write!(out, "  {}", paint(DIM, &format!("up {up}")));
        }
        if let Some(u) = &a.usage {
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
            m.describe()
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

pub fn markdown(status: &Report) -> String {
    let mut out = String::from("### berth status\n\n");
    let _ = writeln!(
        out,
        "| server | destination | network | state | attached | detached | not found | unused |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for d in &status.destinations {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            code(&d.server),
            code(&d.name),
            code(&d.network),
            state_word(d.state).1,
            d.attached.len(),
            d.detached.len(),
            d.not_found.len(),
            if d.unused { "yes" } else { "" }
        );
    }
    for d in &status.destinations {
        for m in &d.not_found {
            let _ = writeln!(
                out,
                "\n- ⚠️ not found on {}: {}",
                code(&d.name),
                text(&m.describe())
            );
        }
    }
    for s in status
        .servers
        .iter()
        .filter(|s| s.status != ServerHealth::Ok)
    {
        let _ = writeln!(
            out,
            "\n- server {}: {}",
            code(&s.name),
            text(s.error.as_deref().unwrap_or("not read"))
        );
    }
    for d in &status.destinations {
        for s in &d.services {
            let _ = writeln!(
                out,
                "\n- swarm service {} on {}: {}/{} running",
                code(&s.service),
                code(&d.name),
                s.running,
                s.desired
            );
        }
    }
    for o in &status.orphans {
        let _ = writeln!(
            out,
            "\n- orphan network {} on {}: no destination declares it",
            code(&o.network),
            code(&o.server)
        );
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

//! The terminal view: per server, each change with its symbol (`+`, `-`,
//! `-/+`, `~`) and verb (`plan::Verb`), blocked changes with their reasons and
//! what unblocks them, and a closing summary.

use std::collections::HashMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::fleet::{self, View, said_of};
use crate::execute::{Outcome, Report, Step};
use crate::plan::{Change, Plan, ServerHealth, ServerReading, Skipped};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const BLOCKED: Style = AnsiColor::Red.on_default().bold();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// The change's symbol (`Verb::symbol`) in its colour: green adds, red
/// removes, yellow removes and adds again or changes in place.
fn symbol(c: &Change) -> (Style, &'static str) {
    let symbol = c.verb().symbol();
    let style = match symbol {
        "+" => GREEN,
        "-" => RED,
        _ => YELLOW,
    };
    (style, symbol)
}

/// `create network prod-net (destination production)`: a change on its own
/// line, as in apply's progress and watch's log. It starts with its verb.
pub fn describe(c: &Change) -> String {
    let what = match c {
        Change::Restore(r) => format!(
            "the interrupted {} of {}",
            r.record.change.verb(),
            interrupted_subject(r)
        ),
        Change::CreateNetwork(c) => c.network.clone(),
        Change::RemoveNetwork(c) => c.network.clone(),
        Change::ReplaceNetwork(c) => c.network.clone(),
        Change::Connect(c) if c.aliases_change() => {
            format!("{} to {} with new aliases", c.container, c.network)
        }
        Change::Connect(c) if c.live_aliases.is_some() => {
            format!(
                "{} to {} with new endpoint settings",
                c.container, c.network
            )
        }
        Change::Connect(c) => format!("{} to {}", c.container, c.network),
        Change::Disconnect(c) => format!("{} from {}", c.container, c.network),
        Change::Clone(c) => clone_target(c),
        Change::UpdateService(c) => {
            format!("{} (networks {})", c.service, networks(&c.networks))
        }
        Change::CloneService(c) => {
            format!("{} into {} on {}", c.source, c.service, c.network)
        }
    };
    let mut s = format!("{} {what}", c.verb());
    if let Some(d) = c.destination() {
        let _ = write!(s, " (destination {d})");
    }
    s
}

/// The same change inside its destination's group: the network is in the
/// heading, the container's kind and name beside it.
fn short(c: &Change) -> String {
    let owner = c
        .resource()
        .map(|r| format!("  {}", paint(DIM, &format!("{} {}", r.kind, r.name))))
        .unwrap_or_default();
    let what = match c {
        Change::Restore(r) => format!(
            " the interrupted {} of {}",
            r.record.change.verb(),
            interrupted_subject(r)
        ),
        Change::CreateNetwork(_) | Change::RemoveNetwork(_) | Change::ReplaceNetwork(_) => {
            String::new()
        }
        Change::Connect(c) => {
            let settings = if c.endpoint.is_empty() {
                String::new()
            } else {
                format!("  {}", c.endpoint.describe())
            };
            match &c.live_aliases {
                Some(live) if c.aliases_change() => format!(
                    " {}{owner}  aliases {} → {}{settings}",
                    c.container,
                    paint(RED, &live.join(", ")),
                    paint(GREEN, &c.aliases.join(", "))
                ),
                _ => format!(
                    " {}{owner}  aliases {}{settings}",
                    c.container,
                    c.aliases.join(", ")
                ),
            }
        }
        Change::Disconnect(c) => format!(" {}{owner}", c.container),
        Change::Clone(c) => format!(" {}{owner}", clone_target(c)),
        Change::UpdateService(c) => format!(
            " {}{owner}  networks {} → {}",
            c.service,
            paint(RED, &networks(&c.live_networks)),
            paint(GREEN, &networks(&c.networks)),
        ),
        Change::CloneService(c) => {
            let mut s = format!(
                " {} into {}{owner}  aliases {}",
                c.source,
                c.service,
                c.aliases.join(", ")
            );
            for v in &c.volumes {
                let _ = write!(
                    s,
                    "\n          volume {} → {} (fresh, empty)",
                    v.source, v.target
                );
            }
            if !c.dropped_ports.is_empty() {
                let _ = write!(
                    s,
                    "\n          published ports not copied: {}",
                    c.dropped_ports.join(", ")
                );
            }
            s
        }
    };
    format!("{}{what}", c.verb())
}

/// `front (aliases api), back`: a service's networks as its spec names
/// them.
fn networks(list: &[crate::plan::ServiceNetworkRef]) -> String {
    if list.is_empty() {
        return "none".to_string();
    }
    list.iter()
        .map(|n| match n.aliases.as_slice() {
            [] => n.network.clone(),
            a => format!("{} (aliases {})", n.network, a.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an interrupted change was about: its network, container or clone.
fn interrupted_subject(r: &crate::plan::Restore) -> String {
    match &*r.record.change {
        Change::Connect(c) => format!("{} on {}", c.container, c.network),
        Change::Clone(c) => format!("{} {}", c.resource.kind, c.resource.name),
        other => format!("network {}", other.network()),
    }
}

/// The plan for a terminal: grouped by destination network across the
/// servers, each change once with the servers it is on
/// ([`View::Grouped`]), or server by server ([`View::PerServer`],
/// `--verbose`).
pub fn plan(plan: &Plan, view: View) -> String {
    let mut out = String::new();
    for w in plan.warnings.iter().filter(|w| w.server.is_none()) {
        let _ = writeln!(out, "{} {}", paint(YELLOW.bold(), "warning:"), w.message);
    }
    if plan.warnings.iter().any(|w| w.server.is_none()) {
        out.push('\n');
    }
    match view {
        View::PerServer => {
            for server in plan.shown_servers() {
                self::server(&mut out, plan, server);
                out.push('\n');
            }
        }
        View::Grouped => grouped(&mut out, plan),
    }
    if let n @ 1.. = plan.not_targeted().len() {
        let _ = writeln!(
            out,
            "{}\n",
            paint(DIM, &format!("{n} server(s) not targeted, not contacted"))
        );
    }
    if let n @ 1.. = plan.unaffected.len() {
        let _ = writeln!(
            out,
            "{}\n",
            paint(
                DIM,
                &format!(
                    "{n} server(s) unaffected by the change, not contacted (--all plans them too)"
                )
            )
        );
    }
    out.push_str(&summary(plan));
    out.push('\n');
    out
}

/// The grouped view: one part per destination network across the
/// servers, each distinct change once with the servers it is on; then the
/// servers' warnings, the servers not read, and those with nothing to do,
/// each collapsed the same way.
fn grouped(out: &mut String, plan: &Plan) {
    let shown: std::collections::HashSet<&str> =
        plan.shown_servers().map(|s| s.name.as_str()).collect();
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| shown.contains(c.server()))
        .collect();
    let errors: Vec<&crate::plan::PlanError> = plan
        .errors
        .iter()
        .filter(|e| shown.contains(e.server.as_str()))
        .collect();
    let nets = fleet::networks(
        changes
            .iter()
            .map(|c| c.network())
            .chain(errors.iter().map(|e| e.network.as_str())),
    );
    let mut by_net: HashMap<&str, Vec<&Change>> = HashMap::new();
    for c in &changes {
        by_net.entry(c.network()).or_default().push(c);
    }
    let mut errors_by_net: HashMap<&str, Vec<&crate::plan::PlanError>> = HashMap::new();
    for e in &errors {
        errors_by_net.entry(e.network.as_str()).or_default().push(e);
    }
    for net in nets {
        let mine = by_net.remove(net).unwrap_or_default();
        let _ = writeln!(out, "{}", paint(BOLD, &heading(net, &mine)));
        for group in fleet::group(mine.iter().copied(), |c| fleet::change_key(c)) {
            let names: Vec<&str> = group.iter().map(|c| c.server()).collect();
            change(out, &group, Some(&format!("on {}", fleet::servers(&names))));
        }
        let errs = errors_by_net.remove(net).unwrap_or_default();
        for group in fleet::group(errs, |e| {
            fleet::normalize(&format!("{}\n{}", e.message, e.hint), &e.server)
        }) {
            let e = group[0];
            let n = group.len();
            let names: Vec<&str> = group.iter().map(|e| e.server.as_str()).collect();
            let _ = writeln!(
                out,
                "  {} {}  {}",
                paint(BLOCKED, "error:"),
                said_of(&e.message, &e.server, n),
                paint(DIM, &format!("on {}", fleet::servers(&names)))
            );
            let _ = writeln!(
                out,
                "      {} {}",
                paint(DIM, "hint:"),
                said_of(&e.hint, &e.server, n)
            );
        }
        out.push('\n');
    }
    let warnings = plan.warnings.iter().filter_map(|w| {
        w.server
            .as_deref()
            .filter(|s| shown.contains(s))
            .map(|s| (s, w))
    });
    let mut any = false;
    for group in fleet::group(warnings, |(s, w)| fleet::normalize(&w.message, s)) {
        let (server, w) = group[0];
        let names: Vec<&str> = group.iter().map(|(s, _)| *s).collect();
        let _ = writeln!(
            out,
            "{} {}  {}",
            paint(YELLOW.bold(), "warning:"),
            said_of(&w.message, server, group.len()),
            paint(DIM, &format!("on {}", fleet::servers(&names)))
        );
        any = true;
    }
    if any {
        out.push('\n');
    }
    let unread = plan
        .shown_servers()
        .filter(|s| s.status != ServerHealth::Ok);
    let mut any = false;
    for group in fleet::group(unread, |s| {
        let why = s.error.as_deref().unwrap_or("unknown error");
        format!("{:?}{}", s.status, fleet::normalize(why, &s.name))
    }) {
        let s = group[0];
        let names: Vec<&str> = group.iter().map(|s| s.name.as_str()).collect();
        let (label, why) = match s.status {
            ServerHealth::Skipped => (paint(DIM, "skipped:"), "not contacted:"),
            _ => (
                paint(BLOCKED, "error:"),
                "not planned: berth could not read",
            ),
        };
        let _ = writeln!(
            out,
            "{label} {}",
            said_of(
                s.error.as_deref().unwrap_or("unknown error"),
                &s.name,
                group.len()
            )
        );
        let _ = writeln!(
            out,
            "  {}",
            paint(DIM, &format!("{why} {}", fleet::servers(&names)))
        );
        any = true;
    }
    if any {
        out.push('\n');
    }
    let busy: std::collections::HashSet<&str> = changes
        .iter()
        .map(|c| c.server())
        .chain(errors.iter().map(|e| e.server.as_str()))
        .collect();
    let idle: Vec<&str> = plan
        .shown_servers()
        .filter(|s| s.status == ServerHealth::Ok && !busy.contains(s.name.as_str()))
        .map(|s| s.name.as_str())
        .collect();
    if !idle.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            paint(DIM, &format!("no changes on {}", fleet::servers(&idle)))
        );
    }
}

/// `destination prod · network prod-net`; a network whose changes belong
/// to several destinations (one per server) names them.
fn heading(net: &str, changes: &[&Change]) -> String {
    match fleet::destinations(changes.iter().copied()).as_slice() {
        [] => format!("network {net}"),
        [d] => format!("destination {d} · network {net}"),
        many => format!(
            "network {net} · destinations {}",
            fleet::listed(many, |d| d.to_string())
        ),
    }
}

/// One server's part: its changes grouped per network, then its errors and
/// warnings (declared resources that match nothing among them).
fn server(out: &mut String, plan: &Plan, server: &ServerReading) {
    let _ = writeln!(
        out,
        "{} {}",
        paint(BOLD, &format!("server {}", server.name)),
        paint(DIM, &format!("({})", server.address))
    );
    if server.status != ServerHealth::Ok {
        let (label, why) = match server.status {
            ServerHealth::Skipped => (paint(DIM, "skipped:"), "not contacted"),
            _ => (
                paint(BLOCKED, "error:"),
                "not planned: berth could not read this server",
            ),
        };
        let _ = writeln!(
            out,
            "  {label} {}",
            server.error.as_deref().unwrap_or("unknown error")
        );
        let _ = writeln!(out, "  {}", paint(DIM, why));
        return;
    }
    let name = server.name.as_str();
    let changes: Vec<&Change> = plan.changes.iter().filter(|c| c.server() == name).collect();
    let errors: Vec<_> = plan.errors.iter().filter(|e| e.server == name).collect();
    if changes.is_empty() && errors.is_empty() {
        let _ = writeln!(out, "  {}", paint(DIM, "no changes"));
    }
    // One group per network, in the order the plan lists them.
    let mut networks: Vec<&str> = Vec::new();
    for c in &changes {
        if !networks.contains(&c.network()) {
            networks.push(c.network());
        }
    }
    for net in networks {
        let group: Vec<&&Change> = changes.iter().filter(|c| c.network() == net).collect();
        let heading = match group.iter().find_map(|c| c.destination()) {
            Some(d) => format!("destination {d} · network {net}"),
            None => format!("network {net}"),
        };
        let _ = writeln!(out, "  {}", paint(BOLD, &heading));
        for c in group {
            change(out, &[*c], None);
        }
    }
    for e in errors {
        let _ = writeln!(out, "  {} {}", paint(BLOCKED, "error:"), e.message);
        let _ = writeln!(out, "      {} {}", paint(DIM, "hint:"), e.hint);
    }
    for w in plan
        .warnings
        .iter()
        .filter(|w| w.server.as_deref() == Some(name))
    {
        let _ = writeln!(out, "  {} {}", paint(YELLOW.bold(), "warning:"), w.message);
    }
}

/// `api (server s1) → api-staging`, or a stack's projects. A source with
/// no container to copy is named by what the config calls it:
/// `application api (server s1) → api-staging`.
fn clone_target(c: &crate::plan::CloneResource) -> String {
    let spec = &c.clone;
    match (&spec.source_project, &spec.target_project) {
        (Some(from), Some(to)) => format!("stack {from} (server {}) → {to}", spec.source_server),
        _ => format!(
            "{} (server {}) → {}",
            match spec.members.first() {
                Some(m) => m.source.clone(),
                None => format!("{} {}", spec.source.kind, spec.source.name),
            },
            spec.source_server,
            c.container.as_deref().unwrap_or(&c.resource.name)
        ),
    }
}

/// What a clone copies, one line per container: names only, never values.
fn clone_details(out: &mut String, c: &Change) {
    let Change::Clone(c) = c else { return };
    let spec = &c.clone;
    for m in &spec.members {
        let mut parts = vec![format!("image {}", m.image)];
        if !m.env.is_empty() {
            parts.push(format!("env {}", m.env.join(", ")));
        }
        for v in &m.volumes {
            parts.push(format!("fresh volume {} (from {})", v.target, v.source));
        }
        if !m.ports.is_empty() {
            parts.push(format!("ports {}", m.ports.join(", ")));
        }
        if m.start {
            parts.push("started".into());
        }
        let _ = writeln!(
            out,
            "          {} {}",
            paint(DIM, &format!("{} → {}:", m.source, m.target)),
            paint(DIM, &parts.join("; "))
        );
    }
}

/// One change, or a group of the same change on many servers (told of
/// each server, with `where_` naming them after the first line).
fn change(out: &mut String, group: &[&Change], where_: Option<&str>) {
    let c = group[0];
    let n = group.len();
    let server = c.server();
    let (style, sym) = symbol(c);
    let blocked = c.is_blocked();
    let text = short(c);
    let (first, rest) = match text.split_once('\n') {
        Some((first, rest)) => (first.to_string(), Some(rest.to_string())),
        None => (text, None),
    };
    let _ = write!(
        out,
        "    {} {}",
        paint(style, &format!("{sym:>3}")),
        said_of(&first, server, n)
    );
    if blocked {
        let _ = write!(out, "  {}", paint(BLOCKED, "BLOCKED"));
    }
    if let Some(w) = where_ {
        let _ = write!(out, "  {}", paint(DIM, w));
    }
    if let Some(rest) = rest {
        out.push('\n');
        out.push_str(&rest);
    }
    out.push('\n');
    if let Change::CreateNetwork(create) = c {
        let spec = &create.spec;
        let per_server = super::fleet::subnets(group);
        {
            let mut parts = vec![format!("driver {}", spec.driver)];
            match per_server {
                Some(k) => parts.push(format!("subnet per server ({k} different)")),
                None => {
                    if let Some(s) = spec.subnet {
                        parts.push(format!("subnet {s}"));
                    }
                    if let Some(g) = spec.gateway {
                        parts.push(format!("gateway {g}"));
                    }
                }
            }
            if spec.internal {
                parts.push("internal".into());
            }
            if spec.attachable {
                parts.push("attachable".into());
            }
            if let Some(v6) = spec.enable_ipv6 {
                parts.push(format!("enable_ipv6 {v6}"));
            }
            if let Some(parent) = &spec.parent {
                parts.push(format!("parent {parent}"));
            }
            if spec.config_only {
                parts.push("configuration only".into());
            }
            if let Some(from) = &spec.config_from {
                parts.push(format!("configuration from {from}"));
            }
            let _ = writeln!(out, "          {}", paint(DIM, &parts.join(", ")));
        }
    }
    clone_details(out, c);
    let differences = match c {
        Change::ReplaceNetwork(r) => r.differences.as_slice(),
        _ => &[],
    };
    for d in differences {
        let _ = writeln!(
            out,
            "          {}: {} → {}",
            d.property,
            paint(RED, &d.live),
            paint(GREEN, &d.desired)
        );
    }
    for r in c.reasons() {
        let mark = if blocked {
            paint(BLOCKED, "✗")
        } else {
            paint(DIM, "·")
        };
        let _ = writeln!(out, "          {mark} {}", said_of(r, server, n));
    }
    if let Some(hint) = c.hint() {
        let _ = writeln!(
            out,
            "          {} {}",
            paint(DIM, "hint:"),
            said_of(hint, server, n)
        );
    }
}

/// The closing line: counts of planned changes, blocked ones, and errors.
fn summary(plan: &Plan) -> String {
    let failed = plan.failed_servers().count();
    let not_found = plan.not_found();
    if plan.changes.is_empty() && plan.errors.is_empty() && failed == 0 {
        return match not_found {
            0 => paint(GREEN.bold(), "No changes. The servers match the config."),
            n => format!(
                "{} {}",
                paint(GREEN.bold(), "No changes."),
                paint(
                    YELLOW,
                    &format!("{n} declared resource(s) match nothing (see the warnings above).")
                )
            ),
        };
    }
    let parts: Vec<String> = super::planned_by_verb(&plan.changes)
        .into_iter()
        .map(|(verb, n)| format!("{n} {}", super::counted(verb).summary))
        .collect();
    let mut parts = parts;
    if parts.is_empty() {
        parts.push("nothing to apply".to_string());
    }
    let mut line = format!("Plan: {}.", parts.join(", "));
    let blocked = plan.blocked();
    if blocked > 0 {
        let _ = write!(
            line,
            " {}",
            paint(
                BLOCKED,
                &format!("{blocked} blocked: apply will change nothing until they are resolved.")
            )
        );
    }
    if !plan.errors.is_empty() {
        let _ = write!(
            line,
            " {}",
            paint(BLOCKED, &format!("{} error(s).", plan.errors.len()))
        );
    }
    if failed > 0 {
        let _ = write!(
            line,
            " {}",
            paint(BLOCKED, &format!("{failed} server(s) could not be read."))
        );
    }
    if not_found > 0 {
        let _ = write!(
            line,
            " {}",
            paint(
                YELLOW,
                &format!(
                    "{not_found} declared resource(s) match nothing (see the warnings above)."
                )
            )
        );
    }
    line
}

/// One line per applied step, printed as it finishes.
pub fn step_line(step: &Step) -> String {
    let what = format!("{} on {}", describe(&step.change), step.change.server());
    match &step.outcome {
        Outcome::Done => format!("  {} {what}", paint(GREEN, "✓")),
        Outcome::Failed(e) => {
            let mut line = format!(
                "  {} {what}: {}",
                paint(BLOCKED, "✗"),
                paint(RED, &e.to_string())
            );
            if let Some(hint) = e.hint() {
                let _ = write!(line, "\n      {} {hint}", paint(DIM, "hint:"));
            }
            line
        }
        Outcome::NotAttempted => format!("  {} {what}: not attempted", paint(DIM, "·")),
    }
}

pub fn apply_report(report: &Report) -> String {
    let done = report.count(|o| *o == Outcome::Done);
    let failed = report.count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = report.count(|o| *o == Outcome::NotAttempted);
    if failed == 0 {
        return paint(
            GREEN.bold(),
            &format!("Apply complete: {done} change(s) done."),
        );
    }
    let mut s = paint(
        BLOCKED,
        &format!("Apply failed: {done} done, {failed} failed, {skipped} not attempted."),
    );
    for step in report.steps.iter().filter(|s| s.outcome != Outcome::Done) {
        s.push('\n');
        s.push_str(&step_line(step));
    }
    s.push_str(
        "\nRun `berth plan` to see what is left; the next apply continues from the live state.",
    );
    s
}

/// The servers a partial apply leaves as they are, each with why:
/// `  ✗ server gone skipped: unreachable: …`.
pub fn skipped(skipped: &[Skipped]) -> String {
    let mut s = paint(
        BLOCKED,
        &format!(
            "Partial apply: {} server(s) skipped, left as they are:",
            skipped.len()
        ),
    );
    for k in skipped {
        let _ = write!(
            s,
            "\n  {} server {} skipped: {}",
            paint(BLOCKED, "✗"),
            paint(BOLD, &k.server),
            k.reason
        );
    }
    s
}

//! The terminal view: per server, each change with its symbol (`+`, `-`,
//! `-/+`), blocked changes with their reasons, and a closing summary.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::apply::{Outcome, Report, Step};
use crate::plan::{Action, Change, Plan, ServerHealth, Status};

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const BLOCKED: Style = AnsiColor::Red.on_default().bold();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

fn symbol(action: Action) -> (Style, &'static str) {
    match action {
        Action::CreateNetwork | Action::Connect | Action::Clone => (GREEN, "+"),
        Action::RemoveNetwork | Action::Disconnect => (RED, "-"),
        Action::ReplaceNetwork => (YELLOW, "-/+"),
    }
}

/// `create network prod-net (destination production)`
fn describe(c: &Change) -> String {
    let mut s = match c.action {
        Action::CreateNetwork => format!("create network {}", c.network),
        Action::RemoveNetwork => format!("remove network {}", c.network),
        Action::ReplaceNetwork => format!("replace network {}", c.network),
        Action::Connect => format!(
            "connect {} to {}",
            c.container.as_deref().unwrap_or("?"),
            c.network
        ),
        Action::Disconnect => format!(
            "disconnect {} from {}",
            c.container.as_deref().unwrap_or("?"),
            c.network
        ),
        Action::Clone => format!("clone into {}", c.container.as_deref().unwrap_or("?")),
    };
    if let Some(d) = &c.destination {
        let _ = write!(s, " (destination {d})");
    }
    s
}

pub fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    for server in &plan.servers {
        let _ = writeln!(
            out,
            "{} {}",
            paint(BOLD, &format!("server {}", server.name)),
            paint(DIM, &format!("({})", server.address))
        );
        if server.status == ServerHealth::Error {
            let _ = writeln!(
                out,
                "  {} {}",
                paint(BLOCKED, "error:"),
                server.error.as_deref().unwrap_or("unknown error")
            );
            let _ = writeln!(
                out,
                "  {}",
                paint(DIM, "not planned: berth could not read this server")
            );
            out.push('\n');
            continue;
        }
        let changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.server == server.name)
            .collect();
        let errors: Vec<_> = plan
            .errors
            .iter()
            .filter(|e| e.server == server.name)
            .collect();
        if changes.is_empty() && errors.is_empty() {
            let _ = writeln!(out, "  {}", paint(DIM, "no changes"));
        }
        for c in changes {
            change(&mut out, c);
        }
        for e in errors {
            let _ = writeln!(out, "  {} {}", paint(BLOCKED, "error:"), e.message);
            let _ = writeln!(out, "      {} {}", paint(DIM, "hint:"), e.hint);
        }
        out.push('\n');
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "{} {}", paint(YELLOW.bold(), "warning:"), w.message);
    }
    out.push_str(&summary(plan));
    out.push('\n');
    out
}

fn change(out: &mut String, c: &Change) {
    let (style, sym) = symbol(c.action);
    let blocked = c.status == Status::Blocked;
    let _ = write!(
        out,
        "  {} {}",
        paint(style, &format!("{sym:>3}")),
        describe(c)
    );
    if blocked {
        let _ = write!(out, "  {}", paint(BLOCKED, "BLOCKED"));
    }
    out.push('\n');
    if let Some(spec) = &c.spec {
        if c.action == Action::CreateNetwork {
            let mut parts = vec![format!("driver {}", spec.driver)];
            if let Some(s) = spec.subnet {
                parts.push(format!("subnet {s}"));
            }
            if let Some(g) = spec.gateway {
                parts.push(format!("gateway {g}"));
            }
            if spec.internal {
                parts.push("internal".into());
            }
            if spec.attachable {
                parts.push("attachable".into());
            }
            let _ = writeln!(out, "        {}", paint(DIM, &parts.join(", ")));
        }
    }
    for d in &c.differences {
        let _ = writeln!(
            out,
            "        {}: {} → {}",
            d.property,
            paint(RED, &d.live),
            paint(GREEN, &d.desired)
        );
    }
    if let Some(aliases) = &c.aliases {
        let _ = writeln!(out, "        aliases: {}", aliases.join(", "));
    }
    for r in &c.reasons {
        let mark = if blocked {
            paint(BLOCKED, "✗")
        } else {
            paint(DIM, "·")
        };
        let _ = writeln!(out, "        {mark} {r}");
    }
}

/// The closing line: counts of planned changes, blocked ones, and errors.
fn summary(plan: &Plan) -> String {
    let failed = plan.failed_servers().count();
    if plan.changes.is_empty() && plan.errors.is_empty() && failed == 0 {
        return paint(GREEN.bold(), "No changes. The servers match the config.");
    }
    let mut parts = Vec::new();
    for (action, verb) in [
        (Action::CreateNetwork, "to create"),
        (Action::ReplaceNetwork, "to replace"),
        (Action::Clone, "to clone"),
        (Action::Connect, "to connect"),
        (Action::Disconnect, "to disconnect"),
        (Action::RemoveNetwork, "to remove"),
    ] {
        if let Some(n) = plan.summary.get(action.as_str()) {
            parts.push(format!("{n} {verb}"));
        }
    }
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
    line
}

/// One line per applied step, printed as it finishes.
pub fn step_line(step: &Step) -> String {
    let what = format!("{} on {}", describe(&step.change), step.change.server);
    match &step.outcome {
        Outcome::Done => format!("  {} {what}", paint(GREEN, "✓")),
        Outcome::Failed(e) => format!("  {} {what}: {}", paint(BLOCKED, "✗"), paint(RED, e)),
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

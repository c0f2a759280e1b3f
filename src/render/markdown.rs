//! The pull-request comment: a one-line verdict, a table per server,
//! blocked changes with their reasons in plain sight, the config change,
//! details folded, and a Mermaid diagram. Stays under GitHub's comment
//! limit by folding details away, never by cutting reasons.

use std::fmt::Write;

use crate::config::diff::{ChangeKind, ConfigDiff};
use crate::plan::{Change, Plan, ServerHealth, TopoState, Verb};

/// GitHub's limit for one comment.
pub const COMMENT_LIMIT: usize = 65_536;

/// Marks berth's comment, so CI can find and update it (sticky comment).
pub const MARKER: &str = "<!-- berth-plan -->";

/// The table's verb columns, in the order a reviewer reads them; `None`
/// marks where a reconnect column goes when the plan has one.
const COLUMNS: [Option<Verb>; 7] = [
    Some(Verb::CreateNetwork),
    Some(Verb::ReplaceNetwork),
    Some(Verb::RemoveNetwork),
    Some(Verb::Connect),
    None,
    Some(Verb::Disconnect),
    Some(Verb::Clone),
];

pub fn markdown(plan: &Plan) -> String {
    // Most detailed first; fold until it fits.
    for level in [
        Detail::Full,
        Detail::NoFileDiffs,
        Detail::NoChangeList,
        Detail::Minimal,
    ] {
        let text = render(plan, level);
        if text.len() <= COMMENT_LIMIT {
            return text;
        }
    }
    render(plan, Detail::Minimal)
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    Full,
    NoFileDiffs,
    NoChangeList,
    NoDiagram,
    /// The config change and warnings as counts; blocked reasons stay whole.
    Minimal,
}

fn verdict(plan: &Plan) -> String {
    let failed = plan.failed_servers().count();
    let blocked = plan.blocked();
    let n = plan.changes.len();
    if failed > 0 || !plan.errors.is_empty() {
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{failed} server(s) could not be read"));
        }
        if !plan.errors.is_empty() {
            parts.push(format!(
                "{} conflict(s) berth will not resolve",
                plan.errors.len()
            ));
        }
        format!("❌ **error**: {}", parts.join(", "))
    } else if blocked > 0 {
        format!("⛔ **blocked**: {blocked} of {n} change(s) blocked; apply would change nothing")
    } else if n == 0 && plan.not_found() > 0 {
        format!(
            "⚠️ no changes, but {} declared resource(s) match nothing (see the warnings)",
            plan.not_found()
        )
    } else if n == 0 {
        "✅ no changes".to_string()
    } else {
        format!("🔶 {n} change(s)")
    }
}

/// Inline code that no content can break out of: control characters shown
/// escaped, delimiters longer than any backtick run inside.
pub(crate) fn code(s: &str) -> String {
    let s = one_line(s);
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Plain text from data (names, messages): one line, no HTML.
pub(crate) fn text(s: &str) -> String {
    one_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The first 12 characters of a commit id.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => '␤',
            c if c.is_control() => '�',
            c => c,
        })
        .collect()
}

fn longest_run(s: &str, ch: char) -> usize {
    s.split(|c| c != ch).map(str::len).max().unwrap_or(0)
}

/// A fenced block whose fence is longer than any backtick run inside.
fn fenced(info: &str, body: &str) -> String {
    let fence = "`".repeat(longest_run(body, '`').max(2) + 1);
    let nl = if body.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{body}{nl}{fence}")
}

fn render(plan: &Plan, detail: Detail) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### berth plan: {}\n", verdict(plan));
    let _ = writeln!(out, "Source: {}\n", source(plan));
    table(&mut out, plan);
    blocked(&mut out, plan);
    servers_and_conflicts(&mut out, plan);
    warnings(&mut out, plan, detail);
    if let Some(d) = &plan.config_diff {
        config_change(&mut out, d, detail);
    }
    if detail <= Detail::NoFileDiffs {
        change_list(&mut out, plan);
    }
    if detail < Detail::NoDiagram {
        if let Some(t) = &plan.topology {
            let _ = writeln!(
                out,
                "<details><summary>Topology</summary>\n\n{}\n</details>",
                fenced("mermaid", &mermaid(t))
            );
        }
    }
    out
}

/// `main` @ `abc…` (base …), or the working tree.
fn source(plan: &Plan) -> String {
    let src = &plan.source;
    let mut source = match (&src.reference, &src.commit) {
        (Some(r), Some(c)) => format!("{} @ {}", code(r), code(&short(c))),
        _ => format!("working tree {}", code(src.path.as_deref().unwrap_or("."))),
    };
    if let Some(d) = &plan.config_diff {
        let _ = write!(
            source,
            " (base {} @ {})",
            code(&d.base_ref),
            code(&short(&d.base_commit))
        );
    }
    source
}

/// The summary table: per server, its status and changes per action.
fn table(out: &mut String, plan: &Plan) {
    // A restore column only when an earlier apply was interrupted, a
    // reconnect column only for a plan with alias fixes, swarm columns
    // only for a plan with swarm changes.
    let has = |v: Verb| plan.changes.iter().any(|c| c.verb() == v);
    let columns: Vec<Verb> = has(Verb::Restore)
        .then_some(Verb::Restore)
        .into_iter()
        .chain(
            COLUMNS
                .into_iter()
                .map(|v| v.unwrap_or(Verb::Reconnect))
                .filter(|&v| v != Verb::Reconnect || has(v)),
        )
        .chain(
            [Verb::UpdateService, Verb::CloneService]
                .into_iter()
                .filter(|&v| has(v)),
        )
        .collect();
    let _ = write!(out, "| server | status |");
    for &verb in &columns {
        let _ = write!(out, " {} |", super::counted(verb).column);
    }
    let _ = writeln!(out, " blocked |");
    let _ = writeln!(out, "|---|---|{}---|", "---|".repeat(columns.len()));
    for s in plan.shown_servers() {
        let status = match s.status {
            ServerHealth::Ok => "ok",
            ServerHealth::Error => "❌ error",
            ServerHealth::Skipped => "⏭ not contacted",
        };
        let _ = write!(out, "| {} | {status} |", code(&s.name));
        let mine: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.server() == s.name)
            .collect();
        let planned = super::planned_by_verb(mine.iter().copied());
        for verb in &columns {
            let _ = write!(out, " {} |", planned.get(verb).copied().unwrap_or(0));
        }
        let blocked = mine.iter().filter(|c| c.is_blocked()).count();
        let _ = writeln!(
            out,
            " {} |",
            if blocked > 0 {
                format!("**{blocked}**")
            } else {
                "0".into()
            }
        );
    }
    if let n @ 1.. = plan.not_targeted().len() {
        let _ = writeln!(out, "\n{n} server(s) not targeted, not contacted.");
    }
    if let n @ 1.. = plan.unaffected.len() {
        let _ = writeln!(
            out,
            "\n{n} server(s) unaffected by the change, not contacted (`--all` plans them too)."
        );
    }
    out.push('\n');
}

/// What stops the apply, in plain sight.
fn blocked(out: &mut String, plan: &Plan) {
    let blocked: Vec<&Change> = plan.changes.iter().filter(|c| c.is_blocked()).collect();
    if blocked.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### ⛔ Blocked\n");
    for c in blocked {
        let _ = writeln!(out, "- **{}** · {}", text(c.server()), describe(c));
        for r in c.reasons() {
            let _ = writeln!(out, "  - {}", text(r));
        }
        if let Some(hint) = c.hint() {
            let _ = writeln!(out, "  - **hint**: {}", text(hint));
        }
    }
    out.push('\n');
}

fn servers_and_conflicts(out: &mut String, plan: &Plan) {
    let failed: Vec<_> = plan
        .servers
        .iter()
        .filter(|s| s.status != ServerHealth::Ok)
        .collect();
    if failed.is_empty() && plan.errors.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Servers and conflicts\n");
    for s in failed {
        let _ = writeln!(
            out,
            "- **{}**: {}",
            s.name,
            s.error.as_deref().unwrap_or("not read")
        );
    }
    for e in &plan.errors {
        let _ = writeln!(
            out,
            "- **{}**: {} ({})",
            text(&e.server),
            text(&e.message),
            text(&e.hint)
        );
    }
    out.push('\n');
}

fn warnings(out: &mut String, plan: &Plan, detail: Detail) {
    if plan.warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Warnings\n");
    if detail == Detail::Minimal {
        let _ = writeln!(out, "{} warning(s); see the CI log.", plan.warnings.len());
    } else {
        for w in &plan.warnings {
            let _ = writeln!(out, "- {}", text(&w.message));
        }
    }
    out.push('\n');
}

fn change_verb(change: ChangeKind) -> (&'static str, &'static str) {
    match change {
        ChangeKind::Added => ("➕", "added"),
        ChangeKind::Removed => ("➖", "removed"),
        ChangeKind::Changed => ("✏️", "changed"),
    }
}

/// The config change under review: entities (counted when minimal), the
/// trust notes, and each file's diff (folded away unless in full).
fn config_change(out: &mut String, d: &ConfigDiff, detail: Detail) {
    let _ = writeln!(out, "#### Config change\n");
    if d.entities.is_empty() {
        let _ = writeln!(out, "No entity changed.");
    }
    if detail == Detail::Minimal && !d.entities.is_empty() {
        let mut counts: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
        for e in &d.entities {
            *counts
                .entry((e.kind.as_str(), change_verb(e.change).1))
                .or_default() += 1;
        }
        for ((kind, verb), n) in counts {
            let _ = writeln!(out, "- {n} {kind}(s) {verb}");
        }
        let _ = writeln!(
            out,
            "\n_The full list is folded away to stay under GitHub's comment limit; see the CI log._"
        );
    }
    for e in d.entities.iter().filter(|_| detail != Detail::Minimal) {
        let (mark, verb) = change_verb(e.change);
        let _ = write!(out, "- {mark} {} {} {verb}", e.kind, code(&e.name));
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{}: {} → {}",
                    f.field,
                    f.base.as_deref().map_or("(unset)".into(), code),
                    f.head.as_deref().map_or("(unset)".into(), code)
                )
            })
            .collect();
        if !fields.is_empty() {
            let _ = write!(out, ": {}", fields.join("; "));
        }
        out.push('\n');
    }
    for n in &d.notes {
        let _ = writeln!(out, "\n> {}", text(n));
    }
    out.push('\n');
    if detail == Detail::Full {
        for f in &d.files {
            let _ = writeln!(
                out,
                "<details><summary>Diff of <code>{}</code></summary>\n\n{}\n</details>\n",
                text(&f.path),
                fenced("diff", &f.unified)
            );
        }
    } else if !d.files.is_empty() {
        let lines: usize = d.files.iter().map(|f| f.unified.lines().count()).sum();
        let _ = writeln!(
            out,
            "_File diffs folded away ({} file(s), {lines} lines) to stay under GitHub's comment limit; see the CI log._\n",
            d.files.len()
        );
    }
}

/// Every change, per server, folded.
fn change_list(out: &mut String, plan: &Plan) {
    if plan.changes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>All {} change(s)</summary>\n",
        plan.changes.len()
    );
    for s in &plan.servers {
        let changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.server() == s.name)
            .collect();
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "**{}**\n", text(&s.name));
        for c in changes {
            let state = if c.is_blocked() { " (blocked)" } else { "" };
            let _ = writeln!(out, "- {}{state}", describe(c));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "</details>\n");
}

/// `` `-/+` reconnect `web` to `prod-net` … ``: the change's symbol and
/// verb (`plan::Verb`, as in the terminal and the JSON), then what it
/// touches.
fn describe(c: &Change) -> String {
    let what = match c {
        Change::Restore(r) => {
            let of = match &*r.record.change {
                Change::Connect(c) => format!("{} on {}", code(&c.container), code(&c.network)),
                Change::Clone(c) => format!(
                    "{} {}",
                    text(c.resource.kind.as_str()),
                    text(&c.resource.name)
                ),
                other => format!("network {}", code(other.network())),
            };
            format!(
                "the interrupted {} of {of} (journal {})",
                r.record.change.verb(),
                code(&r.journal)
            )
        }
        Change::CreateNetwork(c) => code(&c.network),
        Change::RemoveNetwork(c) => code(&c.network),
        Change::ReplaceNetwork(c) => code(&c.network),
        Change::Connect(c) => match &c.live_aliases {
            Some(live) => format!(
                "{} to {}: disconnect, then connect again with aliases {} → {}",
                code(&c.container),
                code(&c.network),
                code(&live.join(", ")),
                code(&c.aliases.join(", "))
            ),
            None => format!("{} to {}", code(&c.container), code(&c.network)),
        },
        Change::Disconnect(c) => format!("{} from {}", code(&c.container), code(&c.network)),
        Change::UpdateService(c) => format!("{} on {}", code(&c.service), code(&c.network)),
        Change::CloneService(c) => format!("{} into {}", code(&c.source), code(&c.service)),
        Change::Clone(c) => {
            let spec = &c.clone;
            match (&spec.source_project, &spec.target_project) {
                (Some(from), Some(to)) => format!(
                    "stack {} (server {}) → {}",
                    code(from),
                    text(&spec.source_server),
                    code(to)
                ),
                _ => format!(
                    "{} (server {}) → {}",
                    match spec.members.first() {
                        Some(m) => code(&m.source),
                        None => format!(
                            "{} {}",
                            text(spec.source.kind.as_str()),
                            text(&spec.source.name)
                        ),
                    },
                    text(&spec.source_server),
                    code(c.container.as_deref().unwrap_or(&c.resource.name))
                ),
            }
        }
    };
    let verb = c.verb();
    let what = format!("{} {verb} {what}", code(verb.symbol()));
    match c.resource() {
        Some(r) => format!("{what} ({} {})", text(r.kind.as_str()), text(&r.name)),
        None => what,
    }
}

/// The comment for a plan that could not be made: its verdict is the
/// error, with the located messages (an invalid config) and what to do, so
/// a pull request shows why instead of an empty comment.
pub fn markdown_error(message: &str, details: Option<&str>, hint: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### berth plan: ❌ **error**: {}\n", text(message));
    if let Some(hint) = hint {
        let _ = writeln!(out, "> {}\n", text(hint));
    }
    if let Some(details) = details {
        let room = COMMENT_LIMIT.saturating_sub(out.len() + 200);
        let mut body = details.to_string();
        if body.len() > room {
            let mut cut = room;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push_str("\n… (cut to stay under GitHub's comment limit; see the CI log)\n");
        }
        let _ = writeln!(out, "{}", fenced("text", &body));
    }
    out
}

/// A Mermaid flowchart; ids are generated, labels are one line and quoted
/// with `"` and backticks escaped, so no name can leave its node.
pub fn mermaid(t: &crate::plan::Topology) -> String {
    let label = |s: &str| {
        one_line(s)
            .replace('"', "#quot;")
            .replace('`', "#96;")
            .replace(['<', '>'], "")
    };
    let class = |state: TopoState| match state {
        TopoState::Added => ":::added",
        TopoState::Removed => ":::removed",
        TopoState::Changed => ":::changed",
        TopoState::Unchanged => "",
    };
    let mut out = String::from("graph LR\n");
    for (i, s) in t.servers.iter().enumerate() {
        let _ = writeln!(out, "  s{i}[\"server {}\"]", label(&s.name));
        for (j, d) in s.destinations.iter().enumerate() {
            let _ = writeln!(
                out,
                "  s{i}d{j}[\"{}<br/>network {}\"]{}",
                label(&d.name),
                label(&d.network),
                class(d.state)
            );
            let _ = writeln!(out, "  s{i} --> s{i}d{j}");
            for (k, r) in d.resources.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  s{i}d{j}r{k}([\"{} {}\"]){}",
                    label(&r.kind.as_str()),
                    label(&r.name),
                    class(r.state)
                );
                let _ = writeln!(out, "  s{i}d{j} --> s{i}d{j}r{k}");
            }
        }
    }
    out.push_str("  classDef added stroke:#2da44e,stroke-width:3px\n");
    out.push_str("  classDef removed stroke:#cf222e,stroke-width:3px,stroke-dasharray:5\n");
    out.push_str("  classDef changed stroke:#bf8700,stroke-width:3px\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceFile, load};
    use crate::live::{LiveState, Snapshot};
    use crate::plan::ChangeStatus;

    fn plan_for(text: &str) -> Plan {
        let config = load(&[SourceFile {
            path: "b.toml".into(),
            text: text.into(),
        }])
        .unwrap();
        let mut live = LiveState::default();
        for s in &config.servers {
            live.servers.insert(s.name.clone(), Ok(Snapshot::default()));
        }
        crate::plan::plan(&config, &live, Default::default())
    }

    /// Every line of the diagram is a node, an edge between known nodes, or a class.
    fn assert_well_formed(m: &str) {
        let mut lines = m.lines();
        assert_eq!(lines.next(), Some("graph LR"));
        let mut ids = std::collections::HashSet::new();
        for line in lines.map(str::trim) {
            if line.starts_with("classDef ") {
                continue;
            }
            if let Some((a, b)) = line.split_once(" --> ") {
                assert!(
                    ids.contains(a) && ids.contains(b),
                    "edge between unknown nodes: {line}"
                );
                continue;
            }
            let id: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let rest = &line[id.len()..];
            assert!(
                !id.is_empty() && (rest.starts_with("[\"") || rest.starts_with("([\"")),
                "not a node: {line}"
            );
            assert_eq!(rest.matches('"').count(), 2, "quotes: {line}");
            ids.insert(id);
        }
    }

    #[test]
    fn verdict_table_and_a_well_formed_diagram() {
        let p = plan_for(
            "[[server]]\nname = \"s\\\"1\"\naddress = \"local\"\n[[destination]]\nname = \"a<b>\"\nserver = \"s\\\"1\"\nnetwork = \"n\"\n[[application]]\nname = \"api\"\ndestination = \"a<b>\"\n",
        );
        let md = markdown(&p);
        assert!(
            md.starts_with("<!-- berth-plan -->\n### berth plan: 🔶 1 change(s)"),
            "{md}"
        );
        assert!(md.contains("| server | status | create |"), "{md}");
        let m = md
            .split("```mermaid\n")
            .nth(1)
            .unwrap()
            .split("```")
            .next()
            .unwrap();
        assert_well_formed(m);
        assert!(m.contains(":::added"), "{m}");
    }

    #[test]
    fn long_output_folds_details_but_keeps_every_blocked_reason() {
        let mut p = plan_for("[[server]]\nname = \"s\"\naddress = \"local\"\n");
        p.changes
            .push(Change::RemoveNetwork(crate::plan::RemoveNetwork {
                server: "s".into(),
                destination: None,
                network: "old".into(),
                status: ChangeStatus::Blocked,
                reasons: (0..400)
                    .map(|i| format!("container c{i} (unmanaged, running) is attached to old"))
                    .collect(),
                attached: Vec::new(),
                hint: None,
            }));
        for i in 0..3000 {
            p.changes
                .push(Change::CreateNetwork(crate::plan::CreateNetwork {
                    server: "s".into(),
                    destination: "d".into(),
                    network: format!("network-with-a-long-name-{i}"),
                    status: ChangeStatus::Planned,
                    reasons: Vec::new(),
                    spec: crate::config::NetworkSpec {
                        driver: "bridge".into(),
                        internal: false,
                        attachable: false,
                        subnet: None,
                        gateway: None,
                        ip_range: None,
                        enable_ipv6: false,
                        subnet_v6: None,
                        gateway_v6: None,
                        options: Default::default(),
                        labels: Default::default(),
                        subnet_pool: None,
                    },
                }));
        }
        let md = markdown(&p);
        assert!(md.len() <= COMMENT_LIMIT, "{} characters", md.len());
        assert!(md.starts_with("<!-- berth-plan -->\n### berth plan: ⛔ **blocked**"));
        for i in 0..400 {
            assert!(
                md.contains(&format!("container c{i} (unmanaged")),
                "reason {i} was cut"
            );
        }
    }
}

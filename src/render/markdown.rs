//! The pull-request comment: a one-line verdict, a table per server,
//! blocked changes with their reasons in plain sight, the config change,
//! details folded, and a Mermaid diagram. Stays under GitHub's comment
//! limit by folding details away, never by cutting reasons.

use std::fmt::Write;

use super::fleet::{self, View, said_of};
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

/// The comment. [`View::Grouped`] says once what repeats across servers
/// (table rows, blocked changes, conflicts, warnings, the change list),
/// with the servers it is on; [`View::PerServer`] gives one row and one
/// line per server.
pub fn markdown(plan: &Plan, view: View) -> String {
    // Most detailed first; fold until it fits.
    for level in [
        Detail::Full,
        Detail::NoFileDiffs,
        Detail::NoDiagram,
        Detail::NoChangeList,
        Detail::Minimal,
    ] {
        let text = render(plan, level, view);
        if text.len() <= COMMENT_LIMIT {
            return text;
        }
    }
    render(plan, Detail::Minimal, view)
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    Full,
    NoFileDiffs,
    /// The diagram goes before the change list: at fleet size it is the
    /// larger and the less readable.
    NoDiagram,
    NoChangeList,
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

fn render(plan: &Plan, detail: Detail, view: View) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### berth plan: {}\n", verdict(plan));
    let _ = writeln!(out, "Source: {}\n", source(plan));
    table(&mut out, plan, view);
    blocked(&mut out, plan, view);
    servers_and_conflicts(&mut out, plan, view);
    warnings(&mut out, plan, detail, view);
    if let Some(d) = &plan.config_diff {
        config_change(&mut out, d, detail);
    }
    if detail < Detail::NoChangeList {
        change_list(&mut out, plan, view);
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
fn table(out: &mut String, plan: &Plan, view: View) {
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
    let mut by_server: std::collections::HashMap<&str, Vec<&Change>> = Default::default();
    for c in &plan.changes {
        by_server.entry(c.server()).or_default().push(c);
    }
    // Each server's row after its name; identical rows collapse.
    let rows = plan.shown_servers().map(|s| {
        let status = match s.status {
            ServerHealth::Ok => "ok",
            ServerHealth::Error => "❌ error",
            ServerHealth::Skipped => "⏭ not contacted",
        };
        let mine = by_server
            .get(s.name.as_str())
            .map_or(&[][..], Vec::as_slice);
        let planned = super::planned_by_verb(mine.iter().copied());
        let mut row = format!(" {status} |");
        for verb in &columns {
            let _ = write!(row, " {} |", planned.get(verb).copied().unwrap_or(0));
        }
        let blocked = mine.iter().filter(|c| c.is_blocked()).count();
        let _ = write!(
            row,
            " {} |",
            if blocked > 0 {
                format!("**{blocked}**")
            } else {
                "0".into()
            }
        );
        (s.name.as_str(), row)
    });
    let groups = match view {
        View::PerServer => rows.map(|r| vec![r]).collect(),
        View::Grouped => fleet::group(rows, |(_, row)| row.clone()),
    };
    for group in groups {
        let names: Vec<&str> = group.iter().map(|(n, _)| *n).collect();
        let who = match names.as_slice() {
            [one] => code(one),
            many => format!("{} servers: {}", many.len(), fleet::listed(many, code)),
        };
        let _ = writeln!(out, "| {who} |{}", group[0].1);
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

/// What stops the apply, in plain sight; the same blocked change on many
/// servers once, with them.
fn blocked(out: &mut String, plan: &Plan, view: View) {
    let blocked: Vec<&Change> = plan.changes.iter().filter(|c| c.is_blocked()).collect();
    if blocked.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### ⛔ Blocked\n");
    for group in grouped_changes(blocked, view) {
        let c = group[0];
        let n = group.len();
        let names: Vec<&str> = group.iter().map(|c| c.server()).collect();
        let _ = writeln!(
            out,
            "- {} · {}",
            who(&names),
            said_of(&describe(c), c.server(), n)
        );
        for r in c.reasons() {
            let _ = writeln!(out, "  - {}", text(&said_of(r, c.server(), n)));
        }
        if let Some(hint) = c.hint() {
            let _ = writeln!(out, "  - **hint**: {}", text(&said_of(hint, c.server(), n)));
        }
    }
    out.push('\n');
}

/// Changes grouped when the view collapses (identical but for the
/// server), else one each.
fn grouped_changes(changes: Vec<&Change>, view: View) -> Vec<Vec<&Change>> {
    match view {
        View::PerServer => changes.into_iter().map(|c| vec![c]).collect(),
        View::Grouped => fleet::group(changes, |c| fleet::change_key(c)),
    }
}

/// `**s1**`, or `**500 servers** (`a`, `b`, `c` and 497 more)`.
fn who(names: &[&str]) -> String {
    match names {
        [one] => format!("**{}**", text(one)),
        many => format!("**{} servers** ({})", many.len(), fleet::listed(many, code)),
    }
}

fn servers_and_conflicts(out: &mut String, plan: &Plan, view: View) {
    let failed: Vec<_> = plan
        .servers
        .iter()
        .filter(|s| s.status != ServerHealth::Ok)
        .collect();
    if failed.is_empty() && plan.errors.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Servers and conflicts\n");
    let failed = by_view(failed, view, |s| {
        fleet::normalize(s.error.as_deref().unwrap_or("not read"), &s.name)
    });
    for group in failed {
        let s = group[0];
        let names: Vec<&str> = group.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "- {}: {}",
            who(&names),
            text(&said_of(
                s.error.as_deref().unwrap_or("not read"),
                &s.name,
                names.len()
            ))
        );
    }
    let errors = by_view(plan.errors.iter().collect(), view, |e| {
        fleet::normalize(&format!("{}\n{}", e.message, e.hint), &e.server)
    });
    for group in errors {
        let e = group[0];
        let names: Vec<&str> = group.iter().map(|e| e.server.as_str()).collect();
        let n = names.len();
        let _ = writeln!(
            out,
            "- {}: {} ({})",
            who(&names),
            text(&said_of(&e.message, &e.server, n)),
            text(&said_of(&e.hint, &e.server, n))
        );
    }
    out.push('\n');
}

/// `items` grouped by `key` when the view collapses, else one each.
fn by_view<T>(items: Vec<T>, view: View, key: impl Fn(&T) -> String) -> Vec<Vec<T>> {
    match view {
        View::PerServer => items.into_iter().map(|i| vec![i]).collect(),
        View::Grouped => fleet::group(items, key),
    }
}

fn warnings(out: &mut String, plan: &Plan, detail: Detail, view: View) {
    if plan.warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Warnings\n");
    if detail == Detail::Minimal {
        let _ = writeln!(out, "{} warning(s); see the CI log.", plan.warnings.len());
    } else {
        let groups = by_view(plan.warnings.iter().collect(), view, |w| match &w.server {
            Some(s) => fleet::normalize(&w.message, s),
            None => w.message.clone(),
        });
        for group in groups {
            let w = group[0];
            match (group.len(), w.server.as_deref()) {
                (n @ 2.., Some(server)) => {
                    let names: Vec<&str> =
                        group.iter().filter_map(|w| w.server.as_deref()).collect();
                    let _ = writeln!(
                        out,
                        "- {} (on {})",
                        text(&said_of(&w.message, server, n)),
                        fleet::servers_with(&names, code)
                    );
                }
                _ => {
                    for w in group {
                        let _ = writeln!(out, "- {}", text(&w.message));
                    }
                }
            }
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

/// Every change, folded: per destination network, each distinct change
/// once with the servers it is on, or (`View::PerServer`) per server.
fn change_list(out: &mut String, plan: &Plan, view: View) {
    if plan.changes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>All {} change(s)</summary>\n",
        plan.changes.len()
    );
    if view == View::Grouped {
        let mut by_net: std::collections::HashMap<&str, Vec<&Change>> = Default::default();
        for c in &plan.changes {
            by_net.entry(c.network()).or_default().push(c);
        }
        for net in fleet::networks(plan.changes.iter().map(Change::network)) {
            let mine = by_net.remove(net).unwrap_or_default();
            let heading = match fleet::destinations(mine.iter().copied()).as_slice() {
                [] => format!("network {}", code(net)),
                [d] => format!("destination {} · network {}", code(d), code(net)),
                many => format!(
                    "network {} · destinations {}",
                    code(net),
                    fleet::listed(many, code)
                ),
            };
            let _ = writeln!(out, "**{heading}**\n");
            for group in fleet::group(mine, |c| fleet::change_key(c)) {
                let c = group[0];
                let names: Vec<&str> = group.iter().map(|c| c.server()).collect();
                let state = if c.is_blocked() { " (blocked)" } else { "" };
                let _ = writeln!(
                    out,
                    "- {}{state} on {}",
                    said_of(&describe(c), c.server(), names.len()),
                    fleet::servers_with(&names, code)
                );
            }
            out.push('\n');
        }
        let _ = writeln!(out, "</details>\n");
        return;
    }
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
        Change::ReplaceNetwork(c) if c.takeover.is_some() => format!(
            "{}: taken over, berth did not create it (`manage = true`); recreated with berth's labels, berth's from then on",
            code(&c.network)
        ),
        Change::ReplaceNetwork(c) => code(&c.network),
        Change::Connect(c) => {
            let settings = if c.endpoint.is_empty() {
                String::new()
            } else {
                format!(" ({})", code(&c.endpoint.describe()))
            };
            match &c.live_aliases {
                Some(live) if c.aliases_change() => format!(
                    "{} to {}: disconnect, then connect again with aliases {} → {}{settings}",
                    code(&c.container),
                    code(&c.network),
                    code(&live.join(", ")),
                    code(&c.aliases.join(", "))
                ),
                Some(_) => format!(
                    "{} to {}: disconnect, then connect again with aliases {}{settings}",
                    code(&c.container),
                    code(&c.network),
                    code(&c.aliases.join(", "))
                ),
                None => format!("{} to {}{settings}", code(&c.container), code(&c.network)),
            }
        }
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
        let md = markdown(&p, View::Grouped);
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
                        enable_ipv6: None,
                        subnet_v6: None,
                        gateway_v6: None,
                        options: Default::default(),
                        labels: Default::default(),
                        subnet_pool: None,
                        ..Default::default()
                    },
                }));
        }
        let md = markdown(&p, View::Grouped);
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

//! Views of a plan and of an apply report: human text (ANSI styles, stripped
//! by `anstream` for `NO_COLOR` and non-terminals), JSON, and Markdown for
//! pull-request comments.

mod fleet;
pub mod hook;
pub mod html;
mod human;
pub mod locks;
mod markdown;
pub mod status;
pub mod watch;

pub use fleet::View;
pub use human::{apply_report, describe, plan as human, skipped, step_line};
pub use markdown::{COMMENT_LIMIT, MARKER, markdown, markdown_error, mermaid};

use crate::plan::{Plan, Verb};

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan serializes")
}

/// How the views count a verb: in a summary (`2 to create`) and as a
/// table column (`create`). The verb itself (`create network`) is
/// [`Verb::as_str`], the one word every view uses for a change.
pub(crate) struct Counted {
    pub summary: &'static str,
    pub column: &'static str,
}

/// The one table of counted verbs every view uses.
pub(crate) fn counted(verb: Verb) -> Counted {
    let (summary, column) = match verb {
        Verb::Restore => ("to restore", "restore"),
        Verb::CreateNetwork => ("to create", "create"),
        Verb::ReplaceNetwork => ("to replace", "replace"),
        Verb::Clone => ("to clone", "clone"),
        Verb::CloneService => ("service(s) to clone", "clone service"),
        Verb::UpdateService => ("service(s) to update", "update service"),
        Verb::Connect => ("to connect", "connect"),
        Verb::Reconnect => ("to reconnect", "reconnect"),
        Verb::Disconnect => ("to disconnect", "disconnect"),
        Verb::RemoveNetwork => ("to remove", "remove"),
    };
    Counted { summary, column }
}

/// Planned (not blocked) changes per verb, in the order of [`Verb::ALL`].
pub(crate) fn planned_by_verb<'a>(
    changes: impl IntoIterator<Item = &'a crate::plan::Change>,
) -> std::collections::BTreeMap<Verb, usize> {
    let mut out = std::collections::BTreeMap::new();
    for c in changes.into_iter().filter(|c| !c.is_blocked()) {
        *out.entry(c.verb()).or_insert(0) += 1;
    }
    out
}

//! Views of a plan and of an apply report: human text (ANSI styles, stripped
//! by `anstream` for `NO_COLOR` and non-terminals), JSON, and Markdown for
//! pull-request comments.

mod human;
mod markdown;
pub mod status;

pub use human::{apply_report, describe, plan as human, step_line};
pub use markdown::{COMMENT_LIMIT, MARKER, markdown, markdown_error, mermaid};

use crate::plan::{Action, Plan};

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan serializes")
}

/// How the views name an action: in a summary (`2 to create`) and as a
/// table column (`create`).
pub(crate) struct Verbs {
    pub summary: &'static str,
    pub column: &'static str,
}

/// The one table of action verbs every view uses.
pub(crate) fn verbs(action: Action) -> Verbs {
    let (summary, column) = match action {
        Action::Restore => ("to restore", "restore"),
        Action::CreateNetwork => ("to create", "create"),
        Action::ReplaceNetwork => ("to replace", "replace"),
        Action::Clone => ("to clone", "clone"),
        Action::CloneService => ("service(s) to clone", "clone service"),
        Action::UpdateService => ("service(s) to update", "update service"),
        Action::Connect => ("to connect", "connect"),
        Action::Disconnect => ("to disconnect", "disconnect"),
        Action::RemoveNetwork => ("to remove", "remove"),
    };
    Verbs { summary, column }
}

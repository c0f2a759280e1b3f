//! Views of a plan and of an apply report: human text (ANSI styles, stripped
//! by `anstream` for `NO_COLOR` and non-terminals), JSON, and Markdown for
//! pull-request comments.

mod human;
mod markdown;

pub use human::{apply_report, plan as human, step_line};
pub use markdown::{COMMENT_LIMIT, MARKER, markdown, mermaid};

use crate::plan::Plan;

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan serializes")
}

//! Views of a plan and of an apply report: human text (ANSI styles, stripped
//! by `anstream` for `NO_COLOR` and non-terminals) and JSON.

mod human;

pub use human::{apply_report, plan as human, step_line};

use crate::plan::Plan;

pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan serializes")
}

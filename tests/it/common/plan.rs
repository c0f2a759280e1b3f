//! berth steps on a [`Project`] (plan, apply) and accessors for the JSON
//! plan they print.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Project, Run};

// ---------------------------------------------------------------------------
// berth steps
// ---------------------------------------------------------------------------

/// `berth plan --format json EXTRA...`, checked for `code`.
pub fn plan_json(p: &Project, extra: &[&str], code: i32) -> (Run, Value) {
    let mut args = vec!["plan", "--format", "json"];
    args.extend(extra);
    let run = p.berth(&args);
    run.expect_code(code);
    let plan = run.json();
    (run, plan)
}

/// `berth plan --format json`, checked for `code`.
pub fn plan(p: &Project, code: i32) -> (Run, Value) {
    plan_json(p, &[], code)
}

/// `berth plan --format json --detailed-exitcode`, checked for `code`.
pub fn plan_detailed(p: &Project, code: i32) -> (Run, Value) {
    plan_json(p, &["--detailed-exitcode"], code)
}

/// `berth apply --yes EXTRA...`, checked for `code`.
pub fn apply(p: &Project, extra: &[&str], code: i32) -> Run {
    let mut args = vec!["apply", "--yes"];
    args.extend(extra);
    let run = p.berth(&args);
    run.expect_code(code);
    run
}

// ---------------------------------------------------------------------------
// Plan JSON
// ---------------------------------------------------------------------------

/// The `changes` array of a plan.
pub fn changes(plan: &Value) -> &[Value] {
    plan["changes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("plan has no `changes` array: {plan:#}"))
}

/// The changes of a plan that concern `network`.
pub fn changes_for<'a>(plan: &'a Value, network: &str) -> Vec<&'a Value> {
    changes(plan)
        .iter()
        .filter(|c| c["network"] == network)
        .collect()
}

/// The one change of `action` on `network`; panics (showing the run) unless
/// there is exactly one.
pub fn the_change<'a>(run: &Run, plan: &'a Value, action: &str, network: &str) -> &'a Value {
    let found: Vec<_> = changes_for(plan, network)
        .into_iter()
        .filter(|c| c["action"] == action)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one `{action}` of {network}\n{run}"
    );
    found[0]
}

pub fn assert_no_changes(run: &Run, plan: &Value) {
    assert!(
        changes(plan).is_empty(),
        "expected a plan without changes\n{run}"
    );
}

/// `berth plan --format json --detailed-exitcode` exits 0 and plans no
/// changes.
pub fn assert_settled(p: &Project) {
    let (run, plan) = plan_detailed(p, 0);
    assert_no_changes(&run, &plan);
}

/// The warnings of `code` in a plan.
pub fn warnings_of<'a>(plan: &'a Value, code: &str) -> Vec<&'a Value> {
    plan["warnings"]
        .as_array()
        .map(|w| w.iter().filter(|w| w["code"] == code).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// JSON strings
// ---------------------------------------------------------------------------

/// The strings of a JSON array (empty when it is not one).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON array of strings as a set.
pub fn string_set(v: &Value) -> BTreeSet<String> {
    strings(v).into_iter().collect()
}

pub fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}

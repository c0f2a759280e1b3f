//! `[settings]`: at most one table; the owner label value; `partial`.

use super::super::load::RawConfig;
use super::super::model::DEFAULT_OWNER;
use crate::diag::Diagnostic;

/// The owner the config declares (default `berth`); a second `[settings]`
/// table is an error at each repetition.
pub(super) fn settings(raw: &RawConfig, errors: &mut Vec<Diagnostic>) -> String {
    let [first, rest @ ..] = raw.settings.as_slice() else {
        return DEFAULT_OWNER.to_string();
    };
    for again in rest {
        errors.push(
            Diagnostic::new("more than one [settings] table", again.at.clone())
                .label("second [settings]")
                .related(first.at.clone(), "first [settings] here")
                .help("keep a single [settings] table in the whole config"),
        );
    }
    let Some(owner) = &first.raw.owner else {
        return DEFAULT_OWNER.to_string();
    };
    if !valid_label_value(owner) {
        errors.push(
            Diagnostic::new(
                "`owner` must be a non-empty label value without spaces",
                first.loc("owner"),
            )
            .label("invalid owner"),
        );
    }
    owner.clone()
}

/// `partial` of the first `[settings]` table (default `false`).
pub(super) fn partial(raw: &RawConfig) -> bool {
    raw.settings
        .first()
        .and_then(|s| s.raw.partial)
        .unwrap_or(false)
}

fn valid_label_value(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_whitespace)
}

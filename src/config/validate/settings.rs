//! `[settings]`: at most one table; the owner label value; `partial`;
//! `ssh_persist`.

use super::super::load::RawConfig;
use std::time::Duration;

use super::super::model::{DEFAULT_OWNER, DEFAULT_SSH_PERSIST, MAX_SSH_PERSIST};
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

/// `ssh_persist` of the first `[settings]` table (default 60 s): a
/// duration like `60s` or `5m`, at most a day.
pub(super) fn ssh_persist(raw: &RawConfig, errors: &mut Vec<Diagnostic>) -> Duration {
    let Some(first) = raw.settings.first() else {
        return DEFAULT_SSH_PERSIST;
    };
    let Some(text) = &first.raw.ssh_persist else {
        return DEFAULT_SSH_PERSIST;
    };
    let problem = match humantime::parse_duration(text.trim()) {
        Ok(d) if d <= MAX_SSH_PERSIST => return d,
        Ok(_) | Err(humantime::DurationError::NumberOverflow) => "longer than a day".to_string(),
        Err(e) => format!("not a duration ({e})"),
    };
    errors.push(
        Diagnostic::new(
            format!("`ssh_persist` is {problem}"),
            first.loc("ssh_persist"),
        )
        .label("invalid duration")
        .help("write how long an idle SSH connection stays for the next run, e.g. \"60s\" or \"5m\" (at most \"24h\"); \"0s\" turns reuse off"),
    );
    DEFAULT_SSH_PERSIST
}

fn valid_label_value(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_whitespace)
}

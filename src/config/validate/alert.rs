//! `[[alert]]`: a known `kind`, the URL's place (`url_env` or `url_file`,
//! exactly one), known conditions, `grace` and `max_per_hour`.

use std::path::PathBuf;

use super::super::alert::{
    Alert, AlertCondition, AlertKind, DEFAULT_GRACE, DEFAULT_MAX_PER_HOUR, UrlFrom,
};
use super::super::load::{Entry, did_you_mean};
use super::super::raw::RawAlert;
use crate::diag::Diagnostic;

pub(super) fn alert(e: &Entry<RawAlert>, errors: &mut Vec<Diagnostic>) -> Option<Alert> {
    let before = errors.len();
    let r = &e.raw;
    let kind = AlertKind::ALL
        .iter()
        .find(|(name, _)| *name == r.kind)
        .map(|(_, k)| *k);
    if kind.is_none() {
        let names: Vec<&str> = AlertKind::ALL.iter().map(|(n, _)| *n).collect();
        let d = Diagnostic::new(
            format!("unknown alert kind `{}`", r.kind.escape_default()),
            e.loc("kind"),
        )
        .label("unknown kind");
        errors.push(match did_you_mean(&r.kind, &names) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d.help(format!("kinds: {}", names.join(", "))),
        });
    }
    let url = url(e, errors);
    let on = conditions(e, errors);
    let grace = match &r.grace {
        None => DEFAULT_GRACE,
        Some(text) => match humantime::parse_duration(text.trim()) {
            Ok(d) => d,
            Err(err) => {
                errors.push(
                    Diagnostic::new(
                        format!("`grace` is not a duration ({err})"),
                        e.loc("grace"),
                    )
                    .label("invalid duration")
                    .help("write how long a condition holds before the alert fires, e.g. \"30s\" or \"2m\""),
                );
                DEFAULT_GRACE
            }
        },
    };
    let max_per_hour = r.max_per_hour.unwrap_or(DEFAULT_MAX_PER_HOUR);
    if max_per_hour == 0 {
        errors.push(
            Diagnostic::new("`max_per_hour` is 0: the alert would never send", e.loc("max_per_hour"))
                .label("zero")
                .help("write how many notifications it may send in an hour, e.g. 30, or remove the [[alert]] table"),
        );
    }
    if errors.len() > before {
        return None;
    }
    Some(Alert {
        name: r.name.clone(),
        kind: kind?,
        url: url?,
        on,
        grace,
        max_per_hour,
        at: e.loc("name"),
    })
}

/// `url_env` or `url_file`, exactly one.
fn url(e: &Entry<RawAlert>, errors: &mut Vec<Diagnostic>) -> Option<UrlFrom> {
    let r = &e.raw;
    match (&r.url_env, &r.url_file) {
        (Some(var), None) => {
            let valid = !var.is_empty()
                && !var.starts_with(|c: char| c.is_ascii_digit())
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                Some(UrlFrom::Env(var.clone()))
            } else {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "`url_env` must name an environment variable, not `{}`",
                            var.escape_default()
                        ),
                        e.loc("url_env"),
                    )
                    .label("not a variable name")
                    .help("write the variable's name (letters, digits, `_`), e.g. `url_env = \"BERTH_ALERT_URL\"`, and set it where watch runs"),
                );
                None
            }
        }
        (None, Some(path)) if !path.trim().is_empty() => Some(UrlFrom::File(PathBuf::from(path))),
        (None, Some(_)) => {
            errors.push(
                Diagnostic::new("`url_file` is empty", e.loc("url_file"))
                    .label("empty path")
                    .help("write the path of a file holding the URL, e.g. `url_file = \"/etc/berth/alert-url\"`"),
            );
            None
        }
        (Some(_), Some(_)) => {
            errors.push(
                Diagnostic::new("`url_env` and `url_file` are exclusive", e.loc("url_file"))
                    .label("second source of the URL")
                    .related(e.loc("url_env"), "`url_env` here")
                    .help("keep one of them"),
            );
            None
        }
        (None, None) => {
            errors.push(
                Diagnostic::new(
                    format!("alert `{}` does not say where its URL is", r.name),
                    e.at.clone(),
                )
                .label("no `url_env` or `url_file`")
                .help("add `url_env = \"BERTH_ALERT_URL\"` (an environment variable holding the URL) or `url_file = \"/etc/berth/alert-url\"`"),
            );
            None
        }
    }
}

/// `on`: known conditions, each once, at least one.
fn conditions(e: &Entry<RawAlert>, errors: &mut Vec<Diagnostic>) -> Vec<AlertCondition> {
    let names: Vec<&str> = AlertCondition::ALL.iter().map(|c| c.as_str()).collect();
    let mut on = Vec::new();
    for word in &e.raw.on {
        match AlertCondition::ALL.iter().find(|c| c.as_str() == word) {
            Some(c) if on.contains(c) => errors.push(
                Diagnostic::new(format!("condition `{word}` is listed twice"), e.loc("on"))
                    .label("duplicate condition")
                    .help("list each condition once"),
            ),
            Some(c) => on.push(*c),
            None => {
                let d = Diagnostic::new(
                    format!("unknown alert condition `{}`", word.escape_default()),
                    e.loc("on"),
                )
                .label("unknown condition");
                errors.push(match did_you_mean(word, &names) {
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None => d.help(format!("conditions: {}", names.join(", "))),
                });
            }
        }
    }
    if e.raw.on.is_empty() {
        errors.push(
            Diagnostic::new("`on` lists no condition", e.loc("on"))
                .label("empty")
                .help(format!("list what to notify, e.g. `on = [\"server_down\", \"not_healing\"]`; conditions: {}", names.join(", "))),
        );
    }
    on
}

//! What the push hooks tell the pusher (git relays it as `remote:` lines):
//! which commit is checked or applied, and the verdict on a push with every
//! reason for a rejection, styled like berth's other errors and hints.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::ops::hook::{Installed, Push, Reason, Verdict};

const ERROR: Style = AnsiColor::Red.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default().bold();

/// `berth: planning main at 0123456789ab against the live servers`.
pub fn checking(push: &Push) -> String {
    format!(
        "berth: planning {} at {} against the live servers",
        push.branch,
        push.short()
    )
}

/// `berth: applying main at 0123456789ab`.
pub fn applying(push: &Push) -> String {
    format!("berth: applying {} at {}", push.branch, push.short())
}

/// The end of a post-receive whose apply did not complete.
pub fn apply_incomplete(push: &Push) -> String {
    error(&format!(
        "applying {} at {} did not complete (above)",
        push.branch,
        push.short()
    ))
}

/// The verdict's closing lines. A rejection gives each reason (an invalid
/// config's every located problem first), then one hint per kind of
/// reason.
pub fn verdict(push: &Push, verdict: &Verdict) -> String {
    let short = push.short();
    let reasons = match verdict {
        Verdict::Accept => {
            return format!("berth: the plan for {short} is clean; the push is accepted\n");
        }
        Verdict::AcceptSkipping(skipped) => {
            return format!(
                "berth: the push is accepted (settings.partial): applying {short} leaves the servers below as they are and applies the others\n{}\n",
                super::skipped(skipped)
            );
        }
        Verdict::Reject(reasons) => reasons,
    };
    let mut out = String::new();
    let mut lines = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    for reason in reasons {
        let (line, hint) = match reason {
            Reason::Config(e) => match e.diagnostics() {
                Some(d) => {
                    let _ = writeln!(out, "{}", d.render(true));
                    (
                        format!(
                            "the config at {short} is invalid ({} problem(s) above)",
                            d.errors.len()
                        ),
                        "fix the config, commit, and push again".to_string(),
                    )
                }
                None => (
                    format!("the config at {short} cannot be read: {e}"),
                    e.hint()
                        .unwrap_or_else(|| "fix the config, commit, and push again".to_string()),
                ),
            },
            Reason::Unreadable { server, error } => (
                format!("server {server} could not be read: {error}"),
                "a push is accepted only when every server answers: bring the server back (or take it out of the config), then push again".to_string(),
            ),
            Reason::Errors(n) => (
                format!("the plan for {short} has {n} error(s) (above)"),
                "fix what each error names (with [settings] strict = true, a declared resource that matches nothing is one), then push again".to_string(),
            ),
            Reason::Blocked(n) => (
                format!("the plan for {short} has {n} blocked change(s) (reasons above)"),
                "resolve what blocks them (e.g. detach the containers named above), then push again"
                    .to_string(),
            ),
        };
        lines.push(line);
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }
    match &lines[..] {
        [one] => out.push_str(&error(&format!("push rejected: {one}"))),
        many => {
            out.push_str(&error("push rejected:"));
            for line in many {
                let _ = writeln!(out, "  - {line}");
            }
        }
    }
    for hint in hints {
        let _ = writeln!(out, "  {HINT}hint:{HINT:#} {hint}");
    }
    out
}

/// `Installed /srv/x.git/hooks/pre-receive for branch main.`
pub fn installed(installed: &Installed, branch: &str) -> String {
    let hooks: Vec<String> = installed
        .hooks
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!("Installed {} for branch {branch}.", hooks.join(" and "))
}

/// `error: …` on its own line.
fn error(message: &str) -> String {
    format!("{ERROR}error:{ERROR:#} {message}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push() -> Push {
        Push {
            branch: "main".into(),
            old: None,
            new: "0123456789abcdef0123456789abcdef01234567".into(),
        }
    }

    fn plain(s: &str) -> String {
        anstream::adapter::strip_str(s).to_string()
    }

    #[test]
    fn an_accepted_push_says_so() {
        assert_eq!(
            verdict(&push(), &Verdict::Accept),
            "berth: the plan for 0123456789ab is clean; the push is accepted\n"
        );
    }

    #[test]
    fn one_reason_is_one_line_and_its_hint() {
        let v = Verdict::Reject(vec![Reason::Blocked(2)]);
        assert_eq!(
            plain(&verdict(&push(), &v)),
            "error: push rejected: the plan for 0123456789ab has 2 blocked change(s) (reasons above)\n  hint: resolve what blocks them (e.g. detach the containers named above), then push again\n"
        );
    }

    #[test]
    fn several_reasons_are_listed_each_hint_once() {
        let v = Verdict::Reject(vec![
            Reason::Unreadable {
                server: "a".into(),
                error: "connection refused".into(),
            },
            Reason::Unreadable {
                server: "b".into(),
                error: "timed out".into(),
            },
            Reason::Blocked(1),
        ]);
        let text = plain(&verdict(&push(), &v));
        assert_eq!(
            text.lines().take(4).collect::<Vec<_>>(),
            [
                "error: push rejected:",
                "  - server a could not be read: connection refused",
                "  - server b could not be read: timed out",
                "  - the plan for 0123456789ab has 1 blocked change(s) (reasons above)",
            ]
        );
        assert_eq!(text.matches("hint:").count(), 2, "{text}");
    }
}

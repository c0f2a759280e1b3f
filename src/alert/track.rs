//! Which alert conditions are open, and when each fires and resolves:
//! exactly one `firing` notice per alert, condition and subject once the
//! condition has held for the alert's grace (at once for `apply_failed`
//! and `config_invalid`), then exactly one `resolved` when it ends; a
//! condition that ends within its grace sends nothing. Pure: watch hands
//! it what it saw and the time.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use super::{FORMAT_VERSION, Notice, NoticeState};
use crate::config::{Alert, AlertCondition};

/// What watch saw that opens or closes a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The server cannot be reached.
    Down { server: String, error: String },
    /// The server was reached and planned.
    Up { server: String },
    /// A change the server's plan makes that watch does not apply, and why.
    Held {
        server: String,
        change: String,
        why: String,
    },
    /// A change watch applied failed.
    Failed {
        server: String,
        change: String,
        error: String,
    },
    /// A change watch applied went through.
    Applied { server: String, change: String },
    /// A plan of the server is done: a change it no longer holds back or
    /// failed to apply is no longer outstanding.
    Synced { server: String },
    /// `git fetch` failed.
    FetchFailed { what: String, error: String },
    /// `git fetch` went through.
    Fetched,
    /// A new config is invalid; `last_good` stays in force.
    ConfigInvalid {
        commit: Option<String>,
        reference: Option<String>,
        last_good: Option<String>,
        message: String,
    },
    /// A valid config was read.
    ConfigValid { commit: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    alert: usize,
    condition: AlertCondition,
    subject: String,
}

#[derive(Debug, Clone)]
struct Open {
    since: SystemTime,
    fired: bool,
    /// The server's sync in which it was last seen.
    seen: u64,
    server: Option<String>,
    summary: String,
    detail: String,
    commit: Option<String>,
    last_good: Option<String>,
}

/// What opens a condition: its subject, what to say, and about what.
struct Opening {
    condition: AlertCondition,
    subject: String,
    server: Option<String>,
    summary: String,
    detail: String,
    commit: Option<String>,
    last_good: Option<String>,
}

struct Rule {
    name: String,
    on: Vec<AlertCondition>,
    grace: Duration,
}

/// The open conditions of every alert.
pub struct Tracker {
    rules: Vec<Rule>,
    owner: String,
    open: BTreeMap<Key, Open>,
    /// Each server's sync under way (counts its finished syncs).
    syncs: HashMap<String, u64>,
}

impl Tracker {
    pub fn new(alerts: &[Alert], owner: &str) -> Tracker {
        Tracker {
            rules: alerts
                .iter()
                .map(|a| Rule {
                    name: a.name.clone(),
                    on: a.on.clone(),
                    grace: a.grace,
                })
                .collect(),
            owner: owner.to_string(),
            open: BTreeMap::new(),
            syncs: HashMap::new(),
        }
    }

    /// Takes in what watch saw at `now`; the notices that are due at once.
    pub fn observe(&mut self, signal: Signal, now: SystemTime) -> Vec<Notice> {
        let mut out = Vec::new();
        match signal {
            Signal::Down { server, error } => self.open(
                Opening {
                    condition: AlertCondition::ServerDown,
                    subject: format!("server {server}"),
                    summary: format!("server {server} is unreachable"),
                    server: Some(server),
                    detail: error,
                    commit: None,
                    last_good: None,
                },
                now,
                &mut out,
            ),
            Signal::Up { server } => self.close(
                |k, _| {
                    k.condition == AlertCondition::ServerDown
                        && k.subject == format!("server {server}")
                },
                |_| format!("server {server} is reachable again"),
                None,
                now,
                &mut out,
            ),
            Signal::Held {
                server,
                change,
                why,
            } => self.open(
                Opening {
                    condition: AlertCondition::NotHealing,
                    subject: format!("server {server}: {change}"),
                    summary: format!("server {server}: {change} is not applied"),
                    server: Some(server),
                    detail: why,
                    commit: None,
                    last_good: None,
                },
                now,
                &mut out,
            ),
            Signal::Failed {
                server,
                change,
                error,
            } => self.open(
                Opening {
                    condition: AlertCondition::ApplyFailed,
                    subject: format!("server {server}: {change}"),
                    summary: format!("server {server}: {change} failed"),
                    server: Some(server),
                    detail: error,
                    commit: None,
                    last_good: None,
                },
                now,
                &mut out,
            ),
            Signal::Applied { server, change } => {
                let subject = format!("server {server}: {change}");
                self.close(
                    |k, _| k.condition == AlertCondition::ApplyFailed && k.subject == subject,
                    |_| format!("{subject}: applied"),
                    None,
                    now,
                    &mut out,
                );
            }
            Signal::Synced { server } => {
                let sync = self.sync(&server);
                self.close(
                    |k, o| {
                        matches!(
                            k.condition,
                            AlertCondition::NotHealing | AlertCondition::ApplyFailed
                        ) && o.server.as_deref() == Some(&server)
                            && o.seen != sync
                    },
                    |subject| format!("{subject}: no longer outstanding"),
                    None,
                    now,
                    &mut out,
                );
                *self.syncs.entry(server).or_default() += 1;
            }
            Signal::FetchFailed { what, error } => self.open(
                Opening {
                    condition: AlertCondition::FetchFailed,
                    summary: format!("{what} fails"),
                    subject: what,
                    server: None,
                    detail: error,
                    commit: None,
                    last_good: None,
                },
                now,
                &mut out,
            ),
            Signal::Fetched => self.close(
                |k, _| k.condition == AlertCondition::FetchFailed,
                |subject| format!("{subject} works again"),
                None,
                now,
                &mut out,
            ),
            Signal::ConfigInvalid {
                commit,
                reference,
                last_good,
                message,
            } => {
                let what = match (&commit, &reference) {
                    (Some(c), Some(r)) => format!("commit {} of {r}", short(c)),
                    (Some(c), None) => format!("commit {}", short(c)),
                    _ => "the new config".to_string(),
                };
                let keeps = match &last_good {
                    Some(c) => format!("commit {}", short(c)),
                    None => "the previous config".to_string(),
                };
                self.open(
                    Opening {
                        condition: AlertCondition::ConfigInvalid,
                        subject: "config".to_string(),
                        summary: format!(
                            "{what} has an invalid config: watch keeps {keeps} in force"
                        ),
                        server: None,
                        detail: message,
                        commit,
                        last_good,
                    },
                    now,
                    &mut out,
                );
            }
            Signal::ConfigValid { commit } => self.close(
                |k, _| k.condition == AlertCondition::ConfigInvalid,
                |_| match &commit {
                    Some(c) => format!("the config is valid again (commit {})", short(c)),
                    None => "the config is valid again".to_string(),
                },
                Some(commit.clone()),
                now,
                &mut out,
            ),
        }
        out
    }

    /// The lasting conditions that have now held for their alert's grace.
    pub fn due(&mut self, now: SystemTime) -> Vec<Notice> {
        let mut out = Vec::new();
        for (key, open) in &mut self.open {
            let grace = self.rules[key.alert].grace;
            let held = now.duration_since(open.since).unwrap_or_default();
            if !open.fired && held >= grace {
                open.fired = true;
                out.push(notice(
                    &self.rules[key.alert].name,
                    &self.owner,
                    key,
                    open,
                    NoticeState::Firing,
                    now,
                ));
            }
        }
        out
    }

    /// How many conditions are open (fired or within their grace).
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    fn sync(&self, server: &str) -> u64 {
        self.syncs.get(server).copied().unwrap_or(0)
    }

    /// Opens the condition for every alert that notifies it, or updates
    /// what it says; one that is not lasting fires at once.
    fn open(&mut self, o: Opening, now: SystemTime, out: &mut Vec<Notice>) {
        let sync = o.server.as_deref().map_or(0, |s| self.sync(s));
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.on.contains(&o.condition) {
                continue;
            }
            let key = Key {
                alert: i,
                condition: o.condition,
                subject: o.subject.clone(),
            };
            let entry = self.open.entry(key.clone()).or_insert_with(|| Open {
                since: now,
                fired: false,
                seen: sync,
                server: o.server.clone(),
                summary: o.summary.clone(),
                detail: String::new(),
                commit: None,
                last_good: None,
            });
            entry.seen = sync;
            if !entry.fired {
                // What the notice says is what was last seen before it fires.
                entry.summary.clone_from(&o.summary);
                entry.detail.clone_from(&o.detail);
                entry.commit.clone_from(&o.commit);
                entry.last_good.clone_from(&o.last_good);
            }
            if !entry.fired && !o.condition.lasting() {
                entry.fired = true;
                out.push(notice(
                    &rule.name,
                    &self.owner,
                    &key,
                    entry,
                    NoticeState::Firing,
                    now,
                ));
            }
        }
    }

    /// Closes the conditions `which` selects; one that fired says so
    /// (`resolved(subject)`), one within its grace ends in silence.
    fn close(
        &mut self,
        which: impl Fn(&Key, &Open) -> bool,
        resolved: impl Fn(&str) -> String,
        commit: Option<Option<String>>,
        now: SystemTime,
        out: &mut Vec<Notice>,
    ) {
        let closing: Vec<Key> = self
            .open
            .iter()
            .filter(|(k, o)| which(k, o))
            .map(|(k, _)| k.clone())
            .collect();
        for key in closing {
            let Some(mut open) = self.open.remove(&key) else {
                continue;
            };
            if !open.fired {
                continue;
            }
            open.summary = resolved(&key.subject);
            open.detail = String::new();
            if let Some(c) = &commit {
                open.commit.clone_from(c);
                open.last_good = None;
            }
            out.push(notice(
                &self.rules[key.alert].name,
                &self.owner,
                &key,
                &open,
                NoticeState::Resolved,
                now,
            ));
        }
    }
}

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

fn notice(
    alert: &str,
    owner: &str,
    key: &Key,
    open: &Open,
    state: NoticeState,
    now: SystemTime,
) -> Notice {
    let time = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    Notice {
        format_version: FORMAT_VERSION,
        alert: alert.to_string(),
        condition: key.condition,
        state,
        subject: key.subject.clone(),
        server: open.server.clone(),
        summary: open.summary.clone(),
        detail: open.detail.clone(),
        since: time(open.since),
        at: time(now),
        owner: owner.to_string(),
        commit: open.commit.clone(),
        last_good_commit: open.last_good.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::config::{AlertKind, UrlFrom};
    use crate::diag::Location;

    fn alert(name: &str, on: &[AlertCondition], grace: u64) -> Alert {
        Alert {
            name: name.into(),
            kind: AlertKind::Webhook,
            url: UrlFrom::Env("X".into()),
            on: on.to_vec(),
            grace: Duration::from_secs(grace),
            max_per_hour: 30,
            at: Location {
                file: "a.toml".into(),
                span: 0..0,
            },
        }
    }

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn states(n: &[Notice]) -> Vec<(String, AlertCondition, NoticeState)> {
        n.iter()
            .map(|n| (n.alert.clone(), n.condition, n.state))
            .collect()
    }

    #[test]
    fn a_server_down_fires_once_after_its_grace_and_resolves_once() {
        let mut t = Tracker::new(&[alert("ops", &[AlertCondition::ServerDown], 10)], "me");
        let down = |e: &str| Signal::Down {
            server: "s1".into(),
            error: e.into(),
        };
        assert!(t.observe(down("refused"), at(0)).is_empty());
        assert!(t.due(at(5)).is_empty(), "within the grace");
        assert!(t.observe(down("timed out"), at(6)).is_empty());
        let fired = t.due(at(10));
        assert_eq!(
            states(&fired),
            [(
                "ops".into(),
                AlertCondition::ServerDown,
                NoticeState::Firing
            )]
        );
        assert_eq!(fired[0].summary, "server s1 is unreachable");
        assert_eq!(fired[0].detail, "timed out", "the last error seen");
        assert_eq!(fired[0].since, "2027-01-15T08:00:00Z");
        assert!(t.observe(down("refused"), at(11)).is_empty());
        assert!(t.due(at(60)).is_empty(), "once until it resolves");
        let up = t.observe(
            Signal::Up {
                server: "s1".into(),
            },
            at(61),
        );
        assert_eq!(
            states(&up),
            [(
                "ops".into(),
                AlertCondition::ServerDown,
                NoticeState::Resolved
            )]
        );
        assert_eq!(up[0].summary, "server s1 is reachable again");
        assert!(
            t.observe(
                Signal::Up {
                    server: "s1".into()
                },
                at(62)
            )
            .is_empty()
        );
        assert_eq!(t.open_count(), 0);
    }

    #[test]
    fn a_blip_within_the_grace_sends_nothing_and_alerts_notify_only_their_conditions() {
        let mut t = Tracker::new(
            &[
                alert("ops", &[AlertCondition::ServerDown], 10),
                alert("git", &[AlertCondition::FetchFailed], 0),
            ],
            "me",
        );
        t.observe(
            Signal::Down {
                server: "s1".into(),
                error: "x".into(),
            },
            at(0),
        );
        assert!(
            t.observe(
                Signal::Up {
                    server: "s1".into()
                },
                at(3)
            )
            .is_empty()
        );
        assert!(t.due(at(30)).is_empty());
        t.observe(
            Signal::FetchFailed {
                what: "git fetch in /r".into(),
                error: "no route".into(),
            },
            at(31),
        );
        let fired = t.due(at(31));
        assert_eq!(
            states(&fired),
            [(
                "git".into(),
                AlertCondition::FetchFailed,
                NoticeState::Firing
            )]
        );
        assert_eq!(fired[0].summary, "git fetch in /r fails");
        let ok = t.observe(Signal::Fetched, at(40));
        assert_eq!(ok[0].summary, "git fetch in /r works again");
    }

    #[test]
    fn a_held_change_resolves_at_the_first_sync_that_no_longer_holds_it() {
        let mut t = Tracker::new(
            &[alert(
                "ops",
                &[AlertCondition::NotHealing, AlertCondition::ApplyFailed],
                5,
            )],
            "me",
        );
        let held = || Signal::Held {
            server: "s1".into(),
            change: "remove network old".into(),
            why: "blocked: in use".into(),
        };
        let synced = || Signal::Synced {
            server: "s1".into(),
        };
        t.observe(held(), at(0));
        t.observe(synced(), at(0));
        t.observe(held(), at(3));
        t.observe(synced(), at(3));
        let fired = t.due(at(6));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].subject, "server s1: remove network old");
        assert_eq!(fired[0].detail, "blocked: in use");
        // A failed apply fires at once, whatever the grace.
        let failed = t.observe(
            Signal::Failed {
                server: "s1".into(),
                change: "connect a on n".into(),
                error: "no such network".into(),
            },
            at(7),
        );
        assert_eq!(
            states(&failed),
            [(
                "ops".into(),
                AlertCondition::ApplyFailed,
                NoticeState::Firing
            )]
        );
        // The next sync holds the removal still; the connect went through.
        t.observe(held(), at(8));
        let applied = t.observe(
            Signal::Applied {
                server: "s1".into(),
                change: "connect a on n".into(),
            },
            at(8),
        );
        assert_eq!(applied[0].state, NoticeState::Resolved);
        assert!(t.observe(synced(), at(8)).is_empty());
        // Then the removal is no longer planned.
        let gone = t.observe(synced(), at(9));
        assert_eq!(
            states(&gone),
            [(
                "ops".into(),
                AlertCondition::NotHealing,
                NoticeState::Resolved
            )]
        );
        assert_eq!(
            gone[0].summary,
            "server s1: remove network old: no longer outstanding"
        );
    }

    #[test]
    fn an_invalid_commit_fires_at_once_naming_it_and_the_last_good_one() {
        let mut t = Tracker::new(&[alert("ops", &[AlertCondition::ConfigInvalid], 60)], "me");
        let invalid = |c: &str| Signal::ConfigInvalid {
            commit: Some(c.into()),
            reference: Some("origin/main".into()),
            last_good: Some("1111111111111111".into()),
            message: "error: unknown key".into(),
        };
        let fired = t.observe(invalid("2222222222222222"), at(0));
        assert_eq!(fired.len(), 1);
        assert_eq!(
            fired[0].summary,
            "commit 222222222222 of origin/main has an invalid config: watch keeps commit 111111111111 in force"
        );
        assert_eq!(fired[0].commit.as_deref(), Some("2222222222222222"));
        assert_eq!(
            fired[0].last_good_commit.as_deref(),
            Some("1111111111111111")
        );
        assert!(
            t.observe(invalid("3333"), at(5)).is_empty(),
            "one until it resolves"
        );
        let valid = t.observe(
            Signal::ConfigValid {
                commit: Some("4444".into()),
            },
            at(9),
        );
        assert_eq!(valid[0].state, NoticeState::Resolved);
        assert_eq!(valid[0].commit.as_deref(), Some("4444"));
        assert_eq!(valid[0].last_good_commit, None);
    }
}

//! Journals: a record read from the labels of a journal container on a
//! server (anyone who can reach the daemon can make one) → the planner,
//! which turns it into a restoration or a plan error, in every mode →
//! every view of the plan → the plan applied to the live model and planned
//! again. The same journal is put on both servers: on one it names the
//! server it is on, on the other another one.

use std::collections::BTreeMap;

use crate::live::{Journal, labels};
use crate::plan::journal::{Member, Record};
use crate::plan::{Change, simulate};

pub fn journal(data: &[u8]) {
    // Docker's labels are JSON strings: text, whatever bytes were sent.
    let record = String::from_utf8_lossy(data).into_owned();
    let config = super::scenario();
    for subnet_matches in [false, true] {
        let mut live = super::live(subnet_matches);
        for snapshot in live.servers.values_mut().flatten() {
            snapshot.journals.push(Journal {
                name: "berth-journal-1-1".into(),
                labels: BTreeMap::from([
                    (labels::MANAGED.to_string(), "true".to_string()),
                    (labels::OWNER.to_string(), config.owner.clone()),
                    (labels::JOURNAL.to_string(), "replace_network".to_string()),
                    (labels::JOURNAL_RECORD.to_string(), record.clone()),
                ]),
            });
        }
        for mode in crate::plan::Options::ALL {
            let plan = crate::plan::plan(config, &live, mode);
            super::render(&plan);
            let mut after = live.clone();
            simulate::apply_plan(&mut after, &plan, &config.owner);
            let _ = crate::plan::plan(config, &after, mode);
        }
    }
}

/// Records as the executor writes them, for every change of the
/// scenario's plans that berth journals (replace, alias fix, clone).
pub fn journal_seeds() -> Vec<Vec<u8>> {
    let config = super::scenario();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for subnet_matches in [false, true] {
        let live = super::live(subnet_matches);
        let plan = crate::plan::plan(config, &live, crate::plan::Options::ALL[1]);
        for change in &plan.changes {
            let record = match change {
                Change::ReplaceNetwork(_) => Record {
                    change: Box::new(change.clone()),
                    reattach: vec![
                        Member {
                            container: "api".into(),
                            aliases: vec!["api".into()],
                            endpoint: Default::default(),
                        },
                        Member {
                            container: "worker".into(),
                            aliases: vec!["worker".into()],
                            endpoint: Default::default(),
                        },
                    ],
                    allow_replace: true,
                },
                Change::Connect(c) if c.live_aliases.is_some() => Record {
                    change: Box::new(change.clone()),
                    reattach: Vec::new(),
                    allow_replace: false,
                },
                Change::Clone(_) => Record {
                    change: Box::new(change.clone()),
                    reattach: Vec::new(),
                    allow_replace: false,
                },
                _ => continue,
            };
            let label = record.to_label().into_bytes();
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}

//! Journals of interrupted changes, as the planner reads them: each becomes
//! a `restore` change that completes what the journal records, and the rest
//! of the plan is made against the state that restoration leaves. A journal
//! is untrusted input (anyone with access to the daemon can make one): a
//! record that does not parse, names another server, or would touch what
//! berth does not own is a plan error, never a change.

use super::model::*;
pub use super::model::{Member, Record};
use crate::config::Config;
use crate::live::{Journal, LiveState, Snapshot, labels};

/// The restorations of `server`'s journals (owned by `config.owner`), and
/// the problems with journals that cannot be trusted.
pub fn restores(
    config: &Config,
    server: &str,
    live: &Snapshot,
    errors: &mut Vec<PlanError>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for j in &live.journals {
        if j.label(labels::OWNER) != Some(config.owner.as_str()) {
            continue; // another berth owner's: its own config restores it
        }
        match restore(config, server, live, j) {
            Ok(r) => out.push(Change::Restore(r)),
            Err(why) => errors.push(PlanError {
                server: server.to_string(),
                destination: None,
                network: String::new(),
                message: format!(
                    "journal {} on server {server} cannot be restored: {why}",
                    j.name
                ),
                hint: format!(
                    "it records a change an earlier apply did not finish; look at it (`docker inspect {}`), put things right by hand, then remove it (`docker rm {}`)",
                    j.name, j.name
                ),
            }),
        }
    }
    out
}

/// Why a journal cannot be trusted: the end of "journal … cannot be
/// restored: …".
#[derive(Debug, thiserror::Error)]
enum Untrusted {
    #[error("it has no record")]
    NoRecord,
    #[error("its record does not parse ({0})")]
    Unparsable(#[source] serde_json::Error),
    #[error("it names server {0}")]
    OtherServer(String),
    #[error("network {network} is not berth's (owner {owner})")]
    ForeignNetwork { network: String, owner: String },
    #[error(
        "it records a clone of {kind} {name} that the config does not declare as recorded (source, server, destination)"
    )]
    UndeclaredClone { kind: String, name: String },
    #[error("it records a {0} that berth does not journal")]
    NotJournaled(&'static str),
    /// A takeover the config no longer consents to, or of another network
    /// (`plan::consent::refuse_restore` says which).
    #[error("{0}")]
    Takeover(String),
}

fn restore(
    config: &Config,
    server: &str,
    live: &Snapshot,
    j: &Journal,
) -> Result<Restore, Untrusted> {
    let text = j.label(labels::JOURNAL_RECORD).ok_or(Untrusted::NoRecord)?;
    let record: Record = serde_json::from_str(text).map_err(Untrusted::Unparsable)?;
    let change = &*record.change;
    if change.server() != server {
        return Err(Untrusted::OtherServer(change.server().to_string()));
    }
    let network = change.network();
    let owned_or_absent = live
        .network(network)
        .is_none_or(|n| n.owned_by(&config.owner));
    let declared = config.destinations_on(server).any(|d| d.network == network);
    let takeover = match change {
        Change::ReplaceNetwork(ReplaceNetwork {
            takeover: Some(t), ..
        }) => Some(t),
        _ => None,
    };
    if let Some(t) = takeover {
        if let Some(why) =
            super::consent::refuse_restore(config, server, network, t, live.network(network))
        {
            return Err(Untrusted::Takeover(why));
        }
    }
    let what = match change {
        Change::ReplaceNetwork(_) if owned_or_absent || takeover.is_some() => format!(
            "replace network {network}; attach again: {}",
            record
                .reattach
                .iter()
                .map(|m| format!("{} (aliases {})", m.container, m.aliases.join(", ")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Change::ReplaceNetwork(_) => {
            return Err(Untrusted::ForeignNetwork {
                network: network.to_string(),
                owner: config.owner.clone(),
            });
        }
        Change::Connect(c) if c.live_aliases.is_some() && (declared || owned_or_absent) => format!(
            "give {} the aliases {} on {network}",
            c.container,
            c.aliases.join(", ")
        ),
        Change::Clone(c) if super::clone::declares(config, c) => {
            format!("clone {} {}", c.resource.kind, c.resource.name)
        }
        Change::Clone(c) => {
            return Err(Untrusted::UndeclaredClone {
                kind: c.resource.kind.to_string(),
                name: c.resource.name.clone(),
            });
        }
        other => {
            return Err(Untrusted::NotJournaled(other.action().as_str()));
        }
    };
    Ok(Restore {
        server: server.to_string(),
        destination: change.destination().map(str::to_string),
        network: network.to_string(),
        status: ChangeStatus::Planned,
        reasons: vec![format!(
            "an earlier apply was interrupted: it did not finish to {what}; apply completes it"
        )],
        journal: j.name.clone(),
        record,
    })
}

/// `live` as the restorations leave it: what the rest of the plan is made
/// against.
pub fn restored(live: &LiveState, restores: &[Change], owner: &str) -> LiveState {
    let mut after = live.clone();
    for r in restores {
        if let Change::Restore(r) = r {
            super::simulate::restore(&mut after, r, owner);
        }
    }
    after
}

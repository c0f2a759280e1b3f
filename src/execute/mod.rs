//! Executes a plan's changes against the servers of a session: servers in
//! parallel, the steps of a server in dependency order (create before
//! connect, disconnect before remove). A failed step stops its server; a
//! cancelled run stops before its next step. What was done, what failed and
//! what was not attempted are all reported.

use futures_util::stream::{self, StreamExt};

mod clone;
mod restore;
mod service;

use crate::docker::{Client, DockerError};
use crate::plan::journal::{Member, Record};
use crate::plan::{Change, ChangeStatus, Connect, Plan, ReplaceNetwork};
use crate::session::{Progress, Session};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(String),
    NotAttempted,
}

/// One step of the plan and what became of it.
#[derive(Debug, Clone)]
pub struct Step {
    pub change: Change,
    pub outcome: Outcome,
}

#[derive(Debug, Default)]
pub struct Report {
    pub steps: Vec<Step>,
    /// The run was cancelled before every step was attempted.
    pub interrupted: bool,
}

impl Report {
    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.steps.iter().filter(|s| pred(&s.outcome)).count()
    }

    pub fn failed(&self) -> bool {
        self.count(|o| matches!(o, Outcome::Failed(_))) > 0
    }
}

/// Applies every planned change. The caller has checked that nothing is
/// blocked and every server answered.
pub async fn execute(
    plan: &Plan,
    owner: &str,
    session: &Session,
    progress: &dyn Progress,
    on_step: &(dyn Fn(&Step) + Sync),
) -> Report {
    let cancel = session.cancel();
    let per_server = plan.servers.iter().filter_map(|server| {
        let mut changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.server() == server.name && c.status() == ChangeStatus::Planned)
            .collect();
        if changes.is_empty() {
            return None;
        }
        changes.sort_by_key(|c| c.action());
        Some(async move {
            progress.server_started(
                &server.name,
                &format!("applying {} change(s)", changes.len()),
            );
            let mut steps = Vec::new();
            let mut failed = false;
            for change in changes {
                let outcome = if failed || cancel.is_cancelled() {
                    Outcome::NotAttempted
                } else {
                    match session.client(change.server()) {
                        None => {
                            Outcome::Failed(format!("server {} is not connected", change.server()))
                        }
                        Some(client) => match step(client, session, owner, change).await {
                            Ok(()) => Outcome::Done,
                            Err(e) => Outcome::Failed(e),
                        },
                    }
                };
                failed |= matches!(outcome, Outcome::Failed(_));
                let step = Step {
                    change: change.clone(),
                    outcome,
                };
                on_step(&step);
                steps.push(step);
                crate::fault::point("apply.step");
            }
            progress.server_done(&server.name, !failed);
            steps
        })
    });
    let steps: Vec<Vec<Step>> = stream::iter(per_server)
        .buffered(session.options().parallelism.max(1))
        .collect()
        .await;
    Report {
        steps: steps.into_iter().flatten().collect(),
        interrupted: cancel.is_cancelled(),
    }
}

async fn step(client: &Client, session: &Session, owner: &str, c: &Change) -> Result<(), String> {
    match c {
        Change::Restore(r) => restore::run(client, session, owner, r).await,
        Change::CreateNetwork(c) => client
            .create_network(&c.network, &c.spec, owner, &c.destination)
            .await
            .map_err(|e| e.cause()),
        Change::RemoveNetwork(c) => {
            guard(client, owner, &c.network, &[]).await?;
            client
                .remove_network(&c.network)
                .await
                .map_err(|e| e.cause())
        }
        Change::ReplaceNetwork(c) => {
            let planned: Vec<&str> = c.attached.iter().map(|a| a.container.as_str()).collect();
            guard(client, owner, &c.network, &planned).await?;
            replace(client, owner, c).await
        }
        Change::Connect(c) => connect(client, owner, c).await,
        Change::Disconnect(c) => client
            .disconnect(&c.network, &c.container)
            .await
            .map_err(|e| e.cause()),
        Change::Clone(c) => {
            let source = session.client(&c.clone.source_server).ok_or_else(|| {
                format!("source server {} is not connected", c.clone.source_server)
            })?;
            clone::run(source, client, owner, c).await
        }
        Change::UpdateService(c) => service::update(client, session, c).await,
        Change::CloneService(c) => service::clone(client, session, owner, c).await,
    }
}

/// The last look before a network is removed or replaced, whatever the
/// plan said: it must be berth's (this owner's), and nothing may be
/// attached but what the plan knew of (`expected`): a container attached
/// since the plan blocks the change.
async fn guard(
    client: &Client,
    owner: &str,
    network: &str,
    expected: &[&str],
) -> Result<(), String> {
    let Some((labels, attached)) = client.network_guard(network).await.map_err(|e| e.cause())?
    else {
        return Err(format!("network {network} is gone"));
    };
    let owned = labels.get(crate::live::labels::MANAGED).map(String::as_str) == Some("true")
        && labels.get(crate::live::labels::OWNER).map(String::as_str) == Some(owner);
    if !owned {
        return Err(format!(
            "network {network} is not berth's (owner {owner}): berth never changes or removes it"
        ));
    }
    let since: Vec<&String> = attached
        .iter()
        .filter(|a| !expected.contains(&a.as_str()))
        .collect();
    if !since.is_empty() {
        return Err(format!(
            "refused: attached to {network} since the plan was made: {}; plan again",
            since
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// Attaches a container; for an alias fix, disconnects and connects again
/// (Docker cannot edit aliases in place), journaled: a run killed between
/// the two leaves a journal the next apply completes. If the new aliases
/// fail, the old ones are restored.
async fn connect(client: &Client, owner: &str, c: &Connect) -> Result<(), String> {
    let Some(old) = &c.live_aliases else {
        return client
            .connect(&c.network, &c.container, &c.aliases)
            .await
            .map_err(|e| e.cause());
    };
    let now = client
        .attachment(&c.container, &c.network)
        .await
        .map_err(|e| e.cause())?
        .ok_or_else(|| format!("container {} is gone", c.container))?;
    let journal = crate::docker::journal_name();
    let record = Record {
        change: Box::new(Change::Connect(c.clone())),
        reattach: Vec::new(),
        allow_replace: false,
    };
    client
        .write_journal(&journal, owner, "connect", &now.image, record.to_label())
        .await
        .map_err(|e| e.cause())?;
    client
        .disconnect(&c.network, &c.container)
        .await
        .map_err(|e| e.cause())?;
    crate::fault::point("alias_fix.disconnected");
    if let Err(e) = client.connect(&c.network, &c.container, &c.aliases).await {
        return Err(match client.connect(&c.network, &c.container, old).await {
            Ok(()) => {
                let _ = client.remove_journal(&journal).await;
                format!("{}; the old aliases were restored", e.cause())
            }
            Err(r) => format!(
                "{}; {} is now disconnected from {} (restoring its old aliases failed: {}); the journal {journal} records it: the next apply attaches it again",
                e.cause(),
                c.container,
                c.network,
                r.cause()
            ),
        });
    }
    crate::fault::point("alias_fix.connected");
    client.remove_journal(&journal).await.map_err(|e| e.cause())
}

/// Disconnects every attached container (remembering its aliases),
/// recreates the network, reconnects them. Journaled before the first
/// disconnect: a run killed part-way leaves a journal the next apply
/// completes, reattaching every container with its aliases.
async fn replace(client: &Client, owner: &str, c: &ReplaceNetwork) -> Result<(), String> {
    let mut saved: Vec<Member> = Vec::new();
    let mut image = None;
    for a in &c.attached {
        let now = client
            .attachment(&a.container, &c.network)
            .await
            .map_err(|e| e.full())?;
        if let Some(now) = now {
            let Some(aliases) = now.aliases else {
                continue; // detached since the plan
            };
            image.get_or_insert(now.image);
            saved.push(Member {
                container: a.container.clone(),
                aliases,
            });
        }
    }
    let journal = match image {
        Some(image) => {
            let name = crate::docker::journal_name();
            let record = Record {
                change: Box::new(Change::ReplaceNetwork(c.clone())),
                reattach: saved.clone(),
                allow_replace: true,
            };
            client
                .write_journal(&name, owner, "replace_network", &image, record.to_label())
                .await
                .map_err(|e| format!("{}; the network was left as it was", e.full()))?;
            Some(name)
        }
        None => None,
    };
    let outcome = replace_steps(client, owner, c, &saved).await;
    if let (Ok(()) | Err(Undone(_)), Some(j)) = (&outcome, &journal) {
        client.remove_journal(j).await.map_err(|e| e.cause())?;
    }
    outcome.map_err(|e| match (e, journal) {
        (Undone(m), _) => m,
        (Stranded(m), Some(j)) => format!(
            "{m}; the journal {j} on the server records every container and its aliases: the next apply attaches them again"
        ),
        (Stranded(m), None) => m,
    })
}

/// How a replace failed: put back as it was, or part-way.
enum ReplaceFailure {
    Undone(String),
    Stranded(String),
}
use ReplaceFailure::{Stranded, Undone};

async fn replace_steps(
    client: &Client,
    owner: &str,
    c: &ReplaceNetwork,
    saved: &[Member],
) -> Result<(), ReplaceFailure> {
    let pending = |from: usize| -> String {
        saved[from..]
            .iter()
            .map(|m| format!("{} (aliases: {})", m.container, m.aliases.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let left = |done: &str, e: DockerError, from: usize| {
        let rest = pending(from);
        Stranded(if rest.is_empty() {
            format!("{done}; then {}", e.full())
        } else {
            format!("{done}; then {}. Not reconnected: {rest}", e.full())
        })
    };
    for (i, m) in saved.iter().enumerate() {
        if let Err(e) = client.disconnect(&c.network, &m.container).await {
            // Reconnect what was already disconnected, so nothing is left half-way.
            let mut undo = Vec::new();
            for m in &saved[..i] {
                if let Err(u) = client.connect(&c.network, &m.container, &m.aliases).await {
                    undo.push(format!("{}: {}", m.container, u.full()));
                }
            }
            return Err(if undo.is_empty() {
                Undone(format!("{}; the network was left as it was", e.full()))
            } else {
                Stranded(format!(
                    "{}; reconnecting failed too: {}",
                    e.full(),
                    undo.join("; ")
                ))
            });
        }
    }
    crate::fault::point("replace.disconnected");
    let gone = format!("disconnected {} container(s)", saved.len());
    client
        .remove_network(&c.network)
        .await
        .map_err(|e| left(&gone, e, 0))?;
    crate::fault::point("replace.removed");
    client
        .create_network(&c.network, &c.spec, owner, &c.destination)
        .await
        .map_err(|e| left(&format!("{gone} and removed network {}", c.network), e, 0))?;
    crate::fault::point("replace.created");
    for (i, m) in saved.iter().enumerate() {
        client
            .connect(&c.network, &m.container, &m.aliases)
            .await
            .map_err(|e| left(&format!("recreated network {}", c.network), e, i))?;
        crate::fault::point("replace.reconnected");
    }
    Ok(())
}

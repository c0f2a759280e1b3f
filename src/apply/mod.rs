//! Walks a plan against the Docker adapters: servers in parallel, steps of a
//! server in dependency order (create before connect, disconnect before
//! remove). A failed step stops its server; what was done, what failed and
//! what was not attempted are all reported.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use crate::refresh::Progress;

mod clone;

use crate::docker::{Client, DockerError};
use crate::plan::{Action, Change, Plan, Status};

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
}

impl Report {
    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.steps.iter().filter(|s| pred(&s.outcome)).count()
    }

    pub fn failed(&self) -> bool {
        self.count(|o| matches!(o, Outcome::Failed(_))) > 0
    }
}

/// How to walk the plan, and whom to tell.
pub struct Options<'a> {
    /// Servers changed at once.
    pub parallelism: usize,
    pub progress: &'a dyn Progress,
    /// Called as each step finishes.
    pub on_step: &'a (dyn Fn(&Step) + Sync),
}

/// Applies every planned change. The caller has checked that nothing is
/// blocked and every server answered.
pub async fn apply(
    plan: &Plan,
    owner: &str,
    clients: &BTreeMap<String, Client>,
    opts: Options<'_>,
) -> Report {
    let on_step = opts.on_step;
    let progress = opts.progress;
    let per_server = plan.servers.iter().filter_map(|server| {
        let mut changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.server == server.name && c.status == Status::Planned)
            .collect();
        if changes.is_empty() {
            return None;
        }
        changes.sort_by_key(|c| c.action);
        Some(async move {
            progress.server_started(
                &server.name,
                &format!("applying {} change(s)", changes.len()),
            );
            let mut steps = Vec::new();
            let mut failed = false;
            for change in changes {
                let outcome = if failed {
                    Outcome::NotAttempted
                } else {
                    match clients.get(&change.server) {
                        None => {
                            Outcome::Failed(format!("server {} is not connected", change.server))
                        }
                        Some(client) => match execute(client, clients, owner, change).await {
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
            }
            progress.server_done(&server.name, !failed);
            steps
        })
    });
    let steps: Vec<Vec<Step>> = stream::iter(per_server)
        .buffered(opts.parallelism.max(1))
        .collect()
        .await;
    Report {
        steps: steps.into_iter().flatten().collect(),
    }
}

async fn execute(
    client: &Client,
    clients: &BTreeMap<String, Client>,
    owner: &str,
    c: &Change,
) -> Result<(), String> {
    let destination = c.destination.as_deref().unwrap_or_default();
    match c.action {
        Action::CreateNetwork => {
            let spec = c.spec.as_ref().ok_or("the plan has no network spec")?;
            client
                .create_network(&c.network, spec, owner, destination)
                .await
                .map_err(|e| e.cause())
        }
        Action::RemoveNetwork => client
            .remove_network(&c.network)
            .await
            .map_err(|e| e.cause()),
        Action::ReplaceNetwork => replace(client, owner, c).await,
        Action::Connect => {
            let container = c
                .container
                .as_deref()
                .ok_or("the plan names no container")?;
            let aliases = c.aliases.as_deref().unwrap_or_default();
            if let Some(old) = &c.live_aliases {
                // Aliases cannot be edited in place: disconnect, then connect.
                client
                    .disconnect(&c.network, container)
                    .await
                    .map_err(|e| e.cause())?;
                if let Err(e) = client.connect(&c.network, container, aliases).await {
                    return Err(match client.connect(&c.network, container, old).await {
                        Ok(()) => format!("{}; the old aliases were restored", e.cause()),
                        Err(r) => format!(
                            "{}; {container} is now disconnected from {} (restoring its old aliases failed: {})",
                            e.cause(),
                            c.network,
                            r.cause()
                        ),
                    });
                }
                return Ok(());
            }
            client
                .connect(&c.network, container, aliases)
                .await
                .map_err(|e| e.cause())
        }
        Action::Disconnect => {
            let container = c
                .container
                .as_deref()
                .ok_or("the plan names no container")?;
            client
                .disconnect(&c.network, container)
                .await
                .map_err(|e| e.cause())
        }
        Action::Clone => {
            let spec = c.clone.as_ref().ok_or("the plan has no clone spec")?;
            let source = clients
                .get(&spec.source_server)
                .ok_or_else(|| format!("source server {} is not connected", spec.source_server))?;
            clone::run(source, client, owner, c, spec).await
        }
    }
}

/// Disconnect every attached container (remembering its aliases), recreate
/// the network, reconnect them. On failure, says exactly what state is left.
async fn replace(client: &Client, owner: &str, c: &Change) -> Result<(), String> {
    let spec = c.spec.as_ref().ok_or("the plan has no network spec")?;
    let destination = c.destination.as_deref().unwrap_or_default();
    let mut saved: Vec<(String, Vec<String>)> = Vec::new();
    for a in &c.attached {
        let aliases = client
            .aliases(&a.container, &c.network)
            .await
            .map_err(|e| e.full())?;
        saved.push((a.container.clone(), aliases));
    }
    let pending = |from: usize| -> String {
        saved[from..]
            .iter()
            .map(|(name, aliases)| format!("{name} (aliases: {})", aliases.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let left = |done: &str, e: DockerError, from: usize| {
        let rest = pending(from);
        if rest.is_empty() {
            format!("{done}; then {}", e.full())
        } else {
            format!(
                "{done}; then {}. Not reconnected: {rest}; reconnect them with `docker network connect --alias …`",
                e.full()
            )
        }
    };
    for (i, (name, _)) in saved.iter().enumerate() {
        if let Err(e) = client.disconnect(&c.network, name).await {
            // Reconnect what was already disconnected, so nothing is left half-way.
            let mut undo = Vec::new();
            for (n, aliases) in &saved[..i] {
                if let Err(u) = client.connect(&c.network, n, aliases).await {
                    undo.push(format!("{n}: {}", u.full()));
                }
            }
            return Err(if undo.is_empty() {
                format!("{}; the network was left as it was", e.full())
            } else {
                format!("{}; reconnecting failed too: {}", e.full(), undo.join("; "))
            });
        }
    }
    let gone = format!("disconnected {} container(s)", saved.len());
    client
        .remove_network(&c.network)
        .await
        .map_err(|e| left(&gone, e, 0))?;
    client
        .create_network(&c.network, spec, owner, destination)
        .await
        .map_err(|e| left(&format!("{gone} and removed network {}", c.network), e, 0))?;
    for (i, (name, aliases)) in saved.iter().enumerate() {
        client
            .connect(&c.network, name, aliases)
            .await
            .map_err(|e| left(&format!("recreated network {}", c.network), e, i))?;
    }
    Ok(())
}

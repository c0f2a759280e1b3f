//! Executes a plan's changes against the servers of a session: servers in
//! parallel, the steps of a server in dependency order (create before
//! connect, disconnect before remove). A failed step stops its server; a
//! cancelled run stops before its next step. What was done, what failed and
//! what was not attempted are all reported.

use futures_util::stream::{self, StreamExt};

mod clone;
mod error;
mod restore;
mod service;

pub use error::{Cause, StepError};

use crate::config::NetworkSpec;
use crate::docker::{Client, Created, Guarded};
use crate::plan::journal::{Member, Record};
use crate::plan::{Change, ChangeStatus, Connect, Plan, ReplaceNetwork, Takeover};
use crate::session::{Progress, Session};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(StepError),
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
                        None => Outcome::Failed(
                            Cause::NotConnected {
                                server: change.server().to_string(),
                            }
                            .into(),
                        ),
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

async fn step(
    client: &Client,
    session: &Session,
    owner: &str,
    c: &Change,
) -> Result<(), StepError> {
    match c {
        Change::Restore(r) => restore::run(client, session, owner, r).await,
        Change::CreateNetwork(c) => create(client, owner, &c.network, &c.spec, &c.destination)
            .await
            .map_err(|e| match e.cause {
                Cause::Docker { error, .. } => StepError::answer(error),
                _ => e,
            }),
        Change::RemoveNetwork(c) => {
            if !guard(client, owner, &c.network, &[], None).await? {
                return Ok(()); // removed already
            }
            client
                .remove_network(&c.network)
                .await
                .map_err(StepError::answer)
        }
        Change::ReplaceNetwork(c) => {
            let planned: Vec<&str> = c.attached.iter().map(|a| a.container.as_str()).collect();
            if !guard(client, owner, &c.network, &planned, c.takeover.as_ref()).await? {
                return Err(StepError::refused(
                    format!("network {} is gone since the plan was made", c.network),
                    "`berth plan` shows what is left",
                ));
            }
            replace(client, owner, c).await
        }
        Change::Connect(c) => connect(client, owner, c).await,
        Change::Disconnect(c) => client
            .disconnect(&c.network, &c.container)
            .await
            .map_err(StepError::answer),
        Change::Clone(c) => {
            let source = session
                .client(&c.clone.source_server)
                .ok_or_else(|| not_connected(&c.clone.source_server))?;
            clone::run(source, client, owner, c).await
        }
        Change::UpdateService(c) => service::update(client, session, c).await,
        Change::CloneService(c) => service::clone(client, session, owner, c).await,
    }
}

fn not_connected(server: &str) -> StepError {
    Cause::NotConnected {
        server: server.to_string(),
    }
    .into()
}

/// Creates a destination's network. One of that name there already (the
/// answer to an earlier create was lost, or a killed run's request landed
/// late) is done if it is this owner's with the spec's properties, and
/// refused otherwise.
async fn create(
    client: &Client,
    owner: &str,
    network: &str,
    spec: &NetworkSpec,
    destination: &str,
) -> Result<(), StepError> {
    let found = match client
        .create_network(network, spec, owner, destination)
        .await
        .map_err(StepError::request)?
    {
        Created::Made => return Ok(()),
        Created::Found(found) => found,
    };
    if !owned(&found.labels, owner) {
        return Err(StepError::refused(
            format!(
                "a network {network} that is not berth's (owner {owner}) was made since the plan"
            ),
            "`berth plan` shows it: berth never changes a network it does not own",
        ));
    }
    let differences = crate::plan::differences(spec, &found, true);
    if differences.is_empty() {
        return Ok(());
    }
    Err(StepError::refused(
        format!(
            "network {network} was made since the plan, with other properties ({})",
            differences
                .iter()
                .map(|d| format!("{}: {} instead of {}", d.property, d.live, d.desired))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "`berth plan` shows what is left (a replace, with --allow-replace)",
    ))
}

/// Berth's labels, this owner's.
fn owned(labels: &std::collections::BTreeMap<String, String>, owner: &str) -> bool {
    labels.get(crate::live::labels::MANAGED).map(String::as_str) == Some("true")
        && labels.get(crate::live::labels::OWNER).map(String::as_str) == Some(owner)
}

/// The last look before a network is removed or replaced, whatever the
/// plan said: it must be berth's (this owner's) — or, for a takeover, the
/// very network the plan took over (its id: Docker never relabels a
/// network, so the same id is the same labels) —, and nothing may be
/// attached but what the plan knew of (`expected`): a container attached
/// since the plan blocks the change. `false`: the network is gone.
async fn guard(
    client: &Client,
    owner: &str,
    network: &str,
    expected: &[&str],
    takeover: Option<&Takeover>,
) -> Result<bool, StepError> {
    let Some(Guarded {
        id,
        labels,
        attached,
    }) = client
        .network_guard(network)
        .await
        .map_err(StepError::request)?
    else {
        return Ok(false);
    };
    match takeover {
        Some(t) if t.network_id != id => {
            return Err(StepError::refused(
                format!(
                    "network {network} is not the one the plan takes over: it was made again since the plan"
                ),
                "plan again",
            ));
        }
        Some(_) => {}
        None if !owned(&labels, owner) => {
            return Err(StepError::refused(
                format!("network {network} is not berth's (owner {owner})"),
                "berth never changes or removes a network it does not own (`manage = true` on its destination lets berth take it over)",
            ));
        }
        None => {}
    }
    let since: Vec<&String> = attached
        .iter()
        .filter(|a| !expected.contains(&a.as_str()))
        .collect();
    if !since.is_empty() {
        return Err(StepError::refused(
            format!(
                "refused: attached to {network} since the plan was made: {}",
                since
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "plan again",
        ));
    }
    Ok(true)
}

/// Attaches a container; for a reconnect (aliases or endpoint settings
/// fixed), disconnects and connects again (Docker cannot edit either in
/// place), journaled: a run killed between the two leaves a journal the
/// next apply completes. If the new settings fail, the old ones are
/// restored.
async fn connect(client: &Client, owner: &str, c: &Connect) -> Result<(), StepError> {
    let Some(old) = &c.live_aliases else {
        return client
            .connect(&c.network, &c.container, &c.aliases, &c.endpoint)
            .await
            .map_err(StepError::answer);
    };
    let now = client
        .attachment(&c.container, &c.network)
        .await
        .map_err(StepError::request)?
        .ok_or_else(|| {
            StepError::refused(
                format!("container {} is gone", c.container),
                "`berth plan` shows what is left",
            )
        })?;
    let journal = crate::docker::journal_name();
    let record = Record {
        change: Box::new(Change::Connect(c.clone())),
        reattach: Vec::new(),
        allow_replace: false,
    };
    client
        .write_journal(&journal, owner, "connect", &now.image, record.to_label())
        .await
        .map_err(StepError::request)?;
    client
        .disconnect(&c.network, &c.container)
        .await
        .map_err(StepError::request)?;
    crate::fault::point("alias_fix.disconnected");
    if let Err(e) = client
        .connect(&c.network, &c.container, &c.aliases, &c.endpoint)
        .await
    {
        let e = StepError::request(e);
        let before = kept(&now.requested, None);
        return Err(match client.connect(&c.network, &c.container, old, &before).await {
            Ok(()) => {
                let _ = client.remove_journal(&journal).await;
                e.leaving("the old aliases and endpoint settings were restored")
            }
            Err(r) => e.leaving(format!(
                "{} is now disconnected from {} (restoring its old aliases and endpoint settings failed: {}); the journal {journal} records it: the next apply attaches it again",
                c.container,
                c.network,
                r.full()
            )),
        });
    }
    crate::fault::point("alias_fix.connected");
    client
        .remove_journal(&journal)
        .await
        .map_err(|e| StepError::request(e).after("the aliases are set"))
}

/// Disconnects every attached container (remembering its aliases),
/// recreates the network, reconnects them. Journaled before the first
/// disconnect: a run killed part-way leaves a journal the next apply
/// completes, reattaching every container with its aliases.
async fn replace(client: &Client, owner: &str, c: &ReplaceNetwork) -> Result<(), StepError> {
    let mut saved: Vec<Member> = Vec::new();
    let mut image = None;
    for a in &c.attached {
        let now = client
            .attachment(&a.container, &c.network)
            .await
            .map_err(StepError::request)?;
        if let Some(now) = now {
            let Some(aliases) = now.aliases else {
                continue; // detached since the plan
            };
            image.get_or_insert(now.image);
            saved.push(Member {
                container: a.container.clone(),
                aliases,
                endpoint: kept(&now.requested, Some(&c.spec)),
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
                .map_err(|e| StepError::request(e).leaving("the network was left as it was"))?;
            Some(name)
        }
        None => None,
    };
    let outcome = replace_steps(client, owner, c, &saved).await;
    if let (Ok(()) | Err(Undone(_)), Some(j)) = (&outcome, &journal) {
        client
            .remove_journal(j)
            .await
            .map_err(|e| StepError::request(e).after(format!("replaced network {}", c.network)))?;
    }
    outcome.map_err(|e| match (e, journal) {
        (Undone(e), _) => e,
        (Stranded(e), Some(j)) => e.leaving(format!(
            "the journal {j} on the server records every container and its aliases: the next apply attaches them again"
        )),
        (Stranded(e), None) => e,
    })
}

/// How a replace failed: put back as it was, or part-way.
enum ReplaceFailure {
    Undone(StepError),
    Stranded(StepError),
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
    let left = |done: &str, e: StepError, from: usize| {
        let rest = pending(from);
        let e = e.after(done);
        Stranded(if rest.is_empty() {
            e
        } else {
            e.leaving(format!("not reconnected: {rest}"))
        })
    };
    for (i, m) in saved.iter().enumerate() {
        if let Err(e) = client.disconnect(&c.network, &m.container).await {
            // Reconnect what was already disconnected, so nothing is left half-way.
            let mut undo = Vec::new();
            for m in &saved[..i] {
                if let Err(u) = client
                    .connect(&c.network, &m.container, &m.aliases, &m.endpoint)
                    .await
                {
                    undo.push(format!("{}: {}", m.container, u.full()));
                }
            }
            let e = StepError::request(e);
            return Err(if undo.is_empty() {
                Undone(e.leaving("the network was left as it was"))
            } else {
                Stranded(e.leaving(format!("reconnecting failed too: {}", undo.join("; "))))
            });
        }
    }
    crate::fault::point("replace.disconnected");
    let gone = format!("disconnected {} container(s)", saved.len());
    client
        .remove_network(&c.network)
        .await
        .map_err(|e| left(&gone, StepError::request(e), 0))?;
    crate::fault::point("replace.removed");
    create(client, owner, &c.network, &c.spec, &c.destination)
        .await
        .map_err(|e| left(&format!("{gone} and removed network {}", c.network), e, 0))?;
    crate::fault::point("replace.created");
    for (i, m) in saved.iter().enumerate() {
        client
            .connect(&c.network, &m.container, &m.aliases, &m.endpoint)
            .await
            .map_err(|e| {
                left(
                    &format!("recreated network {}", c.network),
                    StepError::request(e),
                    i,
                )
            })?;
        crate::fault::point("replace.reconnected");
    }
    Ok(())
}

/// What an endpoint asked for, to ask for again when it is reconnected:
/// onto `spec` (a replaced network's new shape), a static address outside
/// its new subnets is left to the daemon (the plan that follows sets the
/// one the config declares).
pub(crate) fn kept(
    r: &crate::live::Requested,
    spec: Option<&crate::config::NetworkSpec>,
) -> crate::config::EndpointSpec {
    use std::net::IpAddr;
    let fits = |a: &IpAddr, subnet: Option<ipnet::IpNet>| {
        spec.is_none_or(|_| subnet.is_some_and(|n| n.contains(a)))
    };
    let v4 = spec.and_then(|s| s.subnet);
    let v6 = spec.and_then(|s| s.subnet_v6.filter(|_| s.enable_ipv6 == Some(true)));
    crate::config::EndpointSpec {
        ipv4_address: match r.ipv4_address {
            Some(IpAddr::V4(a)) if fits(&IpAddr::V4(a), v4) => Some(a),
            _ => None,
        },
        ipv6_address: match r.ipv6_address {
            Some(IpAddr::V6(a)) if fits(&IpAddr::V6(a), v6) => Some(a),
            _ => None,
        },
        link_local_ips: (!r.link_local_ips.is_empty()).then(|| r.link_local_ips.clone()),
        driver_opts: (!r.driver_opts.is_empty()).then(|| r.driver_opts.clone()),
    }
}

//! Executes a `restore` change: carries an interrupted change to its end
//! from whatever state the interruption left (every step is idempotent),
//! then removes the journal. A restore interrupted in turn leaves the
//! journal, and the next apply starts over.

use super::StepError;
use crate::docker::Client;
use crate::plan::journal::Member;
use crate::plan::{Change, CloneResource, Connect, ReplaceNetwork, Restore};
use crate::session::Session;

pub async fn run(
    client: &Client,
    session: &Session,
    owner: &str,
    r: &Restore,
) -> Result<(), StepError> {
    let done = match &*r.record.change {
        Change::ReplaceNetwork(c) => replace(client, owner, c, &r.record.reattach).await,
        Change::Connect(c) => aliases(client, c).await.map_err(StepError::request),
        Change::Clone(c) => {
            let source = session
                .client(&c.clone.source_server)
                .ok_or_else(|| super::not_connected(&c.clone.source_server))?;
            clone(source, client, owner, c)
                .await
                .map_err(StepError::request)
        }
        other => {
            return Err(StepError::refused(
                format!(
                    "the journal {} records a {}, which berth does not journal",
                    r.journal,
                    other.action().as_str()
                ),
                format!(
                    "a journal berth did not write: look at it (`docker inspect {}`) and remove it",
                    r.journal
                ),
            ));
        }
    };
    done.map_err(|e| {
        e.leaving(format!(
            "the journal {} stays for the next apply",
            r.journal
        ))
    })?;
    client
        .remove_journal(&r.journal)
        .await
        .map_err(|e| StepError::request(e).after("restored"))
}

/// The network exists with its spec and every recorded container is on it
/// with its aliases. A network still in its old shape is replaced now: the
/// consent was given when the journal was written.
async fn replace(
    client: &Client,
    owner: &str,
    c: &ReplaceNetwork,
    reattach: &[Member],
) -> Result<(), StepError> {
    let live = client.snapshot(false).await.map_err(StepError::request)?;
    crate::fault::point("restore.read");
    let mut members = reattach.to_vec();
    match live.network(&c.network) {
        None => super::create(client, owner, &c.network, &c.spec, &c.destination).await?,
        // Not berth's: a takeover cut before the network was removed.
        Some(net)
            if !net.owned_by(owner)
                && c.takeover.as_ref().is_none_or(|t| t.network_id != net.id) =>
        {
            return Err(StepError::refused(
                format!(
                    "network {} is not berth's, and not the one the journal takes over",
                    c.network
                ),
                "berth never changes a network it does not own: `berth plan` shows it",
            ));
        }
        Some(net)
            if !net.owned_by(owner) || !crate::plan::differences(&c.spec, net, true).is_empty() =>
        {
            // Containers attached since (not in the journal) keep their aliases too.
            for x in live.attached_to(&c.network) {
                if !members.iter().any(|m| m.container == x.name) {
                    let now = client
                        .attachment(&x.name, &c.network)
                        .await
                        .map_err(StepError::request)?;
                    let (aliases, requested) = now
                        .map(|n| (n.aliases.unwrap_or_default(), n.requested))
                        .unwrap_or_default();
                    members.push(Member {
                        container: x.name.clone(),
                        aliases,
                        endpoint: super::kept(&requested, Some(&c.spec)),
                    });
                }
            }
            for x in live.attached_to(&c.network) {
                client
                    .disconnect(&c.network, &x.name)
                    .await
                    .map_err(StepError::request)?;
            }
            client
                .remove_network(&c.network)
                .await
                .map_err(StepError::request)?;
            super::create(client, owner, &c.network, &c.spec, &c.destination).await?;
        }
        Some(_) => {}
    }
    for m in &members {
        // A container removed since has nothing to attach.
        let now = client
            .attachment(&m.container, &c.network)
            .await
            .map_err(StepError::request)?;
        if now.is_some_and(|n| n.aliases.is_none()) {
            client
                .connect(&c.network, &m.container, &m.aliases, &m.endpoint)
                .await
                .map_err(StepError::request)?;
        }
    }
    Ok(())
}

/// The container is on the network with the new aliases. A container or
/// network removed since leaves nothing to complete: the plan made with
/// this restore creates the network and connects the container (with
/// these aliases) after it, and a failed restore would hold that back.
async fn aliases(client: &Client, c: &Connect) -> Result<(), crate::docker::DockerError> {
    let Some(now) = client.attachment(&c.container, &c.network).await? else {
        return Ok(()); // removed since: nothing to attach
    };
    if now.aliases.is_none() && !client.network_exists(&c.network).await? {
        return Ok(());
    }
    match now.aliases {
        Some(mut have) => {
            let mut want = c.aliases.clone();
            have.sort();
            want.sort();
            let r = &now.requested;
            let settings = c.endpoint.differences(
                r.ipv4_address,
                r.ipv6_address,
                &r.link_local_ips,
                &r.driver_opts,
            );
            if have != want || !settings.is_empty() {
                client.disconnect(&c.network, &c.container).await?;
                client
                    .connect(&c.network, &c.container, &c.aliases, &c.endpoint)
                    .await?;
            }
        }
        None => {
            client
                .connect(&c.network, &c.container, &c.aliases, &c.endpoint)
                .await?
        }
    }
    Ok(())
}

/// Every copy exists, attached and started. A partial clone (some copies
/// missing: none was started yet) is removed, fresh volumes and all, and
/// made again.
async fn clone(
    source: &Client,
    target: &Client,
    owner: &str,
    c: &CloneResource,
) -> Result<(), crate::docker::DockerError> {
    let live = target.snapshot(false).await?;
    let exists = |name: &str| live.containers.iter().any(|x| x.name == name);
    if c.clone.members.iter().all(|m| exists(&m.target)) {
        return super::clone::finish(target, c).await;
    }
    for m in &c.clone.members {
        target.remove_container(&m.target).await?;
    }
    // Only the fresh volumes this clone made (its labels say so), never a
    // volume that happens to have the name.
    for m in &c.clone.members {
        for v in &m.volumes {
            let labels = target.volume_labels(&v.target).await?;
            let ours = labels.is_some_and(|l| {
                l.get(crate::live::labels::OWNER).map(String::as_str) == Some(owner)
                    && l.get(crate::live::labels::CLONE_OF) == Some(&c.clone.source.name)
            });
            if ours {
                target.remove_volume(&v.target).await?;
            }
        }
    }
    let sources = super::clone::read_sources(source, target, c).await?;
    let mut created = super::clone::Created::default();
    super::clone::make(target, owner, c, &sources, &mut created).await
}

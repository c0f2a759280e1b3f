//! Executes the swarm changes: a service's networks set through its spec,
//! a service made from another's. Each is one write to the manager, then a
//! wait (polling it) until the tasks run the new spec, the manager stops
//! the update, `--rollout-timeout` passes or the run is cancelled. A berth
//! killed in between strands nothing: the manager carries the rollout on
//! alone, and the next plan reads the spec it was given.

use std::future::Future;
use std::time::Duration;

use super::{Cause, StepError};
use crate::docker::{Client, DockerError, Progress, ServiceAttachment, ServiceCopy, VolumeRename};
use crate::live::labels;
use crate::plan::{CloneService, UpdateService};
use crate::session::Session;

/// How often the manager is asked how far it has got.
const POLL: Duration = Duration::from_millis(500);

pub async fn update(
    client: &Client,
    session: &Session,
    c: &UpdateService,
) -> Result<(), StepError> {
    let networks: Vec<ServiceAttachment> = c
        .networks
        .iter()
        .map(|n| ServiceAttachment {
            network: n.network.clone(),
            aliases: n.aliases.clone(),
        })
        .collect();
    let mark = client
        .update_service_networks(&c.service, &networks)
        .await
        .map_err(StepError::answer)?;
    wait(session, &c.service, "update", || {
        client.update_progress(&c.service, &mark)
    })
    .await
}

pub async fn clone(
    client: &Client,
    session: &Session,
    owner: &str,
    c: &CloneService,
) -> Result<(), StepError> {
    let volumes: Vec<VolumeRename> = c
        .volumes
        .iter()
        .map(|v| VolumeRename {
            source: v.source.clone(),
            target: v.target.clone(),
        })
        .collect();
    let copy = ServiceCopy {
        source: &c.source,
        name: &c.service,
        network: ServiceAttachment {
            network: c.network.clone(),
            aliases: c.aliases.clone(),
        },
        labels: labels::of_copy(
            owner,
            &c.destination,
            (c.resource.kind.as_str(), &c.resource.name),
            &c.source,
        ),
        volumes: &volumes,
    };
    client
        .create_service_copy(&copy)
        .await
        .map_err(|e| StepError::answer(e).leaving("nothing was made"))?;
    wait(session, &c.service, "start", || {
        client.tasks_progress(&c.service)
    })
    .await
}

/// Polls `progress` until the service converges, the manager gives up,
/// the rollout timeout passes or the run is cancelled.
async fn wait<F, Fut>(
    session: &Session,
    service: &str,
    what: &str,
    progress: F,
) -> Result<(), StepError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Progress, DockerError>>,
{
    let limit = session.options().rollout_timeout;
    let cancel = session.cancel();
    let carry_on =
        format!("the manager carries on with it: `docker service ps {service}` shows how far");
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let last = match progress().await.map_err(StepError::request)? {
            Progress::Converged => return Ok(()),
            Progress::Failed(message) => {
                return Err(rollout(
                    format!("the manager stopped the {what} of swarm service {service}: {message}"),
                    format!("see `docker service ps {service}`"),
                ));
            }
            Progress::Progressing(message) => message,
        };
        tokio::select! {
            () = cancel.cancelled() => {
                return Err(rollout(
                    format!("interrupted while swarm service {service} rolled out ({last})"),
                    carry_on,
                ));
            }
            () = tokio::time::sleep_until(deadline) => {
                return Err(rollout(
                    format!(
                        "swarm service {service} did not finish its {what} within {} ({last})",
                        humantime::format_duration(limit)
                    ),
                    carry_on,
                ));
            }
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

fn rollout(message: String, hint: String) -> StepError {
    Cause::Rollout { message, hint }.into()
}

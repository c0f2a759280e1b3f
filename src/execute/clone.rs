//! Executes a `clone` change: images streamed if needed, then (journaled)
//! one fresh volume per source volume (shared by every copy whose source
//! shared it), the copies created on their network, attached and started
//! when their source runs. A Docker error removes what this step made, or
//! keeps the journal so the next apply completes it.

use std::collections::BTreeMap;

use super::StepError;
use crate::docker::{Client, ContainerCopy, DockerError, SourceContainer, VolumeRename};
use crate::live::labels;
use crate::plan::journal::Record;
use crate::plan::{Change, CloneMember, CloneResource};

/// What this step has created so far, to undo on failure.
#[derive(Default)]
pub(super) struct Created {
    containers: Vec<String>,
    volumes: Vec<String>,
    network: Option<String>,
}

pub async fn run(
    source: &Client,
    target: &Client,
    owner: &str,
    c: &CloneResource,
) -> Result<(), StepError> {
    let sources = read_sources(source, target, c)
        .await
        .map_err(|e| StepError::request(e).leaving("nothing was made"))?;
    let journal = crate::docker::journal_name();
    let image = sources.first().map(|s| s.image()).unwrap_or_default();
    let record = Record {
        change: Box::new(Change::Clone(c.clone())),
        reattach: Vec::new(),
        allow_replace: false,
    };
    target
        .write_journal(&journal, owner, "clone", &image, record.to_label())
        .await
        .map_err(|e| StepError::request(e).leaving("nothing was made"))?;
    let mut created = Created::default();
    match make(target, owner, c, &sources, &mut created).await {
        Ok(()) => target
            .remove_journal(&journal)
            .await
            .map_err(|e| StepError::request(e).after("the clone is complete")),
        Err(e) => Err(undo(target, created, &journal, e).await),
    }
}

/// Inspects each source container (the copy is made from it as it is now)
/// and streams its image to the target when the plan says it is missing.
pub(super) async fn read_sources(
    source: &Client,
    target: &Client,
    c: &CloneResource,
) -> Result<Vec<SourceContainer>, DockerError> {
    let mut out = Vec::new();
    for m in &c.clone.members {
        let info = source.inspect_source(&m.source).await?;
        let image = info.image();
        if c.clone.image_transfer && !target.has_image(&image).await {
            target.load_image_from(source, &image).await?;
        }
        out.push(info);
    }
    Ok(out)
}

fn renames(m: &CloneMember) -> Vec<VolumeRename> {
    m.volumes
        .iter()
        .map(|v| VolumeRename {
            source: v.source.clone(),
            target: v.target.clone(),
        })
        .collect()
}

/// Creates the volumes, the stack network, the copies; attaches and
/// starts them.
pub(super) async fn make(
    target: &Client,
    owner: &str,
    c: &CloneResource,
    sources: &[SourceContainer],
    created: &mut Created,
) -> Result<(), DockerError> {
    let spec = &c.clone;
    let mut ours = labels::of_copy(
        owner,
        &c.destination,
        (c.resource.kind.as_str(), &c.resource.name),
        &spec.source.name,
    );
    let volume_labels: BTreeMap<String, String> = ours
        .iter()
        .filter(|(k, _)| [labels::MANAGED, labels::OWNER, labels::CLONE_OF].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    // One fresh volume per source volume: copies whose sources shared a
    // volume share the new one.
    let mut volumes: Vec<&str> = spec
        .members
        .iter()
        .flat_map(|m| m.volumes.iter().map(|v| v.target.as_str()))
        .collect();
    volumes.sort();
    volumes.dedup();
    for v in volumes {
        target.create_fresh_volume(v, &volume_labels).await?;
        created.volumes.push(v.to_string());
    }

    // A stack gets its own network first, where compose's aliases resolve.
    let network = match &spec.target_project {
        Some(project) => {
            let name = format!("{project}_default");
            let net_labels = BTreeMap::from([
                (
                    "com.docker.compose.network".to_string(),
                    "default".to_string(),
                ),
                (labels::COMPOSE_PROJECT.to_string(), project.clone()),
                (labels::CLONE_OF.to_string(), spec.source.name.clone()),
            ]);
            if target.create_stack_network(&name, net_labels).await? {
                created.network = Some(name.clone());
            }
            ours.insert(labels::COMPOSE_PROJECT.to_string(), project.clone());
            name
        }
        None => c.network.clone(),
    };

    for (m, info) in spec.members.iter().zip(sources) {
        let aliases = match (&spec.target_project, &m.service) {
            (Some(_), Some(service)) => vec![service.clone()],
            (Some(_), None) => Vec::new(),
            (None, _) => c.aliases.clone().unwrap_or_default(),
        };
        let drop: &[&str] = if spec.target_project.is_some() {
            &[]
        } else {
            &["com.docker.compose."]
        };
        let volumes = renames(m);
        let copy = ContainerCopy {
            name: &m.target,
            network: &network,
            aliases,
            labels: ours.clone(),
            drop_labels: drop,
            volumes: &volumes,
            keep_ports: m.dropped_ports.is_empty(),
        };
        target.create_copy(info, &copy).await?;
        created.containers.push(m.target.clone());
        crate::fault::point("clone.created");
    }
    finish(target, c).await
}

/// Attaches a stack's copies to the destination (when asked) and starts
/// every copy whose source runs; what is done already is left as it is.
pub(super) async fn finish(target: &Client, c: &CloneResource) -> Result<(), DockerError> {
    let spec = &c.clone;
    if let (Some(project), true) = (&spec.target_project, spec.connect_to_destination) {
        for m in &spec.members {
            let now = target.attachment(&m.target, &c.network).await?;
            if now.is_some_and(|a| a.aliases.is_none()) {
                let alias = format!("{}-{project}", m.service.as_deref().unwrap_or(&m.target));
                target
                    .connect(&c.network, &m.target, &[alias], &Default::default())
                    .await?;
            }
        }
        crate::fault::point("clone.connected");
    }
    for m in spec.members.iter().filter(|m| m.start) {
        let now = target.attachment(&m.target, &c.network).await?;
        if now.is_some_and(|a| !a.running) {
            target.start(&m.target).await?;
        }
    }
    Ok(())
}

/// Removes what the failed step made, then the journal; the message says
/// what failed and whether anything is left (then the journal stays, and
/// the next apply completes the clone).
async fn undo(target: &Client, created: Created, journal: &str, cause: DockerError) -> StepError {
    let mut left = Vec::new();
    for name in &created.containers {
        if let Err(e) = target.remove_container(name).await {
            left.push(format!("container {name} ({})", e.cause()));
        }
    }
    for v in &created.volumes {
        if let Err(e) = target.remove_volume(v).await {
            left.push(format!("volume {v} ({})", e.cause()));
        }
    }
    if let Some(net) = &created.network {
        if let Err(e) = target.remove_network(net).await {
            left.push(format!("network {net} ({})", e.cause()));
        }
    }
    let cause = StepError::request(cause);
    if left.is_empty() && target.remove_journal(journal).await.is_ok() {
        cause.leaving("nothing was left behind")
    } else {
        cause.leaving(format!(
            "left behind: {} — the journal {journal} on the server records the clone: the next apply completes it",
            if left.is_empty() {
                "the journal".to_string()
            } else {
                left.join(", ")
            }
        ))
    }
}

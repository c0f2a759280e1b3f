//! Executes a `clone` change: image streamed if needed, fresh volumes, the
//! copy created on its destination network and started when the source
//! runs. A failure removes what this step made, or says exactly what is left.

use std::collections::BTreeMap;

use crate::docker::{Client, ContainerCopy, DockerError, VolumeRename};
use crate::live::labels;
use crate::plan::{CloneMember, CloneResource};

/// What this step has created so far, to undo on failure.
#[derive(Default)]
struct Created<'a> {
    containers: Vec<&'a CloneMember>,
    network: Option<String>,
}

pub async fn run(
    source: &Client,
    target: &Client,
    owner: &str,
    c: &CloneResource,
) -> Result<(), String> {
    let mut created = Created::default();
    match make(source, target, owner, c, &mut created).await {
        Ok(()) => Ok(()),
        Err(e) => Err(undo(target, created, e).await),
    }
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

async fn make<'a>(
    source: &Client,
    target: &Client,
    owner: &str,
    c: &'a CloneResource,
    created: &mut Created<'a>,
) -> Result<(), DockerError> {
    let spec = &c.clone;
    let mut ours = BTreeMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::OWNER.to_string(), owner.to_string()),
        (labels::DESTINATION.to_string(), c.destination.clone()),
        (labels::RESOURCE.to_string(), c.resource.name.clone()),
        (labels::KIND.to_string(), c.resource.kind.to_string()),
        (labels::CLONE_OF.to_string(), spec.source.name.clone()),
    ]);
    let volume_labels: BTreeMap<String, String> = ours
        .iter()
        .filter(|(k, _)| [labels::MANAGED, labels::OWNER, labels::CLONE_OF].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

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

    for m in &spec.members {
        let info = source.inspect_source(&m.source).await?;
        let image = info.image();
        if spec.image_transfer && !target.has_image(&image).await {
            target.load_image_from(source, &image).await?;
        }
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
            volume_labels: volume_labels.clone(),
            keep_ports: m.dropped_ports.is_empty(),
        };
        target.create_copy(&info, &copy).await?;
        created.containers.push(m);
        crate::fault::point("clone.created");
    }
    if let Some(project) = &spec.target_project {
        if spec.connect_to_destination {
            for m in &spec.members {
                let alias = format!("{}-{project}", m.service.as_deref().unwrap_or(&m.target));
                target.connect(&c.network, &m.target, &[alias]).await?;
            }
        }
    }
    for m in spec.members.iter().filter(|m| m.start) {
        target.start(&m.target).await?;
    }
    Ok(())
}

/// Removes what the failed step made; the message says what failed and
/// whether anything is left.
async fn undo(target: &Client, created: Created<'_>, cause: DockerError) -> String {
    let mut left = Vec::new();
    for m in &created.containers {
        if let Err(e) = target.remove_copy(&m.target, &renames(m)).await {
            left.push(format!("container {} ({})", m.target, e.cause()));
        }
    }
    if let Some(net) = &created.network {
        if let Err(e) = target.remove_network(net).await {
            left.push(format!("network {net} ({})", e.cause()));
        }
    }
    if left.is_empty() {
        format!("{}; nothing was left behind", cause.full())
    } else {
        format!(
            "{}; left behind: {} — remove them, or run apply again once the cause is fixed",
            cause.full(),
            left.join(", ")
        )
    }
}

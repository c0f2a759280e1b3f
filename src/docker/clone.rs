//! Clone primitives: read a source container whole, stream its image to
//! another daemon, create a copy with fresh volumes. Each call undoes its
//! own partial work when it fails.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HostConfig,
    NetworkCreateRequest, NetworkingConfig, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ImportImageOptionsBuilder, InspectContainerOptions,
    RemoveContainerOptionsBuilder, RemoveVolumeOptions, StartContainerOptions,
};
use futures_util::StreamExt;

use super::{Client, DockerError, absent};

/// A named volume of the source and the fresh one the copy mounts instead.
#[derive(Debug, Clone)]
pub struct VolumeRename {
    pub source: String,
    pub target: String,
}

/// A source container as the daemon describes it (opaque outside `docker`).
#[derive(Debug, Clone)]
pub struct SourceContainer {
    info: ContainerInspectResponse,
}

impl SourceContainer {
    /// The image reference the container was created from.
    pub fn image(&self) -> String {
        self.info
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .or_else(|| self.info.image.clone())
            .unwrap_or_default()
    }

    pub fn running(&self) -> bool {
        self.info
            .state
            .as_ref()
            .and_then(|s| s.running)
            .unwrap_or(false)
    }
}

/// How the copy differs from its source.
#[derive(Debug, Clone)]
pub struct ContainerCopy<'a> {
    pub name: &'a str,
    /// The one network it is created on, with these aliases.
    pub network: &'a str,
    pub aliases: Vec<String>,
    /// Labels set on the copy (over the source's).
    pub labels: BTreeMap<String, String>,
    /// Source labels not carried over, by prefix.
    pub drop_labels: &'a [&'a str],
    /// Named volumes renamed to fresh ones.
    pub volumes: &'a [VolumeRename],
    pub keep_ports: bool,
}

impl Client {
    pub async fn inspect_source(&self, name: &str) -> Result<SourceContainer, DockerError> {
        let info = self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.fail(&format!("inspect container {name}"), &e))?;
        Ok(SourceContainer { info })
    }

    pub async fn has_image(&self, reference: &str) -> bool {
        self.docker.inspect_image(reference).await.is_ok()
    }

    /// Streams `reference` from `source` into this daemon (`docker save |
    /// docker load`), never holding the whole image in memory or on disk.
    pub async fn load_image_from(
        &self,
        source: &Client,
        reference: &str,
    ) -> Result<(), DockerError> {
        let export = source.docker.export_image(reference);
        let mut load = self.docker.import_image_stream(
            ImportImageOptionsBuilder::default().quiet(true).build(),
            export,
            None,
        );
        while let Some(progress) = load.next().await {
            let info = progress.map_err(|e| self.fail(&format!("stream image {reference}"), &e))?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(DockerError::Api {
                    what: format!("load image {reference}"),
                    status: None,
                    message: err,
                });
            }
        }
        if self.has_image(reference).await {
            Ok(())
        } else {
            Err(DockerError::Api {
                what: format!("stream image {reference}"),
                status: None,
                message: "the image did not arrive on the target server".to_string(),
            })
        }
    }

    /// Creates a network for a cloned compose stack (compose's own labels,
    /// so compose and berth see it as the stack's network).
    /// Returns whether it was created (false: the project's network was
    /// already there, e.g. left by an earlier attempt, and is reused).
    pub async fn create_stack_network(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<bool, DockerError> {
        // Docker 20.10 accepts a second network of the same name: look first.
        let existing: Vec<_> = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(|e| self.fail("list networks", &e))?
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name))
            .collect();
        let project = labels.get(crate::live::labels::COMPOSE_PROJECT);
        match existing.as_slice() {
            [] => {}
            [one]
                if one
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(crate::live::labels::COMPOSE_PROJECT))
                    == project =>
            {
                return Ok(false);
            }
            _ => {
                return Err(DockerError::Api {
                    what: format!("create network {name}"),
                    status: None,
                    message: format!(
                        "{} network(s) of that name exist and are not this stack's own; remove them or choose another project name",
                        existing.len()
                    ),
                });
            }
        }
        let what = format!("create network {name}");
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        // Docker 20.10 checks the name only when asked (see create_network).
        let mut body = serde_json::to_value(&req).map_err(|e| self.fail(&what, &e.into()))?;
        body["CheckDuplicate"] = serde_json::Value::Bool(true);
        let send = || self.exchange_json(hyper::Method::POST, "/networks/create", &body);
        let mut answer = send().await;
        if crate::fault::sent("create_network") {
            answer = send().await;
        }
        match answer {
            Ok(_) => Ok(true),
            // Made since the look above: by this request (its answer lost),
            // if it is this stack's.
            Err(e) if super::answer::exists(&e) => match self.network_named(name).await? {
                Some(n) if n.labels.get(crate::live::labels::COMPOSE_PROJECT) == project => {
                    Ok(true)
                }
                _ => Err(self.fail(&what, &e)),
            },
            Err(e) => Err(self.fail(&what, &e)),
        }
    }

    /// Creates a fresh, empty named volume; refuses one that exists (it may
    /// hold data: a "fresh" clone never gets it).
    pub async fn create_fresh_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), DockerError> {
        if self.docker.inspect_volume(name).await.is_ok() {
            return Err(DockerError::Api {
                what: format!("create volume {name}"),
                status: None,
                message: format!(
                    "a volume of that name already exists (left by an earlier clone?); berth will not hand its data to a new clone: remove it (`docker volume rm {name}`) or rename the clone"
                ),
            });
        }
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        // Docker answers a create of an existing volume with that volume.
        let mut answer = self.docker.create_volume(req.clone()).await;
        if crate::fault::sent("create_volume") {
            answer = self.docker.create_volume(req).await;
        }
        answer
            .map(|_| ())
            .map_err(|e| self.fail(&format!("create volume {name}"), &e))
    }

    /// The labels of a volume; `None` when there is none of that name.
    pub async fn volume_labels(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, DockerError> {
        absent(self.docker.inspect_volume(name).await)
            .map(|v| v.map(|v| v.labels.into_iter().collect()))
            .map_err(|e| self.fail(&format!("inspect volume {name}"), &e))
    }

    /// Removes a volume berth created (gone already: done).
    pub async fn remove_volume(&self, name: &str) -> Result<(), DockerError> {
        let mut answer = self
            .docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await;
        if crate::fault::sent("remove_volume") {
            answer = self
                .docker
                .remove_volume(name, None::<RemoveVolumeOptions>)
                .await;
        }
        absent(answer)
            .map(drop)
            .map_err(|e| self.fail(&format!("remove volume {name}"), &e))
    }

    /// Creates the copy (not started), mounting the fresh volumes made for
    /// it.
    pub async fn create_copy(
        &self,
        source: &SourceContainer,
        copy: &ContainerCopy<'_>,
    ) -> Result<(), DockerError> {
        let what = format!("create container {}", copy.name);
        let body = copy_body(&source.info, copy);
        let opts = CreateContainerOptionsBuilder::default()
            .name(copy.name)
            .build();
        let mut answer = self
            .docker
            .create_container(Some(opts.clone()), body.clone())
            .await;
        if crate::fault::sent("create_copy") {
            answer = self.docker.create_container(Some(opts), body).await;
        }
        let e = match answer {
            Ok(_) => return Ok(()),
            Err(e) if super::answer::exists(&e) => e,
            Err(e) => return Err(self.fail(&what, &e)),
        };
        // Made already (its answer lost): done if it carries this copy's
        // labels.
        let found = absent(
            self.docker
                .inspect_container(copy.name, None::<InspectContainerOptions>)
                .await,
        )
        .map_err(|e| self.fail(&what, &e))?
        .and_then(|c| c.config)
        .and_then(|c| c.labels)
        .unwrap_or_default();
        if copy.labels.iter().all(|(k, v)| found.get(k) == Some(v)) {
            Ok(())
        } else {
            Err(self.fail(&what, &e))
        }
    }

    /// Starts a container (running already: done).
    pub async fn start(&self, name: &str) -> Result<(), DockerError> {
        let mut answer = self
            .docker
            .start_container(name, None::<StartContainerOptions>)
            .await;
        if crate::fault::sent("start") {
            answer = self
                .docker
                .start_container(name, None::<StartContainerOptions>)
                .await;
        }
        match answer {
            Err(e) if !super::answer::not_modified(&e) => {
                Err(self.fail(&format!("start container {name}"), &e))
            }
            _ => Ok(()),
        }
    }

    /// Removes a container berth created (gone already: done).
    pub async fn remove_container(&self, name: &str) -> Result<(), DockerError> {
        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
        let mut answer = self.docker.remove_container(name, Some(opts.clone())).await;
        if crate::fault::sent("remove_container") {
            answer = self.docker.remove_container(name, Some(opts)).await;
        }
        absent(answer)
            .map(drop)
            .map_err(|e| self.fail(&format!("remove container {name}"), &e))
    }
}

/// The create request: the source's config and host config, with the
/// copy's name, labels, volumes, ports and single network.
fn copy_body(info: &ContainerInspectResponse, copy: &ContainerCopy<'_>) -> ContainerCreateBody {
    let config = info.config.clone().unwrap_or_default();
    let mut labels: HashMap<String, String> = config
        .labels
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !copy.drop_labels.iter().any(|p| k.starts_with(p)))
        .collect();
    labels.extend(copy.labels.clone());
    let rename = |name: &str| {
        copy.volumes
            .iter()
            .find(|v| v.source == name)
            .map(|v| v.target.clone())
    };
    let mut host = info.host_config.clone().unwrap_or_default();
    host.binds = host.binds.map(|binds| {
        binds
            .into_iter()
            .map(|b| match b.split_once(':') {
                Some((src, rest)) => match rename(src) {
                    Some(new) => format!("{new}:{rest}"),
                    None => b,
                },
                None => b,
            })
            .collect()
    });
    host.mounts = host.mounts.map(|mounts| {
        mounts
            .into_iter()
            .map(|mut m| {
                if let Some(new) = m.source.as_deref().and_then(rename) {
                    m.source = Some(new);
                }
                m
            })
            .collect()
    });
    if !copy.keep_ports {
        host.port_bindings = None;
        host.publish_all_ports = None;
    }
    host.network_mode = Some(copy.network.to_string());
    host.links = None;
    host.volumes_from = None;
    host.container_id_file = None;
    let host = HostConfig { ..host };
    let endpoint = EndpointSettings {
        aliases: Some(copy.aliases.clone()),
        ..Default::default()
    };
    ContainerCreateBody {
        user: config.user,
        exposed_ports: config.exposed_ports,
        tty: config.tty,
        open_stdin: config.open_stdin,
        stdin_once: config.stdin_once,
        env: config.env,
        cmd: config.cmd,
        healthcheck: config.healthcheck,
        image: config.image,
        volumes: config.volumes,
        working_dir: config.working_dir,
        entrypoint: config.entrypoint,
        labels: Some(labels),
        stop_signal: config.stop_signal,
        stop_timeout: config.stop_timeout,
        shell: config.shell,
        host_config: Some(host),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(copy.network.to_string(), endpoint)])),
        }),
        ..Default::default()
    }
}

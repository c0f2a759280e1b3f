//! The bollard adapter: reads a server's live state and executes plan steps.
//! Bollard types stop here; callers see `live::*` data and `DockerError`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{
    ConfigReference, EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest,
    NetworkCreateRequest, NetworkDisconnectRequest,
};

use crate::config::{Address, EndpointSpec, NetworkSpec, Server};
use crate::live::{Container, Inspected, Network, Requested, Snapshot, labels};

mod answer;
mod clone;
mod events;
mod forget;
mod journal;
mod lock;
mod raw;
mod read;
mod service;
mod swarm;
mod usage;

pub use clone::{ContainerCopy, SourceContainer, VolumeRename};
pub use forget::{Forgot, marker_name};
pub use journal::journal_name;
pub use lock::{LEGACY_LOCK_VOLUME, LockHolder, lock_volume};
pub use service::{Progress, ServiceAttachment, ServiceCopy, UpdateMark};
pub use usage::Usage;

/// Container inspects in flight at once on a server reached through a local
/// socket: the daemon's CPU is the limit, more buys nothing.
const INSPECT_CONCURRENCY: usize = 8;
/// The same through an SSH tunnel, where each request waits a round trip:
/// at 50 ms RTT, 100 inspects take about 0.95 s 8 at a time and 0.34 s 32
/// at a time (`cargo bench --bench floor`).
const TUNNELLED_INSPECT_CONCURRENCY: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach Docker at {address}: {cause}")]
    Unreachable {
        address: String,
        cause: String,
        hint: String,
    },
    /// Docker answered with an error (`status`, its `message`), or the
    /// exchange failed without an answer (`status` is `None`, `message`
    /// says why).
    #[error("{what}: {}", answered(*.status, message))]
    Api {
        what: String,
        status: Option<u16>,
        message: String,
    },
    #[error("Docker at {address} did not answer within {} ({what})", humantime::format_duration(*after))]
    Timeout {
        address: String,
        what: String,
        after: std::time::Duration,
    },
    /// Another berth holds the server's lock: this owner's, or (`legacy`)
    /// the `berth-lock` of a berth from before locks were per owner.
    #[error("locked by {holder}{}", if *.legacy { " (a legacy `berth-lock`: a berth older than per-owner locks holds the server for every owner)" } else { "" })]
    Locked {
        server: String,
        holder: String,
        legacy: bool,
    },
}

impl DockerError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            DockerError::Unreachable { hint, .. } => Some(hint.clone()),
            DockerError::Locked { server, legacy, .. } => Some(format!(
                "wait for that berth to finish (raise --lock-timeout), or if it is gone, `berth unlock --server {server}{}`",
                if *legacy { " --legacy" } else { "" }
            )),
            DockerError::Timeout { .. } => Some(
                "the daemon may be hung or overloaded: check it (`docker info` on the server), or raise --timeout".to_string(),
            ),
            DockerError::Api { status, .. } => match status {
                Some(404) => Some(
                    "it was removed since the plan was made: `berth plan` shows what is left"
                        .to_string(),
                ),
                Some(409) => Some(
                    "something of that name was made since the plan was made: `berth plan` shows what is left"
                        .to_string(),
                ),
                Some(500..) => Some(
                    "the daemon could not do it: its message says why, its log (`journalctl -u docker` on the server) may say more"
                        .to_string(),
                ),
                _ => None,
            },
        }
    }

    /// Docker's answer alone, for a step that already says what it did.
    pub fn cause(&self) -> String {
        match self {
            DockerError::Api {
                status, message, ..
            } => answered(*status, message),
            other => other.full(),
        }
    }

    /// The HTTP status Docker answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            DockerError::Api { status, .. } => *status,
            _ => None,
        }
    }

    /// The message with its hint, on one line.
    pub fn full(&self) -> String {
        match self.hint() {
            Some(h) => format!("{self} ({h})"),
            None => self.to_string(),
        }
    }
}

/// `Docker answered 500: …`, or the message alone when Docker did not answer.
fn answered(status: Option<u16>, message: &str) -> String {
    match status {
        Some(status) => format!("Docker answered {status}: {message}"),
        None => message.to_string(),
    }
}

/// What a network create found: the network made now, or one of that name
/// there already (as the list call reads it), for the caller to compare
/// with what it asked for (a create whose answer was lost, or made by a
/// run killed before it read the answer).
#[derive(Debug)]
pub enum Created {
    Made,
    Found(Box<Network>),
}

/// A network as the guard's last look reads it.
#[derive(Debug, Clone)]
pub struct Guarded {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// Every container attached, running or stopped, by name.
    pub attached: Vec<String>,
}

/// A container's endpoint on one network, as an inspect tells it.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Its aliases there; `None` when it is not attached.
    pub aliases: Option<Vec<String>>,
    /// What its endpoint there asked for (default when not attached).
    pub requested: Requested,
    /// Its image id (`sha256:…`).
    pub image: String,
    pub running: bool,
}

/// A client of one server's Docker daemon (cheap to clone).
#[derive(Debug, Clone)]
pub struct Client {
    docker: Docker,
    /// The unix socket it talks to (for an ssh server, the tunnel's end).
    socket: PathBuf,
    /// How long one API call may take.
    timeout: Duration,
    /// Container inspects in flight at once.
    inspect_concurrency: usize,
    /// How to name the daemon when it cannot be reached, and what to do.
    reach: std::sync::Arc<Reach>,
    /// Kept-alive connections for the requests bollard's models cannot
    /// carry (`raw`).
    raw: RawPool,
}

/// A pool of kept-alive connections to a unix socket; hyperlocal finds the
/// socket in each request's URI.
type UnixPool<B> = hyper_util::client::legacy::Client<hyperlocal::UnixConnector, B>;
type RawPool = UnixPool<http_body_util::Full<hyper::body::Bytes>>;

fn unix_pool<B>() -> UnixPool<B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(TokioTimer::new())
        .build(hyperlocal::UnixConnector)
}

#[derive(Debug)]
struct Reach {
    /// `unix:///var/run/docker.sock`, or `ssh://host (socket … on the server)`.
    address: String,
    /// For ssh servers: the socket on the server is the likely culprit.
    hint: Option<String>,
}

/// An open connection to a server: its client, and for an ssh server the
/// tunnel that carries it (closed when the connection is dropped).
#[derive(Debug)]
pub struct Connection {
    pub client: Client,
    tunnel: Option<crate::ssh::Tunnel>,
}

impl Connection {
    /// Is this connection carried by an SSH tunnel?
    pub fn is_tunnelled(&self) -> bool {
        self.tunnel.is_some()
    }
}

/// The unix socket path that `local` means.
pub fn local_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from(crate::config::DEFAULT_DOCKER_SOCKET),
    }
}

/// Connects to a server: over SSH (one connection, the Docker socket
/// forwarded) when its address says so. No request is made: bollard 0.21
/// drops the version prefix from every path whatever `negotiate_version`
/// finds (fussybeaver/bollard#736), so each daemon answers in its own API
/// version and a `/version` round trip would buy nothing. A daemon that
/// cannot be reached says so at the first call. `timeout` bounds every API
/// call made through the connection. `ssh_persist` (zero: off) is how long
/// an SSH connection stays for the next run once idle ([`crate::ssh::forward`]).
pub async fn connect(
    server: &Server,
    timeout: Duration,
    ssh_persist: Duration,
) -> Result<Connection, DockerError> {
    let (path, tunnel, reach) = match &server.address {
        Address::Local | Address::Unix(_) => {
            let path = match &server.address {
                Address::Unix(p) => p.clone(),
                _ => local_socket(),
            };
            let reach = Reach {
                address: format!("unix://{}", path.display()),
                hint: None,
            };
            (path, None, reach)
        }
        Address::Ssh {
            user,
            host,
            port,
            docker_socket,
            identity_file,
            known_hosts_file,
        } => {
            let target = crate::ssh::Target {
                user: user.as_deref(),
                host,
                port: *port,
                identity_file: identity_file.as_deref(),
                known_hosts_file: known_hosts_file.as_deref(),
                docker_socket,
            };
            let tunnel = crate::ssh::forward(&target, ssh_persist)
                .await
                .map_err(|e| DockerError::Unreachable {
                    address: server.address.to_string(),
                    cause: e.message,
                    hint: e.hint,
                })?;
            let reach = Reach {
                address: format!("{} (socket {docker_socket} on the server)", server.address),
                hint: Some(format!(
                    "check docker_socket and that the SSH user may use it (root, or the docker group on {host})"
                )),
            };
            (tunnel.socket().to_path_buf(), Some(tunnel), reach)
        }
    };
    let mut client = Client::over(&path, timeout, std::sync::Arc::new(reach))?;
    if tunnel.is_some() {
        client.inspect_concurrency = TUNNELLED_INSPECT_CONCURRENCY;
    }
    Ok(Connection { client, tunnel })
}

/// A bollard client over a unix socket whose connections are kept alive
/// and reused. bollard's own unix transport opens a new connection for
/// every request (`pool_max_idle_per_host(0)`); through an SSH tunnel each
/// new connection is a channel open, one more round trip per request.
fn pooled(path: &Path, timeout: Duration) -> Result<Docker, bollard::errors::Error> {
    if !path.exists() {
        return Err(bollard::errors::Error::SocketNotFoundError(
            path.display().to_string(),
        ));
    }
    let pool = unix_pool();
    // hyperlocal finds the socket in the URI's host, hex-encoded, as
    // bollard's unix transport does.
    let host: String = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Docker::connect_with_custom_transport(
        move |req: bollard::BollardRequest| {
            let pool = pool.clone();
            async move { pool.request(req).await.map_err(Into::into) }
        },
        Some(format!("unix://{host}")),
        timeout.as_secs().max(1),
        bollard::API_DEFAULT_VERSION,
    )
}

/// How long an idle kept-alive connection stays open.
const POOL_IDLE: Duration = Duration::from_secs(30);

impl Client {
    fn over(
        path: &Path,
        timeout: Duration,
        reach: std::sync::Arc<Reach>,
    ) -> Result<Client, DockerError> {
        let docker = pooled(path, timeout).map_err(|e| DockerError::Unreachable {
            address: reach.address.clone(),
            cause: root_cause(&e),
            hint: "check the socket path".to_string(),
        })?;
        Ok(Client {
            docker,
            socket: path.to_path_buf(),
            timeout,
            inspect_concurrency: INSPECT_CONCURRENCY,
            reach,
            raw: unix_pool(),
        })
    }

    /// A new client over the same socket, made without a round trip: for
    /// work that must run outside the runtime this client was made in
    /// (releasing locks while a run unwinds).
    pub fn reopen(&self) -> Result<Client, DockerError> {
        let mut client = Client::over(&self.socket, self.timeout, self.reach.clone())?;
        client.inspect_concurrency = self.inspect_concurrency;
        Ok(client)
    }

    /// What a failed call means: the daemon out of reach (with what to do),
    /// no answer within the timeout, or Docker's own answer.
    fn fail(&self, what: &str, e: &bollard::errors::Error) -> DockerError {
        use bollard::errors::Error as E;
        match e {
            E::RequestTimeoutError => DockerError::Timeout {
                address: self.reach.address.clone(),
                what: what.to_string(),
                after: self.timeout,
            },
            E::HyperLegacyError { .. }
            | E::IOError { .. }
            | E::SocketNotFoundError(_)
            | E::HyperResponseError { .. } => {
                let cause = root_cause(e);
                let hint = if cause.contains("ermission denied") {
                    "run berth as a user in the `docker` group, or as root".to_string()
                } else if let Some(h) = &self.reach.hint {
                    h.clone()
                } else {
                    format!(
                        "check that dockerd runs and that {} is its socket (`docker -H {} info`)",
                        self.socket.display(),
                        self.reach.address
                    )
                };
                DockerError::Unreachable {
                    address: self.reach.address.clone(),
                    cause,
                    hint,
                }
            }
            _ => api(what, e),
        }
    }

    /// The server's networks and all its containers, and whether it is a
    /// swarm manager: three list calls at once, whatever their number; then
    /// on a manager its services and tasks (two more, see `swarm`), and its
    /// images when `with_images` (one more).
    pub async fn snapshot(&self, with_images: bool) -> Result<Snapshot, DockerError> {
        let (networks, containers, nodes) = tokio::try_join!(
            self.get_json::<Vec<read::NetworkJson>>("/networks", "list networks"),
            // `size=false`: sizes would cost the daemon a walk of each
            // container's files.
            self.get_json::<Vec<read::ContainerSummary>>(
                "/containers/json?all=true&size=false",
                "list containers"
            ),
            self.swarm_nodes(),
        )?;
        let networks: Vec<Network> = networks
            .into_iter()
            .map(read::NetworkJson::into_live)
            .collect();
        let (swarm, images) = tokio::try_join!(
            async {
                match nodes {
                    Some(nodes) => self.swarm(nodes, &networks).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                if !with_images {
                    return Ok(None);
                }
                let list: Vec<read::ImageSummary> =
                    self.get_json("/images/json", "list images").await?;
                Ok(Some(
                    list.into_iter()
                        .map(read::ImageSummary::into_live)
                        .collect(),
                ))
            }
        )?;
        let (journals, mut containers): (Vec<Container>, Vec<Container>) = containers
            .into_iter()
            .map(read::ContainerSummary::into_live)
            .partition(|c| c.label(labels::JOURNAL).is_some());
        let mut networks = networks;
        forget::apply_markers(&mut networks, &mut containers);
        Ok(Snapshot {
            networks,
            containers,
            images,
            journals: journals
                .into_iter()
                .map(|c| crate::live::Journal {
                    name: c.name,
                    labels: c.labels,
                })
                .collect(),
            swarm,
        })
    }

    /// Creates a network with berth's ownership labels; a network of that
    /// name there already is `Created::Found` (Docker 20.10 is asked to
    /// check, as newer engines always do: otherwise it makes a second
    /// network of the same name).
    pub async fn create_network(
        &self,
        name: &str,
        spec: &NetworkSpec,
        owner: &str,
        destination: &str,
    ) -> Result<Created, DockerError> {
        let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
        labels.insert(labels::MANAGED.into(), "true".into());
        labels.insert(labels::OWNER.into(), owner.into());
        labels.insert(labels::DESTINATION.into(), destination.into());
        if let Some(pool) = spec.subnet_pool {
            labels.insert(labels::SUBNET_POOL.into(), pool.to_string());
        }
        if spec.prevent_removal {
            labels.insert(labels::PREVENT_REMOVAL.into(), "true".into());
        }
        // Each auxiliary address goes to the pool whose subnet holds it, as
        // the docker CLI sends them.
        let pools: Vec<IpamConfig> = spec
            .pools()
            .into_iter()
            .map(|p| {
                let aux: HashMap<String, String> = spec
                    .aux_addresses
                    .iter()
                    .filter(|(_, ip)| p.subnet.contains(*ip))
                    .map(|(k, ip)| (k.clone(), ip.to_string()))
                    .collect();
                IpamConfig {
                    subnet: Some(p.subnet.to_string()),
                    gateway: p.gateway.map(|g| g.to_string()),
                    ip_range: p.ip_range.map(|r| r.to_string()),
                    auxiliary_addresses: (!aux.is_empty()).then_some(aux),
                }
            })
            .collect();
        let ipam =
            (!pools.is_empty() || spec.ipam_driver.is_some() || !spec.ipam_options.is_empty())
                .then(|| Ipam {
                    driver: spec.ipam_driver.clone(),
                    config: (!pools.is_empty()).then_some(pools),
                    options: (!spec.ipam_options.is_empty())
                        .then(|| spec.ipam_options.clone().into_iter().collect()),
                });
        let options = spec.driver_options();
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some(spec.driver.clone()),
            scope: spec.scope.clone(),
            internal: spec.internal.then_some(true),
            attachable: spec.attachable.then_some(true),
            config_only: spec.config_only.then_some(true),
            config_from: spec.config_from.as_ref().map(|n| ConfigReference {
                network: Some(n.clone()),
            }),
            enable_ipv6: spec.enable_ipv6,
            options: (!options.is_empty()).then(|| options.into_iter().collect()),
            ipam,
            // Docker refuses labels on a network made from a configuration
            // network: it takes that one's (berth's, when berth made it).
            labels: spec.config_from.is_none().then_some(labels),
            ..Default::default()
        };
        let what = format!("create network {name}");
        let mut body = serde_json::to_value(&req).map_err(|e| self.fail(&what, &e.into()))?;
        body["CheckDuplicate"] = serde_json::Value::Bool(true);
        let send = || self.exchange_json(hyper::Method::POST, "/networks/create", &body);
        let mut answer = send().await;
        if crate::fault::sent("create_network") {
            answer = send().await;
        }
        match answer {
            Ok(_) => Ok(Created::Made),
            Err(e) if answer::exists(&e) => match self.network_named(name).await? {
                Some(net) => Ok(Created::Found(Box::new(net))),
                None => Err(self.fail(&what, &e)),
            },
            Err(e) => Err(self.fail(&what, &e)),
        }
    }

    /// The network of that name, as the list call reads it.
    pub(super) async fn network_named(&self, name: &str) -> Result<Option<Network>, DockerError> {
        let filters = format!(r#"{{"name":[{}]}}"#, serde_json::json!(name));
        let list: Vec<read::NetworkJson> = self
            .get_json(
                &format!("/networks?filters={}", service::query_value(&filters)),
                "list networks",
            )
            .await?;
        // The filter matches parts of names: the one of exactly that name.
        Ok(list
            .into_iter()
            .map(read::NetworkJson::into_live)
            .find(|n| n.name == name))
    }

    /// Whether a network of that name (or id) exists.
    pub async fn network_exists(&self, name: &str) -> Result<bool, DockerError> {
        Ok(self
            .get_json_opt::<serde_json::Value>(
                &format!("/networks/{}", service::path_segment(name)),
                &format!("inspect network {name}"),
            )
            .await?
            .is_some())
    }

    /// A network's id and labels and every container attached to it,
    /// running or stopped (Docker's network inspect lists running ones
    /// only); `None` when there is no such network. Two calls: for the
    /// guard's last look before a network is removed or replaced.
    pub async fn network_guard(&self, name: &str) -> Result<Option<Guarded>, DockerError> {
        let Some(net) = self
            .get_json_opt::<read::NetworkLabels>(
                &format!("/networks/{}", service::path_segment(name)),
                &format!("inspect network {name}"),
            )
            .await?
        else {
            return Ok(None);
        };
        let filters = format!(r#"{{"network":[{}]}}"#, serde_json::json!(name));
        let attached: Vec<read::ContainerSummary> = self
            .get_json(
                &format!(
                    "/containers/json?all=true&size=false&filters={}",
                    service::query_value(&filters)
                ),
                &format!("list containers on {name}"),
            )
            .await?;
        Ok(Some(Guarded {
            id: net.id,
            labels: net.labels,
            attached: attached.iter().map(|c| c.name().to_string()).collect(),
        }))
    }

    /// Removes a network (gone already: done).
    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        let mut answer = self.docker.remove_network(name).await;
        if crate::fault::sent("remove_network") {
            answer = self.docker.remove_network(name).await;
        }
        absent(answer)
            .map(drop)
            .map_err(|e| self.fail(&format!("remove network {name}"), &e))
    }

    /// Env and per-network aliases of each named container: one inspect
    /// each, at most `INSPECT_CONCURRENCY` at a time (through a tunnel,
    /// `TUNNELLED_INSPECT_CONCURRENCY`). `None` for a container
    /// removed since it was listed.
    pub async fn inspect_many(
        &self,
        names: impl IntoIterator<Item = String>,
    ) -> Result<BTreeMap<String, Option<Inspected>>, DockerError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        stream::iter(names)
            .map(|name| async move {
                let info = self.inspect_container(&name).await?;
                Ok::<_, DockerError>((name, info.map(read::ContainerInspect::into_inspected)))
            })
            .buffer_unordered(self.inspect_concurrency)
            .try_collect()
            .await
    }

    /// The aliases `container` has on `network` (without the short
    /// container id Docker adds by itself), its image id and whether it
    /// runs; `None` when there is no such container.
    pub async fn attachment(
        &self,
        container: &str,
        network: &str,
    ) -> Result<Option<Attachment>, DockerError> {
        let Some(mut info) = self.inspect_container(container).await? else {
            return Ok(None);
        };
        let (aliases, requested) = match info.endpoint_on(network) {
            Some((aliases, requested)) => (Some(aliases), requested),
            None => (None, Requested::default()),
        };
        Ok(Some(Attachment {
            aliases,
            requested,
            running: info.running(),
            image: info.image,
        }))
    }

    /// One container inspect, decoded into the fields berth reads; `None`
    /// when there is no such container.
    async fn inspect_container(
        &self,
        name: &str,
    ) -> Result<Option<read::ContainerInspect>, DockerError> {
        self.get_json_opt(
            &format!("/containers/{}/json", service::path_segment(name)),
            &format!("inspect container {name}"),
        )
        .await
    }

    /// Attaches `container` to `network` with `aliases`. Attached already
    /// with those aliases (in any order; a lost answer, or a killed run's
    /// request that landed late): done. Attached with others: an error
    /// naming both.
    pub async fn connect(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
        endpoint: &EndpointSpec,
    ) -> Result<(), DockerError> {
        let what = format!("connect {container} to {network}");
        let ipam = EndpointIpamConfig {
            ipv4_address: endpoint.ipv4_address.map(|a| a.to_string()),
            ipv6_address: endpoint.ipv6_address.map(|a| a.to_string()),
            link_local_ips: endpoint
                .link_local_ips
                .as_ref()
                .map(|l| l.iter().map(ToString::to_string).collect()),
        };
        let req = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()),
                ipam_config: (ipam != EndpointIpamConfig::default()).then_some(ipam),
                driver_opts: endpoint
                    .driver_opts
                    .as_ref()
                    .map(|o| o.clone().into_iter().collect()),
                ..Default::default()
            }),
        };
        let mut answer = self.docker.connect_network(network, req.clone()).await;
        if crate::fault::sent("connect") {
            answer = self.docker.connect_network(network, req).await;
        }
        let e = match answer {
            Ok(()) => return Ok(()),
            Err(e) if answer::already_attached(&e) => e,
            Err(e) => return Err(self.fail(&what, &e)),
        };
        let Some(Attachment {
            aliases: Some(mut have),
            requested,
            ..
        }) = self.attachment(container, network).await?
        else {
            return Err(self.fail(&what, &e));
        };
        let mut want = aliases.to_vec();
        have.sort();
        have.dedup();
        want.sort();
        want.dedup();
        let settings = endpoint.differences(
            requested.ipv4_address,
            requested.ipv6_address,
            &requested.link_local_ips,
            &requested.driver_opts,
        );
        if have == want && settings.is_empty() {
            return Ok(());
        }
        let mut message = format!("{container} is attached to {network} already");
        if have != want {
            message.push_str(&format!(
                ", with aliases [{}], not [{}]",
                have.join(", "),
                want.join(", ")
            ));
        }
        if !settings.is_empty() {
            message.push_str(&format!(" ({})", settings.join("; ")));
        }
        Err(DockerError::Api {
            what,
            status: answer_status(&e),
            message,
        })
    }

    /// Detaches `container` from `network`. Not attached (or gone): done.
    pub async fn disconnect(&self, network: &str, container: &str) -> Result<(), DockerError> {
        let req = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(true),
        };
        let mut answer = self.docker.disconnect_network(network, req.clone()).await;
        if crate::fault::sent("disconnect") {
            answer = self.docker.disconnect_network(network, req).await;
        }
        match answer {
            Err(e) if !answer::not_connected(&e) => {
                Err(self.fail(&format!("disconnect {container} from {network}"), &e))
            }
            _ => Ok(()),
        }
    }
}

/// "404 means absent": Docker's "no such container, network or volume"
/// becomes `None` (a removal finds it gone already, an inspection finds
/// nothing); any other error stays one (`answer::gone` reads the 404).
fn absent<T>(r: Result<T, bollard::errors::Error>) -> Result<Option<T>, bollard::errors::Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if answer::gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The status of Docker's answer, if it answered.
fn answer_status(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn api(what: &str, e: &bollard::errors::Error) -> DockerError {
    let message = match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        _ => root_cause(e),
    };
    DockerError::Api {
        what: what.to_string(),
        status: answer_status(e),
        message,
    }
}

/// Docker's own message when there is one, else the deepest cause.
fn root_cause(e: &bollard::errors::Error) -> String {
    if let bollard::errors::Error::DockerResponseServerError {
        status_code,
        message,
    } = e
    {
        return answered(Some(*status_code), message);
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

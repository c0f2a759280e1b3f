//! The config file as written: serde/schemars types that mirror the config
//! contract (docs/reference.md § Config) key for key.
//!
//! These types are the single source of `schemas/berth.schema.json` and of the
//! list of keys each table accepts. Nothing here is validated beyond types;
//! `load` turns them into the checked model in `config::model`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// One berth config file. Any file may hold any number of tables; names are
/// unique per kind across all files of a config.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "berth config file (format v1)")]
pub struct RawFile {
    /// Global settings; at most one `[settings]` table in the whole config.
    pub settings: Option<RawSettings>,
    /// Docker hosts berth talks to.
    #[serde(default)]
    pub server: Vec<RawServer>,
    /// A destination is a Docker network on a server.
    #[serde(default)]
    pub destination: Vec<RawDestination>,
    /// Applications assigned to destinations.
    #[serde(default)]
    pub application: Vec<RawResource>,
    /// Databases assigned to destinations (same keys as applications).
    #[serde(default)]
    pub database: Vec<RawResource>,
    /// Compose stacks assigned to destinations.
    #[serde(default)]
    pub service: Vec<RawService>,
    /// Where `berth watch` tells a person what it cannot heal.
    #[serde(default)]
    pub alert: Vec<RawAlert>,
}

/// `[settings]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Settings")]
pub struct RawSettings {
    /// Written to the `berth.owner` label of everything berth creates; only
    /// networks with this owner are ever removed. Default `"berth"`.
    pub owner: Option<String>,
    /// `apply` applies every server whose own plan is complete and
    /// unblocked, skipping (and naming) the others and everything that
    /// depends on them, and exits non-zero, as `apply --partial` does.
    /// Default `false`: `apply` applies nothing unless every server can be
    /// applied.
    pub partial: Option<bool>,
    /// A declared container, `match_labels` selector, swarm service or
    /// stack `project` that matches nothing on its server is a plan error
    /// (`plan` exits 1, `apply` and the pre-receive hook refuse), not a
    /// warning. Same as `berth plan --strict`. Default `false`.
    pub strict: Option<bool>,
    /// How long an SSH connection stays open once idle, so that the next
    /// run within that time reuses it instead of a new handshake (an
    /// OpenSSH control master with `ControlPersist`), e.g. `"60s"`, `"5m"`
    /// (at most `"24h"`). `"0s"` turns reuse off: each run connects and
    /// disconnects. `--ssh-persist` and `--no-ssh-persist` override it.
    /// Default `"60s"`.
    pub ssh_persist: Option<String>,
}

/// `[[server]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Server")]
pub struct RawServer {
    /// Unique server name, referenced by destinations.
    pub name: String,
    /// `ssh://user@host:port`, `unix:///path/docker.sock`, or `local`
    /// (`$DOCKER_HOST` when it is a `unix://` address, else `/var/run/docker.sock`).
    pub address: String,
    /// ssh only: the Docker socket path on the server. Default `/var/run/docker.sock`.
    pub docker_socket: Option<String>,
    /// ssh only: private key file.
    pub identity_file: Option<String>,
    /// ssh only: known_hosts file; host keys are always checked.
    pub known_hosts_file: Option<String>,
    /// Group names, e.g. `["eu", "web"]`: a destination over
    /// `servers = ["tag:web"]` lives on every server tagged `web`.
    pub tags: Option<Vec<String>>,
}

/// `[[destination]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Destination")]
pub struct RawDestination {
    /// Display name; renaming a destination touches nothing in Docker.
    pub name: String,
    /// The `[[server]]` this network lives on. Exclusive with `servers`.
    pub server: Option<String>,
    /// A set of servers, one network on each (same name, same spec):
    /// server names and `"tag:NAME"` entries, or `"*"` for every server.
    /// Exclusive with `server`.
    pub servers: Option<RawServers>,
    /// Docker network name: the destination's identity on its server.
    pub network: String,
    /// berth manages this network even if it did not create it (Coolify's
    /// `coolify`, one made by hand): its differences are planned like
    /// berth's own, a replace that recreates it with berth's labels, after
    /// which it is berth's. Without it a network berth did not create is
    /// used as it is and never changed. Default `false`.
    pub manage: Option<bool>,
    /// A plan that would remove or replace this network is a plan error.
    /// Recorded on networks berth creates as the `berth.prevent_removal`
    /// label, so it still holds once the destination is no longer declared
    /// on a server. Default `false`.
    pub prevent_removal: Option<bool>,
    /// Network driver. Default `"bridge"`; `"overlay"` on a swarm manager.
    pub driver: Option<String>,
    /// Restrict external access to the network. Default `false`.
    pub internal: Option<bool>,
    /// Allow standalone containers to attach (overlay). Default `false`.
    pub attachable: Option<bool>,
    /// IPAM subnet in CIDR form, e.g. `"10.30.0.0/24"`.
    pub subnet: Option<String>,
    /// IPAM gateway; must lie inside `subnet`.
    pub gateway: Option<String>,
    /// Instead of `subnet`: each server of the destination gets its own
    /// subnet of `subnet_prefix` bits carved from this pool, e.g.
    /// `"10.40.0.0/16"`; a live network's subnet is kept.
    pub subnet_pool: Option<String>,
    /// With `subnet_pool`: the prefix length of each server's subnet, e.g. `24`.
    pub subnet_prefix: Option<u8>,
    /// The part of `subnet` containers get their addresses from, e.g.
    /// `"10.30.0.128/25"`.
    pub ip_range: Option<String>,
    /// Give containers IPv6 addresses too. Unset: the daemon's choice
    /// (never drift); `true` and `false` are both enforced.
    pub enable_ipv6: Option<bool>,
    /// IPv6 IPAM subnet (needs `enable_ipv6`), e.g. `"fd00:30::/64"`.
    pub subnet_v6: Option<String>,
    /// IPv6 gateway; must lie inside `subnet_v6`.
    pub gateway_v6: Option<String>,
    /// More IPAM pools, IPv4 or IPv6, after `subnet` and `subnet_v6`:
    /// `[{ subnet = "10.30.1.0/24", gateway = "10.30.1.1", ip_range = "10.30.1.0/25" }]`.
    pub extra_pools: Option<Vec<RawPool>>,
    /// Addresses kept from containers, by name, each inside one of the
    /// destination's subnets: `{ router = "10.30.0.2" }`.
    #[serde(default)]
    pub aux_addresses: BTreeMap<String, String>,
    /// The IPAM driver. Default: Docker's `default`.
    pub ipam_driver: Option<String>,
    /// IPAM driver options; only these keys are compared.
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    /// `"local"` or `"swarm"`. Unset: the driver's scope.
    pub scope: Option<String>,
    /// A configuration-only network: IPAM and options for networks made
    /// with `config_from`; no container joins it. Default `false`.
    pub config_only: Option<bool>,
    /// The configuration-only network (on the same server) this network
    /// takes its IPAM and driver options from.
    pub config_from: Option<String>,
    /// macvlan / ipvlan only: the host interface the network sits on (the
    /// `parent` driver option), e.g. `"eth0"` or `"eth0.10"`.
    pub parent: Option<String>,
    /// Driver options, e.g. `{ "com.docker.network.driver.mtu" = "1450" }`
    /// (overlays on many clouds), `com.docker.network.bridge.name`, or the
    /// overlay's `encrypted`. Options the daemon adds on its own are never
    /// drift; only these keys are compared.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Extra labels, added to berth's own labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One IPAM pool of `extra_pools`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Pool")]
pub struct RawPool {
    /// The subnet in CIDR form, IPv4 or IPv6.
    pub subnet: String,
    /// The gateway; inside `subnet`.
    pub gateway: Option<String>,
    /// The part of `subnet` container addresses come from.
    pub ip_range: Option<String>,
}

/// `[[application]]` and `[[database]]`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Resource")]
pub struct RawResource {
    /// Unique name per kind.
    pub name: String,
    /// The `[[destination]]` this resource is attached to. Exclusive with
    /// `destinations`.
    pub destination: Option<String>,
    /// A container shared by several destinations (a proxy such as
    /// Coolify's `coolify-proxy` or Traefik): a list of destinations, or
    /// `"*"` for every destination of each server it runs on (it joins new
    /// ones, and leaves one being removed as part of that removal).
    /// Exclusive with `destination`.
    pub destinations: Option<RawDestinations>,
    /// The live container's name. Default: `name`. Exclusive with `match_labels`.
    pub container: Option<String>,
    /// Instead of `container`: every container carrying all these labels
    /// (Coolify names application containers `<uuid>-<timestamp>`).
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Instead of `container`: a Docker Swarm service (on a manager) by
    /// name; assigning it updates its task template (a rolling update).
    pub swarm_service: Option<String>,
    /// Aliases on the destination network. Default: `[name]`.
    pub aliases: Option<Vec<String>>,
    /// If the container does not exist, create it as a clone of this resource (same kind).
    pub clone_of: Option<String>,
    /// A static IPv4 address on the destination network (`docker network
    /// connect --ip`); it must lie in the destination's `subnet`. Unset:
    /// the daemon's choice. Only with `destination` and a `container`.
    pub ipv4_address: Option<String>,
    /// A static IPv6 address (`--ip6`); the destination needs `enable_ipv6`
    /// and a `subnet_v6` holding it. Unset: the daemon's choice.
    pub ipv6_address: Option<String>,
    /// Link-local addresses on the destination network (`--link-local-ip`).
    /// Unset: none asked for, never compared.
    pub link_local_ips: Option<Vec<String>>,
    /// Endpoint driver options (`--driver-opt`). Unset: never compared.
    pub driver_opts: Option<BTreeMap<String, String>>,
}

/// `[service.attachments.<compose service>]`: one compose service's
/// endpoint on the stack's destination network.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Attachment")]
pub struct RawAttachment {
    /// A static IPv4 address (`--ip`) inside the destination's `subnet`.
    pub ipv4_address: Option<String>,
    /// A static IPv6 address (`--ip6`) inside the destination's `subnet_v6`.
    pub ipv6_address: Option<String>,
    /// Link-local addresses (`--link-local-ip`).
    pub link_local_ips: Option<Vec<String>>,
    /// Endpoint driver options (`--driver-opt`).
    pub driver_opts: Option<BTreeMap<String, String>>,
}

/// `destinations = ["a", "b"]`, or `destinations = "*"`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawDestinations {
    /// `"*"`: every destination of each server the container runs on.
    All(String),
    /// These destinations.
    Listed(Vec<String>),
}

/// `servers = ["db-1", "tag:web"]`, or `servers = "*"`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawServers {
    /// `"*"`: every server of the config.
    All(String),
    /// Server names and `"tag:NAME"` entries.
    Listed(Vec<String>),
}

/// `[[service]]`: a compose stack
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Service")]
pub struct RawService {
    /// Unique service name.
    pub name: String,
    /// The `[[destination]]` this stack is assigned to.
    pub destination: String,
    /// The `com.docker.compose.project` label value. Default: `name`.
    pub project: Option<String>,
    /// Connect every container of the stack to the destination network with
    /// alias `<service>-<project>`. Default `false`, as in Coolify.
    pub connect_to_predefined_networks: Option<bool>,
    /// With `connect_to_predefined_networks`: also the compose service name
    /// alone as an alias (`web` beside `web-<project>`). Default `false`.
    pub short_aliases: Option<bool>,
    /// Path of the stack's compose file in the repository (validated).
    pub compose_file: Option<String>,
    /// If the stack does not exist, create it as a clone of this service.
    pub clone_of: Option<String>,
    /// Per compose service (by its name in the compose file): a static
    /// address, link-local addresses or driver options on the destination
    /// network, e.g. `attachments = { web = { ipv4_address = "10.30.0.5" } }`.
    /// Needs `connect_to_predefined_networks = true`.
    #[serde(default)]
    pub attachments: BTreeMap<String, RawAttachment>,
}

/// `[[alert]]`: a receiver `berth watch` notifies when it cannot heal (a
/// server down, a change it does not apply, a failed apply or fetch, an
/// invalid config). The URL is never written in the repository: it comes
/// from an environment variable or a file on the machine watch runs on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Alert")]
pub struct RawAlert {
    /// Unique alert name, shown in the log (`alert ops: …`).
    pub name: String,
    /// `"webhook"` (a JSON body, `schemas/alert.schema.json`), `"slack"`
    /// (a Slack-compatible incoming webhook) or `"ntfy"` (an ntfy topic URL).
    pub kind: String,
    /// The environment variable holding the URL, e.g. `"BERTH_ALERT_URL"`.
    /// Exclusive with `url_file`.
    pub url_env: Option<String>,
    /// A file on the machine watch runs on holding the URL (its first
    /// line), e.g. `"/etc/berth/alert-url"`. Exclusive with `url_env`.
    pub url_file: Option<String>,
    /// The conditions to notify: `server_down`, `not_healing`,
    /// `apply_failed`, `fetch_failed`, `config_invalid`.
    pub on: Vec<String>,
    /// How long `server_down`, `not_healing` and `fetch_failed` must hold
    /// before the alert fires, e.g. `"30s"`. Default `"2m"`.
    pub grace: Option<String>,
    /// At most this many notifications in any hour; more are dropped (and
    /// counted). Default `30`.
    pub max_per_hour: Option<u32>,
}

/// The keys a table of type `T` accepts, read from its JSON schema so the
/// list can never drift from the struct.
pub fn keys_of<T: JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T);
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

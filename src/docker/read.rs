//! Docker's list and inspect answers as berth reads them: a small struct of
//! the few fields berth uses per answer (serde skips the rest without
//! building it), instead of bollard's full models — most of a plan's CPU
//! went into decoding fields nobody reads. Every field may be missing or
//! `null` (older engines lack some, and Docker writes `null` for empty
//! lists and maps); each becomes its default.
//!
//! Fixtures recorded from Engine 20.10, 26.1 and 28.5 (`testdata/`) hold
//! these structs to what each engine sends.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::live::{Container, Endpoint, Image, Inspected, IpamPool, Mount, Network, Requested};

/// A field Docker may send as `null`: its default then.
pub(super) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /networks`, one network (also the swarm-scoped ones on a manager).
#[derive(Deserialize)]
pub(super) struct NetworkJson {
    #[serde(rename = "Id", default, deserialize_with = "nullable")]
    id: String,
    #[serde(rename = "Name", default, deserialize_with = "nullable")]
    name: String,
    #[serde(rename = "Driver", default, deserialize_with = "nullable")]
    driver: String,
    #[serde(rename = "Internal", default, deserialize_with = "nullable")]
    internal: bool,
    #[serde(rename = "Attachable", default, deserialize_with = "nullable")]
    attachable: bool,
    #[serde(rename = "EnableIPv6", default, deserialize_with = "nullable")]
    enable_ipv6: bool,
    #[serde(rename = "IPAM", default, deserialize_with = "nullable")]
    ipam: IpamJson,
    #[serde(rename = "Options", default, deserialize_with = "nullable")]
    options: BTreeMap<String, String>,
    #[serde(rename = "Labels", default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "Scope", default, deserialize_with = "nullable")]
    scope: String,
    #[serde(rename = "ConfigOnly", default, deserialize_with = "nullable")]
    config_only: bool,
    #[serde(rename = "ConfigFrom", default, deserialize_with = "nullable")]
    config_from: ConfigFromJson,
}

#[derive(Deserialize, Default)]
struct ConfigFromJson {
    #[serde(rename = "Network", default, deserialize_with = "nullable")]
    network: String,
}

#[derive(Deserialize, Default)]
struct IpamJson {
    #[serde(rename = "Driver", default, deserialize_with = "nullable")]
    driver: String,
    #[serde(rename = "Options", default, deserialize_with = "nullable")]
    options: BTreeMap<String, String>,
    #[serde(rename = "Config", default, deserialize_with = "nullable")]
    config: Vec<PoolJson>,
}

#[derive(Deserialize)]
struct PoolJson {
    #[serde(rename = "Subnet", default)]
    subnet: Option<String>,
    #[serde(rename = "Gateway", default)]
    gateway: Option<String>,
    #[serde(rename = "IPRange", default)]
    ip_range: Option<String>,
    #[serde(rename = "AuxiliaryAddresses", default, deserialize_with = "nullable")]
    aux_addresses: BTreeMap<String, String>,
}

impl NetworkJson {
    pub(super) fn into_live(self) -> Network {
        let net = |s: Option<String>| {
            s.and_then(|s| s.parse::<ipnet::IpNet>().ok())
                .map(|s| s.trunc())
        };
        // An address, with or without a prefix length (`10.0.0.1/24`).
        let addr = |a: &str| a.split('/').next().and_then(|a| a.parse().ok());
        let ipam = self
            .ipam
            .config
            .into_iter()
            .map(|c| IpamPool {
                subnet: net(c.subnet),
                gateway: c.gateway.as_deref().and_then(addr),
                ip_range: net(c.ip_range),
                aux_addresses: c
                    .aux_addresses
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), addr(v)?)))
                    .collect(),
            })
            .collect();
        Network {
            id: self.id,
            name: self.name,
            driver: self.driver,
            internal: self.internal,
            attachable: self.attachable,
            ipam,
            enable_ipv6: self.enable_ipv6,
            options: self.options,
            labels: self.labels,
            ipam_driver: self.ipam.driver,
            ipam_options: self.ipam.options,
            scope: self.scope,
            config_only: self.config_only,
            config_from: self.config_from.network,
        }
    }
}

/// `GET /networks/{name}`: its id and labels (the guard's last look).
#[derive(Deserialize)]
pub(super) struct NetworkLabels {
    #[serde(rename = "Id", default, deserialize_with = "nullable")]
    pub(super) id: String,
    #[serde(rename = "Labels", default, deserialize_with = "nullable")]
    pub(super) labels: BTreeMap<String, String>,
}

/// `GET /containers/json`, one container.
#[derive(Deserialize)]
pub(super) struct ContainerSummary {
    #[serde(rename = "Id", default, deserialize_with = "nullable")]
    id: String,
    #[serde(rename = "Names", default, deserialize_with = "nullable")]
    names: Vec<String>,
    #[serde(rename = "Image", default, deserialize_with = "nullable")]
    image: String,
    #[serde(rename = "ImageID", default, deserialize_with = "nullable")]
    image_id: String,
    /// `running`, `exited`, `created`, …
    #[serde(rename = "State", default, deserialize_with = "nullable")]
    state: String,
    /// `Up 3 hours (healthy)`, …
    #[serde(rename = "Status", default, deserialize_with = "nullable")]
    status: String,
    #[serde(rename = "Labels", default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "NetworkSettings", default, deserialize_with = "nullable")]
    network_settings: NetworksJson,
}

#[derive(Deserialize, Default)]
struct NetworksJson {
    #[serde(rename = "Networks", default, deserialize_with = "nullable")]
    networks: BTreeMap<String, EndpointJson>,
}

#[derive(Deserialize)]
struct EndpointJson {
    /// `null` in every container list (20.10 to 28.5); an inspect has them.
    #[serde(rename = "Aliases", default)]
    aliases: Option<Vec<String>>,
    /// What the endpoint asked for. Read from inspects only: Engine 20.10's
    /// list leaves out what a `network connect` asked for.
    #[serde(rename = "IPAMConfig", default, deserialize_with = "nullable")]
    ipam_config: EndpointIpamJson,
    #[serde(rename = "DriverOpts", default, deserialize_with = "nullable")]
    driver_opts: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct EndpointIpamJson {
    #[serde(rename = "IPv4Address", default, deserialize_with = "nullable")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address", default, deserialize_with = "nullable")]
    ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", default, deserialize_with = "nullable")]
    link_local_ips: Vec<String>,
}

impl EndpointJson {
    /// What it asked for; an address that does not parse (never seen) reads
    /// as none.
    fn requested(&self) -> Requested {
        let ip = |s: &str| s.parse().ok();
        let ipam = &self.ipam_config;
        Requested {
            ipv4_address: ip(&ipam.ipv4_address),
            ipv6_address: ip(&ipam.ipv6_address),
            link_local_ips: ipam.link_local_ips.iter().filter_map(|s| ip(s)).collect(),
            driver_opts: self.driver_opts.clone(),
        }
    }
}

impl ContainerSummary {
    /// Its name without Docker's leading `/`.
    pub(super) fn name(&self) -> &str {
        self.names
            .first()
            .map_or("", |n| n.strip_prefix('/').unwrap_or(n))
    }

    pub(super) fn into_live(self) -> Container {
        let name = self.name().to_string();
        Container {
            id: self.id,
            name,
            image: self.image,
            image_id: self.image_id,
            running: self.state == "running",
            state: self.state,
            status: self.status,
            labels: self.labels,
            networks: self
                .network_settings
                .networks
                .into_iter()
                .map(|(net, ep)| {
                    (
                        net,
                        Endpoint {
                            aliases: ep.aliases,
                            requested: None,
                        },
                    )
                })
                .collect(),
            env: None,
            mounts: None,
            ports: None,
        }
    }
}

/// `GET /containers/{name}/json`: what a plan and an attachment read.
#[derive(Deserialize)]
pub(super) struct ContainerInspect {
    #[serde(rename = "Id", default, deserialize_with = "nullable")]
    pub(super) id: String,
    /// The image id (`sha256:…`).
    #[serde(rename = "Image", default, deserialize_with = "nullable")]
    pub(super) image: String,
    #[serde(rename = "State", default, deserialize_with = "nullable")]
    state: StateJson,
    #[serde(rename = "Config", default, deserialize_with = "nullable")]
    config: ConfigJson,
    #[serde(rename = "NetworkSettings", default, deserialize_with = "nullable")]
    network_settings: NetworksJson,
    #[serde(rename = "Mounts", default, deserialize_with = "nullable")]
    mounts: Vec<MountJson>,
    #[serde(rename = "HostConfig", default, deserialize_with = "nullable")]
    host_config: HostConfigJson,
}

#[derive(Deserialize, Default)]
struct StateJson {
    #[serde(rename = "Running", default, deserialize_with = "nullable")]
    running: bool,
}

#[derive(Deserialize, Default)]
struct ConfigJson {
    #[serde(rename = "Env", default, deserialize_with = "nullable")]
    env: Vec<String>,
}

#[derive(Deserialize)]
struct MountJson {
    #[serde(rename = "Type", default)]
    typ: Option<String>,
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Source", default)]
    source: Option<String>,
    #[serde(rename = "Destination", default)]
    destination: Option<String>,
}

#[derive(Deserialize, Default)]
struct HostConfigJson {
    /// `"80/tcp"` → its host bindings (`null` when exposed, not published).
    #[serde(rename = "PortBindings", default, deserialize_with = "nullable")]
    port_bindings: BTreeMap<String, Option<Vec<PortBindingJson>>>,
}

#[derive(Deserialize)]
struct PortBindingJson {
    #[serde(rename = "HostIp", default, deserialize_with = "nullable")]
    host_ip: String,
    #[serde(rename = "HostPort", default, deserialize_with = "nullable")]
    host_port: String,
}

impl ContainerInspect {
    pub(super) fn running(&self) -> bool {
        self.state.running
    }

    /// Its aliases on `network` without the short container id Docker adds
    /// by itself, and what the endpoint asked for; `None` when it is not
    /// attached there.
    pub(super) fn endpoint_on(&mut self, network: &str) -> Option<(Vec<String>, Requested)> {
        let endpoint = self.network_settings.networks.remove(network)?;
        let requested = endpoint.requested();
        Some((
            endpoint
                .aliases
                .unwrap_or_default()
                .into_iter()
                .filter(|a| !crate::live::is_short_id(&self.id, a))
                .collect(),
            requested,
        ))
    }

    #[cfg(test)]
    pub(super) fn aliases_on(&mut self, network: &str) -> Option<Vec<String>> {
        self.endpoint_on(network).map(|(aliases, _)| aliases)
    }

    pub(super) fn into_inspected(self) -> Inspected {
        let env = self
            .config
            .env
            .into_iter()
            .map(|mut kv| match kv.find('=') {
                Some(i) => {
                    let v = kv[i + 1..].to_string();
                    kv.truncate(i);
                    (kv, v)
                }
                None => (kv, String::new()),
            })
            .collect();
        let requested = self
            .network_settings
            .networks
            .iter()
            .map(|(net, ep)| (net.clone(), ep.requested()))
            .collect();
        let aliases = self
            .network_settings
            .networks
            .into_iter()
            .map(|(net, ep)| (net, ep.aliases.unwrap_or_default()))
            .collect();
        let mounts = self.mounts.into_iter().filter_map(mount).collect();
        Inspected {
            env,
            aliases,
            requested,
            mounts,
            ports: published(self.host_config.port_bindings),
        }
    }
}

/// Named volumes and bind mounts; anonymous volumes (64-hex names) are the
/// container's own and not copied.
fn mount(m: MountJson) -> Option<Mount> {
    let path = m.destination?;
    match m.typ.as_deref() {
        Some("volume") => {
            let name = m.name?;
            let anonymous = name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit());
            (!anonymous).then_some(Mount::Volume { name, path })
        }
        Some("bind") => Some(Mount::Bind {
            source: m.source?,
            path,
        }),
        _ => None,
    }
}

/// `host_ip:host_port->port/proto` for each published port, sorted.
fn published(map: BTreeMap<String, Option<Vec<PortBindingJson>>>) -> Vec<String> {
    let mut out: Vec<String> = map
        .iter()
        .flat_map(|(port, bindings)| {
            bindings.iter().flatten().map(move |b| {
                if b.host_ip.is_empty() {
                    format!("{}->{port}", b.host_port)
                } else {
                    format!("{}:{}->{port}", b.host_ip, b.host_port)
                }
            })
        })
        .collect();
    out.sort();
    out
}

/// `GET /images/json`, one image.
#[derive(Deserialize)]
pub(super) struct ImageSummary {
    #[serde(rename = "Id", default, deserialize_with = "nullable")]
    id: String,
    /// `null` for an untagged image on some engines, `[]` on others.
    #[serde(rename = "RepoTags", default, deserialize_with = "nullable")]
    repo_tags: Vec<String>,
}

impl ImageSummary {
    pub(super) fn into_live(self) -> Image {
        Image {
            id: self.id,
            tags: self.repo_tags,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The answers of one engine version, recorded by `testdata/record.sh`.
    pub(in crate::docker) struct Recorded {
        pub version: &'static str,
        pub networks: &'static str,
        pub containers: &'static str,
        pub inspect_web: &'static str,
        pub inspect_stopped: &'static str,
        pub network_inspect: &'static str,
        pub images: &'static str,
        pub nodes: &'static str,
        pub services: &'static str,
    }

    macro_rules! recorded {
        ($dir:literal) => {
            Recorded {
                version: include_str!(concat!("testdata/", $dir, "/VERSION")),
                networks: include_str!(concat!("testdata/", $dir, "/networks.json")),
                containers: include_str!(concat!("testdata/", $dir, "/containers.json")),
                inspect_web: include_str!(concat!("testdata/", $dir, "/inspect-web.json")),
                inspect_stopped: include_str!(concat!("testdata/", $dir, "/inspect-stopped.json")),
                network_inspect: include_str!(concat!("testdata/", $dir, "/network-fx-net.json")),
                images: include_str!(concat!("testdata/", $dir, "/images.json")),
                nodes: include_str!(concat!("testdata/", $dir, "/nodes.json")),
                services: include_str!(concat!("testdata/", $dir, "/services.json")),
            }
        };
    }

    /// Engine 20.10 (API 1.41), 26.1 (1.45) and 28.5 (1.51).
    pub(in crate::docker) fn engines() -> [Recorded; 3] {
        [
            recorded!("engine-20.10"),
            recorded!("engine-26.1"),
            recorded!("engine-28.5"),
        ]
    }

    fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str, version: &str) -> T {
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("{what} from Engine {}: {e}", version.trim()))
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn networks_read_as_each_engine_sends_them() {
        for e in engines() {
            let v = e.version.trim();
            let list: Vec<NetworkJson> = parse(e.networks, "GET /networks", v);
            let networks: Vec<Network> = list.into_iter().map(NetworkJson::into_live).collect();
            let find = |name: &str| {
                networks
                    .iter()
                    .find(|n| n.name == name)
                    .unwrap_or_else(|| panic!("{name} listed by Engine {v}"))
            };
            let net = find("fx-net");
            assert_eq!(net.id.len(), 64, "Engine {v}");
            assert_eq!(
                (
                    net.driver.as_str(),
                    net.internal,
                    net.attachable,
                    net.enable_ipv6
                ),
                ("bridge", false, false, false),
                "Engine {v}"
            );
            assert_eq!(net.labels, map(&[("berth.test", "fixture")]), "Engine {v}");
            assert_eq!(
                net.options,
                map(&[("com.docker.network.bridge.enable_icc", "true")]),
                "Engine {v}"
            );
            assert_eq!(
                net.ipam,
                [IpamPool {
                    subnet: Some("10.77.0.0/24".parse().unwrap()),
                    gateway: Some("10.77.0.1".parse().unwrap()),
                    ip_range: Some("10.77.0.128/25".parse().unwrap()),
                    aux_addresses: BTreeMap::new(),
                }],
                "Engine {v}"
            );
            assert_eq!(
                (
                    net.ipam_driver.as_str(),
                    net.ipam_options.len(),
                    net.scope.as_str(),
                    net.config_only,
                    net.config_from.as_str()
                ),
                ("default", 0, "local", false, ""),
                "Engine {v}"
            );
            let overlay = find("fx-ov");
            assert_eq!(
                (overlay.driver.as_str(), overlay.attachable),
                ("overlay", true),
                "Engine {v}"
            );
            assert_eq!(
                overlay.ipam[0].subnet,
                Some("10.78.0.0/24".parse().unwrap()),
                "Engine {v}"
            );
            assert_eq!(find("bridge").driver, "bridge", "Engine {v}");

            let inspected: NetworkLabels = parse(e.network_inspect, "GET /networks/fx-net", v);
            assert_eq!(
                inspected.labels,
                map(&[("berth.test", "fixture")]),
                "Engine {v}"
            );
            assert_eq!(inspected.id.len(), 64, "Engine {v}");
        }
    }

    #[test]
    fn containers_read_as_each_engine_lists_them() {
        for e in engines() {
            let v = e.version.trim();
            let list: Vec<ContainerSummary> = parse(e.containers, "GET /containers/json", v);
            let containers: Vec<Container> =
                list.into_iter().map(ContainerSummary::into_live).collect();
            let find = |name: &str| {
                containers
                    .iter()
                    .find(|c| c.name == name)
                    .unwrap_or_else(|| panic!("{name} listed by Engine {v}"))
            };
            let web = find("fx-web");
            assert_eq!(web.id.len(), 64, "Engine {v}");
            assert_eq!(
                (web.running, web.state.as_str(), web.image.as_str()),
                (true, "running", "berth-test/busybox:1"),
                "Engine {v}"
            );
            assert!(web.image_id.starts_with("sha256:"), "Engine {v}");
            assert!(web.status.starts_with("Up "), "Engine {v}: {}", web.status);
            assert_eq!(web.labels, map(&[("app", "web")]), "Engine {v}");
            assert_eq!(
                web.networks.keys().collect::<Vec<_>>(),
                ["fx-net"],
                "Engine {v}"
            );
            assert_eq!(
                web.networks["fx-net"].aliases, None,
                "Engine {v}: the list never tells aliases"
            );
            assert_eq!(
                (web.env.is_none(), web.mounts.is_none(), web.ports.is_none()),
                (true, true, true),
                "Engine {v}: not inspected yet"
            );

            let stopped = find("fx-stopped");
            assert_eq!(
                (stopped.running, stopped.state.as_str()),
                (false, "created"),
                "Engine {v}"
            );
            assert!(stopped.networks.contains_key("bridge"), "Engine {v}");
        }
    }

    #[test]
    fn inspects_read_as_each_engine_sends_them() {
        for e in engines() {
            let v = e.version.trim();
            let mut web: ContainerInspect = parse(e.inspect_web, "GET /containers/fx-web/json", v);
            assert!(web.running(), "Engine {v}");
            assert!(web.image.starts_with("sha256:"), "Engine {v}");
            // 20.10 adds the short container id as an alias; never shown.
            assert_eq!(
                web.aliases_on("fx-net"),
                Some(vec!["web".to_string(), "www".to_string()]),
                "Engine {v}"
            );
            assert_eq!(web.aliases_on("nowhere"), None, "Engine {v}");
            let web: ContainerInspect = parse(e.inspect_web, "GET /containers/fx-web/json", v);
            let inspected = web.into_inspected();
            let env: Vec<(&str, &str)> = inspected
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(env, [("A", "1"), ("B", "x=y"), ("EMPTY", "")], "Engine {v}");
            assert!(
                inspected.aliases["fx-net"].contains(&"www".to_string()),
                "Engine {v}"
            );
            let mut mounts = inspected.mounts.clone();
            mounts.sort_by_key(|m| format!("{m:?}"));
            assert_eq!(
                mounts,
                [
                    Mount::Bind {
                        source: "/tmp".into(),
                        path: "/host".into()
                    },
                    Mount::Volume {
                        name: "fx-vol".into(),
                        path: "/data".into()
                    },
                ],
                "Engine {v}: the anonymous volume is left out"
            );
            assert_eq!(
                inspected.ports,
                ["127.0.0.1:18080->80/tcp", "18081->81/udp"],
                "Engine {v}"
            );

            let stopped: ContainerInspect =
                parse(e.inspect_stopped, "GET /containers/fx-stopped/json", v);
            assert!(!stopped.running(), "Engine {v}");
            let stopped = stopped.into_inspected();
            assert_eq!(
                (stopped.env.len(), stopped.mounts.len(), stopped.ports.len()),
                (0, 0, 0),
                "Engine {v}: `Env: null`, no mounts, no ports"
            );
        }
    }

    #[test]
    fn an_endpoints_requested_settings_read_from_the_inspect_not_the_list() {
        // The recorded container asked for nothing beyond its aliases.
        for e in engines() {
            let v = e.version.trim();
            let web: ContainerInspect = parse(e.inspect_web, "GET /containers/fx-web/json", v);
            assert_eq!(
                web.into_inspected().requested["fx-net"],
                Requested::default(),
                "Engine {v}"
            );
        }
        // As Engine 20.10 answers after `docker network connect --ip
        // 10.219.33.7 --link-local-ip 169.254.9.9 --driver-opt com.foo=bar`.
        let inspect: ContainerInspect = serde_json::from_str(
            r#"{"Id": "770c1d395fd6aa", "NetworkSettings": {"Networks": {"n": {
                "IPAMConfig": {"IPv4Address": "10.219.33.7", "LinkLocalIPs": ["169.254.9.9"]},
                "Aliases": ["x", "770c1d395fd6"], "DriverOpts": {"com.foo": "bar"},
                "IPAddress": "10.219.33.7"}}}}"#,
        )
        .expect("an inspect");
        let requested = inspect.into_inspected().requested.remove("n").unwrap();
        assert_eq!(
            requested,
            Requested {
                ipv4_address: Some("10.219.33.7".parse().unwrap()),
                ipv6_address: None,
                link_local_ips: vec!["169.254.9.9".parse().unwrap()],
                driver_opts: map(&[("com.foo", "bar")]),
            }
        );
        // The list call is never trusted for them (20.10 leaves them out).
        let listed: ContainerSummary = serde_json::from_str(
            r#"{"Id": "a", "Names": ["/a"], "NetworkSettings": {"Networks": {"n": {
                "IPAMConfig": {}, "DriverOpts": null}}}}"#,
        )
        .expect("a listed container");
        assert_eq!(listed.into_live().networks["n"].requested, None);
    }

    #[test]
    fn images_read_as_each_engine_lists_them() {
        for e in engines() {
            let v = e.version.trim();
            let list: Vec<ImageSummary> = parse(e.images, "GET /images/json", v);
            let images: Vec<Image> = list.into_iter().map(ImageSummary::into_live).collect();
            assert!(
                images
                    .iter()
                    .any(|i| i.id.starts_with("sha256:") && i.tags == ["berth-test/busybox:1"]),
                "Engine {v}: {images:?}"
            );
        }
    }

    /// A configuration-only network with an auxiliary address and IPAM
    /// options, as Engine 20.10 and 26.1 answered `GET /networks` for it
    /// (`docker network create --config-only --subnet 10.213.200.0/24
    /// --gateway 10.213.200.1 --aux-address a=10.213.200.5 --ipam-opt
    /// foo=bar -o parent=dummy0 np-cfg`), and one made from it.
    #[test]
    fn every_network_property_reads() {
        let list: Vec<NetworkJson> = serde_json::from_str(
            r#"[{"Name": "np-cfg", "Scope": "local", "Driver": "null", "EnableIPv6": false,
                 "IPAM": {"Driver": "default", "Options": {"foo": "bar"},
                          "Config": [{"Subnet": "10.213.200.0/24", "Gateway": "10.213.200.1",
                                      "AuxiliaryAddresses": {"a": "10.213.200.5"}}]},
                 "Internal": false, "Attachable": false, "Ingress": false,
                 "ConfigFrom": {"Network": ""}, "ConfigOnly": true,
                 "Options": {"parent": "dummy0"}, "Labels": {}},
                {"Name": "np-from", "Scope": "local", "Driver": "macvlan",
                 "IPAM": {"Driver": "default", "Options": null, "Config": [{"Subnet": "10.213.200.0/24",
                          "AuxiliaryAddresses": null}]},
                 "ConfigFrom": {"Network": "np-cfg"}, "ConfigOnly": false}]"#,
        )
        .expect("networks");
        let nets: Vec<Network> = list.into_iter().map(NetworkJson::into_live).collect();
        let cfg = &nets[0];
        assert_eq!(
            (
                cfg.config_only,
                cfg.driver.as_str(),
                cfg.ipam_driver.as_str()
            ),
            (true, "null", "default")
        );
        assert_eq!(cfg.ipam_options, map(&[("foo", "bar")]));
        assert_eq!(
            cfg.ipam[0].aux_addresses,
            BTreeMap::from([("a".to_string(), "10.213.200.5".parse().unwrap())])
        );
        assert_eq!(cfg.options, map(&[("parent", "dummy0")]));
        let from = &nets[1];
        assert_eq!(
            (
                from.config_from.as_str(),
                from.config_only,
                from.enable_ipv6
            ),
            ("np-cfg", false, false)
        );
        assert!(from.ipam[0].aux_addresses.is_empty() && from.ipam_options.is_empty());
    }

    #[test]
    fn null_and_missing_fields_read_as_empty() {
        let net: NetworkJson = serde_json::from_str(
            r#"{"Name": "n", "IPAM": {"Config": null}, "Options": null, "Labels": null,
                "Internal": null, "Unknown": {"deep": [1, 2]}}"#,
        )
        .expect("a sparse network");
        let net = net.into_live();
        assert_eq!(
            (
                net.name.as_str(),
                net.id.as_str(),
                net.ipam.len(),
                net.labels.len()
            ),
            ("n", "", 0, 0)
        );
        let c: ContainerSummary = serde_json::from_str(
            r#"{"Id": "x", "Names": null, "NetworkSettings": {"Networks": null}, "Labels": null}"#,
        )
        .expect("a sparse container");
        let c = c.into_live();
        assert_eq!(
            (c.name.as_str(), c.running, c.networks.len()),
            ("", false, 0)
        );
        let i: ContainerInspect = serde_json::from_str(
            r#"{"Config": null, "NetworkSettings": null, "Mounts": null,
                "HostConfig": {"PortBindings": {"90/tcp": null}}}"#,
        )
        .expect("a sparse inspect");
        let i = i.into_inspected();
        assert!(i.env.is_empty() && i.aliases.is_empty() && i.ports.is_empty());
        let image: ImageSummary =
            serde_json::from_str(r#"{"Id": "sha256:1", "RepoTags": null}"#).expect("an image");
        assert!(image.into_live().tags.is_empty());
    }
}

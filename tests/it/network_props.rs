//! Every network property a destination has (issue 19), on real engines:
//! set → apply → `docker network inspect` shows it → the plan after is
//! empty → change → the documented action (a replace) → empty again; the
//! issue's `enable_ipv6 = false` reproduction; macvlan and ipvlan over an
//! interface inside a second engine's network namespace (nothing leaves
//! the machine); `import` → apply on a second engine → the same network.

use serde_json::Value;

use crate::common::config::{header, local_header};
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{apply, assert_settled, plan_json, the_change};
use crate::common::{
    Cleanup, Project, TEST_IMAGE, docker_ok, ensure_image, local_daemon_alone, unique,
};

/// `docker network inspect NAME` (its one object).
fn inspect(network: &str) -> Value {
    let text = docker_ok(&["network", "inspect", network]);
    let all: Value = serde_json::from_str(&text).expect("inspect is JSON");
    all[0].clone()
}

/// The subnets of a network's IPAM pools.
fn subnets(net: &Value) -> Vec<String> {
    net["IPAM"]["Config"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["Subnet"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The pool of `subnet`.
fn pool<'a>(net: &'a Value, subnet: &str) -> &'a Value {
    net["IPAM"]["Config"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["Subnet"] == subnet))
        .unwrap_or_else(|| panic!("no pool {subnet}: {net:#}"))
}

/// One row of the table: a destination's extra keys, what inspect shows
/// for them, the changed keys, the property the plan names, and what
/// inspect shows after the replace (`None`: the change cannot be made on
/// this machine, so only its plan is checked).
struct Row {
    first: &'static str,
    shows: fn(&Value),
    second: &'static str,
    property: &'static str,
    after: Option<fn(&Value)>,
}

fn row(r: Row) {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    let net = cleanup.network(&unique("prop"));
    let p = Project::new();
    let config = |keys: &str| {
        local_header(&owner)
            + &format!(
                "\n[[destination]]\nname = \"d\"\nserver = \"local\"\nnetwork = \"{net}\"\n{keys}\n"
            )
    };
    p.write("berth.toml", &config(r.first));
    apply(&p, &[], 0);
    (r.shows)(&inspect(&net));
    assert_settled(&p);

    p.write("berth.toml", &config(r.second));
    let (run, plan) = plan_json(&p, &["--detailed-exitcode"], 2);
    let change = the_change(&run, &plan, "replace_network", &net);
    let properties: Vec<&str> = change["differences"]
        .as_array()
        .map(|d| d.iter().filter_map(|d| d["property"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(properties, [r.property], "{run}");
    let status = p.berth(&["status", "--format", "json"]);
    assert!(
        status.json()["drift"].as_u64().unwrap_or(0) >= 1,
        "status says drift\n{status}"
    );
    let Some(after) = r.after else {
        return;
    };
    apply(&p, &["--allow-replace"], 0);
    after(&inspect(&net));
    assert_settled(&p);
}

#[test]
fn enable_ipv6_false_is_enforced_the_issues_reproduction() {
    row(Row {
        first: "subnet = \"10.219.1.0/24\"\nenable_ipv6 = true\nsubnet_v6 = \"fdd1:ac8c:557:7e01::/64\"",
        shows: |n| {
            assert_eq!(n["EnableIPv6"], true, "{n:#}");
            assert!(
                subnets(n).contains(&"fdd1:ac8c:557:7e01::/64".to_string()),
                "{n:#}"
            );
        },
        second: "subnet = \"10.219.1.0/24\"\nenable_ipv6 = false",
        property: "enable_ipv6",
        after: Some(|n| {
            assert_eq!(n["EnableIPv6"], false, "{n:#}");
            assert!(
                subnets(n).iter().all(|s| !s.contains(':')),
                "no IPv6 pool left: {n:#}"
            );
        }),
    });
}

#[test]
fn ip_range_is_set_and_replaced() {
    row(Row {
        first: "subnet = \"10.219.2.0/24\"\nip_range = \"10.219.2.128/25\"",
        shows: |n| assert_eq!(pool(n, "10.219.2.0/24")["IPRange"], "10.219.2.128/25"),
        second: "subnet = \"10.219.2.0/24\"\nip_range = \"10.219.2.0/25\"",
        property: "ip_range",
        after: Some(|n| assert_eq!(pool(n, "10.219.2.0/24")["IPRange"], "10.219.2.0/25")),
    });
}

#[test]
fn gateway_is_set_and_replaced() {
    row(Row {
        first: "subnet = \"10.219.3.0/24\"\ngateway = \"10.219.3.1\"",
        shows: |n| assert_eq!(pool(n, "10.219.3.0/24")["Gateway"], "10.219.3.1"),
        second: "subnet = \"10.219.3.0/24\"\ngateway = \"10.219.3.254\"",
        property: "gateway",
        after: Some(|n| assert_eq!(pool(n, "10.219.3.0/24")["Gateway"], "10.219.3.254")),
    });
}

#[test]
fn ipv6_pool_and_gateway_are_set_and_replaced() {
    row(Row {
        first: "enable_ipv6 = true\nsubnet_v6 = \"fdd1:ac8c:557:7e04::/64\"\ngateway_v6 = \"fdd1:ac8c:557:7e04::1\"",
        shows: |n| {
            assert_eq!(
                pool(n, "fdd1:ac8c:557:7e04::/64")["Gateway"],
                "fdd1:ac8c:557:7e04::1"
            )
        },
        second: "enable_ipv6 = true\nsubnet_v6 = \"fdd1:ac8c:557:7e04::/64\"\ngateway_v6 = \"fdd1:ac8c:557:7e04::fe\"",
        property: "gateway_v6",
        after: Some(|n| {
            assert_eq!(
                pool(n, "fdd1:ac8c:557:7e04::/64")["Gateway"],
                "fdd1:ac8c:557:7e04::fe"
            )
        }),
    });
}

#[test]
fn aux_addresses_go_to_the_pool_that_holds_them() {
    row(Row {
        first: "subnet = \"10.219.8.0/24\"\nenable_ipv6 = true\nsubnet_v6 = \"fdd1:ac8c:557:7e08::/64\"\naux_addresses = { a = \"10.219.8.5\", b = \"fdd1:ac8c:557:7e08::5\" }",
        shows: |n| {
            assert_eq!(
                pool(n, "10.219.8.0/24")["AuxiliaryAddresses"]["a"],
                "10.219.8.5",
                "{n:#}"
            );
            assert_eq!(
                pool(n, "fdd1:ac8c:557:7e08::/64")["AuxiliaryAddresses"]["b"],
                "fdd1:ac8c:557:7e08::5",
                "{n:#}"
            );
        },
        second: "subnet = \"10.219.8.0/24\"\nenable_ipv6 = true\nsubnet_v6 = \"fdd1:ac8c:557:7e08::/64\"\naux_addresses = { a = \"10.219.8.6\", b = \"fdd1:ac8c:557:7e08::5\" }",
        property: "aux_addresses",
        after: Some(|n| {
            assert_eq!(
                pool(n, "10.219.8.0/24")["AuxiliaryAddresses"]["a"],
                "10.219.8.6",
                "{n:#}"
            )
        }),
    });
}

#[test]
fn ipam_options_are_set_and_replaced() {
    row(Row {
        first: "subnet = \"10.219.10.0/24\"\nipam_options = { foo = \"bar\" }",
        shows: |n| assert_eq!(n["IPAM"]["Options"]["foo"], "bar", "{n:#}"),
        second: "subnet = \"10.219.10.0/24\"\nipam_options = { foo = \"baz\" }",
        property: "ipam option foo",
        after: Some(|n| assert_eq!(n["IPAM"]["Options"]["foo"], "baz", "{n:#}")),
    });
}

#[test]
fn driver_options_are_set_and_replaced() {
    row(Row {
        first: "options = { \"com.docker.network.driver.mtu\" = \"1400\" }",
        shows: |n| {
            assert_eq!(
                n["Options"]["com.docker.network.driver.mtu"], "1400",
                "{n:#}"
            )
        },
        second: "options = { \"com.docker.network.driver.mtu\" = \"1450\" }",
        property: "option com.docker.network.driver.mtu",
        after: Some(|n| {
            assert_eq!(
                n["Options"]["com.docker.network.driver.mtu"], "1450",
                "{n:#}"
            )
        }),
    });
}

#[test]
fn ipam_driver_is_set_and_a_change_is_a_replace() {
    // Docker has one IPAM driver for bridges (`default`) without a plugin:
    // the change is planned, not applied.
    row(Row {
        first: "ipam_driver = \"default\"",
        shows: |n| assert_eq!(n["IPAM"]["Driver"], "default", "{n:#}"),
        second: "ipam_driver = \"other\"",
        property: "ipam_driver",
        after: None,
    });
}

#[test]
fn scope_is_set_and_a_change_is_a_replace() {
    // `swarm` needs a swarm: the change is planned, not applied.
    row(Row {
        first: "scope = \"local\"",
        shows: |n| assert_eq!(n["Scope"], "local", "{n:#}"),
        second: "scope = \"swarm\"",
        property: "scope",
        after: None,
    });
}

#[test]
fn internal_and_attachable_false_are_enforced() {
    row(Row {
        first: "internal = true\nattachable = true",
        shows: |n| {
            assert_eq!(
                (&n["Internal"], &n["Attachable"]),
                (&true.into(), &true.into())
            )
        },
        second: "internal = true\nattachable = false",
        property: "attachable",
        after: Some(|n| assert_eq!(n["Attachable"], false, "{n:#}")),
    });
}

#[test]
fn config_only_and_config_from_networks_are_made_and_a_change_is_a_replace() {
    let cleanup = Cleanup::new();
    let owner = unique("own");
    // Removed in this order: a configuration network in use stays.
    let app = cleanup.network(&unique("app"));
    let cfg1 = cleanup.network(&unique("cfg1"));
    let cfg2 = cleanup.network(&unique("cfg2"));
    let p = Project::new();
    let config = |from: &str| {
        local_header(&owner)
            + &format!(
                "\n[[destination]]\nname = \"app\"\nserver = \"local\"\nnetwork = \"{app}\"\nconfig_from = \"{from}\"\n\
                 [[destination]]\nname = \"cfg1\"\nserver = \"local\"\nnetwork = \"{cfg1}\"\nconfig_only = true\nsubnet = \"10.219.12.0/24\"\naux_addresses = {{ r = \"10.219.12.2\" }}\n\
                 [[destination]]\nname = \"cfg2\"\nserver = \"local\"\nnetwork = \"{cfg2}\"\nconfig_only = true\nsubnet = \"10.219.13.0/24\"\n"
            )
    };
    // Docker refuses labels on a network made from a configuration
    // network: it takes that one's, so berth owns it all the same.
    p.write("berth.toml", &config(&cfg1));
    apply(&p, &[], 0);
    let c = inspect(&cfg1);
    assert_eq!(
        (&c["ConfigOnly"], &c["Driver"]),
        (&true.into(), &"null".into()),
        "{c:#}"
    );
    assert_eq!(
        pool(&c, "10.219.12.0/24")["AuxiliaryAddresses"]["r"],
        "10.219.12.2",
        "{c:#}"
    );
    let a = inspect(&app);
    assert_eq!(a["ConfigFrom"]["Network"], cfg1.as_str(), "{a:#}");
    assert_eq!(subnets(&a), ["10.219.12.0/24"], "{a:#}");
    assert_settled(&p);

    // Another configuration network: a replace.
    p.write("berth.toml", &config(&cfg2));
    let (run, plan) = plan_json(&p, &["--detailed-exitcode"], 2);
    let change = the_change(&run, &plan, "replace_network", &app);
    assert_eq!(change["differences"][0]["property"], "config_from", "{run}");
    apply(&p, &["--allow-replace"], 0);
    let a = inspect(&app);
    assert_eq!(a["ConfigFrom"]["Network"], cfg2.as_str(), "{a:#}");
    assert_eq!(subnets(&a), ["10.219.13.0/24"], "{a:#}");
    assert_settled(&p);
}

// ---------------------------------------------------------------------------
// macvlan and ipvlan, inside second engines' network namespaces
// ---------------------------------------------------------------------------

/// A veth pair `v0`/`v1` in the daemon's namespace, up: `v0` is the parent.
/// (A veth, not a `dummy` link: this machine's kernel has no dummy driver,
/// and macvlan and ipvlan take any Ethernet link.)
fn parent_link(d: &SecondDaemon) {
    let ns = d.netns();
    for args in [
        vec![
            "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
        ],
        vec!["-n", ns, "link", "set", "v0", "up"],
        vec!["-n", ns, "link", "set", "v1", "up"],
    ] {
        let out = std::process::Command::new("ip")
            .args(&args)
            .output()
            .expect("ip");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Does this kernel make `kind` links (`ipvlan` is often left out)?
fn kernel_has(d: &SecondDaemon, kind: &str) -> bool {
    let ns = d.netns();
    let made = std::process::Command::new("ip")
        .args([
            "-n", ns, "link", "add", "link", "v0", "name", "probe0", "type", kind,
        ])
        .output()
        .expect("ip")
        .status
        .success();
    if made {
        let _ = std::process::Command::new("ip")
            .args(["-n", ns, "link", "del", "probe0"])
            .output();
    }
    made
}

fn inspect_on(d: &SecondDaemon, network: &str) -> Value {
    let text = d.docker_ok(&["network", "inspect", network]);
    let all: Value = serde_json::from_str(&text).expect("inspect is JSON");
    all[0].clone()
}

#[test]
fn macvlan_and_ipvlan_over_a_tag_group_sit_on_their_parent() {
    ensure_image();
    let daemons = [SecondDaemon::start(), SecondDaemon::start()];
    for d in &daemons {
        parent_link(d);
        d.load_image(TEST_IMAGE);
    }
    let ipvlan = kernel_has(&daemons[0], "ipvlan");
    let owner = unique("own");
    let mac = unique("mac");
    let ipv = unique("ipv");
    let p = Project::new();
    let config = |parent: &str| {
        let mut text = header(&owner, "lan-1", &daemons[0].address())
            + &format!(
                "tags = [\"lan\"]\n[[server]]\nname = \"lan-2\"\naddress = \"{}\"\ntags = [\"lan\"]\n",
                daemons[1].address()
            )
            + &format!(
                "\n[[destination]]\nname = \"mac\"\nservers = [\"tag:lan\"]\nnetwork = \"{mac}\"\ndriver = \"macvlan\"\nparent = \"{parent}\"\nsubnet = \"10.219.20.0/24\"\nextra_pools = [{{ subnet = \"10.219.22.0/24\", gateway = \"10.219.22.1\", ip_range = \"10.219.22.0/25\" }}]\n"
            );
        if ipvlan {
            text += &format!(
                "\n[[destination]]\nname = \"ipv\"\nservers = [\"tag:lan\"]\nnetwork = \"{ipv}\"\ndriver = \"ipvlan\"\nparent = \"{parent}\"\nsubnet = \"10.219.21.0/24\"\noptions = {{ ipvlan_mode = \"l2\" }}\n"
            );
        } else {
            eprintln!("ipvlan left out: this kernel makes no ipvlan links");
        }
        text
    };
    p.write("berth.toml", &config("v0"));
    apply(&p, &[], 0);
    let mut nets = vec![(mac.as_str(), "macvlan")];
    if ipvlan {
        nets.push((ipv.as_str(), "ipvlan"));
    }
    for d in &daemons {
        for (net, driver) in &nets {
            let n = inspect_on(d, net);
            assert_eq!(
                (&n["Driver"], &n["Options"]["parent"]),
                (&(*driver).into(), &"v0".into()),
                "{n:#}"
            );
            // A container joins it.
            let c = unique("c");
            d.docker_ok(&[
                "run",
                "-d",
                "--name",
                &c,
                "--network",
                net,
                TEST_IMAGE,
                "sleep",
                "60",
            ]);
            let attached =
                d.docker_ok(&["inspect", "-f", "{{json .NetworkSettings.Networks}}", &c]);
            assert!(attached.contains(net), "{c} on {net}: {attached}");
            d.docker_ok(&["rm", "-f", &c]);
        }
    }
    for d in &daemons {
        let n = inspect_on(d, &mac);
        let p = pool(&n, "10.219.22.0/24");
        assert_eq!(
            (&p["Gateway"], &p["IPRange"]),
            (&"10.219.22.1".into(), &"10.219.22.0/25".into()),
            "{n:#}"
        );
    }
    assert_settled(&p);

    // Another parent: each network is replaced.
    for d in &daemons {
        let ns = d.netns();
        let out = std::process::Command::new("ip")
            .args([
                "-n", ns, "link", "add", "v2", "type", "veth", "peer", "name", "v3",
            ])
            .output()
            .expect("ip");
        assert!(out.status.success());
    }
    p.write("berth.toml", &config("v2"));
    let (run, plan) = plan_json(&p, &[], 0);
    let replaces = plan["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["action"] == "replace_network")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(replaces, 2 * nets.len(), "{run}");
    apply(&p, &["--allow-replace"], 0);
    for d in &daemons {
        for (net, _) in &nets {
            assert_eq!(inspect_on(d, net)["Options"]["parent"], "v2");
        }
    }
    assert_settled(&p);
}

// ---------------------------------------------------------------------------
// import → apply on a second engine: the same network
// ---------------------------------------------------------------------------

/// What `docker network inspect` says of a network apart from its id,
/// name, creation time, containers and berth's own labels; only the keys
/// both engines write.
fn comparable(mut net: Value, keys: &[String]) -> Value {
    let obj = net.as_object_mut().expect("an object");
    obj.retain(|k, _| keys.contains(k) && !matches!(k.as_str(), "Id" | "Created" | "Containers"));
    if let Some(labels) = obj.get_mut("Labels").and_then(Value::as_object_mut) {
        labels.retain(|k, _| !k.starts_with("berth."));
    }
    // Pools in subnet order: berth sends the first of each family first.
    if let Some(pools) = obj
        .get_mut("IPAM")
        .and_then(|i| i.get_mut("Config"))
        .and_then(Value::as_array_mut)
    {
        pools.sort_by_key(|p| p["Subnet"].to_string());
    }
    net
}

/// `berth import` of the server at `address` (with `--address`), the
/// destination table of `net` from it, checked for `keys`.
fn imported(address: &str, net: &str, keys: &[&str]) -> (toml::Table, toml::Value) {
    let p = Project::new();
    let import = p.berth(&["import", "--address", address]);
    import.expect_code(0);
    let config: toml::Table = toml::from_str(&import.stdout).expect("TOML");
    let table = config["destination"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["network"].as_str() == Some(net)))
        .unwrap_or_else(|| panic!("no destination for {net}\n{import}"))
        .clone();
    for key in keys {
        assert!(table.get(*key).is_some(), "import has no {key}\n{import}");
    }
    (config, table)
}

/// Applies `table` (with the settings of `config`) on the server at
/// `address`; the plan after is empty.
fn apply_on(address: &str, config: &toml::Table, table: toml::Value) {
    let mut target = toml::Table::new();
    target.insert("settings".into(), config["settings"].clone());
    let mut server = toml::Table::new();
    server.insert("name".into(), "there".into());
    server.insert("address".into(), address.into());
    target.insert("server".into(), toml::Value::Array(vec![server.into()]));
    let mut table = table;
    if let Some(t) = table.as_table_mut() {
        t.insert("server".into(), "there".into());
    }
    target.insert("destination".into(), toml::Value::Array(vec![table]));
    let q = Project::new();
    q.write("berth.toml", &toml::to_string(&target).expect("TOML out"));
    apply(&q, &[], 0);
    assert_settled(&q);
}

/// The two inspects are equal apart from ids, timestamps, containers and
/// berth's labels (over the keys both engines write).
fn assert_same_network(here: Value, there: Value) {
    let keys: Vec<String> = here
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| there.get(k.as_str()).is_some())
        .cloned()
        .collect();
    assert_eq!(comparable(here, &keys), comparable(there, &keys));
}

#[test]
fn an_imported_bridge_applied_on_a_second_engine_is_the_same_network() {
    // `import` reads the whole local daemon.
    local_daemon_alone();
    let cleanup = Cleanup::new();
    let net = cleanup.network(&unique("imp"));
    // A bridge takes one pool of each family.
    docker_ok(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "10.219.30.0/24",
        "--ip-range",
        "10.219.30.128/25",
        "--gateway",
        "10.219.30.1",
        "--subnet",
        "fdd1:ac8c:557:7e30::/64",
        "--gateway",
        "fdd1:ac8c:557:7e30::1",
        "--aux-address",
        "router=10.219.30.2",
        "--aux-address",
        "dns=fdd1:ac8c:557:7e30::3",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "--ipam-opt",
        "foo=bar",
        "--label",
        "team=core",
        &net,
    ]);
    let local = format!("unix://{}", crate::common::docker_socket().display());
    let (config, table) = imported(
        &local,
        &net,
        &[
            "ip_range",
            "gateway",
            "enable_ipv6",
            "subnet_v6",
            "gateway_v6",
            "aux_addresses",
            "ipam_options",
            "options",
            "labels",
        ],
    );
    assert!(
        table["options"].as_table().is_some_and(|o| o.len() == 1),
        "only the option given, none of the daemon's: {table}"
    );
    let second = SecondDaemon::start();
    apply_on(&second.address(), &config, table);
    assert_same_network(inspect(&net), inspect_on(&second, &net));
}

#[test]
fn an_imported_macvlan_with_two_ipv4_pools_applied_elsewhere_is_the_same_network() {
    let daemons = [SecondDaemon::start(), SecondDaemon::start()];
    for d in &daemons {
        parent_link(d);
    }
    let net = unique("impmac");
    daemons[0].docker_ok(&[
        "network",
        "create",
        "-d",
        "macvlan",
        "-o",
        "parent=v0",
        "-o",
        "macvlan_mode=bridge",
        "--ipv6",
        "--subnet",
        "10.219.32.0/24",
        "--ip-range",
        "10.219.32.128/25",
        "--gateway",
        "10.219.32.1",
        "--subnet",
        "10.219.33.0/24",
        "--gateway",
        "10.219.33.254",
        "--subnet",
        "fdd1:ac8c:557:7e32::/64",
        "--aux-address",
        "router=10.219.32.2",
        "--aux-address",
        "dns=10.219.33.3",
        "--ipam-opt",
        "foo=bar",
        "--label",
        "team=core",
        &net,
    ]);
    let (config, table) = imported(
        &daemons[0].address(),
        &net,
        &[
            "driver",
            "parent",
            "ip_range",
            "enable_ipv6",
            "subnet_v6",
            "extra_pools",
            "aux_addresses",
            "ipam_options",
            "options",
            "labels",
        ],
    );
    apply_on(&daemons[1].address(), &config, table);
    assert_same_network(inspect_on(&daemons[0], &net), inspect_on(&daemons[1], &net));
}

//! Server groups: a destination over a tag is one network per tagged
//! server, each with its own subnet from the destination's pool; a server
//! joining the set gets the next free block and leaves the others' networks
//! alone; a live network's subnet is adopted, never moved. Real engines:
//! second dockerds in their own network namespaces.

use crate::common::config::settings;
use crate::common::daemon::SecondDaemon;
use crate::common::plan::{apply, changes, plan_json};
use crate::common::{Project, unique};

/// A `[[server]]` tagged `web`.
fn web(name: &str, address: &str) -> String {
    format!("\n[[server]]\nname = \"{name}\"\naddress = \"{address}\"\ntags = [\"web\", \"eu\"]\n")
}

/// `apps` on every `web` server, from a pool of /24s.
fn apps(network: &str) -> String {
    format!(
        "\n[[destination]]\nname = \"apps\"\nservers = [\"tag:web\"]\nnetwork = \"{network}\"\nsubnet_pool = \"10.231.0.0/16\"\nsubnet_prefix = 24\n"
    )
}

/// The network's id, subnet and `berth.subnet_pool` label on `d`.
fn inspect(d: &SecondDaemon, network: &str) -> (String, String, String) {
    let out = d.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{.Id}} {{range .IPAM.Config}}{{.Subnet}}{{end}} {{index .Labels \"berth.subnet_pool\"}}",
        network,
    ]);
    let mut words = out.split_whitespace().map(str::to_string);
    (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    )
}

#[test]
fn a_destination_over_a_tag_gets_one_network_and_subnet_per_server_and_keeps_them() {
    let a = SecondDaemon::start();
    let b = SecondDaemon::start();
    let c = SecondDaemon::start();
    let owner = unique("grp");
    let net = unique("grp-apps");
    // b already has the network, on a subnet outside the pool: adopted.
    b.docker_ok(&["network", "create", "--subnet", "10.99.5.0/24", &net]);
    let p = Project::new();
    let two = settings(&owner) + &web("a", &a.address()) + &web("b", &b.address()) + &apps(&net);
    p.write("berth.toml", &two);
    p.berth(&["validate"]).expect_code(0);

    let (run, plan) = plan_json(&p, &["--server", "tag:web"], 0);
    let made: Vec<(&str, &str)> = changes(&plan)
        .iter()
        .map(|c| {
            (
                c["server"].as_str().unwrap(),
                c["spec"]["subnet"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(made, vec![("a", "10.231.0.0/24")], "{run}");
    apply(&p, &[], 0);
    let (a_id, a_subnet, a_pool) = inspect(&a, &net);
    assert_eq!(
        (a_subnet.as_str(), a_pool.as_str()),
        ("10.231.0.0/24", "10.231.0.0/16")
    );
    let (b_id, b_subnet, _) = inspect(&b, &net);
    assert_eq!(b_subnet, "10.99.5.0/24", "adopted, never moved");

    // A third server joins the tag: it gets the next free block; a and b
    // are not touched.
    p.write("berth.toml", &(two + &web("c", &c.address())));
    let (run, plan) = plan_json(&p, &[], 0);
    let servers: Vec<&str> = changes(&plan)
        .iter()
        .map(|c| c["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers, vec!["c"], "{run}");
    let run = apply(&p, &[], 0);
    let (_, c_subnet, c_pool) = inspect(&c, &net);
    assert_eq!(
        (c_subnet.as_str(), c_pool.as_str()),
        ("10.231.1.0/24", "10.231.0.0/16"),
        "{run}"
    );
    assert_eq!(inspect(&a, &net).0, a_id);
    assert_eq!(inspect(&b, &net).0, b_id);
    // Converged: nothing left to do anywhere.
    let (run, plan) = plan_json(&p, &[], 0);
    assert!(changes(&plan).is_empty(), "{run}");
}

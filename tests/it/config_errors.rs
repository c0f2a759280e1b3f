//! Table-driven: malformed configs, each with the message and the
//! `file:line:col` berth must report. Loaded through the library, no Docker.

use berthing::config::{SourceFile, load};

const SERVER: &str = "[[server]]\nname = \"s1\"\naddress = \"local\"\n";
/// A destination with an IPv4 subnet, on lines 4 to 8 after `SERVER`.
const SUBNET_DEST: &str = "[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\nsubnet = \"10.30.0.0/24\"\n";

/// (what, file text, expected message fragment, expected position)
pub(crate) fn cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let s = SERVER;
    vec![
        (
            "toml syntax",
            "[[server]\nname = \"s1\"\n".into(),
            "invalid TOML",
            "berth.toml:1:",
        ),
        (
            "unterminated string",
            format!("{s}[[destination]]\nname = \"prod\nserver = \"s1\"\n"),
            "invalid TOML",
            "berth.toml:5:13",
        ),
        (
            "unknown key with suggestion",
            format!("{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwrok = \"n\"\n"),
            "unknown key `netwrok` in [[destination]]",
            "berth.toml:7:1",
        ),
        (
            "unknown top-level table",
            format!("{s}[[destinations]]\nname = \"prod\"\n"),
            "unknown key `destinations` in the top level",
            "berth.toml:4:3",
        ),
        (
            "wrong type",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\ninternal = \"yes\"\n"
            ),
            "wrong type in [[destination]]",
            "berth.toml:8:12",
        ),
        (
            "missing required key",
            format!("{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\n"),
            "missing the required key `network`",
            "berth.toml:4:1",
        ),
        (
            "single table instead of array",
            format!("{s}[destination]\nname = \"prod\"\n"),
            "`destination` must be an array of tables",
            "berth.toml:4:1",
        ),
        (
            "duplicate destination",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"a\"\n[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"b\"\n"
            ),
            "duplicate destination name `prod`",
            "berth.toml:9:8",
        ),
        (
            "duplicate server",
            format!("{s}{s}"),
            "duplicate server name `s1`",
            "berth.toml:5:8",
        ),
        (
            "destination → unknown server",
            "[[destination]]\nname = \"prod\"\nserver = \"nope\"\nnetwork = \"n\"\n".into(),
            "destination `prod` refers to unknown server `nope`",
            "berth.toml:3:10",
        ),
        (
            "application → unknown destination",
            format!("{s}[[application]]\nname = \"api\"\ndestination = \"prdo\"\n"),
            "application `api` refers to unknown destination `prdo`",
            "berth.toml:6:15",
        ),
        (
            "clone_of → unknown application",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\n[[application]]\nname = \"api\"\ndestination = \"prod\"\nclone_of = \"ghost\"\n"
            ),
            "application `api` refers to unknown application (clone_of) `ghost`",
            "berth.toml:11:12",
        ),
        (
            "clone of itself",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\n[[database]]\nname = \"pg\"\ndestination = \"prod\"\nclone_of = \"pg\"\n"
            ),
            "database `pg` is a clone of itself",
            "berth.toml:11:12",
        ),
        (
            "network name Docker refuses",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"-bad net\"\n"
            ),
            "Docker would refuse the network name `-bad net`",
            "berth.toml:7:11",
        ),
        (
            "network name too long",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"{}\"\n",
                "a".repeat(256)
            ),
            "Docker would refuse the network name",
            "berth.toml:7:11",
        ),
        (
            "same network twice on a server",
            format!(
                "{s}[[destination]]\nname = \"a\"\nserver = \"s1\"\nnetwork = \"n\"\n[[destination]]\nname = \"b\"\nserver = \"s1\"\nnetwork = \"n\"\n"
            ),
            "destinations `a` and `b` both use network `n` on server `s1`",
            "berth.toml:11:11",
        ),
        (
            "overlapping subnets",
            format!(
                "{s}[[destination]]\nname = \"a\"\nserver = \"s1\"\nnetwork = \"na\"\nsubnet = \"10.0.0.0/16\"\n[[destination]]\nname = \"b\"\nserver = \"s1\"\nnetwork = \"nb\"\nsubnet = \"10.0.5.0/24\"\n"
            ),
            "subnet 10.0.5.0/24 of destination `b` overlaps 10.0.0.0/16 of `a`",
            "berth.toml:13:10",
        ),
        (
            "gateway outside subnet",
            format!(
                "{s}[[destination]]\nname = \"a\"\nserver = \"s1\"\nnetwork = \"na\"\nsubnet = \"10.0.0.0/24\"\ngateway = \"10.0.1.1\"\n"
            ),
            "gateway 10.0.1.1 is outside subnet 10.0.0.0/24",
            "berth.toml:9:11",
        ),
        (
            "gateway without subnet",
            format!(
                "{s}[[destination]]\nname = \"a\"\nserver = \"s1\"\nnetwork = \"na\"\ngateway = \"10.0.1.1\"\n"
            ),
            "`gateway` needs a `subnet`",
            "berth.toml:8:11",
        ),
        (
            "subnet not CIDR",
            format!(
                "{s}[[destination]]\nname = \"a\"\nserver = \"s1\"\nnetwork = \"na\"\nsubnet = \"10.0.0.0\"\n"
            ),
            "`10.0.0.0` is not a subnet in CIDR form",
            "berth.toml:8:10",
        ),
        (
            "subnet with host bits",
            format!(
                "{s}[[destination]]\nname = \"a\"\nserver = \"s1\"\nnetwork = \"na\"\nsubnet = \"10.0.0.7/24\"\n"
            ),
            "subnet `10.0.0.7/24` has host bits set",
            "berth.toml:8:10",
        ),
        (
            "tcp address",
            "[[server]]\nname = \"s1\"\naddress = \"tcp://10.0.0.1:2375\"\n".into(),
            "invalid server address `tcp://10.0.0.1:2375`",
            "berth.toml:3:11",
        ),
        (
            "relative unix socket",
            "[[server]]\nname = \"s1\"\naddress = \"unix://docker.sock\"\n".into(),
            "a unix socket path must be absolute",
            "berth.toml:3:11",
        ),
        (
            "ssh-only key on a local server",
            "[[server]]\nname = \"s1\"\naddress = \"local\"\nidentity_file = \"~/.ssh/id\"\n"
                .into(),
            "`identity_file` applies to ssh:// servers only",
            "berth.toml:4:17",
        ),
        (
            "two settings tables",
            "[settings]\nowner = \"a\"\n".into(),
            "more than one [settings] table",
            "other.toml:1:1",
        ),
        (
            "container and match_labels",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\n[[application]]\nname = \"shop\"\ndestination = \"prod\"\ncontainer = \"shop\"\nmatch_labels = {{ \"coolify.applicationId\" = \"12\" }}\n"
            ),
            "`container` and `match_labels` exclude each other",
            "berth.toml:12:16",
        ),
        (
            "compose file outside the repo",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\n[[service]]\nname = \"mon\"\ndestination = \"prod\"\ncompose_file = \"../elsewhere/compose.yaml\"\n"
            ),
            "compose_file `../elsewhere/compose.yaml` leaves the repository",
            "berth.toml:11:16",
        ),
        (
            "invalid compose project",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\n[[service]]\nname = \"mon\"\ndestination = \"prod\"\nproject = \"Mon Itoring\"\n"
            ),
            "`Mon Itoring` is not a valid compose project name",
            "berth.toml:11:11",
        ),
        (
            "ssh host that ssh would read as an option",
            "[[server]]\nname = \"s1\"\naddress = \"ssh://-oProxyCommand=x\"\n".into(),
            "invalid server address `ssh://-oProxyCommand=x`: a host cannot start with `-`",
            "berth.toml:3:11",
        ),
        (
            "reserved label prefix",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\nlabels = {{ \"berth.owner\" = \"me\" }}\n"
            ),
            "label `berth.owner` uses berth's reserved `berth.` prefix",
            "berth.toml:8:10",
        ),
        // Attachments: static addresses, link-local addresses, driver options.
        (
            "static address outside the destination's subnet",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestination = \"prod\"\nipv4_address = \"10.31.0.5\"\n"
            ),
            "which is outside its subnet 10.30.0.0/24",
            "berth.toml:12:16",
        ),
        (
            "static address that does not parse",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestination = \"prod\"\nipv4_address = \"10.30.0\"\n"
            ),
            "is not an IPv4 address",
            "berth.toml:12:16",
        ),
        (
            "static address on the gateway",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestination = \"prod\"\nipv4_address = \"10.30.0.1\"\n"
            ),
            "which is its gateway",
            "berth.toml:12:16",
        ),
        (
            "IPv6 address on a destination without IPv6",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestination = \"prod\"\nipv6_address = \"fd00::5\"\n"
            ),
            "which has no IPv6",
            "berth.toml:12:16",
        ),
        (
            "static address on a destination without a subnet",
            format!(
                "{s}[[destination]]\nname = \"prod\"\nserver = \"s1\"\nnetwork = \"n\"\n[[application]]\nname = \"api\"\ndestination = \"prod\"\nipv4_address = \"10.30.0.5\"\n"
            ),
            "declares no subnet",
            "berth.toml:11:16",
        ),
        (
            "static address with match_labels",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestination = \"prod\"\nmatch_labels = {{ a = \"b\" }}\nipv4_address = \"10.30.0.5\"\n"
            ),
            "`match_labels` can select several",
            "berth.toml:13:16",
        ),
        (
            "static address on a shared container",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestinations = [\"prod\"]\nipv4_address = \"10.30.0.5\"\n"
            ),
            "a static address needs one destination, not `destinations`",
            "berth.toml:12:16",
        ),
        (
            "one static address taken twice",
            format!(
                "{s}{SUBNET_DEST}[[application]]\nname = \"api\"\ndestination = \"prod\"\nipv4_address = \"10.30.0.5\"\n[[database]]\nname = \"pg\"\ndestination = \"prod\"\nipv4_address = \"10.30.0.5\"\n"
            ),
            "application `api` and database `pg` both take 10.30.0.5 on destination prod",
            "berth.toml:16:16",
        ),
        (
            "stack attachments never connected",
            format!(
                "{s}{SUBNET_DEST}[[service]]\nname = \"mon\"\ndestination = \"prod\"\nattachments = {{ web = {{ ipv4_address = \"10.30.0.5\" }} }}\n"
            ),
            "only with `connect_to_predefined_networks = true`",
            "berth.toml:12:15",
        ),
    ]
}

#[test]
fn every_malformed_config_is_reported_with_message_and_location() {
    let mut failures = Vec::new();
    for (what, text, message, position) in cases() {
        let mut files = vec![SourceFile {
            path: "berth.toml".into(),
            text: text.clone(),
        }];
        if what == "two settings tables" {
            files.insert(
                0,
                SourceFile {
                    path: "a.toml".into(),
                    text: "[settings]\nowner = \"x\"\n".into(),
                },
            );
            files.push(SourceFile {
                path: "other.toml".into(),
                text: text.clone(),
            });
            files[1].text = SERVER.into();
        }
        let diags = match load(&files) {
            Ok(_) => {
                failures.push(format!(
                    "{what}: accepted, expected `{message}` at {position}"
                ));
                continue;
            }
            Err(d) => d,
        };
        let found = diags.errors.iter().any(|d| {
            d.message.contains(message) && d.position(&diags.sources).starts_with(position)
        });
        if !found {
            let got: Vec<String> = diags
                .errors
                .iter()
                .map(|d| format!("{} {}", d.position(&diags.sources), d.message))
                .collect();
            failures.push(format!(
                "{what}: expected `{message}` at {position}, got {got:?}"
            ));
        }
        // The rendering quotes the offending line and names the place.
        let rendered = diags.render(false);
        if !rendered.contains(position) {
            failures.push(format!("{what}: rendering lacks {position}:\n{rendered}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn all_errors_are_reported_at_once_across_files() {
    let files = vec![
        SourceFile { path: "servers.toml".into(), text: "[[server]]\nname = \"s1\"\naddress = \"ftp://x\"\n".into() },
        SourceFile {
            path: "dest.toml".into(),
            text: "[[destination]]\nname = \"a\"\nserver = \"s2\"\nnetwork = \"ok\"\ncolour = \"red\"\n".into(),
        },
    ];
    let diags = load(&files).unwrap_err();
    let positions: Vec<String> = diags
        .errors
        .iter()
        .map(|d| d.position(&diags.sources))
        .collect();
    assert!(
        positions.contains(&"servers.toml:3:11".to_string()),
        "{positions:?}"
    );
    assert!(
        positions.contains(&"dest.toml:5:1".to_string()),
        "{positions:?}"
    );
    assert!(
        positions.contains(&"dest.toml:3:10".to_string()),
        "{positions:?}"
    );
    assert!(diags.render(false).ends_with("the config has 3 problems"));
}

#[test]
fn did_you_mean_and_both_locations_of_a_duplicate_are_shown() {
    let text = format!("{SERVER}[[destination]]\nname = \"p\"\nservr = \"s1\"\nnetwork = \"n\"\n");
    let diags = load(&[SourceFile {
        path: "b.toml".into(),
        text,
    }])
    .unwrap_err();
    let rendered = diags.render(false);
    assert!(rendered.contains("did you mean `server`?"), "{rendered}");
    assert!(
        rendered.contains("servr = \"s1\""),
        "the offending line is quoted:\n{rendered}"
    );

    let dup = vec![
        SourceFile {
            path: "one.toml".into(),
            text: SERVER.into(),
        },
        SourceFile {
            path: "two.toml".into(),
            text: SERVER.into(),
        },
    ];
    let rendered = load(&dup).unwrap_err().render(false);
    assert!(rendered.contains("two.toml:2:8"), "{rendered}");
    assert!(
        rendered.contains("one.toml"),
        "the first definition is named:\n{rendered}"
    );
    assert!(rendered.contains("first declared here"), "{rendered}");
}

#[test]
fn a_valid_config_with_every_kind_loads() {
    let text = r#"
[settings]
owner = "acme-infra"

[[server]]
name = "prod-1"
address = "ssh://deploy@203.0.113.10:22"
docker_socket = "/var/run/docker.sock"

[[destination]]
name = "production"
server = "prod-1"
network = "prod-net"
subnet = "10.30.0.0/24"
gateway = "10.30.0.1"
labels = { team = "core" }

[[application]]
name = "api"
destination = "production"
aliases = ["api", "api-v2"]

[[application]]
name = "shop"
destination = "production"
match_labels = { "coolify.applicationId" = "12" }

[[application]]
name = "api-staging"
destination = "production"
clone_of = "api"

[[database]]
name = "pg"
destination = "production"

[[service]]
name = "monitoring"
destination = "production"
connect_to_predefined_networks = true
"#;
    let c = load(&[SourceFile {
        path: "berth.toml".into(),
        text: text.into(),
    }])
    .map_err(|d| d.render(false))
    .unwrap();
    assert_eq!(c.owner, "acme-infra");
    assert_eq!(c.destinations[0].spec.driver, "bridge");
    assert_eq!(c.resources.len(), 4);
    assert_eq!(c.resources[3].aliases, ["pg"], "aliases default to [name]");
    assert_eq!(
        c.stacks[0].project, "monitoring",
        "project defaults to name"
    );
}

#[test]
fn compose_files_of_tables_with_errors_are_still_handed_to_the_compose_check() {
    let text = format!(
        "{SERVER}[[service]]\nname = \"mon\"\ndestination = \"nowhere\"\ncolour = 1\ncompose_file = \"stacks/mon.yaml\"\n[[service]]\nname = \"out\"\ndestination = \"nowhere\"\ncompose_file = \"../x.yaml\"\n"
    );
    let checked = berthing::config::check(&[SourceFile {
        path: "berth.toml".into(),
        text,
    }]);
    assert!(checked.config.stacks.is_empty(), "both tables are invalid");
    let named: Vec<(String, String, String)> = checked
        .compose_files
        .iter()
        .map(|f| {
            let position = berthing::diag::Diagnostic::new("", f.file.at.clone())
                .position(&checked.diagnostics.sources);
            (f.stack.clone(), f.file.path.clone(), position)
        })
        .collect();
    // A path that leaves the repository is a config error, never read.
    assert_eq!(
        named,
        [(
            "mon".to_string(),
            "stacks/mon.yaml".to_string(),
            "berth.toml:8:16".to_string()
        )]
    );
    assert!(
        checked
            .diagnostics
            .render(false)
            .ends_with("the config has 4 problems"),
        "{}",
        checked.diagnostics.render(false)
    );
}

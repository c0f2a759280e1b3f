//! `apply --partial`: which servers of a plan may be applied on their own,
//! and why each other one is skipped. A function of the plan alone.
//!
//! A server is applied when it was read, its plan has no error and no
//! blocked change, and no server its plan reads from (a clone's source,
//! [`ServerReading::depends_on`]) is skipped. Skipping is transitive.

use std::fmt;

use super::model::{Change, Plan, ServerHealth, ServerReading};

/// A server `apply --partial` leaves as it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub server: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// It could not be read: the error.
    Unreachable(String),
    /// Its plan has errors (conflicts berth will not resolve): each message.
    Errors(Vec<String>),
    /// These of its changes are blocked, each with its reasons.
    Blocked(Vec<String>),
    /// Its plan reads from this skipped server (a clone's source).
    DependsOn(String),
}

impl SkipReason {
    /// `unreachable`, `errors`, `blocked`, `depends on a skipped server`.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Unreachable(_) => "unreachable",
            SkipReason::Errors(_) => "errors",
            SkipReason::Blocked(_) => "blocked",
            SkipReason::DependsOn(_) => "depends on a skipped server",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Unreachable(e) => write!(f, "unreachable: {e}"),
            SkipReason::Errors(e) => write!(f, "the plan has errors: {}", e.join("; ")),
            SkipReason::Blocked(c) => write!(f, "blocked: {}", c.join("; ")),
            SkipReason::DependsOn(s) => write!(
                f,
                "depends on skipped server {s} (the source of a clone still to be made)"
            ),
        }
    }
}

/// The servers `apply --partial` skips, in the plan's order of servers.
pub fn skipped(plan: &Plan) -> Vec<Skipped> {
    let mut out: Vec<Skipped> = plan
        .servers
        .iter()
        .filter_map(|s| {
            own_reason(plan, s).map(|reason| Skipped {
                server: s.name.clone(),
                reason,
            })
        })
        .collect();
    // What reads from a skipped server is skipped too, to a fixed point.
    loop {
        let more: Vec<Skipped> = plan
            .servers
            .iter()
            .filter(|s| !out.iter().any(|k| k.server == s.name))
            .filter_map(|s| {
                let on = reads_from(plan, s).find(|d| out.iter().any(|k| k.server == *d))?;
                Some(Skipped {
                    server: s.name.clone(),
                    reason: SkipReason::DependsOn(on.to_string()),
                })
            })
            .collect();
        if more.is_empty() {
            break;
        }
        out.extend(more);
    }
    let order = |name: &str| plan.servers.iter().position(|s| s.name == name);
    out.sort_by_key(|k| order(&k.server));
    out
}

/// Why `server` cannot be applied by itself, if it cannot.
fn own_reason(plan: &Plan, server: &ServerReading) -> Option<SkipReason> {
    // A server this run leaves out on purpose (`--server`, `--destination`)
    // is not part of it: nothing there to apply, nothing to skip.
    if server.status == ServerHealth::Skipped {
        return None;
    }
    if server.status != ServerHealth::Ok {
        let why = server
            .error
            .clone()
            .unwrap_or_else(|| "not read".to_string());
        return Some(SkipReason::Unreachable(why));
    }
    let errors: Vec<String> = plan
        .errors
        .iter()
        .filter(|e| e.server == server.name)
        .map(|e| format!("network {}: {}", e.network, e.message))
        .collect();
    if !errors.is_empty() {
        return Some(SkipReason::Errors(errors));
    }
    let blocked: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.server() == server.name && c.is_blocked())
        .map(blocked_line)
        .collect();
    (!blocked.is_empty()).then_some(SkipReason::Blocked(blocked))
}

/// `remove network n (…reasons…)`
fn blocked_line(c: &Change) -> String {
    let mut what = format!("{} {}", c.verb(), c.network());
    if let Some(container) = c.container() {
        what.push_str(&format!(" for container {container}"));
    }
    match c.reasons() {
        [] => what,
        reasons => format!("{what} ({})", reasons.join("; ")),
    }
}

/// The other servers `server`'s plan reads from: those it records, and the
/// sources of its clone changes.
fn reads_from<'a>(plan: &'a Plan, server: &'a ServerReading) -> impl Iterator<Item = &'a str> {
    let clones = plan.changes.iter().filter_map(move |c| match c {
        Change::Clone(c) if c.server == server.name => Some(c.clone.source_server.as_str()),
        _ => None,
    });
    server
        .depends_on
        .iter()
        .map(String::as_str)
        .chain(clones)
        .filter(move |s| *s != server.name)
}

/// `plan` without the changes and errors of the `skipped` servers: what
/// `apply --partial` executes.
pub fn without(plan: &Plan, skipped: &[Skipped]) -> Plan {
    let kept = |server: &str| !skipped.iter().any(|k| k.server == server);
    let mut out = plan.clone();
    out.changes.retain(|c| kept(c.server()));
    out.errors.retain(|e| kept(&e.server));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetworkSpec;
    use crate::plan::model::*;

    fn reading(name: &str, ok: bool, depends_on: &[&str]) -> ServerReading {
        ServerReading {
            name: name.to_string(),
            address: "local".to_string(),
            status: if ok {
                ServerHealth::Ok
            } else {
                ServerHealth::Error
            },
            error: (!ok).then(|| "connection refused".to_string()),
            swarm: None,
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn create(server: &str, network: &str) -> Change {
        Change::CreateNetwork(CreateNetwork {
            server: server.to_string(),
            destination: network.to_string(),
            network: network.to_string(),
            status: ChangeStatus::Planned,
            reasons: Vec::new(),
            spec: NetworkSpec {
                driver: "bridge".into(),
                internal: false,
                attachable: false,
                subnet: None,
                gateway: None,
                ip_range: None,
                enable_ipv6: None,
                subnet_v6: None,
                gateway_v6: None,
                options: Default::default(),
                labels: Default::default(),
                subnet_pool: None,
                ..Default::default()
            },
        })
    }

    fn blocked_removal(server: &str, network: &str) -> Change {
        Change::RemoveNetwork(RemoveNetwork {
            server: server.to_string(),
            destination: None,
            network: network.to_string(),
            status: ChangeStatus::Blocked,
            reasons: vec!["container pg is attached".to_string()],
            attached: Vec::new(),
            hint: None,
        })
    }

    fn clone_from(server: &str, source_server: &str) -> Change {
        Change::Clone(CloneResource {
            server: server.to_string(),
            destination: "d".to_string(),
            network: "n".to_string(),
            container: Some("api-copy".to_string()),
            aliases: None,
            resource: ResourceRef::new(crate::config::ResourceKind::Application, "api-copy"),
            status: ChangeStatus::Planned,
            reasons: Vec::new(),
            clone: CloneSpec {
                source_server: source_server.to_string(),
                source: ResourceRef::new(crate::config::ResourceKind::Application, "api"),
                source_project: None,
                target_project: None,
                connect_to_destination: false,
                image_transfer: true,
                members: Vec::new(),
            },
        })
    }

    fn plan(servers: Vec<ServerReading>, changes: Vec<Change>) -> Plan {
        let mut p = super::super::empty();
        p.servers = servers;
        p.changes = changes;
        p
    }

    fn names(skipped: &[Skipped]) -> Vec<(&str, &str)> {
        skipped
            .iter()
            .map(|k| (k.server.as_str(), k.reason.kind()))
            .collect()
    }

    #[test]
    fn a_server_left_out_by_targeting_is_not_skipped_it_is_not_in_the_run() {
        let mut left_out = reading("b", false, &[]);
        left_out.status = ServerHealth::Skipped;
        left_out.error = Some("not targeted".to_string());
        let p = plan(
            vec![reading("a", true, &[]), left_out],
            vec![create("a", "n1")],
        );
        assert!(skipped(&p).is_empty());
    }

    #[test]
    fn every_server_read_and_unblocked_is_applied() {
        let p = plan(
            vec![reading("a", true, &[]), reading("b", true, &[])],
            vec![create("a", "n1"), create("b", "n2")],
        );
        assert!(skipped(&p).is_empty());
        assert_eq!(without(&p, &[]).changes.len(), 2);
    }

    #[test]
    fn an_unreachable_server_is_skipped_with_its_error_and_the_others_kept() {
        let p = plan(
            vec![reading("a", false, &[]), reading("b", true, &[])],
            vec![create("b", "n2")],
        );
        let s = skipped(&p);
        assert_eq!(names(&s), [("a", "unreachable")]);
        assert_eq!(s[0].reason.to_string(), "unreachable: connection refused");
        let kept = without(&p, &s);
        assert_eq!(kept.changes, vec![create("b", "n2")]);
    }

    #[test]
    fn a_blocked_change_skips_its_whole_server_naming_the_change() {
        let p = plan(
            vec![reading("a", true, &[]), reading("b", true, &[])],
            vec![
                create("a", "n1"),
                blocked_removal("a", "old"),
                create("b", "n2"),
            ],
        );
        let s = skipped(&p);
        assert_eq!(names(&s), [("a", "blocked")]);
        assert_eq!(
            s[0].reason.to_string(),
            "blocked: remove network old (container pg is attached)"
        );
        let kept = without(&p, &s);
        assert_eq!(kept.changes, vec![create("b", "n2")]);
    }

    #[test]
    fn a_plan_error_skips_its_server() {
        let mut p = plan(
            vec![reading("a", true, &[]), reading("b", true, &[])],
            vec![create("a", "n1"), create("b", "n2")],
        );
        p.errors.push(PlanError {
            server: "a".to_string(),
            destination: None,
            network: "n1".to_string(),
            message: "differs".to_string(),
            hint: String::new(),
        });
        let s = skipped(&p);
        assert_eq!(names(&s), [("a", "errors")]);
        let kept = without(&p, &s);
        assert!(kept.errors.is_empty());
        assert_eq!(kept.changes, vec![create("b", "n2")]);
    }

    #[test]
    fn a_clone_from_a_skipped_server_skips_its_target_and_what_reads_from_it() {
        // c's clone copies from b, whose own clone copies from a (blocked).
        let p = plan(
            vec![
                reading("a", true, &[]),
                reading("b", true, &[]),
                reading("c", true, &[]),
                reading("d", true, &[]),
            ],
            vec![
                blocked_removal("a", "old"),
                clone_from("b", "a"),
                clone_from("c", "b"),
                clone_from("d", "d"),
            ],
        );
        let s = skipped(&p);
        assert_eq!(
            names(&s),
            [
                ("a", "blocked"),
                ("b", "depends on a skipped server"),
                ("c", "depends on a skipped server"),
            ]
        );
        assert_eq!(s[2].reason, SkipReason::DependsOn("b".to_string()));
        assert_eq!(without(&p, &s).changes, vec![clone_from("d", "d")]);
    }

    #[test]
    fn a_clone_whose_source_server_was_not_read_skips_its_target() {
        // The source was not read, so no clone change could be planned:
        // the reading records where it would come from.
        let p = plan(
            vec![
                reading("a", false, &[]),
                reading("b", true, &["a"]),
                reading("c", true, &[]),
            ],
            vec![create("b", "n"), create("c", "n")],
        );
        let s = skipped(&p);
        assert_eq!(
            names(&s),
            [("a", "unreachable"), ("b", "depends on a skipped server")]
        );
        assert_eq!(
            s[1].reason.to_string(),
            "depends on skipped server a (the source of a clone still to be made)"
        );
        assert_eq!(without(&p, &s).changes, vec![create("c", "n")]);
    }
}

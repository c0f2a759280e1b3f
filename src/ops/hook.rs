//! The git push hooks as operations: git's `<old> <new> <ref>` lines → the
//! watched branch's push; `pre_receive` plans the pushed commit and gives a
//! [`Verdict`] taken from the plan (the same gate `apply` keeps, so a push
//! is accepted exactly when post-receive would apply it); `post_receive`
//! applies it through [`apply`](super::apply); `install` writes the hook
//! scripts. Both hooks contact only the servers the push affects (compared
//! with the branch's previous commit, `plan::affected`), unless `--all`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::load::SourceSpec;
use super::{
    Applied, ApplyObserver, ApplyRequest, CancellationToken, Error, FleetOptions, PlanRequest,
    Progress,
};
use crate::plan::Plan;

/// One line git gives a receive hook: a ref moved from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    /// The full ref name, e.g. `refs/heads/main`.
    pub name: String,
}

impl RefUpdate {
    /// The ref is deleted (its new object id is all zeros).
    pub fn is_deletion(&self) -> bool {
        is_zero(&self.new)
    }

    /// The ref is created (its old object id is all zeros).
    pub fn is_creation(&self) -> bool {
        is_zero(&self.old)
    }
}

fn is_zero(id: &str) -> bool {
    id.bytes().all(|b| b == b'0')
}

/// Parses what git writes on a receive hook's stdin: one
/// `<old> <new> <ref>` line per updated ref, object ids in hex (SHA-1 or
/// SHA-256). Blank lines are skipped; any other line that is not of that
/// form is an error naming it.
pub fn parse_ref_updates(input: &str) -> Result<Vec<RefUpdate>, Error> {
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |why: &str| Error::RefUpdate {
            line: i + 1,
            text: line.to_string(),
            why: why.to_string(),
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [old, new, name] = fields[..] else {
            return Err(malformed(&format!("{} field(s), not 3", fields.len())));
        };
        for (what, id) in [("old", old), ("new", new)] {
            if !matches!(id.len(), 40 | 64) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(malformed(&format!(
                    "the {what} object id `{id}` is not 40 or 64 hex digits"
                )));
            }
        }
        if old.len() != new.len() {
            return Err(malformed("the old and new object ids differ in length"));
        }
        if !name.starts_with("refs/") {
            return Err(malformed(&format!(
                "`{name}` is not a full ref name (refs/…)"
            )));
        }
        out.push(RefUpdate {
            old: old.to_string(),
            new: new.to_string(),
            name: name.to_string(),
        });
    }
    Ok(out)
}

/// What a push did to the watched branch, when it moved it (deleting it is
/// not a push to check or apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub branch: String,
    /// The branch's commit before the push; `None` when the push creates it.
    pub old: Option<String>,
    /// The pushed commit.
    pub new: String,
}

impl Push {
    /// The pushed commit's first 12 hex digits, as the hooks name it.
    pub fn short(&self) -> &str {
        &self.new[..self.new.len().min(12)]
    }
}

/// The push to `branch` among git's ref-update lines: `None` when the push
/// leaves the branch alone or deletes it.
pub fn pushed(input: &str, branch: &str) -> Result<Option<Push>, Error> {
    let watched = format!("refs/heads/{branch}");
    let updates = parse_ref_updates(input)?;
    Ok(updates
        .into_iter()
        .rfind(|u| u.name == watched && !u.is_deletion())
        .map(|u| Push {
            branch: branch.to_string(),
            old: (!u.is_creation()).then_some(u.old),
            new: u.new,
        }))
}

/// A push to check or apply, and where its config is.
#[derive(Debug, Clone)]
pub struct ReceiveRequest {
    pub push: Push,
    /// The config directory inside the pushed tree.
    pub dir: PathBuf,
    /// The repository receiving the push (git's `$GIT_DIR` in a hook).
    pub repo: PathBuf,
    pub fleet: FleetOptions,
    /// post-receive: how long to wait for another berth's server lock.
    pub lock_timeout: Duration,
    /// `--all`: check (and apply) every server, not only those the push
    /// affects.
    pub all: bool,
}

impl ReceiveRequest {
    /// The config at the pushed commit (read from git's quarantine during
    /// pre-receive: git points the hook's object directory at it).
    fn source(&self) -> SourceSpec {
        SourceSpec {
            dir: self.dir.clone(),
            repo: Some(self.repo.clone()),
            rev: Some(self.push.new.clone()),
        }
    }

    /// The revision the push is compared with to find the servers it
    /// affects: the branch's previous commit (none for a new branch, or
    /// with `--all`: every server).
    fn since(&self) -> Option<String> {
        self.push.old.clone().filter(|_| !self.all)
    }
}

/// Whether a push is accepted.
#[derive(Debug)]
pub enum Verdict {
    Accept,
    /// Accepted under `settings.partial`: post-receive applies every
    /// server but these, each left as it is for its reason.
    AcceptSkipping(Vec<crate::plan::Skipped>),
    /// Rejected, for every one of these reasons.
    Reject(Vec<Reason>),
}

/// Why a push is rejected.
#[derive(Debug)]
pub enum Reason {
    /// The config at the pushed commit cannot be read, or is invalid (its
    /// diagnostics locate every problem).
    Config(Error),
    /// A server could not be read, and why.
    Unreadable { server: String, error: String },
    /// The plan has this many errors: conflicts berth will not resolve.
    Errors(usize),
    /// This many changes are blocked.
    Blocked(usize),
}

/// The verdict on a plan: rejected for every server it could not read,
/// its errors and its blocked changes, as `apply` refuses it for them.
/// With `partial` (the config's `settings.partial`), as a partial apply
/// goes: accepted while at least one server can be applied, naming the
/// servers post-receive will skip.
pub fn verdict(plan: &Plan, partial: bool) -> Verdict {
    if partial {
        let skipped = crate::plan::skipped(plan);
        if skipped.is_empty() {
            return Verdict::Accept;
        }
        // Servers left out (unaffected, not targeted) were never in play.
        let in_play = plan
            .servers
            .iter()
            .filter(|s| s.status != crate::plan::ServerHealth::Skipped)
            .count();
        if skipped.len() < in_play {
            return Verdict::AcceptSkipping(skipped);
        }
    }
    all_or_nothing(plan)
}

/// The verdict without `partial`: every reason `apply` refuses a plan for.
fn all_or_nothing(plan: &Plan) -> Verdict {
    let mut reasons: Vec<Reason> = plan
        .failed_servers()
        .map(|s| Reason::Unreadable {
            server: s.name.clone(),
            error: s.error.clone().unwrap_or_else(|| "not read".to_string()),
        })
        .collect();
    if !plan.errors.is_empty() {
        reasons.push(Reason::Errors(plan.errors.len()));
    }
    if plan.blocked() > 0 {
        reasons.push(Reason::Blocked(plan.blocked()));
    }
    if reasons.is_empty() {
        Verdict::Accept
    } else {
        Verdict::Reject(reasons)
    }
}

/// The plan of a pushed commit (none when its config could not be
/// loaded), and the verdict on the push.
#[derive(Debug)]
pub struct Checked {
    pub plan: Option<Plan>,
    pub verdict: Verdict,
}

/// pre-receive: loads the config at the pushed commit, reads every server
/// the push affects (every server with `--all`, for a new branch, or when
/// the previous commit's config is invalid), without locks, and plans. `Err` only when interrupted or on an error
/// that says nothing about the push.
pub async fn pre_receive(
    req: &ReceiveRequest,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Checked, Error> {
    let plan_req = PlanRequest {
        source: req.source(),
        base: None,
        choices: Default::default(),
        fleet: req.fleet,
        out: None,
        target: Default::default(),
        since: req.since(),
        all: req.all,
    };
    match super::plan(&plan_req, progress, cancel).await {
        Ok(planned) => Ok(Checked {
            verdict: verdict(&planned.plan, planned.partial),
            plan: Some(planned.plan),
        }),
        Err(e @ (Error::Source { .. } | Error::Config(_))) => Ok(Checked {
            plan: None,
            verdict: Verdict::Reject(vec![Reason::Config(e)]),
        }),
        Err(e) => Err(e),
    }
}

/// post-receive: applies the pushed commit exactly as `berth apply --yes`
/// would (the observer confirms), under the server locks, on the servers
/// the push affects (as pre-receive checked them).
pub async fn post_receive(
    req: &ReceiveRequest,
    observer: &dyn ApplyObserver,
    cancel: &CancellationToken,
) -> Result<Applied, Error> {
    let apply_req = ApplyRequest {
        source: req.source(),
        planfile: None,
        choices: Default::default(),
        fleet: req.fleet,
        lock_timeout: req.lock_timeout,
        // `settings.partial` still applies: the pushed config decides.
        partial: false,
        target: Default::default(),
        since: req.since(),
    };
    super::apply(&apply_req, observer, cancel).await
}

/// Which hooks to write, and what they check.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// The git directory of the repository receiving pushes.
    pub git_dir: PathBuf,
    pub branch: String,
    /// The config directory inside the tree.
    pub dir: PathBuf,
    /// Also write post-receive, which applies each accepted push.
    pub apply_on_push: bool,
    /// The scripts pass `--all`: every server on each push.
    pub all: bool,
}

/// The hook scripts written, in the order git runs them.
#[derive(Debug)]
pub struct Installed {
    pub hooks: Vec<PathBuf>,
}

/// Writes `pre-receive` (and with `apply_on_push`, `post-receive`) into the
/// repository's `hooks/`, executable; each runs this berth by its full
/// path.
pub fn install(req: &InstallRequest) -> Result<Installed, Error> {
    if !req.git_dir.is_dir() {
        return Err(Error::NotGitDir {
            path: req.git_dir.clone(),
        });
    }
    let berth = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(Error::OwnPath)?;
    let hooks = req.git_dir.join("hooks");
    let mut kinds = vec![HookKind::PreReceive];
    if req.apply_on_push {
        kinds.push(HookKind::PostReceive);
    }
    let mut written = Vec::new();
    for kind in kinds {
        let path = hooks.join(kind.name());
        std::fs::create_dir_all(&hooks)
            .and_then(|()| std::fs::write(&path, script(kind, &berth, req)))
            .map_err(|cause| Error::Write {
                path: path.clone(),
                cause,
            })?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(
            |cause| Error::Executable {
                path: path.clone(),
                cause,
            },
        )?;
        written.push(path);
    }
    Ok(Installed { hooks: written })
}

#[derive(Debug, Clone, Copy)]
enum HookKind {
    PreReceive,
    PostReceive,
}

impl HookKind {
    /// The hook's file name, which is also its `berth hook` subcommand.
    fn name(self) -> &'static str {
        match self {
            HookKind::PreReceive => "pre-receive",
            HookKind::PostReceive => "post-receive",
        }
    }
}

/// The script of a hook: runs `berth hook <kind>` for the branch and
/// config directory (and `--all`), every argument quoted for sh.
fn script(kind: HookKind, berth: &Path, req: &InstallRequest) -> String {
    let what = match kind {
        HookKind::PreReceive => "rejects a push whose config is invalid or whose plan is blocked.",
        HookKind::PostReceive => "applies the pushed commit of the watched branch.",
    };
    format!(
        "#!/bin/sh\n# Installed by `berth hook install`: {what}\nexec {berth} hook {sub} --branch {branch} --dir {dir}{all}\n",
        berth = quote(&berth.display().to_string()),
        sub = kind.name(),
        branch = quote(&req.branch),
        dir = quote(&req.dir.display().to_string()),
        all = if req.all { " --all" } else { "" },
    )
}

/// Single-quoted for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn several_refs_are_parsed_in_order() {
        let input =
            format!("{A} {B} refs/heads/main\n{Z} {A} refs/tags/v1\n\n{B} {Z} refs/heads/old\n");
        let updates = parse_ref_updates(&input).unwrap();
        let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["refs/heads/main", "refs/tags/v1", "refs/heads/old"]);
        assert!(updates[1].is_creation() && !updates[1].is_deletion());
        assert!(updates[2].is_deletion() && !updates[2].is_creation());
        let sha256 = "a".repeat(64);
        let u = parse_ref_updates(&format!("{z} {sha256} refs/heads/main", z = "0".repeat(64)))
            .unwrap();
        assert_eq!(u[0].new, sha256, "SHA-256 repositories too");
    }

    #[test]
    fn only_the_watched_branch_is_a_push() {
        let input = format!("{A} {B} refs/heads/feature\n{B} {A} refs/heads/main\n");
        assert_eq!(
            pushed(&input, "main").unwrap(),
            Some(Push {
                branch: "main".into(),
                old: Some(B.into()),
                new: A.into(),
            })
        );
        assert_eq!(pushed(&input, "release").unwrap(), None, "another branch");
        // `refs/heads/main` is not `refs/heads/mainline`, nor a tag `main`.
        let near = format!("{A} {B} refs/heads/mainline\n{A} {B} refs/tags/main\n");
        assert_eq!(pushed(&near, "main").unwrap(), None);
        let created = pushed(&format!("{Z} {B} refs/heads/main"), "main")
            .unwrap()
            .unwrap();
        assert_eq!(
            (created.old.as_deref(), created.short()),
            (None, "222222222222")
        );
        assert_eq!(pushed("", "main").unwrap(), None, "nothing pushed");
    }

    #[test]
    fn deleting_the_watched_branch_is_no_push() {
        let input = format!("{A} {Z} refs/heads/main\n");
        assert_eq!(pushed(&input, "main").unwrap(), None);
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_it() {
        for (input, line, says) in [
            (format!("{A} {B}"), 1, "2 field(s), not 3"),
            (
                format!("{A} {B} refs/heads/main extra"),
                1,
                "4 field(s), not 3",
            ),
            (
                format!("{A} {B} refs/heads/a\nnot a ref-update"),
                2,
                "the old object id `not` is not 40 or 64 hex digits",
            ),
            (
                format!("{A} xyz refs/heads/main"),
                1,
                "`xyz` is not 40 or 64 hex",
            ),
            (
                format!("{A} {} refs/heads/main", "a".repeat(64)),
                1,
                "differ in length",
            ),
            (format!("{A} {B} main"), 1, "not a full ref name"),
        ] {
            let e = parse_ref_updates(&input).expect_err(&input);
            let text = e.to_string();
            assert!(
                text.contains(&format!("line {line} ")) && text.contains(says),
                "{input:?}: {text}"
            );
            let bad = input.lines().nth(line - 1).unwrap();
            assert!(text.contains(bad), "the line itself is named: {text}");
            assert!(e.hint().is_some(), "{text}");
            assert!(pushed(&input, "main").is_err(), "{input:?}");
        }
    }

    mod verdicts {
        use std::collections::BTreeMap;

        use super::super::*;
        use crate::config::{SourceFile, load};
        use crate::live::{Container, Endpoint, IpamPool, LiveState, Network, Snapshot};

        const OWNER: &str = "acme";

        fn config(destinations: &str) -> crate::config::Config {
            let text = format!(
                "[settings]\nowner = \"{OWNER}\"\n\n[[server]]\nname = \"s1\"\naddress = \"local\"\n\n[[server]]\nname = \"s2\"\naddress = \"unix:///run/s2.sock\"\n{destinations}"
            );
            load(&[SourceFile {
                path: "berth.toml".into(),
                text,
            }])
            .map_err(|d| d.render(false))
            .unwrap()
        }

        fn network(name: &str, subnet: &str, owned: bool) -> Network {
            let subnet: ipnet::IpNet = subnet.parse().unwrap();
            let labels = if owned {
                [
                    ("berth.managed", "true"),
                    ("berth.owner", OWNER),
                    ("berth.destination", "gone"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
            } else {
                BTreeMap::new()
            };
            Network {
                id: format!("id-{name}"),
                name: name.into(),
                driver: "bridge".into(),
                internal: false,
                attachable: false,
                enable_ipv6: false,
                options: Default::default(),
                ipam: vec![IpamPool {
                    subnet: Some(subnet),
                    ip_range: None,
                    gateway: subnet.hosts().next(),
                    ..Default::default()
                }],
                labels,
                ..Default::default()
            }
        }

        fn on(network: &str, name: &str) -> Container {
            Container {
                id: format!("{name}0123456789abcdef"),
                name: name.into(),
                image: "busybox".into(),
                running: true,
                networks: [(network.to_string(), Endpoint::default())]
                    .into_iter()
                    .collect(),
                ..Default::default()
            }
        }

        /// s1 as given; s2 answers with nothing on it, or not at all.
        fn live(s1: Snapshot, s2_down: bool) -> LiveState {
            let mut l = LiveState::default();
            l.servers.insert("s1".into(), Ok(s1));
            l.servers.insert(
                "s2".into(),
                if s2_down {
                    Err("cannot connect to unix:///run/s2.sock".into())
                } else {
                    Ok(Snapshot::default())
                },
            );
            l
        }

        fn plan(destinations: &str, s1: Snapshot, s2_down: bool) -> Plan {
            crate::plan::plan(
                &config(destinations),
                &live(s1, s2_down),
                Default::default(),
            )
        }

        /// A destination whose network exists unmanaged with another
        /// subnet: a conflict berth will not resolve.
        const CONFLICT: &str = "\n[[destination]]\nname = \"d\"\nserver = \"s1\"\nnetwork = \"n\"\nsubnet = \"10.30.0.0/24\"\n";

        fn blocked_removal() -> Snapshot {
            Snapshot {
                networks: vec![network("old", "10.40.0.0/24", true)],
                containers: vec![on("old", "pinned")],
                ..Default::default()
            }
        }

        fn reasons(v: &Verdict) -> Vec<String> {
            match v {
                Verdict::Accept | Verdict::AcceptSkipping(_) => Vec::new(),
                Verdict::Reject(r) => r
                    .iter()
                    .map(|r| match r {
                        Reason::Config(e) => format!("config: {e}"),
                        Reason::Unreadable { server, error } => {
                            format!("unreadable {server}: {error}")
                        }
                        Reason::Errors(n) => format!("{n} errors"),
                        Reason::Blocked(n) => format!("{n} blocked"),
                    })
                    .collect(),
            }
        }

        #[test]
        fn a_plan_with_changes_and_nothing_blocked_is_accepted() {
            let dest = "\n[[destination]]\nname = \"d\"\nserver = \"s1\"\nnetwork = \"n\"\n";
            let p = plan(dest, Snapshot::default(), false);
            assert!(p.has_changes());
            assert!(matches!(verdict(&p, false), Verdict::Accept));
        }

        #[test]
        fn under_settings_partial_a_dead_server_is_skipped_unless_none_is_left() {
            let dest = "\n[[destination]]\nname = \"d\"\nserver = \"s1\"\nnetwork = \"n\"\n";
            let p = plan(dest, Snapshot::default(), true);
            assert_eq!(
                reasons(&verdict(&p, false)),
                ["unreadable s2: cannot connect to unix:///run/s2.sock"],
                "all or nothing without partial"
            );
            match verdict(&p, true) {
                Verdict::AcceptSkipping(skipped) => {
                    let names: Vec<&str> = skipped.iter().map(|k| k.server.as_str()).collect();
                    assert_eq!(names, ["s2"]);
                }
                other => panic!("expected an accepted push skipping s2: {other:?}"),
            }
            // Nothing left to apply: the push is rejected as before.
            let mut both_down = live(Snapshot::default(), true);
            both_down
                .servers
                .insert("s1".into(), Err("cannot connect to local".into()));
            let p = crate::plan::plan(&config(dest), &both_down, Default::default());
            assert!(matches!(verdict(&p, true), Verdict::Reject(_)));
        }

        #[test]
        fn under_settings_partial_a_push_whose_only_affected_server_is_down_is_rejected() {
            let dest = "\n[[destination]]\nname = \"d\"\nserver = \"s1\"\nnetwork = \"n\"\n";
            // s2 is unaffected by the push (not contacted), s1 is down.
            let mut l = LiveState::default();
            l.servers
                .insert("s1".into(), Err("cannot connect to local".into()));
            l.skipped
                .insert("s2".into(), "unaffected by the change".into());
            let p = crate::plan::plan(&config(dest), &l, Default::default());
            assert_eq!(
                reasons(&verdict(&p, true)),
                ["unreadable s1: cannot connect to local"],
                "nothing left to apply: rejected, not accepted skipping s1"
            );
        }

        #[test]
        fn under_strict_a_resource_that_matches_nothing_rejects_the_push() {
            let app = "\n[[destination]]\nname = \"d\"\nserver = \"s1\"\nnetwork = \"n\"\n\n[[application]]\nname = \"web\"\ndestination = \"d\"\ncontainer = \"web-1\"\n";
            let lenient = plan(app, Snapshot::default(), false);
            assert!(
                matches!(verdict(&lenient, false), Verdict::Accept),
                "a warning only"
            );
            let mut strict = config(app);
            strict.strict = true;
            let p = crate::plan::plan(
                &strict,
                &live(Snapshot::default(), false),
                Default::default(),
            );
            assert_eq!(reasons(&verdict(&p, false)), ["1 errors"]);
        }

        #[test]
        fn every_reason_is_given_not_just_the_first() {
            let mut s1 = blocked_removal();
            s1.networks.push(network("n", "10.99.0.0/24", false));
            let p = plan(CONFLICT, s1, true);
            assert_eq!(
                reasons(&verdict(&p, false)),
                [
                    "unreadable s2: cannot connect to unix:///run/s2.sock",
                    "1 errors",
                    "1 blocked"
                ]
            );
        }

        #[test]
        fn the_verdict_rejects_exactly_what_apply_refuses() {
            let cases = [
                ("clean", plan("", Snapshot::default(), false)),
                ("server down", plan("", Snapshot::default(), true)),
                ("blocked", plan("", blocked_removal(), false)),
                (
                    "conflict",
                    plan(
                        CONFLICT,
                        Snapshot {
                            networks: vec![network("n", "10.99.0.0/24", false)],
                            ..Default::default()
                        },
                        false,
                    ),
                ),
            ];
            for (what, p) in &cases {
                let accepted = matches!(verdict(p, false), Verdict::Accept);
                assert_eq!(
                    accepted,
                    super::super::super::apply::gate(p).is_none(),
                    "{what}: {:?}",
                    reasons(&verdict(p, false))
                );
            }
            assert_eq!(reasons(&verdict(&cases[2].1, false)), ["1 blocked"]);
            assert_eq!(reasons(&verdict(&cases[3].1, false)), ["1 errors"]);
        }
    }

    #[test]
    fn install_writes_executable_scripts_that_quote_their_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let installed = install(&InstallRequest {
            git_dir: dir.path().to_path_buf(),
            branch: "it's".into(),
            dir: "infra dir".into(),
            apply_on_push: true,
            all: false,
        })
        .unwrap();
        let hooks = dir.path().join("hooks");
        assert_eq!(
            installed.hooks,
            [hooks.join("pre-receive"), hooks.join("post-receive")]
        );
        use std::os::unix::fs::PermissionsExt;
        for (path, sub) in installed.hooks.iter().zip(["pre-receive", "post-receive"]) {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755, "{}", path.display());
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.starts_with("#!/bin/sh\n"), "{text}");
            assert!(
                text.contains(&format!(
                    " hook {sub} --branch 'it'\\''s' --dir 'infra dir'\n"
                )),
                "{text}"
            );
        }
        let only_pre = install(&InstallRequest {
            git_dir: dir.path().to_path_buf(),
            branch: "main".into(),
            dir: ".".into(),
            apply_on_push: false,
            all: true,
        })
        .unwrap();
        assert_eq!(only_pre.hooks, [hooks.join("pre-receive")]);
        let text = std::fs::read_to_string(&only_pre.hooks[0]).unwrap();
        assert!(text.ends_with(" --dir '.' --all\n"), "{text}");
    }

    #[test]
    fn install_into_what_is_not_a_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.git");
        let e = install(&InstallRequest {
            git_dir: missing.clone(),
            branch: "main".into(),
            dir: ".".into(),
            apply_on_push: false,
            all: false,
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} is not a git directory", missing.display())
        );
        assert!(e.hint().is_some_and(|h| h.contains("bare repository")));
        assert!(!missing.exists(), "nothing created");
    }
}

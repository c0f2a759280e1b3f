//! The command line: clap definitions of every command and its arguments.
//! Values users type are checked here (durations have a maximum), so a bad
//! one is a usage error, never a panic or a wrap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ops::{FleetOptions, SourceSpec};

const AFTER_HELP: &str = "\
Exit codes:
  0    success (for `plan`: nothing blocked)
  1    error: bad config, unreachable server, Docker error
  2    `plan --detailed-exitcode` found changes; `status --detailed-exitcode` found drift
  3    the plan has blocked changes (`apply` then applies nothing)
  130  interrupted (Ctrl-C, SIGTERM): locks released, nothing more applied

Examples:
  berth validate --dir infra/           check the config, every error with file:line:col
  berth plan                            what would change on every server
  berth plan --format json > plan.json  the plan as data (schemas/plan.schema.json)
  berth status                          every destination, what is attached, what drifted
  berth apply --yes                     apply without asking (CI, scripts)
  berth plan --base origin/main --ref HEAD --format markdown
                                        a pull-request comment: config change and plan
  berth plan --out plan.json && berth apply plan.json
                                        apply exactly what was reviewed, unless stale
  berth hook install --git-dir /srv/git/infra.git --apply-on-push
                                        check every push to main, apply accepted ones
  berth import --server prod-1 > prod-1.toml
                                        start from what runs there now";

/// `berth --version`: the version, the commit berth was built from and
/// whether that work tree had uncommitted changes (see build.rs), e.g.
/// `0.1.0 (commit 1a2b3c4d5e6f, dirty)`; `-V` prints the version alone.
pub const LONG_VERSION: &str = env!("BERTH_LONG_VERSION");

/// Keeps Docker hosts in the shape that a git repository describes.
///
/// Destinations (a Docker network on a server) and the assignment of
/// applications, databases and compose stacks to them live as TOML files.
/// berth reads the live Docker state of every server, prints a plan, and
/// applies it.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    long_version = LONG_VERSION,
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config: syntax, unknown keys, references, names, subnets.
    ///
    /// Reports every problem at once, each with file:line:col and the
    /// offending line. Contacts no server.
    Validate(SourceArgs),
    /// Show what berth would change on every server, and what it refuses to.
    ///
    /// Reads the live state of all servers concurrently (a fixed number of
    /// Docker API calls per server) and compares it with the config.
    Plan(PlanArgs),
    /// Apply the plan: networks, attachments and clones, under server locks.
    ///
    /// Plans first, shows the plan, and asks for confirmation on a terminal.
    /// Applies nothing when anything is blocked (exit 3) or any server did
    /// not answer (exit 1).
    Apply(ApplyArgs),
    /// Show every destination across the servers, and what runs on it.
    ///
    /// Read-only, takes no lock: each destination's live network and state
    /// (ok, missing, differs, adopted), the containers attached (kind,
    /// resource, state, health, uptime), the containers its resources
    /// select that are not attached and the declared resources that match
    /// nothing on its server (drift, each counted once), unused
    /// destinations (nothing declared, nothing attached), and berth-owned
    /// networks no destination declares.
    Status(StatusArgs),
    /// Keep servers converged between applies: follow Docker's events and
    /// heal what drifts.
    ///
    /// Plans every server on start, then again on every container or network
    /// event that may matter, every --resync, and on every new commit of the
    /// watched ref; applies what heals (missing networks, attachments,
    /// aliases, interrupted applies) and reports the rest (removals,
    /// replacements, clones, blocked changes) unless --apply-all. Takes a
    /// server's lock only to apply. One log line per event and action.
    /// Ctrl-C or SIGTERM finishes the step under way, releases the locks and
    /// exits 0.
    Watch(WatchArgs),
    /// Git push hooks: reject bad pushes, apply good ones.
    Hook(HookArgs),
    /// Print TOML for what runs on a server now (`--server NAME` of the
    /// config, or `--address ADDRESS` with no config yet).
    ///
    /// Destinations for its user-defined networks (not compose per-stack
    /// networks; those berth created keep their destination's name) with
    /// every network property; applications and databases for containers on
    /// them (Coolify's by their id labels, databases by `coolify.type`);
    /// services for compose projects, with `connect_to_predefined_networks`
    /// and `short_aliases`; berth's clones as clones (`clone_of`). Planning
    /// the output against the same server shows no changes.
    Import(ImportArgs),
    /// List every server lock held across the fleet: server, owner, holder,
    /// since.
    ///
    /// `apply` (and the post-receive hook, and `watch` while it applies)
    /// locks each server for its config's `[settings] owner`: a volume
    /// `berth-lock-<owner>-<hash>` on the daemon, naming its holder and
    /// start time, released on every exit path. Configs of different owners
    /// never wait on each other; a berth of the same owner waits up to
    /// --lock-timeout. This reads every server of the config concurrently
    /// (one Docker call each, no lock taken) and lists the locks of every
    /// owner, and legacy `berth-lock` volumes of older berths, which hold a
    /// server for every owner. A server that cannot be read is named with
    /// why, and the others are listed all the same (exit 1). To break a
    /// lock left by a berth that is gone: `berth unlock --server NAME`.
    Locks(LocksArgs),
    /// Break this owner's lock on a server, left behind by a berth that is
    /// gone.
    ///
    /// `apply` locks each server it changes for the config's `[settings]
    /// owner` (a `berth-lock-<owner>-<hash>` volume on the daemon, naming
    /// its holder and start time) and releases it on every exit path; a
    /// killed process can leave one behind. This breaks the lock of this
    /// config's owner only: other owners' locks are theirs (run unlock from
    /// their config). `berth locks` lists who holds what.
    Unlock(UnlockArgs),
    /// Stop managing networks berth created, without removing them.
    ///
    /// Like Terraform's `removed { destroy = false }`: berth writes a marker
    /// on the server (a never-started container `berth-forgotten-…`
    /// labelled with the network's id and this config's owner), and from
    /// then on every plan reads the network as one berth did not create:
    /// never removed (drop its destination from the config), never
    /// replaced, adopted if a destination still names it. Running it again
    /// is harmless.
    Forget(ForgetArgs),
    /// Print the JSON schema of the config or of the plan.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Print a shell completion script, e.g. `berth completions bash > /etc/bash_completion.d/berth`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub ssh: SshPersistArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: StatusFormat,
    /// Also sample CPU and memory of every running attached container
    /// (two samples, about a second), and sum them per destination.
    #[arg(long)]
    pub usage: bool,
    /// Server by server: do not collapse destinations that are the same on
    /// many servers into one (uptime and usage are then shown per server).
    #[arg(long)]
    pub verbose: bool,
    /// Exit 2 when anything has drifted (a change a plan would make, a
    /// selected container that is not attached, or a declared resource
    /// that matches nothing on its server).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// With --ref: `git fetch` the repository this often and apply each new
    /// commit of the ref (at least 1s, at most 24h).
    #[arg(long, value_name = "DURATION", value_parser = interval)]
    pub fetch_interval: Option<Duration>,
    /// Apply everything `berth apply` would (removals, replacements,
    /// clones), not only what heals.
    #[arg(long)]
    pub apply_all: bool,
    /// Plan every server in full this often, whatever the events said.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = interval)]
    pub resync: Duration,
    /// How long to wait for another berth's lock on a server (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = lock_timeout)]
    pub lock_timeout: Duration,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Pull mode, run on the server itself: reach its Docker through the
    /// local socket (needs --server naming one server).
    #[arg(long, requires = "servers")]
    pub local: bool,
    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Serve the live page of the fleet on this address (`/`, and
    /// `/status.json`, `/metrics`, `/healthz`), read-only. Any address but
    /// loopback needs a token: BERTH_LISTEN_TOKEN, --listen-token-env or
    /// --listen-token-file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// The environment variable holding --listen's bearer token (default
    /// BERTH_LISTEN_TOKEN).
    #[arg(
        long,
        value_name = "NAME",
        requires = "listen",
        conflicts_with = "listen_token_file"
    )]
    pub listen_token_env: Option<String>,
    /// A file whose first line is --listen's bearer token.
    #[arg(long, value_name = "PATH", requires = "listen")]
    pub listen_token_file: Option<std::path::PathBuf>,
    /// One line of text per event, or one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// What to log: error (failed changes, invalid configs), warn (and
    /// servers down, changes not applied), info (and every event and action
    /// that concerns the config) or debug (and Docker events about what the
    /// config does not manage, otherwise only counted). The flag wins over
    /// RUST_LOG (tracing's filter syntax, e.g. RUST_LOG=berth=debug); with
    /// neither, info.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// `--resync`, `--fetch-interval`: at least a second, at most a day.
fn interval(s: &str) -> Result<Duration, String> {
    let d = duration_at_most(s, Duration::from_secs(24 * 3600))?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s} is shorter than the minimum, 1s"));
    }
    Ok(d)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// `schemas/berth.schema.json`: one config file.
    Config,
    /// `schemas/plan.schema.json`: `berth plan --format json`.
    Plan,
    /// `schemas/status.schema.json`: `berth status --format json`.
    Status,
    /// `schemas/alert.schema.json`: the body `watch` POSTs to a webhook `[[alert]]`.
    Alert,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct FleetArgs {
    /// Servers read or changed at once (protects sshd's MaxStartups).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// How long one Docker API call may take before its server counts as
    /// failed, e.g. `30s`, `2m` (at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = api_timeout)]
    pub timeout: Duration,
    /// How long an apply waits for a swarm service's rolling update (or a
    /// new service's tasks) to finish, e.g. `10m` (at most 24h). The
    /// manager goes on with it after that; the step counts as failed.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = lock_timeout)]
    pub rollout_timeout: Duration,
}

impl FleetArgs {
    pub fn fleet(self) -> FleetOptions {
        FleetOptions {
            parallelism: usize::from(self.parallelism),
            timeout: self.timeout,
            rollout_timeout: self.rollout_timeout,
            ssh_persist: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Args)]
pub struct SshPersistArgs {
    /// How long an SSH connection stays open once idle, so that the next
    /// run within that time reuses it instead of a new handshake, e.g.
    /// `60s`, `5m` (at most 24h; `0s` is off). Overrides `[settings]
    /// ssh_persist` (default 60s).
    #[arg(long, value_name = "DURATION", value_parser = ssh_persist)]
    pub ssh_persist: Option<Duration>,
    /// Connect afresh and disconnect at the end of the run: nothing is
    /// kept for the next run (same as `--ssh-persist 0s`).
    #[arg(long, conflicts_with = "ssh_persist")]
    pub no_ssh_persist: bool,
}

impl SshPersistArgs {
    /// `fleet` with these flags' `ssh_persist`, if any was given.
    pub fn apply(self, fleet: FleetOptions) -> FleetOptions {
        let ssh_persist = match self.no_ssh_persist {
            true => Some(Duration::ZERO),
            false => self.ssh_persist,
        };
        FleetOptions {
            ssh_persist,
            ..fleet
        }
    }
}

/// `--ssh-persist`: at most a day.
fn ssh_persist(s: &str) -> Result<Duration, String> {
    duration_at_most(s, crate::config::MAX_SSH_PERSIST)
}

/// A human duration (`90s`, `5m`, `1h 30m`) no longer than `max`.
fn duration_at_most(s: &str, max: Duration) -> Result<Duration, String> {
    let too_long = || {
        format!(
            "{s} is longer than the maximum, {}",
            humantime::format_duration(max)
        )
    };
    let d = humantime::parse_duration(s.trim()).map_err(|e| match e {
        humantime::DurationError::NumberOverflow => too_long(),
        e => format!("`{s}` is not a duration like 30s, 5m or 1h ({e})"),
    })?;
    if d > max {
        return Err(too_long());
    }
    Ok(d)
}

/// `--lock-timeout`: at most a day.
fn lock_timeout(s: &str) -> Result<Duration, String> {
    duration_at_most(s, Duration::from_secs(24 * 3600))
}

/// `--timeout`: at least a second (Docker API timeouts are whole seconds),
/// at most an hour.
fn api_timeout(s: &str) -> Result<Duration, String> {
    let d = duration_at_most(s, Duration::from_secs(3600))?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s} is shorter than the minimum, 1s"));
    }
    Ok(d)
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Directory whose *.toml files (recursively, skipping hidden directories
    /// and target/) make up the config. With --ref: a directory of the tree.
    #[arg(long, short = 'd', value_name = "D", default_value = ".")]
    pub dir: PathBuf,
    /// Git repository to read the config from (bare ones too); default: the
    /// repository around the current directory when --ref is given.
    #[arg(long, value_name = "R")]
    pub repo: Option<PathBuf>,
    /// Read the config from this revision's tree instead of the working tree:
    /// `main`, `origin/main`, `HEAD~2`, a commit id, any revspec git accepts.
    #[arg(long = "ref", value_name = "REV")]
    pub rev: Option<String>,
}

impl SourceArgs {
    pub fn spec(&self) -> SourceSpec {
        SourceSpec {
            dir: self.dir.clone(),
            repo: self.repo.clone(),
            rev: self.rev.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped per server, for people.
    Human,
    /// The plan as data, for scripts (schemas/plan.schema.json).
    Json,
    /// A pull-request comment (GitHub/GitLab flavoured).
    Markdown,
}

/// `status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Grouped per server, for people.
    Human,
    /// The status as data, for scripts (schemas/status.schema.json).
    Json,
    /// A pull-request comment (GitHub/GitLab flavoured).
    Markdown,
    /// One self-contained HTML page (a CI artifact): the page `watch
    /// --listen` serves, as a static snapshot.
    Html,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub ssh: SshPersistArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Exit 2 when the plan has changes (0: none, 3: blocked, 1: error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// One line per server: do not collapse the changes (warnings,
    /// errors) that are the same on many servers into one line.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub choices: Choices,
    /// Pull-request preview: add the config change from this revision to
    /// the head (--ref, or the working tree), and contact only the servers
    /// it affects, only with the base's addresses and keys.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// With --base: plan every server, not only those the change affects.
    #[arg(long, requires = "base")]
    pub all: bool,
    /// Also save the plan, with a fingerprint of the live state it saw, for
    /// `berth apply FILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `--server`, `--destination`: limit a run to some of the config.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Contact, lock and change only the servers matching this glob
    /// (repeatable; `*`, `?`, `[a-z]`), plus the servers their clones copy
    /// from, read-only. `tag:` patterns await server tags.
    #[arg(long = "server", value_name = "PATTERN")]
    pub servers: Vec<String>,
    /// Change only the destinations matching this glob (repeatable), and
    /// the resources assigned to them, on the servers that host them.
    #[arg(long = "destination", value_name = "PATTERN")]
    pub destinations: Vec<String>,
}

impl TargetArgs {
    pub fn target(&self) -> crate::plan::Target {
        crate::plan::Target {
            servers: self.servers.clone(),
            destinations: self.destinations.clone(),
            not_targeted: Vec::new(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The declared `[[server]]` to read, or a glob or `tag:` pattern for
    /// several as one config (a network alike on several is one
    /// destination over the set); with `--address`, the name the imported
    /// `[[server]]` gets (default `local`).
    #[arg(long, value_name = "NAME", required_unless_present = "address")]
    pub server: Option<String>,
    /// Read the server at this address (`local`, `unix:///path`,
    /// `ssh://user@host:port`) without a config: for a first import, in a
    /// directory with no berth config yet.
    #[arg(long, value_name = "ADDRESS")]
    pub address: Option<String>,
    /// How long one Docker API call may take (at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = api_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Validate and plan the pushed commit of the watched branch on the
    /// servers the push affects (--all: every server); reject the push when
    /// the config is invalid, a server cannot be read, or a change is
    /// blocked. Reads git's `<old> <new> <ref>` lines on stdin; sees the
    /// pushed objects in git's quarantine.
    PreReceive(ReceiveArgs),
    /// Apply the pushed commit of the watched branch under the server locks,
    /// on the servers the push affects (--all: every server), and print the
    /// result to the pusher.
    PostReceive(ReceiveArgs),
    /// Write the hook scripts into a repository that receives pushes.
    Install(InstallArgs),
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// The branch whose pushes are checked (and applied); others pass.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The config directory inside the tree.
    #[arg(long, short = 'd', value_name = "D", default_value = ".")]
    pub dir: PathBuf,
    /// The repository (default: $GIT_DIR, as git sets it for hooks).
    #[arg(long, value_name = "R")]
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub ssh: SshPersistArgs,
    /// post-receive: how long to wait for another berth's server lock (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = lock_timeout)]
    pub lock_timeout: Duration,
    /// Check (and apply) every server, not only those the push affects.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The repository's git directory (a bare repository, or `.git`).
    #[arg(long, value_name = "G")]
    pub git_dir: PathBuf,
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The config directory inside the tree.
    #[arg(long, short = 'd', value_name = "D", default_value = ".")]
    pub dir: PathBuf,
    /// Also install post-receive, which applies each accepted push.
    #[arg(long)]
    pub apply_on_push: bool,
    /// The hooks check (and apply) every server on each push, not only
    /// those the push affects.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LocksArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub ssh: SshPersistArgs,
    /// A line per lock (and per server that could not be read), or JSON
    /// for scripts: `servers[]` with `server`, `locks[]` (`volume`,
    /// `owner`, `legacy`, `holder`, `pid`, `since`, `since_unix`,
    /// `age_seconds`) and `error`.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ListFormat,
}

/// How `locks` prints its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned lines, for people.
    Human,
    /// The list as data, for scripts.
    Json,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The declared `[[server]]` whose lock (this config's owner's) to break.
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// Also break a legacy `berth-lock` volume on that server: the one lock
    /// of a berth from before locks were per owner, which holds the server
    /// for every owner (and which newer berths wait for). Only when the
    /// berth that took it is gone.
    #[arg(long)]
    pub legacy: bool,
    /// How long one Docker API call may take (at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = api_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// The networks (Docker names) this owner no longer manages.
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The declared `[[server]]` the networks are on.
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// How long one Docker API call may take (at most 1h).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = api_timeout)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`: apply exactly it, unless the live state
    /// changed since (then refuse, naming what changed).
    #[arg(value_name = "PLANFILE")]
    pub planfile: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub ssh: SshPersistArgs,
    /// How long to wait for another berth's lock on a server, e.g. `30s`,
    /// `5m` (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = lock_timeout)]
    pub lock_timeout: Duration,
    /// Apply without asking. Required when stdin is not a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Apply every server whose own plan is complete and unblocked; skip
    /// (and name) the servers that could not be read, have errors or
    /// blocked changes, and those that depend on a skipped one (a clone's
    /// source). Exits 1 (or 3 when only blocked changes held servers back)
    /// so a pipeline notices. `[settings] partial = true` makes it the
    /// default.
    #[arg(long)]
    pub partial: bool,
    /// The plan shown: one line per server; do not collapse the changes (warnings,
    /// errors) that are the same on many servers into one line.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub choices: Choices,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// What the planner may do (shared by `plan` and `apply`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Choices {
    /// Recreate networks whose immutable properties changed even while
    /// containers are attached: they are disconnected and reconnected with
    /// their aliases (`plan`: preview it).
    #[arg(long)]
    pub allow_replace: bool,
    /// Refuse to stream images between servers for clones: such clones are
    /// blocked instead.
    #[arg(long)]
    pub no_image_transfer: bool,
    /// A declared container, label selector, swarm service or stack project
    /// that matches nothing on its server is an error (exit 1; `apply`
    /// applies nothing), not a warning. `[settings] strict = true` does the
    /// same for every run.
    #[arg(long)]
    pub strict: bool,
}

impl Choices {
    pub fn options(self) -> crate::plan::Options {
        crate::plan::Options {
            allow_replace: self.allow_replace,
            no_image_transfer: self.no_image_transfer,
            strict: self.strict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_a_maximum_and_never_wrap() {
        assert_eq!(lock_timeout("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(lock_timeout("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(lock_timeout("25h").unwrap_err().contains("maximum"));
        assert!(lock_timeout("18446744073709551615s").is_err());
        assert!(
            lock_timeout("307445734561825861m")
                .unwrap_err()
                .contains("maximum")
        );
        assert!(lock_timeout("soon").unwrap_err().contains("not a duration"));
        assert!(api_timeout("500ms").unwrap_err().contains("minimum"));
    }
}

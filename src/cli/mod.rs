//! Command-line interface: clap definitions, and one thin file per command
//! over the library. Every command returns an [`Exit`] code (DESIGN §3).

mod apply;
mod hook;
mod import;
mod plan;
mod progress;
mod unlock;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::refresh::Refreshed;

/// Exit codes (a contract: scripts depend on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `plan`, nothing blocked.
    Ok = 0,
    /// Bad config, unreachable server, Docker error.
    Error = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// The plan has blocked changes; `apply` applied nothing.
    Blocked = 3,
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success (for `plan`: nothing blocked)
  1  error: bad config, unreachable server, Docker error
  2  `plan --detailed-exitcode` found changes
  3  the plan has blocked changes (`apply` then applies nothing)

Examples:
  berth validate --dir infra/           check the config, every error with file:line:col
  berth plan                            what would change on every server
  berth plan --format json > plan.json  the plan as data (schemas/plan.schema.json)
  berth apply --yes                     apply without asking (CI, scripts)
  berth plan --base origin/main --ref HEAD --format markdown
                                        a pull-request comment: config change and plan
  berth plan --out plan.json && berth apply plan.json
                                        apply exactly what was reviewed, unless stale
  berth hook install --git-dir /srv/git/infra.git --apply-on-push
                                        check every push to main, apply accepted ones
  berth import --server prod-1 > prod-1.toml
                                        start from what runs there now";

/// Keeps Docker hosts in the shape that a git repository describes.
///
/// Destinations (a Docker network on a server) and the assignment of
/// applications, databases and compose stacks to them live as TOML files.
/// berth reads the live Docker state of every server, prints a plan, and
/// applies it.
#[derive(Debug, Parser)]
#[command(name = "berth", version, after_help = AFTER_HELP, propagate_version = true)]
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
    /// Git push hooks: reject bad pushes, apply good ones.
    Hook(HookArgs),
    /// Print TOML for what runs on a declared server now.
    ///
    /// Destinations for its user-defined networks (not compose per-stack
    /// networks), applications and databases for containers on them (by
    /// `coolify.type`), services for compose projects. Planning the output
    /// against the same server shows no changes.
    Import(ImportArgs),
    /// Break a server's lock left behind by a berth that is gone.
    ///
    /// `apply` locks each server it changes (a `berth-lock` volume on the
    /// daemon, naming its holder and start time) and releases it on every
    /// exit path; a killed process can leave one behind.
    Unlock(UnlockArgs),
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// `schemas/berth.schema.json`: one config file.
    Config,
    /// `schemas/plan.schema.json`: `berth plan --format json`.
    Plan,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct FleetArgs {
    /// Servers read or changed at once (protects sshd's MaxStartups).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
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
    /// The working tree, or git objects when --repo or --ref is given.
    pub fn load(&self) -> Result<crate::source::Loaded, crate::source::SourceError> {
        if self.repo.is_none() && self.rev.is_none() {
            return crate::source::worktree(&self.dir);
        }
        let repo = crate::source::GitRepo::open(
            self.repo.as_deref().unwrap_or(std::path::Path::new(".")),
        )?;
        repo.load(self.rev.as_deref().unwrap_or("HEAD"), &self.dir)
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

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Exit 2 when the plan has changes (0: none, 3: blocked, 1: error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub choices: Choices,
    /// Pull-request preview: add the config change from this revision to
    /// the head (--ref, or the working tree), and contact servers only with
    /// the base's addresses and keys.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Also save the plan, with a fingerprint of the live state it saw, for
    /// `berth apply FILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The declared `[[server]]` to read.
    #[arg(long, value_name = "NAME")]
    pub server: String,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Validate and plan the pushed commit of the watched branch; reject the
    /// push when the config is invalid, a server cannot be read, or a change
    /// is blocked. Reads git's `<old> <new> <ref>` lines on stdin; sees the
    /// pushed objects in git's quarantine.
    PreReceive(ReceiveArgs),
    /// Apply the pushed commit of the watched branch under the server locks
    /// and print the result to the pusher.
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
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// post-receive: how long to wait for another berth's server lock.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
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
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The declared `[[server]]` whose lock to break.
    #[arg(long, value_name = "NAME")]
    pub server: String,
}

/// `90`, `90s`, `5m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s or 5m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("`{s}`: use s, m or h, e.g. 30s or 5m")),
    }
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
    /// How long to wait for another berth's lock on a server, e.g. `30s`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Apply without asking. Required when stdin is not a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub choices: Choices,
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
}

impl Choices {
    pub fn options(self) -> crate::plan::Options {
        crate::plan::Options {
            allow_replace: self.allow_replace,
            no_image_transfer: self.no_image_transfer,
        }
    }
}

pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Hook(args) => hook::run(&args),
        Command::Unlock(args) => unlock::run(&args),
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Config => crate::config::schema(),
                SchemaKind::Plan => crate::plan::schema(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema is JSON")
            );
            Exit::Ok
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "berth", &mut std::io::stdout());
            Exit::Ok
        }
    }
}

/// Prints an error (and an optional hint) to stderr.
pub fn error(msg: impl std::fmt::Display, hint: Option<&str>) {
    let red = anstyle::AnsiColor::Red.on_default().bold();
    anstream::eprintln!("{red}error:{red:#} {msg}");
    if let Some(h) = hint {
        let cyan = anstyle::AnsiColor::Cyan.on_default().bold();
        anstream::eprintln!("  {cyan}hint:{cyan:#} {h}");
    }
}

/// A validated config, where it came from, and warnings about it.
pub struct Loaded {
    pub config: Config,
    pub source: crate::plan::SourceInfo,
    pub warnings: Vec<crate::plan::Warning>,
    /// The config files as read (for `--base` diffs).
    pub files: Vec<crate::config::SourceFile>,
}

/// Reads and validates the config and the compose files it names, printing
/// every problem on failure.
pub fn load_config(args: &SourceArgs) -> Result<Loaded, Exit> {
    let loaded = match args.load() {
        Ok(l) => l,
        Err(e) => {
            let hint = match e {
                crate::source::SourceError::Git(_) => {
                    "check --repo, and that --ref names a commit there (`git -C <repo> rev-parse <ref>`)"
                }
                _ => {
                    "point --dir at the directory holding your berth *.toml files (with --ref: a directory of the tree)"
                }
            };
            error(&e, Some(hint));
            return Err(Exit::Error);
        }
    };
    check(loaded)
}

/// Validates loaded config files and the compose files they name.
pub fn check(loaded: crate::source::Loaded) -> Result<Loaded, Exit> {
    let checked = crate::config::load(&loaded.files).and_then(|config| {
        let warnings = crate::compose::check(&config, &|p| loaded.read(p), &loaded.files)?;
        Ok((config, warnings))
    });
    match checked {
        Ok((config, warnings)) => Ok(Loaded {
            config,
            source: loaded.info,
            warnings,
            files: loaded.files,
        }),
        Err(diags) => {
            anstream::eprintln!("{}", diags.render(true));
            Err(Exit::Error)
        }
    }
}

/// The plan of `config` against `live`, naming its source, with the
/// config's own warnings first.
pub fn build_plan(
    config: &Config,
    live: &crate::live::LiveState,
    opts: crate::plan::Options,
    source: crate::plan::SourceInfo,
    warnings: Vec<crate::plan::Warning>,
) -> crate::plan::Plan {
    let mut plan = crate::plan::plan(config, live, opts);
    plan.source = source;
    plan.warnings.splice(0..0, warnings);
    plan
}

/// The declared server `name`, or an error listing the declared ones.
pub fn find_server<'a>(config: &'a Config, name: &str) -> Result<&'a crate::config::Server, Exit> {
    config.server(name).ok_or_else(|| {
        let known: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
        error(
            format_args!("no server named `{name}` in the config"),
            Some(&format!("declared servers: {}", known.join(", "))),
        );
        Exit::Error
    })
}

/// Reports a server that failed a single-server command.
pub fn server_failed(server: &str, e: &crate::docker::DockerError) -> Exit {
    error(format_args!("server {server}: {e}"), e.hint().as_deref());
    Exit::Error
}

/// Prints config warnings to stderr.
pub fn warn(warnings: &[crate::plan::Warning]) {
    let yellow = anstyle::AnsiColor::Yellow.on_default().bold();
    for w in warnings {
        anstream::eprintln!("{yellow}warning:{yellow:#} {}", w.message);
    }
}

/// A runtime for the async Docker work, with a Ctrl-C (and SIGTERM)
/// handler that releases server locks and closes SSH tunnels before exiting.
fn runtime() -> tokio::runtime::Runtime {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    rt.spawn(async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        crate::lock::release_all().await;
        crate::ssh::close_all();
        error(
            "interrupted: server locks released, nothing more was applied",
            None,
        );
        std::process::exit(130);
    });
    rt
}

/// Reads every server (spinners on a terminal) and prints which could not
/// be read.
pub fn refresh(
    rt: &tokio::runtime::Runtime,
    config: &Config,
    quiet: bool,
    opts: crate::refresh::Options<'_>,
) -> Refreshed {
    let spinners = progress::Spinners::new(quiet);
    let refreshed = rt.block_on(crate::refresh::refresh(config, opts, &spinners));
    spinners.clear();
    for (name, state) in &refreshed.live.servers {
        if let Err(e) = state {
            error(format_args!("server {name}: {e}"), None);
        }
    }
    refreshed
}

/// A spinner on stderr when it is a terminal; hidden otherwise.
pub fn spinner(quiet: bool, msg: String) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

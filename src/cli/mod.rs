//! Command-line interface: clap definitions, and one thin file per command
//! over the library. Every command returns an [`Exit`] code (DESIGN §3).

mod apply;
mod import;
mod plan;
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
  berth apply --yes                     apply without asking (CI, scripts)";

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
    /// Apply the plan: create, replace and remove networks.
    ///
    /// Plans first, shows the plan, and asks for confirmation on a terminal.
    /// Applies nothing when anything is blocked (exit 3) or any server did
    /// not answer (exit 1).
    Apply(ApplyArgs),
    /// Print TOML for what runs on a declared server now.
    ///
    /// Destinations for its user-defined networks (not compose per-stack
    /// networks), applications and databases for containers on them (by
    /// `coolify.type`), services for compose projects. Planning the output
    /// against the same server shows no changes.
    Import(ImportArgs),
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

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Directory whose *.toml files (recursively, skipping hidden directories
    /// and target/) make up the config.
    #[arg(long, short = 'd', value_name = "D", default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped per server, for people.
    Human,
    /// DESIGN §4, for scripts (schemas/plan.schema.json).
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Exit 2 when the plan has changes (0: none, 3: blocked, 1: error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Preview replacements as `apply --allow-replace` would do them.
    #[arg(long)]
    pub allow_replace: bool,
    /// Block clones whose image would have to be streamed to another server.
    #[arg(long)]
    pub no_image_transfer: bool,
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
pub struct ApplyArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Apply without asking. Required when stdin is not a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Recreate networks whose immutable properties changed even while
    /// containers are attached: they are disconnected and reconnected with
    /// their aliases.
    #[arg(long)]
    pub allow_replace: bool,
    /// Refuse to stream images between servers for clones: such clones are
    /// blocked instead.
    #[arg(long)]
    pub no_image_transfer: bool,
}

pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Import(args) => import::run(&args),
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
}

/// Reads and validates the config and the compose files it names, printing
/// every problem on failure.
pub fn load_config(args: &SourceArgs) -> Result<Loaded, Exit> {
    let loaded = match crate::source::worktree(&args.dir) {
        Ok(l) => l,
        Err(e) => {
            error(
                &e,
                Some("point --dir at the directory holding your berth *.toml files"),
            );
            return Err(Exit::Error);
        }
    };
    let checked = crate::config::load(&loaded.files).and_then(|config| {
        let warnings = crate::compose::check(&config, &|p| loaded.read(p), &loaded.files)?;
        Ok((config, warnings))
    });
    match checked {
        Ok((config, warnings)) => Ok(Loaded {
            config,
            source: loaded.info,
            warnings,
        }),
        Err(diags) => {
            anstream::eprintln!("{}", diags.render(true));
            Err(Exit::Error)
        }
    }
}

/// Prints config warnings to stderr.
pub fn warn(warnings: &[crate::plan::Warning]) {
    let yellow = anstyle::AnsiColor::Yellow.on_default().bold();
    for w in warnings {
        anstream::eprintln!("{yellow}warning:{yellow:#} {}", w.message);
    }
}

/// A runtime for the async Docker work.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// Reads every server, with a spinner on a terminal.
pub fn refresh(rt: &tokio::runtime::Runtime, config: &Config, quiet: bool) -> Refreshed {
    let spinner = spinner(
        quiet,
        format!(
            "reading {} server{}",
            config.servers.len(),
            if config.servers.len() == 1 { "" } else { "s" }
        ),
    );
    let refreshed = rt.block_on(crate::refresh::refresh(config));
    spinner.finish_and_clear();
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

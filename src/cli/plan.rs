//! `berth plan`: refresh every server, plan, render; exit code per DESIGN §3.
//! With `--base`, a pull-request preview: the config change first, servers
//! contacted with the base commit's connection details only.

use super::{Exit, Format, PlanArgs, SourceArgs, check, error, load_config, refresh, runtime};
use crate::plan::Plan;
use crate::render;

pub fn run(args: &PlanArgs) -> Exit {
    let loaded = match load_config(&args.source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut config = loaded.config;
    let mut skipped = Vec::new();
    let mut config_diff = None;
    if let Some(base_rev) = &args.base {
        let base_args = match base_source(&args.source, base_rev) {
            Ok(a) => a,
            Err(e) => {
                error(e, Some("--base compares two commits of a git repository"));
                return Exit::Error;
            }
        };
        let base = match base_args.load().map_err(|e| e.to_string()) {
            Ok(l) => check(l),
            Err(e) => {
                error(format_args!("base {base_rev}: {e}"), None);
                return Exit::Error;
            }
        };
        let Ok(base) = base else {
            error(
                format_args!(
                    "the base revision {base_rev} has an invalid config (above): its servers cannot be trusted"
                ),
                None,
            );
            return Exit::Error;
        };
        let mut d = crate::diff::diff(&base.config, &config, &base.files, &loaded.files);
        d.base_ref = base_rev.clone();
        d.base_commit = base.source.commit.clone().unwrap_or_default();
        let (notes, new_servers) = crate::diff::trust_base_servers(&base.config, &mut config);
        d.notes = notes;
        skipped = new_servers;
        config_diff = Some(d);
    }
    let rt = runtime();
    let opts = crate::refresh::Options {
        parallelism: usize::from(args.fleet.parallelism),
        lock: None,
    };
    let mut contacted = config.clone();
    contacted.servers.retain(|s| !skipped.contains(&s.name));
    let mut refreshed = refresh(&rt, &contacted, args.format != Format::Human, opts);
    for name in &skipped {
        refreshed.live.skipped.insert(
            name.clone(),
            "not contacted: this server is new in the change under review".to_string(),
        );
    }
    let mut plan = super::build_plan(
        &config,
        &refreshed.live,
        args.choices.options(),
        loaded.source,
        loaded.warnings,
    );
    if let (Some(t), Some(d)) = (plan.topology.as_mut(), config_diff.as_ref()) {
        crate::diff::mark(t, d);
    }
    plan.config_diff = config_diff;
    if let Some(path) = &args.out {
        plan.owner = Some(config.owner.clone());
        plan.fingerprints = refreshed
            .live
            .servers
            .iter()
            .filter_map(|(name, s)| {
                Some((
                    name.clone(),
                    crate::plan::fingerprint(&config, name, s.as_ref().ok()?),
                ))
            })
            .collect();
        if let Err(e) = std::fs::write(path, render::json(&plan)) {
            error(format_args!("cannot write {}: {e}", path.display()), None);
            return Exit::Error;
        }
        eprintln!(
            "Saved the plan to {}; apply exactly it with `berth apply {}`.",
            path.display(),
            path.display()
        );
    }
    match args.format {
        Format::Human => anstream::print!("{}", render::human(&plan)),
        Format::Json => println!("{}", render::json(&plan)),
        Format::Markdown => print!("{}", render::markdown(&plan)),
    }
    exit_code(&plan, args.detailed_exitcode)
}

/// The base of a preview: the same repository and config directory as the
/// head. A working-tree head names its directory on disk: the base reads
/// that directory of the enclosing repository's tree.
fn base_source(head: &SourceArgs, rev: &str) -> Result<SourceArgs, String> {
    if head.repo.is_some() || head.rev.is_some() {
        return Ok(SourceArgs {
            dir: head.dir.clone(),
            repo: head.repo.clone().or_else(|| Some(".".into())),
            rev: Some(rev.to_string()),
        });
    }
    let abs =
        std::fs::canonicalize(&head.dir).map_err(|e| format!("{}: {e}", head.dir.display()))?;
    let root = crate::source::repo_root(&abs);
    if !root.join(".git").exists() {
        return Err(format!(
            "{} is not inside a git work tree",
            head.dir.display()
        ));
    }
    let dir = abs.strip_prefix(&root).unwrap_or(std::path::Path::new(""));
    Ok(SourceArgs {
        dir: if dir.as_os_str().is_empty() {
            ".".into()
        } else {
            dir.to_path_buf()
        },
        repo: Some(root),
        rev: Some(rev.to_string()),
    })
}

/// 1 for errors or unreadable servers, 3 for blocked changes, 2 for changes
/// when asked, else 0.
pub fn exit_code(plan: &Plan, detailed: bool) -> Exit {
    if plan.failed_servers().next().is_some() || !plan.errors.is_empty() {
        Exit::Error
    } else if plan.blocked() > 0 {
        Exit::Blocked
    } else if detailed && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

//! `[[service]]` (a compose stack): its destination, compose project name,
//! `compose_file` path and `clone_of`.

use std::path::{Component, Path, PathBuf};

use super::super::load::{Entry, RawConfig};
use super::super::model::{FileRef, Stack};
use super::super::raw::RawService;
use super::{clone_over_set, clone_ref, destination_ref};
use crate::diag::Diagnostic;

pub(super) fn stack(
    e: &Entry<RawService>,
    raw: &RawConfig,
    errors: &mut Vec<Diagnostic>,
) -> Option<Stack> {
    let r = &e.raw;
    let mut ok = destination_ref(
        &format!("service `{}`", r.name),
        &r.destination,
        e.loc("destination"),
        raw,
        errors,
    );
    let project = r.project.clone().unwrap_or_else(|| r.name.clone());
    ok &= project_name(e, &project, errors);
    ok &= compose_path(e, errors);
    if let Some(source) = &r.clone_of {
        ok &= clone_ref(
            "service",
            &r.name,
            source,
            e.loc("clone_of"),
            raw.stacks.iter().map(|s| &s.raw.name),
            errors,
        );
        let source_dest = raw
            .stacks
            .iter()
            .find(|s| s.raw.name == *source)
            .map(|s| s.raw.destination.as_str());
        ok &= clone_over_set(
            &format!("service `{}`", r.name),
            Some(&r.destination),
            source_dest,
            e.loc("clone_of"),
            raw,
            errors,
        );
    }
    let mut attachments = std::collections::BTreeMap::new();
    for (service, a) in &r.attachments {
        match super::endpoint::of_stack_service(&e.loc("attachments"), a, errors) {
            Some(spec) => {
                attachments.insert(service.clone(), spec);
            }
            None => ok = false,
        }
    }
    if !r.attachments.is_empty() && r.connect_to_predefined_networks != Some(true) {
        ok = false;
        errors.push(
            Diagnostic::new(
                format!(
                    "service `{}` sets `attachments`, but its containers are connected to its destination only with `connect_to_predefined_networks = true`",
                    r.name
                ),
                e.loc("attachments"),
            )
            .label("attachments of containers berth never connects")
            .help("set `connect_to_predefined_networks = true`, or remove `attachments`"),
        );
    }
    ok.then(|| Stack {
        name: r.name.clone(),
        destination: r.destination.clone(),
        project,
        connect_to_predefined_networks: r.connect_to_predefined_networks.unwrap_or(false),
        short_aliases: r.short_aliases.unwrap_or(false),
        compose_file: compose_file(e),
        clone_of: r.clone_of.clone(),
        attachments,
        at: e.loc("name"),
    })
}

/// The `compose_file` a `[[service]]` table names, where it names it.
pub(super) fn compose_file(e: &Entry<RawService>) -> Option<FileRef> {
    e.raw.compose_file.clone().map(|path| FileRef {
        path,
        at: e.loc("compose_file"),
    })
}

/// The project name (default: the service's name) as compose accepts it.
fn project_name(e: &Entry<RawService>, project: &str, errors: &mut Vec<Diagnostic>) -> bool {
    if valid_compose_project(project) {
        return true;
    }
    let at = e
        .fields
        .get("project")
        .cloned()
        .unwrap_or_else(|| e.loc("name"));
    errors.push(
        Diagnostic::new(format!("`{project}` is not a valid compose project name"), at)
            .label("invalid project name")
            .help("compose project names use lowercase letters, digits, `-` and `_`, starting with a letter or digit"),
    );
    false
}

/// `compose_file`, when given, stays inside the repository.
fn compose_path(e: &Entry<RawService>, errors: &mut Vec<Diagnostic>) -> bool {
    let Some(path) = &e.raw.compose_file else {
        return true;
    };
    let Err(why) = repo_relative(path) else {
        return true;
    };
    errors.push(
        Diagnostic::new(
            format!("compose_file `{path}` {why}"),
            e.loc("compose_file"),
        )
        .label("outside the repository")
        .help("give a path relative to the repository root, e.g. `stacks/monitoring/compose.yaml`"),
    );
    false
}

/// Compose's own rule: lowercase letters, digits, dashes, underscores.
fn valid_compose_project(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// A path inside the repository: relative, never climbing out.
pub fn repo_relative(path: &str) -> Result<PathBuf, &'static str> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Err("is absolute");
    }
    let mut depth = 0i32;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err("leaves the repository");
        }
    }
    if depth == 0 {
        return Err("names no file");
    }
    Ok(p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths() {
        assert!(repo_relative("stacks/a/compose.yaml").is_ok());
        assert!(repo_relative("a/../b.yaml").is_ok());
        assert!(repo_relative("../b.yaml").is_err());
        assert!(repo_relative("/etc/passwd").is_err());
    }
}

//! Config from the working tree: a directory walk.

use std::path::{Path, PathBuf};

use super::near::{self, Entry};
use super::{Loaded, Missing, Reader, SourceError, SourceInfo, SourceKind};
use crate::config::SourceFile;

/// The enclosing git work tree of `dir`, else `dir`.
pub fn repo_root(dir: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.ancestors()
        .find(|a| a.join(".git").exists())
        .map_or_else(|| dir.to_path_buf(), Path::to_path_buf)
}

/// Fails unless `file`, with every symlink on the way resolved, lies
/// inside `root` (`shown` names it in the error). A file that does not
/// exist passes: reading it says so.
pub fn inside(root: &Path, file: &Path, shown: &str) -> Result<(), SourceError> {
    let (Ok(root), Ok(real)) = (std::fs::canonicalize(root), std::fs::canonicalize(file)) else {
        return Ok(());
    };
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(SourceError::Escapes {
            link: shown.to_string(),
        })
    }
}

/// `path` (components `wanted`), named in the config file `named_in`, is
/// not a file under `root`: where berth looked and what is there instead.
pub fn missing(root: &Path, path: &str, wanted: &[String], named_in: &str) -> SourceError {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let list = |dir: &[String]| list(&root, dir);
    let config_dir = std::fs::canonicalize(named_in)
        .ok()
        .and_then(|f| Some(f.parent()?.strip_prefix(&root).ok()?.to_path_buf()))
        .map(|d| near::components(&d))
        .unwrap_or_default();
    let base = if root.join(".git").exists() {
        format!("the repository root {}", root.display())
    } else {
        format!(
            "the config directory {} (no git work tree encloses it)",
            root.display()
        )
    };
    SourceError::Missing(Box::new(Missing {
        path: path.to_string(),
        resolved: wanted
            .iter()
            .fold(root.clone(), |p, c| p.join(c))
            .display()
            .to_string(),
        base,
        missing_dir: near::missing_dir(wanted, &list).map(|d| d.join("/")),
        near: near::closest(wanted, &config_dir, &list).map(|p| p.join("/")),
    }))
}

/// The entries of directory `dir` under `root`, symlinks not followed (a
/// link is listed as a file; listing never leaves the repository).
fn list(root: &Path, dir: &[String]) -> Option<Vec<Entry>> {
    let path = dir.iter().fold(root.to_path_buf(), |p, c| p.join(c));
    inside(root, &path, "").ok()?;
    let entries = std::fs::read_dir(&path).ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .map(|e| Entry {
                name: e.file_name().to_string_lossy().into_owned(),
                dir: e.file_type().is_ok_and(|t| t.is_dir()),
            })
            .collect(),
    )
}

/// Every `*.toml` under `dir`, skipping hidden directories and `target/`,
/// in a stable order. Paths are shown as the user would type them
/// (`dir/sub/file.toml`). A file reached through a symlink that leaves the
/// repository is refused, unread.
pub fn worktree(dir: &Path) -> Result<Loaded, SourceError> {
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.sort();
    if paths.is_empty() {
        return Err(SourceError::Empty {
            where_: dir.display().to_string(),
        });
    }
    let root = repo_root(dir);
    let files = paths
        .into_iter()
        .map(|path| {
            let shown = display(dir, &path);
            inside(&root, &path, &shown)?;
            let bytes = std::fs::read(&path).map_err(|cause| SourceError::File {
                path: path.clone(),
                cause,
            })?;
            Ok(SourceFile {
                text: super::decode(&shown, bytes)?,
                path: shown,
            })
        })
        .collect::<Result<Vec<_>, SourceError>>()?;
    Ok(Loaded {
        files,
        info: SourceInfo {
            kind: SourceKind::Worktree,
            reference: None,
            commit: None,
            repo: None,
            path: Some(dir.display().to_string()),
        },
        reader: Reader::Worktree(root),
    })
}

fn display(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    if dir == Path::new(".") {
        rel.display().to_string()
    } else {
        dir.join(rel).display().to_string()
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let entries = std::fs::read_dir(dir).map_err(|cause| SourceError::Dir {
        path: dir.to_path_buf(),
        cause,
    })?;
    for entry in entries {
        let entry = entry.map_err(|cause| SourceError::Dir {
            path: dir.to_path_buf(),
            cause,
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = entry.file_type().map_err(|cause| SourceError::Dir {
            path: path.clone(),
            cause,
        })?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, out)?;
            }
        } else if super::is_config_path(&name) {
            out.push(path);
        }
    }
    Ok(())
}

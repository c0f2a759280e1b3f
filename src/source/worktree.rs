//! Config from the working tree: a directory walk.

use std::path::{Path, PathBuf};

use super::{Loaded, Reader, SourceError, SourceInfo, SourceKind};
use crate::config::SourceFile;

/// The enclosing git work tree of `dir`, else `dir`.
pub fn repo_root(dir: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.ancestors()
        .find(|a| a.join(".git").exists())
        .map_or_else(|| dir.to_path_buf(), Path::to_path_buf)
}

/// Every `*.toml` under `dir`, skipping hidden directories and `target/`,
/// in a stable order. Paths are shown as the user would type them
/// (`dir/sub/file.toml`).
pub fn worktree(dir: &Path) -> Result<Loaded, SourceError> {
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.sort();
    if paths.is_empty() {
        return Err(SourceError::Empty {
            where_: dir.display().to_string(),
        });
    }
    let files = paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|cause| SourceError::File {
                path: path.clone(),
                cause,
            })?;
            Ok(SourceFile {
                path: display(dir, &path),
                text,
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
        reader: Reader::Worktree(repo_root(dir)),
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

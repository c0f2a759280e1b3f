//! Where config bytes come from: the working tree, or the tree of a git
//! revision (bare repositories and push quarantines included). Both give
//! the same files and the same plan for the same content.

mod git;
mod near;
mod worktree;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::SourceFile;

pub use git::{GitRepo, commit_of};
pub use worktree::{repo_root, worktree};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read config directory {}: {cause}", path.display())]
    Dir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot read {}: {cause}", path.display())]
    File {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("no *.toml config files under {where_}")]
    Empty { where_: String },
    #[error("git: {0}")]
    Git(String),
    /// A file that is not UTF-8 text, located at its first bad byte.
    #[error(
        "{path}:{line}:{col}: not UTF-8 text (byte 0x{byte:02x}); berth reads config and compose files as UTF-8"
    )]
    NotUtf8 {
        path: String,
        line: usize,
        col: usize,
        byte: u8,
    },
    /// A symlink whose target lies outside the repository: never followed,
    /// so a pull request cannot make berth read (and echo) a file of the
    /// machine it runs on.
    #[error("{link} is a symlink to a file outside the repository; berth does not follow it")]
    Escapes { link: String },
    /// A symlink in a git tree: berth reads blobs and follows no links.
    #[error(
        "{link} is a symlink in the git tree; berth reads config files from git objects and does not follow links"
    )]
    GitSymlink { link: String },
    /// A path that leaves the repository (the config check refuses it first).
    #[error("the path {path} {why}")]
    Outside { path: String, why: &'static str },
    /// A file the config names that is not there.
    #[error("{}: no such file (looked for {}, resolved against {})", .0.path, .0.resolved, .0.base)]
    Missing(Box<Missing>),
}

/// A file the config names that is not there: where berth looked, what
/// the path is relative to, and what is there instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The path as the config names it.
    pub path: String,
    /// Where it was looked for: an absolute path in the work tree, a path
    /// of the tree of a git revision.
    pub resolved: String,
    /// What the path was resolved against: the repository root (or the
    /// config directory outside a repository), or the root of the tree of
    /// a revision.
    pub base: String,
    /// The first directory on the path that does not exist, from the root.
    pub missing_dir: Option<String>,
    /// The closest file that exists, from the root: the same path from the
    /// config file's directory, or a close name (`compose.yml` for
    /// `compose.yaml`, a typo).
    pub near: Option<String>,
}

/// `bytes` as text, or where (`path:line:col`) they stop being UTF-8.
pub fn decode(path: &str, bytes: Vec<u8>) -> Result<String, SourceError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, col) = crate::diag::line_col(prefix, valid);
        SourceError::NotUtf8 {
            path: path.to_string(),
            line,
            col,
            byte: bytes.get(valid).copied().unwrap_or_default(),
        }
    })
}

/// Where a config was read from, as a plan records it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// The git ref asked for (`--ref`), for `git` sources.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The commit id the config was read from, for `git` sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The repository it was read from (absolute), for `git` sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The directory the config was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    #[default]
    Worktree,
    Git,
}

/// The config files, how to name them in a plan, and where other files the
/// config names (compose files) are read from.
pub struct Loaded {
    pub files: Vec<SourceFile>,
    pub info: SourceInfo,
    pub reader: Reader,
}

/// Reads a repository file by its path from the repository root.
pub enum Reader {
    /// The enclosing git work tree, else the config directory.
    Worktree(PathBuf),
    Git(Box<git::TreeReader>),
}

impl Loaded {
    /// A file of the repository by its path from the root; never outside
    /// it, through `..` or through a symlink. `named_in` is the config file
    /// that names it (its path as loaded): a file that is not there is a
    /// [`SourceError::Missing`] that says where berth looked and suggests
    /// what is there.
    pub fn read(&self, path: &str, named_in: &str) -> Result<String, SourceError> {
        let rel = crate::config::repo_relative(path).map_err(|why| SourceError::Outside {
            path: path.to_string(),
            why,
        })?;
        let wanted = near::components(&rel);
        match &self.reader {
            Reader::Worktree(root) => {
                let file = root.join(&rel);
                worktree::inside(root, &file, path)?;
                if !file.is_file() {
                    return Err(worktree::missing(root, path, &wanted, named_in));
                }
                let bytes = std::fs::read(&file).map_err(|cause| SourceError::File {
                    path: file.clone(),
                    cause,
                })?;
                decode(path, bytes)
            }
            Reader::Git(tree) => tree.read(path, &wanted, named_in),
        }
    }
}

/// Config file names berth reads: `*.toml`, not under hidden directories
/// or `target/`.
pub fn is_config_path(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(file) = parts.pop() else {
        return false;
    };
    file.ends_with(".toml")
        && !file.starts_with('.')
        && parts.iter().all(|d| !d.starts_with('.') && *d != "target")
}

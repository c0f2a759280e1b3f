//! Where config bytes come from: the working tree, or the tree of a git
//! revision (bare repositories and push quarantines included). Both give
//! the same files and the same plan for the same content.

mod git;
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
    /// A file of the repository by its path from the root; never outside it.
    pub fn read(&self, path: &str) -> std::io::Result<String> {
        let rel = crate::config::repo_relative(path).map_err(|why| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("the path {why}"))
        })?;
        match &self.reader {
            Reader::Worktree(root) => std::fs::read_to_string(root.join(rel)),
            Reader::Git(tree) => tree.read(&rel.to_string_lossy()),
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

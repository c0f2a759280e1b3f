//! Source → validated config: the config files (working tree or git
//! objects), checked together with the compose files they name.

use std::path::{Path, PathBuf};

use super::Error;
use crate::compose::Unreadable;
use crate::config::{Config, FileRef, SourceFile};
use crate::plan::{SourceInfo, Warning, WarningCode};
use crate::source::SourceError;

/// Where to read a config: a directory of the working tree, or of the tree
/// of a git revision (`rev`, in `repo` or the repository around the current
/// directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub dir: PathBuf,
    pub repo: Option<PathBuf>,
    pub rev: Option<String>,
}

/// A validated config, where it came from, and warnings about it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub source: SourceInfo,
    pub warnings: Vec<Warning>,
    /// The config files as read (for `--base` diffs).
    pub files: Vec<SourceFile>,
    /// The compose files the config names, as read (which servers a
    /// change affects looks at their contents).
    pub compose: crate::plan::affected::ComposeTexts,
}

impl Loaded {
    /// The config and its compose files, as one side of a change.
    pub fn side(&self) -> crate::plan::affected::Side<'_> {
        crate::plan::affected::Side {
            config: &self.config,
            compose: &self.compose,
        }
    }
}

/// Reads and validates the config and the compose files it names.
pub fn load(spec: &SourceSpec) -> Result<Loaded, Error> {
    let read = if spec.repo.is_none() && spec.rev.is_none() {
        crate::source::worktree(&spec.dir)
    } else {
        crate::source::GitRepo::open(spec.repo.as_deref().unwrap_or(Path::new(".")))
            .and_then(|repo| repo.load(spec.rev.as_deref().unwrap_or("HEAD"), &spec.dir))
    };
    let loaded = read.map_err(|error| {
        let hint = match error {
            SourceError::Git(_) => {
                "check --repo, and that --ref names a commit there (`git -C <repo> rev-parse <ref>`)"
            }
            _ => {
                "point --dir at the directory holding your berth *.toml files (with --ref: a directory of the tree)"
            }
        };
        Error::Source { error, hint }
    })?;
    check(loaded).map_err(Error::Config)
}

/// Validates loaded config files and the compose files they name, in one
/// pass: every problem of both is reported together.
pub fn check(loaded: crate::source::Loaded) -> Result<Loaded, crate::diag::Diagnostics> {
    let checked = crate::config::check(&loaded.files);
    let mut diagnostics = checked.diagnostics;
    let texts = std::cell::RefCell::new(crate::plan::affected::ComposeTexts::new());
    let read = |f: &FileRef| {
        let text = loaded.read(&f.path, &f.at.file).map_err(unreadable)?;
        texts.borrow_mut().insert(f.path.clone(), text.clone());
        Ok(text)
    };
    let compose = crate::compose::check(&checked.compose_files, &read, &mut diagnostics);
    if !diagnostics.errors.is_empty() {
        return Err(diagnostics);
    }
    let config = checked.config;
    let warnings = compose
        .into_iter()
        .map(|w| Warning {
            code: WarningCode::ComposeDefinesNetworks,
            message: w.message,
            file: Some(w.file),
            server: None,
            resource: None,
            suggestions: Vec::new(),
        })
        .collect();
    Ok(Loaded {
        config,
        source: loaded.info,
        warnings,
        files: loaded.files,
        compose: texts.into_inner(),
    })
}

/// What the compose check needs to know of a file the source could not read.
fn unreadable(e: SourceError) -> Unreadable {
    match e {
        SourceError::Missing(m) => Unreadable::Missing {
            resolved: m.resolved,
            base: m.base,
            missing_dir: m.missing_dir,
            near: m.near,
        },
        other => Unreadable::Other(other.to_string()),
    }
}

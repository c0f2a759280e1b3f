//! Config from git objects at any revision, without a checkout: bare
//! repositories, and a pre-receive hook's quarantined objects too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::near::{self, Entry};
use super::{Loaded, Missing, Reader, SourceError, SourceInfo, SourceKind};
use crate::config::SourceFile;

fn err(what: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError::Git(format!("{what}: {e}"))
}

/// An opened repository.
pub struct GitRepo {
    repo: gix::Repository,
    path: PathBuf,
    /// A pre-receive hook's view of the objects (see `open`).
    _quarantine: Option<tempfile::TempDir>,
}

impl GitRepo {
    /// Opens the repository at or above `path`. In a pre-receive hook the
    /// pushed objects sit in a quarantine directory that gix does not pick
    /// up from `GIT_OBJECT_DIRECTORY`: berth reads through a temporary
    /// objects directory whose `info/alternates` lists the quarantine, the
    /// alternates git names, then the repository's own objects.
    pub fn open(path: &Path) -> Result<GitRepo, SourceError> {
        let abs = std::fs::canonicalize(path)
            .map_err(|e| err(&format!("cannot open repository {}", path.display()), e))?;
        // An absolute path: gix's discovery mishandles relative bare paths.
        let mut repo = match gix::open(&abs) {
            Ok(r) => r,
            Err(_) => gix::discover(&abs)
                .map_err(|e| err(&format!("cannot open repository {}", path.display()), e))?,
        };
        let quarantine = match std::env::var_os("GIT_OBJECT_DIRECTORY") {
            Some(pushed) => {
                let dir = tempfile::Builder::new()
                    .prefix("berth-odb-")
                    .tempdir()
                    .map_err(|e| err("temp dir", e))?;
                let objects = dir.path().join("objects");
                std::fs::create_dir_all(objects.join("info")).map_err(|e| err("temp dir", e))?;
                let mut lines = vec![PathBuf::from(pushed)];
                if let Some(alts) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
                    lines.extend(std::env::split_paths(&alts));
                }
                lines.push(repo.objects.store_ref().path().to_path_buf());
                let text: String = lines
                    .iter()
                    .map(|p| {
                        format!(
                            "{}\n",
                            std::fs::canonicalize(p)
                                .unwrap_or_else(|_| p.clone())
                                .display()
                        )
                    })
                    .collect();
                std::fs::write(objects.join("info/alternates"), text)
                    .map_err(|e| err("temp dir", e))?;
                let handle = gix::odb::at(&objects, repo.object_hash())
                    .map_err(|e| err("open the pushed objects", e))?;
                repo.objects = gix::odb::memory::Proxy::new(handle, repo.object_hash());
                Some(dir)
            }
            None => None,
        };
        Ok(GitRepo {
            repo,
            path: abs,
            _quarantine: quarantine,
        })
    }

    /// The commit id `rev` names.
    pub fn commit(&self, rev: &str) -> Result<ObjectId, SourceError> {
        let id = self.repo.rev_parse_single(rev).map_err(|e| {
            err(
                &format!("cannot resolve `{rev}` in {}", self.path.display()),
                e,
            )
        })?;
        let commit = id
            .object()
            .map_err(|e| err(&format!("cannot read `{rev}`"), e))?
            .peel_to_commit()
            .map_err(|e| err(&format!("`{rev}` is not a commit"), e))?;
        Ok(commit.id)
    }

    /// Every config file under `dir` in the tree of `rev`.
    pub fn load(&self, rev: &str, dir: &Path) -> Result<Loaded, SourceError> {
        let commit = self.commit(rev)?;
        let (files, links) = self.tree_files(commit)?;
        let prefix = dir
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let under =
            |p: &str| prefix.is_empty() || prefix == "." || p.starts_with(&format!("{prefix}/"));
        if let Some(link) = links.iter().find(|p| under(p) && super::is_config_path(p)) {
            return Err(SourceError::GitSymlink { link: link.clone() });
        }
        let mut config = Vec::new();
        for (path, oid) in &files {
            if under(path) && super::is_config_path(path) {
                config.push(SourceFile {
                    path: path.clone(),
                    text: self.blob(*oid, path)?,
                });
            }
        }
        if config.is_empty() {
            return Err(SourceError::Empty {
                where_: format!(
                    "{} in {rev} ({})",
                    if prefix.is_empty() { "." } else { &prefix },
                    short(commit)
                ),
            });
        }
        Ok(Loaded {
            files: config,
            info: SourceInfo {
                kind: SourceKind::Git,
                reference: Some(rev.to_string()),
                commit: Some(commit.to_string()),
                repo: Some(self.path.display().to_string()),
                path: (!prefix.is_empty() && prefix != ".").then_some(prefix),
            },
            reader: Reader::Git(Box::new(TreeReader {
                repo: self.repo.clone(),
                files,
                links,
                tree: format!(
                    "the tree of `{rev}` ({}) in {}",
                    short(commit),
                    self.path.display()
                ),
            })),
        })
    }

    /// The tree's files (blobs by path) and the paths of its symlinks.
    fn tree_files(&self, commit: ObjectId) -> Result<(Files, Vec<String>), SourceError> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| err("read commit", e))?;
        let tree = commit.tree().map_err(|e| err("read tree", e))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| err("walk tree", e))?;
        let mut files = Files::new();
        let mut links = Vec::new();
        for e in recorder.records {
            if e.mode.is_blob() {
                files.insert(e.filepath.to_string(), e.oid);
            } else if e.mode.is_link() {
                links.push(e.filepath.to_string());
            }
        }
        Ok((files, links))
    }

    fn blob(&self, oid: ObjectId, path: &str) -> Result<String, SourceError> {
        let obj = self
            .repo
            .find_object(oid)
            .map_err(|e| err(&format!("read {path}"), e))?;
        super::decode(path, obj.data.clone())
    }
}

fn short(id: ObjectId) -> String {
    id.to_string().chars().take(12).collect()
}

/// The commit id `rev` names in the repository at `repo`.
pub fn commit_of(repo: &Path, rev: &str) -> Result<String, SourceError> {
    Ok(GitRepo::open(repo)?.commit(rev)?.to_string())
}

type Files = BTreeMap<String, ObjectId>;

/// Reads blobs of one tree by path.
pub struct TreeReader {
    repo: gix::Repository,
    files: Files,
    links: Vec<String>,
    /// Which tree, for messages: its revision, commit and repository.
    tree: String,
}

impl TreeReader {
    /// The blob at `path` (components `wanted`), named in the config file
    /// `named_in` (a path of the tree).
    pub fn read(
        &self,
        path: &str,
        wanted: &[String],
        named_in: &str,
    ) -> Result<String, SourceError> {
        let key = wanted.join("/");
        if self.links.contains(&key) {
            return Err(SourceError::GitSymlink { link: key });
        }
        let Some(oid) = self.files.get(&key) else {
            return Err(self.missing(path, wanted, named_in));
        };
        let obj = self
            .repo
            .find_object(*oid)
            .map_err(|e| err(&format!("read {key}"), e))?;
        super::decode(path, obj.data.clone())
    }

    fn missing(&self, path: &str, wanted: &[String], named_in: &str) -> SourceError {
        let list = |dir: &[String]| self.list(dir);
        let config_dir = near::components(Path::new(named_in).parent().unwrap_or(Path::new("")));
        SourceError::Missing(Box::new(Missing {
            path: path.to_string(),
            resolved: wanted.join("/"),
            base: format!("the root of {}", self.tree),
            missing_dir: near::missing_dir(wanted, &list).map(|d| d.join("/")),
            near: near::closest(wanted, &config_dir, &list).map(|p| p.join("/")),
        }))
    }

    /// The entries of directory `dir` of the tree (symlinks as files).
    fn list(&self, dir: &[String]) -> Option<Vec<Entry>> {
        let prefix: String = dir.iter().map(|c| format!("{c}/")).collect();
        let mut entries: BTreeMap<&str, bool> = BTreeMap::new();
        for path in self.files.keys().chain(&self.links) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            if let Some((name, _)) = rest.split_once('/') {
                entries.insert(name, true);
            } else {
                entries.entry(rest).or_insert(false);
            }
        }
        (dir.is_empty() || !entries.is_empty()).then(|| {
            entries
                .into_iter()
                .map(|(name, dir)| Entry {
                    name: name.to_string(),
                    dir,
                })
                .collect()
        })
    }
}

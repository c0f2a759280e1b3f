//! Pull-request previews (`plan --base`): the config change from the base
//! commit to the head, the servers it affects, and the trust policy for an
//! untrusted head: servers are contacted only with the base commit's
//! connection details, and a server only the head names is never
//! contacted. The push hooks compare with the branch's previous commit the
//! same way ([`affected_since`]), without the trust policy.

use std::collections::BTreeSet;
use std::path::Path;

use super::Error;
use super::load::{Loaded, SourceSpec};
use crate::config::Config;
use crate::config::diff::ConfigDiff;

/// What a preview adds to a plan.
pub struct Preview {
    pub config_diff: ConfigDiff,
    /// Servers only the head names: listed, never contacted.
    pub skipped: Vec<String>,
    /// The head's servers whose part of the config the change touches
    /// (`plan::affected`); the others need not be contacted.
    pub affected: BTreeSet<String>,
}

/// Loads the base `rev` beside `head`, then [`compare`]s them.
pub fn preview(head_spec: &SourceSpec, head: &mut Loaded, rev: &str) -> Result<Preview, Error> {
    let base = load_base(head_spec, rev)?;
    Ok(compare(&base, head, rev))
}

/// The config at `rev`, in the same repository and directory as `head_spec`.
fn load_base(head_spec: &SourceSpec, rev: &str) -> Result<Loaded, Error> {
    let base_spec = base_source(head_spec, rev).map_err(|message| Error::Base {
        message,
        hint: "--base compares two commits of a git repository".to_string(),
    })?;
    super::load(&base_spec).map_err(|e| match e {
        Error::Config(diagnostics) => Error::InvalidBase {
            rev: rev.to_string(),
            diagnostics,
        },
        other => Error::Base {
            message: format!("base {rev}: {other}"),
            hint: other.hint().unwrap_or_default(),
        },
    })
}

/// The servers of `head` a change from `rev` affects (the push hooks: the
/// branch's previous commit). `None` — every server — when the config at
/// `rev` cannot be read or is invalid: nothing to compare with.
pub fn affected_since(
    head_spec: &SourceSpec,
    head: &Loaded,
    rev: &str,
) -> Option<BTreeSet<String>> {
    let base = load_base(head_spec, rev).ok()?;
    Some(crate::plan::affected::affected(base.side(), head.side()))
}

/// Diffs the base (`rev`) and head configs, and makes `head` contact its
/// servers as the base says. Pure.
pub fn compare(base: &Loaded, head: &mut Loaded, rev: &str) -> Preview {
    let mut config_diff =
        crate::config::diff::diff(&base.config, &head.config, &base.files, &head.files);
    config_diff.base_ref = rev.to_string();
    config_diff.base_commit = base.source.commit.clone().unwrap_or_default();
    // Before the base's addresses replace the head's: a changed address
    // affects its server.
    let affected = crate::plan::affected::affected(base.side(), head.side());
    let (notes, skipped) = trust_base_servers(&base.config, &mut head.config);
    config_diff.notes = notes;
    Preview {
        config_diff,
        skipped,
        affected,
    }
}

/// The base of a preview: the same repository and config directory as the
/// head. A working-tree head names its directory on disk: the base reads
/// that directory of the enclosing repository's tree.
fn base_source(head: &SourceSpec, rev: &str) -> Result<SourceSpec, String> {
    if head.repo.is_some() || head.rev.is_some() {
        return Ok(SourceSpec {
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
    let dir = abs.strip_prefix(&root).unwrap_or(Path::new(""));
    Ok(SourceSpec {
        dir: if dir.as_os_str().is_empty() {
            ".".into()
        } else {
            dir.to_path_buf()
        },
        repo: Some(root),
        rev: Some(rev.to_string()),
    })
}

/// Untrusted heads (pull requests): every server is contacted with the base
/// commit's address, socket, key and known-hosts file. Returns the notes to
/// show and the servers that only the head names (never contacted).
fn trust_base_servers(base: &Config, head: &mut Config) -> (Vec<String>, Vec<String>) {
    let mut notes = Vec::new();
    let mut skipped = Vec::new();
    for s in &mut head.servers {
        match base.server(&s.name) {
            Some(b) => {
                if b.address != s.address {
                    notes.push(format!(
                        "server {}: this change edits its connection ({} → {}); berth used the base commit's",
                        s.name, b.address, s.address
                    ));
                    s.address = b.address.clone();
                }
            }
            None => {
                notes.push(format!(
                    "server {} is new in this change: berth does not contact servers that only the head names",
                    s.name
                ));
                skipped.push(s.name.clone());
            }
        }
    }
    notes.insert(
        0,
        "servers were contacted with the base commit's addresses, sockets and keys only"
            .to_string(),
    );
    (notes, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceFile, load};

    fn cfg(text: &str) -> Config {
        load(&[SourceFile {
            path: "berth.toml".into(),
            text: text.into(),
        }])
        .map_err(|d| d.render(false))
        .unwrap()
    }

    #[test]
    fn servers_are_contacted_as_the_base_says_and_new_ones_never() {
        let base_text = "[[server]]\nname = \"s1\"\naddress = \"unix:///run/a.sock\"\n";
        let head_text = base_text.replace("a.sock", "evil.sock")
            + "[[server]]\nname = \"s2\"\naddress = \"ssh://root@198.51.100.7\"\n";
        let base = cfg(base_text);
        let mut head = cfg(&head_text);
        let (notes, skipped) = trust_base_servers(&base, &mut head);
        assert_eq!(skipped, ["s2"]);
        assert_eq!(
            head.servers[0].address.to_string(),
            "unix:///run/a.sock",
            "the base's address is used"
        );
        assert!(notes.iter().any(|n| n.contains("s2 is new")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("evil.sock")), "{notes:?}");
    }
}

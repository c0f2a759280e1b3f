//! Config files: bytes → UTF-8 text (or a located error) → a validated
//! config (or located diagnostics) → the compose check → a plan against
//! empty servers, rendered. Up to three files: the input split at NUL bytes,
//! so duplicates across files are reached too.

use std::collections::BTreeMap;

use crate::compose::Unreadable;
use crate::config::{FileRef, SourceFile};
use crate::live::{LiveState, Snapshot};
use crate::source::{SourceError, decode};

pub fn config(data: &[u8]) {
    let mut files = Vec::new();
    for (i, bytes) in data.splitn(3, |b| *b == 0).enumerate() {
        let path = if i == 0 {
            "berth.toml".to_string()
        } else {
            format!("more/{i}.toml")
        };
        match decode(&path, bytes.to_vec()) {
            Ok(text) => files.push(SourceFile { path, text }),
            Err(e) => {
                assert!(matches!(e, SourceError::NotUtf8 { .. }), "{e}");
                assert!(e.to_string().starts_with(&format!("{path}:")), "{e}");
                // The loader stops at such a file; go on with what it
                // would see of it, to reach the parser all the same.
                files.push(SourceFile {
                    path,
                    text: String::from_utf8_lossy(bytes).into_owned(),
                });
            }
        }
    }
    // Config and compose files are checked in one pass, as `ops::load` does.
    let checked = crate::config::check(&files);
    let mut diagnostics = checked.diagnostics;
    let read = |f: &FileRef| -> Result<String, Unreadable> {
        if f.path.ends_with(".yaml") || f.path.ends_with(".yml") {
            Ok(super::COMPOSE.to_string())
        } else {
            Err(Unreadable::Missing {
                resolved: format!("/repo/{}", f.path),
                base: "the repository root /repo".to_string(),
                missing_dir: None,
                near: Some("compose.yaml".to_string()),
            })
        }
    };
    crate::compose::check(&checked.compose_files, &read, &mut diagnostics);
    if !diagnostics.errors.is_empty() {
        return super::check_diagnostics(&diagnostics);
    }
    let config = checked.config;
    let live = LiveState {
        servers: config
            .servers
            .iter()
            .map(|s| (s.name.clone(), Ok(Snapshot::default())))
            .collect(),
        skipped: BTreeMap::new(),
    };
    for s in &config.servers {
        let _ = crate::plan::inspections(&config, &s.name, &live);
    }
    for mode in crate::plan::Options::ALL {
        super::render(&crate::plan::plan(&config, &live, mode));
    }
    let base = super::scenario();
    let _ = crate::config::diff::diff(base, &config, &super::scenario_files(), &files);
}

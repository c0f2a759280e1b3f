//! The desired state: config files → a validated [`Config`], or every problem
//! found, each with `file:line:col`; the change between two configs
//! ([`diff`]); the config JSON schema.

mod alert;
pub mod diff;
mod load;
mod model;
pub mod raw;
mod validate;

pub use alert::*;
pub use load::{SourceFile, TOP_LEVEL};
pub use model::*;
pub use validate::{list_some, repo_relative, valid_docker_name};

use crate::diag::{Diagnostics, SourceMap};

/// Parses and validates all config files together; names are unique per kind
/// across files. Either a `Config`, or every error found.
pub fn load(files: &[SourceFile]) -> Result<Config, Diagnostics> {
    let checked = check(files);
    if checked.diagnostics.errors.is_empty() {
        Ok(checked.config)
    } else {
        Err(checked.diagnostics)
    }
}

/// What config files give, valid or not, so that the files they name can
/// be checked in the same pass as the config itself.
#[derive(Debug)]
pub struct Checked {
    /// The valid part: entities with an error are left out.
    pub config: Config,
    /// Every compose file a `[[service]]` table names with a path inside
    /// the repository, whether or not the rest of its table is valid.
    pub compose_files: Vec<StackFile>,
    /// Every problem found, with the text of each file to quote it.
    pub diagnostics: Diagnostics,
}

/// Parses and validates all config files together, collecting every
/// problem; [`load`] when nothing else is to be checked.
pub fn check(files: &[SourceFile]) -> Checked {
    let mut sources = SourceMap::default();
    let mut raw = load::RawConfig::default();
    let mut errors = Vec::new();
    for f in files {
        sources.insert(&f.path, &f.text);
        load::parse_file(f, &mut raw, &mut errors);
    }
    let compose_files = validate::compose_files(&raw);
    // Where each `prevent_removal` is written, for the plan errors that name it.
    let guards: std::collections::BTreeMap<String, String> = raw
        .destinations
        .iter()
        .filter_map(|e| {
            let at = e.fields.get("prevent_removal")?;
            let (line, col) = sources.line_col(&at.file, at.span.start);
            Some((e.raw.name.clone(), format!("{}:{line}:{col}", at.file)))
        })
        .collect();
    let mut config = validate::validate(raw, &mut errors);
    for d in &mut config.destinations {
        if d.prevent_removal.is_some() {
            d.prevent_removal = guards.get(&d.name).cloned().or(d.prevent_removal.take());
        }
    }
    Checked {
        config,
        compose_files,
        diagnostics: Diagnostics { errors, sources },
    }
}

/// The JSON schema of a config file (`schemas/berth.schema.json`).
pub fn schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(raw::RawFile)).expect("a schema is JSON");
    drop_null(&mut schema);
    schema
}

/// TOML has no null: an optional key is absent, so `["string", "null"]`
/// becomes `"string"` for editors.
fn drop_null(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                any.retain(|t| t.get("type").and_then(Value::as_str) != Some("null"));
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

//! Compose files that services name: parsed with serde_yaml (merge keys
//! resolved), checked, and inspected for networks of their own, which
//! Coolify warns lead to gateway timeouts.

use serde_yaml::Value;

use crate::config::{FileRef, StackFile};
use crate::diag::{Diagnostic, Diagnostics, Location};

/// A stack whose compose file defines networks of its own: Coolify warns
/// this leads to gateway timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinesNetworks {
    /// The compose file, by its path in the repository.
    pub file: String,
    pub message: String,
}

/// What berth needs to know of a compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compose {
    pub services: Vec<String>,
    /// Names under the top-level `networks:`.
    pub top_level_networks: Vec<String>,
    /// Services with a `networks:` key of their own.
    pub services_with_networks: Vec<String>,
}

impl Compose {
    pub fn defines_networks(&self) -> bool {
        !self.top_level_networks.is_empty() || !self.services_with_networks.is_empty()
    }
}

/// Parses `text` (the file at `path`), or says what is wrong and where.
pub fn parse(path: &str, text: &str) -> Result<Compose, Box<Diagnostic>> {
    let at = |offset: usize| Location {
        file: path.to_string(),
        span: offset..offset + 1,
    };
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| {
        // At the end of the input (an unclosed `[`), point after the last
        // character written rather than past the final newline.
        let offset = e
            .location()
            .map_or(0, |l| l.index())
            .min(text.trim_end().len());
        Box::new(
            Diagnostic::new(
                format!(
                    "invalid YAML in compose file: {}",
                    strip_location(&e.to_string())
                ),
                at(offset),
            )
            .label("here"),
        )
    })?;
    if let Err(e) = value.apply_merge() {
        return Err(Box::new(merge_error(path, text, &e.to_string())));
    }
    let Value::Mapping(root) = value else {
        return Err(Box::new(
            Diagnostic::new(
                "a compose file must be a mapping with a `services:` key",
                at(0),
            )
            .label("not a mapping"),
        ));
    };
    let Some(services) = root.get("services") else {
        return Err(Box::new(
            Diagnostic::new("the compose file defines no `services:`", at(0))
                .label("no services")
                .help("a compose file lists its containers under a top-level `services:` mapping"),
        ));
    };
    let Value::Mapping(services) = services else {
        let offset = line_offset(text, |l| l.starts_with("services:")).unwrap_or(0);
        return Err(Box::new(
            Diagnostic::new(
                "`services:` must be a mapping of service names to definitions",
                at(offset),
            )
            .label("not a mapping"),
        ));
    };
    let mut out = Compose {
        services: Vec::new(),
        top_level_networks: keys(root.get("networks")),
        services_with_networks: Vec::new(),
    };
    for (name, def) in services {
        let name = scalar(name);
        match def {
            Value::Mapping(m) => {
                if m.get("networks").is_some_and(|n| !n.is_null()) {
                    out.services_with_networks.push(name.clone());
                }
            }
            Value::Null => {}
            _ => {
                let offset = line_offset(text, |l| l.trim_start().starts_with(&format!("{name}:")))
                    .unwrap_or(0);
                return Err(Box::new(
                    Diagnostic::new(format!("service `{name}` must be a mapping"), at(offset))
                        .label("not a mapping"),
                ));
            }
        }
        out.services.push(name);
    }
    Ok(out)
}

fn keys(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Mapping(m)) => m.keys().map(scalar).collect(),
        _ => Vec::new(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// serde_yaml appends " at line L column C"; berth shows the place itself.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn line_offset(text: &str, pred: impl Fn(&str) -> bool) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if pred(line) {
            return Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    None
}

/// serde_yaml's merge errors carry no position: find the `<<: *anchor` whose
/// anchor is not a mapping, and explain.
fn merge_error(path: &str, text: &str, msg: &str) -> Diagnostic {
    let loc = |span: std::ops::Range<usize>| Location {
        file: path.to_string(),
        span,
    };
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(pos) = line.find("<<:") {
            let rest = line[pos + 3..].trim();
            if let Some(anchor) = rest.strip_prefix('*') {
                let anchor = anchor.trim();
                if let Some((def_offset, kind)) = anchor_kind(text, anchor) {
                    if kind != "mapping" {
                        let start = offset + pos;
                        return Diagnostic::new(
                            format!("`<<: *{anchor}` merges a {kind} into a mapping; YAML merge keys take a mapping or a list of mappings"),
                            loc(start..start + 3 + 1 + rest.len()),
                        )
                        .label(format!("*{anchor} is a {kind}"))
                        .related(loc(def_offset..def_offset + anchor.len() + 1), format!("&{anchor} defined here as a {kind}"))
                        .help(format!(
                            "use the {kind} whole (e.g. `environment: *{anchor}`), or write &{anchor} as a mapping (`KEY: value`)"
                        ));
                    }
                }
            }
        }
        offset += line.len();
    }
    Diagnostic::new(
        format!("invalid merge key in compose file: {msg}"),
        loc(0..1),
    )
    .label("here")
}

/// Where `&anchor` is defined and what follows it: a sequence, mapping or scalar.
fn anchor_kind(text: &str, anchor: &str) -> Option<(usize, &'static str)> {
    let needle = format!("&{anchor}");
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n');
    while let Some(line) = lines.next() {
        if let Some(pos) = line.find(&needle) {
            let after = line[pos + needle.len()..].trim();
            let after = after.split(" #").next().unwrap_or("").trim();
            let kind = if after.starts_with('[') {
                "list"
            } else if after.starts_with('{') {
                "mapping"
            } else if !after.is_empty() {
                "scalar"
            } else {
                // The value is on the next non-empty line.
                let next = lines
                    .by_ref()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))?;
                if next.starts_with("- ") || next == "-" {
                    "list"
                } else {
                    "mapping"
                }
            };
            return Some((offset + pos, kind));
        }
        offset += line.len();
    }
    None
}

/// Why a compose file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not there: where it was looked for (`resolved`), against what
    /// (`base`), the first directory of the path that does not exist, and
    /// the closest file that does.
    Missing {
        resolved: String,
        base: String,
        missing_dir: Option<String>,
        near: Option<String>,
    },
    /// Any other reason (not UTF-8, a symlink out of the repository, …).
    Other(String),
}

/// Reads and checks each compose file the config names, in the same pass
/// as the config: every file that is missing, unreadable or invalid is an
/// error added to `into` (with the file's text, so the error quotes it);
/// files that define networks give warnings.
pub fn check(
    files: &[StackFile],
    read: &dyn Fn(&FileRef) -> Result<String, Unreadable>,
    into: &mut Diagnostics,
) -> Vec<DefinesNetworks> {
    let mut warnings = Vec::new();
    for StackFile {
        stack,
        file,
        attachments,
    } in files
    {
        let text = match read(file) {
            Ok(t) => t,
            Err(why) => {
                into.errors.push(unreadable(file, why));
                continue;
            }
        };
        into.sources.insert(&file.path, &text);
        match parse(&file.path, &text) {
            Ok(compose) => {
                for (service, at) in attachments {
                    if !compose.services.contains(service) {
                        into.errors
                            .push(unknown_service(service, &file.path, &compose, at));
                    }
                }
                if compose.defines_networks() {
                    warnings.push(defines_networks(stack, &file.path, &compose));
                }
            }
            Err(d) => into.errors.push(*d),
        }
    }
    warnings
}

/// `attachments` names a compose service the compose file lacks.
fn unknown_service(service: &str, path: &str, compose: &Compose, at: &Location) -> Diagnostic {
    Diagnostic::new(
        format!("`attachments` names `{service}`, which is not a service of {path}"),
        at.clone(),
    )
    .label("no such compose service")
    .help(format!(
        "the compose file's services: {}",
        crate::config::list_some(&compose.services)
    ))
}

/// The error for a compose file that could not be read, at the
/// `compose_file` that names it.
fn unreadable(file: &FileRef, why: Unreadable) -> Diagnostic {
    let path = &file.path;
    match why {
        Unreadable::Missing {
            resolved,
            base,
            missing_dir,
            near,
        } => {
            let gone = missing_dir.map_or_else(String::new, |d| format!(" ({d}/ does not exist)"));
            let d = Diagnostic::new(
                format!("compose_file `{path}` does not exist"),
                file.at.clone(),
            )
            .label("no such file")
            .note(format!(
                "looked for {resolved}{gone}, resolved against {base}"
            ));
            match near {
                Some(near) => d.help(format!("did you mean `{near}`?")),
                None => d.help(
                    "compose_file is a path from the repository root: correct it, or add the file",
                ),
            }
        }
        Unreadable::Other(e) => Diagnostic::new(
            format!("cannot read compose_file `{path}`: {e}"),
            file.at.clone(),
        )
        .label("cannot read this file"),
    }
}

/// The warning for a stack whose compose file defines networks.
fn defines_networks(stack: &str, path: &str, compose: &Compose) -> DefinesNetworks {
    let mut parts = Vec::new();
    if !compose.top_level_networks.is_empty() {
        parts.push(format!(
            "top-level networks: {}",
            compose.top_level_networks.join(", ")
        ));
    }
    if !compose.services_with_networks.is_empty() {
        parts.push(format!(
            "networks in services: {}",
            compose.services_with_networks.join(", ")
        ));
    }
    DefinesNetworks {
        file: path.to_string(),
        message: format!(
            "service {stack}: {path} defines networks of its own ({}); Coolify warns this leads to gateway timeouts: manage networks through destinations instead",
            parts.join("; ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceMap;

    #[test]
    fn merge_keys_are_resolved() {
        let text = "x-env: &env\n  A: 1\nservices:\n  web:\n    environment:\n      <<: *env\n      B: 2\n";
        let c = parse("c.yaml", text).unwrap();
        assert_eq!(c.services, ["web"]);
        assert!(!c.defines_networks());
    }

    #[test]
    fn networks_top_level_and_per_service() {
        let c = parse("c.yaml", "services:\n  a:\n    image: x\n    networks: [n]\n  b:\n    image: y\nnetworks:\n  n: {}\n").unwrap();
        assert_eq!(c.top_level_networks, ["n"]);
        assert_eq!(c.services_with_networks, ["a"]);
    }

    #[test]
    fn merging_a_list_is_located_at_the_merge_key() {
        let text = "x-env: &env\n  - A=1\nservices:\n  web:\n    environment:\n      <<: *env\n";
        let d = parse("c.yaml", text).unwrap_err();
        let mut map = SourceMap::default();
        map.insert("c.yaml", text);
        assert_eq!(d.position(&map), "c.yaml:6:7");
        assert!(
            d.message.contains("merges a list into a mapping"),
            "{}",
            d.message
        );
    }

    #[test]
    fn yaml_syntax_errors_are_located() {
        let text = "services:\n  web:\n    image: [x\n";
        let d = parse("c.yaml", text).unwrap_err();
        let mut map = SourceMap::default();
        map.insert("c.yaml", text);
        assert!(
            d.position(&map).starts_with("c.yaml:"),
            "{}",
            d.position(&map)
        );
        assert!(d.message.starts_with("invalid YAML"), "{}", d.message);
    }
}

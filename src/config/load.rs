//! TOML text → raw entities with the span of every key, collecting every
//! syntax, unknown-key and type error of every file instead of stopping at the first.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::raw::{self, RawAlert, RawDestination, RawResource, RawServer, RawService, RawSettings};
use crate::diag::{Diagnostic, Location};

/// One config file: its path as shown to the user, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// A raw table with where it was written.
#[derive(Debug)]
pub struct Entry<T> {
    pub raw: T,
    /// The table as a whole (its header for `[[kind]]`).
    pub at: Location,
    /// Each key's value, by key.
    pub fields: BTreeMap<String, Location>,
}

impl<T> Entry<T> {
    /// Where `key` was written, else the table itself (for defaults).
    pub fn loc(&self, key: &str) -> Location {
        self.fields
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.at.clone())
    }
}

/// Every raw table of every file, in file order.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub settings: Vec<Entry<RawSettings>>,
    pub servers: Vec<Entry<RawServer>>,
    pub destinations: Vec<Entry<RawDestination>>,
    pub applications: Vec<Entry<RawResource>>,
    pub databases: Vec<Entry<RawResource>>,
    /// `[[service]]` tables: compose stacks.
    pub stacks: Vec<Entry<RawService>>,
    /// `[[alert]]` tables: where `watch` notifies.
    pub alerts: Vec<Entry<RawAlert>>,
}

/// The top-level tables of a config file, in the order berth lists them.
pub const TOP_LEVEL: [&str; 7] = [
    "settings",
    "server",
    "destination",
    "application",
    "database",
    "service",
    "alert",
];

/// Parses one file into `into`, pushing every problem found onto `errors`.
pub fn parse_file(file: &SourceFile, into: &mut RawConfig, errors: &mut Vec<Diagnostic>) {
    let at = |span: std::ops::Range<usize>| Location {
        file: file.path.clone(),
        span,
    };
    let (doc, syntax) = DeTable::parse_recoverable(&file.text);
    if !syntax.is_empty() {
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            errors.push(
                Diagnostic::new(
                    format!("invalid TOML: {}", first_line(e.message())),
                    at(span),
                )
                .label("here"),
            );
        }
        // A broken file yields misleading follow-up errors: report the syntax only.
        return;
    }
    for (key, value) in doc.into_inner() {
        let name = key.get_ref().as_ref();
        let key_at = at(key.span());
        match name {
            "settings" => {
                if let Some(e) = table::<RawSettings>(
                    file,
                    "settings",
                    value,
                    &raw::keys_of::<RawSettings>(),
                    errors,
                ) {
                    into.settings.push(e);
                }
            }
            "server" => into.servers.extend(tables(file, name, value, errors)),
            "destination" => into.destinations.extend(tables(file, name, value, errors)),
            "application" => into.applications.extend(tables(file, name, value, errors)),
            "database" => into.databases.extend(tables(file, name, value, errors)),
            "service" => into.stacks.extend(tables(file, name, value, errors)),
            "alert" => into.alerts.extend(tables(file, name, value, errors)),
            other => errors.push(unknown_key(other, "the top level", &TOP_LEVEL, key_at)),
        }
    }
}

/// `[[kind]]`: an array of tables.
fn tables<T: DeserializeOwned + JsonSchema>(
    file: &SourceFile,
    kind: &str,
    value: Spanned<DeValue<'_>>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Entry<T>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => {
            // Once per kind, not per table: the schema behind the list
            // costs more to make than the table does to read.
            let allowed = raw::keys_of::<T>();
            items
                .into_iter()
                .filter_map(|item| table(file, kind, item, &allowed, errors))
                .collect()
        }
        DeValue::Table(_) => {
            errors.push(
                Diagnostic::new(
                    format!("`{kind}` must be an array of tables"),
                    Location {
                        file: file.path.clone(),
                        span,
                    },
                )
                .label("a single table")
                .help(format!(
                    "write `[[{kind}]]` (double brackets): a config may declare any number of them"
                )),
            );
            Vec::new()
        }
        other => {
            errors.push(
                Diagnostic::new(
                    format!(
                        "`{kind}` must be an array of tables, found {}",
                        type_name(&other)
                    ),
                    Location {
                        file: file.path.clone(),
                        span,
                    },
                )
                .label("expected [[tables]]")
                .help(format!("declare each one under a `[[{kind}]]` header")),
            );
            Vec::new()
        }
    }
}

/// One table: unknown keys are reported (and dropped so the rest still gets
/// type-checked), then the table is deserialized into `T`.
fn table<T: DeserializeOwned + JsonSchema>(
    file: &SourceFile,
    kind: &str,
    value: Spanned<DeValue<'_>>,
    allowed: &[String],
    errors: &mut Vec<Diagnostic>,
) -> Option<Entry<T>> {
    let span = value.span();
    let at = |span: std::ops::Range<usize>| Location {
        file: file.path.clone(),
        span,
    };
    let DeValue::Table(tbl) = value.into_inner() else {
        errors.push(
            Diagnostic::new(format!("`{kind}` must be a table"), at(span)).label("not a table"),
        );
        return None;
    };
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    let mut fields = BTreeMap::new();
    let mut unknown = Vec::new();
    for (k, v) in tbl.iter() {
        let name = k.get_ref().as_ref();
        if allowed.contains(&name) {
            fields.insert(name.to_string(), at(v.span()));
        } else if kind == "alert" && name == "url" {
            errors.push(
                Diagnostic::new("an alert's URL is never written in the config", at(k.span()))
                    .label("a URL in the repository")
                    .help("a receiver's URL is a secret (Slack's and ntfy's carry the token): put it in an environment variable and write `url_env = \"BERTH_ALERT_URL\"`, or in a file and write `url_file = \"/etc/berth/alert-url\"`"),
            );
            unknown.push(name.to_string());
        } else {
            errors.push(unknown_key(
                name,
                &format!("[[{kind}]]"),
                &allowed,
                at(k.span()),
            ));
            unknown.push(name.to_string());
        }
    }
    let tbl: DeTable<'_> = tbl
        .into_iter()
        .filter(|(k, _)| !unknown.iter().any(|u| u.as_str() == k.get_ref().as_ref()))
        .collect();
    let whole = Spanned::new(span.clone(), DeValue::Table(tbl));
    match T::deserialize(ValueDeserializer::from(whole)) {
        Ok(raw) => Some(Entry {
            raw,
            at: at(span),
            fields,
        }),
        Err(e) => {
            errors.push(type_error(kind, &e, at(e.span().unwrap_or(span))));
            None
        }
    }
}

fn type_error(kind: &str, e: &toml::de::Error, at: Location) -> Diagnostic {
    let msg = first_line(e.message());
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return Diagnostic::new(
            format!("[[{kind}]] is missing the required key `{field}`"),
            at,
        )
        .label(format!("this {kind} has no `{field}`"))
        .help(format!("add `{field} = ...` to this table"));
    }
    Diagnostic::new(format!("wrong type in [[{kind}]]: {msg}"), at).label("wrong type")
}

fn unknown_key(key: &str, place: &str, allowed: &[&str], at: Location) -> Diagnostic {
    let d = Diagnostic::new(format!("unknown key `{key}` in {place}"), at).label("unknown key");
    match did_you_mean(key, allowed) {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None => d.help(format!("allowed keys: {}", allowed.join(", "))),
    }
}

/// The allowed word closest to `word`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::jaro_winkler(word, a), *a))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, a)| a)
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn first_line(msg: &str) -> String {
    msg.lines().next().unwrap_or(msg).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let allowed = ["name", "server", "network", "subnet"];
        assert_eq!(did_you_mean("netwrok", &allowed), Some("network"));
        assert_eq!(did_you_mean("servr", &allowed), Some("server"));
        assert_eq!(did_you_mean("zzz", &allowed), None);
    }
}

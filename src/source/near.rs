//! A file the config names that is not there: the closest one that is, by
//! walking the path from the repository root and, at the first component
//! that does not exist, taking the closest name in that directory (compose's
//! own file names count as close to each other). Works on any listing, so
//! the work tree and a git tree give the same suggestion.

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub dir: bool,
}

/// Lists a directory (its components from the root; empty for the root);
/// `None` when it is not a directory.
pub type List<'a> = &'a dyn Fn(&[String]) -> Option<Vec<Entry>>;

/// The names `docker compose` looks for, in its order of preference.
const COMPOSE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The components of a repository-relative path, `.` and `..` resolved
/// (the path was checked not to climb out).
pub fn components(path: &std::path::Path) -> Vec<String> {
    use std::path::Component;
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// The first directory on the way to `wanted` that does not exist.
pub fn missing_dir(wanted: &[String], list: List<'_>) -> Option<Vec<String>> {
    let (_, dirs) = wanted.split_last()?;
    (1..=dirs.len())
        .map(|n| &dirs[..n])
        .find(|d| list(d).is_none())
        .map(<[String]>::to_vec)
}

/// The existing file closest to `wanted`: the same path under the
/// directory of the config file that names it (`config_dir`), else the
/// path with each missing component replaced by its closest sibling; for a
/// path that names a directory, the compose file in it.
pub fn closest(wanted: &[String], config_dir: &[String], list: List<'_>) -> Option<Vec<String>> {
    if !config_dir.is_empty() {
        let under: Vec<String> = config_dir.iter().chain(wanted).cloned().collect();
        if is_file(&under, list) {
            return Some(under);
        }
    }
    let mut at: Vec<String> = Vec::new();
    for (i, want) in wanted.iter().enumerate() {
        let last = i + 1 == wanted.len();
        let entries = list(&at)?;
        let pick = match entries.iter().find(|e| &e.name == want) {
            Some(e) if e.dir && last => {
                at.push(e.name.clone());
                return compose_file_in(at, list);
            }
            Some(e) if e.dir != last => e.name.clone(),
            _ => closest_name(want, &entries, last)?,
        };
        at.push(pick);
    }
    (at != wanted).then_some(at)
}

fn is_file(path: &[String], list: List<'_>) -> bool {
    let Some((name, dir)) = path.split_last() else {
        return false;
    };
    list(dir).is_some_and(|entries| entries.iter().any(|e| &e.name == name && !e.dir))
}

/// The compose file `docker compose` would pick in directory `dir`.
fn compose_file_in(mut dir: Vec<String>, list: List<'_>) -> Option<Vec<String>> {
    let entries = list(&dir)?;
    let name = COMPOSE_NAMES
        .iter()
        .find(|n| entries.iter().any(|e| e.name == **n && !e.dir))?;
    dir.push(name.to_string());
    Some(dir)
}

/// The entry (a file when `file`, else a directory) closest to `want`:
/// another of compose's names for a compose file, else the most similar
/// name when it is close enough to be a typo.
fn closest_name(want: &str, entries: &[Entry], file: bool) -> Option<String> {
    let candidates: Vec<&str> = entries
        .iter()
        .filter(|e| e.dir != file)
        .map(|e| e.name.as_str())
        .collect();
    if file && COMPOSE_NAMES.contains(&want) {
        if let Some(other) = COMPOSE_NAMES.iter().find(|n| candidates.contains(n)) {
            return Some(other.to_string());
        }
    }
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(want, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A listing over a set of file paths.
    fn tree(files: &[&str]) -> impl Fn(&[String]) -> Option<Vec<Entry>> {
        let files: Vec<Vec<String>> = files
            .iter()
            .map(|f| f.split('/').map(String::from).collect())
            .collect();
        move |dir: &[String]| {
            let mut entries = BTreeMap::new();
            for f in &files {
                if f.len() > dir.len() && f[..dir.len()] == *dir {
                    entries.insert(f[dir.len()].clone(), f.len() > dir.len() + 1);
                }
            }
            (dir.is_empty() || !entries.is_empty()).then(|| {
                entries
                    .into_iter()
                    .map(|(name, dir)| Entry { name, dir })
                    .collect()
            })
        }
    }

    fn near(wanted: &str, config_dir: &str, files: &[&str]) -> Option<String> {
        let list = tree(files);
        let split = |p: &str| components(std::path::Path::new(p));
        closest(&split(wanted), &split(config_dir), &list).map(|p| p.join("/"))
    }

    #[test]
    fn compose_names_are_close_to_each_other() {
        let files = ["stacks/mon/docker-compose.yml", "stacks/mon/.env"];
        assert_eq!(
            near("stacks/mon/compose.yaml", "", &files).as_deref(),
            Some("stacks/mon/docker-compose.yml")
        );
        let files = ["stacks/mon/compose.yaml"];
        assert_eq!(
            near("stacks/mon/compose.yml", "", &files).as_deref(),
            Some("stacks/mon/compose.yaml")
        );
    }

    #[test]
    fn a_typo_in_a_directory_or_a_file_name_is_corrected() {
        let files = ["stacks/monitoring/grafana.yaml", "stacks/web/compose.yaml"];
        assert_eq!(
            near("stacks/monitorng/grafana.yml", "", &files).as_deref(),
            Some("stacks/monitoring/grafana.yaml")
        );
        assert_eq!(near("stacks/zzz/qqq.yaml", "", &files), None);
        assert_eq!(near("elsewhere/compose.yaml", "", &files), None);
    }

    #[test]
    fn a_path_from_the_config_directory_and_a_directory_are_resolved() {
        let files = ["infra/berth.toml", "infra/compose.yaml"];
        assert_eq!(
            near("compose.yaml", "infra", &files).as_deref(),
            Some("infra/compose.yaml")
        );
        let files = ["stacks/mon/compose.yml"];
        assert_eq!(
            near("stacks/mon", "", &files).as_deref(),
            Some("stacks/mon/compose.yml")
        );
    }

    #[test]
    fn the_first_missing_directory_is_named() {
        let list = tree(&["stacks/web/compose.yaml"]);
        let split = |p: &str| components(std::path::Path::new(p));
        assert_eq!(
            missing_dir(&split("stacks/mon/a/compose.yaml"), &list),
            Some(split("stacks/mon"))
        );
        assert_eq!(missing_dir(&split("stacks/web/x.yaml"), &list), None);
        assert_eq!(
            components(std::path::Path::new("a/./b/../c.yaml")),
            ["a", "c.yaml"]
        );
    }
}

//! Compose parsing on real-world files: the project's fixtures always, and
//! the 368 Coolify service templates in `../shared/corpus` when present.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use berthing::compose::parse;
use berthing::diag::SourceMap;

/// Ok(defines networks), or Err((position, message)).
type Outcome = Result<bool, (String, String)>;

/// Each compose file of `dir` by name, with its outcome.
fn check_dir(dir: &Path) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let result = parse(&name, &text)
            .map(|c| c.defines_networks())
            .map_err(|d| {
                let mut map = SourceMap::default();
                map.insert(&name, &text);
                // The rendering must quote the offending line: a user sees where.
                let rendered = d.render(&map, false);
                assert!(rendered.contains(&d.position(&map)), "{rendered}");
                (d.position(&map), d.message.clone())
            });
        out.push((name, result));
    }
    out
}

fn names(results: &[(String, Outcome)], pick: impl Fn(&Outcome) -> bool) -> BTreeSet<&str> {
    results
        .iter()
        .filter(|(_, r)| pick(r))
        .map(|(n, _)| n.as_str())
        .collect()
}

#[test]
fn fixtures_parse_or_fail_where_yaml_forbids_them() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose");
    let results = check_dir(&dir);
    assert_eq!(results.len(), 5);
    assert_eq!(
        names(&results, |r| matches!(r, Ok(true))),
        BTreeSet::from(["soju.yaml"])
    );
    assert_eq!(
        names(&results, |r| matches!(r, Ok(false))),
        BTreeSet::from(["chibisafe.yaml", "opnform.yaml"])
    );
    let errors: Vec<(&str, &(String, String))> = results
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| (n.as_str(), e)))
        .collect();
    assert_eq!(errors.len(), 2);
    // langfuse.yaml line 73: `<<: *app-env`, where &app-env (line 9) is a list.
    let (_, (pos, msg)) = errors.iter().find(|(n, _)| *n == "langfuse.yaml").unwrap();
    assert_eq!(pos, "langfuse.yaml:73:7");
    assert_eq!(
        msg,
        "`<<: *app-env` merges a list into a mapping; YAML merge keys take a mapping or a list of mappings"
    );
    let (_, (pos, msg)) = errors
        .iter()
        .find(|(n, _)| *n == "gramps-web.yaml")
        .unwrap();
    assert_eq!(pos, "gramps-web.yaml:45:7");
    assert!(msg.contains("`<<: *volumes` merges a list"), "{msg}");
}

#[test]
fn every_coolify_template_parses_or_gets_a_located_error() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/coolify-compose");
    if !corpus.is_dir() {
        eprintln!("skipped: {} is not here", corpus.display());
        return;
    }
    let results = check_dir(&corpus);
    assert_eq!(results.len(), 368);
    let failed = names(&results, Result::is_err);
    assert_eq!(
        failed,
        BTreeSet::from(["gramps-web.yaml", "langfuse.yaml"]),
        "{results:#?}"
    );
    for (name, r) in &results {
        if let Err((pos, msg)) = r {
            assert!(
                pos.starts_with(&format!("{name}:")) && !pos.ends_with(":1:1"),
                "{name}: {pos} {msg}"
            );
        }
    }
    // 3 files with top-level networks, 4 with service-level ones (3 overlap).
    let with_networks = names(&results, |r| matches!(r, Ok(true)));
    assert_eq!(
        with_networks,
        BTreeSet::from(["appwrite.yaml", "dify.yaml", "jitsi.yaml", "soju.yaml"])
    );
}

//! The checked-in JSON schemas must match the Rust types they are generated
//! from. Regenerate with `BERTH_UPDATE_SCHEMAS=1 cargo test --test it schemas`.

use std::path::Path;

fn check(path: &str, schema: serde_json::Value) {
    let want = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("BERTH_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&file, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        have == want,
        "{path} is stale: regenerate it with `BERTH_UPDATE_SCHEMAS=1 cargo test --test it schemas` and commit it"
    );
}

#[test]
fn config_schema_is_current() {
    check("schemas/berth.schema.json", berthing::config::schema());
}

#[test]
fn plan_schema_is_current() {
    check("schemas/plan.schema.json", berthing::plan::schema());
}

#[test]
fn status_schema_is_current() {
    check("schemas/status.schema.json", berthing::status::schema());
}

#[test]
fn alert_schema_is_current() {
    check("schemas/alert.schema.json", berthing::alert::schema());
}

#[test]
fn example_configs_declare_their_schema_and_validate() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for dir in std::fs::read_dir(&examples).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        // CI examples (workflows, scripts) hold no config.
        let Ok(loaded) = berthing::source::worktree(&dir) else {
            continue;
        };
        for f in &loaded.files {
            assert!(
                f.text.starts_with("#:schema "),
                "{} must start with a #:schema line",
                f.path
            );
            seen += 1;
        }
        if let Err(d) = berthing::config::load(&loaded.files) {
            panic!("{}", d.render(false));
        }
    }
    assert!(seen > 0, "no example configs found");
}

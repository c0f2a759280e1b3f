//! Saved plans (`apply PLANFILE`): bytes → the saved-plan reader
//! ([`crate::ops::parse_saved_plan`]) → what apply does with one it
//! accepts: the source it names, the source and owner checks, the
//! comparison with the plan made now (with the fingerprints' story of what
//! changed), and every view of it.

use std::path::PathBuf;

use crate::ops::{self, SourceSpec};
use crate::plan::Plan;

pub fn saved_plan(data: &[u8]) {
    let saved = match ops::parse_saved_plan("plan.json", data) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.to_string().contains("plan.json"), "{e}");
            assert!(e.hint().is_some(), "{e}");
            return;
        }
    };
    let spec = SourceSpec {
        dir: PathBuf::from("."),
        repo: None,
        rev: None,
    };
    let _ = ops::saved::source_of(&spec, &saved);
    let config = super::scenario();
    let loaded = ops::Loaded {
        config: config.clone(),
        source: Default::default(),
        warnings: Vec::new(),
        files: super::scenario_files(),
        compose: Default::default(),
    };
    let _ = ops::saved::check_source(&saved, &loaded);
    for subnet_matches in [false, true] {
        let live = super::live(subnet_matches);
        let choices = saved.options.unwrap_or_default();
        let now = crate::plan::plan(config, &live, choices);
        let _ = ops::saved::check_same(config, &saved, &now, &live);
    }
    super::render(&saved);
}

/// Saved plans as `plan --out` writes them, of the scenario in each mode.
pub fn saved_plan_seeds() -> Vec<Vec<u8>> {
    let config = super::scenario();
    let mut out = Vec::new();
    for subnet_matches in [false, true] {
        let live = super::live(subnet_matches);
        for mode in crate::plan::Options::ALL {
            let mut plan: Plan = crate::plan::plan(config, &live, mode);
            out.push(ops::saved::to_text(&mut plan, config, &live, mode).into_bytes());
        }
    }
    out
}

//! The integration tests, one test binary (`cargo test --test it`): one
//! link of the berth library and its dependencies instead of one per file.
//! Each module is a former `tests/<name>.rs`; [`common`] is their harness.

mod common;

mod alerts;
mod architecture;
mod assignments;
mod attachments;
mod clones;
mod compose_files;
mod config_errors;
mod destinations;
mod docs;
mod faults;
mod fuzz;
mod git;
mod golden;
mod groups;
mod harness;
mod hostile;
mod import;
mod live_page;
mod locks;
mod network_props;
mod not_found;
mod output;
mod packaging;
mod partial;
mod planner_model;
mod round_trip;
mod schemas;
mod scoped;
mod shared;
mod ssh;
mod ssh_persist;
mod status;
mod swarm;
mod takeover;
mod target;
mod validate;
mod watch;
mod watch_faults;

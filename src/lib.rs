//! berth: keeps Docker hosts in the shape a git repository describes.
//!
//! Data flows one way: [`source`] → [`config`] → [`live`] → [`plan`] →
//! [`render`] / [`execute`], with [`ops`] orchestrating and [`cli`] only
//! parsing and printing. The planner is pure; Docker is reached only through
//! [`docker`]; a run's connections and locks belong to a [`session`].
//! ARCHITECTURE.md has the map.

pub mod alert;
pub mod cli;
pub mod compose;
pub mod config;
pub mod diag;
pub mod docker;
pub mod execute;
pub mod fault;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod import;
pub mod live;
pub mod ops;
pub mod plan;
pub mod render;
pub mod session;
pub mod source;
pub mod ssh;
pub mod status;

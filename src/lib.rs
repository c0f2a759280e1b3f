//! berth: keeps Docker hosts in the shape a git repository describes.
//!
//! Data flows one way: [`source`] → [`config`] → [`live`] → [`plan`] →
//! [`render`] / [`apply`]. The planner is pure; Docker is reached only
//! through [`docker`].

pub mod apply;
pub mod cli;
pub mod compose;
pub mod config;
pub mod diag;
pub mod diff;
pub mod docker;
pub mod import;
pub mod live;
pub mod lock;
pub mod plan;
pub mod refresh;
pub mod render;
pub mod source;
pub mod ssh;

//! Raw entities → the checked `Config`: names, references, Docker's rules for
//! network names, subnets and addresses. Every problem is collected. One
//! file per table (`settings`, `server`, `destination` with its `ipam`,
//! `resource`, `stack`), and `refs` for names and references across tables.

mod alert;
mod destination;
mod endpoint;
mod ipam;
mod refs;
mod resource;
mod server;
mod settings;
mod stack;

use super::load::RawConfig;
use super::model::{Config, Destination, StackFile};
use crate::diag::Diagnostic;

pub use destination::{list_some, valid_docker_name};
pub use stack::repo_relative;

use refs::{clone_over_set, clone_ref, dangling, destination_ref, names};

/// The valid part of the config; every problem found goes to `errors`.
pub fn validate(raw: RawConfig, errors: &mut Vec<Diagnostic>) -> Config {
    let owner = settings::settings(&raw, errors);
    let strict = raw.settings.first().and_then(|s| s.raw.strict) == Some(true);
    refs::unique_names(&raw, errors);
    let servers = raw
        .servers
        .iter()
        .filter_map(|e| server::server(e, errors))
        .collect();
    let destinations: Vec<Destination> = raw
        .destinations
        .iter()
        .flat_map(|e| destination::destination(e, &raw, errors))
        .collect();
    destination::same_network_twice(&raw.destinations, &destinations, errors);
    destination::overlapping_subnets(&raw.destinations, &destinations, errors);
    destination::config_from_refs(&raw.destinations, &destinations, errors);
    let resources = resource::resources(&raw, errors);
    endpoint::check_addresses(&raw, &destinations, errors);
    let stacks = raw
        .stacks
        .iter()
        .filter_map(|e| stack::stack(e, &raw, errors))
        .collect();
    refs::clone_loops(&raw, errors);
    let alerts = raw
        .alerts
        .iter()
        .filter_map(|e| alert::alert(e, errors))
        .collect();
    Config {
        owner,
        partial: settings::partial(&raw),
        strict,
        ssh_persist: settings::ssh_persist(&raw, errors),
        servers,
        destinations,
        resources,
        stacks,
        alerts,
        by_server: Default::default(),
    }
}

/// Every compose file a `[[service]]` table names with a path inside the
/// repository, in file order: checked even when the table has other errors.
pub fn compose_files(raw: &RawConfig) -> Vec<StackFile> {
    raw.stacks
        .iter()
        .filter_map(|e| {
            let file = stack::compose_file(e)?;
            repo_relative(&file.path).ok()?;
            Some(StackFile {
                stack: e.raw.name.clone(),
                file,
                attachments: e
                    .raw
                    .attachments
                    .keys()
                    .map(|service| (service.clone(), e.loc("attachments")))
                    .collect(),
            })
        })
        .collect()
}

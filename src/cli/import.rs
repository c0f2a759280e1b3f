//! `berth import --server NAME`: print TOML for what runs on a server now.

use super::{Exit, ImportArgs, load_config, runtime};
use crate::docker::Client;

pub fn run(args: &ImportArgs) -> Exit {
    let loaded = match load_config(&args.source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = loaded.config;
    let server = match super::find_server(&config, &args.server) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = runtime();
    let spinner = super::spinner(false, format!("reading server {}", server.name));
    let result = rt.block_on(async {
        let client = Client::open(server).await?;
        let mut snapshot = client.snapshot(false).await?;
        let details = client
            .inspect_many(crate::import::inspections(&snapshot))
            .await?;
        snapshot.enrich(details);
        Ok::<_, crate::docker::DockerError>(snapshot)
    });
    spinner.finish_and_clear();
    match result {
        Ok(snapshot) => {
            print!("{}", crate::import::import(&config, server, &snapshot));
            Exit::Ok
        }
        Err(e) => super::server_failed(&server.name, &e),
    }
}

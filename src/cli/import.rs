//! `berth import --server NAME`: print TOML for what runs on a server now.

use super::{Exit, ImportArgs, error, load_config, runtime};
use crate::docker::Client;

pub fn run(args: &ImportArgs) -> Exit {
    let loaded = match load_config(&args.source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = loaded.config;
    let Some(server) = config.server(&args.server) else {
        let known: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
        error(
            format_args!("no server named `{}` in the config", args.server),
            Some(&format!("declared servers: {}", known.join(", "))),
        );
        return Exit::Error;
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
        Err(e) => {
            error(
                format_args!("server {}: {e}", server.name),
                e.hint().as_deref(),
            );
            Exit::Error
        }
    }
}

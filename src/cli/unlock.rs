//! `berth unlock --server NAME`: break a lock left by a berth that is gone.

use super::{Exit, UnlockArgs, load_config, runtime};
use crate::docker::Client;

pub fn run(args: &UnlockArgs) -> Exit {
    let loaded = match load_config(&args.source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let server = match super::find_server(&loaded.config, &args.server) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = runtime();
    let result = rt.block_on(async {
        let client = Client::open(server).await?;
        client.unlock(None).await
    });
    match result {
        Ok(Some(holder)) => {
            anstream::println!(
                "Released the lock of server {} held by {}.",
                server.name,
                crate::lock::describe(&holder)
            );
            Exit::Ok
        }
        Ok(None) => {
            anstream::println!("Server {} is not locked.", server.name);
            Exit::Ok
        }
        Err(e) => super::server_failed(&server.name, &e),
    }
}

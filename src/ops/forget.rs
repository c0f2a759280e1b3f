//! `forget`: stop managing networks berth created without removing them
//! (Terraform's `removed { destroy = false }`). A marker on the server
//! (`docker::forget`) records it; from then on every plan reads the
//! network as one berth did not create: never removed, never replaced,
//! adopted if a destination still names it.

use super::load::SourceSpec;
use super::unlock::find_server;
use super::{CancellationToken, Error, FleetOptions};

/// What became of one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgot {
    /// The marker (named) was written now.
    Now { marker: String },
    /// Forgotten already: the marker (named) is there.
    Already { marker: String },
    /// No network of that name.
    Missing,
    /// The network is not this owner's (its berth owner, if another's).
    NotOwned { owner: Option<String> },
    /// No image on the server to make the marker from.
    NoImage,
}

impl From<crate::docker::Forgot> for Forgot {
    fn from(f: crate::docker::Forgot) -> Self {
        use crate::docker::Forgot as D;
        match f {
            D::Now { marker, .. } => Forgot::Now { marker },
            D::Already { marker, .. } => Forgot::Already { marker },
            D::Missing => Forgot::Missing,
            D::NotOwned { owner } => Forgot::NotOwned { owner },
            D::NoImage => Forgot::NoImage,
        }
    }
}

/// Which networks to forget, on which server.
#[derive(Debug, Clone)]
pub struct ForgetRequest {
    pub source: SourceSpec,
    pub server: String,
    pub networks: Vec<String>,
    pub fleet: FleetOptions,
}

/// What became of each network, in the request's order.
#[derive(Debug)]
pub struct Forgotten {
    pub server: String,
    pub owner: String,
    pub networks: Vec<(String, Forgot)>,
}

pub async fn forget(req: &ForgetRequest, cancel: &CancellationToken) -> Result<Forgotten, Error> {
    let loaded = super::load(&req.source)?;
    let server = find_server(&loaded.config, &req.server)?;
    let owner = loaded.config.owner.clone();
    let work = async {
        let connection =
            crate::docker::connect(server, req.fleet.timeout, std::time::Duration::ZERO).await?;
        let mut out = Vec::new();
        for name in &req.networks {
            let forgot = connection.client.forget_network(name, &owner).await?;
            out.push((name.clone(), Forgot::from(forgot)));
        }
        Ok(out)
    };
    let networks = tokio::select! {
        r = work => r.map_err(|e| Error::server(&server.name, &e))?,
        _ = cancel.cancelled() => return Err(Error::Interrupted),
    };
    Ok(Forgotten {
        server: server.name.clone(),
        owner,
        networks,
    })
}

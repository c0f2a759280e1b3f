//! `status`: every destination across the servers, as it is now. Read-only:
//! no lock, the same list calls as a plan (whose changes count as drift),
//! and with `usage` two stats samples of every running attached container.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions, Progress};
use crate::session::Session;
use crate::status::{Filter, Report, Usage};

/// What to show, and how to read it.
#[derive(Debug, Clone)]
pub struct StatusRequest {
    pub source: SourceSpec,
    pub fleet: FleetOptions,
    /// `--server`/`--destination`: read and show only these.
    pub target: crate::plan::Target,
    /// Sample CPU and memory of every running attached container.
    pub usage: bool,
}

pub async fn status(
    req: &StatusRequest,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Report, Error> {
    let loaded = super::load(&req.source)?;
    let mut config = loaded.config;
    let mut filter = Filter::default();
    if let Some((selection, cut)) = super::targeted(&config, &req.target)? {
        filter.servers = Some(selection.servers);
        filter.destinations = selection.destinations;
        config = cut;
    }
    let mut session = Session::new(super::fleet_for(req.fleet, &config)?, cancel.clone());
    let live = session.read(&config, None, progress).await?;
    let plan = crate::plan::plan(&config, &live, Default::default());
    let mut report = crate::status::status(&config, &live, &plan, &filter, &BTreeMap::new());
    if req.usage {
        let started = Instant::now();
        let sampled = sample(&session, &report, cancel).await?;
        report = crate::status::status(&config, &live, &plan, &filter, &sampled);
        report.usage_ms = Some(started.elapsed().as_millis() as u64);
    }
    session.close().await;
    Ok(report)
}

/// CPU and memory of every running attached container, all at once.
async fn sample(
    session: &Session,
    report: &Report,
    cancel: &CancellationToken,
) -> Result<BTreeMap<(String, String), Usage>, Error> {
    let mut wanted: Vec<(String, String)> = report
        .destinations
        .iter()
        .flat_map(|d| {
            d.attached
                .iter()
                .filter(|a| a.state == "running")
                .map(|a| (d.server.clone(), a.container.clone()))
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    let samples = wanted.into_iter().filter_map(|(server, container)| {
        let client = session.client(&server)?.clone();
        Some(async move {
            let usage = client.usage(&container).await;
            ((server, container), usage)
        })
    });
    let work = stream::iter(samples)
        .buffer_unordered(64)
        .collect::<Vec<_>>();
    let results = tokio::select! {
        r = work => r,
        _ = cancel.cancelled() => return Err(Error::Interrupted),
    };
    Ok(results
        .into_iter()
        .filter_map(|(key, usage)| {
            let u = usage.ok()??;
            Some((
                key,
                Usage {
                    cpu_percent: u.cpu_percent,
                    memory_bytes: u.memory_bytes,
                },
            ))
        })
        .collect())
}

//! CPU and memory of running containers, as `docker stats` computes them:
//! CPU from two samples (a single `one-shot` sample has zeroed `precpu_stats`
//! on Engine 20.10), memory without the page cache.

use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

use super::{Client, DockerError};

/// CPU (percent of one CPU) and memory (bytes) of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

impl Client {
    /// One container's usage; the daemon takes two samples about a second
    /// apart before it answers. `None` when it is not running.
    pub async fn usage(&self, container: &str) -> Result<Option<Usage>, DockerError> {
        let opts = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(false)
            .build();
        let mut stream = self.docker.stats(container, Some(opts));
        let Some(stats) = stream.next().await else {
            return Ok(None);
        };
        let stats = stats.map_err(|e| self.fail(&format!("stats of {container}"), &e))?;
        let (Some(cpu), Some(pre)) = (stats.cpu_stats, stats.precpu_stats) else {
            return Ok(None);
        };
        let total = |c: &bollard::models::ContainerCpuStats| {
            c.cpu_usage
                .as_ref()
                .and_then(|u| u.total_usage)
                .unwrap_or(0)
        };
        let cpu_delta = total(&cpu).saturating_sub(total(&pre)) as f64;
        let system_delta = cpu
            .system_cpu_usage
            .unwrap_or(0)
            .saturating_sub(pre.system_cpu_usage.unwrap_or(0)) as f64;
        let cpus = cpu.online_cpus.map(f64::from).unwrap_or_else(|| {
            cpu.cpu_usage
                .as_ref()
                .and_then(|u| u.percpu_usage.as_ref())
                .map_or(1.0, |p| p.len().max(1) as f64)
        });
        let cpu_percent = if system_delta > 0.0 {
            cpu_delta / system_delta * cpus * 100.0
        } else {
            0.0
        };
        let memory_bytes = stats.memory_stats.map_or(0, |m| {
            let cache = m.stats.as_ref().and_then(|s| {
                s.get("total_inactive_file")
                    .or_else(|| s.get("inactive_file"))
                    .copied()
            });
            m.usage.unwrap_or(0).saturating_sub(cache.unwrap_or(0))
        });
        Ok(Some(Usage {
            cpu_percent,
            memory_bytes,
        }))
    }
}

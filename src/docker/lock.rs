//! The server lock's storage: a Docker volume named `berth-lock`. Creating a
//! volume that exists returns the existing one, labels included, so the
//! daemon itself decides who holds the lock, whatever machine each berth
//! runs on and however it reaches the daemon.

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptions;

use super::{Client, DockerError, absent};

pub const LOCK_VOLUME: &str = "berth-lock";

/// Who holds a lock, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// `user@host`
    pub holder: String,
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub since: u64,
    /// Unique per acquisition: only its holder releases it.
    pub token: String,
    /// The holder machine's kernel boot id (`/proc/sys/kernel/random/boot_id`):
    /// host names repeat across CI containers, boot ids do not.
    pub boot_id: String,
    /// The holder process's start time (clock ticks since boot): with the
    /// pid and the boot id, it tells a live holder from a reused pid.
    pub started: u64,
}

impl std::fmt::Display for LockHolder {
    /// `root@ci-7 (pid 4242) since 2026-11-27T06:14:03Z, 3m 12s ago`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let since = UNIX_EPOCH + Duration::from_secs(self.since);
        let age = SystemTime::now()
            .duration_since(since)
            .map(|d| Duration::from_secs(d.as_secs()))
            .unwrap_or_default();
        write!(
            f,
            "{} (pid {}) since {}, {} ago",
            self.holder,
            self.pid,
            humantime::format_rfc3339_seconds(since),
            humantime::format_duration(age)
        )
    }
}

impl LockHolder {
    fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            ("berth.lock.holder".to_string(), self.holder.clone()),
            ("berth.lock.pid".to_string(), self.pid.to_string()),
            ("berth.lock.since".to_string(), self.since.to_string()),
            ("berth.lock.token".to_string(), self.token.clone()),
            ("berth.lock.boot_id".to_string(), self.boot_id.clone()),
            ("berth.lock.started".to_string(), self.started.to_string()),
        ])
    }

    fn from_labels(labels: &HashMap<String, String>) -> LockHolder {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        LockHolder {
            holder: get("berth.lock.holder"),
            pid: get("berth.lock.pid").parse().unwrap_or(0),
            since: get("berth.lock.since").parse().unwrap_or(0),
            token: get("berth.lock.token"),
            boot_id: get("berth.lock.boot_id"),
            started: get("berth.lock.started").parse().unwrap_or(0),
        }
    }
}

impl Client {
    /// Takes the lock, or says who holds it.
    pub async fn try_lock(&self, me: &LockHolder) -> Result<Result<(), LockHolder>, DockerError> {
        let req = VolumeCreateRequest {
            name: Some(LOCK_VOLUME.to_string()),
            labels: Some(me.labels()),
            ..Default::default()
        };
        let volume = self
            .docker
            .create_volume(req)
            .await
            .map_err(|e| self.fail("take the berth lock", &e))?;
        let holder = LockHolder::from_labels(&volume.labels);
        Ok(if holder.token == me.token {
            Ok(())
        } else {
            Err(holder)
        })
    }

    /// Removes the lock: only when `token` holds it, or whoever holds it
    /// when `token` is None (`berth unlock`). Returns the holder removed,
    /// or `None` when there was no lock or another token holds it.
    pub async fn unlock(&self, token: Option<&str>) -> Result<Option<LockHolder>, DockerError> {
        let Some(volume) = absent(self.docker.inspect_volume(LOCK_VOLUME).await)
            .map_err(|e| self.fail("read the berth lock", &e))?
        else {
            return Ok(None);
        };
        let holder = LockHolder::from_labels(&volume.labels);
        if token.is_some_and(|t| t != holder.token) {
            return Ok(None);
        }
        self.docker
            .remove_volume(LOCK_VOLUME, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| self.fail("release the berth lock", &e))?;
        Ok(Some(holder))
    }
}

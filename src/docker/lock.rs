//! The server lock's storage: a Docker volume per owner,
//! `berth-lock-<owner>-<hash>` (see [`lock_volume`]). Creating a volume that
//! exists returns the existing one, labels included, so the daemon itself
//! decides who holds the lock, whatever machine each berth runs on and
//! however it reaches the daemon. Configs of different owners on one daemon
//! hold different volumes and never wait on each other. A berth from before
//! locks were per owner takes one volume, [`LEGACY_LOCK_VOLUME`], for every
//! owner: the session waits for it too (see `session`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::{Volume, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions};

use super::{Client, DockerError, absent};
use crate::live::Lock;

/// The one lock of berths from before locks were per owner: it locks the
/// server for every owner.
pub const LEGACY_LOCK_VOLUME: &str = "berth-lock";

/// The label that names the owner a lock volume locks the server for.
const OWNER_LABEL: &str = "berth.lock.owner";

/// How many characters of the owner a lock volume's name keeps.
const OWNER_PREFIX: usize = 24;

/// The lock volume of `owner`: `berth-lock-<owner>-<12 hex digits>`, the
/// owner cut to 24 characters, each character Docker does not allow in a
/// volume name (`[a-zA-Z0-9_.-]`) made `-`, and the first 6 bytes of the
/// owner's SHA-256, so owners that read the same once cut or cleaned get
/// different volumes. The owner itself is the volume's `berth.lock.owner`
/// label. Berths of one owner must agree on this name: never change it.
pub fn lock_volume(owner: &str) -> String {
    use sha2::{Digest, Sha256};
    let prefix: String = owner
        .chars()
        .take(OWNER_PREFIX)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let hash: String = Sha256::digest(owner.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{LEGACY_LOCK_VOLUME}-{prefix}-{hash}")
}

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
        let since = UNIX_EPOCH + Duration::from_secs(self.since);
        write!(
            f,
            "{} (pid {}) since {}, {} ago",
            self.holder,
            self.pid,
            humantime::format_rfc3339_seconds(since),
            humantime::format_duration(age(self.since))
        )
    }
}

/// How long ago `since` (seconds since the Unix epoch) was, in whole seconds.
fn age(since: u64) -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH + Duration::from_secs(since))
        .map(|d| Duration::from_secs(d.as_secs()))
        .unwrap_or_default()
}

impl LockHolder {
    fn labels(&self, owner: &str) -> HashMap<String, String> {
        HashMap::from([
            (OWNER_LABEL.to_string(), owner.to_string()),
            ("berth.lock.holder".to_string(), self.holder.clone()),
            ("berth.lock.pid".to_string(), self.pid.to_string()),
            ("berth.lock.since".to_string(), self.since.to_string()),
            ("berth.lock.token".to_string(), self.token.clone()),
            ("berth.lock.boot_id".to_string(), self.boot_id.clone()),
            ("berth.lock.started".to_string(), self.started.to_string()),
        ])
    }

    /// The holder a lock's labels record. Labels are anyone's to write:
    /// a `since` past what a time can show (year 10000) reads as 0, and
    /// control characters in the text are escaped before anyone prints it.
    fn from_labels(labels: &HashMap<String, String>) -> LockHolder {
        let get = |k: &str| {
            labels
                .get(k)
                .map(|v| crate::live::labels::printable(v))
                .unwrap_or_default()
        };
        LockHolder {
            holder: get("berth.lock.holder"),
            pid: get("berth.lock.pid").parse().unwrap_or(0),
            since: get("berth.lock.since")
                .parse()
                .ok()
                .filter(|s| *s < MAX_SINCE)
                .unwrap_or(0),
            token: get("berth.lock.token"),
            boot_id: get("berth.lock.boot_id"),
            started: get("berth.lock.started").parse().unwrap_or(0),
        }
    }
}

/// Seconds since the Unix epoch of 10000-01-01: the first time RFC 3339
/// (and so `humantime`) cannot write.
const MAX_SINCE: u64 = 253_402_300_800;

/// A volume as a held lock, if it is one: the legacy `berth-lock`, or a
/// `berth-lock-…` volume carrying berth's lock labels.
fn as_lock(volume: &Volume) -> Option<Lock> {
    let legacy = volume.name == LEGACY_LOCK_VOLUME;
    let ours = volume.name.starts_with(&format!("{LEGACY_LOCK_VOLUME}-"))
        && volume.labels.keys().any(|k| k.starts_with("berth.lock."));
    if !legacy && !ours {
        return None;
    }
    let holder = LockHolder::from_labels(&volume.labels);
    Some(Lock {
        volume: volume.name.clone(),
        owner: volume
            .labels
            .get(OWNER_LABEL)
            .filter(|_| !legacy)
            .map(|o| crate::live::labels::printable(o)),
        legacy,
        since: humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(holder.since))
            .to_string(),
        since_unix: holder.since,
        age_seconds: age(holder.since).as_secs(),
        holder: holder.holder,
        pid: holder.pid,
    })
}

impl Client {
    /// Takes the lock `volume` for `owner`, or says who holds it.
    pub async fn try_lock(
        &self,
        volume: &str,
        owner: &str,
        me: &LockHolder,
    ) -> Result<Result<(), LockHolder>, DockerError> {
        let req = VolumeCreateRequest {
            name: Some(volume.to_string()),
            labels: Some(me.labels(owner)),
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

    /// Who holds the lock `volume`, if anyone.
    pub async fn lock_holder(&self, volume: &str) -> Result<Option<LockHolder>, DockerError> {
        let found = absent(self.docker.inspect_volume(volume).await)
            .map_err(|e| self.fail("read the berth lock", &e))?;
        Ok(found.map(|v| LockHolder::from_labels(&v.labels)))
    }

    /// Removes the lock `volume`: only when `token` holds it, or whoever
    /// holds it when `token` is None (`berth unlock`). Returns the holder
    /// removed, or `None` when there was no lock or another token holds it.
    pub async fn unlock(
        &self,
        volume: &str,
        token: Option<&str>,
    ) -> Result<Option<LockHolder>, DockerError> {
        let Some(holder) = self.lock_holder(volume).await? else {
            return Ok(None);
        };
        if token.is_some_and(|t| t != holder.token) {
            return Ok(None);
        }
        self.docker
            .remove_volume(volume, None::<RemoveVolumeOptions>)
            .await
            .map_err(|e| self.fail("release the berth lock", &e))?;
        Ok(Some(holder))
    }

    /// Every lock held on this daemon, of any owner, legacy ones included,
    /// sorted by volume name: one volume list call.
    pub async fn locks(&self) -> Result<Vec<Lock>, DockerError> {
        // The daemon matches `name` as a pattern anywhere in the name:
        // `as_lock` keeps only the lock volumes themselves.
        let options = ListVolumesOptions {
            filters: Some(HashMap::from([(
                "name".to_string(),
                vec![LEGACY_LOCK_VOLUME.to_string()],
            )])),
        };
        let listed = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| self.fail("list the berth locks", &e))?;
        let mut locks: Vec<Lock> = listed
            .volumes
            .unwrap_or_default()
            .iter()
            .filter_map(as_lock)
            .collect();
        locks.sort_by(|a, b| a.volume.cmp(&b.volume));
        Ok(locks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_lock_label_is_shown_never_a_panic_nor_an_escape() {
        let labels = HashMap::from([
            (
                "berth.lock.holder".to_string(),
                "evil\u{1b}[2Jhost".to_string(),
            ),
            ("berth.lock.since".to_string(), u64::MAX.to_string()),
            ("berth.lock.pid".to_string(), "12".to_string()),
        ]);
        let holder = LockHolder::from_labels(&labels);
        assert_eq!(holder.since, 0);
        let shown = holder.to_string();
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(
            shown.starts_with("evil\\u{1b}[2Jhost (pid 12) since 1970-01-01T00:00:00Z"),
            "{shown}"
        );
        let year_10000 = HashMap::from([("berth.lock.since".to_string(), MAX_SINCE.to_string())]);
        assert_eq!(LockHolder::from_labels(&year_10000).since, 0);
        let last = HashMap::from([("berth.lock.since".to_string(), (MAX_SINCE - 1).to_string())]);
        assert!(
            LockHolder::from_labels(&last)
                .to_string()
                .contains("9999-12-31T23:59:59Z")
        );
    }

    /// Berths of one owner find each other only if every version derives
    /// the same name: these are pinned.
    #[test]
    fn lock_volume_names_are_stable_safe_and_distinct_per_owner() {
        assert_eq!(lock_volume("berth"), "berth-lock-berth-5c2f64c7f21e");
        assert_eq!(lock_volume("acme"), "berth-lock-acme-822b33ad87c1");
        let odd = [
            "team/a",
            "team:a",
            "é",
            "ü",
            "x".repeat(300).as_str(),
            &("x".repeat(300) + "y"),
            "a b",
            "-lead",
        ]
        .map(String::from);
        let names: Vec<String> = odd.iter().map(|o| lock_volume(o)).collect();
        for (owner, name) in odd.iter().zip(&names) {
            assert!(name.len() <= 11 + OWNER_PREFIX + 1 + 12, "{owner}: {name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')),
                "{owner}: {name} is no Docker volume name"
            );
            assert!(name.starts_with("berth-lock-"), "{name}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    #[test]
    fn only_lock_volumes_are_locks() {
        let volume = |name: &str, labels: &[(&str, &str)]| Volume {
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let held = [
            ("berth.lock.owner", "acme"),
            ("berth.lock.holder", "root@ci"),
            ("berth.lock.pid", "42"),
            ("berth.lock.since", "1700000000"),
        ];
        let lock = as_lock(&volume(&lock_volume("acme"), &held)).expect("a lock");
        assert_eq!(lock.owner.as_deref(), Some("acme"));
        assert!(!lock.legacy);
        assert_eq!((lock.holder.as_str(), lock.pid), ("root@ci", 42));
        assert_eq!(lock.since, "2023-11-14T22:13:20Z");
        assert!(lock.age_seconds > 0);

        let legacy = as_lock(&volume("berth-lock", &held[1..])).expect("a legacy lock");
        assert!(legacy.legacy);
        assert_eq!(legacy.owner, None);
        // Its labels lost (a crashed daemon): still a legacy lock.
        assert!(as_lock(&volume("berth-lock", &[])).is_some());

        assert!(as_lock(&volume("berth-lock-data", &[])).is_none());
        assert!(as_lock(&volume("my-berth-lock", &held)).is_none());
        assert!(as_lock(&volume("pgdata", &[])).is_none());
    }
}

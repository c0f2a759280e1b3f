//! One lock per server, taken by `apply` before it reads the server and
//! held until it is done: two berths never interleave changes on a daemon.
//! Every lock taken is registered so it is released on every exit path,
//! Ctrl-C included (`release_all`).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::docker::{Client, DockerError, LockHolder};

static HELD: Mutex<Vec<(Client, String)>> = Mutex::new(Vec::new());

/// This process, as a lock holder.
pub fn me() -> LockHolder {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    LockHolder {
        holder: format!("{user}@{host}"),
        pid: std::process::id(),
        since: now.as_secs(),
        token: format!("{}-{}-{}", host, std::process::id(), now.as_nanos()),
    }
}

/// Takes the lock of one server, waiting up to `timeout` for its holder.
pub async fn acquire(
    client: &Client,
    server: &str,
    me: &LockHolder,
    timeout: Duration,
) -> Result<(), DockerError> {
    let deadline = Instant::now() + timeout;
    loop {
        match client.try_lock(me).await? {
            Ok(()) => {
                HELD.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((client.clone(), me.token.clone()));
                return Ok(());
            }
            Err(holder) if Instant::now() >= deadline => {
                return Err(DockerError::Locked {
                    server: server.to_string(),
                    holder: describe(&holder),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Releases every lock this process holds.
pub async fn release_all() {
    let held: Vec<(Client, String)> =
        std::mem::take(&mut *HELD.lock().unwrap_or_else(|p| p.into_inner()));
    for (client, token) in held {
        let _ = client.unlock(Some(&token)).await;
    }
}

/// `root@ci-7 (pid 4242) since 2026-11-27 06:14:03 UTC, 3m12s ago`
pub fn describe(h: &LockHolder) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let age = now.saturating_sub(h.since);
    format!(
        "{} (pid {}) since {}, {} ago",
        h.holder,
        h.pid,
        utc(h.since),
        human(age)
    )
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` from Unix seconds (civil-from-days).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_795_760_043), "2026-11-27 06:14:03 UTC");
        assert_eq!(human(192), "3m12s");
    }
}

//! The server locks held across a fleet (`berth locks`), as plain data: per
//! server, each lock's owner, holder and age, or why the server could not
//! be read. `docker::lock` reads them; `render::locks` shows them.

use serde::Serialize;

/// `berth locks`: every server of the config, in the config's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Locks {
    /// Bumped when a field changes meaning or goes away.
    pub format_version: u32,
    /// The owner of the config that listed them (`[settings] owner`):
    /// `berth unlock` breaks this owner's lock.
    pub owner: String,
    pub servers: Vec<ServerLocks>,
}

/// One server's locks, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerLocks {
    pub server: String,
    /// Held locks, by volume name; empty when nothing is locked (or the
    /// server could not be read).
    pub locks: Vec<Lock>,
    /// Why the server could not be read; its locks are then unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A held lock: a `berth-lock-…` volume on the daemon (or a legacy
/// `berth-lock` of a berth from before locks were per owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// The volume that is the lock.
    pub volume: String,
    /// The owner it locks the server for; `None` for a legacy lock (it locks
    /// the server for every owner) or one whose labels were lost.
    pub owner: Option<String>,
    /// A legacy `berth-lock`, taken by a berth from before locks were per
    /// owner: newer berths of every owner wait for it.
    pub legacy: bool,
    /// `user@host` of the berth holding it; empty when its labels were lost.
    pub holder: String,
    /// The holder's process id (0 when unknown).
    pub pid: u32,
    /// When it was taken, RFC 3339 (`2026-12-06T19:50:00Z`).
    pub since: String,
    /// When it was taken, seconds since the Unix epoch (0 when unknown).
    pub since_unix: u64,
    /// How long it had been held when it was read, in seconds.
    pub age_seconds: u64,
}

//! A run's resources, owned by one value: the connection (and SSH tunnel)
//! of every server it reached and the server locks it holds. Dropping a
//! [`Session`] — a normal return, an error, a panic unwinding, a cancelled
//! run — releases every lock it took and closes every tunnel; nothing about
//! them lives in a static.
//!
//! Reading the fleet is two rounds, servers concurrently (at most
//! `parallelism` at once): the list calls of every server (each server's
//! lock first, when asked), then the few inspections the whole picture
//! calls for (aliases to compare, clone sources, what depends on a network
//! being removed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Server};
use crate::docker::{Client, Connection, DockerError, LEGACY_LOCK_VOLUME, LockHolder, lock_volume};
use crate::live::{LiveState, Lock, Snapshot};

/// Per-server progress, for spinners.
pub trait Progress: Sync {
    fn server_started(&self, server: &str, doing: &str);
    fn server_done(&self, server: &str, ok: bool);
}

/// No progress display.
pub struct Quiet;

impl Progress for Quiet {
    fn server_started(&self, _: &str, _: &str) {}
    fn server_done(&self, _: &str, _: bool) {}
}

/// How a run reaches the fleet: how many servers at once, how long a
/// Docker call and a swarm rollout may take (`--parallelism`, `--timeout`,
/// `--rollout-timeout`).
#[derive(Debug, Clone, Copy)]
pub struct FleetOptions {
    /// Servers read or changed at once (protects sshd's MaxStartups).
    pub parallelism: usize,
    /// How long one Docker API call may take.
    pub timeout: Duration,
    /// How long an apply waits for a swarm service's tasks to converge.
    pub rollout_timeout: Duration,
    /// How long an SSH connection stays once idle for the next run to
    /// reuse (`--ssh-persist`; zero: off, `--no-ssh-persist`). `None`: as
    /// the config says, which [`FleetOptions::for_config`] settles; a
    /// session given `None` keeps nothing.
    pub ssh_persist: Option<Duration>,
}

impl FleetOptions {
    /// One server, read (never changed through a rollout).
    pub fn one_server(timeout: Duration) -> FleetOptions {
        FleetOptions {
            parallelism: 1,
            timeout,
            rollout_timeout: timeout,
            ssh_persist: Some(Duration::ZERO),
        }
    }

    /// These options with `ssh_persist` settled: the flag's when given,
    /// else the config's `[settings] ssh_persist` (default 60 s).
    pub fn for_config(self, config: &Config) -> FleetOptions {
        FleetOptions {
            ssh_persist: Some(self.ssh_persist.unwrap_or(config.ssh_persist)),
            ..self
        }
    }
}

/// The lock tokens of this process's live sessions. A lock that names this
/// process (boot id, pid and start time) under a token not listed here was
/// left by one of its sessions that has ended without its release getting
/// through (a daemon that hung past `--timeout`, a cut connection): it is
/// broken like a dead process's. Tokens only: each lock belongs to its
/// session.
static LIVE_SESSIONS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Is `token` a live session's of this process?
fn session_lives(token: &str) -> bool {
    LIVE_SESSIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(token)
}

/// The run was cancelled (Ctrl-C, SIGTERM) before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Connections, tunnels and locks of one run.
pub struct Session {
    connections: BTreeMap<String, Connection>,
    /// Servers whose lock this session may hold, with the lock's volume:
    /// recorded before the lock is asked for, so a lock taken by a request
    /// whose answer never came is still released (release removes only a
    /// lock with our token).
    locks: Mutex<BTreeSet<(String, String)>>,
    holder: LockHolder,
    options: FleetOptions,
    cancel: CancellationToken,
    /// What the session did on its own that the user should hear of
    /// (a dead holder's lock broken).
    notes: Mutex<Vec<String>>,
    /// Servers read without their lock (a targeted clone's source).
    read_only: BTreeSet<String>,
}

impl Session {
    pub fn new(options: FleetOptions, cancel: CancellationToken) -> Session {
        let holder = holder();
        LIVE_SESSIONS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(holder.token.clone());
        Session {
            connections: BTreeMap::new(),
            locks: Mutex::new(BTreeSet::new()),
            holder,
            options,
            cancel,
            notes: Mutex::new(Vec::new()),
            read_only: BTreeSet::new(),
        }
    }

    /// Read these servers without taking their lock: the run only reads
    /// them (the source of a targeted clone), never changes them.
    pub fn set_read_only(&mut self, servers: BTreeSet<String>) {
        self.read_only = servers;
    }

    /// What the session did on its own since last asked, for the user.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn options(&self) -> FleetOptions {
        self.options
    }

    /// The token that cancels this run.
    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The client of a server this session reached.
    pub fn client(&self, server: &str) -> Option<&Client> {
        self.connections.get(server).map(|c| &c.client)
    }

    /// The client of `server`, connecting first when this session has not
    /// reached it yet.
    pub async fn reach(&mut self, server: &Server) -> Result<Client, DockerError> {
        if let Some((_, e)) = self.connect(std::slice::from_ref(server)).await.pop() {
            return Err(e);
        }
        self.client(&server.name)
            .cloned()
            .ok_or_else(|| DockerError::Api {
                what: format!("reach server {}", server.name),
                status: None,
                message: "not connected".to_string(),
            })
    }

    /// Reads every server of `config`: each server's networks and
    /// containers, then the inspections the plan needs. With `lock`, each
    /// server's lock is taken first (waiting up to that long for another
    /// holder). A server that fails is an `Err` in the live state; the
    /// others are read all the same.
    pub async fn read(
        &mut self,
        config: &Config,
        lock: Option<Duration>,
        progress: &dyn Progress,
    ) -> Result<LiveState, Interrupted> {
        let cancel = self.cancel.clone();
        tokio::select! {
            live = self.read_all(config, lock, progress) => Ok(live),
            _ = cancel.cancelled() => Err(Interrupted),
        }
    }

    async fn read_all(
        &mut self,
        config: &Config,
        lock: Option<Duration>,
        progress: &dyn Progress,
    ) -> LiveState {
        let parallelism = self.options.parallelism.max(1);
        let mut live = LiveState::default();
        for s in &config.servers {
            progress.server_started(&s.name, "reading");
        }
        for (name, e) in self.connect(&config.servers).await {
            progress.server_done(&name, false);
            live.servers.insert(name, Err(e.full()));
        }
        // Locks, then the list calls.
        let this = &*self;
        let reads = config
            .servers
            .iter()
            .filter(|s| this.connections.contains_key(&s.name))
            .map(|s| async move {
                let result = this.read_one(config, s, lock).await;
                progress.server_done(&s.name, result.is_ok());
                (s.name.clone(), result)
            });
        let results: Vec<_> = stream::iter(reads)
            .buffer_unordered(parallelism)
            .collect()
            .await;
        for (name, result) in results {
            live.servers.insert(name, result.map_err(|e| e.full()));
        }
        self.inspect(config, &mut live).await;
        live
    }

    /// The locks held on each of `servers`, every owner's (`berth locks`),
    /// servers concurrently (at most `parallelism` at once): one volume
    /// list call each. A server that cannot be reached or read is an `Err`
    /// saying why; the others are read all the same.
    pub async fn held_locks(
        &mut self,
        servers: &[Server],
        progress: &dyn Progress,
    ) -> Result<BTreeMap<String, Result<Vec<Lock>, String>>, Interrupted> {
        let cancel = self.cancel.clone();
        let work = async {
            let mut out = BTreeMap::new();
            for s in servers {
                progress.server_started(&s.name, "reading locks");
            }
            for (name, e) in self.connect(servers).await {
                progress.server_done(&name, false);
                out.insert(name, Err(e.full()));
            }
            let this = &*self;
            let reads = servers.iter().filter_map(|s| {
                let client = this.client(&s.name)?.clone();
                Some(async move {
                    let result = client.locks().await;
                    progress.server_done(&s.name, result.is_ok());
                    (s.name.clone(), result.map_err(|e| e.full()))
                })
            });
            let read: Vec<_> = stream::iter(reads)
                .buffer_unordered(this.options.parallelism.max(1))
                .collect()
                .await;
            out.extend(read);
            out
        };
        tokio::select! {
            locks = work => Ok(locks),
            _ = cancel.cancelled() => Err(Interrupted),
        }
    }

    /// Connects to the servers not reached yet; returns those that failed.
    async fn connect(&mut self, servers: &[Server]) -> Vec<(String, DockerError)> {
        let timeout = self.options.timeout;
        let ssh_persist = self.options.ssh_persist.unwrap_or_default();
        let opens = servers
            .iter()
            .filter(|s| !self.connections.contains_key(&s.name))
            .map(|s| async move {
                (
                    s.name.clone(),
                    crate::docker::connect(s, timeout, ssh_persist).await,
                )
            });
        let opened: Vec<_> = stream::iter(opens)
            .buffer_unordered(self.options.parallelism.max(1))
            .collect()
            .await;
        let mut failed = Vec::new();
        for (name, result) in opened {
            match result {
                Ok(connection) => {
                    self.connections.insert(name, connection);
                }
                Err(e) => failed.push((name, e)),
            }
        }
        failed
    }

    /// The inspections the whole picture calls for, merged into `live`.
    async fn inspect(&self, config: &Config, live: &mut LiveState) {
        let wanted: Vec<(String, Vec<String>)> = live
            .servers
            .iter()
            .filter(|(_, s)| s.is_ok())
            .map(|(name, _)| {
                let names = crate::plan::inspections(config, name, live);
                (name.clone(), names.into_iter().collect::<Vec<_>>())
            })
            .filter(|(_, names)| !names.is_empty())
            .collect();
        let inspections = wanted.into_iter().filter_map(|(name, names)| {
            let client = self.client(&name)?.clone();
            Some(async move { (name, client.inspect_many(names).await) })
        });
        let details: Vec<_> = stream::iter(inspections)
            .buffer_unordered(self.options.parallelism.max(1))
            .collect()
            .await;
        for (name, result) in details {
            match result {
                Ok(details) => {
                    if let Some(Ok(snapshot)) = live.servers.get_mut(&name) {
                        snapshot.enrich(details);
                    }
                }
                Err(e) => {
                    live.servers.insert(name, Err(e.full()));
                }
            }
        }
    }

    async fn read_one(
        &self,
        config: &Config,
        server: &Server,
        lock: Option<Duration>,
    ) -> Result<Snapshot, DockerError> {
        let client = self
            .client(&server.name)
            .ok_or_else(|| DockerError::Api {
                what: format!("read server {}", server.name),
                status: None,
                message: "not connected".to_string(),
            })?
            .clone();
        if let Some(wait) = lock.filter(|_| !self.read_only.contains(&server.name)) {
            self.lock(&client, &server.name, &config.owner, wait)
                .await?;
        }
        crate::fault::point("read.server");
        client
            .snapshot(crate::plan::needs_images(config, &server.name))
            .await
    }

    /// Takes `owner`'s lock of one server, waiting up to `wait` (in all)
    /// for its holder, and then for a legacy `berth-lock` (a berth from
    /// before locks were per owner) to go. A lock left by a process of this
    /// machine that is gone (a killed berth) is broken at once, and said so.
    async fn lock(
        &self,
        client: &Client,
        server: &str,
        owner: &str,
        wait: Duration,
    ) -> Result<(), DockerError> {
        let started = Instant::now();
        let volume = lock_volume(owner);
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((server.to_string(), volume.clone()));
        loop {
            match client.try_lock(&volume, owner, &self.holder).await? {
                Ok(()) => break,
                Err(holder) if self.break_stale(client, server, &volume, &holder).await? => {}
                Err(holder) if started.elapsed() >= wait => {
                    return Err(DockerError::Locked {
                        server: server.to_string(),
                        holder: holder.to_string(),
                        legacy: false,
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
        // An older berth does not know per-owner locks: wait for its lock
        // (holding ours, so this owner's other berths keep waiting for us).
        loop {
            match client.lock_holder(LEGACY_LOCK_VOLUME).await? {
                None => return Ok(()),
                Some(holder)
                    if self
                        .break_stale(client, server, LEGACY_LOCK_VOLUME, &holder)
                        .await? => {}
                Some(holder) if started.elapsed() >= wait => {
                    return Err(DockerError::Locked {
                        server: server.to_string(),
                        holder: holder.to_string(),
                        legacy: true,
                    });
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Breaks the lock `volume` when its holder is unknown (its labels were
    /// lost), a process of this machine that is gone, or a session of this
    /// process that has ended, and notes it.
    /// Returns whether the lock was stale (then asking again may take it).
    async fn break_stale(
        &self,
        client: &Client,
        server: &str,
        volume: &str,
        holder: &LockHolder,
    ) -> Result<bool, DockerError> {
        if !holder.token.is_empty() && !holder_is_gone(holder, &self.holder) {
            return Ok(false);
        }
        if client.unlock(volume, Some(&holder.token)).await?.is_some() {
            let which = if volume == LEGACY_LOCK_VOLUME {
                "the legacy lock `berth-lock`"
            } else {
                "the lock"
            };
            let why = if holder.token.is_empty() {
                format!(
                    "{which} whose holder is unknown (its labels were lost, as when the daemon crashes)"
                )
            } else if is_this_process(holder, &self.holder) {
                format!(
                    "{which} of {holder}: left by a session of this process that has ended (its release never got through)"
                )
            } else {
                format!("{which} of {holder}: that process is gone from this machine")
            };
            self.notes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("server {server}: broke {why}"));
        }
        Ok(true)
    }

    /// Releases every lock this session took. Returns the servers whose
    /// lock could not be released, with why.
    pub async fn release(&self) -> Vec<(String, String)> {
        let held: Vec<(String, String)> =
            std::mem::take(&mut *self.locks.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        let token = self.holder.token.as_str();
        let releases = held.into_iter().filter_map(|(server, volume)| {
            let client = self.client(&server)?.clone();
            Some(async move { (server, client.unlock(&volume, Some(token)).await) })
        });
        stream::iter(releases)
            .buffer_unordered(self.options.parallelism.max(1))
            .filter_map(|(server, result)| async move { result.err().map(|e| (server, e.full())) })
            .collect()
            .await
    }

    /// Releases every lock, then closes every connection.
    pub async fn close(self) -> Vec<(String, String)> {
        let failed = self.release().await;
        drop(self);
        failed
    }
}

impl Drop for Session {
    /// The safety net when a run ends without `close` (an error path, a
    /// panic, a cancelled future): release the locks from a thread of its
    /// own with a fresh runtime, whatever state the caller's runtime is in,
    /// then let the connections (and tunnels) drop.
    fn drop(&mut self) {
        LIVE_SESSIONS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.holder.token);
        let held = std::mem::take(&mut *self.locks.lock().unwrap_or_else(|p| p.into_inner()));
        if held.is_empty() {
            return;
        }
        let clients: Vec<(String, String, Client)> = held
            .into_iter()
            .filter_map(|(s, volume)| Some((s.clone(), volume, self.client(&s)?.clone())))
            .collect();
        let token = self.holder.token.clone();
        let released = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let mut failed = Vec::new();
            for (server, volume, client) in clients {
                let result = match client.reopen() {
                    Ok(c) => rt.block_on(c.unlock(&volume, Some(&token))).map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    failed.push(format!("{server}: {}", e.full()));
                }
            }
            Ok::<_, String>(failed)
        })
        .join();
        // Nobody is left to hand this to: the run is ending abnormally.
        match released {
            Ok(Ok(failed)) if failed.is_empty() => {}
            Ok(Ok(failed)) => eprintln!(
                "berth: could not release the lock of {}; run `berth unlock --server NAME`",
                failed.join("; ")
            ),
            Ok(Err(e)) => eprintln!("berth: could not release server locks: {e}"),
            Err(_) => eprintln!("berth: could not release server locks"),
        }
    }
}

/// Is `holder` gone: a process of this machine (same boot) that no longer
/// runs, or this very process under the token of a session that has ended?
/// A holder on another machine, or from before the lock recorded its boot
/// id, is never judged gone.
fn holder_is_gone(holder: &LockHolder, me: &LockHolder) -> bool {
    if holder.boot_id.is_empty() || holder.boot_id != me.boot_id || holder.token == me.token {
        return false;
    }
    if is_this_process(holder, me) {
        return !session_lives(&holder.token);
    }
    process_started(holder.pid) != Some(holder.started)
}

/// Does `holder` name this process (same boot, pid and start time)?
fn is_this_process(holder: &LockHolder, me: &LockHolder) -> bool {
    !holder.boot_id.is_empty()
        && holder.boot_id == me.boot_id
        && holder.pid == me.pid
        && holder.started == me.started
}

/// The kernel boot id of this machine.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// When process `pid` started (clock ticks since boot), if it runs.
fn process_started(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start at the last `)`. starttime is field 22.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// This process, as a lock holder.
fn holder() -> LockHolder {
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
        boot_id: boot_id(),
        started: process_started(std::process::id()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session's token is live from `Session::new` until it drops; a lock
    /// under it is this process's own, not stale.
    #[test]
    fn a_session_is_live_until_it_drops() {
        let session = Session::new(
            FleetOptions::one_server(Duration::from_secs(1)),
            CancellationToken::new(),
        );
        let token = session.holder.token.clone();
        let mut mine = holder();
        mine.token = token.clone();
        let me = holder();
        assert!(session_lives(&token));
        assert!(!holder_is_gone(&mine, &me), "its session is live");
        drop(session);
        assert!(!session_lives(&token));
        assert!(holder_is_gone(&mine, &me), "its session has ended");
    }

    #[test]
    fn this_process_is_alive_and_a_dead_pid_of_this_boot_is_gone() {
        let me = holder();
        assert!(!me.boot_id.is_empty());
        assert_eq!(process_started(me.pid), Some(me.started));
        let mut other = holder();
        other.token = "another".into();
        assert!(
            holder_is_gone(&other, &me),
            "this process, under the token of no live session"
        );
        LIVE_SESSIONS.lock().unwrap().insert("another".into());
        assert!(
            !holder_is_gone(&other, &me),
            "a live session of this process holds it"
        );
        LIVE_SESSIONS.lock().unwrap().remove("another");
        other.pid = 1;
        other.started = process_started(1).expect("pid 1 runs");
        assert!(!holder_is_gone(&other, &me), "a live process holds it");
        other.started += 1;
        assert!(holder_is_gone(&other, &me), "the pid was reused");
        other.boot_id = "another-machine".into();
        assert!(!holder_is_gone(&other, &me), "another machine's holder");
        other.boot_id.clear();
        assert!(
            !holder_is_gone(&other, &me),
            "an old lock without a boot id"
        );
    }
}

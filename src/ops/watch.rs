//! `watch`: keeps servers converged between applies. On start, and then
//! on every Docker event that concerns the config (`plan::Scope`: a
//! declared container started, an attachment to a destination removed, a
//! destination deleted; any other event is only counted), on every new
//! commit of the
//! watched ref, and every `resync`, it plans the server and applies what
//! heals: missing networks, attachments, aliases, interrupted applies.
//! Everything else (removals, replacements, clones, blocked changes) is
//! reported, not applied, unless `apply_all`. It takes a server's lock only
//! to apply, and plans that server again under the lock first, so a
//! person's `berth apply` works beside it. A server that drops is
//! reconnected with backoff (started again at every outage) and planned in
//! full again, its events followed from before that plan; one that stays
//! down does not stop the others.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;
use tokio::sync::watch as channel;

use super::load::{Loaded, SourceSpec};
use super::{CancellationToken, Error, FleetOptions, Quiet};
use crate::config::{Address, Config};
use crate::docker::DockerError;
use crate::execute::Outcome;
use crate::plan::{Action, Change, Plan, Scope};
use crate::session::Session;

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub source: SourceSpec,
    /// A git source: fetch its repository this often (`git fetch`), and
    /// apply each new commit of the ref.
    pub fetch_interval: Option<Duration>,
    pub fleet: FleetOptions,
    pub lock_timeout: Duration,
    /// Apply everything `apply` would (removals, replacements, clones), not
    /// only what heals.
    pub apply_all: bool,
    /// Plan every server in full this often, whatever the events said.
    pub resync: Duration,
    /// `--server`/`--destination`: watch only the matching servers, and
    /// heal only the matching destinations (with `local`: one server, the
    /// one berth runs on).
    pub target: crate::plan::Target,
    /// Reach the server through the local Docker socket (pull mode).
    pub local: bool,
    /// Serve Prometheus metrics here.
    pub metrics: Option<SocketAddr>,
}

/// What happened, one line of the log each.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    Started {
        servers: Vec<String>,
    },
    /// A config was loaded: at start, or a new commit of the watched ref.
    Config {
        #[serde(skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// A new commit (or a changed work tree) whose config is invalid: the
    /// previous one stays in force.
    ConfigInvalid {
        message: String,
    },
    Connected {
        server: String,
    },
    Down {
        server: String,
        error: String,
        retry_in_ms: u64,
    },
    /// Something the session did on its own that a person should hear of:
    /// a stale lock broken (a dead process's, or one a session of this
    /// watch left when its engine hung).
    Note {
        server: String,
        message: String,
    },
    /// A Docker event that concerns the config: the server is planned
    /// again.
    Docker {
        server: String,
        kind: String,
        action: String,
        name: String,
    },
    /// A Docker event about something the config does not manage (not
    /// declared, not selected, not on a destination's network, not made by
    /// this owner): counted, not planned.
    Unrelated {
        server: String,
        kind: String,
        action: String,
        name: String,
    },
    /// A change applied, with what became of it.
    Applied {
        server: String,
        change: Box<Change>,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A change the plan makes that watch does not apply, and why.
    Held {
        server: String,
        change: Box<Change>,
        why: String,
    },
    /// A declared resource matches nothing on the server: logged by the
    /// sync that first finds it (again only after it was found and lost).
    /// `error` in strict mode, where the server's plan has errors and
    /// nothing is applied there.
    NotFound {
        server: String,
        resource: crate::plan::ResourceRef,
        message: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        suggestions: Vec<String>,
        error: bool,
    },
    /// A server was planned (and healed): what is left. `drift` counts
    /// the changes left and the declared resources not found.
    Synced {
        server: String,
        trigger: String,
        drift: usize,
        #[serde(skip_serializing_if = "is_zero")]
        not_found: usize,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        message: String,
    },
    Stopped,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Who hears of what watch does.
pub trait WatchObserver: Sync {
    fn event(&self, event: &WatchEvent);
}

/// Changes watch applies by default: they only add what is missing. A
/// swarm service's update heals when it only adds networks or fixes
/// aliases, and its last rollout did not fail (a rollback would undo it,
/// and watch would start it again, and again).
fn heals(c: &Change) -> bool {
    match c {
        Change::UpdateService(u) => {
            u.last_update.is_none()
                && u.live_networks
                    .iter()
                    .all(|n| u.networks.iter().any(|m| m.network == n.network))
        }
        c => matches!(
            c.action(),
            Action::Restore | Action::CreateNetwork | Action::Connect
        ),
    }
}

/// Runs until cancelled; then finishes the step under way, releases its
/// locks and returns.
pub async fn watch(
    req: &WatchRequest,
    observer: &dyn WatchObserver,
    cancel: &CancellationToken,
) -> Result<(), Error> {
    if let Some(addr) = req.metrics {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .map_err(|e| Error::Metrics {
                address: addr.to_string(),
                cause: e.to_string(),
            })?;
    }
    let loaded = load(req)?;
    observer.event(&WatchEvent::Config {
        commit: loaded.source.commit.clone(),
        reference: loaded.source.reference.clone(),
    });
    let (config_tx, config_rx) = channel::channel(Arc::new(loaded.config));
    let servers: Vec<String> = config_rx
        .borrow()
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect();
    observer.event(&WatchEvent::Started {
        servers: servers.clone(),
    });
    let loops: FuturesUnordered<_> = servers
        .iter()
        .map(|name| server_loop(req, name, config_rx.clone(), observer, cancel))
        .collect();
    let follow = follow_source(req, config_tx, observer, cancel);
    tokio::join!(loops.collect::<Vec<()>>(), follow);
    observer.event(&WatchEvent::Stopped);
    Ok(())
}

/// The config, cut to one server (and reached locally) in pull mode.
fn load(req: &WatchRequest) -> Result<Loaded, Error> {
    let mut loaded = super::load(&req.source)?;
    narrow(&mut loaded.config, req)?;
    Ok(loaded)
}

/// `--server` keeps that server and what lives on it; `--local` reaches it
/// through the local socket.
fn narrow(config: &mut Config, req: &WatchRequest) -> Result<(), Error> {
    let Some((selection, _)) = super::targeted(config, &req.target)? else {
        return Ok(());
    };
    config
        .servers
        .retain(|s| selection.servers.contains(&s.name));
    if req.local {
        if config.servers.len() != 1 {
            return Err(Error::Server {
                server: config
                    .servers
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                message: "--local reaches one server, the one berth runs on, but --server matches several".to_string(),
                hint: Some("give --server the exact name of this server".to_string()),
            });
        }
        for s in &mut config.servers {
            s.address = Address::Local;
        }
    }
    Ok(())
}

/// Follows the config's source: a git ref fetched every `fetch_interval`,
/// or the work tree read again at every resync. A new, valid config goes
/// to every server loop; an invalid one is reported and ignored.
async fn follow_source(
    req: &WatchRequest,
    config_tx: channel::Sender<Arc<Config>>,
    observer: &dyn WatchObserver,
    cancel: &CancellationToken,
) {
    let git = req.source.rev.is_some() || req.source.repo.is_some();
    let every = match (git, req.fetch_interval) {
        (true, Some(every)) => every,
        _ => req.resync,
    };
    let mut last = config_fingerprint(&config_tx.borrow());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = cancel.cancelled() => return,
        }
        if git && req.fetch_interval.is_some() {
            if let Err(message) = fetch(req).await {
                observer.event(&WatchEvent::Error {
                    server: None,
                    message: message.to_string(),
                });
                continue;
            }
        }
        match load(req) {
            Ok(loaded) => {
                let now = config_fingerprint(&loaded.config);
                if now != last {
                    last = now;
                    observer.event(&WatchEvent::Config {
                        commit: loaded.source.commit.clone(),
                        reference: loaded.source.reference.clone(),
                    });
                    let _ = config_tx.send(Arc::new(loaded.config));
                }
            }
            Err(e) => observer.event(&WatchEvent::ConfigInvalid {
                message: match e.diagnostics() {
                    Some(d) => d.render(false),
                    None => e.to_string(),
                },
            }),
        }
    }
}

/// What identifies a config's content, to tell a new one.
fn config_fingerprint(config: &Config) -> String {
    format!("{config:?}")
}

/// `git fetch` in the watched repository (its configured remotes and
/// credentials; gix's network support would add a whole HTTP and SSH
/// stack to berth for this one call).
async fn fetch(req: &WatchRequest) -> Result<(), FetchError> {
    let repo = req
        .source
        .repo
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["fetch", "--quiet", "--prune"])
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .map_err(|_| FetchError::Timeout {
        repo: repo.clone(),
        after: FETCH_TIMEOUT,
    })?
    .map_err(FetchError::Run)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(FetchError::Failed {
            repo,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// How long a `git fetch` may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// Why `git fetch` did not bring the watched ref up to date (watch keeps
/// the config it has and tries again at the next interval).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("git fetch in {} took more than {}", repo.display(), humantime::format_duration(*after))]
    Timeout {
        repo: std::path::PathBuf,
        after: Duration,
    },
    #[error("cannot run git fetch: {0}")]
    Run(#[source] std::io::Error),
    #[error("git fetch in {} failed: {stderr}", repo.display())]
    Failed {
        repo: std::path::PathBuf,
        stderr: String,
    },
}

/// Why watch lost a server: it reconnects (with backoff) and plans it in
/// full again. The text is what its `down` line says.
#[derive(Debug, thiserror::Error)]
enum Dropped {
    /// The config no longer declares this server (its loop ends with the
    /// next config).
    #[error("the config no longer declares this server")]
    Undeclared,
    /// Connecting, asking its clock, or following its events failed.
    #[error("{}", .0.full())]
    Docker(DockerError),
    /// Reading the server for a plan failed (the reading's own message,
    /// with its hint).
    #[error("{0}")]
    Read(String),
    /// The docker event stream ended without an error.
    #[error("the event stream ended")]
    StreamEnded,
    /// Watch was stopped while it read the server.
    #[error("interrupted")]
    Interrupted,
    /// The reading had no answer for the server.
    #[error("the server was not read")]
    NotRead,
}

impl From<DockerError> for Dropped {
    fn from(e: DockerError) -> Dropped {
        Dropped::Docker(e)
    }
}

/// The waits between reconnections within one outage: 1 s, doubling, the
/// base held at 15 s; each wait adds a random part of up to its base
/// (jitter), so servers dropped together do not come back together, and no
/// wait reaches 30 s. Every outage starts again from the first.
fn reconnect_backoff() -> backon::ExponentialBuilder {
    backon::ExponentialBuilder::default()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(15))
        .without_max_times()
}

/// The longest wait between reconnections (what the backoff never
/// exceeds).
const MAX_RETRY: Duration = Duration::from_secs(30);

/// One server, for as long as watch runs: connect, plan in full, follow its
/// events; on a drop, reconnect with backoff and plan in full again.
async fn server_loop(
    req: &WatchRequest,
    server: &str,
    mut config: channel::Receiver<Arc<Config>>,
    observer: &dyn WatchObserver,
    cancel: &CancellationToken,
) {
    use backon::BackoffBuilder;
    // The waits of the outage under way; `None` while connected.
    let mut outage: Option<<backon::ExponentialBuilder as BackoffBuilder>::Backoff> = None;
    while !cancel.is_cancelled() {
        // watch holds its own connection for as long as it runs: nothing
        // to keep for a next run.
        let fleet = FleetOptions {
            ssh_persist: Some(Duration::ZERO),
            ..req.fleet
        };
        let mut session = Session::new(fleet, cancel.clone());
        let mut connected = false;
        let followed = follow_server(
            req,
            server,
            &mut session,
            &mut config,
            observer,
            cancel,
            &mut connected,
        )
        .await;
        if connected {
            // A drop after a successful reconnection is a new outage.
            outage = None;
        }
        match followed {
            Ok(()) => {}
            Err(_) if cancel.is_cancelled() => {}
            Err(error) => {
                let wait = outage
                    .get_or_insert_with(|| reconnect_backoff().build())
                    .next()
                    .unwrap_or(MAX_RETRY)
                    .min(MAX_RETRY);
                metrics::gauge!("berth_server_up", "server" => server.to_string()).set(0.0);
                observer.event(&WatchEvent::Down {
                    server: server.to_string(),
                    error: error.to_string(),
                    retry_in_ms: wait.as_millis() as u64,
                });
                session.close().await;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => {}
                }
                continue;
            }
        }
        session.close().await;
    }
}

/// Plans the server in full, then follows its events until the
/// connection drops (an `Err` saying why) or watch stops (`Ok`). Its events
/// are followed from before that first plan, from the daemon's own clock,
/// so nothing that changes while it reads and heals is missed. `connected`
/// says whether that first plan went through.
async fn follow_server(
    req: &WatchRequest,
    server: &str,
    session: &mut Session,
    config: &mut channel::Receiver<Arc<Config>>,
    observer: &dyn WatchObserver,
    cancel: &CancellationToken,
    connected: &mut bool,
) -> Result<(), Dropped> {
    // Declared resources not found, as the last sync left them: each is
    // logged when it appears, not at every sync.
    let mut seen = Vec::new();
    let current = config.borrow_and_update().clone();
    let declared = current
        .servers
        .iter()
        .find(|s| s.name == server)
        .cloned()
        .ok_or(Dropped::Undeclared)?;
    let client = tokio::select! {
        client = session.reach(&declared) => client?,
        _ = cancel.cancelled() => return Ok(()),
    };
    let since = client.clock().await?;
    let mut events = std::pin::pin!(client.events(Some(&since)));
    // What the stream brings while the first sync runs, handled after it.
    let mut early = VecDeque::new();
    let first = {
        let first = sync(req, server, session, &current, "start", &mut seen, observer);
        let mut first = std::pin::pin!(first);
        let mut open = true;
        loop {
            tokio::select! {
                synced = &mut first => break synced,
                event = events.next(), if open => {
                    open = matches!(event, Some(Ok(_)));
                    early.push_back(event);
                }
            }
        }
    };
    let mut scope = first?.unwrap_or_default();
    *connected = true;
    metrics::gauge!("berth_server_up", "server" => server.to_string()).set(1.0);
    observer.event(&WatchEvent::Connected {
        server: server.to_string(),
    });
    let mut resync = tokio::time::interval(req.resync);
    resync.tick().await;
    // Events come in bursts (a deploy, a compose up): plan once per burst,
    // a moment after its first event.
    let settle = Duration::from_millis(100);
    let mut dirty: Option<tokio::time::Instant> = None;
    loop {
        let due = dirty.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            event = next_event(&mut early, &mut events) => match event {
                Some(Ok(e)) => {
                    metrics::counter!("berth_events_total", "server" => server.to_string()).increment(1);
                    if scope.concerns(&e) {
                        observer.event(&WatchEvent::Docker {
                            server: server.to_string(),
                            kind: e.kind,
                            action: e.action,
                            name: e.name,
                        });
                        dirty.get_or_insert_with(|| tokio::time::Instant::now() + settle);
                    } else {
                        metrics::counter!("berth_watch_events_ignored_total", "server" => server.to_string()).increment(1);
                        observer.event(&WatchEvent::Unrelated {
                            server: server.to_string(),
                            kind: e.kind,
                            action: e.action,
                            name: e.name,
                        });
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None => return Err(Dropped::StreamEnded),
            },
            _ = tokio::time::sleep_until(due), if dirty.is_some() => {
                dirty = None;
                let current = config.borrow().clone();
                if let Some(s) = sync(req, server, session, &current, "event", &mut seen, observer).await? {
                    scope = s;
                }
            }
            _ = resync.tick() => {
                let current = config.borrow().clone();
                if let Some(s) = sync(req, server, session, &current, "resync", &mut seen, observer).await? {
                    scope = s;
                }
            }
            changed = config.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let current = config.borrow_and_update().clone();
                if let Some(s) = sync(req, server, session, &current, "config", &mut seen, observer).await? {
                    scope = s;
                }
            }
            _ = cancel.cancelled() => return Ok(()),
        }
    }
}

/// The next event: those the stream brought during the first sync, then
/// the stream's.
async fn next_event<S: futures_util::Stream + Unpin>(
    early: &mut VecDeque<Option<S::Item>>,
    events: &mut S,
) -> Option<S::Item> {
    match early.pop_front() {
        Some(event) => event,
        None => events.next().await,
    }
}

/// Plans one server and applies what watch applies: first without the
/// lock, then, when there is something to do, under the lock after planning
/// again. `Err` when the server cannot be read; else the server's scope as
/// the last read left it (`None`: the config no longer declares it).
async fn sync(
    req: &WatchRequest,
    server: &str,
    session: &mut Session,
    config: &Config,
    trigger: &str,
    seen: &mut Vec<crate::plan::Missing>,
    observer: &dyn WatchObserver,
) -> Result<Option<Scope>, Dropped> {
    let Some(one) = only(config, server) else {
        return Ok(None); // no longer declared: its loop ends with the next config
    };
    let (plan, scope) = plan_server(session, &one, None).await?;
    let chosen = choose(req, &plan);
    let (plan, scope) = if chosen.is_empty() {
        (plan, scope)
    } else {
        let locked = plan_server(session, &one, Some(req.lock_timeout)).await;
        notes(server, session, observer);
        let plan = match locked {
            Ok((plan, _)) => plan,
            Err(e) => {
                release(server, session, observer).await;
                return Err(e);
            }
        };
        apply(req, server, session, &one, &plan, observer).await;
        release(server, session, observer).await;
        plan_server(session, &one, None).await?
    };
    for c in plan.changes.iter().filter(|c| !choose_one(req, &plan, c)) {
        let why = if !plan.errors.is_empty() {
            "the plan has errors: nothing is applied until they are resolved".to_string()
        } else if c.is_blocked() {
            format!("blocked: {}", c.reasons().join("; "))
        } else {
            "watch applies only what heals (networks, attachments, aliases, restorations); run `berth apply`, or watch with --apply-all".to_string()
        };
        observer.event(&WatchEvent::Held {
            server: server.to_string(),
            change: Box::new(c.clone()),
            why,
        });
    }
    let strict = config.strict;
    for m in plan.missing.iter().filter(|m| !seen.contains(m)) {
        observer.event(&WatchEvent::NotFound {
            server: server.to_string(),
            resource: m.resource.clone(),
            message: m.describe(),
            suggestions: m.suggestions.clone(),
            error: strict,
        });
    }
    seen.clone_from(&plan.missing);
    let drift = plan.changes.len() + plan.missing.len();
    metrics::gauge!("berth_drift", "server" => server.to_string()).set(drift as f64);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    metrics::gauge!("berth_last_sync_timestamp_seconds", "server" => server.to_string()).set(now);
    observer.event(&WatchEvent::Synced {
        server: server.to_string(),
        trigger: trigger.to_string(),
        drift,
        not_found: plan.missing.len(),
    });
    // A window for a test to change the server while a sync is under way.
    crate::fault::point("watch.synced");
    Ok(Some(scope))
}

/// Logs what the session did on its own (a stale lock broken).
fn notes(server: &str, session: &Session, observer: &dyn WatchObserver) {
    let prefix = format!("server {server}: ");
    for note in session.take_notes() {
        observer.event(&WatchEvent::Note {
            server: server.to_string(),
            message: note
                .strip_prefix(&prefix)
                .map(str::to_string)
                .unwrap_or(note),
        });
    }
}

/// Releases the server's lock; says so when that did not get through (the
/// next sync of this watch breaks it: its session has ended by then).
async fn release(server: &str, session: &Session, observer: &dyn WatchObserver) {
    for (_, error) in session.release().await {
        observer.event(&WatchEvent::Error {
            server: Some(server.to_string()),
            message: format!(
                "could not release the lock ({error}); this watch breaks it once the server answers again"
            ),
        });
    }
}

/// The config as far as one server is concerned.
fn only(config: &Config, server: &str) -> Option<Config> {
    let mut one = config.clone();
    one.servers.retain(|s| s.name == server);
    (!one.servers.is_empty()).then_some(one)
}

/// Reads the server (taking its lock first when asked) and plans it; with
/// the plan, what of the server concerns the config as it was read.
async fn plan_server(
    session: &mut Session,
    config: &Config,
    lock: Option<Duration>,
) -> Result<(Plan, Scope), Dropped> {
    let live = session
        .read(config, lock, &Quiet)
        .await
        .map_err(|_| Dropped::Interrupted)?;
    let scope = match live.servers.iter().next() {
        Some((_, Err(e))) => return Err(Dropped::Read(e.clone())),
        Some((server, Ok(snapshot))) => Scope::new(config, server, snapshot),
        None => return Err(Dropped::NotRead),
    };
    Ok((crate::plan::plan(config, &live, Default::default()), scope))
}

fn choose_one(req: &WatchRequest, plan: &Plan, c: &Change) -> bool {
    plan.errors.is_empty()
        && !c.is_blocked()
        && (req.apply_all || heals(c))
        && req.target.keeps_destination(c.destination())
}

/// What watch applies of a plan.
fn choose(req: &WatchRequest, plan: &Plan) -> Vec<Change> {
    plan.changes
        .iter()
        .filter(|c| choose_one(req, plan, c))
        .cloned()
        .collect()
}

async fn apply(
    req: &WatchRequest,
    server: &str,
    session: &Session,
    config: &Config,
    plan: &Plan,
    observer: &dyn WatchObserver,
) {
    let mut chosen = plan.clone();
    chosen.changes = choose(req, plan);
    if chosen.changes.is_empty() {
        return;
    }
    let on_step = |step: &crate::execute::Step| {
        let (ok, error) = match &step.outcome {
            Outcome::Done => (true, None),
            Outcome::Failed(e) => (false, Some(e.full())),
            Outcome::NotAttempted => (false, Some("not attempted".to_string())),
        };
        if ok {
            metrics::counter!("berth_applies_total", "server" => server.to_string()).increment(1);
        } else {
            metrics::counter!("berth_apply_failures_total", "server" => server.to_string())
                .increment(1);
        }
        observer.event(&WatchEvent::Applied {
            server: server.to_string(),
            change: Box::new(step.change.clone()),
            ok,
            error,
        });
    };
    crate::execute::execute(&chosen, &config.owner, session, &Quiet, &on_step).await;
}

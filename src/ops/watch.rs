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
//! down does not stop the others. What it cannot heal (a server down, a
//! change held back or failed, a failed fetch, an invalid commit) goes to
//! the config's `[[alert]]` receivers: the events are turned into
//! `alert::Signal`s here, tracked and sent by `alert` off the healing path.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::sync::watch as channel;

use super::listen::{Board, Held, WatchPages};
use super::load::{Loaded, SourceSpec};
use super::{CancellationToken, Error, FleetOptions, Quiet};
use crate::alert::{AlertCondition, NoticeState, Signal};
use crate::config::{Address, Alert, Config};
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
    /// Serve the live page, `/status.json`, `/metrics` and `/healthz` here.
    pub listen: Option<super::listen::Listen>,
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
        /// The invalid commit, when the config comes from a git ref.
        #[serde(skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
        /// The commit whose config stays in force.
        #[serde(skip_serializing_if = "Option::is_none")]
        keeping: Option<String>,
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
    /// An alert fired or resolved; its notice goes to the alert's
    /// receiver (what became of it: `AlertDelivery`).
    Alert {
        alert: String,
        condition: AlertCondition,
        state: NoticeState,
        subject: String,
        summary: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        detail: String,
        /// When the condition began (RFC 3339).
        since: String,
    },
    /// What became of an alert's notice: `sent`, `failed` (after its
    /// retries) or `dropped` (the hourly rate reached, or the receiver's
    /// queue full). The receiver is named by where its URL came from.
    AlertDelivery {
        alert: String,
        /// `url from $BERTH_ALERT_URL`, never the URL.
        from: String,
        condition: AlertCondition,
        state: NoticeState,
        subject: String,
        outcome: DeliveryOutcome,
        #[serde(skip_serializing_if = "is_zero_u32")]
        attempts: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Stopped,
}

/// What became of an alert's notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    Sent,
    Failed,
    Dropped,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
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
///
/// With `req.listen`, it also serves `pages`' views of what it knows
/// (`ops::listen`) until it stops; the address and its token are checked
/// before anything else.
pub async fn watch(
    req: &WatchRequest,
    observer: &dyn WatchObserver,
    pages: Option<Arc<dyn WatchPages>>,
    cancel: &CancellationToken,
) -> Result<(), Error> {
    let server = match &req.listen {
        Some(listen) => Some(super::listen::bind(listen).await?),
        None => None,
    };
    let metrics = recorder(req)?;
    let loaded = load(req)?;
    // Every alert's URL is read now: a missing one stops watch here.
    let receivers = crate::alert::receivers(&loaded.config.alerts).map_err(Error::Alert)?;
    let alerts = loaded.config.alerts.clone();
    let owner = loaded.config.owner.clone();
    let (signals, signals_rx) = mpsc::channel(SIGNALS);
    let feed = Feed((!receivers.is_empty()).then_some(signals));
    let alerting = Alerting {
        inner: observer,
        feed: &feed,
    };
    let board = Arc::new(Board::new(filter(&loaded.config, req)?));
    let observer = Tee {
        observer: &alerting,
        board: &board,
    };
    let observer = &observer;
    let serving = match (server, pages) {
        (Some(server), Some(pages)) => Some(tokio::spawn(super::listen::serve(
            server,
            board.clone(),
            pages,
            metrics,
            cancel.child_token(),
        ))),
        _ => None,
    };
    observer.event(&WatchEvent::Config {
        commit: loaded.source.commit.clone(),
        reference: loaded.source.reference.clone(),
    });
    let last_good = loaded.source.commit.clone();
    let (config_tx, config_rx) = channel::channel(Arc::new(loaded.config));
    let servers: Vec<String> = config_rx
        .borrow()
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect();
    board.servers(
        config_rx
            .borrow()
            .servers
            .iter()
            .map(|s| (s.name.clone(), s.address.to_string()))
            .collect(),
    );
    observer.event(&WatchEvent::Started {
        servers: servers.clone(),
    });
    let loops: FuturesUnordered<_> = servers
        .iter()
        .map(|name| server_loop(req, name, config_rx.clone(), observer, cancel))
        .collect();
    let follow = follow_source(req, config_tx, observer, &feed, last_good, cancel);
    let alerting_loop = alert_loop(receivers, &alerts, &owner, signals_rx, observer, cancel);
    tokio::join!(loops.collect::<Vec<()>>(), follow, alerting_loop);
    observer.event(&WatchEvent::Stopped);
    if let Some(serving) = serving {
        serving.abort();
    }
    Ok(())
}

/// Each `[[alert]]` whose URL watch could not read here and now (its
/// variable unset, its file unreadable, not an http(s) URL): what
/// `validate` warns of, and what would stop `watch` from starting.
pub fn alert_problems(config: &Config) -> Vec<Error> {
    config
        .alerts
        .iter()
        .filter_map(|a| crate::alert::receivers(std::slice::from_ref(a)).err())
        .map(Error::Alert)
        .collect()
}

/// Signals waiting for the alert loop; more are dropped (and counted).
const SIGNALS: usize = 1024;

/// Where what watch sees goes to be tracked for alerts: never waits (a
/// full queue drops the signal and counts it). `None` without alerts.
struct Feed(Option<mpsc::Sender<(Signal, SystemTime)>>);

impl Feed {
    fn send(&self, signal: Signal) {
        if let Some(tx) = &self.0 {
            if tx.try_send((signal, SystemTime::now())).is_err() {
                metrics::counter!("berth_alert_signals_dropped_total").increment(1);
            }
        }
    }
}

/// Passes every event on, and feeds what concerns alerts to the alert
/// loop.
struct Alerting<'a> {
    inner: &'a dyn WatchObserver,
    feed: &'a Feed,
}

impl WatchObserver for Alerting<'_> {
    fn event(&self, event: &WatchEvent) {
        self.inner.event(event);
        if self.feed.0.is_none() {
            return;
        }
        let signal = match event {
            WatchEvent::Down { server, error, .. } => Signal::Down {
                server: server.clone(),
                error: error.clone(),
            },
            WatchEvent::Connected { server } => Signal::Up {
                server: server.clone(),
            },
            WatchEvent::Held {
                server,
                change,
                why,
            } => Signal::Held {
                server: server.clone(),
                change: change_subject(change),
                why: why.clone(),
            },
            WatchEvent::Applied {
                server,
                change,
                ok: true,
                ..
            } => Signal::Applied {
                server: server.clone(),
                change: change_subject(change),
            },
            // A step not attempted (an earlier one failed, or watch is
            // stopping) is no failure of its own.
            WatchEvent::Applied { error, .. } if error.as_deref() == Some(NOT_ATTEMPTED) => {
                return;
            }
            WatchEvent::Applied {
                server,
                change,
                error,
                ..
            } => Signal::Failed {
                server: server.clone(),
                change: change_subject(change),
                error: error.clone().unwrap_or_else(|| "failed".to_string()),
            },
            WatchEvent::Synced { server, .. } => Signal::Synced {
                server: server.clone(),
            },
            _ => return,
        };
        self.feed.send(signal);
    }
}

/// A change as an alert's subject: `connect api-1 on network prod-net
/// (destination prod)`.
fn change_subject(c: &Change) -> String {
    let mut s = c.verb().to_string();
    match (c.container(), c.resource()) {
        (Some(container), _) => s.push_str(&format!(" {container}")),
        (None, Some(r)) => s.push_str(&format!(" {} {}", r.kind, r.name)),
        (None, None) => {}
    }
    s.push_str(&format!(" on network {}", c.network()));
    if let Some(d) = c.destination() {
        s.push_str(&format!(" (destination {d})"));
    }
    s
}

/// Tracks the alert conditions and hands each notice to its receiver's
/// queue; logs every notice and what became of it. Runs until watch stops.
async fn alert_loop(
    receivers: Vec<crate::alert::Receiver>,
    alerts: &[Alert],
    owner: &str,
    mut signals: mpsc::Receiver<(Signal, SystemTime)>,
    observer: &dyn WatchObserver,
    cancel: &CancellationToken,
) {
    if receivers.is_empty() {
        return;
    }
    let mut tracker = crate::alert::Tracker::new(alerts, owner);
    let (done, mut deliveries) = mpsc::channel(256);
    let dispatcher = crate::alert::Dispatcher::start(receivers, done);
    let announce = |notices: Vec<crate::alert::Notice>| {
        for n in notices {
            observer.event(&WatchEvent::Alert {
                alert: n.alert.clone(),
                condition: n.condition,
                state: n.state,
                subject: n.subject.clone(),
                summary: n.summary.clone(),
                detail: n.detail.clone(),
                since: n.since.clone(),
            });
            if let Some(dropped) = dispatcher.dispatch(n) {
                observer.event(&delivery(dropped));
            }
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            Some((signal, at)) = signals.recv() => announce(tracker.observe(signal, at)),
            _ = tick.tick() => announce(tracker.due(SystemTime::now())),
            Some(d) = deliveries.recv() => observer.event(&delivery(d)),
            _ = cancel.cancelled() => return,
        }
    }
}

fn delivery(d: crate::alert::Delivery) -> WatchEvent {
    use crate::alert::Outcome;
    let (outcome, attempts, error) = match d.outcome {
        Outcome::Sent { attempts } => (DeliveryOutcome::Sent, attempts, None),
        Outcome::Failed { attempts, error } => (DeliveryOutcome::Failed, attempts, Some(error)),
        Outcome::Dropped { why } => (DeliveryOutcome::Dropped, 0, Some(why)),
    };
    WatchEvent::AlertDelivery {
        alert: d.alert,
        from: d.from,
        condition: d.condition,
        state: d.state,
        subject: d.subject,
        outcome,
        attempts,
        error,
    }
}

/// The metrics recorder, with `--metrics`' own listener when asked; its
/// handle renders `/metrics` for `--listen`. `None` when neither is asked.
fn recorder(
    req: &WatchRequest,
) -> Result<Option<metrics_exporter_prometheus::PrometheusHandle>, Error> {
    use metrics_exporter_prometheus::PrometheusBuilder;
    let failed = |address: String, cause: String| Error::Metrics { address, cause };
    let handle = match (req.metrics, &req.listen) {
        (Some(addr), _) => {
            let (recorder, exporter) = PrometheusBuilder::new()
                .with_http_listener(addr)
                .build()
                .map_err(|e| failed(addr.to_string(), e.to_string()))?;
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)
                .map_err(|e| failed(addr.to_string(), e.to_string()))?;
            tokio::spawn(exporter);
            handle
        }
        (None, Some(listen)) => {
            let handle = PrometheusBuilder::new()
                .install_recorder()
                .map_err(|e| failed(listen.address.to_string(), e.to_string()))?;
            let upkeep = handle.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    upkeep.run_upkeep();
                }
            });
            handle
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(handle))
}

/// What the page shows of the fleet: the servers and destinations
/// `--server`/`--destination` select.
fn filter(config: &Config, req: &WatchRequest) -> Result<crate::status::Filter, Error> {
    let mut filter = crate::status::Filter::default();
    if let Some((selection, _)) = super::targeted(config, &req.target)? {
        filter.servers = Some(selection.servers);
        filter.destinations = selection.destinations;
    }
    Ok(filter)
}

/// Every event to the caller's observer and to the board.
struct Tee<'a> {
    observer: &'a dyn WatchObserver,
    board: &'a Board,
}

impl WatchObserver for Tee<'_> {
    fn event(&self, event: &WatchEvent) {
        self.board.event(event);
        self.observer.event(event);
    }
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
    feed: &Feed,
    mut last_good: Option<String>,
    cancel: &CancellationToken,
) {
    let git = req.source.rev.is_some() || req.source.repo.is_some();
    let every = match (git, req.fetch_interval) {
        (true, Some(every)) => every,
        _ => req.resync,
    };
    let mut last = config_fingerprint(&config_tx.borrow());
    // The invalid commit (or, from a work tree, the errors) last reported:
    // each is logged once, not at every fetch.
    let mut invalid: Option<String> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = cancel.cancelled() => return,
        }
        if git && req.fetch_interval.is_some() {
            if let Err(message) = fetch(req).await {
                feed.send(Signal::FetchFailed {
                    what: format!("git fetch in {}", repo_of(req).display()),
                    error: message.to_string(),
                });
                observer.event(&WatchEvent::Error {
                    server: None,
                    message: message.to_string(),
                });
                continue;
            }
            feed.send(Signal::Fetched);
        }
        match load(req) {
            Ok(loaded) => {
                if invalid.take().is_some() {
                    feed.send(Signal::ConfigValid {
                        commit: loaded.source.commit.clone(),
                    });
                }
                last_good.clone_from(&loaded.source.commit);
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
            Err(e) => {
                let message = match e.diagnostics() {
                    Some(d) => d.render(false),
                    None => e.to_string(),
                };
                let commit = git
                    .then(|| {
                        crate::source::commit_of(
                            &repo_of(req),
                            req.source.rev.as_deref().unwrap_or("HEAD"),
                        )
                        .ok()
                    })
                    .flatten();
                let seen = commit.clone().unwrap_or_else(|| message.clone());
                if invalid.as_ref() == Some(&seen) {
                    continue;
                }
                invalid = Some(seen);
                feed.send(Signal::ConfigInvalid {
                    commit: commit.clone(),
                    reference: req.source.rev.clone(),
                    last_good: last_good.clone(),
                    message: message.clone(),
                });
                observer.event(&WatchEvent::ConfigInvalid {
                    message,
                    commit,
                    keeping: last_good.clone(),
                });
            }
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
    let repo = repo_of(req);
    let out = tokio::time::timeout(
        FETCH_TIMEOUT,
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
            stderr: hide_credentials(String::from_utf8_lossy(&out.stderr).trim()),
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

/// The watched repository.
fn repo_of(req: &WatchRequest) -> std::path::PathBuf {
    req.source
        .repo
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// Git's message with the credentials of any URL in it (`https://user:
/// token@host/…`) taken out: they reach neither the log nor an alert.
fn hide_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
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
    observer: &Tee<'_>,
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
                unreachable(
                    &config.borrow().clone(),
                    server,
                    &error.to_string(),
                    observer.board,
                );
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
    observer: &Tee<'_>,
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
    observer: &Tee<'_>,
) -> Result<Option<Scope>, Dropped> {
    let Some(one) = only(config, server) else {
        return Ok(None); // no longer declared: its loop ends with the next config
    };
    let (plan, scope, live) = plan_server(session, &one, None).await?;
    let chosen = choose(req, &plan);
    let (plan, scope, live) = if chosen.is_empty() {
        (plan, scope, live)
    } else {
        let locked = plan_server(session, &one, Some(req.lock_timeout)).await;
        notes(server, session, observer);
        let plan = match locked {
            Ok((plan, _, _)) => plan,
            Err(e) => {
                release(server, session, observer).await;
                return Err(e);
            }
        };
        apply(req, server, session, &one, &plan, observer).await;
        release(server, session, observer).await;
        plan_server(session, &one, None).await?
    };
    let mut held = Vec::new();
    for c in plan.changes.iter().filter(|c| !choose_one(req, &plan, c)) {
        let why = if !plan.errors.is_empty() {
            "the plan has errors: nothing is applied until they are resolved".to_string()
        } else if c.is_blocked() {
            format!("blocked: {}", c.reasons().join("; "))
        } else {
            "watch applies only what heals (networks, attachments, aliases, restorations); run `berth apply`, or watch with --apply-all".to_string()
        };
        held.push(Held {
            server: server.to_string(),
            change: c.clone(),
            why: why.clone(),
        });
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
    let filter = crate::status::Filter {
        servers: Some(std::iter::once(server.to_string()).collect()),
        destinations: observer.board.destinations(),
    };
    let report = crate::status::status(
        &one,
        &live,
        &plan,
        &filter,
        &std::collections::BTreeMap::new(),
    );
    observer.board.synced(server, report, held);
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

/// A server not read yet and down: its destinations on the board, as
/// `status` shows a server it cannot read.
fn unreachable(config: &Config, server: &str, error: &str, board: &Board) {
    let Some(one) = only(config, server) else {
        return;
    };
    let mut live = crate::live::LiveState::default();
    live.servers
        .insert(server.to_string(), Err(error.to_string()));
    let plan = crate::plan::plan(&one, &live, Default::default());
    let filter = crate::status::Filter {
        servers: Some(std::iter::once(server.to_string()).collect()),
        destinations: board.destinations(),
    };
    let report = crate::status::status(
        &one,
        &live,
        &plan,
        &filter,
        &std::collections::BTreeMap::new(),
    );
    board.unreachable(server, report);
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
) -> Result<(Plan, Scope, crate::live::LiveState), Dropped> {
    let live = session
        .read(config, lock, &Quiet)
        .await
        .map_err(|_| Dropped::Interrupted)?;
    let scope = match live.servers.iter().next() {
        Some((_, Err(e))) => return Err(Dropped::Read(e.clone())),
        Some((server, Ok(snapshot))) => Scope::new(config, server, snapshot),
        None => return Err(Dropped::NotRead),
    };
    let plan = crate::plan::plan(config, &live, Default::default());
    Ok((plan, scope, live))
}

/// What a step not attempted says.
const NOT_ATTEMPTED: &str = "not attempted";

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
            Outcome::NotAttempted => (false, Some(NOT_ATTEMPTED.to_string())),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_gits_messages_are_hidden() {
        assert_eq!(
            hide_credentials(
                "fatal: unable to access 'https://bot:ghp_s3cret@git.example/infra.git/': 403"
            ),
            "fatal: unable to access 'https://***@git.example/infra.git/': 403"
        );
        assert_eq!(
            hide_credentials("fatal: 'ssh://git@host/r' and http://plain.example/x"),
            "fatal: 'ssh://***@host/r' and http://plain.example/x"
        );
        assert_eq!(hide_credentials("no url here"), "no url here");
    }
}

//! `watch --listen`: watch's read-only HTTP endpoints — the live page
//! (`/`, pushed again on `/events` as server-sent events whenever the
//! board changes), `/status.json`, `/metrics` and `/healthz` — served with
//! hyper from the board `watch` keeps. The views come from the caller
//! (`WatchPages`); this module only routes, authenticates (a bearer token,
//! compared in constant time, required off loopback) and streams.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Bytes, Frame};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch as channel;

use super::{CancellationToken, Error, WatchEvent};
use crate::status::{Filter, Report};

/// The environment variable a token is read from when no other is named.
pub const TOKEN_ENV: &str = "BERTH_LISTEN_TOKEN";

/// How many recent events the board keeps.
const RECENT: usize = 100;

/// Where `--listen` serves, and where its token comes from.
#[derive(Debug, Clone)]
pub struct Listen {
    pub address: SocketAddr,
    pub token: TokenSource,
}

/// Where the bearer token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// An environment variable: `--listen-token-env NAME`, or
    /// `BERTH_LISTEN_TOKEN` when it is set.
    Env(String),
    /// `--listen-token-file PATH`: the file's first line.
    File(PathBuf),
}

/// The views the endpoints serve, supplied by the caller (`render::html`).
pub trait WatchPages: Send + Sync {
    /// The whole page: a self-contained HTML document.
    fn page(&self, board: &WatchBoard) -> String;
    /// The part of the page that `/events` pushes when the board changes.
    fn fragment(&self, board: &WatchBoard) -> String;
    /// The status document, as `status --format json` writes it.
    fn status_json(&self, report: &Report) -> String;
}

/// What watch knows of the fleet, as its last syncs left it: what the
/// page shows.
#[derive(Debug, Clone)]
pub struct WatchBoard {
    /// The fleet's status, merged from each server's last sync; a server
    /// not read yet, or down, has its reading's error set and its
    /// destinations `unknown`.
    pub status: Report,
    /// Changes the last sync of each server left unapplied, with why.
    pub held: Vec<Held>,
    /// Recent events, newest last (Docker events, plans and held changes,
    /// which the rest of the board shows, left out).
    pub events: Vec<(SystemTime, WatchEvent)>,
    /// When watch started.
    pub started: SystemTime,
    /// When the board last changed.
    pub updated: SystemTime,
}

/// A change watch does not apply, and why.
#[derive(Debug, Clone)]
pub struct Held {
    pub server: String,
    pub change: crate::plan::Change,
    pub why: String,
}

/// Each server's part, kept apart and merged for the page.
#[derive(Debug, Default)]
struct State {
    /// In the config's order: the server's name and address.
    servers: Vec<(String, String)>,
    reports: std::collections::BTreeMap<String, Report>,
    down: std::collections::BTreeMap<String, String>,
    held: std::collections::BTreeMap<String, Vec<Held>>,
    events: std::collections::VecDeque<(SystemTime, WatchEvent)>,
    updated: Option<SystemTime>,
}

/// The board watch writes and the endpoints read; `changed` ticks at each
/// write.
pub struct Board {
    state: Mutex<State>,
    started: SystemTime,
    changed: channel::Sender<u64>,
    /// `--destination`: only these destinations are shown.
    filter: Filter,
}

impl Board {
    pub fn new(filter: Filter) -> Board {
        Board {
            state: Mutex::new(State::default()),
            started: SystemTime::now(),
            changed: channel::channel(0).0,
            filter,
        }
    }

    fn write(&self, f: impl FnOnce(&mut State)) {
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut state);
            state.updated = Some(SystemTime::now());
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// `--destination`: the only destinations shown.
    pub fn destinations(&self) -> Option<std::collections::BTreeSet<String>> {
        self.filter.destinations.clone()
    }

    /// The servers watched, in the config's order.
    pub fn servers(&self, servers: Vec<(String, String)>) {
        self.write(|s| s.servers = servers);
    }

    /// A server's last sync: its status and what was left unapplied.
    pub fn synced(&self, server: &str, report: Report, held: Vec<Held>) {
        self.write(|s| {
            s.down.remove(server);
            s.reports.insert(server.to_string(), report);
            s.held.insert(server.to_string(), held);
        });
    }

    /// A server down that was never read: its destinations, `unknown`.
    pub fn unreachable(&self, server: &str, report: Report) {
        self.write(|s| {
            s.reports.entry(server.to_string()).or_insert(report);
        });
    }

    /// Keeps an event for the page, and a server's outage.
    pub fn event(&self, event: &WatchEvent) {
        if matches!(
            event,
            WatchEvent::Unrelated { .. }
                | WatchEvent::Docker { .. }
                | WatchEvent::Synced { .. }
                | WatchEvent::Held { .. }
        ) {
            return;
        }
        self.write(|s| {
            if let WatchEvent::Down { server, error, .. } = event {
                s.down.insert(server.clone(), error.clone());
            }
            s.events.push_back((SystemTime::now(), event.clone()));
            while s.events.len() > RECENT {
                s.events.pop_front();
            }
        });
    }

    /// The board as the page shows it now.
    pub fn snapshot(&self) -> WatchBoard {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut status = Report {
            format_version: crate::status::FORMAT_VERSION,
            servers: Vec::new(),
            destinations: Vec::new(),
            orphans: Vec::new(),
            drift: 0,
            usage_ms: None,
        };
        let mut held = Vec::new();
        for (name, address) in &state.servers {
            if !self
                .filter
                .servers
                .as_ref()
                .is_none_or(|s| s.contains(name))
            {
                continue;
            }
            let error = state.down.get(name).cloned().or_else(|| {
                (!state.reports.contains_key(name)).then(|| "not read yet".to_string())
            });
            match state.reports.get(name) {
                Some(r) => {
                    let mut r = r.clone();
                    if let Some(error) = &error {
                        down(&mut r, error);
                    } else {
                        status.drift += r.drift;
                    }
                    status.servers.extend(r.servers);
                    status.destinations.extend(r.destinations);
                    status.orphans.extend(r.orphans);
                }
                None => status.servers.push(crate::plan::ServerReading {
                    name: name.clone(),
                    address: address.clone(),
                    status: crate::plan::ServerHealth::Error,
                    error,
                    swarm: None,
                    depends_on: Vec::new(),
                }),
            }
            if !state.down.contains_key(name) {
                held.extend(state.held.get(name).into_iter().flatten().cloned());
            }
        }
        WatchBoard {
            status,
            held,
            events: state.events.iter().cloned().collect(),
            started: self.started,
            updated: state.updated.unwrap_or(self.started),
        }
    }
}

/// A server that is down: its reading says why, its destinations are
/// `unknown` with nothing known attached, as `status` says of a server it
/// cannot read.
fn down(r: &mut Report, error: &str) {
    for s in &mut r.servers {
        s.status = crate::plan::ServerHealth::Error;
        s.error = Some(error.to_string());
    }
    for d in &mut r.destinations {
        d.state = crate::status::DestinationState::Unknown;
        d.driver = None;
        d.subnet = None;
        d.gateway = None;
        d.attached.clear();
        d.detached.clear();
        d.not_found.clear();
        d.unused = false;
        d.changes = 0;
        d.services.clear();
    }
    r.orphans.clear();
    r.drift = 0;
}

/// A token, kept out of `Debug` output.
#[derive(Clone)]
struct Token([u8; 32]);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    fn new(secret: &str) -> Token {
        use sha2::Digest;
        Token(sha2::Sha256::digest(secret.as_bytes()).into())
    }

    /// Compares digests, so neither the time taken nor an early exit says
    /// anything about the token's length or content.
    fn matches(&self, given: &str) -> bool {
        let given = Token::new(given);
        self.0
            .iter()
            .zip(given.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Reads the token `listen` names; `None` when none is set and none is
/// needed (a loopback address). Never says the token's value.
fn token(listen: &Listen) -> Result<Option<Token>, Error> {
    let address = listen.address.to_string();
    let secret = match &listen.token {
        TokenSource::Env(name) => match std::env::var(name) {
            Ok(v) => Some((v, format!("the environment variable {name}"))),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::Listen {
                    address,
                    message: format!("the environment variable {name} is not UTF-8"),
                    hint: "set it to a token of printable characters".to_string(),
                });
            }
        },
        TokenSource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Listen {
                address: address.clone(),
                message: format!("cannot read the token file {}: {e}", path.display()),
                hint: "give --listen-token-file a readable file whose first line is the token"
                    .to_string(),
            })?;
            Some((
                text.lines().next().unwrap_or_default().to_string(),
                format!("the token file {}", path.display()),
            ))
        }
    };
    match secret {
        Some((value, from)) => {
            let value = value.trim();
            if value.is_empty() {
                return Err(Error::Listen {
                    address,
                    message: format!("{from} holds an empty token"),
                    hint:
                        "a token is any string that is hard to guess, e.g. `openssl rand -hex 32`"
                            .to_string(),
                });
            }
            Ok(Some(Token::new(value)))
        }
        None if listen.address.ip().is_loopback() => Ok(None),
        None => Err(Error::Listen {
            address,
            message: format!(
                "{} is not a loopback address, and no token is set: the page would be open to anyone who reaches it",
                listen.address
            ),
            hint: format!(
                "set {TOKEN_ENV} (or name another variable with --listen-token-env, or a file with --listen-token-file); clients send `Authorization: Bearer <token>`. Or listen on 127.0.0.1"
            ),
        }),
    }
}

/// A bound listener and what it serves.
pub struct Server {
    listener: tokio::net::TcpListener,
    token: Option<Token>,
}

/// Reads the token and binds the address: errors here stop watch before it
/// starts.
pub async fn bind(listen: &Listen) -> Result<Server, Error> {
    let token = token(listen)?;
    let listener = tokio::net::TcpListener::bind(listen.address)
        .await
        .map_err(|e| Error::Listen {
            address: listen.address.to_string(),
            message: format!("cannot listen on {}: {e}", listen.address),
            hint: "choose another port, or stop what listens there".to_string(),
        })?;
    Ok(Server { listener, token })
}

struct Shared {
    board: Arc<Board>,
    pages: Arc<dyn WatchPages>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    token: Option<Token>,
    cancel: CancellationToken,
}

/// At most this many connections at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;

/// Serves until cancelled.
pub async fn serve(
    server: Server,
    board: Arc<Board>,
    pages: Arc<dyn WatchPages>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    cancel: CancellationToken,
) {
    let shared = Arc::new(Shared {
        board,
        pages,
        metrics,
        token: server.token,
        cancel: cancel.clone(),
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = server.listener.accept() => a,
            _ = cancel.cancelled() => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors, say: wait a moment rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&shared, req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).boxed_unsync()
}

/// One request's answer.
fn respond(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "read-only: GET or HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = req.uri().path();
    // Says only that watch runs: load balancers probe it without a token.
    if path == "/healthz" {
        return finish(plain(StatusCode::OK, "ok\n"), head);
    }
    if let Some(token) = &shared.token {
        if !authorized(token, req.headers().get(header::AUTHORIZATION)) {
            let mut r = plain(
                StatusCode::UNAUTHORIZED,
                "a token is required: send `Authorization: Bearer <token>`\n",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"berth watch\", charset=\"UTF-8\""),
            );
            return finish(r, head);
        }
    }
    let r = match path {
        "/" | "/index.html" => typed(
            shared.pages.page(&shared.board.snapshot()),
            "text/html; charset=utf-8",
        ),
        "/status.json" => typed(
            shared.pages.status_json(&shared.board.snapshot().status),
            "application/json",
        ),
        "/metrics" => match &shared.metrics {
            Some(m) => typed(m.render(), "text/plain; version=0.0.4; charset=utf-8"),
            None => plain(StatusCode::NOT_FOUND, "no metrics\n"),
        },
        "/events" if !head => events(shared),
        "/events" => typed(String::new(), "text/event-stream"),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: /, /events, /status.json, /metrics, /healthz\n",
        ),
    };
    finish(r, head)
}

/// Bearer `<token>`, or Basic with the token as the password (what a
/// browser asks for).
fn authorized(token: &Token, header: Option<&HeaderValue>) -> bool {
    let Some(value) = header.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return token.matches(rest);
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        return text
            .split_once(':')
            .is_some_and(|(_, password)| token.matches(password));
    }
    false
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = typed(text.to_string(), "text/plain; charset=utf-8");
    *r.status_mut() = status;
    r
}

fn typed(body: String, content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(full(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// The headers every answer carries; a HEAD answer without its body.
fn finish(mut r: Response<Body>, head: bool) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    if head {
        let (parts, _) = r.into_parts();
        return Response::from_parts(parts, full(Bytes::new()));
    }
    r
}

/// `/events`: the page's fragment at once, then again whenever the board
/// changes (at most every 200 ms), and a comment every 15 s to keep
/// proxies from closing an idle stream.
fn events(shared: &Shared) -> Response<Body> {
    let board = shared.board.clone();
    let pages = shared.pages.clone();
    let cancel = shared.cancel.clone();
    let mut changed = board.changed.subscribe();
    changed.mark_changed();
    let stream = futures_util::stream::unfold(
        (board, pages, changed, cancel),
        |(board, pages, mut changed, cancel)| async move {
            let frame = tokio::select! {
                c = changed.changed() => {
                    if c.is_err() {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    changed.borrow_and_update();
                    sse("page", &pages.fragment(&board.snapshot()))
                }
                _ = tokio::time::sleep(Duration::from_secs(15)) => ": keep-alive\n\n".to_string(),
                _ = cancel.cancelled() => return None,
            };
            Some((
                Ok::<_, Infallible>(Frame::data(Bytes::from(frame))),
                (board, pages, changed, cancel),
            ))
        },
    );
    let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    r
}

/// One server-sent event: each line of `data` a `data:` line.
fn sse(event: &str, data: &str) -> String {
    let mut out = format!("event: {event}\n");
    for line in data.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_itself() {
        let t = Token::new("s3cret");
        assert!(t.matches("s3cret"));
        assert!(!t.matches("s3cret "));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains("s3cret"));
        let bearer = HeaderValue::from_static("Bearer s3cret");
        assert!(authorized(&t, Some(&bearer)));
        // user:s3cret
        let basic = HeaderValue::from_static("Basic dXNlcjpzM2NyZXQ=");
        assert!(authorized(&t, Some(&basic)));
        let wrong = HeaderValue::from_static("Bearer nope");
        assert!(!authorized(&t, Some(&wrong)));
        assert!(!authorized(&t, None));
    }

    #[test]
    fn an_event_is_data_lines() {
        assert_eq!(
            sse("page", "<a>\n<b>"),
            "event: page\ndata: <a>\ndata: <b>\n\n"
        );
    }

    #[test]
    fn off_loopback_a_token_is_required() {
        let open = Listen {
            address: "0.0.0.0:8080".parse().expect("an address"),
            token: TokenSource::Env("BERTH_TEST_NO_SUCH_VARIABLE".into()),
        };
        let e = token(&open).expect_err("refused");
        assert!(e.to_string().contains("no token is set"), "{e}");
        let local = Listen {
            address: "127.0.0.1:8080".parse().expect("an address"),
            ..open
        };
        assert!(token(&local).expect("fine").is_none());
    }
}

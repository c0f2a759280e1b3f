//! Delivery: each alert's receiver has a task of its own fed by a bounded
//! queue, so a dead or hung receiver never slows watch (a full queue drops
//! the notice and counts it). A notice is POSTed with a timeout, retried
//! with backoff on a network error, a 5xx or a 429, within the alert's
//! hourly rate. The URL is read once, at start, and never shown: errors
//! name where it came from (`url from $BERTH_ALERT_URL`).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::{Notice, NoticeState};
use crate::config::{Alert, AlertCondition, AlertKind, UrlFrom};

/// How long one attempt waits for the receiver's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Notices waiting for one receiver; more are dropped.
const QUEUE: usize = 64;
/// Attempts after the first.
const RETRIES: usize = 3;

/// A receiver that cannot be used, said without its URL.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("alert `{alert}`: the environment variable ${var} is not set")]
    MissingEnv { alert: String, var: String },
    #[error("alert `{alert}`: cannot read the URL from {}: {cause}", path.display())]
    File {
        alert: String,
        path: std::path::PathBuf,
        cause: std::io::Error,
    },
    #[error("alert `{alert}` ({from}): {why}")]
    BadUrl {
        alert: String,
        from: UrlFrom,
        why: String,
    },
}

impl AlertError {
    pub fn hint(&self) -> String {
        match self {
            AlertError::MissingEnv { var, .. } => format!(
                "set {var} to the receiver's URL in watch's environment (for the systemd unit: an `EnvironmentFile=`)"
            ),
            AlertError::File { .. } => {
                "write the URL on the first line of that file, readable by the user watch runs as"
                    .to_string()
            }
            AlertError::BadUrl { .. } => {
                "the URL must be an http:// or https:// URL (a Slack incoming webhook, an ntfy topic, your webhook)".to_string()
            }
        }
    }
}

/// An alert ready to send: its URL read and checked.
#[derive(Clone)]
pub struct Receiver {
    pub name: String,
    kind: AlertKind,
    url: Uri,
    /// The URL as read, to scrub from error messages.
    secret: String,
    from: UrlFrom,
    max_per_hour: u32,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "alert `{}` ({})", self.name, self.from)
    }
}

/// Reads every alert's URL (from its variable or file): an error names the
/// first that cannot be used.
pub fn receivers(alerts: &[Alert]) -> Result<Vec<Receiver>, AlertError> {
    alerts.iter().map(receiver).collect()
}

fn receiver(a: &Alert) -> Result<Receiver, AlertError> {
    let text = match &a.url {
        UrlFrom::Env(var) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => v,
            _ => {
                return Err(AlertError::MissingEnv {
                    alert: a.name.clone(),
                    var: var.clone(),
                });
            }
        },
        UrlFrom::File(path) => std::fs::read_to_string(path)
            .map_err(|cause| AlertError::File {
                alert: a.name.clone(),
                path: path.clone(),
                cause,
            })?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let secret = text.trim().to_string();
    let bad = |why: &str| AlertError::BadUrl {
        alert: a.name.clone(),
        from: a.url.clone(),
        why: why.to_string(),
    };
    let url: Uri = secret.parse().map_err(|_| bad("the value is not a URL"))?;
    match url.scheme_str() {
        Some("http" | "https") if url.host().is_some() => {}
        _ => return Err(bad("the value is not an http:// or https:// URL")),
    }
    Ok(Receiver {
        name: a.name.clone(),
        kind: a.kind,
        url,
        secret,
        from: a.url.clone(),
        max_per_hour: a.max_per_hour,
    })
}

/// What became of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        attempts: u32,
    },
    Failed {
        attempts: u32,
        error: String,
    },
    /// Not sent: the alert's hourly rate was reached, or its queue was full.
    Dropped {
        why: String,
    },
}

/// A notice's delivery, as watch logs it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub alert: String,
    /// `url from $BERTH_ALERT_URL`: where the URL came from, never the URL.
    pub from: String,
    pub condition: AlertCondition,
    pub state: NoticeState,
    pub subject: String,
    pub outcome: Outcome,
}

/// The receivers' queues.
pub struct Dispatcher {
    queues: HashMap<String, (mpsc::Sender<Notice>, String)>,
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

impl Dispatcher {
    /// Starts one task per receiver (on the current tokio runtime); each
    /// reports what became of every notice on `outcomes` (dropped when
    /// that is full).
    pub fn start(receivers: Vec<Receiver>, outcomes: mpsc::Sender<Delivery>) -> Dispatcher {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let client: Client<Https, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
        let mut queues = HashMap::new();
        for r in receivers {
            let (tx, rx) = mpsc::channel(QUEUE);
            queues.insert(r.name.clone(), (tx, r.from.to_string()));
            tokio::spawn(deliver(r, client.clone(), rx, outcomes.clone()));
        }
        Dispatcher { queues }
    }

    /// Queues a notice for its alert's receiver; what was dropped, when
    /// the queue is full.
    pub fn dispatch(&self, notice: Notice) -> Option<Delivery> {
        let (queue, from) = self.queues.get(&notice.alert)?;
        match queue.try_send(notice) {
            Ok(()) => None,
            Err(e) => {
                let notice = match e {
                    mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => n,
                };
                metrics::counter!("berth_alerts_dropped_total", "alert" => notice.alert.clone(), "reason" => "queue_full").increment(1);
                Some(Delivery {
                    alert: notice.alert,
                    from: from.clone(),
                    condition: notice.condition,
                    state: notice.state,
                    subject: notice.subject,
                    outcome: Outcome::Dropped {
                        why: format!("{QUEUE} notices are waiting for the receiver already"),
                    },
                })
            }
        }
    }
}

/// One receiver's task: its notices in order, within its hourly rate.
async fn deliver(
    r: Receiver,
    client: Client<Https, Full<Bytes>>,
    mut queue: mpsc::Receiver<Notice>,
    outcomes: mpsc::Sender<Delivery>,
) {
    let r = Arc::new(r);
    let mut sent: VecDeque<Instant> = VecDeque::new();
    while let Some(notice) = queue.recv().await {
        let now = Instant::now();
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            sent.pop_front();
        }
        let outcome = if sent.len() >= r.max_per_hour as usize {
            metrics::counter!("berth_alerts_dropped_total", "alert" => r.name.clone(), "reason" => "rate_limit").increment(1);
            Outcome::Dropped {
                why: format!("max_per_hour ({}) reached", r.max_per_hour),
            }
        } else {
            sent.push_back(now);
            send(&client, &r, &notice).await
        };
        match &outcome {
            Outcome::Sent { .. } => {
                metrics::counter!("berth_alerts_sent_total", "alert" => r.name.clone())
                    .increment(1);
            }
            Outcome::Failed { .. } => {
                metrics::counter!("berth_alerts_failed_total", "alert" => r.name.clone())
                    .increment(1);
            }
            Outcome::Dropped { .. } => {}
        }
        let _ = outcomes.try_send(Delivery {
            alert: notice.alert,
            from: r.from.to_string(),
            condition: notice.condition,
            state: notice.state,
            subject: notice.subject,
            outcome,
        });
    }
}

/// Why an attempt failed, and whether another may do better.
struct Failure {
    message: String,
    retry: bool,
}

/// POSTs the notice, retrying with backoff (1 s, doubling, with jitter).
async fn send(client: &Client<Https, Full<Bytes>>, r: &Receiver, notice: &Notice) -> Outcome {
    let attempts = AtomicU32::new(0);
    let backoff = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(RETRIES);
    let once = || async {
        attempts.fetch_add(1, Ordering::Relaxed);
        post(client, r, notice).await
    };
    let result = once.retry(backoff).when(|f: &Failure| f.retry).await;
    let attempts = attempts.load(Ordering::Relaxed);
    match result {
        Ok(()) => Outcome::Sent { attempts },
        Err(f) => Outcome::Failed {
            attempts,
            error: f.message,
        },
    }
}

async fn post(
    client: &Client<Https, Full<Bytes>>,
    r: &Receiver,
    notice: &Notice,
) -> Result<(), Failure> {
    let request = request(r, notice).map_err(|e| Failure {
        message: scrub(r, &format!("cannot make the request: {e}")),
        retry: false,
    })?;
    let answer = tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request))
        .await
        .map_err(|_| Failure {
            message: format!(
                "no answer within {}",
                humantime::format_duration(ATTEMPT_TIMEOUT)
            ),
            retry: true,
        })?
        .map_err(|e| Failure {
            message: scrub(r, &chain(&e)),
            retry: true,
        })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    Err(Failure {
        message: format!("the receiver answered {status}"),
        retry: status.is_server_error() || status.as_u16() == 429,
    })
}

/// The request for the receiver's kind.
fn request(r: &Receiver, n: &Notice) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
    let builder = Request::post(r.url.clone()).header(
        header::USER_AGENT,
        concat!("berth/", env!("CARGO_PKG_VERSION")),
    );
    match r.kind {
        AlertKind::Webhook => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(
                serde_json::to_vec(n).expect("a notice serializes"),
            ))),
        AlertKind::Slack => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(slack(n).to_string()))),
        AlertKind::Ntfy => {
            let (title, priority, tags) = ntfy_headers(n);
            builder
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .header("Title", title)
                .header("Priority", priority)
                .header("Tags", tags)
                .body(Full::new(Bytes::from(text(n))))
        }
    }
}

/// The notice as text: the summary, then the detail.
fn text(n: &Notice) -> String {
    if n.detail.is_empty() {
        n.summary.clone()
    } else {
        format!("{}\n\n{}", n.summary, n.detail)
    }
}

/// A Slack-compatible incoming webhook's body: `{"text": …}`, Slack's
/// `&`, `<` and `>` escaped.
fn slack(n: &Notice) -> serde_json::Value {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let icon = match n.state {
        NoticeState::Firing => ":rotating_light:",
        NoticeState::Resolved => ":white_check_mark:",
    };
    let mut text = format!(
        "{icon} *berth {}* `{}` {}",
        n.state,
        n.condition,
        escape(&n.summary)
    );
    if !n.detail.is_empty() {
        text.push_str(&format!("\n```{}```", escape(&n.detail)));
    }
    serde_json::json!({ "text": text })
}

/// ntfy's Title, Priority and Tags (header values: printable ASCII only).
fn ntfy_headers(n: &Notice) -> (String, &'static str, &'static str) {
    let title = format!("berth {}: {} {}", n.alert, n.condition, n.state)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    match n.state {
        NoticeState::Firing => (title, "high", "warning,berth"),
        NoticeState::Resolved => (title, "default", "white_check_mark,berth"),
    }
}

/// An error with its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The message with the URL, and its path and query, taken out.
fn scrub(r: &Receiver, message: &str) -> String {
    let mut out = message.replace(&r.secret, "<url>");
    if let Some(pq) = r.url.path_and_query() {
        if pq.as_str().len() > 1 {
            out = out.replace(pq.as_str(), "/<path>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    fn notice(state: NoticeState) -> Notice {
        Notice {
            format_version: 1,
            alert: "ops".into(),
            condition: AlertCondition::ServerDown,
            state,
            subject: "server s1".into(),
            server: Some("s1".into()),
            summary: "server s1 <is> unreachable".into(),
            detail: "connection refused".into(),
            since: "2027-01-15T08:00:00Z".into(),
            at: "2027-01-15T08:02:00Z".into(),
            owner: "me".into(),
            commit: None,
            last_good_commit: None,
        }
    }

    fn alert(url: UrlFrom) -> Alert {
        Alert {
            name: "ops".into(),
            kind: AlertKind::Ntfy,
            url,
            on: vec![AlertCondition::ServerDown],
            grace: Duration::ZERO,
            max_per_hour: 30,
            at: Location {
                file: "a.toml".into(),
                span: 0..0,
            },
        }
    }

    /// HTTPS works through rustls (its crypto provider chosen, the roots
    /// built in): a server that speaks plain HTTP on the port is a TLS
    /// error, said without the URL, and no panic.
    #[test]
    fn https_goes_through_rustls_and_its_errors_never_show_the_url() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten().take(1) {
                let mut stream = stream;
                let mut hello = [0u8; 512];
                let _ = stream.read(&mut hello);
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("url");
        std::fs::write(&file, format!("https://127.0.0.1:{port}/sEcReT-topic")).expect("write");
        let mut a = alert(UrlFrom::File(file));
        a.kind = AlertKind::Webhook;
        let r = receiver(&a).expect("a receiver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let failure = rt.block_on(async {
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_webpki_roots()
                .https_or_http()
                .enable_http1()
                .build();
            let client: Client<Https, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build(https);
            post(&client, &r, &notice(NoticeState::Firing)).await
        });
        let failure = failure.expect_err("not TLS");
        assert!(failure.retry);
        assert!(!failure.message.contains("sEcReT"), "{}", failure.message);
        assert!(
            failure.message.contains("corrupt message"),
            "not rustls's error: {}",
            failure.message
        );
    }

    /// A local receiver: answers 200 to each request, or never answers.
    fn listen(answer: bool) -> u16 {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut stream in listener.incoming().flatten() {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                if answer {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                } else {
                    held.push(stream);
                }
            }
        });
        port
    }

    fn local(port: u16, max_per_hour: u32) -> Receiver {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("url");
        std::fs::write(&file, format!("http://127.0.0.1:{port}/hook")).expect("write");
        let mut a = alert(UrlFrom::File(file));
        a.kind = AlertKind::Webhook;
        a.max_per_hour = max_per_hour;
        receiver(&a).expect("a receiver")
    }

    #[test]
    fn the_hourly_rate_and_a_full_queue_drop_notices_and_say_so() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(16);
            let d = Dispatcher::start(vec![local(listen(true), 1)], tx);
            assert!(d.dispatch(notice(NoticeState::Firing)).is_none());
            assert!(d.dispatch(notice(NoticeState::Resolved)).is_none());
            let first = rx.recv().await.expect("a delivery");
            assert_eq!(first.outcome, Outcome::Sent { attempts: 1 });
            assert_eq!(first.from, first.from.trim());
            let second = rx.recv().await.expect("a delivery");
            assert_eq!(
                second.outcome,
                Outcome::Dropped {
                    why: "max_per_hour (1) reached".into()
                }
            );

            // A receiver that never answers: the queue fills, and the
            // notices after it are dropped at once.
            let (tx, _rx) = mpsc::channel(16);
            let d = Dispatcher::start(vec![local(listen(false), 1000)], tx);
            let started = Instant::now();
            let dropped: Vec<Delivery> = (0..QUEUE + 8)
                .filter_map(|_| d.dispatch(notice(NoticeState::Firing)))
                .collect();
            assert!(started.elapsed() < Duration::from_millis(100));
            assert!(dropped.len() >= 6, "{dropped:?}");
            assert!(matches!(&dropped[0].outcome, Outcome::Dropped { why } if why.contains("waiting for the receiver")));
        });
    }

    #[test]
    fn slack_and_ntfy_say_the_summary_and_detail() {
        let body = slack(&notice(NoticeState::Firing));
        assert_eq!(
            body["text"],
            ":rotating_light: *berth firing* `server_down` server s1 &lt;is&gt; unreachable\n```connection refused```"
        );
        let (title, priority, tags) = ntfy_headers(&notice(NoticeState::Resolved));
        assert_eq!(title, "berth ops: server_down resolved");
        assert_eq!((priority, tags), ("default", "white_check_mark,berth"));
        assert_eq!(
            text(&notice(NoticeState::Firing)),
            "server s1 <is> unreachable\n\nconnection refused"
        );
    }

    #[test]
    fn a_url_comes_from_a_file_or_the_environment_and_errors_never_show_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("url");
        std::fs::write(&file, "https://ntfy.example/sEcReT-topic\n").expect("write");
        let r = receiver(&alert(UrlFrom::File(file.clone()))).expect("a receiver");
        assert_eq!(r.url.host(), Some("ntfy.example"));
        assert_eq!(
            format!("{r:?}"),
            format!("alert `ops` (url from file {})", file.display())
        );
        assert_eq!(
            scrub(
                &r,
                "error sending to https://ntfy.example/sEcReT-topic: 500 at /sEcReT-topic"
            ),
            "error sending to <url>: 500 at /<path>"
        );
        let missing =
            receiver(&alert(UrlFrom::Env("BERTH_TEST_UNSET_ALERT_URL".into()))).expect_err("unset");
        assert_eq!(
            missing.to_string(),
            "alert `ops`: the environment variable $BERTH_TEST_UNSET_ALERT_URL is not set"
        );
        std::fs::write(&file, "ftp://sEcReT\n").expect("write");
        let bad = receiver(&alert(UrlFrom::File(file))).expect_err("not http");
        assert!(!bad.to_string().contains("sEcReT"), "{bad}");
    }
}

//! The Docker API simulator: one tokio runtime serving HTTP/1.1 (hyper) on
//! N unix sockets, each socket one simulated server. Every server answers
//! with the responses recorded from a real engine
//! (`benches/fixtures/fleet_sim/`, see `record.rs`): the same state on
//! each, since a config names networks and containers per server anyway.
//! The lock volumes are the one state kept per server (create returns the
//! existing volume, as Docker does; inspect, list, remove), built from the
//! recorded volume. A request nothing was recorded for is logged, counted
//! and answered 500: the bench fails on it, so a berth that starts calling
//! another endpoint cannot be timed against answers it never gets.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Where the recorded responses live.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures/fleet_sim")
}

/// One recorded request and its response, as `index.json` lists them; the
/// body is in `file`, byte for byte as the engine sent it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    /// Path and query, without a `/v1.xx` prefix.
    pub path: String,
    pub status: u16,
    /// The response headers worth replaying (`Content-Type`, `Api-Version`, …).
    pub headers: Vec<(String, String)>,
    /// The request body (a volume create's JSON), for the record only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_body: String,
    /// The response body's file, beside `index.json`.
    pub file: String,
}

/// `index.json`: how the fixtures were made, and every exchange.
#[derive(Debug, Serialize, Deserialize)]
pub struct Index {
    /// `docker version` of the engine recorded.
    pub engine: String,
    pub recorded_at: String,
    /// What the recorder ran, in words.
    pub method: String,
    pub exchanges: Vec<Exchange>,
}

/// A response to replay.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

/// The recorded answers, keyed by method and path.
pub struct Recorded {
    answers: HashMap<(String, String), Canned>,
    /// A volume as the engine describes one (the recorded lock volume):
    /// new lock volumes are this with their name and labels.
    volume: Value,
    /// Headers of a JSON answer (from the recorded volume create).
    json_headers: Vec<(String, String)>,
    pub index: Index,
}

impl Recorded {
    /// Reads `index.json` and the bodies it names.
    pub fn load(dir: &Path) -> Result<Recorded, String> {
        let index_path = dir.join("index.json");
        let text = std::fs::read_to_string(&index_path).map_err(|e| {
            format!(
                "{}: {e} (record the fixtures first: `cargo bench --bench fleet_sim -- --record`)",
                index_path.display()
            )
        })?;
        let index: Index =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", index_path.display()))?;
        let mut answers = HashMap::new();
        let mut volume = None;
        let mut json_headers = Vec::new();
        for x in &index.exchanges {
            let body = std::fs::read(dir.join(&x.file))
                .map_err(|e| format!("{}: {e}", dir.join(&x.file).display()))?;
            if x.method == "POST" && x.path.starts_with("/volumes/create") {
                volume = Some(
                    serde_json::from_slice::<Value>(&body)
                        .map_err(|e| format!("{}: {e}", x.file))?,
                );
                json_headers = x.headers.clone();
            }
            answers
                .entry((x.method.clone(), x.path.clone()))
                .or_insert(Canned {
                    status: x.status,
                    headers: x.headers.clone(),
                    body: Bytes::from(body),
                });
        }
        let volume = volume.ok_or_else(|| {
            format!(
                "{}: no recorded POST /volumes/create (the lock volume)",
                index_path.display()
            )
        })?;
        Ok(Recorded {
            answers,
            volume,
            json_headers,
            index,
        })
    }
}

/// How a simulated server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers as recorded.
    Answer,
    /// Accepts connections and never answers (a hung daemon).
    Silent,
}

struct Shared {
    recorded: Recorded,
    /// Lock volumes, per server: name → the volume's JSON.
    volumes: Vec<Mutex<BTreeMap<String, Value>>>,
    requests: AtomicUsize,
    unknown: Mutex<Vec<String>>,
}

/// The running simulator; stopped (every socket closed) when dropped.
pub struct Simulator {
    runtime: Option<tokio::runtime::Runtime>,
    sockets: Vec<PathBuf>,
    shared: Arc<Shared>,
    _dir: tempfile::TempDir,
}

impl Simulator {
    /// Listens on one socket per entry of `servers`, on `threads` runtime
    /// threads.
    pub fn start(recorded: Recorded, servers: &[Behaviour], threads: usize) -> Simulator {
        let dir = tempfile::Builder::new()
            .prefix("fsim-")
            .tempdir()
            .expect("simulator dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("docker-sim")
            .enable_all()
            .build()
            .expect("simulator runtime");
        let shared = Arc::new(Shared {
            recorded,
            volumes: servers
                .iter()
                .map(|_| Mutex::new(BTreeMap::new()))
                .collect(),
            requests: AtomicUsize::new(0),
            unknown: Mutex::new(Vec::new()),
        });
        let mut sockets = Vec::with_capacity(servers.len());
        for (i, behaviour) in servers.iter().copied().enumerate() {
            let path = dir.path().join(format!("s{i}.sock"));
            let listener = {
                let _in = runtime.enter();
                tokio::net::UnixListener::bind(&path)
                    .unwrap_or_else(|e| panic!("bind {}: {e}", path.display()))
            };
            let shared = shared.clone();
            runtime.spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        // Out of descriptors, most likely: say so, keep going.
                        eprintln!("docker-sim: accept failed on server {i}");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if behaviour == Behaviour::Silent {
                            // Hold the connection open, read nothing, answer nothing.
                            let _held = stream;
                            return std::future::pending::<()>().await;
                        }
                        let service = hyper::service::service_fn(move |req| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(answer(&shared, i, req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            sockets.push(path);
        }
        Simulator {
            runtime: Some(runtime),
            sockets,
            shared,
            _dir: dir,
        }
    }

    /// The socket of server `i`.
    pub fn socket(&self, i: usize) -> &Path {
        &self.sockets[i]
    }

    /// Requests answered (or refused) so far, every server.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Requests nothing was recorded for, so far.
    pub fn unknown(&self) -> Vec<String> {
        self.shared
            .unknown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Lock volumes held now, every server.
    pub fn lock_volumes(&self) -> usize {
        self.shared
            .volumes
            .iter()
            .map(|v| v.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// `/v1.41/containers/json` → `/containers/json`.
pub fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    if end > 0 && rest[..end].chars().all(|c| c.is_ascii_digit() || c == '.') {
        &rest[end..]
    } else {
        path
    }
}

async fn answer(shared: &Shared, server: usize, req: Request<Incoming>) -> Response<Full<Bytes>> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method().as_str().to_string();
    let path = strip_version(
        req.uri()
            .path_and_query()
            .map_or(req.uri().path(), |p| p.as_str()),
    )
    .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(r) = volumes(shared, server, &method, &path, &body) {
        return r;
    }
    match shared.recorded.answers.get(&(method.clone(), path.clone())) {
        Some(c) => respond(c.status, &c.headers, c.body.clone()),
        None => {
            let what = format!("{method} {path}");
            eprintln!("docker-sim: server {server}: nothing recorded for {what}");
            shared
                .unknown
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(what.clone());
            let body = json!({ "message": format!("docker-sim: nothing recorded for {what}") });
            respond(
                500,
                &shared.recorded.json_headers,
                Bytes::from(body.to_string()),
            )
        }
    }
}

/// The lock volumes, kept per server: `POST /volumes/create` (the existing
/// volume when there is one, as Docker does), `GET /volumes/{name}`,
/// `DELETE /volumes/{name}`, `GET /volumes`.
fn volumes(
    shared: &Shared,
    server: usize,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<Response<Full<Bytes>>> {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let headers = &shared.recorded.json_headers;
    let ok = |status: u16, v: &Value| respond(status, headers, Bytes::from(v.to_string()));
    let mut held = shared.volumes[server]
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    match (method, route) {
        ("POST", "/volumes/create") => {
            let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let name = req["Name"].as_str().unwrap_or("unnamed").to_string();
            let volume = held.entry(name.clone()).or_insert_with(|| {
                let mut v = shared.recorded.volume.clone();
                v["Name"] = json!(name);
                v["Labels"] = req.get("Labels").cloned().unwrap_or(json!({}));
                v["Mountpoint"] = json!(format!("/var/lib/docker/volumes/{name}/_data"));
                v
            });
            Some(ok(201, volume))
        }
        ("GET", "/volumes") => {
            let _ = query;
            let list: Vec<&Value> = held.values().collect();
            Some(ok(200, &json!({ "Volumes": list, "Warnings": null })))
        }
        ("GET", r) | ("DELETE", r) if r.starts_with("/volumes/") => {
            let name = &r["/volumes/".len()..];
            let missing = json!({ "message": format!("get {name}: no such volume") });
            Some(match (method, held.get(name).is_some()) {
                ("GET", true) => ok(200, &held[name]),
                ("DELETE", true) => {
                    held.remove(name);
                    respond(204, &[], Bytes::new())
                }
                _ => ok(404, &missing),
            })
        }
        _ => None,
    }
}

fn respond(status: u16, headers: &[(String, String)], body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(k.as_str(), v.as_str());
    }
    r.body(Full::new(body)).expect("a valid response")
}

//! The recorder (`cargo bench --bench fleet_sim -- --record`): makes the
//! fixtures the simulator answers with, from a real Docker Engine.
//!
//! It starts a second `dockerd` of its own (network namespace, as the test
//! harness does: a clean engine, nothing of anyone else's in its lists),
//! runs the fleet's containers there (`coolify-proxy` and one application
//! per destination), applies the fleet's config for one server (three
//! destinations, the proxy on every one of them, each application on its
//! own), then runs `berth plan --format json` and a steady-state
//! `berth apply --yes` (which takes and releases the lock volume) through a
//! recording proxy, and asks `/_ping`, `/version` and `/info` through it as
//! well. Every request and its response (status, headers, body byte for
//! byte) is written to `benches/fixtures/fleet_sim/`; the daemon and
//! everything on it go when it is done.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::common::daemon::SecondDaemon;
use crate::common::{Project, TEST_IMAGE, berth_raw, ensure_image};
use crate::sim::{Exchange, Index, fixtures_dir, strip_version};

/// Response headers worth replaying; `Date`, `Content-Length` and
/// `Transfer-Encoding` are the simulator's own.
const KEPT_HEADERS: [&str; 5] = [
    "content-type",
    "api-version",
    "docker-experimental",
    "ostype",
    "server",
];

type Log = Arc<Mutex<Vec<(Exchange, Bytes)>>>;
type Upstream = hyper_util::client::legacy::Client<hyperlocal::UnixConnector, Full<Bytes>>;

pub fn run() {
    ensure_image();
    eprintln!("recording: starting a dockerd of its own ...");
    let daemon = SecondDaemon::start();
    daemon.load_image(TEST_IMAGE);
    for name in crate::container_names() {
        daemon.docker_ok(&["run", "-d", "--name", &name, TEST_IMAGE, "sleep", "86400"]);
    }
    let engine = daemon
        .docker(&[
            "version",
            "--format",
            "Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})",
        ])
        .stdout;
    let engine = String::from_utf8_lossy(&engine).trim().to_string();

    let setup = Project::new();
    setup.write(
        "berth.toml",
        &crate::config(&[format!(
            "address = \"unix://{}\"\n",
            daemon.socket.display()
        )]),
    );
    let run = berth_raw(&setup.args(&["apply", "--yes"]), setup.path());
    assert_eq!(run.code, 0, "setup apply failed\n{run}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let (_dir, proxy) = start_proxy(&runtime, &daemon.socket, log.clone());

    let p = Project::new();
    p.write(
        "berth.toml",
        &crate::config(&[format!("address = \"unix://{}\"\n", proxy.display())]),
    );
    let plan = berth_raw(&p.args(&["plan", "--format", "json"]), p.path());
    assert_eq!(plan.code, 0, "plan failed\n{plan}");
    assert!(
        plan.json()["changes"]
            .as_array()
            .is_some_and(|c| c.is_empty()),
        "the recorded state is not the config's steady state\n{plan}"
    );
    let apply = berth_raw(&p.args(&["apply", "--yes"]), p.path());
    assert_eq!(apply.code, 0, "steady apply failed\n{apply}");
    runtime.block_on(async {
        let client: Upstream = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build(hyperlocal::UnixConnector);
        for path in ["/_ping", "/version", "/info"] {
            let req = Request::get(hyperlocal::Uri::new(&proxy, path))
                .body(Full::new(Bytes::new()))
                .expect("request");
            let resp = client.request(req).await.expect("ask through the proxy");
            let _ = resp.into_body().collect().await;
        }
    });

    let dir = fixtures_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the old fixtures");
    }
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    let mut exchanges: Vec<Exchange> = Vec::new();
    for (mut x, body) in log.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        if exchanges
            .iter()
            .any(|e| e.method == x.method && e.path == x.path)
        {
            continue;
        }
        x.file = format!("{:02}-{}-{}.json", exchanges.len(), x.method, slug(&x.path));
        std::fs::write(dir.join(&x.file), &body).expect("write a body");
        exchanges.push(x);
    }
    let index = Index {
        engine,
        recorded_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        method: "benches/fleet_sim/record.rs: a dockerd of its own (network namespace) running \
                 coolify-proxy and app0..app2 (berth-test/busybox:1, `sleep`); the fleet config \
                 for one server applied; then `berth plan --format json` and a steady-state \
                 `berth apply --yes` through a recording proxy, and GET /_ping, /version, /info; \
                 the first response to each method and path is kept, its body byte for byte"
            .into(),
        exchanges,
    };
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_string_pretty(&index).expect("index") + "\n",
    )
    .expect("write index.json");
    std::fs::write(
        dir.join("berth.toml"),
        crate::config(&["address = \"local\"\n".to_string()]),
    )
    .expect("write the recorded config");
    println!(
        "recorded {} exchanges from {} into {}",
        index.exchanges.len(),
        index.engine,
        dir.display()
    );
    for x in &index.exchanges {
        println!("  {} {} -> {}", x.method, x.path, x.status);
    }
    runtime.shutdown_background();
    drop(daemon);
}

/// A file-name-safe form of a request path.
fn slug(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let s: String = path
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.chars().take(48).collect()
}

/// A proxy on a new unix socket in front of `upstream` that logs every
/// exchange whole. Returns its directory (keep it) and socket.
fn start_proxy(
    runtime: &tokio::runtime::Runtime,
    upstream: &Path,
    log: Log,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("fsim-rec-")
        .tempdir()
        .expect("proxy dir");
    let socket = dir.path().join("docker.sock");
    let listener = {
        let _in = runtime.enter();
        tokio::net::UnixListener::bind(&socket).expect("bind the recording proxy")
    };
    let upstream = upstream.to_path_buf();
    let client: Upstream = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build(hyperlocal::UnixConnector);
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (client, upstream, log) = (client.clone(), upstream.clone(), log.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let (client, upstream, log) = (client.clone(), upstream.clone(), log.clone());
                    async move { Ok::<_, Infallible>(forward(&client, &upstream, &log, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (dir, socket)
}

async fn forward(
    client: &Upstream,
    upstream: &Path,
    log: &Log,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let pq = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str())
        .to_string();
    let mut out = Request::builder()
        .method(parts.method.clone())
        .uri(hyperlocal::Uri::new(upstream, &pq));
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST {
            out = out.header(k, v);
        }
    }
    let sent = client
        .request(out.body(Full::new(body.clone())).expect("request"))
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => panic!("recording proxy: {} {pq}: {e}", parts.method),
    };
    let (rparts, rbody) = resp.into_parts();
    let rbody = rbody
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = rparts
        .headers
        .iter()
        .filter(|(k, _)| KEPT_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    log.lock().unwrap_or_else(|p| p.into_inner()).push((
        Exchange {
            method: parts.method.to_string(),
            path: strip_version(&pq).to_string(),
            status: rparts.status.as_u16(),
            headers: headers.clone(),
            request_body: String::from_utf8_lossy(&body).into_owned(),
            file: String::new(),
        },
        rbody.clone(),
    ));
    let mut r = Response::builder().status(rparts.status);
    for (k, v) in &headers {
        r = r.header(k.as_str(), v.as_str());
    }
    r.body(Full::new(rbody)).expect("response")
}

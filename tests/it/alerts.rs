//! `[[alert]]` from `berth watch`, against a local HTTP receiver in the
//! test: a server that goes down and comes back, a change held back past
//! its grace, a failing apply, an invalid commit on the watched ref and a
//! failing fetch each give exactly one `firing` and one `resolved` notice,
//! with the bodies a webhook, an ntfy topic and a Slack hook get; a
//! receiver that hangs does not slow healing; the URL never reaches
//! watch's output; `validate` checks the tables.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::common::config::{
    aliases_line, application, destination, local_header, resource_head, server, settings,
};
use crate::common::spawn::Spawned;
use crate::common::{
    Cleanup, Project, container_networks, docker_ok, docker_socket, ensure_image, unique,
};
use crate::git::git_ok;
use crate::watch::Watcher;

/// The variable the tests put the receiver's URL in.
const VAR: &str = "BERTH_TEST_ALERT_URL";
/// Part of the URL's path: it must never reach watch's output.
const TOKEN: &str = "s3cret-t0ken";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// A tiny HTTP receiver on a loopback port: records every request, and
/// answers 200, or never answers (`hang`).
struct Receiver {
    addr: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(hang: bool) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        thread::spawn(move || {
            // Connections left unanswered stay open here.
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                record
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(request);
                if hang {
                    held.push(stream);
                } else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            }
        });
        Receiver { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/{TOKEN}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn json(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .map(|r| serde_json::from_str(&r.body).expect("a JSON body"))
            .collect()
    }

    /// Waits until it has had `n` requests.
    fn wait_for(&self, w: &Watcher, n: usize) {
        w.until(&format!("send notice {n} to the receiver"), || {
            self.requests().len() >= n
        });
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        path,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// An `[[alert]]` table whose URL is in [`VAR`].
fn alert(kind: &str, on: &[&str], grace: &str) -> String {
    let on: Vec<String> = on.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "\n[[alert]]\nname = \"ops\"\nkind = \"{kind}\"\nurl_env = \"{VAR}\"\non = [{}]\ngrace = \"{grace}\"\n",
        on.join(", ")
    )
}

fn watch(p: &Project, hook: &Receiver, extra: &[&str]) -> Watcher {
    let dir = p.path().display().to_string();
    let mut args = vec!["--dir", dir.as_str()];
    args.extend(extra);
    Watcher::start_env(p.path(), &args, &[(VAR, &hook.url())])
}

/// Nothing of the URL in what watch wrote.
fn no_secret(log: &str, hook: &Receiver) {
    assert!(
        !log.contains(TOKEN) && !log.contains(&hook.addr),
        "the receiver's URL reached watch's output:\n{log}"
    );
}

fn seconds(rfc3339: &Value) -> SystemTime {
    humantime::parse_rfc3339(rfc3339.as_str().expect("a time")).expect("RFC 3339")
}

#[test]
fn a_server_that_goes_down_alerts_once_and_once_more_when_it_is_back() {
    let hook = Receiver::start(false);
    let sockets = tempfile::tempdir().expect("tempdir");
    let socket = sockets.path().join("docker.sock");
    let owner = unique("alert-down");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(settings(&owner)
            + &server("far", &format!("unix://{}", socket.display()))
            + &alert("webhook", &["server_down"], "1s")),
    );
    let w = watch(&p, &hook, &["--resync", "1h"]);
    hook.wait_for(&w, 1);
    let firing = &hook.json()[0];
    assert_eq!(firing["format_version"], 1);
    assert_eq!(firing["alert"], "ops");
    assert_eq!(firing["condition"], "server_down");
    assert_eq!(firing["state"], "firing");
    assert_eq!(firing["server"], "far");
    assert_eq!(firing["subject"], "server far");
    assert_eq!(firing["summary"], "server far is unreachable");
    assert_eq!(firing["owner"], owner.as_str());
    assert!(
        !firing["detail"].as_str().unwrap_or("").is_empty(),
        "{firing}"
    );
    assert!(
        seconds(&firing["at"])
            .duration_since(seconds(&firing["since"]))
            .is_ok_and(|d| d >= Duration::from_secs(1)),
        "fired within its grace: {firing}"
    );
    let request = &hook.requests()[0];
    assert_eq!(request.path, format!("/hooks/{TOKEN}"));
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );

    // The engine answers there now.
    std::os::unix::fs::symlink(docker_socket(), &socket).expect("symlink");
    w.expect_line("server far: connected");
    hook.wait_for(&w, 2);
    let resolved = &hook.json()[1];
    assert_eq!(resolved["condition"], "server_down");
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["summary"], "server far is reachable again");
    assert_eq!(resolved["since"], firing["since"]);
    thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.requests().len(), 2, "{:#?}", hook.json());
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("alert ops: firing: server far is unreachable (server_down)"),
        "{log}"
    );
    assert!(
        log.contains(
            "alert ops (url from $BERTH_TEST_ALERT_URL): firing server_down sent (1 attempt)"
        ),
        "{log}"
    );
    no_secret(&log, &hook);
}

#[test]
fn a_change_held_back_past_its_grace_alerts_once_on_ntfy() {
    let hook = Receiver::start(false);
    let cleanup = Cleanup::new();
    let owner = unique("alert-held");
    let prod = cleanup.network(&unique("alert-held-prod"));
    let staging = cleanup.network(&unique("alert-held-stg"));
    let ghost = unique("alert-held-gone");
    let copy = cleanup.container(&unique("alert-held-copy"));
    let p = Project::new();
    let base = local_header(&owner)
        + &destination("prod", "local", &prod)
        + &destination("staging", "local", &staging)
        + &application("api", "prod", &ghost)
        + &alert("ntfy", &["not_healing"], "2s");
    p.write(
        "berth.toml",
        &(base.clone() + &application(&copy, "staging", &copy) + "clone_of = \"api\"\n"),
    );
    let w = watch(&p, &hook, &["--resync", "1s"]);
    hook.wait_for(&w, 1);
    // Synced every second since: still the one notice.
    thread::sleep(Duration::from_secs(3));
    let requests = hook.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let firing = &requests[0];
    assert_eq!(
        firing.headers.get("title").map(String::as_str),
        Some("berth ops: not_healing firing")
    );
    assert_eq!(
        firing.headers.get("priority").map(String::as_str),
        Some("high")
    );
    assert_eq!(
        firing.headers.get("tags").map(String::as_str),
        Some("warning,berth")
    );
    assert!(
        firing.body.starts_with(&format!(
            "server local: clone {copy} on network {staging} (destination staging) is not applied\n\nblocked: source application api has no container on server local"
        )),
        "{}",
        firing.body
    );

    // The clone is no longer declared: the work tree is read again at the
    // next resync, and the change is no longer outstanding.
    p.write("berth.toml", &base);
    hook.wait_for(&w, 2);
    let resolved = &hook.requests()[1];
    assert_eq!(
        resolved.headers.get("title").map(String::as_str),
        Some("berth ops: not_healing resolved")
    );
    assert!(
        resolved.body.ends_with("no longer outstanding"),
        "{}",
        resolved.body
    );
    thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.requests().len(), 2, "{:#?}", hook.requests());
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    no_secret(&log, &hook);
}

#[test]
fn an_invalid_commit_and_a_failing_fetch_each_alert_once_and_resolve_once() {
    let hook = Receiver::start(false);
    let cleanup = Cleanup::new();
    let owner = unique("alert-git");
    let net = cleanup.network(&unique("alert-git-a"));
    let top = tempfile::tempdir().expect("tempdir");
    let origin = top.path().join("origin");
    std::fs::create_dir(&origin).expect("mkdir");
    git_ok(&origin, &["init", "-q", "-b", "main"]);
    let good = local_header(&owner)
        + &destination("a", "local", &net)
        + &alert("webhook", &["config_invalid", "fetch_failed"], "1s");
    std::fs::write(origin.join("berth.toml"), &good).expect("write");
    git_ok(&origin, &["add", "."]);
    git_ok(&origin, &["commit", "-qm", "one"]);
    let first = git_ok(&origin, &["rev-parse", "HEAD"]);
    git_ok(top.path(), &["clone", "-q", "origin", "infra"]);
    let repo = top.path().join("infra").display().to_string();
    let w = Watcher::start_env(
        top.path(),
        &[
            "--repo",
            &repo,
            "--ref",
            "origin/main",
            "--fetch-interval",
            "1s",
            "--resync",
            "1h",
        ],
        &[(VAR, &hook.url())],
    );
    w.expect_line("server local: connected");

    // A commit whose config is invalid.
    std::fs::write(
        origin.join("berth.toml"),
        good.clone() + "\n[[application]]\nname = \"x\"\ndestinaton = \"a\"\n",
    )
    .expect("write");
    git_ok(&origin, &["commit", "-qam", "two"]);
    let second = git_ok(&origin, &["rev-parse", "HEAD"]);
    hook.wait_for(&w, 1);
    let invalid = &hook.json()[0];
    assert_eq!(invalid["condition"], "config_invalid");
    assert_eq!(invalid["state"], "firing");
    assert_eq!(invalid["commit"], second.as_str());
    assert_eq!(invalid["last_good_commit"], first.as_str());
    assert_eq!(
        invalid["summary"],
        format!(
            "commit {} of origin/main has an invalid config: watch keeps commit {} in force",
            &second[..12],
            &first[..12]
        )
    );
    assert!(
        invalid["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `destination`?")),
        "{invalid}"
    );
    w.expect_line(&format!(
        "config: commit {} is invalid, commit {} stays in force",
        &second[..12],
        &first[..12]
    ));
    // Fetched every second since: still one notice, and one log line.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(hook.requests().len(), 1, "{:#?}", hook.json());
    assert_eq!(
        w.log().matches("is invalid, commit").count(),
        1,
        "{}",
        w.log()
    );

    // The remote goes away, then comes back.
    let moved = top.path().join("moved");
    std::fs::rename(&origin, &moved).expect("move origin");
    hook.wait_for(&w, 2);
    std::fs::rename(&moved, &origin).expect("move origin back");
    hook.wait_for(&w, 3);
    let notices = hook.json();
    assert_eq!(
        (
            notices[1]["condition"].as_str(),
            notices[1]["state"].as_str()
        ),
        (Some("fetch_failed"), Some("firing")),
        "{notices:#?}"
    );
    assert_eq!(
        (
            notices[2]["condition"].as_str(),
            notices[2]["state"].as_str()
        ),
        (Some("fetch_failed"), Some("resolved")),
        "{notices:#?}"
    );

    // A fix.
    std::fs::write(origin.join("berth.toml"), &good).expect("write");
    git_ok(&origin, &["commit", "-qam", "three"]);
    let third = git_ok(&origin, &["rev-parse", "HEAD"]);
    hook.wait_for(&w, 4);
    let resolved = &hook.json()[3];
    assert_eq!(resolved["condition"], "config_invalid");
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["commit"], third.as_str());
    thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.requests().len(), 4, "{:#?}", hook.json());
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    no_secret(&log, &hook);
}

#[test]
fn a_receiver_that_hangs_does_not_slow_healing() {
    ensure_image();
    let hook = Receiver::start(true);
    let cleanup = Cleanup::new();
    let owner = unique("alert-hang");
    let net = cleanup.network(&unique("alert-hang-n"));
    let app = cleanup.container(&unique("alert-hang-app"));
    let sockets = tempfile::tempdir().expect("tempdir");
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header(&owner)
            + &server(
                "far",
                &format!("unix://{}", sockets.path().join("none.sock").display()),
            )
            + &destination("prod", "local", &net)
            + &resource_head("application", "web", "prod")
            + &format!("container = \"{app}\"\n")
            + &aliases_line(&["web"])
            + &alert("slack", &["server_down", "apply_failed"], "0s")),
    );
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &app,
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let w = watch(&p, &hook, &["--resync", "1h"]);
    let attached = || {
        container_networks(&app)
            .get(&net)
            .is_some_and(|a| a.iter().any(|x| x == "web"))
    };
    w.until("attach the container", attached);
    // The receiver has the server_down notice, and never answers it.
    hook.wait_for(&w, 1);
    let slack: Value = serde_json::from_str(&hook.requests()[0].body).expect("JSON");
    assert!(
        slack["text"].as_str().is_some_and(|t| t.starts_with(
            ":rotating_light: *berth firing* `server_down` server far is unreachable"
        )),
        "{slack}"
    );
    let mut heals = Vec::new();
    for _ in 0..3 {
        docker_ok(&["network", "disconnect", &net, &app]);
        let since = Instant::now();
        w.until("re-attach the container", attached);
        heals.push(since.elapsed());
    }
    eprintln!("re-attached after {heals:?} with the receiver hanging");
    assert!(
        heals.iter().all(|d| *d < Duration::from_secs(5)),
        "healing waited for the receiver: {heals:?}\n{}",
        w.log()
    );
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    no_secret(&log, &hook);
}

fn run(p: &Project, args: &[&str], env: &[(&str, &OsStr)]) -> crate::common::Run {
    Spawned::command(p.args(args), p.path(), env).finish(Duration::from_secs(60))
}

#[test]
fn validate_checks_alert_tables_and_watch_names_a_missing_variable() {
    let p = Project::new();
    p.write(
        "berth.toml",
        &(local_header("alert-validate")
            + "\n[[alert]]\nname = \"ops\"\nkind = \"slak\"\nurl = \"https://hooks.slack.com/services/T0/B0/XyZ\"\non = [\"server_dwn\"]\ngrce = \"1m\"\n"),
    );
    let bad = run(&p, &["validate"], &[]);
    bad.expect_code(1);
    for needle in [
        "an alert's URL is never written in the config",
        "berth.toml:8:1",
        "url_env = \"BERTH_ALERT_URL\"",
        "unknown key `grce` in [[alert]]",
        "did you mean `grace`?",
        "unknown alert condition `server_dwn`",
        "did you mean `server_down`?",
        "unknown alert kind `slak`",
        "did you mean `slack`?",
    ] {
        assert!(bad.stderr.contains(needle), "no `{needle}`:\n{bad}");
    }

    p.write(
        "berth.toml",
        &(local_header("alert-validate")
            + "\n[[alert]]\nname = \"ops\"\nkind = \"slack\"\nurl_env = \"BERTH_TEST_UNSET_ALERT_URL\"\non = [\"server_down\"]\n"),
    );
    let ok = run(&p, &["validate"], &[]);
    ok.expect_code(0);
    assert!(
        ok.stderr.contains(
            "warning: alert `ops`: the environment variable $BERTH_TEST_UNSET_ALERT_URL is not set (watch will not start without it)"
        ),
        "{ok}"
    );
    assert!(ok.stdout.contains("1 alert(s)"), "{ok}");
    let set = run(
        &p,
        &["validate"],
        &[(
            "BERTH_TEST_UNSET_ALERT_URL",
            OsStr::new("https://ntfy.example/t"),
        )],
    );
    set.expect_code(0);
    assert!(!set.stderr.contains("warning"), "{set}");

    let watch = run(&p, &["watch"], &[]);
    watch.expect_code(1);
    assert!(
        watch.stderr.contains(
            "error: alert `ops`: the environment variable $BERTH_TEST_UNSET_ALERT_URL is not set"
        ),
        "{watch}"
    );
    assert!(
        watch
            .stderr
            .contains("hint: set BERTH_TEST_UNSET_ALERT_URL"),
        "{watch}"
    );
}

#[test]
fn a_failing_apply_alerts_at_once_and_resolves_when_it_is_no_longer_planned() {
    ensure_image();
    let hook = Receiver::start(false);
    let cleanup = Cleanup::new();
    let owner = unique("alert-fail");
    let net = cleanup.network(&unique("alert-fail-n"));
    let app = cleanup.container(&unique("alert-fail-app"));
    // Docker refuses to connect a container in `none` network mode.
    docker_ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &app,
        crate::common::TEST_IMAGE,
        "sleep",
        "3600",
    ]);
    let p = Project::new();
    let base = local_header(&owner)
        + &destination("prod", "local", &net)
        + &alert("webhook", &["apply_failed"], "1h");
    p.write(
        "berth.toml",
        &(base.clone() + &application("web", "prod", &app)),
    );
    let w = watch(&p, &hook, &["--resync", "1s"]);
    hook.wait_for(&w, 1);
    let firing = &hook.json()[0];
    assert_eq!(firing["condition"], "apply_failed");
    assert_eq!(firing["state"], "firing");
    assert_eq!(
        firing["subject"],
        format!("server local: connect {app} on network {net} (destination prod)")
    );
    assert!(
        !firing["detail"].as_str().unwrap_or("").is_empty(),
        "{firing}"
    );
    // It fails again at every resync: still the one notice.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(hook.requests().len(), 1, "{:#?}", hook.json());

    p.write("berth.toml", &base);
    hook.wait_for(&w, 2);
    let resolved = &hook.json()[1];
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["subject"], firing["subject"]);
    thread::sleep(Duration::from_secs(2));
    assert_eq!(hook.requests().len(), 2, "{:#?}", hook.json());
    let (code, log) = w.stop();
    assert_eq!(code, 0, "{log}");
    no_secret(&log, &hook);
}

//! Checks of the test harness itself (tests/it/common), independent of berth.

use crate::common::{Cleanup, CountingProxy, RequestCounter, docker, docker_socket, unique};

#[test]
fn request_counter_sees_keep_alive_requests_and_skips_bodies() {
    let stream = b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n\
        POST /v1.41/networks/create HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"a\":\"b\"}\r\n\
        GET /v1.41/networks HTTP/1.1\r\n\r\n";
    // Fed one byte at a time: the worst way a stream can be split.
    let mut counter = RequestCounter::default();
    let mut seen = Vec::new();
    for b in stream {
        seen.extend(counter.feed(std::slice::from_ref(b)));
    }
    assert_eq!(
        seen,
        [
            "GET /_ping",
            "POST /v1.41/networks/create",
            "GET /v1.41/networks"
        ]
    );
}

#[test]
fn counting_proxy_forwards_and_counts_docker_cli_requests() {
    let cleanup = Cleanup::new();
    let net = cleanup.network(&unique("proxy"));
    let (socket, proxy) = CountingProxy::start(&docker_socket());
    let host = format!("unix://{}", socket.display());

    let out = docker(&["-H", &host, "network", "create", &net]);
    assert!(
        out.status.success(),
        "docker through the proxy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(crate::common::network_exists(&net));
    let requests = proxy.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("POST /") && r.ends_with("/networks/create")),
        "network create not seen: {requests:?}"
    );

    proxy.reset();
    let out = docker(&["-H", &host, "network", "ls"]);
    assert!(out.status.success());
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /") && r.contains("/networks")),
        "network ls not seen: {:?}",
        proxy.requests()
    );
}

#[test]
fn a_second_daemon_runs_containers_and_leaves_docker0_alone() {
    crate::common::ensure_image();
    let d2 = crate::common::daemon::SecondDaemon::start();
    d2.load_image("berth-test/busybox:1");
    d2.docker_ok(&["network", "create", "n1"]);
    d2.docker_ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "n1",
        "berth-test/busybox:1",
        "sleep",
        "60",
    ]);
    assert_eq!(
        d2.docker_ok(&["inspect", "-f", "{{.State.Running}}", "c1"]),
        "true"
    );
    assert!(
        std::process::Command::new("ip")
            .args(["link", "show", "docker0"])
            .output()
            .unwrap()
            .status
            .success(),
        "the local daemon's docker0 bridge is still there"
    );
}

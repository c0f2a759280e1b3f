//! SSH servers: one multiplexed OpenSSH connection per server per run, the
//! server's Docker socket forwarded to a unix socket in a private temp dir.
//! Host keys are always checked. A [`Tunnel`] closes its connection and
//! removes its directory when dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use openssh::{ForwardType, KnownHosts, Session, SessionBuilder, Socket};

/// An open tunnel: the ssh master (shut down when dropped), and the private
/// directory holding the forwarded socket (removed when dropped, after the
/// master).
#[derive(Debug)]
pub struct Tunnel {
    session: Option<Session>,
    socket: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Tunnel {
    /// The local end of the forwarded Docker socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        drop(self.session.take());
        drop(self.dir.take());
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SshError {
    pub message: String,
    pub hint: String,
}

/// Where to connect and how.
pub struct Target<'a> {
    pub user: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<u16>,
    pub identity_file: Option<&'a str>,
    pub known_hosts_file: Option<&'a str>,
    pub docker_socket: &'a str,
}

/// Opens the connection and forwards the remote Docker socket.
pub async fn forward(t: &Target<'_>) -> Result<Tunnel, SshError> {
    let dir = tempfile::Builder::new()
        .prefix("berth-ssh-")
        .tempdir()
        .map_err(|e| SshError {
            message: format!("cannot create a private temp dir: {e}"),
            hint: "check that $TMPDIR is writable".into(),
        })?;
    let mut b = SessionBuilder::default();
    b.known_hosts_check(KnownHosts::Strict)
        .control_directory(dir.path())
        .connect_timeout(Duration::from_secs(15))
        .server_alive_interval(Duration::from_secs(30));
    if let Some(u) = t.user {
        b.user(u.to_string());
    }
    if let Some(p) = t.port {
        b.port(p);
    }
    if let Some(k) = t.identity_file {
        b.keyfile(expand(k));
    }
    if let Some(k) = t.known_hosts_file {
        b.user_known_hosts_file(expand(k));
    }
    let session = connect(&b, t).await?;
    let local = dir.path().join("docker.sock");
    let forwarded = session
        .request_port_forward(
            ForwardType::Local,
            Socket::UnixSocket {
                path: local.clone().into(),
            },
            Socket::UnixSocket {
                path: Path::new(t.docker_socket).into(),
            },
        )
        .await;
    if let Err(e) = forwarded {
        return Err(SshError {
            message: format!("cannot forward {}: {}", t.docker_socket, chain(&e)),
            hint: "check that the server's sshd allows forwarding (AllowStreamLocalForwarding)"
                .into(),
        });
    }
    Ok(Tunnel {
        session: Some(session),
        socket: local,
        dir: Some(dir),
    })
}

/// How often a handshake is tried, and within how long.
const TRIES: usize = 5;
const WITHIN: Duration = Duration::from_secs(20);

/// Opens the multiplexed connection. A handshake refused the way sshd
/// refuses one under load (`MaxStartups` drops it before the key
/// exchange), a reset or a refused connection is tried again with jittered
/// exponential backoff, at most `TRIES` times within `WITHIN`: behind one
/// bastion, fifty servers at once is load, not an outage.
async fn connect(b: &SessionBuilder, t: &Target<'_>) -> Result<Session, SshError> {
    use backon::{ExponentialBuilder, Retryable};
    let tries = std::sync::atomic::AtomicUsize::new(0);
    let backoff = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(TRIES - 1)
        .with_total_delay(Some(WITHIN));
    let attempt = || async {
        tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        b.connect_mux(t.host).await
    };
    attempt
        .retry(backoff)
        .when(|e| transient(&chain(e)))
        .await
        .map_err(|e| {
            let mut err = connect_error(t, &e);
            let n = tries.load(std::sync::atomic::Ordering::Relaxed);
            if n > 1 {
                err.message = format!("{} (after {n} tries)", err.message);
            }
            err
        })
}

/// Failures that mean "try again": sshd throttling handshakes, a reset, a
/// refused connection (a restarting sshd).
fn transient(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "kex_exchange_identification",
        "connection closed by remote host",
        "connection reset",
        "connection refused",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

/// ssh's own words on one line, without its banners.
fn ssh_words(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("@@@") && !l.chars().all(|c| c == '@'))
        .collect::<Vec<_>>()
        .join("; ")
}

/// ssh's own words, with what to do about them.
fn connect_error(t: &Target<'_>, e: &openssh::Error) -> SshError {
    let text = chain(e);
    let lower = text.to_lowercase();
    let port = t.port.map_or(String::new(), |p| format!(" -p {p}"));
    let known_hosts = t.known_hosts_file.unwrap_or("~/.ssh/known_hosts");
    let entry = match t.port {
        Some(p) => format!("[{}]:{p}", t.host),
        None => t.host.to_string(),
    };
    if lower.contains("remote host identification has changed") {
        return SshError {
            message: format!(
                "ssh to {}: the host key CHANGED since it was recorded in {known_hosts} (a reinstalled server, or someone in between)",
                t.host
            ),
            hint: format!(
                "verify the new key with the server's owner, then `ssh-keygen -R '{entry}' -f {known_hosts}` and add the new one (`ssh-keyscan{port} {} >> {known_hosts}`)",
                t.host
            ),
        };
    }
    let hint = if lower.contains("host key verification failed")
        || lower.contains("no matching host key")
    {
        format!(
            "the host key of {} is not in {known_hosts}: verify it, then add it with `ssh-keyscan{port} {} >> {known_hosts}`",
            t.host, t.host
        )
    } else if lower.contains("permission denied") {
        format!(
            "the server refused the key: check identity_file{} and the server's authorized_keys",
            t.identity_file
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        )
    } else if lower.contains("connection refused")
        || lower.contains("timed out")
        || lower.contains("no route")
        || lower.contains("could not resolve")
    {
        format!(
            "check the address and that sshd listens on {}{}",
            t.host,
            t.port.map(|p| format!(":{p}")).unwrap_or_default()
        )
    } else {
        "run `ssh -v` with the same user, host, port and key to see why".into()
    };
    SshError {
        message: format!("ssh to {}: {}", t.host, ssh_words(&text)),
        hint,
    }
}

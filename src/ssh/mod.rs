//! SSH servers: one multiplexed OpenSSH connection per server, the
//! server's Docker socket forwarded to a local unix socket. Host keys are
//! always checked. By default the connection (an OpenSSH control master)
//! outlives the run by `ssh_persist` of idleness in a private control
//! directory (`control`), and the next run within that time reuses it
//! instead of a new handshake; with persistence off it is the run's alone,
//! in a private temp dir, and a [`Tunnel`] closes it and removes its
//! directory when dropped.

mod control;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openssh::{ControlPersist, ForwardType, KnownHosts, Session, SessionBuilder, Socket};

/// An open tunnel. For a connection of this run only: the ssh master (shut
/// down when dropped) and the private directory holding the forwarded
/// socket (removed when dropped, after the master). For a persistent
/// master: only the forwarded socket; the master stays for the next run.
#[derive(Debug)]
pub struct Tunnel {
    session: Option<Session>,
    socket: PathBuf,
    dir: Option<tempfile::TempDir>,
    /// For a persistent master: the task holding one connection through
    /// it open while the run lasts ([`hold`]).
    hold: Option<tokio::task::JoinHandle<()>>,
}

impl Tunnel {
    /// The local end of the forwarded Docker socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        if let Some(hold) = self.hold.take() {
            hold.abort();
        }
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

/// Opens the connection and forwards the remote Docker socket. With a
/// non-zero `persist`, a master left running by an earlier run for the
/// same identity is reused when it still reaches the server's Docker
/// socket; otherwise a new master is launched that outlives this run by
/// `persist` of idleness (OpenSSH's `ControlPersist`). With zero, the
/// connection is this run's alone and closes with the [`Tunnel`].
pub async fn forward(t: &Target<'_>, persist: Duration) -> Result<Tunnel, SshError> {
    if persist.is_zero() {
        return forward_once(t).await;
    }
    let root = control::root()?;
    if root.as_os_str().len() > control::MAX_ROOT {
        tracing::debug!(target: "berth::ssh", dir = %root.display(), "the control directory's path is too long for a unix socket; connecting for this run only");
        return forward_once(t).await;
    }
    control::sweep(&root);
    let Some(keyed) = control::keyed(&root, &identity(t))? else {
        return forward_once(t).await;
    };
    // Held until this server's master is reused or launched and forwarding.
    let Some(_claim) = control::claim(&keyed).await else {
        return forward_once(t).await;
    };
    if let Some(socket) = control::reuse(&keyed, t.docker_socket).await {
        return Ok(kept(socket));
    }
    let secs = persist.as_secs_f64().ceil().max(1.0) as usize;
    let mut b = builder(t);
    b.control_directory(&keyed)
        .control_persist(ControlPersist::IdleFor(
            NonZeroUsize::new(secs).unwrap_or(NonZeroUsize::MIN),
        ));
    let session = match connect(&b, t).await {
        Ok(session) => session,
        // Cleared by another run's sweep just now: this run's alone then.
        Err(_) if !keyed.is_dir() => return forward_once(t).await,
        Err(e) => return Err(e),
    };
    let Some(dir) = session.control_socket().parent().map(Path::to_path_buf) else {
        return Err(SshError {
            message: "the ssh master's control socket has no directory".into(),
            hint: "turn reuse off (`--no-ssh-persist`) and report this".into(),
        });
    };
    let local = dir.join(control::DOCKER_SOCKET);
    request_forward(&session, &local, t.docker_socket).await?;
    tracing::debug!(target: "berth::ssh", control_socket = %session.control_socket().display(), persist_secs = secs, "new SSH connection, kept for reuse");
    // The master outlives this run: no shutdown when the session drops.
    let _ = session.detach();
    Ok(kept(local))
}

/// A tunnel through a master that outlives the run: held open while the
/// run lasts, so its `ControlPersist` window counts from the run's end.
fn kept(socket: PathBuf) -> Tunnel {
    Tunnel {
        hold: Some(tokio::spawn(hold(socket.clone()))),
        session: None,
        socket,
        dir: None,
    }
}

/// Keeps one connection through the forwarded socket open until aborted.
/// OpenSSH counts a master idle (and starts its `ControlPersist` clock)
/// whenever no channel is open; between a run's requests — 500 servers
/// connected before the first is read, a confirmation answered late — none
/// may be, and the master would end under the run. An open forwarded
/// connection is a channel. Docker may close one that sends nothing
/// (Engine 23 and newer after 5 minutes): it is opened again; a master
/// that is gone ends the hold.
async fn hold(socket: PathBuf) {
    use tokio::io::AsyncReadExt;
    loop {
        let Ok(mut stream) = tokio::net::UnixStream::connect(&socket).await else {
            return;
        };
        let mut byte = [0u8; 1];
        let _ = stream.read(&mut byte).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Is the control directory where connections are kept for the next run
/// usable (created `0700` when missing; refused unless private and the
/// user's)? Checked once per run, before any server is contacted.
pub fn control_ready() -> Result<(), SshError> {
    control::root().map(|_| ())
}

/// Everything that tells one connection from another: a master is reused
/// only for exactly the same user, host, port, key, known_hosts file and
/// Docker socket (file paths made absolute: `keys/id` from two directories
/// is two keys).
fn identity(t: &Target<'_>) -> String {
    let path = |p: Option<&str>| {
        p.map(|p| {
            let p = expand(p);
            std::path::absolute(&p).unwrap_or(p).display().to_string()
        })
        .unwrap_or_default()
    };
    format!(
        "berth ssh connection v1\nuser={}\nhost={}\nport={}\nidentity_file={}\nknown_hosts_file={}\ndocker_socket={}\n",
        t.user.unwrap_or_default(),
        t.host,
        t.port.map(|p| p.to_string()).unwrap_or_default(),
        path(t.identity_file),
        path(t.known_hosts_file),
        t.docker_socket,
    )
}

/// A connection for this run only, in a private temp dir.
async fn forward_once(t: &Target<'_>) -> Result<Tunnel, SshError> {
    let dir = tempfile::Builder::new()
        .prefix("berth-ssh-")
        .tempdir()
        .map_err(|e| SshError {
            message: format!("cannot create a private temp dir: {e}"),
            hint: "check that $TMPDIR is writable".into(),
        })?;
    let mut b = builder(t);
    b.control_directory(dir.path());
    let session = connect(&b, t).await?;
    let local = dir.path().join("docker.sock");
    request_forward(&session, &local, t.docker_socket).await?;
    Ok(Tunnel {
        session: Some(session),
        socket: local,
        dir: Some(dir),
        hold: None,
    })
}

/// The options every connection has: host keys checked strictly, the
/// target's user, port, key and known_hosts file.
fn builder(t: &Target<'_>) -> SessionBuilder {
    let mut b = SessionBuilder::default();
    b.known_hosts_check(KnownHosts::Strict)
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
    b
}

/// Forwards `local` to the server's Docker socket through `session`.
async fn request_forward(
    session: &Session,
    local: &Path,
    docker_socket: &str,
) -> Result<(), SshError> {
    session
        .request_port_forward(
            ForwardType::Local,
            Socket::UnixSocket {
                path: local.to_path_buf().into(),
            },
            Socket::UnixSocket {
                path: Path::new(docker_socket).into(),
            },
        )
        .await
        .map_err(|e| SshError {
            message: format!("cannot forward {docker_socket}: {}", chain(&e)),
            hint: "check that the server's sshd allows forwarding (AllowStreamLocalForwarding)"
                .into(),
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

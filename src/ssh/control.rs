//! Where persistent SSH masters (`ssh_persist`) keep their control sockets
//! between runs: a private directory of the user's (`0700`, theirs, not a
//! symlink — anything else is refused), one subdirectory per connection
//! identity (a hash of user, host, port, key, known_hosts and Docker
//! socket, so two identities never share a master), and in it the masters
//! the crate launched; which of them still answers, and the dead ones
//! cleared away.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use openssh::Session;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::SshError;

/// Hex characters of the identity hash naming a connection's directory.
const KEY_LEN: usize = 16;

/// The longest control directory berth uses. A unix socket path holds at
/// most 107 bytes, and while ssh binds its control socket the path is
/// `<dir>/<key>/.ssh-connectionXXXXXX/master.<16 random characters>`.
pub const MAX_ROOT: usize = 107 - (1 + KEY_LEN + 22 + 7 + 17);

/// A connection directory without a live master is cleared once it is
/// this old: younger, it may be a master another run is still launching
/// (the handshake is bounded well below this).
const STALE_AFTER: Duration = Duration::from_secs(120);

/// How long the check that a reused tunnel reaches the server may take.
const PROBE: Duration = Duration::from_secs(5);

/// The name of the forwarded Docker socket in a connection directory.
pub const DOCKER_SOCKET: &str = "docker.sock";

/// `$XDG_RUNTIME_DIR/berth/ssh`, else `$XDG_CACHE_HOME/berth/ssh`, else
/// `~/.cache/berth/ssh` (relative variables are ignored, as the XDG
/// specification says).
pub fn root_path() -> Option<PathBuf> {
    let absolute = |v: &str| {
        std::env::var_os(v)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_RUNTIME_DIR")
        .or_else(|| absolute("XDG_CACHE_HOME"))
        .or_else(|| absolute("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("berth").join("ssh"))
}

/// The control directory, created `0700` when missing; refused unless it
/// is a directory (not a symlink) owned by this user that nobody else may
/// enter.
pub fn root() -> Result<PathBuf, SshError> {
    let path = root_path().ok_or_else(|| SshError {
        message: "cannot tell where to keep SSH connections between runs: neither XDG_RUNTIME_DIR nor HOME is set".into(),
        hint: "set XDG_RUNTIME_DIR or HOME, or turn reuse off (`--no-ssh-persist`, or `ssh_persist = \"0s\"` in [settings])".into(),
    })?;
    if std::fs::symlink_metadata(&path).is_err() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| cannot_create(&path, &e))?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(cannot_create(&path, &e)),
        }
    }
    check_private(&path)?;
    Ok(path)
}

fn cannot_create(path: &Path, e: &std::io::Error) -> SshError {
    SshError {
        message: format!(
            "cannot create {}, where berth keeps SSH connections between runs: {e}",
            path.display()
        ),
        hint: "make its parent writable, point XDG_RUNTIME_DIR elsewhere, or turn reuse off (`--no-ssh-persist`)".into(),
    }
}

/// The directory must be this user's, private, and a real directory:
/// whoever can enter it can use the connections in it.
fn check_private(path: &Path) -> Result<(), SshError> {
    let shown = path.display();
    let refuse = |why: String| SshError {
        message: format!(
            "refusing to keep SSH connections in {shown}: {why}; whoever can enter it could use them"
        ),
        hint: format!(
            "remove it (berth creates it again, 0700) or `chmod 700 {shown}` if it is yours; or turn reuse off (`--no-ssh-persist`)"
        ),
    };
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| refuse(format!("cannot read it ({e})")))?;
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symlink".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let me = euid();
    if meta.uid() != me {
        return Err(refuse(format!(
            "it belongs to uid {}, not to you (uid {me})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!("its mode is {mode:04o}, not 0700")));
    }
    Ok(())
}

fn euid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory
    // of ours.
    unsafe { libc::geteuid() }
}

/// Once per process: clears what masters that are gone left under `root`
/// — connection directories without a control socket anyone answers on,
/// and identity directories left empty (servers no longer used) — once
/// they are older than [`STALE_AFTER`], so the directory does not grow.
pub fn sweep(root: &Path) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for key in subdirs(root, |_| true) {
            let mut left = 0;
            for conn in subdirs(&key, |n| n.starts_with(".ssh-connection")) {
                let gone = older_than_stale(&conn)
                    && std::os::unix::net::UnixStream::connect(conn.join("master")).is_err();
                match gone {
                    true => {
                        tracing::debug!(target: "berth::ssh", dir = %conn.display(), "removing what an ended SSH master left");
                        let _ = std::fs::remove_dir_all(&conn);
                    }
                    false => left += 1,
                }
            }
            if left == 0 && older_than_stale(&key) {
                let _ = std::fs::remove_dir_all(&key);
            }
        }
    });
}

fn subdirs(dir: &Path, name: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| name(&e.file_name().to_string_lossy()))
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

fn older_than_stale(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > STALE_AFTER)
}

/// The directory of one connection identity under `root`, created when
/// missing (and marked as used now, so [`sweep`] leaves it). `None` when it holds another identity's masters (a hash
/// collision: the caller connects for this run only).
pub fn keyed(root: &Path, identity: &str) -> Result<Option<PathBuf>, SshError> {
    let digest = Sha256::digest(identity.as_bytes());
    let key: String = digest
        .iter()
        .take(KEY_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = root.join(key);
    let io = |e: std::io::Error| SshError {
        message: format!("cannot prepare {}: {e}", dir.display()),
        hint: "check the control directory, or turn reuse off (`--no-ssh-persist`)".into(),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    if let Ok(handle) = std::fs::File::open(&dir) {
        let _ = handle.set_modified(SystemTime::now());
    }
    let recorded = dir.join("identity");
    match std::fs::read_to_string(&recorded) {
        Ok(text) if text == identity => Ok(Some(dir)),
        Ok(_) => {
            tracing::debug!(target: "berth::ssh", dir = %dir.display(), "another connection identity has this hash; connecting for this run only");
            Ok(None)
        }
        Err(_) => {
            std::fs::write(&recorded, identity).map_err(io)?;
            Ok(Some(dir))
        }
    }
}

/// Takes the connection identity's lock (`lock` in its directory), so that
/// one run at a time, and one server at a time within a run, reuses or
/// launches its master: two servers of one identity (one engine listed
/// twice) or two runs at once would otherwise find a master still being
/// set up, and the one would remove the forwarded socket the other had
/// just made. Waits at most `CLAIM_WAIT` (a master is launched within the
/// SSH timeouts); `None` when the lock cannot be had, and the caller
/// connects for its run only. The lock is released when the file drops.
pub async fn claim(keyed: &Path) -> Option<std::fs::File> {
    let path = keyed.join("lock");
    let take = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .ok()?;
        // flock: released when the file closes, whatever ends the run.
        // SAFETY: `file` is open for the duration of the call.
        let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
        (locked == 0).then_some(file)
    });
    match tokio::time::timeout(CLAIM_WAIT, take).await {
        Ok(Ok(file)) => file,
        _ => {
            tracing::debug!(target: "berth::ssh", dir = %keyed.display(), "the connection's lock was not had in time; connecting for this run only");
            None
        }
    }
}

/// How long [`claim`] waits for another run's master to be set up.
const CLAIM_WAIT: Duration = Duration::from_secs(60);

/// A live master in `keyed` whose forwarded Docker socket answers: the
/// path of that socket. Masters that do not answer (killed, gone idle)
/// are cleared away as they are found; none of this ever fails — at
/// worst the caller connects afresh.
pub async fn reuse(keyed: &Path, docker_socket: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(keyed).ok()?;
    let mut dirs: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".ssh-connection")
        })
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_dir()
                .then(|| (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), e.path()))
        })
        .collect();
    // The newest master first.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    let mut found = None;
    for (_, dir) in dirs {
        let ctl = dir.join("master");
        // Without a control socket: a master still being launched by
        // another run, or one that ended ([`sweep`] clears those).
        if found.is_some() || !ctl.exists() {
            continue;
        }
        let session = Session::resume_mux(ctl.clone().into_boxed_path(), None);
        if let Err(e) = session.check().await {
            tracing::debug!(target: "berth::ssh", control_socket = %ctl.display(), error = %e, "stale control socket (its master is gone); removing it and connecting afresh");
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        match forwarded(&session, &dir, docker_socket).await {
            Some(socket) => {
                tracing::debug!(target: "berth::ssh", control_socket = %ctl.display(), "reusing a running SSH connection");
                found = Some(socket);
            }
            None => {
                tracing::debug!(target: "berth::ssh", control_socket = %ctl.display(), "the running SSH connection no longer reaches the Docker socket; closing it and connecting afresh");
                let _ = session.close().await;
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    found
}

/// The master's forwarded Docker socket, forwarded again when it is gone,
/// once it is seen to reach the server's Docker.
async fn forwarded(session: &Session, dir: &Path, docker_socket: &str) -> Option<PathBuf> {
    let local = dir.join(DOCKER_SOCKET);
    if answers(&local).await {
        return Some(local);
    }
    let _ = std::fs::remove_file(&local);
    super::request_forward(session, &local, docker_socket)
        .await
        .ok()?;
    answers(&local).await.then_some(local)
}

/// Does an HTTP request through `socket` come back? One channel through
/// the master to the server's Docker socket: proof the whole path works
/// (a master whose server went away, or a socket left by a dead master,
/// does not answer).
async fn answers(socket: &Path) -> bool {
    let probe = async {
        let mut stream = tokio::net::UnixStream::connect(socket).await.ok()?;
        stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 5];
        stream.read_exact(&mut head).await.ok()?;
        Some(&head == b"HTTP/")
    };
    matches!(tokio::time::timeout(PROBE, probe).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn private_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn a_private_directory_of_mine_is_accepted() {
        let dir = private_dir();
        chmod(dir.path(), 0o700);
        assert!(check_private(dir.path()).is_ok());
    }

    #[test]
    fn group_or_world_access_is_refused_with_the_mode_and_the_fix() {
        for mode in [0o750, 0o705, 0o777, 0o711] {
            let dir = private_dir();
            chmod(dir.path(), mode);
            let e = check_private(dir.path()).expect_err("refused");
            assert!(
                e.message
                    .contains(&format!("its mode is {mode:04o}, not 0700")),
                "{}",
                e.message
            );
            assert!(e.hint.contains("chmod 700"), "{}", e.hint);
        }
    }

    #[test]
    fn a_symlink_or_a_file_is_refused() {
        let dir = private_dir();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).expect("mkdir");
        chmod(&real, 0o700);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let e = check_private(&link).expect_err("refused");
        assert!(e.message.contains("it is a symlink"), "{}", e.message);
        let file = dir.path().join("file");
        std::fs::write(&file, "").expect("write");
        let e = check_private(&file).expect_err("refused");
        assert!(e.message.contains("not a directory"), "{}", e.message);
    }

    #[test]
    fn identities_get_their_own_directory_and_a_collision_is_never_shared() {
        let root = private_dir();
        let a = keyed(root.path(), "identity a").expect("ok").expect("dir");
        let b = keyed(root.path(), "identity b").expect("ok").expect("dir");
        assert_ne!(a, b);
        assert_eq!(
            keyed(root.path(), "identity a").expect("ok"),
            Some(a.clone()),
            "the same identity, the same directory"
        );
        let name = a.file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(name.len(), KEY_LEN);
        // Another identity recorded under this hash: not shared.
        std::fs::write(a.join("identity"), "someone else").expect("write");
        assert_eq!(keyed(root.path(), "identity a").expect("ok"), None);
    }

    #[test]
    fn the_longest_root_leaves_room_for_sshs_socket_path() {
        // <root>/<key>/.ssh-connectionXXXXXX/master.XXXXXXXXXXXXXXXX
        let root = "r".repeat(MAX_ROOT);
        let bound = format!(
            "{root}/{}/.ssh-connectionXXXXXX/master.{}",
            "k".repeat(KEY_LEN),
            "x".repeat(16)
        );
        assert!(bound.len() <= 107, "{}", bound.len());
    }
}

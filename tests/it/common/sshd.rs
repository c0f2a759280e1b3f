//! A real OpenSSH server on loopback, for `ssh://` servers: a throwaway
//! host key and client key (`ssh-keygen -t ed25519 -N ''`), root login with
//! that key only, stream-local forwarding on (berth forwards the server's
//! Docker socket). Started in the foreground, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    /// The TCP port sshd listens on (127.0.0.1).
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Sshd {
    /// Starts `/usr/sbin/sshd -D -e -f <config>` on a free port and waits
    /// (at most 15 s) until the port accepts connections. Its limits are
    /// raised (`MaxStartups 100:30:200`, `MaxSessions 100`) so that tests
    /// which open many connections at once are not throttled.
    pub fn start() -> Sshd {
        Sshd::start_with(true)
    }

    /// As [`start`](Self::start), with sshd's default `MaxStartups`
    /// (`10:30:100`: past 10 unauthenticated connections, new ones are
    /// dropped at random before the key exchange) and `MaxSessions`: the
    /// throttling a real bastion applies. Its log (LogLevel VERBOSE) names
    /// every connection it drops ("past MaxStartups").
    pub fn start_with_default_limits() -> Sshd {
        Sshd::start_with(false)
    }

    /// As [`start`](Self::start), with more `sshd_config` lines (e.g.
    /// `KexAlgorithms curve25519-sha256`).
    pub fn start_with_options(extra: &str) -> Sshd {
        Sshd::start_configured(true, extra)
    }

    fn start_with(raised_limits: bool) -> Sshd {
        Sshd::start_configured(raised_limits, "")
    }

    fn start_configured(raised_limits: bool, extra: &str) -> Sshd {
        // Privilege separation directory; sshd refuses to start without it.
        std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let dir = tempfile::Builder::new()
            .prefix("bt-sshd-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "berth-test-host");
        keygen(&d.join("client_ed25519"), "berth-test-client");
        keygen(&d.join("wrong_ed25519"), "berth-test-wrong");
        keygen(&d.join("other_host_ed25519"), "berth-test-other-host");

        let port = free_port();
        let host_pub = read_pub(&d.join("host_ed25519.pub"));
        let other_pub = read_pub(&d.join("other_host_ed25519.pub"));
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}\n"),
        )
        .expect("write known_hosts");
        // Knows another host, not this one.
        std::fs::write(
            d.join("unknown_known_hosts"),
            format!("[127.0.0.2]:{port} {host_pub}\n"),
        )
        .expect("write unknown_known_hosts");
        // Knows this host by another key: a changed host key.
        std::fs::write(
            d.join("changed_known_hosts"),
            format!("[127.0.0.1]:{port} {other_pub}\n"),
        )
        .expect("write changed_known_hosts");

        let limits = if raised_limits {
            "MaxStartups 100:30:200\nMaxSessions 100\n"
        } else {
            ""
        };
        let config = format!(
            "Port {port}
ListenAddress 127.0.0.1
HostKey {host}
PidFile {pid}
AuthorizedKeysFile {auth}
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
{limits}{extra}LogLevel VERBOSE
",
            host = d.join("host_ed25519").display(),
            pid = d.join("sshd.pid").display(),
            auth = d.join("client_ed25519.pub").display(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("write sshd_config");

        let log = std::fs::File::create(d.join("sshd.log")).expect("sshd log");
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start /usr/sbin/sshd");
        let mut sshd = Sshd { port, dir, child };

        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = sshd.child.try_wait() {
                panic!("sshd exited ({status}) before listening:\n{}", sshd.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on 127.0.0.1:{port} within 15 s:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    /// `ssh://root@127.0.0.1:PORT`
    pub fn address(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    /// The private key sshd accepts (its public half is AuthorizedKeysFile).
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_ed25519")
    }

    /// A valid private key that sshd does not accept.
    pub fn wrong_key(&self) -> PathBuf {
        self.dir.path().join("wrong_ed25519")
    }

    /// A known_hosts file with `[127.0.0.1]:PORT <host key>`.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// A known_hosts file that does not know this host (another host only).
    pub fn unknown_known_hosts(&self) -> PathBuf {
        self.dir.path().join("unknown_known_hosts")
    }

    /// A known_hosts file that knows this host by a different key.
    pub fn changed_known_hosts(&self) -> PathBuf {
        self.dir.path().join("changed_known_hosts")
    }

    /// Connections sshd dropped so far because of `MaxStartups`.
    pub fn dropped_past_max_startups(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("past MaxStartups"))
            .count()
    }

    /// Connections sshd authenticated so far: one per SSH handshake.
    pub fn accepted(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("Accepted publickey"))
            .count()
    }

    /// What sshd logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sshd {
    /// Kills sshd and the per-connection processes it forked (by pid), so
    /// that an SSH master berth left running for a next run sees its
    /// connection close and ends too.
    fn drop(&mut self) {
        let forked = descendants(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in forked {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Every process forked (transitively) by `pid`, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.filter_map(Result::ok) {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

/// A port nothing listens on right now (bound to port 0, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn keygen(path: &Path, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ssh-ed25519 AAAA…` (type and key, without the comment).
fn read_pub(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

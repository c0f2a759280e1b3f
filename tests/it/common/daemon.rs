//! A second Docker Engine, as another "server": its own data and exec
//! roots, in its own network namespace. (Started in the host's namespace,
//! a second `dockerd` deletes the first one's `docker0` bridge, which
//! breaks every container on the default network.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct SecondDaemon {
    pub socket: PathBuf,
    dir: PathBuf,
    netns: String,
    /// The namespace is the daemon's own (made and deleted with it).
    owns_netns: bool,
    options: Options,
    child: Child,
    /// [`stop`](SecondDaemon::stop) has run.
    stopped: bool,
}

/// How to start a [`SecondDaemon`]; the default is [`SecondDaemon::start`]'s.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A network namespace the caller made (and deletes, after the daemon):
    /// `dockerd` runs there instead of in a namespace of its own.
    pub netns: Option<String>,
    /// The host name `dockerd` sees, in a UTS namespace of its own (a swarm
    /// node's name); else the machine's.
    pub hostname: Option<String>,
    /// More `dockerd` flags.
    pub args: Vec<String>,
}

impl SecondDaemon {
    /// Starts `dockerd` and waits (at most 60 s) until it answers.
    pub fn start() -> SecondDaemon {
        SecondDaemon::start_with(Options::default())
    }

    /// Starts `dockerd` as `options` say and waits (at most 60 s) until it
    /// answers.
    pub fn start_with(options: Options) -> SecondDaemon {
        let id = super::unique("d");
        // Short: containerd's socket lives under the exec root (108-byte limit).
        let dir = PathBuf::from(format!("/tmp/{id}"));
        std::fs::create_dir_all(&dir).expect("daemon dir");
        std::fs::write(dir.join("daemon.json"), "{}").expect("daemon.json");
        let (netns, owns_netns) = match &options.netns {
            Some(netns) => (netns.clone(), false),
            None => {
                run(&["ip", "netns", "add", &id]);
                run(&["ip", "-n", &id, "link", "set", "lo", "up"]);
                (id.clone(), true)
            }
        };
        let socket = dir.join("docker.sock");
        let child = spawn(&dir, &netns, &socket, &options);
        let daemon = SecondDaemon {
            socket,
            dir,
            netns,
            owns_netns,
            options,
            child,
            stopped: false,
        };
        daemon.wait_until_it_answers();
        daemon
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.docker(&["info"]).status.success() {
            if Instant::now() >= deadline {
                let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log
                    .lines()
                    .filter(|l| !l.contains("module=grpc"))
                    .rev()
                    .take(30)
                    .collect();
                panic!(
                    "second dockerd did not answer within 60 s; the end of its log:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the daemon (SIGKILL), as a crash or an OOM killer would, and
    /// the containerd it manages (a new dockerd would not start beside a
    /// containerd left from the old one).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let needle = format!("{}/exec/containerd", self.dir.display());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = processes_mentioning(&needle);
            if left.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in left {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again on the same data, after [`kill`](Self::kill).
    pub fn restart(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        // The old containerd may linger as a zombie nobody reaps here, and
        // dockerd would wait for it ("containerd is still running").
        let _ = std::fs::remove_file(self.dir.join("exec/containerd/containerd.pid"));
        self.child = spawn(&self.dir, &self.netns, &self.socket, &self.options);
        self.wait_until_it_answers();
    }

    /// Freezes the daemon (SIGSTOP): it accepts connections and never
    /// answers, as a hung dockerd does. `resume` thaws it.
    pub fn freeze(&self) {
        signal(self.child.id(), "STOP");
    }

    pub fn resume(&self) {
        signal(self.child.id(), "CONT");
    }
}

/// Pids of the processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(needle)
                .then_some(pid)
        })
        .collect()
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// `dockerd` in the namespace, on the daemon's own roots and socket. The
/// child is `dockerd` itself (`nsenter`, `unshare` and `sh` exec it).
fn spawn(dir: &Path, netns: &str, socket: &Path, options: &Options) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("dockerd.log"))
        .expect("log file");
    let mut command = Command::new("nsenter");
    command.arg(format!("--net=/run/netns/{netns}"));
    if let Some(hostname) = &options.hostname {
        command.args([
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            r#"hostname "$0" && exec "$@""#,
        ]);
        command.arg(hostname);
    }
    command
        .arg("dockerd")
        .arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("--host")
        .arg(format!("unix://{}", socket.display()))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join("docker.pid"))
        .args(["--iptables=false", "--storage-driver", "vfs"])
        .args(&options.args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start a second dockerd")
}

impl SecondDaemon {
    pub fn address(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker -H <this daemon> ARGS`
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.address())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run docker")
    }

    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker -H {} {args:?} failed: {}",
            self.address(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Copies an image from the local daemon (`docker save | docker load`).
    pub fn load_image(&self, image: &str) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save {image} | docker -H {} load -q",
                self.address()
            ))
            .status()
            .expect("docker save | load");
        assert!(
            status.success(),
            "could not load {image} into the second daemon"
        );
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl SecondDaemon {
    /// The network namespace it runs in.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The `dockerd` process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs its containers (on SIGTERM dockerd would give each 10 s),
    /// within 20 s: those of a daemon that does not answer are left to its
    /// own shutdown.
    pub fn kill_containers(&self) {
        let address = self.address();
        let script = r#"ids=$(timeout 10 docker -H "$1" ps -q) && [ -n "$ids" ] && timeout 10 docker -H "$1" kill $ids"#;
        let _ = Command::new("sh")
            .args(["-c", script, "sh", &address])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Stops it for good and deletes everything it had: containers,
    /// networks, volumes, its directory and (when its own) its namespace.
    /// Dropping it does this; once it has run, neither does anything more.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        // A daemon `kill`ed and not restarted is gone (and its pid maybe
        // another process's by now): signal only a running one.
        if matches!(self.child.try_wait(), Ok(None)) {
            // A frozen one could not stop.
            signal_quietly(self.child.id(), "CONT");
            self.kill_containers();
            signal_quietly(self.child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // dockerd leaves some mounts under its roots: the network namespaces
        // of overlays (`exec/netns/1-<id>`, `lb_<id>`), after a SIGKILL its
        // data root. Innermost first.
        unmount_under(&self.dir);
        if self.owns_netns {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.netns])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for SecondDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Unmounts every mount point under `dir` (lazily when busy).
pub fn unmount_under(dir: &Path) {
    let Ok(out) = Command::new("findmnt")
        .args(["-rn", "-o", "TARGET"])
        .output()
    else {
        return;
    };
    let prefix = format!("{}/", dir.display());
    let mut targets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|t| t.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    targets.sort_by(|a, b| b.cmp(a));
    for target in targets {
        let unmounted = Command::new("umount")
            .arg(&target)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").args(["-l", &target]).status();
        }
    }
}

fn signal_quietly(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

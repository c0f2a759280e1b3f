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
    child: Child,
}

impl SecondDaemon {
    /// Starts `dockerd` and waits (at most 60 s) until it answers.
    pub fn start() -> SecondDaemon {
        let id = super::unique("d");
        // Short: containerd's socket lives under the exec root (108-byte limit).
        let dir = PathBuf::from(format!("/tmp/{id}"));
        std::fs::create_dir_all(&dir).expect("daemon dir");
        std::fs::write(dir.join("daemon.json"), "{}").expect("daemon.json");
        let netns = id.clone();
        run(&["ip", "netns", "add", &netns]);
        run(&[
            "ip", "netns", "exec", &netns, "ip", "link", "set", "lo", "up",
        ]);
        let socket = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("log file");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
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
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start a second dockerd");
        let daemon = SecondDaemon {
            socket,
            dir,
            netns,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !daemon.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "second dockerd did not answer within 60 s; log:\n{}",
                std::fs::read_to_string(daemon.dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        daemon
    }

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

impl Drop for SecondDaemon {
    fn drop(&mut self) {
        // Everything on it goes with it: containers, networks, volumes.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
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

//! The berth binary as a child process a test can watch, signal and wait
//! for.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Project, Run};

/// `berth ARGS` with `NO_COLOR=1`, stdin null, outputs read in the
/// background, started now (not serialised with other applies, unlike
/// [`Project::berth`]). Killed on drop if it still runs.
pub struct Spawned {
    args: Vec<String>,
    child: Child,
    stdout: Option<thread::JoinHandle<String>>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Spawned {
    /// Starts the berth binary with exactly `args` in `cwd`, with `env` set
    /// besides `NO_COLOR=1`.
    pub fn command(args: Vec<String>, cwd: &Path, env: &[(&str, &OsStr)]) -> Spawned {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(&args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start berth");
        let stdout = read_in_background(child.stdout.take().expect("stdout"));
        let stderr = read_in_background(child.stderr.take().expect("stderr"));
        Spawned {
            args,
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// `berth SUBCOMMAND --dir <project> REST...`.
    pub fn start(p: &Project, args: &[&str]) -> Spawned {
        Self::command(p.args(args), p.path(), &[])
    }

    /// [`start`](Self::start) with `TMPDIR=tmpdir`.
    pub fn start_with_tmpdir(p: &Project, args: &[&str], tmpdir: &Path) -> Spawned {
        Self::command(p.args(args), p.path(), &[("TMPDIR", tmpdir.as_os_str())])
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn still_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits at most `timeout` (then kills it and panics).
    pub fn finish(mut self, timeout: Duration) -> Run {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for berth") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let run = Run {
            args: self.args.clone(),
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: self
                .stdout
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default(),
            stderr: self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default(),
        };
        assert!(
            status.is_some(),
            "berth did not finish within {timeout:?} and was killed\n{run}"
        );
        run
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.still_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

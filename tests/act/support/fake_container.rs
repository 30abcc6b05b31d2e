//! Containers made by hand for the act tests: `unshare --pid --mount --fork --kill-child
//! --mount-proc sleep`, placed in test cgroups one hierarchy at a time, so a test can give it a
//! cgroup of its own in some controllers and a shared or root one in others. An isotop run with
//! its own state directory and audit log ([`Env`]), and snapshots of limit files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::common::{self, ChildGuard};

/// A pid-namespace container: `unshare` (host pid namespace) and its child `sleep`, PID 1 of
/// the new namespace. Both are SIGKILLed by pid on drop.
pub struct FakeContainer {
    /// Killed and reaped on drop (after the init, see `Drop`).
    _unshare: ChildGuard,
    pub init: i32,
}

impl FakeContainer {
    pub fn start() -> FakeContainer {
        let unshare = ChildGuard::spawn(
            Command::new("unshare")
                .args([
                    "--pid",
                    "--mount",
                    "--fork",
                    "--kill-child",
                    "--mount-proc",
                    "sleep",
                    "1000",
                ])
                .stdin(Stdio::null()),
        );
        let mut init = None;
        let found = common::wait_until(Duration::from_secs(10), || {
            init = first_child(unshare.pid()).filter(|&pid| comm(pid) == "sleep");
            init.is_some()
        });
        assert!(found, "unshare {} made no sleep", unshare.pid());
        FakeContainer {
            _unshare: unshare,
            init: init.unwrap(),
        }
    }
}

impl Drop for FakeContainer {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.init),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// A plain `sleep` outside any container; SIGKILLed on drop.
pub fn outsider() -> ChildGuard {
    ChildGuard::spawn(
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
}

/// A shell busy loop (one CPU's worth when unthrottled); SIGKILLed on drop.
pub fn busy_loop() -> ChildGuard {
    ChildGuard::spawn(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .stdin(Stdio::null()),
    )
}

/// Host pid of the first child of `parent`.
pub fn first_child(parent: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The process's `comm`, empty when gone.
pub fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Moves `pid` into the cgroup directory `dir` (v1 or v2).
pub fn move_to(dir: &Path, pid: i32) {
    std::fs::write(dir.join("cgroup.procs"), pid.to_string())
        .unwrap_or_else(|e| panic!("move {pid} into {}: {e}", dir.display()));
}

/// A private state directory and audit log for isotop runs.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = common::isotop();
        cmd.args(args)
            .env("ISOTOP_STATE_DIR", self.state())
            .env("ISOTOP_AUDIT_LOG", self.dir.path().join("audit.jsonl"))
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs isotop and asserts it succeeded; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "isotop {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The undo journal as JSON (empty when there is none).
    pub fn journal(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.state().join("undo.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => Vec::new(),
        }
    }
}

/// The limit and freezer files in `dirs` that exist, with their contents (trimmed).
pub fn limit_files(dirs: &[PathBuf]) -> Vec<(PathBuf, String)> {
    const FILES: [&str; 11] = [
        "cpu.cfs_quota_us",
        "cpu.cfs_period_us",
        "cpu.shares",
        "cpu.max",
        "cpu.weight",
        "memory.limit_in_bytes",
        "memory.max",
        "memory.high",
        "pids.max",
        "freezer.state",
        "cgroup.freeze",
    ];
    let mut out = Vec::new();
    for dir in dirs {
        for name in FILES {
            let path = dir.join(name);
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.push((path, text.trim().to_string()));
            }
        }
    }
    out
}

//! `unknown` containers made with `unshare --fork --pid --mount --mount-proc` for tests that put
//! them in a test cgroup of their own: the pid of the namespace's init (found by parentage and
//! killed on drop), where a controller's files of the test's `box` cgroup are (v1 or v2), and
//! the `isotop ls --json` row of a container by its init.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::process::ReadDepth;

use super::common::{self, CgroupGuard, ChildGuard};

/// Kills (SIGKILL) one pid on drop: the namespace's init, should unshare not take it along.
pub struct PidGuard(pub i32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// `unshare --fork --kill-child --pid --mount --mount-proc COMMAND...` and its child (pid 1 of
/// the new pid namespace), found as unshare's child named `comm`.
pub fn unshare(command: &[&str], comm: &str) -> (ChildGuard, PidGuard) {
    let unshare = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--fork", "--kill-child", "--pid", "--mount", "--mount-proc"])
            .args(command)
            .stdin(Stdio::null()),
    );
    let root = HostRoot::live();
    let mut inner = None;
    let found = common::wait_until(Duration::from_secs(10), || {
        inner = isotop::host::scan::read_processes(&root, ReadDepth::Full, &mut Vec::new())
            .unwrap()
            .into_iter()
            .find(|p| p.ppid == unshare.pid() && p.comm == comm)
            .map(|p| p.pid);
        inner.is_some()
    });
    assert!(found, "unshare {} started no {comm}", unshare.pid());
    (unshare, PidGuard(inner.unwrap()))
}

/// True on a cgroup v2 host.
pub fn v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The directory of the guard's `box` cgroup in the hierarchy carrying `controller` (v2: the
/// one dir).
pub fn box_dir(guard: &CgroupGuard, controller: &str) -> PathBuf {
    if v2_host() {
        guard.dir("", "box")
    } else {
        guard.dir(controller, "box")
    }
}

/// The `isotop ls --json` row whose init is `pid`.
pub fn ls_row(pid: i32) -> serde_json::Value {
    let list = common::isotop_json(&["ls", "--json", "--interval", "0"]);
    list.as_array()
        .and_then(|rows| rows.iter().find(|r| r["pid"] == pid).cloned())
        .unwrap_or_else(|| panic!("no container with init {pid} in {list:#}"))
}

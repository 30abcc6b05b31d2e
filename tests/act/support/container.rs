//! Containers for the `enter` tests: `unshare` containers whose init is found by what it
//! exec'd, the credential lines of `/proc/PID/status` to compare, and scratch directories
//! under /tmp (not the checkout: a root home is 0700) removed on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::common::{self, ChildGuard, wait_until};

/// The credential lines of a `status` file, in the kernel's order.
const FIELDS: [&str; 9] = [
    "Uid",
    "Gid",
    "Groups",
    "CapInh",
    "CapPrm",
    "CapEff",
    "CapBnd",
    "CapAmb",
    "NoNewPrivs",
];

/// The [`FIELDS`] lines of a `status` text (whitespace-normalised), in order.
pub fn credential_lines(status: &str) -> Vec<String> {
    FIELDS
        .iter()
        .map(|field| {
            let value = status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .unwrap_or_else(|| panic!("no {field} in {status:?}"));
            format!(
                "{field}: {}",
                value.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}

pub fn credentials_of(pid: i32) -> Vec<String> {
    credential_lines(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap())
}

/// A container: the guard of the process that made it, and its init (host pid).
pub struct Container {
    _guards: Vec<ChildGuard>,
    pub init: i32,
}

impl Container {
    /// `unshare` with new pid, mount (own /proc), uts and ipc namespaces running `command`,
    /// which ends by exec'ing `program` (the init is ready once it has).
    pub fn start(command: &[&str], program: &str) -> Container {
        let guard = ChildGuard::spawn(
            Command::new("unshare")
                .args([
                    "--fork",
                    "--pid",
                    "--mount-proc",
                    "--mount",
                    "--uts",
                    "--ipc",
                ])
                .arg("--kill-child")
                .args(command)
                .env_remove("SHELL")
                .stdin(Stdio::null()),
        );
        Container::ready(vec![guard], program)
    }

    /// Waits for the child of the last guard's process to be running `program`.
    pub fn ready(guards: Vec<ChildGuard>, program: &str) -> Container {
        let parent = guards.last().expect("a guard").pid();
        let mut init = 0;
        let want = format!("{program}\0");
        let started = wait_until(Duration::from_secs(20), || {
            let children =
                std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
                    .unwrap_or_default();
            let Some(pid) = children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
            else {
                return false;
            };
            init = pid;
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.starts_with(want.as_bytes()))
                .unwrap_or(false)
        });
        assert!(started, "the container's init ({program}) did not start");
        Container {
            _guards: guards,
            init,
        }
    }
}

impl Drop for Container {
    /// Ends the init by pid while it is still the guard's child. `unshare --kill-child` asks
    /// for SIGKILL when unshare dies, but an init that changed its credentials (`setpriv`) has
    /// lost that parent-death signal: killing unshare alone left it running. As its pid
    /// namespace's init, its end ends every process in it.
    fn drop(&mut self) {
        let Some(parent) = self._guards.last().map(ChildGuard::pid) else {
            return;
        };
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.init));
        let ppid = status.ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PPid:"))
                .and_then(|v| v.trim().parse::<i32>().ok())
        });
        if ppid == Some(parent) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.init),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A scratch directory under /tmp (not the checkout: a root home is 0700), removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(what: &str, mode: u32) -> Scratch {
        let dir = PathBuf::from("/tmp").join(common::unique_name(what));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! What a non-root isotop cannot see, counted as honestly as a non-root user can count it.
//!
//! Contract: without root, another user's `/proc/<pid>/ns/*` links are unreadable, so that
//! user's containers in their own namespaces (runc, crun, containerd's rootful tasks, ...) can
//! be neither grouped by namespace nor matched to their runtime's state, which lives in
//! root-only dirs (`/run/runc` 0700, `/run/containerd` 0711, ...). [`hidden`] counts them
//! anyway, from what every user may read: a process whose pid namespace is unreadable, that no
//! found container holds, and whose `/proc/<pid>/status` `NSpid:` line says it is pid 1 of a
//! nested pid namespace, is the init of a container this user cannot see. Its runtime is
//! named from its parent's command (`containerd-shim*`, `conmon`, `lxc-start`,
//! `systemd-nspawn`, `runc`, `crun`); a detached runc's init has PID 1 or a subreaper as
//! parent, so its runtime is then not named, but the runtime state dirs this user cannot read
//! are (`/run/runc`, ...), as are runc/crun state files seen but unreadable (each one a
//! container). Containers that share the host's pid namespace cannot be counted without root:
//! the count is a floor.

use foldhash::{HashMap, HashSet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Container;
use crate::host::HostRoot;
use crate::host::namespace::NsKind;
use crate::host::process::{Process, Records};
use crate::host::runtime::file::{Cap, list_dirs_beneath, read_capped};

/// Runtime state dirs a non-root user may be unable to read: (runtime, dir under the root).
const STATE_DIRS: [(&str, &str); 7] = [
    ("runc", "run/runc"),
    ("crun", "run/crun"),
    ("containerd", "run/containerd/io.containerd.runtime.v2.task"),
    ("docker", "var/lib/docker/containers"),
    ("podman", "var/lib/containers/storage/overlay-containers"),
    ("lxc", "var/lib/lxc"),
    ("nspawn", "run/systemd/machines"),
];

/// What this user could not see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    /// Containers counted as hidden (at least this many).
    pub containers: usize,
    /// Their runtimes, where known (a parent's command, a state file seen but unreadable).
    pub runtimes: BTreeSet<&'static str>,
    /// Some hidden containers' runtimes are not known.
    pub unknown_runtimes: bool,
    /// State dirs (or runc/crun state files) that exist but could not be read.
    pub unreadable: Vec<PathBuf>,
}

impl Hidden {
    /// The line telling the user, e.g. `3 containers of runc, crun, containerd need root: run
    /// isotop as root to see them (unreadable without root: /run/runc)`; `None` when nothing
    /// is hidden. Unreadable state dirs alone hide only stopped containers: said only when
    /// `stopped_listed` (`ls --all`).
    pub fn message(&self, stopped_listed: bool) -> Option<String> {
        let mut names: Vec<&str> = self.runtimes.iter().copied().collect();
        if self.unknown_runtimes && !names.is_empty() {
            names.push("unknown runtimes");
        }
        let of = if names.is_empty() {
            String::new()
        } else {
            format!(" of {}", names.join(", "))
        };
        let dirs = if self.unreadable.is_empty() {
            String::new()
        } else {
            format!(" (unreadable without root: {})", self.dirs())
        };
        match self.containers {
            0 if self.unreadable.is_empty() || !stopped_listed => None,
            0 => Some(format!(
                "stopped containers may be missing: their runtimes' state needs root{dirs}"
            )),
            1 => Some(format!(
                "1 container{of} needs root: run isotop as root to see it{dirs}"
            )),
            n => Some(format!(
                "{n} containers{of} need root: run isotop as root to see them{dirs}"
            )),
        }
    }

    fn dirs(&self) -> String {
        let shown: Vec<String> = self
            .unreadable
            .iter()
            .take(3)
            .map(|p| p.display().to_string())
            .collect();
        let more = self.unreadable.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
}

/// Counts what `processes` and the runtime dirs hide from this user, given the containers
/// found (see the module contract). Cheap when nothing is hidden: only processes whose pid
/// namespace was unreadable and that no container holds have their `status` read.
pub fn hidden<'p>(
    root: &HostRoot,
    processes: impl Into<Records<'p>>,
    found: &[Container],
) -> Hidden {
    let processes = processes.into();
    let mut out = Hidden::default();
    let mut unreadable_states = 0usize;
    for (runtime, dir) in STATE_DIRS {
        let path = root.prefix.join(dir);
        match list_dirs_beneath(&path, Path::new("")) {
            Ok(listing) if matches!(runtime, "runc" | "crun") => {
                let file = if runtime == "runc" {
                    "state.json"
                } else {
                    "status"
                };
                let denied = listing
                    .names
                    .iter()
                    .filter(|id| {
                        read_capped(&path.join(id).join(file), Cap::STATE)
                            .is_err_and(|e| e.is_permission())
                    })
                    .count();
                if denied > 0 {
                    // A state file seen but unreadable: a container of that runtime.
                    unreadable_states += denied;
                    out.runtimes.insert(runtime);
                    out.unreadable.push(path);
                }
            }
            Ok(_) => {}
            Err(e) if e.is_permission() => out.unreadable.push(path),
            Err(_) => {}
        }
    }

    let held: HashSet<i32> = found.iter().flat_map(|c| c.pids.iter().copied()).collect();
    let by_pid: HashMap<i32, &Process> = processes.iter().map(|p| (p.pid, p)).collect();
    let mut inits = 0usize;
    for p in processes {
        if p.kernel_thread || held.contains(&p.pid) || p.ns.get(NsKind::Pid).is_some() {
            continue;
        }
        if !is_pid_namespace_init(root, p.pid) {
            continue;
        }
        inits += 1;
        match by_pid
            .get(&p.ppid)
            .and_then(|parent| runtime_of_parent(&parent.comm))
        {
            Some(runtime) => {
                out.runtimes.insert(runtime);
            }
            None => out.unknown_runtimes = true,
        }
    }
    out.containers = inits.max(unreadable_states);
    out
}

/// True when `/proc/<pid>/status` says the process is pid 1 of a pid namespace nested below
/// the one `/proc` shows (`NSpid:` with two or more pids, the last one 1).
fn is_pid_namespace_init(root: &HostRoot, pid: i32) -> bool {
    let Ok(bytes) = read_capped(&root.pid_dir(pid).join("status"), Cap::LINE) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    let Some(line) = text.lines().find_map(|l| l.strip_prefix("NSpid:")) else {
        return false;
    };
    let pids: Vec<&str> = line.split_whitespace().collect();
    pids.len() >= 2 && pids.last() == Some(&"1")
}

/// The runtime a container init's parent command names.
fn runtime_of_parent(comm: &str) -> Option<&'static str> {
    if comm.starts_with("containerd-shim") {
        Some("containerd")
    } else {
        match comm {
            "conmon" => Some("podman"),
            "lxc-start" => Some("lxc"),
            "systemd-nspawn" => Some("nspawn"),
            "runc" => Some("runc"),
            "crun" => Some("crun"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;

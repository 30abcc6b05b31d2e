//! One cgroup per container: `/isotop/<id>` in every cgroup hierarchy the host mounts (each v1
//! hierarchy, named ones like `name=systemd` included where writable, or the one v2 tree), with
//! the operator's limits written BEFORE the container's command starts.
//!
//! Contract:
//! - [`create`] makes the `isotop` parent where missing and `/isotop/<id>` in each hierarchy.
//!   On v2 it passes `cpu`, `memory`, `pids` (and `io`, `cpuset` where offered) down from the
//!   root and from `isotop` (`cgroup.subtree_control`, as far as the kernel allows); on v1
//!   `cpuset` it copies `cpuset.cpus`/`cpuset.mems` from the parent (a new v1 cpuset refuses
//!   tasks until both are set). Limits go through `control::limits` (`plan` reads the old
//!   values, `apply` writes and reads back, each write audited). A limit the kernel refuses,
//!   or one below [`MIN_MEMORY_BYTES`], is an error and every directory made is removed again.
//! - Device nodes: only the harmless ones may be opened ([`devices`]: v1 `devices.allow`, v2 a
//!   device BPF program), as with runc.
//! - [`ContainerCgroups::add`] writes a pid into `cgroup.procs` of every directory.
//! - [`remove`] kills whatever is still inside (v2 `cgroup.kill`, else freeze, SIGKILL each
//!   process through a pidfd, thaw: `control::kill`), waits for it to empty and removes the
//!   directories (and any the container made below its own), deepest first. Idempotent.
//!
//! Nothing here touches a cgroup outside `/isotop/<id>` except creating the `isotop` parent
//! and enabling controllers for children (never moving or signalling anything else).

pub mod devices;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::error::LaunchError;
use crate::control::ControlError;
use crate::control::freeze::Freezer;
use crate::control::kill::{CgroupKill, cgroup_pids, kill_cgroup};
use crate::control::limits::value::{DEFAULT_PERIOD_USEC, QUOTA_MIN_USEC, quota_usec};
use crate::control::limits::{LimitDirs, LimitRequest, apply, plan};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, CgroupMode, Hierarchy, Limit, detect_layout};

/// The smallest memory limit a container may get, in bytes (6 MiB, Docker's minimum): below
/// it the kernel accepts the value but the command is OOM-killed before it can do anything.
pub const MIN_MEMORY_BYTES: u64 = 6 << 20;

/// The parent of every container's cgroup.
pub const PARENT: &str = "isotop";

/// The controllers v2 passes down to containers when the kernel offers them.
const V2_CONTROLLERS: [&str; 5] = ["cpu", "memory", "pids", "io", "cpuset"];

/// How long [`remove`] waits for the killed processes to leave (seconds).
const EMPTY_TIMEOUT: Duration = Duration::from_secs(10);

/// Time between two looks at a directory that should empty (ms).
const POLL: Duration = Duration::from_millis(20);

/// The directories of `/isotop/<id>` (each v1 hierarchy, or the one v2 dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroups {
    /// `/isotop/<id>`, as `/proc/<pid>/cgroup` names it.
    pub path: String,
    pub dirs: Vec<PathBuf>,
}

/// The cgroup path of container `id`.
pub fn cgroup_path(id: &str) -> String {
    format!("/{PARENT}/{id}")
}

/// Refuses limits that can be known impossible before anything is created: memory below
/// [`MIN_MEMORY_BYTES`], a CPU quota under the kernel's 1 ms per period.
pub fn check_limits(limits: &LimitRequest) -> Result<(), LaunchError> {
    if let Some(Limit::Value(bytes)) = limits.memory
        && bytes < MIN_MEMORY_BYTES
    {
        return Err(LaunchError::invalid(
            "--memory",
            &bytes.to_string(),
            format!(
                "a container needs at least {} MiB ({MIN_MEMORY_BYTES} bytes): below that it is \
                 OOM-killed before its command runs",
                MIN_MEMORY_BYTES >> 20
            ),
        ));
    }
    if let Some((Limit::Value(millicores), text)) = &limits.cpus {
        let period = limits.period_usec.unwrap_or(DEFAULT_PERIOD_USEC);
        if quota_usec(*millicores, period, text).is_err() {
            // The smallest share whose quota reaches the kernel's minimum, in millicores.
            let least = (QUOTA_MIN_USEC * 1000).div_ceil(period);
            return Err(LaunchError::invalid(
                "--cpus",
                text,
                format!(
                    "below the kernel's minimum CPU quota ({QUOTA_MIN_USEC} µs per \
                     {period} µs period): give at least {least}m ({} CPUs)",
                    least as f64 / 1000.0
                ),
            ));
        }
    }
    Ok(())
}

/// Where `/isotop/<id>` goes in `hierarchy`, and whether failing there stops the launch
/// (controller hierarchies) or only skips it (named v1 hierarchies, the empty v2 tree of a
/// hybrid host: they only help tell the container's processes apart).
fn target(layout: &CgroupLayout, hierarchy: &Hierarchy, path: &str) -> Option<(PathBuf, bool)> {
    let dir = hierarchy.cgroup_dir(path)?;
    let required = match hierarchy.version {
        2 => layout.mode == CgroupMode::V2,
        _ => hierarchy
            .controllers
            .iter()
            .any(|c| !c.starts_with("name=")),
    };
    Some((dir, required))
}

/// Creates `/isotop/<id>` everywhere and applies `limits`; on failure nothing is left.
pub fn create(
    host: &HostRoot,
    id: &str,
    limits: &LimitRequest,
) -> Result<ContainerCgroups, LaunchError> {
    check_limits(limits)?;
    let layout = detect_layout(host).map_err(ControlError::from)?;
    let path = cgroup_path(id);
    let mut made = ContainerCgroups {
        path: path.clone(),
        dirs: Vec::new(),
    };
    let result = create_in(&layout, &path, &mut made).and_then(|()| {
        if limits.is_empty() {
            return Ok(());
        }
        let dirs = LimitDirs::for_path(&layout, &path);
        let plan = plan(host, &dirs, limits)?;
        apply(id, &plan.writes)?;
        Ok(())
    });
    match result {
        Ok(()) => Ok(made),
        Err(err) => {
            // Nothing ran in them yet: plain rmdir, deepest (the container's own) first.
            for dir in made.dirs.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            Err(err)
        }
    }
}

fn create_in(
    layout: &CgroupLayout,
    path: &str,
    made: &mut ContainerCgroups,
) -> Result<(), LaunchError> {
    for hierarchy in &layout.hierarchies {
        let Some((dir, required)) = target(layout, hierarchy, path) else {
            continue;
        };
        match make_dir(hierarchy, &dir) {
            Ok(()) => made.dirs.push(dir.clone()),
            Err(_) if !required => continue,
            Err(err) => return Err(err),
        }
        if hierarchy.version == 1 && hierarchy.carries("devices") {
            devices::restrict_v1(&dir)?;
        }
        if hierarchy.version == 2 {
            // Required where v2 is the only hierarchy; on a hybrid host the v1 devices
            // controller already holds the same rules, this is a second lock.
            match devices::restrict_v2(&dir) {
                Err(err) if required => return Err(err),
                _ => {}
            }
        }
    }
    if made.dirs.is_empty() {
        return Err(LaunchError::Tool {
            what: format!("creating cgroup {path}"),
            detail: "no mounted cgroup hierarchy could take it (isotop inside a container \
                     sees only its own cgroup subtree?)"
                .into(),
        });
    }
    Ok(())
}

/// Makes the `isotop` parent (if missing) and the container's directory in one hierarchy.
fn make_dir(hierarchy: &Hierarchy, dir: &Path) -> Result<(), LaunchError> {
    let parent = dir.parent().unwrap_or(dir);
    if hierarchy.version == 2 {
        enable_controllers(&hierarchy.dir);
    }
    match std::fs::create_dir(parent) {
        Ok(()) => inherit_cpuset(hierarchy, parent),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(LaunchError::io("create cgroup", parent, e)),
    }
    if hierarchy.version == 2 {
        enable_controllers(parent);
    }
    std::fs::create_dir(dir).map_err(|e| LaunchError::io("create cgroup", dir, e))?;
    inherit_cpuset(hierarchy, dir);
    Ok(())
}

/// v2: lets `dir`'s children use every controller of [`V2_CONTROLLERS`] that `dir` has, one
/// at a time so a controller the kernel refuses (e.g. `cpuset` while a real-time task runs)
/// does not keep the others away. A refusal is not an error here: a limit that needs the
/// controller fails later, naming the missing file.
fn enable_controllers(dir: &Path) {
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    for controller in V2_CONTROLLERS {
        let has = |text: &str| text.split_whitespace().any(|c| c == controller);
        if has(&available) && !has(&enabled) {
            let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{controller}"));
        }
    }
}

/// v1 cpuset: a new cgroup starts with no CPUs and memory nodes and refuses tasks until both
/// are set, so copy the parent's. A no-op elsewhere.
fn inherit_cpuset(hierarchy: &Hierarchy, dir: &Path) {
    if hierarchy.version != 1 || !hierarchy.carries("cpuset") {
        return;
    }
    let Some(parent) = dir.parent() else { return };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if !mine.trim().is_empty() {
            continue;
        }
        if let Ok(value) = std::fs::read_to_string(parent.join(file))
            && !value.trim().is_empty()
        {
            let _ = std::fs::write(dir.join(file), value.trim());
        }
    }
}

impl ContainerCgroups {
    /// Moves `pid` into every directory.
    pub fn add(&self, pid: i32) -> Result<(), LaunchError> {
        for dir in &self.dirs {
            let file = dir.join("cgroup.procs");
            std::fs::write(&file, pid.to_string())
                .map_err(|e| LaunchError::io("move the container into", &file, e))?;
        }
        Ok(())
    }
}

/// Every existing directory of `/isotop/<id>` on this host.
pub fn existing_dirs(host: &HostRoot, id: &str) -> Result<Vec<(Hierarchy, PathBuf)>, LaunchError> {
    let layout = detect_layout(host).map_err(ControlError::from)?;
    let path = cgroup_path(id);
    Ok(layout
        .hierarchies
        .iter()
        .filter_map(|h| Some((h.clone(), h.cgroup_dir(&path)?)))
        .filter(|(_, dir)| dir.is_dir())
        .collect())
}

/// Removes `/isotop/<id>` everywhere (killing what is left inside). Idempotent.
pub fn remove(host: &HostRoot, id: &str) -> Result<(), LaunchError> {
    if !crate::units::ContainerId::is_valid(id) {
        return Err(LaunchError::invalid("container id", id, "64 hex digits"));
    }
    let dirs = existing_dirs(host, id)?;
    if dirs.is_empty() {
        return Ok(());
    }
    kill_all(&dirs)?;
    let deadline = Instant::now() + EMPTY_TIMEOUT;
    for (_, dir) in &dirs {
        remove_tree(dir, deadline)?;
    }
    Ok(())
}

/// SIGKILLs every process left in the container's cgroups and waits for them to go.
fn kill_all(dirs: &[(Hierarchy, PathBuf)]) -> Result<(), LaunchError> {
    let mut pids = Vec::new();
    for (_, dir) in dirs {
        pids.extend(cgroup_pids(dir)?);
    }
    if pids.is_empty() {
        return Ok(());
    }
    let freezer_dir = dirs
        .iter()
        .find(|(h, _)| h.version == 1 && h.carries("freezer"));
    let v2_dir = dirs.iter().find(|(h, _)| h.version == 2);
    let freezer = match (freezer_dir, v2_dir) {
        (Some((_, dir)), _) => Some(Freezer::V1(dir.clone())),
        (None, Some((_, dir))) => Some(Freezer::V2(dir.clone())),
        (None, None) => None,
    };
    let procs_dir = freezer
        .as_ref()
        .map(|f| f.dir().to_path_buf())
        .unwrap_or_else(|| dirs[0].1.clone());
    let site = CgroupKill {
        freezer,
        // cgroup.kill is exact where the v2 directory holds every process of the container:
        // always, since `add` moves the init into all directories and its children inherit.
        v2_dir: v2_dir.map(|(_, dir)| dir.clone()),
        procs_dir,
    };
    kill_cgroup(&site, Signal::SIGKILL, EMPTY_TIMEOUT, None)?;
    // Every hierarchy must empty, not only the one the kill watched.
    let deadline = Instant::now() + EMPTY_TIMEOUT;
    for (_, dir) in dirs {
        while !cgroup_pids(dir)?.is_empty() {
            if Instant::now() >= deadline {
                return Err(LaunchError::Tool {
                    what: format!("emptying cgroup {}", dir.display()),
                    detail: format!(
                        "processes {:?} are still in it after SIGKILL (uninterruptible sleep?)",
                        cgroup_pids(dir)?
                    ),
                });
            }
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

/// Removes `dir` and the cgroups below it, deepest first; retries while the last killed tasks
/// are still leaving (rmdir says EBUSY until then).
fn remove_tree(dir: &Path, deadline: Instant) -> Result<(), LaunchError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(LaunchError::io("list cgroup", dir, e)),
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&entry.path(), deadline)?;
        }
    }
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(LaunchError::io("remove cgroup", dir, e));
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

#[cfg(test)]
mod tests;

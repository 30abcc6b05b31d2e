//! One consistent read of the host: processes, namespaces, cgroups and containers together.
//!
//! `scan` is what the dashboard's sampler will call every tick and what the subcommands call
//! once; a view and its subcommand therefore cannot disagree. It never fails because one process
//! or cgroup vanished or was unreadable: such trouble becomes a line in `warnings`. It fails
//! only when the host cannot be read at all (no procfs at the root).

use serde::Serialize;

use super::cgroup::{self, CgroupLayout, CgroupReading};
use super::container::{self, Container};
use super::namespace::{self, HostReference, NamespaceTable};
use super::process::{self, Process, ReadDepth};
use super::users::UserNames;
use super::{HostError, HostRoot};

/// What a scan reads beyond processes and containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Build the namespace table (nsfs ioctls, bind mounts): the ns views need it.
    pub namespaces: bool,
    /// Also list stopped containers the runtimes keep on disk.
    pub stopped: bool,
}

impl ScanOptions {
    /// What resolving a TARGET needs: every container, stopped ones too, no namespace table.
    pub const TARGETS: ScanOptions = ScanOptions {
        namespaces: false,
        stopped: true,
    };
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            namespaces: true,
            stopped: false,
        }
    }
}

/// A container with its cgroup figures read at scan time.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerView {
    #[serde(flatten)]
    pub container: Container,
    /// `running`, `frozen`, `stopped` (no processes) or `unverified` (a claim of a running
    /// container that did not check out, see `host::container::claim`).
    pub state: &'static str,
    /// Seconds since the init process started.
    pub uptime_seconds: Option<f64>,
    pub cgroup: Option<CgroupReading>,
}

/// Everything read in one pass.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Milliseconds since the Unix epoch when the scan began.
    pub taken_at_ms: u64,
    /// Seconds since boot when the scan began (`/proc/uptime`).
    pub uptime_seconds: Option<f64>,
    pub clock_ticks: u64,
    pub processes: Vec<Process>,
    pub layout: Option<CgroupLayout>,
    /// Whose namespaces stand for the host's, and why.
    pub host: HostReference,
    pub namespaces: Option<NamespaceTable>,
    pub containers: Vec<ContainerView>,
    pub warnings: Vec<String>,
}

/// Reads every process (skipping ones that vanish mid-read).
pub fn read_processes(
    root: &HostRoot,
    depth: ReadDepth,
    warnings: &mut Vec<String>,
) -> Result<Vec<Process>, HostError> {
    let pids = process::list_pids(root)?;
    let mut processes = Vec::with_capacity(pids.len());
    let mut denied = 0usize;
    for pid in pids {
        match process::read_process(root, pid, depth) {
            Ok(Some(p)) => processes.push(p),
            Ok(None) => {}
            Err(e) if e.is_permission() => denied += 1,
            Err(e) => warnings.push(e.to_string()),
        }
    }
    if denied > 0 {
        warnings.push(format!(
            "{denied} processes could not be read (permission denied): run as root to see them"
        ));
    }
    Ok(processes)
}

/// Scans the host once.
pub fn scan(root: &HostRoot, options: ScanOptions) -> Result<Snapshot, HostError> {
    let taken_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let uptime_seconds = process::read_uptime_seconds(root);
    let clock_ticks = process::clock_ticks_per_second();
    let mut warnings = Vec::new();
    let processes = read_processes(root, ReadDepth::Full, &mut warnings)?;
    let partial = processes.iter().filter(|p| p.partial && p.pid != 1).count();
    if partial > 0 {
        warnings.push(format!(
            "{partial} processes were only partly readable (permission denied): run as root for all"
        ));
    }
    let layout = match cgroup::detect_layout(root) {
        Ok(layout) => Some(layout),
        Err(e) => {
            warnings.push(format!("cgroups not shown: {e}"));
            None
        }
    };
    let users = UserNames::read(root);
    let host = namespace::host_reference(root, &processes);
    let namespaces = options
        .namespaces
        .then(|| namespace::build_table(root, &processes, &users));
    let mut found = container::find_containers(root, &processes, &host.ns);
    if !nix::unistd::geteuid().is_root()
        && let Some(line) =
            container::hidden::hidden(root, &processes, &found).message(options.stopped)
    {
        warnings.push(line);
    }
    if options.stopped {
        let stopped = container::find_stopped(root, &found);
        found.extend(stopped);
    }
    let containers = found
        .into_iter()
        .map(|c| {
            view_container(
                root,
                layout.as_ref(),
                c,
                uptime_seconds,
                clock_ticks,
                &mut warnings,
            )
        })
        .collect();
    Ok(Snapshot {
        taken_at_ms,
        uptime_seconds,
        clock_ticks,
        processes,
        layout,
        host,
        namespaces,
        containers,
        warnings,
    })
}

fn view_container(
    root: &HostRoot,
    layout: Option<&CgroupLayout>,
    container: Container,
    uptime_seconds: Option<f64>,
    clock_ticks: u64,
    warnings: &mut Vec<String>,
) -> ContainerView {
    let cgroup = match layout {
        // Only a container with a cgroup of its own has figures of its own: one that shares
        // the host's cgroup (unshare) would otherwise be charged the whole host.
        Some(layout) if container.cgroup_path.is_some() => {
            match cgroup::read_for_memberships(root, layout, &container.cgroups) {
                Ok(reading) => reading,
                Err(e) => {
                    warnings.push(format!("container {}: {e}", container.id));
                    None
                }
            }
        }
        _ => None,
    };
    let frozen = cgroup
        .as_ref()
        .and_then(|c| c.freezer)
        .is_some_and(|f| f == cgroup::FreezerState::Frozen);
    let state = if !container.running {
        "stopped"
    } else if !container.trust.verified {
        // A stranger's claim that did not check out: not believed to be anything.
        "unverified"
    } else if frozen {
        "frozen"
    } else {
        "running"
    };
    let uptime = match (uptime_seconds, container.start_ticks) {
        (Some(now), Some(start)) => Some((now - start as f64 / clock_ticks as f64).max(0.0)),
        _ => None,
    };
    ContainerView {
        container,
        state,
        uptime_seconds: uptime,
        cgroup,
    }
}

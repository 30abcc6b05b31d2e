//! One consistent read of the host: processes, namespaces, cgroups and containers together.
//!
//! `scan` is what the subcommands call once: every process read in full, the host reference,
//! the namespace table, the containers, and each container measured by [`container::measure`].
//! The dashboard's sampler does not call `scan` (reading every process in full each tick would
//! cost far more than its `stat`-only refresh): it keeps its own process table and calls the
//! same parts — `find_containers`, `namespace::build_table` and `measure` — on their own
//! cadences, so a view and its subcommand compute every figure with the same function. It
//! never fails because one process or cgroup vanished or was unreadable: such trouble becomes
//! a line in `warnings`. It fails only when the host cannot be read at all (no procfs at the
//! root).

use serde::Serialize;

use super::cgroup::{self, CgroupLayout};
pub use super::container::measure::{ContainerState, ContainerView};

use super::container;
use super::container::measure::{Census, Clock, measure};
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
    let taken_at_ms = crate::units::now_ms();
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
    warnings.extend(
        cgroup::namespace_root::namespace_roots(root)
            .warning
            .clone(),
    );
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
    let clock = Clock {
        uptime_seconds,
        ticks_per_second: clock_ticks,
    };
    let census = Census::new(&processes);
    let containers = found
        .into_iter()
        .map(|c| measure(root, layout.as_ref(), c, &census, clock, &mut warnings).view)
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

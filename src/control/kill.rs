//! Signalling every process of a container so that none escapes by forking.
//!
//! Contract: on a cgroup v2 host SIGKILL goes through `cgroup.kill` (the kernel kills the whole
//! subtree, forks in flight included). Otherwise (v1, or another signal) the cgroup is frozen,
//! its processes are listed and each gets a pidfd while frozen (a frozen process cannot exit,
//! so the pid cannot be recycled between listing and opening), the cgroup is listed again and
//! only pidfds whose pid it still lists are signalled (without a freezer a listed pid can be
//! reused before its pidfd opens: the second listing, taken after the open, catches that),
//! each through its pidfd, and the cgroup is thawed; for KILL this repeats until the cgroup is empty (bounded
//! rounds). A container without a cgroup of its own (made by `unshare`) is signalled through
//! pidfds checked to be in its pid namespace; KILL to its pid-namespace init ends the whole
//! namespace. Nothing here ever signals the host's PID 1 or isotop itself.
//!
//! Every cgroup a container's kill lists, freezes or writes `cgroup.kill` to must be the
//! container's own (`control::owned`): the site is chosen among the container's cgroups that are
//! not a root and hold no process outside it ([`owned_site`]: its freezer, else — said in the
//! outcome — another own cgroup whose processes are signalled without freezing), and every
//! listing of the kill is checked again before anything is written or signalled; a process
//! outside the container that turns up stops the kill with the reason.
//!
//! A container's init is PID 1 of its pid namespace: the kernel drops every signal it has no
//! handler for, TERM included. [`KillOutcome::init_survived`] says when that happened.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::Serialize;

use super::audit::{self, AuditEntry};
use super::error::ControlError;
use super::freeze::{Freezer, SETTLE_TIMEOUT, refuse_if_holds_isotop};
use super::guard;
use super::owned::{self, Owner};
use super::signal::{PidFd, signal_name, wait_exited};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, CgroupMode, detect_layout};
use crate::host::container::Container;
use crate::host::namespace::{NsKind, read_ns_set};
use crate::host::scan::ContainerView;

mod site;
pub use site::owned_site;

/// Most freeze-signal-thaw rounds a KILL makes before reporting what is left. One round
/// normally suffices (nothing forks while frozen); more cover tasks that joined meanwhile.
pub const MAX_ROUNDS: u32 = 20;

/// How long one KILL round waits for its processes to exit before looking again (ms).
const ROUND_WAIT: Duration = Duration::from_millis(1000);

/// Time between two looks at a cgroup that should empty (ms).
const POLL: Duration = Duration::from_millis(20);

/// How a kill reached the processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KillMethod {
    /// v2 `cgroup.kill`.
    CgroupKill,
    /// Freeze, signal each process through a pidfd, thaw.
    FreezeSignalThaw,
    /// Signal each process of the cgroup through a pidfd without freezing (no freezer).
    SignalEach,
    /// No cgroup of its own: the container's processes, through pidfds.
    Pidfd,
}

/// Where a cgroup-wide kill acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupKill {
    /// Frozen around the signals (`None`: no freezer hierarchy).
    pub freezer: Option<Freezer>,
    /// The v2 directory whose `cgroup.kill` is used for KILL (`None` on v1 and hybrid hosts).
    pub v2_dir: Option<PathBuf>,
    /// Whose `cgroup.procs`, with every descendant's, lists the processes.
    pub procs_dir: PathBuf,
}

impl CgroupKill {
    /// Where `container`'s own cgroup is: `None` when it has none besides the root.
    pub fn of(layout: &CgroupLayout, container: &Container) -> Option<CgroupKill> {
        let freezer = Freezer::of(layout, container);
        let own =
            |m: &&crate::host::process::CgroupMembership| !m.path.trim_matches('/').is_empty();
        // cgroup.kill only where v2 is the host's only hierarchy: on a hybrid host the empty
        // v2 tree need not hold the container's processes where the v1 controllers do.
        let v2_dir = (layout.mode == CgroupMode::V2)
            .then(|| {
                let v2 = layout.v2()?;
                let m = container
                    .cgroups
                    .iter()
                    .filter(own)
                    .find(|m| layout.hierarchy_for(m) == Some(v2))?;
                v2.cgroup_dir(&m.path)
            })
            .flatten();
        let procs_dir = match (&freezer, &v2_dir) {
            (Some(f), _) => f.dir().to_path_buf(),
            (None, Some(dir)) => dir.clone(),
            (None, None) => container
                .cgroups
                .iter()
                .filter(own)
                .find_map(|m| layout.hierarchy_for(m).and_then(|h| h.cgroup_dir(&m.path)))?,
        };
        Some(CgroupKill {
            freezer,
            v2_dir,
            procs_dir,
        })
    }
}

/// What a kill did.
#[derive(Debug, Clone, Serialize)]
pub struct KillOutcome {
    /// The container id (or the cgroup directory for a bare cgroup).
    pub target: String,
    pub name: String,
    pub signal: &'static str,
    pub method: KillMethod,
    /// How many distinct processes were signalled (for `cgroup.kill`: were in the cgroup).
    pub signalled: usize,
    /// Freeze-signal-thaw rounds made (1 for `cgroup.kill` and one-shot signals).
    pub rounds: u32,
    /// Host pids still there when the wait ended, ascending.
    pub remaining: Vec<i32>,
    /// True when no process of the container is left.
    pub gone: bool,
    /// The container's init (its pid namespace's PID 1) was signalled and is still running.
    pub init_survived: bool,
    /// The host pid of the container's init, when known.
    pub init_pid: Option<i32>,
    /// Seconds waited for the processes to end.
    pub waited_seconds: f64,
    /// Set when the audit log could not be written (the act itself happened).
    pub audit_error: Option<String>,
    /// What the operator should know about how it was done (e.g. no freezer of its own).
    pub notes: Vec<String>,
}

/// Every pid in `dir`'s `cgroup.procs` and its descendants', ascending; empty when the cgroup
/// is gone (the runtime may remove it once its last process exits).
pub fn cgroup_pids(dir: &Path) -> Result<Vec<i32>, ControlError> {
    let mut pids = Vec::new();
    collect_pids(dir, &mut pids)?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), ControlError> {
    let procs = dir.join("cgroup.procs");
    match std::fs::read_to_string(&procs) {
        Ok(text) => out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // ENODEV: the cgroup was removed between listing and reading.
        Err(e) if e.raw_os_error() == Some(nix::libc::ENODEV) => return Ok(()),
        Err(source) => {
            return Err(ControlError::Read {
                path: procs,
                source,
            });
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ControlError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_pids(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// Pids never signalled whatever a cgroup lists: the host's PID 1 and isotop itself.
fn protected(pid: i32) -> bool {
    pid <= 1 || pid == std::process::id() as i32
}

/// The result of one cgroup-wide kill, before it is tied to a container.
#[derive(Debug, Clone)]
pub struct CgroupKillReport {
    pub method: KillMethod,
    pub signalled: usize,
    pub rounds: u32,
    pub remaining: Vec<i32>,
    /// Whether `watch` (e.g. the init) was signalled and is still running.
    pub watched_survived: bool,
    pub waited: Duration,
}

/// Signals every process of a cgroup (see the module contract). Waits up to `timeout` for
/// the cgroup to empty. `watch` is a pid (the container's init) whose survival is reported.
pub fn kill_cgroup(
    site: &CgroupKill,
    signal: Signal,
    timeout: Duration,
    watch: Option<i32>,
) -> Result<CgroupKillReport, ControlError> {
    kill_cgroup_checked(site, signal, timeout, watch, &|_| Ok(()))
}

/// Checks a listing of the cgroup's processes before the kill writes or signals anything on
/// the strength of it (see [`kill_cgroup_checked`]).
pub type ListingCheck<'a> = &'a dyn Fn(&[i32]) -> Result<(), ControlError>;

/// [`kill_cgroup`], with `check` run on every listing of the cgroup's processes before anything
/// is frozen, written or signalled on the strength of it; its refusal stops the kill (a frozen
/// cgroup is thawed first).
pub fn kill_cgroup_checked(
    site: &CgroupKill,
    signal: Signal,
    timeout: Duration,
    watch: Option<i32>,
    check: ListingCheck<'_>,
) -> Result<CgroupKillReport, ControlError> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut held: Vec<PidFd> = Vec::new();
    let mut rounds = 0;
    let method;
    if let (Signal::SIGKILL, Some(v2)) = (signal, &site.v2_dir) {
        method = KillMethod::CgroupKill;
        let listed = cgroup_pids(&site.procs_dir)?;
        check(&listed)?;
        held = open_all(&listed)?;
        let path = v2.join("cgroup.kill");
        std::fs::write(&path, "1").map_err(|source| write_error(path, source))?;
        rounds = 1;
    } else {
        method = if site.freezer.is_some() {
            KillMethod::FreezeSignalThaw
        } else {
            KillMethod::SignalEach
        };
        loop {
            if rounds > 0 && (signal != Signal::SIGKILL || rounds >= MAX_ROUNDS) {
                break;
            }
            if rounds > 0 && Instant::now() >= deadline {
                break;
            }
            let opened = signal_round(site, signal, check)?;
            rounds += 1;
            let empty_round = opened.is_empty();
            if signal == Signal::SIGKILL {
                let left = deadline.saturating_duration_since(Instant::now());
                wait_exited(&opened, left.min(ROUND_WAIT))?;
            }
            for fd in opened {
                if !held.iter().any(|h| h.pid() == fd.pid()) {
                    held.push(fd);
                }
            }
            if empty_round || cgroup_pids(&site.procs_dir)?.iter().all(|&p| protected(p)) {
                break;
            }
        }
    }
    // Wait for the cgroup to empty: the signalled processes and anything they forked.
    let remaining = loop {
        let left: Vec<i32> = cgroup_pids(&site.procs_dir)?
            .into_iter()
            .filter(|&p| !protected(p))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            break left;
        }
        std::thread::sleep(POLL);
    };
    let watched_survived = match watch.and_then(|w| held.iter().find(|fd| fd.pid() == w)) {
        Some(fd) => !fd.has_exited()?,
        None => false,
    };
    Ok(CgroupKillReport {
        method,
        signalled: held.len(),
        rounds,
        remaining,
        watched_survived,
        waited: start.elapsed(),
    })
}

/// One freeze-signal-thaw round; returns the pidfds of the processes signalled.
fn signal_round(
    site: &CgroupKill,
    signal: Signal,
    check: ListingCheck<'_>,
) -> Result<Vec<PidFd>, ControlError> {
    // Before the freeze (a write to the cgroup) and again once frozen (nothing can join then).
    check(&cgroup_pids(&site.procs_dir)?)?;
    if let Some(freezer) = &site.freezer {
        freezer.freeze(SETTLE_TIMEOUT)?;
    }
    let listed = cgroup_pids(&site.procs_dir).and_then(|pids| check(&pids).map(|()| pids));
    let sent = listed.and_then(|pids| signal_listed(&site.procs_dir, &pids, signal, check));
    // Thaw whatever happened: signals are handled (and KILL completes on v1) only once thawed.
    if let Some(freezer) = &site.freezer {
        freezer.thaw(SETTLE_TIMEOUT)?;
    }
    sent
}

/// Signals the processes of `listed` (a listing of the cgroup at `procs_dir`) that the cgroup
/// still lists once their pidfds are open, through those pidfds; the new listing passes
/// `check` first. Returns the pidfds of those signalled.
fn signal_listed(
    procs_dir: &Path,
    listed: &[i32],
    signal: Signal,
    check: ListingCheck<'_>,
) -> Result<Vec<PidFd>, ControlError> {
    // A listed process may exit and its pid go to a process elsewhere before its pidfd opens;
    // so open first, then list again: a pidfd whose pid the cgroup still lists is its member
    // (if the process the pidfd holds were gone and its pid reused, the pidfd only says ESRCH).
    let fds = open_all(listed)?;
    let now = cgroup_pids(procs_dir)?;
    check(&now)?;
    let mut sent = Vec::with_capacity(fds.len());
    for fd in fds
        .into_iter()
        .filter(|fd| now.binary_search(&fd.pid()).is_ok())
    {
        if fd.send(signal)? {
            sent.push(fd);
        }
    }
    Ok(sent)
}

fn open_all(pids: &[i32]) -> Result<Vec<PidFd>, ControlError> {
    let mut fds = Vec::with_capacity(pids.len());
    for &pid in pids.iter().filter(|&&p| !protected(p)) {
        if let Some(fd) = PidFd::open(pid)? {
            fds.push(fd);
        }
    }
    Ok(fds)
}

fn write_error(path: PathBuf, source: std::io::Error) -> ControlError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ControlError::Vanished {
            target: path
                .parent()
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned(),
        }
    } else {
        ControlError::Write { path, source }
    }
}

/// Signals a container without a cgroup of its own through pidfds: its init first, then the
/// rest, each checked (after its pidfd is open, so it cannot change) to still be in the
/// container's pid namespace. Waits up to `timeout` for all of them to exit.
fn kill_by_pidfds(
    root: &HostRoot,
    container: &Container,
    signal: Signal,
    timeout: Duration,
) -> Result<CgroupKillReport, ControlError> {
    let start = Instant::now();
    let pid_ns = container.namespaces.get(NsKind::Pid);
    let mut order: Vec<i32> = container.init_pid.into_iter().collect();
    order.extend(
        container
            .pids
            .iter()
            .copied()
            .filter(|&p| Some(p) != container.init_pid),
    );
    let mut sent = Vec::new();
    for pid in order.into_iter().filter(|&p| !protected(p)) {
        let Some(fd) = PidFd::open(pid)? else {
            continue;
        };
        let same = read_ns_set(root, pid)?
            .and_then(|ns| ns.get(NsKind::Pid))
            .is_some_and(|ino| Some(ino) == pid_ns);
        if same && fd.send(signal)? {
            sent.push(fd);
        }
    }
    if sent.is_empty() {
        return Err(ControlError::Vanished {
            target: format!("{} ({})", container.name, container.id),
        });
    }
    let remaining = wait_exited(&sent, timeout)?;
    let watched_survived = container
        .init_pid
        .is_some_and(|init| remaining.contains(&init));
    Ok(CgroupKillReport {
        method: KillMethod::Pidfd,
        signalled: sent.len(),
        rounds: 1,
        remaining,
        watched_survived,
        waited: start.elapsed(),
    })
}

/// Kills the container `view`: refusals (`guard`), then a cgroup-wide kill of its own cgroup,
/// or pidfds for a container without one; then one audit-log line. `Ok` also when processes
/// remain: the outcome says which, and whether the init ignored the signal.
pub fn kill_container(
    root: &HostRoot,
    view: &ContainerView,
    signal: Signal,
    timeout: Duration,
) -> Result<KillOutcome, ControlError> {
    let container = &view.container;
    // Cgroup-wide when it has a cgroup of its own (one path everywhere, or one measure found
    // its own, e.g. its unified cgroup on a hybrid host); else signal by signal.
    let has_cgroup = container.cgroup_path.is_some() || guard::own_paths(view).next().is_some();
    guard::check(root, view, "kill", has_cgroup)?;
    refuse_if_holds_isotop(root, view, "kill")?;
    if !container.running || container.pids.is_empty() {
        return Err(ControlError::Vanished {
            target: format!("{} ({})", container.name, container.id),
        });
    }
    let mut notes = Vec::new();
    let result = if has_cgroup {
        let layout = detect_layout(root)?;
        let owner = Owner::of(view);
        let (site, procs_site, note) = owned_site(root, &layout, container, &owner)?;
        notes.extend(note);
        if cgroup_pids(&site.procs_dir)?.iter().all(|&p| protected(p)) {
            return Err(ControlError::Vanished {
                target: format!("{} ({})", container.name, container.id),
            });
        }
        let check = |pids: &[i32]| owned::check_listed(root, &owner, &procs_site, pids);
        kill_cgroup_checked(&site, signal, timeout, container.init_pid, &check)
    } else {
        kill_by_pidfds(root, container, signal, timeout)
    };
    let name = signal_name(signal);
    let mut entry = AuditEntry::now(&container.id, "kill", None, Some(name.to_string()));
    entry.result = match &result {
        Ok(r) if r.remaining.is_empty() => "ok".into(),
        Ok(r) => format!("{} processes still running", r.remaining.len()),
        Err(e) => e.to_string(),
    };
    let audit_error = audit::append(&entry).err().map(|e| e.to_string());
    let report = result?;
    Ok(KillOutcome {
        target: container.id.clone(),
        name: container.name.clone(),
        signal: name,
        method: report.method,
        signalled: report.signalled,
        rounds: report.rounds,
        gone: report.remaining.is_empty(),
        remaining: report.remaining,
        init_survived: report.watched_survived,
        init_pid: container.init_pid,
        waited_seconds: report.waited.as_secs_f64(),
        audit_error,
        notes,
    })
}

#[cfg(test)]
mod tests;

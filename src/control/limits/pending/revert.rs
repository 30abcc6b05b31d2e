//! Carrying out timed reverts: starting the worker, the worker's wait, the revert itself, and
//! the catch-up any isotop run does for reverts whose worker is gone ([`apply_overdue`]).
//!
//! A revert runs under the journal lock (no limit change, undo or other revert runs between
//! its check and its writes; two reverters of one change do it once: the second finds the
//! pending file gone). Its cgroups must be the container's own right then (`control::owned`;
//! a cgroup target's: not PID 1's nor isotop's, `control::cgroup_target`;
//! the container is looked up again by id, a gone container owns nothing, so only an empty
//! cgroup is restored); a refusal writes nothing, drops the pending file (it would be refused
//! again on every run) and keeps the journal entry, so `isotop undo` can restore it later.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

use super::{
    PendingRevert, WORKER_COMMAND, discard, is_worker, parse_file_name, pending_dir, read, store,
    worker_alive,
};
use crate::control::audit::AuditEntry;
use crate::control::cgroup_target::Subject;
use crate::control::error::ControlError;
use crate::control::limits::journal::{self, load_json, sites_of_files};
use crate::control::limits::{audit_or_warn, write_file};
use crate::host::HostRoot;
use crate::host::cgroup::detect_layout;
use crate::units::clock::now_unix;

/// How often the dashboard looks for overdue reverts (seconds).
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// What one revert did.
#[derive(Debug, Clone, Serialize)]
pub struct Reverted {
    pub id: String,
    pub target: String,
    /// Files given their old contents back.
    pub restored: usize,
    /// Files that already held their old value (the write never happened, or was undone).
    pub unchanged: usize,
    /// Files left as they are, with why (changed by someone else since, unreadable).
    pub left: Vec<String>,
    /// Why nothing was restored: a cgroup is not the container's own any more.
    pub refused: Option<String>,
    pub warnings: Vec<String>,
}

impl Reverted {
    /// One line for the operator.
    pub fn describe(&self) -> String {
        if let Some(reason) = &self.refused {
            return format!(
                "timed revert {} of {}: refused, nothing restored ({reason}); `isotop undo` \
                 restores it once the cgroup is the container's own again",
                self.id, self.target
            );
        }
        let mut text = format!(
            "timed revert {} of {}: {} file(s) restored",
            self.id, self.target, self.restored
        );
        if self.unchanged > 0 {
            text.push_str(&format!(", {} already held the old value", self.unchanged));
        }
        for left in &self.left {
            text.push_str(&format!("; {left}"));
        }
        text
    }
}

/// What starting the worker of a timed revert came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerStart {
    /// The worker waits for the due time: the pending revert as stored, with the worker's pid.
    Started(PendingRevert),
    /// The revert is no longer pending. It came due while its worker was being started (the
    /// change itself took that long), and an isotop run that found no worker recorded (the
    /// spawner, the worker itself, another subcommand, the dashboard) carried it out; or it was
    /// cancelled meanwhile. The audit log says which.
    Gone,
}

/// Starts the worker of `pending` (already stored and confirmed) through `exe`, isotop's own
/// binary. The pending file, read back afterwards, says what came of it: a worker recorded,
/// the revert gone, or (an error) neither.
pub fn start_worker(
    root: &HostRoot,
    pending: &PendingRevert,
    exe: &Path,
) -> Result<WorkerStart, ControlError> {
    // The first spawn only starts the real worker and exits, so the worker is nobody's child
    // here (no zombie in a long-running dashboard) and outlives this isotop.
    let status = Command::new(exe)
        .arg("--root")
        .arg(&root.prefix)
        .args([WORKER_COMMAND, "--spawn", &pending.id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| ControlError::Other(format!("cannot run {}: {e}", exe.display())))?;
    match read(root, &pending.id)? {
        None => Ok(WorkerStart::Gone),
        Some(recorded) if status.success() && recorded.worker_pid.is_some() => {
            Ok(WorkerStart::Started(recorded))
        }
        Some(_) => Err(ControlError::Other(format!(
            "`isotop {WORKER_COMMAND} --spawn {}` ended with {status} and recorded no worker",
            pending.id
        ))),
    }
}

/// The `--spawn` step: starts the detached worker and records its pid in the pending file
/// (under the journal lock, and only while the file is there: a revert done meanwhile is not
/// brought back). `None` when the revert is gone already (done or cancelled): nothing to
/// start, and no error — the caller reads the pending file back to tell.
pub fn spawn_worker(root: &HostRoot, id: &str, exe: &Path) -> Result<Option<i32>, ControlError> {
    spawn_worker_recording(root, id, exe, true)
}

/// [`spawn_worker`]; with `record` false the pid is only returned (the caller, which holds
/// the journal lock, records it: `revert-worker --spawn --print-pid`).
pub fn spawn_worker_recording(
    root: &HostRoot,
    id: &str,
    exe: &Path,
    record: bool,
) -> Result<Option<i32>, ControlError> {
    use std::os::unix::process::CommandExt;
    if read(root, id)?.is_none() {
        return Ok(None);
    }
    let child = Command::new(exe)
        .arg("--root")
        .arg(&root.prefix)
        .args([WORKER_COMMAND, id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C or a hangup of isotop's terminal does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|e| ControlError::Other(format!("cannot start the revert worker: {e}")))?;
    let pid = child.id() as i32;
    // spawn returns once exec has begun; the kernel sets the new cmdline a moment later, and
    // `cancel` recognises the worker by it: wait (at most 1 s, in 10 ms steps) until it shows.
    for _ in 0..100 {
        if is_worker(root, pid, id) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if !record {
        return Ok(Some(pid));
    }
    let _lock = journal::lock(root)?;
    if let Some(mut pending) = read(root, id)? {
        pending.worker_pid = Some(pid);
        store(root, &pending)?;
    }
    Ok(Some(pid))
}

/// Starts the detached worker of pending revert `id` (stored, possibly still in flight)
/// through `exe` while the caller holds the journal lock (`limit --for` right after its
/// write-ahead record, before any limit file is written), and returns its pid for the caller
/// to record. The worker outlives the caller: killed at any later point, the change is
/// reverted at its due time with no other isotop run.
pub fn launch_worker(root: &HostRoot, id: &str, exe: &Path) -> Result<i32, ControlError> {
    let out = Command::new(exe)
        .arg("--root")
        .arg(&root.prefix)
        .args([WORKER_COMMAND, "--spawn", "--print-pid", id])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| ControlError::Other(format!("cannot run {}: {e}", exe.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().parse::<i32>() {
        Ok(pid) if out.status.success() && pid > 0 => Ok(pid),
        _ => Err(ControlError::Other(format!(
            "`isotop {WORKER_COMMAND} --spawn --print-pid {id}` ended with {} and printed {:?}",
            out.status,
            text.trim()
        ))),
    }
}

/// The worker: waits for the due time (checking every second that the revert was not
/// cancelled), then reverts.
pub fn run_worker(root: &HostRoot, id: &str) -> Result<(), ControlError> {
    loop {
        let Some(pending) = read(root, id)? else {
            return Ok(()); // cancelled, or done by another isotop
        };
        let now = now_unix();
        if now >= pending.due_unix {
            revert(root, id)?;
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs((pending.due_unix - now).min(1)));
    }
}

/// Carries out pending revert `id` now (see the module contract); `None` when it is gone.
pub fn revert(root: &HostRoot, id: &str) -> Result<Option<Reverted>, ControlError> {
    let Some(first) = read(root, id)? else {
        return Ok(None);
    };
    // The scan is made before the lock: it takes a while and limit changes wait on the lock.
    let subject = Subject::resolve(root, &first.target)?;
    let layout = detect_layout(root)?;
    let lock = journal::lock(root)?;
    let Some(pending) = read(root, id)? else {
        return Ok(None);
    };
    let mut report = Reverted {
        id: pending.id.clone(),
        target: pending.target.clone(),
        restored: 0,
        unchanged: 0,
        left: Vec::new(),
        refused: None,
        warnings: Vec::new(),
    };
    let checked = sites_of_files(&layout, &pending.files, &subject)
        .and_then(|sites| subject.check_all(root, &sites));
    match checked {
        Ok(()) => restore(&pending, &mut report),
        Err(ControlError::Refused { reason, .. }) => {
            let mut entry = AuditEntry::now(&pending.target, "revert", None, None);
            entry.result = format!("refused, nothing restored: {reason}");
            audit_or_warn(&entry, &mut report.warnings);
            report.refused = Some(reason);
        }
        // Could not look (e.g. a cgroup.procs unreadable): leave it for the next try.
        Err(e) => return Err(e),
    }
    discard(root, id)?;
    if report.refused.is_none() {
        journal::forget_locked(&lock, root, id)?;
    }
    Ok(Some(report))
}

/// Restores each file that still holds what isotop left in it, newest first; audits each.
fn restore(pending: &PendingRevert, report: &mut Reverted) {
    for f in pending.files.iter().rev() {
        let mut entry = AuditEntry::now(&pending.target, "revert", None, Some(f.old.clone()));
        match f.read_current() {
            Ok(current) if current == f.old => {
                // Written by nobody (isotop was cut short before it) or restored already.
                entry.new = None;
                entry.result = format!(
                    "nothing to restore: {} already holds its old value",
                    f.path.display()
                );
                entry.old = Some(current);
                report.unchanged += 1;
            }
            Ok(current) if f.holds_what_isotop_left(&current) => {
                entry.old = Some(current);
                match write_file(&f.path, &f.old) {
                    Ok(()) => report.restored += 1,
                    Err(e) => {
                        entry.result = e.to_string();
                        report.left.push(e.to_string());
                    }
                }
            }
            Ok(current) => {
                entry.new = None;
                entry.result = format!(
                    "left as is: {} holds {current:?}, not {:?} as isotop left it (the operator \
                     changed it meanwhile)",
                    f.path.display(),
                    if f.in_flight { &f.written } else { &f.now }
                );
                report.left.push(entry.result.clone());
                entry.old = Some(current);
            }
            Err(e) => {
                entry.result = e.to_string();
                report.left.push(e.to_string());
            }
        }
        audit_or_warn(&entry, &mut report.warnings);
    }
}

/// Carries out every revert that is due and whose worker is gone; one line per revert done
/// (or failed). Cheap when there is none: one `readdir` of the pending directory (the due time
/// is in each file's name); files are read only once due. Root only (others cannot write
/// cgroup files, and have no reverts).
pub fn apply_overdue(root: &HostRoot) -> Vec<String> {
    if !nix::unistd::geteuid().is_root() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(pending_dir(root)) else {
        return Vec::new();
    };
    let now = now_unix();
    let mut due_ids = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((id, due)) = name.to_str().and_then(parse_file_name) else {
            continue;
        };
        let due = match due {
            Some(due) => due,
            // An older isotop's file: the due time is inside.
            None => match load_json::<PendingRevert>(&entry.path()) {
                Ok(p) => p.due_unix,
                Err(_) => continue,
            },
        };
        if due <= now {
            due_ids.push(id.to_string());
        }
    }
    let mut lines = Vec::new();
    for id in due_ids {
        match read(root, &id) {
            Ok(Some(pending)) if !worker_alive(root, &pending) => match revert(root, &id) {
                Ok(Some(report)) => {
                    lines.push(format!("{} (its worker was gone)", report.describe()))
                }
                Ok(None) => {}
                Err(e) => lines.push(format!("timed revert {id} is overdue but failed: {e}")),
            },
            Ok(_) => {}
            Err(e) => lines.push(format!("timed revert {id} is overdue but unreadable: {e}")),
        }
    }
    lines
}

/// The dashboard's watch: a thread that runs [`apply_overdue`] now and every
/// [`WATCH_EVERY`], for as long as the process lives. Results go to the audit log only (the
/// terminal belongs to the dashboard).
pub fn watch_overdue(root: HostRoot) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("isotop-overdue-reverts".into())
        .spawn(move || {
            loop {
                let _ = apply_overdue(&root);
                std::thread::sleep(WATCH_EVERY);
            }
        });
}

#[cfg(test)]
mod tests;

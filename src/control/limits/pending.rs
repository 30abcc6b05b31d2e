//! Timed reverts (`limit --for 10m`): a pending file per change (`<id>.json` under
//! `<run>/isotop/pending` when root, else the state directory's `pending/`; `ISOTOP_STATE_DIR`
//! overrides) holding the old values, the due time and the worker's pid, and a detached worker
//! process (`isotop revert-worker ID`, its own process group, stdio on /dev/null, reparented
//! away from isotop by a double spawn) that sleeps until the due time and then restores each
//! file only if it still holds what isotop wrote; a file the operator changed meanwhile is
//! left as it is and the audit log says so. Cancelling removes the file (the worker checks it
//! every second) and signals the worker through a pidfd after checking its command line names
//! this revert.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::journal::{self, Change, load_json, store_json};
use super::{FileChange, audit_or_warn, read_file, write_file};
use crate::control::audit::AuditEntry;
use crate::control::error::ControlError;
use crate::control::signal::PidFd;
use crate::host::HostRoot;
use nix::sys::signal::Signal;

/// The hidden subcommand the worker runs as (checked in its command line before signalling).
pub const WORKER_COMMAND: &str = "revert-worker";

/// One timed revert waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PendingRevert {
    /// The change's id (also the file name).
    pub id: String,
    pub target: String,
    /// Seconds since the epoch when the revert is due.
    pub due_unix: u64,
    /// The worker process, once started.
    pub worker_pid: Option<i32>,
    /// The files to restore, as the change wrote them.
    pub files: Vec<FileChange>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The directory of pending files.
pub fn pending_dir(root: &HostRoot) -> PathBuf {
    if std::env::var_os("ISOTOP_STATE_DIR").is_some_and(|d| !d.is_empty())
        || !nix::unistd::geteuid().is_root()
    {
        journal::state_dir(root).join("pending")
    } else {
        root.run.join("isotop/pending")
    }
}

fn pending_path(root: &HostRoot, id: &str) -> Result<PathBuf, ControlError> {
    // Ids are ours (`digits-digits-digits`): anything else could name a file elsewhere.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(ControlError::InvalidValue {
            what: "pending revert id".into(),
            value: id.to_string(),
            hint: "give an id as `isotop pending` lists it".into(),
        });
    }
    Ok(pending_dir(root).join(format!("{id}.json")))
}

/// Reads one pending revert; `None` when it is gone (done or cancelled).
pub fn read(root: &HostRoot, id: &str) -> Result<Option<PendingRevert>, ControlError> {
    let path = pending_path(root, id)?;
    if !path.exists() {
        return Ok(None);
    }
    load_json::<PendingRevert>(&path).map(Some)
}

/// Every pending revert, soonest first.
pub fn list(root: &HostRoot) -> Result<Vec<PendingRevert>, ControlError> {
    let dir = pending_dir(root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ControlError::Read { path: dir, source }),
    };
    let mut pending = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json")
            // A worker may remove it between listing and reading: skip it then.
            && let Ok(p) = load_json::<PendingRevert>(&path)
            && !p.id.is_empty()
        {
            pending.push(p);
        }
    }
    pending.sort_by(|a, b| (a.due_unix, &a.id).cmp(&(b.due_unix, &b.id)));
    Ok(pending)
}

/// Writes the pending file for `change`, due `after` from now, and starts its worker through
/// `exe` (isotop's own binary). Returns the pending revert with the worker's pid.
pub fn schedule(
    root: &HostRoot,
    change: &Change,
    after: Duration,
    exe: &Path,
) -> Result<PendingRevert, ControlError> {
    let pending = PendingRevert {
        id: change.id.clone(),
        target: change.target.clone(),
        due_unix: now_unix() + after.as_secs().max(1),
        worker_pid: None,
        files: change.files.clone(),
    };
    let path = pending_path(root, &pending.id)?;
    store_json(&path, &pending)?;
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
        .map_err(|e| ControlError::Other(format!("cannot start the revert worker: {e}")));
    match status {
        Ok(s) if s.success() => {}
        other => {
            let _ = std::fs::remove_file(&path);
            return Err(other.err().unwrap_or_else(|| {
                ControlError::Other("the revert worker did not start; nothing is pending".into())
            }));
        }
    }
    read(root, &pending.id)?
        .ok_or_else(|| ControlError::Other("the pending revert vanished as it started".into()))
}

/// The `--spawn` step: starts the detached worker and records its pid in the pending file.
pub fn spawn_worker(root: &HostRoot, id: &str, exe: &Path) -> Result<i32, ControlError> {
    use std::os::unix::process::CommandExt;
    let path = pending_path(root, id)?;
    let mut pending: PendingRevert = load_json(&path)?;
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
    pending.worker_pid = Some(pid);
    store_json(&path, &pending)?;
    Ok(pid)
}

/// The worker: waits for the due time (checking every second that the revert was not
/// cancelled), restores, removes the pending file, drops the change from the undo journal.
pub fn run_worker(root: &HostRoot, id: &str) -> Result<(), ControlError> {
    loop {
        let Some(pending) = read(root, id)? else {
            return Ok(()); // cancelled
        };
        let now = now_unix();
        if now >= pending.due_unix {
            revert(&pending);
            let _ = std::fs::remove_file(pending_path(root, id)?);
            return journal::forget(root, id);
        }
        std::thread::sleep(Duration::from_secs((pending.due_unix - now).min(1)));
    }
}

/// Restores each file that still holds what isotop left in it, newest first; audits each.
pub fn revert(pending: &PendingRevert) -> Vec<String> {
    let mut warnings = Vec::new();
    for f in pending.files.iter().rev() {
        let mut entry = AuditEntry::now(&pending.target, "revert", None, Some(f.old.clone()));
        match read_file(&f.path) {
            Ok(current) if current == f.now => {
                entry.old = Some(current);
                if let Err(e) = write_file(&f.path, &f.old) {
                    entry.result = e.to_string();
                }
            }
            Ok(current) => {
                entry.new = None;
                entry.result = format!(
                    "left as is: {} holds {current:?}, not {:?} as isotop left it (the operator \
                     changed it meanwhile)",
                    f.path.display(),
                    f.now
                );
                entry.old = Some(current);
            }
            Err(e) => entry.result = e.to_string(),
        }
        audit_or_warn(&entry, &mut warnings);
    }
    warnings
}

/// Cancels a pending revert: its change stays. The worker is signalled only if its command
/// line still names this revert (a recycled pid is never hit); it also stops by itself within
/// a second once the pending file is gone.
pub fn cancel(root: &HostRoot, id: &str) -> Result<PendingRevert, ControlError> {
    let path = pending_path(root, id)?;
    let Some(pending) = read(root, id)? else {
        return Err(ControlError::InvalidValue {
            what: "pending revert id".into(),
            value: id.to_string(),
            hint: "no such pending revert (it may be done already): see `isotop pending`".into(),
        });
    };
    std::fs::remove_file(&path).map_err(|source| ControlError::Write {
        path: path.clone(),
        source,
    })?;
    // The pidfd is opened before the command line is checked: if the pid is recycled after
    // the check, the signal still goes to the process that was checked (or nowhere).
    if let Some(pid) = pending.worker_pid
        && let Ok(Some(worker)) = PidFd::open(pid)
        && is_worker(root, pid, id)
    {
        let _ = worker.send(Signal::SIGTERM);
    }
    let mut warnings = Vec::new();
    let entry = AuditEntry::now(&pending.target, "revert.cancel", None, Some(id.to_string()));
    audit_or_warn(&entry, &mut warnings);
    Ok(pending)
}

/// True when `pid`'s command line is `... revert-worker <id>`.
pub fn is_worker(root: &HostRoot, pid: i32, id: &str) -> bool {
    let Ok(bytes) = std::fs::read(root.proc.join(pid.to_string()).join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = bytes.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == WORKER_COMMAND.as_bytes() && w[1] == id.as_bytes())
}

//! The undo journal: each limit change with the exact old contents of every file it wrote,
//! newest last, in `undo.json` under the state directory (`/var/lib/isotop` when root, else
//! `$XDG_STATE_HOME/isotop`; `ISOTOP_STATE_DIR` overrides both, for tests). `undo` takes the
//! newest change off and writes the old contents back in reverse order. The file is replaced
//! by rename after an fsync (and the directory is synced after it), so a crash leaves the old
//! or the new journal, never half of one.
//!
//! Order: the journal's order is the order of the writes. A limit change holds the journal's
//! lock ([`JournalLock`], an `flock` on `undo.lock`) from reading the old values through the
//! writes to its entry: two `limit`s racing on one cgroup are serialised, the second reads
//! what the first wrote as its old value, and its entry lands after the first's. Undo and the
//! timed reverts take the same lock, so none of them runs between another's write and record.
//! An entry is recorded before its writes (write-ahead, files marked `in_flight`) and
//! confirmed after them, so a change cut short by a crash can still be undone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FileChange, audit_or_warn, write_file};
use crate::control::audit::AuditEntry;
use crate::control::cgroup_target::Subject;
use crate::control::error::ControlError;
use crate::control::owned::Site;
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;

/// The journal keeps this many changes; older ones can no longer be undone.
const KEEP: usize = 100;

/// One limit change as it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `<unix seconds>-<pid>-<nanos>`: unique per change.
    pub id: String,
    pub target: String,
    pub unix_seconds: u64,
    /// In the order they were written.
    pub files: Vec<FileChange>,
}

impl Change {
    pub fn new(target: &str, files: Vec<FileChange>) -> Change {
        let now = crate::units::clock::since_epoch();
        Change {
            id: format!(
                "{}-{}-{}",
                now.as_secs(),
                std::process::id(),
                now.subsec_nanos()
            ),
            target: target.to_string(),
            unix_seconds: now.as_secs(),
            files,
        }
    }
}

impl Change {
    /// The write-ahead entry of `writes`, before any is written (each file `in_flight`).
    pub fn planned(target: &str, writes: &[super::PlannedWrite]) -> Change {
        Change::new(target, writes.iter().map(FileChange::planned).collect())
    }
}

/// Where isotop keeps state that outlives it: `ISOTOP_STATE_DIR`, else `<var/lib>/isotop`
/// when root, else this user's XDG state directory.
pub fn state_dir(root: &HostRoot) -> PathBuf {
    if let Some(dir) = std::env::var_os("ISOTOP_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        root.var_lib.join("isotop")
    } else {
        dirs::state_dir()
            .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
            .unwrap_or_else(std::env::temp_dir)
            .join("isotop")
    }
}

fn journal_path(root: &HostRoot) -> PathBuf {
    state_dir(root).join("undo.json")
}

/// An exclusive `flock` on `undo.lock` beside the journal. Held while the journal is read,
/// changed and written back (two isotops would otherwise each write back their own copy and
/// lose the other's entry), and by a limit change from reading the old values until its entry
/// is confirmed (see the module's "Order"). Released when dropped (or when the process dies).
/// The `_locked` functions take it as proof; never take it twice in one process (a second
/// `flock` on a new descriptor would wait for the first forever).
pub struct JournalLock {
    _file: std::fs::File,
}

/// Takes the journal lock, waiting for whoever holds it.
pub fn lock(root: &HostRoot) -> Result<JournalLock, ControlError> {
    let dir = state_dir(root);
    let path = dir.join("undo.lock");
    let err = |source| ControlError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(err)?;
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => return Ok(JournalLock { _file: file }),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(err(e.into())),
        }
    }
}

/// Reads a JSON state file; a missing one is `T::default()`.
pub fn load_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, ControlError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            ControlError::Other(format!(
                "{} is not valid isotop state ({e}): move it away to start afresh",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(source) => Err(ControlError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a JSON state file durably: a temporary file, fsync'd, renamed over the old one,
/// then the directory fsync'd (the rename itself must survive a crash for a write-ahead
/// record to be one).
pub fn store_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ControlError> {
    use std::io::Write;
    let err = |source| ControlError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ControlError::Other(e.to_string()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    sync_dir(dir).map_err(err)
}

/// Makes the entries of `dir` (a rename or unlink in it) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Appends `change` to the journal (takes the lock).
pub fn record(root: &HostRoot, change: &Change) -> Result<(), ControlError> {
    let lock = lock(root)?;
    record_locked(&lock, root, change)
}

/// Appends `change` to the journal, or replaces the entry with its id in place (a
/// write-ahead entry being confirmed keeps its position: the order of the writes).
pub fn record_locked(
    _lock: &JournalLock,
    root: &HostRoot,
    change: &Change,
) -> Result<(), ControlError> {
    let path = journal_path(root);
    let mut changes: Vec<Change> = load_json(&path)?;
    match changes.iter_mut().find(|c| c.id == change.id) {
        Some(entry) => *entry = change.clone(),
        None => changes.push(change.clone()),
    }
    let excess = changes.len().saturating_sub(KEEP);
    changes.drain(..excess);
    store_json(&path, &changes)
}

/// Every change still undoable, oldest first.
pub fn changes(root: &HostRoot) -> Result<Vec<Change>, ControlError> {
    load_json(&journal_path(root))
}

/// Drops the change `id` (a timed revert already restored it; takes the lock).
pub fn forget(root: &HostRoot, id: &str) -> Result<(), ControlError> {
    let lock = lock(root)?;
    forget_locked(&lock, root, id)
}

/// Drops the change `id` under a lock the caller holds.
pub fn forget_locked(_lock: &JournalLock, root: &HostRoot, id: &str) -> Result<(), ControlError> {
    let path = journal_path(root);
    let mut changes: Vec<Change> = load_json(&path)?;
    let before = changes.len();
    changes.retain(|c| c.id != id);
    if changes.len() != before {
        store_json(&path, &changes)?;
    }
    Ok(())
}

/// What `undo` did.
#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    pub change: Change,
    /// Per file: `old` = what it held before undo, `written` = the restored content.
    pub restored: Vec<FileChange>,
    /// Files someone changed after isotop wrote them (restored anyway, said so here).
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Takes the newest change off the journal and writes its old contents back, newest file
/// first. Each cgroup is checked first (a cgroup target's: `control::cgroup_target`'s
/// refusals; a container's:) to be the container's own (`control::owned`: not a
/// root, no process outside the container, which is looked up again by its id); a refusal
/// restores nothing and leaves the change in the journal. A cgroup that is gone makes it
/// `Vanished` (and the change is dropped: nothing is left to restore).
pub fn undo_last(root: &HostRoot) -> Result<Undone, ControlError> {
    let lock = lock(root)?;
    let path = journal_path(root);
    let mut changes: Vec<Change> = load_json(&path)?;
    let Some(change) = changes.last().cloned() else {
        return Err(ControlError::Other(
            "nothing to undo: no limit change is recorded".into(),
        ));
    };
    let layout = crate::host::cgroup::detect_layout(root)?;
    let subject = Subject::resolve(root, &change.target)?;
    let sites = sites_of_files(&layout, &change.files, &subject)?;
    subject.check_all(root, &sites).map_err(|e| match e {
        ControlError::Refused { target, reason } => ControlError::Refused {
            target,
            reason: format!(
                "{reason}; nothing was restored and change {} stays in the journal",
                change.id
            ),
        },
        other => other,
    })?;
    changes.pop();
    let mut undone = Undone {
        change: change.clone(),
        restored: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    let mut first_error = None;
    for f in change.files.iter().rev() {
        let mut entry = AuditEntry::now(&change.target, "undo", None, Some(f.old.clone()));
        let result = f.read_current().and_then(|current| {
            entry.old = Some(current.clone());
            if current == f.old {
                // Never written (cut short before it) or already back: writing the old
                // value again is harmless and keeps the audit simple.
            } else if !f.holds_what_isotop_left(&current) {
                undone.notes.push(format!(
                    "{} held {current:?}, not {:?} as isotop left it: someone changed it since; \
                     restored anyway",
                    f.path.display(),
                    if f.in_flight { &f.written } else { &f.now }
                ));
            }
            write_file(&f.path, &f.old)?;
            Ok(current)
        });
        match result {
            Ok(current) => {
                undone.restored.push(FileChange {
                    what: f.what.clone(),
                    path: f.path.clone(),
                    old: current,
                    written: f.old.clone(),
                    now: f.read_current().unwrap_or_default(),
                    in_flight: false,
                    slot: f.slot.clone(),
                });
            }
            Err(e) => {
                entry.result = e.to_string();
                if first_error.is_none() {
                    first_error = Some(if f.path.parent().is_some_and(|d| !d.exists()) {
                        ControlError::Vanished {
                            target: change.target.clone(),
                        }
                    } else {
                        e
                    });
                }
            }
        }
        audit_or_warn(&entry, &mut undone.warnings);
    }
    store_json(&path, &changes)?;
    drop(lock);
    match first_error {
        Some(e) => Err(e),
        None => Ok(undone),
    }
}

/// The distinct cgroups `files` are in; a file in no mounted hierarchy is refused (a journal
/// or pending record names only cgroup files).
pub fn sites_of_files(
    layout: &CgroupLayout,
    files: &[FileChange],
    subject: &Subject,
) -> Result<Vec<Site>, ControlError> {
    let mut sites: Vec<Site> = Vec::new();
    for f in files {
        let site = Site::of_file(layout, &f.path).ok_or_else(|| ControlError::Refused {
            target: subject.label(),
            reason: format!(
                "{} is in no mounted cgroup hierarchy: isotop writes only cgroup files",
                f.path.display()
            ),
        })?;
        if !sites.iter().any(|s| s.dir == site.dir) {
            sites.push(site);
        }
    }
    Ok(sites)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_records_lose_no_entry() {
        // As root the journal lives under the injected root's var/lib (as another user it
        // would be this user's real state dir: not a place for a test to write).
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping concurrent_records_lose_no_entry: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = HostRoot::under(dir.path());
        // 6 threads × 15 entries = 90, under KEEP: every one must be there afterwards. Without
        // the lock, read-modify-write races drop entries.
        std::thread::scope(|scope| {
            for t in 0..6 {
                let root = &root;
                scope.spawn(move || {
                    for i in 0..15 {
                        record(root, &Change::new(&format!("t{t}-{i}"), Vec::new())).unwrap();
                    }
                });
            }
        });
        let mut targets: Vec<String> = changes(&root)
            .unwrap()
            .into_iter()
            .map(|c| c.target)
            .collect();
        targets.sort();
        targets.dedup();
        assert_eq!(targets.len(), 90);
    }
}

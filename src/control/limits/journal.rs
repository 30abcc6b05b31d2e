//! The undo journal: each limit change with the exact old contents of every file it wrote,
//! newest last, in `undo.json` under the state directory (`/var/lib/isotop` when root, else
//! `$XDG_STATE_HOME/isotop`; `ISOTOP_STATE_DIR` overrides both, for tests). `undo` takes the
//! newest change off and writes the old contents back in reverse order. The file is replaced
//! by rename, so a crash leaves the old or the new journal, never half of one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FileChange, audit_or_warn, read_file, write_file};
use crate::control::audit::AuditEntry;
use crate::control::error::ControlError;
use crate::host::HostRoot;

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
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
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

/// An exclusive `flock` on `undo.lock` beside the journal, held while the journal is read,
/// changed and written back: two isotops changing limits at the same moment would otherwise
/// each write back their own copy and lose the other's entry. Released when dropped (or when
/// the process dies).
struct JournalLock {
    _file: std::fs::File,
}

fn lock_journal(root: &HostRoot) -> Result<JournalLock, ControlError> {
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

/// Writes a JSON state file through a temporary file and a rename.
pub fn store_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ControlError> {
    let err = |source| ControlError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let text =
        serde_json::to_string_pretty(value).map_err(|e| ControlError::Other(e.to_string()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Appends `change` to the journal.
pub fn record(root: &HostRoot, change: &Change) -> Result<(), ControlError> {
    let _lock = lock_journal(root)?;
    let path = journal_path(root);
    let mut changes: Vec<Change> = load_json(&path)?;
    changes.push(change.clone());
    let excess = changes.len().saturating_sub(KEEP);
    changes.drain(..excess);
    store_json(&path, &changes)
}

/// Every change still undoable, oldest first.
pub fn changes(root: &HostRoot) -> Result<Vec<Change>, ControlError> {
    load_json(&journal_path(root))
}

/// Drops the change `id` (a timed revert already restored it).
pub fn forget(root: &HostRoot, id: &str) -> Result<(), ControlError> {
    let _lock = lock_journal(root)?;
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
/// first. A cgroup that is gone makes it `Vanished` (and the change is dropped: nothing is
/// left to restore).
pub fn undo_last(root: &HostRoot) -> Result<Undone, ControlError> {
    let _lock = lock_journal(root)?;
    let path = journal_path(root);
    let mut changes: Vec<Change> = load_json(&path)?;
    let Some(change) = changes.pop() else {
        return Err(ControlError::Other(
            "nothing to undo: no limit change is recorded".into(),
        ));
    };
    let mut undone = Undone {
        change: change.clone(),
        restored: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    let mut first_error = None;
    for f in change.files.iter().rev() {
        let mut entry = AuditEntry::now(&change.target, "undo", None, Some(f.old.clone()));
        let result = read_file(&f.path).and_then(|current| {
            entry.old = Some(current.clone());
            if current != f.now {
                undone.notes.push(format!(
                    "{} held {current:?}, not {:?} as isotop left it: someone changed it since; \
                     restored anyway",
                    f.path.display(),
                    f.now
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
                    now: read_file(&f.path).unwrap_or_default(),
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
    match first_error {
        Some(e) => Err(e),
        None => Ok(undone),
    }
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

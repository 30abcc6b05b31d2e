//! One reading's bookkeeping: reads cgroup files with the error policy every figure shares, and
//! records where each figure came from (`sources`) and what went wrong (`notes`).
//!
//! Policy: a file that does not exist (or whose cgroup was just removed) is simply absent; a
//! file that cannot be read (EACCES, EOPNOTSUPP, ...) is absent plus a note; a file whose text
//! does not parse is absent plus a note quoting the text. Nothing here is an error for the
//! caller: one odd file never hides the other figures.

use foldhash::HashMap;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::dirs::CgroupDirs;
use super::parse::{Keyed, parse_keyed};
use crate::host::error::is_vanished;
use crate::host::text::clean;

#[derive(Debug, Default)]
pub(super) struct Session {
    /// Field name (`memory.usage_bytes`) → the file it was read from (cleaned for display).
    pub sources: BTreeMap<String, PathBuf>,
    /// Warnings: unreadable files, garbage, vanished parts.
    pub notes: Vec<String>,
    /// Keyed files already read in this session (v2 `cpu.stat` serves usage and throttling).
    keyed_cache: HashMap<PathBuf, Option<Keyed>>,
    /// Limits come from an earlier reading (`read::KeptLimits`): `limits.*` fields are not read.
    pub skip_limits: bool,
    /// A read found its file or cgroup gone (the cgroup may have been removed meanwhile).
    pub saw_gone: bool,
    /// The read buffer, reused for every file of the reading (and from reading to reading
    /// through the caller's kept directories, `CgroupDirs`).
    pub buf: Vec<u8>,
    /// The caller's kept-open directories (none kept by default: every file by its path).
    pub dirs: CgroupDirs,
}

/// A path as it may be shown: control characters (cgroup names are chosen by containers) are
/// replaced.
pub(super) fn display_path(path: &Path) -> PathBuf {
    if printable(path) {
        return path.to_path_buf();
    }
    PathBuf::from(clean(path.as_os_str().as_encoded_bytes()))
}

/// [`display_path`] of a path owned: itself when printable (no copy).
fn into_display_path(path: PathBuf) -> PathBuf {
    if printable(&path) {
        return path;
    }
    display_path(&path)
}

/// Printable ASCII is shown as it is (`clean` would copy it char by char): the common case,
/// ~20 sources per reading, 400 readings a tick on a host of 400 containers.
fn printable(path: &Path) -> bool {
    path.as_os_str()
        .as_encoded_bytes()
        .iter()
        .all(|b| (0x20..0x7f).contains(b))
}

/// True when an error means the file or its cgroup is gone: ENOENT/ESRCH, or ENODEV, which
/// files of a cgroup removed under us can return.
pub(super) fn is_gone(e: &io::Error) -> bool {
    is_vanished(e) || e.raw_os_error() == Some(nix::libc::ENODEV)
}

impl Session {
    /// Reads a whole file; `None` when absent, unreadable (noted) or not a regular file.
    pub(super) fn read(&mut self, path: &Path) -> Option<String> {
        self.fill(path)
            .then(|| String::from_utf8_lossy(&self.buf).into_owned())
    }

    /// Reads a whole file into `buf` (its text parsed in place: no copy a file, ~20 files a
    /// reading); false when absent, unreadable (noted) or not a regular file.
    fn fill(&mut self, path: &Path) -> bool {
        match self.dirs.read(path, &mut self.buf) {
            Ok(()) => true,
            Err(e) if is_gone(&e) => {
                self.saw_gone = true;
                false
            }
            Err(e) => {
                let why = if e.kind() == io::ErrorKind::PermissionDenied {
                    "permission denied (run isotop as root to see it)".to_string()
                } else {
                    e.to_string()
                };
                self.notes.push(format!(
                    "cannot read {}: {why}",
                    display_path(path).display()
                ));
                false
            }
        }
    }

    /// Notes each problem a parser found in `path` (its other lines still count).
    pub(super) fn note_ignored_lines(&mut self, path: &Path, problems: &[String]) {
        for problem in problems {
            self.notes.push(format!(
                "ignored a line of {}: {problem}",
                display_path(path).display()
            ));
        }
    }

    /// Reads and parses `dir/file`, recording `field`'s source on success.
    pub(super) fn value<T>(
        &mut self,
        field: &str,
        dir: &Path,
        file: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        if self.skip_limits && field.starts_with("limits.") {
            return None;
        }
        let path = dir.join(file);
        if !self.fill(&path) {
            return None;
        }
        match parse(&String::from_utf8_lossy(&self.buf)) {
            Ok(value) => {
                let shown = into_display_path(path);
                self.sources.insert(field.to_string(), shown);
                Some(value)
            }
            Err(why) => {
                self.notes
                    .push(format!("ignored {}: {why}", display_path(&path).display()));
                None
            }
        }
    }

    /// Reads a flat keyed file once per session; bad lines become notes.
    pub(super) fn keyed(&mut self, dir: &Path, file: &str) -> Option<(Keyed, PathBuf)> {
        let path = dir.join(file);
        if let Some(cached) = self.keyed_cache.get(&path) {
            return cached.clone().map(|k| (k, path));
        }
        let keyed = self
            .fill(&path)
            .then(|| parse_keyed(&String::from_utf8_lossy(&self.buf)));
        if let Some(k) = &keyed {
            self.note_ignored_lines(&path, &k.problems);
        }
        self.keyed_cache.insert(path.clone(), keyed.clone());
        keyed.map(|k| (k, path))
    }

    /// One key of a keyed file read by [`Session::keyed`], recording `field`'s source.
    pub(super) fn key(
        &mut self,
        field: &str,
        file: &Option<(Keyed, PathBuf)>,
        key: &str,
    ) -> Option<u64> {
        let (keyed, path) = file.as_ref()?;
        let value = keyed.get(key)?;
        self.sources.insert(field.to_string(), display_path(path));
        Some(value)
    }
}

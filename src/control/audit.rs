//! The audit log: every act isotop makes is appended as one JSON line — time, user, target,
//! what, old value, new value, result — to `/var/log/isotop/audit.jsonl` when root, else to
//! `$XDG_STATE_HOME/isotop/audit.jsonl` (`~/.local/state`). Appends are single `write` calls on
//! an `O_APPEND` file, so concurrent isotops never interleave lines. A log that cannot be
//! written does not stop the act (the act already happened) but is reported with it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::ControlError;

/// One act: the audit log's line as the read side defines it (`host::events::audit`).
pub use crate::host::events::audit::AuditRecord as AuditEntry;

impl AuditEntry {
    /// An entry stamped now for the current user.
    pub fn now(target: &str, what: &str, old: Option<String>, new: Option<String>) -> Self {
        let unix_seconds = crate::units::clock::now_unix();
        AuditEntry {
            time: rfc3339(unix_seconds),
            unix_seconds,
            user: current_user(),
            target: target.to_string(),
            what: what.to_string(),
            old,
            new,
            result: "ok".to_string(),
        }
    }
}

/// A log path set for this whole process by [`use_log_path`] (tests that act through the
/// library, where setting an environment variable would race with other threads).
static PROCESS_LOG_PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes every later append of this process go to `path`; the first call wins (returns false
/// when another path was set before).
pub fn use_log_path(path: PathBuf) -> bool {
    PROCESS_LOG_PATH.set(path.clone()).is_ok() || PROCESS_LOG_PATH.get() == Some(&path)
}

/// Where the log lives for this user; [`use_log_path`], then `ISOTOP_AUDIT_LOG` override it
/// (tests, and operators who keep logs elsewhere).
pub fn log_path() -> PathBuf {
    if let Some(path) = PROCESS_LOG_PATH.get() {
        return path.clone();
    }
    // The rule where the log lives is the read side's (it reads the log by that layout).
    crate::host::events::audit::log_path(&crate::host::HostRoot::live())
}

/// Appends `entry` to the log at `path` (creating its directory).
pub fn append_to(path: &Path, entry: &AuditEntry) -> Result<(), ControlError> {
    let write_err = |source| ControlError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let mut line = serde_json::to_string(entry).map_err(|e| ControlError::Other(e.to_string()))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(write_err)?;
    file.write_all(line.as_bytes()).map_err(write_err)
}

/// Appends `entry` to this user's log.
pub fn append(entry: &AuditEntry) -> Result<(), ControlError> {
    append_to(&log_path(), entry)
}

/// Reads every entry of the log at `path`, oldest first; unparsable lines are skipped and
/// counted (a log edited by hand must not stop `isotop log`).
pub fn read_from(path: &Path) -> Result<(Vec<AuditEntry>, usize), ControlError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(source) => {
            return Err(ControlError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut skipped = 0;
    let entries = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(entry) => Some(entry),
            Err(_) => {
                skipped += 1;
                None
            }
        })
        .collect();
    Ok((entries, skipped))
}

fn current_user() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_945_629), "2026-11-29T09:47:09Z");
    }

    #[test]
    fn append_and_read_back_skipping_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let a = AuditEntry::now(
            "c1",
            "limit.cpu",
            Some("max 100000".into()),
            Some("50000 100000".into()),
        );
        append_to(&path, &a).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"garbage\n")
            .unwrap();
        let mut b = AuditEntry::now("c2", "freeze", None, None);
        b.result = "refused".into();
        append_to(&path, &b).unwrap();
        let (entries, skipped) = read_from(&path).unwrap();
        assert_eq!(entries, vec![a, b]);
        assert_eq!(skipped, 1);
        assert_eq!(read_from(&dir.path().join("none")).unwrap().0.len(), 0);
    }
}

//! isotop's audit log read by its documented layout — JSON lines with `time`, `unix_seconds`,
//! `user`, `target` (a container id, or `cgroup:/path`), `what` (`limit.memory`, `freeze`,
//! `undo`…), `old`, `new`, `result` (`ok` or the error), written by `control::audit`, which the
//! read side never imports — for two uses: the acts since a time as dated events
//! ([`read_since`], [`event_of`]: `isotop events --since`), and the lines appended while a
//! sampler runs ([`AuditTail`]), which tell a limit change isotop made from anyone else's.
//!
//! Contract: where the log is follows `control::audit::log_path`'s documented rule
//! ([`log_path`]); a missing log is an empty one; a line that is not an entry is skipped and
//! counted, never an error. Only acts that succeeded become events: a limit change
//! (`limit.*`, and `undo`, `revert`, `rollback`, which put a value back) is
//! `LimitChanged{by: Isotop}`, a freeze `Frozen`, a thaw `Thawed`; kills, signals and `enter`
//! change no state an event kind names (the exit a kill causes is seen as `exited`) and stay
//! in `isotop log`. Text from the log is cleaned before it is put in an event.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ChangedBy, Event, EventKind, Subject, Timing};
use crate::host::cgroup::Limit;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};

/// One line of the audit log: its one definition, which `control::audit` writes (as
/// `AuditEntry`) and the read side reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC, e.g. `2026-11-29T10:53:49Z`.
    pub time: String,
    /// Seconds since the Unix epoch (for sorting and `--for` arithmetic).
    pub unix_seconds: u64,
    /// The user who ran isotop (name, else uid).
    pub user: String,
    /// The container id, or the cgroup path / pid acted on.
    pub target: String,
    /// `limit.cpu`, `limit.memory`, `freeze`, `kill`, `enter`, `undo`, `revert` ...
    pub what: String,
    /// The value before the act, as the kernel file held it (`None` when not applicable).
    pub old: Option<String>,
    /// The value written (or signal sent, command run).
    pub new: Option<String>,
    /// `ok`, or the error message.
    pub result: String,
}

impl AuditRecord {
    /// The act succeeded.
    pub fn ok(&self) -> bool {
        self.result == "ok"
    }
}

/// The limit an audited act changed, and that a sampled change is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKnob {
    /// CPU quota and period (`limit.cpu`, `limit.cpu_period`; `cpu.max`, `cpu.cfs_*_us`).
    Cpu,
    /// `limit.cpu_weight`: v2 `cpu.weight`, v1 `cpu.shares`.
    CpuWeight,
    /// `limit.memory`: v2 `memory.max`, v1 `memory.limit_in_bytes`.
    Memory,
    /// `limit.memory_high`: `memory.high`.
    MemoryHigh,
    /// `memory.low` (no isotop act).
    MemoryLow,
    /// v1 `memory.soft_limit_in_bytes` (no isotop act).
    MemorySoft,
    /// `limit.pids`: `pids.max`.
    Pids,
    /// `limit.io_*`: v2 `io.max`, v1 `blkio.throttle.*_device`.
    Io,
    /// `limit.io_weight`: `io.weight`, `blkio.weight` and their BFQ forms.
    IoWeight,
    /// `cpuset.cpus` (no isotop act).
    Cpuset,
}

impl LimitKnob {
    /// The knob an audited `what` changed; `None` for an act that is no limit change, and for
    /// `undo`, `revert` and `rollback` (which put back any limit).
    pub fn of_act(what: &str) -> Option<LimitKnob> {
        Some(match what {
            "limit.cpu" | "limit.cpu_period" => LimitKnob::Cpu,
            "limit.cpu_weight" => LimitKnob::CpuWeight,
            "limit.memory" => LimitKnob::Memory,
            "limit.memory_high" => LimitKnob::MemoryHigh,
            "limit.pids" => LimitKnob::Pids,
            "limit.io_weight" => LimitKnob::IoWeight,
            w if w.starts_with("limit.io_") => LimitKnob::Io,
            _ => return None,
        })
    }

    /// The kernel file the knob is, on a v2 (`v2`) or v1 controller (I/O rates on v1: the
    /// bandwidth files' common stem).
    pub fn file(self, v2: bool) -> &'static str {
        match (self, v2) {
            (LimitKnob::Cpu, true) => "cpu.max",
            (LimitKnob::Cpu, false) => "cpu.cfs_quota_us",
            (LimitKnob::CpuWeight, true) => "cpu.weight",
            (LimitKnob::CpuWeight, false) => "cpu.shares",
            (LimitKnob::Memory, true) => "memory.max",
            (LimitKnob::Memory, false) => "memory.limit_in_bytes",
            (LimitKnob::MemoryHigh, _) => "memory.high",
            (LimitKnob::MemoryLow, _) => "memory.low",
            (LimitKnob::MemorySoft, _) => "memory.soft_limit_in_bytes",
            (LimitKnob::Pids, _) => "pids.max",
            (LimitKnob::Io, true) => "io.max",
            (LimitKnob::Io, false) => "blkio.throttle",
            (LimitKnob::IoWeight, true) => "io.weight",
            (LimitKnob::IoWeight, false) => "blkio.weight",
            (LimitKnob::Cpuset, _) => "cpuset.cpus",
        }
    }
}

/// True for acts that put back a previous value of whatever limit they name.
pub fn restores_a_limit(what: &str) -> bool {
    matches!(what, "undo" | "revert" | "rollback")
}

/// The limit values an audited `new` holds: each word (split at white space and `=`) that is
/// a number, or `max` (v1's `-1` too) — `104857600`, `50000 100000`, `8:0 wbps=1048576`.
pub fn values_in(text: &str) -> Vec<Limit<u64>> {
    text.split(|c: char| c.is_whitespace() || c == '=')
        .filter_map(|word| match word {
            "max" | "-1" => Some(Limit::Max),
            w => w.parse().ok().map(Limit::Value),
        })
        .collect()
}

/// Where the audit log is: `ISOTOP_AUDIT_LOG` when set, else `/var/log/isotop/audit.jsonl`
/// under the root for root, else `$XDG_STATE_HOME/isotop/audit.jsonl` (`~/.local/state`) —
/// `control::audit::log_path`'s rule, by its documented layout.
pub fn log_path(root: &HostRoot) -> PathBuf {
    if let Some(path) = std::env::var_os("ISOTOP_AUDIT_LOG").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if nix::unistd::geteuid().is_root() {
        root.prefix.join("var/log/isotop/audit.jsonl")
    } else {
        dirs::state_dir()
            .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
            .unwrap_or_else(std::env::temp_dir)
            .join("isotop/audit.jsonl")
    }
}

/// The entries of the log at `path` stamped at or after `since_unix` (seconds since the epoch),
/// oldest first, and how many lines were not entries.
pub fn read_since(path: &Path, since_unix: u64) -> Result<(Vec<AuditRecord>, usize), HostError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(HostError::io(path, e)),
    };
    let mut records = Vec::new();
    let mut skipped = 0;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| HostError::io(path, e))?;
        match parse_line(&line) {
            Some(Ok(record)) if record.unix_seconds >= since_unix => records.push(record),
            Some(Ok(_)) | None => {}
            Some(Err(())) => skipped += 1,
        }
    }
    Ok((records, skipped))
}

/// One line: `None` when blank, `Some(Err)` when not an entry.
fn parse_line(line: &[u8]) -> Option<Result<AuditRecord, ()>> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(serde_json::from_slice(line).map_err(|_| ()))
}

/// Most bytes one [`AuditTail::read_new`] reads: a log grown by more is read from its last
/// 4 MiB (attribution only needs the last few seconds).
const TAIL_MAX_BYTES: u64 = 4 << 20;

/// The lines appended to the log since the tail was made or last read.
#[derive(Debug)]
pub struct AuditTail {
    path: PathBuf,
    offset: u64,
    /// A line the writer had not finished.
    carry: Vec<u8>,
}

impl AuditTail {
    /// A tail starting at the log's current end (0 when it does not exist yet).
    pub fn new(path: PathBuf) -> AuditTail {
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        AuditTail {
            path,
            offset,
            carry: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries appended since the last read, oldest first. A log that shrank (rotated,
    /// truncated) is read again from its start; an unreadable one gives none.
    pub fn read_new(&mut self) -> Vec<AuditRecord> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            self.offset = 0;
            self.carry.clear();
        }
        if len.saturating_sub(self.offset) > TAIL_MAX_BYTES {
            self.offset = len - TAIL_MAX_BYTES;
            self.carry.clear();
        }
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err()
            || file
                .take(len - self.offset)
                .read_to_end(&mut bytes)
                .is_err()
        {
            return Vec::new();
        }
        self.offset += bytes.len() as u64;
        self.carry.extend_from_slice(&bytes);
        let Some(last_newline) = self.carry.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.carry.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.carry, rest);
        complete
            .split(|b| *b == b'\n')
            .filter_map(parse_line)
            .filter_map(Result::ok)
            .collect()
    }
}

/// The file an audited limit act wrote (on a v2 or v1 controller).
fn act_file(what: &str, knob: LimitKnob, v2: bool) -> &'static str {
    match (what, v2) {
        ("limit.cpu_period", false) => "cpu.cfs_period_us",
        ("limit.io_read_bps", false) => "blkio.throttle.read_bps_device",
        ("limit.io_write_bps", false) => "blkio.throttle.write_bps_device",
        ("limit.io_read_iops", false) => "blkio.throttle.read_iops_device",
        ("limit.io_write_iops", false) => "blkio.throttle.write_iops_device",
        _ => knob.file(v2),
    }
}

/// A value as the file held it, shown as sampled limits are: memory in binary units, no
/// limit as `max` (v1 writes `-1` and reads back a huge number).
fn shown(knob: LimitKnob, value: Option<String>) -> Option<String> {
    let value = value?;
    let memory = matches!(knob, LimitKnob::Memory | LimitKnob::MemoryHigh);
    Some(match value.trim().parse::<u64>() {
        _ if value.trim() == "-1" => "max".to_string(),
        // The kernel's "no limit" on v1: PAGE_COUNTER_MAX pages, near i64::MAX bytes.
        Ok(bytes) if memory && bytes >= 1 << 62 => "max".to_string(),
        Ok(bytes) if memory => crate::units::format::bytes(bytes),
        _ => value,
    })
}

/// The event an audited act stands for (see the module), about `subject`, its limit files
/// named as a v2 (`v2`) or v1 controller names them; `None` for a failed act or one no event
/// kind names.
pub fn event_of(record: &AuditRecord, subject: Subject, v2: bool) -> Option<Event> {
    if !record.ok() {
        return None;
    }
    let old = record.old.as_deref().map(clean_str);
    let new = record.new.as_deref().map(clean_str);
    let user = clean_str(&record.user);
    let (kind, detail) = if let Some(knob) = LimitKnob::of_act(&record.what) {
        let limit = act_file(&record.what, knob, v2).to_string();
        let (old, new) = (shown(knob, old), shown(knob, new));
        let detail = format!(
            "{limit} {} → {} (isotop, by {user})",
            old.as_deref().unwrap_or("-"),
            new.as_deref().unwrap_or("-")
        );
        let kind = EventKind::LimitChanged {
            limit,
            from: old,
            to: new,
            by: ChangedBy::Isotop,
        };
        (kind, detail)
    } else if restores_a_limit(&record.what) {
        let what = clean_str(&record.what);
        let detail = format!(
            "{what}: {} put back (isotop, by {user})",
            new.as_deref().unwrap_or("-")
        );
        let kind = EventKind::LimitChanged {
            limit: what,
            from: old,
            to: new,
            by: ChangedBy::Isotop,
        };
        (kind, detail)
    } else {
        match record.what.as_str() {
            "freeze" => (EventKind::Frozen, format!("frozen (isotop, by {user})")),
            "thaw" => (EventKind::Thawed, format!("thawed (isotop, by {user})")),
            _ => return None,
        }
    };
    Some(Event {
        at_ms: record.unix_seconds.saturating_mul(1000),
        timing: Timing::Dated,
        subject,
        kind,
        detail,
    })
}

#[cfg(test)]
mod tests;

//! Limits: CPU quota and weight, memory (max, high), task count and I/O ([`io`]: per-device
//! rates and the weight) of one cgroup, on v1 and v2.
//!
//! An act is planned before anything is written: every input is parsed ([`value`]), every old
//! value is read, a memory limit below current usage is refused unless forced. Then the files
//! are written in an order the kernel accepts, each read back; if one write fails, the ones
//! before it are put back, so a change is all or nothing. Every file written is audited and the
//! change is returned with its exact old contents, which [`journal`] keeps for `undo` and
//! [`pending`] for timed reverts. Every cgroup written must be the container's own right before
//! the write (`control::owned`); [`set`] gives the order of a change and why it is safe against
//! crashes and racing changes.
//!
//! Files per version: v1 `cpu.cfs_quota_us` + `cpu.cfs_period_us` (µs, quota -1 = max),
//! `cpu.shares`, `memory.limit_in_bytes`, `pids.max`, `blkio.throttle.*_device`,
//! `blkio[.bfq].weight`; v2 `cpu.max` (`"$Q $P"` / `"max $P"`), `cpu.weight`, `memory.max`,
//! `memory.high`, `pids.max`, `io.max`, `io[.bfq].weight`. A file with one line per device
//! (`io.max`, the v1 throttle files, v2 weights) is changed one line at a time: the write
//! names its [`Slot`], and old values, read-backs, undo and reverts concern that line only.
//! The records of a change (planned writes, file changes, slots) are `change`'s.

mod change;
pub mod dirs;
pub mod io;
pub mod journal;
pub mod pending;
pub mod set;
pub mod value;

use std::path::{Path, PathBuf};

use super::audit::{self, AuditEntry};
use super::error::ControlError;
use crate::host::HostRoot;
use crate::host::cgroup::Limit;

pub use change::{FileChange, Plan, PlannedWrite, Slot, read_file, read_limit, write_file};
pub use dirs::{ControllerDir, LimitDirs};
pub use io::{DeviceLimit, IoKnob};
pub use set::{LimitOutcome, RevertAfter, set_cgroup_limits, set_limits, set_limits_for};

/// What the operator asked for, parsed and checked (nothing read from the host yet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitRequest {
    /// CPU quota in millicores (`Max` = unlimited) and the text it came from.
    pub cpus: Option<(Limit<u64>, String)>,
    /// CFS period, µs.
    pub period_usec: Option<u64>,
    /// v2 `cpu.weight` scale (1–10000).
    pub cpu_weight: Option<u64>,
    /// Bytes.
    pub memory: Option<Limit<u64>>,
    /// Bytes (v2 only).
    pub memory_high: Option<Limit<u64>>,
    /// Tasks.
    pub pids: Option<Limit<u64>>,
    /// Per-device I/O rates (`--device-read-bps` …), in the order given; devices as typed.
    pub io: Vec<DeviceLimit>,
    /// I/O weight, v2 `io.weight` scale (1–10000; narrower files are checked when planned).
    pub io_weight: Option<u64>,
    /// Allow a memory limit below current usage.
    pub force: bool,
}

/// The raw text of each option, as the CLI (or the dashboard's input line) got it.
#[derive(Debug, Clone, Default)]
pub struct LimitInput<'a> {
    pub cpus: Option<&'a str>,
    pub period: Option<&'a str>,
    pub cpu_weight: Option<&'a str>,
    pub memory: Option<&'a str>,
    pub memory_high: Option<&'a str>,
    pub pids: Option<&'a str>,
    /// `DEV=RATE` each (bytes per second; `max`/`0` clears).
    pub device_read_bps: Vec<&'a str>,
    pub device_write_bps: Vec<&'a str>,
    /// `DEV=N` each (operations per second; `max`/`0` clears).
    pub device_read_iops: Vec<&'a str>,
    pub device_write_iops: Vec<&'a str>,
    pub io_weight: Option<&'a str>,
    pub force: bool,
}

impl LimitRequest {
    /// Parses every option; the first bad one is the error.
    pub fn parse(input: &LimitInput<'_>) -> Result<LimitRequest, ControlError> {
        let request = LimitRequest {
            cpus: match input.cpus {
                Some(t) => Some((value::parse_cpus(t)?, t.to_string())),
                None => None,
            },
            period_usec: input.period.map(value::parse_period).transpose()?,
            cpu_weight: input.cpu_weight.map(value::parse_weight).transpose()?,
            memory: input
                .memory
                .map(|t| value::parse_size("--memory", t))
                .transpose()?,
            memory_high: input
                .memory_high
                .map(|t| value::parse_size("--memory-high", t))
                .transpose()?,
            pids: input.pids.map(value::parse_pids).transpose()?,
            io: io::parse_device_limits([
                (IoKnob::ReadBps, &input.device_read_bps),
                (IoKnob::WriteBps, &input.device_write_bps),
                (IoKnob::ReadIops, &input.device_read_iops),
                (IoKnob::WriteIops, &input.device_write_iops),
            ])?,
            io_weight: input.io_weight.map(value::parse_io_weight).transpose()?,
            force: input.force,
        };
        if request.is_empty() {
            return Err(ControlError::Other(
                "nothing to change: give --cpus, --period, --cpu-weight, --memory, \
                 --memory-high, --pids, --device-read-bps, --device-write-bps, \
                 --device-read-iops, --device-write-iops or --io-weight"
                    .into(),
            ));
        }
        Ok(request)
    }

    pub fn is_empty(&self) -> bool {
        self.cpus.is_none()
            && self.period_usec.is_none()
            && self.cpu_weight.is_none()
            && self.memory.is_none()
            && self.memory_high.is_none()
            && self.pids.is_none()
            && !io::requested(self)
    }
}

fn need<'a>(
    dir: &'a Option<ControllerDir>,
    controller: &str,
) -> Result<&'a ControllerDir, ControlError> {
    dir.as_ref().ok_or_else(|| {
        ControlError::Other(format!(
            "the {controller} controller is not mounted for this cgroup: cannot limit {controller}"
        ))
    })
}

fn existing(dir: &ControllerDir, file: &str) -> Result<PathBuf, ControlError> {
    let path = dir.dir.join(file);
    if path.exists() {
        Ok(path)
    } else if !dir.dir.exists() {
        Err(ControlError::Vanished {
            target: dir.dir.display().to_string(),
        })
    } else {
        Err(ControlError::Other(format!(
            "{} has no {file}: its controller is not enabled for this cgroup (v2: the parent's \
             cgroup.subtree_control)",
            dir.dir.display()
        )))
    }
}

fn write(what: &str, path: PathBuf, old: String, new: String) -> PlannedWrite {
    PlannedWrite {
        what: what.into(),
        path,
        old,
        new,
        slot: None,
    }
}

/// Reads the old values and decides what to write, in which order. Nothing is written.
/// `root` gives sysfs, where the devices of I/O limits are checked.
pub fn plan(
    root: &HostRoot,
    dirs: &LimitDirs,
    request: &LimitRequest,
) -> Result<Plan, ControlError> {
    let mut plan = Plan {
        writes: Vec::new(),
        notes: Vec::new(),
    };
    if request.cpus.is_some() || request.period_usec.is_some() {
        plan_cpu(need(&dirs.cpu, "cpu")?, request, &mut plan)?;
    }
    if let Some(weight) = request.cpu_weight {
        let dir = need(&dirs.cpu, "cpu")?;
        if dir.version == 2 {
            let path = existing(dir, "cpu.weight")?;
            let old = read_file(&path)?;
            plan.writes
                .push(write("limit.cpu_weight", path, old, weight.to_string()));
        } else {
            let path = existing(dir, "cpu.shares")?;
            let old = read_file(&path)?;
            let shares = value::weight_to_shares(weight);
            plan.notes.push(format!(
                "cgroup v1 has no cpu.weight: weight {weight} is written as cpu.shares {shares} \
                 (the runc/systemd mapping; default weight 100 = 2597 shares)"
            ));
            plan.writes
                .push(write("limit.cpu_weight", path, old, shares.to_string()));
        }
    }
    if let Some(memory) = request.memory {
        let dir = need(&dirs.memory, "memory")?;
        let (file, usage_file) = if dir.version == 2 {
            ("memory.max", "memory.current")
        } else {
            ("memory.limit_in_bytes", "memory.usage_in_bytes")
        };
        let path = existing(dir, file)?;
        let old = read_file(&path)?;
        if let Limit::Value(bytes) = memory
            && !request.force
        {
            let usage_path = existing(dir, usage_file)?;
            let usage: u64 = read_file(&usage_path)?.parse().unwrap_or(0);
            if bytes < usage {
                return Err(ControlError::Refused {
                    target: dir.dir.display().to_string(),
                    reason: format!(
                        "the memory limit {bytes} bytes is below its current usage {usage} bytes \
                         ({}): the kernel would reclaim what it can and then OOM-kill processes \
                         of the container; pass --force to do it anyway",
                        usage_path.display()
                    ),
                });
            }
        }
        let new = match (memory, dir.version) {
            (Limit::Max, 2) => "max".to_string(),
            (Limit::Max, _) => "-1".to_string(),
            (Limit::Value(b), _) => b.to_string(),
        };
        plan.writes.push(write("limit.memory", path, old, new));
    }
    if let Some(high) = request.memory_high {
        let dir = need(&dirs.memory, "memory")?;
        if dir.version != 2 {
            return Err(ControlError::InvalidValue {
                what: "--memory-high".into(),
                value: high.to_string(),
                hint: "memory.high exists only on cgroup v2; this cgroup's memory controller is \
                       v1 (use --memory)"
                    .into(),
            });
        }
        let path = existing(dir, "memory.high")?;
        let old = read_file(&path)?;
        plan.writes
            .push(write("limit.memory_high", path, old, high.to_string()));
    }
    if let Some(pids) = request.pids {
        let dir = need(&dirs.pids, "pids")?;
        let path = existing(dir, "pids.max")?;
        let old = read_file(&path)?;
        plan.writes
            .push(write("limit.pids", path, old, pids.to_string()));
    }
    io::plan_io(root, dirs, request, &mut plan)?;
    Ok(plan)
}

fn parse_number<T: std::str::FromStr>(path: &Path, text: &str) -> Result<T, ControlError> {
    text.trim().parse().map_err(|_| {
        ControlError::Host(crate::host::HostError::parse(
            path,
            format!("not a number: {text:?}"),
        ))
    })
}

/// The new quota (µs, `None` = max) from the request, the old quota and both periods.
fn new_quota(
    request: &LimitRequest,
    old_quota: Option<u64>,
    old_period: u64,
    new_period: u64,
) -> Result<Option<u64>, ControlError> {
    match &request.cpus {
        Some((Limit::Max, _)) => Ok(None),
        Some((Limit::Value(millicores), text)) => {
            value::quota_usec(*millicores, new_period, text).map(Some)
        }
        // Only the period changes: keep the same share of CPU.
        None => match old_quota {
            None => Ok(None),
            Some(q) => {
                let scaled =
                    (u128::from(q) * u128::from(new_period) / u128::from(old_period.max(1))) as u64;
                if scaled < value::QUOTA_MIN_USEC {
                    return Err(ControlError::InvalidValue {
                        what: "--period".into(),
                        value: new_period.to_string(),
                        hint: format!(
                            "keeping the current CPU share gives a quota of {scaled} µs, under \
                             the kernel's minimum {} µs: give a longer period",
                            value::QUOTA_MIN_USEC
                        ),
                    });
                }
                Ok(Some(scaled))
            }
        },
    }
}

fn plan_cpu(
    dir: &ControllerDir,
    request: &LimitRequest,
    plan: &mut Plan,
) -> Result<(), ControlError> {
    if dir.version == 2 {
        let path = existing(dir, "cpu.max")?;
        let old = read_file(&path)?;
        let (old_quota, old_period) = crate::host::cgroup::parse::parse_cpu_max(&old)
            .map_err(|what| ControlError::Host(crate::host::HostError::parse(&path, what)))?;
        let new_period = request.period_usec.unwrap_or(old_period);
        let quota = new_quota(request, old_quota.value().copied(), old_period, new_period)?;
        let new = match quota {
            None => format!("max {new_period}"),
            Some(q) => format!("{q} {new_period}"),
        };
        plan.writes.push(write("limit.cpu", path, old, new));
        return Ok(());
    }
    let quota_path = existing(dir, "cpu.cfs_quota_us")?;
    let period_path = existing(dir, "cpu.cfs_period_us")?;
    let old_quota_text = read_file(&quota_path)?;
    let old_period_text = read_file(&period_path)?;
    let old_quota_raw: i64 = parse_number(&quota_path, &old_quota_text)?;
    let old_period: u64 = parse_number(&period_path, &old_period_text)?;
    let old_quota = u64::try_from(old_quota_raw).ok();
    let new_period = request.period_usec.unwrap_or(old_period);
    let quota = new_quota(request, old_quota, old_period, new_period)?;
    let quota_write = write(
        "limit.cpu",
        quota_path,
        old_quota_text,
        quota.map_or_else(|| "-1".to_string(), |q| q.to_string()),
    );
    if new_period == old_period {
        plan.writes.push(quota_write);
        return Ok(());
    }
    let period_write = write(
        "limit.cpu_period",
        period_path,
        old_period_text,
        new_period.to_string(),
    );
    // Between the two writes the cgroup runs at an in-between ratio; v1 refuses a ratio above
    // the parent's (EINVAL). Pick the order whose in-between ratio is the smaller:
    // period first gives old_q/new_p, quota first gives new_q/old_p (max counts as infinite).
    let period_first = match (old_quota, quota) {
        (None, _) => true,
        (_, None) => false,
        (Some(oq), Some(nq)) => {
            u128::from(oq) * u128::from(old_period) <= u128::from(nq) * u128::from(new_period)
        }
    };
    if period_first {
        plan.writes.push(period_write);
        plan.writes.push(quota_write);
    } else {
        plan.writes.push(quota_write);
        plan.writes.push(period_write);
    }
    Ok(())
}

/// Writes the plan in order, reading each file back. If a write fails, the files already
/// written get their old contents back (in reverse order) and the error is returned. Each file
/// written (or failed) is audited under `target`; audit failures come back as warnings.
pub fn apply(
    target: &str,
    writes: &[PlannedWrite],
) -> Result<(Vec<FileChange>, Vec<String>), ControlError> {
    let mut done: Vec<FileChange> = Vec::new();
    let mut warnings = Vec::new();
    for w in writes {
        let mut entry = AuditEntry::now(target, &w.what, Some(w.old.clone()), Some(w.new.clone()));
        match write_file(&w.path, &w.new) {
            Ok(()) => {
                let now = read_limit(&w.path, w.slot.as_ref()).unwrap_or_default();
                audit_or_warn(&entry, &mut warnings);
                done.push(FileChange {
                    what: w.what.clone(),
                    path: w.path.clone(),
                    old: w.old.clone(),
                    written: w.new.clone(),
                    now,
                    in_flight: false,
                    slot: w.slot.clone(),
                });
            }
            Err(err) => {
                entry.result = err.to_string();
                audit_or_warn(&entry, &mut warnings);
                for d in done.iter().rev() {
                    let result = write_file(&d.path, &d.old);
                    let mut back = AuditEntry::now(
                        target,
                        "rollback",
                        Some(d.written.clone()),
                        Some(d.old.clone()),
                    );
                    if let Err(e) = result {
                        back.result = e.to_string();
                    }
                    audit_or_warn(&back, &mut warnings);
                }
                return Err(err);
            }
        }
    }
    Ok((done, warnings))
}

/// Appends to the audit log; a failure becomes a warning for the operator, not an error (the
/// act already happened).
pub fn audit_or_warn(entry: &AuditEntry, warnings: &mut Vec<String>) {
    if let Err(e) = audit::append(entry) {
        warnings.push(format!("audit log: {e}"));
    }
}

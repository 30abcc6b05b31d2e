//! I/O limits of one cgroup: per-device bandwidth and operations rates, and the I/O weight,
//! planned like every other limit (old values read first, nothing written here).
//!
//! Files: v1 `blkio.throttle.{read,write}_{bps,iops}_device` (one `MAJ:MIN N` line per device;
//! `0` clears), v2 `io.max` (one `MAJ:MIN rbps=N wbps=N riops=N wiops=N` line per device;
//! `max` clears; a line whose values are all `max` is not printed). Weight: v2 `io.weight`
//! (iocost, `default N`, 1–10000), else `io.bfq.weight` (BFQ, 1–1000); v1 `blkio.weight` (CFQ,
//! 10–1000), else `blkio.bfq.weight` (BFQ, 1–1000); refused where none exists.
//!
//! These files hold one line per device, so a change concerns one line, not the file: each
//! planned write names its [`Slot`] (the device's `MAJ:MIN`, or `default` for a v2 weight) and
//! the line that stands for "no limit". Its old value is that line as read (or the cleared
//! line when the kernel prints none); writing the old value back restores exactly that device.
//! On v2 one `io.max` write per device sets all four values at once (the ones not asked for
//! keep their old values), so the line read back is the line written.

pub mod device;

use super::value;
use super::{ControllerDir, LimitDirs, LimitRequest, Plan, PlannedWrite, Slot, existing, need};
use super::{read_file, read_limit};
use crate::control::ControlError;
use crate::host::HostRoot;
use crate::host::cgroup::Limit;
use crate::host::cgroup::io::limits::parse::io_max_value;
use crate::host::cgroup::io::parse::DevNum;

/// Which per-device rate a limit sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoKnob {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
}

impl IoKnob {
    pub const ALL: [IoKnob; 4] = [
        IoKnob::ReadBps,
        IoKnob::WriteBps,
        IoKnob::ReadIops,
        IoKnob::WriteIops,
    ];

    /// The option that sets it (`--device-write-bps`).
    pub fn flag(self) -> &'static str {
        match self {
            IoKnob::ReadBps => "--device-read-bps",
            IoKnob::WriteBps => "--device-write-bps",
            IoKnob::ReadIops => "--device-read-iops",
            IoKnob::WriteIops => "--device-write-iops",
        }
    }

    /// Its key in v2 `io.max` (`wbps`).
    fn v2_key(self) -> &'static str {
        match self {
            IoKnob::ReadBps => "rbps",
            IoKnob::WriteBps => "wbps",
            IoKnob::ReadIops => "riops",
            IoKnob::WriteIops => "wiops",
        }
    }

    /// Its v1 file (`blkio.throttle.write_bps_device`).
    fn v1_file(self) -> &'static str {
        match self {
            IoKnob::ReadBps => "blkio.throttle.read_bps_device",
            IoKnob::WriteBps => "blkio.throttle.write_bps_device",
            IoKnob::ReadIops => "blkio.throttle.read_iops_device",
            IoKnob::WriteIops => "blkio.throttle.write_iops_device",
        }
    }

    /// The audit's and journal's name of a v1 write (`limit.io_write_bps`).
    fn what(self) -> &'static str {
        match self {
            IoKnob::ReadBps => "limit.io_read_bps",
            IoKnob::WriteBps => "limit.io_write_bps",
            IoKnob::ReadIops => "limit.io_read_iops",
            IoKnob::WriteIops => "limit.io_write_iops",
        }
    }

    /// The systemd property that sets it (`IOWriteBandwidthMax`).
    pub fn systemd_property(self) -> &'static str {
        match self {
            IoKnob::ReadBps => "IOReadBandwidthMax",
            IoKnob::WriteBps => "IOWriteBandwidthMax",
            IoKnob::ReadIops => "IOReadIOPSMax",
            IoKnob::WriteIops => "IOWriteIOPSMax",
        }
    }
}

/// One per-device limit as asked: the device as typed (resolved when planned), which rate,
/// and its value (`Max`: clear it).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceLimit {
    pub device: String,
    pub knob: IoKnob,
    pub limit: Limit<u64>,
}

/// True when `request` changes an I/O limit.
pub fn requested(request: &LimitRequest) -> bool {
    !request.io.is_empty() || request.io_weight.is_some()
}

/// The v2 `io.max` line of `dev` with every value `max`: what the kernel's silence means.
fn io_max_cleared(dev: DevNum) -> String {
    format!("{dev} rbps=max wbps=max riops=max wiops=max")
}

/// Plans the I/O part of `request` into `plan` (nothing when it has none): devices resolved
/// through `root`'s sysfs, old lines read from the target's io cgroup.
pub(super) fn plan_io(
    root: &HostRoot,
    dirs: &LimitDirs,
    request: &LimitRequest,
    plan: &mut Plan,
) -> Result<(), ControlError> {
    if !requested(request) {
        return Ok(());
    }
    let dir = need(&dirs.io, "io")?;
    let mut asked: Vec<(DevNum, IoKnob, Limit<u64>)> = Vec::new();
    for wanted in &request.io {
        let flag = wanted.knob.flag();
        let found = device::resolve(root, flag, &wanted.device)?;
        if asked
            .iter()
            .any(|(d, k, _)| *d == found.number && *k == wanted.knob)
        {
            return Err(ControlError::InvalidValue {
                what: flag.into(),
                value: wanted.device.clone(),
                hint: format!("device {} is given twice for {flag}", found.number),
            });
        }
        asked.push((found.number, wanted.knob, wanted.limit));
    }
    if dir.version == 2 {
        plan_io_max(dir, &asked, plan)?;
    } else {
        for (dev, knob, limit) in &asked {
            let path = existing(dir, knob.v1_file())?;
            let slot = Slot {
                key: dev.to_string(),
                cleared: format!("{dev} 0"),
            };
            let old = read_limit(&path, Some(&slot))?;
            let value = match limit {
                Limit::Max => 0,
                Limit::Value(v) => *v,
            };
            plan.writes.push(PlannedWrite {
                what: knob.what().into(),
                path,
                old,
                new: format!("{dev} {value}"),
                slot: Some(slot),
            });
        }
    }
    if let Some(weight) = request.io_weight {
        plan_weight(dir, weight, plan)?;
    }
    Ok(())
}

/// One `io.max` write per device, in the order the devices were first asked for.
fn plan_io_max(
    dir: &ControllerDir,
    asked: &[(DevNum, IoKnob, Limit<u64>)],
    plan: &mut Plan,
) -> Result<(), ControlError> {
    if asked.is_empty() {
        return Ok(());
    }
    let path = existing(dir, "io.max")?;
    let mut devices: Vec<DevNum> = Vec::new();
    for (dev, _, _) in asked {
        if !devices.contains(dev) {
            devices.push(*dev);
        }
    }
    for dev in devices {
        let slot = Slot {
            key: dev.to_string(),
            cleared: io_max_cleared(dev),
        };
        let old = read_limit(&path, Some(&slot))?;
        // The old values, `max` for any the line lacks; then those asked for.
        let mut values: Vec<(IoKnob, String)> = IoKnob::ALL
            .iter()
            .map(|&knob| {
                let current = io_max_value(&old, knob.v2_key())
                    .and_then(Result::ok)
                    .unwrap_or(Limit::Max);
                (knob, current.to_string())
            })
            .collect();
        for (_, knob, limit) in asked.iter().filter(|(d, _, _)| *d == dev) {
            if let Some((_, value)) = values.iter_mut().find(|(k, _)| k == knob) {
                *value = limit.to_string();
            }
        }
        let fields: Vec<String> = values
            .iter()
            .map(|(knob, value)| format!("{}={value}", knob.v2_key()))
            .collect();
        plan.writes.push(PlannedWrite {
            what: "limit.io_max".into(),
            path: path.clone(),
            old,
            new: format!("{dev} {}", fields.join(" ")),
            slot: Some(slot),
        });
    }
    Ok(())
}

/// The weight file of the cgroup, its range, and whether it takes `default N` (v2) or a bare
/// number (v1); refused where the kernel has none.
fn plan_weight(dir: &ControllerDir, weight: u64, plan: &mut Plan) -> Result<(), ControlError> {
    let candidates: &[(&str, u64, u64, &str)] = if dir.version == 2 {
        &[
            ("io.weight", 1, 10_000, "iocost"),
            ("io.bfq.weight", 1, 1_000, "the BFQ scheduler"),
        ]
    } else {
        &[
            ("blkio.weight", 10, 1_000, "the CFQ scheduler"),
            ("blkio.bfq.weight", 1, 1_000, "the BFQ scheduler"),
        ]
    };
    let Some(&(file, low, high, by)) = candidates
        .iter()
        .find(|(file, ..)| dir.dir.join(file).exists())
    else {
        if !dir.dir.exists() {
            return Err(ControlError::Vanished {
                target: dir.dir.display().to_string(),
            });
        }
        let names: Vec<&str> = candidates.iter().map(|(f, ..)| *f).collect();
        let fix = if dir.version == 2 {
            "the kernel's iocost controller gives io.weight, the BFQ scheduler io.bfq.weight; \
             device limits (--device-read-bps …) use io.max and work without either"
        } else {
            "on cgroup v1 a weight needs the CFQ or BFQ I/O scheduler on the disks \
             (/sys/block/*/queue/scheduler); device limits (--device-read-bps …) use \
             blkio.throttle.* and work without either"
        };
        return Err(ControlError::Refused {
            target: dir.dir.display().to_string(),
            reason: format!(
                "this cgroup has no {}: no I/O weight to set; {fix}",
                names.join(" nor ")
            ),
        });
    };
    if !(low..=high).contains(&weight) {
        return Err(ControlError::InvalidValue {
            what: "--io-weight".into(),
            value: weight.to_string(),
            hint: format!("{file} (set by {by}) takes {low} to {high}"),
        });
    }
    let path = dir.dir.join(file);
    let (old, new, slot) = if dir.version == 2 {
        let slot = Slot {
            key: "default".into(),
            cleared: "default 100".into(),
        };
        (
            read_limit(&path, Some(&slot))?,
            format!("default {weight}"),
            Some(slot),
        )
    } else {
        (read_file(&path)?, weight.to_string(), None)
    };
    plan.writes.push(PlannedWrite {
        what: "limit.io_weight".into(),
        path,
        old,
        new,
        slot,
    });
    Ok(())
}

/// Parses the I/O options of a limit request: each `DEV=VALUE` of each knob, in order.
pub(super) fn parse_device_limits(
    settings: [(IoKnob, &[&str]); 4],
) -> Result<Vec<DeviceLimit>, ControlError> {
    let mut out = Vec::new();
    for (knob, texts) in settings {
        for text in texts {
            let flag = knob.flag();
            let (device, value) = value::split_device_setting(flag, text)?;
            let limit = match knob {
                IoKnob::ReadBps | IoKnob::WriteBps => value::parse_io_rate(flag, value)?,
                IoKnob::ReadIops | IoKnob::WriteIops => value::parse_iops(flag, value)?,
            };
            out.push(DeviceLimit {
                device: device.to_string(),
                knob,
                limit,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

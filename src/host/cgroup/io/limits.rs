//! I/O limits of one cgroup as the read side shows them: per-device bandwidth and operation
//! rates (v2 `io.max`; v1 `blkio.throttle.{read,write}_{bps,iops}_device`) and the I/O weight
//! (v2 `io.weight` `default`, else `io.bfq.weight`; v1 `blkio.weight`, else
//! `blkio.bfq.weight`), each device number resolved to its name.
//!
//! Contract: reading only (the acts are `control::limits::io`'s). A device with no limit in a
//! direction has `None` there (v2 `max`, v1 no line or `0`); a device without any limit is not
//! listed. Odd lines are skipped with a note; a missing file leaves the figure `None`:
//! [`read_io_limits`] is `None` when the cgroup has none of the files, and each figure's file
//! is recorded in the reading's `sources` (`limits.io.write_bps` → `io.max` or
//! `blkio.throttle.write_bps_device`, `limits.io.weight` → the weight file). The pure
//! parsers are [`parse`]'s.

pub mod parse;

use std::path::Path;

use serde::{Deserialize, Serialize};

use self::parse::{
    DeviceRates, ParsedRates, ThrottleFile, parse_io_max, parse_throttle_device, parse_weight,
};
use super::super::placement::{Placement, Site};
use super::super::session::{Session, display_path};
use super::device_name;
use super::parse::DevNum;
use crate::host::HostRoot;

/// One device's limits (`None`: no limit in that direction).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoDeviceLimit {
    /// `MAJ:MIN`, as the kernel prints it.
    pub device: String,
    /// The kernel's name (`loop3`), cleaned; `None` when the device is gone.
    pub name: Option<String>,
    pub read_bps: Option<u64>,
    pub write_bps: Option<u64>,
    pub read_iops: Option<u64>,
    pub write_iops: Option<u64>,
}

impl IoDeviceLimit {
    /// The name if known, else `MAJ:MIN`.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.device)
    }
}

/// A cgroup's I/O limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoLimits {
    /// Devices with at least one limit, ascending device number.
    pub devices: Vec<IoDeviceLimit>,
    /// The weight (v2 `io.weight` default 1–10000, BFQ 1–1000, v1 CFQ 10–1000); `None`
    /// when the host has no weight file for the cgroup.
    pub weight: Option<u64>,
}

impl IoLimits {
    /// The sum of the devices' read bandwidth limits, bytes/s — the limit line of a chart of
    /// the total read rate; `None` when no device has one. (A container limited on one device
    /// and doing I/O on another can exceed it: the chart's legend names the devices.)
    pub fn read_bps_total(&self) -> Option<u64> {
        sum_of(&self.devices, |d| d.read_bps)
    }

    /// As [`IoLimits::read_bps_total`], for writes.
    pub fn write_bps_total(&self) -> Option<u64> {
        sum_of(&self.devices, |d| d.write_bps)
    }
}

/// The `sources` keys of the four per-device figures, in [`ThrottleFile::ALL`]'s order.
const RATE_FIELDS: [&str; 4] = [
    "limits.io.read_bps",
    "limits.io.write_bps",
    "limits.io.read_iops",
    "limits.io.write_iops",
];

/// The cgroup's I/O limits (see the module); `None` when it has no I/O limit file at all.
pub(in crate::host::cgroup) fn read_io_limits(
    root: &HostRoot,
    s: &mut Session,
    p: &Placement,
) -> Option<IoLimits> {
    let (rates, weight) = match p.site("blkio") {
        Site::V2(dir) => (
            read_io_max(s, &dir),
            read_weight(s, &dir, &["io.weight", "io.bfq.weight"]),
        ),
        Site::V1(dir) => (
            read_throttle_files(s, &dir),
            read_weight(s, &dir, &["blkio.weight", "blkio.bfq.weight"]),
        ),
        Site::Absent => return None,
    };
    if rates.is_none() && weight.is_none() {
        return None;
    }
    let mut devices = rates.unwrap_or_default();
    devices.sort_by_key(|(dev, _)| *dev);
    Some(IoLimits {
        devices: devices
            .into_iter()
            .map(|(dev, rates)| IoDeviceLimit {
                device: dev.to_string(),
                name: device_name(&root.sys, dev),
                read_bps: rates.read_bps,
                write_bps: rates.write_bps,
                read_iops: rates.read_iops,
                write_iops: rates.write_iops,
            })
            .collect(),
        weight: weight.flatten(),
    })
}

/// v2 `io.max`: every device's four rates from one file.
fn read_io_max(s: &mut Session, dir: &Path) -> Option<Vec<(DevNum, DeviceRates)>> {
    let path = dir.join("io.max");
    let text = s.read(&path)?;
    let parsed = parse_io_max(&text);
    s.note_ignored_lines(&path, &parsed.problems);
    for field in RATE_FIELDS {
        s.sources.insert(field.to_string(), display_path(&path));
    }
    Some(parsed.devices)
}

/// v1: the four `blkio.throttle.*_device` files merged; `None` when none exists.
fn read_throttle_files(s: &mut Session, dir: &Path) -> Option<Vec<(DevNum, DeviceRates)>> {
    let mut parsed = ParsedRates::default();
    let mut any = false;
    for (file, field) in ThrottleFile::ALL.into_iter().zip(RATE_FIELDS) {
        let path = dir.join(file.file());
        let Some(text) = s.read(&path) else {
            continue;
        };
        any = true;
        let noted = parsed.problems.len();
        parse_throttle_device(&text, file, &mut parsed);
        s.note_ignored_lines(&path, &parsed.problems[noted..]);
        s.sources.insert(field.to_string(), display_path(&path));
    }
    any.then_some(parsed.devices)
}

/// The first of `files` present: `Some(weight)` (`Some(None)` when it has no default or does
/// not parse — a note), `None` when none is.
fn read_weight(s: &mut Session, dir: &Path, files: &[&str]) -> Option<Option<u64>> {
    let (path, text) = files.iter().find_map(|file| {
        let path = dir.join(file);
        Some((path.clone(), s.read(&path)?))
    })?;
    match parse_weight(&text) {
        Ok(weight) => {
            if weight.is_some() {
                s.sources
                    .insert("limits.io.weight".to_string(), display_path(&path));
            }
            Some(weight)
        }
        Err(why) => {
            s.notes
                .push(format!("ignored {}: {why}", display_path(&path).display()));
            Some(None)
        }
    }
}

fn sum_of(devices: &[IoDeviceLimit], field: fn(&IoDeviceLimit) -> Option<u64>) -> Option<u64> {
    devices
        .iter()
        .filter_map(field)
        .fold(None, |sum, v| Some(sum.unwrap_or(0u64).saturating_add(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_the_limited_devices_only() {
        let limits = IoLimits {
            devices: vec![
                IoDeviceLimit {
                    device: "7:3".into(),
                    write_bps: Some(10 << 20),
                    ..IoDeviceLimit::default()
                },
                IoDeviceLimit {
                    device: "253:0".into(),
                    write_bps: Some(1 << 20),
                    read_iops: Some(100),
                    ..IoDeviceLimit::default()
                },
            ],
            weight: None,
        };
        assert_eq!(limits.write_bps_total(), Some(11 << 20));
        assert_eq!(limits.read_bps_total(), None);
    }
}

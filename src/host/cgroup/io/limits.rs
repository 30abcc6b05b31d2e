//! I/O limits of one cgroup as the read side shows them: per-device bandwidth and operation
//! rates (v2 `io.max`; v1 `blkio.throttle.{read,write}_{bps,iops}_device`) and the I/O weight
//! (v2 `io.weight` `default`, else `io.bfq.weight`; v1 `blkio.weight`, else
//! `blkio.bfq.weight`), each device number resolved to its name.
//!
//! Contract: reading only (the acts are `control::limits::io`'s). A device with no limit in a
//! direction has `None` there (v2 `max`, v1 no line or `0`); a device without any limit is not
//! listed. Odd lines are skipped with a note; a missing file leaves the figure `None`.

use serde::Serialize;

/// One device's limits (`None`: no limit in that direction).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

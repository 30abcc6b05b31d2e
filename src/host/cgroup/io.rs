//! Block I/O of one cgroup: bytes and operations read, written and discarded, per device and
//! in total, with each device number resolved to its name.
//!
//! Contract: [`read_io`] reads, for the cgroup a placement names, v2 `io.stat` (`rbytes wbytes
//! rios wios dbytes dios`) or on v1 the first family of rwstat files present, in this order
//! (recursive first: a cgroup's figure includes its descendants', as on v2): the BFQ files
//! `blkio.bfq.io_service_bytes[_recursive]`/`io_serviced[_recursive]`, the CFQ ones
//! `blkio.io_service_bytes[_recursive]`, then blk-throttle's
//! `blkio.throttle.io_service_bytes[_recursive]`/`io_serviced[_recursive]`. Counters are
//! totals since the cgroup was made (v1 blk-throttle: since it began counting the device;
//! `_total`, OpenMetrics style); rates are `sample::rates`'. Odd contents (garbage lines, a device listed twice, unknown keys) are
//! skipped with a note; a missing file leaves the figure `None`; nothing panics.
//!
//! v1 blk-throttle counts a device's I/O only while the throttling policy is active on that
//! device's queue — on recent kernels (6.18 here) only once some cgroup has had a throttle
//! limit on it; before that the files list nothing however much was read or written. The
//! devices counted are those the hierarchy's root lists (its root group exists on every
//! active queue) or this cgroup lists: [`IoStats::counted_devices`]. When it counts no device
//! at all, the totals are `None` (unknown), never 0. v2 `io.stat` and the scheduler's files
//! count every device.

pub mod devices;
pub mod limits;
pub mod parse;

use std::path::Path;

use serde::{Deserialize, Serialize};

use self::parse::{DevNum, DeviceCounts, Parsed, RwstatUnit, parse_io_stat, parse_rwstat};
use super::placement::{Placement, Site};
use super::session::{Session, display_path};
use crate::host::HostRoot;

pub use devices::device_name;
pub use limits::{IoDeviceLimit, IoLimits};

/// Counters of block I/O, totals since the cgroup was made (`None`: the file has no such
/// figure, or nothing is counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoCounters {
    /// v2 `rbytes`; v1 `Read` of `*io_service_bytes*`.
    pub read_bytes_total: Option<u64>,
    /// v2 `wbytes`; v1 `Write`.
    pub write_bytes_total: Option<u64>,
    /// v2 `rios`; v1 `Read` of `*io_serviced*`.
    pub read_ios_total: Option<u64>,
    /// v2 `wios`; v1 `Write` of `*io_serviced*`.
    pub write_ios_total: Option<u64>,
    /// v2 `dbytes` (kernel 5.1+); v1 `Discard`.
    pub discard_bytes_total: Option<u64>,
    /// v2 `dios`; v1 `Discard` of `*io_serviced*`.
    pub discard_ios_total: Option<u64>,
}

/// One device's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoDevice {
    /// `MAJ:MIN`, as the kernel prints it.
    pub device: String,
    /// The kernel's name (`loop3`, `vda`; `DEVNAME` of `/sys/dev/block/MAJ:MIN/uevent`),
    /// cleaned; `None` when the device is gone.
    pub name: Option<String>,
    #[serde(flatten)]
    pub counters: IoCounters,
}

impl IoDevice {
    /// The name if known, else `MAJ:MIN`.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.device)
    }
}

/// A cgroup's block I/O.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoStats {
    /// Sums over `devices` (a figure only when every device has it).
    #[serde(flatten)]
    pub total: IoCounters,
    /// Ascending device number.
    pub devices: Vec<IoDevice>,
    /// v1 blk-throttle only: the devices whose I/O the kernel counts (see the module), by
    /// name; `None` when every device's I/O is counted (v2, the v1 schedulers' files).
    pub counted_devices: Option<Vec<String>>,
}

/// The v1 rwstat file families, preferred first: (bytes file, operations file).
const V1_FAMILIES: &[(&str, &str)] = &[
    (
        "blkio.bfq.io_service_bytes_recursive",
        "blkio.bfq.io_serviced_recursive",
    ),
    ("blkio.bfq.io_service_bytes", "blkio.bfq.io_serviced"),
    (
        "blkio.io_service_bytes_recursive",
        "blkio.io_serviced_recursive",
    ),
    ("blkio.io_service_bytes", "blkio.io_serviced"),
    (
        "blkio.throttle.io_service_bytes_recursive",
        "blkio.throttle.io_serviced_recursive",
    ),
    (
        "blkio.throttle.io_service_bytes",
        "blkio.throttle.io_serviced",
    ),
];

/// The cgroup's block I/O (see the module); `None` when it has no statistics file.
pub(super) fn read_io(root: &HostRoot, s: &mut Session, p: &Placement) -> Option<IoStats> {
    match p.site("blkio") {
        Site::V2(dir) => {
            let path = dir.join("io.stat");
            let text = s.read(&path)?;
            let parsed = noted(s, &path, parse_io_stat(&text));
            let stats = stats_of(root, parsed.devices, None);
            record_sources(s, &path, &path, &stats);
            Some(stats)
        }
        Site::V1(dir) => read_v1(root, s, p, &dir),
        Site::Absent => None,
    }
}

fn read_v1(root: &HostRoot, s: &mut Session, p: &Placement, dir: &Path) -> Option<IoStats> {
    let (bytes_file, ios_file, bytes_text) = V1_FAMILIES
        .iter()
        .find_map(|(bytes, ios)| Some((*bytes, *ios, s.read(&dir.join(bytes))?)))?;
    let bytes_path = dir.join(bytes_file);
    let ios_path = dir.join(ios_file);
    let bytes = noted(s, &bytes_path, parse_rwstat(&bytes_text, RwstatUnit::Bytes));
    let ios = s
        .read(&ios_path)
        .map(|text| noted(s, &ios_path, parse_rwstat(&text, RwstatUnit::Ios)));
    let mut devices = bytes.devices;
    for (dev, counts) in ios.map(|p| p.devices).unwrap_or_default() {
        match devices.iter_mut().find(|(d, _)| *d == dev) {
            Some((_, c)) => {
                c.read_ios = counts.read_ios;
                c.write_ios = counts.write_ios;
                c.discard_ios = counts.discard_ios;
            }
            None => devices.push((dev, counts)),
        }
    }
    let counted = bytes_file
        .starts_with("blkio.throttle.")
        .then(|| throttle_counted(s, p, &devices));
    let stats = stats_of(root, devices, counted);
    record_sources(s, &bytes_path, &ios_path, &stats);
    Some(stats)
}

/// The devices v1 blk-throttle counts for this cgroup: those its hierarchy's root lists in
/// `blkio.throttle.io_service_bytes` (the policy is active on their queues), and those the
/// cgroup's own file lists.
fn throttle_counted(s: &mut Session, p: &Placement, own: &[(DevNum, DeviceCounts)]) -> Vec<DevNum> {
    let mut counted: Vec<DevNum> = own.iter().map(|(d, _)| *d).collect();
    if let Some(hierarchy) = p.layout.v1_carrying("blkio")
        && let Some(text) = s.read(&hierarchy.dir.join("blkio.throttle.io_service_bytes"))
    {
        // The root's own oddities are not this cgroup's: no notes from it.
        counted.extend(
            parse_rwstat(&text, RwstatUnit::Bytes)
                .devices
                .iter()
                .map(|(d, _)| *d),
        );
    }
    counted.sort();
    counted.dedup();
    counted
}

/// Turns a file's problems into the reading's notes; the parsed devices stay.
fn noted(s: &mut Session, path: &Path, parsed: Parsed) -> Parsed {
    s.note_ignored_lines(path, &parsed.problems);
    parsed
}

/// Names the devices, sums the totals. `counted`: v1 blk-throttle's counted devices (`None`
/// when every device is counted); counting none makes every total `None`.
fn stats_of(
    root: &HostRoot,
    mut devices: Vec<(DevNum, DeviceCounts)>,
    counted: Option<Vec<DevNum>>,
) -> IoStats {
    devices.sort_by_key(|(d, _)| *d);
    let name = |d: DevNum| device_name(&root.sys, d);
    let devices: Vec<IoDevice> = devices
        .into_iter()
        .map(|(dev, c)| IoDevice {
            device: dev.to_string(),
            name: name(dev),
            counters: IoCounters {
                read_bytes_total: c.read,
                write_bytes_total: c.write,
                read_ios_total: c.read_ios,
                write_ios_total: c.write_ios,
                discard_bytes_total: c.discard,
                discard_ios_total: c.discard_ios,
            },
        })
        .collect();
    let counts_nothing = counted.as_ref().is_some_and(|c| c.is_empty());
    let sum = |field: fn(&IoCounters) -> Option<u64>| {
        if counts_nothing {
            return None;
        }
        devices
            .iter()
            .try_fold(0u64, |sum, d| Some(sum.saturating_add(field(&d.counters)?)))
    };
    let total = IoCounters {
        read_bytes_total: sum(|c| c.read_bytes_total),
        write_bytes_total: sum(|c| c.write_bytes_total),
        read_ios_total: sum(|c| c.read_ios_total),
        write_ios_total: sum(|c| c.write_ios_total),
        discard_bytes_total: sum(|c| c.discard_bytes_total),
        discard_ios_total: sum(|c| c.discard_ios_total),
    };
    IoStats {
        total,
        counted_devices: counted.map(|c| {
            c.into_iter()
                .map(|d| name(d).unwrap_or_else(|| d.to_string()))
                .collect()
        }),
        devices,
    }
}

/// Records the file each total came from (`io.read_bytes_total`, ...), for those it has.
fn record_sources(s: &mut Session, bytes: &Path, ios: &Path, stats: &IoStats) {
    let t = &stats.total;
    let fields: [(&str, Option<u64>, &Path); 6] = [
        ("io.read_bytes_total", t.read_bytes_total, bytes),
        ("io.write_bytes_total", t.write_bytes_total, bytes),
        ("io.discard_bytes_total", t.discard_bytes_total, bytes),
        ("io.read_ios_total", t.read_ios_total, ios),
        ("io.write_ios_total", t.write_ios_total, ios),
        ("io.discard_ios_total", t.discard_ios_total, ios),
    ];
    for (field, value, path) in fields {
        if value.is_some() {
            s.sources.insert(field.to_string(), display_path(path));
        }
    }
}

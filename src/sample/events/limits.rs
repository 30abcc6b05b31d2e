//! Which limits of a cgroup changed between two readings: each as the kernel file that holds it
//! (the reading's `sources`; `io.max 7:3 wbps` for a device's line), its values before and
//! after as `units::limit` shows limits, and the value an audited act must have written for
//! the change to be isotop's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::host::cgroup::io::{IoDeviceLimit, IoLimits};
use crate::host::cgroup::{CgroupLimits, Limit};
use crate::host::events::audit::LimitKnob;
use crate::units::format;
use crate::units::limit::limit_text;

/// One limit that changed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LimitChange {
    pub knob: LimitKnob,
    /// The file (and line) it is in: `memory.max`, `io.max 7:3 wbps`.
    pub limit: String,
    /// As shown (`-` where the file is absent).
    pub from: String,
    pub to: String,
    /// The new value as a number an act writes (`None` where no act writes numbers).
    pub value: Option<Limit<u64>>,
}

/// The file a reading's field came from (`sources` key), else `fallback`.
fn file_of(sources: &BTreeMap<String, PathBuf>, key: &str, fallback: &str) -> String {
    sources
        .get(key)
        .and_then(|p| p.file_name())
        .map_or(fallback.to_string(), |n| n.to_string_lossy().into_owned())
}

fn cpus(limits: &CgroupLimits) -> String {
    limit_text(limits.cpu_limit_cpus(), |v| format!("{v:.2} CPUs"))
}

/// The limits that differ between `before` and `now` (files named by `sources`, the newer
/// reading's).
pub(super) fn limit_changes(
    before: &CgroupLimits,
    now: &CgroupLimits,
    sources: &BTreeMap<String, PathBuf>,
) -> Vec<LimitChange> {
    let mut changes = Vec::new();
    let mut push = |knob, limit: String, from: String, to: String, value| {
        changes.push(LimitChange {
            knob,
            limit,
            from,
            to,
            value,
        })
    };
    if before.cpu_quota_usec != now.cpu_quota_usec || before.cpu_period_usec != now.cpu_period_usec
    {
        push(
            LimitKnob::Cpu,
            file_of(sources, "limits.cpu_quota_usec", "cpu.max"),
            cpus(before),
            cpus(now),
            now.cpu_quota_usec,
        );
    }
    let numbers = [
        (
            LimitKnob::CpuWeight,
            "limits.cpu_weight",
            "cpu.weight",
            before.cpu_weight,
            now.cpu_weight,
        ),
        (
            LimitKnob::CpuWeight,
            "limits.cpu_shares",
            "cpu.shares",
            before.cpu_shares,
            now.cpu_shares,
        ),
    ];
    for (knob, key, fallback, was, is) in numbers {
        if was != is {
            let text = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
            push(
                knob,
                file_of(sources, key, fallback),
                text(was),
                text(is),
                is.map(Limit::Value),
            );
        }
    }
    let memory = [
        (
            LimitKnob::Memory,
            "limits.memory_max_bytes",
            "memory.max",
            before.memory_max_bytes,
            now.memory_max_bytes,
        ),
        (
            LimitKnob::MemoryHigh,
            "limits.memory_high_bytes",
            "memory.high",
            before.memory_high_bytes,
            now.memory_high_bytes,
        ),
        (
            LimitKnob::MemoryLow,
            "limits.memory_low_bytes",
            "memory.low",
            before.memory_low_bytes,
            now.memory_low_bytes,
        ),
        (
            LimitKnob::MemorySoft,
            "limits.memory_soft_limit_bytes",
            "memory.soft_limit_in_bytes",
            before.memory_soft_limit_bytes,
            now.memory_soft_limit_bytes,
        ),
    ];
    for (knob, key, fallback, was, is) in memory {
        if was != is {
            push(
                knob,
                file_of(sources, key, fallback),
                limit_text(was, format::bytes),
                limit_text(is, format::bytes),
                is,
            );
        }
    }
    if before.pids_max != now.pids_max {
        push(
            LimitKnob::Pids,
            file_of(sources, "limits.pids_max", "pids.max"),
            limit_text(before.pids_max, |v| v.to_string()),
            limit_text(now.pids_max, |v| v.to_string()),
            now.pids_max,
        );
    }
    if before.cpuset_cpus != now.cpuset_cpus {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        push(
            LimitKnob::Cpuset,
            file_of(sources, "limits.cpuset_cpus", "cpuset.cpus"),
            text(&before.cpuset_cpus),
            text(&now.cpuset_cpus),
            None,
        );
    }
    if before.io != now.io {
        io_changes(before.io.as_ref(), now.io.as_ref(), sources, &mut changes);
    }
    changes
}

/// The four per-device rates: `sources` key, v2 `io.max` key, shown as bytes or operations.
const RATES: [(&str, &str, bool); 4] = [
    ("limits.io.read_bps", "rbps", true),
    ("limits.io.write_bps", "wbps", true),
    ("limits.io.read_iops", "riops", false),
    ("limits.io.write_iops", "wiops", false),
];

fn rate_of(device: Option<&IoDeviceLimit>, index: usize) -> Option<u64> {
    let d = device?;
    [d.read_bps, d.write_bps, d.read_iops, d.write_iops][index]
}

/// Each device's rate and the weight that changed.
fn io_changes(
    before: Option<&IoLimits>,
    now: Option<&IoLimits>,
    sources: &BTreeMap<String, PathBuf>,
    changes: &mut Vec<LimitChange>,
) {
    let devices = |limits: Option<&IoLimits>| -> BTreeMap<String, IoDeviceLimit> {
        limits
            .map(|l| {
                l.devices
                    .iter()
                    .map(|d| (d.device.clone(), d.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (was, is) = (devices(before), devices(now));
    let mut numbers: Vec<&String> = was.keys().chain(is.keys()).collect();
    numbers.sort();
    numbers.dedup();
    for number in numbers {
        for (index, (key, v2_key, bytes)) in RATES.iter().enumerate() {
            let (from, to) = (
                rate_of(was.get(number), index),
                rate_of(is.get(number), index),
            );
            if from == to {
                continue;
            }
            let file = file_of(sources, key, "io.max");
            let limit = if file == "io.max" {
                format!("io.max {number} {v2_key}")
            } else {
                format!("{file} {number}")
            };
            let show = |v: Option<u64>| match v {
                None => "max".to_string(),
                Some(v) if *bytes => format!("{}/s", format::bytes(v)),
                Some(v) => format!("{v}/s"),
            };
            changes.push(LimitChange {
                knob: LimitKnob::Io,
                limit,
                from: show(from),
                to: show(to),
                value: Some(to.map_or(Limit::Max, Limit::Value)),
            });
        }
    }
    let (was, is) = (before.and_then(|l| l.weight), now.and_then(|l| l.weight));
    if was != is {
        let text = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        changes.push(LimitChange {
            knob: LimitKnob::IoWeight,
            limit: file_of(sources, "limits.io.weight", "io.weight"),
            from: text(was),
            to: text(is),
            value: is.map(Limit::Value),
        });
    }
}

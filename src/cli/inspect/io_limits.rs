//! `inspect`'s "I/O limits" block: the own cgroup's per-device limits (read and write bytes
//! and operations per second, `max` where a direction is unlimited) and the I/O weight, each
//! beside the kernel file it came from (the reading's `sources`, `limits.io.*`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::host::cgroup::io::IoLimits;
use crate::units::format::bytes;

/// The block; empty without limits files (`None`).
pub(super) fn render(limits: Option<&IoLimits>, sources: &BTreeMap<String, PathBuf>) -> String {
    let Some(l) = limits else {
        return String::new();
    };
    let source = |field: &str| {
        sources
            .get(field)
            .map(|p| format!("  ({})", p.display()))
            .unwrap_or_default()
    };
    let mut out = format!(
        "I/O limits     weight {}{}\n",
        l.weight
            .map(|w| w.to_string())
            .unwrap_or_else(|| "-".into()),
        source("limits.io.weight"),
    );
    if l.devices.is_empty() {
        out.push_str(&format!(
            "  no device limited{}\n",
            source("limits.io.write_bps")
        ));
    }
    let rate = |v: Option<u64>| {
        v.map(|b| format!("{}/s", bytes(b)))
            .unwrap_or_else(|| "max".into())
    };
    let ops = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "max".into());
    for d in &l.devices {
        out.push_str(&format!(
            "  {:<14} rbps {:<12} wbps {:<12} riops {:<8} wiops {}\n",
            format!("{} ({})", d.label(), d.device),
            rate(d.read_bps),
            rate(d.write_bps),
            ops(d.read_iops),
            ops(d.write_iops),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroup::io::IoDeviceLimit;

    #[test]
    fn devices_with_their_rates_max_where_unlimited_and_the_weight() {
        let limits = IoLimits {
            devices: vec![IoDeviceLimit {
                device: "7:3".into(),
                name: Some("loop3".into()),
                write_bps: Some(2 << 20),
                read_iops: Some(100),
                ..IoDeviceLimit::default()
            }],
            weight: None,
        };
        let sources = BTreeMap::from([(
            "limits.io.write_bps".to_string(),
            PathBuf::from("/sys/fs/cgroup/blkio/box/blkio.throttle.write_bps_device"),
        )]);
        let text = render(Some(&limits), &sources);
        assert_eq!(
            text,
            "I/O limits     weight -\n  loop3 (7:3)    rbps max          wbps 2.0MiB/s     \
             riops 100      wiops max\n"
        );
        let none = render(
            Some(&IoLimits {
                devices: Vec::new(),
                weight: Some(100),
            }),
            &sources,
        );
        assert!(none.contains("weight 100"), "{none}");
        assert!(
            none.contains("no device limited  (/sys/fs/cgroup/blkio/box/"),
            "{none}"
        );
        assert_eq!(render(None, &sources), "");
    }
}

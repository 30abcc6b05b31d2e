//! A container's network and block I/O families: per interface of its own network namespace
//! (the frame's `networks`, loopback left out as cAdvisor does) and per device of its own
//! cgroup's I/O counters; and isotop's I/O limits per device and direction.

use super::{Rows, own};
use crate::host::cgroup::IoCounters;
use crate::host::net::Counters;
use crate::host::text::clean_str;
use crate::sample::ContainerSample;
use crate::serve::metrics::spec::{self, FamilySpec, Labels, Value};

/// One sample per interface of the container's own namespace but loopback.
fn per_interface(rows: &Rows, counter: fn(&Counters) -> u64) -> Vec<(Labels, Value)> {
    let networks = &rows.frame.networks;
    rows.each_with(|c| {
        let Some(net) = c.net.as_ref() else {
            return Vec::new();
        };
        let Ok(at) = networks.binary_search_by_key(&net.netns, |n| n.inode) else {
            return Vec::new();
        };
        networks[at]
            .interfaces
            .iter()
            .filter(|i| i.name != "lo")
            .map(|i| {
                let labels = vec![("interface", clean_str(&i.name))];
                (labels, Value::Int(counter(&i.counters)))
            })
            .collect()
    })
}

/// One sample per device of the container's own cgroup that counts the figure; the device
/// labelled `/dev/NAME` (cAdvisor's form), `MAJ:MIN` when its name is unknown.
fn per_device(rows: &Rows, counter: fn(&IoCounters) -> Option<u64>) -> Vec<(Labels, Value)> {
    rows.each_with(|c: &ContainerSample| {
        let Some(io) = own(c).and_then(|r| r.io.as_ref()) else {
            return Vec::new();
        };
        io.devices
            .iter()
            .filter_map(|d| {
                let device = match &d.name {
                    Some(name) => format!("/dev/{}", clean_str(name)),
                    None => d.device.clone(),
                };
                Some((vec![("device", device)], Value::Int(counter(&d.counters)?)))
            })
            .collect()
    })
}

/// isotop's I/O bandwidth limits of the container's own cgroup, per device and direction.
fn io_limits(rows: &Rows) -> Vec<(Labels, Value)> {
    rows.each_with(|c| {
        let Some(limits) = c.io_limits.as_ref() else {
            return Vec::new();
        };
        let mut samples = Vec::new();
        for d in &limits.devices {
            for (direction, bps) in [("read", d.read_bps), ("write", d.write_bps)] {
                let Some(bps) = bps else { continue };
                let labels = vec![
                    ("device", clean_str(d.label())),
                    ("direction", direction.to_string()),
                ];
                samples.push((labels, Value::Int(bps)));
            }
        }
        samples
    })
}

pub(super) fn families(rows: &Rows, out: &mut Vec<(&'static FamilySpec, Vec<(Labels, Value)>)>) {
    out.push((&spec::NET_RX_BYTES, per_interface(rows, |c| c.rx_bytes)));
    out.push((&spec::NET_TX_BYTES, per_interface(rows, |c| c.tx_bytes)));
    out.push((&spec::NET_RX_PACKETS, per_interface(rows, |c| c.rx_packets)));
    out.push((&spec::NET_TX_PACKETS, per_interface(rows, |c| c.tx_packets)));
    out.push((&spec::NET_RX_ERRORS, per_interface(rows, |c| c.rx_errors)));
    out.push((&spec::NET_TX_ERRORS, per_interface(rows, |c| c.tx_errors)));
    out.push((&spec::NET_RX_DROPPED, per_interface(rows, |c| c.rx_dropped)));
    out.push((&spec::NET_TX_DROPPED, per_interface(rows, |c| c.tx_dropped)));
    out.push((
        &spec::FS_READ_BYTES,
        per_device(rows, |c| c.read_bytes_total),
    ));
    out.push((
        &spec::FS_WRITE_BYTES,
        per_device(rows, |c| c.write_bytes_total),
    ));
    out.push((&spec::FS_READS, per_device(rows, |c| c.read_ios_total)));
    out.push((&spec::FS_WRITES, per_device(rows, |c| c.write_ios_total)));
    out.push((&spec::IO_LIMIT, io_limits(rows)));
}

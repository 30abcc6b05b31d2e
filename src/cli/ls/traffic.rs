//! `ls`'s block I/O and network figures: per row the I/O counters and limits of the
//! container's own cgroup, its network namespace's traffic, and their rates over the interval.
//!
//! Contract: I/O counters are `measure`'s (`Figures::io` at the scan, `measure::reread` at each
//! end of the interval) and the limits `Figures::io_limits`; network figures are those of the
//! namespace `host::net::own_netns` attributes to the container (none when it shares the
//! host's: the host's traffic is not its own), read once per namespace with
//! `host::net::read_counters` at both ends of the interval — so the containers of a pod, which
//! share one namespace, show the same figures — summed over its interfaces but `lo`
//! (`NetnsCounters::total`). Totals (`_total`, OpenMetrics style) are the last read's; rates
//! are `sample::rates`' between the two reads (I/O over the interval `ls` slept, network over
//! the moments each namespace was read). A namespace that could not be read leaves its fields
//! null and a warning on stderr. From a recording (`--at`), [`Traffic::recorded`] takes the
//! same fields from the frame's container sample: the sampler's totals and its rates over its
//! own interval.

use foldhash::HashMap;

use serde::Serialize;

use crate::host::HostRoot;
use crate::host::cgroup::IoCounters;
use crate::host::cgroup::io::IoLimits;
use crate::host::container::measure::Figures;
use crate::host::net::{self, Counters, NetnsCounters, own_netns};
use crate::host::scan::ContainerView;
use crate::sample::frame::ContainerSample;
use crate::sample::rates::{io_rates, netns_rates};
use crate::units::format::bytes;

/// The I/O and network fields of one `ls --json` row (flattened into it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Traffic {
    /// Bytes read from block devices by its own cgroup, in total; null without an own cgroup
    /// that counts I/O.
    pub io_read_bytes_total: Option<u64>,
    pub io_write_bytes_total: Option<u64>,
    pub io_read_ios_total: Option<u64>,
    pub io_write_ios_total: Option<u64>,
    /// Over the interval; null without a second read (`--interval 0`) or on a counter reset.
    pub io_read_bytes_per_second: Option<f64>,
    pub io_write_bytes_per_second: Option<f64>,
    /// Its own cgroup's I/O limits (per device, weight); null without an own cgroup or files.
    pub io_limits: Option<IoLimits>,
    /// The network namespace its figures are read from; null when it shares the host's.
    pub netns: Option<u64>,
    /// Its namespace's interfaces but `lo`, in total.
    pub net_rx_bytes_total: Option<u64>,
    pub net_tx_bytes_total: Option<u64>,
    pub net_rx_packets_total: Option<u64>,
    pub net_tx_packets_total: Option<u64>,
    pub net_rx_bytes_per_second: Option<f64>,
    pub net_tx_bytes_per_second: Option<f64>,
}

impl Traffic {
    /// The figures known at the scan: I/O counters and limits, the namespace.
    pub(super) fn of(view: &ContainerView, figures: &Figures) -> Traffic {
        let mut traffic = Traffic {
            io_limits: figures.io_limits.clone(),
            netns: own_netns(&view.container).filter(|_| view.container.init_pid.is_some()),
            ..Traffic::default()
        };
        traffic.set_io_totals(figures.io.as_ref());
        traffic
    }

    /// The figures a recorded frame holds of `sample`: the same totals, the sampler's rates
    /// over its own interval (null on a frame that had no previous one).
    pub(super) fn recorded(sample: &ContainerSample) -> Traffic {
        let net = sample.net.as_ref();
        let mut traffic = Traffic {
            io_limits: sample.io_limits.clone(),
            io_read_bytes_per_second: sample.io_rates.read_bytes_per_second,
            io_write_bytes_per_second: sample.io_rates.write_bytes_per_second,
            netns: net.map(|n| n.netns),
            net_rx_bytes_per_second: net.and_then(|n| n.rates.rx_bytes_per_second),
            net_tx_bytes_per_second: net.and_then(|n| n.rates.tx_bytes_per_second),
            ..Traffic::default()
        };
        traffic.set_io_totals(sample.io.as_ref());
        traffic.set_net_totals(net.map(|n| n.counters));
        traffic
    }

    fn set_io_totals(&mut self, io: Option<&IoCounters>) {
        self.io_read_bytes_total = io.and_then(|c| c.read_bytes_total);
        self.io_write_bytes_total = io.and_then(|c| c.write_bytes_total);
        self.io_read_ios_total = io.and_then(|c| c.read_ios_total);
        self.io_write_ios_total = io.and_then(|c| c.write_ios_total);
    }

    fn set_net_totals(&mut self, total: Option<Counters>) {
        self.net_rx_bytes_total = total.map(|c| c.rx_bytes);
        self.net_tx_bytes_total = total.map(|c| c.tx_bytes);
        self.net_rx_packets_total = total.map(|c| c.rx_packets);
        self.net_tx_packets_total = total.map(|c| c.tx_packets);
    }

    /// The I/O counters read again `elapsed_usec` after `before`: the latest totals, the rates.
    pub(super) fn io_interval(
        &mut self,
        before: Option<&IoCounters>,
        after: Option<&IoCounters>,
        elapsed_usec: u64,
    ) {
        self.set_io_totals(after);
        let rates = io_rates(before, after, elapsed_usec);
        self.io_read_bytes_per_second = rates.read_bytes_per_second;
        self.io_write_bytes_per_second = rates.write_bytes_per_second;
    }

    /// Its namespace's totals in `reading`, and the rates since `before` when given.
    pub(super) fn net(&mut self, before: Option<&NetReading>, reading: &NetReading) {
        let Some(netns) = self.netns else {
            return;
        };
        let now = reading.get(&netns);
        self.set_net_totals(now.map(NetnsCounters::total));
        let (Some(before), Some(now)) = (before.and_then(|b| b.get(&netns)), now) else {
            return;
        };
        let rates = netns_rates(Some(before), now).total;
        self.net_rx_bytes_per_second = rates.rx_bytes_per_second;
        self.net_tx_bytes_per_second = rates.tx_bytes_per_second;
    }
}

/// The containers' own network namespaces read at one moment, by inode.
pub(super) type NetReading = HashMap<u64, NetnsCounters>;

/// Reads the counters of every namespace a running container of `containers` has as its own,
/// once each (through its inits: the containers of a pod give one namespace several); what
/// could not be read is a warning.
pub(super) fn read_net(root: &HostRoot, containers: &[ContainerView]) -> NetReading {
    let members = containers.iter().filter_map(|v| {
        let c = &v.container;
        Some((c.init_pid?, own_netns(c)?))
    });
    let handles = net::namespaces::from_members(members, &[]);
    if handles.is_empty() {
        return NetReading::default();
    }
    let read = net::read_counters(root, &handles);
    for note in &read.notes {
        crate::cli::warn(&format!("network: {note}"));
    }
    read.namespaces.into_iter().map(|n| (n.inode, n)).collect()
}

/// The columns `--wide` adds before the trouble figures.
pub(super) const WIDE_HEADER: [&str; 4] = [">NET RX/s", ">NET TX/s", ">IO R/s", ">IO W/s"];

/// The `--wide` cells: bytes per second over the interval, `-` when unknown.
pub(super) fn wide_cells(t: &Traffic) -> [String; 4] {
    let rate = |v: Option<f64>| {
        v.filter(|r| r.is_finite() && *r >= 0.0)
            .map(|r| format!("{}/s", bytes(r.round() as u64)))
            .unwrap_or_else(|| "-".into())
    };
    [
        rate(t.net_rx_bytes_per_second),
        rate(t.net_tx_bytes_per_second),
        rate(t.io_read_bytes_per_second),
        rate(t.io_write_bytes_per_second),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    use crate::host::net::CounterSource;
    use crate::host::net::read::InterfaceCounters;

    fn reading(inode: u64, at: Instant, eth0: Counters, lo: Counters) -> NetReading {
        let interface = |name: &str, counters| InterfaceCounters {
            name: name.into(),
            ifindex: None,
            counters,
        };
        [(
            inode,
            NetnsCounters {
                inode,
                read_at_ms: 0,
                at,
                source: CounterSource::ProcNetDev,
                interfaces: vec![interface("lo", lo), interface("eth0", eth0)],
            },
        )]
        .into_iter()
        .collect()
    }

    #[test]
    fn net_totals_leave_out_lo_and_rates_divide_by_the_reads_own_moments() {
        let start = Instant::now();
        let lo = Counters {
            rx_bytes: 1 << 30,
            tx_bytes: 1 << 30,
            ..Counters::default()
        };
        let eth0 = |rx, tx| Counters {
            rx_bytes: rx,
            tx_bytes: tx,
            rx_packets: rx / 100,
            tx_packets: tx / 100,
            ..Counters::default()
        };
        let before = reading(7, start, eth0(1_000, 2_000), lo);
        let after = reading(
            7,
            start + Duration::from_millis(500),
            eth0(6_000, 3_000),
            lo,
        );
        let mut t = Traffic {
            netns: Some(7),
            ..Traffic::default()
        };
        t.net(Some(&before), &after);
        assert_eq!(t.net_rx_bytes_total, Some(6_000));
        assert_eq!(t.net_tx_packets_total, Some(30));
        assert_eq!(t.net_rx_bytes_per_second, Some(10_000.0));
        assert_eq!(t.net_tx_bytes_per_second, Some(2_000.0));
        assert_eq!(
            wide_cells(&t),
            ["9.8KiB/s", "2.0KiB/s", "-", "-"].map(String::from)
        );
        // A container sharing the host's namespace has none of it.
        let mut host = Traffic::default();
        host.net(Some(&before), &after);
        assert_eq!(host, Traffic::default());
        // Its namespace gone by the second read: no totals, no rates.
        let mut gone = Traffic {
            netns: Some(8),
            ..Traffic::default()
        };
        gone.net(Some(&before), &after);
        assert_eq!(gone.net_rx_bytes_total, None);
        assert_eq!(gone.net_rx_bytes_per_second, None);
    }

    #[test]
    fn io_totals_are_the_last_reads_and_rates_the_intervals() {
        let counters = |read, write| IoCounters {
            read_bytes_total: Some(read),
            write_bytes_total: Some(write),
            read_ios_total: Some(read / 4096),
            write_ios_total: None,
            ..IoCounters::default()
        };
        let mut t = Traffic::default();
        t.io_interval(
            Some(&counters(0, 4096)),
            Some(&counters(8192, 4096 + (1 << 20))),
            2_000_000,
        );
        assert_eq!(t.io_read_bytes_total, Some(8192));
        assert_eq!(t.io_read_ios_total, Some(2));
        assert_eq!(t.io_write_ios_total, None);
        assert_eq!(t.io_write_bytes_per_second, Some(524_288.0));
        assert_eq!(wide_cells(&t)[3], "512.0KiB/s");
        // No second read: the totals stay, no rate.
        t.io_interval(None, Some(&counters(1, 1)), 1);
        assert_eq!(t.io_read_bytes_total, Some(1));
        assert_eq!(t.io_read_bytes_per_second, None);
    }
}

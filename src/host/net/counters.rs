//! An interface's traffic counters, from netlink (`IFLA_STATS64`, `RTM_GETSTATS`) or from
//! `/proc/<pid>/net/dev`.
//!
//! Contract: counters are the kernel's monotonic totals since the interface was created, never
//! rates (`sample::rates` makes those from two readings and the time each was taken). Both
//! sources carry the same eight figures; they differ in one place the kernel chose: the `drop`
//! column of `/proc/net/dev` is `rx_dropped + rx_missed_errors`, netlink's `rx_dropped` alone
//! (the two agree for virtual devices, which never miss). [`parse_proc_net_dev`] never fails on
//! one odd line: lines it cannot read are skipped.

use netlink_packet_route::link::Stats64;
use serde::{Deserialize, Serialize};

use crate::host::text::clean;

/// Received and transmitted bytes, packets, errors and drops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

impl From<&Stats64> for Counters {
    fn from(stats: &Stats64) -> Counters {
        Counters {
            rx_bytes: stats.rx_bytes,
            rx_packets: stats.rx_packets,
            rx_errors: stats.rx_errors,
            rx_dropped: stats.rx_dropped,
            tx_bytes: stats.tx_bytes,
            tx_packets: stats.tx_packets,
            tx_errors: stats.tx_errors,
            tx_dropped: stats.tx_dropped,
        }
    }
}

impl Counters {
    /// The sum over several interfaces (a namespace's total), saturating.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Counters>) -> Counters {
        all.into_iter().fold(Counters::default(), |a, c| Counters {
            rx_bytes: a.rx_bytes.saturating_add(c.rx_bytes),
            rx_packets: a.rx_packets.saturating_add(c.rx_packets),
            rx_errors: a.rx_errors.saturating_add(c.rx_errors),
            rx_dropped: a.rx_dropped.saturating_add(c.rx_dropped),
            tx_bytes: a.tx_bytes.saturating_add(c.tx_bytes),
            tx_packets: a.tx_packets.saturating_add(c.tx_packets),
            tx_errors: a.tx_errors.saturating_add(c.tx_errors),
            tx_dropped: a.tx_dropped.saturating_add(c.tx_dropped),
        })
    }
}

/// Parses `/proc/<pid>/net/dev`: two header lines, then `name: rx(8 columns) tx(8 columns)`,
/// rx as `bytes packets errs drop fifo frame compressed multicast`, tx as `bytes packets errs
/// drop fifo colls carrier compressed`. Names are cleaned (a namespace's root chose them).
pub fn parse_proc_net_dev(text: &str) -> Vec<(String, Counters)> {
    text.lines()
        .filter_map(|line| {
            let (name, numbers) = line.rsplit_once(':')?;
            // 16 columns, parsed in place (no list per line: this runs for every interface of
            // every container's namespace each tick).
            let mut values = [0u64; 16];
            let mut columns = numbers.split_whitespace();
            for value in &mut values {
                *value = columns.next()?.parse().ok()?;
            }
            if columns.any(|c| c.parse::<u64>().is_err()) {
                return None;
            }
            Some((
                clean(name.trim().as_bytes()),
                Counters {
                    rx_bytes: values[0],
                    rx_packets: values[1],
                    rx_errors: values[2],
                    rx_dropped: values[3],
                    tx_bytes: values[8],
                    tx_packets: values[9],
                    tx_errors: values[10],
                    tx_dropped: values[11],
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1234      10    0    0    0     0          0         0     1234      10    0    0    0     0       0          0
  eth0: 98765432  65432    1    2    0     0          0        17 12345678   4321    3    4    0     0       0          0
bad line
  x:y: 1 2 3
";

    #[test]
    fn parses_each_interface_and_skips_odd_lines() {
        let rows = parse_proc_net_dev(NET_DEV);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "lo");
        assert_eq!(rows[0].1.rx_bytes, 1234);
        let eth0 = rows[1].1;
        assert_eq!(rows[1].0, "eth0");
        assert_eq!(
            eth0,
            Counters {
                rx_bytes: 98765432,
                rx_packets: 65432,
                rx_errors: 1,
                rx_dropped: 2,
                tx_bytes: 12345678,
                tx_packets: 4321,
                tx_errors: 3,
                tx_dropped: 4,
            }
        );
    }

    #[test]
    fn sums_saturate() {
        let big = Counters {
            rx_bytes: u64::MAX,
            ..Counters::default()
        };
        let one = Counters {
            rx_bytes: 1,
            tx_packets: 2,
            ..Counters::default()
        };
        let total = Counters::sum([&big, &one, &one]);
        assert_eq!(total.rx_bytes, u64::MAX);
        assert_eq!(total.tx_packets, 4);
    }
}

//! Network rates: per interface, and per namespace — the one rule `isotop ls`, the sampler
//! (and so every view) use for a namespace's traffic per second.
//!
//! A namespace's rate is the sum of its interfaces' but loopback (traffic that never left it),
//! each interface compared with its own previous reading, matched by name. It is known only
//! when the same interfaces are in both readings: an interface made, deleted or made again in
//! between leaves that interval's figure unknown (`None`) — comparing the namespace's totals
//! instead would show a small interface deleted while another grew as a wrong, smaller rate.

use serde::{Deserialize, Serialize};

use super::per_second;
use crate::host::net::{Counters, NetnsCounters};

/// Network traffic per second between two readings of a namespace's (or an interface's)
/// [`Counters`]. Each rate is `None` on its own terms (see [`per_second`]): a first tick, or a
/// reset (the interface was made again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NetRates {
    pub rx_bytes_per_second: Option<f64>,
    pub tx_bytes_per_second: Option<f64>,
    pub rx_packets_per_second: Option<f64>,
    pub tx_packets_per_second: Option<f64>,
    pub rx_errors_per_second: Option<f64>,
    pub tx_errors_per_second: Option<f64>,
    pub rx_dropped_per_second: Option<f64>,
    pub tx_dropped_per_second: Option<f64>,
}

/// The network rates between `previous` and `current` read `wall_usec` µs apart (all `None`
/// without either).
pub fn net_rates(
    previous: Option<&Counters>,
    current: Option<&Counters>,
    wall_usec: u64,
) -> NetRates {
    let (Some(a), Some(b)) = (previous, current) else {
        return NetRates::default();
    };
    let rate = |field: fn(&Counters) -> u64| per_second(Some(field(a)), Some(field(b)), wall_usec);
    NetRates {
        rx_bytes_per_second: rate(|c| c.rx_bytes),
        tx_bytes_per_second: rate(|c| c.tx_bytes),
        rx_packets_per_second: rate(|c| c.rx_packets),
        tx_packets_per_second: rate(|c| c.tx_packets),
        rx_errors_per_second: rate(|c| c.rx_errors),
        tx_errors_per_second: rate(|c| c.tx_errors),
        rx_dropped_per_second: rate(|c| c.rx_dropped),
        tx_dropped_per_second: rate(|c| c.tx_dropped),
    }
}

/// One namespace's rates between two of its readings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetnsRates {
    /// Each interface of the current reading's, in its order (`None`s when it is new).
    pub interfaces: Vec<NetRates>,
    /// The namespace's (see the module).
    pub total: NetRates,
}

/// The rates of namespace reading `current` against `previous` (the same namespace's earlier
/// reading; `None`: none, all rates `None`), over the time between the two readings' moments.
pub fn netns_rates(previous: Option<&NetnsCounters>, current: &NetnsCounters) -> NetnsRates {
    let Some(previous) = previous else {
        return NetnsRates {
            interfaces: vec![NetRates::default(); current.interfaces.len()],
            total: NetRates::default(),
        };
    };
    let wall_usec = current
        .at
        .saturating_duration_since(previous.at)
        .as_micros() as u64;
    let before = |name: &str| {
        previous
            .interfaces
            .iter()
            .find(|i| i.name == name)
            .map(|i| &i.counters)
    };
    let interfaces: Vec<NetRates> = current
        .interfaces
        .iter()
        .map(|i| net_rates(before(&i.name), Some(&i.counters), wall_usec))
        .collect();
    let counted = |reading: &NetnsCounters| -> Vec<String> {
        let mut names: Vec<String> = reading
            .interfaces
            .iter()
            .filter(|i| i.name != "lo")
            .map(|i| i.name.clone())
            .collect();
        names.sort();
        names
    };
    if counted(previous) != counted(current) {
        return NetnsRates {
            interfaces,
            total: NetRates::default(),
        };
    }
    let rates: Vec<&NetRates> = current
        .interfaces
        .iter()
        .zip(&interfaces)
        .filter(|(i, _)| i.name != "lo")
        .map(|(_, r)| r)
        .collect();
    let sum = |field: fn(&NetRates) -> Option<f64>| -> Option<f64> {
        rates.iter().map(|r| field(r)).sum()
    };
    let total = NetRates {
        rx_bytes_per_second: sum(|r| r.rx_bytes_per_second),
        tx_bytes_per_second: sum(|r| r.tx_bytes_per_second),
        rx_packets_per_second: sum(|r| r.rx_packets_per_second),
        tx_packets_per_second: sum(|r| r.tx_packets_per_second),
        rx_errors_per_second: sum(|r| r.rx_errors_per_second),
        tx_errors_per_second: sum(|r| r.tx_errors_per_second),
        rx_dropped_per_second: sum(|r| r.rx_dropped_per_second),
        tx_dropped_per_second: sum(|r| r.tx_dropped_per_second),
    };
    NetnsRates { interfaces, total }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::host::net::CounterSource;
    use crate::host::net::read::InterfaceCounters;

    fn at(rx_bytes: u64, tx_bytes: u64) -> Counters {
        Counters {
            rx_bytes,
            tx_bytes,
            ..Counters::default()
        }
    }

    fn reading(at: Instant, interfaces: &[(&str, Counters)]) -> NetnsCounters {
        NetnsCounters {
            inode: 1,
            read_at_ms: 0,
            at,
            source: CounterSource::ProcNetDev,
            interfaces: interfaces
                .iter()
                .map(|(name, counters)| InterfaceCounters {
                    name: name.to_string(),
                    ifindex: None,
                    counters: *counters,
                })
                .collect(),
        }
    }

    #[test]
    fn net_per_second_from_counters_and_resets_give_none() {
        let rates = net_rates(Some(&at(0, 100)), Some(&at(3_000, 100)), 1_500_000);
        assert_eq!(rates.rx_bytes_per_second, Some(2_000.0));
        assert_eq!(rates.tx_bytes_per_second, Some(0.0));
        // The interface was made again: its counters started over.
        let reset = net_rates(Some(&at(9_000, 100)), Some(&at(10, 200)), 1_000_000);
        assert_eq!(reset.rx_bytes_per_second, None);
        assert_eq!(reset.tx_bytes_per_second, Some(100.0));
        assert_eq!(net_rates(None, Some(&at(1, 1)), 1_000), NetRates::default());
    }

    #[test]
    fn a_namespace_sums_its_interfaces_but_loopback() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let before = reading(
            t0,
            &[("lo", at(0, 0)), ("eth0", at(0, 0)), ("eth1", at(0, 0))],
        );
        let after = reading(
            t1,
            &[
                ("lo", at(1_000, 1_000)),
                ("eth0", at(4_000, 0)),
                ("eth1", at(2_000, 600)),
            ],
        );
        let rates = netns_rates(Some(&before), &after);
        assert_eq!(rates.total.rx_bytes_per_second, Some(3_000.0));
        assert_eq!(rates.total.tx_bytes_per_second, Some(300.0));
        assert_eq!(
            rates.interfaces[0].rx_bytes_per_second,
            Some(500.0),
            "lo's own"
        );
        assert_eq!(netns_rates(None, &after).total, NetRates::default());
    }

    #[test]
    fn an_interface_made_or_deleted_in_between_leaves_the_namespace_rate_unknown() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let before = reading(t0, &[("eth0", at(100, 0)), ("tmp0", at(9_000, 0))]);
        // tmp0 deleted while eth0 grew: the totals went down, the rate is not known.
        let after = reading(t1, &[("eth0", at(600, 0))]);
        let rates = netns_rates(Some(&before), &after);
        assert_eq!(rates.total, NetRates::default());
        assert_eq!(rates.interfaces[0].rx_bytes_per_second, Some(500.0));
        // Made: the new one has no rate, nor has the namespace.
        let made = netns_rates(Some(&after), &before);
        assert_eq!(made.total.rx_bytes_per_second, None);
        assert_eq!(made.interfaces[1], NetRates::default());
    }
}

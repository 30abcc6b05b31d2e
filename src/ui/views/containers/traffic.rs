//! The Containers view's traffic cells: NET RX/s, NET TX/s (the container's own network
//! namespace, `ContainerSample::net`; `-` without one: the host's namespace, stopped, not read)
//! and IO R/s, IO W/s (its own cgroup's block I/O, `ContainerSample::io_rates`; `-` without
//! one). A namespace several containers share (a pod's members share the sandbox's) has one
//! traffic: each of them shows it marked `=` and dimmed, the same figure, not theirs alone —
//! the pod's row counts it once (`PodSample::net_*`), its I/O is the sum of its members'.

use ratatui::text::Line;

use crate::sample::{ContainerSample, PodSample};
use crate::ui::theme::Theme;
use crate::units::format::bytes_per_second;

/// The mark before a network figure shared with other containers.
const SHARED_MARK: &str = "=";

/// A container's NET RX/s, NET TX/s, IO R/s, IO W/s.
pub(super) fn cells<'a>(c: &ContainerSample, theme: &Theme) -> [Line<'a>; 4] {
    let net = |rate: Option<f64>| match &c.net {
        Some(n) if n.sharing > 1 => {
            Line::from(format!("{SHARED_MARK}{}", bytes_per_second(rate))).style(theme.dim)
        }
        Some(_) => Line::from(bytes_per_second(rate)),
        None => Line::from("-"),
    };
    let net_rates = c.net.as_ref().map(|n| &n.rates);
    [
        net(net_rates.and_then(|r| r.rx_bytes_per_second)),
        net(net_rates.and_then(|r| r.tx_bytes_per_second)),
        Line::from(bytes_per_second(c.io_rates.read_bytes_per_second)),
        Line::from(bytes_per_second(c.io_rates.write_bytes_per_second)),
    ]
}

/// A pod's: its namespaces' traffic counted once each, its members' I/O summed.
pub(super) fn pod_cells<'a>(pod: &PodSample) -> [Line<'a>; 4] {
    [
        pod.net_rx_bytes_per_second,
        pod.net_tx_bytes_per_second,
        pod.io_read_bytes_per_second,
        pod.io_write_bytes_per_second,
    ]
    .map(|rate| Line::from(bytes_per_second(rate)))
}

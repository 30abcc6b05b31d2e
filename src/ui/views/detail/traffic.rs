//! The detail pane's part for network and block I/O: the facts (bytes per second received
//! and sent in the container's own network namespace — marked when other containers share it,
//! a pod's members do — and read and written through its cgroup; the I/O limits in force per
//! device, and the weight) and the two charts drawn from the history's points: network (rx,
//! tx over it) for a container, disk I/O (read, write over it) for a container or a cgroup,
//! each I/O direction's limit (the sum over the limited devices) drawn as a line and the
//! limited devices named in the chart's title. A cgroup has no network of its own: no
//! network chart.

use ratatui::text::Line;

use super::charts::values;
use crate::host::cgroup::io::IoLimits;
use crate::sample::Point;
use crate::sample::frame::ContainerNet;
use crate::sample::rates::IoRates;
use crate::ui::theme::Theme;
use crate::ui::widgets::chart::{Overlay, Series};
use crate::ui::widgets::field;
use crate::units::format::bytes_per_second;

/// Whose network a detail pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Network {
    /// A cgroup: no network of its own, no chart.
    Cgroup,
    /// A container without a namespace of its own (the host's, stopped, not read).
    NoneOwn,
    /// A container's own namespace, shared by this many containers (1: its alone).
    Own { sharing: usize },
}

impl Network {
    pub(super) fn of(net: Option<&ContainerNet>) -> Network {
        match net {
            Some(n) => Network::Own { sharing: n.sharing },
            None => Network::NoneOwn,
        }
    }
}

/// The facts lines of a container: its network and its disk I/O, per second.
pub(super) fn container_lines<'a>(
    net: Option<&ContainerNet>,
    io: &IoRates,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let network = match net {
        Some(n) => {
            let shared = if n.sharing > 1 {
                format!(" (netns shared by {})", n.sharing)
            } else {
                String::new()
            };
            format!(
                "rx {} tx {}{shared}",
                bytes_per_second(n.rates.rx_bytes_per_second),
                bytes_per_second(n.rates.tx_bytes_per_second)
            )
        }
        None => "- (no namespace of its own)".to_string(),
    };
    vec![field("network", network, theme), disk_line(io, theme)]
}

/// The facts line of disk I/O, per second.
pub(super) fn disk_line<'a>(io: &IoRates, theme: &Theme) -> Line<'a> {
    field(
        "disk io",
        format!(
            "read {} write {}",
            bytes_per_second(io.read_bytes_per_second),
            bytes_per_second(io.write_bytes_per_second)
        ),
        theme,
    )
}

/// The I/O limits in force as one line: each limited device by name with its limits
/// (`loop3 w≤10M/s, vda r≤500io/s`), then the weight; `none` without any, `-` when unknown.
pub(super) fn io_limit_text(limits: Option<&IoLimits>) -> String {
    let Some(limits) = limits else {
        return "-".to_string();
    };
    let mut parts: Vec<String> = limits
        .devices
        .iter()
        .map(|d| {
            let rate = |v: u64| bytes_per_second(Some(v as f64));
            let each = [
                d.read_bps.map(|v| format!("r≤{}", rate(v))),
                d.write_bps.map(|v| format!("w≤{}", rate(v))),
                d.read_iops.map(|v| format!("r≤{v}io/s")),
                d.write_iops.map(|v| format!("w≤{v}io/s")),
            ];
            let each: Vec<String> = each.into_iter().flatten().collect();
            format!("{} {}", d.label(), each.join(" "))
        })
        .collect();
    if let Some(weight) = limits.weight {
        parts.push(format!("weight {weight}"));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}

/// The network chart (a container's) and the disk I/O chart, in that order; `io_limits` names
/// the limited devices in the I/O chart's title.
pub(super) fn series<'f>(
    points: &[Point],
    network: Network,
    io_limits: Option<&IoLimits>,
    format: &'f dyn Fn(f64) -> String,
    theme: &Theme,
) -> Vec<Series<'f>> {
    let of = |get| values(points, get);
    let last_limit = |get: fn(&Point) -> Option<u64>| points.last().and_then(get).map(|l| l as f64);
    let mut out = Vec::new();
    let network_title = match network {
        Network::Cgroup => None,
        Network::NoneOwn => Some(" network (none of its own) ".to_string()),
        Network::Own { sharing } if sharing > 1 => {
            Some(format!(" network (netns shared by {sharing}) rx "))
        }
        Network::Own { .. } => Some(" network rx ".to_string()),
    };
    if let Some(title) = network_title {
        out.push(Series {
            title,
            points: of(|p| p.net_rx_bytes_per_second),
            limit: None,
            ceiling: None,
            format,
            style: theme.series[0],
            overlays: vec![Overlay {
                label: "tx".to_string(),
                points: of(|p| p.net_tx_bytes_per_second),
                style: theme.series[3],
                limit: None,
            }],
        });
    }
    let limited = match io_limits {
        None => String::new(),
        Some(limits) if limits.devices.is_empty() && limits.weight.is_none() => {
            "(no limit) ".to_string()
        }
        Some(limits) => format!("({}) ", io_limit_text(Some(limits))),
    };
    out.push(Series {
        title: format!(" disk I/O {limited}read "),
        points: of(|p| p.io_read_bytes_per_second),
        limit: last_limit(|p| p.io_read_limit_bps),
        ceiling: None,
        format,
        style: theme.series[2],
        overlays: vec![Overlay {
            label: "write".to_string(),
            points: of(|p| p.io_write_bytes_per_second),
            style: theme.series[1],
            limit: last_limit(|p| p.io_write_limit_bps),
        }],
    });
    out
}

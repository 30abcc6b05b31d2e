//! The Network view's detail: the namespace of the selected row — who is in it (its
//! containers with runtime and short id, a pod once, its holder process, the mounts holding
//! it), when it was read — then its interfaces, the selected row's first and loopback last:
//! kind, state, MTU, MAC, where it leads (its veth peer, the bridge it is a port of, the device
//! under a macvlan), its addresses, and its counters (bytes, packets, errors, drops) with
//! their rates; then its routes as `ip route` writes them. Side by side from 160 columns.
//! A heading's detail says what its section holds, and the map's notes (what could not be
//! read). Counters and rates come from the frame's traffic (`Frame::networks`, this tick),
//! else the counters the map was read with.

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Ctx;
use super::list::{rate_text, state_style};
use crate::host::net::map::{NamespaceView, NetMap};
use crate::host::net::route::Route;
use crate::host::net::{Counters, Interface, InterfaceKind};
use crate::sample::rates::NetRates;
use crate::ui::app::rows::network::NetRow;
use crate::ui::app::rows::network::facts::{Traffic, kind_text, namespace, who_in};
use crate::ui::widgets::{clock, field};
use crate::units::format::bytes;
use crate::units::short_id;

/// Draws the selected row's namespace (or a heading's explanation) in `area`.
pub(super) fn draw(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    map: &NetMap,
    traffic: &Traffic<'_>,
) {
    let theme = ctx.theme;
    let target = ctx.app.network_target();
    let ns = target.as_ref().and_then(|t| namespace(map, t.netns));
    let title = match (&target, ns) {
        (Some(t), Some(ns)) => format!(" netns {} · {} ", t.netns, who_in(ns)),
        (Some(t), None) => format!(" netns {} ", t.netns),
        (None, _) => " network map ".to_string(),
    };
    // Short: the title on the left says more and shares the line.
    let mut hints = Vec::new();
    if let Some(read) = map.namespaces.iter().filter_map(|n| n.read_at_ms).max() {
        hints.push(format!("read {}", clock(read)));
    }
    match map.notes.len() {
        0 => {}
        1 => hints.push("1 note".to_string()),
        n => hints.push(format!("{n} notes")),
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, theme.title))
        .title(
            Line::from(Span::styled(format!(" {} ", hints.join(" · ")), theme.dim)).right_aligned(),
        );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (Some(target), Some(ns)) = (target, ns) else {
        let lines = match ctx.app.network_row() {
            Some(row @ (NetRow::PairsHeading | NetRow::NamespacesHeading)) => {
                heading_lines(map, row, ctx)
            }
            _ if ctx.app.rows().network.is_empty() && !ctx.app.filter().is_empty() => {
                vec![Line::from(Span::styled(
                    "no row matches the filter",
                    theme.dim,
                ))]
            }
            // Nothing read at all (every namespace refused or gone): the notes say why.
            _ if ctx.app.rows().network.is_empty() => {
                heading_lines(map, NetRow::NamespacesHeading, ctx)
            }
            _ => vec![Line::from(Span::styled(
                "the namespace of this row is not in the map (it vanished while read)",
                theme.dim,
            ))],
        };
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    };
    let mut facts = who_lines(ns, ctx);
    let mut interfaces = Vec::new();
    for interface in ordered(&ns.interfaces, target.interface.as_deref()) {
        let focused = target.interface.as_deref() == Some(interface.name.as_str());
        interfaces.extend(interface_lines(ns, interface, focused, traffic, ctx));
    }
    if ns.read_at_ms.is_some() && ns.interfaces.is_empty() {
        interfaces.push(Line::from(Span::styled("no interface", theme.dim)));
    }
    let routes = route_lines(&ns.routes, ctx);
    if inner.width >= 160 {
        let [left, right] = Layout::horizontal([Constraint::Percentage(55), Constraint::Min(20)])
            .spacing(2)
            .areas(inner);
        facts.extend(interfaces);
        draw_cut(f, left, facts, ctx);
        draw_cut(f, right, routes, ctx);
    } else {
        facts.extend(interfaces);
        facts.extend(routes);
        draw_cut(f, inner, facts, ctx);
    }
}

/// `lines` in `area`, the last one saying how many did not fit (`Enter` shows more).
fn draw_cut(f: &mut TermFrame, area: Rect, mut lines: Vec<Line<'static>>, ctx: &Ctx<'_>) {
    let room = area.height as usize;
    if lines.len() > room && room > 0 {
        let cut = lines.len() - room + 1;
        lines.truncate(room - 1);
        let more = if ctx.app.detail_open() {
            format!("… {cut} more lines")
        } else {
            format!("… {cut} more lines (Enter: the whole screen)")
        };
        lines.push(Line::from(Span::styled(more, ctx.theme.dim)));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// The interfaces in the order shown: `first` (the row's), the rest by index, loopback last.
fn ordered<'a>(interfaces: &'a [Interface], first: Option<&str>) -> Vec<&'a Interface> {
    let mut list: Vec<&Interface> = interfaces.iter().collect();
    list.sort_by_key(|i| {
        (
            Some(i.name.as_str()) != first,
            i.kind == InterfaceKind::Loopback,
            i.ifindex,
        )
    });
    list
}

/// Who holds the namespace and when it was read.
fn who_lines(ns: &NamespaceView, ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let mut lines = Vec::new();
    if ns.host {
        lines.push(field("who", "the host's own namespace".to_string(), theme));
    }
    if !ns.containers.is_empty() {
        let named: Vec<String> = ns
            .containers
            .iter()
            .map(|c| format!("{} ({} {})", c.name, c.runtime, short_id(&c.id)))
            .collect();
        let label = match ns.containers.first().and_then(|c| c.pod.as_deref()) {
            Some(pod) => format!("pod {pod}: {}", named.join(", ")),
            None => named.join(", "),
        };
        // Containers sharing the host's namespace are in it without it being theirs.
        let word = if ns.host { "sharing" } else { "contains" };
        lines.push(field(word, label, theme));
    }
    let mut held = match &ns.holder {
        Some(h) => format!(
            "pid {} {} · {} process{}",
            h.pid,
            h.command,
            ns.nprocs,
            if ns.nprocs == 1 { "" } else { "es" }
        ),
        None => "no process".to_string(),
    };
    if !ns.mounts.is_empty() {
        held.push_str(&format!(" · mounted at {}", ns.mounts.join(", ")));
    }
    lines.push(field("held by", held, theme));
    lines.push(match ns.read_at_ms {
        Some(ms) => field("read", format!("{} UTC", clock(ms)), theme),
        None => Line::from(Span::styled(
            "not read: see the notes on the headings (gone mid-read, or not root)",
            theme.warning,
        )),
    });
    lines
}

/// One interface: a title line, its addresses, then rx and tx (loopback: one line).
fn interface_lines(
    ns: &NamespaceView,
    interface: &Interface,
    focused: bool,
    traffic: &Traffic<'_>,
    ctx: &Ctx<'_>,
) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let sample = traffic.interface(ns.inode, &interface.name);
    let counters = sample.map(|s| &s.counters).or(interface.counters.as_ref());
    let rates = sample.map(|s| &s.rates);
    let name_style = if focused { theme.selected } else { theme.title };
    let mut title = vec![
        Span::styled(interface.name.clone(), name_style),
        Span::raw("  "),
        Span::styled(
            kind_text(interface.kind, interface.driver.as_deref()),
            theme.dim,
        ),
        Span::raw(" "),
        Span::styled(interface.state.clone(), state_style(&interface.state, ctx)),
    ];
    if let Some(mtu) = interface.mtu {
        title.push(Span::styled(format!("  mtu {mtu}"), theme.dim));
    }
    if let Some(mac) = &interface.mac {
        title.push(Span::styled(format!("  {mac}"), theme.dim));
    }
    if let Some(lead) = leads_to(ns, interface) {
        title.push(Span::raw(format!("  {lead}")));
    }
    if interface.kind == InterfaceKind::Loopback {
        let all = interface
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        title.push(Span::raw(format!("  {all}")));
        if let Some(c) = counters {
            title.push(Span::styled(
                format!("  rx {} tx {}", bytes(c.rx_bytes), bytes(c.tx_bytes)),
                theme.dim,
            ));
        }
        return vec![Line::from(title)];
    }
    let mut lines = vec![Line::from(title)];
    if !interface.addresses.is_empty() {
        let all: Vec<String> = interface
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        lines.push(Line::from(format!("  {}", all.join("  "))));
    }
    match counters {
        Some(c) => {
            lines.push(direction_line("rx", Direction::Rx, c, rates, ctx));
            lines.push(direction_line("tx", Direction::Tx, c, rates, ctx));
        }
        None => lines.push(Line::from(Span::styled("  no counters", theme.dim))),
    }
    lines
}

/// Where an interface leads, in its own namespace's words: its veth peer, the bridge it is a
/// port of, the device under it.
fn leads_to(ns: &NamespaceView, interface: &Interface) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(peer) = &interface.peer {
        let place = if peer.netns == ns.inode {
            "here".to_string()
        } else {
            format!("netns {}", peer.netns)
        };
        parts.push(format!("↔ {} ({place})", peer.name));
    }
    if let Some(master) = interface.master {
        let name = ns
            .interfaces
            .iter()
            .find(|i| i.ifindex == master)
            .map(|i| i.name.clone())
            .unwrap_or_else(|| format!("#{master}"));
        parts.push(format!("on {name}"));
    }
    if let Some(lower) = &interface.lower {
        parts.push(format!("over {} (netns {})", lower.name, lower.netns));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[derive(Clone, Copy)]
enum Direction {
    Rx,
    Tx,
}

/// `  rx  1.2K/s  15 pkt/s   12.0MiB  8123 pkts  0 errors  0 dropped`; errors and drops that
/// are not zero stand out.
fn direction_line(
    label: &'static str,
    direction: Direction,
    c: &Counters,
    rates: Option<&NetRates>,
    ctx: &Ctx<'_>,
) -> Line<'static> {
    let theme = ctx.theme;
    let (bytes_total, packets, errors, dropped) = match direction {
        Direction::Rx => (c.rx_bytes, c.rx_packets, c.rx_errors, c.rx_dropped),
        Direction::Tx => (c.tx_bytes, c.tx_packets, c.tx_errors, c.tx_dropped),
    };
    let (byte_rate, packet_rate) = match (direction, rates) {
        (Direction::Rx, Some(r)) => (r.rx_bytes_per_second, r.rx_packets_per_second),
        (Direction::Tx, Some(r)) => (r.tx_bytes_per_second, r.tx_packets_per_second),
        (_, None) => (None, None),
    };
    // Rates need two readings: until then `-`, with no unit to suggest a figure.
    let byte_rate = match byte_rate {
        Some(_) => format!("{}/s", rate_text(byte_rate)),
        None => "-".to_string(),
    };
    let packet_rate = match packet_rate {
        Some(p) if p.is_finite() => format!("{p:.0} pkt/s"),
        _ => "-".to_string(),
    };
    let trouble = |n: u64| -> Style { if n > 0 { theme.warning } else { theme.dim } };
    Line::from(vec![
        Span::styled(format!("  {label} "), theme.dim),
        Span::raw(format!("{byte_rate:>8} {packet_rate:>12}  ")),
        Span::raw(format!("{:>10} {:>9} pkts  ", bytes(bytes_total), packets)),
        Span::styled(format!("{errors} errors  "), trouble(errors)),
        Span::styled(format!("{dropped} dropped"), trouble(dropped)),
    ])
}

/// The routes of the main table, IPv4 first, as `ip route` writes them.
fn route_lines(routes: &[Route], ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let mut lines = vec![Line::from(Span::styled("routes", theme.title))];
    let mut sorted: Vec<&Route> = routes.iter().collect();
    sorted.sort_by_key(|r| r.family != "inet");
    lines.extend(
        sorted
            .into_iter()
            .map(|r| Line::from(format!("  {}", route_text(r)))),
    );
    if routes.is_empty() {
        lines.push(Line::from(Span::styled("  none", theme.dim)));
    }
    lines
}

/// `default via 172.17.0.1 dev eth0`, `172.17.0.0/16 dev eth0 proto kernel scope link src
/// 172.17.0.2`: what `ip route` leaves out (`proto boot`, `scope global`, unicast) is left
/// out here too.
fn route_text(route: &Route) -> String {
    let mut text = if route.kind == "unicast" {
        route.destination.clone()
    } else {
        format!("{} {}", route.kind, route.destination)
    };
    if let Some(gateway) = route.gateway {
        text.push_str(&format!(" via {gateway}"));
    }
    match (&route.device, route.ifindex) {
        (Some(device), _) => text.push_str(&format!(" dev {device}")),
        (None, Some(index)) => text.push_str(&format!(" dev #{index}")),
        (None, None) => {}
    }
    if !route.protocol.is_empty() && route.protocol != "boot" {
        text.push_str(&format!(" proto {}", route.protocol));
    }
    if route.scope != "global" {
        text.push_str(&format!(" scope {}", route.scope));
    }
    if let Some(source) = route.source {
        text.push_str(&format!(" src {source}"));
    }
    if let Some(metric) = route.metric {
        text.push_str(&format!(" metric {metric}"));
    }
    text
}

/// A heading's detail: what its section holds, then the map's notes.
fn heading_lines(map: &NetMap, row: NetRow, ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let theme = ctx.theme;
    let about = match row {
        NetRow::PairsHeading => format!(
            "{} veth pairs wired straight between two namespaces, on no bridge: each row is \
             its near end, then the interface and who is at its far end",
            map.pairs.len()
        ),
        _ => {
            let read = map
                .namespaces
                .iter()
                .filter(|n| n.read_at_ms.is_some())
                .count();
            format!(
                "{} network namespaces on the host ({read} read). Listed here: the host's own, \
                 and those no bridge port or veth pair reaches (loopback only, or wired some \
                 other way); the rest are the far ends of the rows above",
                map.namespaces.len()
            )
        }
    };
    let mut lines = vec![Line::from(about)];
    let bridged = map.bridges.iter().map(|b| b.ports.len()).sum::<usize>();
    lines.push(Line::from(Span::styled(
        format!(
            "{} bridges with {bridged} ports · {} pairs on no bridge",
            map.bridges.len(),
            map.pairs.len()
        ),
        theme.dim,
    )));
    if !map.notes.is_empty() {
        lines.push(Line::from(Span::styled("notes", theme.title)));
        lines.extend(
            map.notes
                .iter()
                .map(|n| Line::from(Span::styled(format!("  {n}"), theme.warning))),
        );
    }
    lines
}

//! Network: the host's network map as an operator reads it — each bridge with its ports, each
//! port's other end (the interface there, the container, pod, holder process or
//! `/run/netns/NAME` behind it, its address, its traffic), then the veth pairs on no bridge,
//! then the host's namespace and those no link reaches ([`list`]); below, the namespace of the
//! selected row with its interfaces (kind, state, MTU, MAC, addresses, counters and rates,
//! peers) and routes ([`detail`]), which Enter gives the whole screen.
//!
//! Drawn from the frame only: `Frame::net_map` (read by the sampler only while this view asks,
//! so the first frames after switching here carry none: the view says it is being read, or
//! why it cannot be, never shows an empty map) and `Frame::networks` (rates). Names and
//! addresses come cleaned from the read side and are drawn as text, never as escapes.

mod detail;
mod list;

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Ctx;
use crate::sample::Frame;
use crate::ui::app::ListLayout;
use crate::ui::app::rows::network::facts::Traffic;

/// The view: the map's rows above, the selected row's namespace below.
pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> ListLayout {
    let Some(frame) = ctx.app.frame() else {
        return ListLayout::default();
    };
    let Some(map) = frame.net_map.as_deref() else {
        draw_waiting(f, area, ctx, frame);
        return ListLayout::default();
    };
    let traffic = Traffic::new(&frame.networks);
    // The list takes what its rows need, up to a little more than half: the namespace below
    // needs room for its interfaces.
    let wanted = ctx.app.rows().network.len() as u16 + 1;
    let most = (area.height * 11 / 20).max(3);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(wanted.min(most)), Constraint::Min(1)]).areas(area);
    let layout = list::draw(f, top, ctx, map, &traffic);
    detail::draw(f, bottom, ctx, map, &traffic);
    layout
}

/// Enter: the selected row's namespace on the whole body.
pub fn draw_detail(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) {
    let Some(frame) = ctx.app.frame() else {
        return;
    };
    match frame.net_map.as_deref() {
        Some(map) => detail::draw(f, area, ctx, map, &Traffic::new(&frame.networks)),
        None => draw_waiting(f, area, ctx, frame),
    }
}

/// No map in this frame: it is being read (the sampler was asked on switching here), or it
/// cannot be, and the frame's warnings say why.
fn draw_waiting(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>, frame: &Frame) {
    let theme = ctx.theme;
    let mut lines = vec![Line::from(Span::styled(
        "reading the network map…",
        theme.title,
    ))];
    if !frame.host.is_root {
        lines.push(Line::from(Span::styled(
            "not root: isotop reads only its own network namespace — run it as root for \
             every namespace, their links and their routes",
            theme.warning,
        )));
    }
    lines.extend(
        frame
            .warnings
            .iter()
            .filter(|w| w.to_lowercase().contains("net"))
            .map(|w| Line::from(Span::styled(w.clone(), theme.warning))),
    );
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

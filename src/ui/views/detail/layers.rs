//! The detail pane's Layers part: what a container's root is made of, from its stack
//! (`host::stack`, read by the sampler) and the frame's layer sizes.
//!
//! Contract: the root's file-system type, source and host path come first; an overlay root's
//! layers follow top to bottom — the writable layer, the lower layers 1..n (overlay's order,
//! 1 = top), the data-only ones — each with its owner (the store and its short id: a
//! containerd snapshot by its number, with one note that its names live in containerd's bolt
//! database; then the image's tags, or the container's name for its own layer; a store's names
//! another user could have written marked `!`; the directory when no store owns
//! it), its size from `Frame::layer_sizes` by [`StackLayer::key`] (bytes on disk and files, `≥`
//! when the walk left something out; `sizing… N files` while walked, `queued`, the failure's
//! reason) and `shared ×N` when N containers' stacks hold it. A total line gives the writable
//! layer's bytes (`Frame::writable_bytes`, the one figure) and the image layers'. Below, the
//! writable layer's growth over the history, on the charts' span. A root that is not overlay
//! says it has no layers; a stack not read says why. Rows that do not fit end in a line naming
//! how many more and `isotop inspect`. Every string from the host is cleaned.

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

mod owner;
mod split;

use self::owner::owner_text;
use self::split::Split;
use super::super::Ctx;
use crate::host::layers::Store;
use crate::host::mounts::RootFs;
use crate::host::mounts::shown::display;
use crate::host::scan::ContainerState;
use crate::host::stack::{ContainerStack, LayerPosition, StackLayer};
use crate::host::text::{clean, clean_str};
use crate::sample::{ContainerSample, Frame, LayerSize, Point};
use crate::ui::theme::Theme;
use crate::ui::widgets::chart::{self, Series};
use crate::ui::widgets::{field, keep_tail};
use crate::units::format::short_bytes;
use crate::units::short_id;

use std::os::unix::ffi::OsStrExt;

/// Draws `c`'s layers in `area`; `points` is its history.
pub(super) fn draw(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    frame: &Frame,
    c: &ContainerSample,
    points: &[Point],
) {
    let t = ctx.theme;
    let Some(stack) = c.stack.as_deref() else {
        let text = Paragraph::new(not_read(c, t)).wrap(Wrap { trim: false });
        f.render_widget(text, area);
        return;
    };
    let mut head = root_lines(stack, area.width, t);
    if stack.layers.is_empty() {
        head.extend(notes(stack, t));
        f.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), area);
        return;
    }
    let rows: Vec<Row> = stack
        .layers
        .iter()
        .map(|layer| layer_row(layer, frame, c, t))
        .collect();
    let mut foot = vec![total_line(stack, frame, c, t)];
    foot.extend(failures(stack, frame, t));
    foot.extend(notes(stack, t));
    let chart_wanted = stack.writable().is_some();
    let split = Split::of(
        area.height,
        head.len(),
        rows.len(),
        foot.len(),
        chart_wanted,
    );
    let [head_area, table_area, foot_area, chart_area] = Layout::vertical([
        Constraint::Length(split.head),
        Constraint::Length(split.table),
        Constraint::Length(split.foot),
        Constraint::Fill(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(head), head_area);
    let mut rows = rows;
    let shown = usize::from(split.table.saturating_sub(1));
    if shown < rows.len() {
        let more = rows.len() - shown.saturating_sub(1);
        rows.truncate(shown.saturating_sub(1));
        rows.push(Row::new(vec![
            Cell::from(""),
            Cell::from(Span::styled(
                format!(
                    "… {more} more: isotop inspect {}",
                    short_id(&c.view.container.id)
                ),
                t.dim,
            )),
        ]));
    }
    let size_width = if area.width >= 100 { 20 } else { 18 };
    let table = Table::new(
        rows,
        [
            Constraint::Length(10),
            Constraint::Fill(1),
            Constraint::Length(size_width),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(["LAYER", "OWNER", "SIZE", "SHARED"]).style(t.header));
    f.render_widget(table, table_area);
    foot.truncate(usize::from(split.foot));
    f.render_widget(Paragraph::new(foot), foot_area);
    if split.chart {
        draw_growth(f, chart_area, ctx, frame, c, points);
    }
}

/// Why a container has no stack to show.
pub(super) fn not_read<'a>(c: &ContainerSample, t: &Theme) -> Vec<Line<'a>> {
    let why = match c.view.state {
        ContainerState::Stopped => {
            "stopped: no process, so no mount namespace to read its root and mounts from"
        }
        _ => {
            "root and mounts not read yet: isotop reads them when it first sees a container (and \
             when its init changes); one it could not read is named in the status line's warnings"
        }
    };
    vec![Line::from(Span::styled(why, t.dim))]
}

/// The root's type, source, access and host path; for a root that is not overlay, that it
/// has no layers.
fn root_lines<'a>(stack: &ContainerStack, width: u16, t: &Theme) -> Vec<Line<'a>> {
    let Some(root) = &stack.root.root else {
        return vec![field(
            "root",
            "not a mount point of its own (a directory inside a mount, as chroot makes): no layers"
                .to_string(),
            t,
        )];
    };
    let mut lines = vec![field("root", root_text(root, width), t)];
    if root.overlay.is_none() {
        lines.push(Line::from(Span::styled(
            format!(
                "not overlay: its root ({}) has no layers",
                clean_str(&root.mount.fs_type)
            ),
            t.dim,
        )));
    }
    lines
}

/// `overlay rw (metacopy)  host …/merged`: type, source, access, the overlay features
/// that change what the layers mean, and where the host sees it (its tail when long).
fn root_text(root: &RootFs, width: u16) -> String {
    let m = &root.mount;
    let fs_type = clean_str(&m.fs_type);
    let source = clean(m.source.as_bytes());
    // Overlay's source is usually its type again (`overlay`): said once.
    let mut text = if source == fs_type {
        fs_type
    } else {
        format!("{fs_type} {source}")
    };
    text.push_str(if m.read_only { " ro" } else { " rw" });
    if let Some(o) = &root.overlay {
        let options = &o.options;
        let mut words = Vec::new();
        if options.metacopy == Some(true) {
            words.push("metacopy".to_string());
        }
        if let Some(redirect) = &options.redirect_dir {
            words.push(format!("redirect_dir={}", clean_str(redirect)));
        }
        for (on, word) in [
            (options.volatile, "volatile"),
            (options.userxattr, "userxattr"),
        ] {
            if on {
                words.push(word.to_string());
            }
        }
        if !words.is_empty() {
            text.push_str(&format!(" ({})", words.join(", ")));
        }
    }
    if let Some(host) = &m.host_path {
        let room = usize::from(width)
            .saturating_sub(10 + text.chars().count() + 7)
            .max(12);
        text.push_str(&format!("  host {}", keep_tail(&display(host), room)));
    }
    text
}

/// `writable`, `lower 3`, `data 1`.
fn position_text(position: LayerPosition) -> String {
    match position {
        LayerPosition::Writable => "writable".to_string(),
        LayerPosition::Lower(n) => format!("lower {n}"),
        LayerPosition::DataOnly(n) => format!("data {n}"),
    }
}

fn layer_row<'a>(layer: &StackLayer, frame: &Frame, c: &ContainerSample, t: &Theme) -> Row<'a> {
    let (owner, trusted) = owner_text(layer, c);
    let owner_style = if trusted { t.text } else { t.warning };
    let (size, size_style) = size_text(frame.layer_sizes.get(layer.key()), t);
    let shared = if layer.shared_with.is_empty() {
        String::new()
    } else {
        format!("shared ×{}", layer.shared_with.len() + 1)
    };
    Row::new(vec![
        Cell::from(Span::styled(position_text(layer.position), t.dim)),
        Cell::from(Span::styled(owner, owner_style)),
        Cell::from(Span::styled(size, size_style)),
        Cell::from(Span::styled(shared, t.container_mark)),
    ])
}

/// A layer's size as shown, and its style.
fn size_text(size: Option<&LayerSize>, t: &Theme) -> (String, Style) {
    match size {
        Some(LayerSize::Sized { usage, .. }) => {
            let partial = if usage.is_complete() { "" } else { "≥" };
            (
                format!(
                    "{partial}{} {} files",
                    short_bytes(usage.allocated_bytes),
                    usage.files
                ),
                t.text,
            )
        }
        Some(LayerSize::Sizing { so_far }) => (format!("sizing… {} files", so_far.files), t.dim),
        Some(LayerSize::Queued) => ("queued".to_string(), t.dim),
        Some(LayerSize::Failed { reason }) => (format!("failed: {}", clean_str(reason)), t.warning),
        None => ("-".to_string(), t.dim),
    }
}

/// `total     writable 12M · image 340M`: the writable layer's bytes (the one figure) and the
/// sum of the image layers walked, with how many are when not all are.
fn total_line<'a>(
    stack: &ContainerStack,
    frame: &Frame,
    c: &ContainerSample,
    t: &Theme,
) -> Line<'a> {
    let writable = match (frame.writable_bytes(c), frame.writable_size(c)) {
        (Some(bytes), _) => short_bytes(bytes),
        (None, Some(LayerSize::Queued)) => "queued".to_string(),
        (None, Some(LayerSize::Sizing { .. })) => "sizing…".to_string(),
        (None, Some(LayerSize::Failed { .. })) => "failed".to_string(),
        (None, _) if stack.writable().is_none() => "none (read-only root)".to_string(),
        (None, _) => "-".to_string(),
    };
    let image: Vec<&StackLayer> = stack
        .layers
        .iter()
        .filter(|l| l.position != LayerPosition::Writable)
        .collect();
    let sized: Vec<u64> = image
        .iter()
        .filter_map(|l| frame.layer_sizes.get(l.key())?.bytes())
        .collect();
    let image_text = if image.is_empty() {
        "no image layers".to_string()
    } else if sized.is_empty() {
        "image not sized".to_string()
    } else if sized.len() < image.len() {
        format!(
            "image ≥{} ({} of {} layers sized)",
            short_bytes(sized.iter().sum()),
            sized.len(),
            image.len()
        )
    } else {
        format!("image {}", short_bytes(sized.iter().sum()))
    };
    field("total", format!("writable {writable} · {image_text}"), t)
}

/// One line per layer that could not be sized, with the whole reason.
fn failures<'a>(stack: &ContainerStack, frame: &Frame, t: &Theme) -> Vec<Line<'a>> {
    stack
        .layers
        .iter()
        .filter_map(|l| match frame.layer_sizes.get(l.key()) {
            Some(LayerSize::Failed { reason }) => Some(Line::from(Span::styled(
                format!(
                    "{} not sized: {}",
                    position_text(l.position),
                    clean_str(reason)
                ),
                t.warning,
            ))),
            _ => None,
        })
        .collect()
}

/// The containerd note (once), the unverified names' note, and the stack's own notes.
fn notes<'a>(stack: &ContainerStack, t: &Theme) -> Vec<Line<'a>> {
    let owners = || stack.layers.iter().filter_map(|l| l.owner.as_ref());
    let mut lines = Vec::new();
    if owners().any(|o| o.store == Store::Containerd) {
        lines.push(
            "containerd names snapshots only in its bolt db (metadata.db): shown by number"
                .to_string(),
        );
    }
    if owners().any(|o| !o.trusted) {
        lines.push(
            "!: names from files another user could have written (their claims, not checked)"
                .to_string(),
        );
    }
    lines.extend(
        stack
            .root
            .notes
            .iter()
            .map(|n| format!("note: {}", clean_str(n))),
    );
    lines
        .into_iter()
        .map(|l| Line::from(Span::styled(l, t.dim)))
        .collect()
}

/// The writable layer's size over the history (`Point::writable_bytes`), on the charts' span.
fn draw_growth(
    f: &mut TermFrame,
    area: Rect,
    ctx: &Ctx<'_>,
    frame: &Frame,
    c: &ContainerSample,
    points: &[Point],
) {
    let bytes = |v: f64| short_bytes(v as u64);
    let now = match frame.writable_bytes(c) {
        Some(b) => format!("now {}", short_bytes(b)),
        None => "not sized yet".to_string(),
    };
    let series = Series {
        title: format!(" writable layer on disk ({now}) "),
        points: points
            .iter()
            .filter_map(|p| Some((p.t_ms, p.writable_bytes? as f64)))
            .collect(),
        limit: None,
        ceiling: None,
        format: &bytes,
        style: ctx.theme.series[2],
        overlays: Vec::new(),
    };
    chart::draw(
        f,
        area,
        &series,
        frame.taken_at_ms,
        ctx.app.chart_span(),
        ctx.theme,
    );
}

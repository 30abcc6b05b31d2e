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

use super::super::Ctx;
use crate::host::container::claim::UNVERIFIED_MARK;
use crate::host::layers::{LayerOwner, LayerRole, Store};
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
use crate::units::{ContainerId, short_id};

use std::os::unix::ffi::OsStrExt;

/// Fewest rows the growth chart is drawn in (title, three of plot, axis, labels).
const CHART_ROWS: u16 = 6;

/// Fewest layer rows the growth chart leaves room for.
const LEAST_LAYER_ROWS: usize = 3;

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

/// How the pane's height is shared: the head lines, the table (its header included), the
/// foot lines, and whether the growth chart gets the rest.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    head: u16,
    table: u16,
    foot: u16,
    chart: bool,
}

impl Split {
    /// Everything when it fits with a chart below; else the chart at its least, the head, the
    /// header, some layer rows and the total line, then notes; the chart goes first when even
    /// that does not fit.
    fn of(height: u16, head: usize, rows: usize, foot: usize, chart_wanted: bool) -> Split {
        let at = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        let (head, rows, foot) = (at(head), at(rows), at(foot));
        let text = head
            .saturating_add(1)
            .saturating_add(rows)
            .saturating_add(foot);
        let least = head
            .saturating_add(2)
            .saturating_add(at(LEAST_LAYER_ROWS).min(rows));
        let chart = chart_wanted
            && (height >= text.saturating_add(CHART_ROWS) || height >= least + CHART_ROWS);
        let room = if chart && height < text.saturating_add(CHART_ROWS) {
            height - CHART_ROWS
        } else {
            height
        };
        let head = head.min(room);
        let below = room - head;
        // The total line always (when there is room); notes only once every layer row fits.
        let table = rows.saturating_add(1);
        let foot = if below >= table.saturating_add(foot) {
            foot
        } else {
            foot.min(below.saturating_sub(table)).max(below.min(1))
        };
        let table = (below - foot).min(table);
        Split {
            head,
            table,
            foot,
            chart,
        }
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

/// The owner as shown, and whether its names are trusted: `docker 3f4e5a6b7c8d nginx:1.25`,
/// `containerd snapshot 42`, `isotop 0123456789ab web`; the directory when no store owns it.
fn owner_text(layer: &StackLayer, c: &ContainerSample) -> (String, bool) {
    let Some(owner) = &layer.owner else {
        return (keep_tail(&display(&layer.dir), 60), true);
    };
    let store = store_name(owner.store);
    let id = match (&owner.id, owner.store) {
        (Some(n), Store::Containerd) => format!("snapshot {}", clean_str(n)),
        (Some(id), _) => short_id(id.strip_prefix("sha256:").unwrap_or(id)),
        (None, _) => "?".to_string(),
    };
    let mut text = format!("{store} {id}");
    let names = owner_names(owner, layer.position, c);
    if !names.is_empty() {
        // The id comes from the path; the names from the store's files, maybe a stranger's.
        let mark = if owner.trusted { "" } else { UNVERIFIED_MARK };
        text.push_str(&format!(" {mark}{names}"));
    }
    (text, owner.trusted)
}

/// How the pane names a store (containers/storage is Podman's, CRI-O's and Buildah's).
fn store_name(store: Store) -> &'static str {
    match store {
        Store::Docker => "docker",
        Store::Containerd => "containerd",
        Store::ContainersStorage => "c/storage",
        Store::Isotop => "isotop",
    }
}

/// The names a layer goes by: the container's for its own layer (`web`, `web init`), else the
/// first image's tag (or short id) and how many more images hold it, else the store's names.
fn owner_names(owner: &LayerOwner, position: LayerPosition, c: &ContainerSample) -> String {
    let own = owner
        .container
        .as_ref()
        .map(|k| k.name.clone().unwrap_or_else(|| short_id(&k.id)));
    match (owner.role, own) {
        (LayerRole::Init, Some(name)) => return format!("{} init", clean_str(&name)),
        (_, Some(name)) => return clean_str(&name),
        _ => {}
    }
    if position == LayerPosition::Writable {
        return clean_str(&c.view.container.name);
    }
    if let Some(first) = owner.images.first() {
        // Untagged: its id, short when it is a digest (isotop names an image by its path).
        let name = first.tags.first().map(|t| clean_str(t)).unwrap_or_else(|| {
            let id = first.id.strip_prefix("sha256:").unwrap_or(&first.id);
            if ContainerId::is_valid(id) {
                short_id(id)
            } else {
                keep_tail(&clean_str(id), 40)
            }
        });
        let more = owner.images.len() - 1 + first.tags.len().saturating_sub(1);
        return if more > 0 {
            format!("{name} +{more}")
        } else {
            name
        };
    }
    owner
        .names
        .first()
        .map(|n| clean_str(n))
        .unwrap_or_default()
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
        .filter_map(|l| match frame.layer_sizes.get(l.key()) {
            Some(LayerSize::Sized { usage, .. }) => Some(usage.allocated_bytes),
            _ => None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_fits_with_the_chart_below() {
        let s = Split::of(30, 1, 5, 2, true);
        assert_eq!(
            s,
            Split {
                head: 1,
                table: 6,
                foot: 2,
                chart: true
            }
        );
    }

    #[test]
    fn a_long_stack_keeps_the_chart_at_its_least_and_cuts_rows() {
        // 17 rows (80x24's pane), 40 layers: 1 head, 6 chart, 1 total line, the table the rest.
        let s = Split::of(17, 1, 40, 3, true);
        assert!(s.chart);
        assert_eq!(s.head, 1);
        assert_eq!(s.foot, 1, "the total line; notes give way to layer rows");
        assert_eq!(s.table, 17 - 6 - 1 - 1);
    }

    #[test]
    fn too_low_for_a_chart_gives_the_text_everything() {
        let s = Split::of(7, 1, 10, 2, true);
        assert!(!s.chart);
        assert_eq!(s.head + s.table + s.foot, 7);
        assert_eq!(s.foot, 1);
        let none = Split::of(0, 2, 3, 1, true);
        assert_eq!(none.head + none.table + none.foot, 0);
        assert!(!none.chart);
    }

    #[test]
    fn no_writable_layer_no_chart() {
        let s = Split::of(40, 1, 3, 1, false);
        assert!(!s.chart);
        assert_eq!(s.table, 4);
    }
}

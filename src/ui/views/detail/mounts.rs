//! The detail pane's Mounts part: what a container's init sees mounted, from its stack
//! (`host::stack`, the kernel's mountinfo read by the sampler).
//!
//! Contract: one row per mount — the root first, then volumes, binds, tmpfs (`/dev/shm`,
//! secrets) and the rest in mountinfo's order — with where it is mounted, its file-system
//! type, where the host sees it (else its source as the mounter named it), `ro`/`rw` and its
//! propagation; paths keep their tails when cut (paths differ at their ends). The kernel's own
//! file systems (proc, sysfs, cgroup, devpts, mqueue, …) are folded into one line counting them
//! by type, as `isotop inspect` does. Rows that do not fit end in a line naming how many more
//! and `isotop inspect`. A stack not read says why; one whose other mounts the sampler left out
//! (it keeps them for the detail pane's container only, and reads them at once when asked)
//! says so in its notes until they come. Every string from the host is cleaned.

use std::os::unix::ffi::OsStrExt;

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::super::Ctx;
use super::layers::not_read;
use crate::host::mounts::shown::display;
use crate::host::mounts::{ContainerMount, MountKind};
use crate::host::text::{clean, clean_str};
use crate::sample::ContainerSample;
use crate::ui::widgets::keep_tail;
use crate::units::short_id;

/// Cells of the fixed columns: type, access, propagation (`shared,slave` is the longest).
const TYPE: u16 = 8;
const ACCESS: u16 = 2;
const PROPAGATION: u16 = 12;

/// Draws `c`'s mounts in `area`.
pub(super) fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>, c: &ContainerSample) {
    let t = ctx.theme;
    let Some(stack) = c.stack.as_deref() else {
        let text = Paragraph::new(not_read(c, t)).wrap(Wrap { trim: false });
        f.render_widget(text, area);
        return;
    };
    let root = &stack.root;
    let (kernel, shown): (Vec<&ContainerMount>, Vec<&ContainerMount>) = root
        .root
        .iter()
        .map(|r| &r.mount)
        .chain(&root.mounts)
        .partition(|m| m.kind == MountKind::Kernel);
    let mut foot = Vec::new();
    if !kernel.is_empty() {
        foot.push(Line::from(Span::styled(
            format!(
                "+ {} of the kernel's own: {}",
                kernel.len(),
                kernel_types(&kernel)
            ),
            t.dim,
        )));
    }
    if root.root.is_none() {
        foot.push(Line::from(Span::styled(
            "no mount at its / (its root is a directory inside a mount, as chroot makes)",
            t.dim,
        )));
    }
    foot.extend(
        root.notes
            .iter()
            .map(|n| Line::from(Span::styled(format!("note: {}", clean_str(n)), t.dim))),
    );
    // Rows first: the foot gets what the table (header and every row) leaves, at least the
    // kernel's line when there is room.
    let wanted = u16::try_from(shown.len() + 1).unwrap_or(u16::MAX);
    let foot_rows = u16::try_from(foot.len()).unwrap_or(u16::MAX);
    let foot_height = foot_rows
        .min(area.height.saturating_sub(wanted))
        .max(foot_rows.min(1).min(area.height.saturating_sub(2)));
    let table_height = (area.height - foot_height).min(wanted);
    let [table_area, foot_area, _] = Layout::vertical([
        Constraint::Length(table_height),
        Constraint::Length(foot_height),
        Constraint::Fill(1),
    ])
    .areas(area);
    let paths = area.width.saturating_sub(TYPE + ACCESS + PROPAGATION + 4);
    let destination = paths * 2 / 5;
    let source = paths - destination;
    let mut rows: Vec<Row> = shown
        .iter()
        .map(|m| {
            let host = match &m.host_path {
                Some(p) => display(p),
                None => clean(m.source.as_bytes()),
            };
            Row::new(vec![
                Cell::from(keep_tail(
                    &display(&m.destination),
                    usize::from(destination),
                )),
                Cell::from(clean_str(&m.fs_type)),
                Cell::from(keep_tail(&host, usize::from(source))),
                Cell::from(if m.read_only { "ro" } else { "rw" }),
                Cell::from(Span::styled(clean_str(&m.propagation_mode), t.dim)),
            ])
        })
        .collect();
    // What does not fit is counted on the table's last line, across its columns.
    let room = usize::from(table_area.height.saturating_sub(1));
    let mut more = None;
    if room < rows.len() {
        let kept = room.saturating_sub(1);
        more = Some(Line::from(Span::styled(
            format!(
                "… {} more: isotop inspect {}",
                rows.len() - kept,
                short_id(&c.view.container.id)
            ),
            t.dim,
        )));
        rows.truncate(kept);
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(destination),
            Constraint::Length(TYPE),
            Constraint::Length(source),
            Constraint::Length(ACCESS),
            Constraint::Length(PROPAGATION),
        ],
    )
    .header(
        Row::new([
            "MOUNTED AT",
            "TYPE",
            "HOST PATH / SOURCE",
            "RW",
            "PROPAGATION",
        ])
        .style(t.header),
    );
    f.render_widget(table, table_area);
    if let Some(more) = more
        && table_area.height >= 2
    {
        let last = Rect {
            y: table_area.bottom() - 1,
            height: 1,
            ..table_area
        };
        f.render_widget(Paragraph::new(more), last);
    }
    f.render_widget(Paragraph::new(foot), foot_area);
}

/// `proc, sysfs, cgroup ×3, devpts`: each type once, in order of first mount, counted.
fn kernel_types(kernel: &[&ContainerMount]) -> String {
    let mut types: Vec<(String, usize)> = Vec::new();
    for m in kernel {
        let fs = clean_str(&m.fs_type);
        match types.iter_mut().find(|(t, _)| *t == fs) {
            Some((_, n)) => *n += 1,
            None => types.push((fs, 1)),
        }
    }
    types
        .into_iter()
        .map(|(fs, n)| if n > 1 { format!("{fs} ×{n}") } else { fs })
        .collect::<Vec<_>>()
        .join(", ")
}

//! The detail pane of the selection: for a container or cgroup, live charts over the history
//! ([`charts`]: CPU% with the quota line, share of periods throttled, memory with its limit
//! line, pids with theirs, CPU pressure, memory and I/O pressure, network and disk I/O with
//! the I/O limit lines; zoomable) beside its limits (I/O per device too), the kernel's trouble
//! figures ([`trouble`]), network and disk I/O per second ([`traffic`]), restarts, health and
//! the last exit as the runtime records them ([`life`]), namespaces, cgroup paths and init
//! process; for
//! a namespace, its identity, relations and members. A container's charts give way, at `v`,
//! to the layers of its root ([`layers`]: the stack, sizes, sharing, the writable layer's
//! growth) and to its mounts ([`mounts`]); on a narrow screen those take the whole pane. A
//! container that vanished shows as gone, with the history it left. With the charts' time
//! cursor set (`<` `>`), the pane's title says its time and how long before the newest sample
//! it is (`cursor 03:04:33 UTC, 2s ago`).

mod charts;
mod layers;
mod life;
mod mounts;
mod traffic;
mod trouble;

use crate::host::container::measure::KernelFigures;
use crate::host::text::clean_str;
use crate::units::format::{duration, short_bytes};
use crate::units::{ShortIds, bound_text};
use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Ctx;
use crate::host::cgroup::io::IoLimits;
use crate::host::cgroup::{CgroupLimits, Limit};
use crate::host::container::measure::InheritedLimits;
use crate::host::namespace::NsKind;
use crate::sample::{ContainerSample, Frame};
use crate::ui::action::Action;
use crate::ui::app::chart_cursor::ChartCursor;
use crate::ui::app::{DetailPane, Target};
use crate::ui::widgets::chart;
use crate::ui::widgets::{clock, field};

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) {
    let app = ctx.app;
    let (Some(frame), Some(target)) = (app.frame(), app.detail_target()) else {
        return;
    };
    let (title, info) = match &target {
        Target::Container(id) => container_info(ctx, frame, id),
        Target::Cgroup(path) => cgroup_info(ctx, frame, path),
        Target::Namespace(inode) => namespace_info(ctx, frame, *inode),
    };
    // Layers and mounts are a container's; a cgroup's pane is its charts whatever `v` chose.
    let container = match &target {
        Target::Container(id) => find_container(ctx, frame, id),
        _ => None,
    };
    let pane = match container {
        Some(_) => app.detail_pane(),
        None => DetailPane::Charts,
    };
    let cursor = app.chart_cursor().filter(|_| pane == DetailPane::Charts);
    let hints = hints(ctx, pane, container.is_some(), cursor, frame.taken_at_ms);
    let room = (area.width as usize).saturating_sub(title.chars().count() + 2);
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, ctx.theme.title))
        .title(fit(hints, room).right_aligned());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(series_key) = target.series() else {
        f.render_widget(Paragraph::new(info).wrap(Wrap { trim: false }), inner);
        return;
    };
    let wide = inner.width >= 120;
    let side = if wide {
        let [text, side] = Layout::horizontal([Constraint::Length(50), Constraint::Min(20)])
            .spacing(1)
            .areas(inner);
        f.render_widget(Paragraph::new(info), text);
        side
    } else if pane != DetailPane::Charts {
        // Narrow: layers and mounts take the whole pane (the facts are a `v` away, with the
        // charts); their rows need the height more than the charts do.
        inner
    } else {
        // Narrow: charts above, the facts below in two columns so more of them fit.
        let [charts, text] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let [left, right] = Layout::horizontal([Constraint::Percentage(50); 2])
            .spacing(1)
            .areas(text);
        let mut info = info;
        // Balanced when both halves fit; else the left column full, so what is cut is the
        // right column's tail (the namespaces), never lines in the middle.
        let rest = info.split_off(info.len().div_ceil(2).min(left.height as usize));
        f.render_widget(Paragraph::new(info), left);
        f.render_widget(Paragraph::new(rest), right);
        charts
    };
    let points: Vec<_> = ctx.history.points(&series_key).collect();
    match (pane, container) {
        (DetailPane::Layers, Some(c)) => layers::draw(f, side, ctx, frame, c, &points),
        (DetailPane::Mounts, Some(c)) => mounts::draw(f, side, ctx, c),
        _ => charts::draw(f, side, ctx, frame, &target, container, &points),
    }
}

/// The pane's title on the right, each piece with its priority (0 first kept when room is
/// short), in the order drawn: ` charts (v)  cursor 03:04:33 UTC, 2s ago  +/- span -1m  Esc
/// back ` — the part shown (a container's) and the key to the next, the charts' time cursor,
/// their span, what Esc does.
fn hints<'a>(
    ctx: &Ctx<'_>,
    pane: DetailPane,
    is_container: bool,
    cursor: Option<ChartCursor>,
    newest_ms: u64,
) -> Vec<(u8, Vec<Span<'a>>)> {
    let t = ctx.theme;
    let mut hints = Vec::new();
    if is_container && let Some(key) = ctx.keymap.hint(Action::DetailPane) {
        hints.push((
            2,
            vec![
                Span::styled(format!(" {}", pane.title()), t.title),
                Span::styled(format!(" ({key}) "), t.dim),
            ],
        ));
    }
    if let Some(cursor) = cursor {
        let seconds = newest_ms.saturating_sub(cursor.at_ms) / 1000;
        let ago = if seconds < 60 {
            format!("{seconds}s")
        } else {
            duration(seconds as f64)
        };
        let text = format!(" cursor {} UTC, {ago} ago ", clock(cursor.at_ms));
        hints.push((0, vec![Span::styled(text, t.chart_cursor)]));
    }
    let span = format!(" +/- span {} ", chart::span_label(ctx.app.chart_span()));
    hints.push((1, vec![Span::styled(span, t.dim)]));
    let back = if cursor.is_some() {
        " Esc clears cursor "
    } else {
        " Esc back "
    };
    hints.push((3, vec![Span::styled(back, t.dim)]));
    hints
}

/// The pieces that fit in `room` cells, the lower priorities first, in their order.
fn fit<'a>(pieces: Vec<(u8, Vec<Span<'a>>)>, room: usize) -> Line<'a> {
    let width = |spans: &[Span<'_>]| spans.iter().map(Span::width).sum::<usize>();
    let mut by_priority: Vec<(u8, usize)> = pieces
        .iter()
        .map(|(priority, spans)| (*priority, width(spans)))
        .collect();
    by_priority.sort_unstable();
    let mut left = room;
    let mut kept = Vec::new();
    for (priority, cost) in by_priority {
        if cost > left {
            break;
        }
        left -= cost;
        kept.push(priority);
    }
    Line::from(
        pieces
            .into_iter()
            .filter(|(priority, _)| kept.contains(priority))
            .flat_map(|(_, spans)| spans)
            .collect::<Vec<_>>(),
    )
}

fn find_container<'a>(ctx: &'a Ctx<'_>, frame: &'a Frame, id: &str) -> Option<&'a ContainerSample> {
    ctx.app
        .rows()
        .container_by_id
        .get(id)
        .map(|&i| &frame.containers[i])
        .or_else(|| {
            ctx.app
                .gone()
                .map(|g| &g.sample)
                .filter(|s| s.view.container.id == id)
        })
}

/// A cgroup's limits, or a container's: its own cgroup's, else those it inherits from a cgroup
/// it shares (`inherited`), marked as such (`units::limit::bound_text`); `io` its I/O limits
/// (a container's `ContainerSample::io_limits`).
fn limit_lines<'a>(
    limits: &CgroupLimits,
    io: Option<&IoLimits>,
    inherited: Option<&InheritedLimits>,
    ctx: &Ctx<'_>,
) -> Vec<Line<'a>> {
    let t = ctx.theme;
    let cpu = match (
        limits.cpu_limit_cpus(),
        limits.cpu_quota_usec,
        limits.cpu_period_usec,
    ) {
        (Some(Limit::Value(c)), Some(Limit::Value(q)), Some(p)) => {
            format!("{c:.2} CPU ({q}/{p} µs)")
        }
        (l, _, _) => bound_text(l, inherited.and_then(|i| i.cpu_cpus.as_ref()), |c| {
            format!("{c:.2} CPU")
        }),
    };
    let mut lines = vec![
        field("cpu limit", cpu, t),
        field(
            "memory",
            bound_text(
                limits.memory_max_bytes,
                inherited.and_then(|i| i.memory_max_bytes.as_ref()),
                short_bytes,
            ),
            t,
        ),
        field(
            "pids max",
            bound_text(
                limits.pids_max,
                inherited.and_then(|i| i.pids_max.as_ref()),
                |v| v.to_string(),
            ),
            t,
        ),
        field("io limit", traffic::io_limit_text(io), t),
    ];
    if let Some(cpus) = limits
        .cpuset_effective_cpus
        .clone()
        .filter(|c| !c.is_empty())
    {
        lines.push(field("cpuset", cpus, t));
    }
    lines
}

fn container_info<'a>(ctx: &Ctx<'_>, frame: &Frame, id: &str) -> (String, Vec<Line<'a>>) {
    let t = ctx.theme;
    let Some(c) = find_container(ctx, frame, id) else {
        return (
            format!(" {} ", clean_str(id)),
            vec![Line::from("gone; no figures left")],
        );
    };
    let k = &c.view.container;
    let gone = ctx.app.gone().filter(|g| g.sample.view.container.id == id);
    let state = match gone {
        Some(g) => format!("gone since {} UTC", clock(g.since_ms)),
        None => c.view.state.to_string(),
    };
    // The short id as the table row shows it: names (an unknown container's is its init's
    // own comm) can be alike, ids never are.
    let shown = ShortIds::new(super::containers::ids_on_screen(ctx.app, frame)).get(&k.id);
    let title = if shown == k.name {
        format!(" {} ({}) — {state} ", k.name, k.runtime.name())
    } else {
        format!(" {} ({}) {shown} — {state} ", k.name, k.runtime.name())
    };
    let mut lines = vec![field("id", clean_str(&k.id), t)];
    if let Some(reason) = &k.trust.unverified_reason {
        // The reason quotes paths another user chose: cleaned for display.
        lines.push(field(
            "UNVERIFIED",
            format!("{}; acts refuse it", clean_str(reason)),
            t,
        ));
    }
    if let Some(image) = &k.image {
        lines.push(field("image", image.clone(), t));
    }
    let init = k.init_pid.map(|pid| {
        let command = frame.command_of(pid);
        format!("{pid} {command}")
    });
    lines.push(field("init", init.unwrap_or_else(|| "-".into()), t));
    lines.push(field("processes", k.pids.len().to_string(), t));
    lines.extend(life::lines(c, frame.taken_at_ms, t));
    let inherited = &c.view.inherited_limits;
    match c.view.cgroup.as_ref().map(|r| &r.limits) {
        Some(limits) => lines.extend(limit_lines(
            limits,
            c.io_limits.as_ref(),
            Some(inherited),
            ctx,
        )),
        None if !inherited.is_empty() => {
            lines.extend(limit_lines(
                &CgroupLimits::default(),
                c.io_limits.as_ref(),
                Some(inherited),
                ctx,
            ));
        }
        None => {}
    }
    lines.extend(trouble::kernel_lines(
        &c.kernel,
        c.throttled_percent,
        c.oom_kills_since_start,
        t,
    ));
    lines.extend(traffic::container_lines(c.net.as_ref(), &c.io_rates, t));
    lines.push(field(
        "cgroup",
        // Cgroup names are chosen by whoever made the cgroup: cleaned for display.
        k.cgroup_path
            .as_deref()
            .map(clean_str)
            .unwrap_or_else(|| "(none of its own)".into()),
        t,
    ));
    // The other cgroups it is in; a shared one (figures not taken from it) is marked.
    let own_path = k.cgroup_path.clone().unwrap_or_default();
    for (index, m) in k
        .cgroups
        .iter()
        .enumerate()
        .filter(|(_, m)| m.path != own_path)
        .take(3)
    {
        let name = if m.controllers.is_empty() {
            "v2".to_string()
        } else {
            m.controllers.join(",")
        };
        let shared = match c.view.ownership.get(index) {
            Some(o) if !o.own => " (shared)",
            _ => "",
        };
        lines.push(field(
            "",
            format!("{name}: {}{shared}", clean_str(&m.path)),
            t,
        ));
    }
    if let Some(pod) = &k.pod {
        lines.push(field("pod", format!("{} {}", pod.namespace, pod.name), t));
    }
    let matrix = super::namespaces::sharing_matrix(frame);
    let row = ctx.app.rows().container_by_id.get(id).map(|&i| matrix[i]);
    for (i, kind) in NsKind::ALL.into_iter().enumerate() {
        let inode = k
            .namespaces
            .get(kind)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into());
        let sharing = row.map(|r| r[i].label()).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{:<10}", format!("ns {kind}")), t.dim),
            Span::raw(format!("{inode:<11} ")),
            Span::styled(sharing, t.container_mark),
        ]));
    }
    (title, lines)
}

fn cgroup_info<'a>(ctx: &Ctx<'_>, frame: &Frame, path: &str) -> (String, Vec<Line<'a>>) {
    let t = ctx.theme;
    let Some(g) = ctx
        .app
        .rows()
        .cgroup_by_path
        .get(path)
        .map(|&i| &frame.cgroups[i])
    else {
        return (
            format!(" {path} — gone "),
            vec![Line::from("the cgroup was removed")],
        );
    };
    let r = &g.reading;
    let mut lines = vec![field("path", g.path.clone(), t)];
    if let Some(id) = &g.container_id {
        lines.push(field("container", id.clone(), t));
    }
    lines.push(field("procs", r.nprocs.to_string(), t));
    lines.extend(limit_lines(&r.limits, r.limits.io.as_ref(), None, ctx));
    // A cgroup's trouble figures, derived as a container's are.
    lines.extend(trouble::kernel_lines(
        &KernelFigures::of(Some(r)),
        g.throttled_percent,
        None,
        t,
    ));
    lines.push(traffic::disk_line(&g.io_rates, t));
    if let Some(m) = &r.memory {
        let peak = m.peak_bytes.map(short_bytes).unwrap_or_else(|| "-".into());
        lines.push(field("mem peak", peak, t));
    }
    if let Some(freezer) = r.freezer {
        lines.push(field("freezer", format!("{freezer:?}").to_lowercase(), t));
    }
    if !r.missing.is_empty() {
        lines.push(field("missing", r.missing.join(", "), t));
    }
    (format!(" cgroup {} ", g.path), lines)
}

fn namespace_info<'a>(ctx: &Ctx<'_>, frame: &Frame, inode: u64) -> (String, Vec<Line<'a>>) {
    let t = ctx.theme;
    let Some(ns) = frame.namespaces.get(inode) else {
        return (format!(" namespace {inode} — gone "), Vec::new());
    };
    let host = frame.namespaces.host.is_host(ns.kind, ns.inode);
    let mut lines = vec![
        field("type", ns.kind.name().to_string(), t),
        field("inode", ns.inode.to_string(), t),
        field("host's", if host { "yes" } else { "no" }.to_string(), t),
        field("nprocs", ns.nprocs.to_string(), t),
        field(
            "owner",
            ns.owner
                .map(|o| o.to_string())
                .unwrap_or_else(|| "-".into()),
            t,
        ),
        field(
            "parent",
            ns.parent
                .map(|o| o.to_string())
                .unwrap_or_else(|| "-".into()),
            t,
        ),
    ];
    for path in &ns.nsfs {
        lines.push(field("bound at", path.display().to_string(), t));
    }
    let users: Vec<&str> = frame
        .containers
        .iter()
        .filter(|c| c.view.container.namespaces.get(ns.kind) == Some(inode))
        .map(|c| c.view.container.name.as_str())
        .collect();
    lines.push(field(
        "containers",
        if users.is_empty() {
            "-".into()
        } else {
            users.join(", ")
        },
        t,
    ));
    let pids: Vec<String> = ns.pids.iter().take(40).map(i32::to_string).collect();
    lines.push(field("pids", pids.join(" "), t));
    (format!(" {}:[{}] ", ns.kind, ns.inode), lines)
}

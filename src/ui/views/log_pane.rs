//! A container's log pane, over the whole view: each line with its time (UTC, the date when
//! not the frame's day), `err` on stderr lines (`out` on stdout's; nothing where the format
//! does not say), its text (cleaned when it arrived), a search's matches lit, a line the
//! runtime cut marked. Wrapped (`w`) a line continues under its text; unwrapped it ends in
//! `…` where the pane does. Following, the newest line is at the bottom; else the cursor's
//! line is lit and kept in sight. What the pane cannot show it says: the runtime keeps no file
//! (why, and how to get one), nothing read yet, an empty log, a stream with no line, reading
//! stopped.

use foldhash::HashMap;

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::Ctx;
use crate::host::logs::{LogStream, MAX_LINE_BYTES};
use crate::ui::action::Action;
use crate::ui::app::ListLayout;
use crate::ui::app::log_pane::find::match_ranges;
use crate::ui::app::log_pane::{LOG_LINES_KEPT, LogPane, LogState, PaneLine, StreamShown};
use crate::ui::theme::Theme;
use crate::ui::widgets::stamp;
use crate::units::format::short_bytes;

/// Continuation rows are indented under the text when at least this much width is left.
const TEXT_FROM: usize = 20;

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>, pane: &LogPane) -> ListLayout {
    let theme = ctx.theme;
    let block = Block::new()
        .borders(Borders::TOP)
        .title(title(pane, theme))
        .title(hints(pane, ctx, area.width).right_aligned());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (body, stopped) = match pane.state() {
        LogState::Stopped(why) if inner.height > 1 => {
            let [body, last] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
            (body, Some((last, why)))
        }
        _ => (inner, None),
    };
    if let Some((last, why)) = stopped {
        let text = format!("reading the log stopped: {why} (l again retries)");
        f.render_widget(Paragraph::new(Span::styled(text, theme.warning)), last);
    }
    let layout = |offset: u64| ListLayout {
        header: Rect::new(body.x, body.y, body.width, 0),
        rows: body,
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
        columns: Vec::new(),
    };
    if let Some(note) = empty_note(pane, ctx) {
        f.render_widget(Paragraph::new(note).wrap(Wrap { trim: false }), body);
        return layout(pane.offset());
    }
    let now_ms = ctx.app.frame().map_or(0, |f| f.taken_at_ms);
    let shown = pane.shown();
    let Some(cursor) = pane.cursor_index(&shown) else {
        return layout(pane.offset());
    };
    let width = body.width as usize;
    let height = body.height as usize;
    let mut cache: HashMap<usize, Vec<Line<'static>>> = HashMap::default();
    let mut rows_of = |index: usize| -> Vec<Line<'static>> {
        cache
            .entry(index)
            .or_insert_with(|| match pane.line(shown[index]) {
                Some(line) => rows(line, pane, now_ms, width, theme),
                None => vec![Line::default()],
            })
            .clone()
    };
    // The first shown line drawn: the previous drawing's, moved so the cursor's line is in
    // sight (following: so the newest line ends the pane).
    let mut first = shown.partition_point(|&n| n < pane.offset()).min(cursor);
    let mut filled = 0;
    let mut lowest = 0;
    for index in (0..=cursor).rev() {
        filled += rows_of(index).len();
        if filled > height {
            lowest = (index + 1).min(cursor);
            break;
        }
    }
    if pane.following() || first < lowest {
        first = lowest;
    }
    let mut lines = Vec::with_capacity(height);
    for index in first..shown.len() {
        if lines.len() >= height {
            break;
        }
        let mut drawn = rows_of(index);
        if index == cursor && !pane.following() {
            drawn = drawn
                .into_iter()
                .map(|l| l.patch_style(theme.selected))
                .collect();
        }
        lines.extend(drawn);
    }
    lines.truncate(height);
    f.render_widget(Paragraph::new(lines), body);
    layout(shown[first])
}

/// ` web (runc) log · following `, or paused, once there are lines.
fn title<'a>(pane: &LogPane, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(title_text(pane), theme.title)];
    if let Some(state) = state_text(pane) {
        spans.push(Span::styled(format!("· {state} "), theme.dim));
    }
    if pane.dropped() > 0 {
        spans.push(Span::styled(
            format!("· last {LOG_LINES_KEPT} lines kept "),
            theme.dim,
        ));
    }
    Line::from(spans)
}

fn title_text(pane: &LogPane) -> String {
    format!(" {} ({}) log ", pane.name, pane.runtime)
}

/// Following or paused, when there are lines to be on.
fn state_text(pane: &LogPane) -> Option<&'static str> {
    if pane.is_empty() || matches!(pane.state(), LogState::NoFile { .. }) {
        None
    } else if pane.following() {
        Some("following")
    } else {
        Some("paused, End follows")
    }
}

/// The pane's keys beside the title, as many as fit (Esc first, then search, stream, wrap,
/// time), drawn in a fixed order. Without a file, Esc only.
fn hints<'a>(pane: &LogPane, ctx: &Ctx<'_>, width: u16) -> Line<'a> {
    let key = |a: Action| ctx.keymap.hint(a).unwrap_or_else(|| "-".to_string());
    let search = match pane.search() {
        Some(text) => format!(
            "\"{text}\" {}/{}",
            key(Action::LogNextMatch),
            key(Action::LogPreviousMatch)
        ),
        None => format!("{} search", key(Action::LogSearch)),
    };
    let stream = match pane.stream() {
        StreamShown::All => "all",
        StreamShown::Stdout => "stdout",
        StreamShown::Stderr => "stderr",
    };
    // (priority, text) in the order drawn.
    let mut all = vec![
        (2, format!("{} {stream}", key(Action::LogStream))),
        (
            3,
            format!(
                "{} {}",
                key(Action::LogWrap),
                if pane.wrap() { "wrap" } else { "nowrap" }
            ),
        ),
        (1, search),
        (4, format!("{} time", key(Action::LogJumpTime))),
        (0, format!("{} back", key(Action::Back))),
    ];
    if matches!(pane.state(), LogState::NoFile { .. }) {
        all.retain(|(priority, _)| *priority == 0);
    }
    let title =
        title_text(pane).chars().count() + state_text(pane).map_or(0, |s| s.chars().count() + 3);
    let mut room = (width as usize).saturating_sub(title + 4);
    let mut by_priority: Vec<usize> = (0..all.len()).collect();
    by_priority.sort_by_key(|&i| all[i].0);
    let mut kept = vec![false; all.len()];
    for i in by_priority {
        let cost = all[i].1.chars().count() + 2;
        if cost > room {
            break;
        }
        room -= cost;
        kept[i] = true;
    }
    let shown: Vec<String> = all
        .into_iter()
        .zip(kept)
        .filter(|(_, k)| *k)
        .map(|((_, text), _)| text)
        .collect();
    Line::from(Span::styled(
        format!(" {} ", shown.join("  ")),
        ctx.theme.dim,
    ))
}

/// What the pane says instead of lines, when it has none to show.
fn empty_note<'a>(pane: &LogPane, ctx: &Ctx<'_>) -> Option<Vec<Line<'a>>> {
    let theme = ctx.theme;
    let name = &pane.name;
    let key = |a: Action| ctx.keymap.hint(a).unwrap_or_else(|| "-".to_string());
    if let LogState::NoFile { reason, hint } = pane.state() {
        return Some(vec![
            Line::from(Span::styled(
                format!("no log file to read for {name}: {reason}"),
                theme.warning,
            )),
            Line::default(),
            Line::from(vec![
                Span::styled("to get one: ", theme.dim),
                Span::raw(hint.clone()),
            ]),
        ]);
    }
    if pane.is_empty() {
        let text = match pane.state() {
            LogState::Waiting => format!("reading {name}'s log…"),
            LogState::Stopped(_) => format!("no line of {name}'s log could be read"),
            _ => format!("{name}'s log is empty so far: its lines show here as they are written"),
        };
        return Some(vec![Line::from(Span::styled(text, theme.dim))]);
    }
    if pane.shown().is_empty() {
        return Some(vec![Line::from(Span::styled(
            format!(
                "no {} line among the {} kept ({} shows all streams)",
                pane.stream().label(),
                pane.len(),
                key(Action::LogStream)
            ),
            theme.dim,
        ))]);
    }
    None
}

/// The rows one log line takes at `width`: wrapped when the pane wraps, else one, cut.
fn rows<'a>(
    line: &PaneLine,
    pane: &LogPane,
    now_ms: u64,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let mut prefix = Vec::new();
    if let Some(ns) = line.at_ns {
        prefix.push(Span::styled(
            format!("{} ", stamp(ns / 1_000_000, now_ms)),
            theme.dim,
        ));
    }
    match line.stream {
        Some(LogStream::Stderr) => prefix.push(Span::styled("err ", theme.warning)),
        Some(LogStream::Stdout) => prefix.push(Span::styled("out ", theme.dim)),
        None => {}
    }
    let indent: usize = prefix.iter().map(Span::width).sum();
    let mut spans = prefix;
    spans.extend(text_spans(&line.text, pane.highlight(), theme));
    let marker = line.cut.then(|| {
        Span::styled(
            format!(" [cut: longer than {}]", short_bytes(MAX_LINE_BYTES as u64)),
            theme.warning,
        )
    });
    if pane.wrap() {
        spans.extend(marker);
        let indent = if width.saturating_sub(indent) >= TEXT_FROM {
            indent
        } else {
            0
        };
        wrap(spans, width, indent)
    } else {
        // The runtime's cut stays in sight: the pane's cut comes before it.
        let room = width.saturating_sub(marker.as_ref().map_or(0, Span::width));
        let mut row = cut(spans, room, theme);
        row.spans.extend(marker);
        vec![row]
    }
}

/// `text` with `needle`'s matches lit.
fn text_spans<'a>(text: &str, needle: Option<&str>, theme: &Theme) -> Vec<Span<'a>> {
    let ranges = needle.map(|n| match_ranges(text, n)).unwrap_or_default();
    let mut spans = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut at = 0;
    for range in ranges {
        if range.start > at {
            spans.push(Span::raw(text[at..range.start].to_string()));
        }
        spans.push(Span::styled(
            text[range.clone()].to_string(),
            theme.search_match,
        ));
        at = range.end;
    }
    if at < text.len() || spans.is_empty() {
        spans.push(Span::raw(text[at..].to_string()));
    }
    spans
}

/// The width of one character in cells.
fn cells(c: char) -> usize {
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// `spans` in rows of at most `width` cells, the rows after the first indented by `indent`.
fn wrap<'a>(spans: Vec<Span<'a>>, width: usize, indent: usize) -> Vec<Line<'a>> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row: Vec<Span<'a>> = Vec::new();
    let mut used = 0;
    for span in spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = cells(c);
            if used + w > width && used > indent.min(width - 1) {
                if !piece.is_empty() {
                    row.push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Line::from(std::mem::take(&mut row)));
                used = indent.min(width - 1);
                if used > 0 {
                    row.push(Span::raw(" ".repeat(used)));
                }
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            row.push(Span::styled(piece, span.style));
        }
    }
    rows.push(Line::from(row));
    rows
}

/// `spans` in one row of `width` cells, ending in `…` when they do not fit.
fn cut<'a>(spans: Vec<Span<'a>>, width: usize, theme: &Theme) -> Line<'a> {
    let total: usize = spans.iter().map(Span::width).sum();
    if total <= width {
        return Line::from(spans);
    }
    let room = width.saturating_sub(1);
    let mut used = 0;
    let mut row = Vec::new();
    'spans: for span in spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = cells(c);
            if used + w > room {
                if !piece.is_empty() {
                    row.push(Span::styled(piece, span.style));
                }
                break 'spans;
            }
            piece.push(c);
            used += w;
        }
        row.push(Span::styled(piece, span.style));
    }
    row.push(Span::styled("…", theme.dim));
    Line::from(row)
}

/// The status line's left side while the pane types: the search or the time being typed.
pub fn input_line<'a>(pane: &LogPane, theme: &Theme) -> Option<Line<'a>> {
    use crate::ui::app::log_pane::PaneInput;
    let (label, text) = match pane.input()? {
        PaneInput::Search(text) => ("/".to_string(), text.clone()),
        PaneInput::Time(text) => (
            "go to the time (UTC, HH:MM[:SS]): ".to_string(),
            text.clone(),
        ),
    };
    Some(Line::from(vec![
        Span::styled(label, theme.title),
        Span::raw(text),
        Span::styled("█", theme.dim),
    ]))
}

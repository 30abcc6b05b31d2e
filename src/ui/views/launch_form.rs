//! The `n` overlay: the launch form, one field per line with what it takes (or the error
//! of the last submit) under it, the field with the keys marked `▸` and a cursor, what an
//! empty field means as a dim placeholder, the networks with the chosen one in brackets, and
//! the keys from the keymap in force at the bottom. Only reads the form.

use ratatui::Frame as TermFrame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::Ctx;
use crate::launch::NetMode;
use crate::ui::action::Action;
use crate::ui::app::launch::LAUNCH_NEEDS_ROOT;
use crate::ui::app::launch_form::{Field, LaunchForm};
use crate::ui::theme::Theme;
use crate::ui::widgets::keep_tail;

/// Label column: marker (2) + label (8) + gap (1), cells.
const LABEL_WIDTH: usize = 11;

/// What an empty field means, shown dim in it.
fn placeholder(field: Field) -> &'static str {
    match field {
        Field::Image => "default: the host's programs, read-only",
        Field::Command => "the image's command, else /bin/sh",
        Field::Name => "program-id",
        Field::Cpu | Field::Memory => "no limit",
        Field::Network => "",
    }
}

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>, form: &LaunchForm) {
    let theme = ctx.theme;
    let width = area.width.saturating_sub(4).min(76);
    let inner = width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    if form.needs_root {
        lines.push(Line::from(Span::styled(LAUNCH_NEEDS_ROOT, theme.warning)));
    }
    if let Some(error) = form.error.as_ref().filter(|e| e.field.is_none())
        && !form.needs_root
    {
        lines.push(Line::from(Span::styled(error.text.clone(), theme.warning)));
    }
    let indent = " ".repeat(LABEL_WIDTH);
    for field in Field::ALL {
        lines.push(field_line(form, field, inner, theme));
        match form.error_for(field) {
            // Errors say what would be accepted: all of it is shown, wrapped.
            Some(error) => {
                for part in wrap(error, inner.saturating_sub(LABEL_WIDTH)) {
                    lines.push(Line::from(vec![
                        Span::raw(indent.clone()),
                        Span::styled(part, theme.warning),
                    ]));
                }
            }
            None => lines.push(Line::from(vec![
                Span::raw(indent.clone()),
                Span::styled(field.hint(), theme.dim),
            ])),
        }
    }
    let key = |a: Action| ctx.keymap.hint(a).unwrap_or_else(|| "-".to_string());
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        format!(
            "{}/{}/↑/↓ field  ←/→ network  {} launch  {} cancel",
            key(Action::NextTab),
            key(Action::PreviousTab),
            key(Action::Open),
            key(Action::Back)
        ),
        theme.dim,
    )));
    let height = area.height.min(lines.len() as u16 + 2);
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    f.render_widget(Clear, popup);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(Span::styled(" launch a container ", theme.title));
    f.render_widget(Paragraph::new(lines).block(block), popup);
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let word_len = word.chars().count();
        let line_len = line.chars().count();
        if line_len > 0 && line_len + 1 + word_len > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        // A word longer than the line is cut where the line ends.
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `▸ label    value█` for one field.
fn field_line<'a>(form: &'a LaunchForm, field: Field, inner: usize, theme: &Theme) -> Line<'a> {
    let focused = form.focus == field;
    let marker = if focused { "▸ " } else { "  " };
    let label_style = if focused { theme.title } else { theme.text };
    let mut spans = vec![Span::styled(
        format!("{marker}{:<width$}", field.label(), width = LABEL_WIDTH - 2),
        label_style,
    )];
    let room = inner.saturating_sub(LABEL_WIDTH + 1);
    match form.text(field) {
        Some(text) => {
            // The end of a long value stays in view: that is where typing happens.
            spans.push(Span::raw(keep_tail(text, room)));
            if focused {
                spans.push(Span::styled("█", theme.dim));
            }
            if text.is_empty() {
                spans.push(Span::styled(placeholder(field), theme.dim));
            }
        }
        None => {
            for net in [NetMode::None, NetMode::Bridge, NetMode::Host] {
                if net == form.net {
                    spans.push(Span::styled(format!("[{}]", net.name()), theme.selected));
                } else {
                    spans.push(Span::styled(format!(" {} ", net.name()), theme.dim));
                }
                spans.push(Span::raw(" "));
            }
        }
    }
    Line::from(spans)
}

//! The status line: an act's prompt (a limit's input line, the kill confirmation, the `x`
//! menu and its confirmation, the `y` copy menu), the filter prompt or the log pane's search
//! or time while typing; else the most urgent hint (a message from
//! the last action, a remote host's connection lost or given up, a replayed recording's
//! warning (a torn tail skipped), the sampler having stopped,
//! "not root: read-only", the frame's first warning); on the right the active filter and the keys for help and quit.

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::ui::action::Action;
use crate::ui::app::acts::Prompt;

/// What root would add, said when isotop runs unprivileged.
pub const NOT_ROOT_HINT: &str = "not root: read-only — root would add every process's namespaces, \
     cgroup files and the processes of other users";

pub fn draw(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) {
    let app = ctx.app;
    let theme = ctx.theme;
    let key = |a: Action| ctx.keymap.hint(a).unwrap_or_else(|| "-".to_string());
    let prompt = app.prompt();
    let log_input = app
        .log_pane()
        .and_then(|pane| super::log_pane::input_line(pane, theme));
    let right = if let Some(prompt) = prompt {
        match prompt {
            Prompt::Limit { .. } => {
                format!("{} apply  {} cancel", key(Action::Open), key(Action::Back))
            }
            Prompt::ConfirmKill { .. } => "y kill  other keys cancel".to_string(),
            Prompt::ConfirmForce { .. } => "y force  other keys cancel".to_string(),
            Prompt::StopRemove { .. } | Prompt::Copy(_) => {
                format!(
                    "←/→ choose  {} pick  {} cancel",
                    key(Action::Open),
                    key(Action::Back)
                )
            }
            Prompt::ConfirmStopRemove { .. } => "y yes  other keys cancel".to_string(),
        }
    } else if app.launch_form().is_some() {
        format!("{} launch  {} cancel", key(Action::Open), key(Action::Back))
    } else if app.is_editing_filter() {
        format!("{} keep  {} clear", key(Action::Open), key(Action::Back))
    } else if log_input.is_some() {
        format!("{} go  {} cancel", key(Action::Open), key(Action::Back))
    } else {
        format!("{} help  {} quit", key(Action::Help), key(Action::Quit))
    };
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Min(1),
        Constraint::Length(right.chars().count() as u16 + 1),
    ])
    .areas(area);
    let left = if let Some(prompt) = prompt {
        let mut spans = vec![Span::styled(prompt.line(), theme.warning)];
        if matches!(prompt, Prompt::Limit { .. }) {
            spans.push(Span::styled("█", theme.dim));
        }
        Line::from(spans)
    } else if let Some(line) = log_input {
        line
    } else if app.is_editing_filter() {
        Line::from(vec![
            Span::styled("/", theme.title),
            Span::raw(app.filter().to_string()),
            Span::styled("█", theme.dim),
        ])
    } else {
        let mut spans = Vec::new();
        if !app.filter().is_empty() {
            spans.push(Span::styled(
                format!("filter: {}  ", app.filter()),
                theme.title,
            ));
        }
        let frame = app.frame();
        if let Some(message) = app.message() {
            spans.push(Span::styled(message.to_string(), theme.warning));
        } else if let Some(line) = app.connection_line() {
            spans.push(Span::styled(line, theme.warning));
        } else if let Some(warning) = app.replay_warning() {
            // What the recording skipped (a torn tail): the frames shown are the complete ones.
            spans.push(Span::styled(warning, theme.warning));
        } else if let Some(reason) = &app.sampler_stopped {
            spans.push(Span::styled(
                format!("{reason} — figures are frozen at the last frame"),
                theme.warning,
            ));
        } else if let Some(gone) = app.gone() {
            spans.push(Span::styled(
                format!(
                    "{} is gone (last seen before {} UTC)",
                    gone.sample.view.container.name,
                    crate::ui::widgets::clock(gone.since_ms)
                ),
                theme.warning,
            ));
        } else if let Some(frame) = frame
            && !frame.host.is_root
        {
            // What this user cannot see says more than the general hint.
            let text = frame.host.hidden.as_deref().unwrap_or(NOT_ROOT_HINT);
            spans.push(Span::styled(text.to_string(), theme.warning));
        } else if let Some(frame) = frame
            && let Some(first) = frame.warnings.first()
        {
            let more = frame.warnings.len() - 1;
            let text = if more > 0 {
                format!("{first} (+{more} more)")
            } else {
                first.clone()
            };
            spans.push(Span::styled(text, theme.dim));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(left), left_area);
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(right, theme.dim)).right_aligned()),
        right_area,
    );
}

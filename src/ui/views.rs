//! Drawing: the screen is a header (host figures), a tab bar, the current view (or the detail
//! pane of its selection, or a container's log pane over either), in a replay its time bar,
//! and a status line; help and the launch form are overlays. Drawing only reads the
//! [`App`], the [`History`] and the config; it returns where it put the tabs and the table so
//! the app can map mouse clicks. It never reads the clock: times come from the frame.

pub mod cgroups;
pub mod containers;
pub mod detail;
pub mod events;
pub mod header;
pub mod help;
pub mod launch_form;
pub mod log_pane;
pub mod namespaces;
pub mod network;
pub mod processes;
pub mod status;
pub mod time_bar;

use ratatui::Frame as TermFrame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::action::Tab;
use super::app::{App, ScreenLayout};
use super::keymap::Keymap;
use super::theme::Theme;
use crate::sample::History;

/// What a drawing reads.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub history: &'a History,
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
}

/// Draws the whole screen.
pub fn draw(f: &mut TermFrame, ctx: &Ctx<'_>) -> ScreenLayout {
    let area = f.area();
    let header_height = header::height(ctx, area);
    let [head, tabs, body, bar, status] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(time_bar::height(ctx)),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(f, head, ctx);
    let tab_rects = draw_tabs(f, tabs, ctx);
    let mut layout = ScreenLayout {
        tabs: tab_rects,
        list: None,
    };
    let app = ctx.app;
    if let Some(pane) = app.log_pane() {
        // The pane reports its first line and height as a list's, for paging.
        layout.list = Some(log_pane::draw(f, body, ctx, pane));
    } else if app.frame().is_none() {
        let text = Paragraph::new(Span::styled("waiting for the first sample…", ctx.theme.dim));
        f.render_widget(text, body);
    } else if app.detail_open() && app.tab() == Tab::Network {
        network::draw_detail(f, body, ctx);
    } else if app.detail_open() {
        detail::draw(f, body, ctx);
    } else {
        layout.list = Some(match app.tab() {
            Tab::Containers => containers::draw(f, body, ctx),
            Tab::Cgroups => cgroups::draw(f, body, ctx),
            Tab::Namespaces => namespaces::draw(f, body, ctx),
            Tab::Processes => processes::draw(f, body, ctx),
            Tab::Network => network::draw(f, body, ctx),
            Tab::Events => events::draw(f, body, ctx),
        });
    }
    if bar.height > 0 {
        time_bar::draw(f, bar, ctx);
    }
    status::draw(f, status, ctx);
    if app.help_open() {
        help::draw(f, area, ctx);
    }
    if let Some(form) = app.launch_form() {
        launch_form::draw(f, area, ctx, form);
    }
    layout
}

fn draw_tabs(f: &mut TermFrame, area: Rect, ctx: &Ctx<'_>) -> Vec<(Rect, Tab)> {
    let theme = ctx.theme;
    let mut spans = Vec::new();
    let mut rects = Vec::new();
    let mut x = area.x;
    for tab in Tab::ALL {
        let label = format!(" {} {} ", tab.index() + 1, tab.title());
        let width = label.chars().count() as u16;
        if x + width > area.x + area.width {
            break;
        }
        rects.push((Rect::new(x, area.y, width, 1), tab));
        let style = if tab == ctx.app.tab() {
            theme.tab_active
        } else {
            theme.tab
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
        x += width + 1;
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    rects
}

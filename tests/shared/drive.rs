//! Driving an [`App`] in the UI tests as the app loop and an operator would: typing text into
//! whatever has the keys, selecting a container by filtering to it, and drawing the app with
//! ratatui's `TestBackend` (twice, as the app loop does, so the second drawing uses the page
//! size and offsets the first one reported).

use isotop::sample::History;
use isotop::ui::keymap::Keymap;
use isotop::ui::theme::{Theme, ThemeName};
use isotop::ui::views::{self, Ctx};
use isotop::ui::{Action, App};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Every act key of the dashboard: what `--read-only` and a replay refuse.
pub const ACT_KEYS: [Action; 10] = [
    Action::LimitCpu,
    Action::LimitMemory,
    Action::LimitPids,
    Action::LimitIo,
    Action::Undo,
    Action::FreezeToggle,
    Action::Kill,
    Action::Enter,
    Action::StopRemove,
    Action::Launch,
];

/// The Containers view's rows by name: a container's name, `pod:<label>` for a pod's row,
/// `gone` for the vanished container kept on screen.
pub fn container_row_names(app: &App) -> Vec<String> {
    use isotop::ui::app::rows::ContainerRow;
    let Some(f) = app.frame() else {
        return Vec::new();
    };
    app.rows()
        .containers
        .iter()
        .map(|r| match r {
            ContainerRow::Live(i) => f.containers[*i].view.container.name.clone(),
            ContainerRow::Pod(p) => format!("pod:{}", f.pods[*p].label),
            ContainerRow::Gone => "gone".into(),
        })
        .collect()
}

/// Types `text` one character at a time.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Action::TypeChar(c));
    }
}

/// Filters the current view to `id` and keeps the filter; asserts the row selected then is
/// `id`'s.
pub fn select_by_filter(app: &mut App, id: &str) {
    app.update(Action::Filter);
    type_text(app, id);
    app.update(Action::Open);
    assert_eq!(app.selected_key(), Some(id));
}

/// Draws `app` at `width`×`height` with `theme` and the default keymap.
pub fn render_with(
    app: &mut App,
    history: &History,
    theme: &Theme,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let keymap = Keymap::default();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    for _ in 0..2 {
        let mut layout = None;
        terminal
            .draw(|f| {
                let ctx = Ctx {
                    app,
                    history,
                    theme,
                    keymap: &keymap,
                };
                layout = Some(views::draw(f, &ctx));
            })
            .unwrap();
        app.set_layout(layout.unwrap());
    }
    terminal
}

/// [`render_with`] the dark theme in colour (`NO_COLOR` unset), the one every snapshot uses.
pub fn render(app: &mut App, history: &History, width: u16, height: u16) -> Terminal<TestBackend> {
    render_with(
        app,
        history,
        &Theme::new(ThemeName::Dark, false),
        width,
        height,
    )
}

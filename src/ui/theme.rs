//! Colours and emphasis, in one place. `mono` (and any theme when `NO_COLOR` is set to a
//! non-empty value, see <https://no-color.org>) uses no colour at all: only bold, dim,
//! underline and reverse video, so the dashboard stays readable on any terminal.

use ratatui::style::{Color, Modifier, Style};

/// The themes a config can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    Mono,
}

impl ThemeName {
    pub fn parse(text: &str) -> Option<ThemeName> {
        match text {
            "dark" => Some(ThemeName::Dark),
            "light" => Some(ThemeName::Light),
            "mono" => Some(ThemeName::Mono),
            _ => None,
        }
    }
}

/// Styles by role.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub colored: bool,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub header: Style,
    pub selected: Style,
    pub tab: Style,
    pub tab_active: Style,
    pub bar_low: Style,
    pub bar_mid: Style,
    pub bar_high: Style,
    pub bar_empty: Style,
    pub gone: Style,
    pub warning: Style,
    pub container_mark: Style,
    pub limit_line: Style,
    pub series: [Style; 4],
    /// A search's matches in the log pane.
    pub search_match: Style,
    /// The detail charts' time cursor: its vertical line, the values at it, its time.
    pub chart_cursor: Style,
}

impl Theme {
    /// The theme `name`, without colours when `no_color` (NO_COLOR) says so.
    pub fn new(name: ThemeName, no_color: bool) -> Theme {
        if no_color || name == ThemeName::Mono {
            return Theme::mono();
        }
        // The cursor in the colour of the terminal's own text, the series' colours aside.
        let (accent, fg_dim, fg_strong) = match name {
            ThemeName::Light => (Color::Blue, Color::DarkGray, Color::Black),
            _ => (Color::Cyan, Color::Gray, Color::White),
        };
        let plain = Style::new();
        Theme {
            colored: true,
            text: plain,
            dim: Style::new().fg(fg_dim),
            title: Style::new().fg(accent).add_modifier(Modifier::BOLD),
            header: Style::new().fg(accent).add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            tab: Style::new().fg(fg_dim),
            tab_active: Style::new()
                .fg(accent)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            bar_low: Style::new().fg(Color::Green),
            bar_mid: Style::new().fg(Color::Yellow),
            bar_high: Style::new().fg(Color::Red),
            bar_empty: Style::new().fg(Color::DarkGray),
            gone: Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::CROSSED_OUT),
            warning: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            container_mark: Style::new().fg(Color::Magenta),
            limit_line: Style::new().fg(Color::Red),
            series: [
                Style::new().fg(Color::Green),
                Style::new().fg(Color::Yellow),
                Style::new().fg(Color::Cyan),
                Style::new().fg(Color::Magenta),
            ],
            search_match: Style::new().fg(Color::Black).bg(Color::Yellow),
            chart_cursor: Style::new().fg(fg_strong).add_modifier(Modifier::BOLD),
        }
    }

    /// No colours: emphasis only.
    pub fn mono() -> Theme {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let dim = Style::new().add_modifier(Modifier::DIM);
        Theme {
            colored: false,
            text: plain,
            dim,
            title: bold,
            header: bold,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            tab: plain,
            tab_active: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            bar_low: plain,
            bar_mid: plain,
            bar_high: bold,
            bar_empty: dim,
            gone: Style::new().add_modifier(Modifier::CROSSED_OUT),
            warning: bold,
            container_mark: bold,
            limit_line: bold,
            series: [plain; 4],
            search_match: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            // Bold is the limit lines' already: reverse video stands apart.
            chart_cursor: Style::new().add_modifier(Modifier::REVERSED),
        }
    }

    /// True when the environment asks for no colour (`NO_COLOR` set and not empty).
    pub fn no_color_requested() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// The bar style for a fill ratio (0–1): calm, warm, hot.
    pub fn bar(&self, ratio: f64) -> Style {
        if ratio >= 0.9 {
            self.bar_high
        } else if ratio >= 0.6 {
            self.bar_mid
        } else {
            self.bar_low
        }
    }
}

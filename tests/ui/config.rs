//! The keymap table and the config file without a terminal: the defaults parse and match the
//! shipped `assets/config.toml`, a user's rebinding replaces keys, a clash is reported naming
//! both actions, bad values name themselves; NO_COLOR's theme has no colour at all.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use isotop::ui::config::{Config, DEFAULT_CONFIG_TOML};
use isotop::ui::keymap::{DEFAULT_BINDINGS, Key, KeymapError};
use isotop::ui::{Action, Theme, UiError};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn default_keymap_parses_without_clashes_and_matches_the_shipped_config() {
    let keymap = isotop::ui::keymap::Keymap::with_overrides(&Default::default()).unwrap();
    for binding in DEFAULT_BINDINGS {
        assert!(
            !keymap.keys_for(binding.action).is_empty(),
            "{} has keys",
            binding.name
        );
    }
    assert_eq!(
        keymap.action(&key(KeyCode::Char('j')), false),
        Some(Action::Down)
    );
    assert_eq!(
        keymap.action(
            &KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT),
            false
        ),
        Some(Action::End)
    );
    assert_eq!(
        keymap.action(
            &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
            false
        ),
        Some(Action::Quit)
    );
    assert_eq!(
        keymap.action(&key(KeyCode::Char('q')), true),
        Some(Action::TypeChar('q')),
        "typing, q is text"
    );
    assert_eq!(
        keymap.action(&key(KeyCode::Backspace), true),
        Some(Action::TypeBackspace)
    );
    assert_eq!(keymap.action(&key(KeyCode::Esc), true), Some(Action::Back));
    // The documented default config is exactly the defaults.
    let shipped = Config::parse(DEFAULT_CONFIG_TOML, Path::new("assets/config.toml")).unwrap();
    assert_eq!(shipped.refresh.as_secs_f64(), 1.0);
    assert_eq!(shipped.history.as_secs(), 600);
    assert_eq!(shipped.keymap.help(), keymap.help());
    assert!(shipped.hidden_container_columns.is_empty());
    // The help is drawn from the same table.
    let help = keymap.help();
    assert_eq!(help.len(), DEFAULT_BINDINGS.len());
    assert!(
        help.iter()
            .any(|(keys, what)| keys == "q ctrl-c" && *what == "quit")
    );
}

#[test]
fn user_keymap_rebinds_and_reports_clashes() {
    let config = Config::parse(
        "[keymap]\nquit = \"Q\"\ndown = [\"J\", \"down\"]\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(
        config.keymap.action(&key(KeyCode::Char('Q')), false),
        Some(Action::Quit)
    );
    assert_eq!(
        config.keymap.action(&key(KeyCode::Char('q')), false),
        None,
        "replaced, not added"
    );
    assert_eq!(
        config.keymap.action(&key(KeyCode::Char('J')), false),
        Some(Action::Down)
    );
    assert_eq!(config.keymap.action(&key(KeyCode::Char('j')), false), None);

    let err = Config::parse("[keymap]\nquit = [\"j\"]\n", Path::new("c.toml")).unwrap_err();
    match &err {
        UiError::Keymap {
            source: KeymapError::Clash { key, first, second },
            ..
        } => {
            assert_eq!(
                (key.as_str(), first.as_str(), second.as_str()),
                ("j", "down", "quit")
            );
        }
        other => panic!("expected a clash, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("c.toml") && text.contains("`down`") && text.contains("`quit`"),
        "{text}"
    );

    let err = Config::parse("[keymap]\nfly = \"f\"\n", Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("no action `fly`"), "{err}");
    let err = Config::parse("[keymap]\nquit = \"hyper-q\"\n", Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("hyper-q"), "{err}");
    let err = Config::parse("refresh = 0\n", Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("refresh"), "{err}");
    let err = Config::parse("theme = \"neon\"\n", Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("neon"), "{err}");
    let err = Config::parse("refesh = 2\n", Path::new("c.toml")).unwrap_err();
    assert!(
        err.to_string().contains("refesh"),
        "unknown keys are errors: {err}"
    );
}

#[test]
fn containers_columns_are_hidden_by_title_and_unknown_titles_are_errors() {
    let config = Config::parse(
        "[containers]\nhide = [\"psi io\", \"REFUSED\", \" Uptime \"]\n",
        Path::new("c.toml"),
    )
    .unwrap();
    // Sort indices of `rows::CONTAINER_COLUMNS`: PSI IO, REFUSED, UPTIME.
    assert_eq!(config.hidden_container_columns, vec![12, 14, 8]);
    let err = Config::parse("[containers]\nhide = [\"PSI\"]\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("c.toml")
            && err.contains("\"PSI\" is not a column")
            && err.contains("\"PSI CPU\""),
        "{err}"
    );
    let err = Config::parse("[containers]\nshow = []\n", Path::new("c.toml")).unwrap_err();
    assert!(err.to_string().contains("show"), "{err}");
}

#[test]
fn key_names_round_trip() {
    assert_eq!(
        Key::parse("ctrl-c").unwrap(),
        Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
    );
    assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
    assert_eq!(
        Key::parse("PageDown").unwrap(),
        Key::new(KeyCode::PageDown, KeyModifiers::NONE)
    );
    assert_eq!(
        Key::parse("f12").unwrap(),
        Key::new(KeyCode::F(12), KeyModifiers::NONE)
    );
    assert_eq!(
        Key::parse("shift-tab").unwrap(),
        Key::parse("backtab").unwrap()
    );
    assert!(Key::parse("").is_err());
    assert!(Key::parse("f99").is_err());
}

#[test]
fn config_file_missing_at_default_is_fine_but_explicit_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = Config::load(Some(&missing)).unwrap_err();
    assert!(
        err.is_usage() && err.to_string().contains("nope.toml"),
        "{err}"
    );
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "refresh = 2.5\ntheme = \"mono\"\n").unwrap();
    let config = Config::load(Some(&file)).unwrap();
    assert_eq!(config.refresh.as_millis(), 2500);
    assert_eq!(config.theme, isotop::ui::theme::ThemeName::Mono);

    // The default location: absent is silent; unreadable (here a directory, which even root
    // cannot read as a file) starts with the defaults and says why; a named one is an error.
    let quiet = Config::load_from(&missing, false).unwrap();
    assert!(quiet.notes.is_empty());
    let unreadable = dir.path().join("isotop-config-dir");
    std::fs::create_dir(&unreadable).unwrap();
    let fallback = Config::load_from(&unreadable, false).unwrap();
    assert_eq!(fallback.refresh.as_millis(), 1000);
    assert_eq!(fallback.notes.len(), 1);
    assert!(
        fallback.notes[0].contains("isotop-config-dir") && fallback.notes[0].contains("defaults"),
        "{:?}",
        fallback.notes
    );
    assert!(Config::load_from(&unreadable, true).is_err());
}

#[test]
fn no_color_theme_has_no_colours() {
    use ratatui::style::Color;
    let colourless = |s: ratatui::style::Style| {
        s.fg.is_none_or(|c| c == Color::Reset) && s.bg.is_none_or(|c| c == Color::Reset)
    };
    let mono = Theme::new(isotop::ui::theme::ThemeName::Dark, true);
    assert!(!mono.colored);
    let styles = [
        mono.text,
        mono.dim,
        mono.title,
        mono.header,
        mono.selected,
        mono.tab,
        mono.tab_active,
        mono.bar_low,
        mono.bar_mid,
        mono.bar_high,
        mono.bar_empty,
        mono.gone,
        mono.warning,
        mono.container_mark,
        mono.limit_line,
    ];
    assert!(
        styles
            .iter()
            .chain(mono.series.iter())
            .all(|s| colourless(*s))
    );
    let dark = Theme::new(isotop::ui::theme::ThemeName::Dark, false);
    assert!(dark.colored && !colourless(dark.bar_low));
}

//! The Events view (`6`), the app's bounded list of events, and what the Containers view shows
//! of them and of the runtimes' records: the newest event (EVENT, or `*` before the name where
//! it does not fit), RESTARTS and HEALTH, and the detail pane's restarts, health and last exit.
//! Frames and events from `fixture::events`.

use crate::layers::rows;
use crate::rw_size::{cell_of, column, column_left};
use crate::support::{drive, fixture};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use isotop::host::events::{Event, EventKind};
use isotop::ui::app::events::EVENTS_KEPT;
use isotop::ui::config::Config;
use isotop::ui::keymap::{DEFAULT_BINDINGS, Keymap, KeymapError, Scope};
use isotop::ui::log_feed::LogRequest;
use isotop::ui::{Action, App, Tab, UiError};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Cell;
use ratatui::style::Color;

use drive::{render, type_text};
use fixture::events::{API_ID, OLD_JOB_ID, subject};
use fixture::{T0_MS, app_with_history, frame};

/// The warning colour of the dark theme every test draws with.
const WARNING: Color = Color::Yellow;

/// The cell where `text` is first drawn (its first character's).
pub(crate) fn cell_at(terminal: &Terminal<TestBackend>, text: &str) -> Cell {
    let screen = rows(terminal);
    let (y, row) = screen
        .iter()
        .enumerate()
        .find(|(_, r)| r.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", screen.join("\n")));
    let x = row[..row.find(text).unwrap()].chars().count();
    terminal.backend().buffer()[(x as u16, y as u16)].clone()
}

/// The foreground where `text` is first drawn.
fn colour_of(terminal: &Terminal<TestBackend>, text: &str) -> Color {
    cell_at(terminal, text).fg
}

/// The kinds of the Events view's rows, top to bottom.
fn kinds(app: &App) -> Vec<&'static str> {
    app.rows()
        .events
        .iter()
        .map(|&i| app.events().get(i).unwrap().event.kind.name())
        .collect()
}

fn selected_kind(app: &App) -> &'static str {
    app.selected_event().unwrap().event.kind.name()
}

/// Selects the Events view's row whose kind is `kind`.
fn select_kind(app: &mut App, kind: &str) {
    app.update(Action::Home);
    while selected_kind(app) != kind {
        app.update(Action::Down);
    }
}

#[test]
fn events_view_at_80_120_and_200_columns() {
    for (width, height) in [(80, 24), (120, 40), (200, 50)] {
        let (mut app, history) = app_with_history(30);
        app.update(Action::ShowTab(Tab::Events));
        select_kind(&mut app, "oom_kill");
        let terminal = render(&mut app, &history, width, height);
        insta::assert_snapshot!(format!("events_{width}x{height}"), terminal.backend());
        // Trouble in the warning colour, the rest not.
        assert_eq!(colour_of(&terminal, "oom_kill"), WARNING);
        assert_ne!(colour_of(&terminal, "limit_changed"), WARNING);
    }
}

#[test]
fn newest_first_with_the_date_when_not_today() {
    let (mut app, history) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Events));
    assert_eq!(
        kinds(&app),
        [
            "limit_changed",
            "restarted",
            "pids_limit_hit",
            "pressure",
            "exited",
            "oom_kill",
            "health_changed",
            "throttled",
            "throttled",
            "started",
        ],
        "by time: the start dated the day before is the oldest"
    );
    let screen = rows(&render(&mut app, &history, 120, 40)).join("\n");
    assert!(screen.contains("01-01 03:14:05"), "{screen}");
    assert!(screen.contains("03:04:31 "), "today: the time alone");
}

#[test]
fn no_event_is_said_with_since_when() {
    let (mut app, history) = app_with_history(1);
    app.update(Action::ShowTab(Tab::Events));
    assert!(app.events().is_empty());
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("events_none_80x24", terminal.backend());
    let screen = rows(&terminal).join("\n");
    assert!(
        screen.contains("no events since isotop started (1.0s ago)"),
        "{screen}"
    );
}

#[test]
fn t_shows_trouble_only_and_the_filter_narrows() {
    let (mut app, history) = app_with_history(30);
    app.update(Action::TroubleOnly);
    assert!(!app.trouble_only(), "only on the Events view");
    assert!(app.message().unwrap().contains("Events view"));
    app.update(Action::ShowTab(Tab::Events));
    app.update(Action::TroubleOnly);
    assert!(app.trouble_only());
    assert_eq!(
        kinds(&app),
        [
            "pids_limit_hit",
            "pressure",
            "exited",
            "oom_kill",
            "health_changed",
            "throttled"
        ]
    );
    app.update(Action::Filter);
    type_text(&mut app, "limit");
    app.update(Action::Open);
    assert_eq!(kinds(&app), ["pids_limit_hit"], "trouble matching `limit`");
    app.update(Action::TroubleOnly);
    assert_eq!(kinds(&app), ["limit_changed", "pids_limit_hit"]);
    app.update(Action::Back);
    app.update(Action::Filter);
    type_text(&mut app, "nothing-like-it");
    app.update(Action::Open);
    let screen = rows(&render(&mut app, &history, 80, 24)).join("\n");
    assert!(
        screen.contains("no event of the 10 kept matches the filter (Esc clears it)"),
        "{screen}"
    );
    let mut only_calm = app_with_history(0).0;
    only_calm.update(Action::ShowTab(Tab::Events));
    let mut f = frame(1, true);
    f.events = vec![fixture::events::event_at(26).unwrap()];
    only_calm.on_frame(f);
    only_calm.update(Action::TroubleOnly);
    let screen = rows(&render(&mut only_calm, &history, 80, 24)).join("\n");
    assert!(
        screen.contains("no trouble among the 1 events kept (t shows every event)"),
        "{screen}"
    );
}

#[test]
fn the_selection_stays_on_its_event_as_new_ones_come() {
    let (mut app, _) = app_with_history(20);
    app.update(Action::ShowTab(Tab::Events));
    select_kind(&mut app, "oom_kill");
    let row = app.list(Tab::Events).selected;
    for seq in 21..=26 {
        app.on_frame(frame(seq, true));
    }
    assert_eq!(selected_kind(&app), "oom_kill");
    assert_eq!(
        app.list(Tab::Events).selected,
        row + 2,
        "two newer above it"
    );
}

#[test]
fn enter_shows_the_event_s_container_unfolding_and_unfiltering() {
    let (mut app, _) = app_with_history(30);
    // Fold the pod: api is hidden under its row.
    app.update(Action::Home);
    app.update(Action::Toggle);
    assert!(!drive::container_row_names(&app).contains(&"api".to_string()));
    app.update(Action::ShowTab(Tab::Events));
    app.update(Action::Filter);
    type_text(&mut app, "oom");
    app.update(Action::Open);
    assert_eq!(selected_kind(&app), "oom_kill");
    app.update(Action::Open);
    assert_eq!(app.tab(), Tab::Containers);
    assert_eq!(app.selected_key(), Some(API_ID));
    assert_eq!(app.filter(), "", "the filter hid it");
    // A container no longer on the host, a cgroup no container owns: said so.
    app.update(Action::ShowTab(Tab::Events));
    select_kind(&mut app, "exited");
    assert_eq!(
        app.selected_event()
            .unwrap()
            .event
            .subject
            .container_id
            .as_deref(),
        Some(OLD_JOB_ID)
    );
    app.update(Action::Open);
    assert_eq!(app.tab(), Tab::Events);
    assert_eq!(app.message(), Some("nightly-job is no longer on the host"));
    select_kind(&mut app, "pids_limit_hit");
    app.update(Action::Open);
    assert_eq!(
        app.message(),
        Some("/isotop-demo: a cgroup no container owns")
    );
}

#[test]
fn l_on_an_event_opens_its_container_s_log() {
    let (mut app, _) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Events));
    select_kind(&mut app, "pids_limit_hit");
    app.update(Action::Logs);
    assert!(app.log_pane().is_none());
    assert!(app.message().unwrap().contains("has no log"));
    select_kind(&mut app, "oom_kill");
    app.update(Action::Logs);
    assert_eq!(app.log_pane().unwrap().container_id, API_ID);
    match app.take_log_request() {
        Some(LogRequest::Open { container, .. }) => assert_eq!(container.name, "api"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_app_keeps_the_last_events_only() {
    let (mut app, _) = app_with_history(30);
    let many: Vec<Event> = (0..EVENTS_KEPT as u64 + 100)
        .map(|n| Event {
            at_ms: T0_MS + 40_000 + n,
            timing: isotop::host::events::Timing::Sampled,
            subject: subject(Some("web"), "web", None),
            kind: EventKind::Frozen,
            detail: format!("frozen {n}"),
        })
        .collect();
    let mut f = frame(31, true);
    f.events = many;
    app.on_frame(f);
    assert_eq!(app.events().len(), EVENTS_KEPT);
    assert_eq!(
        app.events().dropped(),
        110,
        "the fixture's 10, then 100 more"
    );
    app.update(Action::ShowTab(Tab::Events));
    assert_eq!(app.rows().events.len(), EVENTS_KEPT);
    assert_eq!(
        app.selected_event().unwrap().event.detail,
        format!("frozen {}", EVENTS_KEPT + 99)
    );
    // The frame is shared with the dump ring by `Arc`: the App copies its events into its
    // bounded list and leaves the shared frame as sampled.
    assert_eq!(
        app.frame().unwrap().events.len(),
        EVENTS_KEPT + 100,
        "the shared frame is left whole"
    );
}

#[test]
fn a_trouble_mark_before_names_where_event_does_not_fit() {
    // Frame 20: api's newest is the OOM kill, web's memory pressure.
    let (mut app, history) = app_with_history(20);
    let terminal = render(&mut app, &history, 80, 24);
    let screen = rows(&terminal).join("\n");
    assert!(
        screen.contains("*api") && screen.contains("*web"),
        "{screen}"
    );
    assert_eq!(colour_of(&terminal, "*web"), WARNING);
    assert!(!screen.contains("*pause") && !screen.contains("*scratch"));
    // Frame 30: their newest (restarted, a limit changed) is no trouble.
    let (mut app, history) = app_with_history(30);
    let screen = rows(&render(&mut app, &history, 80, 24)).join("\n");
    assert!(!screen.contains('*'), "{screen}");
}

#[test]
fn event_restarts_and_health_come_in_where_names_keep_24_cells() {
    let (mut app, history) = app_with_history(20);
    // At 120 cells the names have 10: the mark stands in for EVENT.
    let screen = rows(&render(&mut app, &history, 120, 30));
    assert!(!screen[5].contains("EVENT"), "at 120: {}", screen[5]);
    assert!(screen.join("\n").contains("*api"), "at 120");
    // At 160 EVENT (names 26: the fixture's ids are 16 wide), RESTARTS and HEALTH at 250.
    for (width, titles) in [
        (160, &["EVENT"][..]),
        (230, &["EVENT"]),
        (250, &["EVENT", "RESTARTS", "HEALTH"]),
    ] {
        let screen = rows(&render(&mut app, &history, width, 30));
        for title in ["EVENT", "RESTARTS", "HEALTH"] {
            assert_eq!(
                screen[5].contains(title),
                titles.contains(&title),
                "{title} at {width}: {}",
                screen[5]
            );
        }
        assert_eq!(
            cell_of(&column_left(&screen, "EVENT", 12), "api"),
            "oom 10s",
            "at {width}"
        );
        assert!(!screen.join("\n").contains("*api"), "at {width}");
    }
    let terminal = render(&mut app, &history, 400, 30);
    let screen = rows(&terminal);
    let event = column_left(&screen, "EVENT", 12);
    assert_eq!(cell_of(&event, "api"), "oom 10s");
    assert_eq!(cell_of(&event, "web"), "psi mem 4s");
    assert_eq!(cell_of(&event, "scratch"), "-");
    assert_eq!(colour_of(&terminal, "oom 10s"), WARNING);
    assert!(
        !screen.join("\n").contains("*api"),
        "no mark beside the column"
    );
    let restarts = column(&screen, "RESTARTS", 8);
    assert_eq!(cell_of(&restarts, "api"), "3");
    assert_eq!(cell_of(&restarts, "pause"), "0");
    assert_eq!(cell_of(&restarts, "web"), "-");
    let health = column_left(&screen, "HEALTH", 9);
    assert_eq!(cell_of(&health, "api"), "unhealthy");
    assert_eq!(cell_of(&health, "pause"), "-");
    assert_eq!(colour_of(&terminal, "unhealthy"), WARNING);
    // Hiding others makes room: at 140 without RUNTIME and THR%, EVENT fits.
    let config = Config::parse(
        "[containers]\nhide = [\"runtime\", \"THR%\"]\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    app.hide_container_columns(config.hidden_container_columns);
    let screen = rows(&render(&mut app, &history, 140, 30));
    assert_eq!(
        cell_of(&column_left(&screen, "EVENT", 12), "api"),
        "oom 10s"
    );
    // Hidden by the config: the mark stands in for EVENT.
    let config = Config::parse(
        "[containers]\nhide = [\"EVENT\", \"restarts\", \"Health\"]\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    app.hide_container_columns(config.hidden_container_columns);
    let screen = rows(&render(&mut app, &history, 400, 30));
    for title in ["EVENT", "RESTARTS", "HEALTH"] {
        assert!(!screen[5].contains(title), "{title} hidden");
    }
    assert!(screen.join("\n").contains("*api"));
}

#[test]
fn sorting_by_event_puts_the_newest_first() {
    let (mut app, _) = app_with_history(30);
    app.update(Action::SortBy(20));
    let names = drive::container_row_names(&app);
    let web = names.iter().position(|n| n == "web").unwrap();
    let api = names.iter().position(|n| n == "api").unwrap();
    let scratch = names.iter().position(|n| n == "scratch").unwrap();
    assert!(web < scratch, "{names:?}");
    // api is in the pod, whose row goes where its first member sorts.
    assert!(api < scratch, "{names:?}");
}

#[test]
fn the_detail_pane_tells_restarts_health_and_the_last_exit() {
    let (mut app, history) = app_with_history(30);
    drive::select_by_filter(&mut app, API_ID);
    app.update(Action::Open);
    let terminal = render(&mut app, &history, 160, 48);
    let screen = rows(&terminal).join("\n");
    assert!(screen.contains("restarts  3"), "{screen}");
    assert!(screen.contains("health    unhealthy"), "{screen}");
    assert!(screen.contains("last exit 137 at 02:54:04 UTC"), "{screen}");
    assert_eq!(colour_of(&terminal, "unhealthy"), WARNING);
    // web's runtime records none of it: no line says `-` for nothing.
    let (mut app, history) = app_with_history(30);
    drive::select_by_filter(&mut app, "web");
    app.update(Action::Open);
    let screen = rows(&render(&mut app, &history, 160, 48)).join("\n");
    assert!(!screen.contains("restarts") && !screen.contains("last exit"));
}

#[test]
fn six_l_and_the_log_pane_s_keys_are_in_the_one_table() {
    let find = |name: &str| DEFAULT_BINDINGS.iter().find(|b| b.name == name).unwrap();
    assert_eq!(find("events").action, Action::ShowTab(Tab::Events));
    assert_eq!(find("events").keys, ["6"]);
    assert_eq!(find("logs").action, Action::Logs);
    assert_eq!(find("logs").keys, ["l"]);
    assert_eq!(find("trouble_only").keys, ["t"]);
    assert_eq!(find("expand").keys, ["right"], "l is the log pane's now");
    for (name, key) in [
        ("log_search", "/"),
        ("log_next_match", "n"),
        ("log_previous_match", "N"),
        ("log_stream", "s"),
        ("log_wrap", "w"),
        ("log_jump_time", "t"),
    ] {
        assert_eq!(find(name).keys, [key], "{name}");
        assert_eq!(find(name).scope, Scope::LogPane, "{name}");
    }
    let keymap = Keymap::default();
    let help = keymap.help();
    for (keys, what) in [
        ("6", "Events view"),
        ("l", "log pane of the container (follows live)"),
        ("/", "log pane: search"),
        ("n", "log pane: next match"),
        ("N", "log pane: previous match"),
        ("s", "log pane: stream all / stdout / stderr"),
        ("w", "log pane: wrap long lines"),
        ("t", "log pane: jump to a time (HH:MM[:SS] UTC)"),
        ("t", "events: trouble only / every event"),
    ] {
        assert!(
            help.iter().any(|(k, w)| k == keys && *w == what),
            "{keys} {what} in {help:?}"
        );
    }
    // The pane's keys come first while it is open, and only then.
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let shifted = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT);
    assert_eq!(keymap.action(&key('n'), false), Some(Action::Launch));
    assert_eq!(
        keymap.action_in(&key('n'), false, Scope::LogPane),
        Some(Action::LogNextMatch)
    );
    assert_eq!(
        keymap.action_in(&shifted('N'), false, Scope::LogPane),
        Some(Action::LogPreviousMatch)
    );
    assert_eq!(keymap.action(&key('t'), false), Some(Action::TroubleOnly));
    assert_eq!(
        keymap.action_in(&key('t'), false, Scope::LogPane),
        Some(Action::LogJumpTime)
    );
    assert_eq!(
        keymap.action_in(&key('q'), false, Scope::LogPane),
        Some(Action::Quit),
        "the rest work in the pane too"
    );
    assert_eq!(
        keymap.action_in(&key('n'), true, Scope::LogPane),
        Some(Action::TypeChar('n')),
        "typing a search, n is text"
    );
    assert_eq!(
        keymap.action(&key('6'), false),
        Some(Action::ShowTab(Tab::Events))
    );
    assert_eq!(keymap.action(&key('l'), false), Some(Action::Logs));
    // Keys clash within a scope only.
    let config = Config::parse(
        "[keymap]\nlog_wrap = \"x\"\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(
        config.keymap.action_in(&key('x'), false, Scope::LogPane),
        Some(Action::LogWrap)
    );
    assert_eq!(
        config.keymap.action(&key('x'), false),
        Some(Action::StopRemove)
    );
    let err = Config::parse(
        "[keymap]\nlog_wrap = \"n\"\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            UiError::Keymap {
                source: KeymapError::Clash { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_tab_bar_and_a_click_reach_the_events_view() {
    let (mut app, history) = app_with_history(30);
    let screen = rows(&render(&mut app, &history, 80, 24));
    let row = screen.iter().position(|r| r.contains("6 Events")).unwrap();
    let x = screen[row].find("6 Events").unwrap() as u16;
    app.update(Action::Click {
        column: x,
        row: row as u16,
    });
    assert_eq!(app.tab(), Tab::Events);
}

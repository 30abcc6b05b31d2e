//! A container's log pane (`l`) driven as the app loop drives it: opening asks for a feed
//! (`take_log_request`), fixture lines come in (`on_log_lines`), a runtime without a file says
//! why and how to get one (`on_log_unavailable`), a failed read says so (`on_log_stopped`).
//! Searching lights matches (`n`/`N` go round), `s` picks a stream, `w` wraps, `t` goes to a
//! time; the pane's text is cleaned, a cut line marked; Esc closes it and its feed.

use crate::layers::rows;
use crate::support::{drive, fixture};

use isotop::host::logs::{LogLine, LogStream};
use isotop::ui::app::log_pane::{PaneLine, StreamShown};
use isotop::ui::log_feed::LogRequest;
use isotop::ui::{Action, App, Tab};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use drive::{render, select_by_filter, type_text};
use fixture::{T0_MS, app_with_history};

/// Ns since the epoch of `seconds` after 03:03:05 (a minute before the fixture's first frame).
fn at(seconds: u64) -> Option<u64> {
    Some((T0_MS - 60_000 + seconds * 1000) * 1_000_000)
}

fn line(seconds: u64, stream: Option<LogStream>, text: &str) -> LogLine {
    LogLine {
        at_ns: at(seconds),
        stream,
        text: text.to_string(),
        cut: false,
    }
}

/// An nginx-like log: both streams, an escape sequence, a tab, replacement characters (the
/// reader's for invalid UTF-8), a line the runtime cut, a long line, one without a stream.
fn log_lines() -> Vec<LogLine> {
    let out = Some(LogStream::Stdout);
    let err = Some(LogStream::Stderr);
    vec![
        line(0, out, "nginx: starting worker processes"),
        line(2, err, "warning: \x1b[31mred\x1b[0m escape\x07"),
        line(4, out, "pid\tcommand"),
        line(
            6,
            err,
            "error: upstream timed out (110: Connection timed out)",
        ),
        line(8, out, "invalid utf-8: \u{fffd}\u{fffd} kept"),
        LogLine {
            cut: true,
            ..line(10, out, &"x".repeat(200))
        },
        line(
            12,
            out,
            "a long line: the quick brown fox jumps over the lazy dog, then over the lazy \
             dog again, and once more for good measure, until the pane must wrap it",
        ),
        line(14, None, "a terminal's line, no stream"),
        line(16, out, "Error again: retrying"),
        line(18, err, "fatal: giving up"),
        line(20, out, "GET /health 200 ok"),
    ]
}

/// An app at frame 30 with web's log pane open and the fixture's lines in it.
fn app_with_pane() -> (App, isotop::sample::History) {
    let (mut app, history) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::Logs);
    match app.take_log_request() {
        Some(LogRequest::Open { container, .. }) => assert_eq!(container.id, "web"),
        other => panic!("{other:?}"),
    }
    app.on_log_lines("web", log_lines());
    (app, history)
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    rows(terminal).join("\n")
}

/// The background where `text` is first drawn.
fn background_of(terminal: &Terminal<TestBackend>, text: &str) -> Color {
    crate::events::cell_at(terminal, text).bg
}

/// The line the pane's cursor is on (the newest when following).
fn cursor_line(app: &App) -> PaneLine {
    let pane = app.log_pane().expect("a log pane");
    let shown = pane.shown();
    let at = pane.cursor_index(&shown).expect("lines shown");
    pane.line(shown[at]).expect("a kept line").clone()
}

#[test]
fn l_opens_the_pane_asks_for_a_feed_and_shows_the_lines_following() {
    let (mut app, history) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::Logs);
    assert!(app.log_pane().is_some());
    assert!(app.take_log_request().is_some());
    assert!(app.take_log_request().is_none(), "taken once");
    assert!(screen(&render(&mut app, &history, 80, 24)).contains("reading web's log…"));
    app.on_log_lines("web", Vec::new());
    assert!(
        screen(&render(&mut app, &history, 80, 24))
            .contains("web's log is empty so far: its lines show here as they are written")
    );
    app.on_log_lines("web", log_lines());
    // Lines for another container (a closed feed's last batch) change nothing.
    app.on_log_lines("api", vec![line(30, None, "not web's")]);
    for (width, height) in [(80, 24), (120, 40)] {
        let terminal = render(&mut app, &history, width, height);
        insta::assert_snapshot!(format!("log_pane_{width}x{height}"), terminal.backend());
        let text = screen(&terminal);
        assert!(text.contains("following"), "{text}");
        assert!(text.contains("GET /health 200 ok"), "the newest line shows");
        assert!(!text.contains("not web's"));
    }
}

#[test]
fn text_is_cleaned_and_a_cut_line_marked() {
    let (mut app, history) = app_with_pane();
    let terminal = render(&mut app, &history, 200, 40);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| !c.symbol().chars().any(|ch| ch.is_control())),
        "no control character reaches the terminal"
    );
    let text = screen(&terminal);
    assert!(text.contains("warning: ?[31mred?[0m escape?"), "{text}");
    assert!(text.contains("GET /health 200 ok"), "{text}");
    assert!(text.contains("out pid     command"), "a tab to its stop");
    assert!(
        text.contains("invalid utf-8: \u{fffd}\u{fffd} kept"),
        "{text}"
    );
    assert!(text.contains("[cut: longer than 64K]"), "{text}");
    assert!(text.contains("err warning"), "stderr marked");
    assert!(text.contains("out GET"), "stdout marked");
    assert!(
        text.contains("03:03:19 a terminal's line"),
        "no stream, no mark"
    );
}

#[test]
fn search_lights_its_matches_and_n_and_shift_n_go_round() {
    let (mut app, history) = app_with_pane();
    app.update(Action::LogSearch);
    assert!(app.is_typing());
    type_text(&mut app, "error");
    let typing = screen(&render(&mut app, &history, 80, 24));
    assert!(typing.contains("/error█"), "{typing}");
    app.update(Action::Open);
    assert!(!app.is_typing());
    let pane = app.log_pane().unwrap();
    assert_eq!(pane.search(), Some("error"));
    assert!(!pane.following());
    let cursor_text = |app: &App| cursor_line(app).text;
    assert_eq!(
        cursor_text(&app),
        "Error again: retrying",
        "the newest match"
    );
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("log_pane_search_80x24", terminal.backend());
    assert_eq!(background_of(&terminal, "error: upstream"), Color::Yellow);
    assert_eq!(background_of(&terminal, "Error again"), Color::Yellow);
    app.update(Action::LogNextMatch);
    assert_eq!(
        cursor_text(&app),
        "error: upstream timed out (110: Connection timed out)"
    );
    assert_eq!(app.message(), Some("search went round to the oldest line"));
    app.update(Action::LogPreviousMatch);
    assert_eq!(cursor_text(&app), "Error again: retrying");
    assert_eq!(app.message(), Some("search went round to the newest line"));
    app.update(Action::LogPreviousMatch);
    assert!(cursor_text(&app).starts_with("error: upstream"));
    assert_eq!(app.message(), None);
    // A search with no match says so; Esc while typing keeps the one in force.
    app.update(Action::LogSearch);
    type_text(&mut app, "nowhere");
    app.update(Action::Back);
    assert_eq!(app.log_pane().unwrap().search(), Some("error"));
    assert!(
        app.log_pane().is_some(),
        "Esc left the search line, not the pane"
    );
    app.update(Action::LogSearch);
    type_text(&mut app, "nowhere");
    app.update(Action::Open);
    assert_eq!(app.message(), Some("no line matches \"nowhere\""));
    // End follows again.
    app.update(Action::End);
    assert!(app.log_pane().unwrap().following());
}

#[test]
fn s_shows_one_stream_and_says_when_it_has_no_line() {
    let (mut app, history) = app_with_pane();
    app.update(Action::LogStream);
    assert_eq!(app.log_pane().unwrap().stream(), StreamShown::Stdout);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("log_pane_stdout_80x24", terminal.backend());
    let text = screen(&terminal);
    assert!(
        !text.contains("err ") && !text.contains("no stream"),
        "{text}"
    );
    assert!(text.contains("s stdout"), "the choice is in the title");
    app.update(Action::LogStream);
    let lines = rows(&render(&mut app, &history, 80, 24));
    let text = lines.join("\n");
    assert!(text.contains("err fatal: giving up"), "{text}");
    assert!(
        lines.iter().all(|r| r.get(9..13) != Some("out ")),
        "stderr only: {text}"
    );
    // A log with stdout lines only, shown as stderr: said, not blank.
    let (mut app, history) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::Logs);
    app.on_log_lines("web", vec![line(0, Some(LogStream::Stdout), "only out")]);
    app.update(Action::LogStream);
    app.update(Action::LogStream);
    let text = screen(&render(&mut app, &history, 80, 24));
    assert!(
        text.contains("no stderr line among the 1 kept (s shows all streams)"),
        "{text}"
    );
    app.update(Action::LogStream);
    assert_eq!(app.log_pane().unwrap().stream(), StreamShown::All);
}

#[test]
fn w_turns_wrapping_off_and_lines_end_in_an_ellipsis() {
    let (mut app, history) = app_with_pane();
    assert!(
        app.log_pane().unwrap().wrap(),
        "wraps by default: nothing hidden"
    );
    let wrapped = screen(&render(&mut app, &history, 80, 24));
    assert!(wrapped.contains("must wrap it"), "{wrapped}");
    app.update(Action::LogWrap);
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("log_pane_nowrap_80x24", terminal.backend());
    let text = screen(&terminal);
    assert!(!text.contains("must wrap it"), "{text}");
    assert!(text.contains("the lazy dog, then ove…"), "{text}");
    assert!(
        text.contains("xxx… [cut: longer than 64K]"),
        "the runtime's cut in sight"
    );
}

#[test]
fn a_runtime_without_a_file_is_said_with_how_to_get_one() {
    let (mut app, history) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::Logs);
    app.on_log_unavailable(
        "web",
        "its logs go to journald (log driver journald)".into(),
        "docker run --log-driver json-file, or journalctl CONTAINER_NAME=web".into(),
    );
    let terminal = render(&mut app, &history, 80, 24);
    insta::assert_snapshot!("log_pane_no_file_80x24", terminal.backend());
    let text = screen(&terminal);
    assert!(text.contains("no log file to read for web: its logs go to journald"));
    assert!(text.contains("to get one: docker run --log-driver json-file"));
}

#[test]
fn reading_that_stopped_keeps_the_lines_and_says_why() {
    let (mut app, history) = app_with_pane();
    app.on_log_stopped("web", "web-json.log: permission denied\x1b[2J".into());
    let text = screen(&render(&mut app, &history, 80, 24));
    assert!(
        text.contains("reading the log stopped: web-json.log: permission denied?[2J"),
        "{text}"
    );
    assert!(text.contains("GET /health 200 ok"), "the lines stay");
}

#[test]
fn t_goes_to_the_first_line_at_or_after_a_time() {
    let (mut app, history) = app_with_pane();
    app.update(Action::LogJumpTime);
    type_text(&mut app, "03:03:15");
    let typing = screen(&render(&mut app, &history, 120, 40));
    assert!(typing.contains("go to the time (UTC, HH:MM[:SS]): 03:03:15█"));
    app.update(Action::Open);
    let cursor = cursor_line(&app);
    assert!(cursor.cut, "the line logged at 03:03:15");
    app.update(Action::LogJumpTime);
    type_text(&mut app, "03:03:16");
    app.update(Action::Open);
    let cursor = cursor_line(&app);
    assert_eq!(cursor.at_ns, at(12), "the next one after");
    app.update(Action::LogJumpTime);
    type_text(&mut app, "25:00");
    app.update(Action::Open);
    assert_eq!(
        app.message(),
        Some("\"25:00\": give a time as HH:MM or HH:MM:SS (UTC)")
    );
    app.update(Action::LogJumpTime);
    type_text(&mut app, "03:00");
    app.update(Action::Open);
    assert_eq!(
        app.message(),
        Some("nothing kept from 03:00:00: the oldest line is from 03:03:05")
    );
}

#[test]
fn moving_pages_and_esc_closes_the_pane_and_its_feed() {
    let (mut app, history) = app_with_pane();
    let many: Vec<LogLine> = (0..200)
        .map(|n| line(30 + n, Some(LogStream::Stdout), &format!("line {n}")))
        .collect();
    app.on_log_lines("web", many);
    let text = screen(&render(&mut app, &history, 80, 24));
    assert!(text.contains("line 199"), "{text}");
    app.update(Action::PageUp);
    let text = screen(&render(&mut app, &history, 80, 24));
    assert!(text.contains("paused, End follows"), "{text}");
    // A page up (17 rows at 80×24): line 182 on top, the newest out of sight.
    let first = rows(&render(&mut app, &history, 80, 24))[6].clone();
    assert!(first.contains("line 182"), "{text}");
    assert!(!text.contains("line 199"), "{text}");
    app.update(Action::Home);
    let text = screen(&render(&mut app, &history, 80, 24));
    assert!(text.contains("nginx: starting"), "{text}");
    // The view stays while lines come.
    app.on_log_lines("web", vec![line(300, None, "newer")]);
    assert!(screen(&render(&mut app, &history, 80, 24)).contains("nginx: starting"));
    app.update(Action::Back);
    assert!(app.log_pane().is_none());
    assert_eq!(
        app.take_log_request(),
        Some(LogRequest::Close {
            container_id: "web".into()
        })
    );
    app.on_log_lines("web", vec![line(301, None, "late")]);
    assert!(app.log_pane().is_none(), "a closed pane takes no lines");
    assert_eq!(app.tab(), Tab::Containers);
    // Another view's key closes it too.
    app.update(Action::Logs);
    app.take_log_request();
    app.update(Action::ShowTab(Tab::Events));
    assert!(app.log_pane().is_none());
    assert_eq!(app.tab(), Tab::Events);
    assert!(matches!(
        app.take_log_request(),
        Some(LogRequest::Close { .. })
    ));
}

#[test]
fn l_needs_a_container() {
    let (mut app, _) = app_with_history(30);
    app.update(Action::ShowTab(Tab::Cgroups));
    app.update(Action::Logs);
    assert!(app.log_pane().is_none());
    assert_eq!(
        app.message(),
        Some("logs are a container's: select a container")
    );
    assert!(app.take_log_request().is_none());
    // On the Processes view: the process's container.
    app.update(Action::ShowTab(Tab::Processes));
    select_by_filter(&mut app, "311");
    app.update(Action::Logs);
    assert_eq!(app.log_pane().unwrap().name, "api");
}

#[test]
fn the_app_loop_reads_keys_in_the_pane_s_scope_and_tiny_panes_draw() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use isotop::ui::event_loop::action_for;
    use isotop::ui::keymap::Keymap;
    let keymap = Keymap::default();
    let n = Event::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE));
    let (mut app, history) = app_with_history(30);
    assert_eq!(action_for(&n, &app, &keymap), Some(Action::Launch));
    select_by_filter(&mut app, "web");
    app.update(Action::Logs);
    assert_eq!(action_for(&n, &app, &keymap), Some(Action::LogNextMatch));
    app.update(Action::LogSearch);
    assert_eq!(action_for(&n, &app, &keymap), Some(Action::TypeChar('n')));
    app.update(Action::Back);
    app.on_log_lines("web", log_lines());
    for (width, height) in [(1, 1), (5, 3), (20, 5), (40, 10), (400, 120)] {
        for wrap in [true, false] {
            if app.log_pane().unwrap().wrap() != wrap {
                app.update(Action::LogWrap);
            }
            app.update(Action::Up);
            render(&mut app, &history, width, height);
            app.update(Action::End);
            render(&mut app, &history, width, height);
        }
    }
}

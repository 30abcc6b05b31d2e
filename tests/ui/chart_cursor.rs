//! The detail charts' time cursor (`<` `>`) through `App::update`, as the app loop drives it:
//! the first `<` puts it on the newest sample, each step is one sample, it stays on its time
//! as frames come and moves to the oldest sample shown when zoom or age leave it out of the
//! span; Esc clears it before it closes the pane, and whatever hides the charts drops it. `l`
//! with a cursor opens the container's log at its time (the first line at or after it once
//! lines come, not following); `l` in the open pane goes there again. Drawn: a line at the
//! cursor on every chart, each title's values at the cursor (`-` where unknown), the cursor's
//! time in the pane's title (insta snapshots, 80×24 and 160×48).

use crate::layers::rows;
use crate::support::{drive, fixture};

use std::time::Duration;

use isotop::host::logs::{LogLine, LogStream};
use isotop::sample::History;
use isotop::ui::app::chart_cursor::ChartCursor;
use isotop::ui::app::log_pane::LogState;
use isotop::ui::log_feed::LogRequest;
use isotop::ui::{Action, App, Tab};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use drive::{render, select_by_filter};
use fixture::{T0_MS, app_with_history, frame};

/// The time of fixture frame `seq`, ms.
fn at(seq: u64) -> u64 {
    T0_MS + seq * 1000
}

/// `app`'s cursor's time, ms.
fn cursor_at(app: &App) -> Option<u64> {
    app.chart_cursor().map(|c| c.at_ms)
}

/// Asserts the status line's message says `needle`.
fn says(app: &App, needle: &str) {
    assert!(
        app.message().is_some_and(|m| m.contains(needle)),
        "{needle:?} in {:?}",
        app.message()
    );
}

fn press(app: &mut App, action: Action, times: usize) {
    for _ in 0..times {
        app.update(action);
    }
}

/// Frames `from..=to` fed to both, as the app loop feeds them.
fn feed(app: &mut App, history: &mut History, from: u64, to: u64) {
    for seq in from..=to {
        let f = frame(seq, true);
        history.record(&f);
        app.on_frame(f);
    }
}

/// An app fed frames 0..=`last` with web's detail pane open on its charts, zoomed to `zoom_ins`
/// steps in from the whole history.
fn web_charts(last: u64, zoom_ins: usize) -> (App, History) {
    let (mut app, history) = app_with_history(last);
    select_by_filter(&mut app, "web");
    app.update(Action::Open);
    assert!(app.detail_open());
    press(&mut app, Action::ZoomIn, zoom_ins);
    (app, history)
}

#[test]
fn the_first_lt_is_the_newest_sample_and_each_step_one_sample() {
    let (mut app, _) = web_charts(30, 3);
    assert_eq!(app.chart_cursor(), None, "no cursor until asked");
    app.update(Action::ChartCursorBack);
    assert_eq!(
        app.chart_cursor(),
        Some(ChartCursor {
            at_ms: at(30),
            after_ms: Some(at(29)),
        })
    );
    app.update(Action::ChartCursorBack);
    assert_eq!(cursor_at(&app), Some(at(29)));
    // Held down: key repeats step one sample each.
    press(&mut app, Action::ChartCursorBack, 20);
    assert_eq!(cursor_at(&app), Some(at(9)));
    press(&mut app, Action::ChartCursorForward, 3);
    assert_eq!(cursor_at(&app), Some(at(12)));
    press(&mut app, Action::ChartCursorForward, 18);
    assert_eq!(cursor_at(&app), Some(at(30)));
    app.update(Action::ChartCursorForward);
    assert_eq!(cursor_at(&app), Some(at(30)), "no sample newer");
    says(&app, "newest");
}

#[test]
fn the_cursor_stays_on_its_time_as_frames_come_until_it_ages_out_of_the_span() {
    // Zoomed to the last minute.
    let (mut app, mut history) = web_charts(30, 3);
    assert_eq!(app.chart_span(), Duration::from_secs(60));
    press(&mut app, Action::ChartCursorBack, 3);
    assert_eq!(cursor_at(&app), Some(at(28)));
    feed(&mut app, &mut history, 31, 88);
    assert_eq!(cursor_at(&app), Some(at(28)), "its time, not its place");
    // Frame 89 shows 29..=89: the cursor's sample left; it is on the oldest shown.
    feed(&mut app, &mut history, 89, 89);
    assert_eq!(cursor_at(&app), Some(at(29)));
    feed(&mut app, &mut history, 90, 95);
    assert_eq!(
        cursor_at(&app),
        Some(at(35)),
        "and keeps being so as it ages"
    );
}

#[test]
fn zooming_in_clamps_the_cursor_to_the_oldest_sample_shown() {
    let (mut app, _) = web_charts(200, 0);
    assert_eq!(app.chart_span(), Duration::from_secs(600));
    press(&mut app, Action::ChartCursorBack, 151);
    assert_eq!(cursor_at(&app), Some(at(50)));
    app.update(Action::ZoomIn);
    assert_eq!(app.chart_span(), Duration::from_secs(300));
    assert_eq!(cursor_at(&app), Some(at(50)), "still shown");
    app.update(Action::ZoomIn);
    assert_eq!(app.chart_span(), Duration::from_secs(120));
    assert_eq!(cursor_at(&app), Some(at(80)), "200 s less 120 s");
    app.update(Action::ZoomOut);
    assert_eq!(cursor_at(&app), Some(at(80)), "zooming out moves nothing");
    app.update(Action::ZoomIn);
    app.update(Action::ChartCursorBack);
    assert_eq!(cursor_at(&app), Some(at(80)), "nothing older is shown");
    says(&app, "oldest");
}

#[test]
fn esc_clears_the_cursor_before_it_closes_the_pane() {
    let (mut app, _) = web_charts(30, 3);
    app.update(Action::ChartCursorBack);
    app.update(Action::Back);
    assert_eq!(app.chart_cursor(), None);
    assert!(app.detail_open(), "the first Esc clears the cursor only");
    app.update(Action::Back);
    assert!(!app.detail_open());
    // Without a cursor, Esc closes at once.
    app.update(Action::Open);
    app.update(Action::Back);
    assert!(!app.detail_open());
}

#[test]
fn the_cursor_lives_while_charts_show() {
    let (mut app, _) = app_with_history(30);
    select_by_filter(&mut app, "web");
    app.update(Action::ChartCursorBack);
    assert_eq!(app.chart_cursor(), None);
    says(&app, "Enter opens");
    app.update(Action::Open);
    app.update(Action::ChartCursorBack);
    assert!(app.chart_cursor().is_some());
    // `v` to the layers drops it; there the keys say where it works.
    app.update(Action::DetailPane);
    assert_eq!(app.chart_cursor(), None);
    app.update(Action::ChartCursorBack);
    assert_eq!(app.chart_cursor(), None);
    says(&app, "v shows them");
    press(&mut app, Action::DetailPane, 2);
    app.update(Action::ChartCursorBack);
    assert!(app.chart_cursor().is_some());
    // Another view closes the pane, and the cursor with it.
    app.update(Action::ShowTab(Tab::Cgroups));
    assert_eq!(app.chart_cursor(), None);
    app.update(Action::Back); // the containers' filter
    // A cgroup's charts have the cursor too; its log is not a thing.
    select_by_filter(&mut app, "/isotop-demo/web");
    app.update(Action::Open);
    press(&mut app, Action::ChartCursorBack, 2);
    assert_eq!(cursor_at(&app), Some(at(29)));
    app.update(Action::Logs);
    assert!(app.log_pane().is_none());
    assert!(app.take_log_request().is_none());
    says(&app, "logs are a container's");
}

/// `tick-K` logged at frame `2K`'s time (one line every 2 s from T0).
fn ticks(from: u64, to: u64) -> Vec<LogLine> {
    (from..=to)
        .map(|k| LogLine {
            at_ns: Some(at(2 * k) * 1_000_000),
            stream: Some(LogStream::Stdout),
            text: format!("tick-{k}"),
            cut: false,
        })
        .collect()
}

/// The text of the line the log pane's cursor is on.
fn log_cursor_text(app: &App) -> String {
    let pane = app.log_pane().expect("a log pane");
    let shown = pane.shown();
    let index = pane.cursor_index(&shown).expect("lines shown");
    pane.line(shown[index]).expect("a kept line").text.clone()
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    rows(terminal).join("\n")
}

#[test]
fn l_at_the_cursor_opens_the_log_at_its_time() {
    let (mut app, history) = web_charts(30, 3);
    press(&mut app, Action::ChartCursorBack, 6);
    assert_eq!(cursor_at(&app), Some(at(25)));
    app.update(Action::Logs);
    match app.take_log_request() {
        Some(LogRequest::Open {
            container,
            since_ms,
        }) => {
            assert_eq!(container.id, "web");
            assert_eq!(
                since_ms,
                Some(at(25)),
                "the backlog read back to the cursor"
            );
        }
        other => panic!("{other:?}"),
    }
    let pane = app.log_pane().expect("the pane opened");
    assert!(!pane.following(), "not following: the log at the cursor");
    assert_eq!(pane.pending_jump(), Some(at(25) * 1_000_000));
    assert_eq!(
        app.message(),
        Some("the log at the charts' cursor, 03:04:30 UTC")
    );
    // The backlog comes: the first line at or after 03:04:30 is tick-13 (03:04:31).
    app.on_log_lines("web", ticks(0, 20));
    assert_eq!(log_cursor_text(&app), "tick-13");
    let pane = app.log_pane().expect("the pane");
    assert!(!pane.following());
    assert_eq!(pane.pending_jump(), None);
    let text = screen(&render(&mut app, &history, 80, 24));
    assert!(text.contains("paused"), "{text}");
    assert!(text.contains("tick-11"), "two lines above it: {text}");
    assert!(!text.contains("tick-9 "), "{text}");
    // Later lines leave the pane there.
    app.on_log_lines("web", ticks(21, 22));
    assert_eq!(log_cursor_text(&app), "tick-13");
    // Moved away, `l` goes to the cursor's time again.
    app.update(Action::Home);
    assert_eq!(log_cursor_text(&app), "tick-0");
    app.update(Action::Logs);
    assert_eq!(log_cursor_text(&app), "tick-13");
    assert!(app.take_log_request().is_none(), "the same feed");
    // Esc closes the log, back on the charts with their cursor; Esc again clears it.
    app.update(Action::Back);
    assert!(app.log_pane().is_none());
    assert_eq!(cursor_at(&app), Some(at(25)));
    app.update(Action::Back);
    assert_eq!(app.chart_cursor(), None);
    assert!(app.detail_open());
    // Without a cursor, `l` follows the newest as ever.
    app.update(Action::Logs);
    app.on_log_lines("web", ticks(0, 20));
    let pane = app.log_pane().expect("the pane");
    assert!(pane.following());
    assert_eq!(log_cursor_text(&app), "tick-20");
}

#[test]
fn l_at_a_cursor_later_than_the_log_stays_on_its_newest_line() {
    let (mut app, _) = web_charts(30, 3);
    app.update(Action::ChartCursorBack);
    app.update(Action::Logs);
    // The backlog holds nothing that late (the container has been quiet since 03:04:25).
    app.on_log_lines("web", ticks(0, 10));
    assert_eq!(log_cursor_text(&app), "tick-10");
    assert!(!app.log_pane().expect("the pane").following());
    says(&app, "no line at or after 03:04:35 yet");
}

#[test]
fn l_in_a_pane_whose_reading_stopped_reads_again() {
    let (mut app, _) = web_charts(30, 3);
    app.update(Action::ChartCursorBack);
    app.update(Action::Logs);
    assert!(app.take_log_request().is_some());
    app.on_log_stopped("web", "the log's directory was removed".into());
    app.update(Action::Logs);
    match app.take_log_request() {
        Some(LogRequest::Open { container, .. }) => assert_eq!(container.id, "web"),
        other => panic!("l retries: {other:?}"),
    }
    let pane = app.log_pane().expect("a fresh pane");
    assert_eq!(pane.state(), &LogState::Waiting);
    assert_eq!(
        pane.pending_jump(),
        Some(at(30) * 1_000_000),
        "at the cursor"
    );
}

/// Web's charts zoomed to the last minute with the cursor on frame 25 (5 s before the newest).
fn cursor_on_25(width: u16, height: u16) -> (App, Terminal<TestBackend>) {
    let (mut app, history) = web_charts(30, 3);
    press(&mut app, Action::ChartCursorBack, 6);
    let terminal = render(&mut app, &history, width, height);
    (app, terminal)
}

#[test]
fn the_charts_draw_the_cursor_and_their_values_at_it() {
    for (width, height) in [(80, 24), (160, 48)] {
        let (_, terminal) = cursor_on_25(width, height);
        insta::assert_snapshot!(
            format!("detail_cursor_{width}x{height}"),
            terminal.backend()
        );
        let text = screen(&terminal);
        assert!(text.contains("cursor 03:04:30 UTC, 5s ago"), "{text}");
        // Frame 25's figures, not the newest's (40%, 180M): CPU 45%, memory 170M, CPU
        // pressure 35%, memory and I/O pressure 7% and 4%.
        for title in [
            "CPU% (quota 50%) 45%",
            "memory (limit 256M) 170M",
            "pids (limit 100) 3",
            "CPU pressure % 35%",
        ] {
            assert!(text.contains(title), "{title} in\n{text}");
        }
        if height >= 48 {
            assert!(text.contains("pressure %: memory 7% io 4%"), "{text}");
        }
    }
}

/// The columns where the cursor's colour (the dark theme's: white, no series has it) draws a
/// braille line at least `rows` high.
fn cursor_columns(terminal: &Terminal<TestBackend>, rows: usize) -> Vec<u16> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.width)
        .filter(|&x| {
            (0..buffer.area.height)
                .filter(|&y| {
                    let cell = &buffer[(x, y)];
                    cell.fg == Color::White
                        && cell
                            .symbol()
                            .chars()
                            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
                })
                .count()
                >= rows
        })
        .collect()
}

#[test]
fn every_chart_marks_the_cursor_with_a_line_in_its_style() {
    let (mut app, terminal) = cursor_on_25(160, 48);
    // Three columns of charts over the facts' 50 cells: a line in each column of charts, 5 s
    // from the right end of each 60 s axis.
    let columns = cursor_columns(&terminal, 5);
    assert!(columns.len() >= 3, "{columns:?}\n{}", screen(&terminal));
    // Without the cursor, no such line.
    app.update(Action::Back);
    assert!(app.detail_open());
    let history = app_with_history(30).1;
    let plain = render(&mut app, &history, 160, 48);
    assert_eq!(cursor_columns(&plain, 5), Vec::<u16>::new());
}

#[test]
fn a_figure_unknown_at_the_cursor_is_a_dash() {
    // web appears at frame 11: at frame 5 it has no figures.
    let mut app = App::new(Duration::from_secs(600));
    let mut history = History::new(Duration::from_secs(600));
    for seq in 0..=30 {
        let f = frame(seq, seq >= 11);
        history.record(&f);
        app.on_frame(f);
    }
    select_by_filter(&mut app, "web");
    app.update(Action::Open);
    press(&mut app, Action::ZoomIn, 3);
    press(&mut app, Action::ChartCursorBack, 26);
    assert_eq!(cursor_at(&app), Some(at(5)));
    let text = screen(&render(&mut app, &history, 160, 48));
    for title in [
        "CPU% (quota 50%) -",
        "memory (limit 256M) -",
        "CPU pressure % -",
    ] {
        assert!(text.contains(title), "{title} in\n{text}");
    }
    assert!(text.contains("cursor 03:04:10 UTC, 25s ago"), "{text}");
}

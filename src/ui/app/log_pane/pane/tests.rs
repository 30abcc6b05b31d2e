//! The log pane's state without the app: bounds, following and the cursor, the stream
//! choice, search round the ends, a time's line, cleaning.

use super::*;

fn line(n: u64, stream: Option<LogStream>, text: &str) -> LogLine {
    LogLine {
        at_ns: Some(n * 1_000_000_000),
        stream,
        text: text.to_string(),
        cut: false,
    }
}

fn pane_of(lines: Vec<LogLine>) -> LogPane {
    let mut pane = LogPane::new("web".into(), "web".into(), "runc");
    pane.push(lines);
    pane
}

#[test]
fn keeps_the_last_lines_within_both_bounds() {
    let mut pane = LogPane::new("web".into(), "web".into(), "runc");
    assert_eq!(pane.state(), &LogState::Waiting);
    pane.push(Vec::new());
    assert_eq!(pane.state(), &LogState::Reading, "an empty log is read");
    let lines = (0..LOG_LINES_KEPT as u64 + 10).map(|n| line(n, None, "x"));
    pane.push(lines.collect());
    assert_eq!(pane.len(), LOG_LINES_KEPT);
    assert_eq!(pane.dropped(), 10);
    assert!(pane.line(9).is_none());
    assert_eq!(pane.line(10).map(|l| l.at_ns), Some(Some(10_000_000_000)));
    // Bytes: 64 KiB lines, at most 16 MiB of them.
    let big = "y".repeat(64 * 1024);
    let mut pane = LogPane::new("web".into(), "web".into(), "runc");
    pane.push((0..300).map(|n| line(n, None, &big)).collect());
    assert_eq!(pane.len(), LOG_BYTES_KEPT / big.len());
    assert_eq!(pane.dropped(), 300 - pane.len() as u64);
}

#[test]
fn follows_until_moved_then_stays_on_its_line() {
    let mut pane = pane_of((0..10).map(|n| line(n, None, "a")).collect());
    let shown = pane.shown();
    assert!(pane.following());
    assert_eq!(pane.cursor_index(&shown), Some(9));
    pane.move_cursor(-3);
    assert!(!pane.following());
    assert_eq!(pane.cursor_index(&pane.shown()), Some(6));
    pane.push((10..15).map(|n| line(n, None, "b")).collect());
    assert_eq!(
        pane.cursor_index(&pane.shown()),
        Some(6),
        "new lines move nothing"
    );
    pane.move_cursor(-100);
    assert_eq!(pane.cursor_index(&pane.shown()), Some(0));
    pane.move_cursor(14);
    assert!(!pane.following());
    assert_eq!(
        pane.cursor_index(&pane.shown()),
        Some(14),
        "on the last line"
    );
    pane.move_cursor(1);
    assert!(pane.following(), "past the last line follows again");
}

#[test]
fn the_stream_choice_shows_its_lines_and_the_cursor_snaps_to_one() {
    let out = Some(LogStream::Stdout);
    let err = Some(LogStream::Stderr);
    let mut pane = pane_of(vec![
        line(0, out, "o0"),
        line(1, err, "e1"),
        line(2, None, "tty"),
        line(3, out, "o3"),
        line(4, err, "e4"),
    ]);
    assert_eq!(pane.shown(), [0, 1, 2, 3, 4]);
    pane.stream = pane.stream.next();
    assert_eq!(pane.stream, StreamShown::Stdout);
    assert_eq!(
        pane.shown(),
        [0, 3],
        "a line without a stream shows under all only"
    );
    pane.stream = pane.stream.next();
    assert_eq!(pane.shown(), [1, 4]);
    // The cursor on line 3 (stdout) shows on the stderr line before it.
    pane.following = false;
    pane.cursor = 3;
    assert_eq!(pane.cursor_index(&pane.shown()), Some(0));
    pane.stream = pane.stream.next();
    assert_eq!(pane.stream, StreamShown::All);
}

#[test]
fn search_goes_either_way_round_the_ends() {
    let mut pane = pane_of(
        ["boot", "Error: disk", "ok", "error again", "ok"]
            .iter()
            .enumerate()
            .map(|(n, t)| line(n as u64, None, t))
            .collect(),
    );
    // Following (on line 4): the newest match at or above.
    assert_eq!(pane.find("ERROR", false, true), Some((3, false)));
    pane.put_cursor(&pane.shown(), 3);
    assert_eq!(pane.find("error", false, false), Some((1, false)));
    assert_eq!(
        pane.find("error", true, false),
        Some((1, true)),
        "round the end"
    );
    pane.put_cursor(&pane.shown(), 1);
    assert_eq!(
        pane.find("error", false, false),
        Some((3, true)),
        "round the top"
    );
    assert_eq!(
        pane.find("disk", true, false),
        Some((1, true)),
        "only itself"
    );
    assert_eq!(pane.find("nothing", true, true), None);
}

#[test]
fn a_time_goes_to_the_first_line_at_or_after_it() {
    let mut pane = pane_of((10..20).map(|n| line(n, None, "t")).collect());
    assert_eq!(pane.jump_to(13_500_000_000, PastTheEnd::Follow), None);
    assert_eq!(pane.cursor_index(&pane.shown()), Some(4), "line 14");
    let before = pane.jump_to(1_000_000_000, PastTheEnd::Follow).unwrap();
    assert!(
        before.contains("the oldest line is from 00:00:10"),
        "{before}"
    );
    assert_eq!(pane.cursor_index(&pane.shown()), Some(0));
    let after = pane.jump_to(99_000_000_000, PastTheEnd::Follow).unwrap();
    assert!(after.contains("following the newest"), "{after}");
    assert!(pane.following());
    assert_eq!(pane.newest_ns(), Some(19_000_000_000));
    let mut untimed = pane_of(vec![LogLine {
        at_ns: None,
        stream: None,
        text: "tty".into(),
        cut: false,
    }]);
    assert_eq!(
        untimed.jump_to(0, PastTheEnd::Follow).as_deref(),
        Some("this log's lines carry no time")
    );
}

#[test]
fn a_pending_time_waits_for_lines_then_stays_off_the_end() {
    let mut pane = LogPane::new("web".into(), "web".into(), "runc");
    pane.jump_when_lines_come(13_500_000_000);
    assert!(!pane.following());
    pane.push(Vec::new());
    assert_eq!(pane.jump_if_pending(), None, "no line yet: still waiting");
    assert_eq!(pane.pending_jump(), Some(13_500_000_000));
    pane.push((10..20).map(|n| line(n, None, "t")).collect());
    assert_eq!(pane.jump_if_pending(), None);
    assert_eq!(pane.pending_jump(), None, "done once");
    assert_eq!(pane.cursor_index(&pane.shown()), Some(4), "line 14");
    assert_eq!(pane.offset(), 2, "drawn from two lines above it");
    assert!(!pane.following());
    // Nothing that late yet: on the newest line, not following (later lines are after it).
    let past = pane.jump_to(99_000_000_000, PastTheEnd::Stay).unwrap();
    assert!(past.contains("no line at or after"), "{past}");
    assert_eq!(pane.cursor_index(&pane.shown()), Some(9));
    assert!(!pane.following());
    pane.push(vec![line(100, None, "later")]);
    assert_eq!(
        pane.cursor_index(&pane.shown()),
        Some(9),
        "stays while lines come"
    );
    // A log without times: nowhere to go but the newest.
    let mut untimed = LogPane::new("web".into(), "web".into(), "runc");
    untimed.jump_when_lines_come(0);
    untimed.push(vec![LogLine {
        at_ns: None,
        stream: None,
        text: "tty".into(),
        cut: false,
    }]);
    assert!(untimed.jump_if_pending().is_some());
    assert!(untimed.following());
}

#[test]
fn text_is_made_safe_to_draw() {
    assert_eq!(tidy("\x1b[2Jboom\r"), "?[2Jboom?");
    assert_eq!(tidy("a\tb"), "a       b");
    assert_eq!(tidy("abcdefgh\tc"), "abcdefgh        c");
    assert_eq!(tidy("one\ntwo"), "one⏎two");
    assert_eq!(tidy("bidi \u{202e}evil"), "bidi ?evil");
    assert_eq!(tidy("bad \u{fffd} utf-8"), "bad \u{fffd} utf-8");
}

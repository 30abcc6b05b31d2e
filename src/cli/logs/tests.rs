use super::*;

fn args(since: Option<&str>, until: Option<&str>) -> LogsArgs {
    LogsArgs {
        target: "x".into(),
        follow: false,
        since: since.map(str::to_string),
        until: until.map(str::to_string),
        tail: Some(3),
        timestamps: false,
        stream: Some(LogsStream::Stderr),
    }
}

const NOW: u64 = 1_796_551_200_000_000_000; // 2026-12-06T10:00:00Z

#[test]
fn times_are_rfc3339_or_durations_ago() {
    let q = query(&args(Some("10m"), Some("2026-12-06T13:00:00+02:00")), NOW).unwrap();
    assert_eq!(q.since_ns, Some(NOW - 600_000_000_000));
    assert_eq!(q.until_ns, Some(NOW + 3_600_000_000_000));
    assert_eq!((q.tail, q.stream), (Some(3), Some(LogStream::Stderr)));
    for bad in ["yesterday", "", "-5m", "2026-12-06"] {
        let err = query(&args(Some(bad), None), NOW).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{bad}");
    }
    let err = query(&args(Some("1m"), Some("1h")), NOW).unwrap_err();
    assert!(
        err.to_string().contains("--since is after --until"),
        "{err}"
    );
}

#[test]
fn lines_are_cleaned_stamped_and_marked_when_cut() {
    let line = LogLine {
        at_ns: Some(NOW + 5),
        stream: Some(LogStream::Stdout),
        text: "a\u{1b}[2J\tb\nc\u{202e}".into(),
        cut: true,
    };
    let plain = Printer::new(false).render(&line);
    assert_eq!(plain, format!("a?[2J\tb?c?{CUT_MARKER}\n"));
    let stamped = Printer::new(true).render(&LogLine {
        cut: false,
        ..line.clone()
    });
    assert_eq!(stamped, "2026-12-06T10:00:00.000000005Z a?[2J\tb?c?\n");
    let untimed = Printer::new(true).render(&LogLine {
        at_ns: None,
        cut: false,
        ..line
    });
    assert!(untimed.starts_with("- a"), "{untimed}");
}

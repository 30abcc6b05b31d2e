//! End to end: the real `isotop` binary in tmux (sampling every 0.5 s) and a real isotop
//! container printing a numbered line every 0.1 s. Its detail pane's charts take the time
//! cursor (`<`, 17 presses: 16 samples, 8 s, before the newest), the pane's title says its
//! time; `l` then opens the log pane at that time, not following: the lines on screen are
//! those logged around the cursor, not the newest, until End follows again. Needs root and
//! tmux (skips with the reason otherwise); the container is removed on drop.

use crate::support::{common, containers};

use common::{require_program, unique_name};
use containers::{Container, require_launch, text};

use crate::tmux::dashboard_on;

/// Seconds of the day of an `HH:MM:SS` at the start of `text`.
fn seconds_of_day(text: &str) -> Option<i64> {
    let clock = text.get(..8)?;
    let mut parts = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    (clock.len() == 8).then_some(h * 3600 + m * 60 + s)
}

/// The cursor's time in the detail pane's title (`cursor 12:03:41 UTC, 8s ago`).
fn cursor_time(screen: &str) -> Option<i64> {
    let at = screen.find("cursor ")? + "cursor ".len();
    seconds_of_day(&screen[at..])
}

/// The time the status line says the log was opened at (`the log at the charts' cursor,
/// 12:03:41 UTC`).
fn opened_at(screen: &str) -> Option<i64> {
    let marker = "the log at the charts' cursor, ";
    let at = screen.find(marker)? + marker.len();
    seconds_of_day(&screen[at..])
}

/// How long before the newest sample the cursor is, s (`…, 8s ago`).
fn cursor_age(screen: &str) -> Option<u64> {
    let end = screen.find("s ago")?;
    let digits: String = screen[..end]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// The log pane's lines on screen: (time of day, s; tick number).
fn ticks(screen: &str) -> Vec<(i64, u64)> {
    screen
        .lines()
        .filter_map(|line| {
            let time = seconds_of_day(line)?;
            let rest = line.get(8..)?.trim_start().strip_prefix("out tick-")?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            Some((time, digits.parse().ok()?))
        })
        .collect()
}

/// `a - b` in seconds across midnight.
fn after(a: i64, b: i64) -> i64 {
    (a - b + 86_400 + 43_200) % 86_400 - 43_200
}

#[test]
#[ignore = "needs root"]
fn l_at_the_charts_cursor_opens_the_log_at_its_time() {
    if !require_program("tmux") || !require_launch() {
        return;
    }
    let name = unique_name("uicur");
    // Five lines (shell builtins) per `sleep 0.1`: ~50 lines a second, and still many under
    // software emulation, where each `sleep` fork costs a lot more than 0.1 s.
    let container = Container::sh(
        &["--name", &name],
        "n=0; while :; do for i in 1 2 3 4 5; do echo tick-$n; n=$((n+1)); done; sleep 0.1; done",
    );

    let tmux = dashboard_on(&name);
    tmux.keys(&["Enter"]);
    tmux.expect(" charts (v)", "its detail pane's charts");
    // Ten seconds of history (20 samples).
    std::thread::sleep(std::time::Duration::from_secs(10));
    tmux.text(&"<".repeat(17));
    let charts = tmux.expect_screen("the cursor 8 s back, in the pane's title", |s| {
        cursor_time(s).is_some() && cursor_age(s).is_some_and(|age| age >= 7)
    });
    assert!(cursor_time(&charts).is_some());

    tmux.keys(&["l"]);
    tmux.expect(&format!("{name} (isotop) log"), "the log pane's title");
    let pane = tmux.expect_screen("lines at the cursor, not following", |s| {
        s.contains("paused, End follows") && !ticks(s).is_empty() && opened_at(s).is_some()
    });
    // The cursor `l` opened the log at, as the status line says it: under emulation the last
    // `<` may land after the charts' title was read.
    let cursor = opened_at(&pane).expect("the cursor's time");
    let shown = ticks(&pane);
    let first = shown.iter().map(|&(t, _)| t).min().unwrap_or(cursor);
    let last = shown.iter().map(|&(t, _)| t).max().unwrap_or(cursor);
    assert!(
        shown
            .iter()
            .any(|&(t, _)| (0..=1).contains(&after(t, cursor))),
        "a line logged at the cursor's time (or the next second) is on screen:\n{pane}"
    );
    assert!(
        after(first, cursor) >= -1,
        "drawn from just before the cursor:\n{pane}"
    );
    let newest_shown = shown.iter().map(|&(_, n)| n).max().unwrap_or(0);
    // Not the newest lines: the pane's rows end well before what the container had logged by
    // then (8 s past the cursor; however slowly the lines came, at least five per `sleep`).
    let logged = text(&container.isotop(&["logs"]).stdout);
    let newest_logged = logged
        .lines()
        .filter_map(|l| l.strip_prefix("tick-")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    assert!(
        newest_shown + 10 <= newest_logged,
        "not the newest lines: tick-{newest_shown} on screen ({}s after the cursor), \
         tick-{newest_logged} logged:\n{pane}",
        after(last, cursor)
    );

    // End follows again: the newest lines, well past those.
    tmux.keys(&["End"]);
    tmux.expect_screen("the newest lines once End follows", |s| {
        s.contains("following") && ticks(s).iter().any(|&(_, n)| n >= newest_shown + 40)
    });
    tmux.escape(&format!("{name} (isotop) log"));
    tmux.expect(" charts (v)", "back on the charts");
    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "isotop exits with status 0 on q");
}

//! End to end: the real `isotop` binary in tmux with a container this test makes (an
//! `unshare` pid+mount namespace running a uniquely named program, in a uniquely named test
//! cgroup). `6` shows the Events view (with its events, or saying since when it has watched —
//! never an empty table); `l` on the container opens its log pane through the app loop's log
//! feed, which says what it found (a container no runtime names keeps no log file: said, with
//! how to get one); Esc closes it; `t` there is the Events view's.
//! Needs root and tmux (skips with the reason otherwise); guards remove what it made.

use crate::support::common;

use common::require_program;

use crate::tmux::{TestContainer, dashboard};

#[test]
#[ignore = "needs root"]
fn six_shows_events_and_l_opens_a_log_pane() {
    if !require_program("tmux") || !require_program("unshare") {
        return;
    }
    let container = TestContainer::start("isoev", "ui-events");
    let name = container.name.clone();

    let tmux = dashboard(120, 40);
    tmux.keys(&["6"]);
    tmux.expect_screen("the Events view: its rows or since when it watched", |s| {
        s.contains("TIME")
            && s.contains("KIND")
            && s.contains("DETAIL")
            && (s.contains("no events since isotop started") || s.contains(" event ─"))
    });
    tmux.keys(&["t"]);
    tmux.expect_screen("t: trouble only, said when none", |s| {
        s.contains("no events since isotop started")
            || s.contains("trouble only")
            || s.contains("no trouble among")
    });

    tmux.keys(&["1"]);
    tmux.filter(&name);
    tmux.expect_screen("the container's row", |s| {
        s.lines()
            .any(|l| l.contains(&name) && l.contains("running"))
    });
    tmux.keys(&["l"]);
    tmux.expect(&format!("{name} (unknown) log"), "the log pane's title");
    tmux.expect(
        &format!("no log file to read for {name}"),
        "the feed's answer: no runtime keeps this one's output",
    );
    tmux.expect("to get one:", "how to get a log");
    tmux.escape("to get one:");
    tmux.expect("NAME", "back to the table");

    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "isotop exits with status 0 on q");
    drop(container);
}

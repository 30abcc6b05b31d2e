//! End to end: the real `isotop` binary in tmux and a real isotop container printing a
//! numbered line every 0.3 s. `l` on its row opens the log pane through the app loop's feed
//! (`host::logs`: located by its runtime, the backlog read, then followed): its lines show,
//! and later lines keep arriving while the pane is open; `s` shows stdout only, where a line it
//! printed to stderr is not; Esc closes the pane. Needs root and tmux (skips with the reason
//! otherwise); the container is removed on drop.

use crate::support::{common, containers};

use common::{require_program, unique_name};
use containers::{Container, require_launch};

use crate::tmux::dashboard_on;

/// The highest `tick-N` on the screen.
pub(crate) fn last_tick(screen: &str) -> Option<u64> {
    screen
        .split("tick-")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
}

#[test]
#[ignore = "needs root"]
fn l_shows_an_isotop_containers_output_as_it_comes() {
    if !require_program("tmux") || !require_launch() {
        return;
    }
    let name = unique_name("uilog");
    let _container = Container::sh(
        &["--name", &name],
        "echo on-stderr >&2; n=0; while :; do echo tick-$n; n=$((n+1)); sleep 0.3; done",
    );

    let tmux = dashboard_on(&name);
    tmux.keys(&["l"]);
    tmux.expect(&format!("{name} (isotop) log"), "the log pane's title");
    let first = tmux.expect_screen("its output in the pane", |s| last_tick(s).is_some());
    let seen = last_tick(&first).unwrap_or(0);
    tmux.expect_screen("later lines while the pane is open", |s| {
        last_tick(s).is_some_and(|n| n >= seen + 3)
    });
    assert!(first.contains("on-stderr"), "stderr lines too: {first}");

    tmux.keys(&["s"]);
    tmux.expect_screen("stdout only: the stderr line filtered out", |s| {
        !s.contains("on-stderr") && last_tick(s).is_some()
    });
    tmux.escape("tick-");
    tmux.expect("NAME", "back to the table");
    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "isotop exits with status 0 on q");
}

//! End to end: `y` in the real dashboard, in tmux, puts the pick on the clipboard through
//! OSC 52. tmux 3.3 (the one here) takes an application's OSC 52 only with `set-clipboard on`
//! (its default, `external`, ignores it) and then keeps it as a paste buffer, which
//! `show-buffer` reads back: the test turns it on, selects a process of its own on the
//! Processes view, copies its pid and its name, and reads both back; the DCS-passthrough
//! copy isotop also sends inside tmux (for `allow-passthrough on`) leaves nothing on screen.
//! Needs tmux (skips with the reason otherwise), not root; the session and the process are
//! ended by drop guards.

use crate::support::{common, tmux};

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ChildGuard, require_program, wait_until};
use tmux::Tmux;

fn buffer(tmux: &Tmux) -> Option<String> {
    let out = tmux.command().args(["show-buffer"]).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn y_copies_through_osc_52_into_tmux() {
    if !require_program("tmux") {
        return;
    }
    let sleeper = ChildGuard::spawn(Command::new("sleep").arg("1000").stdin(Stdio::null()));
    let pid = sleeper.pid().to_string();
    let isotop = env!("CARGO_BIN_EXE_isotop");
    let tmux = Tmux::start(120, 30, &format!("{isotop} -d 0.5; sleep 60"));
    let status = tmux
        .command()
        .args(["set-option", "-g", "set-clipboard", "on"])
        .status()
        .expect("tmux set-option");
    assert!(status.success());
    tmux.expect("1 Containers", "the dashboard starts");
    tmux.expect("processes ", "the first frame arrives");
    assert_eq!(buffer(&tmux), None, "no paste buffer before the copy");

    tmux.keys(&["4"]);
    tmux.expect("COMMAND", "the Processes view");
    tmux.filter(&pid);
    tmux.expect("sleep 1000", "the test's process");
    tmux.keys(&["y"]);
    tmux.expect(
        &format!("copy {pid} sleep: [n name]  p pid  c cgroup"),
        "the copy menu (no id: the process is in no container)",
    );
    tmux.keys(&["p"]);
    tmux.expect(
        &format!("copied pid of {pid} sleep: {pid}"),
        "the status line",
    );
    let mut last = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            last = buffer(&tmux);
            last.as_deref() == Some(pid.as_str())
        }),
        "tmux's paste buffer is not the pid: {last:?}"
    );
    tmux.keys(&["y", "n"]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            last = buffer(&tmux);
            last.as_deref() == Some("sleep")
        }),
        "tmux's paste buffer is not the name: {last:?}"
    );
    let screen = tmux.screen();
    assert!(
        !screen.contains("52;c") && !screen.contains("tmux;"),
        "escape sequences leaked onto the screen:\n{screen}"
    );
    tmux.keys(&["q"]);
}

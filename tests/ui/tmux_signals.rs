//! End to end: the real dashboard in a detached tmux pane gets each ending signal from outside
//! — SIGQUIT, SIGUSR1, SIGUSR2, SIGHUP, SIGALRM, SIGVTALRM, SIGPROF, SIGPWR, SIGIO, SIGXCPU,
//! SIGXFSZ (SIGTERM and SIGINT are in `tmux.rs`) — and must
//! give the terminal back as on `q`: the alternate screen left, the cursor shown, raw mode off
//! (`stty -a` shows `icanon` and `echo`, and a line typed into the shell afterwards is echoed
//! and read), and exit with 128 + the signal's number, as a shell reports it.
//! Needs tmux (skips with the reason otherwise); each tmux server is killed on drop.

use crate::support::{common, tmux};

use std::time::Duration;

use common::{require_program, wait_until};
use nix::sys::signal::Signal;
use tmux::Tmux;

fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The dashboard's pid: the pane's shell's child.
fn dashboard_pid(tmux: &Tmux) -> i32 {
    let shell: i32 = tmux.display("#{pane_pid}").parse().expect("pane pid");
    let mut pid = 0;
    assert!(
        wait_until(Duration::from_secs(5), || {
            pid = children_of(shell).first().copied().unwrap_or(0);
            pid > 0
        }),
        "the dashboard runs under the pane's shell"
    );
    pid
}

/// The pane's text with wrapped lines joined (a raw terminal left behind prints a staircase).
fn joined_screen(tmux: &Tmux) -> String {
    let out = tmux
        .command()
        .args(["capture-pane", "-p", "-J", "-t", &tmux.name])
        .output()
        .expect("tmux capture-pane");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the dashboard in a fresh pane, sends `signal`, and returns what is wrong afterwards
/// (nothing when the terminal is back and the code is 128 + the signal).
fn problems_after(signal: Signal) -> Vec<String> {
    let isotop = env!("CARGO_BIN_EXE_isotop");
    // After isotop: its exit status, the terminal's mode as `stty` sees it, then a line read
    // from the terminal (only a cooked terminal echoes it and ends it at Enter). `ulimit -c 0`:
    // SIGQUIT's default action would dump a core into the checkout.
    let script = format!(
        "ulimit -c 0; {isotop} -d 0.5; echo \"EXITED $?\"; \
         case \" $(stty -a | tr '\\n;' '  ') \" in \
         *' -icanon '*|*' -echo '*) echo TTY-RAW;; *) echo TTY-COOKED;; esac; \
         read line; echo \"GOT-$line\"; sleep 60"
    );
    let tmux = Tmux::start(100, 30, &script);
    tmux.expect("1 Containers", "the dashboard starts");
    tmux.expect("processes ", "the first frame arrives");
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "the dashboard uses the alternate screen"
    );
    let pid = dashboard_pid(&tmux);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("signal sent");

    let mut problems = Vec::new();
    let mut screen = String::new();
    let reported = wait_until(Duration::from_secs(20), || {
        screen = joined_screen(&tmux);
        screen.contains("TTY-RAW") || screen.contains("TTY-COOKED")
    });
    assert!(reported, "{signal}: the shell never ran on:\n{screen}");
    let code = 128 + signal as i32;
    if !screen.contains(&format!("EXITED {code}")) {
        let said = screen.lines().find(|l| l.contains("EXITED")).unwrap_or("");
        problems.push(format!("exit code {code} expected, got `{}`", said.trim()));
    }
    if tmux.display("#{alternate_on}") != "0" {
        problems.push("still on the alternate screen".into());
    }
    if tmux.display("#{cursor_flag}") != "1" {
        problems.push("cursor hidden".into());
    }
    if !screen.contains("TTY-COOKED") {
        problems.push("raw mode left on (stty: -icanon or -echo)".into());
    }
    tmux.text("typed-back");
    tmux.keys(&["Enter"]);
    let read = wait_until(Duration::from_secs(5), || {
        screen = joined_screen(&tmux);
        screen.contains("GOT-typed-back")
    });
    if !read {
        problems.push("a line typed afterwards is not read (Enter is no line end)".into());
    } else if !screen.lines().any(|l| l.trim_end() == "typed-back") {
        problems.push("a line typed afterwards is not echoed".into());
    }
    problems
        .into_iter()
        .map(|p| format!("{signal}: {p}"))
        .collect()
}

#[test]
fn every_ending_signal_gives_the_terminal_back() {
    if !require_program("tmux") || !require_program("stty") {
        return;
    }
    let problems: Vec<String> = [
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGHUP,
        Signal::SIGALRM,
        Signal::SIGVTALRM,
        Signal::SIGPROF,
        Signal::SIGPWR,
        Signal::SIGIO,
        Signal::SIGXCPU,
        Signal::SIGXFSZ,
    ]
    .into_iter()
    .flat_map(problems_after)
    .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

//! The terminal's lifecycle: raw mode, the alternate screen and mouse capture on entry, and
//! all three given back on every way out — normal quit and errors (the [`TerminalSession`]'s
//! `Drop`), panics (a hook that restores before the default report is printed), SIGTERM,
//! SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 (the app loop catches them, ends, drops the
//! session, and only then exits with 128 + the signal: see `event_loop`) — and around Ctrl-Z
//! ([`TerminalSession::suspend`] restores, stops the process with SIGTSTP like any job, and
//! takes the screen back on `fg`). SIGKILL cannot be caught: `reset` gives the terminal back.

use std::io::{self, Stdout, stdin, stdout};
use std::sync::Once;
use std::time::Duration;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::unistd::{Pid, tcgetpgrp, tcsetpgrp};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The terminal in dashboard mode; restored when dropped.
pub struct TerminalSession {
    pub terminal: Term,
}

impl TerminalSession {
    /// Takes over the terminal (and installs the panic hook once per process).
    pub fn enter() -> io::Result<TerminalSession> {
        install_panic_hook();
        take_over()?;
        let terminal = match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(t) => t,
            Err(e) => {
                let _ = restore();
                return Err(e);
            }
        };
        Ok(TerminalSession { terminal })
    }

    /// Ctrl-Z: gives the terminal back, stops this process (SIGTSTP, as the shell expects of a
    /// job), and when continued (`fg`) takes it over again and repaints everything.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore()?;
        // SIGTSTP's default action stops the process; `raise` returns once SIGCONT arrives.
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP).map_err(io::Error::from)?;
        take_over()?;
        self.terminal.clear()
    }

    /// Gives the terminal back while `work` runs in the foreground (a shell in a container),
    /// then takes it over again and repaints everything. A job-control shell makes its own
    /// process group the terminal's foreground one and, inside another pid namespace, cannot
    /// give it back to ours (our group id does not exist there): the foreground group is put
    /// back here, or every read of the terminal would stop us.
    pub fn outside<T>(&mut self, work: impl FnOnce() -> T) -> io::Result<T> {
        restore()?;
        let foreground = tcgetpgrp(stdin()).ok();
        let result = work();
        if let Some(group) = foreground {
            take_back_foreground(group)?;
        }
        take_over()?;
        // Dropping an event stream (the caller does, so it does not read the shell's input)
        // wakes crossterm's shared reader; a wake nobody took would end the next poll at once,
        // and the cursor-position poll of `clear` would fail. A zero-time poll takes it.
        let _ = crossterm::event::poll(Duration::ZERO);
        self.terminal.clear()?;
        Ok(result)
    }
}

/// Makes `group` the terminal's foreground process group again. From a background group,
/// `tcsetpgrp` raises SIGTTOU (which would stop us): it is blocked for the call.
fn take_back_foreground(group: Pid) -> io::Result<()> {
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut previous))
        .map_err(io::Error::from)?;
    let result = tcsetpgrp(stdin(), group).map_err(io::Error::from);
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None).map_err(io::Error::from)?;
    result
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        let _ = restore();
    }
}

fn take_over() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture, Hide)
}

/// Gives the terminal back: cooked mode, main screen, no mouse capture, cursor shown. Safe to
/// call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let screen = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    raw.and(screen)
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Restore first, so the report lands on a usable screen.
            let _ = restore();
            previous(info);
        }));
    });
}

//! The terminal's lifecycle: raw mode, the alternate screen and mouse capture on entry, and
//! all three given back on every way out — normal quit and errors (the [`TerminalSession`]'s
//! `Drop`), panics (a hook that restores before the default report is printed), SIGTERM and
//! SIGINT (the app loop ends normally on them) — and around Ctrl-Z ([`TerminalSession::suspend`]
//! restores, stops the process with SIGTSTP like any job, and takes the screen back on `fg`).

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
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

//! The terminal's lifecycle: raw mode, the alternate screen and mouse capture on entry, and
//! all three given back on every way out — normal quit and errors (the [`TerminalSession`]'s
//! `Drop`), panics (a hook that restores before the default report is printed), SIGTERM,
//! SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 (the app loop catches them, ends, drops the
//! session, and only then exits with 128 + the signal: see `event_loop`) — and around Ctrl-Z
//! ([`TerminalSession::suspend`] restores, stops the process with SIGTSTP like any job, and
//! takes the screen back on `fg`). SIGKILL cannot be caught: `reset` gives the terminal back.
//!
//! The session is the dashboard's one writer to the terminal: the `y` menu's clipboard copy
//! goes out here too ([`TerminalSession::copy_to_clipboard`]), as OSC 52 ([`osc52`]), which
//! the terminal emulator — local or at the far end of ssh — turns into a clipboard write.

use std::io::{self, Stdout, Write, stdin, stdout};
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

impl TerminalSession {
    /// Puts `text` (already cleaned of control characters) on the clipboard with OSC 52;
    /// inside tmux (`$TMUX` set) in both of the forms tmux may pass on ([`osc52`]).
    pub fn copy_to_clipboard(&mut self, text: &str) -> io::Result<()> {
        let inside_tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
        let out = self.terminal.backend_mut();
        out.write_all(&osc52(text, inside_tmux))?;
        out.flush()
    }
}

/// The bytes that ask a terminal to put `text` on the clipboard: `ESC ] 52 ; c ; <base64>
/// BEL`. Inside tmux the same sequence follows wrapped in tmux's DCS passthrough
/// (`ESC P tmux; … ESC \`, each ESC inside doubled): tmux 3.3 takes the plain one only with
/// `set-clipboard on` (the default, `external`, ignores it) and passes the wrapped one on only
/// with `allow-passthrough on` (default off); whichever it does not take it swallows unseen.
pub fn osc52(text: &str, inside_tmux: bool) -> Vec<u8> {
    let plain = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    let mut out = plain.clone().into_bytes();
    if inside_tmux {
        out.extend_from_slice(b"\x1bPtmux;");
        out.extend_from_slice(plain.replace('\x1b', "\x1b\x1b").as_bytes());
        out.extend_from_slice(b"\x1b\\");
    }
    out
}

/// Standard base64 (RFC 4648, with `=` padding), as OSC 52 carries its text.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn osc52_bytes_plain_and_in_tmux() {
        assert_eq!(osc52("web", false), b"\x1b]52;c;d2Vi\x07".to_vec());
        assert_eq!(
            osc52("web", true),
            b"\x1b]52;c;d2Vi\x07\x1bPtmux;\x1b\x1b]52;c;d2Vi\x07\x1b\\".to_vec()
        );
    }
}

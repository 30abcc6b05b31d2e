//! The terminal side of `isotop run -t`: the operator's terminal in raw mode for the length of
//! the run (restored on drop, also when unwinding), and window sizes read from it and set on
//! the container's pseudo-terminal.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use crate::launch::error::LaunchError;

/// The size a terminal gets when the operator's is unknown (not a terminal), rows × cols.
pub const DEFAULT_SIZE: (u16, u16) = (24, 80);

/// True when `fd` is a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// The window size (rows, cols) of the terminal `fd`; `None` when it is not one.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    match rustix::termios::tcgetwinsize(fd) {
        Ok(size) if size.ws_row > 0 && size.ws_col > 0 => Some((size.ws_row, size.ws_col)),
        _ => None,
    }
}

/// Sets the window size of the terminal `fd` (the pty master: the kernel sends SIGWINCH to
/// the container's foreground process group).
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), LaunchError> {
    let size = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, size).map_err(|e| {
        LaunchError::kernel("TIOCSWINSZ", nix::errno::Errno::from_raw(e.raw_os_error()))
    })
}

/// Puts a terminal in raw mode (no echo, no line editing, no signals from keys: Ctrl-C goes to
/// the container as a byte) and restores its settings when dropped.
pub struct RawMode<'fd> {
    fd: BorrowedFd<'fd>,
    saved: Termios,
}

impl<'fd> RawMode<'fd> {
    /// Raw mode on `fd` if it is a terminal; `Ok(None)` when it is not.
    pub fn enter(fd: BorrowedFd<'fd>) -> Result<Option<RawMode<'fd>>, LaunchError> {
        if !is_terminal(fd) {
            return Ok(None);
        }
        let saved = tcgetattr(fd).map_err(|e| LaunchError::kernel("tcgetattr", e))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw).map_err(|e| LaunchError::kernel("tcsetattr", e))?;
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // TCSADRAIN: what the container printed last is written before the settings change.
        let _ = tcsetattr(self.fd.as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_takes_and_reports_a_window_size() {
        let pty = nix::pty::openpty(None, None).unwrap();
        assert!(is_terminal(pty.slave.as_fd()));
        set_window_size(pty.master.as_fd(), 33, 101).unwrap();
        assert_eq!(window_size(pty.slave.as_fd()), Some((33, 101)));
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert!(!is_terminal(r.as_fd()));
        assert_eq!(window_size(r.as_fd()), None);
    }

    #[test]
    fn raw_mode_is_restored_on_drop() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let before = tcgetattr(pty.slave.as_fd()).unwrap();
        {
            let _raw = RawMode::enter(pty.slave.as_fd()).unwrap().unwrap();
            let now = tcgetattr(pty.slave.as_fd()).unwrap();
            assert!(
                !now.local_flags
                    .contains(nix::sys::termios::LocalFlags::ECHO)
            );
        }
        let after = tcgetattr(pty.slave.as_fd()).unwrap();
        assert_eq!(before.local_flags, after.local_flags);
        assert_eq!(before.input_flags, after.input_flags);
    }
}

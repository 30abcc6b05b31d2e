//! Signals through pidfds: a process is named by a file descriptor (`pidfd_open`) instead of
//! a number, so a signal can never reach a process that got a recycled pid after the intended
//! one exited. A pidfd also tells when its process has exited (it polls readable), which is
//! how the acts wait for processes to end without racing pid reuse either.
//!
//! Contract: [`PidFd::open`] is `Ok(None)` when the process is already gone (vanishing is
//! normal); [`PidFd::send`] is `Ok(false)` when it exited since. Signal names are parsed by
//! [`parse_signal`] (`TERM`, `SIGTERM`, `term`, `15`).

use std::os::fd::{AsFd, OwnedFd};
use std::str::FromStr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, pidfd_open, pidfd_send_signal};

use super::error::ControlError;

/// Parses a signal name or number: `TERM`, `SIGTERM`, `term`, `15`.
pub fn parse_signal(text: &str) -> Result<Signal, ControlError> {
    let invalid = || ControlError::InvalidValue {
        what: "signal".into(),
        value: text.to_string(),
        hint: "give a name like TERM, KILL, HUP, INT, USR1 (with or without SIG) or a number \
               like 15 (see `kill -l`)"
            .into(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid());
    }
    if let Ok(number) = trimmed.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| invalid());
    }
    let upper = trimmed.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&full).map_err(|_| invalid())
}

/// The short name of a signal as operators write it: `TERM`, `KILL`.
pub fn signal_name(signal: Signal) -> &'static str {
    let full = signal.as_str();
    full.strip_prefix("SIG").unwrap_or(full)
}

/// A process held by a pidfd.
#[derive(Debug)]
pub struct PidFd {
    pid: i32,
    fd: OwnedFd,
}

impl PidFd {
    /// Opens a pidfd for `pid`; `Ok(None)` when no such process exists (any more).
    pub fn open(pid: i32) -> Result<Option<PidFd>, ControlError> {
        let Some(raw) = Pid::from_raw(pid) else {
            return Err(ControlError::InvalidValue {
                what: "pid".into(),
                value: pid.to_string(),
                hint: "a pid is a positive number".into(),
            });
        };
        match pidfd_open(raw, PidfdFlags::empty()) {
            Ok(fd) => Ok(Some(PidFd { pid, fd })),
            Err(Errno::SRCH) => Ok(None),
            Err(e) => Err(syscall(format!("pidfd_open({pid})"), e)),
        }
    }

    /// The host pid this pidfd was opened for.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends `signal`; `Ok(false)` when the process has exited meanwhile (nothing was sent).
    pub fn send(&self, signal: Signal) -> Result<bool, ControlError> {
        let Some(sig) = rustix::process::Signal::from_named_raw(signal as i32) else {
            return Err(ControlError::InvalidValue {
                what: "signal".into(),
                value: signal.as_str().into(),
                hint: "not a signal this system can send".into(),
            });
        };
        match pidfd_send_signal(&self.fd, sig) {
            Ok(()) => Ok(true),
            Err(Errno::SRCH) => Ok(false),
            Err(e) => Err(syscall(
                format!("pidfd_send_signal({}, {})", self.pid, signal.as_str()),
                e,
            )),
        }
    }

    /// True once the process has exited (a zombie not yet reaped counts as exited).
    pub fn has_exited(&self) -> Result<bool, ControlError> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        loop {
            match poll(&mut fds, Some(&zero)) {
                Ok(n) => return Ok(n > 0),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(syscall(format!("poll(pidfd {})", self.pid), e)),
            }
        }
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Waits until every process in `fds` has exited or `timeout` passes; returns the pids still
/// running (ascending). Polls all pidfds at once, waking as soon as one exits.
pub fn wait_exited(fds: &[PidFd], timeout: Duration) -> Result<Vec<i32>, ControlError> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut running = Vec::new();
        for fd in fds {
            if !fd.has_exited()? {
                running.push(fd);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if running.is_empty() || left.is_zero() {
            let mut pids: Vec<i32> = running.iter().map(|fd| fd.pid).collect();
            pids.sort_unstable();
            return Ok(pids);
        }
        let mut polled: Vec<PollFd<'_>> = running
            .iter()
            .map(|fd| PollFd::new(&fd.fd, PollFlags::IN))
            .collect();
        // At most 100 ms per poll so the deadline is rechecked even if poll is interrupted.
        let slice = left.min(Duration::from_millis(100));
        let wait = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(slice.subsec_nanos()),
        };
        match poll(&mut polled, Some(&wait)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(syscall("poll(pidfds)".into(), e)),
        }
    }
}

fn syscall(what: String, e: Errno) -> ControlError {
    ControlError::Syscall {
        what,
        source: nix::Error::from_raw(e.raw_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_and_numbers() {
        assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("sigkill").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal(" hup ").unwrap(), Signal::SIGHUP);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("SIGUSR1").unwrap(), Signal::SIGUSR1);
        for bad in ["", "0", "-9", "65", "FOO", "SIG", "9x"] {
            let err = parse_signal(bad).unwrap_err();
            assert!(err.is_usage(), "{bad:?} gave {err}");
        }
        assert_eq!(signal_name(Signal::SIGTERM), "TERM");
    }

    #[test]
    fn pidfd_of_a_child_signals_and_sees_its_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let fd = PidFd::open(pid).unwrap().unwrap();
        assert_eq!(fd.pid(), pid);
        assert!(!fd.has_exited().unwrap());
        assert_eq!(
            wait_exited(std::slice::from_ref(&fd), Duration::from_millis(50)).unwrap(),
            vec![pid]
        );
        assert!(fd.send(Signal::SIGKILL).unwrap());
        // The unreaped zombie counts as exited; a signal to it is still accepted by the kernel.
        assert!(
            wait_exited(std::slice::from_ref(&fd), Duration::from_secs(10))
                .unwrap()
                .is_empty()
        );
        assert!(fd.has_exited().unwrap());
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
        // Reaped: the pidfd still names the dead process, never a recycled pid.
        assert!(!fd.send(Signal::SIGKILL).unwrap());
    }

    #[test]
    fn pidfd_of_a_missing_pid_is_none() {
        // pid_max is at most 2^22: this pid cannot exist.
        assert!(PidFd::open(i32::MAX).unwrap().is_none());
        assert!(PidFd::open(0).is_err());
    }
}

//! Signal dispositions: ignoring SIGINT and SIGQUIT while a started command runs (and
//! putting isotop's back), SIGPIPE's default around a clone, and a child's clean slate
//! before exec.
//!
//! Contract: only `SIG_DFL`, `SIG_IGN` or a disposition this process had before are
//! installed — never a handler of ours — so no handler code can run with broken invariants.
//! [`reset_all`] is child-safe; the others are for the parent.

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// SIGINT and SIGQUIT as they were before [`InterruptsIgnored::ignore`].
#[derive(Debug)]
pub struct InterruptsIgnored {
    int: SigAction,
    quit: SigAction,
}

impl InterruptsIgnored {
    /// Ignores SIGINT and SIGQUIT (as `system(3)` does while its command runs), keeping the
    /// previous dispositions. On error nothing is changed.
    pub fn ignore() -> nix::Result<InterruptsIgnored> {
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: installs SIG_IGN, which runs no code; the previous action is kept to restore.
        let int = unsafe { sigaction(Signal::SIGINT, &ignore) }?;
        // SAFETY: as above.
        let quit = match unsafe { sigaction(Signal::SIGQUIT, &ignore) } {
            Ok(quit) => quit,
            Err(e) => {
                // SAFETY: puts back the action that was installed a moment ago.
                let _ = unsafe { sigaction(Signal::SIGINT, &int) };
                return Err(e);
            }
        };
        Ok(InterruptsIgnored { int, quit })
    }

    /// Puts the previous dispositions back (also in a forked child, before it execs:
    /// `sigaction` is async-signal-safe and nothing is allocated).
    pub fn restore(&self) {
        // SAFETY: reinstalls the dispositions this process had before `ignore`.
        let _ = unsafe { sigaction(Signal::SIGINT, &self.int) };
        // SAFETY: as above.
        let _ = unsafe { sigaction(Signal::SIGQUIT, &self.quit) };
    }
}

/// SIGPIPE's default action (`true`) or ignored (`false`, what the Rust runtime sets: EPIPE
/// instead of death when a peer is gone). Errors are ignored: SIGPIPE is always valid.
pub fn sigpipe_default(default: bool) {
    let handler = if default {
        SigHandler::SigDfl
    } else {
        SigHandler::SigIgn
    };
    // SAFETY: SIG_DFL and SIG_IGN install no handler code.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, handler) };
}

/// Every signal back to its default action and an empty signal mask, so a command starts
/// with none of its starter's handlers or ignored signals (exec keeps SIG_IGN and the mask).
/// Child-safe.
pub fn reset_all() -> nix::Result<()> {
    // SAFETY: a zeroed sigaction is a valid value (empty mask, no flags); with SIG_DFL (0)
    // it installs the default action. It lives on this frame for every call.
    let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
    default.sa_sigaction = libc::SIG_DFL;
    for signal in 1..libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: as above; the old action is not wanted (null). Numbers glibc reserves for
        // itself fail with EINVAL, which is fine to skip.
        unsafe { libc::sigaction(signal, &default, std::ptr::null_mut()) };
    }
    // SAFETY: sigset_t is plain old data; sigemptyset initialises it next.
    let mut empty: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigemptyset initialises the set in place.
    unsafe { libc::sigemptyset(&mut empty) };
    // SAFETY: sets the mask from the initialised set; the old mask is not wanted.
    Errno::result(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) })
        .map(drop)
}

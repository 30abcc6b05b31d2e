//! The supervisor's signals: SIGTERM, SIGINT and SIGHUP are blocked from its first moment and
//! read from a signalfd, so `kill <supervisor>` never leaves a container half set up or a
//! running one unsupervised: during setup it aborts the start, afterwards it is forwarded to
//! the container's init.
//!
//! A signal mask and ignored dispositions are inherited across `clone` and `exec`: the
//! container process is cloned inside [`Signals::unblocked`], which restores the defaults
//! (nothing blocked, SIGPIPE default — the Rust runtime ignores it in the supervisor) for the
//! moment of the clone.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::launch::error::LaunchError;
use crate::sys;

/// The signals the supervisor takes over.
pub const FORWARDED: [Signal; 3] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

/// The blocked signals and the signalfd they arrive on.
pub struct Signals {
    fd: SignalFd,
    mask: SigSet,
}

impl Signals {
    /// Blocks [`FORWARDED`] and opens a non-blocking signalfd for them.
    pub fn block() -> Result<Signals, LaunchError> {
        let mut mask = SigSet::empty();
        for signal in FORWARDED {
            mask.add(signal);
        }
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
            .map_err(|e| LaunchError::kernel("blocking signals", e))?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| LaunchError::kernel("signalfd", e))?;
        Ok(Signals { fd, mask })
    }

    /// The signals received since the last call.
    pub fn take(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            if let Ok(signal) = Signal::try_from(info.ssi_signo as i32) {
                out.push(signal);
            }
        }
        out
    }

    /// Runs `clone_child` with the signal state a new process should inherit, then blocks
    /// again. Signals that arrive in between take their default action on the supervisor
    /// (the window is the length of one `clone`); call [`Signals::take`] first.
    pub fn unblocked<T>(&self, clone_child: impl FnOnce() -> T) -> T {
        let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&self.mask), None);
        // The supervisor is single-threaded, so no other thread depends on the disposition
        // meanwhile.
        sys::signal::sigpipe_default(true);
        let result = clone_child();
        // What the Rust runtime set: EPIPE instead of death when the CLI's end of the attach
        // socket is gone.
        sys::signal::sigpipe_default(false);
        let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&self.mask), None);
        result
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

//! SIGINT, SIGTERM and SIGHUP while an image is prepared: caught, cleaned up after, then
//! delivered.
//!
//! Contract: [`Watch::start`] blocks the three signals in the calling thread and opens a
//! non-blocking `signalfd` for them. Readers of image data call [`poll`] (through
//! `stream::Watched`): once one of the signals is pending, every later read fails, so the
//! unpack stops, its drop guards remove the temporary layer, and the caller removes what it
//! made for the container. [`Watch::caught`] says which signal it was. Dropping the watch
//! restores the thread's signal mask and raises the caught signal again, so the process then
//! ends (or the dashboard's own handler runs) exactly as it would have without the watch —
//! only after the cleanup. Without a watch on the thread (library callers, tests), [`poll`]
//! is a no-op.

use std::cell::RefCell;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask, raise};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The signals that abort a preparation (the ones the supervisor forwards, too).
const WATCHED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

struct Active {
    fd: SignalFd,
    caught: Option<Signal>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// The watch of one thread; see the module contract.
pub struct Watch {
    /// The mask before the watch, restored on drop; `None` for a nested (inert) watch.
    previous: Option<SigSet>,
}

impl Watch {
    /// Starts watching on this thread. A watch that cannot be set up (no signalfd) is inert:
    /// signals then act as they always did.
    pub fn start() -> Watch {
        let nested = ACTIVE.with(|a| a.borrow().is_some());
        if nested {
            return Watch { previous: None };
        }
        let mut set = SigSet::empty();
        for signal in WATCHED {
            set.add(signal);
        }
        let mut previous = SigSet::empty();
        if pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut previous)).is_err() {
            return Watch { previous: None };
        }
        match SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC) {
            Ok(fd) => {
                ACTIVE.with(|a| *a.borrow_mut() = Some(Active { fd, caught: None }));
                Watch {
                    previous: Some(previous),
                }
            }
            Err(_) => {
                let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
                Watch { previous: None }
            }
        }
    }

    /// The signal caught so far, if any (polls once more first).
    pub fn caught(&self) -> Option<Signal> {
        poll()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(previous) = self.previous.take() else {
            return;
        };
        // One last look: a signal still pending is consumed here and raised below, once.
        let caught = poll();
        ACTIVE.with(|a| *a.borrow_mut() = None);
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
        if let Some(signal) = caught {
            let _ = raise(signal);
        }
    }
}

/// The watched signal that arrived on this thread's watch, if any; `None` without a watch.
pub fn poll() -> Option<Signal> {
    ACTIVE.with(|a| {
        let mut active = a.borrow_mut();
        let active = active.as_mut()?;
        if active.caught.is_none()
            && let Ok(Some(info)) = active.fd.read_signal()
        {
            active.caught = i32::try_from(info.ssi_signo)
                .ok()
                .and_then(|n| Signal::try_from(n).ok());
        }
        active.caught
    })
}

/// `error`, unless a watched signal arrived: then that is why it failed.
pub fn interrupted_or(error: super::ImageError) -> super::ImageError {
    match poll() {
        Some(signal) => super::ImageError::Interrupted {
            signal: signal.as_str().to_string(),
        },
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_watch_sees_nothing() {
        assert_eq!(poll(), None);
    }
}

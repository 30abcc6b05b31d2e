//! The CLI end of the attach socket (foreground `isotop run`): prints the container's stdout
//! and stderr on its own, forwards its stdin with `-i` (raw terminal with `-t`), the window
//! size on SIGWINCH, and SIGINT/SIGTERM/SIGHUP to the container's init. Returns when the
//! supervisor sends the exit code or goes away.
//!
//! The signals are blocked for the length of the relay and read from a signalfd, so the CLI
//! never dies of one mid-relay (its terminal would stay raw); the mask is restored on return.
//! Without a terminal in raw mode, a third Ctrl-C detaches: the container runs on.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;

use super::terminal::{DEFAULT_SIZE, RawMode, window_size};
use super::{Frame, FrameReader, Kind, ReadOutcome};
use crate::launch::error::LaunchError;

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Forward stdin (`-i`).
    pub interactive: bool,
    /// The container has a pseudo-terminal (`-t`).
    pub tty: bool,
}

/// How the relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEnd {
    /// The supervisor sent the exit code (after its clean-up).
    Exited(i32),
    /// The supervisor closed the socket without an exit code.
    Closed,
    /// The operator pressed Ctrl-C three times: the container runs on.
    Detached,
}

/// Ctrl-Cs that detach the CLI (the first two are forwarded to the container).
const DETACH_AFTER_INTERRUPTS: u32 = 3;

/// The frames to put in the socket before the supervisor starts: with `-t`, the window size,
/// so the container's terminal has it before its command runs.
pub fn initial_frames(options: ClientOptions) -> Vec<Frame> {
    if !options.tty {
        return Vec::new();
    }
    let (rows, cols) = current_size();
    vec![Frame::winsize(rows, cols)]
}

fn current_size() -> (u16, u16) {
    window_size(std::io::stdout().as_fd())
        .or_else(|| window_size(std::io::stdin().as_fd()))
        .unwrap_or(DEFAULT_SIZE)
}

/// Restores the signal mask it replaced.
struct MaskGuard(SigSet);

impl Drop for MaskGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// Relays between the terminal and the supervisor until the end (see the module contract).
pub fn run(mut socket: UnixStream, options: ClientOptions) -> Result<ClientEnd, LaunchError> {
    let stdin = std::io::stdin();
    let stdin_fd = stdin.as_fd();
    let raw = if options.tty && options.interactive {
        RawMode::enter(stdin_fd)?
    } else {
        None
    };
    let mut mask = SigSet::empty();
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGWINCH,
    ] {
        mask.add(signal);
    }
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))
        .map_err(|e| LaunchError::kernel("blocking signals", e))?;
    let _restore = MaskGuard(old);
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| LaunchError::kernel("signalfd", e))?;

    let mut reader = FrameReader::default();
    let mut stdin_open = options.interactive;
    let mut interrupts = 0;
    let mut out = Output::default();
    loop {
        let mut fds = vec![
            PollFd::new(&socket, PollFlags::IN),
            PollFd::new(&signals, PollFlags::IN),
        ];
        if stdin_open {
            fds.push(PollFd::new(&stdin_fd, PollFlags::IN));
        }
        match poll(&mut fds, None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                return Err(LaunchError::kernel(
                    "poll",
                    nix::Error::from_raw(e.raw_os_error()),
                ));
            }
        }
        let ready = |i: usize| -> bool { fds.get(i).is_some_and(|f| !f.revents().is_empty()) };
        let (sock_ready, sig_ready, stdin_ready) = (ready(0), ready(1), ready(2));
        drop(fds);
        if sock_ready {
            match reader.read_from(&mut socket) {
                Ok(ReadOutcome::Closed) | Err(_) => return Ok(ClientEnd::Closed),
                Ok(ReadOutcome::Frames(frames)) => {
                    for frame in frames {
                        match frame.kind {
                            Kind::Stdout => out.write(true, &frame.data),
                            Kind::Stderr => out.write(false, &frame.data),
                            Kind::Exit => {
                                drop(raw);
                                return Ok(ClientEnd::Exited(frame.number().unwrap_or(1)));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if sig_ready {
            while let Ok(Some(info)) = signals.read_signal() {
                let number = info.ssi_signo as i32;
                if number == Signal::SIGWINCH as i32 {
                    let (rows, cols) = current_size();
                    let _ = Frame::winsize(rows, cols).send(&mut socket);
                    continue;
                }
                if number == Signal::SIGINT as i32 && raw.is_none() {
                    interrupts += 1;
                    if interrupts >= DETACH_AFTER_INTERRUPTS {
                        return Ok(ClientEnd::Detached);
                    }
                }
                let _ = Frame::signal(number).send(&mut socket);
            }
        }
        if stdin_ready {
            stdin_open = forward_stdin(stdin_fd, &mut socket);
        }
    }
}

/// Reads once from stdin and sends it; on end of input sends `StdinClose` and returns false.
fn forward_stdin(stdin: BorrowedFd<'_>, socket: &mut UnixStream) -> bool {
    let mut buf = [0u8; 32 * 1024];
    match nix::unistd::read(stdin, &mut buf) {
        Ok(0) | Err(_) => {
            let _ = Frame::new(Kind::StdinClose, b"").send(socket);
            false
        }
        Ok(n) => {
            // The supervisor gone: keep reading the socket until it reports closing.
            let _ = Frame::new(Kind::Stdin, &buf[..n]).send(socket);
            true
        }
    }
}

/// The CLI's stdout and stderr; a closed one (`isotop run ... | head`) is dropped quietly.
#[derive(Debug, Default)]
struct Output {
    stdout_closed: bool,
    stderr_closed: bool,
}

impl Output {
    fn write(&mut self, to_stdout: bool, bytes: &[u8]) {
        let closed = if to_stdout {
            &mut self.stdout_closed
        } else {
            &mut self.stderr_closed
        };
        if *closed {
            return;
        }
        let result = if to_stdout {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        } else {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        };
        *closed = result.is_err();
    }
}

//! The supervisor's loop while the container runs: one `poll` over the container's output
//! (pipes or the pty master), its input, the attach socket, the signalfd and a pidfd of the
//! init. Output goes to `container.log` and, while a CLI is attached, to it as frames; frames
//! from the CLI become the container's input, window size and signals; signals the supervisor
//! gets go to the init.
//!
//! Contract: returns once the init has exited and its output is drained (end of file on every
//! stream, or [`DRAIN`] after the exit when something still holds a stream open). The CLI going
//! away (closed socket, a write that stalls [`SEND_TIMEOUT`]) only ends the attachment; with
//! `-i` it also closes the container's stdin, as the input it came from is gone. Input waits in
//! a queue (at most [`MAX_QUEUE`] bytes) so that a container that does not read never stops
//! its output from being logged.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::setup::ContainerIo;
use super::signals::Signals;
use crate::control::signal::PidFd;
use crate::launch::attach::terminal::set_window_size;
use crate::launch::attach::{Frame, FrameReader, Kind, ReadOutcome};
use crate::launch::logs::{LogWriter, Stream};

/// How long output is still read after the init exited (its other processes die with it).
pub const DRAIN: Duration = Duration::from_secs(2);

/// How long one write to the attached CLI may block before the CLI is taken as gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Input bytes held for a container that does not read them, at most.
pub const MAX_QUEUE: usize = 1 << 20;

/// End-of-file character sent to a pty when the CLI's stdin ends (Ctrl-D).
const EOT: u8 = 0x04;

/// What the relay works with.
pub struct Relay {
    pub log: LogWriter,
    /// The attached CLI, if any; the caller sends the exit frame on it afterwards.
    pub attach: Option<UnixStream>,
    reader: FrameReader,
    /// Output streams still open: (fd, stream it is logged as).
    outputs: Vec<(OwnedFd, Stream)>,
    /// Where input goes (the stdin pipe, or a duplicate of the pty master).
    input: Option<OwnedFd>,
    queue: Vec<u8>,
    /// Close `input` once the queue is written.
    close_input: bool,
    /// The pty master, for window sizes.
    master: Option<OwnedFd>,
    tty: bool,
}

impl Relay {
    pub fn new(io: ContainerIo, log: LogWriter, attach: Option<UnixStream>) -> Relay {
        if let Some(socket) = &attach {
            let _ = socket.set_write_timeout(Some(SEND_TIMEOUT));
        }
        let (outputs, input, master, tty) = match io {
            ContainerIo::Pipes {
                stdin,
                stdout,
                stderr,
            } => (
                vec![(stdout, Stream::Stdout), (stderr, Stream::Stderr)],
                stdin,
                None,
                false,
            ),
            ContainerIo::Tty { master } => {
                let input = master.try_clone().ok();
                let resize = master.try_clone().ok();
                (vec![(master, Stream::Stdout)], input, resize, true)
            }
        };
        Relay {
            log,
            attach,
            reader: FrameReader::default(),
            outputs,
            input,
            queue: Vec::new(),
            close_input: false,
            master,
            tty,
        }
    }

    /// Sends a frame to the CLI; a CLI that is gone or stalls is dropped.
    pub fn send(&mut self, frame: &Frame) {
        if let Some(socket) = &mut self.attach
            && frame.send(socket).is_err()
        {
            self.detach();
        }
    }

    fn detach(&mut self) {
        self.attach = None;
        self.close_input = true;
    }

    /// Relays until the init exited and the output is drained (see the module contract).
    pub fn run(&mut self, signals: &Signals, init: &PidFd) {
        let mut exited_at: Option<Instant> = None;
        loop {
            if self.close_input && self.queue.is_empty() {
                self.input = None;
            }
            let timeout = match exited_at {
                Some(at) => {
                    let left = DRAIN.saturating_sub(at.elapsed());
                    if self.outputs.is_empty() || left.is_zero() {
                        break;
                    }
                    Some(left)
                }
                None => None,
            };
            let ready = self.wait(signals, init, exited_at.is_none(), timeout);
            if ready.init {
                exited_at = Some(Instant::now());
                self.input = None;
                self.queue.clear();
            }
            if ready.signals {
                for signal in signals.take() {
                    let _ = init.send(signal);
                }
            }
            for index in ready.outputs.into_iter().rev() {
                self.read_output(index);
            }
            if ready.input {
                self.write_input();
            }
            if ready.attach {
                self.read_attach(init);
            }
        }
        let _ = self.log.finish();
    }

    fn wait(
        &self,
        signals: &Signals,
        init: &PidFd,
        watch_init: bool,
        timeout: Option<Duration>,
    ) -> Ready {
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        for (fd, _) in &self.outputs {
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        let first_other = fds.len();
        fds.push(PollFd::new(signals, PollFlags::IN));
        // Once exited, a pidfd stays readable: watching it then would spin.
        let init_at = watch_init.then(|| {
            fds.push(PollFd::new(init, PollFlags::IN));
            fds.len() - 1
        });
        let input_at = match &self.input {
            Some(fd) if !self.queue.is_empty() => {
                fds.push(PollFd::new(fd, PollFlags::OUT));
                Some(fds.len() - 1)
            }
            _ => None,
        };
        let attach_at = match &self.attach {
            Some(socket) if self.queue.len() < MAX_QUEUE => {
                fds.push(PollFd::new(socket, PollFlags::IN));
                Some(fds.len() - 1)
            }
            _ => None,
        };
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs() as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        if poll(&mut fds, timeout.as_ref()).is_err() {
            // EINTR (or nothing ready): look again.
            return Ready::default();
        }
        let hit = |i: usize| !fds[i].revents().is_empty();
        Ready {
            outputs: (0..first_other).filter(|&i| hit(i)).collect(),
            signals: hit(first_other),
            init: init_at.is_some_and(hit),
            input: input_at.is_some_and(hit),
            attach: attach_at.is_some_and(hit),
        }
    }

    fn read_output(&mut self, index: usize) {
        let mut buf = [0u8; 64 * 1024];
        let (fd, stream) = &self.outputs[index];
        let stream = *stream;
        match nix::unistd::read(fd.as_fd(), &mut buf) {
            Ok(0) => {
                self.outputs.remove(index);
            }
            Ok(n) => {
                let _ = self.log.write(stream, &buf[..n]);
                let kind = match stream {
                    Stream::Stdout => Kind::Stdout,
                    Stream::Stderr => Kind::Stderr,
                };
                self.send(&Frame::new(kind, &buf[..n]));
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            // EIO: the pty's last slave closed.
            Err(_) => {
                self.outputs.remove(index);
            }
        }
    }

    fn write_input(&mut self) {
        let Some(fd) = &self.input else { return };
        match nix::unistd::write(fd, &self.queue) {
            Ok(n) => {
                self.queue.drain(..n);
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(_) => {
                // EPIPE: nothing reads the container's stdin any more.
                self.input = None;
                self.queue.clear();
            }
        }
    }

    fn read_attach(&mut self, init: &PidFd) {
        let Some(socket) = &mut self.attach else {
            return;
        };
        let frames = match self.reader.read_from(socket) {
            Ok(ReadOutcome::Frames(frames)) => frames,
            Ok(ReadOutcome::Closed) | Err(_) => {
                self.detach();
                return;
            }
        };
        for frame in frames {
            match frame.kind {
                Kind::Stdin if self.input.is_some() && !self.close_input => {
                    self.queue.extend_from_slice(&frame.data);
                }
                Kind::StdinClose if self.tty => self.queue.push(EOT),
                Kind::StdinClose => self.close_input = true,
                Kind::Winsize => {
                    if let (Some(master), Some((rows, cols))) = (&self.master, frame.size()) {
                        let _ = set_window_size(master.as_fd(), rows, cols);
                    }
                }
                Kind::Signal => {
                    if let Some(signal) = frame.number().and_then(|n| Signal::try_from(n).ok()) {
                        let _ = init.send(signal);
                    }
                }
                _ => {}
            }
        }
    }
}

/// What one poll found ready.
#[derive(Debug, Default)]
struct Ready {
    /// Indexes into `outputs`, ascending.
    outputs: Vec<usize>,
    signals: bool,
    init: bool,
    input: bool,
    attach: bool,
}

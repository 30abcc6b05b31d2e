//! The agent's stdout: one writer thread, fed by the loop. Frames are kept latest-only (a
//! new frame replaces one not yet written: a slow dashboard gets the newest, not a queue of old
//! ones, and the agent's memory stays one frame); other messages (act outcomes, log lines,
//! errors) are queued in order and written before the next frame, never dropped — the loop
//! waits ([`Outbox::message`]) while [`ROOM`] of them are queued. Encoding (MessagePack and
//! zstd: tens of milliseconds for a large frame) happens on the writer thread, off the loop.
//! A failed write (the dashboard or ssh is gone: EPIPE) stops the writer and tells the loop
//! ([`Outbox::writer_gone`]).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::remote::wire::{self, AgentMessage};
use crate::sample::Frame;

/// Messages (not frames) queued before the loop waits for the writer.
pub(super) const ROOM: usize = 16;

#[derive(Default)]
struct State {
    frame: Option<Frame>,
    messages: VecDeque<AgentMessage>,
    /// No more will come: write what is queued, then end.
    closed: bool,
    /// A write failed: the writer ended.
    dead: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The writer waits here for something to write.
    ready: Condvar,
    /// The loop waits here for room in the queue.
    room: Notify,
    /// The loop learns here that the writer ended.
    gone: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoned only by a panic while held; the state is plain values, still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The loop's end of the writer.
pub(super) struct Outbox {
    shared: Arc<Shared>,
}

/// The writer thread, to wait for at the end.
pub(super) struct Writer {
    done: std::sync::mpsc::Receiver<()>,
}

impl Outbox {
    /// Starts the writer thread on `out`.
    pub(super) fn start<W: Write + Send + 'static>(
        mut out: W,
    ) -> std::io::Result<(Outbox, Writer)> {
        let shared = Arc::new(Shared::default());
        let (done_sender, done) = std::sync::mpsc::channel();
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("isotop-agent-out".to_string())
            .spawn(move || {
                while let Some(message) = next(&writer) {
                    writer.room.notify_one();
                    if let Err(e) = wire::write_message(&mut out, &message) {
                        eprintln!("isotop agent: writing to the dashboard: {e}");
                        writer.lock().dead = true;
                        writer.gone.notify_one();
                        break;
                    }
                }
                let _ = done_sender.send(());
            })?;
        Ok((Outbox { shared }, Writer { done }))
    }

    /// The newest frame, replacing one not yet written.
    pub(super) fn frame(&self, frame: Frame) {
        let mut state = self.shared.lock();
        state.frame = Some(frame);
        drop(state);
        self.shared.ready.notify_one();
    }

    /// Queues `message`, waiting while [`ROOM`] are queued (dropped if the writer is gone).
    pub(super) async fn message(&self, message: AgentMessage) {
        let mut message = Some(message);
        loop {
            let room = self.shared.room.notified();
            {
                let mut state = self.shared.lock();
                if state.dead {
                    return;
                }
                if state.messages.len() < ROOM {
                    state.messages.extend(message.take());
                    drop(state);
                    self.shared.ready.notify_one();
                    return;
                }
            }
            room.await;
        }
    }

    /// Ready once the writer has ended on a failed write.
    pub(super) async fn writer_gone(&self) {
        loop {
            let gone = self.shared.gone.notified();
            if self.shared.lock().dead {
                return;
            }
            gone.await;
        }
    }

    /// Nothing more will be queued: the writer ends once the queue is written.
    pub(super) fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
    }
}

impl Writer {
    /// Waits up to `timeout` for the writer to write what is left.
    pub(super) fn finish(self, timeout: Duration) {
        let _ = self.done.recv_timeout(timeout);
    }
}

/// The next message to write: queued messages first, then the newest frame; `None` once
/// closed and empty.
fn next(shared: &Shared) -> Option<AgentMessage> {
    let mut state = shared.lock();
    loop {
        if let Some(message) = state.messages.pop_front() {
            return Some(message);
        }
        if let Some(frame) = state.frame.take() {
            if state.closed {
                // Leaving: the last frame is of no use to anyone.
                return None;
            }
            return Some(AgentMessage::Frame(Box::new(frame)));
        }
        if state.closed {
            return None;
        }
        state = shared.ready.wait(state).unwrap_or_else(|p| p.into_inner());
    }
}

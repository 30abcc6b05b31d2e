//! The sampling task: a [`Sampler`] on its own OS thread (reading `/proc` blocks), one tick per
//! interval, each [`Frame`] handed to the app loop as an owned value.
//!
//! The hand-over is a one-frame mailbox, not a queue: when the app loop is behind, the frame it
//! has not taken yet is replaced by the newer one (the dropped one is counted), so a slow
//! terminal never makes the sampler queue up memory or show stale data. Rates do not suffer:
//! the sampler computes them from its own consecutive reads. A tick that fails (no procfs)
//! closes the mailbox with the reason, which [`FrameReceiver::closed_reason`] tells; a panic in
//! the sampler thread (a bug) is caught and closes it the same way, never taking the UI down.
//! The thread ends when told to stop or when the receiver is dropped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::frame::Frame;
use super::sampler::Sampler;
use crate::host::HostRoot;

/// Shortest interval honoured: below it the sampler would spend its time re-reading an
/// unchanged host.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Slot {
    frame: Option<Frame>,
    closed: Option<String>,
    receiver_gone: bool,
    dropped: u64,
}

#[derive(Debug, Default)]
struct Mailbox {
    slot: Mutex<Slot>,
    notify: Notify,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A poisoned lock only means a panic elsewhere while holding it; the slot is still a
        // plain value, so keep using it.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, frame: Frame) {
        let mut slot = self.lock();
        if slot.frame.replace(frame).is_some() {
            slot.dropped += 1;
        }
        drop(slot);
        self.notify.notify_one();
    }

    fn close(&self, reason: String) {
        self.lock().closed.get_or_insert(reason);
        self.notify.notify_one();
    }
}

/// The app loop's end: the latest frame, once.
#[derive(Debug)]
pub struct FrameReceiver {
    mailbox: Arc<Mailbox>,
}

impl FrameReceiver {
    /// Waits for the next frame; `None` once the sampler has stopped (see
    /// [`FrameReceiver::closed_reason`]). Cancel-safe: usable in `tokio::select!`.
    pub async fn recv(&mut self) -> Option<Frame> {
        loop {
            {
                let mut slot = self.mailbox.lock();
                if let Some(frame) = slot.frame.take() {
                    return Some(frame);
                }
                if slot.closed.is_some() {
                    return None;
                }
            }
            self.mailbox.notify.notified().await;
        }
    }

    /// The frame waiting now, if any.
    pub fn try_recv(&mut self) -> Option<Frame> {
        self.mailbox.lock().frame.take()
    }

    /// Why the sampler stopped (`None` while it runs).
    pub fn closed_reason(&self) -> Option<String> {
        self.mailbox.lock().closed.clone()
    }

    /// Frames replaced before the app loop took them.
    pub fn dropped_frames(&self) -> u64 {
        self.mailbox.lock().dropped
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        self.mailbox.lock().receiver_gone = true;
    }
}

#[derive(Debug, Clone)]
enum Command {
    SetInterval(Duration),
    NetMap(bool),
    MountsFor(Option<String>),
    TickNow,
    Stop,
}

/// Steers a running sampler; cheap to clone.
#[derive(Debug, Clone)]
pub struct SamplerControl {
    commands: mpsc::Sender<Command>,
}

impl SamplerControl {
    /// Changes the refresh interval (at least [`MIN_INTERVAL`]); the next tick follows it.
    pub fn set_interval(&self, interval: Duration) {
        let _ = self.commands.send(Command::SetInterval(interval));
    }

    /// Whether frames carry the host's network map (`Frame::net_map`, every namespace in
    /// `Frame::networks`): on while the Network view is shown, off otherwise (it costs a
    /// netlink read of every namespace on a cadence).
    pub fn set_net_map(&self, on: bool) {
        let _ = self.commands.send(Command::NetMap(on));
    }

    /// Keeps the mounts of container `id`'s stack only, none with `None`
    /// ([`Sampler::set_mounts_for`]); a stack due for it is read on the next tick, at once.
    pub fn set_mounts_for(&self, id: Option<String>) {
        let _ = self.commands.send(Command::MountsFor(id));
    }

    /// Takes the next tick now (e.g. right after an act), then resumes the interval.
    pub fn tick_now(&self) {
        let _ = self.commands.send(Command::TickNow);
    }

    /// Stops the sampler after its current tick; the receiver then yields `None`.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }
}

/// A running sampler: frames come from `frames`, `control` steers it.
#[derive(Debug)]
pub struct SamplerHandle {
    pub frames: FrameReceiver,
    pub control: SamplerControl,
}

/// Starts sampling `root` every `interval` on a new thread; the first frame comes at once.
pub fn spawn(root: HostRoot, interval: Duration) -> SamplerHandle {
    spawn_sampler(Sampler::new(root), interval)
}

/// As [`spawn`], with a sampler built by the caller (options, fixture roots).
pub fn spawn_sampler(sampler: Sampler, interval: Duration) -> SamplerHandle {
    let mailbox = Arc::new(Mailbox::default());
    let (commands, inbox) = mpsc::channel();
    let thread_mailbox = Arc::clone(&mailbox);
    let started = std::thread::Builder::new()
        .name("isotop-sampler".to_string())
        .spawn(move || run(sampler, interval, &thread_mailbox, &inbox));
    if let Err(e) = started {
        mailbox.close(format!("cannot start the sampler thread: {e}"));
    }
    SamplerHandle {
        frames: FrameReceiver { mailbox },
        control: SamplerControl { commands },
    }
}

fn run(
    mut sampler: Sampler,
    interval: Duration,
    mailbox: &Mailbox,
    inbox: &mpsc::Receiver<Command>,
) {
    let mut interval = interval.max(MIN_INTERVAL);
    let mut commands_open = true;
    loop {
        if mailbox.lock().receiver_gone {
            return;
        }
        let started = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| sampler.tick())) {
            Ok(Ok(frame)) => mailbox.put(frame),
            Ok(Err(e)) => {
                mailbox.close(format!("sampling stopped: {e}"));
                return;
            }
            Err(_) => {
                mailbox.close(
                    "sampling stopped: the sampler failed unexpectedly (a bug in isotop; \
                     please report it)"
                        .to_string(),
                );
                return;
            }
        }
        // Fixed rate from the start of each tick; a tick longer than the interval is followed
        // at once by the next, without a burst to catch up.
        let mut next = started + interval;
        loop {
            // Zero when the tick overran the interval: commands sent meanwhile (a stop) are
            // still read before the next tick, not left waiting behind every later one.
            let wait = next.saturating_duration_since(Instant::now());
            if !commands_open {
                std::thread::sleep(wait);
                break;
            }
            match inbox.recv_timeout(wait) {
                Ok(Command::SetInterval(d)) => {
                    interval = d.max(MIN_INTERVAL);
                    next = started + interval;
                }
                Ok(Command::NetMap(on)) => {
                    // Asked for now: shown on the next tick, not an interval later.
                    let changed = sampler.set_net_map(on);
                    if changed && on {
                        break;
                    }
                }
                Ok(Command::MountsFor(id)) => {
                    if sampler.set_mounts_for(id) {
                        break;
                    }
                }
                Ok(Command::TickNow) => break,
                Ok(Command::Stop) => {
                    mailbox.close("sampling stopped on request".to_string());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => break,
                // Nobody can steer it any more: keep sampling at the last interval.
                Err(RecvTimeoutError::Disconnected) => commands_open = false,
            }
        }
    }
}

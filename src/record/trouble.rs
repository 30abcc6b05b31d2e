//! Dump on trouble: the last minutes of frames kept encoded ([`super::ring`]: in unnamed files
//! of the dumps' directory, page cache rather than isotop's memory, else in memory) and,
//! when an event is trouble ([`Triggers`]), written to disk as a store that `isotop replay DIR`
//! replays in full — for the dashboard and `isotop serve`, with no recorder running.
//!
//! Contract. [`TroubleRecorder::offer`] hands a frame over without waiting: a queue of
//! [`QUEUE`] frames, a frame offered while it is full is dropped and counted, never waited for.
//! A thread of its own (`isotop-trouble`) encodes each frame (`codec::Encoder`), keeps it in the
//! ring (bounded by [`TroubleOptions::window`] and [`TroubleOptions::ring_bytes`]) and looks at
//! its events; another (`isotop-trouble-dump`, `writer`) writes. On a trigger the ring's window
//! — the trigger's frame last, a keyframe first — becomes a new store in
//! `<dir>/<UTC time>-<kind>-<subject>/` (`place`: 0700, never through a link, the subject's name
//! made safe). The dump then stays open for [`TroubleOptions::cooldown`] (by the frames' clock):
//! the frames that follow go into it too, and a trigger in that time is **merged** into it (its
//! event is in the dump's frames; no second dump). The first trigger after the cooldown starts a
//! new dump, whose window may overlap the last one (each dump replays alone). While a dump's
//! window is still being written, a new trigger is skipped (reported), so a stalled disk cannot
//! pile windows up in memory. After each dump the oldest are removed past
//! [`TroubleOptions::keep_dumps`] or [`TroubleOptions::keep_bytes`]. Every outcome — dumped,
//! skipped, failed, a problem on the way — goes to the `report` callback (from either thread),
//! as a [`TroubleReport`] whose [`TroubleReport::line`] is the status line's or stderr's text.
//!
//! Cost: one frame's encoding per tick on the trouble thread — a delta is a fingerprint walk of
//! the frame and the MessagePack of what changed since the keyframe (`codec`), a keyframe every
//! minute the whole frame — and the ring's bytes; the caller gives the frame as an `Arc`
//! ([`TroubleRecorder::offer`]: serve shares its own; [`TroubleRecorder::offer_copy`] copies
//! one on a blocking thread) so the caller's thread never encodes.

mod place;
mod trigger;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use super::codec::{Encoder, Kind};
use super::ring::Ring;
pub use super::ring::RingStats;
use crate::host::events::Event;
use crate::sample::Frame;
pub use trigger::{SUBJECT_CHARS, Triggers, dump_name, sanitised};
use writer::Command;

/// Frames waiting for the trouble thread at most; more are dropped (and counted).
pub const QUEUE: usize = 4;

/// How much is kept and dumped, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct TroubleOptions {
    /// The dumps' directory (its parent must be a directory only this user may write).
    pub dir: PathBuf,
    /// How far back the ring reaches (default 10 min).
    pub window: Duration,
    /// The ring's bytes at most (default 64 MiB).
    pub ring_bytes: u64,
    /// A dump stays open this long after its trigger (default 1 min; see the module).
    pub cooldown: Duration,
    /// Dumps kept on disk at most (default 20).
    pub keep_dumps: usize,
    /// Bytes of dumps kept on disk at most (default 1 GiB).
    pub keep_bytes: u64,
    pub triggers: Triggers,
}

impl TroubleOptions {
    /// The defaults, dumping into `dir`.
    pub fn new(dir: PathBuf) -> TroubleOptions {
        TroubleOptions {
            dir,
            window: Duration::from_secs(600),
            ring_bytes: 64 << 20,
            cooldown: Duration::from_secs(60),
            keep_dumps: 20,
            keep_bytes: 1 << 30,
            triggers: Triggers::default(),
        }
    }
}

/// What became of a trigger, or of a dump.
#[derive(Debug, Clone, PartialEq)]
pub enum TroubleReport {
    /// The window before `trigger` is on disk in `dir` (more follows until the cooldown ends).
    Dumped {
        /// The trouble, for a person (`OOM kill`).
        what: String,
        trigger: Event,
        dir: PathBuf,
        /// Frames of the window written.
        frames: usize,
        /// The window's first and last frame's `taken_at_ms`.
        from_ms: u64,
        to_ms: u64,
    },
    /// No dump for `trigger`: `why`.
    Skipped {
        what: String,
        trigger: Event,
        why: String,
    },
    /// The dump for `trigger` could not be made: `why` (with the path and what to do).
    Failed {
        what: String,
        trigger: Event,
        why: String,
    },
    /// Something on the way: a dump cut short, an old dump not removable, a frame not encoded.
    Problem(String),
}

impl TroubleReport {
    /// One line for the status line or stderr.
    pub fn line(&self) -> String {
        match self {
            TroubleReport::Dumped {
                what,
                trigger,
                dir,
                frames,
                from_ms,
                to_ms,
            } => {
                let span = to_ms.saturating_sub(*from_ms) as f64 / 1000.0;
                format!(
                    "{what} in {}: the last {} ({frames} frames) written; isotop replay {}",
                    trigger.subject.name,
                    crate::units::format::duration(span),
                    dir.display()
                )
            }
            TroubleReport::Skipped { what, trigger, why } => {
                format!("{what} in {}: not dumped ({why})", trigger.subject.name)
            }
            TroubleReport::Failed { what, trigger, why } => {
                format!("{what} in {}: no dump ({why})", trigger.subject.name)
            }
            TroubleReport::Problem(why) => format!("trouble dumps: {why}"),
        }
    }
}

/// Where outcomes go (called from the trouble threads).
pub type Report = dyn Fn(&TroubleReport) + Send + Sync;

/// What the trouble recorder holds and has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TroubleStats {
    pub ring: RingStats,
    /// Frames offered while the queue was full (the trouble thread was behind), not kept.
    pub dropped: u64,
    /// Triggers merged into an open dump.
    pub merged: u64,
}

enum Input {
    Frame(Arc<Frame>),
    Flush(mpsc::Sender<()>),
}

/// The ring and its triggers, running (see the module). Dropping it lets its threads end on
/// their own (the open dump is complete up to its last record); [`TroubleRecorder::finish`]
/// waits for them.
pub struct TroubleRecorder {
    input: Option<mpsc::SyncSender<Input>>,
    stats: Arc<Mutex<TroubleStats>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for TroubleRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TroubleRecorder")
            .field("stats", &self.stats())
            .finish()
    }
}

fn lock(stats: &Mutex<TroubleStats>) -> MutexGuard<'_, TroubleStats> {
    // Plain values: a panic elsewhere while holding it leaves them usable.
    stats.lock().unwrap_or_else(|p| p.into_inner())
}

impl TroubleRecorder {
    /// Starts the trouble thread and the writer. The trouble thread first makes the dumps'
    /// directory, where the ring keeps its bytes in unnamed files (`ring`); where it cannot,
    /// the ring stays in memory (a dump then says what is wrong with the directory).
    pub fn start(options: TroubleOptions, report: Arc<Report>) -> std::io::Result<TroubleRecorder> {
        let (input, inbox) = mpsc::sync_channel(QUEUE);
        let (commands, writer_inbox) = mpsc::channel();
        let stats = Arc::new(Mutex::new(TroubleStats::default()));
        let busy = Arc::new(AtomicUsize::new(0));
        let writer_options = options.clone();
        let writer_busy = Arc::clone(&busy);
        let writer_report = Arc::clone(&report);
        let writer = std::thread::Builder::new()
            .name("isotop-trouble-dump".to_string())
            .spawn(move || {
                writer::run(
                    &writer_options,
                    &writer_inbox,
                    &writer_busy,
                    &*writer_report,
                );
            })?;
        let mut worker = Worker {
            ring: Ring::new(options.window, options.ring_bytes),
            options,
            encoder: {
                let mut encoder = Encoder::default();
                encoder.replace_a_first_base_without_rates();
                encoder
            },
            keyframe_ms: None,
            bytes_since_keyframe: 0,
            open_until_ms: None,
            commands,
            busy,
            report,
            stats: Arc::clone(&stats),
            encode_failed: false,
        };
        let worker = std::thread::Builder::new()
            .name("isotop-trouble".to_string())
            .spawn(move || {
                if place::prepare(&worker.options.dir).is_ok() {
                    worker.ring.spill_into(&worker.options.dir);
                }
                while let Ok(input) = inbox.recv() {
                    match input {
                        Input::Frame(frame) => worker.on_frame(&frame),
                        Input::Flush(done) => {
                            let _ = worker.commands.send(Command::Flush(done));
                        }
                    }
                }
            })?;
        Ok(TroubleRecorder {
            input: Some(input),
            stats,
            threads: vec![worker, writer],
        })
    }

    /// Hands `frame` to the trouble thread without waiting; false when it was dropped (the
    /// queue is full) or the thread is gone.
    pub fn offer(&self, frame: Arc<Frame>) -> bool {
        let Some(input) = &self.input else {
            return false;
        };
        match input.try_send(Input::Frame(frame)) {
            Ok(()) => true,
            Err(_) => {
                lock(&self.stats).dropped += 1;
                false
            }
        }
    }

    /// Waits until every frame offered before is kept and every dump it started is written
    /// (for a clean end, and for tests).
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if let Some(input) = &self.input
            && input.send(Input::Flush(done)).is_ok()
        {
            let _ = wait.recv();
        }
    }

    /// Offers a copy of `frame` (made on tokio's blocking pool, so an async loop's thread
    /// never spends a tick's copy) and gives `frame` back; `None` when the runtime is shutting
    /// down.
    pub async fn offer_copy(&self, frame: Frame) -> Option<Frame> {
        let (frame, copy) = tokio::task::spawn_blocking(move || {
            let copy = Arc::new(frame.clone());
            (frame, copy)
        })
        .await
        .ok()?;
        self.offer(copy);
        Some(frame)
    }

    /// What it holds and has done, now.
    pub fn stats(&self) -> TroubleStats {
        *lock(&self.stats)
    }

    /// Ends the threads once they have done what was offered, closing the open dump.
    pub fn finish(mut self) {
        self.input = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The trouble thread's state.
struct Worker {
    options: TroubleOptions,
    ring: Ring,
    encoder: Encoder,
    /// The newest keyframe's time (ms since the Unix epoch) and the bytes encoded since it: the
    /// ring leaves a keyframe's group at once, so a keyframe comes at least every quarter of the
    /// ring's span and of its bytes — the window then always holds three quarters of them.
    keyframe_ms: Option<u64>,
    bytes_since_keyframe: u64,
    /// While a dump is open: the frames' time it closes at.
    open_until_ms: Option<u64>,
    commands: mpsc::Sender<Command>,
    /// Dump starts sent to the writer and not yet written.
    busy: Arc<AtomicUsize>,
    report: Arc<Report>,
    stats: Arc<Mutex<TroubleStats>>,
    encode_failed: bool,
}

impl Worker {
    fn on_frame(&mut self, frame: &Frame) {
        let now_ms = frame.taken_at_ms;
        if self.open_until_ms.is_some_and(|until| now_ms >= until) {
            self.open_until_ms = None;
            let _ = self.commands.send(Command::Close);
        }
        let quarter_ms = u64::try_from(self.options.window.as_millis() / 4).unwrap_or(u64::MAX);
        if self
            .keyframe_ms
            .is_none_or(|at| now_ms.saturating_sub(at) >= quarter_ms)
            || self.bytes_since_keyframe >= self.options.ring_bytes / 4
        {
            self.encoder.force_keyframe();
        }
        let kept = match self.encoder.encode(frame) {
            Ok(encoded) => {
                if encoded.kind == Kind::Keyframe {
                    self.keyframe_ms = Some(now_ms);
                    self.bytes_since_keyframe = 0;
                }
                self.bytes_since_keyframe += encoded.payload.len() as u64;
                self.ring.push(encoded)
            }
            Err(why) => {
                // Once: the same frame shape fails the same way every tick.
                if !std::mem::replace(&mut self.encode_failed, true) {
                    (self.report)(&TroubleReport::Problem(format!(
                        "a frame could not be encoded ({why}); such frames are not kept"
                    )));
                }
                None
            }
        };
        lock(&self.stats).ring = self.ring.stats();
        if let Some(problem) = self.ring.take_problem() {
            (self.report)(&TroubleReport::Problem(problem));
        }
        if self.open_until_ms.is_some()
            && let Some(record) = kept
        {
            let _ = self.commands.send(Command::Append(record));
        }
        let triggers = self.options.triggers;
        for event in frame.events.iter().filter(|e| triggers.fires(e)) {
            self.on_trigger(event, now_ms);
        }
    }

    fn on_trigger(&mut self, event: &Event, now_ms: u64) {
        if self.open_until_ms.is_some() {
            lock(&self.stats).merged += 1;
            return;
        }
        let skipped = |why: String| TroubleReport::Skipped {
            what: trigger::what(event),
            trigger: event.clone(),
            why,
        };
        if self.busy.load(Ordering::Acquire) > 0 {
            (self.report)(&skipped(
                "the last dump is still being written: the disk is slow".to_string(),
            ));
            return;
        }
        let window = self.ring.window();
        if window.is_empty() {
            (self.report)(&skipped(format!(
                "no frame kept: a frame is larger than the ring's {} bytes",
                self.options.ring_bytes
            )));
            return;
        }
        self.busy.fetch_add(1, Ordering::AcqRel);
        let cooldown_ms = u64::try_from(self.options.cooldown.as_millis()).unwrap_or(u64::MAX);
        self.open_until_ms = Some(now_ms.saturating_add(cooldown_ms));
        let _ = self.commands.send(Command::Start {
            trigger: Box::new(event.clone()),
            window,
        });
    }
}

//! The layer sizer: [`host::usage`](crate::host::usage) on a thread of its own, so sizing a
//! container's layers never blocks the dashboard, the sampler, or a CLI that did not ask for it.
//!
//! Contract: [`spawn_sizer`] starts one worker thread that lowers its own priority first — the
//! idle I/O class (`ioprio_set`, what `ionice -c3` does) and nice 19 — and reports what it got
//! ([`WorkerPriority`]). Requests ([`SizerHandle::measure`], [`SizerHandle::forget`]) and
//! results ([`SizeEvent`]) are owned messages over channels: nothing is shared but a cancel flag
//! raised when the handle goes away. Nothing blocks the caller but [`spawn_sizer`] (until the
//! thread has reported its priority), [`SizerHandle::stop`] (until the thread ends, at most a
//! pause slice of 0.1 s or 1,000 entries after it is told) and [`SizerHandle::wait_next`], which
//! only a caller that asked for a size uses. The worker keeps
//! the [`UsageCache`](crate::host::usage::UsageCache): a lower layer is walked once while its
//! directory's key is unchanged, the upper layer at most every
//! [`CachePolicy::upper_every`](crate::host::usage::CachePolicy); a request the cache answers is
//! answered at once. Requests for a path already queued or being walked are merged. Each walk
//! is capped at [`SizerOptions::files_per_second`] and reports progress at most every
//! [`SizerOptions::progress_every`].
//!
//! How the rest of isotop uses it:
//! - the sampler keeps one [`SizerHandle`] when its options ask for sizes (the dashboard's
//!   config does; `sample::stacks::sizes`), started on the first tick with a layer to size; it
//!   asks `measure(upper, LayerKind::Upper)` for each container's writable layer every tick
//!   and `measure(lower, LayerKind::Lower)` for each lower layer (both cheap: answered from
//!   the cache until due), and drains [`SizerHandle::try_next`] into the frame's
//!   `layer_sizes` — `Progress` shows as "sizing… N files", `Sized` fills the RW SIZE column
//!   and the layer list, `Failed` a note;
//! - a CLI given `--size` spawns one with `files_per_second: None` (the user asked; the thread
//!   still runs at idle I/O priority), asks for its layers, and calls `wait_next` until each
//!   has answered, printing progress to stderr; without `--size` it spawns none.

mod worker;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::host::usage::{Budget, CachePolicy, Cancel, LayerKind, Usage, UsageError};

/// How the worker sizes.
#[derive(Debug, Clone)]
pub struct SizerOptions {
    /// Entries examined per second per walk at most; `None`: no cap (a size the user asked
    /// for). The default, 20,000/s, sizes a 100,000-file layer in about 5 s.
    pub files_per_second: Option<NonZeroU32>,
    /// Directory levels entered below a layer's root.
    pub max_depth: usize,
    /// How long sizes stay fresh.
    pub cache: CachePolicy,
    /// `Progress` events of one walk at most this often.
    pub progress_every: Duration,
}

impl Default for SizerOptions {
    fn default() -> Self {
        SizerOptions {
            files_per_second: NonZeroU32::new(20_000),
            max_depth: Budget::DEFAULT_MAX_DEPTH,
            cache: CachePolicy::default(),
            progress_every: Duration::from_millis(250),
        }
    }
}

/// What the worker reports.
#[derive(Debug)]
pub enum SizeEvent {
    /// A walk under way: figures so far.
    Progress { path: PathBuf, so_far: Usage },
    /// A layer's size, walked now (`cached: false`, taking `took`) or remembered.
    Sized {
        path: PathBuf,
        kind: LayerKind,
        usage: Usage,
        cached: bool,
        took: Duration,
    },
    /// The layer could not be sized (gone, not a directory, forgotten while walked:
    /// [`UsageError::Cancelled`]).
    Failed {
        path: PathBuf,
        kind: LayerKind,
        error: UsageError,
    },
}

/// The priority the worker thread runs at, as it read it back after lowering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerPriority {
    /// The worker's thread id (`/proc/self/task/<tid>`, `ionice -p <tid>`).
    pub tid: i32,
    /// True when the idle I/O class was set.
    pub io_idle: bool,
    /// Its nice value (19 when lowering worked).
    pub nice: i32,
}

/// A request to the worker.
#[derive(Debug)]
enum Command {
    Measure { path: PathBuf, kind: LayerKind },
    Forget { path: PathBuf },
}

/// The caller's end of the sizer; dropping it stops the worker without waiting for it (the
/// walk under way is cancelled within one pause slice, 0.1 s, or 1,000 entries).
#[derive(Debug)]
pub struct SizerHandle {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<SizeEvent>,
    shutdown: Cancel,
    priority: WorkerPriority,
    thread: Option<JoinHandle<()>>,
}

/// Starts the worker thread.
pub fn spawn_sizer(options: SizerOptions) -> std::io::Result<SizerHandle> {
    let (commands, command_rx) = mpsc::channel();
    let (event_tx, events) = mpsc::channel();
    let (priority_tx, priority_rx) = mpsc::sync_channel(1);
    let shutdown = Cancel::new();
    let worker_shutdown = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name("isotop-sizer".into())
        .spawn(move || {
            let _ = priority_tx.send(worker::lower_priority());
            worker::run(options, command_rx, event_tx, worker_shutdown);
        })?;
    let priority = priority_rx
        .recv()
        .map_err(|_| std::io::Error::other("the sizer thread ended before it started (a bug)"))?;
    Ok(SizerHandle {
        commands,
        events,
        shutdown,
        priority,
        thread: Some(thread),
    })
}

impl SizerHandle {
    /// Asks for the size of the layer directory `path`. Never blocks.
    pub fn measure(&self, path: impl Into<PathBuf>, kind: LayerKind) {
        let path = path.into();
        // A send fails only once the worker ended; `try_next` then returns nothing more.
        let _ = self.commands.send(Command::Measure { path, kind });
    }

    /// Drops a queued request for `path`, and cancels its walk if it is under way (answered
    /// with [`UsageError::Cancelled`]). Never blocks.
    pub fn forget(&self, path: impl Into<PathBuf>) {
        let _ = self.commands.send(Command::Forget { path: path.into() });
    }

    /// The next event if one is ready. Never blocks.
    pub fn try_next(&self) -> Option<SizeEvent> {
        self.events.try_recv().ok()
    }

    /// Waits up to `timeout` for the next event; `None` on timeout or when the worker ended.
    /// Blocks the caller: for a CLI that asked for sizes.
    pub fn wait_next(&self, timeout: Duration) -> Option<SizeEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The priority the worker runs at.
    pub fn priority(&self) -> WorkerPriority {
        self.priority
    }

    /// Stops the worker and waits for its thread to end (a walk under way stops within one
    /// pause slice, 0.1 s, or 1,000 entries).
    pub fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let (commands, _) = mpsc::channel();
            drop(std::mem::replace(&mut self.commands, commands));
            let _ = thread.join();
        }
    }
}

impl Drop for SizerHandle {
    /// Raises the cancel flag; the worker ends on its own (dropping never waits).
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

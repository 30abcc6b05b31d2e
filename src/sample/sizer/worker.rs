//! The sizer's thread: lowers its priority, then serves requests one walk at a time, keeping
//! the cache. While a walk runs, the requests that arrive are queued (merged by path) from the
//! walk's observer, and the rate cap's pauses wait on the request channel, so a `Forget` or
//! the handle going away cancels the walk at once.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use super::{Command, SizeEvent, SizerOptions, WorkerPriority};
use crate::host::usage::{
    Budget, Cancel, LayerKey, LayerKind, Lookup, Observer, Usage, UsageCache, dir_usage_observed,
};

/// The lowest CPU priority (`nice -n 19`).
const NICE_LOWEST: i32 = 19;

/// Puts the calling thread in the idle I/O class and at nice 19; reports what it got (a
/// refusal leaves the thread as it was: sizing still works, only less politely).
pub(super) fn lower_priority() -> WorkerPriority {
    let io_idle = crate::sys::ioprio::set_idle_self().is_ok();
    // On Linux, PRIO_PROCESS with who 0 is the calling thread alone.
    let _ = rustix::process::setpriority_process(None, NICE_LOWEST);
    WorkerPriority {
        tid: nix::unistd::gettid().as_raw(),
        io_idle,
        nice: rustix::process::getpriority_process(None).unwrap_or(0),
    }
}

/// One queued request.
struct Job {
    path: PathBuf,
    kind: LayerKind,
}

/// Serves requests until the handle is gone. A panic (a bug) ends the thread, which closes the
/// event channel: the handle's callers see no more events, the UI stays up.
pub(super) fn run(
    options: SizerOptions,
    commands: Receiver<Command>,
    events: Sender<SizeEvent>,
    shutdown: Cancel,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        Worker {
            cache: UsageCache::new(options.cache),
            options,
            commands,
            events,
            shutdown,
            queue: VecDeque::new(),
        }
        .serve()
    }));
}

struct Worker {
    options: SizerOptions,
    cache: UsageCache,
    commands: Receiver<Command>,
    events: Sender<SizeEvent>,
    shutdown: Cancel,
    queue: VecDeque<Job>,
}

impl Worker {
    fn serve(&mut self) {
        loop {
            if self.queue.is_empty() {
                match self.commands.recv() {
                    Ok(command) => enqueue(&mut self.queue, command),
                    Err(_) => return,
                }
            }
            loop {
                match self.commands.try_recv() {
                    Ok(command) => enqueue(&mut self.queue, command),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if self.shutdown.is_cancelled() {
                return;
            }
            if let Some(job) = self.queue.pop_front() {
                self.size(job);
            }
        }
    }

    /// Answers one request, from the cache or by a walk.
    fn size(&mut self, job: Job) {
        let Job { path, kind } = job;
        let key = match LayerKey::of(&path) {
            Ok(key) => key,
            Err(error) => {
                let _ = self.events.send(SizeEvent::Failed { path, kind, error });
                return;
            }
        };
        if let Lookup::Fresh(measured) = self.cache.lookup(&key, kind, Instant::now()) {
            let _ = self.events.send(SizeEvent::Sized {
                path,
                kind,
                usage: measured.usage,
                cached: true,
                took: Duration::ZERO,
            });
            return;
        }
        let budget = Budget {
            files_per_second: self.options.files_per_second,
            max_depth: self.options.max_depth,
            cancel: Cancel::new(),
        };
        let started = Instant::now();
        let mut observer = Walking {
            path: &path,
            cancel: budget.cancel.clone(),
            shutdown: &self.shutdown,
            commands: &self.commands,
            queue: &mut self.queue,
            events: &self.events,
            progress_every: self.options.progress_every,
            last_progress: started,
        };
        let result = dir_usage_observed(&path, &budget, &mut observer);
        let event = match result {
            Ok(usage) => {
                self.cache.store(key, usage, Instant::now());
                SizeEvent::Sized {
                    path,
                    kind,
                    usage,
                    cached: false,
                    took: started.elapsed(),
                }
            }
            Err(error) => {
                self.cache.forget(&key);
                SizeEvent::Failed { path, kind, error }
            }
        };
        if !self.shutdown.is_cancelled() {
            let _ = self.events.send(event);
        }
    }
}

/// Adds a request to the queue, merging it with one for the same path; a `Forget` drops it.
fn enqueue(queue: &mut VecDeque<Job>, command: Command) {
    match command {
        Command::Measure { path, kind } => {
            if !queue.iter().any(|job| job.path == path) {
                queue.push_back(Job { path, kind });
            }
        }
        Command::Forget { path } => queue.retain(|job| job.path != path),
    }
}

/// The observer of one walk: takes requests in while it runs, cancels it when told.
struct Walking<'a> {
    path: &'a Path,
    cancel: Cancel,
    shutdown: &'a Cancel,
    commands: &'a Receiver<Command>,
    queue: &'a mut VecDeque<Job>,
    events: &'a Sender<SizeEvent>,
    progress_every: Duration,
    last_progress: Instant,
}

impl Walking<'_> {
    fn take(&mut self, command: Command) {
        match command {
            Command::Forget { path } if path == self.path => self.cancel.cancel(),
            // The walk under way answers a request for its own path.
            Command::Measure { path, .. } if path == self.path => {}
            other => enqueue(self.queue, other),
        }
    }

    fn stop(&mut self) {
        self.cancel.cancel();
        self.shutdown.cancel();
    }
}

impl Observer for Walking<'_> {
    fn progress(&mut self, so_far: &Usage) {
        loop {
            match self.commands.try_recv() {
                Ok(command) => self.take(command),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return self.stop(),
            }
        }
        if self.shutdown.is_cancelled() {
            return self.stop();
        }
        if self.last_progress.elapsed() >= self.progress_every {
            self.last_progress = Instant::now();
            let _ = self.events.send(SizeEvent::Progress {
                path: self.path.to_path_buf(),
                so_far: *so_far,
            });
        }
    }

    /// Waits on the request channel: a request or the handle's end interrupts the pause.
    fn pause(&mut self, duration: Duration) {
        if self.shutdown.is_cancelled() {
            return self.stop();
        }
        match self.commands.recv_timeout(duration) {
            Ok(command) => self.take(command),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.stop(),
        }
    }
}

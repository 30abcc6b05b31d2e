//! The log feed: a container's log read for the log pane, off the app loop. The app asks with
//! a [`LogRequest`] (`App::take_log_request`); the loop opens a [`LogFeed`] (one at a time:
//! opening another or closing drops the last) and hands each [`LogMessage`] back to the app
//! (`App::on_log_lines`, `on_log_unavailable`, `on_log_stopped`), as it does frames.
//!
//! A feed is a thread of its own: it locates the log ([`LogSource::locate`]; a runtime that
//! keeps no file is said so, with how to get one, and the feed ends), starts following it at
//! its end, takes the last [`BACKLOG_LINES`] before that from the follower (each line once), then
//! sends what the follower finds,
//! in batches at most every [`BATCH`] (a chatty log redraws the dashboard ten times a second,
//! not once a line). It ends when its [`LogFeed`] is dropped (within one [`POLL`]) or reading
//! fails. Lines come as the reader gives them; the app cleans them before they are drawn.
//!
//! The reading itself is the read side's (`host::logs`: `locate`, `follow`), behind
//! the small [`LogSource`] boundary so tests feed fixture lines; [`HostLogs`] is the host's.
//! A remote host's log is read by its agent with the same feed and comes over the agent's
//! connection ([`LogFeed::from_channel`], `remote::client`): one login, the lines with their
//! times and streams as read, the agent's own feed on its host.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::app::App;
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::logs::{LogFiles, LogFollower, LogLine, LogLocation, LogQuery};

/// Lines read from before the pane opened.
pub const BACKLOG_LINES: usize = 2_000;

/// The most lines a backlog reaching back to a time holds: a line a second for almost three
/// hours, well past the charts' history (the pane keeps 20,000).
pub const BACKLOG_LINES_SINCE: usize = 10_000;

/// How long before the asked time a backlog starts: the lines leading up to it, ms.
pub const SINCE_CONTEXT_MS: u64 = 60_000;

/// How long one wait for new lines lasts: a dropped feed ends within it.
pub const POLL: Duration = Duration::from_millis(200);

/// How long new lines gather before they are sent.
pub const BATCH: Duration = Duration::from_millis(100);

/// Lines one batch holds at most (more wait for the next).
const BATCH_LINES: usize = 5_000;

/// Batches in flight to the app loop before the feed waits for it.
const QUEUE: usize = 16;

/// What the app asks of the log feed.
#[derive(Debug, Clone, PartialEq)]
pub enum LogRequest {
    /// Read and follow this container's log (closing any other feed). With `since_ms` (the
    /// charts' cursor), the backlog reaches back to that time: every line from a minute
    /// before it ([`SINCE_CONTEXT_MS`]), up to [`BACKLOG_LINES_SINCE`] of the newest, instead
    /// of the last [`BACKLOG_LINES`].
    Open {
        container: Box<Container>,
        since_ms: Option<u64>,
    },
    /// The pane closed: stop reading.
    Close { container_id: String },
}

impl LogRequest {
    pub fn container_id(&self) -> &str {
        match self {
            LogRequest::Open { container, .. } => &container.id,
            LogRequest::Close { container_id } => container_id,
        }
    }
}

/// What a feed sends the app loop.
#[derive(Debug, Clone, PartialEq)]
pub enum LogMessage {
    /// New lines, oldest first (the first batch: the backlog, maybe empty).
    Lines {
        container_id: String,
        lines: Vec<LogLine>,
    },
    /// The runtime keeps no file to read.
    Unavailable {
        container_id: String,
        reason: String,
        hint: String,
    },
    /// Reading failed; the feed ended.
    Stopped { container_id: String, why: String },
}

impl LogMessage {
    /// Hands the message to the app.
    pub fn apply(self, app: &mut App) {
        match self {
            LogMessage::Lines {
                container_id,
                lines,
            } => app.on_log_lines(&container_id, lines),
            LogMessage::Unavailable {
                container_id,
                reason,
                hint,
            } => app.on_log_unavailable(&container_id, reason, hint),
            LogMessage::Stopped { container_id, why } => app.on_log_stopped(&container_id, why),
        }
    }
}

/// How a feed reads a log: the host's files ([`HostLogs`]) or a test's lines.
pub trait LogSource: Send + Sync + 'static {
    /// Where `container`'s log is, or why there is none.
    fn locate(&self, container: &Container) -> LogLocation;
    /// A follower of the log from its end.
    fn follow(&self, files: &LogFiles) -> Result<Box<dyn LogTail>, String>;
}

/// A log followed: the lines written since the last call.
pub trait LogTail: Send {
    /// The last `tail` lines written before following began (those logged at or after
    /// `since_ns` when given), oldest first: exactly those the polls will not give (no line
    /// lost or given twice).
    fn backlog(&mut self, tail: usize, since_ns: Option<u64>) -> Result<Vec<LogLine>, String>;
    /// Waits up to `timeout` for new lines (empty when none came).
    fn poll(&mut self, timeout: Duration) -> Result<Vec<LogLine>, String>;
}

/// The host's log files, read by `host::logs`.
#[derive(Debug, Clone)]
pub struct HostLogs {
    pub root: HostRoot,
}

impl LogSource for HostLogs {
    fn locate(&self, container: &Container) -> LogLocation {
        crate::host::logs::locate(&self.root, container)
    }

    fn follow(&self, files: &LogFiles) -> Result<Box<dyn LogTail>, String> {
        crate::host::logs::follow(files, true)
            .map(|follower| Box::new(follower) as Box<dyn LogTail>)
            .map_err(|e| e.to_string())
    }
}

impl LogTail for LogFollower {
    fn backlog(&mut self, tail: usize, since_ns: Option<u64>) -> Result<Vec<LogLine>, String> {
        let query = LogQuery {
            since_ns,
            until_ns: None,
            stream: None,
            tail: Some(tail),
        };
        let mut lines = Vec::new();
        LogFollower::backlog(self, &query, |line| {
            lines.push(line);
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
        Ok(lines)
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<LogLine>, String> {
        LogFollower::poll(self, timeout).map_err(|e| e.to_string())
    }
}

/// One container's log being read on a thread of its own (or, for a remote host, by its
/// agent: [`LogFeed::from_channel`]); dropping it ends the reading.
pub struct LogFeed {
    container_id: String,
    messages: mpsc::Receiver<LogMessage>,
    stop: Arc<AtomicBool>,
    /// Run once when the feed is dropped (a remote feed tells its agent to stop reading).
    on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for LogFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFeed")
            .field("container_id", &self.container_id)
            .finish_non_exhaustive()
    }
}

impl LogFeed {
    /// Starts reading `container`'s log through `source`, its backlog reaching back to
    /// `since_ms` when given (see [`LogRequest::Open`]).
    pub fn open(
        source: Arc<dyn LogSource>,
        container: Container,
        since_ms: Option<u64>,
    ) -> std::io::Result<LogFeed> {
        let (sender, messages) = Self::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let container_id = container.id.clone();
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("isotop-logs".to_string())
            .spawn(move || feed(&*source, &container, since_ms, &sender, &thread_stop))?;
        Ok(LogFeed {
            container_id,
            messages,
            stop,
            on_close: None,
        })
    }

    /// The channel a feed's messages come by (bounded: a reader ahead of the app waits).
    pub fn channel() -> (mpsc::Sender<LogMessage>, mpsc::Receiver<LogMessage>) {
        mpsc::channel(QUEUE)
    }

    /// A feed whose messages someone else sends (a remote host's agent, through its
    /// connection); `on_close` runs once when it is dropped.
    pub fn from_channel(
        container_id: String,
        messages: mpsc::Receiver<LogMessage>,
        on_close: impl FnOnce() + Send + 'static,
    ) -> LogFeed {
        LogFeed {
            container_id,
            messages,
            stop: Arc::new(AtomicBool::new(false)),
            on_close: Some(Box::new(on_close)),
        }
    }

    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// The next message; `None` once the feed has ended and every message was taken.
    pub async fn next(&mut self) -> Option<LogMessage> {
        self.messages.recv().await
    }

    /// As [`LogFeed::next`], blocking the thread (for a caller outside the async loop: the
    /// remote agent forwarding lines to its dashboard).
    pub fn blocking_next(&mut self) -> Option<LogMessage> {
        self.messages.blocking_recv()
    }
}

impl Drop for LogFeed {
    fn drop(&mut self) {
        // The thread sees it after its current wait (at most `POLL`); a send it is blocked on
        // fails at once, the receiver being gone.
        self.stop.store(true, Ordering::Relaxed);
        if let Some(on_close) = self.on_close.take() {
            on_close();
        }
    }
}

/// The feed's thread: locate, follow, backlog, then batches until stopped or failed.
fn feed(
    source: &dyn LogSource,
    container: &Container,
    since_ms: Option<u64>,
    sender: &mpsc::Sender<LogMessage>,
    stop: &AtomicBool,
) {
    let container_id = container.id.clone();
    let stopped = |why: String| {
        let _ = sender.blocking_send(LogMessage::Stopped {
            container_id: container_id.clone(),
            why,
        });
    };
    let lines = |lines: Vec<LogLine>| {
        sender
            .blocking_send(LogMessage::Lines {
                container_id: container_id.clone(),
                lines,
            })
            .is_ok()
    };
    let files = match source.locate(container) {
        LogLocation::Files(files) => files,
        LogLocation::NoFile { reason, hint } => {
            let _ = sender.blocking_send(LogMessage::Unavailable {
                container_id: container_id.clone(),
                reason,
                hint,
            });
            return;
        }
    };
    // The follower gives the lines before it began (its backlog) and every line after, each
    // once: following starts first, so nothing falls between the two.
    let mut tail = match source.follow(&files) {
        Ok(tail) => tail,
        Err(why) => return stopped(why),
    };
    let since_ns = since_ms.map(|ms| {
        ms.saturating_sub(SINCE_CONTEXT_MS)
            .saturating_mul(1_000_000)
    });
    let most = if since_ns.is_some() {
        BACKLOG_LINES_SINCE
    } else {
        BACKLOG_LINES
    };
    let backlog = match tail.backlog(most, since_ns) {
        Ok(backlog) => backlog,
        Err(why) => return stopped(why),
    };
    if !lines(backlog) {
        return;
    }
    while !stop.load(Ordering::Relaxed) {
        let mut batch = match tail.poll(POLL) {
            Ok(batch) => batch,
            Err(why) => return stopped(why),
        };
        if batch.is_empty() {
            continue;
        }
        let until = Instant::now() + BATCH;
        let mut failed = None;
        while batch.len() < BATCH_LINES && !stop.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tail.poll(left) {
                Ok(more) if more.is_empty() => break,
                Ok(more) => batch.extend(more),
                Err(why) => {
                    failed = Some(why);
                    break;
                }
            }
        }
        if !batch.is_empty() && !lines(batch) {
            return;
        }
        if let Some(why) = failed {
            return stopped(why);
        }
    }
}

#[cfg(test)]
mod tests;

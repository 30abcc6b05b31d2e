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
mod tests {
    use super::*;
    use crate::host::logs::{LogFormat, LogStream};
    use std::sync::Mutex;

    fn line(n: u64) -> LogLine {
        LogLine {
            at_ns: Some(n),
            stream: Some(LogStream::Stdout),
            text: format!("line {n}"),
            cut: false,
        }
    }

    /// A log of `backlog` lines, then `batches` one per poll.
    struct Fixture {
        files: LogLocation,
        backlog: Vec<LogLine>,
        batches: Arc<Mutex<Vec<Vec<LogLine>>>>,
    }

    struct FixtureTail(Vec<LogLine>, Arc<Mutex<Vec<Vec<LogLine>>>>);

    impl LogTail for FixtureTail {
        fn backlog(&mut self, tail: usize, since_ns: Option<u64>) -> Result<Vec<LogLine>, String> {
            let since: Vec<LogLine> = self
                .0
                .iter()
                .filter(|l| since_ns.is_none_or(|s| l.at_ns.is_none_or(|at| at >= s)))
                .cloned()
                .collect();
            Ok(since[since.len().saturating_sub(tail)..].to_vec())
        }
        fn poll(&mut self, timeout: Duration) -> Result<Vec<LogLine>, String> {
            let mut batches = self.1.lock().map_err(|e| e.to_string())?;
            if batches.is_empty() {
                drop(batches);
                std::thread::sleep(timeout.min(Duration::from_millis(5)));
                return Ok(Vec::new());
            }
            let next = batches.remove(0);
            if next.is_empty() {
                return Err("the log's directory was removed".to_string());
            }
            Ok(next)
        }
    }

    impl LogSource for Fixture {
        fn locate(&self, _container: &Container) -> LogLocation {
            self.files.clone()
        }
        fn follow(&self, _files: &LogFiles) -> Result<Box<dyn LogTail>, String> {
            Ok(Box::new(FixtureTail(
                self.backlog.clone(),
                self.batches.clone(),
            )))
        }
    }

    fn container() -> Container {
        Container {
            id: "web".into(),
            name: "web".into(),
            runtime: crate::host::container::Runtime::Runc,
            image: None,
            init_pid: Some(200),
            pids: vec![200],
            cgroups: Vec::new(),
            cgroup_path: None,
            namespaces: Default::default(),
            shared_with_host: Vec::new(),
            pod: None,
            labels: Default::default(),
            metadata: None,
            start_ticks: None,
            running: true,
            trust: crate::host::container::Trust::root(),
        }
    }

    fn files() -> LogLocation {
        LogLocation::Files(LogFiles {
            format: LogFormat::DockerJsonFile,
            current: "/var/lib/docker/containers/web/web-json.log".into(),
            rotated: Vec::new(),
        })
    }

    fn messages(source: Fixture, until: impl Fn(&[LogMessage]) -> bool) -> Vec<LogMessage> {
        messages_since(source, None, until)
    }

    fn messages_since(
        source: Fixture,
        since_ms: Option<u64>,
        until: impl Fn(&[LogMessage]) -> bool,
    ) -> Vec<LogMessage> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut feed = LogFeed::open(Arc::new(source), container(), since_ms).unwrap();
            assert_eq!(feed.container_id(), "web");
            let mut got = Vec::new();
            while !until(&got) {
                let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await;
                match next.expect("the feed answers within 10 s") {
                    Some(message) => got.push(message),
                    None => break,
                }
            }
            got
        })
    }

    #[test]
    fn sends_the_backlog_then_new_lines_then_the_failure() {
        let source = Fixture {
            files: files(),
            backlog: (0..3000).map(line).collect(),
            batches: Arc::new(Mutex::new(vec![
                vec![line(3000)],
                vec![line(3001)],
                Vec::new(),
            ])),
        };
        let got = messages(source, |got| {
            got.iter().any(|m| matches!(m, LogMessage::Stopped { .. }))
        });
        let LogMessage::Lines { lines, .. } = &got[0] else {
            panic!("{got:?}");
        };
        assert_eq!(lines.len(), BACKLOG_LINES);
        assert_eq!(lines.first(), Some(&line(1000)));
        let later: Vec<u64> = got[1..]
            .iter()
            .filter_map(|m| match m {
                LogMessage::Lines { lines, .. } => Some(lines.iter().filter_map(|l| l.at_ns)),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(later, [3000, 3001]);
        assert_eq!(
            got.last(),
            Some(&LogMessage::Stopped {
                container_id: "web".into(),
                why: "the log's directory was removed".into()
            })
        );
    }

    #[test]
    fn a_backlog_asked_from_a_time_reaches_back_to_it() {
        // A line a second for 20,000 s (at_ns in seconds' worth of ns).
        let second = |n: u64| LogLine {
            at_ns: Some(n * 1_000_000_000),
            ..line(n)
        };
        let log: Vec<LogLine> = (0..20_000).map(second).collect();
        let backlog = |since_ms: u64| {
            let source = Fixture {
                files: files(),
                backlog: log.clone(),
                batches: Arc::default(),
            };
            let got = messages_since(source, Some(since_ms), |got| !got.is_empty());
            match &got[0] {
                LogMessage::Lines { lines, .. } => lines.clone(),
                other => panic!("{other:?}"),
            }
        };
        // From 15,000 s: a minute before it on, 5,060 lines — more than the usual 2,000.
        let lines = backlog(15_000_000);
        assert_eq!(lines.first(), Some(&second(14_940)));
        assert_eq!(lines.len(), 5_060);
        // From 5,000 s: more than BACKLOG_LINES_SINCE since then, the newest of them.
        let lines = backlog(5_000_000);
        assert_eq!(lines.len(), BACKLOG_LINES_SINCE);
        assert_eq!(lines.first(), Some(&second(10_000)));
    }

    #[test]
    fn a_runtime_without_a_file_is_said_so() {
        let source = Fixture {
            files: LogLocation::NoFile {
                reason: "logs go to journald".into(),
                hint: "--log-driver json-file".into(),
            },
            backlog: Vec::new(),
            batches: Arc::default(),
        };
        let got = messages(source, |got| !got.is_empty());
        assert_eq!(
            got,
            [LogMessage::Unavailable {
                container_id: "web".into(),
                reason: "logs go to journald".into(),
                hint: "--log-driver json-file".into(),
            }]
        );
    }
}

//! The feed on a fixture source: the backlog, then new lines, then a failure that ends it; a
//! backlog asked from a time reaching back to it; a runtime without a file said so.

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
        cgroups: std::sync::Arc::from([]),
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

//! `isotop logs [-f] [-n N] [--since TIME] [--until TIME] [--timestamps] [--stream S] TARGET`:
//! a container's output, of any runtime, from the log files its runtime keeps
//! (`host::logs`): stdout lines to stdout, stderr lines to stderr, control characters other than
//! tab replaced (the text came from the container), a line cut at `host::logs::MAX_LINE_BYTES`
//! ending in [`CUT_MARKER`]. `-f` follows the log across rotation until the container exits
//! (isotop's own: its record says so; others: its init is gone), then prints what the runtime
//! still wrote. A container whose runtime keeps no file is an error (exit 1) saying why and how
//! to get one; bad times are the user's mistake (exit 2).

use std::io::{BufWriter, Stderr, Stdout, Write};
use std::ops::ControlFlow;
use std::time::Duration;

use super::{CliError, LogsArgs, LogsStream, target};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::logs::time::format_rfc3339_ns;
use crate::host::logs::{
    LogFiles, LogLine, LogLocation, LogQuery, LogStream, MAX_LINE_BYTES, ReadSummary, follow,
    locate, read_each,
};
use crate::host::process::read_stat;
use crate::host::runtime::Runtime;
use crate::host::scan::{ScanOptions, scan};
use crate::host::text::clean_lines;
use crate::launch::store::{Status, read_record};
use crate::units::now_ms;

/// What ends a line that was cut.
pub(crate) const CUT_MARKER: &str = "…[cut: longer than 65536 bytes]";
const _: () = assert!(MAX_LINE_BYTES == 65_536, "CUT_MARKER names the cut length");

/// How long `-f` waits for output before it looks whether the container still runs.
const FOLLOW_STEP: Duration = Duration::from_millis(500);

/// After the container ended: how long the log must stay quiet before `-f` returns (a
/// runtime copies its last output after the process is gone).
const DRAIN_QUIET: Duration = Duration::from_millis(300);

/// `isotop logs`.
pub(crate) fn run(root: &HostRoot, args: &LogsArgs) -> Result<(), CliError> {
    let query = query(args, now_ms().saturating_mul(1_000_000))?;
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let view = target::resolve(&snapshot.containers, &args.target)?;
    let container = &view.container;
    let files = match locate(root, container) {
        LogLocation::Files(files) => files,
        LogLocation::NoFile { reason, hint } => {
            return Err(CliError::Unavailable(format!(
                "{} ({}) has no log file to read: {reason}\nhint: {hint}",
                container.name, container.runtime
            )));
        }
    };
    let mut out = Printer::new(args.timestamps);
    if args.follow {
        let result = follow_until_exit(root, container, &files, &query, &mut out);
        out.flush();
        return result;
    }
    let read = read_each(&files, &query, |line| out.print(&line));
    // The log's own lines first, then what isotop says about it.
    out.flush();
    report(&read.map_err(log_error)?);
    Ok(())
}

fn log_error(e: crate::host::logs::LogError) -> CliError {
    CliError::Unavailable(e.to_string())
}

/// The query the arguments ask for; times relative to `now_ns`.
fn query(args: &LogsArgs, now_ns: u64) -> Result<LogQuery, CliError> {
    let time = |flag: &str, text: &Option<String>| -> Result<Option<u64>, CliError> {
        text.as_deref()
            .map(|text| super::moment::moment_ns(flag, text, now_ns))
            .transpose()
    };
    let query = LogQuery {
        since_ns: time("--since", &args.since)?,
        until_ns: time("--until", &args.until)?,
        stream: args.stream.map(|s| match s {
            LogsStream::Stdout => LogStream::Stdout,
            LogsStream::Stderr => LogStream::Stderr,
        }),
        tail: args.tail,
    };
    if let (Some(since), Some(until)) = (query.since_ns, query.until_ns)
        && since > until
    {
        return Err(CliError::Usage(
            "--since is after --until: no line can be in between".into(),
        ));
    }
    Ok(query)
}

/// Says on stderr what was skipped or not read.
fn report(summary: &ReadSummary) {
    if summary.skipped > 0 {
        eprintln!(
            "isotop: {} records of the log were not log records: skipped",
            summary.skipped
        );
    }
    for note in &summary.notes {
        eprintln!("isotop: {}", clean_lines(note));
    }
}

/// How `-f` sees the container end.
enum ExitWatch {
    /// isotop's own: its record's status (the supervisor logs everything before it records
    /// the exit).
    Isotop(String),
    /// Its init, by pid and start time (a reused pid is another process).
    Init { pid: i32, start_ticks: Option<u64> },
    /// Not running: nothing more will be written.
    Stopped,
}

impl ExitWatch {
    fn new(c: &Container) -> ExitWatch {
        match (c.runtime, c.init_pid) {
            (Runtime::Isotop, _) => ExitWatch::Isotop(c.id.clone()),
            (_, Some(pid)) if c.running => ExitWatch::Init {
                pid,
                start_ticks: c.start_ticks,
            },
            _ => ExitWatch::Stopped,
        }
    }

    fn ended(&self, root: &HostRoot) -> bool {
        match self {
            ExitWatch::Isotop(id) => match read_record(root, id) {
                Ok(Some(record)) => matches!(record.status, Status::Exited | Status::Failed),
                // Removed, or unreadable: nothing to wait for.
                Ok(None) | Err(_) => true,
            },
            ExitWatch::Init { pid, start_ticks } => match read_stat(root, *pid, &mut Vec::new()) {
                Ok(Some(stat)) => {
                    stat.state == 'Z' || start_ticks.is_some_and(|t| t != stat.start_ticks)
                }
                _ => true,
            },
            ExitWatch::Stopped => true,
        }
    }
}

/// `-f`: the backlog the query asks for, then every new line until the container ended and
/// its log went quiet.
fn follow_until_exit(
    root: &HostRoot,
    container: &Container,
    files: &LogFiles,
    query: &LogQuery,
    out: &mut Printer,
) -> Result<(), CliError> {
    let mut follower = follow(files, true).map_err(log_error)?;
    let summary = follower
        .backlog(query, |line| out.print(&line))
        .map_err(log_error)?;
    out.flush();
    report(&summary);
    let exit = ExitWatch::new(container);
    loop {
        // Whether it ended is asked before the log is read: what it wrote before is there.
        let ended = exit.ended(root);
        let lines = follower
            .poll(if ended { DRAIN_QUIET } else { FOLLOW_STEP })
            .map_err(log_error)?;
        for note in follower.take_notes() {
            eprintln!("isotop: {}", clean_lines(&note));
        }
        for line in lines.iter().filter(|l| query.admits_line(l)) {
            if out.print(line).is_break() {
                return Ok(());
            }
        }
        out.flush();
        if ended && lines.is_empty() {
            for line in follower.finish().iter().filter(|l| query.admits_line(l)) {
                if out.print(line).is_break() {
                    break;
                }
            }
            return Ok(());
        }
    }
}

/// Writes lines to stdout or stderr by their stream, buffered, keeping their order where
/// both go to one terminal (a switch of stream flushes the other).
struct Printer {
    timestamps: bool,
    stdout: BufWriter<Stdout>,
    stderr: BufWriter<Stderr>,
    last: Option<LogStream>,
}

impl Printer {
    fn new(timestamps: bool) -> Printer {
        Printer {
            timestamps,
            stdout: BufWriter::new(std::io::stdout()),
            stderr: BufWriter::new(std::io::stderr()),
            last: None,
        }
    }

    /// The line as printed: time, cleaned text (a stray line break too), the cut marker.
    fn render(&self, line: &LogLine) -> String {
        let mut text = String::with_capacity(line.text.len() + 48);
        if self.timestamps {
            match line.at_ns {
                Some(ns) => text.push_str(&format_rfc3339_ns(ns)),
                None => text.push('-'),
            }
            text.push(' ');
        }
        text.extend(
            clean_lines(&line.text)
                .chars()
                .map(|c| if c == '\n' { '?' } else { c }),
        );
        if line.cut {
            text.push_str(CUT_MARKER);
        }
        text.push('\n');
        text
    }

    /// Prints a line; `Break` once the reader is gone (a closed pipe).
    fn print(&mut self, line: &LogLine) -> ControlFlow<()> {
        let text = self.render(line);
        let stream = line.stream.unwrap_or(LogStream::Stdout);
        if self.last.is_some_and(|last| last != stream) {
            self.flush();
        }
        self.last = Some(stream);
        let written = match stream {
            LogStream::Stdout => self.stdout.write_all(text.as_bytes()),
            LogStream::Stderr => self.stderr.write_all(text.as_bytes()),
        };
        if written.is_err() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn flush(&mut self) {
        let _ = self.stdout.flush();
        let _ = self.stderr.flush();
    }
}

#[cfg(test)]
mod tests;

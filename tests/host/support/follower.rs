//! `isotop events --follow --json --interval 0.3` as a child of a test: each line of its
//! stdout parsed on a reader thread and sent on a channel (a line that is not JSON is kept as
//! a string, so no event matches it and a failure's list of lines shows it), and waiting for a
//! line that matches.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::{self, ChildGuard};

/// Starts the follower with `args` after `--follow --json --interval 0.3` and its stderr to
/// `stderr`; `on_first_line` runs on the reader thread with the follower's pid the moment its
/// first line comes, before the line is sent.
pub fn follow_events(
    args: &[&str],
    stderr: Stdio,
    on_first_line: impl FnOnce(i32) + Send + 'static,
) -> (ChildGuard, mpsc::Receiver<Value>) {
    let mut follower = ChildGuard::spawn(
        common::isotop()
            .args(["events", "--follow", "--json", "--interval", "0.3"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr),
    );
    let pid = follower.pid();
    let stdout = follower.0.stdout.take().expect("the follower's stdout");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut on_first_line = Some(on_first_line);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(first) = on_first_line.take() {
                first(pid);
            }
            let value = serde_json::from_str(&line)
                .unwrap_or_else(|e| Value::String(format!("not JSON ({e}): {line}")));
            if send.send(value).is_err() {
                break;
            }
        }
    });
    (follower, lines)
}

/// Waits up to `timeout` for a line `wanted` accepts; every line taken is added to `seen`.
pub fn wait_for_line(
    lines: &mpsc::Receiver<Value>,
    timeout: Duration,
    seen: &mut Vec<Value>,
    wanted: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let end = Instant::now() + timeout;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let hit = wanted(&line);
                seen.push(line.clone());
                if hit {
                    return Some(line);
                }
            }
            Err(_) => return None,
        }
    }
    None
}

//! `isotop events --follow` as it starts: it reads the past (dated events since `--since`) and
//! starts a sampler. A container that starts between the two — here while the follower is
//! stopped (SIGSTOP) the moment its first line, the past, comes out — is told started, and a
//! container that started before it is told once, by the past, never by the sampler too.
//! Needs root (namespaces; the sampler reads every process).

use crate::support::{common, unshared};

use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{ChildGuard, require_program};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use unshared::unshare;

/// How many `started` lines name init `pid`.
fn starts_of(seen: &[Value], pid: i32) -> usize {
    let told = format!("init pid {pid})");
    seen.iter()
        .filter(|e| {
            e["kind"] == "started" && e["detail"].as_str().is_some_and(|d| d.ends_with(&told))
        })
        .count()
}

#[test]
#[ignore = "needs root"]
fn a_container_started_while_follow_starts_is_told_once() {
    if !require_program("unshare") {
        return;
    }
    let before = unshare(&["sleep", "1000"], "sleep");
    let mut follower = ChildGuard::spawn(
        common::isotop()
            .args(["events", "--follow", "--json", "--interval", "0.3"])
            .args(["--since", "5m"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let follower_pid = Pid::from_raw(follower.pid());
    let stdout = follower.0.stdout.take().unwrap();
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut first = true;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if std::mem::take(&mut first) {
                // Stopped at once: whatever it does next happens after the start below.
                let _ = kill(follower_pid, Signal::SIGSTOP);
            }
            let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            if send.send(value).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<Value> = Vec::new();
    let first = lines.recv_timeout(Duration::from_secs(60));
    seen.extend(first.ok());
    assert!(!seen.is_empty(), "the follower printed nothing in a minute");
    let during = unshare(&["sleep", "1000"], "sleep");
    kill(follower_pid, Signal::SIGCONT).unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while starts_of(&seen, before.1.0) == 0 || starts_of(&seen, during.1.0) == 0 {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    // A few ticks more: a second telling would come now.
    let settle = Instant::now() + Duration::from_secs(2);
    while let Some(left) = settle.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let counts = (starts_of(&seen, before.1.0), starts_of(&seen, during.1.0));
    assert_eq!(
        counts,
        (1, 1),
        "started before the follower (init {}) and while it started (init {}): each told once\n{seen:#?}",
        before.1.0,
        during.1.0
    );
}

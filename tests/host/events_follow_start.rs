//! `isotop events --follow` as it starts: it reads the past (dated events since `--since`) and
//! starts a sampler. A container that starts between the two — here while the follower is
//! stopped (SIGSTOP) the moment its first line, the past, comes out — is told started, and a
//! container that started before it is told once, by the past, never by the sampler too.
//! Needs root (namespaces; the sampler reads every process).

use crate::support::{common, follower, unshared};

use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::require_program;
use follower::follow_events;
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
    // Stopped at once on its first line: whatever it does next happens after the start below.
    let (follower, lines) = follow_events(&["--since", "5m"], Stdio::null(), |pid| {
        let _ = kill(Pid::from_raw(pid), Signal::SIGSTOP);
    });
    let mut seen: Vec<Value> = Vec::new();
    let first = lines.recv_timeout(Duration::from_secs(60));
    seen.extend(first.ok());
    assert!(!seen.is_empty(), "the follower printed nothing in a minute");
    let during = unshare(&["sleep", "1000"], "sleep");
    kill(Pid::from_raw(follower.pid()), Signal::SIGCONT).unwrap();

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

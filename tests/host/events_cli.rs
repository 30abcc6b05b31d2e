//! `isotop events --follow --json` run as a process (root): once it has taken its baseline (a
//! marker container it reports as started), a real OOM kill of a child in a memory-limited
//! test cgroup comes out on its stdout as one JSON line naming the child's pid.

use crate::support::{common, follower, unshared};

use std::process::Stdio;
use std::time::Duration;

use common::require_program;
use follower::{follow_events, wait_for_line};
use serde_json::Value;
use unshared::unshare;

use crate::events::OomBox;

/// The containers `isotop ls --json` finds now, as `id pid` pairs: told when the follower did
/// not report one (was it grouped at all, and under which id: a pid namespace's inode number
/// is given again once freed).
fn containers_now() -> String {
    let out = common::run_isotop(&["ls", "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let pairs: Vec<String> = listed
        .as_array()
        .map(|all| {
            all.iter()
                .map(|c| format!("{} {}", c["id"], c["pid"]))
                .collect()
        })
        .unwrap_or_default();
    format!("{pairs:?} (status {})", out.status)
}

#[test]
#[ignore = "needs root"]
fn follow_json_prints_an_oom_kill_of_a_child_as_it_happens() {
    if !require_program("unshare") || !require_program("perl") {
        return;
    }
    let _alone = crate::support::timing::one_at_a_time();
    // Its stderr, told with any failure: why it ended or what it could not read.
    let stderr = tempfile::tempfile().unwrap();
    let mut stderr_reader = stderr.try_clone().unwrap();
    let mut told_on_stderr = move || {
        use std::io::{Read, Seek};
        let mut text = String::new();
        let _ = stderr_reader.rewind();
        let _ = stderr_reader.read_to_string(&mut text);
        text
    };
    let (_follower, lines) = follow_events(&["--since", "1s"], stderr.into(), |_| {});
    let mut seen = Vec::new();

    // Its baseline is taken once a container started since the test began is told as
    // started: the follower takes its sampler's baseline before it prints the past, so any
    // start told (from the past or sampled) comes after it. The waits are long (they cost
    // only when failing): beside CPU-loading tests in the emulated VM a debug follower can go
    // seconds without a tick. The markers live to the test's end.
    let mut markers = Vec::new();
    let mut baseline_taken = false;
    for _ in 0..10 {
        let (marker, init) = unshare(&["sleep", "1000"], "sleep");
        let told = format!("init pid {})", init.0);
        markers.push((marker, init));
        if wait_for_line(&lines, Duration::from_secs(5), &mut seen, |e| {
            e["kind"] == "started" && e["detail"].as_str().is_some_and(|d| d.ends_with(&told))
        })
        .is_some()
        {
            baseline_taken = true;
            break;
        }
    }
    assert!(
        baseline_taken,
        "no start told: {seen:#?}\nstderr: {}",
        told_on_stderr()
    );

    let oom = OomBox::new("events-follow-oom");
    let init = &oom.init;
    // Seen by the follower before the kill (its start is told), then the kill.
    let told = format!("init pid {})", init.0);
    assert!(
        wait_for_line(&lines, Duration::from_secs(30), &mut seen, |e| {
            e["kind"] == "started" && e["detail"].as_str().is_some_and(|d| d.ends_with(&told))
        })
        .is_some(),
        "the OOM box's start not told: {seen:#?}\nstderr: {}\ncontainers now (id, pid): {}",
        told_on_stderr(),
        containers_now()
    );
    let child = oom.kill_child();
    let kill = wait_for_line(&lines, Duration::from_secs(60), &mut seen, |e| {
        e["kind"] == "oom_kill" && e["pid"] == child
    })
    .unwrap_or_else(|| {
        panic!(
            "no OOM kill of pid {child} printed: {seen:#?}\nstderr: {}",
            told_on_stderr()
        )
    });
    assert!(
        seen.iter().all(Value::is_object),
        "one JSON object per line: {seen:#?}"
    );
    assert_eq!(kill["command"], "perl", "{kill:#}");
    assert_eq!(kill["count"], 1, "{kill:#}");
    assert_eq!(kill["timing"], "dated", "{kill:#}");
    if !kill["subject"]["container_id"].is_string() {
        // What else was told (the container's own line, later?) says where it went wrong.
        let _ = wait_for_line(&lines, Duration::from_secs(5), &mut seen, |_| false);
        panic!("the kill not the container's: {kill:#}\nevery line: {seen:#?}");
    }
    assert!(
        kill["subject"]["cgroup"]
            .as_str()
            .is_some_and(|c| c.ends_with("/box")),
        "{kill:#}"
    );
}

/// A stopped isotop container whose child the OOM killer ended: `isotop events --since`
/// (no sampler running) names the container for the kernel log's kill — by the cgroup its
/// runtime recorded, nothing being owned any more — and its exit with the recorded code.
#[test]
#[ignore = "needs root"]
fn a_stopped_containers_past_oom_kill_and_exit_name_it() {
    use crate::support::containers::{Container, require_launch};
    if !require_launch() {
        return;
    }
    let name = common::unique_name("oomgone");
    let c = Container::sh(
        &["--name", &name, "--memory", "16M"],
        "head -c 64M /dev/zero | tail > /dev/null; exit 3",
    );
    c.wait_exited(Duration::from_secs(30));
    let out = common::isotop()
        .args(["events", "--since", "2m", "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["subject"]["name"] == name.as_str())
        .collect();
    let kill = mine
        .iter()
        .find(|e| e["kind"] == "oom_kill")
        .unwrap_or_else(|| panic!("no OOM kill named {name} in {events:#?}"));
    assert_eq!(kill["command"], "tail", "{kill:#}");
    assert!(kill["pid"].as_i64().is_some_and(|p| p > 0), "{kill:#}");
    let exit = mine
        .iter()
        .find(|e| e["kind"] == "exited")
        .unwrap_or_else(|| panic!("no exit of {name} in {events:#?}"));
    assert_eq!(exit["exit_code"], 3, "{exit:#}");
}

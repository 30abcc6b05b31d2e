//! An `unknown` container's id is its pid namespace's inode number (`pidns-<inode>`), and the
//! kernel hands a freed number out again, lowest first: a container started right after
//! another ended often takes its number. The sampler's events must tell the first one's exit
//! and the second one's start (with its own init), never take the second for the first, and
//! `isotop events --follow` prints the same. Needs root (the namespaces, and the sampler reads
//! every process); other tests make namespaces at the same time, so the test tries up to 30
//! times to get the number reused, and says it skipped when it never was.

use crate::support::{common, follower, sampling, unshared};

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{ChildGuard, require_program};
use follower::{follow_events, wait_for_line};
use isotop::host::container::UNKNOWN_ID_PREFIX;
use isotop::host::events::{Event, EventKind};
use isotop::sample::Sampler;
use serde_json::Value;
use unshared::{PidGuard, unshare};

use crate::events::grouped;

/// A pid namespace's inode number, from `/proc/PID/ns/pid` (`pid:[4026532158]`).
fn pidns_inode(pid: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// Ends a container (its unshare, then its init) and waits until its init is reaped, when
/// its namespace's number is free.
fn end(container: (ChildGuard, PidGuard)) {
    let pid_dir = std::path::PathBuf::from(format!("/proc/{}", container.1.0));
    drop(container);
    assert!(
        common::wait_until(Duration::from_secs(10), || !pid_dir.exists()),
        "{} was not reaped",
        pid_dir.display()
    );
}

/// How many times a container is ended and another started to get its number again: alone
/// the first try does; beside a full test run, other tests' namespaces often take it first.
const TRIES: usize = 30;

/// A container under the number `first` had: started just after `first` ended (tried up to
/// [`TRIES`] times; after a miss the new container is the next try's first, once `seen` saw
/// it). Returns the first's init pid, the number, and the second container, which took it;
/// `None` (said on stderr: the test then checks nothing) when no try got the number back.
fn reused_after(
    mut first: (ChildGuard, PidGuard),
    mut seen: impl FnMut(&(ChildGuard, PidGuard)),
) -> Option<(i32, u64, (ChildGuard, PidGuard))> {
    for _ in 0..TRIES {
        let first_init = first.1.0;
        let number = pidns_inode(first_init).expect("the first container's pid namespace");
        end(first);
        let second = unshare(&["sleep", "1000"], "sleep");
        if pidns_inode(second.1.0) == Some(number) {
            return Some((first_init, number, second));
        }
        // Another namespace took the number first (the kernel frees a pid namespace's number
        // after an RCU grace period; other tests make namespaces meanwhile).
        seen(&second);
        first = second;
    }
    end(first);
    eprintln!(
        "skipping {}: in {TRIES} tries the kernel never gave the freed pid namespace number \
         to the next container (other tests took it); nothing checked",
        common::test_name()
    );
    None
}

fn ids_events<'a>(events: &'a [Event], id: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.subject.container_id.as_deref() == Some(id))
        .collect()
}

/// Ticks until an event of `id` matches `wanted` (up to 10 s of ticks); every event told is
/// added to `seen`.
fn tick_until(
    sampler: &mut Sampler,
    seen: &mut Vec<Event>,
    id: &str,
    wanted: impl Fn(&Event) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let from = seen.len();
        seen.extend(sampler.tick().unwrap().events);
        if seen[from..]
            .iter()
            .any(|e| e.subject.container_id.as_deref() == Some(id) && wanted(e))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
#[ignore = "needs root"]
fn a_container_under_a_reused_pid_namespace_number_is_told_as_another() {
    if !require_program("unshare") {
        return;
    }
    let mut sampler = sampling::eager_sampler();
    sampler.tick().unwrap();
    let first = unshare(&["sleep", "1000"], "sleep");
    grouped(&mut sampler, first.1.0);
    let Some((first_init, number, second)) = reused_after(first, |next| {
        grouped(&mut sampler, next.1.0);
    }) else {
        return;
    };
    let id = format!("{UNKNOWN_ID_PREFIX}{number}");
    let mut seen = Vec::new();
    let second_init = second.1.0;
    // Not ticked while the first ended and the second started: the sampler's next look finds
    // another init under the same id.
    let exited = tick_until(&mut sampler, &mut seen, &id, |e| {
        matches!(e.kind, EventKind::Exited { .. })
    });
    let told_start = format!("init pid {second_init})");
    let started = exited
        && (ids_events(&seen, &id)
            .iter()
            .any(|e| e.kind == EventKind::Started && e.detail.ends_with(&told_start))
            || tick_until(&mut sampler, &mut seen, &id, |e| {
                e.kind == EventKind::Started && e.detail.ends_with(&told_start)
            }));
    assert!(
        exited && started,
        "{id}: the exit of init {first_init} and the start of init {second_init} not both \
         told: {seen:#?}"
    );
    // Nothing of the second is taken for the first: no restart.
    assert!(
        !ids_events(&seen, &id)
            .iter()
            .any(|e| matches!(e.kind, EventKind::Restarted { .. })),
        "{seen:#?}"
    );
    let frame = sampler.tick().unwrap();
    let shown = frame
        .containers
        .iter()
        .find(|c| c.view.container.id == id)
        .map(|c| c.view.container.init_pid);
    assert_eq!(shown, Some(Some(second_init)), "the frame shows the second");
    end(second);
}

/// The same through `isotop events --follow --json`, as an operator runs it.
#[test]
#[ignore = "needs root"]
fn events_follow_tells_the_exit_and_the_start_under_a_reused_number() {
    if !require_program("unshare") {
        return;
    }
    let (_follower, lines) = follow_events(&[], Stdio::null(), |_| {});
    let mut seen: Vec<Value> = Vec::new();
    // A line already seen, else the next one `what` accepts within 30 s.
    let wait_for = |what: &dyn Fn(&Value) -> bool, seen: &mut Vec<Value>| {
        seen.iter().any(what)
            || wait_for_line(&lines, Duration::from_secs(30), seen, what).is_some()
    };
    let started = |init: i32| {
        let told = format!("init pid {init})");
        move |e: &Value| {
            e["kind"] == "started" && e["detail"].as_str().is_some_and(|d| d.ends_with(&told))
        }
    };
    // The follower's baseline is taken once a container started after it is told.
    let mut first = unshare(&["sleep", "1000"], "sleep");
    let mut baseline = false;
    for _ in 0..10 {
        if wait_for(&started(first.1.0), &mut seen) {
            baseline = true;
            break;
        }
        end(first);
        first = unshare(&["sleep", "1000"], "sleep");
    }
    assert!(baseline, "no start told: {seen:#?}");
    let Some((first_init, number, second)) = reused_after(first, |next| {
        assert!(
            wait_for(&started(next.1.0), &mut seen),
            "the start of init {} not told",
            next.1.0
        );
    }) else {
        return;
    };
    let id = format!("{UNKNOWN_ID_PREFIX}{number}");
    let exited = |e: &Value| e["kind"] == "exited" && e["subject"]["container_id"] == id.as_str();
    assert!(
        wait_for(&exited, &mut seen),
        "the exit of {id} (init {first_init}) not told: {seen:#?}"
    );
    let second_started = started(second.1.0);
    assert!(
        wait_for(
            &|e: &Value| second_started(e) && e["subject"]["container_id"] == id.as_str(),
            &mut seen
        ),
        "the start of {id} with init {} not told: {seen:#?}",
        second.1.0
    );
    end(second);
}

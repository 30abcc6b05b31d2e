//! The frame build shares what did not change: a sleeping process's record is the same `Arc`
//! in consecutive frames, a busy one's (its CPU ticks move) a new one with the new figures;
//! processes of one user share one name; the JSON form is the plain one (`pid`, `comm` at the
//! sample's top level, `user` and `container_id` as strings).

use crate::support::common;
use crate::support::sampling::eager_sampler;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::ChildGuard;
use isotop::sample::{Frame, ProcessSample};

fn sample(frame: &Frame, pid: i32) -> &ProcessSample {
    frame
        .process(pid)
        .unwrap_or_else(|| panic!("pid {pid} in the frame"))
}

#[test]
#[ignore = "needs root"]
fn unchanged_processes_are_shared_changed_ones_copied() {
    let sleeper = ChildGuard::spawn(Command::new("sleep").arg("600"));
    let busy = ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do :; done"]));
    let mut sampler = eager_sampler();
    let first = sampler.tick().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let second = sampler.tick().unwrap();

    let (a, b) = (
        sample(&first, sleeper.pid()),
        sample(&second, sleeper.pid()),
    );
    assert_eq!(a.process, b.process);
    assert!(
        Arc::ptr_eq(&a.process, &b.process),
        "a sleeping process's record is shared between frames"
    );

    let (a, b) = (sample(&first, busy.pid()), sample(&second, busy.pid()));
    assert!(
        b.process.cpu_ticks > a.process.cpu_ticks,
        "busy loop used CPU: {} then {}",
        a.process.cpu_ticks,
        b.process.cpu_ticks
    );
    assert!(
        !Arc::ptr_eq(&a.process, &b.process),
        "a changed process gets a new record"
    );

    // One name per user for all its processes (both children run as root).
    assert!(Arc::ptr_eq(
        &sample(&second, sleeper.pid()).user,
        &sample(&second, busy.pid()).user
    ));

    // The wire form is the plain one.
    let json = serde_json::to_value(sample(&second, sleeper.pid())).unwrap();
    assert_eq!(json["pid"], sleeper.pid());
    assert_eq!(json["comm"], "sleep");
    assert_eq!(json["user"], "root");
    assert!(json["container_id"].is_null());
    let back: ProcessSample = serde_json::from_value(json).unwrap();
    assert_eq!(back.process, sample(&second, sleeper.pid()).process);
}

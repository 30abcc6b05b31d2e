//! The sampler on the live host: a busy loop under a 0.2 CPU quota in a cgroup the test made
//! shows ~20 % CPU and throttled periods in that cgroup's sample, and CPU > 0 for the process; a
//! process that exits between ticks is gone from the next frame.

use crate::support::common;
use crate::support::sampling::eager_sampler;

use std::process::Command;
use std::time::Duration;

use common::{CgroupGuard, ChildGuard};
use isotop::host::cgroup::Limit;
use isotop::sample::Frame;

fn busy_loop() -> ChildGuard {
    ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do :; done"]))
}

#[test]
#[ignore = "needs root"]
fn quota_shows_as_cpu_percent_and_throttling() {
    let guard = CgroupGuard::new("sample-quota");
    let rel = guard.child("busy");
    // 20 ms of CPU per 100 ms period: 0.2 CPU (v1 cpu.cfs_*; v2 cpu.max).
    let cpu_dir = guard.dir("cpu", "busy");
    if cpu_dir.join("cpu.max").exists() {
        std::fs::write(cpu_dir.join("cpu.max"), "20000 100000").unwrap();
    } else {
        std::fs::write(cpu_dir.join("cpu.cfs_period_us"), "100000").unwrap();
        std::fs::write(cpu_dir.join("cpu.cfs_quota_us"), "20000").unwrap();
    }
    let child = busy_loop();
    guard.add_pid("busy", child.pid());

    let mut sampler = eager_sampler();
    let first = sampler.tick().unwrap();
    let sample = first
        .cgroups
        .iter()
        .find(|g| g.path == rel)
        .expect("test cgroup in the tree");
    assert_eq!(sample.cpu_percent, None, "first frame has no rates");
    assert_eq!(sample.throttled_percent, None);
    assert_eq!(
        sample.reading.limits.cpu_limit_cpus(),
        Some(Limit::Value(0.2))
    );

    let mut last: Option<Frame> = None;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1000));
        last = Some(sampler.tick().unwrap());
    }
    let frame = last.unwrap();
    assert!(
        frame.interval_ms.is_some_and(|ms| ms >= 900),
        "{:?}",
        frame.interval_ms
    );
    let sample = frame.cgroups.iter().find(|g| g.path == rel).unwrap();
    let cpu = sample.cpu_percent.expect("cpu rate after the first frame");
    assert!(
        (10.0..=35.0).contains(&cpu),
        "cgroup CPU {cpu} % under a 0.2 CPU quota"
    );
    let throttled = sample.throttled_percent.expect("throttling rate");
    assert!(throttled > 0.0, "throttled {throttled} %");
    // The parent is charged its child's CPU (hierarchical counters).
    let parent = frame.cgroups.iter().find(|g| g.path == guard.rel).unwrap();
    assert!(parent.cpu_percent.is_some_and(|c| c >= cpu * 0.5));
    assert!(parent.has_children && parent.depth + 1 == sample.depth);

    let process = frame
        .processes
        .iter()
        .find(|p| p.process.pid == child.pid())
        .expect("busy loop in the frame");
    let process_cpu = process.cpu_percent.expect("process rate");
    assert!(
        process_cpu > 0.0 && process_cpu <= 40.0,
        "process CPU {process_cpu} %"
    );
    assert_eq!(&*process.user, "root");
    assert!(
        process.process.cgroups.iter().any(|m| m.path == rel),
        "memberships read: {:?}",
        process.process.cgroups
    );
    // Host figures are filled.
    assert!(frame.host.is_root);
    assert!(!frame.host.kernel.is_empty());
    assert_eq!(
        frame.host.cpu_percent_per_core.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    assert!(frame.host.memory_total_bytes > 0);
    assert_eq!(frame.host.processes, frame.processes.len());
    assert_eq!(frame.host.cgroups, frame.cgroups.len());
    assert!(
        frame
            .processes
            .windows(2)
            .all(|w| w[0].process.pid < w[1].process.pid)
    );
}

#[test]
fn a_process_that_exits_is_gone_from_the_next_frame() {
    let mut child = ChildGuard::spawn(Command::new("sleep").arg("100"));
    let pid = child.pid();
    let mut sampler = eager_sampler();
    let before = sampler.tick().unwrap();
    assert!(before.processes.iter().any(|p| p.process.pid == pid));
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let after = sampler.tick().unwrap();
    assert!(!after.processes.iter().any(|p| p.process.pid == pid));
    assert_eq!(after.seq, before.seq + 1);
}

//! The sampler's block I/O rates on a real disk (root): a loop device the test makes, a
//! Kubernetes-style container (a `sleep` in a `kubepods/pod<uid>/<id>` cgroup of a test
//! parent) and `dd oflag=direct` run in that cgroup. The container's `io_rates` and its
//! cgroup's (the tree's sample) over the two ticks around the write are the bytes dd wrote
//! over the time between the ticks, within a few %. On this hybrid host v1 blk-throttle
//! counts a disk only once some cgroup has a throttle limit on it: the test's parent gets one
//! far above what a loop device does (as `cgroup_io` does).

use crate::support::block_io::{LoopDevice, dd_in};
use crate::support::common::{self, CgroupGuard, ChildGuard};
use crate::support::sampling::eager_sampler;

use std::time::Duration;

use isotop::sample::Frame;

/// 16 MiB written.
const WRITTEN: u64 = 16 << 20;

fn off(got: f64, expected: f64) -> f64 {
    (got - expected).abs() / expected
}

#[test]
#[ignore = "needs root"]
fn container_and_cgroup_io_rates_follow_o_direct_writes() {
    let Some(disk) = LoopDevice::new(64) else {
        return;
    };
    let guard = CgroupGuard::new("sample-io");
    let id: String = std::iter::repeat_n('c', 64).collect();
    let child = format!("kubepods/pod{}-7a7a/{id}", std::process::id());
    let rel = guard.child(&child);
    disk.count_on_v1(&guard.dir("blkio", ""));
    let init = ChildGuard::sleeping();
    guard.add_pid(&child, init.pid());

    let mut sampler = eager_sampler();
    let ready = |frame: &Frame| {
        let container = frame.containers.iter().find(|c| c.view.container.id == id);
        container.is_some_and(|c| c.io.is_some()) && frame.cgroups.iter().any(|g| g.path == rel)
    };
    let found = common::wait_until(Duration::from_secs(30), || ready(&sampler.tick().unwrap()));
    assert!(found, "container {id} with I/O figures never sampled");
    let first = sampler.tick().unwrap();
    let of = format!("of={}", disk.path.display());
    let count = format!("count={}", WRITTEN >> 20);
    let wrote = dd_in(
        |pid| guard.add_pid(&child, pid),
        &["if=/dev/zero", &of, "bs=1M", &count, "oflag=direct"],
    );
    assert_eq!(wrote.bytes, WRITTEN);
    // Five seconds or more between the ticks: the offset between a tick's start and its read
    // of the counters (a few ms here, ~100 ms on an emulated host) is then < 3 % of it.
    std::thread::sleep(Duration::from_secs(5));
    let second = sampler.tick().unwrap();
    let seconds = second.interval_ms.expect("an interval") as f64 / 1000.0;
    let expected = WRITTEN as f64 / seconds;

    let container = |frame: &Frame| {
        frame
            .containers
            .iter()
            .find(|c| c.view.container.id == id)
            .cloned()
            .expect("the container")
    };
    let (before, after) = (container(&first), container(&second));
    let counted = after
        .io
        .as_ref()
        .and_then(|io| io.write_bytes_total)
        .unwrap()
        - before
            .io
            .as_ref()
            .and_then(|io| io.write_bytes_total)
            .unwrap();
    assert!(
        off(counted as f64, WRITTEN as f64) < 0.03,
        "the cgroup counted {counted} bytes written, dd wrote {WRITTEN}"
    );
    let rate = after
        .io_rates
        .write_bytes_per_second
        .expect("a container write rate");
    eprintln!(
        "dd wrote {WRITTEN} bytes ({:.1} MiB/s); {seconds:.3} s between the ticks: \
         container {rate:.0} B/s, expected {expected:.0}",
        wrote.bytes_per_second() / (1 << 20) as f64
    );
    assert!(off(rate, expected) < 0.05, "container {rate} vs {expected}");
    // Nothing read from the loop device; the container's total may count a few pages of dd's
    // own binary read from the root disk (when blk-throttle counts that disk too: some cgroup
    // has a limit on it).
    let read = after
        .io_rates
        .read_bytes_per_second
        .expect("a container read rate");
    assert!(
        read < expected * 0.05,
        "container read {read} B/s while writing"
    );

    let cgroup = second
        .cgroups
        .iter()
        .find(|g| g.path == rel)
        .expect("the container's cgroup in the tree");
    assert_eq!(cgroup.container_id.as_deref(), Some(id.as_str()));
    let rate = cgroup
        .io_rates
        .write_bytes_per_second
        .expect("a cgroup write rate");
    assert!(off(rate, expected) < 0.05, "cgroup {rate} vs {expected}");
    // Its parent (the pod) counts the same writes.
    let pod = second
        .cgroups
        .iter()
        .find(|g| rel.starts_with(&format!("{}/", g.path)) && g.path.contains("/pod"))
        .expect("the pod's cgroup");
    let rate = pod
        .io_rates
        .write_bytes_per_second
        .expect("a pod write rate");
    assert!(
        off(rate, expected) < 0.05,
        "pod cgroup {rate} vs {expected}"
    );
}

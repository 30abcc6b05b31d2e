//! A container's ownership of its cgroups, carried by the sampler from tick to tick while the
//! process table's generation and the grouping hold (`host::container::measure::Carry`),
//! follows what changes: a host process moved into the container's own cgroup makes it shared
//! within two ticks, and it is the container's own again within two ticks of that process
//! ending — with no regrouping in between (a sampler no grouping budget fits), so only the
//! table's generation tells the carry the list is stale.

use crate::support::common::{self, CgroupGuard, ChildGuard};
use crate::support::unshared::unshare;

use std::time::Duration;

use isotop::host::HostRoot;
use isotop::sample::{Frame, Sampler, SamplerOptions};

/// Whether the container of `init` owns its cgroup at `path` (outer `None`: no such container
/// or no such entry).
fn owns(frame: &Frame, init: i32, path: &str) -> Option<bool> {
    let c = frame
        .containers
        .iter()
        .find(|c| c.view.container.init_pid == Some(init))?;
    c.view
        .ownership
        .iter()
        .find(|o| o.path == path)
        .map(|o| o.own)
}

#[test]
#[ignore = "needs root"]
fn a_stranger_in_a_containers_cgroup_makes_it_shared_and_its_end_makes_it_own_again() {
    if !common::require_program("unshare") {
        return;
    }
    let guard = CgroupGuard::new("ownership");
    let own_path = guard.child("box");
    let (_unshare, init) = unshare(&["sleep", "1000"], "sleep");
    guard.add_pid("box", init.0);
    let mut sampler = Sampler::with_options(
        HostRoot::live(),
        SamplerOptions {
            // No grouping fits: it is redone only for a process that may have begun one.
            part_budget: 1e-12,
            containers_every: 1_000,
            ..SamplerOptions::default()
        },
    );
    let owned = common::wait_until(Duration::from_secs(10), || {
        owns(&sampler.tick().unwrap(), init.0, &own_path) == Some(true)
    });
    assert!(owned, "the container of {} never owned {own_path}", init.0);
    for _ in 0..3 {
        sampler.tick().unwrap();
    }

    let mut stranger = ChildGuard::sleeping();
    guard.add_pid("box", stranger.pid());
    let shared = (1..=2).any(|_| owns(&sampler.tick().unwrap(), init.0, &own_path) == Some(false));
    assert!(
        shared,
        "{own_path} still the container's own with a stranger in it"
    );
    for _ in 0..3 {
        assert_eq!(
            owns(&sampler.tick().unwrap(), init.0, &own_path),
            Some(false)
        );
    }

    stranger.0.kill().expect("kill the stranger");
    stranger.0.wait().expect("reap it");
    let own_again =
        (1..=2).any(|_| owns(&sampler.tick().unwrap(), init.0, &own_path) == Some(true));
    assert!(
        own_again,
        "{own_path} still shared after the stranger ended"
    );
}

//! The container grouping follows a container's init into another cgroup within two ticks even
//! when the grouping's cost rule would make it wait (a budget no grouping fits in): the
//! container's own cgroup — and so which figures and events are its own — is never left at
//! the cgroup it was started in (CI saw an OOM kill in a moved init's new cgroup told as a
//! cgroup's, not the container's, under an emulated VM's load).

use crate::support::common::{self, CgroupGuard};
use crate::support::unshared::unshare;

use std::time::Duration;

use isotop::host::HostRoot;
use isotop::sample::{Frame, Sampler, SamplerOptions};

/// The grouping's own cgroup path of the container whose init is `init` (outer `None`: not
/// grouped).
fn own_cgroup(frame: &Frame, init: i32) -> Option<Option<String>> {
    frame
        .containers
        .iter()
        .find(|c| c.view.container.init_pid == Some(init))
        .map(|c| c.view.container.cgroup_path.clone())
}

#[test]
#[ignore = "needs root"]
fn a_moved_container_init_is_regrouped_within_two_ticks_whatever_the_cost_rule() {
    if !common::require_program("unshare") {
        return;
    }
    let guard = CgroupGuard::new("regroup");
    let moved_to = guard.child("box");
    let (_unshare, init) = unshare(&["sleep", "1000"], "sleep");
    let mut sampler = Sampler::with_options(
        HostRoot::live(),
        SamplerOptions {
            // No grouping fits this budget: the cost rule spaces them MAX_EVERY ticks apart.
            part_budget: 1e-12,
            containers_every: 1_000,
            // Memberships re-read every tick: the table sees the move at once, the grouping
            // is what is tested.
            reread_every: 1,
            ..SamplerOptions::default()
        },
    );
    let grouped = common::wait_until(Duration::from_secs(10), || {
        own_cgroup(&sampler.tick().unwrap(), init.0).is_some()
    });
    assert!(
        grouped,
        "the unshared container of init {} not grouped",
        init.0
    );
    // The cost rule has measured a grouping by now.
    for _ in 0..3 {
        sampler.tick().unwrap();
    }
    guard.add_pid("box", init.0);
    let mut seen = Vec::new();
    let took = (1..=2).find(|_| {
        let now = own_cgroup(&sampler.tick().unwrap(), init.0);
        seen.push(now.clone());
        now == Some(Some(moved_to.clone()))
    });
    assert!(
        took.is_some(),
        "own cgroup after the move to {moved_to}, tick by tick: {seen:?}"
    );
}

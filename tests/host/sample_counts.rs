//! Process counts of cgroups as the sampler carries them between ticks, and the cgroup tree
//! taking a container's own reading instead of reading the same files again:
//! - a container's own cgroup count is carried while its `pids.current` stays the same, and
//!   read again the tick it moves (a process moved in or out, or exited, is counted the next
//!   tick, in the container's reading and in the tree's node); a change `pids.current` does not
//!   see (a process moved into a child cgroup) within the limits' cadence;
//! - the tree's node of a container's own cgroup is that container's reading where the
//!   reading read the very directories the tree reads, and read afresh otherwise.

use crate::cgroup_tempdir::build_v2;
use crate::support::common::{self, CgroupGuard, ChildGuard};
use crate::support::sampling::eager_options;

use std::fs;
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::cgroup::{
    CgroupDirs, CgroupNode, OwnReadings, detect_layout, read_own, read_own_keeping,
    read_tree_reusing,
};
use isotop::host::process::CgroupMembership;
use isotop::sample::containers::LIMITS_EVERY;
use isotop::sample::{Frame, Sampler};

fn box_line() -> Vec<CgroupMembership> {
    vec![CgroupMembership {
        hierarchy: 0,
        controllers: vec![],
        path: "/box".into(),
    }]
}

#[test]
fn a_kept_count_stands_only_while_pids_current_does() {
    let tmp = tempfile::tempdir().unwrap();
    build_v2(tmp.path());
    let b = tmp.path().join("sys/fs/cgroup/box");
    let root = HostRoot::under(tmp.path());
    let layout = detect_layout(&root).unwrap();
    // Read through kept-open directories, as the sampler reads: each file as it is now.
    let mut dirs = CgroupDirs::with_budget(8);
    let first = read_own(&root, &layout, &box_line()).unwrap().unwrap();
    assert_eq!(first.nprocs, 2);
    let mut kept = first.kept_limits();

    // The same tasks counted: the count is carried, with its file named.
    fs::write(b.join("cgroup.procs"), "10\n11\n12\n").unwrap();
    let carried = read_own_keeping(&root, &layout, &box_line(), Some(&kept), Some(&mut dirs))
        .unwrap()
        .unwrap();
    assert_eq!(carried.nprocs, 2, "carried while pids.current is 2");
    assert!(carried.sources["nprocs"].ends_with("box/cgroup.procs"));

    // A task came: read again, and followed from then on.
    fs::write(b.join("pids.current"), "3\n").unwrap();
    let moved = read_own_keeping(&root, &layout, &box_line(), Some(&kept), Some(&mut dirs))
        .unwrap()
        .unwrap();
    assert_eq!(moved.nprocs, 3);
    kept.follow_count(&moved);
    fs::write(b.join("cgroup.procs"), "10\n").unwrap();
    let again = read_own_keeping(&root, &layout, &box_line(), Some(&kept), Some(&mut dirs))
        .unwrap()
        .unwrap();
    assert_eq!(
        again.nprocs, 3,
        "the followed count stands at pids.current 3"
    );
    fs::write(b.join("pids.current"), "1\n").unwrap();
    let gone = read_own_keeping(&root, &layout, &box_line(), Some(&kept), Some(&mut dirs))
        .unwrap()
        .unwrap();
    assert_eq!(gone.nprocs, 1);

    // Without a pids.current there is nothing to carry by: read every time.
    fs::remove_file(b.join("pids.current")).unwrap();
    let full = read_own(&root, &layout, &box_line()).unwrap().unwrap();
    let kept = full.kept_limits();
    fs::write(b.join("cgroup.procs"), "10\n11\n").unwrap();
    let read = read_own_keeping(&root, &layout, &box_line(), Some(&kept), Some(&mut dirs))
        .unwrap()
        .unwrap();
    assert_eq!(read.nprocs, 2);
}

fn node<'n>(tree: &'n CgroupNode, path: &str) -> Option<&'n CgroupNode> {
    if tree.path == path {
        return Some(tree);
    }
    tree.children.iter().find_map(|c| node(c, path))
}

#[test]
fn the_tree_takes_an_own_reading_of_the_same_directories_only() {
    let tmp = tempfile::tempdir().unwrap();
    build_v2(tmp.path());
    let root = HostRoot::under(tmp.path());
    let layout = detect_layout(&root).unwrap();
    let own = box_line();
    // A reading told apart from a fresh one by its count.
    let mut marked = read_own(&root, &layout, &own).unwrap().unwrap();
    marked.nprocs = 99;
    let marked = std::sync::Arc::new(marked);

    let mut known = OwnReadings::default();
    known.add(&marked, own.iter().collect());
    let mut listings = isotop::host::cgroup::ChildListings::default();
    let tree = read_tree_reusing(&root, &layout, None, &known, &mut listings).unwrap();
    let tree = tree.tree.unwrap();
    assert_eq!(node(&tree, "/box").unwrap().reading.nprocs, 99);
    assert!(
        std::sync::Arc::ptr_eq(&node(&tree, "/box").unwrap().reading, &marked),
        "the node shares the container's reading, not a copy"
    );
    assert_eq!(
        node(&tree, "/").unwrap().reading.nprocs,
        1,
        "read, not taken"
    );

    // Memberships at another path than the node's: not the same directories, read.
    let elsewhere = [CgroupMembership {
        path: "/box/sub".into(),
        ..own[0].clone()
    }];
    let mut known = OwnReadings::default();
    known.add(&marked, elsewhere.iter().collect());
    let mut listings = isotop::host::cgroup::ChildListings::default();
    let tree = read_tree_reusing(&root, &layout, None, &known, &mut listings).unwrap();
    assert_eq!(node(&tree.tree.unwrap(), "/box").unwrap().reading.nprocs, 2);
}

/// The container's own reading's count and the tree node's count at `rel`, this frame.
fn counts(frame: &Frame, id: &str, rel: &str) -> (Option<usize>, Option<usize>) {
    let own = frame
        .containers
        .iter()
        .find(|c| c.view.container.id == id)
        .and_then(|c| c.view.cgroup.as_ref())
        .map(|r| r.nprocs);
    let tree = frame
        .cgroups
        .iter()
        .find(|g| g.path == rel)
        .map(|g| g.reading.nprocs);
    (own, tree)
}

#[test]
#[ignore = "needs root"]
fn a_process_moved_in_or_out_or_gone_is_counted_the_next_tick() {
    let guard = CgroupGuard::new("sample-counts");
    let id: String = std::iter::repeat_n('c', 64).collect();
    let child = format!("kubepods/pod{}-7c7c/{id}", std::process::id());
    let rel = guard.child(&child);
    // Out of the container's cgroup means into a sibling leaf: on v2 the guard's own cgroup,
    // whose children have controllers, may hold no process ("no internal processes").
    guard.child("outside");
    let init = ChildGuard::sleeping();
    guard.add_pid(&child, init.pid());
    let mut sampler = Sampler::with_options(HostRoot::live(), eager_options());
    let seen = common::wait_until(Duration::from_secs(30), || {
        counts(&sampler.tick().unwrap(), &id, &rel) == (Some(1), Some(1))
    });
    assert!(seen, "container {id} with its own cgroup never sampled");

    // In and out, more times than the limits' cadence: some of these ticks carry the limits
    // (and would carry the count, were it not read again).
    let visitor = ChildGuard::sleeping();
    for round in 0..LIMITS_EVERY + 1 {
        guard.add_pid(&child, visitor.pid());
        let frame = sampler.tick().unwrap();
        assert_eq!(counts(&frame, &id, &rel), (Some(2), Some(2)), "in, {round}");
        guard.add_pid("outside", visitor.pid());
        let frame = sampler.tick().unwrap();
        assert_eq!(
            counts(&frame, &id, &rel),
            (Some(1), Some(1)),
            "out, {round}"
        );
    }
    // A member exits: counted the next tick.
    guard.add_pid(&child, visitor.pid());
    let frame = sampler.tick().unwrap();
    assert_eq!(counts(&frame, &id, &rel), (Some(2), Some(2)));
    drop(visitor);
    let frame = sampler.tick().unwrap();
    assert_eq!(
        counts(&frame, &id, &rel),
        (Some(1), Some(1)),
        "after the exit"
    );

    // On v2 a cgroup holding processes cannot get a child with controllers ("no internal
    // processes"): a process cannot be moved below its siblings there.
    if crate::support::unshared::v2_host() {
        eprintln!(
            "{}: v2 host, the move into a child cgroup is v1's only",
            common::test_name()
        );
        return;
    }
    // Into a child cgroup: pids.current (it counts the subtree) stays; the count follows
    // within the cadence (the container follows its process into the child cgroup once the
    // move is seen; the tree's node at the old place counts none).
    let sub = format!("{child}/sub");
    guard.child(&sub);
    guard.add_pid(&sub, init.pid());
    let took = (1..=LIMITS_EVERY + 1).find(|_| {
        std::thread::sleep(Duration::from_millis(50));
        counts(&sampler.tick().unwrap(), &id, &rel).1 == Some(0)
    });
    assert!(
        took.is_some(),
        "the count of {rel} after its process moved below it"
    );
}

//! Kept-open cgroup directories (`CgroupDirs`) on this host's real cgroups, v1 or v2: a file
//! read through a kept directory is what the path holds; a cgroup removed under a kept
//! directory reads as gone, and one made again at the same path is read, never the removed
//! one; a counter kept open (`pids.current`) counts what is there at each read and is dropped
//! with its cgroup; a container's own cgroups read through kept directories give the very reading a read
//! by path gives, and none once they are removed. Needs root; cleans up with drop guards.

use crate::support::common;

use std::fs;

use common::{CgroupGuard, ChildGuard};
use isotop::host::HostRoot;
use isotop::host::cgroup::{CgroupDirs, detect_layout, read_own_keeping};
use isotop::host::process::{ReadDepth, read_process};

#[test]
#[ignore = "needs root"]
fn a_kept_directory_reads_the_live_cgroup_and_a_remade_one_afresh() {
    let guard = CgroupGuard::new("cgdirs");
    guard.child("box");
    let dir = guard.dir("pids", "box");
    let limit = dir.join("pids.max");
    let mut dirs = CgroupDirs::with_budget(16);
    let mut buf = Vec::new();

    dirs.read(&limit, &mut buf).unwrap();
    assert_eq!(buf, b"max\n");
    assert_eq!(dirs.len(), 1, "the directory is kept");
    fs::write(&limit, "7").unwrap();
    dirs.read(&limit, &mut buf).unwrap();
    assert_eq!(
        buf, b"7\n",
        "read through the kept directory: the file as it is now"
    );
    let absent = dirs.read(&dir.join("no-such-file"), &mut buf).unwrap_err();
    assert_eq!(absent.kind(), std::io::ErrorKind::NotFound);
    assert!(dirs.exists(&dir));
    assert_eq!(
        dirs.len(),
        1,
        "an absent file does not drop a live cgroup's directory"
    );

    // Removed: gone through the kept directory too, and no longer kept.
    fs::remove_dir(&dir).unwrap();
    assert!(!dirs.exists(&dir), "a removed cgroup exists no more");
    let gone = dirs.read(&limit, &mut buf).unwrap_err();
    assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
    assert!(dirs.is_empty(), "a removed cgroup's directory is not kept");

    // Made again at the same path: read afresh.
    guard.child("box");
    fs::write(&limit, "9").unwrap();
    dirs.read(&limit, &mut buf).unwrap();
    assert_eq!(buf, b"9\n");
    // Removed and made again between two reads, nothing looked at in between.
    fs::remove_dir(&dir).unwrap();
    guard.child("box");
    fs::write(&limit, "11").unwrap();
    dirs.read(&limit, &mut buf).unwrap();
    assert_eq!(buf, b"11\n", "the new cgroup, not the removed one");
    dirs.end_tick();
    dirs.end_tick();
    assert!(
        dirs.is_empty(),
        "closed after a tick that did not ask for it"
    );
}

#[test]
#[ignore = "needs root"]
fn a_kept_open_counter_reads_the_count_of_now_and_never_a_removed_cgroups() {
    let guard = CgroupGuard::new("cgdirs-counter");
    guard.child("box");
    let dir = guard.dir("pids", "box");
    let current = dir.join("pids.current");
    let mut dirs = CgroupDirs::with_budget(16);
    let mut buf = Vec::new();

    dirs.read(&current, &mut buf).unwrap();
    assert_eq!(buf, b"0\n");
    assert_eq!(
        dirs.files_len(),
        1,
        "a counter of a real cgroup is kept open"
    );
    dirs.read(&dir.join("pids.max"), &mut buf).unwrap();
    assert_eq!(dirs.files_len(), 1, "a limit is opened and closed");

    // The same kept file, read again, counts what is there now.
    let sleeper = ChildGuard::sleeping();
    guard.add_pid("box", sleeper.pid());
    dirs.read(&current, &mut buf).unwrap();
    assert_eq!(buf, b"1\n", "one process moved in");
    assert_eq!(dirs.files_len(), 1, "read through the kept file");
    drop(sleeper);
    assert!(
        common::wait_until(std::time::Duration::from_secs(10), || {
            dirs.read(&current, &mut buf).unwrap();
            buf == b"0\n"
        }),
        "its exit is counted"
    );

    // Removed: the kept file is dropped, the read says gone; made again: the new cgroup's.
    fs::remove_dir(&dir).unwrap();
    let gone = dirs.read(&current, &mut buf).unwrap_err();
    assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        dirs.files_len(),
        0,
        "a removed cgroup's counter is not kept"
    );
    assert!(dirs.is_empty());
    guard.child("box");
    dirs.read(&current, &mut buf).unwrap();
    let other = ChildGuard::sleeping();
    guard.add_pid("box", other.pid());
    // Removed and made again between two reads, with a process in the new one only.
    drop(other);
    assert!(common::wait_until(
        std::time::Duration::from_secs(10),
        || fs::remove_dir(&dir).is_ok()
    ));
    guard.child("box");
    let third = ChildGuard::sleeping();
    guard.add_pid("box", third.pid());
    dirs.read(&current, &mut buf).unwrap();
    assert_eq!(buf, b"1\n", "the new cgroup's count, not the removed one's");
    assert_eq!(dirs.files_len(), 1);
    dirs.end_tick();
    dirs.end_tick();
    assert_eq!(
        dirs.files_len(),
        0,
        "closed after a tick that did not read it"
    );
    assert!(dirs.is_empty());
}

#[test]
#[ignore = "needs root"]
fn an_own_cgroup_reads_the_same_through_kept_directories_and_is_none_once_removed() {
    let root = HostRoot::live();
    let layout = detect_layout(&root).unwrap();
    let guard = CgroupGuard::new("cgdirs-own");
    let rel = guard.child("box");
    let sleeper = ChildGuard::sleeping();
    guard.add_pid("box", sleeper.pid());
    let process = read_process(&root, sleeper.pid(), ReadDepth::Full)
        .unwrap()
        .expect("the sleeper is there");
    let own: Vec<_> = process
        .cgroups
        .iter()
        .filter(|m| m.path == rel)
        .cloned()
        .collect();
    assert!(
        !own.is_empty(),
        "the sleeper is in {rel}: {:?}",
        process.cgroups
    );

    let mut dirs = CgroupDirs::with_budget(64);
    // A reading through kept directories is the reading by path taken just before and just
    // after it, when those two agree: a sleeping cgroup's counters stand still, but a
    // process just started (its exec), or the kernel's lazy flush of per-CPU memory figures
    // (v2), can move them between two readings on a loaded host.
    let by_path = || {
        read_own_keeping(&root, &layout, &own, None, None)
            .unwrap()
            .expect("the own cgroup reads")
    };
    let mut agreed = 0;
    for _ in 0..100 {
        let before = by_path();
        let kept = read_own_keeping(&root, &layout, &own, None, Some(&mut dirs))
            .unwrap()
            .expect("the own cgroup reads through kept directories");
        let after = by_path();
        dirs.end_tick();
        if before == after {
            assert_eq!(kept, before, "read through kept directories and by path");
            assert_eq!(before.nprocs, 1);
            agreed += 1;
            if agreed == 3 {
                break;
            }
        } else {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    assert_eq!(
        agreed, 3,
        "the cgroup's figures never stood still between two readings by path"
    );
    assert!(!dirs.is_empty(), "its directories are kept");

    drop(sleeper);
    for dir in &guard.dirs {
        let box_dir = dir.join("box");
        assert!(
            common::wait_until(std::time::Duration::from_secs(10), || fs::remove_dir(
                &box_dir
            )
            .is_ok()),
            "could not remove {}",
            box_dir.display()
        );
    }
    let after = read_own_keeping(&root, &layout, &own, None, Some(&mut dirs)).unwrap();
    assert_eq!(after, None, "a removed cgroup has no reading");
}

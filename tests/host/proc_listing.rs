//! The sampler's `/proc` listing kept from the kernel's process events
//! (`host::process::pid_watch`), against real processes: it gives what a full listing gives
//! (new processes with their `/proc/PID` inode, killed ones gone, zombies listed until reaped,
//! threads never), without a full listing; a burst of forks beyond the socket's buffer ends
//! with the right set (a full listing after the loss); a zombie that exited before the socket
//! listened goes when reaped; a second loss soon after gives the events up; and without CAP_NET_ADMIN the kernel refuses the events and
//! every listing is a full one that still sees new processes.

use crate::support::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ChildGuard, wait_until};
use isotop::host::HostRoot;
use isotop::host::process::proc_dir::{ListingSource, PidEntry, ProcDir};

fn sleeper() -> ChildGuard {
    ChildGuard::spawn(Command::new("sleep").arg("60"))
}

fn listed(dir: &mut ProcDir) -> Vec<PidEntry> {
    let mut out = Vec::new();
    dir.list(&mut out).expect("lists /proc");
    out
}

fn entry(listing: &[PidEntry], pid: i32) -> Option<PidEntry> {
    listing.iter().find(|e| e.pid == pid).copied()
}

/// A full listing's entry for `pid` (the reference the events must match).
fn full_entry(pid: i32) -> Option<PidEntry> {
    let mut full =
        ProcDir::open_with(&HostRoot::live(), ListingSource::FullEveryTime).expect("opens");
    entry(&listed(&mut full), pid)
}

/// Kills `child` without reaping it and waits until it is a zombie.
fn zombie(child: &mut Child) {
    child.kill().expect("kills");
    let pid = child.id();
    let is_zombie = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(5), is_zombie),
        "{pid} became a zombie"
    );
}

#[test]
#[ignore = "needs root"]
fn events_listing_follows_forks_exits_and_zombies() {
    let mut dir = ProcDir::open(&HostRoot::live()).expect("opens /proc");
    assert!(
        dir.watching(),
        "root on the live host gets the process events"
    );
    listed(&mut dir);
    let full_before = dir.full_listings();
    assert_eq!(full_before, 1, "the first listing is a full one");

    let kept = sleeper();
    let mut killed = sleeper();
    let mut reaped_later = ChildGuard::spawn(Command::new("sleep").arg("60"));
    let thread_tid = std::sync::mpsc::channel::<i32>();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // "/proc/thread-self" links to "PID/task/TID".
        let tid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|l| l.file_name()?.to_str()?.parse().ok())
            .unwrap_or(0);
        let _ = thread_tid.0.send(tid);
        let _ = stop_rx.recv();
    });
    let tid = thread_tid.1.recv().expect("thread id");
    assert!(tid > 0);

    let now = listed(&mut dir);
    for pid in [kept.pid(), killed.pid(), reaped_later.pid()] {
        let seen = entry(&now, pid).expect("a new process is listed");
        assert_eq!(Some(seen), full_entry(pid), "same inode as a full listing");
    }
    assert_eq!(entry(&now, tid), None, "a thread is not a listed process");
    assert!(now.windows(2).all(|w| w[0].pid < w[1].pid), "ascending");

    killed.0.kill().expect("kills");
    killed.0.wait().expect("reaps");
    zombie(&mut reaped_later.0);
    let now = listed(&mut dir);
    assert_eq!(entry(&now, killed.pid()), None, "a reaped process is gone");
    assert_eq!(full_entry(killed.pid()), None);
    assert!(
        entry(&now, reaped_later.pid()).is_some(),
        "a zombie stays listed"
    );
    assert!(full_entry(reaped_later.pid()).is_some());
    assert!(entry(&now, kept.pid()).is_some());

    reaped_later.0.wait().expect("reaps the zombie");
    let now = listed(&mut dir);
    assert_eq!(
        entry(&now, reaped_later.pid()),
        None,
        "a reaped zombie is gone"
    );
    assert!(entry(&now, kept.pid()).is_some());
    assert_eq!(
        dir.full_listings(),
        full_before,
        "all of it from the events, no full listing"
    );
    let _ = stop_tx.send(());
    let _ = thread.join();
}

#[test]
#[ignore = "needs root"]
fn a_zombie_older_than_the_socket_goes_when_reaped() {
    // Its exit event came before the socket listened: only the first listing's scan knows it.
    let mut early = ChildGuard::spawn(Command::new("sleep").arg("60"));
    zombie(&mut early.0);
    let mut dir = ProcDir::open(&HostRoot::live()).expect("opens /proc");
    assert!(dir.watching());
    let first = listed(&mut dir);
    assert!(entry(&first, early.pid()).is_some(), "the zombie is listed");
    early.0.wait().expect("reaps the zombie");
    let now = listed(&mut dir);
    assert_eq!(entry(&now, early.pid()), None, "reaped, it is gone");
    assert_eq!(
        dir.full_listings(),
        1,
        "from the events and the checks alone"
    );
}

#[test]
#[ignore = "needs root"]
fn a_fork_burst_beyond_the_buffer_ends_with_the_right_set() {
    // A few events' room only (the kernel's minimum receive buffer; the host's own forks
    // may overflow it too, which changes nothing below).
    let mut dir = ProcDir::open_with(&HostRoot::live(), ListingSource::Events { buffer: 4096 })
        .expect("opens /proc");
    assert!(dir.watching());
    listed(&mut dir);
    let kept: Vec<ChildGuard> = (0..3).map(|_| sleeper()).collect();
    let burst: Vec<i32> = (0..300).map(|_| short_lived()).collect();
    let full_before = dir.full_listings();
    let now = listed(&mut dir);
    assert!(
        dir.full_listings() > full_before,
        "the overflow led to a full listing"
    );
    assert!(dir.watching(), "the socket goes on after a first loss");
    for child in &kept {
        assert!(entry(&now, child.pid()).is_some(), "kept process listed");
    }
    for pid in &burst {
        assert_eq!(
            entry(&now, *pid),
            full_entry(*pid),
            "burst pid {pid} as a full listing"
        );
    }

    // A second loss this soon gives the events up: full listings, still right.
    let again: Vec<i32> = (0..300).map(|_| short_lived()).collect();
    let last = sleeper();
    let now = listed(&mut dir);
    assert!(!dir.watching(), "a second loss gives the events up");
    assert!(entry(&now, last.pid()).is_some());
    for pid in again {
        assert_eq!(entry(&now, pid), full_entry(pid));
    }
    let full_then = dir.full_listings();
    listed(&mut dir);
    assert_eq!(
        dir.full_listings(),
        full_then + 1,
        "every listing a full one"
    );
}

/// Runs `true` and reaps it: a fork, an exec and an exit event; its pid.
fn short_lived() -> i32 {
    let mut child = Command::new("true")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawns");
    child.wait().expect("reaps");
    child.id() as i32
}

#[test]
#[ignore = "needs root"]
fn refused_events_fall_back_to_full_listings() {
    // Capabilities are per thread: this thread alone loses CAP_NET_ADMIN (bit 12), which
    // joining the connector's group needs.
    let outcome = std::thread::spawn(|| {
        let permitted = isotop::sys::capability::permitted().expect("capget");
        isotop::sys::capability::set(permitted & !(1 << 12), permitted, 0).expect("capset");
        let mut dir = ProcDir::open(&HostRoot::live()).expect("opens /proc");
        let watching = dir.watching();
        listed(&mut dir);
        let child = sleeper();
        let now = listed(&mut dir);
        (
            watching,
            entry(&now, child.pid()).is_some(),
            dir.full_listings(),
        )
    })
    .join()
    .expect("thread ends");
    assert_eq!(
        outcome,
        (false, true, 2),
        "no events: two full listings, the child seen"
    );
}

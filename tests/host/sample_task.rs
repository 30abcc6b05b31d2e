//! The sampling task: frames arrive in order as owned values, a slow receiver gets the newest
//! frame (older ones are replaced, not queued), stop and failure close the mailbox with a
//! reason instead of panicking.

use std::time::Duration;

use isotop::host::HostRoot;
use isotop::sample::spawn;

#[tokio::test]
async fn frames_arrive_in_order_until_stopped() {
    let mut handle = spawn(HostRoot::live(), Duration::from_millis(100));
    let first = handle.frames.recv().await.expect("first frame");
    let second = handle.frames.recv().await.expect("second frame");
    assert!(second.seq > first.seq);
    assert_eq!(first.interval_ms, None);
    assert!(second.interval_ms.is_some());
    assert!(!second.processes.is_empty());
    assert!(handle.frames.closed_reason().is_none());

    handle.control.stop();
    // At most the frame of a tick in progress, then the end.
    let mut after_stop = 0;
    while handle.frames.recv().await.is_some() {
        after_stop += 1;
        assert!(after_stop <= 2, "frames keep coming after stop");
    }
    let reason = handle.frames.closed_reason().expect("closed with a reason");
    assert!(reason.contains("on request"), "{reason}");
}

#[tokio::test]
async fn a_slow_receiver_gets_the_newest_frame() {
    let mut handle = spawn(HostRoot::live(), Duration::from_millis(100));
    // The app loop is busy (blocking this thread; the sampler has its own) until the sampler
    // has replaced two unread frames. Polled, not a fixed sleep: ticks are slow under emulation.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while handle.frames.dropped_frames() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let dropped = handle.frames.dropped_frames();
    assert!(dropped >= 2, "no frame was replaced within 60 s");
    let frame = handle.frames.try_recv().expect("a frame is waiting");
    // Frames 0 .. dropped-1 were replaced: the one waiting is newer than all of them.
    assert!(
        frame.seq >= dropped,
        "got frame {} after {dropped} dropped",
        frame.seq
    );
    // Only one frame waits at a time.
    assert!(handle.frames.try_recv().is_none());
    handle.control.set_interval(Duration::from_secs(60));
    handle.control.tick_now();
    let next = handle.frames.recv().await.expect("tick on request");
    assert!(next.seq > frame.seq);
    handle.control.stop();
}

#[tokio::test]
async fn an_unreadable_host_closes_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("proc")).unwrap();
    let mut handle = spawn(HostRoot::under(tmp.path()), Duration::from_millis(100));
    assert!(handle.frames.recv().await.is_none());
    let reason = handle.frames.closed_reason().unwrap();
    assert!(reason.starts_with("sampling stopped:"), "{reason}");
    assert!(reason.contains("procfs"), "{reason}");
}

#[tokio::test]
async fn the_net_map_comes_at_once_when_asked_and_goes_when_not() {
    let mut handle = spawn(HostRoot::live(), Duration::from_secs(60));
    let first = handle.frames.recv().await.expect("first frame");
    assert!(first.net_map.is_none(), "no map unless asked");
    // Asked: the next tick comes at once (not a 60 s interval later) with the map, which
    // holds at least this process's own namespace (readable without root).
    handle.control.set_net_map(true);
    let asked = tokio::time::timeout(Duration::from_secs(30), handle.frames.recv())
        .await
        .expect("a tick right after asking")
        .expect("a frame");
    let map = asked.net_map.expect("the map");
    let own = std::fs::metadata("/proc/self/ns/net")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    assert!(map.namespaces.iter().any(|n| n.inode == own), "{map:#?}");
    assert!(asked.networks.iter().any(|n| n.inode == own && n.host));
    handle.control.set_net_map(false);
    handle.control.tick_now();
    let after = handle.frames.recv().await.expect("a frame");
    assert!(after.net_map.is_none(), "the map is dropped when not asked");
    handle.control.stop();
}

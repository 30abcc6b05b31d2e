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

//! The layer sizer's worker on real temporary layers: it runs at idle I/O priority and nice 19
//! on a thread of its own, answers from its cache until a layer changes (lower) or is due
//! (upper), reports progress, merges repeated requests, and is cancelled by `forget` and by
//! `stop` mid-walk.

use std::fs;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use isotop::host::usage::{CachePolicy, LayerKind, UsageError};
use isotop::sample::{SizeEvent, SizerHandle, SizerOptions, spawn_sizer};
use isotop::sys::ioprio::{IoClass, get};

/// Long enough for a walk of a few thousand files on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(20);

fn layer(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..files {
        let sub = dir.path().join(format!("d{}", i % 20));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(i.to_string()), b"0123456789").unwrap();
    }
    dir
}

fn uncapped() -> SizerOptions {
    SizerOptions {
        files_per_second: None,
        ..SizerOptions::default()
    }
}

/// The next event that is not progress.
fn answer(sizer: &SizerHandle) -> SizeEvent {
    loop {
        match sizer.wait_next(WAIT).expect("the sizer answers") {
            SizeEvent::Progress { .. } => continue,
            other => return other,
        }
    }
}

fn sized(sizer: &SizerHandle, expected: &Path) -> (u64, bool) {
    match answer(sizer) {
        SizeEvent::Sized {
            path,
            usage,
            cached,
            ..
        } => {
            assert_eq!(path, expected);
            (usage.files, cached)
        }
        other => panic!("not sized: {other:?}"),
    }
}

#[test]
fn the_worker_thread_runs_at_idle_io_priority_and_nice_19() {
    let sizer = spawn_sizer(uncapped()).unwrap();
    let priority = sizer.priority();
    assert!(priority.io_idle);
    assert_eq!(priority.nice, 19);
    assert_eq!(get(priority.tid).unwrap(), IoClass::Idle);
    // The kernel's own view: field 19 of the thread's stat is its nice value.
    let stat = fs::read_to_string(format!("/proc/self/task/{}/stat", priority.tid)).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let nice: i32 = after_name.split(' ').nth(16).unwrap().parse().unwrap();
    assert_eq!(nice, 19);
    if Path::new("/usr/bin/ionice").exists() {
        let out = Command::new("ionice")
            .args(["-p", &priority.tid.to_string()])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "idle");
    }
    assert_ne!(
        get(0).unwrap(),
        IoClass::Idle,
        "the caller's thread is left alone"
    );
    sizer.stop();
}

#[test]
fn a_lower_layer_is_walked_once_until_it_changes() {
    let dir = layer(500);
    let sizer = spawn_sizer(uncapped()).unwrap();
    sizer.measure(dir.path(), LayerKind::Lower);
    assert_eq!(sized(&sizer, dir.path()), (500, false));
    sizer.measure(dir.path(), LayerKind::Lower);
    assert_eq!(sized(&sizer, dir.path()), (500, true));

    // A new entry at the layer's top changes its times: walked again.
    std::thread::sleep(Duration::from_millis(20));
    fs::write(dir.path().join("new"), b"x").unwrap();
    sizer.measure(dir.path(), LayerKind::Lower);
    assert_eq!(sized(&sizer, dir.path()), (501, false));
    sizer.stop();
}

#[test]
fn an_upper_layer_is_walked_again_when_due() {
    let dir = layer(100);
    let often = SizerOptions {
        cache: CachePolicy {
            upper_every: Duration::ZERO,
            ..CachePolicy::default()
        },
        ..uncapped()
    };
    let sizer = spawn_sizer(often).unwrap();
    sizer.measure(dir.path(), LayerKind::Upper);
    assert_eq!(sized(&sizer, dir.path()), (100, false));
    // A change deep inside: invisible to the layer's own times, seen because it is due.
    fs::write(dir.path().join("d3/deep"), b"x").unwrap();
    sizer.measure(dir.path(), LayerKind::Upper);
    assert_eq!(sized(&sizer, dir.path()), (101, false));
    sizer.stop();

    let sizer = spawn_sizer(uncapped()).unwrap();
    sizer.measure(dir.path(), LayerKind::Upper);
    assert_eq!(sized(&sizer, dir.path()), (101, false));
    sizer.measure(dir.path(), LayerKind::Upper);
    assert_eq!(sized(&sizer, dir.path()), (101, true), "not due for 60 s");
    sizer.stop();
}

#[test]
fn progress_is_reported_while_walking() {
    let dir = layer(4000);
    let sizer = spawn_sizer(SizerOptions {
        progress_every: Duration::ZERO,
        ..uncapped()
    })
    .unwrap();
    sizer.measure(dir.path(), LayerKind::Lower);
    let mut seen = Vec::new();
    let files = loop {
        match sizer.wait_next(WAIT).expect("the sizer answers") {
            SizeEvent::Progress { path, so_far } => {
                assert_eq!(path, dir.path());
                seen.push(so_far.entries);
            }
            SizeEvent::Sized { usage, .. } => break usage.files,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(files, 4000);
    assert_eq!(seen, vec![1000, 2000, 3000, 4000], "every 1,000 entries");
    sizer.stop();
}

#[test]
fn a_missing_layer_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    let sizer = spawn_sizer(uncapped()).unwrap();
    sizer.measure(&gone, LayerKind::Upper);
    match answer(&sizer) {
        SizeEvent::Failed { path, error, .. } => {
            assert_eq!(path, gone);
            assert!(matches!(error, UsageError::Gone { .. }), "{error}");
        }
        other => panic!("{other:?}"),
    }
    sizer.stop();
}

/// A sizer capped at 1,000 entries/s reporting every progress: a 3,000-file layer takes ~3 s.
fn slow_sizer() -> SizerHandle {
    spawn_sizer(SizerOptions {
        files_per_second: NonZeroU32::new(1000),
        progress_every: Duration::ZERO,
        ..SizerOptions::default()
    })
    .unwrap()
}

fn first_progress(sizer: &SizerHandle, expected: &Path) {
    match sizer.wait_next(WAIT).expect("progress") {
        SizeEvent::Progress { path, .. } => assert_eq!(path, expected),
        other => panic!("{other:?}"),
    }
}

#[test]
fn forget_cancels_the_walk_under_way_and_repeats_are_merged() {
    let slow = layer(3000);
    let small = layer(10);
    let sizer = slow_sizer();
    sizer.measure(slow.path(), LayerKind::Lower);
    first_progress(&sizer, slow.path());
    // Asked three times while the worker is busy: walked once.
    for _ in 0..3 {
        sizer.measure(small.path(), LayerKind::Lower);
    }
    sizer.forget(slow.path());
    match answer(&sizer) {
        SizeEvent::Failed { path, error, .. } => {
            assert_eq!(path, slow.path());
            match error {
                UsageError::Cancelled { entries, .. } => assert!(entries < 3020, "{entries}"),
                other => panic!("{other}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sized(&sizer, small.path()), (10, false));
    assert!(
        sizer.wait_next(Duration::from_millis(500)).is_none(),
        "the repeats were merged into one walk"
    );
    sizer.stop();
}

#[test]
fn stop_ends_the_thread_mid_walk() {
    let slow = layer(3000);
    let sizer = slow_sizer();
    let tid = sizer.priority().tid;
    let task: PathBuf = format!("/proc/self/task/{tid}").into();
    sizer.measure(slow.path(), LayerKind::Lower);
    first_progress(&sizer, slow.path());
    assert!(task.exists());
    sizer.stop();
    // Joined; the kernel reaps the task right after it wakes the joiner.
    let gone = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        !task.exists()
    });
    assert!(gone, "the worker thread is gone after stop");
}

//! With layer sizing off the sampler still puts each container's stack in its frames, sizes
//! nothing and starts no sizer thread: checked by the threads' names in a process of its own
//! (the other tests of this binary start sizers), beside a runc container on an overlay root.

use std::fs;
use std::process::Command;

use isotop::host::HostRoot;
use isotop::sample::LayerSizing;

use crate::sample_stacks::{OverlayContainer, container, history, ready, sampler_on, tick_until};
use crate::support::common;
use crate::support::overlay_root::LayerDirs;

/// The environment variable that makes [`sizing_off_child`] run (set by its parent).
const CHILD_ENV: &str = "ISOTOP_TEST_SIZING_OFF_CONTAINER";

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
#[ignore = "needs root"]
fn sizing_off_starts_no_sizer_thread() {
    if !ready() {
        return;
    }
    let layers = LayerDirs::create();
    let (c, _) = OverlayContainer::on_busybox(&layers, "sizing-off");
    // Other tests of this process start sizers: the threads are counted in a process running
    // only the child half.
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "sample_stacks_off::sizing_off_child",
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, c.id())
        .output()
        .expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran:\n{text}");
    assert!(text.contains("child checked"), "the child checked:\n{text}");
}

/// The child half of [`sizing_off_starts_no_sizer_thread`]: with sizing off, frames carry the
/// stack, no size, and no thread named `isotop-sizer` runs; then, in the same process, sizing
/// on starts exactly that thread (so the check can fail). Does nothing without its parent.
#[test]
#[ignore = "needs root"]
fn sizing_off_child() {
    let Ok(id) = std::env::var(CHILD_ENV) else {
        eprintln!(
            "skipping {}: run by sizing_off_starts_no_sizer_thread",
            common::test_name()
        );
        return;
    };
    let mut off = sampler_on(HostRoot::live(), LayerSizing::Off);
    let mut history = history();
    let frame = tick_until(&mut off, &mut history, "the stack read", |f| {
        container(f, &id).is_some_and(|s| s.stack.is_some())
    });
    assert!(frame.layer_sizes.is_empty());
    assert_eq!(off.sizer_tid(), None);
    let names = thread_names();
    assert!(!names.iter().any(|n| n == "isotop-sizer"), "{names:?}");

    let mut on = sampler_on(HostRoot::live(), LayerSizing::Writable);
    on.tick().unwrap();
    let tid = on.sizer_tid().expect("sizing on starts the sizer");
    let comm = fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap();
    assert_eq!(comm.trim(), "isotop-sizer");
    assert!(thread_names().iter().any(|n| n == "isotop-sizer"));
    eprintln!("child checked");
}

//! End to end: the real `isotop` binary in tmux against an overlay-rooted container this test
//! makes — an `unshare` pid+mount namespace that mounts an overlay of two lower layers (a
//! static busybox in one, a file in the other) and an upper dir, then `chroot`s into it and
//! sleeps. The Containers view has its RW SIZE column at 160 columns; `v` opens the container's
//! detail pane at its Layers, `v` again shows its Mounts, and again its charts.
//!
//! The Layers pane lists the upper dir as the writable layer and the two lower dirs top first
//! (the sampler read the stack when it first saw the container), and the Mounts pane the
//! overlay at `/`.
//! Needs root, tmux, unshare and busybox; the tmux session and the container (and with it the
//! overlay, mounted only in its mount namespace) are removed by drop guards.

use crate::support::common;
use crate::tmux::{children_of, dashboard};

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{ChildGuard, require_program, wait_until};

/// The comm of `pid`.
fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The screen row containing `needle`, if any.
fn row(screen: &str, needle: &str) -> Option<usize> {
    screen.lines().position(|l| l.contains(needle))
}

#[test]
#[ignore = "needs root"]
fn dashboard_in_tmux_shows_an_overlay_containers_layers_and_mounts() {
    if !require_program("tmux") || !require_program("unshare") || !require_program("busybox") {
        return;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("busybox");
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    for name in ["lower-bin", "lower-etc", "upper", "work", "merged"] {
        std::fs::create_dir_all(at(name)).unwrap();
    }
    std::fs::create_dir_all(at("lower-bin/bin")).unwrap();
    std::fs::copy(busybox, at("lower-bin/bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", at("lower-bin/bin/sleep")).unwrap();
    std::fs::create_dir_all(at("lower-etc/etc")).unwrap();
    std::fs::write(at("lower-etc/etc/hostname"), "layered\n").unwrap();
    // lower-etc above lower-bin: overlay's first lowerdir is the top one.
    let options = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        at("lower-etc").display(),
        at("lower-bin").display(),
        at("upper").display(),
        at("work").display()
    );
    let script = format!(
        "mount -t overlay overlay -o {options} {merged} && exec chroot {merged} /bin/sleep 1000",
        merged = at("merged").display()
    );
    let unshare = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--fork", "--pid", "--mount", "--propagation", "private"])
            .args(["--kill-child", "sh", "-c", &script]),
    );
    let mut inner = 0;
    assert!(
        wait_until(Duration::from_secs(5), || {
            inner = children_of(unshare.pid()).first().copied().unwrap_or(0);
            inner > 0 && comm(inner) == "sleep"
        }),
        "the container's init chrooted into its overlay and sleeps"
    );
    let mountinfo = std::fs::read_to_string(format!("/proc/{inner}/mountinfo")).unwrap();
    assert!(
        mountinfo
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/") && l.contains(" - overlay ")),
        "its root is the overlay:\n{mountinfo}"
    );

    let tmux = dashboard(160, 48);
    tmux.expect("RW SIZE", "the RW SIZE column at 160 columns");
    tmux.filter(&inner.to_string());
    tmux.expect_screen("the container's row", |s| {
        s.lines()
            .any(|l| l.contains(&inner.to_string()) && l.contains("running"))
    });

    // `v` on the table opens the detail pane at the layers.
    tmux.keys(&["v"]);
    let upper = at("upper").display().to_string();
    let lower_etc = at("lower-etc").display().to_string();
    let lower_bin = at("lower-bin").display().to_string();
    // The sampler reads the stack when it first sees the container: the real stack.
    let layers = tmux.expect_screen("the Layers pane with the real stack", |s| {
        s.contains("layers (v)")
            && s.contains("LAYER")
            && s.contains(&lower_bin)
            && s.contains("total")
    });
    let writable = row(&layers, "writable").unwrap();
    assert!(layers.lines().nth(writable).unwrap().contains(&upper));
    let lower1 = row(&layers, "lower 1").unwrap();
    assert!(layers.lines().nth(lower1).unwrap().contains(&lower_etc));
    let lower2 = row(&layers, "lower 2").unwrap();
    assert!(layers.lines().nth(lower2).unwrap().contains(&lower_bin));
    assert!(writable < lower1 && lower1 < lower2, "{layers}");
    assert!(layers.contains("root      overlay"), "{layers}");

    tmux.keys(&["v"]);
    let mounts = tmux.expect_screen("the Mounts pane", |s| {
        s.contains("mounts (v)") && s.contains("MOUNTED AT")
    });
    assert!(
        mounts
            .lines()
            .any(|l| l.contains("/ ") && l.contains("overlay")),
        "the overlay at /:\n{mounts}"
    );

    tmux.keys(&["v"]);
    tmux.expect("charts (v)", "the charts again");
    tmux.expect("CPU%", "the CPU chart");

    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "isotop exits with status 0 on q");
    drop(unshare);
}

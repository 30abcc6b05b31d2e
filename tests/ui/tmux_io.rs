//! End to end, as root: the real dashboard in tmux sets an I/O limit through the `i` prompt
//! (issue 13). A loop device the test made and a cgroup under a unique test parent holding a
//! `sleep`; on the cgroup's row in the Cgroups view `i` opens the I/O prompt, `--device-write-bps
//! /dev/loopN=1M` writes the kernel's file (v1 `blkio.throttle.write_bps_device`, v2 `io.max`:
//! read back after each step), the outcome offers `u`, and `u` lifts the limit again. The
//! audit log names the target `cgroup:<path>`. The device is detached and the cgroup removed
//! on drop, whatever fails. Needs root, tmux and losetup (skips with the reason otherwise).

use crate::support::{block_io, common};
use crate::tmux_cgroup_acts::dashboard_on_cgroup;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use block_io::LoopDevice;
use common::{CgroupGuard, ChildGuard, read_text, require_program, wait_until};

/// The kernel's write-bandwidth line of `device` in `file` (`None`: no line, no limit).
fn write_line(file: &Path, device: &str) -> Option<String> {
    read_text(file)
        .lines()
        .find(|l| l.starts_with(&format!("{device} ")))
        .map(|l| l.trim().to_string())
}

fn wait_for(what: &str, file: &Path, device: &str, want: Option<&str>) {
    let mut last = None;
    let ok = wait_until(Duration::from_secs(20), || {
        last = write_line(file, device);
        last.as_deref() == want
    });
    assert!(
        ok,
        "{what}: want {want:?}, {} says {last:?}",
        file.display()
    );
}

#[test]
#[ignore = "needs root"]
fn the_i_prompt_limits_a_cgroups_writes_to_a_loop_device_and_u_lifts_it() {
    if !require_program("tmux") {
        return;
    }
    let Some(disk) = LoopDevice::new(16) else {
        return;
    };
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let guard = CgroupGuard::new("tmux-io");
    let path = guard.child("disk");
    let sleeper = ChildGuard::spawn(
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    guard.add_pid("disk", sleeper.pid());
    let (file, limited): (PathBuf, String) = if v2 {
        (
            guard.dir("blkio", "disk").join("io.max"),
            format!("{} rbps=max wbps=1048576 riops=max wiops=max", disk.number),
        )
    } else {
        (
            guard
                .dir("blkio", "disk")
                .join("blkio.throttle.write_bps_device"),
            format!("{} 1048576", disk.number),
        )
    };
    assert!(file.exists(), "{} is missing", file.display());
    assert_eq!(write_line(&file, &disk.number), None, "no limit before");

    let state = tempfile::tempdir().unwrap();
    let audit = state.path().join("audit.jsonl");
    let tmux = dashboard_on_cgroup(state.path(), &path);
    tmux.expect("disk", "the test cgroup's row");

    tmux.keys(&["i"]);
    tmux.expect(&format!("{path} I/O limits:"), "the I/O prompt");
    tmux.text(&format!("--device-write-bps {}=1M", disk.path.display()));
    tmux.keys(&["Enter"]);
    wait_for("the write limit", &file, &disk.number, Some(&limited));
    tmux.expect("u undoes", "the outcome offers the undo");

    tmux.keys(&["u"]);
    wait_for("the undo", &file, &disk.number, None);
    tmux.expect("undid:", "the undo's outcome");

    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    let label = format!("\"target\":\"cgroup:{path}\"");
    let what = if v2 {
        "\"limit.io_max\""
    } else {
        "\"limit.io_write_bps\""
    };
    assert!(
        log.lines().any(|l| l.contains(&label) && l.contains(what)),
        "audit log lacks {what} for {label}:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(&label) && l.contains("\"undo\"")),
        "audit log lacks the undo for {label}:\n{log}"
    );
    drop(tmux);
}

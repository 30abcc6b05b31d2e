//! End to end, as root: the real dashboard in tmux acts on a cgroup itself from the Cgroups
//! view (issue 11). A cgroup made under a unique test parent holds a `sleep`; on its row `c`
//! opens the CPU prompt prefilled with `max`, `0.1 for 3s` writes the quota (0.1 CPU) and the
//! change reverts by itself after 3 s (the kernel's file is read each time); `K` asks, `y`
//! sends TERM and the `sleep` ends. The audit log names the target `cgroup:<path>`. Needs root
//! and tmux (skips with the reason otherwise).

use crate::support::{common, tmux};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{CgroupGuard, ChildGuard, read_text, require_program, wait_until};
use tmux::Tmux;

pub(crate) fn wait_for(what: &str, file: &Path, want: &str) {
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        last = read_text(file).trim().to_string();
        last == want
    });
    assert!(
        ok,
        "{what}: want {want:?}, {} says {last:?}",
        file.display()
    );
}

/// The dashboard (`-d 0.5`) with its audit log (`audit.jsonl`) and state under `state`, on the
/// Cgroups view filtered to `path`.
pub(crate) fn dashboard_on_cgroup(state: &Path, path: &str) -> Tmux {
    let isotop = env!("CARGO_BIN_EXE_isotop");
    // The dump on trouble off: its message ("CPU pressure at 20% in <another test's cgroup>:
    // the last 15s written") takes the status line the act's outcome is read from (seen in
    // the VM, beside the CPU-loading tests).
    let config = state.join("config.toml");
    std::fs::write(&config, "[trouble]\ndump = false\n").expect("write the test's config");
    // Wide: the kept filter and the outcome share the status line, and test paths are long.
    let tmux = Tmux::start(
        250,
        40,
        &format!(
            "ISOTOP_AUDIT_LOG={} ISOTOP_STATE_DIR={} {isotop} -d 0.5 --config {}; echo EXITED $?; sleep 60",
            state.join("audit.jsonl").display(),
            state.join("state").display(),
            config.display()
        ),
    );
    tmux.expect("processes ", "the first frame arrives");
    tmux.keys(&["2"]);
    tmux.filter(path);
    tmux
}

#[test]
#[ignore = "needs root"]
fn the_cgroups_view_limits_and_kills_the_selected_cgroup() {
    if !require_program("tmux") {
        return;
    }
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let guard = CgroupGuard::new("tmux-cg");
    let path = guard.child("work");
    let sleeper = ChildGuard::spawn(
        Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    guard.add_pid("work", sleeper.pid());
    let (quota, unlimited, tenth) = if v2 {
        (
            guard.dirs[0].join("work/cpu.max"),
            "max 100000",
            "10000 100000",
        )
    } else {
        (
            guard.dir("cpu", "work").join("cpu.cfs_quota_us"),
            "-1",
            "10000",
        )
    };
    let state = tempfile::tempdir().unwrap();
    let audit = state.path().join("audit.jsonl");
    let tmux = dashboard_on_cgroup(state.path(), &path);
    tmux.expect("work", "the test cgroup's row");

    tmux.keys(&["c"]);
    tmux.expect(
        &format!("{path} CPU limit (CPUs): max"),
        "the prefilled prompt",
    );
    for _ in 0..3 {
        tmux.keys(&["BSpace"]);
    }
    tmux.text("0.1 for 3s");
    tmux.keys(&["Enter"]);
    wait_for("the CPU quota", &quota, tenth);
    tmux.expect("reverts by itself", "the outcome names the timed revert");
    wait_for("the timed revert", &quota, unlimited);

    tmux.keys(&["K"]);
    tmux.expect("with TERM? y/N", "the kill confirmation");
    tmux.keys(&["y"]);
    tmux.expect("is empty", "the kill outcome");
    let pid = sleeper.pid();
    assert!(
        wait_until(Duration::from_secs(10), || !Path::new(&format!(
            "/proc/{pid}/cmdline"
        ))
        .exists()
            || read_text(Path::new(&format!("/proc/{pid}/cmdline"))).is_empty()),
        "the sleep survived TERM"
    );
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    let label = format!("\"target\":\"cgroup:{path}\"");
    for what in ["\"limit.cpu\"", "\"revert\"", "\"kill\""] {
        assert!(
            log.lines().any(|l| l.contains(&label) && l.contains(what)),
            "audit log lacks {what} for {label}:\n{log}"
        );
    }
}

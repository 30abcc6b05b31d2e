//! End to end, as root: the real `isotop` dashboard in a detached tmux session acts on a real
//! runc container (busybox `sleep 1000` under a unique test cgroup parent). Keys go in with
//! `send-keys`; the kernel's own files are read to check each act: `f` freezes (the row says
//! `frozen`, the freezer file FROZEN) and `f` again thaws; `c` with `0.25` writes the CPU quota
//! (25000 µs per 100000 µs period) and `u` puts the old value back; `e` runs the container's
//! shell on the terminal (a command typed there sees the container's hostname and init) and
//! `exit` comes back to the dashboard; `K` `y` sends TERM, which
//! the container's init ignores (PID 1 of its pid namespace), the dashboard says so, and a
//! second `K` `y` sends KILL: no process is left in the container's cgroup. The audit log and
//! the undo journal go to temp paths. Needs root, tmux and runc (skips with the reason
//! otherwise); the session, container and cgroups are removed by drop guards.

use crate::support::{bundle, common, tmux};

use std::path::Path;
use std::time::Duration;

use bundle::{OciRun, v2_host};
use common::{read_text, require_program, wait_until};
use tmux::Tmux;

/// The kernel's freezer state of the container: `FROZEN`/`THAWED` (v1 `freezer.state`; v2
/// `cgroup.events` `frozen 1|0`).
fn freezer_state(run: &OciRun) -> String {
    if v2_host() {
        let events = read_text(&run.cgroup_dir("cgroup").join("cgroup.events"));
        if events.lines().any(|l| l.trim() == "frozen 1") {
            "FROZEN".into()
        } else {
            "THAWED".into()
        }
    } else {
        read_text(&run.cgroup_dir("freezer").join("freezer.state"))
            .trim()
            .to_string()
    }
}

/// The CPU quota file's content: v1 `cpu.cfs_quota_us` (period checked apart), v2 `cpu.max`.
fn quota(run: &OciRun) -> String {
    let file = if v2_host() {
        "cpu.max"
    } else {
        "cpu.cfs_quota_us"
    };
    read_text(&run.cgroup_dir("cpu").join(file))
        .trim()
        .to_string()
}

fn wait_for(what: &str, mut read: impl FnMut() -> String, want: &str) {
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        last = read();
        last == want
    });
    assert!(ok, "{what}: want {want:?}, the kernel says {last:?}");
}

fn procs_left(run: &OciRun) -> String {
    let dir = if v2_host() {
        run.cgroup_dir("cgroup")
    } else {
        run.cgroup_dir("pids")
    };
    std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default()
}

/// The container's row: the one line naming the runtime (the table is filtered to it).
fn row_state(screen: &str, state: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains(" runc ") && l.contains(state))
}

#[test]
#[ignore = "needs root"]
fn dashboard_acts_on_a_runc_container() {
    let test = common::test_name();
    if !require_program("tmux") || !require_program("runc") {
        return;
    }
    if !Path::new(bundle::BUSYBOX).exists() {
        eprintln!(
            "skipping {test}: {} is missing (busybox-static)",
            bundle::BUSYBOX
        );
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let audit = state.path().join("audit.jsonl");
    let journal = state.path().join("state");
    let run = OciRun::start("runc");
    let old_quota = quota(&run);
    let period = if v2_host() {
        None
    } else {
        Some(read_text(&run.cgroup_dir("cpu").join("cpu.cfs_period_us")))
    };

    let isotop = env!("CARGO_BIN_EXE_isotop");
    // The variables go in the command: a running tmux server would not pass the client's.
    let tmux = Tmux::start(
        160,
        40,
        &format!(
            "ISOTOP_AUDIT_LOG={} ISOTOP_STATE_DIR={} {isotop} -d 0.5; echo EXITED $?; sleep 60",
            audit.display(),
            journal.display()
        ),
    );
    tmux.expect("1 Containers", "the dashboard starts");
    tmux.expect("processes ", "the first frame arrives");
    tmux.keys(&["/"]);
    tmux.text(&run.id);
    tmux.keys(&["Enter"]);
    tmux.expect_screen("the container's row, running", |s| row_state(s, "running"));

    // f: frozen in the kernel and on the row; f again: running.
    tmux.keys(&["f"]);
    wait_for("freeze", || freezer_state(&run), "FROZEN");
    tmux.expect_screen("the row says frozen", |s| row_state(s, "frozen"));
    tmux.keys(&["f"]);
    wait_for("thaw", || freezer_state(&run), "THAWED");
    tmux.expect_screen("the row says running", |s| row_state(s, "running"));

    // c: the input line starts with the current limit (none: max); 0.25 CPUs goes in.
    tmux.keys(&["c"]);
    tmux.expect("CPU limit (CPUs): max", "the CPU input line, prefilled");
    for _ in 0..3 {
        tmux.keys(&["BSpace"]);
    }
    tmux.text("0.25");
    tmux.expect("CPU limit (CPUs): 0.25", "the typed value");
    tmux.keys(&["Enter"]);
    let want = if v2_host() { "25000 100000" } else { "25000" };
    wait_for("CPU quota", || quota(&run), want);
    if let Some(period) = &period {
        assert_eq!(period.trim(), "100000", "the v1 period stays 100000 µs");
    }
    tmux.expect("u undoes", "the outcome in the status line");

    // u: the old value is back.
    tmux.keys(&["u"]);
    wait_for("undo", || quota(&run), &old_quota);
    tmux.expect("undid:", "the undo outcome");

    // The acts were audited to the test's log, not /var/log.
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    for what in ["\"freeze\"", "\"thaw\"", "limit.cpu"] {
        assert!(log.contains(what), "audit log lacks {what}:\n{log}");
    }

    // e: the screen is given back to the container's shell (busybox sh in its root, its
    // hostname); `exit` brings the dashboard back with the shell's exit code.
    tmux.keys(&["e"]);
    tmux.expect_screen("the dashboard left the screen", |s| {
        !s.contains("1 Containers")
    });
    tmux.text("echo INSIDE-$((6*7)) $(hostname) $(cat /proc/1/comm)");
    tmux.keys(&["Enter"]);
    let hostname = read_text(&run.bundle.join("config.json"));
    let hostname = serde_json::from_str::<serde_json::Value>(&hostname).unwrap()["hostname"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    tmux.expect(
        &format!("INSIDE-42 {hostname} sleep"),
        "the command ran in the container (its hostname, its init as PID 1)",
    );
    tmux.text("exit 3");
    tmux.keys(&["Enter"]);
    tmux.expect("the shell exited with 3", "back in the dashboard");
    tmux.expect("1 Containers", "the dashboard is drawn again");
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(log.contains("\"enter\""), "audit log lacks enter:\n{log}");

    // K y: TERM. The init (`sleep`, PID 1 of the container's pid namespace) ignores it.
    tmux.keys(&["K"]);
    tmux.expect("with TERM? y/N", "the kill confirmation");
    tmux.keys(&["y"]);
    let screen = tmux.expect_screen("the kill outcome", |s| {
        s.contains("press K again for KILL") || s.contains("is gone:")
    });
    if screen.contains("press K again for KILL") {
        assert!(
            !procs_left(&run).trim().is_empty(),
            "TERM left the init running"
        );
        tmux.keys(&["K"]);
        tmux.expect("with KILL? y/N", "the KILL confirmation");
        tmux.keys(&["y"]);
        tmux.expect("is gone:", "the KILL outcome");
    }
    let ok = wait_until(Duration::from_secs(10), || {
        procs_left(&run).trim().is_empty()
    });
    assert!(
        ok,
        "processes left in the container's cgroup: {}",
        procs_left(&run)
    );

    tmux.keys(&["q"]);
    tmux.expect("EXITED 0", "the dashboard quits cleanly");
}

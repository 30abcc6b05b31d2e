//! Freeze and thaw on real cgroups (v1 `freezer.state` here, v2 `cgroup.freeze` in the VM):
//! a counting shell stops counting while frozen and resumes after thaw; the CLI freezes a
//! real runc container and `isotop ls` shows it; refusals change nothing.

use crate::support::{bundle, common};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{CgroupGuard, ChildGuard, read_text, require_program, wait_until};
use isotop::control::freeze::Freezer;
use isotop::host::cgroup::FreezerState;

/// The freezer of test cgroup `child` under `guard`: v2 dir on a v2 host, else v1 freezer.
fn freezer_of(guard: &CgroupGuard, child: &str) -> Freezer {
    if bundle::v2_host() {
        Freezer::V2(guard.dir("", child))
    } else {
        Freezer::V1(guard.dir("freezer", child))
    }
}

/// A shell writing an increasing number to `file` about every 10 ms.
fn counter(file: &Path) -> ChildGuard {
    let script = format!(
        "i=0; while :; do i=$((i+1)); echo $i > {f}.tmp; mv {f}.tmp {f}; sleep 0.01; done",
        f = file.display()
    );
    ChildGuard::spawn(Command::new("sh").arg("-c").arg(script))
}

fn count(file: &Path) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Per-test audit log, so tests never write /var/log.
fn audit_log(dir: &Path) -> PathBuf {
    dir.join("audit.jsonl")
}

#[test]
#[ignore = "needs root"]
fn a_frozen_counter_stops_and_resumes_after_thaw() {
    let guard = CgroupGuard::new("freeze");
    guard.child("c");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("count");
    let child = counter(&file);
    guard.add_pid("c", child.pid());
    assert!(wait_until(Duration::from_secs(10), || count(&file) > 3));
    let freezer = freezer_of(&guard, "c");

    freezer.freeze(Duration::from_secs(10)).unwrap();
    assert_eq!(freezer.state().unwrap(), FreezerState::Frozen);
    match &freezer {
        Freezer::V1(dir) => assert_eq!(read_text(&dir.join("freezer.state")), "FROZEN"),
        Freezer::V2(dir) => {
            assert_eq!(read_text(&dir.join("cgroup.freeze")), "1");
            assert!(read_text(&dir.join("cgroup.events")).contains("frozen 1"));
        }
    }
    let frozen_at = count(&file);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&file), frozen_at, "the counter moved while frozen");

    freezer.thaw(Duration::from_secs(10)).unwrap();
    assert_eq!(freezer.state().unwrap(), FreezerState::Thawed);
    assert!(
        wait_until(Duration::from_secs(10), || count(&file) > frozen_at + 3),
        "the counter did not resume after thaw (stuck at {})",
        count(&file)
    );
}

#[test]
#[ignore = "needs root"]
fn freezing_a_removed_cgroup_says_it_vanished() {
    let guard = CgroupGuard::new("freeze-gone");
    guard.child("gone");
    let freezer = freezer_of(&guard, "gone");
    for dir in &guard.dirs {
        std::fs::remove_dir(dir.join("gone")).unwrap();
    }
    let err = freezer.freeze(Duration::from_secs(1)).unwrap_err();
    assert!(
        matches!(err, isotop::control::ControlError::Vanished { .. }),
        "{err}"
    );
}

fn runc_ready() -> bool {
    require_program("runc")
}

fn ls_state(id: &str) -> String {
    let list = common::isotop_json(&["ls", "--json", "--interval", "0"]);
    let entries = list
        .as_array()
        .cloned()
        .or_else(|| list["containers"].as_array().cloned())
        .unwrap_or_default();
    entries
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

#[test]
#[ignore = "needs root"]
fn cli_freezes_and_thaws_a_runc_container() {
    if !runc_ready() {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let log = tempfile::tempdir().unwrap();
    let file = if bundle::v2_host() {
        run.cgroup_dir("").join("cgroup.freeze")
    } else {
        run.cgroup_dir("freezer").join("freezer.state")
    };
    let isotop = |args: &[&str]| {
        common::isotop()
            .args(args)
            .env("ISOTOP_AUDIT_LOG", audit_log(log.path()))
            .output()
            .unwrap()
    };

    let out = isotop(&["freeze", &run.id, "--json"]);
    assert!(
        out.status.success(),
        "freeze failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["before"], "THAWED");
    assert_eq!(json["after"], "FROZEN");
    let frozen = if bundle::v2_host() { "1" } else { "FROZEN" };
    assert_eq!(read_text(&file), frozen);
    assert_eq!(ls_state(&run.id), "frozen");

    let out = isotop(&["thaw", &run.id]);
    assert!(
        out.status.success(),
        "thaw failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("thawed"));
    let thawed = if bundle::v2_host() { "0" } else { "THAWED" };
    assert_eq!(read_text(&file), thawed);
    assert_eq!(ls_state(&run.id), "running");

    // Both acts are in the audit log, with the states before and after.
    let (entries, _) = isotop::control::audit::read_from(&audit_log(log.path())).unwrap();
    let acts: Vec<(&str, Option<&str>, Option<&str>, &str)> = entries
        .iter()
        .filter(|e| e.target == run.id)
        .map(|e| {
            (
                e.what.as_str(),
                e.old.as_deref(),
                e.new.as_deref(),
                e.result.as_str(),
            )
        })
        .collect();
    assert_eq!(
        acts,
        vec![
            ("freeze", Some("THAWED"), Some("FROZEN"), "ok"),
            ("thaw", Some("FROZEN"), Some("THAWED"), "ok"),
        ]
    );
}

#[test]
#[ignore = "needs root"]
fn refusals_exit_2_and_change_nothing() {
    if !runc_ready() {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let file = if bundle::v2_host() {
        run.cgroup_dir("").join("cgroup.freeze")
    } else {
        run.cgroup_dir("freezer").join("freezer.state")
    };
    let before = read_text(&file);
    // Host PID 1 is no container's, the root cgroup no container's: both exit 2.
    for args in [
        ["freeze", "1"],
        ["freeze", "/"],
        ["thaw", "nonexistent-target"],
    ] {
        let out = common::run_isotop(&args);
        assert_eq!(out.status.code(), Some(2), "isotop {args:?}");
        assert!(!out.stderr.is_empty());
    }
    // The guard itself, on a container record altered to hold what isotop never touches.
    let root = isotop::host::HostRoot::live();
    let snapshot = isotop::host::scan(&root, isotop::host::scan::ScanOptions::TARGETS).unwrap();
    let view = snapshot
        .containers
        .iter()
        .find(|c| c.container.id == run.id)
        .expect("the runc container is found")
        .clone();
    let mut holds_pid1 = view.clone();
    std::sync::Arc::make_mut(&mut holds_pid1.container)
        .pids
        .push(1);
    let mut holds_me = view.clone();
    std::sync::Arc::make_mut(&mut holds_me.container)
        .pids
        .push(std::process::id() as i32);
    let mut root_cgroup = view.clone();
    std::sync::Arc::make_mut(&mut root_cgroup.container).cgroup_path = Some("/".into());
    for (what, altered) in [
        ("pid 1", holds_pid1),
        ("isotop", holds_me),
        ("root cgroup", root_cgroup),
    ] {
        for frozen in [true, false] {
            let err = isotop::control::freeze::set_frozen(&root, &altered, frozen).unwrap_err();
            assert!(err.is_usage(), "{what}: {err}");
            assert!(err.to_string().starts_with("refused"), "{what}: {err}");
        }
    }
    assert_eq!(read_text(&file), before, "a refusal changed the freezer");
    assert_eq!(ls_state(&run.id), "running");
}

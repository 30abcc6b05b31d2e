//! An `unknown` container (root): `unshare --fork --pid --mount --mount-proc sleep` whose
//! inner process the test moves into a test cgroup of its own (every v1 hierarchy here, v2 in
//! the VM) gets that cgroup: `isotop ls --json` shows its path, its memory limit and its memory
//! use as the kernel files say, and `isotop limit` / `freeze` / `thaw` act on that cgroup. A
//! second unshare container left in the test's own cgroup (shared with the test and, here,
//! with every process of the machine) keeps `cgroup_path` null and `limit` is refused for it.

use crate::support::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{CgroupGuard, ChildGuard, read_number, read_text, require_program};
use isotop::host::HostRoot;
use isotop::host::process::ReadDepth;

/// 64 MiB, the memory limit the test writes.
const LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Kills (SIGKILL) one pid on drop: the namespace's init, should unshare not take it along.
struct PidGuard(i32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// `unshare --fork --pid --mount --mount-proc sleep 1000` and its child (pid 1 of the new pid
/// namespace), found by parentage.
fn unshare_sleep() -> (ChildGuard, PidGuard) {
    let unshare = ChildGuard::spawn(
        Command::new("unshare")
            .args([
                "--fork",
                "--kill-child",
                "--pid",
                "--mount",
                "--mount-proc",
                "sleep",
                "1000",
            ])
            .stdin(Stdio::null()),
    );
    let root = HostRoot::live();
    let mut inner = None;
    let found = common::wait_until(Duration::from_secs(10), || {
        inner = isotop::host::scan::read_processes(&root, ReadDepth::Full, &mut Vec::new())
            .unwrap()
            .into_iter()
            .find(|p| p.ppid == unshare.pid() && p.comm == "sleep")
            .map(|p| p.pid);
        inner.is_some()
    });
    assert!(found, "unshare {} started no sleep", unshare.pid());
    let inner = PidGuard(inner.unwrap());
    (unshare, inner)
}

/// The `isotop ls --json` row whose init is `pid`.
fn ls_row(pid: i32) -> serde_json::Value {
    let list = common::isotop_json(&["ls", "--json", "--interval", "0"]);
    list.as_array()
        .and_then(|rows| rows.iter().find(|r| r["pid"] == pid).cloned())
        .unwrap_or_else(|| panic!("no container with init {pid} in {list:#}"))
}

/// Runs isotop with its own audit log and state dir (never the machine's).
fn isotop_act(state: &Path, args: &[&str]) -> Output {
    common::isotop()
        .args(args)
        .env("ISOTOP_STATE_DIR", state.join("state"))
        .env("ISOTOP_AUDIT_LOG", state.join("audit.jsonl"))
        .output()
        .unwrap()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The directory of the box cgroup in the hierarchy carrying `controller` (v2: the one dir).
fn box_dir(guard: &CgroupGuard, controller: &str) -> PathBuf {
    if v2_host() {
        guard.dir("", "box")
    } else {
        guard.dir(controller, "box")
    }
}

#[test]
#[ignore = "needs root"]
fn an_unshare_container_in_a_cgroup_of_its_own_gets_that_cgroup() {
    if !require_program("unshare") {
        return;
    }
    let guard = CgroupGuard::new("unknown-cg");
    let box_path = guard.child("box");
    let memory_dir = box_dir(&guard, "memory");
    let (limit_file, usage_file) = if v2_host() {
        ("memory.max", "memory.current")
    } else {
        ("memory.limit_in_bytes", "memory.usage_in_bytes")
    };
    std::fs::write(memory_dir.join(limit_file), LIMIT_BYTES.to_string()).unwrap();

    let (_boxed_unshare, boxed) = unshare_sleep();
    guard.add_pid("box", boxed.0);
    let (_shared_unshare, shared) = unshare_sleep();
    let state = tempfile::tempdir().unwrap();

    // The boxed one: runtime unknown, its cgroup, the limit and usage the kernel reports.
    let usage_before = read_number(&memory_dir.join(usage_file));
    let row = ls_row(boxed.0);
    let usage_after = read_number(&memory_dir.join(usage_file));
    assert_eq!(row["runtime"], "unknown", "{row:#}");
    assert_eq!(row["cgroup_path"], box_path.as_str(), "{row:#}");
    assert_eq!(row["memory_limit_bytes"], LIMIT_BYTES, "{row:#}");
    let memory = row["memory_bytes"]
        .as_u64()
        .expect("memory_bytes is a number");
    assert!(
        (usage_before.min(usage_after)..=usage_before.max(usage_after)).contains(&memory),
        "memory_bytes {memory} is not the cgroup's {usage_file} ({usage_before}..{usage_after})"
    );
    let id = row["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("pidns-"), "{row:#}");

    // `limit` writes pids.max in that cgroup, and ls reads it back.
    let out = isotop_act(state.path(), &["limit", &id, "--pids", "7"]);
    assert_ok(&out, "isotop limit --pids 7");
    assert_eq!(read_text(&box_dir(&guard, "pids").join("pids.max")), "7");
    assert_eq!(ls_row(boxed.0)["pids_limit"], 7);

    // `freeze` and `thaw` act on the same cgroup.
    let (freeze_file, frozen, thawed) = if v2_host() {
        (box_dir(&guard, "").join("cgroup.freeze"), "1", "0")
    } else {
        (
            box_dir(&guard, "freezer").join("freezer.state"),
            "FROZEN",
            "THAWED",
        )
    };
    assert_ok(&isotop_act(state.path(), &["freeze", &id]), "isotop freeze");
    assert_eq!(read_text(&freeze_file), frozen);
    assert_eq!(ls_row(boxed.0)["state"], "frozen");
    assert_ok(&isotop_act(state.path(), &["thaw", &id]), "isotop thaw");
    assert_eq!(read_text(&freeze_file), thawed);

    // The one left in the test's cgroup shares it: no cgroup of its own, and limit is refused.
    let row = ls_row(shared.0);
    assert_eq!(row["runtime"], "unknown", "{row:#}");
    assert!(row["cgroup_path"].is_null(), "{row:#}");
    assert!(row["memory_limit_bytes"].is_null(), "{row:#}");
    let shared_id = row["id"].as_str().unwrap().to_string();
    let out = isotop_act(state.path(), &["limit", &shared_id, "--pids", "7"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "limit on a shared cgroup must be refused"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no cgroup of its own"), "{stderr}");
}

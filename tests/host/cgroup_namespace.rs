//! isotop in a cgroup namespace of its own (root): the DaemonSet's situation on cgroup v2 nodes,
//! made here with `unshare --cgroup`. An `unknown` container (an unshare'd `sleep`) sits in a
//! test cgroup `box`; isotop runs from a sibling test cgroup `obs` inside a new cgroup namespace
//! rooted there, so the kernel shows it the container's cgroup as `/../box` (checked: the test
//! reads the raw line the same way). `isotop ls --json` and `isotop inspect --json` must show the
//! container's cgroup path and figures as a run outside the namespace does. On this hybrid host
//! the v1 hierarchies are namespaced; in the v2 VM the unified one.

use crate::support::common;
use crate::support::unshared::{PidGuard, box_dir, unshare, v2_host};

use std::process::{Command, Output, Stdio};

use common::{CgroupGuard, ChildGuard, read_number, require_program};

/// 48 MiB and 41 tasks: the limits the test writes, to see them read back through the
/// namespace.
const LIMIT_BYTES: u64 = 48 * 1024 * 1024;
const PIDS_LIMIT: u64 = 41;

/// Runs `program args` from the guard's `obs` cgroup (a shell moves itself there in every
/// hierarchy) inside a new cgroup namespace rooted at `obs`.
fn in_cgroup_namespace(guard: &CgroupGuard, program: &str, args: &[&str]) -> Output {
    in_cgroup_namespace_after(guard, "", program, args)
}

/// As [`in_cgroup_namespace`], in a private mount namespace too, where `setup` (shell) runs
/// first.
fn in_cgroup_namespace_after(
    guard: &CgroupGuard,
    setup: &str,
    program: &str,
    args: &[&str],
) -> Output {
    let procs: Vec<String> = guard
        .dirs
        .iter()
        .map(|d| d.join("obs/cgroup.procs").display().to_string())
        .collect();
    let script = r#"
        files="$1"; setup="$2"; shift 2
        for f in $files; do echo $$ > "$f" || exit 99; done
        if [ -z "$setup" ]; then exec unshare --cgroup -- "$@"; fi
        exec unshare --cgroup --mount --propagation private -- \
            sh -c "$setup"' && exec "$@"' sh "$@"
    "#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(procs.join(" "))
        .arg(setup)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sh starts")
}

fn json_of(out: &Output, what: &str) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {:?}", out.stdout))
}

fn row_of(list: &serde_json::Value, pid: i32) -> serde_json::Value {
    list.as_array()
        .and_then(|rows| rows.iter().find(|r| r["pid"] == pid).cloned())
        .unwrap_or_else(|| panic!("no container with init {pid} in {list:#}"))
}

/// A test cgroup with `box` (pids.max = [`PIDS_LIMIT`], an unshare'd `sleep` in it) and `obs`
/// (empty, for isotop); `None` (skipped) without unshare.
fn boxed_sleep(what: &str) -> Option<(CgroupGuard, String, (ChildGuard, PidGuard))> {
    if !require_program("unshare") {
        return None;
    }
    let guard = CgroupGuard::new(what);
    let box_path = guard.child("box");
    guard.child("obs");
    std::fs::write(
        box_dir(&guard, "pids").join("pids.max"),
        PIDS_LIMIT.to_string(),
    )
    .unwrap();
    let sleep = unshare(&["sleep", "1000"], "sleep");
    guard.add_pid("box", sleep.1.0);
    Some((guard, box_path, sleep))
}

#[test]
#[ignore = "needs root"]
fn inside_a_cgroup_namespace_containers_keep_their_cgroups() {
    let Some((guard, box_path, (_unshare, boxed))) = boxed_sleep("cgns") else {
        return;
    };
    let (limit_file, usage_file) = if v2_host() {
        ("memory.max", "memory.current")
    } else {
        ("memory.limit_in_bytes", "memory.usage_in_bytes")
    };
    std::fs::write(
        box_dir(&guard, "memory").join(limit_file),
        LIMIT_BYTES.to_string(),
    )
    .unwrap();
    let isotop = env!("CARGO_BIN_EXE_isotop");

    // The namespace is real: seen from `obs`, the container's cgroup climbs out with `..`.
    let cat = in_cgroup_namespace(&guard, "cat", &[&format!("/proc/{}/cgroup", boxed.0)]);
    assert!(cat.status.success(), "{cat:?}");
    let raw = String::from_utf8_lossy(&cat.stdout);
    assert!(
        raw.lines().any(|l| l.ends_with(":/../box")),
        "not namespace-relative: {raw}"
    );

    // Outside, then inside: the same cgroup, the same limits, the memory use the kernel says.
    let memory_file = box_dir(&guard, "memory").join(usage_file);
    let outside = row_of(
        &common::isotop_json(&["ls", "--json", "--interval", "0"]),
        boxed.0,
    );
    let before = read_number(&memory_file);
    let out = in_cgroup_namespace(&guard, isotop, &["ls", "--json", "--interval", "0"]);
    let after = read_number(&memory_file);
    let inside = row_of(&json_of(&out, "ls --json in a cgroup namespace"), boxed.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("cgroup namespace"), "{stderr}");
    assert_eq!(outside["cgroup_path"], box_path.as_str(), "{outside:#}");
    for field in [
        "id",
        "cgroup_path",
        "memory_limit_bytes",
        "pids_limit",
        "cpu_limit",
    ] {
        assert_eq!(inside[field], outside[field], "{field}: {inside:#}");
    }
    assert_eq!(inside["memory_limit_bytes"], LIMIT_BYTES, "{inside:#}");
    assert_eq!(inside["pids_limit"], PIDS_LIMIT, "{inside:#}");
    let memory = inside["memory_bytes"].as_u64().expect("memory_bytes");
    assert!(
        (before.min(after)..=before.max(after)).contains(&memory),
        "memory_bytes {memory} is not the cgroup's {usage_file} ({before}..{after})"
    );

    // inspect: the same cgroup and the same kernel files behind its figures.
    let pid = boxed.0.to_string();
    let outside = common::isotop_json(&["inspect", &pid, "--json"]);
    let out = in_cgroup_namespace(&guard, isotop, &["inspect", &pid, "--json"]);
    let inside = json_of(&out, "inspect --json in a cgroup namespace");
    assert_eq!(inside["cgroup_path"], box_path.as_str(), "{inside:#}");
    // Every membership line as the host names it, not as the namespace shows it.
    assert_eq!(inside["cgroups"], outside["cgroups"], "{inside:#}");
    assert_eq!(inside["cgroup"]["path"], box_path.as_str(), "{inside:#}");
    assert_eq!(inside["cgroup"]["limits"], outside["cgroup"]["limits"]);
    assert_eq!(inside["cgroup"]["sources"], outside["cgroup"]["sources"]);
    assert!(
        inside["cgroup"]["sources"]
            .as_object()
            .is_some_and(|s| !s.is_empty()),
        "{inside:#}"
    );
}

#[test]
#[ignore = "needs root"]
fn a_namespace_root_out_of_sight_is_said_not_guessed() {
    let Some((guard, _, (_unshare, boxed))) = boxed_sleep("cgns-hidden") else {
        return;
    };
    // The host's mount of the hierarchy replaced by one made inside the namespace: it shows
    // only the namespace's own subtree, so nothing tells where that lies on the host.
    let (dir, mount) = if v2_host() {
        ("/sys/fs/cgroup", "mount -t cgroup2 none /sys/fs/cgroup")
    } else {
        (
            "/sys/fs/cgroup/pids",
            "mount -t cgroup -o pids none /sys/fs/cgroup/pids",
        )
    };
    let setup = format!("umount {dir} && {mount}");
    let isotop = env!("CARGO_BIN_EXE_isotop");
    let out =
        in_cgroup_namespace_after(&guard, &setup, isotop, &["ls", "--json", "--interval", "0"]);
    let row = row_of(
        &json_of(&out, "ls --json with the hierarchy hidden"),
        boxed.0,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not find where its root lies") && stderr.contains("--cgroupns=host"),
        "{stderr}"
    );
    // Not read from a wrong cgroup: the limit of `box` is not shown.
    assert!(row["pids_limit"].is_null(), "{row:#}");
}

//! Cgroup readers on trees built in a temporary directory: cgroups that vanish, files that
//! cannot be read, and cgroup names chosen to attack a terminal or not UTF-8 at all.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::support::common;
use isotop::host::HostRoot;
use isotop::host::cgroup::{detect_layout, read_at, read_for_memberships, read_tree};
use isotop::host::process::CgroupMembership;

/// A v2 host under `dir`: cgroup2 at /sys/fs/cgroup with one container cgroup `/box`.
pub(crate) fn build_v2(dir: &Path) {
    let proc_self = dir.join("proc/self");
    fs::create_dir_all(&proc_self).unwrap();
    fs::write(
        proc_self.join("mountinfo"),
        "31 23 0:26 / /sys/fs/cgroup rw,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
    )
    .unwrap();
    let cg = dir.join("sys/fs/cgroup");
    fs::create_dir_all(cg.join("box")).unwrap();
    fs::write(cg.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
    fs::write(cg.join("cgroup.procs"), "1\n").unwrap();
    let b = cg.join("box");
    fs::write(b.join("cgroup.procs"), "10\n11\n").unwrap();
    fs::write(
        b.join("cpu.stat"),
        "usage_usec 10\nuser_usec 6\nsystem_usec 4\n",
    )
    .unwrap();
    fs::write(b.join("memory.current"), "4096\n").unwrap();
    fs::write(b.join("memory.max"), "max\n").unwrap();
    fs::write(b.join("pids.current"), "2\n").unwrap();
    fs::write(b.join("pids.max"), "8\n").unwrap();
}

#[test]
fn a_removed_cgroup_is_skipped_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    build_v2(tmp.path());
    let root = HostRoot::under(tmp.path());
    let layout = detect_layout(&root).unwrap();
    let box_line = [CgroupMembership {
        hierarchy: 0,
        controllers: vec![],
        path: "/box".into(),
    }];
    let before = read_for_memberships(&root, &layout, &box_line)
        .unwrap()
        .unwrap();
    assert_eq!(before.nprocs, 2);
    assert_eq!(before.memory.unwrap().usage_bytes, Some(4096));
    let tree = read_tree(&root, &layout, "/", None).unwrap().unwrap();
    assert_eq!(tree.children.len(), 1);

    // The container exits and its runtime removes the cgroup.
    fs::remove_dir_all(tmp.path().join("sys/fs/cgroup/box")).unwrap();
    assert!(
        read_for_memberships(&root, &layout, &box_line)
            .unwrap()
            .is_none()
    );
    assert!(read_at(&root, &layout, "/box").unwrap().is_none());
    assert!(read_tree(&root, &layout, "/box", None).unwrap().is_none());
    let tree = read_tree(&root, &layout, "/", None).unwrap().unwrap();
    assert!(tree.children.is_empty());
}

#[test]
fn hostile_cgroup_names_are_cleaned_but_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    build_v2(tmp.path());
    let cg = tmp.path().join("sys/fs/cgroup");
    let evil = cg.join("evil\x1b[2Jname");
    fs::create_dir(&evil).unwrap();
    fs::write(evil.join("pids.current"), "5\n").unwrap();
    fs::write(evil.join("cgroup.procs"), "7\n").unwrap();
    fs::create_dir(cg.join(std::ffi::OsStr::from_bytes(b"bad\xffutf8"))).unwrap();
    let root = HostRoot::under(tmp.path());
    let layout = detect_layout(&root).unwrap();
    let tree = read_tree(&root, &layout, "/", None).unwrap().unwrap();
    let names: Vec<&str> = tree.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["box", "evil?[2Jname"]);
    let evil_node = &tree.children[1];
    assert_eq!(evil_node.path, "/evil?[2Jname");
    assert_eq!(evil_node.reading.path, "/evil?[2Jname");
    assert_eq!(evil_node.reading.pids.as_ref().unwrap().current, Some(5));
    assert_eq!(evil_node.reading.nprocs, 1);
    for path in evil_node.reading.sources.values() {
        assert!(!path.to_string_lossy().contains('\x1b'));
    }
    assert!(
        tree.reading
            .notes
            .iter()
            .any(|n| n.contains("non-UTF-8") && n.contains("bad\u{fffd}utf8")),
        "{:?}",
        tree.reading.notes
    );
}

const CHILD_DIR_VAR: &str = "ISOTOP_TEST_CGROUP_UNREADABLE_DIR";

/// The reading half of [`an_unreadable_file_is_none_with_a_note`], run in a child process that
/// cannot read the file (root ignores file modes, so the test re-runs itself as `nobody`).
fn read_the_unreadable_tree(dir: &Path) {
    let root = HostRoot::under(dir);
    let layout = detect_layout(&root).unwrap();
    let r = read_at(&root, &layout, "/box").unwrap().unwrap();
    assert_eq!(r.memory.as_ref().unwrap().usage_bytes, None);
    assert_eq!(
        r.limits.memory_max_bytes,
        Some(isotop::host::cgroup::Limit::Max)
    );
    assert_eq!(r.pids.as_ref().unwrap().current, Some(2));
    let note = r
        .notes
        .iter()
        .find(|n| n.contains("memory.current"))
        .expect("a note for the unreadable file");
    assert!(note.contains("permission denied"), "{note}");
    assert!(!r.sources.contains_key("memory.usage_bytes"));
}

#[test]
fn an_unreadable_file_is_none_with_a_note() {
    if let Some(dir) = std::env::var_os(CHILD_DIR_VAR) {
        read_the_unreadable_tree(Path::new(&dir));
        return;
    }
    // Under /tmp, not $TMPDIR (which may be private): nobody must reach the tree.
    let tmp = tempfile::tempdir_in("/tmp").unwrap();
    build_v2(tmp.path());
    // Everyone may walk the tree; nobody but root may read memory.current.
    for dir in [
        tmp.path().to_path_buf(),
        tmp.path().join("proc"),
        tmp.path().join("proc/self"),
    ] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let unreadable = tmp.path().join("sys/fs/cgroup/box/memory.current");
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();

    // This test binary again, running only this test (its harness name, which cannot drift
    // from the function), in a copy nobody can run wherever the checkout lives.
    let this_binary = common::ReachableCopy::of(&std::env::current_exe().unwrap());
    let mut cmd = std::process::Command::new(this_binary.path());
    cmd.args(["--exact", &common::test_name(), "--nocapture"])
        .env(CHILD_DIR_VAR, tmp.path());
    if nix::unistd::geteuid().is_root() {
        // nobody: root reads mode-000 files anyway, so drop to an unprivileged user.
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

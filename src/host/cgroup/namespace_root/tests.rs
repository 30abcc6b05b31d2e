use std::fs;
use std::os::unix::fs::symlink;

use super::*;

#[test]
fn relative_paths_resolve_against_the_namespace_root() {
    assert_eq!(resolve("/x/y/z", "/../../a/b").as_deref(), Some("/x/a/b"));
    assert_eq!(resolve("/x/y/z", "/").as_deref(), Some("/x/y/z"));
    assert_eq!(
        resolve("/x/y/z", "/sub/./c/").as_deref(),
        Some("/x/y/z/sub/c")
    );
    assert_eq!(resolve("/x/y/z", "/../../..").as_deref(), Some("/"));
    assert_eq!(
        resolve("/x/y/z", "/../../../kubepods.slice").as_deref(),
        Some("/kubepods.slice")
    );
    // Too many `..`: above `/` names nothing.
    assert_eq!(resolve("/x/y/z", "/../../../../a"), None);
    assert_eq!(resolve("/", "/../a"), None);
    assert_eq!(resolve("/", "/a//b").as_deref(), Some("/a/b"));
    // A base that itself climbs is not a root.
    assert_eq!(resolve("/x/../y", "/a"), None);
}

fn roots(absolute: Option<&str>) -> NamespaceRoots {
    NamespaceRoots {
        roots: vec![
            RootIn {
                version: 1,
                controllers: vec!["cpu".into(), "cpuacct".into()],
                absolute: absolute.map(str::to_string),
            },
            RootIn {
                version: 2,
                controllers: Vec::new(),
                absolute: Some("/".into()),
            },
        ],
        warning: None,
    }
}

fn membership(hierarchy: u32, controllers: &[&str], path: &str) -> CgroupMembership {
    CgroupMembership {
        hierarchy,
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        path: path.into(),
    }
}

#[test]
fn memberships_are_translated_per_hierarchy() {
    let ns = roots(Some("/k/pod/ctr"));
    assert!(!ns.is_identity());
    let mut lines = vec![
        membership(3, &["cpuacct", "cpu"], "/../../other/x"),
        membership(0, &[], "/../a"),
        membership(5, &["memory"], "/../b"),
    ];
    ns.translate_memberships(&mut lines);
    assert_eq!(lines[0].path, "/k/other/x");
    // v2's root is `/`: left as the kernel wrote it (and refused downstream).
    assert_eq!(lines[1].path, "/../a");
    // No root known for a hierarchy not mounted: unchanged.
    assert_eq!(lines[2].path, "/../b");
    // An unknown root changes nothing.
    let unknown = roots(None);
    assert!(unknown.is_identity());
    assert_eq!(unknown.translate(1, &["cpu".into()], "/../x"), "/../x");
}

/// A fixture host: a cgroup v2 hierarchy at `<dir>/sys/fs/cgroup` where isotop (pid 4242)
/// sits in `/kubepods/pod1/ctr/inner`, its namespace rooted at `/kubepods/pod1/ctr`, and a
/// mountinfo showing that hierarchy twice: bound from the host (a mount point under the
/// root's prefix, as `/host/sys/fs/cgroup` under `--root /host`) with root `mount_root`, and
/// mounted in isotop's own namespace at `/sys/fs/cgroup` (root `/`: its namespace root).
fn fixture(dir: &Path, own_line: &str, mount_root: &str) -> HostRoot {
    let cg = dir.join("sys/fs/cgroup");
    for cgroup in [
        "",
        "kubepods",
        "kubepods/pod1",
        "kubepods/pod1/ctr",
        "kubepods/pod1/ctr/inner",
        "kubepods/pod2",
        "kubepods/pod2/ctr",
        "kubepods/pod2/ctr/inner",
        "system.slice",
    ] {
        let d = cg.join(cgroup);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("cgroup.controllers"), "cpu memory\n").unwrap();
        fs::write(d.join("cgroup.procs"), "").unwrap();
        if !cgroup.is_empty() {
            fs::write(d.join("cgroup.type"), "domain\n").unwrap();
        }
    }
    fs::write(cg.join("kubepods/pod2/ctr/inner/cgroup.procs"), "7\n").unwrap();
    fs::write(cg.join("kubepods/pod1/ctr/inner/cgroup.procs"), "1\n4242\n").unwrap();
    // A symlink loop the search must not follow.
    symlink("..", cg.join("kubepods/loop")).unwrap();
    let proc = dir.join("proc");
    fs::create_dir_all(proc.join("4242")).unwrap();
    symlink("4242", proc.join("self")).unwrap();
    fs::write(proc.join("4242/cgroup"), own_line).unwrap();
    fs::write(
        proc.join("4242/mountinfo"),
        format!(
            "30 20 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n\
             31 20 0:26 {mount_root} {} ro,nosuid - cgroup2 cgroup2 rw\n",
            cg.display()
        ),
    )
    .unwrap();
    HostRoot::under(dir)
}

#[test]
fn the_root_is_found_below_the_mount_of_the_whole_hierarchy() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture(dir.path(), "0::/inner\n", "/../../..");
    let ns = find(&root);
    assert_eq!(ns.warning, None);
    assert_eq!(ns.root_of(2, &[]), Some("/kubepods/pod1/ctr"));
    assert_eq!(
        ns.translate(2, &[], "/../../pod2/ctr/inner"),
        "/kubepods/pod2/ctr/inner"
    );
    // The layout's mount roots come out absolute: the whole hierarchy is chosen.
    let layout = crate::host::cgroup::detect_layout(&root).unwrap();
    let v2 = layout.v2().unwrap();
    assert_eq!(v2.mount_root, "/");
    assert_eq!(v2.dir, dir.path().join("sys/fs/cgroup"));
    assert_eq!(
        v2.cgroup_dir("/kubepods/pod2/ctr"),
        Some(dir.path().join("sys/fs/cgroup/kubepods/pod2/ctr"))
    );
}

#[test]
fn an_unfindable_root_is_said_and_changes_nothing() {
    // isotop's pid is in no cgroup at depth 3 + /elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let root = fixture(dir.path(), "0::/elsewhere\n", "/../../..");
    let ns = find(&root);
    assert_eq!(ns.root_of(2, &[]), None);
    assert!(ns.is_identity());
    let warning = ns.warning.clone().expect("a warning");
    assert!(warning.contains("unified"), "{warning}");
    assert!(warning.contains("--cgroupns=host"), "{warning}");
    assert_eq!(ns.translate(2, &[], "/../x"), "/../x");

    // A mount root that is not the hierarchy's root (it has `cgroup.type`) is no place to
    // search from.
    let dir = tempfile::tempdir().unwrap();
    let root = fixture(dir.path(), "0::/inner\n", "/../../..");
    fs::write(dir.path().join("sys/fs/cgroup/cgroup.type"), "domain\n").unwrap();
    let ns = find(&root);
    assert_eq!(ns.root_of(2, &[]), None);
    assert!(ns.warning.unwrap().contains("whole hierarchy"));

    // Mounts showing only the namespace's own subtree (root `/`, not the hierarchy's root)
    // while PID 1 climbs out: nested, and nothing to search.
    let dir = tempfile::tempdir().unwrap();
    let root = fixture(dir.path(), "0::/\n", "/");
    fs::write(dir.path().join("sys/fs/cgroup/cgroup.type"), "domain\n").unwrap();
    fs::create_dir_all(dir.path().join("proc/1")).unwrap();
    fs::write(
        dir.path().join("proc/1/cgroup"),
        "0::/../../../init.scope\n",
    )
    .unwrap();
    let ns = find(&root);
    assert_eq!(ns.root_of(2, &[]), None);
    assert!(ns.warning.unwrap().contains("only isotop's own subtree"));
}

#[test]
fn without_climbing_mounts_the_root_is_slash() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture(dir.path(), "0::/kubepods/pod1/ctr/inner\n", "/");
    let ns = find(&root);
    assert_eq!(ns.warning, None);
    assert_eq!(ns.root_of(2, &[]), Some("/"));
    assert!(ns.is_identity());
}

#[test]
fn only_dirs_climbing_mount_roots_give_a_depth() {
    assert_eq!(climbs_only("/../.."), Some(2));
    assert_eq!(climbs_only("/"), Some(0));
    assert_eq!(climbs_only("/../a"), None);
}

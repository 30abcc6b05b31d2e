//! Grouping tests on synthetic processes: path containment, and when an `unknown` group (own
//! pid and mount namespaces, no runtime naming it) gets a cgroup of its own.

use std::path::Path;

use super::*;
use crate::host::process::CgroupMembership;
use crate::host::runtime::containerd::TaskIndex;

/// First inode of the host's namespaces (kind `i` gets `HOST + i`).
const HOST: u64 = 4_026_531_830;
/// First inode of the test container's namespaces.
const BOX: u64 = 9_100_000;
/// A second container's namespaces.
const OTHER_BOX: u64 = 9_200_000;

/// The v1 controllers of this project's hybrid machines, one hierarchy each, in the order
/// `/proc/<pid>/cgroup` lists them (highest id first), then the empty v2 line.
const HYBRID: [(u32, &str); 9] = [
    (9, "name=systemd"),
    (8, "pids"),
    (7, "blkio"),
    (6, "freezer"),
    (5, "devices"),
    (4, "memory"),
    (3, "cpuset"),
    (2, "cpuacct"),
    (1, "cpu"),
];

fn ns(base: u64) -> NsSet {
    let mut set = NsSet::default();
    for (i, kind) in NsKind::ALL.into_iter().enumerate() {
        set.set(kind, Some(base + i as u64));
    }
    set
}

/// Own pid and mount namespaces (`unshare --pid --mount`), the host's others.
fn unshared(base: u64) -> NsSet {
    let mut set = ns(HOST);
    set.set(NsKind::Pid, Some(base + NsKind::Pid as u64));
    set.set(NsKind::Mnt, Some(base + NsKind::Mnt as u64));
    set
}

fn line(hierarchy: u32, controllers: &[&str], path: &str) -> CgroupMembership {
    CgroupMembership {
        hierarchy,
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        path: path.to_string(),
    }
}

/// Hybrid memberships: each v1 hierarchy at `path_of(controller)`, v2 at `/`.
fn hybrid_with(path_of: impl Fn(&str) -> &'static str) -> Vec<CgroupMembership> {
    let mut lines: Vec<CgroupMembership> = HYBRID
        .iter()
        .map(|(id, c)| line(*id, &[c], path_of(c)))
        .collect();
    lines.push(line(0, &[], "/"));
    lines
}

/// Hybrid memberships with every v1 hierarchy at `path` (what `CgroupGuard::add_pid` does).
fn hybrid(path: &'static str) -> Vec<CgroupMembership> {
    hybrid_with(|_| path)
}

/// A v2-only host's single line.
fn v2(path: &str) -> Vec<CgroupMembership> {
    vec![line(0, &[], path)]
}

fn process(pid: i32, ppid: i32, ns: NsSet, cgroups: Vec<CgroupMembership>) -> Process {
    let mut p = Process::new(pid, 0, ns);
    p.ppid = ppid;
    p.comm = format!("p{pid}").into();
    p.cgroups = cgroups.into();
    p
}

/// The cgroup path of the single `unknown` group found among `processes`.
fn unknown_path(processes: &[Process]) -> Option<String> {
    let root = HostRoot::under(Path::new("/nonexistent-isotop-fixture"));
    let tasks = TaskIndex::read(&root);
    let groups = group_processes(&root, processes, &ns(HOST), &tasks, &[]);
    let unknown: Vec<&Group> = groups
        .iter()
        .filter(|g| g.runtime == Runtime::Unknown)
        .collect();
    assert_eq!(unknown.len(), 1, "{groups:#?}");
    unknown[0].cgroup_path.clone()
}

/// A host with init and a shell in the root cgroups, plus the container's init (pid 500) and
/// its child (501) with the given memberships.
fn host_and_box(
    init_cgroups: Vec<CgroupMembership>,
    child_cgroups: Vec<CgroupMembership>,
    host_cgroups: impl Fn() -> Vec<CgroupMembership>,
) -> Vec<Process> {
    vec![
        process(1, 0, ns(HOST), host_cgroups()),
        process(100, 1, ns(HOST), host_cgroups()),
        // `unshare` itself: host pid namespace, own mount namespace: in no container.
        process(499, 100, unshared(OTHER_BOX).with_pid(HOST), host_cgroups()),
        process(500, 499, unshared(BOX), init_cgroups),
        process(501, 500, unshared(BOX), child_cgroups),
    ]
}

trait WithPid {
    fn with_pid(self, base: u64) -> NsSet;
}

impl WithPid for NsSet {
    /// The same set with `base`'s pid namespace.
    fn with_pid(mut self, base: u64) -> NsSet {
        self.set(NsKind::Pid, Some(base + NsKind::Pid as u64));
        self
    }
}

#[test]
fn below_means_a_whole_segment() {
    assert!(is_at_or_below("/a/b", "/a"));
    assert!(is_at_or_below("/a", "/a"));
    assert!(is_at_or_below("/a", "/a/"));
    assert!(!is_at_or_below("/ab", "/a"));
    assert!(!is_at_or_below("/", "/a"));
}

#[test]
fn own_cgroup_on_a_hybrid_host_is_the_memory_path() {
    let procs = host_and_box(hybrid("/box"), hybrid("/box"), || hybrid("/"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));

    // A tool that files each controller differently: memory's path stands for the group.
    let split = || hybrid_with(|c| if c == "memory" { "/mem/box" } else { "/box" });
    let procs = host_and_box(split(), split(), || hybrid("/"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/mem/box"));
}

#[test]
fn without_a_memory_hierarchy_the_first_controller_hierarchy_decides() {
    let lines = |pids: &str, cpu: &str| {
        vec![
            line(3, &["name=systemd"], pids),
            line(2, &["pids"], pids),
            line(1, &["cpu", "cpuacct"], cpu),
            line(0, &[], "/"),
        ]
    };
    let boxed = || lines("/box", "/cpu/box");
    let procs = host_and_box(boxed(), boxed(), || lines("/", "/"));
    // The first line with a resource controller, as /proc/<pid>/cgroup lists them.
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
}

#[test]
fn name_only_hierarchies_and_the_hybrid_v2_line_do_not_decide() {
    // Still at the root of name=systemd and of the (empty) v2 hierarchy, and a host process
    // shares the name=systemd path: neither carries a resource controller.
    let boxed = || hybrid_with(|c| if c == "name=systemd" { "/user" } else { "/box" });
    let procs = host_and_box(boxed(), boxed(), || {
        hybrid_with(|c| if c == "name=systemd" { "/user" } else { "/" })
    });
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
}

#[test]
fn own_cgroup_on_a_v2_only_host_is_the_v2_path() {
    let procs = host_and_box(v2("/box"), v2("/box"), || v2("/init.scope"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
}

#[test]
fn v2_line_decides_when_v1_holds_only_names() {
    // systemd's hybrid mode with every controller on v2: name=systemd is all v1 has.
    let lines = |v1: &str, v2: &str| vec![line(1, &["name=systemd"], v1), line(0, &[], v2)];
    let procs = host_and_box(lines("/", "/box"), lines("/", "/box"), || lines("/", "/"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
}

#[test]
fn moved_in_memory_only_is_not_its_own() {
    let partly = || hybrid_with(|c| if c == "memory" { "/box" } else { "/" });
    let procs = host_and_box(partly(), partly(), || hybrid("/"));
    assert_eq!(unknown_path(&procs), None);
}

#[test]
fn a_cgroup_shared_with_an_outside_process_is_not_its_own() {
    // The host shell sits in the box's memory cgroup (e.g. every process of this machine sits
    // in one memory cgroup): the box would be charged the shell's memory.
    let host = || hybrid_with(|c| if c == "memory" { "/box" } else { "/" });
    let procs = host_and_box(hybrid("/box"), hybrid("/box"), host);
    assert_eq!(unknown_path(&procs), None);

    // Sharing a single controller's cgroup is enough to disqualify it.
    let host = || hybrid_with(|c| if c == "pids" { "/box" } else { "/" });
    let procs = host_and_box(hybrid("/box"), hybrid("/box"), host);
    assert_eq!(unknown_path(&procs), None);

    // v2-only: another container's process in the same cgroup.
    let mut procs = host_and_box(v2("/box"), v2("/box"), || v2("/"));
    procs.push(process(600, 1, unshared(OTHER_BOX), v2("/box")));
    let root = HostRoot::under(Path::new("/nonexistent-isotop-fixture"));
    let groups = group_processes(&root, &procs, &ns(HOST), &TaskIndex::read(&root), &[]);
    assert_eq!(groups.len(), 2, "{groups:#?}");
    assert!(
        groups.iter().all(|g| g.cgroup_path.is_none()),
        "{groups:#?}"
    );
}

#[test]
fn members_in_different_cgroups_are_not_in_one_of_their_own() {
    let procs = host_and_box(hybrid("/box"), hybrid("/box/inner"), || hybrid("/"));
    assert_eq!(unknown_path(&procs), None);

    let procs = host_and_box(v2("/box"), v2("/elsewhere"), || v2("/"));
    assert_eq!(unknown_path(&procs), None);
}

#[test]
fn the_root_cgroup_is_never_its_own() {
    let procs = host_and_box(hybrid("/"), hybrid("/"), || hybrid("/"));
    assert_eq!(unknown_path(&procs), None);

    let procs = host_and_box(v2("/"), v2("/"), || v2("/"));
    assert_eq!(unknown_path(&procs), None);

    // Unreadable memberships (empty lists) say nothing.
    let procs = host_and_box(Vec::new(), Vec::new(), || hybrid("/"));
    assert_eq!(unknown_path(&procs), None);
}

#[test]
fn membership_order_does_not_matter() {
    let mut reversed = hybrid("/box");
    reversed.reverse();
    let procs = host_and_box(hybrid("/box"), reversed, || hybrid("/"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
}

/// A fixture root whose `/proc/<pid>/status` gives each of `uids` (pid, uid) its uids, and an
/// empty `/etc/subuid`.
fn root_with_uids(uids: &[(i32, u32)]) -> (tempfile::TempDir, HostRoot) {
    let dir = tempfile::tempdir().unwrap();
    for (pid, uid) in uids {
        let proc_dir = dir.path().join("proc").join(pid.to_string());
        std::fs::create_dir_all(&proc_dir).unwrap();
        std::fs::write(
            proc_dir.join("status"),
            format!("Name:\tp{pid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
        )
        .unwrap();
    }
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/subuid"), "").unwrap();
    let root = HostRoot::under(dir.path());
    (dir, root)
}

#[test]
fn a_rootless_inits_descendants_of_another_user_stay_out_of_its_container() {
    // uid 1000's verified runc container (init 100); under it 101 (uid 1000) and 102, a
    // setuid child now run by root.
    let (_dir, root) = root_with_uids(&[(100, 1000), (101, 1000), (102, 0)]);
    let state = OciState {
        runtime: Runtime::Runc,
        id: "alices".into(),
        init_pid: Some(100),
        init_start_ticks: Some(7),
        cgroup_paths: Vec::new(),
        labels: Default::default(),
        created_ms: None,
        source: "/run/user/1000/runc/alices/state.json".into(),
        writers: Writers::User(1000),
    };
    let path = "/user.slice/user-1000.slice/session-1.scope";
    let mut processes = vec![
        process(100, 1, ns(BOX), hybrid_with(|_| path)),
        process(101, 100, ns(BOX), hybrid_with(|_| path)),
        process(102, 101, ns(BOX), hybrid_with(|_| path)),
    ];
    processes[0].start_ticks = 7;
    let groups = group_processes(
        &root,
        &processes,
        &ns(HOST),
        &TaskIndex::default(),
        std::slice::from_ref(&state),
    );
    let alices = groups
        .iter()
        .find(|g| g.id == "alices")
        .unwrap_or_else(|| panic!("the verified container is found: {groups:?}"));
    assert!(alices.trust.verified, "{:?}", alices.trust);
    assert_eq!(
        alices.pids,
        vec![100, 101],
        "only uid 1000's own processes join"
    );
}

/// `host_and_box` with the `unshare` (pid 499) named `comm` and placed like the box.
fn box_with_launcher(comm: &str, cgroups: fn() -> Vec<CgroupMembership>) -> Vec<Process> {
    let mut procs = host_and_box(cgroups(), cgroups(), || hybrid("/"));
    procs[2].comm = comm.into();
    procs[2].cgroups = cgroups().into();
    procs
}

/// A host process (pid `pid`, parent 100) running `comm` in `/box`.
fn host_process_in_box(pid: i32, comm: &str) -> Process {
    let mut p = process(pid, 100, ns(HOST), hybrid("/box"));
    p.comm = comm.into();
    p
}

#[test]
fn a_hand_made_containers_launcher_in_its_cgroup_keeps_the_cgroup_its_own() {
    // `cgexec -g …:/box unshare --fork --pid --mount sleep`: unshare waits in /box.
    let procs = box_with_launcher("unshare", || hybrid("/box"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
    let procs = box_with_launcher("nsenter", || v2("/box"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));

    // The same parent under another name is an outsider.
    let procs = box_with_launcher("bash", || hybrid("/box"));
    assert_eq!(unknown_path(&procs), None);

    // A chain: nsenter (498) → unshare (499) → init, both in /box.
    let mut procs = box_with_launcher("unshare", || hybrid("/box"));
    procs[2].ppid = 498;
    procs.push(host_process_in_box(498, "nsenter"));
    assert_eq!(unknown_path(&procs).as_deref(), Some("/box"));
}

#[test]
fn an_unshare_that_is_not_the_inits_parent_is_an_outsider() {
    // Another hand-made launcher (not this box's parent) in the box's cgroup.
    let mut procs = box_with_launcher("unshare", || hybrid("/box"));
    procs.push(host_process_in_box(700, "unshare"));
    assert_eq!(unknown_path(&procs), None);
    // A launcher above a non-launcher parent is not in the chain either.
    let mut procs = box_with_launcher("bash", || hybrid("/"));
    procs[2].ppid = 498;
    procs.push(host_process_in_box(498, "unshare"));
    procs[3].cgroups = hybrid("/box").into();
    procs[4].cgroups = hybrid("/box").into();
    assert_eq!(unknown_path(&procs), None);
}

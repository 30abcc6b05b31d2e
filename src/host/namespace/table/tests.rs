//! Table building on fixture processes and a fixture `/proc` tree (commands, mountinfo,
//! kthreadd), so the lsns rules are checked without a live host.

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use super::*;
use crate::host::HostError;
use crate::host::namespace::{NsSet, read_table};
use crate::host::process::Process;

const INIT_NS: [(NsKind, u64); 8] = [
    (NsKind::Cgroup, 4026531835),
    (NsKind::Ipc, 4026531839),
    (NsKind::Mnt, 4026531832),
    (NsKind::Net, 4026531833),
    (NsKind::Pid, 4026531836),
    (NsKind::Time, 4026531834),
    (NsKind::User, 4026531837),
    (NsKind::Uts, 4026531838),
];
const NET_A: u64 = 4026532400;
const NET_BOUND: u64 = 4026532500;
const USER_BOUND: u64 = 4026532501;

fn ns_set(overrides: &[(NsKind, u64)]) -> NsSet {
    let mut set = NsSet::default();
    for (kind, inode) in INIT_NS.iter().chain(overrides) {
        set.set(*kind, Some(*inode));
    }
    set
}

fn process(pid: i32, uid: u32, ns: NsSet) -> Process {
    Process::new(pid, uid, ns)
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// A `/proc` with pid 2 = kthreadd (kernel thread, parent 0, initial namespaces), pid 25 with a
/// cmdline, pid 30 with only a comm, and a mountinfo with two nsfs bind mounts.
fn fixture(kthreadd_flags: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    let stat = format!(
        "2 (kthreadd) S 0 0 0 0 -1 {kthreadd_flags} 0 0 0 0 0 0 0 0 20 0 1 0 21 0 0 \
         18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    );
    write(&proc.join("2/stat"), stat.as_bytes());
    write(&proc.join("2/cmdline"), b"");
    write(&proc.join("2/comm"), b"kthreadd\n");
    write(&proc.join("2/cgroup"), b"0::/\n");
    fs::create_dir_all(proc.join("2/ns")).unwrap();
    for (kind, inode) in INIT_NS {
        symlink(
            format!("{kind}:[{inode}]"),
            proc.join("2/ns").join(kind.name()),
        )
        .unwrap();
    }
    write(&proc.join("25/cmdline"), b"sleep\x0010\x1b[2J\x00");
    write(&proc.join("25/comm"), b"sleep\n");
    write(&proc.join("30/cmdline"), b"");
    write(&proc.join("30/comm"), b"worker\n");
    fs::create_dir_all(proc.join("30/ns")).unwrap();
    symlink("net:[4026532400]", proc.join("30/ns/net")).unwrap();
    symlink("30", proc.join("self")).unwrap();
    let mountinfo = format!(
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
         43 22 0:4 net:[{NET_A}] /run/netns/a rw shared:2 - nsfs nsfs rw\n\
         44 22 0:4 net:[{NET_BOUND}] /run/netns/only\\040mount rw - nsfs nsfs rw\n\
         45 22 0:4 net:[{NET_BOUND}] /run/netns/only\\040mount rw - nsfs nsfs rw\n\
         46 22 0:4 user:[{USER_BOUND}] /run/keep-user rw - nsfs nsfs rw\n"
    );
    write(&proc.join("30/mountinfo"), mountinfo.as_bytes());
    dir
}

fn users() -> UserNames {
    UserNames::parse("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
}

#[test]
fn groups_processes_like_lsns() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let processes = vec![
        process(2, 0, ns_set(&[])),
        process(30, 1000, ns_set(&[(NsKind::Net, NET_A)])),
        process(25, 0, ns_set(&[(NsKind::Net, NET_A)])),
    ];
    let table = build_table(&root, &processes, &users());

    let inodes: Vec<u64> = table.namespaces.iter().map(|ns| ns.inode).collect();
    let mut sorted = inodes.clone();
    sorted.sort_unstable();
    assert_eq!(inodes, sorted, "rows are sorted by inode");

    let init_user = table.get(4026531837).unwrap();
    assert_eq!(
        (init_user.kind, init_user.nprocs, init_user.pid),
        (NsKind::User, 3, Some(2))
    );
    assert_eq!(init_user.pids, vec![2, 25, 30]);
    // kthreadd has an empty cmdline: lsns falls back to comm.
    assert_eq!(init_user.command.as_deref(), Some("kthreadd"));
    assert_eq!(init_user.user.as_deref(), Some("root"));

    // The host net namespace holds only pid 2 now; net A holds 25 and 30, lowest is 25.
    assert_eq!(table.get(4026531833).unwrap().nprocs, 1);
    let net_a = table.get(NET_A).unwrap();
    assert_eq!((net_a.nprocs, net_a.pid, net_a.uid), (2, Some(25), Some(0)));
    assert_eq!(net_a.pids, vec![25, 30]);
    // Arguments joined by spaces, control characters cleaned.
    assert_eq!(net_a.command.as_deref(), Some("sleep 10?[2J"));
    assert_eq!(net_a.nsfs, vec![PathBuf::from("/run/netns/a")]);
    // Every host namespace's lowest pid is 2: one command, shared, not a copy per row.
    let host_mnt = table.get(4026531832).unwrap();
    assert_eq!(host_mnt.pid, Some(2));
    let (Some(a), Some(b)) = (&init_user.command, &host_mnt.command) else {
        panic!("both have kthreadd's command");
    };
    assert!(std::sync::Arc::ptr_eq(a, b));
}

#[test]
fn owner_of_the_lowest_pid_names_the_user() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let processes = vec![process(30, 1000, ns_set(&[(NsKind::Net, NET_A)]))];
    let table = build_table(&root, &processes, &users());
    let net_a = table.get(NET_A).unwrap();
    assert_eq!(net_a.user.as_deref(), Some("alice"));
    assert_eq!(net_a.command.as_deref(), Some("worker"));
}

#[test]
fn bind_mount_only_namespaces_are_listed_without_processes() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let table = build_table(&root, &[process(2, 0, ns_set(&[]))], &users());
    let bound = table.get(NET_BOUND).unwrap();
    assert_eq!(
        (bound.kind, bound.nprocs, bound.pid),
        (NsKind::Net, 0, None)
    );
    assert_eq!(
        (bound.user.as_deref(), bound.command.as_deref()),
        (None, None)
    );
    // Two identical mount lines give one path.
    assert_eq!(bound.nsfs, vec![PathBuf::from("/run/netns/only mount")]);
    assert_eq!(table.get(USER_BOUND).unwrap().kind, NsKind::User);
}

#[test]
fn hidden_processes_are_not_counted_but_reported() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let mut pid1 = process(1, 0, NsSet::default());
    pid1.ns.denied = true;
    let table = build_table(&root, &[pid1, process(2, 0, ns_set(&[]))], &users());
    assert_eq!(table.get(4026531837).unwrap().nprocs, 1);
    assert!(
        table
            .warnings
            .iter()
            .any(|w| w.starts_with("1 process(es) hide their namespaces") && w.contains("pid 1)")),
        "{:?}",
        table.warnings
    );
}

#[test]
fn relations_are_not_guessed_off_the_live_host() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let table = build_table(&root, &[process(2, 0, ns_set(&[]))], &users());
    assert!(
        table
            .namespaces
            .iter()
            .all(|ns| ns.parent.is_none() && ns.owner.is_none())
    );
    assert!(
        table
            .warnings
            .iter()
            .any(|w| w.contains("only on the live host"))
    );
}

#[test]
fn host_reference_prefers_pid1_then_kthreadd_then_self() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let readable_init = process(1, 0, ns_set(&[]));
    let reference = host_reference(&root, &[readable_init]);
    assert_eq!(reference.pid, Some(1));

    let mut hidden_init = process(1, 0, NsSet::default());
    hidden_init.ns.denied = true;
    let reference = host_reference(&root, &[hidden_init.clone()]);
    assert_eq!(reference.pid, Some(2));
    assert!(reference.explanation.contains("permission denied"));
    assert!(reference.explanation.contains("kthreadd"));
    assert_eq!(reference.ns.get(NsKind::Net), Some(4026531833));
    assert!(reference.is_host(NsKind::User, 4026531837));

    // PID 2 without the kernel-thread flag is not trusted: isotop's own process is used.
    let dir = fixture(0x0000_8040);
    let root = HostRoot::under(dir.path());
    let reference = host_reference(&root, &[hidden_init]);
    assert_eq!(reference.pid, Some(30));
    assert!(reference.explanation.contains("own process"));
    assert_eq!(reference.ns.get(NsKind::Net), Some(NET_A));
}

#[test]
fn a_missing_proc_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    match read_table(&root) {
        Err(HostError::NoProc { path }) => assert_eq!(path, dir.path().join("proc")),
        other => panic!("expected NoProc, got {other:?}"),
    }
}

#[test]
fn read_table_reads_a_fixture_tree_as_build_table_groups_it() {
    let dir = fixture(0x0020_8040);
    let root = HostRoot::under(dir.path());
    let table = read_table(&root).unwrap();
    let net_a = table.get(NET_A).unwrap();
    assert_eq!((net_a.nprocs, net_a.pid), (1, Some(30)));
    assert_eq!(net_a.command.as_deref(), Some("worker"));
    assert_eq!(net_a.nsfs, vec![PathBuf::from("/run/netns/a")]);
    let init_user = table.get(4026531837).unwrap();
    assert_eq!((init_user.nprocs, init_user.pid), (1, Some(2)));
    assert_eq!(init_user.command.as_deref(), Some("kthreadd"));
    // No etc/passwd in the fixture: the uid as a number, like lsns.
    let uid = std::fs::metadata(dir.path().join("proc/2")).unwrap().uid();
    assert_eq!(init_user.user, Some(uid.to_string()));
    assert_eq!(table.host.pid, Some(2), "{}", table.host.explanation);
    assert!(table.get(NET_BOUND).is_some_and(|ns| ns.nprocs == 0));
}

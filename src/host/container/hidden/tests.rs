use super::*;
use crate::host::namespace::NsSet;

/// A process whose namespaces were unreadable (another user's, seen without root).
fn unreadable(pid: i32, ppid: i32, comm: &str) -> Process {
    let mut ns = NsSet::default();
    ns.denied = true;
    let mut p = Process::new(pid, 0, ns);
    p.ppid = ppid;
    p.comm = comm.into();
    p
}

fn host(nspids: &[(i32, &str)]) -> (tempfile::TempDir, HostRoot) {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    for (pid, nspid) in nspids {
        let pid_dir = root.pid_dir(*pid);
        std::fs::create_dir_all(&pid_dir).unwrap();
        std::fs::write(
            pid_dir.join("status"),
            format!("Name:\tx\nNSpid:\t{nspid}\nUid:\t0\t0\t0\t0\n"),
        )
        .unwrap();
    }
    (dir, root)
}

#[test]
fn inits_of_nested_pid_namespaces_are_counted_and_named_by_their_parent() {
    let (_dir, root) = host(&[
        (10, "10"),       // the shim: host pid namespace
        (11, "11\t1"),    // its container's init
        (12, "12\t2"),    // a second process of that container: not an init
        (20, "20"),       // conmon: host pid namespace
        (30, "30\t5\t1"), // nested twice, parent unknown
        (40, "40"),
    ]);
    let processes = vec![
        unreadable(10, 1, "containerd-shim-runc-v2"),
        unreadable(11, 10, "nginx"),
        unreadable(12, 11, "nginx"),
        unreadable(20, 1, "conmon"),
        unreadable(21, 20, "app"),
        unreadable(40, 1, "sshd"),
    ];
    let hidden = hidden(&root, &processes, &[]);
    assert_eq!(hidden.containers, 1, "{hidden:?}");
    assert_eq!(hidden.runtimes, BTreeSet::from(["containerd"]));
    assert_eq!(
        hidden.message(true).unwrap(),
        "1 container of containerd needs root: run isotop as root to see it"
    );

    let mut more = processes.clone();
    more.push(unreadable(25, 20, "init"));
    more.push(unreadable(30, 1, "sleep"));
    std::fs::create_dir_all(root.pid_dir(25)).unwrap();
    std::fs::write(root.pid_dir(25).join("status"), "NSpid:\t25\t1\n").unwrap();
    let hidden = super::hidden(&root, &more, &[]);
    assert_eq!(hidden.containers, 3, "{hidden:?}");
    assert_eq!(hidden.runtimes, BTreeSet::from(["containerd", "podman"]));
    assert!(hidden.unknown_runtimes, "pid 30's parent names no runtime");
    assert_eq!(
        hidden.message(true).unwrap(),
        "3 containers of containerd, podman, unknown runtimes need root: run isotop as root to \
         see them"
    );
}

#[test]
fn readable_or_found_processes_are_not_hidden() {
    let (_dir, root) = host(&[(11, "11\t1")]);
    let mut readable = unreadable(11, 1, "runc");
    readable.ns = NsSet::default();
    readable.ns.set(NsKind::Pid, Some(4_026_532_000));
    assert_eq!(hidden(&root, &[readable], &[]).message(true), None);
}

#[test]
fn unreadable_state_dirs_are_named() {
    let none = Hidden::default();
    assert_eq!(none.message(true), None);
    let dirs = Hidden {
        unreadable: vec![PathBuf::from("/run/runc")],
        ..Hidden::default()
    };
    assert_eq!(
        dirs.message(false),
        None,
        "only stopped ones can be missing"
    );
    assert_eq!(
        dirs.message(true).unwrap(),
        "stopped containers may be missing: their runtimes' state needs root (unreadable \
         without root: /run/runc)"
    );
    let unknown = Hidden {
        containers: 2,
        unknown_runtimes: true,
        unreadable: vec![PathBuf::from("/run/runc"), PathBuf::from("/run/containerd")],
        ..Hidden::default()
    };
    assert_eq!(
        unknown.message(true).unwrap(),
        "2 containers need root: run isotop as root to see them (unreadable without root: \
         /run/runc, /run/containerd)"
    );
    let named = Hidden {
        containers: 3,
        runtimes: BTreeSet::from(["runc", "crun", "containerd"]),
        ..Hidden::default()
    };
    assert_eq!(
        named.message(true).unwrap(),
        "3 containers of containerd, crun, runc need root: run isotop as root to see them"
    );
}

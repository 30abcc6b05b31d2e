//! A real namespace-only container (root): `unshare --fork --pid --mount-proc --mount sleep`
//! is found as runtime `unknown`, with the sleep (pid 1 of its namespace) as the init and the
//! pid namespace inode in its id; unshare itself, in the host's pid namespace, is not in it.

use crate::support::common;

use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::container::{Runtime, find_containers};
use isotop::host::namespace::NsKind;
use isotop::host::process::{self, Process, ReadDepth};

/// Kills (SIGKILL) one pid on drop: the namespace's init, which unshare does not reap for us.
struct PidGuard(i32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Every live process now, fully read (vanished ones skipped).
fn scan(root: &HostRoot) -> Vec<Process> {
    isotop::host::scan::read_processes(root, ReadDepth::Full, &mut Vec::new())
        .expect("proc is readable")
}

#[test]
#[ignore = "needs root"]
fn unshared_pid_and_mount_namespaces_are_an_unknown_container() {
    if !common::require_program("unshare") {
        return;
    }
    let unshare = common::ChildGuard::spawn(
        std::process::Command::new("unshare")
            .args([
                "--fork",
                "--kill-child",
                "--pid",
                "--mount-proc",
                "--mount",
                "sleep",
                "1000",
            ])
            .stdin(std::process::Stdio::null()),
    );
    let root = HostRoot::live();
    let mut sleep_pid = None;
    let found_child = common::wait_until(Duration::from_secs(10), || {
        sleep_pid = scan(&root)
            .into_iter()
            .find(|p| p.ppid == unshare.pid() && p.comm == "sleep")
            .map(|p| p.pid);
        sleep_pid.is_some()
    });
    assert!(found_child, "unshare's child appears");
    let sleep_pid = sleep_pid.unwrap();
    let _sleep = PidGuard(sleep_pid);

    let processes = scan(&root);
    let me = process::read_process(&root, std::process::id() as i32, ReadDepth::Namespaces)
        .unwrap()
        .unwrap();
    let sleep = processes
        .iter()
        .find(|p| p.pid == sleep_pid)
        .expect("sleep is listed");
    let pid_ns = sleep.ns.get(NsKind::Pid).expect("pid ns readable");
    assert_ne!(Some(pid_ns), me.ns.get(NsKind::Pid));

    let found = find_containers(&root, &processes, &me.ns);
    let container = found
        .iter()
        .find(|c| c.pids.contains(&sleep_pid))
        .unwrap_or_else(|| panic!("no container holds the sleep {sleep_pid}"));
    assert_eq!(container.runtime, Runtime::Unknown);
    assert_eq!(container.id, format!("pidns-{pid_ns}"));
    assert_eq!(container.init_pid, Some(sleep_pid));
    assert_eq!(container.pids, vec![sleep_pid]);
    assert_eq!(container.name, "sleep");
    assert!(container.cgroup_path.is_none());
    assert!(
        !found.iter().any(|c| c.pids.contains(&unshare.pid())),
        "unshare is on the host"
    );
    // --pid --mount only: the rest is the host's.
    let mut shared = container.shared_with_host.clone();
    shared.sort();
    let expected: Vec<NsKind> = [
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Net,
        NsKind::Time,
        NsKind::User,
        NsKind::Uts,
    ]
    .into_iter()
    .filter(|k| me.ns.get(*k).is_some())
    .collect();
    assert_eq!(shared, expected);
}

//! Real runc and crun containers (root): a busybox bundle run detached under a unique test
//! cgroup parent, then the live process table is scanned and `find_containers` must name the
//! container with the runtime's id, its init (the runtime's pid file) and exactly the processes
//! the kernel lists in the container's cgroup.

use crate::support::{bundle, common};

use std::collections::BTreeSet;

use isotop::host::HostRoot;
use isotop::host::container::{Container, Runtime, find_containers, find_stopped};
use isotop::host::process::{self, Process, ReadDepth};

fn ready(tool: &str) -> bool {
    if !common::require_program(tool) {
        return false;
    }
    if !std::path::Path::new(bundle::BUSYBOX).is_file() {
        eprintln!(
            "skipping {}: {} missing (install busybox-static)",
            common::test_name(),
            bundle::BUSYBOX
        );
        return false;
    }
    common::require_program("runc") // `runc spec` writes the config for both tools
}

/// Every live process now, fully read (vanished ones skipped).
fn scan(root: &HostRoot) -> Vec<Process> {
    isotop::host::scan::read_processes(root, ReadDepth::Full, &mut Vec::new())
        .expect("proc is readable")
}

fn find(root: &HostRoot, id: &str) -> (Container, Vec<Container>) {
    let processes = scan(root);
    let me = process::read_process(root, std::process::id() as i32, ReadDepth::Namespaces)
        .expect("own process")
        .expect("own process exists");
    let found = find_containers(root, &processes, &me.ns);
    let ours = found
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .unwrap_or_else(|| {
            let all: Vec<(String, String)> = found
                .iter()
                .map(|c| (c.runtime.to_string(), c.id.clone()))
                .collect();
            panic!("container {id} not found among {all:?}")
        });
    (ours, found)
}

/// Pids the kernel lists in the container's cgroup (and below it) in one v1 hierarchy.
fn kernel_pids(run: &bundle::OciRun) -> BTreeSet<i32> {
    fn walk(dir: &std::path::Path, out: &mut BTreeSet<i32>) {
        if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&entry.path(), out);
            }
        }
    }
    let mut pids = BTreeSet::new();
    walk(&run.cgroup_dir("pids"), &mut pids);
    pids
}

fn check_real_container(tool: &'static str, runtime: Runtime) {
    let run = bundle::OciRun::start(tool);
    let exec_pid = run.exec_sleep("999");
    let root = HostRoot::live();
    let (container, all) = find(&root, &run.id);

    assert_eq!(container.runtime, runtime);
    assert_eq!(container.name, run.id);
    assert_eq!(
        container.init_pid,
        Some(run.init_pid),
        "init = the runtime's pid file"
    );
    assert!(container.pids.contains(&run.init_pid));
    assert!(
        container.pids.contains(&exec_pid),
        "exec'd process {exec_pid} is in the container"
    );
    let kernel = kernel_pids(&run);
    let ours: BTreeSet<i32> = container.pids.iter().copied().collect();
    assert_eq!(ours, kernel, "isotop's pids = the kernel's cgroup.procs");
    assert_eq!(
        container.cgroup_path.as_deref(),
        Some(run.cgroup_path.as_str())
    );
    assert_eq!(
        container.metadata.as_deref(),
        Some(
            root.run
                .join(tool)
                .join(&run.id)
                .join(if tool == "runc" {
                    "state.json"
                } else {
                    "status"
                })
                .as_path()
        )
    );
    // The spec's annotation reaches the labels, its escape cleaned.
    assert_eq!(
        container.labels.get("org.isotop.test").map(String::as_str),
        Some("yes?[0m")
    );
    // runc and crun give new pid, mnt, net, ipc, uts namespaces here: none of those is shared.
    for kind in ["pid", "mnt", "net", "ipc", "uts"] {
        assert!(
            !container.shared_with_host.iter().any(|k| k.name() == kind),
            "{kind} should not be shared: {:?}",
            container.shared_with_host
        );
    }
    assert!(container.running);
    assert!(
        !all.iter()
            .filter(|c| c.id != run.id)
            .any(|c| c.pids.iter().any(|p| ours.contains(p))),
        "no pid of ours in another container"
    );
    // Running, so not in the stopped list.
    let stopped = find_stopped(&root, &all);
    assert!(!stopped.iter().any(|c| c.id == run.id));
}

#[test]
#[ignore = "needs root"]
fn runc_container_is_found() {
    if !ready("runc") {
        return;
    }
    check_real_container("runc", Runtime::Runc);
}

#[test]
#[ignore = "needs root"]
fn crun_container_is_found() {
    if !ready("crun") {
        return;
    }
    check_real_container("crun", Runtime::Crun);
}

#[test]
#[ignore = "needs root"]
fn killed_runc_container_is_listed_as_stopped() {
    if !ready("runc") {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let status = std::process::Command::new("runc")
        .args(["kill", &run.id, "KILL"])
        .status()
        .expect("runc kill runs");
    assert!(status.success());
    let root = HostRoot::live();
    let init = run.init_pid;
    // The init is reaped by whoever adopted it (PID 1 here, after a moment).
    assert!(
        common::wait_until(std::time::Duration::from_secs(20), || !root
            .pid_dir(init)
            .exists()),
        "the init {init} is gone after SIGKILL"
    );
    let processes = scan(&root);
    let me = process::read_process(&root, std::process::id() as i32, ReadDepth::Namespaces)
        .expect("own process")
        .expect("own process exists");
    let running = find_containers(&root, &processes, &me.ns);
    assert!(
        !running.iter().any(|c| c.id == run.id),
        "a killed container is not running"
    );
    let stopped = find_stopped(&root, &running);
    let record = stopped
        .iter()
        .find(|c| c.id == run.id)
        .expect("the runc state without a live init is a stopped record");
    assert_eq!(record.runtime, Runtime::Runc);
    assert_eq!(record.name, run.id);
    assert!(!record.running);
    assert!(record.pids.is_empty());
    assert_eq!(record.init_pid, None);
    assert_eq!(
        record.cgroup_path.as_deref(),
        Some(run.cgroup_path.as_str())
    );
}

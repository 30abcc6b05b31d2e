//! runc and crun containers from fixture state dirs (shaped like what runc 1.1 and crun 1.8
//! wrote on this machine): ids, init pids checked against their start time, cgroup claims,
//! descendants that left the cgroup, stale and garbage states; plus isotop's own rule.

use crate::support::procs;

use isotop::host::HostRoot;
use isotop::host::container::{Runtime, find_containers, find_stopped};
use isotop::host::process::Process;
use procs::*;

fn started_at(mut p: Process, ticks: u64) -> Process {
    p.start_ticks = ticks;
    p
}

fn snapshot() -> Vec<Process> {
    vec![
        host_process(1, 0, "init"),
        started_at(
            process(7001, 1, "sleep", "/mygroup/ctr1", container_ns(9900)),
            5000,
        ),
        // `runc exec`: its parent (runc) is gone, it sits in the container's cgroup.
        process(7002, 1, "sh", "/mygroup/ctr1/sub", container_ns(9900)),
        // A descendant of the init that was moved out of the container's cgroup.
        process(7003, 7001, "mover", "/elsewhere", container_ns(9900)),
        // The stale state's pid, reused by an unrelated host process (other start time).
        started_at(host_process(7100, 1, "bash"), 77),
        // crun on a hybrid host: only the v1 hierarchies hold the container's path.
        {
            let mut p = started_at(process(7201, 1, "sleep", "/", container_ns(9950)), 6000);
            p.cgroups = v1_only("/crungroup/ctr2").into();
            p
        },
    ]
}

#[test]
fn runc_and_crun_from_state_dirs() {
    let root = fixture_root("oci");
    let found = find_containers(&root, &snapshot(), &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 2, "{:#?}", summary(&found));

    let runc = by_id(&found, "ctr1");
    assert_eq!(runc.runtime, Runtime::Runc);
    assert_eq!(runc.name, "ctr1");
    assert_eq!(runc.init_pid, Some(7001));
    assert_eq!(runc.pids, vec![7001, 7002, 7003]);
    assert_eq!(runc.cgroup_path.as_deref(), Some("/mygroup/ctr1"));
    assert_eq!(runc.labels.get("team").map(String::as_str), Some("ops"));
    assert_eq!(runc.labels.get("bell").map(String::as_str), Some("ding?"));
    assert_eq!(
        runc.labels.get("bundle").map(String::as_str),
        Some("/srv/ctr1")
    );
    assert_eq!(
        runc.metadata.as_deref(),
        Some(root.run.join("runc/ctr1/state.json").as_path())
    );
    assert_eq!(runc.start_ticks, Some(5000));

    let crun = by_id(&found, "ctr2");
    assert_eq!(crun.runtime, Runtime::Crun);
    assert_eq!(crun.init_pid, Some(7201));
    assert_eq!(crun.pids, vec![7201]);
    assert_eq!(crun.cgroup_path.as_deref(), Some("/crungroup/ctr2"));
    assert_eq!(
        crun.labels.get("note").map(String::as_str),
        Some("tab?here")
    );
    assert_eq!(
        crun.metadata.as_deref(),
        Some(root.run.join("crun/ctr2/status").as_path())
    );

    assert!(
        !found.iter().any(|c| c.pids.contains(&7100)),
        "a reused pid is not the init"
    );

    let stopped = find_stopped(&root, &found);
    assert_eq!(
        summary(&stopped),
        vec![("runc".into(), "stale".into(), vec![])]
    );
    assert_eq!(stopped[0].cgroup_path.as_deref(), Some("/mygroup/stale"));
}

#[test]
fn isotop_rule_needs_no_files() {
    let empty = tempfile::tempdir().unwrap();
    let root = HostRoot::under(empty.path());
    let procs = vec![
        host_process(1, 0, "init"),
        process(8001, 1, "sh", "/isotop/c1", container_ns(9960)),
        process(8002, 8001, "sleep", "/isotop/c1/inner", container_ns(9960)),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_eq!(
        summary(&found),
        vec![("isotop".into(), "c1".into(), vec![8001, 8002])]
    );
    assert_eq!(found[0].name, "c1");
    assert_eq!(found[0].init_pid, Some(8001));
    assert!(find_stopped(&root, &found).is_empty());
}

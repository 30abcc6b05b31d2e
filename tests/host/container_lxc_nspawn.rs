//! LXC and systemd-nspawn containers from fixture roots: names from the cgroup path (monitor
//! and supervisor excluded), machined's leader as the init, VMs ignored, and nspawn without
//! systemd (a bare `payload` cgroup) named from the supervisor's command line.

use crate::support::procs;

use isotop::host::container::{Runtime, find_containers, find_stopped};
use isotop::host::process::Process;
use procs::*;

#[test]
fn lxc_payload_and_legacy_paths() {
    let root = fixture_root("lxc");
    let procs = vec![
        host_process(1, 0, "init"),
        process(5500, 1, "lxc-start", "/lxc.monitor.web", host_ns()),
        process(
            5501,
            5500,
            "systemd",
            "/lxc.payload.web/init.scope",
            container_ns(9500),
        ),
        process(
            5502,
            5501,
            "sshd",
            "/lxc.payload.web/system.slice/ssh.service",
            container_ns(9500),
        ),
        process(5601, 1, "init", "/lxc/legacy", container_ns(9600)),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 2, "{:#?}", summary(&found));

    let web = by_id(&found, "web");
    assert_eq!(web.runtime, Runtime::Lxc);
    assert_eq!(web.name, "web");
    assert_eq!(
        web.pids,
        vec![5501, 5502],
        "the monitor is not in the container"
    );
    assert_eq!(web.init_pid, Some(5501));
    assert_eq!(web.cgroup_path.as_deref(), Some("/lxc.payload.web"));
    assert_eq!(
        web.metadata.as_deref(),
        Some(root.var_lib.join("lxc/web/config").as_path())
    );

    let legacy = by_id(&found, "legacy");
    assert_eq!(legacy.runtime, Runtime::Lxc);
    assert_eq!(legacy.metadata, None, "no config on disk");

    let stopped = find_stopped(&root, &found);
    assert_eq!(
        summary(&stopped),
        vec![("lxc".into(), "parked".into(), vec![])]
    );
}

fn with_cmdline(mut p: Process, args: &[&str]) -> Process {
    p.cmdline = args.into();
    p
}

#[test]
fn nspawn_units_machined_and_bare_payload() {
    let root = fixture_root("nspawn");
    let unit = "/machine.slice/systemd-nspawn@deb.service";
    let procs = vec![
        host_process(1, 0, "init"),
        process(
            6000,
            1,
            "systemd-nspawn",
            &format!("{unit}/supervisor"),
            host_ns(),
        ),
        process(
            6001,
            6000,
            "systemd",
            &format!("{unit}/payload/init.scope"),
            container_ns(9700),
        ),
        process(
            6002,
            6001,
            "journald",
            &format!("{unit}/payload/system.slice/j.service"),
            container_ns(9700),
        ),
        // A VM registered with machined is not a container.
        process(
            6201,
            1,
            "qemu-system-x86",
            "/machine.slice/machine-win11.scope",
            host_ns(),
        ),
        // nspawn run from a shell without systemd: a bare `payload` below the supervisor.
        with_cmdline(
            process(
                6100,
                1,
                "systemd-nspawn",
                "/user.slice/session-1.scope",
                host_ns(),
            ),
            &["systemd-nspawn", "-D", "/srv/alpine", "sh"],
        ),
        process(
            6101,
            6100,
            "sh",
            "/user.slice/session-1.scope/payload",
            container_ns(9800),
        ),
        // A cgroup that happens to be called payload, with no nspawn around: nothing.
        process(6301, 1, "worker", "/jobs/payload", host_ns()),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 2, "{:#?}", summary(&found));

    let deb = by_id(&found, "deb");
    assert_eq!(deb.runtime, Runtime::Nspawn);
    assert_eq!(deb.pids, vec![6001, 6002]);
    assert_eq!(deb.init_pid, Some(6001));
    assert_eq!(deb.image.as_deref(), Some("/var/lib/machines/deb"));
    assert_eq!(
        deb.cgroup_path.as_deref(),
        Some(format!("{unit}/payload").as_str())
    );
    assert_eq!(
        deb.metadata.as_deref(),
        Some(root.run.join("systemd/machines/deb").as_path())
    );

    let alpine = by_id(&found, "alpine");
    assert_eq!(alpine.runtime, Runtime::Nspawn);
    assert_eq!(alpine.pids, vec![6101]);
    assert_eq!(
        alpine.cgroup_path.as_deref(),
        Some("/user.slice/session-1.scope/payload")
    );
}

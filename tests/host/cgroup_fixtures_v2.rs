//! Cgroup readers against the v2 and hybrid fixture trees (tests/fixtures/cgroup/{v2,hybrid},
//! the hybrid one laid out like this project's machines), and `isotop cgroups` on them: core
//! and controller files, PSI, freezer states, odd values, controller-less cgroups.

use std::path::Path;

use crate::support::cgroup_fixture;
use cgroup_fixture::{fixture, layout, membership};
use isotop::host::cgroup::{
    CgroupMode, FreezerState, Limit, read_at, read_for_memberships, read_tree,
};

#[test]
fn v2_and_hybrid_layouts() {
    let (_r, v2, _d) = layout("v2");
    assert_eq!(v2.mode, CgroupMode::V2);
    assert_eq!(v2.hierarchies.len(), 1);
    let unified = v2.v2().unwrap();
    assert_eq!(unified.version, 2);
    assert!(unified.controllers.contains(&"memory".to_string()));
    assert_eq!(unified.mount_point, Path::new("/sys/fs/cgroup"));

    let (_r, hybrid, _d) = layout("hybrid");
    assert_eq!(hybrid.mode, CgroupMode::Hybrid);
    assert_eq!(hybrid.hierarchies.len(), 10);
    assert_ne!(hybrid.v1_carrying("cpu"), hybrid.v1_carrying("cpuacct"));
    let unified = hybrid.v2().unwrap();
    assert!(unified.controllers.is_empty());
    assert_eq!(unified.mount_point, Path::new("/sys/fs/cgroup/unified"));
}

#[test]
fn v2_container_reads_core_and_controller_files() {
    let (root, layout, dir) = layout("v2");
    let r = read_at(&root, &layout, "/system.slice/docker-abc.scope")
        .unwrap()
        .unwrap();
    let cpu = r.cpu.as_ref().unwrap();
    assert_eq!(cpu.usage_usec, Some(630_000));
    assert_eq!(cpu.user_usec, Some(400_000));
    assert_eq!(cpu.system_usec, Some(230_000));
    assert_eq!(cpu.nr_periods, Some(31));
    assert_eq!(cpu.nr_throttled, Some(30));
    assert_eq!(cpu.throttled_usec, Some(2_400_000));
    assert_eq!(r.limits.cpu_quota_usec, Some(Limit::Value(20_000)));
    assert_eq!(r.limits.cpu_period_usec, Some(100_000));
    assert_eq!(r.limits.cpu_limit_cpus(), Some(Limit::Value(0.2)));
    assert_eq!(r.limits.cpu_weight, Some(100));
    assert_eq!(r.limits.cpu_shares, None);
    let m = r.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, Some(52_428_800));
    assert_eq!(m.peak_bytes, Some(60_000_000));
    assert_eq!(m.swap_bytes, Some(0));
    assert_eq!(m.anon_bytes, Some(41_943_040));
    assert_eq!(m.kernel_bytes, Some(1_048_576));
    assert_eq!(m.pgfault, Some(12_345));
    assert_eq!(m.events.high, Some(5));
    assert_eq!(m.events.max, Some(9));
    assert_eq!(m.events.oom, Some(1));
    assert_eq!(m.events.oom_kill, Some(1));
    assert_eq!(m.events.under_oom, None);
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(67_108_864)));
    assert_eq!(r.limits.memory_high_bytes, Some(Limit::Max));
    assert_eq!(r.limits.memory_low_bytes, Some(Limit::Value(0)));
    assert_eq!(r.limits.memory_soft_limit_bytes, None);
    assert_eq!(r.pids.as_ref().unwrap().current, Some(3));
    assert_eq!(r.limits.pids_max, Some(Limit::Max));
    assert_eq!(r.limits.cpuset_cpus.as_deref(), Some(""));
    assert_eq!(r.limits.cpuset_effective_cpus.as_deref(), Some("0-1"));
    assert_eq!(r.freezer, Some(FreezerState::Frozen));
    assert_eq!(r.nprocs, 3);
    let p = r.pressure.as_ref().unwrap();
    let cpu_some = p.cpu.as_ref().unwrap().some.unwrap();
    assert_eq!(cpu_some.avg10, 20.0);
    assert_eq!(cpu_some.avg60, 18.5);
    assert_eq!(cpu_some.total_usec, 2_400_000);
    assert!(
        p.cpu.as_ref().unwrap().full.is_none(),
        "old-kernel cpu.pressure"
    );
    assert_eq!(p.memory.as_ref().unwrap().full.unwrap().total_usec, 50);
    assert!(p.io.is_none(), "garbage io.pressure");
    assert!(
        r.notes.iter().any(|n| n.contains("io.pressure")),
        "{:?}",
        r.notes
    );
    assert!(r.missing.is_empty(), "{:?}", r.missing);
    let scope = dir.join("sys/fs/cgroup/system.slice/docker-abc.scope");
    assert_eq!(r.sources["cpu.usage_usec"], scope.join("cpu.stat"));
    assert_eq!(r.sources["limits.cpu_period_usec"], scope.join("cpu.max"));
    assert_eq!(
        r.sources["memory.events.oom_kill"],
        scope.join("memory.events")
    );
    assert_eq!(r.sources["pressure.cpu"], scope.join("cpu.pressure"));
    assert_eq!(r.sources["nprocs"], scope.join("cgroup.procs"));
}

#[test]
fn v2_odd_and_controllerless_cgroups() {
    let (root, layout, _dir) = layout("v2");
    let odd = read_at(&root, &layout, "/user.slice/odd").unwrap().unwrap();
    assert_eq!(odd.limits.cpu_quota_usec, Some(Limit::Max));
    assert_eq!(odd.limits.cpu_limit_cpus(), Some(Limit::Max));
    assert_eq!(odd.limits.cpu_weight, Some(10_000));
    assert_eq!(odd.cpu.as_ref().unwrap().usage_usec, Some(1));
    assert_eq!(odd.cpu.as_ref().unwrap().user_usec, None, "garbage `x`");
    let m = odd.memory.as_ref().unwrap();
    assert_eq!(m.usage_bytes, None, "empty memory.current");
    assert_eq!(odd.limits.memory_max_bytes, Some(Limit::Max));
    assert_eq!(odd.limits.memory_high_bytes, None, "overflow");
    assert_eq!(odd.limits.memory_low_bytes, Some(Limit::Max));
    assert_eq!(odd.limits.pids_max, None, "-1 is not a v2 value");
    assert_eq!(odd.freezer, Some(FreezerState::Freezing));
    let notes = odd.notes.join("\n");
    for needle in [
        "memory.current: empty",
        "memory.high: number too large",
        "pids.max: negative",
        "user_usec",
    ] {
        assert!(notes.contains(needle), "no note {needle:?} in:\n{notes}");
    }

    let nomem = read_at(&root, &layout, "/user.slice/nomem")
        .unwrap()
        .unwrap();
    assert_eq!(
        nomem.missing,
        ["memory", "pids", "cpuset", "io", "pressure"]
    );
    assert_eq!(nomem.freezer, Some(FreezerState::Thawed));
    assert_eq!(nomem.nprocs, 0);
    assert_eq!(nomem.cpu.as_ref().unwrap().nr_periods, None);
    assert!(nomem.notes.is_empty(), "{:?}", nomem.notes);

    // The root: no cpu.max/memory.max and no freezer there, but PSI and cpu.stat.
    let top = read_at(&root, &layout, "/").unwrap().unwrap();
    assert_eq!(top.cpu.as_ref().unwrap().usage_usec, Some(90_000_000));
    assert_eq!(top.limits.cpu_quota_usec, None);
    assert_eq!(top.freezer, None);
    assert_eq!(
        top.pressure
            .as_ref()
            .unwrap()
            .io
            .as_ref()
            .unwrap()
            .full
            .unwrap()
            .total_usec,
        15
    );
    assert_eq!(top.memory.as_ref().unwrap().kernel_bytes, Some(300));
}

#[test]
fn hybrid_reads_v1_controllers_and_v2_pressure() {
    let (root, layout, dir) = layout("hybrid");
    let r = read_at(&root, &layout, "/isotop/box1").unwrap().unwrap();
    let cpu = r.cpu.as_ref().unwrap();
    // From cpuacct (v1), not from the unified cpu.stat.
    assert_eq!(cpu.usage_usec, Some(240_000));
    assert!(r.sources["cpu.usage_usec"].ends_with("cpuacct/isotop/box1/cpuacct.usage"));
    assert_eq!(cpu.nr_throttled, Some(11));
    assert_eq!(cpu.throttled_usec, Some(880_000));
    assert_eq!(r.limits.cpu_limit_cpus(), Some(Limit::Value(0.2)));
    assert_eq!(r.limits.cpu_shares, Some(256));
    assert_eq!(r.limits.memory_max_bytes, Some(Limit::Value(104_857_600)));
    assert_eq!(r.limits.pids_max, Some(Limit::Value(64)));
    assert_eq!(r.freezer, Some(FreezerState::Thawed));
    assert!(r.sources["freezer"].ends_with("freezer/isotop/box1/freezer.state"));
    let psi = r.pressure.as_ref().unwrap().cpu.as_ref().unwrap();
    assert_eq!(psi.some.unwrap().avg10, 75.0);
    assert_eq!(
        r.sources["pressure.cpu"],
        dir.join("sys/fs/cgroup/unified/isotop/box1/cpu.pressure")
    );
    assert!(r.missing.is_empty(), "{:?}", r.missing);

    // The root as on this machine: no pids or freezer files in v1 roots.
    let top = read_at(&root, &layout, "/").unwrap().unwrap();
    assert_eq!(top.missing, ["pids", "freezer"]);
    assert_eq!(top.limits.memory_max_bytes, Some(Limit::Max));
    assert_eq!(top.cpu.as_ref().unwrap().usage_usec, Some(89_450_387));
}

#[test]
fn hybrid_process_left_in_the_unified_root_gets_no_host_pressure() {
    let (root, layout, _dir) = layout("hybrid");
    // Like this machine's own processes: only the memory cgroup is their own.
    let lines = [
        membership(9, &["name=systemd"], "/"),
        membership(8, &["pids"], "/"),
        membership(4, &["memory"], "/process_api/abc"),
        membership(2, &["cpuacct"], "/"),
        membership(1, &["cpu"], "/"),
        membership(0, &[], "/"),
    ];
    let r = read_for_memberships(&root, &layout, &lines)
        .unwrap()
        .unwrap();
    assert_eq!(r.memory.as_ref().unwrap().usage_bytes, Some(524_288));
    assert!(
        r.pressure.is_none(),
        "the unified root's PSI is the whole host's"
    );
    assert!(r.missing.contains(&"pressure".to_string()));

    // A process whose unified path is its own cgroup does get it.
    let lines = [
        membership(8, &["pids"], "/isotop/box1"),
        membership(0, &[], "/isotop/box1"),
    ];
    let r = read_for_memberships(&root, &layout, &lines)
        .unwrap()
        .unwrap();
    assert!(r.pressure.is_some());
    assert_eq!(r.pids.as_ref().unwrap().current, Some(1));
}

#[test]
fn readings_serialize_limits_as_max_or_numbers() {
    let (root, layout, _dir) = layout("v2");
    let tree = read_tree(&root, &layout, "/system.slice", None)
        .unwrap()
        .unwrap();
    let json = serde_json::to_value(&tree).unwrap();
    let scope = &json["children"][0];
    assert_eq!(scope["path"], "/system.slice/docker-abc.scope");
    assert_eq!(scope["reading"]["limits"]["cpu_quota_usec"], 20_000);
    assert_eq!(scope["reading"]["limits"]["memory_high_bytes"], "max");
    assert_eq!(scope["reading"]["freezer"], "frozen");
    assert_eq!(scope["reading"]["cpu"]["usage_usec"], 630_000);
    assert_eq!(json["reading"]["limits"]["cpu_quota_usec"], "max");
}

#[test]
fn cli_reads_fixture_roots() {
    let (_root, dir) = fixture("v2");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("--root")
        .arg(&dir)
        .args(["cgroups", "/system.slice"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("cgroup mode v2: v2 /sys/fs/cgroup ("),
        "{text}"
    );
    assert!(lines[1].starts_with("CGROUP"), "{text}");
    let scope: Vec<&str> = lines[3].split_whitespace().collect();
    // CGROUP PROCS CPU THROTTLED CPU-LIMIT MEM MEM-LIMIT OOM-KILLS PIDS FROZEN CONTAINER
    // (no procfs under the fixture root: no container is known to be in it)
    assert_eq!(
        scope,
        [
            "docker-abc.scope",
            "3",
            "0.6s",
            "30/31",
            "0.20",
            "50.0MiB",
            "64.0MiB",
            "1",
            "3/max",
            "yes",
            "-"
        ],
        "{text}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("--root")
        .arg(&dir)
        .args(["cgroups", "--json", "--depth", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mode"], "v2");
    assert_eq!(json["hierarchies"][0]["mount_point"], "/sys/fs/cgroup");
    assert_eq!(json["tree"]["path"], "/");
    let children = json["tree"]["children"].as_array().unwrap();
    assert_eq!(children.len(), 2);
    assert!(
        children
            .iter()
            .all(|c| c["children"].as_array().unwrap().is_empty())
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("--root")
        .arg(&dir)
        .args(["cgroups", "/no/such/group"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no cgroup /no/such/group"), "{err}");
}

//! `measure` against the cgroup fixture trees (tests/fixtures/cgroup) and a fake host built in
//! a tempdir: state, uptime, own-cgroup figures and their fallbacks, the CPU counter; and the
//! sampler, `ls` and `inspect` getting the same figures from it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::*;
use crate::host::cgroup::detect_layout;
use crate::host::container::{Runtime, Trust};
use crate::host::namespace::NsSet;
use crate::host::process::CgroupMembership;

mod io;
mod shared;

pub(crate) const ID: &str = "0f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978";

fn fixture(name: &str) -> HostRoot {
    HostRoot::under(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cgroup")
            .join(name),
    )
}

fn membership(path: &str) -> CgroupMembership {
    CgroupMembership {
        hierarchy: 0,
        controllers: Vec::new(),
        path: path.to_string(),
    }
}

/// A running, verified container with `pids`; in `cgroup` as its own when given.
fn container(pids: &[i32], cgroup: Option<&str>) -> Container {
    Container {
        id: ID.into(),
        name: "web".into(),
        runtime: Runtime::Docker,
        image: None,
        init_pid: pids.first().copied(),
        pids: pids.to_vec(),
        cgroups: vec![membership(cgroup.unwrap_or("/"))].into(),
        cgroup_path: cgroup.map(str::to_string),
        namespaces: NsSet::default(),
        shared_with_host: Vec::new(),
        pod: None,
        labels: BTreeMap::new(),
        metadata: None,
        start_ticks: Some(1_000),
        running: true,
        trust: Trust::root(),
    }
}

fn process(pid: i32, rss_bytes: u64, cpu_ticks: u64) -> Process {
    let mut p = Process::new(pid, 0, NsSet::default());
    p.start_ticks = 500 + pid as u64;
    p.rss_bytes = rss_bytes;
    p.cpu_ticks = cpu_ticks;
    p
}

const CLOCK: Clock = Clock {
    uptime_seconds: Some(110.0),
    ticks_per_second: 100,
};

#[test]
fn states_serialise_to_the_words_ls_json_has_always_shown() {
    for (state, word) in [
        (ContainerState::Running, "running"),
        (ContainerState::Frozen, "frozen"),
        (ContainerState::Stopped, "stopped"),
        (ContainerState::Unverified, "unverified"),
    ] {
        assert_eq!(state.to_string(), word);
        assert_eq!(
            serde_json::to_value(state).unwrap(),
            serde_json::json!(word)
        );
    }
}

#[test]
fn own_cgroup_gives_every_figure_and_names_its_files() {
    let root = fixture("v2");
    let layout = detect_layout(&root).unwrap();
    let c = container(&[1001, 1002], Some("/system.slice/docker-abc.scope"));
    let processes = [process(1001, 1, 7), process(1002, 2, 9)];
    let mut warnings = Vec::new();
    let m = measure(
        &root,
        Some(&layout),
        c,
        &Census::new(&processes),
        CLOCK,
        &mut warnings,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    // cgroup.events says `frozen 1`.
    assert_eq!(m.view.state, ContainerState::Frozen);
    // 110 s since boot, started 1000 ticks = 10 s after boot.
    assert_eq!(m.view.uptime_seconds, Some(100.0));
    let reading = m.view.cgroup.as_ref().expect("own cgroup read");
    assert!(reading.sources["memory.usage_bytes"].ends_with("memory.current"));
    let f = &m.figures;
    assert_eq!(
        f.memory_bytes,
        Some(52_428_800),
        "memory.current, not the RSS sum"
    );
    assert_eq!(f.memory_source, Some(FigureSource::OwnCgroup));
    assert_eq!(f.memory_limit_bytes, Some(Limit::Value(67_108_864)));
    assert_eq!(f.cpu_limit_cpus, Some(Limit::Value(0.2)));
    assert_eq!(f.pids_limit, Some(Limit::Max));
    assert_eq!(f.pids, 2);
    assert_eq!(
        f.cpu,
        CpuCounter::Cgroup {
            usage_usec: 630_000
        }
    );
    assert_eq!(m.view.sources.cpu.from, FigureSource::OwnCgroup);
    assert_eq!(m.view.sources.memory.from, FigureSource::OwnCgroup);
    assert!(
        m.view.ownership.iter().all(|o| o.own),
        "{:?}",
        m.view.ownership
    );
    // The re-read counter is the same one.
    assert_eq!(
        reread(&root, Some(&layout), &m.view).cpu,
        Some(f.cpu.clone())
    );
}

#[test]
fn without_a_cgroup_of_its_own_figures_come_from_its_processes() {
    let root = fixture("v2");
    let layout = detect_layout(&root).unwrap();
    // 7 is not in the container: neither its memory nor its CPU counts.
    let processes = [process(5, 100, 40), process(6, 20, 2), process(7, 999, 999)];
    let mut warnings = Vec::new();
    let m = measure(
        &root,
        Some(&layout),
        container(&[5, 6], None),
        &Census::new(&processes),
        CLOCK,
        &mut warnings,
    );
    assert!(m.view.cgroup.is_none(), "the host's cgroup is not its own");
    assert_eq!(m.view.state, ContainerState::Running);
    assert_eq!(m.figures.memory_bytes, Some(120));
    assert_eq!(m.figures.memory_source, Some(FigureSource::Processes));
    assert_eq!(m.figures.memory_limit_bytes, None);
    assert_eq!(
        m.figures.cpu,
        CpuCounter::Processes(vec![
            ProcessTicks {
                pid: 5,
                start_ticks: 505,
                cpu_ticks: 40
            },
            ProcessTicks {
                pid: 6,
                start_ticks: 506,
                cpu_ticks: 2
            },
        ])
    );
}

#[test]
fn stopped_and_unverified_containers() {
    let root = fixture("v2");
    let mut stopped = container(&[], None);
    stopped.running = false;
    stopped.start_ticks = None;
    let m = measure(
        &root,
        None,
        stopped,
        &Census::new(&[]),
        CLOCK,
        &mut Vec::new(),
    );
    assert_eq!(m.view.state, ContainerState::Stopped);
    assert_eq!(m.view.uptime_seconds, None);
    assert_eq!(
        (m.figures.memory_bytes, m.figures.memory_source),
        (None, None)
    );
    assert_eq!(reread(&root, None, &m.view).cpu, None);

    let mut claimed = container(&[], None);
    claimed.trust.verified = false;
    let m = measure(
        &root,
        None,
        claimed,
        &Census::new(&[]),
        CLOCK,
        &mut Vec::new(),
    );
    assert_eq!(m.view.state, ContainerState::Unverified);
}

#[test]
fn no_clock_ticks_is_no_uptime_not_a_division_by_zero() {
    let clock = Clock {
        uptime_seconds: Some(5.0),
        ticks_per_second: 0,
    };
    let m = measure(
        &fixture("v2"),
        None,
        container(&[1], None),
        &Census::new(&[]),
        clock,
        &mut Vec::new(),
    );
    assert_eq!(m.view.uptime_seconds, None);
}

#[test]
fn a_vanished_cgroup_gives_no_cgroup_figures_and_memory_from_processes() {
    let root = fixture("v2");
    let layout = detect_layout(&root).unwrap();
    let c = container(&[1], Some("/system.slice/gone.scope"));
    let mut warnings = Vec::new();
    let m = measure(
        &root,
        Some(&layout),
        c,
        &Census::new(&[process(1, 8, 1)]),
        CLOCK,
        &mut warnings,
    );
    assert!(m.view.cgroup.is_none(), "{:?}", m.view.cgroup);
    assert_eq!(m.view.state, ContainerState::Running);
    assert_eq!(m.figures.memory_bytes, Some(8));
    assert_eq!(m.figures.memory_source, Some(FigureSource::Processes));
    assert_eq!(m.view.sources.cpu.from, FigureSource::Processes);
    assert!(warnings.is_empty(), "vanishing is normal: {warnings:?}");
}

/// Copies a directory tree (the fixture) into a tempdir.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A `stat` line: ppid, utime, start time, rss pages.
fn stat_line(pid: i32, comm: &str, ppid: i32, utime: u64, start: u64, rss_pages: u64) -> String {
    let mut fields: Vec<String> = vec!["0".to_string(); 52];
    fields[0] = pid.to_string();
    fields[1] = format!("({comm})");
    fields[2] = "S".to_string();
    fields[3] = ppid.to_string();
    fields[13] = utime.to_string();
    fields[19] = "1".to_string();
    fields[21] = start.to_string();
    fields[23] = rss_pages.to_string();
    fields.join(" ") + "\n"
}

fn write_process(proc_dir: &Path, pid: i32, ppid: i32, cgroup: &str, ns_base: u64) {
    let dir = proc_dir.join(pid.to_string());
    fs::create_dir_all(dir.join("ns")).unwrap();
    let stat = stat_line(pid, "app", ppid, 50 + pid as u64, 100 * pid as u64, 10);
    fs::write(dir.join("stat"), stat).unwrap();
    fs::write(dir.join("cmdline"), "app\0").unwrap();
    fs::write(dir.join("cgroup"), format!("0::{cgroup}\n")).unwrap();
    for (i, kind) in crate::host::namespace::NsKind::ALL.into_iter().enumerate() {
        let name = kind.name();
        let target = format!("{name}:[{}]", ns_base + i as u64);
        std::os::unix::fs::symlink(target, dir.join("ns").join(name)).unwrap();
    }
}

/// A host with the v2 fixture's cgroups and one Docker container (pids 100, 101) in a cgroup
/// of its own (a copy of the fixture's `docker-abc.scope`).
pub(crate) fn fake_host() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cgroup/v2"),
        tmp.path(),
    );
    let slice = tmp.path().join("sys/fs/cgroup/system.slice");
    copy_tree(
        &slice.join("docker-abc.scope"),
        &slice.join(format!("docker-{ID}.scope")),
    );
    let proc_dir = tmp.path().join("proc");
    fs::write(proc_dir.join("uptime"), "1234.50 100.00\n").unwrap();
    write_process(&proc_dir, 1, 0, "/init.scope", 4_026_531_830);
    let own = format!("/system.slice/docker-{ID}.scope");
    write_process(&proc_dir, 100, 1, &own, 4_026_532_000);
    write_process(&proc_dir, 101, 100, &own, 4_026_532_000);
    tmp
}

#[test]
fn process_counters_are_reread_from_stat() {
    let tmp = fake_host();
    let root = HostRoot::under(tmp.path());
    let mut c = container(&[100, 101, 999], None);
    c.cgroups = vec![membership("/")].into();
    let m = measure(
        &root,
        None,
        c.clone(),
        &Census::new(&[]),
        CLOCK,
        &mut Vec::new(),
    );
    let counter = reread(&root, None, &m.view).cpu.unwrap();
    // 999 does not exist: left out, not an error.
    assert_eq!(
        counter,
        CpuCounter::Processes(vec![
            ProcessTicks {
                pid: 100,
                start_ticks: 10_000,
                cpu_ticks: 150
            },
            ProcessTicks {
                pid: 101,
                start_ticks: 10_100,
                cpu_ticks: 151
            },
        ])
    );
    // An RSS fallback with the processes the scan read.
    let processes: Vec<Process> = [100, 101]
        .iter()
        .filter_map(|pid| {
            crate::host::process::read_process(&root, *pid, crate::host::process::ReadDepth::Full)
                .unwrap()
        })
        .collect();
    let m = measure(
        &root,
        None,
        c,
        &Census::new(&processes),
        CLOCK,
        &mut Vec::new(),
    );
    let page = processes[0].rss_bytes / 10;
    assert_eq!(m.figures.memory_bytes, Some(20 * page));
    assert_eq!(m.figures.cpu, counter);
}

#[test]
fn a_cgroup_shared_with_many_says_so_without_counting_them_all() {
    let root = fixture("v2");
    let layout = detect_layout(&root).unwrap();
    let c = container(&[1001], Some("/shared"));
    let in_shared = |pid: i32| {
        let mut p = process(pid, 1, 1);
        p.cgroups = vec![membership("/shared")].into();
        p
    };
    let mut processes: Vec<Process> = (2..200).map(in_shared).collect();
    processes.push(in_shared(1001));
    let m = measure(
        &root,
        Some(&layout),
        c,
        &Census::new(&processes),
        CLOCK,
        &mut Vec::new(),
    );
    let shared = m.view.ownership[0].shared.clone().unwrap_or_default();
    assert_eq!(
        shared,
        "9 or more processes outside this container (pids 2, 3, 4, 5, 6, 7, 8, 9, …)"
    );
    assert!(!m.view.ownership[0].own);
}

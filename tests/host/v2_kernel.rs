//! The kernel's v2 behaviour, read right (root; run by `vm/run-tests.sh`, skipped with a
//! printed reason on v1 and hybrid hosts): a busy loop under `cpu.max "20000 100000"` is reported
//! at about 20 % of a CPU with throttled periods counted (by `isotop cgroups` and, for a runc
//! container, by `isotop ls`); a real OOM kill under `memory.max` is counted from
//! `memory.events`; a frozen cgroup is reported frozen. Timing slack is wide (10–30 %) because
//! the VM's CPUs are emulated; the kernel's own counters are the reference, not the clock.

use crate::support::{bundle, common};

use common::{isotop_json as json, read_key as key, read_text as text};

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{CgroupGuard, ChildGuard};
use isotop::host::HostRoot;
use isotop::host::cgroup::{FreezerState, Limit, detect_layout, read_at};
use serde_json::Value;

/// `isotop cgroups PATH --json`'s reading of PATH itself.
fn cgroup_reading(path: &str) -> Value {
    json(&["cgroups", path, "--json", "--depth", "0"])["tree"]["reading"].clone()
}

/// A test cgroup `<guard>/<leaf>` running a busy loop under `cpu.max "20000 100000"`, once the
/// kernel has throttled it at least once.
fn busy_under_20_percent(guard: &CgroupGuard, leaf: &str) -> ChildGuard {
    guard.child(leaf);
    let dir = guard.dir("", leaf);
    fs::write(dir.join("cpu.max"), "20000 100000").unwrap();
    let busy = ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do :; done"]));
    guard.add_pid(leaf, busy.pid());
    let stat = dir.join("cpu.stat");
    assert!(
        common::wait_until(Duration::from_secs(20), || key(&stat, "nr_throttled") > 0),
        "never throttled under cpu.max 20000 100000"
    );
    busy
}

#[test]
#[ignore = "needs root"]
fn busy_loop_under_cpu_max_reads_as_20_percent_and_throttled() {
    if !common::require_v2() {
        return;
    }
    let guard = CgroupGuard::new("v2-cpu");
    let _busy = busy_under_20_percent(&guard, "busy");
    let path = format!("{}/busy", guard.rel);
    let stat = guard.dir("", "busy").join("cpu.stat");

    let first = cgroup_reading(&path);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let second = cgroup_reading(&path);
    let wall_usec = start.elapsed().as_micros() as f64;
    let after = (key(&stat, "usage_usec"), key(&stat, "nr_throttled"));

    let figure = |v: &Value, name: &str| v["cpu"][name].as_u64().expect(name);
    let used = figure(&second, "usage_usec") - figure(&first, "usage_usec");
    let percent = used as f64 / wall_usec * 100.0;
    assert!(
        (10.0..=30.0).contains(&percent),
        "{percent:.1}% of a CPU under a 0.2 CPU quota ({used} usec in {wall_usec} usec)"
    );
    let periods = figure(&second, "nr_periods") - figure(&first, "nr_periods");
    let throttled = figure(&second, "nr_throttled") - figure(&first, "nr_throttled");
    eprintln!("cpu.max 20000 100000: {percent:.1}% of a CPU, throttled {throttled} of {periods}");
    assert!(periods >= 10, "{periods} periods in 3 s of 100 ms periods");
    assert!(
        throttled * 2 >= periods,
        "an always-runnable loop is throttled in most periods: {throttled} of {periods}"
    );
    assert!(figure(&second, "throttled_usec") > figure(&first, "throttled_usec"));
    // isotop's figures are the kernel's, read no later than now.
    assert!(figure(&second, "usage_usec") <= after.0);
    assert!(figure(&second, "nr_throttled") <= after.1);
    assert_eq!(second["limits"]["cpu_quota_usec"], 20_000);
    assert_eq!(second["limits"]["cpu_period_usec"], 100_000);
    assert_eq!(
        second["sources"]["cpu.nr_throttled"],
        stat.to_str().unwrap()
    );
}

#[test]
#[ignore = "needs root"]
fn ls_shows_a_runc_container_under_cpu_max_at_20_percent() {
    if !common::require_v2()
        || !common::require_program("runc")
        || !Path::new(bundle::BUSYBOX).is_file()
    {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let dir = run.cgroup_dir("cpu");
    fs::write(dir.join("cpu.max"), "20000 100000").unwrap();
    let status = Command::new("runc")
        .args(["exec", "-d", &run.id, "sh", "-c", "while :; do :; done"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "runc exec of a busy loop");
    let stat = dir.join("cpu.stat");
    assert!(common::wait_until(Duration::from_secs(20), || key(
        &stat,
        "nr_throttled"
    ) > 0));

    let list = json(&["ls", "--json", "--interval", "2"]);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == run.id.as_str())
        .unwrap_or_else(|| panic!("container {} not listed: {list}", run.id));
    assert_eq!(entry["runtime"], "runc");
    assert_eq!(entry["cgroup_path"], run.cgroup_path.as_str());
    assert_eq!(entry["cpu_limit_cpus"], 0.2);
    assert_eq!(entry["state"], "running");
    assert_eq!(entry["pids"], 2, "init and the busy loop: {entry}");
    let cpu = entry["cpu_percent"]
        .as_f64()
        .expect("CPU% from two samples");
    eprintln!("isotop ls: runc container under cpu.max 20000 100000 at {cpu:.1}%");
    assert!(
        (10.0..=30.0).contains(&cpu),
        "CPU% {cpu} under cpu.max 20000 100000"
    );

    let doc = json(&["inspect", &run.id, "--json"]);
    let throttled = doc["cgroup"]["cpu"]["nr_throttled"].as_u64().unwrap();
    assert!(throttled > 0 && throttled <= key(&stat, "nr_throttled"));
    assert_eq!(
        doc["cgroup"]["sources"]["limits.cpu_quota_usec"],
        dir.join("cpu.max").to_str().unwrap()
    );
}

#[test]
#[ignore = "needs root"]
fn oom_kill_under_memory_max_is_counted_from_memory_events() {
    if !common::require_v2() {
        return;
    }
    let root = HostRoot::live();
    let layout = detect_layout(&root).unwrap();
    let guard = CgroupGuard::new("v2-oom");
    let path = guard.child("oom");
    let dir = guard.dir("", "oom");
    fs::write(dir.join("memory.max"), "33554432").unwrap(); // 32 MiB
    if dir.join("memory.swap.max").exists() {
        fs::write(dir.join("memory.swap.max"), "0").unwrap(); // no escape into swap
    }
    let before = read_at(&root, &layout, &path).unwrap().unwrap();
    assert_eq!(before.memory.as_ref().unwrap().events.oom_kill, Some(0));
    assert_eq!(
        before.limits.memory_max_bytes,
        Some(Limit::Value(33_554_432))
    );

    // bash waits for a line, so it (and all it forks) is in the cgroup before it allocates;
    // then it holds 100 MB of command-substitution output in its own memory.
    let mut hog = ChildGuard::spawn(
        Command::new("bash")
            .args([
                "-c",
                r#"read -r _; x=$(head -c 100000000 /dev/zero | tr '\0' x); echo "kept ${#x}""#,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    guard.add_pid("oom", hog.pid());
    hog.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut status = None;
    assert!(
        common::wait_until(Duration::from_secs(60), || {
            status = hog.0.try_wait().unwrap();
            status.is_some()
        }),
        "the allocation neither finished nor was killed"
    );
    let mut out = String::new();
    std::io::Read::read_to_string(&mut hog.0.stdout.take().unwrap(), &mut out).unwrap();
    assert!(
        !out.contains("kept 100000000"),
        "100 MB held under a 32 MiB limit: {out}"
    );

    let events = dir.join("memory.events");
    let kernel_kills = key(&events, "oom_kill");
    eprintln!(
        "memory.events after the allocation: {:?}; bash {status:?}",
        text(&events)
    );
    assert!(kernel_kills >= 1, "{}", text(&events));
    let after = read_at(&root, &layout, &path).unwrap().unwrap();
    let m = after.memory.as_ref().unwrap();
    assert_eq!(m.events.oom_kill, Some(kernel_kills));
    assert_eq!(m.events.oom, Some(key(&events, "oom")));
    assert!(m.events.oom.unwrap() >= 1);
    assert_eq!(m.events.max, Some(key(&events, "max")));
    assert!(m.events.max.unwrap() >= 1, "usage hit memory.max");
    let peak = text(&dir.join("memory.peak")).parse::<u64>().unwrap();
    assert_eq!(m.peak_bytes, Some(peak));
    assert!((16 << 20..=33_554_432).contains(&peak), "peak {peak}");
    assert_eq!(after.sources["memory.events.oom_kill"], events);

    let reading = cgroup_reading(&path);
    assert_eq!(reading["memory"]["events"]["oom_kill"], kernel_kills);
    assert_eq!(reading["limits"]["memory_max_bytes"], 33_554_432);
}

#[test]
#[ignore = "needs root"]
fn frozen_cgroup_is_reported_frozen() {
    if !common::require_v2() {
        return;
    }
    let root = HostRoot::live();
    let layout = detect_layout(&root).unwrap();
    let guard = CgroupGuard::new("v2-freeze");
    let path = guard.child("ice");
    let dir = guard.dir("", "ice");
    let sleeper = ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do sleep 1; done"]));
    guard.add_pid("ice", sleeper.pid());
    let frozen_flag = || key(&dir.join("cgroup.events"), "frozen");

    let r = read_at(&root, &layout, &path).unwrap().unwrap();
    assert_eq!(r.freezer, Some(FreezerState::Thawed));
    assert_eq!(frozen_flag(), 0);

    fs::write(dir.join("cgroup.freeze"), "1").unwrap();
    assert!(common::wait_until(Duration::from_secs(10), || frozen_flag() == 1));
    let r = read_at(&root, &layout, &path).unwrap().unwrap();
    assert_eq!(r.freezer, Some(FreezerState::Frozen));
    assert_eq!(cgroup_reading(&path)["freezer"], "frozen");
    // The table's FROZEN column.
    let out = common::run_isotop(&["cgroups", &path]);
    let table = String::from_utf8_lossy(&out.stdout);
    let row: Vec<&str> = table.lines().nth(2).unwrap().split_whitespace().collect();
    // FROZEN is the tenth column (CONTAINER, whose cgroup it is, follows).
    assert_eq!(row.get(9), Some(&"yes"), "{table}");

    fs::write(dir.join("cgroup.freeze"), "0").unwrap();
    assert!(common::wait_until(Duration::from_secs(10), || frozen_flag() == 0));
    let r = read_at(&root, &layout, &path).unwrap().unwrap();
    assert_eq!(r.freezer, Some(FreezerState::Thawed));
}

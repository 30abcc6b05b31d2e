//! `control::limits` on real cgroups (v1 here, v2 in `vm/run-tests.sh act_limits`): a busy loop
//! held to 0.2 CPU, a memory hog OOM-killed under its limit, period changes that keep the CPU
//! share, refusals of a memory limit below usage, and bad input that writes nothing — every
//! result read back from the kernel files.

use crate::support::common;
use crate::support::fake_container::busy_loop;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{CgroupGuard, ChildGuard};
use isotop::control::ControlError;
use isotop::control::audit;
use isotop::control::limits::{self, LimitDirs, LimitInput, LimitRequest};
use isotop::host::HostRoot;
use isotop::host::cgroup::{CgroupLayout, detect_layout, read_at};

/// Every act of this test process is audited to one temp file, never /var/log.
fn audit_to_temp() -> PathBuf {
    let path = std::env::temp_dir().join(format!("isotop-act-limits-{}.jsonl", std::process::id()));
    assert!(audit::use_log_path(path.clone()));
    path
}

fn layout() -> CgroupLayout {
    detect_layout(&HostRoot::live()).unwrap()
}

fn v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

fn request(input: LimitInput<'_>) -> LimitRequest {
    LimitRequest::parse(&input).unwrap()
}

/// The cgroup's CPU time in µs, straight from the kernel file.
fn cpu_usage_usec(guard: &CgroupGuard, child: &str) -> u64 {
    if v2() {
        common::read_key(&guard.dir("", child).join("cpu.stat"), "usage_usec")
    } else {
        common::read_number(&guard.dir("cpuacct", child).join("cpuacct.usage")) / 1000
    }
}

#[test]
#[ignore = "needs root"]
fn busy_loop_limited_to_a_fifth_of_a_cpu_uses_that_and_is_reported_throttled() {
    audit_to_temp();
    let guard = CgroupGuard::new("limit-cpu");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    let plan = limits::plan(
        &HostRoot::live(),
        &dirs,
        &request(LimitInput {
            cpus: Some("0.2"),
            ..Default::default()
        }),
    )
    .unwrap();
    let (changes, warnings) = limits::apply(&rel, &plan.writes).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    if v2() {
        let cpu_max = guard.dir("", "c").join("cpu.max");
        assert_eq!(common::read_text(&cpu_max), "20000 100000");
        assert_eq!(changes[0].old, "max 100000");
        assert_eq!(changes[0].now, "20000 100000");
    } else {
        let quota = guard.dir("cpu", "c").join("cpu.cfs_quota_us");
        assert_eq!(common::read_text(&quota), "20000");
        assert_eq!(changes[0].old, "-1");
        assert_eq!(changes[0].path, quota);
    }
    let looping = busy_loop();
    guard.add_pid("c", looping.pid());
    // Let it settle into the quota, then measure 5 s of the cgroup's own counter.
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    let before = cpu_usage_usec(&guard, "c");
    std::thread::sleep(Duration::from_secs(5));
    let used = cpu_usage_usec(&guard, "c") - before;
    let cpus = used as f64 / start.elapsed().as_micros() as f64;
    assert!(
        (0.17..=0.23).contains(&cpus),
        "a busy loop limited to 0.2 CPU used {cpus:.3} CPU"
    );
    let reading = read_at(&HostRoot::live(), &layout(), &rel)
        .unwrap()
        .expect("the cgroup reads");
    let cpu = reading.cpu.expect("cpu stats");
    let throttled = cpu.nr_throttled.expect("nr_throttled reported");
    let kernel_dir = guard.dir("cpu", "c");
    let kernel_throttled = common::read_key(&kernel_dir.join("cpu.stat"), "nr_throttled");
    assert!(throttled > 0, "isotop reports no throttling: {cpu:?}");
    assert!(
        throttled <= kernel_throttled,
        "{throttled} > kernel {kernel_throttled}"
    );
    assert_eq!(
        reading.limits.cpu_quota_usec,
        Some(isotop::host::cgroup::Limit::Value(20_000))
    );
}

#[test]
#[ignore = "needs root"]
fn memory_hog_over_its_limit_is_oom_killed_and_the_kill_is_counted() {
    if !common::require_program("busybox") {
        return;
    }
    audit_to_temp();
    let guard = CgroupGuard::new("limit-mem");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    let plan = limits::plan(
        &HostRoot::live(),
        &dirs,
        &request(LimitInput {
            memory: Some("32M"),
            ..Default::default()
        }),
    )
    .unwrap();
    limits::apply(&rel, &plan.writes).unwrap();
    let mem_dir = guard.dir("memory", "c");
    let limit_file = if v2() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    assert_eq!(common::read_number(&mem_dir.join(limit_file)), 32 << 20);
    // The hog waits for a line on stdin, so it allocates only once inside the cgroup: dd with
    // a 96 MiB block allocates and fills a 96 MiB buffer.
    let mut hog = ChildGuard::spawn(
        Command::new("busybox")
            .args([
                "sh",
                "-c",
                "read go; exec busybox dd if=/dev/zero of=/dev/null bs=96M count=1",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    guard.add_pid("c", hog.pid());
    hog.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let status = hog.0.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "the hog was not OOM-killed: {status:?}"
    );
    let kills = if v2() {
        common::read_key(&mem_dir.join("memory.events"), "oom_kill")
    } else {
        common::read_key(&mem_dir.join("memory.oom_control"), "oom_kill")
    };
    assert_eq!(kills, 1);
    let reading = read_at(&HostRoot::live(), &layout(), &rel)
        .unwrap()
        .unwrap();
    assert_eq!(reading.memory.unwrap().events.oom_kill, Some(1));
}

#[test]
#[ignore = "needs root"]
fn a_period_change_keeps_the_cpu_share_and_reads_back() {
    audit_to_temp();
    let guard = CgroupGuard::new("limit-period");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    for (input, quota, period) in [
        (
            LimitInput {
                cpus: Some("50%"),
                ..Default::default()
            },
            50_000,
            100_000,
        ),
        // Only the period: 0.5 CPU stays 0.5 CPU.
        (
            LimitInput {
                period: Some("200000"),
                ..Default::default()
            },
            100_000,
            200_000,
        ),
        (
            LimitInput {
                cpus: Some("250m"),
                period: Some("10000"),
                ..Default::default()
            },
            2_500,
            10_000,
        ),
        (
            LimitInput {
                cpus: Some("max"),
                ..Default::default()
            },
            0,
            10_000,
        ),
    ] {
        let plan = limits::plan(&HostRoot::live(), &dirs, &request(input)).unwrap();
        limits::apply(&rel, &plan.writes).unwrap();
        if v2() {
            let want = if quota == 0 {
                format!("max {period}")
            } else {
                format!("{quota} {period}")
            };
            assert_eq!(common::read_text(&guard.dir("", "c").join("cpu.max")), want);
        } else {
            let dir = guard.dir("cpu", "c");
            let want = if quota == 0 {
                "-1".to_string()
            } else {
                quota.to_string()
            };
            assert_eq!(common::read_text(&dir.join("cpu.cfs_quota_us")), want);
            assert_eq!(common::read_number(&dir.join("cpu.cfs_period_us")), period);
        }
    }
}

#[test]
#[ignore = "needs root"]
fn weight_pids_and_memory_high_per_version() {
    audit_to_temp();
    let guard = CgroupGuard::new("limit-weight");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    let plan = limits::plan(
        &HostRoot::live(),
        &dirs,
        &request(LimitInput {
            cpu_weight: Some("50"),
            pids: Some("17"),
            ..Default::default()
        }),
    )
    .unwrap();
    limits::apply(&rel, &plan.writes).unwrap();
    assert_eq!(
        common::read_text(&guard.dir("pids", "c").join("pids.max")),
        "17"
    );
    let high = request(LimitInput {
        memory_high: Some("48M"),
        ..Default::default()
    });
    if v2() {
        assert_eq!(
            common::read_text(&guard.dir("", "c").join("cpu.weight")),
            "50"
        );
        let plan = limits::plan(&HostRoot::live(), &dirs, &high).unwrap();
        limits::apply(&rel, &plan.writes).unwrap();
        assert_eq!(
            common::read_number(&guard.dir("", "c").join("memory.high")),
            48 << 20
        );
    } else {
        // v1 has shares: weight 50 maps to 2 + 49 * 262142 / 9999 = 1286.
        assert_eq!(
            common::read_text(&guard.dir("cpu", "c").join("cpu.shares")),
            "1286"
        );
        assert!(
            plan.notes.iter().any(|n| n.contains("cpu.shares 1286")),
            "{:?}",
            plan.notes
        );
        let err = limits::plan(&HostRoot::live(), &dirs, &high).unwrap_err();
        assert!(err.is_usage(), "{err}");
        assert!(err.to_string().contains("only on cgroup v2"), "{err}");
    }
}

#[test]
#[ignore = "needs root"]
fn memory_limit_below_usage_is_refused_unless_forced() {
    if !common::require_program("busybox") {
        return;
    }
    audit_to_temp();
    let guard = CgroupGuard::new("limit-usage");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    let mem_dir = guard.dir("memory", "c");
    let limit_file = mem_dir.join(if v2() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    });
    let before = common::read_text(&limit_file);
    // Charge the cgroup some memory: a tmpfs-free way is page cache from reading a file.
    let reader = ChildGuard::spawn(
        Command::new("busybox")
            .args([
                "sh",
                "-c",
                "read go; cat /proc/self/exe /bin/busybox >/dev/null; sleep 100",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null()),
    );
    let mut reader = reader;
    guard.add_pid("c", reader.pid());
    reader.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let usage_file = mem_dir.join(if v2() {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    });
    assert!(common::wait_until(
        Duration::from_secs(10),
        || common::read_number(&usage_file) > 8192
    ));
    let too_small = request(LimitInput {
        memory: Some("4096"),
        ..Default::default()
    });
    let err = limits::plan(&HostRoot::live(), &dirs, &too_small).unwrap_err();
    assert!(matches!(err, ControlError::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains("OOM-kill") && err.to_string().contains("--force"),
        "{err}"
    );
    assert_eq!(
        common::read_text(&limit_file),
        before,
        "a refused limit was written"
    );
    // Forced, the plan goes ahead (not applied: it would OOM-kill the reader at once).
    let forced = request(LimitInput {
        memory: Some("4096"),
        force: true,
        ..Default::default()
    });
    let plan = limits::plan(&HostRoot::live(), &dirs, &forced).unwrap();
    assert_eq!(plan.writes.len(), 1);
    assert_eq!(plan.writes[0].new, "4096");
    assert_eq!(plan.writes[0].old, before);
}

#[test]
#[ignore = "needs root"]
fn bad_input_is_refused_before_anything_is_written() {
    audit_to_temp();
    let guard = CgroupGuard::new("limit-bad");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    let files: Vec<PathBuf> = if v2() {
        [
            "cpu.max",
            "cpu.weight",
            "memory.max",
            "memory.high",
            "pids.max",
        ]
        .iter()
        .map(|f| guard.dir("", "c").join(f))
        .collect()
    } else {
        vec![
            guard.dir("cpu", "c").join("cpu.cfs_quota_us"),
            guard.dir("cpu", "c").join("cpu.cfs_period_us"),
            guard.dir("cpu", "c").join("cpu.shares"),
            guard.dir("memory", "c").join("memory.limit_in_bytes"),
            guard.dir("pids", "c").join("pids.max"),
        ]
    };
    let snapshot = |files: &[PathBuf]| {
        files
            .iter()
            .map(|f| common::read_text(f))
            .collect::<Vec<_>>()
    };
    let before = snapshot(&files);
    let bad = [
        LimitInput {
            cpus: Some("-1"),
            ..Default::default()
        },
        LimitInput {
            cpus: Some("abc"),
            ..Default::default()
        },
        LimitInput {
            memory: Some("1Q"),
            ..Default::default()
        },
        LimitInput {
            period: Some("999"),
            ..Default::default()
        },
        LimitInput {
            period: Some("1000001"),
            ..Default::default()
        },
        LimitInput {
            cpu_weight: Some("0"),
            ..Default::default()
        },
        LimitInput {
            pids: Some("-1"),
            ..Default::default()
        },
        // A good value beside a bad one: nothing at all is written.
        LimitInput {
            pids: Some("10"),
            memory: Some("1Q"),
            ..Default::default()
        },
        LimitInput::default(),
    ];
    for input in bad {
        let err = LimitRequest::parse(&input).unwrap_err();
        let text = err.to_string();
        assert!(!text.is_empty());
        if !matches!(err, ControlError::Other(_)) {
            assert!(err.is_usage(), "{text}");
        }
    }
    // Valid alone, but 1 millicore over a 100 ms period is under the kernel's 1 ms minimum.
    let tiny = request(LimitInput {
        cpus: Some("1m"),
        ..Default::default()
    });
    assert!(
        limits::plan(&HostRoot::live(), &dirs, &tiny)
            .unwrap_err()
            .is_usage()
    );
    assert_eq!(snapshot(&files), before, "bad input changed a limit file");
}

#[test]
#[ignore = "needs root"]
fn a_failed_write_puts_back_the_files_written_before_it() {
    audit_to_temp();
    let guard = CgroupGuard::new("limit-rollback");
    let rel = guard.child("c");
    let dirs = LimitDirs::for_path(&layout(), &rel);
    let pids_file = guard.dir("pids", "c").join("pids.max");
    let mut plan = limits::plan(
        &HostRoot::live(),
        &dirs,
        &request(LimitInput {
            pids: Some("33"),
            cpus: Some("0.5"),
            ..Default::default()
        }),
    )
    .unwrap();
    // The kernel refuses garbage: the cpu write fails after pids.max was written.
    let pids_first = plan
        .writes
        .iter()
        .position(|w| w.what == "limit.pids")
        .unwrap();
    let pids_write = plan.writes.remove(pids_first);
    plan.writes.insert(0, pids_write);
    let last = plan.writes.len() - 1;
    plan.writes[last].new = "garbage".into();
    let before = common::read_text(&pids_file);
    let err = limits::apply(&rel, &plan.writes).unwrap_err();
    assert!(matches!(err, ControlError::Write { .. }), "{err}");
    assert_eq!(common::read_text(&pids_file), before);
}

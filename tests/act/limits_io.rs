//! I/O limits as acts (`isotop limit … --device-{read,write}-{bps,iops} DEV=… --io-weight`) on
//! a loop device the test makes and real cgroups under a unique test parent (v1 `blkio` here,
//! v2 `io.max` in `vm/run-tests.sh act`): a `--device-write-bps 2M` limit holds `dd
//! oflag=direct` to 2 MiB/s (±10 %, dd's own figures: the kernel's throttle took effect through
//! isotop's write), `undo` lifts it, a `--for` change on a hand-made container reverts by
//! itself, each write is audited; the weight where the kernel has one (v2 `io.weight`) and a
//! clear refusal where not (v1 without CFQ/BFQ); refusals that write nothing: devices that are
//! not block devices, do not exist or are partitions, bad values, a cgroup shared with a
//! process outside the container, the machine's own `process_api`, `--read-only`.

use crate::support::block_io::{LoopDevice, dd_in};
use crate::support::{common, fake_container};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::CgroupGuard;
use fake_container::{Env, FakeContainer};

/// 2 MiB/s, the limit the rate test sets.
const LIMIT: u64 = 2 << 20;

fn v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The io (v2) or blkio (v1) directory of `child` of the guard.
fn io_dir(guard: &CgroupGuard, child: &str) -> PathBuf {
    guard.dir("blkio", child)
}

/// The line of `device` in the file that holds its write-bandwidth limit (`None`: no line,
/// i.e. no limit).
fn write_bps_line(guard: &CgroupGuard, child: &str, device: &str) -> Option<String> {
    let file = if v2_host() {
        "io.max"
    } else {
        "blkio.throttle.write_bps_device"
    };
    common::read_text(&io_dir(guard, child).join(file))
        .lines()
        .find(|l| l.starts_with(&format!("{device} ")))
        .map(str::to_string)
}

/// Every I/O limit file of `dir` with its content (what a refused act must leave alone).
fn io_files(dir: &Path) -> Vec<(String, String)> {
    [
        "io.max",
        "io.weight",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device",
        "blkio.weight",
    ]
    .iter()
    .filter_map(|f| {
        let text = std::fs::read_to_string(dir.join(f)).ok()?;
        Some((f.to_string(), text))
    })
    .collect()
}

fn audit(env: &Env) -> Vec<serde_json::Value> {
    std::fs::read_to_string(env.dir.path().join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `dd` writing `mib` MiB to the disk with O_DIRECT from inside `child` of the guard.
fn write_through(guard: &CgroupGuard, child: &str, disk: &LoopDevice, mib: u64) -> f64 {
    let of = format!("of={}", disk.path.display());
    let count = format!("count={}", mib * 4);
    let run = dd_in(
        |pid| guard.add_pid(child, pid),
        &["if=/dev/zero", &of, "bs=256k", &count, "oflag=direct"],
    );
    assert_eq!(run.bytes, mib << 20);
    run.bytes_per_second()
}

#[test]
#[ignore = "needs root"]
fn a_device_write_bps_limit_holds_dd_to_it_and_undo_lifts_it() {
    let Some(disk) = LoopDevice::new(64) else {
        return;
    };
    let env = Env::new();
    let guard = CgroupGuard::new("io-limit");
    let path = guard.child("w");
    let dev = disk.path.display().to_string();
    assert_eq!(write_bps_line(&guard, "w", &disk.number), None);

    let out = env.ok(&["limit", &path, "--device-write-bps", &format!("{dev}=2M")]);
    assert!(out.contains(&disk.number), "{out}");
    let expected = if v2_host() {
        format!("{} rbps=max wbps={LIMIT} riops=max wiops=max", disk.number)
    } else {
        format!("{} {LIMIT}", disk.number)
    };
    assert_eq!(
        write_bps_line(&guard, "w", &disk.number).as_deref(),
        Some(expected.as_str())
    );
    // 10 MiB at 2 MiB/s: about 5 s of dd, its rate as dd measures it.
    let rate = write_through(&guard, "w", &disk, 10);
    eprintln!(
        "dd under a 2 MiB/s limit: {:.3} MiB/s",
        rate / (1 << 20) as f64
    );
    let off = (rate - LIMIT as f64).abs() / LIMIT as f64;
    assert!(
        off <= 0.10,
        "dd wrote {:.3} MiB/s under a 2 MiB/s limit ({:.1} % off)",
        rate / (1 << 20) as f64,
        off * 100.0
    );
    let entries = audit(&env);
    let what = if v2_host() {
        "limit.io_max"
    } else {
        "limit.io_write_bps"
    };
    let written = entries
        .iter()
        .find(|e| e["what"] == what)
        .unwrap_or_else(|| panic!("no {what} in the audit log: {entries:#?}"));
    assert_eq!(written["target"], format!("cgroup:{path}").as_str());
    assert_eq!(written["result"], "ok");
    assert_eq!(written["new"], expected.as_str());

    let undone = env.ok(&["undo"]);
    assert!(undone.contains(&disk.number), "{undone}");
    assert_eq!(
        write_bps_line(&guard, "w", &disk.number),
        None,
        "undo left a limit"
    );
    assert!(audit(&env).iter().any(|e| e["what"] == "undo"));
    // Without the limit the same write runs well above it.
    let free = write_through(&guard, "w", &disk, 10);
    eprintln!("dd after undo: {:.1} MiB/s", free / (1 << 20) as f64);
    assert!(
        free > 2.0 * LIMIT as f64,
        "after undo dd still wrote only {:.3} MiB/s",
        free / (1 << 20) as f64
    );
}

/// The `unshare` that started `container` (its init's parent).
fn launcher_of(container: &FakeContainer) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", container.init)).unwrap();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .expect("the init's parent")
}

/// A hand-made container (`unshare`, its launcher waiting beside it) in `child` of the guard,
/// every hierarchy.
fn container_in(guard: &CgroupGuard, child: &str) -> FakeContainer {
    let container = FakeContainer::start();
    guard.add_pid(child, launcher_of(&container));
    guard.add_pid(child, container.init);
    container
}

#[test]
#[ignore = "needs root"]
fn a_timed_io_limit_on_a_container_reverts_by_itself() {
    if !common::require_program("unshare") {
        return;
    }
    let Some(disk) = LoopDevice::new(16) else {
        return;
    };
    let env = Env::new();
    let guard = CgroupGuard::new("io-timed");
    guard.child("box");
    let container = container_in(&guard, "box");
    let init = container.init.to_string();
    let dir = io_dir(&guard, "box");
    let before = io_files(&dir);

    let doc: serde_json::Value = serde_json::from_str(&env.ok(&[
        "limit",
        &init,
        "--device-read-iops",
        &format!("{}=50", disk.number),
        "--device-write-bps",
        &format!("{}=1M", disk.path.display()),
        "--for",
        "2s",
        "--json",
    ]))
    .unwrap();
    let changes = doc["changes"].as_array().unwrap();
    // v2: one io.max line with both values; v1: one line in each of two files.
    assert_eq!(changes.len(), if v2_host() { 1 } else { 2 }, "{doc:#}");
    for change in changes {
        assert_eq!(change["slot"]["key"], disk.number.as_str(), "{change}");
        assert_eq!(change["now"], change["written"], "{change}");
    }
    assert_ne!(io_files(&dir), before, "nothing was written");
    assert!(doc["pending"]["worker_pid"].as_i64().is_some(), "{doc:#}");

    let reverted = common::wait_until(Duration::from_secs(20), || io_files(&dir) == before);
    assert!(
        reverted,
        "still {:?} after the revert was due",
        io_files(&dir)
    );
    assert!(common::wait_until(Duration::from_secs(5), || {
        serde_json::from_str::<serde_json::Value>(&env.ok(&["pending", "--json"]))
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    }));
    let reverts: Vec<serde_json::Value> = audit(&env)
        .into_iter()
        .filter(|e| e["what"] == "revert")
        .collect();
    assert_eq!(reverts.len(), changes.len(), "{reverts:#?}");
    assert!(reverts.iter().all(|e| e["result"] == "ok"), "{reverts:#?}");
    assert!(reverts.iter().all(|e| e["target"] == doc["target"]));
    // Nothing left to undo: the revert took the change off the journal.
    assert_eq!(env.run(&["undo"]).status.code(), Some(2));
}

#[test]
#[ignore = "needs root"]
fn the_io_weight_is_set_where_the_kernel_has_one_and_refused_clearly_where_not() {
    let env = Env::new();
    let guard = CgroupGuard::new("io-weight");
    let path = guard.child("w");
    let dir = io_dir(&guard, "w");
    let weight_file = [
        "io.weight",
        "io.bfq.weight",
        "blkio.weight",
        "blkio.bfq.weight",
    ]
    .into_iter()
    .find(|f| dir.join(f).exists());
    let Some(file) = weight_file else {
        // This host (v1 blk-throttle, no CFQ/BFQ): refused, saying why, nothing written.
        let before = io_files(&dir);
        let out = env.run(&["limit", &path, "--io-weight", "200"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let why = stderr(&out);
        assert!(why.contains("no I/O weight"), "{why}");
        assert!(
            why.contains("blkio.weight") || why.contains("io.weight"),
            "{why}"
        );
        assert_eq!(io_files(&dir), before);
        assert!(env.journal().is_empty());
        return;
    };
    eprintln!("{file} of {path}: {}", common::read_text(&dir.join(file)));
    let before = common::read_text(&dir.join(file));
    env.ok(&["limit", &path, "--io-weight", "300"]);
    let now = common::read_text(&dir.join(file));
    let first = now.lines().next().unwrap_or_default();
    assert!(
        first == "default 300" || first == "300",
        "{file} holds {now:?}"
    );
    env.ok(&["undo"]);
    assert_eq!(common::read_text(&dir.join(file)), before);
    // Out of the file's range (io.weight: 1–10000; BFQ, CFQ: up to 1000).
    let out = env.run(&["limit", &path, "--io-weight", "20000"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root"]
fn refused_io_limits_write_nothing_and_say_what_to_pass() {
    if !common::require_program("unshare") {
        return;
    }
    let Some(disk) = LoopDevice::partitioned(16) else {
        return;
    };
    let env = Env::new();
    let guard = CgroupGuard::new("io-refuse");
    let path = guard.child("w");
    let dir = io_dir(&guard, "w");
    let before = io_files(&dir);
    let plain = tempfile::NamedTempFile::new().unwrap();
    let plain = plain.path().display().to_string();
    let part = disk.partition().display().to_string();
    let dev = disk.path.display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![format!("{plain}=1M")], "not a block device"),
        (vec!["/nonexistent/isotop-disk=1M".into()], "no such file"),
        (
            vec!["4095:1048575=1M".into()],
            "no block device 4095:1048575",
        ),
        (vec![format!("{part}=1M")], "partition"),
        (vec![format!("sda=1M")], "MAJ:MIN"),
        (vec![dev.clone()], "DEV=VALUE"),
        (vec![format!("{dev}=fast")], "bytes per second"),
        (
            vec![format!("{dev}=1M"), format!("{}=2M", disk.number)],
            "twice",
        ),
    ];
    for (values, hint) in &cases {
        let mut args: Vec<&str> = vec!["limit", &path];
        for v in values {
            args.extend(["--device-write-bps", v.as_str()]);
        }
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(hint), "{args:?}: {}", stderr(&out));
        assert_eq!(io_files(&dir), before, "{args:?} wrote");
    }
    // The partition refusal names the disk to pass instead.
    let out = env.run(&["limit", &path, "--device-write-bps", &format!("{part}=1M")]);
    assert!(stderr(&out).contains(&dev), "{}", stderr(&out));
    for args in [
        vec!["limit", &path, "--device-read-iops", "7:0=1.5"],
        vec!["limit", &path, "--io-weight", "0"],
        vec!["limit", "/process_api", "--device-write-bps", "7:0=1M"],
        vec![
            "--read-only",
            "limit",
            &path,
            "--device-write-bps",
            "7:0=1M",
        ],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(io_files(&dir), before, "{args:?} wrote");
    }

    // A container whose io cgroup holds a process outside it: not its own. On v1 its other
    // cgroups are its own (`box`) and only the blkio one (`shared`) is shared, so it is the io
    // site's own check that refuses; on v2 (one hierarchy) the whole cgroup is shared.
    guard.child("box");
    guard.child("shared");
    let container = container_in(&guard, "box");
    let outsider = fake_container::outsider();
    let io_site = if v2_host() { "box" } else { "shared" };
    if !v2_host() {
        let shared = io_dir(&guard, "shared");
        for pid in [container.init, launcher_of(&container)] {
            fake_container::move_to(&shared, pid);
        }
    }
    fake_container::move_to(&io_dir(&guard, io_site), outsider.pid());
    let site_dir = io_dir(&guard, io_site);
    let site_before = io_files(&site_dir);
    let init = container.init.to_string();
    let out = env.run(&["limit", &init, "--device-write-bps", &format!("{dev}=1M")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let why = stderr(&out);
    if v2_host() {
        assert!(why.contains("refused"), "{why}");
    } else {
        assert!(
            why.contains("io cgroup") && why.contains("not only this container's"),
            "{why}"
        );
    }
    assert_eq!(io_files(&site_dir), site_before);
    assert!(env.journal().is_empty(), "{:?}", env.journal());
    // Every refusal is audited, none as done.
    let entries = audit(&env);
    assert!(entries.len() >= cases.len() + 3, "{entries:#?}");
    assert!(entries.iter().all(|e| e["result"] != "ok"), "{entries:#?}");
}

//! Planning I/O limits against files in a temp dir laid out as the kernel writes them (v2
//! `io.max` and `io.weight` lines as read in the test VM, v1 throttle files as read on this
//! host): the line of the disk only, the other disks' lines left alone, v2's four values
//! merged, clearing, weights, and the refusals.

use std::fs;
use std::path::Path;

use super::*;
use crate::control::limits::{LimitInput, read_limit};

/// A host root whose sysfs knows `7:3` (loop3, a disk) and `259:1` (a partition of 259:0).
fn sys() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let block = root.path().join("sys/dev/block");
    fs::create_dir_all(block.join("7:3")).unwrap();
    fs::write(
        block.join("7:3/uevent"),
        "MAJOR=7\nMINOR=3\nDEVNAME=loop3\n",
    )
    .unwrap();
    fs::create_dir_all(block.join("259:1")).unwrap();
    fs::write(block.join("259:1/partition"), "1\n").unwrap();
    root
}

fn dirs(version: u8, dir: &Path) -> LimitDirs {
    LimitDirs {
        io: Some(ControllerDir {
            version,
            dir: dir.to_path_buf(),
            path: "/box".into(),
        }),
        ..LimitDirs::default()
    }
}

fn request(input: LimitInput<'_>) -> LimitRequest {
    LimitRequest::parse(&input).unwrap()
}

fn planned(version: u8, dir: &Path, input: LimitInput<'_>) -> Result<Plan, ControlError> {
    let root = sys();
    let host = HostRoot::under(root.path());
    let mut plan = Plan {
        writes: Vec::new(),
        notes: Vec::new(),
    };
    plan_io(&host, &dirs(version, dir), &request(input), &mut plan).map(|()| plan)
}

#[test]
fn v2_io_max_one_line_per_disk_values_merged_and_cleared() {
    let cg = tempfile::tempdir().unwrap();
    // Another disk's limit, and loop3's read limit, as the kernel prints them.
    fs::write(
        cg.path().join("io.max"),
        "8:0 rbps=max wbps=1048576 riops=max wiops=max\n7:3 rbps=4096 wbps=max riops=max wiops=max\n",
    )
    .unwrap();
    let plan = planned(
        2,
        cg.path(),
        LimitInput {
            device_write_bps: vec!["7:3=2M"],
            device_write_iops: vec!["7:3=100"],
            ..LimitInput::default()
        },
    )
    .unwrap();
    assert_eq!(
        plan.writes.len(),
        1,
        "one write per disk: {:?}",
        plan.writes
    );
    let w = &plan.writes[0];
    assert_eq!(w.what, "limit.io_max");
    assert_eq!(w.old, "7:3 rbps=4096 wbps=max riops=max wiops=max");
    assert_eq!(w.new, "7:3 rbps=4096 wbps=2097152 riops=max wiops=100");
    let slot = w.slot.as_ref().unwrap();
    assert_eq!(slot.key, "7:3");
    assert_eq!(slot.cleared, "7:3 rbps=max wbps=max riops=max wiops=max");

    // A disk without a line reads as its cleared line; `0` and `max` clear.
    fs::write(cg.path().join("io.max"), "").unwrap();
    let plan = planned(
        2,
        cg.path(),
        LimitInput {
            device_read_bps: vec!["7:3=0"],
            device_read_iops: vec!["7:3=max"],
            ..LimitInput::default()
        },
    )
    .unwrap();
    assert_eq!(
        plan.writes[0].old,
        "7:3 rbps=max wbps=max riops=max wiops=max"
    );
    assert_eq!(plan.writes[0].new, plan.writes[0].old);
}

#[test]
fn v1_throttle_files_one_line_per_knob() {
    let cg = tempfile::tempdir().unwrap();
    for file in [
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device",
    ] {
        fs::write(cg.path().join(file), "").unwrap();
    }
    fs::write(
        cg.path().join("blkio.throttle.write_bps_device"),
        "8:0 1048576\n7:3 4096\n",
    )
    .unwrap();
    let plan = planned(
        1,
        cg.path(),
        LimitInput {
            device_write_bps: vec!["7:3=1MiB"],
            device_read_iops: vec!["7:3=0"],
            ..LimitInput::default()
        },
    )
    .unwrap();
    let lines: Vec<(&str, &str, &str)> = plan
        .writes
        .iter()
        .map(|w| (w.what.as_str(), w.old.as_str(), w.new.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("limit.io_write_bps", "7:3 4096", "7:3 1048576"),
            ("limit.io_read_iops", "7:3 0", "7:3 0"),
        ]
    );
    // The slot reads its own line only, whitespace made single.
    let path = cg.path().join("blkio.throttle.write_bps_device");
    let slot = plan.writes[0].slot.clone().unwrap();
    fs::write(&path, "8:0 1048576\n7:3   1048576\n").unwrap();
    assert_eq!(read_limit(&path, Some(&slot)).unwrap(), "7:3 1048576");
    fs::write(&path, "8:0 1048576\n").unwrap();
    assert_eq!(read_limit(&path, Some(&slot)).unwrap(), "7:3 0");
}

#[test]
fn weights_by_file_and_range() {
    let cg = tempfile::tempdir().unwrap();
    fs::write(cg.path().join("io.weight"), "default 100\n8:0 300\n").unwrap();
    let weight = |w| LimitInput {
        io_weight: Some(w),
        ..LimitInput::default()
    };
    let plan = planned(2, cg.path(), weight("500")).unwrap();
    let w = &plan.writes[0];
    assert_eq!(
        (w.old.as_str(), w.new.as_str()),
        ("default 100", "default 500")
    );
    assert_eq!(w.slot.as_ref().unwrap().key, "default");
    // BFQ's v2 file when iocost's is absent: 1–1000.
    fs::remove_file(cg.path().join("io.weight")).unwrap();
    fs::write(cg.path().join("io.bfq.weight"), "default 100\n").unwrap();
    let err = planned(2, cg.path(), weight("5000"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("io.bfq.weight") && err.contains("1000"),
        "{err}"
    );
    // v1 CFQ: the whole file, 10–1000.
    let v1 = tempfile::tempdir().unwrap();
    fs::write(v1.path().join("blkio.weight"), "500\n").unwrap();
    let plan = planned(1, v1.path(), weight("200")).unwrap();
    assert_eq!(
        (plan.writes[0].old.as_str(), plan.writes[0].new.as_str()),
        ("500", "200")
    );
    assert_eq!(plan.writes[0].slot, None);
    assert!(planned(1, v1.path(), weight("5")).is_err());
    // Neither: refused, saying what would give one.
    let bare = tempfile::tempdir().unwrap();
    let err = planned(1, bare.path(), weight("200"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no blkio.weight nor blkio.bfq.weight"),
        "{err}"
    );
    assert!(err.contains("CFQ or BFQ"), "{err}");
}

#[test]
fn devices_are_checked_before_anything_is_read() {
    let cg = tempfile::tempdir().unwrap();
    fs::write(cg.path().join("io.max"), "").unwrap();
    let write_bps = |d| LimitInput {
        device_write_bps: vec![d],
        ..LimitInput::default()
    };
    for (device, hint) in [
        ("259:1=1M", "partition"),
        ("9:9=1M", "no block device 9:9"),
        ("loop3=1M", "MAJ:MIN"),
        ("/nonexistent/isotop=1M", "no such file"),
        ("/=1M", "a directory"),
    ] {
        let err = planned(2, cg.path(), write_bps(device)).unwrap_err();
        assert!(err.is_usage(), "{device}: {err}");
        assert!(err.to_string().contains(hint), "{device}: {err}");
    }
    let twice = LimitInput {
        device_write_bps: vec!["7:3=1M", "7:3=2M"],
        ..LimitInput::default()
    };
    assert!(
        planned(2, cg.path(), twice)
            .unwrap_err()
            .to_string()
            .contains("twice")
    );
    // No io.max (io not enabled for it): said so.
    let none = tempfile::tempdir().unwrap();
    let err = planned(2, none.path(), write_bps("7:3=1M"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("io.max") && err.contains("subtree_control"),
        "{err}"
    );
}

//! I/O limits per cgroup (`CgroupLimits::io`): trees built in a temp dir (v1 `blkio.throttle.*`
//! files with `0`, garbage and a BFQ weight; v2 `io.max` with `max`, a per-device weight line
//! and `io.bfq.weight`; a cgroup with no limit file) with device names from `/sys/dev/block`;
//! and, as root, a real cgroup under a unique test parent limited by writing the kernel's file
//! by hand (`echo "MAJ:MIN N" > blkio.throttle.write_bps_device` here, `io.max` on v2) for a
//! loop device the test made: read back with the device's name, its source file recorded, in
//! `isotop cgroups --json`, and the same limits as the `Figures::io_limits` of an `unshare`
//! container in that cgroup.

use crate::support::block_io::LoopDevice;
use crate::support::common::{self, CgroupGuard};
use crate::support::unshared::{box_dir, unshare, v2_host};

use std::fs;
use std::path::Path;

use isotop::host::HostRoot;
use isotop::host::cgroup::io::{IoDeviceLimit, IoLimits};
use isotop::host::cgroup::{detect_layout, read_at};
use isotop::host::container::measure::Figures;
use isotop::host::scan::{ScanOptions, scan};

/// A fake host under `dir`: `mountinfo` as given, a block device `7:3` named `loop3`, and the
/// files of each cgroup (`(dir relative to the root, [(file, text)])`).
fn host(dir: &Path, mountinfo: &str, cgroups: &[(&str, &[(&str, &str)])]) -> HostRoot {
    fs::create_dir_all(dir.join("proc/self")).unwrap();
    fs::write(dir.join("proc/self/mountinfo"), mountinfo).unwrap();
    let device = dir.join("sys/dev/block/7:3");
    fs::create_dir_all(&device).unwrap();
    fs::write(device.join("uevent"), "MAJOR=7\nMINOR=3\nDEVNAME=loop3\n").unwrap();
    for (cgroup, files) in cgroups {
        let at = dir.join(cgroup);
        fs::create_dir_all(&at).unwrap();
        fs::write(at.join("cgroup.procs"), "10\n").unwrap();
        for (name, text) in *files {
            fs::write(at.join(name), text).unwrap();
        }
    }
    HostRoot::under(dir)
}

fn limit(device: &str, name: Option<&str>) -> IoDeviceLimit {
    IoDeviceLimit {
        device: device.into(),
        name: name.map(String::from),
        ..IoDeviceLimit::default()
    }
}

#[test]
fn v1_throttle_files_merge_per_device_zero_is_no_limit_and_bfq_gives_the_weight() {
    let tmp = tempfile::tempdir().unwrap();
    let root = host(
        tmp.path(),
        "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n\
         41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
        &[
            ("sys/fs/cgroup/unified", &[]),
            ("sys/fs/cgroup/blkio/bare", &[]),
            (
                "sys/fs/cgroup/blkio/box",
                &[
                    ("blkio.throttle.write_bps_device", "7:3 1048576\n"),
                    ("blkio.throttle.read_bps_device", "7:3 0\n8:0 5\n"),
                    ("blkio.throttle.read_iops_device", "garbage\n7:3 x\n"),
                    ("blkio.throttle.write_iops_device", ""),
                    // No CFQ blkio.weight: BFQ's file, a bare number on v1.
                    ("blkio.bfq.weight", "300\n"),
                ],
            ),
        ],
    );
    let layout = detect_layout(&root).unwrap();
    let r = read_at(&root, &layout, "/box").unwrap().unwrap();
    let mut loop3 = limit("7:3", Some("loop3"));
    loop3.write_bps = Some(1 << 20);
    let mut sda = limit("8:0", None);
    sda.read_bps = Some(5);
    assert_eq!(
        r.limits.io,
        Some(IoLimits {
            devices: vec![loop3, sda],
            weight: Some(300),
        })
    );
    let io = r.limits.io.as_ref().unwrap();
    assert_eq!(io.devices[1].label(), "8:0", "a device without sysfs entry");
    assert_eq!(io.write_bps_total(), Some(1 << 20));
    for (field, file) in [
        ("limits.io.write_bps", "box/blkio.throttle.write_bps_device"),
        ("limits.io.read_bps", "box/blkio.throttle.read_bps_device"),
        ("limits.io.read_iops", "box/blkio.throttle.read_iops_device"),
        (
            "limits.io.write_iops",
            "box/blkio.throttle.write_iops_device",
        ),
        ("limits.io.weight", "box/blkio.bfq.weight"),
    ] {
        let source = r.sources.get(field).map(|p| p.display().to_string());
        assert!(
            source.as_deref().is_some_and(|s| s.ends_with(file)),
            "{field}: {source:?}"
        );
    }
    let notes = r.notes.join("\n");
    assert_eq!(r.notes.len(), 2, "{notes}");
    assert!(notes.contains("blkio.throttle.read_iops_device"), "{notes}");
    assert!(
        notes.contains("\"garbage\"") && notes.contains("device 7:3"),
        "{notes}"
    );
    // No limit file at all: no figure (not an empty one).
    let bare = read_at(&root, &layout, "/bare").unwrap().unwrap();
    assert_eq!(bare.limits.io, None);
    assert!(!bare.sources.keys().any(|k| k.starts_with("limits.io")));
}

#[test]
fn v2_io_max_and_the_weight_default_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = host(
        tmp.path(),
        "31 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n",
        &[
            (
                "sys/fs/cgroup/box",
                &[
                    (
                        "io.max",
                        "7:3 rbps=max wbps=2097152 riops=max wiops=max\n\
                         8:0 rbps=max wbps=max riops=max wiops=max\n\
                         8:16 rbps=1 wbps=max riops=x wiops=max\n",
                    ),
                    // No iocost io.weight: BFQ's, `default N` and a per-device line on v2.
                    ("io.bfq.weight", "default 50\n7:3 200\n"),
                ],
            ),
            ("sys/fs/cgroup/weighted", &[("io.weight", "default 100\n")]),
        ],
    );
    let layout = detect_layout(&root).unwrap();
    let r = read_at(&root, &layout, "/box").unwrap().unwrap();
    let mut loop3 = limit("7:3", Some("loop3"));
    loop3.write_bps = Some(2 << 20);
    // 8:0 is all max (no limit): not listed; 8:16's garbage line is skipped with a note.
    assert_eq!(
        r.limits.io,
        Some(IoLimits {
            devices: vec![loop3],
            weight: Some(50),
        })
    );
    assert!(r.sources["limits.io.write_bps"].ends_with("box/io.max"));
    assert!(r.sources["limits.io.weight"].ends_with("box/io.bfq.weight"));
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(r.notes[0].contains("device 8:16: riops"), "{:?}", r.notes);
    // A weight file alone: no device limited, the weight known.
    let weighted = read_at(&root, &layout, "/weighted").unwrap().unwrap();
    assert_eq!(
        weighted.limits.io,
        Some(IoLimits {
            devices: Vec::new(),
            weight: Some(100),
        })
    );
}

#[test]
#[ignore = "needs root"]
fn a_limit_written_by_hand_reads_back_with_the_device_name_and_in_a_containers_figures() {
    if !common::require_program("unshare") {
        return;
    }
    let Some(disk) = LoopDevice::new(16) else {
        return;
    };
    let guard = CgroupGuard::new("io-limits-read");
    let rel = guard.child("box");
    let dir = box_dir(&guard, "blkio");
    const RATE: u64 = 3 << 20;
    let source_file = if v2_host() {
        fs::write(
            dir.join("io.max"),
            format!("{} wbps={RATE} riops=250", disk.number),
        )
        .unwrap();
        "io.max"
    } else {
        // As an operator would: `echo "MAJ:MIN N" > …`, and a 0 that is no limit.
        fs::write(
            dir.join("blkio.throttle.write_bps_device"),
            format!("{} {RATE}\n", disk.number),
        )
        .unwrap();
        fs::write(
            dir.join("blkio.throttle.read_iops_device"),
            format!("{} 250\n", disk.number),
        )
        .unwrap();
        fs::write(
            dir.join("blkio.throttle.read_bps_device"),
            format!("{} 0\n", disk.number),
        )
        .unwrap();
        "blkio.throttle.write_bps_device"
    };
    let mut expected = limit(&disk.number, Some(&disk.name));
    expected.write_bps = Some(RATE);
    expected.read_iops = Some(250);

    let root = HostRoot::live();
    let reading = read_at(&root, &detect_layout(&root).unwrap(), &rel)
        .unwrap()
        .expect("the test cgroup reads");
    let io = reading.limits.io.as_ref().expect("I/O limits read");
    assert_eq!(io.devices, vec![expected.clone()], "{io:#?}");
    let source = reading.sources["limits.io.write_bps"].display().to_string();
    assert!(
        source.ends_with(&format!("{}/{source_file}", rel.trim_start_matches('/'))),
        "{source}"
    );
    // `isotop cgroups --json` carries them in the cgroup's limits.
    let doc = common::isotop_json(&["cgroups", &rel, "--json"]);
    let shown = &doc["tree"]["reading"]["limits"]["io"]["devices"][0];
    assert_eq!(shown["name"], disk.name.as_str(), "{doc:#}");
    assert_eq!(shown["write_bps"], RATE);
    assert_eq!(shown["read_iops"], 250);
    assert!(shown["read_bps"].is_null() && shown["write_iops"].is_null());

    // A container whose own cgroup it is carries the same limits in its figures.
    let (_unshare, init) = unshare(&["sleep", "1000"], "sleep");
    guard.add_pid("box", init.0);
    let snapshot = scan(
        &root,
        ScanOptions {
            namespaces: false,
            stopped: false,
        },
    )
    .unwrap();
    let view = snapshot
        .containers
        .iter()
        .find(|v| v.container.init_pid == Some(init.0))
        .expect("the unshare container is found");
    let figures = Figures::of(view, &snapshot.processes);
    let limits = figures.io_limits.expect("its own cgroup's I/O limits");
    assert_eq!(limits.devices, vec![expected]);
    assert_eq!(limits.write_bps_total(), Some(RATE));
}

//! Block I/O for tests: a loop device the test makes (`losetup` on a sparse file in a fresh
//! temp dir, detached on drop even when the test fails), optionally with a partition (added
//! with `addpart`, BLKPG: no partition-table parser needed in the kernel; so a partition
//! exists to be refused), the kernel's own counters of the device
//! (`/sys/block/<name>/stat`), and `dd` with `O_DIRECT` run inside a test cgroup, reporting
//! the bytes it copied and the time it took as it says them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::common::{self, ChildGuard};

/// A loop device attached to a file of its own; detached (and the file removed) on drop.
pub struct LoopDevice {
    /// `/dev/loopN`.
    pub path: PathBuf,
    /// `loopN`.
    pub name: String,
    /// `MAJ:MIN`.
    pub number: String,
    _dir: tempfile::TempDir,
}

impl LoopDevice {
    /// A loop device on a sparse file of `size_mib` MiB; `None` (the skip said) without
    /// `losetup` or a loop driver.
    pub fn new(size_mib: u64) -> Option<LoopDevice> {
        Self::made(size_mib, false)
    }

    /// A loop device with one partition from sector 2048 to the end: `<path>p1`. `None`
    /// (the skip said) without `losetup` or `addpart`.
    pub fn partitioned(size_mib: u64) -> Option<LoopDevice> {
        if !common::require_program("addpart") {
            return None;
        }
        Self::made(size_mib, true)
    }

    fn made(size_mib: u64, partitioned: bool) -> Option<LoopDevice> {
        if !common::require_program("losetup") {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("isotop-test-loop-")
            .tempdir_in("/tmp")
            .expect("temp dir for a loop device");
        let image = dir.path().join("disk.img");
        let file = std::fs::File::create(&image).expect("create the image");
        file.set_len(size_mib << 20).expect("size the image");
        let mut losetup = Command::new("losetup");
        losetup.args(["--find", "--show"]);
        if partitioned {
            losetup.arg("--partscan");
        }
        let out = losetup.arg(&image).output().expect("run losetup");
        if !out.status.success() {
            eprintln!(
                "skipping {}: losetup failed (no loop driver?): {}",
                common::test_name(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .expect("a device name");
        let number = common::read_text(&Path::new("/sys/block").join(&name).join("dev"));
        let device = LoopDevice {
            path,
            name,
            number,
            _dir: dir,
        };
        if partitioned {
            let sectors = ((size_mib << 20) / 512 - 2048).to_string();
            let added = Command::new("addpart")
                .arg(&device.path)
                .args(["1", "2048", &sectors])
                .status()
                .is_ok_and(|s| s.success());
            assert!(added, "addpart {} 1 2048 {sectors}", device.path.display());
            // devtmpfs makes the partition's node: wait for it.
            let part = device.partition();
            let found = common::wait_until(std::time::Duration::from_secs(5), || part.exists());
            assert!(found, "{} did not appear", part.display());
        }
        Some(device)
    }

    /// The first partition's node (of a [`LoopDevice::partitioned`] one).
    pub fn partition(&self) -> PathBuf {
        PathBuf::from(format!("{}p1", self.path.display()))
    }

    /// The device's own counters: (sectors read, sectors written), 512 bytes each
    /// (`/sys/block/<name>/stat` fields 3 and 7).
    pub fn sectors(&self) -> (u64, u64) {
        let stat = common::read_text(&Path::new("/sys/block").join(&self.name).join("stat"));
        let fields: Vec<u64> = stat
            .split_whitespace()
            .map(|f| f.parse().expect("a counter"))
            .collect();
        (fields[2], fields[6])
    }
}

impl LoopDevice {
    /// Makes v1 blk-throttle count this device in the cgroups at and below `blkio_dir`: recent
    /// kernels count a device there only once throttling is active on it, so `blkio_dir` gets
    /// a read limit far above anything a loop device does. Nothing on v2 (`io.stat` counts
    /// every device).
    pub fn count_on_v1(&self, blkio_dir: &Path) {
        if blkio_dir.join("io.stat").exists() {
            return;
        }
        std::fs::write(
            blkio_dir.join("blkio.throttle.read_bps_device"),
            format!("{} {}", self.number, 1u64 << 40),
        )
        .expect("a throttle limit on the test's device");
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let detached = Command::new("losetup")
            .arg("-d")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !detached {
            eprintln!("warning: could not detach {}", self.path.display());
        }
    }
}

/// What `dd` said it did.
#[derive(Debug, Clone, Copy)]
pub struct DdRun {
    pub bytes: u64,
    pub seconds: f64,
}

impl DdRun {
    pub fn bytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.seconds
    }
}

/// Runs `dd ARGS` (e.g. `of=/dev/loop3 bs=256k count=32 oflag=direct`) as a process that
/// `place` moves into a cgroup before it starts copying (it waits for a line on stdin), and
/// returns what dd reports. Panics when dd fails.
pub fn dd_in(place: impl FnOnce(i32), args: &[&str]) -> DdRun {
    let mut child = ChildGuard::spawn(
        Command::new("sh")
            .args(["-c", "read go && exec dd \"$@\"", "sh"])
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    place(child.pid());
    child
        .0
        .stdin
        .take()
        .expect("dd's stdin")
        .write_all(b"go\n")
        .expect("start dd");
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().expect("dd's stderr"), &mut stderr)
        .expect("read dd's report");
    let status = child.0.wait().expect("wait for dd");
    assert!(status.success(), "dd {args:?} failed: {stderr}");
    parse_dd(&stderr).unwrap_or_else(|| panic!("no byte count in dd's report: {stderr}"))
}

/// `N bytes (…) copied, T s, …` of dd's last line.
fn parse_dd(report: &str) -> Option<DdRun> {
    let line = report.lines().rev().find(|l| l.contains(" bytes "))?;
    let bytes = line.split_whitespace().next()?.parse().ok()?;
    let after = line.split("copied, ").nth(1)?;
    let seconds = after.split_whitespace().next()?.parse().ok()?;
    Some(DdRun { bytes, seconds })
}

//! Helpers of the PSI trigger tests: test cgroups in the v2 hierarchy (on a hybrid host the
//! unified one, which `CgroupGuard::new` leaves out), a skip when the kernel has no PSI, busy
//! processes that stall for a burst once told, and the fds of this process that name a path.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::common::{self, CgroupGuard, ChildGuard};

/// The v2 hierarchy's mount: `/sys/fs/cgroup` on a v2 host, `/sys/fs/cgroup/unified` on a
/// hybrid one; `None` on v1-only hosts.
pub fn v2_mount() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(PathBuf::from)
        .find(|dir| dir.join("cgroup.procs").exists() && dir.join("cgroup.threads").exists())
}

/// True when the kernel keeps pressure stall information (`/proc/pressure/cpu`) and there is a
/// v2 hierarchy; otherwise prints why the test is skipped.
pub fn psi_ready() -> bool {
    let test = common::test_name();
    if std::fs::read_to_string("/proc/pressure/cpu").is_err() {
        eprintln!("skipping {test}: no /proc/pressure/cpu (a kernel without PSI, or psi=0)");
        return false;
    }
    if v2_mount().is_none() {
        eprintln!("skipping {test}: no cgroup v2 hierarchy (a v1-only host has no cgroup PSI)");
        return false;
    }
    common::require_program("perl")
}

/// A uniquely named cgroup in the v2 hierarchy only, removed on drop (its processes killed
/// first) by the usual guard.
pub fn v2_guard(what: &str) -> CgroupGuard {
    let mount = v2_mount().expect("a v2 hierarchy (psi_ready)");
    let name = common::unique_name(what);
    let dir = mount.join(&name);
    std::fs::create_dir(&dir).expect("create test cgroup");
    CgroupGuard {
        rel: format!("/{name}"),
        dirs: vec![dir],
    }
}

/// Waits until `$ARGV[0]` exists, then keeps a CPU busy for `$ARGV[1]` seconds, then sleeps.
/// It looks for the file every 0.1 s: four pollers waking 50 times a second stalled each other
/// in a loaded emulated VM enough to be CPU pressure before the burst.
pub const BUSY_BURST: &str = r#"
use Time::HiRes qw(time sleep);
my ($go, $seconds) = @ARGV;
sleep 0.1 until -e $go;
my $end = time + $seconds;
my $n = 0;
while (time < $end) { $n++ for 1 .. 1000; }
sleep 1000;
"#;

/// `count` perl processes that run [`BUSY_BURST`] for `seconds` once `go` exists.
pub fn busy_bursts(count: usize, go: &Path, seconds: f64) -> Vec<ChildGuard> {
    (0..count)
        .map(|_| {
            ChildGuard::spawn(
                Command::new("perl")
                    .args(["-e", BUSY_BURST])
                    .arg(go)
                    .arg(seconds.to_string())
                    .stdin(Stdio::null()),
            )
        })
        .collect()
}

/// How many of this process's fds name a path containing `part` (a test cgroup's unique
/// name): the watcher's fds on its pressure files, whatever other tests open meanwhile.
pub fn fds_naming(part: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| target.to_string_lossy().contains(part))
        .count()
}

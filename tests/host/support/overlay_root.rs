//! Real roots for the mounts tests: layer directories with awkward names (spaces, commas,
//! colons), a busybox rootfs in the bottom layer, and a process started by
//! `unshare -m` (a private mount namespace: its mounts vanish with it) that mounts a root and
//! `chroot`s into it, so its mountinfo shows that root at `/`. Everything lives in a tempdir
//! under `/tmp`; the process is killed on drop, taking its namespace and mounts along.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::bundle::BUSYBOX;
use super::common::{self, ChildGuard};

/// A tempdir of layers: `dir(name)` makes (once) and returns a directory in it.
pub struct LayerDirs {
    pub tmp: tempfile::TempDir,
}

impl LayerDirs {
    pub fn create() -> LayerDirs {
        LayerDirs {
            tmp: tempfile::Builder::new()
                .prefix("isotop-test-mounts-")
                .tempdir_in("/tmp")
                .expect("tempdir under /tmp"),
        }
    }

    /// `<tmp>/<name>`, created.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.tmp.path().join(name);
        fs::create_dir_all(&dir).expect("layer dir");
        dir
    }
}

/// Puts busybox and `sleep` in `dir/bin`, plus the empty mount points the tests use.
pub fn fill_rootfs(dir: &Path) {
    for sub in ["bin", "proc", "scratch", "vol"] {
        fs::create_dir_all(dir.join(sub)).expect("rootfs dir");
    }
    fs::copy(BUSYBOX, dir.join("bin/busybox")).expect("copy busybox");
    std::os::unix::fs::symlink("busybox", dir.join("bin/sleep")).expect("sleep applet");
}

/// A `sleep` whose root is what `script` mounted on `$1` (the merged dir): `unshare -m sh -c
/// 'SCRIPT && exec chroot "$1" /bin/sleep 1000' sh MERGED ARGS...`. Its pid is the child's
/// (unshare and sh exec, so the process becomes the sleep).
pub struct Rooted {
    pub child: ChildGuard,
}

impl Rooted {
    /// Starts it and waits until the process is the chrooted sleep; panics with sh's stderr.
    pub fn start(script: &str, merged: &Path, args: &[&str]) -> Rooted {
        let stderr = tempfile::NamedTempFile::new().expect("stderr file");
        let child = ChildGuard::spawn(
            Command::new("unshare")
                .args(["-m", "--propagation", "private", "sh", "-c"])
                .arg(format!("{script} && exec chroot \"$1\" /bin/sleep 1000"))
                .arg("sh")
                .arg(merged)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr.reopen().expect("stderr")),
        );
        let pid = child.pid();
        let comm = || fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let ready = common::wait_until(Duration::from_secs(10), || comm().trim() == "sleep");
        assert!(
            ready,
            "no chrooted sleep (comm {:?}): {}",
            comm(),
            fs::read_to_string(stderr.path()).unwrap_or_default()
        );
        Rooted { child }
    }

    pub fn pid(&self) -> i32 {
        self.child.pid()
    }
}

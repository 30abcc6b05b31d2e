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

/// Overlay's own escaping for a `lowerdir=` list: `\`, `:` and `,` quoted with `\`.
pub fn overlay_escape(path: &Path) -> String {
    let text = path.to_str().expect("test paths are UTF-8");
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '\\' | ':' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
        Rooted::try_start(&["-m"], script, merged, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Rooted::start`] with `unshare`'s namespace options (`-m`, or `-U -r -m` for a
    /// user namespace too); `Err` with sh's stderr when no chrooted sleep came up.
    pub fn try_start(
        unshare: &[&str],
        script: &str,
        merged: &Path,
        args: &[&str],
    ) -> Result<Rooted, String> {
        let stderr = tempfile::NamedTempFile::new().expect("stderr file");
        let child = ChildGuard::spawn(
            Command::new("unshare")
                .args(unshare)
                .args(["--propagation", "private", "sh", "-c"])
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
        if common::wait_until(Duration::from_secs(10), || comm().trim() == "sleep") {
            Ok(Rooted { child })
        } else {
            Err(format!(
                "no chrooted sleep (comm {:?}): {}",
                comm(),
                fs::read_to_string(stderr.path()).unwrap_or_default()
            ))
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.pid()
    }
}

/// An overlay root given layer by layer (`lowerdir+=`/`datadir+=`, kernel ≥ 6.8): two lower
/// layers and two data-only ones whose names hold spaces and colons (taken verbatim, so no
/// overlay escaping; a comma cannot pass the legacy mount(2) string), an upper and a work dir,
/// `redirect_dir=on,metacopy=on,volatile`; a chrooted sleep on it.
pub struct AppendedRoot {
    pub rooted: Rooted,
    /// Top first.
    pub lower: Vec<PathBuf>,
    pub data: Vec<PathBuf>,
    pub upper: PathBuf,
}

impl AppendedRoot {
    /// Mounts it in `layers`; `None` (the reason printed) where the kernel refuses per-layer
    /// options.
    pub fn start(layers: &LayerDirs) -> Option<AppendedRoot> {
        let lower: Vec<PathBuf> = ["top: layer", "base layer"]
            .iter()
            .map(|name| layers.dir(name))
            .collect();
        fill_rootfs(&lower[1]);
        let data: Vec<PathBuf> = ["data one", "data:two"]
            .iter()
            .map(|n| layers.dir(n))
            .collect();
        let (upper, work, merged) = (
            layers.dir("upper"),
            layers.dir("work"),
            layers.dir("merged"),
        );
        let mut options: Vec<String> = lower
            .iter()
            .map(|p| format!("lowerdir+={}", p.display()))
            .collect();
        options.extend(data.iter().map(|p| format!("datadir+={}", p.display())));
        options.push(format!(
            "upperdir={},workdir={}",
            upper.display(),
            work.display()
        ));
        options.push("redirect_dir=on,metacopy=on,volatile".into());
        // The probe gets no upper and work dirs: a `volatile` mount leaves a mark in its work
        // dir that refuses the next mount.
        let probe_options = format!(
            "lowerdir+={},datadir+={}",
            lower[1].display(),
            data[0].display()
        );
        let probe = Command::new("unshare")
            .args([
                "-m",
                "sh",
                "-c",
                "mount -t overlay o -o \"$1\" \"$2\"",
                "sh",
            ])
            .arg(probe_options)
            .arg(&merged)
            .output()
            .expect("unshare runs");
        if !probe.status.success() {
            eprintln!(
                "skipping {}: this kernel refuses lowerdir+/datadir+ (< 6.8?): {}",
                common::test_name(),
                String::from_utf8_lossy(&probe.stderr)
            );
            return None;
        }
        let rooted = Rooted::start(
            "mount -t overlay o -o \"$2\" \"$1\"",
            &merged,
            &[&options.join(",")],
        );
        Some(AppendedRoot {
            rooted,
            lower,
            data,
            upper,
        })
    }
}

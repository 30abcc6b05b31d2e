//! A real runc or crun container for tests: a busybox rootfs in a tempdir, a config from
//! `runc spec` with `sleep 1000` as the process, run detached in a cgroup under a uniquely
//! named test parent. Dropping it kills and deletes the container, removes the cgroups (every
//! hierarchy, and runc's copy in the hybrid host's empty v2 one) and the bundle.
//!
//! crun refuses hybrid hosts ("cgroups in hybrid mode not supported"); on this machine it runs
//! when started in a private mount namespace where `/sys/fs/cgroup/unified` is unmounted, so on
//! a hybrid host every crun command goes through `unshare -m sh -c 'umount ... && crun ...'`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::common::{self, CgroupGuard};

/// The statically linked busybox (Debian's busybox-static) copied into the rootfs.
pub const BUSYBOX: &str = "/bin/busybox";

/// True when this host mounts an (empty) v2 hierarchy beside v1 controllers.
pub fn hybrid_host() -> bool {
    !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        && Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists()
}

/// True on a cgroup v2-only host (the test VM): limits and freezing use the v2 files there.
pub fn v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// A running OCI container made by `tool` (`runc` or `crun`).
pub struct OciRun {
    pub tool: &'static str,
    pub id: String,
    /// Host pid of the container's init, from the runtime's pid file.
    pub init_pid: i32,
    /// The container's cgroup path inside every hierarchy.
    pub cgroup_path: String,
    pub bundle: PathBuf,
    _bundle_dir: tempfile::TempDir,
    /// The test's cgroup parent: `OciRun::drop` deletes the container first, then this guard
    /// kills leftovers by pid and removes the dirs.
    pub parent: CgroupGuard,
}

impl OciRun {
    /// Builds the bundle and starts the container; panics with the runtime's stderr when it
    /// cannot (callers have checked for root and the program first).
    pub fn start(tool: &'static str) -> OciRun {
        OciRun::start_with_id(tool, &common::unique_name(tool))
    }

    /// Like [`OciRun::start`] with a chosen container id (tests of ids that collide).
    pub fn start_with_id(tool: &'static str, id: &str) -> OciRun {
        OciRun::start_prepared(tool, id, |_| {})
    }

    /// Like [`OciRun::start_with_id`], calling `prepare` on the built rootfs dir before the
    /// runtime starts (e.g. to mount an overlay there).
    pub fn start_prepared(tool: &'static str, id: &str, prepare: impl FnOnce(&Path)) -> OciRun {
        let parent = CgroupGuard::new(&format!("{tool}-parent"));
        let id = id.to_string();
        let cgroup_path = format!("{}/{id}", parent.rel);
        let dir = tempfile::tempdir().expect("bundle tempdir");
        let bundle = dir.path().to_path_buf();
        build_rootfs(&bundle.join("rootfs"));
        prepare(&bundle.join("rootfs"));
        write_config(&bundle, &cgroup_path);
        let pid_file = bundle.join("init.pid");
        let stderr_file = bundle.join("stderr");
        let run = [
            "run",
            "-d",
            "--pid-file",
            path_str(&pid_file),
            "--bundle",
            path_str(&bundle),
            &id,
        ];
        let status = tool_command(tool, &run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: the detached container inherits it and would hold a pipe open.
            .stderr(fs::File::create(&stderr_file).expect("stderr file"))
            .status()
            .expect("the runtime starts");
        let mut run = OciRun {
            tool,
            id,
            init_pid: 0,
            cgroup_path,
            bundle,
            _bundle_dir: dir,
            parent,
        };
        let stderr = fs::read_to_string(&stderr_file).unwrap_or_default();
        assert!(status.success(), "{tool} run failed: {stderr}");
        let read_pid = || {
            fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
        };
        assert!(
            common::wait_until(Duration::from_secs(10), || read_pid().is_some()),
            "{tool} wrote no pid file"
        );
        run.init_pid = read_pid().unwrap_or_default();
        run
    }

    /// Starts `sleep <secs>` inside the container with `<tool> exec -d`; returns its host pid.
    pub fn exec_sleep(&self, secs: &str) -> i32 {
        let pid_file = self.bundle.join(format!("exec-{secs}.pid"));
        let args = [
            "exec",
            "-d",
            "--pid-file",
            path_str(&pid_file),
            &self.id,
            "sleep",
            secs,
        ];
        let status = tool_command(self.tool, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("exec starts");
        assert!(status.success(), "{} exec failed", self.tool);
        let pid = fs::read_to_string(&pid_file).expect("exec pid file");
        pid.trim().parse().expect("exec pid")
    }

    /// The container's cgroup dir in the hierarchy carrying `controller` (or the v2 dir).
    pub fn cgroup_dir(&self, controller: &str) -> PathBuf {
        self.parent.dir(controller, &self.id)
    }
}

impl Drop for OciRun {
    fn drop(&mut self) {
        for args in [
            vec!["kill", self.id.as_str(), "KILL"],
            vec!["delete", "-f", self.id.as_str()],
        ] {
            let _ = tool_command(self.tool, &args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // runc also made the container's dirs in the hybrid host's v2 hierarchy, which the
        // guard does not know; remove them (they are empty once the container is deleted).
        let unified = Path::new("/sys/fs/cgroup/unified");
        if hybrid_host() {
            let parent = unified.join(self.parent.rel.trim_start_matches('/'));
            kill_pids_in(&parent.join(&self.id));
            kill_pids_in(&parent);
            for dir in [parent.join(&self.id), parent] {
                if dir.exists() {
                    let gone = common::wait_until(Duration::from_secs(2), || {
                        fs::remove_dir(&dir).is_ok() || !dir.exists()
                    });
                    if !gone {
                        eprintln!("warning: could not remove {}", dir.display());
                    }
                }
            }
        }
    }
}

fn kill_pids_in(dir: &Path) {
    let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) else {
        return;
    };
    for pid in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("tempdir paths are UTF-8")
}

/// The runtime command; crun on a hybrid host runs in a private mount namespace without the
/// v2 mount.
fn tool_command(tool: &str, args: &[&str]) -> Command {
    if tool == "crun" && hybrid_host() {
        let mut cmd = Command::new("unshare");
        cmd.args([
            "-m",
            "sh",
            "-c",
            "umount /sys/fs/cgroup/unified && exec crun --cgroup-manager=cgroupfs \"$@\"",
            "sh",
        ]);
        cmd.args(args);
        cmd
    } else {
        let mut cmd = Command::new(tool);
        if tool == "crun" {
            cmd.arg("--cgroup-manager=cgroupfs");
        }
        cmd.args(args);
        cmd
    }
}

/// A minimal rootfs: busybox and the applets the tests run.
fn build_rootfs(rootfs: &Path) {
    for dir in ["bin", "proc", "dev", "sys", "tmp"] {
        fs::create_dir_all(rootfs.join(dir)).expect("rootfs dir");
    }
    fs::copy(BUSYBOX, rootfs.join("bin/busybox")).expect("copy busybox");
    for applet in ["sh", "sleep", "cat", "ls"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).expect("applet");
    }
}

/// `runc spec`, then: `sleep 1000`, no terminal, the cgroup path, an annotation to find.
fn write_config(bundle: &Path, cgroup_path: &str) {
    let status = Command::new("runc")
        .args(["spec", "--bundle", path_str(bundle)])
        .status()
        .expect("runc spec runs");
    assert!(status.success(), "runc spec failed");
    let path = bundle.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).expect("spec written")).expect("spec");
    spec["process"]["args"] = serde_json::json!(["sleep", "1000"]);
    spec["process"]["terminal"] = serde_json::json!(false);
    spec["linux"]["cgroupsPath"] = serde_json::json!(cgroup_path);
    spec["annotations"] = serde_json::json!({"org.isotop.test": "yes\u{1b}[0m"});
    fs::write(&path, serde_json::to_vec_pretty(&spec).expect("json")).expect("write spec");
}

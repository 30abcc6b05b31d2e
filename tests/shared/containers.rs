//! Running isotop's own containers from the tests, through the real binary: `isotop run` of
//! a shell script in the foreground, a guard that starts one detached and removes it by id
//! (`isotop rm -f`) even when the test fails, readers of its record, log and cgroup files, a
//! runnable busybox root file system for image tests, and the check that nothing of a
//! container is left (record, name claim, data dir, cgroups, mounts, veth, processes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::common::{isotop, require_program, test_name, wait_until};

/// Where isotop keeps its containers (the live host's paths).
pub const RUN_ROOT: &str = "/run/isotop";
pub const DATA_ROOT: &str = "/var/lib/isotop/containers";

/// True when the launch tests can run here: a writable `/var/lib` (the cgroup-v2 VM shares the
/// host's root read-only); otherwise prints why the test is skipped. The tests calling it need
/// root: they are `#[ignore = "needs root"]`.
pub fn require_launch() -> bool {
    let probe = Path::new("/var/lib/isotop");
    let writable = std::fs::create_dir_all(probe).is_ok() && tempfile::tempdir_in(probe).is_ok();
    if !writable {
        eprintln!(
            "skipping {}: /var/lib/isotop is not writable here (read-only root?)",
            test_name()
        );
    }
    writable
}

/// Runs isotop with `args` (stdin empty) and returns its output.
pub fn isotop_out(args: &[&str]) -> Output {
    isotop()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the isotop test binary starts")
}

/// `isotop run --rm OPTIONS -- sh -c SCRIPT` in the foreground; returns its output.
pub fn run_sh(options: &[&str], script: &str) -> Output {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    isotop_out(&args)
}

/// This process's mount table (`/proc/self/mountinfo`): a container's overlay shows in it
/// while mounted.
pub fn mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts isotop exited with `code`, showing its output otherwise.
pub fn assert_code(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: stdout {:?} stderr {:?}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A container made by a test; removed with `isotop rm -f <id>` on drop.
pub struct Container {
    pub id: String,
    pub env: Vec<(String, String)>,
}

impl Container {
    /// `isotop run -d ARGS` (the options and command after `run -d`); panics with isotop's
    /// stderr when it fails.
    pub fn detached(args: &[&str]) -> Container {
        Container::detached_with_env(args, &[])
    }

    pub fn detached_with_env(args: &[&str], env: &[(&str, &str)]) -> Container {
        let out = isotop()
            .arg("run")
            .arg("-d")
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_code(&out, 0, &format!("isotop run -d {args:?}"));
        let id = text(&out.stdout).trim().to_string();
        assert_eq!(id.len(), 64, "run -d prints the id: {id:?}");
        Container {
            id,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// `isotop run -d OPTIONS -- sh -c SCRIPT`.
    pub fn sh(options: &[&str], script: &str) -> Container {
        Container::sh_with_env(options, script, &[])
    }

    pub fn sh_with_env(options: &[&str], script: &str, env: &[(&str, &str)]) -> Container {
        let mut args = options.to_vec();
        args.extend_from_slice(&["--", "sh", "-c", script]);
        Container::detached_with_env(&args, env)
    }

    /// Adopts a container whose id a test learnt otherwise.
    pub fn adopt(id: &str) -> Container {
        Container {
            id: id.into(),
            env: Vec::new(),
        }
    }

    /// The record as JSON (`None` once removed).
    pub fn record(&self) -> Option<serde_json::Value> {
        let path = Path::new(RUN_ROOT).join(&self.id).join("state.json");
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn status(&self) -> Option<String> {
        self.record()?.get("status")?.as_str().map(str::to_string)
    }

    /// Waits until the record says `exited` (or is gone); returns the record last seen.
    pub fn wait_exited(&self, timeout: Duration) -> Option<serde_json::Value> {
        assert!(
            wait_until(timeout, || self.status().as_deref() != Some("running")),
            "{} still running after {timeout:?}",
            self.id
        );
        self.record()
    }

    /// The init's host pid.
    pub fn pid(&self) -> i32 {
        self.record().expect("record")["pid"]
            .as_i64()
            .expect("a running container has a pid") as i32
    }

    /// The supervisor's host pid.
    pub fn supervisor_pid(&self) -> i32 {
        self.record().expect("record")["supervisor_pid"]
            .as_i64()
            .expect("a started container has a supervisor") as i32
    }

    pub fn data_dir(&self) -> PathBuf {
        Path::new(DATA_ROOT).join(&self.id)
    }

    /// The container's log (JSON lines, one per chunk of output).
    pub fn log_path(&self) -> PathBuf {
        self.data_dir().join("container.log")
    }

    /// Waits up to 10 s until the log holds `needle` (the command got that far); returns the
    /// log.
    pub fn wait_logged(&self, needle: &str) -> String {
        let log = self.log_path();
        assert!(
            wait_until(Duration::from_secs(10), || {
                std::fs::read_to_string(&log).is_ok_and(|t| t.contains(needle))
            }),
            "{needle:?} not in the log of {}: {:?}",
            self.id,
            std::fs::read_to_string(&log)
        );
        std::fs::read_to_string(&log).unwrap()
    }

    /// `isotop ARGS... <id>` with this container's environment.
    pub fn isotop(&self, args: &[&str]) -> Output {
        isotop()
            .args(args)
            .arg(&self.id)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// The directory of `/isotop/<id>` in the hierarchy carrying `controller` (v1), or the
    /// v2 directory.
    pub fn cgroup_dir(&self, controller: &str) -> PathBuf {
        let base = Path::new("/sys/fs/cgroup");
        if base.join("cgroup.controllers").exists() {
            base.join("isotop").join(&self.id)
        } else {
            base.join(controller).join("isotop").join(&self.id)
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.isotop(&["rm", "-f"]);
    }
}

/// True on a cgroup v2-only host.
pub fn is_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Every directory `/isotop/<id>` could be in.
pub fn cgroup_dirs_of(id: &str) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut out = vec![base.join("isotop").join(id)];
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            out.push(entry.path().join("isotop").join(id));
        }
    }
    out
}

/// Asserts nothing of container `id` is left: record, data dir, name claims, cgroups, mounts,
/// veth, processes in its cgroup.
pub fn assert_gone(id: &str) {
    assert!(
        !Path::new(RUN_ROOT).join(id).exists(),
        "run dir of {id} left"
    );
    assert!(
        !Path::new(DATA_ROOT).join(id).exists(),
        "data dir of {id} left"
    );
    if let Ok(names) = std::fs::read_dir(Path::new(RUN_ROOT).join("names")) {
        for claim in names.flatten() {
            let owner = std::fs::read_to_string(claim.path()).unwrap_or_default();
            assert_ne!(owner.trim(), id, "name claim {:?} left", claim.file_name());
        }
    }
    for dir in cgroup_dirs_of(id) {
        assert!(!dir.exists(), "cgroup {} left", dir.display());
    }
    let mountinfo = mountinfo();
    assert!(
        !mountinfo.contains(id),
        "a mount of {id} is left: {}",
        mountinfo.lines().find(|l| l.contains(id)).unwrap_or("")
    );
    let veth = format!("veth{}", &id[..8]);
    assert!(
        !Path::new("/sys/class/net").join(&veth).exists(),
        "veth {veth} left"
    );
}

/// Asserts no container resource exists without its run dir (an orphan of a failed start) and
/// no record, claim or config names `name`.
pub fn assert_nothing_named(name: &str) {
    assert!(
        !Path::new(RUN_ROOT).join("names").join(name).exists(),
        "name claim {name} left"
    );
    for root in [RUN_ROOT, DATA_ROOT] {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            for file in ["state.json", "config.json"] {
                let Ok(text) = std::fs::read_to_string(entry.path().join(file)) else {
                    continue;
                };
                let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                assert_ne!(
                    value["name"].as_str(),
                    Some(name),
                    "{} of {name} left at {}",
                    file,
                    entry.path().display()
                );
            }
        }
    }
    // Every container's cgroups and mounts belong to a container that still has its run dir
    // (made first, removed last).
    for line in mountinfo().lines().filter(|l| l.contains(DATA_ROOT)) {
        let id = line
            .split(DATA_ROOT)
            .nth(1)
            .and_then(|rest| rest.trim_start_matches('/').split('/').next())
            .unwrap_or("");
        assert!(
            Path::new(RUN_ROOT).join(id).exists(),
            "an orphan mount is left: {line}"
        );
    }
}

/// The bytes of a static busybox, for the image tests' root file systems (see
/// [`busybox_rootfs_dir`]). `None` (with the reason printed) when the launch tests cannot run
/// here ([`require_launch`]) or busybox-static is missing.
pub fn busybox_bytes() -> Option<Vec<u8>> {
    if !require_launch() || !require_program("busybox") {
        return None;
    }
    for path in ["/bin/busybox", "/usr/bin/busybox"] {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        // Only a static busybox runs in a root file system without libraries.
        let ldd = Command::new("ldd").arg(path).output();
        let dynamic = ldd.is_ok_and(|o| o.status.success());
        if !dynamic {
            return Some(bytes);
        }
    }
    eprintln!(
        "skipping {}: no static busybox (apt-get install busybox-static)",
        test_name()
    );
    None
}

/// The applets linked in the test images.
pub const APPLETS: [&str; 8] = [
    "sh", "cat", "echo", "ls", "hostname", "mkdir", "sleep", "touch",
];

/// Writes a busybox root file system into `dir`.
pub fn busybox_rootfs_dir(dir: &Path, busybox: &[u8], marker: &str) {
    use std::os::unix::fs::PermissionsExt;
    for sub in ["bin", "etc", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let bin = dir.join("bin/busybox");
    std::fs::write(&bin, busybox).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(dir.join("etc/img"), marker).unwrap();
}

/// Recursively lists `dir` with each regular file's content (a fingerprint to compare).
pub fn fingerprint(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path.clone());
                out.push((path, Vec::new()));
            } else if kind.is_file() {
                let content = std::fs::read(&path).unwrap_or_default();
                out.push((path, content));
            } else {
                out.push((path, Vec::new()));
            }
        }
    }
    out.sort();
    out
}

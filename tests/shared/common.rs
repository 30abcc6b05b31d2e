//! Shared helpers for the integration tests: checks that skip a test with a printed reason
//! (a missing program, a v1 host; tests that need root are `#[ignore = "needs root"]` instead),
//! unique names, and drop guards that remove what a test created even when it fails.
//!
//! Rules these guards keep: only cgroups under a uniquely named parent the test made are touched;
//! processes are ended by pid, never by name.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The running test's name as the harness prints it (`module::function`): libtest names the
/// thread of each test after it, so a skip message cannot drift from the function's name.
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string()
}

/// True when `program` is on PATH; otherwise prints why the calling test is skipped.
pub fn require_program(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        eprintln!(
            "skipping {}: `{program}` is not installed (.ci/run installs it)",
            test_name()
        );
    }
    found
}

/// True on a cgroup v2-only host (the test VM: `vm/run-tests.sh`); otherwise prints why the
/// calling test is skipped. The tests calling it need root: they are `#[ignore = "needs root"]`.
pub fn require_v2() -> bool {
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if !v2 {
        eprintln!(
            "skipping {}: needs a cgroup v2-only host (this one mounts v1 controllers); \
             `vm/run-tests.sh` runs it on a v2 kernel",
            test_name()
        );
    }
    v2
}

/// A name unique to this test run: `isotop-test-<what>-<pid>-<nanos>`.
pub fn unique_name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("isotop-test-{what}-{}-{nanos}", std::process::id())
}

/// The isotop binary built for these tests.
pub fn isotop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_isotop"))
}

/// A copy of a program that another user (the tests use `nobody`) can run wherever the
/// checkout lives: the build's `target/` may sit in a directory only root can enter (a root
/// user's home is 0700 on most distributions, so is any `mktemp -d`). The copy sits in a fresh
/// 0755 directory under `/tmp` (not `$TMPDIR`, which may be private too), mode 0755, and is
/// removed with its directory on drop.
pub struct ReachableCopy {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl ReachableCopy {
    /// Copies `program` (panics naming it when the copy cannot be made).
    pub fn of(program: &Path) -> ReachableCopy {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("isotop-test-bin-")
            .tempdir_in("/tmp")
            .expect("a directory under /tmp");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod 0755 the copy's directory");
        let name = program
            .file_name()
            .expect("a program path ends in a file name");
        let path = dir.path().join(name);
        // `cp`, not `std::fs::copy`: a child another test thread forks while this process
        // holds the copy open for writing would inherit that fd until it execs, and exec'ing
        // the copy would then fail with ETXTBSY ("Text file busy"). In `cp` the writer is
        // another process, gone before the copy is run.
        let copied = Command::new("cp")
            .arg("--")
            .arg(program)
            .arg(&path)
            .status()
            .unwrap_or_else(|e| panic!("run cp for {}: {e}", program.display()));
        assert!(
            copied.success(),
            "cp {} {}",
            program.display(),
            path.display()
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod 0755 the copy");
        ReachableCopy { _dir: dir, path }
    }

    /// The copy's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The isotop binary built for these tests, copied where any user can run it.
pub fn isotop_for_any_user() -> ReachableCopy {
    ReachableCopy::of(Path::new(env!("CARGO_BIN_EXE_isotop")))
}

/// Runs isotop as `nobody` (uid and gid 65534, no groups, through `setpriv`) with `args` and
/// returns its JSON output, panicking when it fails. The caller checks `setpriv` is there.
pub fn isotop_json_as_nobody(args: &[&str]) -> serde_json::Value {
    let isotop = isotop_for_any_user();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(isotop.path())
        .args(args)
        .output()
        .expect("setpriv starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("isotop prints JSON")
}

/// Runs isotop with `args`, returning its output (panics only if it cannot be started).
pub fn run_isotop(args: &[&str]) -> Output {
    isotop()
        .args(args)
        .output()
        .expect("the isotop test binary starts")
}

/// Kills (SIGKILL) and reaps a child on drop.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn spawn(cmd: &mut Command) -> ChildGuard {
        ChildGuard(cmd.spawn().expect("test child starts"))
    }

    /// A `sleep 1000`, stdin and stdout on /dev/null: a process that stays put until killed.
    pub fn sleeping() -> ChildGuard {
        ChildGuard::spawn(
            Command::new("sleep")
                .arg("1000")
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        )
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// The v1 controller hierarchies of this host (dirs under /sys/fs/cgroup with a `tasks`
/// file), or the v2 root when the host is unified. Skips `unified` (empty v2 on hybrid hosts).
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.to_path_buf()];
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("tasks").exists() && !p.ends_with("unified"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// A uniquely named cgroup parent (in every v1 hierarchy, or in v2) removed on drop: every
/// process still in it or its children is SIGKILLed by pid first, then the dirs are removed
/// deepest first.
pub struct CgroupGuard {
    /// Relative path, e.g. `/isotop-test-cg-123-456`.
    pub rel: String,
    pub dirs: Vec<PathBuf>,
}

impl CgroupGuard {
    pub fn new(what: &str) -> CgroupGuard {
        let name = unique_name(what);
        let mut dirs = Vec::new();
        for hierarchy in cgroup_hierarchies() {
            let dir = hierarchy.join(&name);
            std::fs::create_dir(&dir).expect("create test cgroup");
            inherit_cpuset(&hierarchy, &dir);
            dirs.push(dir);
        }
        CgroupGuard {
            rel: format!("/{name}"),
            dirs,
        }
    }

    /// Creates `child` (relative to the guard) in every hierarchy; returns its relative path.
    /// On v2 each cgroup that gets a child first passes its controllers down (its
    /// `cgroup.subtree_control`): from then on it may hold no processes itself ("no internal
    /// processes"), so tests put processes in leaves only.
    pub fn child(&self, child: &str) -> String {
        for dir in &self.dirs {
            let mut parent = dir.clone();
            for part in child.split('/').filter(|p| !p.is_empty()) {
                let next = parent.join(part);
                if !next.exists() {
                    enable_v2_controllers(&parent);
                    std::fs::create_dir(&next).expect("create child cgroup");
                    inherit_cpuset(&parent, &next);
                }
                parent = next;
            }
        }
        format!("{}/{child}", self.rel)
    }

    /// The directory of `rel_child` ("" for the parent) in the hierarchy ending in `controller`
    /// (e.g. "memory"), or the v2 dir.
    pub fn dir(&self, controller: &str, rel_child: &str) -> PathBuf {
        let base = self
            .dirs
            .iter()
            .find(|d| d.parent().is_some_and(|p| p.ends_with(controller)))
            .or(self.dirs.first())
            .expect("at least one hierarchy");
        if rel_child.is_empty() {
            base.clone()
        } else {
            base.join(rel_child)
        }
    }

    /// Moves `pid` into `rel_child` in every hierarchy.
    pub fn add_pid(&self, rel_child: &str, pid: i32) {
        for dir in &self.dirs {
            let target = if rel_child.is_empty() {
                dir.clone()
            } else {
                dir.join(rel_child)
            };
            let file = if target.join("cgroup.procs").exists() {
                "cgroup.procs"
            } else {
                "tasks"
            };
            std::fs::write(target.join(file), pid.to_string()).expect("move pid into test cgroup");
        }
    }
}

/// True for a cgroup v2 directory (v1 ones have no `cgroup.controllers`).
fn is_v2(dir: &Path) -> bool {
    dir.join("cgroup.controllers").exists()
}

/// The controllers v2 gives cgroups by default on the hosts and VM the tests run on.
pub const V2_CONTROLLERS: [&str; 5] = ["cpu", "memory", "pids", "io", "cpuset"];

/// Enables for `dir`'s children every controller of [`V2_CONTROLLERS`] that `dir` itself has
/// (no-op on v1, and when already enabled). Panics when the kernel refuses, e.g. because a
/// test left a process in `dir`.
pub fn enable_v2_controllers(dir: &Path) {
    if !is_v2(dir) {
        return;
    }
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    let wanted: Vec<String> = V2_CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if !wanted.is_empty() {
        std::fs::write(dir.join("cgroup.subtree_control"), wanted.join(" ")).unwrap_or_else(|e| {
            panic!(
                "enable {wanted:?} in {}/cgroup.subtree_control: {e}",
                dir.display()
            )
        });
    }
}

/// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and refuses tasks until
/// both are set: copy them from the parent (no-op elsewhere: on v2 empty means "inherit").
fn inherit_cpuset(parent: &Path, dir: &Path) {
    if is_v2(dir) {
        return;
    }
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if let Ok(value) = std::fs::read_to_string(parent.join(file))
            && !value.trim().is_empty()
        {
            let _ = std::fs::write(dir.join(file), value.trim());
        }
    }
}

/// Thaws `dir` and every cgroup below it (v1 `freezer.state`, v2 `cgroup.freeze`), so tasks
/// killed afterwards can exit.
fn thaw_tree(dir: &Path) {
    let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
    let _ = std::fs::write(dir.join("cgroup.freeze"), "0");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                thaw_tree(&entry.path());
            }
        }
    }
}

fn pids_below(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                pids_below(&entry.path(), out);
            }
        }
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&entry.path());
            }
        }
    }
    // A cgroup dir goes away once empty; retry briefly while killed tasks exit.
    for _ in 0..100 {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("warning: could not remove test cgroup {}", dir.display());
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // v2 kills the whole subtree at once (frozen tasks included); the loop below
            // still catches what remains, and does the work on v1.
            if is_v2(dir) {
                let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            }
            // Thaw first so killed tasks can exit.
            thaw_tree(dir);
            let mut pids = Vec::new();
            pids_below(dir, &mut pids);
            for pid in pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        for dir in &self.dirs {
            remove_tree(dir);
        }
    }
}

/// Runs isotop with `args`, asserts it succeeded and parses its stdout as JSON.
pub fn isotop_json(args: &[&str]) -> serde_json::Value {
    let out = run_isotop(args);
    assert!(
        out.status.success(),
        "isotop {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("isotop printed valid JSON")
}

/// A kernel file's content, trimmed (panics naming the file when unreadable).
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// A kernel file holding one number.
pub fn read_number(path: &Path) -> u64 {
    read_text(path)
        .parse()
        .unwrap_or_else(|e| panic!("{} is not a number: {e}", path.display()))
}

/// The value of `key` in a flat-keyed file (`cpu.stat`, `memory.stat`, `memory.events`).
pub fn read_key(path: &Path, key: &str) -> u64 {
    read_text(path)
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {}", path.display()))
}

/// `du -s --block-size=1 DIR`: the bytes allocated to a tree, hard links once (what
/// `allocated_bytes` of a layer size must equal).
pub fn du_bytes(dir: &Path) -> u64 {
    let out = Command::new("du")
        .args(["-s", "--block-size=1"])
        .arg(dir)
        .output()
        .expect("du runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("du {} said {text:?}", dir.display()))
}

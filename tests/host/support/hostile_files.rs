//! Helpers of `runtime_hostile_files`: commands run with a hang detector, things made under
//! users' directories and removed on drop, forged runc states, namespaced and delegated
//! processes, fake host roots.

use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt, chown, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::common::{self, ChildGuard};

/// How long a command may take before it counts as hung (the machine is shared and slow; a
/// hang is forever).
pub const HANG: Duration = Duration::from_secs(60);
pub const NOBODY: u32 = 65534;

/// Tests here share `/run/user/65534/runc`: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a finished command printed.
pub struct Finished {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with its output in files; `None` when it did not finish within [`HANG`] (it is
/// then killed).
pub fn run_bounded(mut cmd: Command) -> Option<Finished> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("out file"))
        .stderr(std::fs::File::create(&err).expect("err file"));
    // Acts write an audit line: into this run's temp dir, not the host's log.
    cmd.env("ISOTOP_AUDIT_LOG", dir.path().join("audit.jsonl"));
    let mut child = cmd.spawn().expect("command starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Some(Finished {
        status,
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    })
}

pub fn isotop(args: &[&str]) -> Option<Finished> {
    let mut cmd = common::isotop();
    cmd.args(args);
    run_bounded(cmd)
}

/// Runs isotop and insists it finished.
pub fn isotop_finishes(args: &[&str]) -> Finished {
    isotop(args)
        .unwrap_or_else(|| panic!("`isotop {}` hung (killed after {HANG:?})", args.join(" ")))
}

/// Paths made under users' directories, removed on drop (deepest first). FIFOs are opened for
/// writing before they go, so a reader blocked on one (an older isotop) returns.
#[derive(Default)]
pub struct Made {
    paths: Vec<PathBuf>,
}

impl Made {
    /// Creates `dir` (and missing parents) owned by `uid`, mode `mode`; remembers what it made.
    pub fn dir(&mut self, dir: &Path, uid: u32, mode: u32) {
        let mut missing = Vec::new();
        let mut at = dir.to_path_buf();
        while !at.exists() {
            missing.push(at.clone());
            if !at.pop() {
                break;
            }
        }
        for path in missing.into_iter().rev() {
            std::fs::create_dir(&path).expect("create dir");
            chown(&path, Some(uid), Some(uid)).expect("chown dir");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            self.paths.push(path);
        }
    }

    pub fn fifo(&mut self, path: &Path, uid: u32) {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("mkfifo");
        chown(path, Some(uid), Some(uid)).expect("chown fifo");
        self.paths.push(path.to_path_buf());
    }

    pub fn file(&mut self, path: &Path, uid: u32, text: &str) {
        std::fs::write(path, text).expect("write file");
        chown(path, Some(uid), Some(uid)).expect("chown file");
        self.paths.push(path.to_path_buf());
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        for path in self.paths.iter().rev() {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                continue;
            };
            if meta.is_dir() {
                let _ = std::fs::remove_dir(path);
                continue;
            }
            if meta.file_type().is_fifo() {
                // Wake any reader stuck in open(2) on it: it then reads end-of-file.
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
                    .open(path);
            }
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `/run/user/65534/runc` (made, and later removed, as nobody's when missing).
pub fn nobody_runc(made: &mut Made) -> PathBuf {
    let runc = PathBuf::from(format!("/run/user/{NOBODY}/runc"));
    made.dir(Path::new("/run/user"), 0, 0o755);
    made.dir(&PathBuf::from(format!("/run/user/{NOBODY}")), NOBODY, 0o700);
    made.dir(&runc, NOBODY, 0o700);
    runc
}

/// Start time of `pid` in clock ticks after boot (`/proc/<pid>/stat` field 22).
pub fn start_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = &stat[stat.rfind(')').expect("comm end") + 2..];
    after
        .split_whitespace()
        .nth(19)
        .expect("field 22")
        .parse()
        .expect("ticks")
}

pub fn now_rfc3339() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.%NZ"])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A runc 1.1 `state.json` naming `pid` started at `ticks`.
pub fn runc_state(id: &str, pid: i32, ticks: u64) -> String {
    format!(
        r#"{{"id":"{id}","init_process_pid":{pid},"init_process_start":{ticks},"created":"{}","config":{{"rootfs":"/tmp/x","labels":["bundle=/tmp/x"],"cgroups":{{"path":""}}}},"cgroup_paths":{{}}}}"#,
        now_rfc3339()
    )
}

/// A root process in its own pid and mount namespaces (`unshare`): something the rest of the
/// host shows. Both it and the `sleep` inside are SIGKILLed by pid on drop.
pub struct Namespaced {
    _unshare: ChildGuard,
    /// Host pid of the container's init (the `sleep` inside).
    pub inner: i32,
}

impl Drop for Namespaced {
    fn drop(&mut self) {
        if self.inner > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.inner),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

pub fn namespaced_sleep() -> Namespaced {
    let guard = ChildGuard::spawn(
        Command::new("unshare")
            .args([
                "--pid",
                "--mount",
                "--fork",
                "--kill-child",
                "sleep",
                "1000",
            ])
            .stdin(Stdio::null()),
    );
    let parent = guard.pid();
    let mut inner = None;
    let found = common::wait_until(Duration::from_secs(10), || {
        inner = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .ok()
            .and_then(|t| t.split_whitespace().next().and_then(|p| p.parse().ok()));
        inner.is_some()
    });
    assert!(found, "unshare started no child");
    Namespaced {
        _unshare: guard,
        inner: inner.unwrap_or_default(),
    }
}

pub fn rows(json: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("ls --json is JSON ({e}): {json}"))
}

pub fn unique(what: &str) -> String {
    common::unique_name(what)
}

/// `ls`, `inspect`, `limit` and `stop` all finish, and `ls` still shows the host's container.
pub fn acts_finish_and_show_the_host(inner: i32) {
    let ls = isotop_finishes(&["ls", "--all", "--json", "--interval", "0"]);
    assert!(ls.status.success(), "ls failed: {}", ls.stderr);
    let listed = rows(&ls.stdout);
    assert!(
        listed.iter().any(|r| r["pid"] == inner),
        "the namespaced sleep {inner} is missing from ls: {}",
        ls.stdout
    );
    let pid = inner.to_string();
    let inspect = isotop_finishes(&["inspect", &pid]);
    assert!(
        inspect.status.success(),
        "inspect failed: {}",
        inspect.stderr
    );
    // No cgroup of its own: refused, but it answered.
    let limit = isotop_finishes(&["limit", &pid, "--cpus", "0.5"]);
    assert!(limit.status.code().is_some(), "limit was killed");
    let stop = isotop_finishes(&["stop", &unique("none")]);
    assert!(stop.status.code().is_some(), "stop was killed");
}

/// A fake host root under /tmp: the live `/proc` and `/sys`, its own `/run` and `/var/lib`
/// (so no other isotop on this machine ever sees its records).
pub fn fake_root() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("isotop-test-root-")
        .tempdir()
        .expect("tempdir");
    symlink("/proc", dir.path().join("proc")).expect("proc link");
    symlink("/sys", dir.path().join("sys")).expect("sys link");
    std::fs::create_dir_all(dir.path().join("run")).expect("run");
    std::fs::create_dir_all(dir.path().join("var/lib")).expect("var/lib");
    std::fs::create_dir_all(dir.path().join("etc")).expect("etc");
    dir
}

/// The number a "N containers ... need root" line starts with.
pub fn count_of(line: &str) -> usize {
    line.trim_start_matches("isotop: ")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"))
}

/// A runc `state.json` naming `pid` that claims `cgroup` (hierarchy-relative) in every
/// hierarchy of `guard`, the way runc records it (`config.cgroups.path`, `cgroup_paths`).
pub fn runc_state_claiming(
    id: &str,
    pid: i32,
    cgroup: &str,
    guard: &common::CgroupGuard,
) -> String {
    let paths: Vec<String> = guard
        .dirs
        .iter()
        .filter_map(|dir| {
            let hierarchy = dir.parent()?;
            let key = hierarchy.file_name()?.to_str()?.to_string();
            Some(format!(r#""{key}":"{}{cgroup}""#, hierarchy.display()))
        })
        .collect();
    format!(
        r#"{{"id":"{id}","init_process_pid":{pid},"init_process_start":{},"created":"{}","config":{{"labels":[],"cgroups":{{"path":"{cgroup}"}}}},"cgroup_paths":{{{}}}}}"#,
        start_ticks(pid),
        now_rfc3339(),
        paths.join(",")
    )
}

/// nobody's own process in a cgroup nobody was given (`box`, chowned as systemd delegates),
/// below a parent that holds a root process too.
pub struct Delegated {
    pub guard: common::CgroupGuard,
    pub init: ChildGuard,
    pub bystander: ChildGuard,
    pub box_path: String,
}

pub fn delegated_box() -> Delegated {
    let guard = common::CgroupGuard::new("claim");
    let box_path = guard.child("box");
    let init = ChildGuard::spawn(
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sleep",
                "1000",
            ])
            .stdin(Stdio::null()),
    );
    let pid = init.pid();
    assert!(common::wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .is_ok_and(|s| s.contains("Uid:\t65534\t65534\t65534\t65534"))
    }));
    let bystander = ChildGuard::spawn(Command::new("sleep").arg("1000").stdin(Stdio::null()));
    // On v2 only leaves hold processes: the bystander goes to a sibling leaf.
    guard.child("side");
    guard.add_pid("box", pid);
    guard.add_pid("side", bystander.pid());
    for dir in &guard.dirs {
        chown(dir.join("box"), Some(NOBODY), Some(NOBODY)).expect("delegate box");
    }
    Delegated {
        guard,
        init,
        bystander,
        box_path,
    }
}

/// The whole drawn screen as text.
pub fn screen(terminal: &ratatui::Terminal<ratatui::backend::TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

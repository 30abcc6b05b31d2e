//! `unknown` containers made with `unshare --fork --pid --mount --mount-proc` for tests that put
//! them in a test cgroup of their own: the pid of the namespace's init (found by parentage and
//! killed on drop), where a controller's files of the test's `box` cgroup are (v1 or v2), and
//! the `isotop ls --json` row of a container by its init; perl scripts that make the kernel
//! refuse forks and OOM-kill a child once the test moved them into their cgroup.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::process::ReadDepth;

use super::common::{self, CgroupGuard, ChildGuard};

/// Kills (SIGKILL) one pid on drop: the namespace's init, should unshare not take it along.
pub struct PidGuard(pub i32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// `unshare --fork --kill-child --pid --mount --mount-proc COMMAND...` and its child (pid 1 of
/// the new pid namespace), found as unshare's child named `comm`.
pub fn unshare(command: &[&str], comm: &str) -> (ChildGuard, PidGuard) {
    let unshare = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--fork", "--kill-child", "--pid", "--mount", "--mount-proc"])
            .args(command)
            .stdin(Stdio::null()),
    );
    let root = HostRoot::live();
    let mut inner = None;
    let found = common::wait_until(Duration::from_secs(10), || {
        inner = isotop::host::scan::read_processes(&root, ReadDepth::Full, &mut Vec::new())
            .unwrap()
            .into_iter()
            .find(|p| p.ppid == unshare.pid() && p.comm == comm)
            .map(|p| p.pid);
        inner.is_some()
    });
    assert!(found, "unshare {} started no {comm}", unshare.pid());
    (unshare, PidGuard(inner.unwrap()))
}

/// True on a cgroup v2 host.
pub fn v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The directory of the guard's `box` cgroup in the hierarchy carrying `controller` (v2: the
/// one dir).
pub fn box_dir(guard: &CgroupGuard, controller: &str) -> PathBuf {
    if v2_host() {
        guard.dir("", "box")
    } else {
        guard.dir(controller, "box")
    }
}

/// The `isotop ls --json` row whose init is `pid`.
pub fn ls_row(pid: i32) -> serde_json::Value {
    let list = common::isotop_json(&["ls", "--json", "--interval", "0"]);
    list.as_array()
        .and_then(|rows| rows.iter().find(|r| r["pid"] == pid).cloned())
        .unwrap_or_else(|| panic!("no container with init {pid} in {list:#}"))
}

/// Waits (polling its own `/proc/self/cgroup`, without forking) until the line of the
/// hierarchy carrying controller `$ARGV[1]` (or the v2 line) names `$ARGV[0]`: the test has
/// moved it into its cgroup.
pub const WAIT_UNTIL_MOVED: &str = r#"
my ($mark, $controller) = @ARGV;
sub moved {
    open(my $f, '<', '/proc/self/cgroup') or return 0;
    for my $line (<$f>) {
        chomp $line;
        my (undef, $controllers, $path) = split /:/, $line, 3;
        my $carries = $controllers eq '' || grep { $_ eq $controller } split /,/, $controllers;
        return 1 if $carries && index($path, $mark) >= 0;
    }
    return 0;
}
select(undef, undef, undef, 0.05) until moved();
"#;

/// Once moved: five forks, of which pids.max = 2 lets one through (perl + one child).
pub const FORK_PAST_THE_LIMIT: &str = r#"
for (1 .. 5) {
    my $pid = fork();
    if (defined $pid && $pid == 0) { sleep 1000; exit 0; }
}
sleep 1000;
"#;

/// Once moved and `$ARGV[2]` exists: a child allocates 128 MiB under a 32 MiB limit (the OOM
/// killer takes it); the init stays. With `$ARGV[3]`, the child waits for that file too before
/// it allocates (a test reads its host pid meanwhile: [`child_of`]). The size is a variable: a
/// constant `"x" x N` would be folded when perl compiles the script, in the init, before it is
/// moved.
pub const ALLOCATE_PAST_THE_LIMIT: &str = r#"
my ($go, $allocate) = @ARGV[2, 3];
my $size = 128 * 1024 * 1024 + int(rand(2));
select(undef, undef, undef, 0.05) until -e $go;
my $pid = fork();
if (defined $pid && $pid == 0) {
    if (defined $allocate) { select(undef, undef, undef, 0.05) until -e $allocate; }
    my $x = "x" x $size;
    sleep 1000;
    exit 0;
}
waitpid($pid, 0) if defined $pid;
sleep 1000;
"#;

/// The host pid of `pid`'s only child, waiting up to 10 s for it.
pub fn child_of(pid: i32) -> i32 {
    let children = PathBuf::from(format!("/proc/{pid}/task/{pid}/children"));
    let mut child = None;
    let found = common::wait_until(Duration::from_secs(10), || {
        child = std::fs::read_to_string(&children)
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse().ok());
        child.is_some()
    });
    assert!(found, "{pid} has no child");
    child.unwrap()
}

/// An `unknown` container whose init is `perl -e SCRIPT ARGS`.
pub fn unshare_perl(script: &str, args: &[&str]) -> (ChildGuard, PidGuard) {
    let mut command = vec!["perl", "-e", script];
    command.extend(args);
    unshare(&command, "perl")
}

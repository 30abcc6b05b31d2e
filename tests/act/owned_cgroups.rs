//! Acts write only to cgroups the container owns (issue 9, item 4), on real cgroups as root.
//!
//! The container is systemd-nspawn-like, named by a `machine-<name>.scope` cgroup (the nspawn
//! rule), made of `unshare --pid --fork --mount-proc sleep` whose `unshare` runs under the name
//! `systemd-nspawn` (the supervisor: the init's parent, in the container's cgroup, excused as
//! the runtime's helper). Three ways its cgroups are not its own:
//! - a stranger (another process named `systemd-nspawn`, not the init's parent) sits in its
//!   scope in every hierarchy: every act refuses, naming the stranger's pid; once the stranger
//!   is gone, every act works (the owned case, supervisor included);
//! - (v1/hybrid) the scope exists only in the `name=systemd` hierarchy and the controllers'
//!   cgroup is shared with an outside `sleep`: limits and freeze refuse, naming the cgroup and
//!   the outsider; kill goes through the scope (its own) and says so; the outsider survives;
//! - (v1/hybrid) the controllers' cgroups are the roots (this host's nspawn containers:
//!   `limit` used to aim at the root cpu and pids cgroups): limits and freeze refuse ("cpu
//!   cgroup / is the root"), kill goes through the scope and says so.
//!
//! In every refusal no limit or freezer file changes (compared before and after).

use crate::support::{common, fake_container};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{CgroupGuard, ChildGuard};
use fake_container::{Env, alive, first_child, limit_files, move_to};

fn ready() -> bool {
    common::require_program("unshare")
}

/// True on a host with v1 controller hierarchies beside `name=systemd`; otherwise prints
/// why the calling test is skipped.
fn v1_beside_systemd() -> bool {
    if v2_only() {
        eprintln!(
            "skipping {}: needs v1 controller hierarchies beside name=systemd",
            common::test_name()
        );
        return false;
    }
    true
}

fn v2_only() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Copies `program` to a fresh directory under /tmp as `systemd-nspawn` (its `comm`).
fn named_nspawn(dir: &Path, program: &str) -> PathBuf {
    let source = ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no {program} in /usr/bin or /bin"));
    let sub = dir.join(program);
    std::fs::create_dir_all(&sub).unwrap();
    let copy = sub.join("systemd-nspawn");
    std::fs::copy(&source, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

/// Spawns `cmd`, retrying while the kernel says the program is busy: a copy just written may
/// still be open for writing in a child another test thread forked meanwhile (ETXTBSY until
/// that child execs).
fn spawn_copy(cmd: &mut Command) -> ChildGuard {
    for _ in 0..100 {
        match cmd.spawn() {
            Ok(child) => return ChildGuard(child),
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("spawn {cmd:?}: {e}"),
        }
    }
    panic!("spawn {cmd:?}: still busy after 2 s")
}

/// The container: its supervisor (`unshare` named `systemd-nspawn`) and its init (`sleep`).
struct Machine {
    supervisor: ChildGuard,
    init: i32,
}

impl Machine {
    fn start(bin: &Path) -> Machine {
        let supervisor = spawn_copy(
            Command::new(named_nspawn(bin, "unshare"))
                .args(["--pid", "--mount", "--fork", "--kill-child", "--mount-proc"])
                .args(["sleep", "1000"])
                .stdin(Stdio::null()),
        );
        let mut init = None;
        assert!(
            common::wait_until(Duration::from_secs(10), || {
                init =
                    first_child(supervisor.pid()).filter(|&p| fake_container::comm(p) == "sleep");
                init.is_some()
            }),
            "the supervisor made no init"
        );
        Machine {
            supervisor,
            init: init.unwrap(),
        }
    }

    fn pids(&self) -> [i32; 2] {
        [self.supervisor.pid(), self.init]
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.init),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// What every test here starts from: a directory for the renamed programs, an isotop
/// environment, a unique machine name, and its `machine-<name>.scope` under a test cgroup
/// parent (`guard_name`) in every hierarchy.
struct Staged {
    bin: tempfile::TempDir,
    env: Env,
    name: String,
    guard: CgroupGuard,
    scope: String,
}

impl Staged {
    fn new(letter: &str, guard_name: &str) -> Staged {
        let bin = tempfile::Builder::new()
            .prefix("isotop-owned-")
            .tempdir_in("/tmp")
            .unwrap();
        let name = machine_name(letter);
        let guard = CgroupGuard::new(guard_name);
        let scope = format!("machine.slice/machine-{name}.scope");
        guard.child(&scope);
        Staged {
            bin,
            env: Env::new(),
            name,
            guard,
            scope,
        }
    }
}

/// A machine name unique to this run (lower-case letters and digits: a valid unit name).
fn machine_name(what: &str) -> String {
    format!("itest{what}{}", std::process::id())
}

/// The controller hierarchies of a v1/hybrid host (every v1 mount but `name=systemd`).
fn controller_dirs(guard: &CgroupGuard, child: &str) -> Vec<PathBuf> {
    guard
        .dirs
        .iter()
        .filter(|d| !d.parent().is_some_and(|p| p.ends_with("systemd")))
        .map(|d| d.join(child))
        .collect()
}

fn root_controller_dirs() -> Vec<PathBuf> {
    common::cgroup_hierarchies()
        .into_iter()
        .filter(|d| !d.ends_with("systemd"))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs an act that must be refused (exit 2) with `reason` in its message.
fn refused(env: &Env, args: &[&str], reason: &str) {
    let out = env.run(args);
    let text = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "isotop {args:?} was not refused: {text}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        text.contains(reason),
        "isotop {args:?}: {text:?} lacks {reason:?}"
    );
}

const LIMITS: [&[&str]; 3] = [&["--cpus", "0.5"], &["--pids", "10"], &["--memory", "64M"]];

#[test]
#[ignore = "needs root"]
fn a_stranger_in_the_containers_cgroup_makes_every_act_refuse_and_without_it_all_work() {
    if !ready() {
        return;
    }
    let Staged {
        bin,
        env,
        name,
        guard,
        scope,
    } = Staged::new("a", "owned-stranger");
    let machine = Machine::start(bin.path());
    let stranger = spawn_copy(
        Command::new(named_nspawn(bin.path(), "sleep"))
            .arg("1000")
            .stdin(Stdio::null()),
    );
    for pid in machine.pids().into_iter().chain([stranger.pid()]) {
        guard.add_pid(&scope, pid);
    }
    let dirs: Vec<PathBuf> = guard.dirs.iter().map(|d| d.join(&scope)).collect();
    let before = limit_files(&dirs);

    let why = format!(
        "holds 1 process outside this container (pid {})",
        stranger.pid()
    );
    for limit in LIMITS {
        let args: Vec<&str> = ["limit", &name]
            .iter()
            .copied()
            .chain(limit.iter().copied())
            .collect();
        refused(&env, &args, &why);
    }
    refused(&env, &["freeze", &name], &why);
    refused(&env, &["kill", &name, "--signal", "KILL"], &why);
    assert_eq!(
        limit_files(&dirs),
        before,
        "a refused act changed a cgroup file"
    );
    assert!(alive(stranger.pid()) && alive(machine.init));
    assert!(env.journal().is_empty(), "{:?}", env.journal());

    // Without the stranger the cgroup is the container's own (its supervisor included).
    let stranger_pid = stranger.pid();
    drop(stranger);
    assert!(!alive(stranger_pid));
    let (cpu_dir, pids_dir, memory_dir, freezer_dir) = if v2_only() {
        let d = guard.dir("", &scope);
        (d.clone(), d.clone(), d.clone(), d)
    } else {
        (
            guard.dir("cpu", &scope),
            guard.dir("pids", &scope),
            guard.dir("memory", &scope),
            guard.dir("freezer", &scope),
        )
    };
    env.ok(&[
        "limit", &name, "--cpus", "0.5", "--pids", "10", "--memory", "64M",
    ]);
    if v2_only() {
        assert_eq!(common::read_text(&cpu_dir.join("cpu.max")), "50000 100000");
        assert_eq!(
            common::read_text(&memory_dir.join("memory.max")),
            (64u64 << 20).to_string()
        );
    } else {
        assert_eq!(
            common::read_text(&cpu_dir.join("cpu.cfs_quota_us")),
            "50000"
        );
        assert_eq!(
            common::read_text(&memory_dir.join("memory.limit_in_bytes")),
            (64u64 << 20).to_string()
        );
    }
    assert_eq!(common::read_text(&pids_dir.join("pids.max")), "10");
    env.ok(&["undo"]);
    assert_eq!(common::read_text(&pids_dir.join("pids.max")), "max");
    let frozen = env.ok(&["freeze", &name]);
    let state = if v2_only() {
        common::read_text(&freezer_dir.join("cgroup.freeze"))
    } else {
        common::read_text(&freezer_dir.join("freezer.state"))
    };
    assert!(state == "FROZEN" || state == "1", "{frozen}: {state}");
    env.ok(&["thaw", &name]);
    env.ok(&["kill", &name, "--signal", "KILL"]);
    assert!(common::wait_until(Duration::from_secs(10), || {
        !alive(machine.init) && !alive(machine.supervisor.pid())
    }));
}

#[test]
#[ignore = "needs root"]
fn controllers_shared_with_an_outsider_are_refused_and_kill_goes_through_the_scope() {
    if !ready() || !v1_beside_systemd() {
        return;
    }
    let Staged {
        bin,
        env,
        name,
        guard,
        scope,
    } = Staged::new("b", "owned-shared");
    guard.child("shared");
    let machine = Machine::start(bin.path());
    let outsider = fake_container::outsider();
    for pid in machine.pids() {
        move_to(&guard.dir("systemd", &scope), pid);
    }
    let shared = controller_dirs(&guard, "shared");
    for dir in &shared {
        for pid in machine.pids().into_iter().chain([outsider.pid()]) {
            move_to(dir, pid);
        }
    }
    let before = limit_files(&shared);

    let rel = format!("{}/shared", guard.rel);
    let outside = format!(
        "holds 1 process outside this container (pid {})",
        outsider.pid()
    );
    for (limit, controller) in LIMITS.iter().zip(["cpu", "pids", "memory"]) {
        let args: Vec<&str> = ["limit", &name]
            .iter()
            .copied()
            .chain(limit.iter().copied())
            .collect();
        refused(&env, &args, &format!("{controller} cgroup {rel} {outside}"));
    }
    refused(
        &env,
        &["freeze", &name],
        &format!("freezer cgroup {rel} {outside}"),
    );
    assert_eq!(
        limit_files(&shared),
        before,
        "a refused act changed a cgroup file"
    );
    assert!(env.journal().is_empty(), "{:?}", env.journal());

    let out = env.run(&["kill", &name, "--signal", "KILL"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("without freezing") && text.contains(&format!("freezer cgroup {rel}")),
        "kill does not say how it went: {text}"
    );
    assert!(common::wait_until(Duration::from_secs(10), || !alive(
        machine.init
    )));
    assert!(alive(outsider.pid()), "the outsider was killed");
    assert_eq!(
        limit_files(&shared),
        before,
        "kill changed a shared cgroup file"
    );
}

#[test]
#[ignore = "needs root"]
fn controllers_at_the_root_are_refused_and_nothing_is_written_there() {
    if !ready() || !v1_beside_systemd() {
        return;
    }
    let Staged {
        bin,
        env,
        name,
        guard,
        scope,
    } = Staged::new("c", "owned-root");
    let machine = Machine::start(bin.path());
    for pid in machine.pids() {
        move_to(&guard.dir("systemd", &scope), pid);
        for dir in root_controller_dirs() {
            move_to(&dir, pid);
        }
    }
    let roots = root_controller_dirs();
    let before = limit_files(&roots);

    for (limit, controller) in LIMITS.iter().zip(["cpu", "pids", "memory"]) {
        let args: Vec<&str> = ["limit", &name]
            .iter()
            .copied()
            .chain(limit.iter().copied())
            .collect();
        refused(&env, &args, &format!("{controller} cgroup / is the root"));
    }
    refused(&env, &["freeze", &name], "freezer cgroup / is the root");
    assert_eq!(
        limit_files(&roots),
        before,
        "a refused act changed a root cgroup file"
    );
    assert!(env.journal().is_empty(), "{:?}", env.journal());

    let out = env.run(&["kill", &name, "--signal", "KILL"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("freezer cgroup / is the root") && text.contains("without freezing"),
        "kill does not say how it went: {text}"
    );
    assert!(common::wait_until(Duration::from_secs(10), || !alive(
        machine.init
    )));
    assert_eq!(limit_files(&roots), before);
}

/// A cgroup under the unified (v2) hierarchy of a hybrid host, removed on drop (its
/// processes SIGKILLed by pid first).
struct UnifiedCgroup(PathBuf);

impl UnifiedCgroup {
    /// A new uniquely named cgroup (`what` in its name) under `unified`.
    fn new(unified: &Path, what: &str) -> UnifiedCgroup {
        let own = UnifiedCgroup(unified.join(common::unique_name(what)));
        std::fs::create_dir(&own.0).unwrap();
        own
    }
}

/// The unified hierarchy of a hybrid host (v1 controllers and `/sys/fs/cgroup/unified`);
/// otherwise prints why the calling test is skipped.
fn hybrid_unified() -> Option<&'static Path> {
    let unified = Path::new("/sys/fs/cgroup/unified");
    if v2_only() || !unified.join("cgroup.procs").exists() {
        eprintln!(
            "skipping {}: needs a hybrid host (v1 controllers and /sys/fs/cgroup/unified)",
            common::test_name()
        );
        return None;
    }
    Some(unified)
}

impl Drop for UnifiedCgroup {
    fn drop(&mut self) {
        let procs = std::fs::read_to_string(self.0.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = common::wait_until(Duration::from_secs(5), || {
            std::fs::remove_dir(&self.0).is_ok() || !self.0.exists()
        });
    }
}

/// Issue 11: a container shaped like this host's nspawn payloads — its own `name=systemd` and
/// unified cgroups, every v1 controller at the root — is frozen through the unified
/// hierarchy's `cgroup.freeze` and killed through its `cgroup.kill` (they exist there whatever
/// controllers are enabled), each act saying so; the v1 roots are never written.
#[test]
#[ignore = "needs root"]
fn with_v1_controllers_at_the_root_freeze_and_kill_use_the_unified_cgroup() {
    if !ready() {
        return;
    }
    let Some(unified) = hybrid_unified() else {
        return;
    };
    let Staged {
        bin,
        env,
        name,
        guard,
        scope,
    } = Staged::new("u", "owned-unified");
    let own = UnifiedCgroup::new(unified, "owned-unified");
    let machine = Machine::start(bin.path());
    for pid in machine.pids() {
        move_to(&guard.dir("systemd", &scope), pid);
        move_to(&own.0, pid);
        for dir in root_controller_dirs() {
            move_to(&dir, pid);
        }
    }
    let roots = root_controller_dirs();
    let before = limit_files(&roots);

    let out = env.run(&["freeze", &name]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("freezer cgroup / is the root") && text.contains("cgroup.freeze"),
        "freeze does not say how it went: {text}"
    );
    assert_eq!(common::read_text(&own.0.join("cgroup.freeze")), "1");
    let out = env.run(&["thaw", &name]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(common::read_text(&own.0.join("cgroup.freeze")), "0");

    let out = env.run(&["kill", &name, "--signal", "KILL"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("(cgroup.kill)"),
        "kill did not use cgroup.kill: {text}"
    );
    assert!(common::wait_until(Duration::from_secs(10), || !alive(
        machine.init
    )));
    assert_eq!(limit_files(&roots), before, "a v1 root cgroup file changed");
}

/// Issue 11: a hand-made (`unknown`) container whose only cgroup of its own is its unified one
/// — every v1 controller at the root, so it has no one cgroup path — is frozen through that
/// cgroup's `cgroup.freeze` and killed through its `cgroup.kill`, like the nspawn-shaped one;
/// a CPU limit is refused (its cpu cgroup is the root) and no v1 root file changes.
#[test]
#[ignore = "needs root"]
fn an_unknown_container_owning_only_its_unified_cgroup_is_frozen_and_killed_there() {
    if !ready() {
        return;
    }
    let Some(unified) = hybrid_unified() else {
        return;
    };
    let env = Env::new();
    let own = UnifiedCgroup::new(unified, "owned-unknown");
    let container = fake_container::FakeContainer::start();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", container.init)).unwrap();
    let launcher: i32 = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|ppid| ppid.parse().ok())
        .expect("the init's parent");
    for pid in [launcher, container.init] {
        move_to(&own.0, pid);
        for dir in root_controller_dirs() {
            move_to(&dir, pid);
        }
    }
    let roots = root_controller_dirs();
    let before = limit_files(&roots);
    let init = container.init.to_string();

    let out = env.run(&["freeze", &init]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("cgroup.freeze"),
        "freeze does not say how: {text}"
    );
    assert_eq!(common::read_text(&own.0.join("cgroup.freeze")), "1");
    let out = env.run(&["thaw", &init]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(common::read_text(&own.0.join("cgroup.freeze")), "0");

    let out = env.run(&["limit", &init, "--cpus", "0.1"]);
    assert!(
        !out.status.success(),
        "a limit on the root cpu cgroup went through"
    );
    assert!(stderr(&out).contains("root"), "{}", stderr(&out));

    let out = env.run(&["kill", &init, "--signal", "KILL"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("(cgroup.kill)"),
        "kill did not use cgroup.kill: {text}"
    );
    assert!(common::wait_until(Duration::from_secs(10), || !alive(
        container.init
    )));
    assert_eq!(limit_files(&roots), before, "a v1 root cgroup file changed");
}

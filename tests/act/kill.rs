//! Kill on real cgroups and processes (v1 freeze-signal-thaw here, v2 `cgroup.kill` and the
//! freeze loop in the VM): nothing survives, not even a shell that keeps forking; an init that
//! ignores TERM is reported and KILL then ends it; a container without a cgroup of its own is
//! killed through pidfds; bad input and refusals exit 2 and change nothing.

use crate::support::{bundle, common};

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{CgroupGuard, ChildGuard, require_program, wait_until};
use isotop::control::freeze::Freezer;
use isotop::control::kill::{CgroupKill, KillMethod, cgroup_pids, kill_cgroup};
use nix::sys::signal::Signal;

/// The kill site of test cgroup `child`: v1 freezer dir here; on v2 with or without
/// `cgroup.kill`.
fn site(guard: &CgroupGuard, child: &str, use_cgroup_kill: bool) -> CgroupKill {
    if bundle::v2_host() {
        let dir = guard.dir("", child);
        CgroupKill {
            freezer: Some(Freezer::V2(dir.clone())),
            v2_dir: use_cgroup_kill.then(|| dir.clone()),
            procs_dir: dir,
        }
    } else {
        let dir = guard.dir("freezer", child);
        CgroupKill {
            freezer: Some(Freezer::V1(dir.clone())),
            v2_dir: None,
            procs_dir: dir,
        }
    }
}

/// Pids in `rel` in every hierarchy of the guard, read straight from the kernel files.
fn pids_everywhere(guard: &CgroupGuard, child: &str) -> Vec<i32> {
    let mut all = Vec::new();
    for dir in &guard.dirs {
        all.extend(cgroup_pids(&dir.join(child)).unwrap());
    }
    all.sort_unstable();
    all.dedup();
    all
}

fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
#[ignore = "needs root"]
fn kill_leaves_nothing_behind_even_a_forking_shell() {
    let variants: &[bool] = if bundle::v2_host() {
        &[false, true]
    } else {
        &[false]
    };
    for &use_cgroup_kill in variants {
        let guard = CgroupGuard::new("kill-fork");
        guard.child("c");
        // pids.max bounds the fork bomb: at most 64 tasks whatever the loop does.
        let pids_max = if bundle::v2_host() {
            guard.dir("", "c").join("pids.max")
        } else {
            guard.dir("pids", "c").join("pids.max")
        };
        std::fs::write(&pids_max, "64").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let ready = tmp.path().join("ready");
        // The shell waits until it is in the cgroup, then keeps forking orphaned sleepers (at
        // most 400 iterations) so that the cgroup's population changes under the kill.
        let script = format!(
            "while [ ! -e {r} ]; do sleep 0.01; done; n=0; \
             while [ $n -lt 400 ]; do (sleep 60 &); sleep 0.01; n=$((n+1)); done; sleep 60",
            r = ready.display()
        );
        let mut shell = ChildGuard::spawn(Command::new("sh").arg("-c").arg(script));
        guard.add_pid("c", shell.pid());
        std::fs::write(&ready, "").unwrap();
        assert!(
            wait_until(Duration::from_secs(20), || pids_everywhere(&guard, "c")
                .len()
                >= 10),
            "the shell did not fork"
        );
        let kill_site = site(&guard, "c", use_cgroup_kill);
        let report =
            kill_cgroup(&kill_site, Signal::SIGKILL, Duration::from_secs(20), None).unwrap();
        let expected = if use_cgroup_kill {
            KillMethod::CgroupKill
        } else {
            KillMethod::FreezeSignalThaw
        };
        assert_eq!(report.method, expected);
        assert!(report.remaining.is_empty(), "left: {:?}", report.remaining);
        // Short-lived `sleep 0.01`s come and go; the shell and its orphaned sleepers stay.
        assert!(report.signalled >= 5, "signalled {}", report.signalled);
        assert!(report.rounds >= 1 && report.rounds <= isotop::control::kill::MAX_ROUNDS);
        // The kernel files agree: no process in the cgroup, in any hierarchy.
        assert_eq!(pids_everywhere(&guard, "c"), Vec::<i32>::new());
        let status = shell.0.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "the shell was not killed");
        // The freezer was left thawed (a later task in this cgroup must run).
        assert_eq!(
            kill_site.freezer.as_ref().unwrap().state().unwrap(),
            isotop::host::cgroup::FreezerState::Thawed
        );
    }
}

/// Host pid of the first child of `parent` (from `/proc/<parent>/task/<parent>/children`).
fn first_child(parent: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
#[ignore = "needs root"]
fn term_to_a_pid_namespace_init_is_reported_and_kill_ends_it() {
    if !require_program("unshare") {
        return;
    }
    let guard = CgroupGuard::new("kill-init");
    guard.child("c");
    let tmp = tempfile::tempdir().unwrap();
    let ready = tmp.path().join("ready");
    // `sh` becomes PID 1 of a new pid namespace with no TERM handler: the kernel drops TERM.
    let script = format!(
        "while [ ! -e {r} ]; do sleep 0.01; done; while :; do sleep 1; done",
        r = ready.display()
    );
    let unshare = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "sh", "-c"])
            .arg(script),
    );
    guard.add_pid("c", unshare.pid());
    assert!(wait_until(Duration::from_secs(10), || first_child(
        unshare.pid()
    )
    .is_some()));
    let init = first_child(unshare.pid()).unwrap();
    // The init was forked before unshare joined the cgroup: move it too.
    guard.add_pid("c", init);
    std::fs::write(&ready, "").unwrap();
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(
        nspid.trim_end().ends_with("\t1"),
        "not a pid-ns init: {nspid}"
    );

    let kill_site = site(&guard, "c", false);
    let report = kill_cgroup(
        &kill_site,
        Signal::SIGTERM,
        Duration::from_millis(1500),
        Some(init),
    )
    .unwrap();
    assert!(report.watched_survived, "{report:?}");
    assert!(report.remaining.contains(&init), "{report:?}");
    assert!(pid_alive(init));

    let report = kill_cgroup(
        &kill_site,
        Signal::SIGKILL,
        Duration::from_secs(10),
        Some(init),
    )
    .unwrap();
    assert!(!report.watched_survived, "{report:?}");
    assert!(report.remaining.is_empty(), "{report:?}");
    assert_eq!(pids_everywhere(&guard, "c"), Vec::<i32>::new());
}

fn runc_ready() -> bool {
    require_program("runc")
}

fn isotop_with_log(log: &Path, args: &[&str]) -> std::process::Output {
    common::isotop()
        .args(args)
        .env("ISOTOP_AUDIT_LOG", log)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn cli_term_is_ignored_by_runc_init_then_kill_ends_the_container() {
    if !runc_ready() {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let extra = run.exec_sleep("300");
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("audit.jsonl");
    let procs_dir = if bundle::v2_host() {
        run.cgroup_dir("")
    } else {
        run.cgroup_dir("freezer")
    };

    // The container's init is `sleep` as PID 1 of its namespace: TERM is dropped.
    let out = isotop_with_log(&log, &["kill", &run.id, "--timeout", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("init ignored TERM"), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("isotop kill {} --signal KILL", run.id)),
        "stderr: {stderr}"
    );
    assert!(
        pid_alive(run.init_pid),
        "the init should have survived TERM"
    );
    // The exec'd sleep is no pid-namespace init: TERM ended it.
    assert!(wait_until(Duration::from_secs(5), || !pid_alive(extra)));

    let out = isotop_with_log(&log, &["kill", &run.id, "--signal", "KILL", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["gone"], true);
    assert_eq!(json["signal"], "KILL");
    assert_eq!(json["remaining"], serde_json::json!([]));
    let method = if bundle::v2_host() {
        "cgroup-kill"
    } else {
        "freeze-signal-thaw"
    };
    assert_eq!(json["method"], method);
    assert_eq!(cgroup_pids(&procs_dir).unwrap(), Vec::<i32>::new());
    assert!(!pid_alive(run.init_pid) || zombie(run.init_pid));

    let (entries, _) = isotop::control::audit::read_from(&log).unwrap();
    let kills: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.target == run.id && e.what == "kill")
        .map(|e| (e.new.as_deref().unwrap_or(""), e.result.as_str()))
        .collect();
    assert_eq!(kills.len(), 2, "{kills:?}");
    assert_eq!(kills[0].0, "TERM");
    assert!(kills[0].1.contains("still running"), "{kills:?}");
    assert_eq!(kills[1], ("KILL", "ok"));

    // Now gone: a second kill names the target as unknown or vanished, exit non-zero.
    let out = isotop_with_log(&log, &["kill", &run.id, "--signal", "KILL"]);
    assert!(!out.status.success());
}

/// True when `pid` is a zombie (killed, not yet reaped by its parent).
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
#[ignore = "needs root"]
fn cli_bad_input_and_refusals_exit_2_and_change_nothing() {
    if !runc_ready() {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("audit.jsonl");
    let id = run.id.as_str();
    for args in [
        vec!["kill", id, "--signal", "FOO"],
        vec!["kill", id, "--signal", "0"],
        vec!["kill", id, "--timeout", "-1"],
        vec!["kill", "1", "--signal", "KILL"],
        vec!["kill", "/", "--signal", "KILL"],
        vec!["kill", "no-such-container", "--signal", "KILL"],
    ] {
        let out = isotop_with_log(&log, &args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "isotop {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(pid_alive(run.init_pid), "bad input hurt the container");
    assert!(!log.exists() || std::fs::read_to_string(&log).unwrap().is_empty());

    // The guard on a container record altered to hold the host's PID 1 or isotop itself.
    let root = isotop::host::HostRoot::live();
    let snapshot = isotop::host::scan(&root, isotop::host::scan::ScanOptions::TARGETS).unwrap();
    let view = snapshot
        .containers
        .iter()
        .find(|c| c.container.id == run.id)
        .expect("the runc container is found")
        .clone();
    let mut holds_pid1 = view.clone();
    std::sync::Arc::make_mut(&mut holds_pid1.container).init_pid = Some(1);
    let mut holds_me = view.clone();
    std::sync::Arc::make_mut(&mut holds_me.container)
        .pids
        .push(std::process::id() as i32);
    let mut root_cgroup = view.clone();
    std::sync::Arc::make_mut(&mut root_cgroup.container).cgroup_path = Some("/".into());
    for (what, altered) in [
        ("pid 1", holds_pid1),
        ("isotop", holds_me),
        ("root cgroup", root_cgroup),
    ] {
        let err = isotop::control::kill::kill_container(
            &root,
            &altered,
            Signal::SIGKILL,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.is_usage(), "{what}: {err}");
    }
    assert!(pid_alive(run.init_pid), "a refusal killed the container");
}

#[test]
#[ignore = "needs root"]
fn a_container_without_its_own_cgroup_is_killed_through_pidfds() {
    if !require_program("unshare") {
        return;
    }
    // unshare's pid + mount namespaces make a container no runtime names, in this test's cgroup.
    let unshare = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--pid", "--mount", "--fork", "sh", "-c"])
            .arg("sleep 300 & sleep 300 & while :; do sleep 1; done"),
    );
    assert!(wait_until(Duration::from_secs(10), || first_child(
        unshare.pid()
    )
    .is_some()));
    let init = first_child(unshare.pid()).unwrap();
    let root = isotop::host::HostRoot::live();
    let mut view = None;
    assert!(wait_until(Duration::from_secs(10), || {
        let snapshot = isotop::host::scan(&root, isotop::host::scan::ScanOptions::TARGETS).unwrap();
        view = snapshot
            .containers
            .into_iter()
            .find(|c| c.container.init_pid == Some(init) && c.container.pids.len() >= 3);
        view.is_some()
    }));
    let view = view.unwrap();
    assert_eq!(view.container.cgroup_path, None, "{:?}", view.container);
    let pids = view.container.pids.clone();

    // Freeze needs a cgroup of its own: refused with the reason.
    let err = isotop::control::freeze::set_frozen(&root, &view, true).unwrap_err();
    assert!(
        err.is_usage() && err.to_string().contains("no cgroup of its own"),
        "{err}"
    );

    let log_dir = tempfile::tempdir().unwrap();
    // Only this test's own children are signalled: the view holds the pid namespace it made.
    let out = isotop_with_log(
        &log_dir.path().join("audit.jsonl"),
        &["kill", &init.to_string(), "--signal", "KILL", "--json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["method"], "pidfd");
    assert_eq!(json["gone"], true);
    for pid in pids {
        assert!(!pid_alive(pid) || zombie(pid), "pid {pid} survived");
    }
}

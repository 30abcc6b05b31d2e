//! A cgroup path as an act's target (issue 11, item 2), on real cgroups as root: the classic
//! operator's workflow — a cgroup made by hand under a unique test parent (every v1 hierarchy,
//! or the v2 tree), a busy loop moved in — then `isotop limit <path> --cpus 0.1` writes its CPU
//! quota and the loop is throttled; `undo` restores it; `--for 2s` reverts by itself; the
//! journal, `pending` and the audit log name the target `cgroup:<path>`. Freeze, thaw and kill
//! of a cgroup path. Refusals, with nothing written: the root cgroup, isotop's own cgroup and
//! its parent (isotop run from inside a test cgroup), PID 1's cgroup, bad paths. A container
//! made by hand (`unshare` waiting for its init in the same cgroup) is limited as its own.

use crate::support::{common, fake_container};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{CgroupGuard, ChildGuard};
use fake_container::{Env, FakeContainer, alive, busy_loop, limit_files};

fn v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

fn sleeper() -> ChildGuard {
    fake_container::outsider()
}

/// CPU time of `pid` in clock ticks (utime + stime).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is field 3, utime 14, stime 15 (1-based) → indexes 11 and 12 here.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The CPU quota file of cgroup `rel_child` and how "no limit" and 0.1 CPU read in it.
fn quota_file(guard: &CgroupGuard, child: &str) -> (PathBuf, &'static str, &'static str) {
    if v2_host() {
        (
            guard.dirs[0].join(child).join("cpu.max"),
            "max 100000",
            "10000 100000",
        )
    } else {
        (
            guard.dir("cpu", child).join("cpu.cfs_quota_us"),
            "-1",
            "10000",
        )
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn audit_targets(env: &Env) -> Vec<(String, String)> {
    std::fs::read_to_string(env.dir.path().join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["target"].as_str().unwrap().to_string(),
                v["what"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn a_cgroup_path_is_limited_undone_and_reverted_by_itself() {
    let env = Env::new();
    let guard = CgroupGuard::new("cg-target");
    let path = guard.child("work");
    let busy = busy_loop();
    guard.add_pid("work", busy.pid());
    let (quota, unlimited, tenth) = quota_file(&guard, "work");
    assert_eq!(common::read_text(&quota), unlimited);

    let out = env.ok(&["limit", &path, "--cpus", "0.1"]);
    assert!(out.contains(&format!("cgroup {path}")), "{out}");
    assert_eq!(common::read_text(&quota), tenth);
    // Throttled: at most ~0.1 CPU over 2 s (ticks are 1/100 s; slack for the VM).
    let before = cpu_ticks(busy.pid());
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let used = (cpu_ticks(busy.pid()) - before) as f64 / 100.0;
    let share = used / start.elapsed().as_secs_f64();
    assert!(
        share < 0.3,
        "the loop used {share:.2} CPU under a 0.1 quota"
    );
    let throttled = common::read_key(&quota.with_file_name("cpu.stat"), "nr_throttled");
    assert!(throttled > 0, "cpu.stat says it was never throttled");

    let journal = env.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["target"], format!("cgroup:{path}"));
    let out = env.ok(&["undo"]);
    assert!(out.contains(&format!("cgroup:{path}")), "{out}");
    assert_eq!(common::read_text(&quota), unlimited);
    assert!(env.journal().is_empty());

    // A timed change reverts by itself.
    let out = env.ok(&[
        "limit",
        &format!("cgroup:{path}"),
        "--cpus",
        "0.1",
        "--for",
        "2s",
    ]);
    assert!(out.contains("reverts by itself"), "{out}");
    assert_eq!(common::read_text(&quota), tenth);
    let pending = env.ok(&["pending"]);
    assert!(pending.contains(&format!("cgroup:{path}")), "{pending}");
    assert!(
        common::wait_until(Duration::from_secs(15), || common::read_text(&quota)
            == unlimited),
        "the timed revert did not restore {}",
        quota.display()
    );
    assert_eq!(env.ok(&["pending"]).trim(), "no pending reverts");

    let audited = audit_targets(&env);
    let label = format!("cgroup:{path}");
    for what in ["limit.cpu", "undo", "revert"] {
        assert!(
            audited.iter().any(|(t, w)| t == &label && w == what),
            "no {what} line for {label}: {audited:?}"
        );
    }
    assert!(alive(busy.pid()));
}

#[test]
#[ignore = "needs root"]
fn a_cgroup_path_is_frozen_thawed_and_killed() {
    let env = Env::new();
    let guard = CgroupGuard::new("cg-freeze");
    let path = guard.child("work");
    let a = sleeper();
    let b = sleeper();
    guard.add_pid("work", a.pid());
    guard.add_pid("work", b.pid());
    let (file, frozen, thawed) = if v2_host() {
        (guard.dirs[0].join("work").join("cgroup.freeze"), "1", "0")
    } else {
        (
            guard.dir("freezer", "work").join("freezer.state"),
            "FROZEN",
            "THAWED",
        )
    };
    let out = env.ok(&["freeze", &path]);
    assert!(out.contains("frozen"), "{out}");
    assert_eq!(common::read_text(&file), frozen);
    env.ok(&["thaw", &path]);
    assert_eq!(common::read_text(&file), thawed);

    let out = env.ok(&["kill", &path, "--signal", "KILL", "--timeout", "10"]);
    assert!(out.contains("sent KILL to 2 process(es)"), "{out}");
    assert!(out.contains("no process left"), "{out}");
    assert!(!alive(a.pid()) && !alive(b.pid()));
    // An empty cgroup: nothing to kill, said.
    let out = env.run(&["kill", &path]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("holds no process"),
        "{}",
        stderr(&out)
    );
    let audited = audit_targets(&env);
    for what in ["freeze", "thaw", "kill"] {
        assert!(
            audited
                .iter()
                .any(|(t, w)| t == &format!("cgroup:{path}") && w == what),
            "{what}: {audited:?}"
        );
    }
}

/// Runs isotop from inside test cgroup `child` (moved there in every hierarchy first).
fn isotop_inside(env: &Env, guard: &CgroupGuard, child: &str, args: &[&str]) -> Output {
    let procs: Vec<String> = guard
        .dirs
        .iter()
        .map(|d| d.join(child).join("cgroup.procs").display().to_string())
        .collect();
    let script = format!(
        "for f in {}; do echo $$ > \"$f\" || exit 99; done; exec \"$0\" \"$@\"",
        procs.join(" ")
    );
    let cmd = env.command(&[]);
    let program = cmd.get_program().to_owned();
    Command::new("sh")
        .args(["-c", &script])
        .arg(program)
        .args(args)
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn the_root_isotops_own_cgroups_and_pid_1s_are_refused() {
    let env = Env::new();
    let guard = CgroupGuard::new("cg-refuse");
    let me = guard.child("isotop");
    let files = limit_files(&guard.dirs);

    let refused = |out: &Output, reason: &str| {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
        assert!(stderr(out).contains(reason), "{}", stderr(out));
    };
    for args in [
        ["limit", "/", "--cpus", "0.1"],
        ["limit", "cgroup:/", "--pids", "10"],
        ["freeze", "/", "", ""],
        ["kill", "/", "--signal", "KILL"],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        refused(&env.run(&args), "root cgroup");
    }
    // isotop itself runs in `<parent>/isotop`: that cgroup and its parent are refused.
    let out = isotop_inside(&env, &guard, "isotop", &["limit", &me, "--cpus", "0.1"]);
    refused(&out, "isotop's own cgroup");
    let out = isotop_inside(&env, &guard, "isotop", &["freeze", &guard.rel]);
    refused(&out, "isotop itself runs below it");
    let out = isotop_inside(&env, &guard, "isotop", &["kill", &guard.rel]);
    refused(&out, "isotop itself runs below it");

    // PID 1's cgroups (here usually the roots, refused above as such).
    let init = std::fs::read_to_string("/proc/1/cgroup").unwrap();
    for p1 in init.lines().filter_map(|l| l.splitn(3, ':').nth(2)) {
        if p1 != "/" {
            refused(&env.run(&["limit", p1, "--pids", "100"]), "PID 1");
        }
    }
    // Not cgroup paths, or none that exists.
    for bad in ["/a/../b", "cgroup:relative", "/isotop-no-such-cgroup-here"] {
        let out = env.run(&["limit", bad, "--cpus", "0.1"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    assert_eq!(limit_files(&guard.dirs), files, "a refused act wrote");
    assert!(env.journal().is_empty(), "{:?}", env.journal());
}

#[test]
#[ignore = "needs root"]
fn a_hand_made_unshare_container_is_limited_as_its_own() {
    if !common::require_program("unshare") {
        return;
    }
    let env = Env::new();
    let guard = CgroupGuard::new("cg-unshare");
    let path = guard.child("box");
    let container = FakeContainer::start();
    let launcher = std::fs::read_to_string(format!("/proc/{}/stat", container.init))
        .unwrap()
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<i32>()
        .unwrap();
    assert_eq!(fake_container::comm(launcher), "unshare");
    // The launcher waits in the container's cgroup, as `cgexec -g … unshare …` leaves it.
    guard.add_pid("box", launcher);
    guard.add_pid("box", container.init);
    let (quota, _, tenth) = quota_file(&guard, "box");

    let init = container.init.to_string();
    let list = common::isotop_json(&["ls", "--json", "--interval", "0"]);
    let row = list
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["pid"] == container.init))
        .unwrap_or_else(|| panic!("no container with init {init} in {list:#}"));
    assert_eq!(row["runtime"], "unknown", "{row:#}");
    assert_eq!(
        row["cgroup_path"],
        path.as_str(),
        "its cgroup is its own: {row:#}"
    );
    let out = env.ok(&["limit", &init, "--cpus", "0.1"]);
    assert!(out.contains("cpu"), "{out}");
    assert_eq!(common::read_text(&quota), tenth);
    env.ok(&["undo"]);
    env.ok(&["freeze", &init]);
    env.ok(&["thaw", &init]);
    assert!(alive(container.init));
}

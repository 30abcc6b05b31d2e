//! `--read-only` on the command line: every act subcommand (limit, undo, pending --cancel,
//! freeze, thaw, kill, enter, run, stop, rm, image prune) exits 2 with a message that says
//! read-only, printing nothing and writing nothing — no state directory, no audit line, and
//! (root) no cgroup file of a real container in a cgroup of its own, which the same `limit`
//! without the flag does change. The config's `read_only = true` refuses the same; reading
//! subcommands still run.

use crate::support::{common, fake_container};

use std::path::PathBuf;
use std::process::Output;

use common::CgroupGuard;
use fake_container::{Env, FakeContainer, alive, limit_files};

const ACTS: [&[&str]; 13] = [
    &["limit", "1", "--cpus", "0.1"],
    &["limit", "/some/cgroup", "--memory", "64M", "--for", "1m"],
    &["undo"],
    &["pending", "--cancel", "abc"],
    &["freeze", "1"],
    &["thaw", "1"],
    &["kill", "1", "--signal", "KILL"],
    &["enter", "1", "--", "true"],
    &["run", "-d", "true"],
    &["stop", "web"],
    &["rm", "web"],
    &["image", "prune"],
    &["undo", "--json"],
];

fn assert_refused(env: &Env, args: &[&str], out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "isotop {args:?}: {stderr}");
    assert!(stderr.contains("read-only"), "isotop {args:?}: {stderr:?}");
    assert!(out.stdout.is_empty(), "isotop {args:?} printed something");
    assert!(
        !env.state().exists(),
        "isotop {args:?} made its state directory"
    );
    assert!(
        !env.dir.path().join("audit.jsonl").exists(),
        "isotop {args:?} wrote an audit line"
    );
}

#[test]
fn every_act_subcommand_refuses_with_exit_2_and_writes_nothing() {
    let env = Env::new();
    for act in ACTS {
        let args: Vec<&str> = ["--read-only"].iter().chain(act).copied().collect();
        let out = env.run(&args);
        assert_refused(&env, &args, &out);
        // The flag is global: after the subcommand too (not where a command's own arguments
        // begin: `run`'s and `enter`'s trailing words are the container's command).
        let args: Vec<&str> = act.iter().chain(&["--read-only"]).copied().collect();
        if !act.contains(&"--") && act[0] != "run" {
            let out = env.run(&args);
            assert_refused(&env, &args, &out);
        }
    }
}

#[test]
fn the_configs_read_only_refuses_the_same_and_reading_still_works() {
    let env = Env::new();
    let config = env.dir.path().join("config.toml");
    std::fs::write(&config, "read_only = true\n").unwrap();
    let config = config.to_str().unwrap();
    for act in ACTS {
        let args: Vec<&str> = ["--config", config].iter().chain(act).copied().collect();
        let out = env.run(&args);
        assert_refused(&env, &args, &out);
    }
    for read in [
        &["--read-only", "ls", "--json", "--interval", "0"][..],
        &["--read-only", "cgroups", "--json", "--depth", "0"],
        &["--config", config, "pending", "--json"],
    ] {
        let out = env.run(read);
        assert!(
            out.status.success(),
            "isotop {read:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[ignore = "needs root"]
fn read_only_limit_leaves_a_real_containers_cgroup_alone() {
    let env = Env::new();
    let guard = CgroupGuard::new("read-only");
    let child = guard.child("box");
    let container = FakeContainer::start();
    guard.add_pid("box", container.init);
    let dirs: Vec<PathBuf> = guard.dirs.iter().map(|d| d.join("box")).collect();
    let before = limit_files(&dirs);
    let pid = container.init.to_string();
    for act in [
        &["--read-only", "limit", &pid, "--cpus", "0.1", "--pids", "7"][..],
        &["--read-only", "limit", &child, "--memory", "64M"],
        &["--read-only", "freeze", &pid],
        &["--read-only", "kill", &pid, "--signal", "KILL"],
    ] {
        let out = env.run(act);
        assert_refused(&env, act, &out);
    }
    assert_eq!(
        limit_files(&dirs),
        before,
        "a read-only run changed a cgroup file"
    );
    assert!(
        alive(container.init),
        "a read-only kill ended the container"
    );
    // The same limit without the flag does change them (so the check above can fail).
    env.ok(&["limit", &pid, "--cpus", "0.1", "--pids", "7"]);
    assert_ne!(limit_files(&dirs), before, "the act itself wrote nothing");
    env.ok(&["undo"]);
    assert_eq!(limit_files(&dirs), before, "undo restores them");
}

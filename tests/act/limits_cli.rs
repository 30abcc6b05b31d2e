//! `isotop limit`, `undo`, `pending` and the timed revert worker on a real runc container
//! (root; v1 here, v2 in `vm/run-tests.sh act_limits_cli`): values read back from the kernel
//! files and from `isotop inspect --json`, undo restoring the exact previous file contents, a
//! `--for 3s` change reverting by itself after isotop exited, a revert that leaves a file the
//! operator changed meanwhile, cancelling, and bad input that exits 2 and writes nothing.
//! Every run uses its own state directory and audit log (`ISOTOP_STATE_DIR`,
//! `ISOTOP_AUDIT_LOG`).

use crate::support::{bundle, common};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use bundle::OciRun;
use serde_json::Value;

fn ready() -> bool {
    common::require_program("runc")
}

/// A private state directory and audit log for one test.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn run(&self, args: &[&str]) -> Output {
        common::isotop()
            .args(args)
            .env("ISOTOP_STATE_DIR", self.dir.path().join("state"))
            .env("ISOTOP_AUDIT_LOG", self.log())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "isotop {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn log_entries(&self) -> Vec<Value> {
        self.ok(&["log", "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The limit files of the container, v1 or v2 names.
fn limit_files(run: &OciRun) -> Vec<PathBuf> {
    if bundle::v2_host() {
        vec![
            run.cgroup_dir("cpu").join("cpu.max"),
            run.cgroup_dir("memory").join("memory.max"),
            run.cgroup_dir("pids").join("pids.max"),
        ]
    } else {
        vec![
            run.cgroup_dir("cpu").join("cpu.cfs_quota_us"),
            run.cgroup_dir("cpu").join("cpu.cfs_period_us"),
            run.cgroup_dir("memory").join("memory.limit_in_bytes"),
            run.cgroup_dir("pids").join("pids.max"),
        ]
    }
}

fn contents(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| common::read_text(f)).collect()
}

fn pids_max(run: &OciRun) -> String {
    common::read_text(&run.cgroup_dir("pids").join("pids.max"))
}

fn gone_or_zombie(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
#[ignore = "needs root"]
fn limit_reads_back_in_inspect_and_undo_restores_the_exact_previous_files() {
    if !ready() {
        return;
    }
    let env = Env::new();
    let run = OciRun::start("runc");
    let files = limit_files(&run);
    let original = contents(&files);

    let doc = env.json(&[
        "limit", &run.id, "--cpus", "0.5", "--memory", "64M", "--pids", "50", "--json",
    ]);
    assert_eq!(doc["target"], run.id.as_str());
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{doc}");
    for change in changes {
        let path = Path::new(change["path"].as_str().unwrap());
        assert_eq!(change["now"].as_str().unwrap(), common::read_text(path));
    }
    let inspect = common::isotop_json(&["inspect", &run.id, "--json"]);
    let limits = &inspect["cgroup"]["limits"];
    assert_eq!(limits["cpu_quota_usec"], 50_000, "{limits}");
    assert_eq!(limits["cpu_period_usec"], 100_000, "{limits}");
    assert_eq!(limits["memory_max_bytes"], 64u64 << 20, "{limits}");
    assert_eq!(limits["pids_max"], 50, "{limits}");
    let after_first = contents(&files);

    // A second change by unique id prefix (runc's name is its id).
    let prefix = &run.id[..run.id.len() - 2];
    let text = env.ok(&["limit", prefix, "--cpus", "250m", "--period", "200000"]);
    assert!(text.contains("isotop undo"), "{text}");
    let inspect = common::isotop_json(&["inspect", &run.cgroup_path, "--json"]);
    assert_eq!(inspect["cgroup"]["limits"]["cpu_quota_usec"], 50_000);
    assert_eq!(inspect["cgroup"]["limits"]["cpu_period_usec"], 200_000);

    env.ok(&["undo"]);
    assert_eq!(contents(&files), after_first, "undo of the second change");
    let undone = env.json(&["undo", "--json"]);
    assert_eq!(undone["change"]["target"], run.id.as_str());
    assert_eq!(contents(&files), original, "undo of the first change");
    let out = env.run(&["undo"]);
    assert_eq!(out.status.code(), Some(2), "nothing left to undo");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to undo"));

    // Files written: 3, then cpu.max alone on v2, quota and period on v1; each undone.
    let written = if bundle::v2_host() { 4 } else { 5 };
    let log = env.log_entries();
    let whats: Vec<&str> = log.iter().map(|e| e["what"].as_str().unwrap()).collect();
    assert_eq!(
        whats.iter().filter(|w| w.starts_with("limit.")).count(),
        written,
        "{whats:?}"
    );
    assert_eq!(
        whats.iter().filter(|w| **w == "undo").count(),
        written,
        "{whats:?}"
    );
    assert!(log.iter().all(|e| e["target"] == run.id.as_str()));
    let table = env.ok(&["log", "-n", "2"]);
    assert_eq!(table.lines().count(), 3, "header and two entries: {table}");
}

#[test]
#[ignore = "needs root"]
fn a_timed_change_reverts_by_itself_after_isotop_exited() {
    if !ready() {
        return;
    }
    let env = Env::new();
    let run = OciRun::start("runc");
    let before = pids_max(&run);
    let doc = env.json(&["limit", &run.id, "--pids", "42", "--for", "3s", "--json"]);
    assert_eq!(pids_max(&run), "42");
    let id = doc["pending"]["id"].as_str().unwrap().to_string();
    let worker = doc["pending"]["worker_pid"].as_i64().expect("a worker pid");
    // The kernel fills a new program's cmdline at the end of execve, which can finish after
    // the spawner has already returned (seen empty under load): wait for it.
    let mut cmdline = Vec::new();
    let is_worker = common::wait_until(Duration::from_secs(5), || {
        cmdline = std::fs::read(format!("/proc/{worker}/cmdline")).unwrap_or_default();
        String::from_utf8_lossy(&cmdline).contains(&format!("revert-worker\0{id}"))
    });
    assert!(is_worker, "worker {worker} cmdline: {cmdline:?}");
    let listed = env.json(&["pending", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(env.ok(&["pending"]).contains(&id));

    assert!(
        common::wait_until(Duration::from_secs(20), || pids_max(&run) == before),
        "pids.max still {} after the revert was due",
        pids_max(&run)
    );
    assert!(common::wait_until(Duration::from_secs(5), || {
        env.json(&["pending", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    }));
    assert!(common::wait_until(Duration::from_secs(5), || {
        gone_or_zombie(worker)
    }));
    let log = env.log_entries();
    let revert = log
        .iter()
        .find(|e| e["what"] == "revert")
        .expect("the revert is audited");
    assert_eq!(revert["result"], "ok");
    assert_eq!(revert["old"], "42");
    assert_eq!(revert["new"], before.as_str());
    // The reverted change is no longer undoable.
    assert_eq!(env.run(&["undo"]).status.code(), Some(2));
}

#[test]
#[ignore = "needs root"]
fn a_revert_leaves_what_the_operator_changed_and_cancel_keeps_the_change() {
    if !ready() {
        return;
    }
    let env = Env::new();
    let run = OciRun::start("runc");
    let pids_file = run.cgroup_dir("pids").join("pids.max");
    env.ok(&["limit", &run.id, "--pids", "42", "--for", "2s"]);
    std::fs::write(&pids_file, "77").unwrap();
    assert!(common::wait_until(Duration::from_secs(20), || {
        env.json(&["pending", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    }));
    assert_eq!(
        pids_max(&run),
        "77",
        "the revert overwrote the operator's value"
    );
    let log = env.log_entries();
    let revert = log.iter().find(|e| e["what"] == "revert").unwrap();
    assert!(
        revert["result"].as_str().unwrap().contains("left as is"),
        "{revert}"
    );

    let doc = env.json(&["limit", &run.id, "--pids", "43", "--for", "1h", "--json"]);
    let id = doc["pending"]["id"].as_str().unwrap().to_string();
    let worker = doc["pending"]["worker_pid"].as_i64().unwrap();
    env.ok(&["pending", "--cancel", &id]);
    assert!(common::wait_until(Duration::from_secs(5), || {
        gone_or_zombie(worker)
    }));
    assert!(
        env.json(&["pending", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(pids_max(&run), "43", "cancel keeps the change");
    let out = env.run(&["pending", "--cancel", &id]);
    assert_eq!(out.status.code(), Some(2), "cancelling twice");
    assert!(
        env.log_entries()
            .iter()
            .any(|e| e["what"] == "revert.cancel")
    );
}

#[test]
#[ignore = "needs root"]
fn bad_input_unknown_and_ambiguous_targets_exit_2_and_write_nothing() {
    if !ready() {
        return;
    }
    let env = Env::new();
    let run = OciRun::start("runc");
    let other = OciRun::start("runc");
    let files = limit_files(&run);
    let before = contents(&files);
    let before_other = contents(&limit_files(&other));
    let shared_prefix = format!("isotop-test-runc-{}-", std::process::id());
    let id = run.id.as_str();
    let cases: Vec<Vec<&str>> = vec![
        vec!["limit", id, "--cpus", "-1"],
        vec!["limit", id, "--cpus", "abc"],
        vec!["limit", id, "--memory", "1Q"],
        vec!["limit", id, "--period", "999"],
        vec!["limit", id, "--period", "2000000"],
        vec!["limit", id, "--pids", "10", "--memory", "1Q"],
        vec!["limit", id, "--pids", "10", "--for", "soon"],
        vec!["limit", id, "--memory", "4096"],
        vec!["limit", id],
        vec!["limit", "no-such-container-anywhere", "--pids", "10"],
        vec!["limit", &shared_prefix, "--pids", "10"],
    ];
    for args in &cases {
        let out = env.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("isotop: "), "{args:?}: {stderr}");
        assert_eq!(contents(&files), before, "{args:?} changed a file");
    }
    assert_eq!(contents(&limit_files(&other)), before_other);
    let stderr = String::from_utf8_lossy(&env.run(&cases[0]).stderr).to_string();
    assert!(
        stderr.contains("--cpus") && stderr.contains("\"-1\""),
        "{stderr}"
    );
    let stderr = String::from_utf8_lossy(&env.run(&cases[7]).stderr).to_string();
    assert!(stderr.contains("--force"), "{stderr}");
    // Every refusal is in the audit log.
    let log = env.log_entries();
    assert!(log.len() >= cases.len(), "{} entries", log.len());
    assert!(
        log.iter()
            .all(|e| e["what"] == "limit" && e["result"] != "ok")
    );
}

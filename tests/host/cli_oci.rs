//! The container subcommands on real OCI containers started by runc and crun (root): `ls`
//! shows their runtime, id, pid, limits, CPU% and state as the kernel files have them;
//! `inspect` resolves them by cgroup path and id prefix and names each figure's file.

use crate::support::{bundle, common};

use common::isotop_json as json;

use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn ready(tool: &str) -> bool {
    common::require_program(tool)
        && common::require_program("runc")
        && std::path::Path::new(bundle::BUSYBOX).is_file()
}

fn ls_entry(id: &str, interval: &str) -> Value {
    let list = json(&["ls", "--json", "--interval", interval]);
    list.as_array()
        .expect("a list")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("container {id} not listed"))
}

#[test]
#[ignore = "needs root"]
fn ls_and_inspect_show_a_runc_container_with_its_limits() {
    if !ready("runc") {
        return;
    }
    let run = bundle::OciRun::start("runc");
    // Limits written straight to the kernel files (the acts come later), v1 or v2 names.
    let v2 = bundle::v2_host();
    let (memory_limit_file, memory_usage_file) = if v2 {
        ("memory.max", "memory.current")
    } else {
        ("memory.limit_in_bytes", "memory.usage_in_bytes")
    };
    if v2 {
        fs::write(run.cgroup_dir("cpu").join("cpu.max"), "50000 100000").unwrap();
    } else {
        fs::write(run.cgroup_dir("cpu").join("cpu.cfs_period_us"), "100000").unwrap();
        fs::write(run.cgroup_dir("cpu").join("cpu.cfs_quota_us"), "50000").unwrap();
    }
    fs::write(run.cgroup_dir("memory").join(memory_limit_file), "67108864").unwrap();
    fs::write(run.cgroup_dir("pids").join("pids.max"), "50").unwrap();
    let status = Command::new("runc")
        .args(["exec", "-d", &run.id, "sh", "-c", "while :; do :; done"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "runc exec of a busy loop");

    let entry = ls_entry(&run.id, "1");
    assert_eq!(entry["runtime"], "runc");
    assert_eq!(entry["name"], run.id.as_str());
    assert_eq!(entry["pid"], run.init_pid);
    assert_eq!(entry["cgroup_path"], run.cgroup_path.as_str());
    assert_eq!(entry["memory_limit_bytes"], 67108864u64);
    assert_eq!(entry["cpu_limit_cpus"], 0.5);
    assert_eq!(entry["pids_limit"], 50);
    assert_eq!(entry["pids"], 2, "init and the busy loop: {entry}");
    assert_eq!(entry["state"], "running");
    let usage: u64 = fs::read_to_string(run.cgroup_dir("memory").join(memory_usage_file))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let shown = entry["memory_bytes"].as_u64().expect("memory figure");
    assert!(
        shown > 0 && shown < 2 * usage + (1 << 20),
        "memory {shown} vs kernel {usage}"
    );
    // A busy loop under a 0.5 CPU quota: about 50% of one CPU over the 1 s interval.
    let cpu = entry["cpu_percent"]
        .as_f64()
        .expect("CPU% from two samples");
    assert!(
        (30.0..=70.0).contains(&cpu),
        "CPU% {cpu} under a 0.5 CPU quota"
    );

    // By cgroup path: the same container, with each figure's source file named.
    let doc = json(&["inspect", &run.cgroup_path, "--json"]);
    assert_eq!(doc["id"], run.id.as_str());
    let cgroup = &doc["cgroup"];
    assert_eq!(cgroup["limits"]["memory_max_bytes"], 67108864u64);
    assert_eq!(cgroup["limits"]["cpu_quota_usec"], 50000);
    assert_eq!(
        cgroup["sources"]["limits.memory_max_bytes"],
        run.cgroup_dir("memory")
            .join(memory_limit_file)
            .display()
            .to_string()
    );
    assert!(
        cgroup["cpu"]["nr_throttled"].as_u64().unwrap_or(0) > 0,
        "throttled under quota"
    );

    // By a unique id prefix, and the text form names the files.
    let prefix = &run.id[..run.id.len() - 3];
    let out = common::run_isotop(&["inspect", prefix]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(memory_limit_file), "{text}");
    assert!(text.contains("Runtime        runc"), "{text}");

    // Frozen through the freezer (v1 `freezer.state`, v2 `cgroup.freeze` and the `frozen`
    // key of `cgroup.events`): every view says so.
    let (freezer, frozen, thawed, done) = if v2 {
        let dir = run.cgroup_dir("");
        (
            dir.join("cgroup.freeze"),
            "1",
            "0",
            (dir.join("cgroup.events"), "frozen 1"),
        )
    } else {
        let state = run.cgroup_dir("freezer").join("freezer.state");
        (state.clone(), "FROZEN", "THAWED", (state, "FROZEN"))
    };
    fs::write(&freezer, frozen).unwrap();
    assert!(common::wait_until(Duration::from_secs(5), || {
        fs::read_to_string(&done.0)
            .unwrap_or_default()
            .lines()
            .any(|l| l.trim() == done.1)
    }));
    assert_eq!(ls_entry(&run.id, "0")["state"], "frozen");
    fs::write(&freezer, thawed).unwrap();
    assert_eq!(ls_entry(&run.id, "0")["state"], "running");
}

#[test]
#[ignore = "needs root"]
fn ls_shows_a_crun_container() {
    if !ready("crun") {
        return;
    }
    let run = bundle::OciRun::start("crun");
    let entry = ls_entry(&run.id, "0");
    assert_eq!(entry["runtime"], "crun");
    assert_eq!(entry["pid"], run.init_pid);
    let doc = json(&["ps", &run.id, "--json"]);
    assert_eq!(doc["processes"][0]["pid"], run.init_pid);
    assert_eq!(doc["processes"][0]["container_pid"], 1);
}

//! A real process placed like a systemd-nspawn payload (root): its own cgroup in the unified
//! hierarchy (`<unified>/<unique parent>/payload`) and, when this host mounts it, in the
//! `name=systemd` hierarchy; its v1 controllers left where the test runs (the root for cpu
//! and cpuacct on this hybrid host, a memory cgroup shared with the test). While a busy loop
//! runs OUTSIDE it, `isotop ls --json` shows the payload's own small CPU (from its unified
//! `cpu.stat`, not the root's `cpuacct.usage`) and its memory from its processes, not the
//! shared cgroup's; `isotop inspect --json` names those sources and marks the shared cgroups;
//! `isotop cgroups` says the payload cgroup is its own. On the cgroup v2 VM the unified
//! cgroup is the payload's only one and its own.

use crate::support::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ChildGuard, isotop_json, read_key, run_isotop, unique_name, wait_until};

/// Mount points of the unified (cgroup2) hierarchy and of the v1 `name=systemd` one.
fn mounts() -> (Option<PathBuf>, Option<PathBuf>) {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (mut unified, mut systemd) = (None, None);
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let point = left.split_whitespace().nth(4).map(PathBuf::from);
        let mut right = right.split_whitespace();
        let fstype = right.next().unwrap_or("");
        let options = right.nth(1).unwrap_or("");
        if fstype == "cgroup2" && unified.is_none() {
            unified = point;
        } else if fstype == "cgroup" && options.split(',').any(|o| o == "name=systemd") {
            systemd = point;
        }
    }
    (unified, systemd)
}

/// `<hierarchy>/<parent>/payload` in each given hierarchy; on drop the payload's processes
/// must be gone (their guards drop first) and both directories are removed.
struct PayloadCgroups {
    dirs: Vec<PathBuf>,
}

impl PayloadCgroups {
    fn create(hierarchies: &[PathBuf], parent: &str) -> PayloadCgroups {
        let mut dirs = Vec::new();
        for h in hierarchies {
            let dir = h.join(parent).join("payload");
            std::fs::create_dir_all(&dir).expect("create the payload cgroup");
            dirs.push(dir);
        }
        PayloadCgroups { dirs }
    }

    fn add(&self, pid: i32) {
        for dir in &self.dirs {
            std::fs::write(dir.join("cgroup.procs"), pid.to_string()).expect("move the payload");
        }
    }
}

impl Drop for PayloadCgroups {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // Emptied by the process guards; a few tries while the kernel reaps them.
            wait_until(Duration::from_secs(5), || {
                std::fs::remove_dir(dir).is_ok() || !dir.exists()
            });
            if let Some(parent) = dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

/// utime + stime of `pid`, clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // After the comm: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

/// The resident set of `pid` from `statm`, bytes.
fn resident_bytes(pid: i32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages
        * nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .unwrap_or(4096) as u64
}

#[test]
#[ignore = "needs root"]
fn an_nspawn_like_payload_shows_its_own_cpu_and_memory_not_the_hosts() {
    let (Some(unified), systemd) = mounts() else {
        eprintln!(
            "skipping {}: no cgroup2 hierarchy is mounted here",
            common::test_name()
        );
        return;
    };
    let hybrid = unified != Path::new("/sys/fs/cgroup");
    let mut hierarchies = vec![unified.clone()];
    match systemd {
        Some(dir) => hierarchies.push(dir),
        None => eprintln!(
            "{}: no name=systemd hierarchy in /proc/self/mountinfo; the payload gets only its \
             unified cgroup",
            common::test_name()
        ),
    }
    let parent = unique_name("payload");
    let cgroups = PayloadCgroups::create(&hierarchies, &parent);
    // The payload: a sleeping process with systemd-nspawn's environment mark.
    let payload = ChildGuard::spawn(
        Command::new("sleep")
            .arg("1000")
            .env("container", "systemd-nspawn")
            .stdout(Stdio::null()),
    );
    cgroups.add(payload.pid());
    // Outside it: a busy loop in the test's own cgroups.
    let busy = ChildGuard::spawn(Command::new("sh").args(["-c", "while :; do :; done"]));
    let busy_before = cpu_ticks(busy.pid());
    let cpu_stat = unified.join(&parent).join("payload/cpu.stat");
    let usage_before = read_key(&cpu_stat, "usage_usec");

    let rows = isotop_json(&["ls", "--json", "--interval", "1"]);
    let busy_ticks = cpu_ticks(busy.pid()) - busy_before;
    let row = rows
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["id"] == parent.as_str()))
        .unwrap_or_else(|| panic!("no payload row {parent} in {rows:#}"));
    assert_eq!(row["runtime"], "nspawn", "{row:#}");
    assert_eq!(row["pid"], payload.pid(), "{row:#}");
    // The busy loop really ran outside (≥ a third of a CPU over the ≥ 1 s interval)...
    assert!(busy_ticks >= 30, "the busy loop used {busy_ticks} ticks");
    // ...and the payload shows its own near-zero CPU, not the host's.
    let cpu = row["cpu_percent"].as_f64().expect("a CPU figure");
    assert!(
        cpu < 10.0,
        "payload CPU {cpu}% while a busy loop ran outside"
    );

    let inspected = isotop_json(&["inspect", &parent, "--json"]);
    let sources = &inspected["sources"];
    let expected = if hybrid { "unified" } else { "own_cgroup" };
    assert_eq!(sources["cpu"]["from"], expected, "{sources:#}");
    assert_eq!(
        sources["cpu"]["file"],
        cpu_stat.display().to_string(),
        "{sources:#}"
    );
    let usage = inspected["cgroup"]["cpu"]["usage_usec"]
        .as_u64()
        .expect("the unified usage");
    let usage_after = read_key(&cpu_stat, "usage_usec");
    assert!(
        (usage_before..=usage_after).contains(&usage),
        "{usage} not within the payload's own cpu.stat {usage_before}..={usage_after}"
    );
    // Memory: the payload's resident set, not a shared cgroup's usage.
    let memory = row["memory_bytes"].as_u64().expect("a memory figure");
    if sources["memory"]["from"] == "processes" {
        let rss = resident_bytes(payload.pid());
        assert!(
            memory.abs_diff(rss) <= rss / 4 + 65_536,
            "memory {memory} is not the payload's resident set {rss}"
        );
    } else {
        assert!(!hybrid, "on a hybrid host memory is v1's: {sources:#}");
        assert_eq!(sources["memory"]["from"], "own_cgroup");
    }
    assert!(memory < 64 << 20, "{memory} bytes for a sleeping process");
    if hybrid {
        // Its v1 cpu cgroup is the root: shared, named so, and its limit inherited.
        let ownership = inspected["ownership"].as_array().expect("ownership");
        let cpu_line = ownership
            .iter()
            .find(|o| o["hierarchy"] == "cpu")
            .expect("a cpu line");
        assert_eq!(cpu_line["own"], false, "{cpu_line:#}");
        assert!(cpu_line["shared"].as_str().unwrap_or("").contains("root"));
        assert_eq!(row["cpu_limit_cpus"], serde_json::Value::Null, "{row:#}");
        assert_eq!(
            row["inherited_limits"]["cpu_cpus"]["cgroup"], "/",
            "{row:#}"
        );
        let text = run_isotop(&["ls"]);
        let text = String::from_utf8_lossy(&text.stdout);
        let line = text
            .lines()
            .find(|l| l.split_whitespace().any(|word| word == parent))
            .unwrap_or_else(|| panic!("no payload line in\n{text}"));
        assert!(line.contains("max (host)"), "{line}");
    }
    // `isotop cgroups` says whose the payload cgroup is.
    let out = run_isotop(&["cgroups", &format!("/{parent}/payload")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("own: {parent}")), "{text}");
    drop(busy);
    drop(payload);
}

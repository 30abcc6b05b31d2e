//! What the kernel counts of a container's trouble, made to happen for real (root): an
//! `unknown` container (`unshare --pid` running a perl init) in a test cgroup of its own
//! (every v1 hierarchy here, v2 in the VM) forks past `pids.max` = 2, and `isotop ls --json`,
//! `ls --wide` and `inspect --json` count the refused forks as `pids.events` `max` does; another
//! allocates past a 32 MiB memory limit, the OOM killer kills its allocating child, and the
//! sampler counts that kill in total and since it started, as `ls --json` does, equal to the
//! kernel's `oom_kill`. The cgroups live under a uniquely named test parent and are removed by
//! its guard (never the machine's own `process_api`).

use crate::support::{common, unshared};

use std::path::Path;
use std::time::Duration;

use common::{CgroupGuard, read_key, require_program};
use isotop::sample::{ContainerSample, Sampler};
use unshared::{
    ALLOCATE_PAST_THE_LIMIT, FORK_PAST_THE_LIMIT, WAIT_UNTIL_MOVED, box_dir, ls_row, unshare_perl,
    v2_host,
};

#[test]
#[ignore = "needs root"]
fn forks_refused_at_pids_max_are_counted() {
    if !require_program("unshare") || !require_program("perl") {
        return;
    }
    let guard = CgroupGuard::new("pids-refused");
    let box_path = guard.child("box");
    let pids_dir = box_dir(&guard, "pids");
    std::fs::write(pids_dir.join("pids.max"), "2").unwrap();
    let script = format!("{WAIT_UNTIL_MOVED}{FORK_PAST_THE_LIMIT}");
    let (_unshare, init) = unshare_perl(&script, &[&guard.rel, "pids"]);
    guard.add_pid("box", init.0);

    let events = pids_dir.join("pids.events");
    assert!(
        common::wait_until(Duration::from_secs(10), || read_key(&events, "max") >= 1),
        "the kernel refused no fork: {}",
        common::read_text(&events)
    );
    // All five forks were tried by now once the one allowed child exists and max settles.
    std::thread::sleep(Duration::from_millis(300));
    let refused = read_key(&events, "max");
    assert_eq!(refused, 4, "pids.max 2 lets one of five forks through");

    let row = ls_row(init.0);
    assert_eq!(row["cgroup_path"], box_path.as_str(), "{row:#}");
    assert_eq!(row["pids_refused_forks"], refused, "{row:#}");
    let id = row["id"].as_str().unwrap().to_string();

    let inspected = common::isotop_json(&["inspect", &id, "--json"]);
    assert_eq!(inspected["pids_refused_forks"], refused, "{inspected:#}");
    assert!(
        inspected["cgroup"]["sources"]["pids.refused_forks"]
            .as_str()
            .is_some_and(|s| s.ends_with("pids.events")),
        "{inspected:#}"
    );

    // `ls --wide` shows it in the REFUSED column of that row.
    let out = common::run_isotop(&["ls", "--wide", "--interval", "0"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap_or_default();
    assert!(header.trim_end().ends_with("REFUSED"), "{text}");
    let line = text
        .lines()
        // Its PID cell (not a fixed column: a Kubernetes container on the host adds POD).
        .find(|l| {
            l.split_whitespace()
                .any(|cell| cell == init.0.to_string().as_str())
        })
        .unwrap_or_else(|| panic!("no row for pid {} in\n{text}", init.0));
    assert_eq!(
        line.split_whitespace().last(),
        Some(refused.to_string().as_str()),
        "{text}"
    );
}

/// The sample of the container whose init is `pid`.
fn sample_of(sampler: &mut Sampler, pid: i32) -> ContainerSample {
    let frame = sampler.tick().unwrap();
    let frame_ids: Vec<_> = frame
        .containers
        .iter()
        .map(|c| (c.view.container.init_pid, c.view.container.name.clone()))
        .collect();
    frame
        .containers
        .into_iter()
        .find(|c| c.view.container.init_pid == Some(pid))
        .unwrap_or_else(|| panic!("no container with init {pid} sampled: {:?}", frame_ids))
}

#[test]
#[ignore = "needs root"]
fn an_oom_kill_is_counted_in_total_and_since_isotop_started() {
    if !require_program("unshare") || !require_program("perl") {
        return;
    }
    let guard = CgroupGuard::new("oom-kill");
    guard.child("box");
    let memory_dir = box_dir(&guard, "memory");
    let (limit_file, events_file, kill_key) = if v2_host() {
        ("memory.max", "memory.events", "oom_kill")
    } else {
        ("memory.limit_in_bytes", "memory.oom_control", "oom_kill")
    };
    std::fs::write(memory_dir.join(limit_file), (32u64 << 20).to_string()).unwrap();
    // No swap to escape to (v2; this host has none either way).
    let _ = std::fs::write(memory_dir.join("memory.swap.max"), "0");
    let go_dir = tempfile::tempdir().unwrap();
    let go = go_dir.path().join("go");
    let script = format!("{WAIT_UNTIL_MOVED}{ALLOCATE_PAST_THE_LIMIT}");
    let (_unshare, init) = unshare_perl(&script, &[&guard.rel, "memory", go.to_str().unwrap()]);
    guard.add_pid("box", init.0);
    let events = memory_dir.join(events_file);
    assert_eq!(read_key(&events, kill_key), 0);

    // The sampler sees the container before the kill: nothing since it started.
    let mut sampler = crate::support::sampling::eager_sampler();
    let before = sample_of(&mut sampler, init.0);
    assert_eq!(before.kernel.oom_kills, Some(0), "{:?}", before.kernel);
    assert_eq!(before.oom_kills_since_start, Some(0));

    std::fs::write(&go, "").unwrap();
    assert!(
        common::wait_until(Duration::from_secs(20), || read_key(&events, kill_key) >= 1),
        "no OOM kill: {}",
        common::read_text(&events)
    );
    let kills = read_key(&events, kill_key);
    let after = sample_of(&mut sampler, init.0);
    assert_eq!(after.kernel.oom_kills, Some(kills));
    assert_eq!(after.oom_kills_since_start, Some(kills));
    // The init survived: only the allocating child was killed.
    assert!(Path::new(&format!("/proc/{}", init.0)).exists());

    let row = ls_row(init.0);
    assert_eq!(row["oom_kills"], kills, "{row:#}");
}

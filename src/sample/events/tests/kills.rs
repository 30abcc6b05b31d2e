//! OOM kills and refused forks: a counter that grows is an event and one that goes back is
//! not, a container born while watched tells the kills before it was first grouped, and an
//! OOM kill names its victim from the kernel log, even a tick late.

use super::*;

#[test]
fn counters_growing_are_events_and_counters_going_back_are_not() {
    let mut bench = Bench::new();
    let mut a = container("a", 10, 1, true);
    a.kernel.oom_kills = Some(5);
    a.kernel.pids_refused_forks = Some(1);
    bench.tick(&[a.clone()]);
    assert!(bench.tick(&[a.clone()]).is_empty());
    // Made again: both counters back to low values.
    a.kernel.oom_kills = Some(2);
    a.kernel.pids_refused_forks = Some(0);
    assert!(bench.tick(&[a.clone()]).is_empty());
    a.kernel.oom_kills = Some(4);
    a.kernel.pids_refused_forks = Some(3);
    a.pids_limit = Some(Limit::Value(2));
    let events = bench.tick(&[a]);
    assert_eq!(kinds(&events), ["oom_kill", "pids_limit_hit"], "{events:?}");
    // No kernel log under this root: the kill goes at once, its victim unknown.
    assert_eq!(
        events[0].kind,
        EventKind::OomKill {
            pid: None,
            command: None,
            count: 2
        }
    );
    assert_eq!(events[1].kind, EventKind::PidsLimitHit { refused: 3 });
    assert_eq!(events[1].detail, "3 fork(s) refused at pids.max 2");
    assert!(events.iter().all(|e| e.kind.is_trouble()));
}

#[test]
fn a_container_born_while_watched_tells_the_kills_before_it_was_first_seen() {
    let mut bench = Bench::new();
    bench.tick(&[]);
    std::thread::sleep(std::time::Duration::from_millis(30));
    // Started after the baseline (uptime 10 ms), OOM-killed before the grouping found it.
    let mut young = container("young", 10, 1, true);
    young.view.uptime_seconds = Some(0.01);
    young.kernel.oom_kills = Some(1);
    young.kernel.pids_refused_forks = Some(2);
    // Found the same tick, but running for an hour: its counts are from before isotop looked.
    let mut old = container("old", 20, 1, true);
    old.view.uptime_seconds = Some(3600.0);
    old.kernel.oom_kills = Some(4);
    // Uptime unknown: nothing can be said of its counts.
    let mut unknown = container("unknown", 30, 1, true);
    unknown.view.uptime_seconds = None;
    unknown.kernel.oom_kills = Some(3);
    let events = bench.tick(&[young.clone(), old.clone(), unknown.clone()]);
    let of = |id: &str| -> Vec<&'static str> {
        events
            .iter()
            .filter(|e| e.subject.container_id.as_deref() == Some(id))
            .map(|e| e.kind.name())
            .collect()
    };
    assert_eq!(
        of("young"),
        ["started", "oom_kill", "pids_limit_hit"],
        "{events:?}"
    );
    assert_eq!(of("old"), ["started"], "{events:?}");
    assert_eq!(of("unknown"), ["started"], "{events:?}");
    // Told once: the next tick compares with what was told.
    assert!(bench.tick(&[young, old, unknown]).is_empty());
}

#[test]
fn an_oom_kill_names_its_victim_from_the_kernel_log_even_a_tick_late() {
    let mut bench = Bench::new();
    std::fs::create_dir_all(bench.path("dev")).unwrap();
    std::fs::create_dir_all(bench.path("proc")).unwrap();
    std::fs::write(bench.path("proc/uptime"), "100.0 100.0\n").unwrap();
    // An old kill: before the baseline, never told.
    let log = bench.path("dev/kmsg");
    std::fs::write(
        &log,
        "3,1,1000,-;Memory cgroup out of memory: Killed process 11 (old) total-vm:1kB\n",
    )
    .unwrap();
    let mut a = container("a", 10, 1, true);
    std::sync::Arc::make_mut(&mut a.view.container).pids = vec![10, 11];
    a.kernel.oom_kills = Some(0);
    a.memory_limit_bytes = Some(Limit::Value(32 << 20));
    bench.tick(&[a.clone()]);
    // The counter grew, the log has no line yet: the event waits a tick.
    a.kernel.oom_kills = Some(1);
    std::sync::Arc::make_mut(&mut a.view.container).pids = vec![10];
    assert!(bench.tick(&[a.clone()]).is_empty());
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(
        b"6,2,90000000,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/x,task_memcg=/x,task=py,pid=11,uid=0\n\
          3,3,90000010,-;Memory cgroup out of memory: Killed process 11 (python3) total-vm:1kB\n",
    )
    .unwrap();
    let events = bench.tick(&[a.clone()]);
    assert_eq!(kinds(&events), ["oom_kill"], "{events:?}");
    assert_eq!(
        events[0].kind,
        EventKind::OomKill {
            pid: Some(11),
            command: Some("python3".into()),
            count: 1
        }
    );
    assert_eq!(events[0].timing, Timing::Dated);
    assert_eq!(
        events[0].detail,
        "OOM kill: pid 11 (python3) at memory limit 32.0MiB"
    );
    // A second kill the log never names goes after its one tick of waiting, unnamed.
    a.kernel.oom_kills = Some(2);
    assert!(bench.tick(&[a.clone()]).is_empty());
    let events = bench.tick(&[a]);
    assert_eq!(
        events[0].kind,
        EventKind::OomKill {
            pid: None,
            command: None,
            count: 1
        }
    );
}

#[test]
fn a_kill_that_ended_a_container_is_its_own_though_told_by_its_parent_cgroup() {
    // v2: the container's whole cgroup is OOM-killed and removed before the next tree read;
    // the parent's count holds the kills, the kernel log names the container's cgroup.
    let v2 = layout(false);
    let mut bench = Bench::new();
    std::fs::create_dir_all(bench.path("dev")).unwrap();
    std::fs::create_dir_all(bench.path("proc")).unwrap();
    std::fs::write(bench.path("proc/uptime"), "100.0 100.0\n").unwrap();
    let log = bench.path("dev/kmsg");
    std::fs::write(&log, "").unwrap();
    let mut a = container("a", 10, 1, true);
    std::sync::Arc::make_mut(&mut a.view.container).cgroup_path = Some("/isotop/a".into());
    a.kernel.oom_kills = Some(0);
    let tree = |parent_kills: u64, with_a: bool| {
        let mut t = vec![
            cgroup("/", 0, parent_kills, None),
            cgroup("/isotop", 1, parent_kills, None),
        ];
        if with_a {
            t.push(cgroup("/isotop/a", 2, 0, Some("a")));
        }
        t
    };
    bench.tick_with(&[a.clone()], Some((&tree(0, true), &v2)));
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(
        b"6,2,90000000,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/isotop/a,task_memcg=/isotop/a,task=tail,pid=12,uid=0\n\
          3,3,90000010,-;Memory cgroup out of memory: Killed process 12 (tail) total-vm:1kB\n",
    )
    .unwrap();
    // The kernel log's line is read the tick after (the reader pairs its two lines).
    let mut events = bench.tick_with(&[], Some((&tree(1, false), &v2)));
    events.extend(bench.tick(&[]));
    let kill = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::OomKill { .. }))
        .unwrap_or_else(|| panic!("no kill: {events:?}"));
    assert_eq!(
        kill.subject.container_id.as_deref(),
        Some("a"),
        "{events:?}"
    );
    assert_eq!(kill.subject.cgroup.as_deref(), Some("/isotop/a"));
    assert_eq!(kill.detail, "OOM kill: pid 12 (tail)");
    // A kill of another cgroup's process under the same parent stays the parent's.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(
        b"6,4,91000000,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/isotop/b,task_memcg=/isotop/b,task=x,pid=99,uid=0\n\
          3,5,91000010,-;Memory cgroup out of memory: Killed process 99 (x) total-vm:1kB\n",
    )
    .unwrap();
    let mut events = bench.tick_with(&[], Some((&tree(2, false), &v2)));
    events.extend(bench.tick(&[]));
    let kill = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::OomKill { .. }))
        .unwrap_or_else(|| panic!("no kill: {events:?}"));
    assert_eq!(kill.subject.container_id, None, "{events:?}");
    assert_eq!(kill.subject.name, "/isotop");
}

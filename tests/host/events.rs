//! Events the sampler tells (`Frame::events`), made to happen for real (root) to `unknown`
//! containers (`unshare --pid` with a perl or sleep init) in test cgroups of their own under a
//! uniquely named parent: an OOM kill of a child (not the init) named by the kernel log, a
//! bounded fork bomb against `pids.max`, a limit changed by a plain write and one changed by
//! `isotop limit` (then listed by `isotop events --since`), throttling above the threshold that
//! starts and ends, and a container that starts and exits. Each within two ticks of the
//! kernel's counter or file showing it (throttling: of the interval's figure).

use crate::support::{common, sampling, unshared};

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{CgroupGuard, ChildGuard, read_key, require_program};
use isotop::host::events::{ChangedBy, Event, EventKind, Timing};
use isotop::sample::Sampler;
use isotop::sample::containers::LIMITS_EVERY;
use unshared::{
    ALLOCATE_PAST_THE_LIMIT, PidGuard, WAIT_UNTIL_MOVED, box_dir, child_of, unshare, unshare_perl,
    v2_host,
};

/// The id of the container whose init is `pid`, ticking until the sampler groups it, and the
/// events told on the way.
pub(crate) fn grouped(sampler: &mut Sampler, pid: i32) -> (String, Vec<Event>) {
    let mut events = Vec::new();
    for _ in 0..20 {
        let frame = sampler.tick().unwrap();
        events.extend(frame.events);
        if let Some(c) = frame
            .containers
            .iter()
            .find(|c| c.view.container.init_pid == Some(pid))
        {
            return (c.view.container.id.clone(), events);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no container with init {pid} sampled")
}

/// The id of the container whose init is `pid` (see [`grouped`]).
pub(crate) fn container_id(sampler: &mut Sampler, pid: i32) -> String {
    grouped(sampler, pid).0
}

/// Ticks `sampler` `ticks` times, `gap` apart, and returns every event told.
pub(crate) fn events_of(sampler: &mut Sampler, ticks: usize, gap: Duration) -> Vec<Event> {
    let mut events = Vec::new();
    for at in 0..ticks {
        if at > 0 {
            std::thread::sleep(gap);
        }
        events.extend(sampler.tick().unwrap().events);
    }
    events
}

/// The events of container `id` among `events`.
fn of<'a>(events: &'a [Event], id: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.subject.container_id.as_deref() == Some(id))
        .collect()
}

fn ready() -> bool {
    require_program("unshare") && require_program("perl")
}

/// The memory limit file of a cgroup: v2 `memory.max`, v1 `memory.limit_in_bytes`.
fn memory_limit_file() -> &'static str {
    if v2_host() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    }
}

/// An `unknown` container whose init runs perl `body` once the test moved it into the guard's
/// `box` cgroup (the script gets the guard's path, `controller` and `args`).
fn perl_in_box(
    guard: &CgroupGuard,
    controller: &str,
    body: &str,
    args: &[&str],
) -> (ChildGuard, PidGuard) {
    let mut all = vec![guard.rel.as_str(), controller];
    all.extend(args);
    let (unshare, init) = unshare_perl(&format!("{WAIT_UNTIL_MOVED}{body}"), &all);
    guard.add_pid("box", init.0);
    (unshare, init)
}

/// A container in a test cgroup `box` with a 32 MiB memory limit and no swap, whose perl init
/// forks a child that allocates past the limit when [`OomBox::kill_child`] lets it.
pub(crate) struct OomBox {
    pub init: PidGuard,
    _unshare: ChildGuard,
    files: tempfile::TempDir,
    memory_dir: PathBuf,
    /// Last: it kills what is left in its cgroups, then removes them.
    _guard: CgroupGuard,
}

impl OomBox {
    pub(crate) fn new(what: &str) -> OomBox {
        let guard = CgroupGuard::new(what);
        guard.child("box");
        let memory_dir = box_dir(&guard, "memory");
        std::fs::write(
            memory_dir.join(memory_limit_file()),
            (32u64 << 20).to_string(),
        )
        .unwrap();
        let _ = std::fs::write(memory_dir.join("memory.swap.max"), "0");
        let files = tempfile::tempdir().unwrap();
        let (go, allocate) = (files.path().join("go"), files.path().join("allocate"));
        let args = [go.to_str().unwrap(), allocate.to_str().unwrap()];
        let (unshare, init) = perl_in_box(&guard, "memory", ALLOCATE_PAST_THE_LIMIT, &args);
        OomBox {
            init,
            _unshare: unshare,
            files,
            memory_dir,
            _guard: guard,
        }
    }

    /// Lets the init fork its child, then the child allocate; returns the child's host pid
    /// once the kernel counted the kill.
    pub(crate) fn kill_child(&self) -> i32 {
        std::fs::write(self.files.path().join("go"), "").unwrap();
        let child = child_of(self.init.0);
        assert_ne!(child, self.init.0);
        std::fs::write(self.files.path().join("allocate"), "").unwrap();
        let events_file = self.memory_dir.join(if v2_host() {
            "memory.events"
        } else {
            "memory.oom_control"
        });
        assert!(
            common::wait_until(Duration::from_secs(20), || read_key(
                &events_file,
                "oom_kill"
            ) >= 1),
            "no OOM kill: {}",
            common::read_text(&events_file)
        );
        child
    }
}

#[test]
#[ignore = "needs root"]
fn an_oom_kill_of_a_child_is_an_event_naming_it_from_the_kernel_log() {
    if !ready() {
        return;
    }
    let oom = OomBox::new("events-oom");
    let init = &oom.init;
    let mut sampler = sampling::eager_sampler();
    let id = container_id(&mut sampler, init.0);
    assert!(of(&events_of(&mut sampler, 1, Duration::ZERO), &id).is_empty());
    let child = oom.kill_child();

    let events = events_of(&mut sampler, 2, Duration::from_millis(200));
    let mine = of(&events, &id);
    let kill = mine
        .iter()
        .find(|e| matches!(e.kind, EventKind::OomKill { .. }))
        .unwrap_or_else(|| panic!("no OOM kill event within two ticks: {events:#?}"));
    assert_eq!(
        kill.kind,
        EventKind::OomKill {
            pid: Some(child),
            command: Some("perl".into()),
            count: 1
        },
        "{kill:#?}"
    );
    // Dated by the kernel's record, within the test's span.
    assert_eq!(kill.timing, Timing::Dated);
    assert!(kill.at_ms.abs_diff(isotop::units::now_ms()) < 60_000);
    assert!(
        kill.detail.contains(&format!("pid {child} (perl)")),
        "{kill:#?}"
    );
    assert!(kill.kind.is_trouble());
    // The init survived: only the child was killed.
    assert!(Path::new(&format!("/proc/{}", init.0)).exists());
}

/// Once moved and `$ARGV[2]` exists: a fork bomb bounded to eight children that fork twice
/// each, against a small `pids.max`.
const FORK_BOMB: &str = r#"
my $go = $ARGV[2];
select(undef, undef, undef, 0.05) until -e $go;
for (1 .. 8) {
    my $pid = fork();
    if (defined $pid && $pid == 0) { fork(); fork(); sleep 1000; exit 0; }
}
sleep 1000;
"#;

#[test]
#[ignore = "needs root"]
fn a_fork_bomb_against_pids_max_is_a_pids_limit_event() {
    if !ready() {
        return;
    }
    let guard = CgroupGuard::new("events-pids");
    guard.child("box");
    let pids_dir = box_dir(&guard, "pids");
    std::fs::write(pids_dir.join("pids.max"), "4").unwrap();
    let files = tempfile::tempdir().unwrap();
    let go = files.path().join("go");
    let (_unshare, init) = perl_in_box(&guard, "pids", FORK_BOMB, &[go.to_str().unwrap()]);

    let mut sampler = sampling::eager_sampler();
    let id = container_id(&mut sampler, init.0);
    std::fs::write(&go, "").unwrap();
    let events_file = pids_dir.join("pids.events");
    assert!(
        common::wait_until(Duration::from_secs(10), || read_key(&events_file, "max")
            >= 1),
        "no fork refused: {}",
        common::read_text(&events_file)
    );
    // Every fork tried by now (the bomb is bounded and quick).
    std::thread::sleep(Duration::from_millis(500));
    let refused = read_key(&events_file, "max");
    let events = events_of(&mut sampler, 2, Duration::from_millis(200));
    let told: u64 = of(&events, &id)
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::PidsLimitHit { refused } => Some(refused),
            _ => None,
        })
        .sum();
    assert_eq!(told, refused, "{events:#?}");
    let hit = of(&events, &id)
        .into_iter()
        .find(|e| matches!(e.kind, EventKind::PidsLimitHit { .. }))
        .unwrap();
    assert!(hit.detail.ends_with("at pids.max 4"), "{hit:#?}");
    assert_eq!(hit.timing, Timing::Sampled);
}

/// The `LimitChanged` events among `events`: (limit, to, by).
fn limit_changes(events: &[&Event]) -> Vec<(String, String, ChangedBy)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::LimitChanged { limit, to, by, .. } => {
                Some((limit.clone(), to.clone().unwrap_or_default(), by.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
#[ignore = "needs root"]
fn a_limit_written_behind_isotops_back_and_one_isotop_set_are_told_apart() {
    if !ready() {
        return;
    }
    let guard = CgroupGuard::new("events-limit");
    guard.child("box");
    let limit_file = box_dir(&guard, "memory").join(memory_limit_file());
    std::fs::write(&limit_file, (64u64 << 20).to_string()).unwrap();
    let (_unshare, init) = perl_in_box(&guard, "memory", "sleep 1000;", &[]);
    let state = tempfile::tempdir().unwrap();
    let audit_log = state.path().join("audit.jsonl");
    let isotop = |args: &[&str]| {
        common::isotop()
            .args(args)
            .env("ISOTOP_AUDIT_LOG", &audit_log)
            .env("ISOTOP_STATE_DIR", state.path().join("state"))
            .output()
            .unwrap()
    };

    let mut sampler = sampling::eager_sampler();
    sampler.set_audit_log(audit_log.clone());
    let id = container_id(&mut sampler, init.0);
    assert!(of(&events_of(&mut sampler, 1, Duration::ZERO), &id).is_empty());

    // `echo 100663296 > memory.limit_in_bytes`: someone else. The sampler reads a container's
    // limits again every LIMITS_EVERY ticks (staggered), so it shows within that many (+1: the
    // first tick may be the one just after a read).
    std::fs::write(&limit_file, (96u64 << 20).to_string()).unwrap();
    let ticks = LIMITS_EVERY as usize + 1;
    let events = events_of(&mut sampler, ticks, Duration::from_millis(200));
    assert_eq!(
        limit_changes(&of(&events, &id)),
        [(
            memory_limit_file().to_string(),
            "96.0MiB".to_string(),
            ChangedBy::Other
        )],
        "{events:#?}"
    );

    let out = isotop(&["limit", &init.0.to_string(), "--memory", "128M"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = events_of(&mut sampler, 2, Duration::from_millis(200));
    assert_eq!(
        limit_changes(&of(&events, &id)),
        [(
            memory_limit_file().to_string(),
            "128.0MiB".to_string(),
            ChangedBy::Isotop
        )],
        "{events:#?}"
    );

    // `isotop events --since 10m TARGET` lists isotop's change from its audit log (the
    // write behind its back has no dated source: not listed).
    let out = isotop(&["events", "--since", "10m", "--json", &init.0.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "limit_changed")
        .collect();
    assert_eq!(changes.len(), 1, "{listed:#}");
    assert_eq!(changes[0]["by"], "isotop");
    assert_eq!(changes[0]["timing"], "dated");
    assert_eq!(changes[0]["to"], "128.0MiB");
    assert_eq!(changes[0]["subject"]["container_id"], id.as_str());
    // The text table marks nothing here as trouble and names the file.
    let out = isotop(&["events", "--since", "10m", &init.0.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("TIME"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("limit_changed") && l.contains(memory_limit_file())),
        "{text}"
    );
}

/// Once moved: busy until `$ARGV[2]` exists, then idle.
const BUSY_UNTIL_STOPPED: &str = r#"
my $stop = $ARGV[2];
my $n = 0;
until (-e $stop) { $n++ for 1 .. 20000; }
sleep 1000;
"#;

#[test]
#[ignore = "needs root"]
fn throttling_above_the_threshold_starts_and_ends() {
    if !ready() {
        return;
    }
    let guard = CgroupGuard::new("events-throttle");
    guard.child("box");
    let cpu_dir = box_dir(&guard, "cpu");
    // 0.1 CPU: a busy loop is throttled in nearly every period.
    if v2_host() {
        std::fs::write(cpu_dir.join("cpu.max"), "10000 100000").unwrap();
    } else {
        std::fs::write(cpu_dir.join("cpu.cfs_period_us"), "100000").unwrap();
        std::fs::write(cpu_dir.join("cpu.cfs_quota_us"), "10000").unwrap();
    }
    let files = tempfile::tempdir().unwrap();
    let stop = files.path().join("stop");
    let (_unshare, init) =
        perl_in_box(&guard, "cpu", BUSY_UNTIL_STOPPED, &[stop.to_str().unwrap()]);

    let mut sampler = sampling::eager_sampler();
    let id = container_id(&mut sampler, init.0);
    let gap = Duration::from_millis(500);
    let events = events_of(&mut sampler, 3, gap);
    let started: Vec<_> = of(&events, &id)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Throttled { .. }))
        .collect();
    assert_eq!(started.len(), 1, "{events:#?}");
    match started[0].kind {
        EventKind::Throttled { percent, ended } => {
            assert!(!ended);
            assert!(percent >= 50.0, "{percent}");
        }
        _ => unreachable!(),
    }
    assert!(started[0].kind.is_trouble());

    std::fs::write(&stop, "").unwrap();
    // The state ends once the figure stays low for END_AFTER samples (and a tick or two for
    // the busy loop to stop).
    let samples = isotop::sample::events::END_AFTER as usize + 2;
    let events = events_of(&mut sampler, samples, gap);
    let ended: Vec<_> = of(&events, &id)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Throttled { ended: true, .. }))
        .collect();
    assert_eq!(ended.len(), 1, "{events:#?}");
    assert!(!ended[0].kind.is_trouble());
}

#[test]
#[ignore = "needs root"]
fn a_container_that_starts_and_exits_is_told_both_times() {
    if !require_program("unshare") {
        return;
    }
    let mut sampler = sampling::eager_sampler();
    // The baseline: what already runs is not "started".
    let baseline = sampler.tick().unwrap();
    assert!(baseline.events.is_empty(), "{:#?}", baseline.events);

    let (unshare_guard, init) = unshare(&["sleep", "1000"], "sleep");
    let (id, events) = grouped(&mut sampler, init.0);
    let started = of(&events, &id);
    assert_eq!(started.len(), 1, "{events:#?}");
    assert_eq!(started[0].kind, EventKind::Started);
    assert!(
        started[0].detail.contains(&format!("init pid {}", init.0)),
        "{:#?}",
        started[0]
    );
    // Told once.
    let events = events_of(&mut sampler, 1, Duration::ZERO);
    assert!(of(&events, &id).is_empty(), "{events:#?}");

    let pid_dir = std::path::PathBuf::from(format!("/proc/{}", init.0));
    drop(unshare_guard);
    drop(init);
    // Gone once reaped (a zombie is still listed).
    assert!(common::wait_until(Duration::from_secs(10), || !pid_dir.exists()));
    let events = events_of(&mut sampler, 2, Duration::from_millis(200));
    let exits: Vec<_> = of(&events, &id)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Exited { .. }))
        .collect();
    assert_eq!(exits.len(), 1, "{events:#?}");
    // An `unknown` container's runtime records no exit code.
    assert_eq!(
        exits[0].kind,
        EventKind::Exited {
            exit_code: None,
            stop_requested: false
        }
    );
}

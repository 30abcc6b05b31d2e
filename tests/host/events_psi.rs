//! Pressure events from PSI triggers (`sample::pressure_triggers`), made to happen for real
//! (root) in test cgroups of the v2 hierarchy (on a hybrid host the unified one) under a
//! uniquely named parent: a 1.5 s burst of four busy loops on this machine's cores — a stall
//! `some avg10` smooths to well below the 20 % threshold — fires the cgroup's CPU trigger and
//! the detector tells it at once with the trigger's text, for a cgroup no container owns and
//! for a container's own cgroup, while an idle cgroup beside it tells nothing; and a watched
//! cgroup removed wakes the watcher (`POLLERR`), which closes its fds without a tick and
//! without an error. Skipped, with the reason, where the kernel has no PSI or refuses triggers.

use crate::events::container_id;
use crate::support::{common, psi, sampling, unshared};

use std::time::{Duration, Instant};

use common::{ChildGuard, test_name};
use isotop::host::events::{Event, EventKind, PressureResource, Timing};
use isotop::sample::Sampler;
use isotop::sample::pressure_triggers::TriggerRefusal;
use psi::{busy_bursts, fds_naming, psi_ready, v2_guard};
use unshared::{WAIT_UNTIL_MOVED, unshare_perl};

/// How long the busy loops run, s: long enough for a 20 % trigger of a 1 s window to fire,
/// short enough that `some avg10` stays well below 20 %.
const BURST_SECONDS: f64 = 1.5;

/// Ticks `sampler` until its watcher has triggers armed on each cgroup of `keys` (their paths),
/// and this process holds at least three fds on each one's pressure files. False, with the
/// reason printed, when the kernel refuses triggers here; panics when they are not armed for
/// another reason.
fn armed(sampler: &mut Sampler, keys: &[&str]) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let frame = sampler.tick().unwrap();
        for key in keys {
            assert!(
                !frame.warnings.iter().any(|w| w.contains(key)),
                "{:?}",
                frame.warnings
            );
        }
        if keys
            .iter()
            .all(|k| sampler.pressure_trigger_armed(k) && fds_naming(&format!("{k}/")) >= 3)
        {
            return true;
        }
        let status = sampler.pressure_triggers();
        if status.armed == 0
            && matches!(
                status.refused,
                Some(
                    TriggerRefusal::NotPermitted
                        | TriggerRefusal::Unprivileged
                        | TriggerRefusal::Unsupported
                )
            )
        {
            eprintln!(
                "skipping {}: the kernel refuses PSI triggers here ({status:?})",
                test_name()
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "no triggers armed on {keys:?}: {:?}",
        sampler.pressure_triggers()
    );
}

/// Ticks every 200 ms for up to 10 s, until an event among them satisfies `wanted`; returns
/// every event told, and that event's index.
fn tick_until(sampler: &mut Sampler, wanted: impl Fn(&Event) -> bool) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
        events.extend(sampler.tick().unwrap().events);
        if let Some(at) = events.iter().position(&wanted) {
            return (events, at);
        }
    }
    panic!("no such event within 10 s: {events:#?}");
}

/// Ticks `sampler` until the CPU pressure of the cgroup at `dir` (`some avg10`) has been below
/// 2 % for [`QUIET_TICKS`] ticks in a row and no CPU pressure the sampler saw start there is
/// still open — a pressure the sampler opened before (the pollers starting up in a loaded VM)
/// takes the burst's trigger in without a new event, and it ends only after ten quiet samples
/// (the VM's full runs saw both) — at most 30 s: a machine that busy only makes the test
/// stricter.
fn wait_for_quiet(sampler: &mut Sampler, dir: &std::path::Path, path: &str) {
    let start = Instant::now();
    let mut open = false;
    let mut quiet = 0;
    while start.elapsed() < Duration::from_secs(30) {
        let avg10 = std::fs::read_to_string(dir.join("cpu.pressure"))
            .ok()
            .and_then(|text| {
                let some = text.lines().find(|l| l.starts_with("some "))?;
                let field = some.split_whitespace().find(|f| f.starts_with("avg10="))?;
                field.trim_start_matches("avg10=").parse::<f64>().ok()
            });
        quiet = if avg10.is_some_and(|v| v < 2.0) {
            quiet + 1
        } else {
            0
        };
        if !open && quiet > QUIET_TICKS {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
        let events = sampler.tick().unwrap().events;
        for e in cpu_pressure_of(&events, path) {
            if let EventKind::Pressure { ended, .. } = e.kind {
                open = !ended;
            }
        }
    }
}

/// Quiet ticks in a row that close any pressure the sampler has open (it ends one after ten
/// samples below ¾ of its threshold).
const QUIET_TICKS: usize = 12;

/// The CPU pressure events of cgroup `path` among `events`.
fn cpu_pressure_of<'a>(events: &'a [Event], path: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| {
            e.subject.cgroup.as_deref() == Some(path)
                && matches!(
                    e.kind,
                    EventKind::Pressure {
                        resource: PressureResource::Cpu,
                        ..
                    }
                )
        })
        .collect()
}

/// Checks the event a trigger started: CPU pressure, its text, dated at the fire within the
/// window of the burst's start.
fn assert_from_trigger(event: &Event, burst_ms: u64, window_us: Option<u64>) {
    assert!(
        event.detail.starts_with("CPU pressure: at least ")
            && event.detail.ends_with(" (PSI trigger)"),
        "{event:#?}"
    );
    assert_eq!(event.timing, Timing::Dated, "{event:#?}");
    assert!(event.kind.is_trouble());
    let window_ms = window_us.expect("a trigger was made") / 1000;
    let latency = event.at_ms.saturating_sub(burst_ms);
    eprintln!(
        "{}: the trigger fired {latency} ms after the burst began ({window_ms} ms window)",
        test_name()
    );
    // The stall reaches the threshold within the window; the kernel's `psimon` checks it ten
    // times a window. A second more for a loaded machine (or an emulated VM).
    assert!(latency <= window_ms + 1_000, "{latency} ms: {event:#?}");
}

#[test]
#[ignore = "needs root"]
fn a_stall_burst_fires_a_cgroups_trigger_and_is_an_event_at_once_an_idle_cgroup_none() {
    if !psi_ready() {
        return;
    }
    let _alone = crate::support::timing::one_at_a_time();
    let guard = v2_guard("psi-burst");
    let (busy_path, idle_path) = (guard.child("busy"), guard.child("idle"));
    let files = tempfile::tempdir().unwrap();
    let go = files.path().join("go");
    let busy = busy_bursts(4, &go, BURST_SECONDS);
    for b in &busy {
        guard.add_pid("busy", b.pid());
    }
    let idle = ChildGuard::spawn(std::process::Command::new("sleep").arg("1000"));
    guard.add_pid("idle", idle.pid());

    let mut sampler = sampling::eager_sampler();
    // The two leaves (the parent is not one: not watched).
    if !armed(&mut sampler, &[&busy_path, &idle_path]) {
        return;
    }
    assert!(!sampler.pressure_trigger_armed(&guard.rel));
    // The four perl processes starting up stall each other in a loaded VM: a pressure the
    // sampler may see start (and end); the burst begins once that has died down.
    wait_for_quiet(&mut sampler, &guard.dir("", "busy"), &busy_path);
    let burst_ms = isotop::units::now_ms();
    std::fs::write(&go, "").unwrap();
    // The trigger's event (a stall before the burst — the pollers starting up in a loaded VM —
    // may have been sampled, and ended, meanwhile).
    let (mut events, at) = tick_until(&mut sampler, |e| {
        !cpu_pressure_of(std::slice::from_ref(e), &busy_path).is_empty()
            && e.detail.ends_with(" (PSI trigger)")
    });
    assert_from_trigger(&events[at], burst_ms, sampler.pressure_triggers().window_us);

    // Two more seconds: the idle cgroup and the parent (whose stall is its child's, told
    // there) tell nothing.
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(200));
        events.extend(sampler.tick().unwrap().events);
    }
    assert!(
        cpu_pressure_of(&events, &idle_path).is_empty(),
        "{events:#?}"
    );
    assert!(
        cpu_pressure_of(&events, &guard.rel).is_empty(),
        "{events:#?}"
    );
    // Started once (it may have ended since: END_AFTER ticks of 200 ms).
    let started = cpu_pressure_of(&events, &busy_path)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Pressure { ended: false, .. }))
        .count();
    assert_eq!(started, 1, "{events:#?}");
}

/// Once moved into its v2 cgroup and `$ARGV[2]` exists: four children busy for `$ARGV[3]` s.
const FORK_BUSY_BURSTS: &str = r#"
use Time::HiRes qw(time sleep);
my ($go, $seconds) = @ARGV[2, 3];
sleep 0.02 until -e $go;
for (1 .. 4) {
    my $pid = fork();
    if (defined $pid && $pid == 0) {
        my $end = time + $seconds;
        my $n = 0;
        while (time < $end) { $n++ for 1 .. 1000; }
        sleep 1000;
        exit 0;
    }
}
sleep 1000;
"#;

#[test]
#[ignore = "needs root"]
fn a_stall_burst_in_a_container_is_its_pressure_event_from_its_trigger() {
    if !(psi_ready() && common::require_program("unshare")) {
        return;
    }
    let _alone = crate::support::timing::one_at_a_time();
    let guard = v2_guard("psi-container");
    let box_path = guard.child("box");
    let files = tempfile::tempdir().unwrap();
    let go = files.path().join("go");
    let seconds = BURST_SECONDS.to_string();
    // The v2 line of /proc/self/cgroup has no controllers: any name finds it.
    let script = format!("{WAIT_UNTIL_MOVED}{FORK_BUSY_BURSTS}");
    let args = [guard.rel.as_str(), "v2", go.to_str().unwrap(), &seconds];
    let (_unshare, init) = unshare_perl(&script, &args);
    guard.add_pid("box", init.0);

    let mut sampler = sampling::eager_sampler();
    let id = container_id(&mut sampler, init.0);
    // The container's own cgroup (on a hybrid host, its unified one standing in).
    if !armed(&mut sampler, &[&box_path]) {
        return;
    }
    let burst_ms = isotop::units::now_ms();
    std::fs::write(&go, "").unwrap();
    let (events, at) = tick_until(&mut sampler, |e| {
        e.subject.container_id.as_deref() == Some(id.as_str())
            && matches!(e.kind, EventKind::Pressure { .. })
    });
    let told = &events[at];
    assert_eq!(told.subject.cgroup.as_deref(), Some(box_path.as_str()));
    assert_from_trigger(told, burst_ms, sampler.pressure_triggers().window_us);
}

#[test]
#[ignore = "needs root"]
fn a_watched_cgroup_removed_closes_its_triggers_without_a_tick_or_an_error() {
    if !psi_ready() {
        return;
    }
    let guard = v2_guard("psi-gone");
    let (leaf_path, keep_path) = (guard.child("leaf"), guard.child("keep"));
    let name = guard.rel.trim_start_matches('/').to_string();
    let leaf = format!("{name}/leaf");
    let mut sampler = sampling::eager_sampler();
    if !armed(&mut sampler, &[&leaf_path, &keep_path]) {
        return;
    }
    std::fs::remove_dir(guard.dir("", "leaf")).unwrap();
    // No tick: the kernel wakes the watcher with POLLERR and it closes the fds (every
    // sampler's in this process: theirs too).
    assert!(
        common::wait_until(Duration::from_secs(3), || fds_naming(&leaf) == 0),
        "{} fds still on {leaf}",
        fds_naming(&leaf)
    );
    // Ticks go on without an error or a warning about it; the other leaf stays watched.
    for _ in 0..3 {
        let frame = sampler.tick().unwrap();
        assert!(
            !frame.warnings.iter().any(|w| w.contains(&name)),
            "{:?}",
            frame.warnings
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(fds_naming(&leaf), 0);
    assert!(!sampler.pressure_trigger_armed(&leaf_path));
    assert!(sampler.pressure_trigger_armed(&keep_path));
    assert!(fds_naming(&format!("{name}/keep")) >= 3);
}

/// True when this process's effective capabilities include `CAP_SYS_RESOURCE` (bit 24).
fn has_cap_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 24) != 0)
}

#[test]
#[ignore = "needs root"]
fn without_cap_sys_resource_no_trigger_is_kept_and_pressure_is_sampled() {
    if !psi_ready() {
        return;
    }
    if has_cap_sys_resource() {
        eprintln!(
            "skipping {}: this root has CAP_SYS_RESOURCE (the other tests here arm triggers)",
            test_name()
        );
        return;
    }
    let guard = v2_guard("psi-unprivileged");
    let leaf_path = guard.child("leaf");
    let name = guard.rel.trim_start_matches('/').to_string();
    let mut sampler = sampling::eager_sampler();
    let refused = common::wait_until(Duration::from_secs(10), || {
        sampler.tick().unwrap();
        sampler.pressure_triggers().refused == Some(TriggerRefusal::Unprivileged)
    });
    assert!(refused, "{:?}", sampler.pressure_triggers());
    // The kernel took a 2 s probe, which isotop closed at once: a trigger it would keep would
    // miss stalls (a read of the pressure file folds its averages first).
    assert!(!sampler.pressure_trigger_armed(&leaf_path));
    assert!(
        common::wait_until(Duration::from_secs(2), || fds_naming(&name) == 0),
        "{} fds on {name}",
        fds_naming(&name)
    );
    // Its pressure is still sampled: the cgroup's `some avg10` is in the tree.
    let frame = sampler.tick().unwrap();
    let leaf = frame
        .cgroups
        .iter()
        .find(|c| c.path == leaf_path)
        .expect("the leaf in the tree");
    assert!(leaf.reading.pressure.is_some(), "{leaf:#?}");
}

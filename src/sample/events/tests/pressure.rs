//! Pressure from PSI triggers that fired (`sample::pressure_triggers`), for a container and for
//! cgroups no container owns: the event starts at once with the trigger's text, stays on while
//! triggers fire, ends as a sampled state does; an unowned cgroup's starts only where no
//! descendant is above.

use super::*;
use crate::host::cgroup::{Pressure, PressureFile, PressureLine};
use crate::host::container::measure::CgroupOwnership;
use crate::host::process::CgroupMembership;
use crate::sample::pressure_triggers::Fire;

/// A fire of a 20 %-of-1-s trigger at `at_ms`.
fn fire(at_ms: u64) -> Fire {
    Fire {
        at_ms,
        stall_us: 200_000,
        window_us: 1_000_000,
    }
}

/// Container `id` whose own unified cgroup is `/box/<id>`, with memory pressure `avg10`.
fn pressured(id: &str, avg10: f64) -> ContainerSample {
    let mut c = container(id, 10, 1, true);
    let path = format!("/box/{id}");
    c.view.ownership = vec![CgroupOwnership {
        hierarchy: "unified".into(),
        path: path.clone(),
        own: true,
        shared: None,
        membership: CgroupMembership {
            hierarchy: 0,
            controllers: Vec::new(),
            path,
        },
    }]
    .into();
    c.kernel.memory_pressure_percent = Some(avg10);
    c
}

fn pressure_kinds(events: &[Event]) -> Vec<(PressureResource, bool)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Pressure {
                resource, ended, ..
            } => Some((resource, ended)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_trigger_that_fired_starts_pressure_at_once_and_it_ends_as_a_sampled_one() {
    let mut bench = Bench::new();
    let a = pressured("a", 3.0);
    assert!(
        bench.tick(std::slice::from_ref(&a)).is_empty(),
        "the baseline"
    );
    assert!(bench.tick(std::slice::from_ref(&a)).is_empty(), "avg10 low");

    // A trigger of another cgroup, or of the container's cgroup for another resource's
    // figure, is not this container's memory pressure.
    bench
        .fired
        .record("/box/other", PressureResource::Memory, fire(1));
    assert!(bench.tick(std::slice::from_ref(&a)).is_empty());

    let fired_at = bench.at_ms + 1;
    bench
        .fired
        .record("/box/a", PressureResource::Memory, fire(fired_at));
    let events = bench.tick(std::slice::from_ref(&a));
    assert_eq!(pressure_kinds(&events), [(PressureResource::Memory, false)]);
    let started = &events[0];
    assert_eq!(
        started.detail,
        "memory pressure: at least 200 ms stalled in 1 s (PSI trigger)"
    );
    assert_eq!(started.timing, Timing::Dated);
    assert_eq!(started.at_ms, fired_at);
    assert_eq!(started.subject.container_id.as_deref(), Some("a"));
    match started.kind {
        EventKind::Pressure { percent, .. } => assert_eq!(percent, 20.0),
        _ => unreachable!(),
    }
    assert!(started.kind.is_trouble());

    // Stays on while triggers fire, whatever avg10 says; ends after END_AFTER samples with no
    // trigger firing and avg10 below ¾ of the threshold.
    for _ in 0..END_AFTER + 2 {
        bench
            .fired
            .record("/box/a", PressureResource::Memory, fire(bench.at_ms + 1));
        assert!(bench.tick(std::slice::from_ref(&a)).is_empty());
    }
    for _ in 1..END_AFTER {
        assert!(bench.tick(std::slice::from_ref(&a)).is_empty());
    }
    let events = bench.tick(std::slice::from_ref(&a));
    assert_eq!(pressure_kinds(&events), [(PressureResource::Memory, true)]);
    assert_eq!(events[0].timing, Timing::Sampled);
    assert_eq!(events[0].detail, "memory pressure ended (3%, some avg10)");
}

#[test]
fn a_trigger_and_avg10_above_together_start_one_event_the_triggers() {
    let mut bench = Bench::new();
    let a = pressured("a", 35.0);
    bench.tick(std::slice::from_ref(&a));
    bench
        .fired
        .record("/box/a", PressureResource::Memory, fire(bench.at_ms + 1));
    let events = bench.tick(std::slice::from_ref(&a));
    assert_eq!(pressure_kinds(&events), [(PressureResource::Memory, false)]);
    assert!(events[0].detail.ends_with("(PSI trigger)"), "{events:?}");
    match events[0].kind {
        EventKind::Pressure { percent, .. } => assert_eq!(percent, 35.0),
        _ => unreachable!(),
    }
}

/// A cgroup of the flattened tree with CPU pressure `avg10` (`None`: no pressure files).
fn cgroup_with(path: &str, depth: usize, avg10: Option<f64>, owner: Option<&str>) -> CgroupSample {
    let mut c = cgroup(path, depth, 0, owner);
    std::sync::Arc::make_mut(&mut c.reading).pressure = avg10.map(|avg10| Pressure {
        cpu: Some(PressureFile {
            some: Some(PressureLine {
                avg10,
                avg60: 0.0,
                avg300: 0.0,
                total_usec: 0,
            }),
            full: None,
        }),
        memory: None,
        io: None,
    });
    c
}

/// `/` (the host), `/a`, `/a/b`, `/p` with a container's own `/p/c`, each with its avg10.
fn pressure_tree(avg10: [f64; 5]) -> Vec<CgroupSample> {
    vec![
        cgroup_with("/", 0, Some(avg10[0]), None),
        cgroup_with("/a", 1, Some(avg10[1]), None),
        cgroup_with("/a/b", 2, Some(avg10[2]), None),
        cgroup_with("/p", 1, Some(avg10[3]), None),
        cgroup_with("/p/c", 2, Some(avg10[4]), Some("c")),
    ]
}

fn told(events: &[Event]) -> Vec<(&str, bool)> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Pressure { ended, .. } => Some((e.subject.name.as_str(), ended)),
            _ => None,
        })
        .collect()
}

#[test]
fn unowned_cgroups_tell_pressure_at_the_deepest_cgroup_above_never_the_root() {
    let v2 = layout(false);
    let mut bench = Bench::new();
    bench.tick_with(&[], Some((&pressure_tree([0.0; 5]), &v2)));
    // Stalls in /a/b show in /a and / too: told once, at /a/b. The container's /p/c is above:
    // its parent /p, above because of it, is not told (the container's events tell it).
    let events = bench.tick_with(
        &[],
        Some((&pressure_tree([60.0, 40.0, 40.0, 30.0, 30.0]), &v2)),
    );
    assert_eq!(told(&events), [("/a/b", false)], "{events:?}");
    assert_eq!(events[0].subject.container_id, None);
    assert_eq!(events[0].subject.cgroup.as_deref(), Some("/a/b"));
    // /a/b's state is on though its figure fell below the threshold (not below ¾): /a, above
    // now, is still not told — the stall is being told at /a/b.
    let events = bench.tick_with(
        &[],
        Some((&pressure_tree([60.0, 40.0, 18.0, 0.0, 0.0]), &v2)),
    );
    assert!(told(&events).is_empty(), "{events:?}");

    // A trigger of /a fired between two tree reads while nothing below it is above: told at
    // the next read, from the trigger.
    let mut bench = Bench::new();
    bench.tick_with(&[], Some((&pressure_tree([0.0; 5]), &v2)));
    bench
        .fired
        .record("/a", PressureResource::Cpu, fire(bench.at_ms + 1));
    assert!(bench.tick(&[]).is_empty(), "no tree read: no cgroup event");
    let events = bench.tick_with(&[], Some((&pressure_tree([5.0, 5.0, 5.0, 0.0, 0.0]), &v2)));
    assert_eq!(told(&events), [("/a", false)], "{events:?}");
    assert!(events[0].detail.ends_with("(PSI trigger)"), "{events:?}");
    // Fired once only: it ends after END_AFTER reads below ¾ of the threshold.
    for _ in 1..END_AFTER {
        let events = bench.tick_with(&[], Some((&pressure_tree([5.0; 5]), &v2)));
        assert!(told(&events).is_empty(), "{events:?}");
    }
    let events = bench.tick_with(&[], Some((&pressure_tree([5.0; 5]), &v2)));
    assert_eq!(told(&events), [("/a", true)], "{events:?}");
}

//! One measurement, three consumers: `isotop inspect`, `isotop ls` and the dashboard's sampler
//! read the same container on the same host and must report the same state, uptime, cgroup and
//! figures, because all three call [`crate::host::container::measure`]. It lives in `cli` (the
//! leaf) so the read side never imports `cli`, even in tests.

use std::fs;

use crate::host::HostRoot;
use crate::host::container::measure::tests::{ID, fake_host};
use crate::host::container::measure::{ContainerState, reread};

#[test]
fn the_sampler_ls_and_inspect_get_the_same_figures() {
    let tmp = fake_host();
    let root = HostRoot::under(tmp.path());
    let options = crate::host::scan::ScanOptions {
        namespaces: false,
        stopped: false,
    };
    let snapshot = crate::host::scan::scan(&root, options).unwrap();
    let view = snapshot
        .containers
        .iter()
        .find(|v| v.container.id == ID)
        .expect("the container is found");
    let inspected = crate::cli::inspect::inspect(&root, &snapshot, view);
    let row = crate::cli::ls::row(view, &snapshot.processes);
    let mut sampler = crate::sample::Sampler::new(root.clone());
    let frame = sampler.tick().unwrap();
    let sample = frame
        .containers
        .iter()
        .find(|s| s.view.container.id == ID)
        .expect("the sampler finds it too");

    // One measurement, three consumers: the same view...
    assert_eq!(inspected.view.container, sample.view.container);
    assert_eq!(inspected.view.state, ContainerState::Frozen);
    assert_eq!(sample.view.state, inspected.view.state);
    assert_eq!(row.state, inspected.view.state);
    assert_eq!(sample.view.cgroup, inspected.view.cgroup);
    assert!(inspected.view.uptime_seconds.is_some());
    assert_eq!(sample.view.uptime_seconds, inspected.view.uptime_seconds);
    assert_eq!(row.uptime_seconds, inspected.view.uptime_seconds);
    // ...and the same figures.
    assert_eq!(row.memory_bytes, Some(52_428_800));
    assert_eq!(sample.memory_bytes, row.memory_bytes);
    assert_eq!(sample.memory_limit_bytes, row.memory_limit_bytes);
    assert_eq!(sample.cpu_limit_cpus, row.cpu_limit_cpus);
    assert_eq!(sample.pids_limit, row.pids_limit);
    assert_eq!((sample.pids, row.pids), (2, 2));
    // `--json` shows the same words as before the enum.
    let json = serde_json::to_value(&inspected).unwrap();
    assert_eq!(json["state"], "frozen");
    // Both rates come from sample::rates over the same counter.
    let layout = snapshot.layout.as_ref();
    let first = reread(&root, layout, view).cpu.unwrap();
    let stat = tmp.path().join(format!(
        "sys/fs/cgroup/system.slice/docker-{ID}.scope/cpu.stat"
    ));
    let text = fs::read_to_string(&stat).unwrap();
    fs::write(
        &stat,
        text.replace("usage_usec 630000", "usage_usec 1130000"),
    )
    .unwrap();
    let second = reread(&root, layout, view).cpu.unwrap();
    assert_eq!(
        crate::sample::rates::container_cpu_percent(&first, &second, 100, 1_000_000),
        Some(50.0)
    );
}

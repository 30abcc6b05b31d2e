//! A container's block I/O counters and their source, through `measure` on the fixture trees:
//! its own cgroup's `io.stat` (v2) or recursive blk-throttle files (hybrid, with the devices
//! v1 counts named), nothing from a cgroup it shares, and the re-read giving the same counters.

use super::*;
use crate::host::cgroup::{CgroupLayout, IoCounters};

/// A running container whose cgroup is `path` in every hierarchy of `layout`, except those
/// carrying a controller in `shared_at_root` (left in the root, as on this host).
fn container_in(layout: &CgroupLayout, path: &str, shared_at_root: &[&str]) -> Container {
    let mut c = container(&[10], Some(path));
    c.cgroups = layout
        .hierarchies
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let v2 = h.version == 2;
            let shared = !v2
                && h.controllers
                    .iter()
                    .any(|c| shared_at_root.contains(&c.as_str()));
            CgroupMembership {
                hierarchy: if v2 { 0 } else { i as u32 + 1 },
                controllers: if v2 {
                    Vec::new()
                } else {
                    h.controllers.clone()
                },
                path: if shared { "/" } else { path }.to_string(),
            }
        })
        .collect();
    c
}

fn measured(fixture_name: &str, c: Container) -> (HostRoot, CgroupLayout, Measurement) {
    let root = fixture(fixture_name);
    let layout = detect_layout(&root).unwrap();
    let m = measure(
        &root,
        Some(&layout),
        c,
        &Census::new(&[process(10, 1, 1)]),
        CLOCK,
        &mut Vec::new(),
    );
    (root, layout, m)
}

#[test]
fn v2_io_counters_come_from_its_own_io_stat() {
    let (root, layout, m) = measured(
        "v2",
        container(&[10], Some("/system.slice/docker-abc.scope")),
    );
    let io = m.figures.io.as_ref().expect("own io.stat");
    // loop0 and vda together.
    assert_eq!(io.read_bytes_total, Some(1_048_576 + 4096));
    assert_eq!(io.write_ios_total, Some(18));
    assert_eq!(m.figures.io_source, Some(FigureSource::OwnCgroup));
    let source = &m.view.sources.io;
    assert_eq!(source.from, FigureSource::OwnCgroup);
    assert!(
        source
            .file
            .as_deref()
            .unwrap()
            .ends_with("docker-abc.scope/io.stat")
    );
    assert_eq!(source.note, None);
    assert_eq!(
        reread(&root, Some(&layout), &m.view).io.as_ref(),
        Some(io),
        "the re-read counts the same"
    );
}

#[test]
fn without_a_cgroup_of_its_own_there_is_no_io_figure() {
    let (root, layout, m) = measured("v2", container(&[10], None));
    assert_eq!((&m.figures.io, m.figures.io_source), (&None, None));
    assert_eq!(m.view.sources.io.from, FigureSource::Unavailable);
    assert!(
        m.view
            .sources
            .io
            .note
            .as_deref()
            .unwrap()
            .contains("no cgroup of its own"),
        "{:?}",
        m.view.sources.io
    );
    assert_eq!(reread(&root, Some(&layout), &m.view).io, None);
}

#[test]
fn hybrid_io_comes_from_its_own_blkio_cgroup_and_names_the_counted_devices() {
    let root = fixture("hybrid");
    let layout = detect_layout(&root).unwrap();
    let (_, _, m) = measured("hybrid", container_in(&layout, "/isotop/box1", &[]));
    assert_eq!(
        m.figures.io,
        Some(IoCounters {
            read_bytes_total: Some(1_048_576),
            write_bytes_total: Some(8_388_608),
            read_ios_total: Some(16),
            write_ios_total: Some(16),
            discard_bytes_total: Some(0),
            discard_ios_total: Some(0),
        })
    );
    let source = &m.view.sources.io;
    assert!(
        source
            .file
            .as_deref()
            .unwrap()
            .ends_with("blkio/isotop/box1/blkio.throttle.io_service_bytes_recursive")
    );
    assert!(
        source.note.as_deref().unwrap().contains("loop0"),
        "{source:?}"
    );

    // Its blkio cgroup is the root (shared with the host): the unified cgroup stands in for
    // CPU, but it has no I/O files on a hybrid host: no figure rather than the host's.
    let (_, _, shared) = measured("hybrid", container_in(&layout, "/isotop/box1", &["blkio"]));
    assert!(
        shared.view.cgroup.is_some(),
        "its other cgroups are its own"
    );
    assert_eq!(shared.figures.io, None);
    assert_eq!(shared.view.sources.io.from, FigureSource::Unavailable);
}

//! Parts the sampler shares between frames by `Arc` — a container's stack, cgroup reading and
//! ownership list, the namespace table — are fingerprinted or written once per `Arc`; whatever
//! is shared, replaced, changed or dropped, each delta still decodes to the byte-equal sections
//! of its frame.

use super::*;
use crate::host::cgroup::{CgroupLimits, CgroupReading, CpuStats};
use crate::host::container::measure::CgroupOwnership;
use crate::host::layers::LayerOwners;
use crate::host::namespace::NamespaceTable;
use crate::host::runtime::Runtime;
use crate::host::stack::{ContainerStack, read_stack};
use crate::sample::CgroupSample;
use crate::sample::net::tests::container;

/// This test process's own root and mounts, read as a container's stack is: a real mount list.
fn own_stack() -> ContainerStack {
    let root = HostRoot::live();
    let pid = i32::try_from(std::process::id()).expect("a pid");
    read_stack(&root, pid, Runtime::Unknown, &mut LayerOwners::new(&root))
        .expect("our own mountinfo reads")
        .expect("our root is a mount")
}

fn next_of(frame: &Frame) -> Frame {
    let mut next = frame.clone();
    next.seq += 1;
    next.taken_at_ms += 1000;
    for c in &mut next.containers {
        // What changes every tick.
        c.view.uptime_seconds = c.view.uptime_seconds.map(|s| s + 1.0);
    }
    next
}

/// A live frame whose containers are a, b and c, 10 s up.
fn three_containers() -> Frame {
    let mut frame = live_frame();
    frame.containers = ["a", "b", "c"]
        .iter()
        .zip(1..)
        .map(|(id, n)| {
            let mut c = container(id, 100 * n, 4026531840 + n as u64, false);
            c.view.uptime_seconds = Some(10.0);
            c
        })
        .collect();
    frame
}

/// The keyframe of `frame` and the frame after it, whose uptimes alone moved (its shared parts
/// the same `Arc`s), encoded as a delta of the uptimes alone.
fn keyframe_and_a_quiet_delta(encoder: &mut Encoder, frame: &Frame) -> (Encoded, Frame) {
    let keyframe = encoder.encode(frame).expect("encodes");
    let quiet = next_of(frame);
    let delta = encoder.encode(&quiet).expect("encodes");
    decoded_byte_equal(&keyframe, &delta, &quiet);
    assert!(
        delta.payload.len() < 600,
        "a delta of uptimes is {} bytes",
        delta.payload.len()
    );
    (keyframe, quiet)
}

#[test]
fn containers_sharing_replacing_and_dropping_stacks_decode_byte_equal() {
    let stack = Arc::new(own_stack());
    assert!(!stack.root.mounts.is_empty(), "this host has mounts");
    let mut frame = three_containers();
    frame.containers[0].stack = Some(Arc::clone(&stack));
    frame.containers[1].stack = Some(Arc::clone(&stack));
    let mut encoder = Encoder::default();
    let (keyframe, quiet) = keyframe_and_a_quiet_delta(&mut encoder, &frame);

    // b's stack replaced by a changed one, c given one (a new `Arc`, equal to a's), a's shared.
    let mut moved = next_of(&quiet);
    let mut changed = (*stack).clone();
    changed.root.mounts.pop();
    changed.root.notes.push("a mount went".to_string());
    moved.containers[1].stack = Some(Arc::new(changed));
    moved.containers[2].stack = Some(Arc::new((*stack).clone()));
    let delta = encoder.encode(&moved).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &moved);
    assert_eq!(json(&joined(&decoded)), json(&moved));

    // a's dropped, b's back to the keyframe's content in yet another `Arc`.
    let mut dropped = next_of(&moved);
    dropped.containers[0].stack = None;
    dropped.containers[1].stack = Some(Arc::new((*stack).clone()));
    let delta = encoder.encode(&dropped).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &dropped);
    assert_eq!(json(&joined(&decoded)), json(&dropped));
}

/// A hybrid host's ownership list: `n` cgroups, the first its own, the rest shared.
fn ownership_list(n: usize) -> Arc<[CgroupOwnership]> {
    (0..n)
        .map(|i| CgroupOwnership {
            hierarchy: format!("controller{i}"),
            path: format!("/docker/box/{i}"),
            own: i == 0,
            shared: (i > 0).then(|| format!("{i} processes outside this container")),
            membership: Default::default(),
        })
        .collect()
}

#[test]
fn containers_sharing_replacing_and_emptying_ownership_lists_decode_byte_equal() {
    let list = ownership_list(13);
    let mut frame = three_containers();
    for c in &mut frame.containers {
        c.view.ownership = Arc::clone(&list);
    }
    let mut encoder = Encoder::default();
    let (keyframe, quiet) = keyframe_and_a_quiet_delta(&mut encoder, &frame);

    // b's list changed in a new `Arc`, c's replaced by an equal one in a new `Arc`.
    let mut moved = next_of(&quiet);
    let mut changed = list.to_vec();
    changed[3].own = true;
    changed[3].shared = None;
    moved.containers[1].view.ownership = changed.into();
    moved.containers[2].view.ownership = list.to_vec().into();
    let delta = encoder.encode(&moved).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &moved);
    assert_eq!(json(&joined(&decoded)), json(&moved));

    // a's emptied (stopped), b's back to the keyframe's content in yet another `Arc`.
    let mut emptied = next_of(&moved);
    emptied.containers[0].view.ownership = Arc::from([]);
    emptied.containers[1].view.ownership = list.to_vec().into();
    let delta = encoder.encode(&emptied).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &emptied);
    assert_eq!(json(&joined(&decoded)), json(&emptied));
}

/// An own cgroup's reading: a usage, a count and where each came from.
fn own_reading(usage_usec: u64) -> Arc<CgroupReading> {
    let sources = [
        ("cpu.usage_usec", "cpuacct.usage"),
        ("nprocs", "cgroup.procs"),
    ]
    .iter()
    .map(|(field, file)| {
        (
            field.to_string(),
            format!("/sys/fs/cgroup/box/{file}").into(),
        )
    })
    .collect();
    Arc::new(CgroupReading {
        path: "/box".into(),
        cpu: Some(CpuStats {
            usage_usec: Some(usage_usec),
            ..CpuStats::default()
        }),
        memory: None,
        pids: None,
        pressure: None,
        io: None,
        limits: CgroupLimits::default(),
        freezer: None,
        nprocs: 29,
        sources: Arc::new(sources),
        missing: vec!["memory".into()],
        notes: Vec::new(),
    })
}

#[test]
fn containers_sharing_replacing_and_dropping_readings_decode_byte_equal() {
    let reading = own_reading(1_000);
    let mut frame = three_containers();
    for c in &mut frame.containers {
        c.view.cgroup = Some(Arc::clone(&reading));
    }
    let mut encoder = Encoder::default();
    let (keyframe, quiet) = keyframe_and_a_quiet_delta(&mut encoder, &frame);

    // b's reading moved (a new `Arc`), c's replaced by an equal one in a new `Arc`.
    let mut moved = next_of(&quiet);
    moved.containers[1].view.cgroup = Some(own_reading(2_000));
    moved.containers[2].view.cgroup = Some(Arc::new((*reading).clone()));
    let delta = encoder.encode(&moved).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &moved);
    assert_eq!(json(&joined(&decoded)), json(&moved));

    // a's gone (its cgroup removed), b's back to the keyframe's content in yet another `Arc`.
    let mut dropped = next_of(&moved);
    dropped.containers[0].view.cgroup = None;
    dropped.containers[1].view.cgroup = Some(own_reading(1_000));
    let delta = encoder.encode(&dropped).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &dropped);
    assert_eq!(json(&joined(&decoded)), json(&dropped));
}

/// `frame`'s cgroups: one node a container, holding the container's reading (as the sampler's
/// tree takes it).
fn with_nodes_of_containers(frame: &mut Frame) {
    let nodes: Vec<CgroupSample> = frame
        .containers
        .iter()
        .map(|c| CgroupSample {
            path: format!("/{}", c.view.container.id),
            name: c.view.container.id.clone(),
            depth: 1,
            has_children: false,
            reading: c.view.cgroup.clone().expect("a reading"),
            cpu_percent: Some(0.0),
            throttled_percent: None,
            container_id: Some(c.view.container.id.clone()),
            io_rates: Default::default(),
        })
        .collect();
    frame.cgroups = nodes.into();
}

#[test]
fn cgroups_sharing_their_containers_readings_decode_byte_equal() {
    let reading = own_reading(1_000);
    let mut frame = three_containers();
    for c in &mut frame.containers {
        c.view.cgroup = Some(Arc::clone(&reading));
    }
    with_nodes_of_containers(&mut frame);
    let mut encoder = Encoder::default();
    let (keyframe, quiet) = keyframe_and_a_quiet_delta(&mut encoder, &frame);

    // b's reading moved (its container's and its node's: one new `Arc`), c's node given an
    // equal reading in a new `Arc` of its own.
    let mut moved = next_of(&quiet);
    moved.containers[1].view.cgroup = Some(own_reading(2_000));
    with_nodes_of_containers(&mut moved);
    let mut nodes = moved.cgroups.to_vec();
    nodes[2].reading = Arc::new((*reading).clone());
    moved.cgroups = nodes.into();
    let delta = encoder.encode(&moved).expect("encodes");
    let (decoded, _) = decoded_byte_equal(&keyframe, &delta, &moved);
    assert_eq!(json(&joined(&decoded)), json(&moved));
    let cgroups = joined(&decoded).cgroups;
    assert_eq!(
        cgroups[1].reading.cpu.as_ref().and_then(|c| c.usage_usec),
        Some(2_000)
    );
}

/// `frame` with a new namespace table: `change` applied to a copy of its table.
fn with_table(frame: &Frame, change: impl FnOnce(&mut NamespaceTable)) -> Frame {
    let mut next = frame.clone();
    next.seq += 1;
    next.taken_at_ms += 1000;
    let mut table = (*frame.namespaces).clone();
    change(&mut table);
    next.namespaces = Arc::new(table);
    next
}

#[test]
fn a_shared_namespace_table_reuses_its_section_until_it_or_the_keyframe_changes() {
    let frame = live_frame();
    assert!(
        frame.namespaces.namespaces.len() > 4,
        "this host has namespaces"
    );
    let mut encoder = Encoder::default();
    let keyframe = encoder.encode(&frame).expect("encodes");
    let namespaces_of = |record: &Encoded| {
        unpack_all(VERSION_3, &keyframe.payload, record)[Section::Namespaces as usize].clone()
    };

    let first = with_table(&frame, |t| t.namespaces[0].nprocs += 3);
    let delta = encoder.encode(&first).expect("encodes");
    decoded_byte_equal(&keyframe, &delta, &first);
    // The same table again, a process changed: the section as before.
    let mut second = first.clone();
    second.seq += 1;
    Arc::make_mut(&mut second.processes[0].process).cpu_ticks += 5;
    let again = encoder.encode(&second).expect("encodes");
    decoded_byte_equal(&keyframe, &again, &second);
    assert_eq!(namespaces_of(&again), namespaces_of(&delta));

    // A new table, built again with another change: its own section, not the last one.
    let third = with_table(&second, |t| t.namespaces[1].pids.push(i32::MAX));
    let delta = encoder.encode(&third).expect("encodes");
    decoded_byte_equal(&keyframe, &delta, &third);

    // A new keyframe of another table; then a frame sharing the table of the last delta: its
    // section made against the new keyframe, not the old keyframe's reused.
    let other = with_table(&third, |t| {
        t.namespaces.truncate(3);
    });
    encoder.force_keyframe();
    let keyframe = encoder.encode(&other).expect("encodes");
    assert_eq!(keyframe.kind, Kind::Keyframe);
    let mut fourth = third.clone();
    fourth.seq = other.seq + 1;
    let delta = encoder.encode(&fourth).expect("encodes");
    assert_eq!(delta.kind, Kind::Delta);
    decoded_byte_equal(&keyframe, &delta, &fourth);
}

#[test]
fn a_process_written_by_the_last_delta_is_written_again_until_it_or_the_keyframe_changes() {
    let frame = live_frame();
    assert!(frame.processes.len() > 8, "this host runs processes");
    let mut encoder = Encoder::default();
    let keyframe = encoder.encode(&frame).expect("encodes");
    let processes_of = |keyframe: &Encoded, record: &Encoded| {
        unpack_all(VERSION_3, &keyframe.payload, record)[Section::Processes as usize].clone()
    };
    let mut changed = frame.clone();
    changed.seq += 1;
    Arc::make_mut(&mut changed.processes[2].process).cpu_ticks += 7;
    changed.processes[2].cpu_percent = Some(1.5);
    let first = encoder.encode(&changed).expect("encodes");
    decoded_byte_equal(&keyframe, &first, &changed);
    // Unchanged since: the same operation again.
    changed.seq += 1;
    let again = encoder.encode(&changed).expect("encodes");
    decoded_byte_equal(&keyframe, &again, &changed);
    assert_eq!(
        processes_of(&keyframe, &again),
        processes_of(&keyframe, &first)
    );
    // Changed again, and another beside it.
    changed.seq += 1;
    Arc::make_mut(&mut changed.processes[2].process).cpu_ticks += 7;
    Arc::make_mut(&mut changed.processes[3].process).cpu_ticks += 1;
    let moved = encoder.encode(&changed).expect("encodes");
    decoded_byte_equal(&keyframe, &moved, &changed);

    // A keyframe whose processes sit at other indexes: what was written against the old one
    // is not written again.
    let mut shifted = changed.clone();
    shifted.processes.remove(0);
    let unchanged_since = shifted.processes[1].clone();
    shifted.processes[1].process = Arc::new((*frame.processes[2].process).clone());
    encoder.force_keyframe();
    let keyframe = encoder.encode(&shifted).expect("encodes");
    assert_eq!(keyframe.kind, Kind::Keyframe);
    shifted.processes[1] = unchanged_since;
    shifted.seq += 1;
    let delta = encoder.encode(&shifted).expect("encodes");
    assert_eq!(delta.kind, Kind::Delta);
    decoded_byte_equal(&keyframe, &delta, &shifted);
}

//! What the encoder keeps between frames stays bounded by what it needs: the keyframe's field
//! table (each distinct fingerprint once, no room from growing), the last delta's process operations as one buffer (not a
//! copy per process), the patches' zstd context with bounded tables; and the trouble ring's
//! encoder replaces a sampler's first frame (no rates) as its base once its first delta rewrote
//! most processes (a store's encoder does not). Every delta still decodes to the byte-equal
//! sections of its frame.

use super::*;

/// This host's frame with `count` processes: its own, then copies of its first under new pids
/// (a host of thousands, as the trouble ring meets them), all without rates as a sampler's
/// first frame has them.
fn many_processes(count: usize) -> Frame {
    let mut frame = live_frame();
    assert!(!frame.processes.is_empty(), "this host runs processes");
    let model = frame.processes[0].clone();
    let mut pid = frame
        .processes
        .iter()
        .map(|p| p.process.pid)
        .max()
        .unwrap_or(1);
    while frame.processes.len() < count {
        pid += 1;
        let mut sample = model.clone();
        Arc::make_mut(&mut sample.process).pid = pid;
        frame.processes.push(sample);
    }
    for sample in &mut frame.processes {
        sample.cpu_percent = None;
    }
    frame
}

/// `frame` a tick later, every process's cpu percent known (the sampler's second frame).
fn with_rates(frame: &Frame) -> Frame {
    let mut next = frame.clone();
    next.seq += 1;
    next.taken_at_ms += 1000;
    for sample in &mut next.processes {
        sample.cpu_percent = Some(0.0);
    }
    next
}

#[test]
fn a_keyframes_field_table_holds_each_distinct_fingerprint_once_and_no_room_from_growing() {
    let frame = many_processes(3000);
    let mut encoder = Encoder::default();
    encoder.encode(&frame).expect("encodes");
    let base = encoder.base.as_ref().expect("a keyframe made");
    let table = &base.fields[Section::Processes as usize];
    assert_eq!(table.starts.len(), frame.processes.len());
    let (fields, distinct) = table.counts();
    assert!(fields > frame.processes.len() * 8, "{fields} fields");
    // The copies share most fields: each distinct fingerprint once, a field 2 bytes.
    assert!(distinct * 2 < fields, "{distinct} distinct of {fields}");
    let used = table.starts.len() * 4 + fields * 2 + distinct * 8;
    assert_eq!(table.held_bytes(), used, "room beyond the fields");
    assert!(
        used < fields * 4,
        "{used} bytes for {fields} fields (8 bytes each before)"
    );
}

#[test]
fn the_last_deltas_process_operations_are_kept_once_not_per_process() {
    let count = 3000;
    let first = many_processes(count);
    let mut encoder = Encoder::default();
    encoder.force_keyframe();
    let keyframe = encoder.encode(&first).expect("encodes");
    // Every process changed one field since the keyframe: each one patched.
    let mut changed = with_rates(&first);
    for sample in &mut changed.processes {
        Arc::make_mut(&mut sample.process).cpu_ticks += 1;
    }
    let delta = encoder.encode(&changed).expect("encodes");
    assert_eq!(delta.kind, Kind::Delta);
    decoded_byte_equal(&keyframe, &delta, &changed);
    // Unchanged since: every process's operation written again from the kept buffer.
    changed.seq += 1;
    let again = encoder.encode(&changed).expect("encodes");
    decoded_byte_equal(&keyframe, &again, &changed);
    let processes_of = |record: &Encoded| {
        unpack_all(VERSION_3, &keyframe.payload, record)[Section::Processes as usize].clone()
    };
    assert_eq!(processes_of(&again), processes_of(&delta));
    // One process changed again: its own operation, the others as before.
    changed.seq += 1;
    Arc::make_mut(&mut changed.processes[count / 2].process).cpu_ticks += 3;
    let moved = encoder.encode(&changed).expect("encodes");
    decoded_byte_equal(&keyframe, &moved, &changed);

    // The operations once (the delta's processes patch is them and its copy runs), and two
    // maps' entries (17 bytes a bucket): an operation in a `Vec` of its own (its allocation's
    // header and rounding) in maps of (fingerprint, `Vec`) entries (33 bytes a bucket, two
    // maps) was ~90 bytes a process beside the operations.
    let parts = Parts::of(VERSION_3, Kind::Delta, &moved.payload).expect("cuts");
    let compressed = parts
        .compressed()
        .nth(Section::Processes as usize)
        .expect("a processes section");
    let patch = zstd::stream::decode_all(compressed).expect("decompresses");
    // (This host may run more than `count` processes of its own.)
    let processes = changed.processes.len();
    let held = encoder.written.held_bytes();
    assert!(
        held < patch.len() + processes * 64,
        "{held} bytes held for {processes} processes' operations ({} bytes of patch)",
        patch.len()
    );
}

#[test]
fn the_patches_zstd_context_stays_small_after_a_large_patch() {
    let frame = many_processes(6000);
    let mut encoder = Encoder::default();
    encoder.force_keyframe();
    let keyframe = encoder.encode(&frame).expect("encodes");
    let mut changed = with_rates(&frame);
    for (n, sample) in changed.processes.iter_mut().enumerate() {
        Arc::make_mut(&mut sample.process).cpu_ticks += n as u64;
    }
    let delta = encoder.encode(&changed).expect("encodes");
    decoded_byte_equal(&keyframe, &delta, &changed);
    let context = encoder.compressor.as_ref().expect("a delta was compressed");
    // zstd's level 3 sized from a patch of this size held ~1.3 MB.
    assert!(
        context.bytes() < 768 * 1024,
        "the context holds {} bytes",
        context.bytes()
    );
}

#[test]
fn a_first_keyframe_without_rates_is_replaced_once_its_first_delta_rewrote_most_processes() {
    let first = many_processes(1000);
    // A store's encoder keeps its keyframes where they were.
    let mut store = Encoder::default();
    store.encode(&first).expect("encodes");
    assert_eq!(
        store.encode(&with_rates(&first)).expect("encodes").kind,
        Kind::Delta
    );
    let mut again = with_rates(&first);
    again.seq += 1;
    assert_eq!(store.encode(&again).expect("encodes").kind, Kind::Delta);

    let mut encoder = Encoder::default();
    encoder.replace_a_first_base_without_rates();
    let keyframe = encoder.encode(&first).expect("encodes");
    assert_eq!(keyframe.kind, Kind::Keyframe);
    let second = with_rates(&first);
    let delta = encoder.encode(&second).expect("encodes");
    assert_eq!(delta.kind, Kind::Delta);
    decoded_byte_equal(&keyframe, &delta, &second);
    // The next frame is the new base; deltas against it copy the processes.
    let mut third = second.clone();
    third.seq += 1;
    let rekeyed = encoder.encode(&third).expect("encodes");
    assert_eq!(rekeyed.kind, Kind::Keyframe);
    let mut fourth = third.clone();
    fourth.seq += 1;
    for sample in &mut fourth.processes {
        sample.cpu_percent = Some(2.0);
    }
    // Once only: a busy host whose processes all move every tick is not re-keyed every tick.
    let busy = encoder.encode(&fourth).expect("encodes");
    assert_eq!(busy.kind, Kind::Delta);
    decoded_byte_equal(&rekeyed, &busy, &fourth);
    fourth.seq += 1;
    let next = encoder.encode(&fourth).expect("encodes");
    assert_eq!(next.kind, Kind::Delta);

    // A first delta that changed a few processes keeps its keyframe.
    let mut encoder = Encoder::default();
    encoder.replace_a_first_base_without_rates();
    let with = with_rates(&first);
    encoder.encode(&with).expect("encodes");
    let mut few = with.clone();
    few.seq += 1;
    few.processes[3].cpu_percent = Some(9.0);
    assert_eq!(encoder.encode(&few).expect("encodes").kind, Kind::Delta);
    few.seq += 1;
    assert_eq!(encoder.encode(&few).expect("encodes").kind, Kind::Delta);
}

#[test]
fn a_field_table_of_more_distinct_fingerprints_than_two_bytes_count_reads_each_back() {
    let mut table = fields::FieldTable::default();
    let print = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // Three fields an item: two distinct to each, one shared by all; 70,000 distinct in all.
    for n in 0..35_000u64 {
        table
            .push(&[print(2 * n), 7, print(2 * n + 1)])
            .expect("fits");
    }
    table.finish();
    assert_eq!(table.counts(), (105_000, 70_001));
    for n in [0u64, 1, 21_844, 21_845, 34_999] {
        let fields = table.get(n as usize).expect("an item");
        assert_eq!(fields.get(0), Some(print(2 * n)));
        assert_eq!(fields.get(1), Some(7));
        assert_eq!(fields.get(2), Some(print(2 * n + 1)));
        assert_eq!(fields.get(3), None, "item {n} has three fields");
    }
    assert!(table.get(35_000).is_none());
}

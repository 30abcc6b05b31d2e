//! The codec on real frames of this host: deltas of processes added, removed, changed and of a
//! reused pid decode to the byte-equal sections of the frame; a frame like its keyframe is a
//! delta of a few bytes; format 2's records (written here as format 2's encoder wrote them)
//! are still read through a store.

use super::*;
use crate::host::HostRoot;
use crate::host::process::Cmdline;
use crate::sample::{Frame, Sampler};
use std::sync::Arc;

/// A frame's sections as format 3 writes them, uncompressed.
#[derive(Default)]
struct RawSink {
    sections: Vec<Vec<u8>>,
}

impl Sink for RawSink {
    fn begin(&mut self, _section: Section, shape: Shape, count: usize) -> Result<(), String> {
        let mut bytes = Vec::new();
        patch::write_header(&mut bytes, shape, count)?;
        self.sections.push(bytes);
        Ok(())
    }
    fn item<T: Serialize + ?Sized>(&mut self, key: Option<&str>, value: &T) -> Result<(), String> {
        let mut bytes = Vec::new();
        item_bytes(&mut bytes, key, value)?;
        self.sections
            .last_mut()
            .ok_or("no section")?
            .extend_from_slice(&bytes);
        Ok(())
    }
    fn end(&mut self) -> Result<(), String> {
        Ok(())
    }
}

fn raw(frame: &Frame) -> Vec<Vec<u8>> {
    let mut sink = RawSink::default();
    sections::visit(frame, &mut sink).expect("visits");
    sink.sections
}

fn live_frame() -> Frame {
    Sampler::new(HostRoot::live())
        .tick()
        .expect("this host is sampled")
}

fn json(frame: &Frame) -> serde_json::Value {
    serde_json::to_value(frame).expect("a frame as JSON")
}

/// Every section of `record` (of format `version`), decoded against `keyframe`'s.
fn unpack_all(version: u32, keyframe: &[u8], record: &Encoded) -> Vec<Option<Vec<u8>>> {
    let base = Parts::of(version, Kind::Keyframe, keyframe).expect("a keyframe");
    let parts = Parts::of(version, record.kind, &record.payload).expect("cut");
    Section::ALL
        .iter()
        .map(|&s| {
            let base_section = base.unpack(s, None).expect("keyframe section");
            parts.unpack(s, base_section.as_deref()).expect("section")
        })
        .collect()
}

fn joined(sections: &[Option<Vec<u8>>]) -> Frame {
    let at = |s: Section| sections[s as usize].as_deref();
    join(
        at(Section::Head).expect("a head"),
        at(Section::Cgroups),
        at(Section::Namespaces),
        at(Section::Processes),
        at(Section::Containers),
        at(Section::Networks),
    )
    .expect("joins")
}

/// `delta` decoded against `keyframe`: each section byte-equal to `frame`'s; the decoded
/// sections and `frame`'s.
fn decoded_byte_equal(
    keyframe: &Encoded,
    delta: &Encoded,
    frame: &Frame,
) -> (Vec<Option<Vec<u8>>>, Vec<Vec<u8>>) {
    let decoded = unpack_all(VERSION_3, &keyframe.payload, delta);
    let want = raw(frame);
    for section in Section::ALL {
        assert_eq!(
            decoded[section as usize].as_deref(),
            Some(&want[section as usize][..]),
            "{section:?} byte-equal"
        );
    }
    (decoded, want)
}

#[test]
fn deltas_of_added_removed_changed_and_reused_processes_decode_byte_equal() {
    let first = live_frame();
    assert!(first.processes.len() > 8, "this host runs processes");
    let mut encoder = Encoder::default();
    let keyframe = encoder.encode(&first).expect("encodes");
    assert_eq!(keyframe.kind, Kind::Keyframe);
    let mut next = first.clone();
    next.seq += 1;
    next.taken_at_ms += 1000;
    next.processes.remove(1);
    std::sync::Arc::make_mut(&mut next.processes[2].process).cpu_ticks += 7;
    next.processes[2].cpu_percent = Some(12.5);
    // The same pid, another process (another start time and command).
    let reused = std::sync::Arc::make_mut(&mut next.processes[4].process);
    reused.start_ticks += 100;
    reused.comm = "reused".into();
    let mut added = next.processes[5].clone();
    let fresh = std::sync::Arc::make_mut(&mut added.process);
    fresh.pid = i32::MAX - 1;
    fresh.cmdline = Cmdline::from_args(["new", "process"]);
    next.processes.push(added);
    next.warnings.push("a warning of this tick".to_string());
    let mut cgroups = next.cgroups[..next.cgroups.len() - 1].to_vec();
    // A cgroup changed in one field: written as its keyframe item patched.
    cgroups[0].cpu_percent = Some(42.5);
    next.cgroups = cgroups.into();
    let delta = encoder.encode(&next).expect("encodes");
    assert_eq!(delta.kind, Kind::Delta);
    let (decoded, want) = decoded_byte_equal(&keyframe, &delta, &next);
    // As format 2 wrote the processes: the same bytes.
    assert_eq!(
        want[Section::Processes as usize],
        rmp_serde::to_vec_named(&next.processes).expect("encodes")
    );
    assert_eq!(json(&joined(&decoded)), json(&next));
    assert_eq!(
        json(&joined(&unpack_all(
            VERSION_3,
            &keyframe.payload,
            &keyframe
        ))),
        json(&first)
    );
    // Only the changed items are in the delta: far smaller than the keyframe.
    assert!(
        delta.payload.len() * 4 < keyframe.payload.len(),
        "delta {} bytes, keyframe {}",
        delta.payload.len(),
        keyframe.payload.len()
    );
}

#[test]
fn a_frame_like_its_keyframe_is_a_delta_of_a_few_bytes() {
    let frame = live_frame();
    let mut encoder = Encoder::default();
    let keyframe = encoder.encode(&frame).expect("encodes");
    let same = encoder.encode(&frame).expect("encodes");
    assert_eq!(same.kind, Kind::Delta);
    assert!(
        same.payload.len() < 4 + SECTIONS * 40,
        "{} bytes (keyframe {})",
        same.payload.len(),
        keyframe.payload.len()
    );
    assert_eq!(
        json(&joined(&unpack_all(VERSION_3, &keyframe.payload, &same))),
        json(&frame)
    );
    // Another encoder's fingerprints have other keys: its records still decode alike.
    let mut other = Encoder::default();
    let again = other.encode(&frame).expect("encodes");
    assert_eq!(
        json(&joined(&unpack_all(VERSION_3, &again.payload, &again))),
        json(&frame)
    );
}

const VERSION_3: u32 = 3;

/// Format 2's payloads, as its encoder made them: four sections (the head holding the
/// containers), a keyframe's compressed alone, a delta's each alone (mode 0) or with the
/// keyframe's section as zstd's prefix (mode 1).
mod format_2 {
    use super::*;

    pub(super) fn sections(frame: &Frame) -> [Vec<u8>; 4] {
        let raw = raw(frame);
        // The head with the containers and the networks in it, as format 2 wrote it.
        let mut head = vec![0x8d];
        head.extend_from_slice(&raw[Section::Head as usize][1..]);
        patch::write_str(&mut head, "containers");
        head.extend_from_slice(&rmp_serde::to_vec_named(&frame.containers).expect("encodes"));
        patch::write_str(&mut head, "networks");
        head.extend_from_slice(&rmp_serde::to_vec_named(&frame.networks).expect("encodes"));
        [
            head,
            raw[Section::Cgroups as usize].clone(),
            raw[Section::Namespaces as usize].clone(),
            raw[Section::Processes as usize].clone(),
        ]
    }

    fn compress(data: &[u8], prefix: Option<&[u8]>) -> Vec<u8> {
        use zstd::zstd_safe::CParameter;
        let mut compressor = zstd::bulk::Compressor::new(3).expect("a context");
        compressor
            .set_parameter(CParameter::ChecksumFlag(true))
            .expect("set");
        match prefix {
            None => compressor.compress(data),
            Some(prefix) => {
                compressor
                    .set_parameter(CParameter::WindowLog(27))
                    .expect("set");
                compressor
                    .set_parameter(CParameter::EnableLongDistanceMatching(true))
                    .expect("set");
                compressor.compress_with_prefix(data, prefix)
            }
        }
        .expect("compresses")
    }

    pub(super) fn keyframe(frame: &Frame) -> Vec<u8> {
        let mut payload = Vec::new();
        for section in sections(frame) {
            push_section(&mut payload, &compress(&section, None)).expect("fits");
        }
        payload
    }

    pub(super) fn delta(base: &Frame, base_payload: &[u8], frame: &Frame) -> Vec<u8> {
        let mut payload = base_id(base_payload).to_be_bytes().to_vec();
        for (index, (section, prefix)) in sections(frame).iter().zip(sections(base)).enumerate() {
            let against = index % 2 == 1;
            payload.push(u8::from(against));
            let prefix = against.then_some(&prefix[..]);
            push_section(&mut payload, &compress(section, prefix)).expect("fits");
        }
        payload
    }
}

#[test]
fn format_2_stores_are_still_read() {
    use crate::record::Recording;
    use crate::record::format;
    let first = live_frame();
    let mut next = first.clone();
    next.taken_at_ms += 1000;
    next.processes.remove(0);
    next.cgroups = next.cgroups[..next.cgroups.len() - 1].into();
    let keyframe = format_2::keyframe(&first);
    let delta = format_2::delta(&first, &keyframe, &next);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut segment = format::MAGIC.to_vec();
    segment.extend_from_slice(&2u32.to_be_bytes());
    segment.extend_from_slice(&[0; 4]);
    for (frame, kind, payload) in [
        (&first, Kind::Keyframe, &keyframe),
        (&next, Kind::Delta, &delta),
    ] {
        format::write_record(&mut segment, frame.taken_at_ms, kind as u8, 0, payload)
            .expect("written");
    }
    std::fs::write(
        crate::record::segment::segment_path(dir.path(), first.taken_at_ms),
        &segment,
    )
    .expect("a segment");
    let recording = Recording::open(dir.path()).expect("a format 2 store opens");
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    assert_eq!(recording.entries().len(), 2);
    assert_eq!(json(&recording.frame(0).expect("decodes")), json(&first));
    assert_eq!(json(&recording.frame(1).expect("decodes")), json(&next));
    let light = recording.frame_light(1).expect("a light frame");
    assert_eq!(
        serde_json::to_value(&light.containers).expect("JSON"),
        serde_json::to_value(&next.containers).expect("JSON")
    );
    assert!(light.processes.is_empty());
}

/// Each delta section's mode byte.
fn modes(payload: &[u8]) -> Vec<u8> {
    let mut modes = Vec::new();
    let mut at = 4;
    while at < payload.len() {
        modes.push(payload[at]);
        let len = u32::from_be_bytes(payload[at + 1..at + 5].try_into().expect("4 bytes"));
        at += 5 + len as usize;
    }
    modes
}

#[test]
fn a_small_keyframe_is_the_prefix_of_its_deltas_and_a_large_one_is_not() {
    let mut small = live_frame();
    // A few of each, whatever runs here (another test's population: 400 containers).
    small.processes.truncate(20);
    Arc::make_mut(&mut small.namespaces).namespaces.truncate(5);
    small.containers.truncate(3);
    small.networks.truncate(3);
    small.cgroups = small.cgroups[..small.cgroups.len().min(10)].into();
    small.net_map = None;
    let mut large = small.clone();
    // ~2,000 processes: past SMALL_KEYFRAME_RAW of MessagePack.
    while large.processes.len() < 2000 {
        let mut copy = large.processes[large.processes.len() % 20].clone();
        Arc::make_mut(&mut copy.process).pid += large.processes.len() as i32 * 10;
        large.processes.push(copy);
    }
    for (frame, mode) in [(small, MODE_PATCH_PREFIX), (large, MODE_PATCH)] {
        let mut encoder = Encoder::default();
        let keyframe = encoder.encode(&frame).expect("encodes");
        let mut next = frame.clone();
        next.seq += 1;
        // The head's host summary changed in one field: its map item patched, its key kept.
        next.host.is_root = !next.host.is_root;
        Arc::make_mut(&mut next.processes[3].process).cpu_ticks += 9;
        next.processes[3].cpu_percent = Some(3.5);
        let delta = encoder.encode(&next).expect("encodes");
        assert_eq!(delta.kind, Kind::Delta);
        assert_eq!(modes(&delta.payload), vec![mode; SECTIONS]);
        decoded_byte_equal(&keyframe, &delta, &next);
        // A changed process costs its changed fields, not its command line and lists again.
        assert!(
            delta.payload.len() < 400,
            "mode {mode}: delta {} bytes, keyframe {}",
            delta.payload.len(),
            keyframe.payload.len()
        );
    }
}

#[test]
fn a_record_changed_in_place_is_fingerprinted_again() {
    let mut frame = live_frame();
    let mut encoder = Encoder::default();
    let keyframe = encoder.encode(&frame).expect("encodes");
    // The frame is the records' only owner: make_mut changes them where they are, unless the
    // encoder's Weak moves them (it must, or the unchanged pointer would be taken as unchanged).
    let before = Arc::as_ptr(&frame.processes[0].process);
    Arc::make_mut(&mut frame.processes[0].process).cpu_ticks += 11;
    assert_ne!(Arc::as_ptr(&frame.processes[0].process), before);
    frame.seq += 1;
    let delta = encoder.encode(&frame).expect("encodes");
    assert_eq!(delta.kind, Kind::Delta);
    decoded_byte_equal(&keyframe, &delta, &frame);
}

mod memory;
mod shared;

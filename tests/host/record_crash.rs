//! Crash safety: a store whose last record was cut short at any byte (power lost mid-write)
//! opens with every complete frame, a warning, and an index that never points past the cut;
//! a damaged record in the middle is handled by the documented rule (`record::segment`): a
//! payload byte flipped skips that record alone (and the deltas of a damaged keyframe), a
//! damaged length ends the segment there; an index hides nothing (a frame read checks its
//! checksum).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::fixture;
use crate::support::recordings::{json, keep_all, record, segments};

use isotop::record::{RecordOptions, Recorder, Recording};
use isotop::sample::Frame;

/// A segment's header and a record's head, bytes (`record::format`).
const HEADER: usize = 16;
const RECORD_HEADER: usize = 18;

fn frames(count: u64) -> Vec<Frame> {
    (0..count)
        .map(|seq| {
            let mut frame = fixture::net::with_networks(fixture::frame(seq, seq % 3 != 0));
            frame.taken_at_ms = 1_800_000_000_000 + seq * 1000;
            frame
        })
        .collect()
}

/// The offsets of a segment's records.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = HEADER;
    while at + RECORD_HEADER <= bytes.len() {
        offsets.push(at);
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += RECORD_HEADER + len;
    }
    offsets
}

/// A one-segment store of `frames` in a new temporary directory.
fn one_segment(frames: &[Frame]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    record(&store, frames, keep_all(Duration::from_secs(3600)));
    let segment = segments(&store).pop().expect("a segment");
    (dir, store, segment)
}

fn index_of(segment: &Path) -> PathBuf {
    segment.with_extension("isoidx")
}

#[test]
fn a_store_cut_at_every_byte_of_its_last_record_opens_with_every_complete_frame() {
    let frames = frames(6);
    let (_dir, store, segment) = one_segment(&frames);
    let whole = std::fs::read(&segment).expect("the segment");
    let offsets = record_offsets(&whole);
    assert_eq!(offsets.len(), frames.len());
    let last = *offsets.last().expect("a last record");
    for cut in last..whole.len() {
        std::fs::write(&segment, &whole[..cut]).expect("cut");
        let recording = Recording::open(&store).expect("a cut store opens");
        assert_eq!(recording.entries().len(), frames.len() - 1, "cut at {cut}");
        let torn = cut > last;
        assert_eq!(
            recording.warnings().len(),
            usize::from(torn),
            "cut at {cut}: {:?}",
            recording.warnings()
        );
        if torn {
            assert!(
                recording.warnings()[0].contains("incomplete record"),
                "{:?}",
                recording.warnings()
            );
        }
        // The frames before the cut, the last complete one above all, read back exactly.
        let newest = frames.len() - 2;
        assert_eq!(
            json(&recording.frame(newest).expect("decodes")),
            json(&frames[newest])
        );
        // A recorder taking the directory indexes the cut segment; the index lists only what
        // the segment holds.
        if cut % 97 == 0 || cut == last || cut == whole.len() - 1 {
            drop(Recorder::create(&store, keep_all(Duration::from_secs(3600))).expect("recorder"));
            assert!(index_of(&segment).exists(), "indexed at cut {cut}");
            let indexed = Recording::open(&store).expect("opens from the index");
            assert_eq!(indexed.entries().len(), frames.len() - 1, "cut at {cut}");
            assert_eq!(indexed.warnings().len(), usize::from(torn), "cut at {cut}");
            for (index, frame) in frames.iter().take(frames.len() - 1).enumerate() {
                assert_eq!(json(&indexed.frame(index).expect("decodes")), json(frame));
            }
            // Segments a recorder made since: remove them for the next cut.
            for other in segments(&store).into_iter().filter(|p| *p != segment) {
                std::fs::remove_file(&other).expect("removed");
                let _ = std::fs::remove_file(index_of(&other));
            }
        }
    }
    // Whole again: every frame, no warning (the index of a cut is stale, so it is not used).
    std::fs::write(&segment, &whole).expect("restored");
    let recording = Recording::open(&store).expect("opens");
    assert_eq!(recording.entries().len(), frames.len());
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
}

#[test]
fn a_segment_cut_inside_its_header_is_skipped() {
    let frames = frames(2);
    let (_dir, store, segment) = one_segment(&frames);
    // A second, newer segment cut as it was created.
    let newer = segment.with_file_name("1900000000000000.isorec");
    for cut in 0..HEADER {
        std::fs::write(&newer, &b"ISOTOPRC\0\0\0\x02\0\0\0\0"[..cut]).expect("written");
        let recording = Recording::open(&store).expect("opens");
        assert_eq!(recording.entries().len(), 2, "cut at {cut}");
        assert_eq!(recording.warnings().len(), 1, "cut at {cut}");
    }
}

#[test]
fn a_damaged_payload_skips_its_record_alone() {
    let frames = frames(8);
    let (_dir, store, segment) = one_segment(&frames);
    let mut bytes = std::fs::read(&segment).expect("the segment");
    let offsets = record_offsets(&bytes);
    bytes[offsets[3] + RECORD_HEADER + 10] ^= 0x55;
    std::fs::write(&segment, &bytes).expect("damaged");
    // The index was written before the damage: the frame read finds it.
    let indexed = Recording::open(&store).expect("opens");
    assert_eq!(indexed.entries().len(), 8);
    let err = indexed
        .frame(3)
        .expect_err("a damaged record does not decode");
    assert!(err.to_string().contains("checksum"), "{err}");
    assert_eq!(json(&indexed.frame(4).expect("decodes")), json(&frames[4]));
    // Scanned (no index): that record is skipped, with a warning, and only it.
    std::fs::remove_file(index_of(&segment)).expect("index removed");
    let scanned = Recording::open(&store).expect("opens");
    assert_eq!(scanned.entries().len(), 7);
    assert_eq!(scanned.warnings().len(), 1, "{:?}", scanned.warnings());
    assert!(
        scanned.warnings()[0].contains("damaged"),
        "{:?}",
        scanned.warnings()
    );
    let times: Vec<u64> = scanned.entries().iter().map(|e| e.t_ms).collect();
    assert!(!times.contains(&frames[3].taken_at_ms));
    for (index, entry) in scanned.entries().iter().enumerate() {
        let original = frames
            .iter()
            .find(|f| f.taken_at_ms == entry.t_ms)
            .expect("a frame");
        assert_eq!(
            json(&scanned.frame(index).expect("decodes")),
            json(original)
        );
    }
}

#[test]
fn a_damaged_keyframe_takes_its_deltas_and_a_damaged_length_the_rest() {
    let frames = frames(8);
    let (_dir, store, segment) = one_segment(&frames);
    std::fs::remove_file(index_of(&segment)).expect("index removed");
    let whole = std::fs::read(&segment).expect("the segment");
    let offsets = record_offsets(&whole);

    let mut keyframe_damaged = whole.clone();
    keyframe_damaged[offsets[0] + RECORD_HEADER + 10] ^= 0x55;
    std::fs::write(&segment, &keyframe_damaged).expect("damaged");
    let recording = Recording::open(&store).expect("opens");
    assert_eq!(
        recording.entries().len(),
        0,
        "every delta needs the keyframe"
    );
    assert_eq!(recording.warnings().len(), 8, "{:?}", recording.warnings());
    assert!(
        recording.warnings()[1].contains("keyframe is missing"),
        "{:?}",
        recording.warnings()
    );

    let mut length_damaged = whole.clone();
    length_damaged[offsets[5]] ^= 0x01;
    std::fs::write(&segment, &length_damaged).expect("damaged");
    let recording = Recording::open(&store).expect("opens");
    assert_eq!(recording.entries().len(), 5);
    assert_eq!(recording.warnings().len(), 1, "{:?}", recording.warnings());
    for (index, frame) in frames.iter().take(5).enumerate() {
        assert_eq!(json(&recording.frame(index).expect("decodes")), json(frame));
    }
}

#[test]
fn a_delta_cannot_begin_a_store() {
    // The public face of `append_encoded`'s rule: a recorder's own first record is a keyframe
    // whatever came before in another store.
    let frames = frames(3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    record(&store, &frames[..2], RecordOptions::default());
    record(&store, &frames[2..], RecordOptions::default());
    let recording = Recording::open(&store).expect("opens");
    let keyframes: Vec<bool> = recording
        .entries()
        .iter()
        .map(|e| e.is_keyframe())
        .collect();
    assert_eq!(keyframes, vec![true, false, true]);
}

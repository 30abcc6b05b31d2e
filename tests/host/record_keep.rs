//! What a store keeps and who writes it: retention by age and by size removes the oldest
//! segments, never the open one, while a reader that opened the store before keeps working
//! (`refresh` drops what went, a frame of a removed segment is a clear error); one recorder
//! per directory; a store of another format version is refused, or skipped beside this one's.

use std::time::Duration;

use crate::support::fixture;
use crate::support::recordings::{json, keep_all, record, segments};

use isotop::record::{RecordError, RecordOptions, Recorder, Recording};
use isotop::sample::Frame;

const START_MS: u64 = 1_800_000_000_000;

/// `count` frames a minute apart.
fn minutes(count: u64) -> Vec<Frame> {
    (0..count)
        .map(|seq| {
            let mut frame = fixture::frame(seq, seq % 2 == 0);
            frame.taken_at_ms = START_MS + seq * 60_000;
            frame
        })
        .collect()
}

#[test]
fn age_removes_the_segments_older_than_it_while_a_reader_reads() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    let frames = minutes(31);
    // 10-minute segments, the first 20 minutes recorded: 2 segments.
    record(&store, &frames[..20], keep_all(Duration::from_secs(600)));
    assert_eq!(segments(&store).len(), 2);
    let mut reader = Recording::open(&store).expect("opens");
    assert_eq!(reader.entries().len(), 20);
    // Then recorded on, keeping 15 minutes: at minute 30 the first segment (newest frame
    // before minute 10) is more than 15 minutes old, the second (before 20) is not.
    let options = RecordOptions {
        retain_age: Some(Duration::from_secs(15 * 60)),
        retain_bytes: None,
        segment_span: Duration::from_secs(600),
    };
    record(&store, &frames[20..], options);
    let left = segments(&store);
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(
        !left[0].to_string_lossy().contains(&START_MS.to_string()),
        "{left:?}"
    );
    assert!(
        !segments_before(&store).with_extension("isoidx").exists(),
        "its index went too"
    );
    // The reader opened before: a frame of the removed segment is a clear error.
    match reader.frame(0) {
        Err(RecordError::Rotated { path }) => assert_eq!(path, segments_before(&store)),
        other => panic!("expected Rotated, got {other:?}"),
    }
    reader.refresh().expect("refreshes");
    assert_eq!(reader.entries().len(), 21, "minutes 10 to 30");
    assert_eq!(reader.entries()[0].t_ms, START_MS + 10 * 60_000);
    assert_eq!(json(&reader.frame(0).expect("decodes")), json(&frames[10]));
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
}

fn segments_before(store: &std::path::Path) -> std::path::PathBuf {
    store.join(format!("{START_MS:016}.isorec"))
}

#[test]
fn size_removes_the_oldest_segments_but_never_the_open_one() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    let frames = minutes(40);
    let stored = |frames: &[Frame], name: &str| {
        let probe = dir.path().join(name);
        record(&probe, frames, keep_all(Duration::from_secs(24 * 3600)));
        segments(&probe)
            .iter()
            .map(|p| std::fs::metadata(p).expect("size").len())
            .sum::<u64>()
    };
    // The largest record: a keyframe.
    let one = stored(&frames[..1], "one");
    // A third of what all the frames take; segments of an eighth of it.
    let limit = stored(&frames, "all") / 3;
    let options = RecordOptions {
        retain_age: None,
        retain_bytes: Some(limit),
        segment_span: Duration::from_secs(24 * 3600),
    };
    let mut recorder = Recorder::create(&store, options).expect("a recorder");
    for frame in &frames {
        recorder.append(frame).expect("appended");
        let bytes: u64 = std::fs::read_dir(&store)
            .expect("listed")
            .map(|e| e.expect("entry").metadata().expect("size").len())
            .sum();
        // Within one segment (an eighth) of the bound, plus the open segment's index to come.
        assert!(
            bytes <= limit + limit / 8 + one,
            "{bytes} bytes, limit {limit}"
        );
    }
    recorder.finish().expect("closed");
    let recording = Recording::open(&store).expect("opens");
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    let kept = recording.entries().len();
    assert!(kept > 0 && kept < frames.len(), "kept {kept}");
    // The newest frames are the ones kept, every one readable.
    let first_kept = frames.len() - kept;
    for (index, frame) in frames[first_kept..].iter().enumerate() {
        assert_eq!(json(&recording.frame(index).expect("decodes")), json(frame));
    }
}

#[test]
fn a_second_recorder_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = Recorder::create(dir.path(), RecordOptions::default()).expect("the first");
    let second = Recorder::create(dir.path(), RecordOptions::default());
    assert!(
        matches!(second, Err(RecordError::Locked { .. })),
        "{second:?}"
    );
    let message = second.expect_err("refused").to_string();
    assert!(message.contains("another isotop"), "{message}");
    drop(first);
    Recorder::create(dir.path(), RecordOptions::default()).expect("free again");
}

/// A segment of store format 1 (the first release's header, one record).
fn format_one_segment(path: &std::path::Path) {
    let mut bytes = b"ISOTOPRC".to_vec();
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&[0; 18]);
    std::fs::write(path, bytes).expect("written");
}

#[test]
fn another_format_version_is_refused_alone_and_skipped_beside_this_one() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let old = dir.path().join(format!("{:016}.isorec", START_MS - 1));
    format_one_segment(&old);
    let refused = Recording::open(dir.path()).expect_err("format 1 alone is refused");
    assert!(
        matches!(
            refused,
            RecordError::Version {
                found: 1,
                supported: 3,
                ..
            }
        ),
        "{refused:?}"
    );
    let message = refused.to_string();
    assert!(
        message.contains("format 1") && message.contains("format 3"),
        "{message}"
    );
    // A recorder upgraded in place records on; the old segment is skipped with a warning.
    let frames = minutes(2);
    record(dir.path(), &frames, RecordOptions::default());
    let recording = Recording::open(dir.path()).expect("opens");
    assert_eq!(recording.entries().len(), 2);
    assert_eq!(recording.warnings().len(), 1, "{:?}", recording.warnings());
    assert!(
        recording.warnings()[0].contains("format 1"),
        "{:?}",
        recording.warnings()
    );
}

//! The flight recorder's store: frames appended by a `Recorder` read back from a `Recording`
//! exactly as written (their JSON compared), found by time.

use crate::support::fixture;

use isotop::record::{RecordOptions, Recorder, Recording};

fn json(frame: &isotop::sample::Frame) -> String {
    serde_json::to_string(frame).expect("a frame serializes")
}

#[test]
fn frames_read_back_as_written_and_by_time() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    let frames: Vec<_> = (0..12)
        .map(|seq| fixture::net::with_networks(fixture::frame(seq, seq % 3 != 0)))
        .collect();
    {
        let mut recorder = Recorder::create(&store, RecordOptions::default()).expect("recorder");
        for frame in &frames {
            recorder.append(frame).expect("appended");
        }
    }
    let recording = Recording::open(&store).expect("opens");
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    assert_eq!(recording.entries().len(), frames.len());
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(json(&recording.frame(index).expect("decodes")), json(frame));
        let at = recording.index_at_or_before(frame.taken_at_ms + 1);
        assert_eq!(at, Some(index));
    }
    assert_eq!(
        recording.index_at_or_before(frames[0].taken_at_ms - 1),
        None
    );
}

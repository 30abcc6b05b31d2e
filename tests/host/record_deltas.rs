//! Keyframes and deltas: real frames of this host recorded with a keyframe every few frames
//! and a new segment every few seconds read back exactly (JSON compared), every one of them,
//! in any order; a light frame is the frame without its processes and namespaces.

use std::time::Duration;

use crate::support::recordings::{json, keep_all, live_frames, record, segments};

use isotop::record::Recording;

const START_MS: u64 = 1_800_000_000_000;

#[test]
fn deltas_read_back_exactly_across_keyframes_and_segments() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    // 1 s apart, a segment every 7 s: keyframes at each segment's start and every 60 frames.
    let frames = live_frames(16, START_MS, 1000);
    record(&store, &frames, keep_all(Duration::from_secs(7)));
    assert_eq!(segments(&store).len(), 3, "16 s in segments of 7 s");
    let recording = Recording::open(&store).expect("opens");
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    let entries = recording.entries();
    assert_eq!(entries.len(), frames.len());
    let keyframes: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].is_keyframe())
        .collect();
    assert_eq!(keyframes, vec![0, 7, 14], "a keyframe starts each segment");
    // Backwards, so each delta is read with another keyframe cached before it.
    for index in (0..frames.len()).rev() {
        let frame = recording.frame(index).expect("decodes");
        assert_eq!(json(&frame), json(&frames[index]), "frame {index}");
        assert!(!frame.processes.is_empty(), "frame {index} has processes");
    }
    for (index, original) in frames.iter().enumerate() {
        let light = recording.frame_light(index).expect("a light frame decodes");
        assert!(light.processes.is_empty(), "frame {index}");
        assert!(light.namespaces.namespaces.is_empty(), "frame {index}");
        let mut expected = original.clone();
        expected.processes.clear();
        std::sync::Arc::make_mut(&mut expected.namespaces)
            .namespaces
            .clear();
        assert_eq!(json(&light), json(&expected), "light frame {index}");
    }
    assert_eq!(recording.span(), Some((START_MS, START_MS + 15_000)));
}

#[test]
fn a_delta_is_smaller_than_its_keyframe() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let keyframes_only = dir.path().join("keyframes");
    let frames = live_frames(6, START_MS, 1000);
    record(
        &keyframes_only,
        &frames[..1],
        keep_all(Duration::from_secs(3600)),
    );
    let deltas = dir.path().join("deltas");
    record(&deltas, &frames, keep_all(Duration::from_secs(3600)));
    let size = |dir: &std::path::Path| {
        segments(dir)
            .iter()
            .map(|p| std::fs::metadata(p).expect("a segment").len())
            .sum::<u64>()
    };
    let keyframe = size(&keyframes_only);
    let five_deltas = size(&deltas) - keyframe;
    assert!(
        five_deltas < 5 * keyframe / 2,
        "5 deltas take {five_deltas} bytes, one keyframe {keyframe}"
    );
}

//! Stores for the `record_*` tests: real frames of this host, recorded into a temporary
//! directory, and the frames' JSON to compare what a store gives back with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use isotop::record::{RecordOptions, Recorder};
use isotop::sample::Frame;

use super::sampling::eager_sampler;

/// A frame as JSON: two frames are equal when their JSON is.
pub fn json(frame: &Frame) -> String {
    serde_json::to_string(frame).expect("a frame serializes")
}

/// `count` consecutive frames of the live host (its processes, cgroups and namespaces), taken
/// back to back, their times then set `step_ms` apart from `start_ms` (a recording's clock,
/// not the test's).
pub fn live_frames(count: usize, start_ms: u64, step_ms: u64) -> Vec<Frame> {
    let mut sampler = eager_sampler();
    (0..count)
        .map(|i| {
            let mut frame = sampler.tick().expect("the live host is sampled");
            frame.taken_at_ms = start_ms + i as u64 * step_ms;
            frame
        })
        .collect()
}

/// `frames` recorded into `dir` with `options`; the recorder is closed (indexes written).
pub fn record(dir: &Path, frames: &[Frame], options: RecordOptions) {
    let mut recorder = Recorder::create(dir, options).expect("a recorder");
    for frame in frames {
        recorder.append(frame).expect("appended");
    }
    recorder.finish().expect("closed");
}

/// Options with segments of `span` and nothing removed.
pub fn keep_all(span: Duration) -> RecordOptions {
    RecordOptions {
        retain_age: None,
        retain_bytes: None,
        segment_span: span,
    }
}

/// The segment files of `dir`, by name.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the store is listed")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "isorec"))
        .collect();
    found.sort();
    found
}

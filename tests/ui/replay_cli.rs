//! `isotop replay`'s refusals, all before the terminal is touched (stdout stays empty, no
//! escape sequence written): a missing directory, one with no frame (a lock and nothing else,
//! or files that are not segments), a segment that is not an isotop store's, a time before the
//! recording — the user's to mend, exit 2 — and another store format version (exit 1). Each
//! says what is wrong.

use crate::support::fixture;

use std::path::Path;
use std::process::Output;

use isotop::record::{RecordOptions, Recorder};

fn replay(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_isotop"))
        .arg("replay")
        .args(args)
        .output()
        .expect("isotop runs")
}

/// Checks `output` is a refusal with `code` whose message holds `needle`.
fn refused(output: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "`{needle}` in: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "the terminal is untouched: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("a UTF-8 temporary path")
}

#[test]
fn missing_empty_and_foreign_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    refused(
        &replay(&[path(&missing)]),
        2,
        "no recording there (name the recording's directory, or start `isotop record`)",
    );

    // A store whose recorder took the lock and wrote nothing.
    let locked = dir.path().join("locked");
    drop(Recorder::create(&locked, RecordOptions::default()).unwrap());
    assert!(locked.join("lock").exists());
    refused(&replay(&[path(&locked)]), 2, "holds no recorded frame");

    // A directory of other things.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "hello").unwrap();
    refused(&replay(&[path(&other)]), 2, "holds no recorded frame");

    // A file named as a segment that is none.
    std::fs::write(other.join("0000000000000001.isorec"), "not a store at all").unwrap();
    refused(&replay(&[path(&other)]), 2, "is not an isotop recording");
}

#[test]
fn another_format_version_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut header = b"ISOTOPRC".to_vec();
    header.extend_from_slice(&999u32.to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    std::fs::write(dir.path().join("0000000000000001.isorec"), header).unwrap();
    refused(
        &replay(&[path(dir.path())]),
        1,
        "was recorded in store format 999",
    );
}

#[test]
fn a_time_before_the_recording_or_not_a_time_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut recorder = Recorder::create(dir.path(), RecordOptions::default()).unwrap();
        for seq in 0..3 {
            recorder.append(&fixture::frame(seq, true)).unwrap();
        }
    }
    refused(
        &replay(&[path(dir.path()), "--at", "2026-01-02T03:00:00Z"]),
        2,
        "before the recording's first frame; ",
    );
    refused(
        &replay(&[path(dir.path()), "--at", "2026-01-02T03:00:00Z"]),
        2,
        "holds 2026-01-02T03:04:05.000Z to 2026-01-02T03:04:07.000Z (3 frames)",
    );
    refused(
        &replay(&[path(dir.path()), "--at", "soonish"]),
        2,
        "--at soonish: give an RFC 3339 time",
    );
    // A good time gets past the store's checks to the terminal's: not one here.
    refused(
        &replay(&[path(dir.path()), "--at", "2026-01-02T03:04:06Z"]),
        2,
        "the dashboard needs a terminal",
    );
}

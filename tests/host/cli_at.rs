//! `isotop ls/cgroups/ns/inspect --at TIME --from DIR` on a store of the dashboard's test
//! frames (one a second from `fixture::T0_MS`): the frame at or before TIME, the answer naming
//! it (text's first line, JSON's `recorded_at`), `ls --json` byte-equal to the CLI's builder on
//! that frame, and each mistake refused with a message saying what to do.

use std::path::Path;
use std::process::Output;

use isotop::record::{RecordOptions, Recorder};
use isotop::sample::Frame;

use crate::support::common::run_isotop;
use crate::support::fixture;

/// A store of `frames` in `dir`.
fn store(dir: &Path, frames: &[Frame]) {
    let mut recorder = Recorder::create(dir, RecordOptions::default()).expect("a recorder");
    for frame in frames {
        recorder.append(frame).expect("appended");
    }
}

fn fixture_store() -> (tempfile::TempDir, Vec<Frame>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let frames: Vec<Frame> = (0..5).map(|seq| fixture::frame(seq, true)).collect();
    store(dir.path(), &frames);
    (dir, frames)
}

fn at(dir: &Path, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--from", dir.to_str().expect("a UTF-8 path")]);
    run_isotop(&all)
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "isotop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 2 with a message on stderr containing each of `needles`.
fn refused(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn ls_at_answers_the_frame_at_or_before_and_names_it() {
    let (dir, frames) = fixture_store();
    // 03:04:07.500Z: frame 2 (03:04:07Z) is the one at or before it.
    let between = "2026-01-02T03:04:07.500Z";
    let out = stdout(&at(dir.path(), &["ls", "--json", "--at", between]));
    let expected = isotop::ls_json_of_frame(&frames[2]).expect("ls JSON of the frame");
    assert_eq!(out, expected);
    let rows = json(&out);
    let rows = rows.as_array().expect("an array of rows");
    assert_eq!(rows.len(), frames[2].containers.len());
    for row in rows {
        assert_eq!(row["recorded_at"], "2026-01-02T03:04:07.000Z");
    }
    // The same moment with a local offset, and exactly at a frame's time.
    let offset = stdout(&at(
        dir.path(),
        &["ls", "--json", "--at", "2026-01-02T04:04:07.5+01:00"],
    ));
    assert_eq!(offset, expected);
    let exact = stdout(&at(
        dir.path(),
        &["ls", "--json", "--at", "2026-01-02T03:04:07Z"],
    ));
    assert_eq!(exact, expected);
    // The text: a first line naming the frame, the moment asked and the store, then the table.
    let text = stdout(&at(dir.path(), &["ls", "--wide", "--at", between]));
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "recorded at 2026-01-02T03:04:07.000Z (the frame at or before {between}; {})",
            dir.path().display()
        )
    );
    assert!(
        text.lines().nth(1).unwrap_or_default().starts_with("ID "),
        "{text}"
    );
    assert!(text.contains("web"), "{text}");
    // --from alone: the newest frame.
    let newest = stdout(&at(dir.path(), &["ls", "--json"]));
    assert_eq!(newest, isotop::ls_json_of_frame(&frames[4]).expect("JSON"));
    let text = stdout(&at(dir.path(), &["ls"]));
    assert!(
        text.starts_with("recorded at 2026-01-02T03:04:09.000Z (the newest frame; "),
        "{text}"
    );
}

#[test]
fn a_duration_ago_picks_the_frame_before_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("ms fit");
    // Frames 20 and 10 minutes ago: `-15m` and `15m` are the first, `-5m` the second.
    let frames: Vec<Frame> = [20u64, 10]
        .iter()
        .enumerate()
        .map(|(seq, minutes)| {
            let mut frame = fixture::frame(seq as u64, true);
            frame.taken_at_ms = now_ms - minutes * 60_000;
            frame
        })
        .collect();
    store(dir.path(), &frames);
    for (ago, index) in [("-15m", 0), ("15m", 0), ("-5m", 1)] {
        let out = stdout(&at(dir.path(), &["ls", "--json", "--at", ago]));
        assert_eq!(
            out,
            isotop::ls_json_of_frame(&frames[index]).expect("JSON"),
            "--at {ago}"
        );
    }
    refused(
        &at(dir.path(), &["ls", "--at", "-30m"]),
        &["before the recording's first frame", "(2 frames)"],
    );
}

#[test]
fn mistakes_are_refused_with_what_to_do() {
    let (dir, _) = fixture_store();
    refused(
        &at(dir.path(), &["ls", "--at", "yesterday"]),
        &["--at yesterday", "RFC 3339"],
    );
    // Before the first frame: the recording's span in the message.
    refused(
        &at(dir.path(), &["ls", "--at", "2026-01-02T03:00:00Z"]),
        &[
            "before the recording's first frame",
            "2026-01-02T03:04:05.000Z to 2026-01-02T03:04:09.000Z (5 frames)",
        ],
    );
    let missing = dir.path().join("missing");
    refused(
        &at(&missing, &["ls", "--at", "1m"]),
        &["no recording there", "missing"],
    );
    let empty = tempfile::tempdir().expect("a temporary directory");
    refused(
        &at(empty.path(), &["cgroups", "--json"]),
        &["holds no recorded frame", "isotop record -o"],
    );
    // What a recording cannot answer.
    refused(
        &at(dir.path(), &["ls", "--interval", "1"]),
        &["--interval cannot be answered from a recording"],
    );
    refused(
        &at(dir.path(), &["ls", "--all"]),
        &["--all cannot be answered from a recording"],
    );
    refused(
        &at(dir.path(), &["inspect", "web", "--size"]),
        &["--size cannot be answered from a recording"],
    );
    refused(&at(dir.path(), &["inspect", "nosuchname"]), &["nosuchname"]);
    refused(
        &at(dir.path(), &["ns", "-p", "999999"]),
        &["no process with pid 999999 in the frame recorded at"],
    );
    refused(
        &at(dir.path(), &["cgroups", "/no/such/group"]),
        &["no cgroup /no/such/group in the frame recorded at"],
    );
}

#[test]
fn cgroups_ns_and_inspect_answer_from_the_frame() {
    let (dir, frames) = fixture_store();
    let frame = &frames[3];
    let when = "2026-01-02T03:04:08.999Z";
    let recorded_at = "2026-01-02T03:04:08.000Z";

    let cgroups = json(&stdout(&at(
        dir.path(),
        &["cgroups", "--json", "--at", when],
    )));
    assert_eq!(cgroups["recorded_at"], recorded_at);
    assert_eq!(cgroups["hierarchies"], serde_json::Value::Null);
    assert!(cgroups["not_recorded"]["hierarchies"].is_string());
    // The tree holds every cgroup of the frame, each once, with its reading.
    let mut paths = Vec::new();
    fn walk(node: &serde_json::Value, paths: &mut Vec<String>) {
        paths.push(node["path"].as_str().unwrap_or_default().to_string());
        for child in node["children"].as_array().into_iter().flatten() {
            walk(child, paths);
        }
    }
    walk(&cgroups["tree"], &mut paths);
    let expected: Vec<String> = frame.cgroups.iter().map(|c| c.path.clone()).collect();
    assert_eq!(paths, expected);
    let first = &frame.cgroups[0];
    assert_eq!(
        cgroups["tree"]["reading"],
        serde_json::to_value(&first.reading).expect("a reading serializes")
    );
    let text = stdout(&at(dir.path(), &["cgroups", "--at", when]));
    assert!(
        text.starts_with(&format!(
            "recorded at {recorded_at} (the frame at or before"
        )),
        "{text}"
    );
    assert!(text.contains("CGROUP"), "{text}");

    let ns = json(&stdout(&at(dir.path(), &["ns", "--json", "--at", when])));
    assert_eq!(ns["recorded_at"], recorded_at);
    assert_eq!(
        ns["namespaces"],
        serde_json::to_value(&frame.namespaces.namespaces).expect("namespaces serialize")
    );
    let text = stdout(&at(dir.path(), &["ns", "--at", when]));
    assert!(text.starts_with("recorded at "), "{text}");
    assert!(
        text.lines().nth(1).unwrap_or_default().contains("TYPE"),
        "{text}"
    );

    let web = frame
        .containers
        .iter()
        .find(|c| c.view.container.name == "web")
        .expect("web in the frame");
    let inspect = json(&stdout(&at(
        dir.path(),
        &["inspect", "web", "--json", "--at", when],
    )));
    assert_eq!(inspect["recorded_at"], recorded_at);
    assert_eq!(inspect["id"], web.view.container.id.as_str());
    assert_eq!(
        inspect["cgroup"],
        serde_json::to_value(&web.view.cgroup).expect("a reading serializes")
    );
    assert_eq!(inspect["network"], serde_json::Value::Null);
    assert!(inspect["not_recorded"]["network"].is_string());
    let text = stdout(&at(dir.path(), &["inspect", "web", "--at", when]));
    assert!(text.starts_with("recorded at "), "{text}");
    assert!(text.contains(&web.view.container.id), "{text}");
}

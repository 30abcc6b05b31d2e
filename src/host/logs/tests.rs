//! `read` over files of every format: joining, rotation (gzip too), queries, tail read
//! backward equal to the whole log read forward, garbage counted, huge lines cut.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::decode::local_frame;
use super::time::format_rfc3339_ns;
use super::*;

const T0: u64 = 1_765_015_200_000_000_000; // 2025-12-06T10:00:00Z

fn docker(text: &str, stream: &str, at: u64) -> String {
    let record = serde_json::json!({"log": text, "stream": stream, "time": format_rfc3339_ns(at)});
    format!("{record}\n")
}

fn cri(text: &str, stream: &str, tag: &str, at: u64) -> String {
    format!("{} {stream} {tag} {text}\n", format_rfc3339_ns(at))
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn gzip(path: &Path, bytes: &[u8]) {
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap();
}

fn texts(lines: &[LogLine]) -> Vec<String> {
    lines.iter().map(|l| l.text.clone()).collect()
}

fn files(format: LogFormat, current: PathBuf, rotated: Vec<PathBuf>) -> LogFiles {
    LogFiles {
        format,
        current,
        rotated,
    }
}

#[test]
fn docker_json_file_joins_partials_across_rotation_and_streams() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c-json.log");
    let (one, two) = (
        dir.path().join("c-json.log.1"),
        dir.path().join("c-json.log.2.gz"),
    );
    gzip(&two, docker("oldest\n", "stdout", T0).as_bytes());
    // A line split in three records, the split crossing the rotation, stderr in between.
    write(
        &one,
        format!(
            "{}{}",
            docker("begin ", "stdout", T0 + 1),
            docker("err\n", "stderr", T0 + 2)
        )
        .as_bytes(),
    );
    write(
        &log,
        format!(
            "{}{}not json\n{}",
            docker("middle ", "stdout", T0 + 3),
            docker("end\n", "stdout", T0 + 4),
            docker("last\n", "stdout", T0 + 5)
        )
        .as_bytes(),
    );
    let f = files(LogFormat::DockerJsonFile, log, vec![two, one]);
    let mut skipped = 0;
    let mut lines = Vec::new();
    let summary = read_each(&f, &LogQuery::default(), |l| {
        lines.push(l);
        ControlFlow::Continue(())
    })
    .unwrap();
    skipped += summary.skipped;
    assert_eq!(texts(&lines), ["oldest", "err", "begin middle end", "last"]);
    assert_eq!(skipped, 1, "the garbage line");
    assert_eq!(
        lines[2].at_ns,
        Some(T0 + 4),
        "a joined line's time is its end's"
    );
    assert_eq!(lines[1].stream, Some(LogStream::Stderr));
    // The last two, backward: the joined line gathered across the rotated file.
    let tail = read(
        &f,
        &LogQuery {
            tail: Some(2),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(texts(&tail), ["begin middle end", "last"]);
    let only_err = read(
        &f,
        &LogQuery {
            stream: Some(LogStream::Stderr),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(texts(&only_err), ["err"]);
    let window = read(
        &f,
        &LogQuery {
            since_ns: Some(T0 + 2),
            until_ns: Some(T0 + 4),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(texts(&window), ["err", "begin middle end"]);
}

/// A log of many lines in both streams, some long (split in pieces), some garbage between.
fn busy_cri_log(path: &Path) -> Vec<(LogStream, String)> {
    let mut out = String::new();
    let mut expected = Vec::new();
    for i in 0..3000u64 {
        let stream = if i % 7 == 3 { "stderr" } else { "stdout" };
        let text = format!("line {i} {}", "x".repeat((i % 50) as usize));
        if i % 11 == 0 {
            // Three pieces, the other stream's line in between.
            let (other, other_stream) = if stream == "stderr" {
                ("stdout", LogStream::Stdout)
            } else {
                ("stderr", LogStream::Stderr)
            };
            out += &cri(&text[..3], stream, "P", T0 + i * 10);
            out += &cri(&format!("aside {i}"), other, "F", T0 + i * 10 + 1);
            expected.push((other_stream, format!("aside {i}")));
            out += &cri(&text[3..5], stream, "P", T0 + i * 10 + 2);
            out += &cri(&text[5..], stream, "F", T0 + i * 10 + 3);
        } else {
            out += &cri(&text, stream, "F", T0 + i * 10);
        }
        if i % 500 == 0 {
            out += "garbage\n";
        }
        let stream = if stream == "stderr" {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        };
        expected.push((stream, text));
    }
    // A line being written: left out.
    out += &format!("{} stdout F torn", format_rfc3339_ns(T0 + 99_999));
    write(path, out.as_bytes());
    expected
}

#[test]
fn tail_read_backward_is_the_end_of_the_log_read_forward() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    let expected = busy_cri_log(&path);
    let f = files(LogFormat::Cri, path, vec![]);
    let all = read(&f, &LogQuery::default()).unwrap();
    let got: Vec<(LogStream, String)> = all
        .iter()
        .map(|l| (l.stream.unwrap(), l.text.clone()))
        .collect();
    assert!(
        got == expected,
        "the log read forward is not what was written"
    );
    for n in [0, 1, 2, 5, 100, 2999, 5000] {
        for stream in [None, Some(LogStream::Stderr)] {
            let query = LogQuery {
                stream,
                since_ns: Some(T0 + 1000),
                ..LogQuery::default()
            };
            let forward: Vec<LogLine> = read(&f, &query).unwrap();
            let want = &forward[forward.len().saturating_sub(n)..];
            let tail = read(
                &f,
                &LogQuery {
                    tail: Some(n),
                    ..query
                },
            )
            .unwrap();
            assert!(tail == want, "tail {n} of {stream:?}: {:?}", texts(&tail));
        }
    }
}

#[test]
fn docker_local_frames_with_partials_rotated_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("local-logs");
    let current = logs.join("container.log");
    let rotated = logs.join("container.log.1.gz");
    std::fs::create_dir_all(&logs).unwrap();
    let old: Vec<u8> = [
        local_frame("stdout", T0, b"old one", None),
        local_frame("stdout", T0 + 1, b"old two", None),
    ]
    .concat();
    gzip(&rotated, &old);
    let mut now = [
        local_frame("stdout", T0 + 2, b"hal", Some(false)),
        local_frame("stderr", T0 + 3, b"an error \xff", None),
        local_frame("stdout", T0 + 4, b"ves", Some(true)),
    ]
    .concat();
    now.extend_from_slice(b"\x00\x00\x00\x05junk!"); // damage at the end
    write(&current, &now);
    let f = files(LogFormat::DockerLocal, current, vec![rotated]);
    let all = read(&f, &LogQuery::default()).unwrap();
    assert_eq!(
        texts(&all),
        ["old one", "old two", "an error \u{fffd}", "halves"]
    );
    // Backward: the damaged end makes the reader fall back to reading the file forward.
    let tail = read(
        &f,
        &LogQuery {
            tail: Some(3),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(texts(&tail), ["old two", "an error \u{fffd}", "halves"]);
}

#[test]
fn isotop_records_and_a_megabyte_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("container.log");
    let big = "é".repeat(512 * 1024); // 1 MiB of two-byte characters
    let mut text = String::new();
    for (t, stream, data) in [
        (1u64, "stdout", "start\n"),
        (2, "stdout", &big[..600_000]),
        (3, "stderr", "meanwhile\n"),
        (4, "stdout", &format!("{}\n", &big[600_000..])),
    ] {
        text += &format!(
            "{}\n",
            serde_json::json!({"t": t, "stream": stream, "data": data})
        );
    }
    write(&path, text.as_bytes());
    let f = files(LogFormat::Isotop, path, vec![]);
    let lines = read(&f, &LogQuery::default()).unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1].text, "meanwhile");
    assert!(lines[2].cut && !lines[0].cut);
    assert_eq!(lines[2].text.len(), MAX_LINE_BYTES);
    assert!(lines[2].text.chars().all(|c| c == 'é'));
    assert_eq!(lines[2].at_ns, Some(4_000_000));
    let tail = read(
        &f,
        &LogQuery {
            tail: Some(1),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(tail, lines[2..]);
}

#[test]
fn a_missing_current_file_is_a_note_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = files(
        LogFormat::Cri,
        dir.path().join("0.log"),
        vec![dir.path().join("0.log.20260101-000000")],
    );
    let summary = read_each(&f, &LogQuery::default(), |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(summary.notes.len(), 1, "{:?}", summary.notes);
    assert!(summary.notes[0].contains("no such file"));
}

#[test]
fn queries_admit_by_time_and_stream() {
    let q = LogQuery {
        since_ns: Some(10),
        until_ns: Some(20),
        stream: Some(LogStream::Stdout),
        tail: None,
    };
    assert!(q.admits(Some(10), Some(LogStream::Stdout)));
    assert!(q.admits(Some(20), Some(LogStream::Stdout)));
    assert!(!q.admits(Some(21), Some(LogStream::Stdout)));
    assert!(!q.admits(Some(9), Some(LogStream::Stdout)));
    assert!(!q.admits(Some(15), Some(LogStream::Stderr)));
    assert!(!q.admits(Some(15), None));
    assert!(
        q.admits(None, Some(LogStream::Stdout)),
        "no time: not filtered by time"
    );
}

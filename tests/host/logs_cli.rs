//! `isotop logs` on logs the test writes in the runtimes' own layouts under a fake root: a
//! stopped Docker container (`json-file`: a line split in records, a 1 MB line, escapes) and a
//! Kubernetes container under containerd (CRI: `P`/`F` records, invalid UTF-8, a rotated
//! file), read with `-n`, `--since`/`--until` (RFC 3339 with offsets, durations ago),
//! `--stream`, `--timestamps`; a driver that keeps no file, and bad arguments. No root needed.

use std::process::Output;

use crate::logs_layout::{LogRoot, SECOND, T0, append, cri_line, docker_line, unique_id};
use crate::support::common::unique_name;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> (String, String) {
    assert!(
        out.status.success(),
        "isotop logs failed ({:?}): {}",
        out.status.code(),
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

const CUT: &str = "…[cut: longer than 65536 bytes]";

/// A stopped Docker container whose log holds every kind of line; its name.
fn docker_container(root: &LogRoot) -> String {
    let name = unique_name("logs-docker");
    let log = root.docker(&unique_id("docker"), &name, None);
    let mut records = docker_line("first\n", "stdout", T0);
    records += &docker_line("an error \u{1b}[31m\tred\n", "stderr", T0 + SECOND);
    records += &docker_line("long ", "stdout", T0 + 2 * SECOND);
    records += &docker_line("line\n", "stdout", T0 + 3 * SECOND);
    // A 1 MiB line as Docker writes it: 16 KiB records without `\n`, then the end.
    let chunk = "x".repeat(16 * 1024);
    for _ in 0..64 {
        records += &docker_line(&chunk, "stdout", T0 + 4 * SECOND);
    }
    records += &docker_line("\n", "stdout", T0 + 4 * SECOND);
    records += "garbage that is no record\n";
    records += &docker_line("last\n", "stdout", T0 + 6 * SECOND);
    append(&log, &records);
    name
}

#[test]
fn docker_json_file_lines_streams_cuts_and_escapes() {
    let root = LogRoot::new();
    let name = docker_container(&root);
    let (stdout, stderr) = ok(&root.logs(&[&name]).output().unwrap());
    let huge = format!("{}{CUT}", "x".repeat(65_536));
    assert_eq!(stdout, format!("first\nlong line\n{huge}\nlast\n"));
    assert!(stderr.contains("an error ?[31m\tred\n"), "{stderr}");
    assert!(
        stderr.contains("1 records of the log were not log records"),
        "{stderr}"
    );

    let (tail, _) = ok(&root.logs(&["-n", "2", &name]).output().unwrap());
    assert_eq!(tail, format!("{huge}\nlast\n"));
    let (stamped, _) = ok(&root
        .logs(&["--timestamps", "--tail", "1", &name])
        .output()
        .unwrap());
    assert_eq!(stamped, "2026-12-06T10:00:06.000000000Z last\n");
}

#[test]
fn docker_json_file_by_time_and_stream() {
    let root = LogRoot::new();
    let name = docker_container(&root);
    let since = ok(&root
        .logs(&["--since", "2026-12-06T10:00:03Z", &name])
        .output()
        .unwrap())
    .0;
    assert!(since.starts_with("long line\n"), "{since}");
    // The same instant with an offset; --until is inclusive.
    let (until_out, until_err) = ok(&root
        .logs(&["--until", "2026-12-06T12:00:01+02:00", &name])
        .output()
        .unwrap());
    assert_eq!(until_out, "first\n");
    assert!(until_err.contains("an error"), "{until_err}");
    let (out, err) = ok(&root.logs(&["--stream", "stderr", &name]).output().unwrap());
    assert_eq!(out, "");
    assert!(err.starts_with("an error ?[31m\tred\n"), "{err}");
}

#[test]
fn durations_count_back_from_now() {
    let root = LogRoot::new();
    let name = unique_name("logs-ago");
    let log = root.docker(&unique_id("ago"), &name, None);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    append(
        &log,
        &(docker_line("an hour ago\n", "stdout", now - 3600 * SECOND)
            + &docker_line("a minute ago\n", "stdout", now - 60 * SECOND)),
    );
    let (out, _) = ok(&root.logs(&["--since", "10m", &name]).output().unwrap());
    assert_eq!(out, "a minute ago\n");
    let (out, _) = ok(&root.logs(&["--until", "30m", &name]).output().unwrap());
    assert_eq!(out, "an hour ago\n");
}

#[test]
fn kubernetes_cri_log_with_partials_invalid_utf8_and_rotation() {
    let root = LogRoot::new();
    let id = unique_id("k8s");
    let pod = unique_name("pod");
    let log = root.kubernetes(&id, "shop", &pod, "web");
    append(
        &log.with_file_name("0.log.20261206-095959"),
        &cri_line("from the rotated file", "stdout", "F", T0),
    );
    let mut bytes = cri_line("par", "stdout", "P", T0 + SECOND).into_bytes();
    bytes.extend(cri_line("err", "stderr", "F", T0 + 2 * SECOND).into_bytes());
    bytes.extend(cri_line("tial", "stdout", "F", T0 + 3 * SECOND).into_bytes());
    bytes.extend(b"2026-12-06T10:00:04Z stdout F bad \xff\xfe byte\ttab\n");
    bytes.extend(b"not a cri line\n");
    std::fs::write(&log, bytes).unwrap();
    // By the id as `ls` shows it.
    let (out, err) = ok(&root.logs(&[&id[..12]]).output().unwrap());
    assert_eq!(
        out,
        "from the rotated file\npartial\nbad \u{fffd}\u{fffd} byte\ttab\n"
    );
    assert!(err.starts_with("err\n"), "{err}");
    let (out, err) = ok(&root
        .logs(&["-n", "2", "--stream", "stdout", "-t", &id])
        .output()
        .unwrap());
    assert_eq!(
        out,
        "2026-12-06T10:00:03.000000000Z partial\n\
         2026-12-06T10:00:04.000000000Z bad \u{fffd}\u{fffd} byte\ttab\n"
    );
    assert!(!err.contains("err\n"), "{err}");
}

#[test]
fn a_driver_without_a_file_and_bad_arguments_are_errors() {
    let root = LogRoot::new();
    let name = unique_name("logs-journald");
    let id = unique_id("journald");
    root.docker(&id, &name, None);
    std::fs::write(
        root.path("var/lib/docker/containers")
            .join(&id)
            .join("hostconfig.json"),
        r#"{"LogConfig":{"Type":"journald","Config":{}}}"#,
    )
    .unwrap();
    let out = root.logs(&[&name]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("has no log file to read"), "{err}");
    assert!(err.contains("journald"), "{err}");
    assert!(
        err.contains(&format!("hint: journalctl CONTAINER_ID={}", &id[..12])),
        "{err}"
    );

    let docker = docker_container(&root);
    for args in [
        vec!["--since", "yesterday", docker.as_str()],
        vec!["--until", "2026-13-01T00:00:00Z", docker.as_str()],
        vec!["--since", "1m", "--until", "2h", docker.as_str()],
        vec!["--stream", "stdin", docker.as_str()],
        vec!["-n", "many", docker.as_str()],
        vec!["no-such-container-anywhere"],
    ] {
        let out = root.logs(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let err = text(
        &root
            .logs(&["--since", "yesterday", &docker])
            .output()
            .unwrap()
            .stderr,
    );
    assert!(err.contains("RFC 3339") && err.contains("10m"), "{err}");
}

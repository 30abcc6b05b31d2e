//! `isotop log`: the audit log (here a temp file through `ISOTOP_AUDIT_LOG`) printed as a
//! table, the last N entries with `-n`, the JSON lines as stored with `--json`; unreadable
//! lines are skipped and counted, control characters never reach the terminal.

use crate::support::common;

use std::io::Write;

use isotop::control::audit::{AuditEntry, append_to};

fn log(path: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::isotop()
        .arg("log")
        .args(args)
        .env("ISOTOP_AUDIT_LOG", path)
        .output()
        .unwrap()
}

#[test]
fn log_prints_entries_as_a_table_json_and_the_last_n() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let out = log(&path, &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("is empty"));

    let first = AuditEntry::now("c1", "limit.cpu", Some("-1".into()), Some("50000".into()));
    let mut second = AuditEntry::now("c2\x1b[31m", "limit", None, Some("--cpus abc".into()));
    second.result = "invalid --cpus \"abc\"".into();
    let third = AuditEntry::now("c1", "undo", Some("50000".into()), Some("-1".into()));
    append_to(&path, &first).unwrap();
    append_to(&path, &second).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"not json\n")
        .unwrap();
    append_to(&path, &third).unwrap();

    let out = log(&path, &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("TIME"), "{text}");
    assert!(
        lines[1].contains("limit.cpu") && lines[1].contains("50000"),
        "{text}"
    );
    assert!(lines[2].contains("invalid --cpus"), "{text}");
    assert!(lines[3].contains("undo"), "{text}");
    assert!(text.contains("1 unreadable line"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "an escape reached the terminal: {text:?}"
    );

    let out = log(&path, &["-n", "1", "--json"]);
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(json.lines().count(), 1);
    let back: AuditEntry = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(back, third);

    let out = log(&path, &["--json"]);
    let all: Vec<AuditEntry> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(all, vec![first, second, third]);
}

#[test]
fn a_refused_limit_is_logged_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let out = common::isotop()
        .args(["limit", "no-such-container-anywhere", "--cpus", "0.5"])
        .env("ISOTOP_AUDIT_LOG", &path)
        .env("ISOTOP_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    // As root: an unknown target (exit 2); as a user: acts need root (exit 1).
    let expected = if nix::unistd::geteuid().is_root() {
        2
    } else {
        1
    };
    assert_eq!(
        out.status.code(),
        Some(expected),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = log(&path, &["--json"]);
    let entries: Vec<AuditEntry> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target, "no-such-container-anywhere");
    assert_eq!(entries[0].what, "limit");
    assert_eq!(entries[0].new.as_deref(), Some("--cpus 0.5"));
    assert_ne!(entries[0].result, "ok");
}

//! `isotop record`, the binary: it records this host every `--interval` until SIGTERM, says
//! where once on stderr, closes the store (indexed) on the signal, refuses a directory
//! another recorder holds, and refuses a bad `--retain` as a usage error.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use isotop::record::Recording;

fn recorder(dir: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_isotop"))
        .args(["record", "-o"])
        .arg(dir)
        .args(["--interval", "1"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("isotop record starts")
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn records_until_sigterm_and_refuses_a_second_recorder() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = dir.path().join("store");
    let first = recorder(&store, &[]);
    // The second, once the first holds the lock (its directory and lock file exist).
    let started = Instant::now();
    while !store.join("lock").exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let second = recorder(&store, &[])
        .wait_with_output()
        .expect("the second ends");
    assert!(!second.status.success(), "{second:?}");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("is being recorded by another isotop"),
        "{said}"
    );

    std::thread::sleep(Duration::from_millis(3200));
    terminate(&first);
    let out = first.wait_with_output().expect("the first ends");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {said}", out.status);
    let first_line = said.lines().next().unwrap_or_default();
    assert_eq!(
        first_line,
        format!(
            "isotop: recording to {} every 1 s, keeping 24h",
            store.display()
        )
    );
    let recording = Recording::open(&store).expect("the store opens");
    assert!(
        recording.warnings().is_empty(),
        "{:?}",
        recording.warnings()
    );
    let frames = recording.entries().len();
    assert!(frames >= 2, "{frames} frames in 3 s at 1 s");
    let frame = recording.frame(frames - 1).expect("the last frame decodes");
    assert!(!frame.processes.is_empty());
    // Closed on the signal: the segment has its index.
    let indexed = std::fs::read_dir(&store)
        .expect("listed")
        .filter_map(|e| e.ok())
        .any(|e| e.path().extension().is_some_and(|x| x == "isoidx"));
    assert!(indexed, "the segment was indexed on SIGTERM");
}

#[test]
fn a_bad_retain_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = recorder(&dir.path().join("store"), &["--retain", "2 weeks"])
        .wait_with_output()
        .expect("ends");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--retain 2 weeks: give an age"), "{said}");
    assert!(
        !dir.path().join("store").exists(),
        "nothing made before the arguments are checked"
    );
}

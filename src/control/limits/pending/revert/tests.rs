//! [`start_worker`] against stand-ins for `isotop revert-worker --spawn` (shell scripts that do
//! to the pending file what a real spawner, or a racing isotop run, would): what `limit` reports
//! is what the pending file says afterwards, never a pending revert without a worker.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::*;

/// A pending revert under a fresh root, and a place for the stand-in spawner. Pending files
/// live under `<root>/run` only for root without `ISOTOP_STATE_DIR` (else the state
/// directory, which these tests must not touch): `None`, with why, otherwise.
fn fixture(test: &str) -> Option<(tempfile::TempDir, HostRoot, PendingRevert)> {
    if !nix::unistd::geteuid().is_root() || std::env::var_os("ISOTOP_STATE_DIR").is_some() {
        eprintln!(
            "skipping {test}: needs root without ISOTOP_STATE_DIR (pending files under a fixture root)"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    let pending = PendingRevert {
        id: "1700000000-42-7".into(),
        target: "c0ffee".into(),
        due_unix: now_unix() + 3600,
        worker_pid: None,
        files: Vec::new(),
    };
    store(&root, &pending).unwrap();
    Some((dir, root, pending))
}

/// A stand-in for isotop's binary running `body` (sh; `$2` is the root prefix, `$5` the id).
fn spawner(dir: &tempfile::TempDir, body: &str) -> PathBuf {
    let path = dir.path().join("fake-isotop");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

const REMOVE: &str = r#"rm "$2"/run/isotop/pending/"$5"@*.json"#;

#[test]
fn a_recorded_worker_is_started() {
    let Some((dir, root, pending)) = fixture("a_recorded_worker_is_started") else {
        return;
    };
    let exe = spawner(
        &dir,
        r#"sed -i 's/"worker_pid": *null/"worker_pid": 4242/' "$2"/run/isotop/pending/"$5"@*.json"#,
    );
    let started = start_worker(&root, &pending, &exe).unwrap();
    let mut want = pending.clone();
    want.worker_pid = Some(4242);
    assert_eq!(started, WorkerStart::Started(want));
}

/// The revert came due while its worker was being started and an isotop run without a worker
/// on record (here: the spawner's own catch-up) carried it out: the spawner has nothing to
/// start, and `limit` must say the revert is gone, not that it waits without a worker.
#[test]
fn a_revert_carried_out_meanwhile_is_gone_whatever_the_spawner_says() {
    let Some((dir, root, pending)) = fixture("a_revert_carried_out_meanwhile") else {
        return;
    };
    for exit in [0, 1] {
        store(&root, &pending).unwrap();
        let exe = spawner(&dir, &format!("{REMOVE}\nexit {exit}"));
        assert_eq!(
            start_worker(&root, &pending, &exe).unwrap(),
            WorkerStart::Gone,
            "spawner exiting {exit}"
        );
    }
}

/// A spawner that left the revert pending with no worker, whether it says it failed or not,
/// is an error: `limit` warns that the next isotop run must carry it out.
#[test]
fn a_revert_left_without_a_worker_is_an_error() {
    let Some((dir, root, pending)) = fixture("a_revert_left_without_a_worker") else {
        return;
    };
    for exit in [0, 1] {
        let exe = spawner(&dir, &format!("exit {exit}"));
        let err = start_worker(&root, &pending, &exe).unwrap_err().to_string();
        assert!(
            err.contains("recorded no worker"),
            "spawner exiting {exit}: {err}"
        );
        assert_eq!(read(&root, &pending.id).unwrap(), Some(pending.clone()));
    }
}

/// `--spawn` for a revert that is gone already starts nothing and is not a failure.
#[test]
fn spawning_the_worker_of_a_gone_revert_starts_nothing() {
    let Some((dir, root, pending)) = fixture("spawning_the_worker_of_a_gone_revert") else {
        return;
    };
    discard(&root, &pending.id).unwrap();
    let exe = spawner(&dir, "touch \"$2/started\"");
    assert_eq!(spawn_worker(&root, &pending.id, &exe).unwrap(), None);
    assert!(!dir.path().join("started").exists());
}

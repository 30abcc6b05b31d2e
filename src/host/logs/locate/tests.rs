use std::os::unix::fs::symlink;

use super::*;

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn numbered_rotations_oldest_first_the_plain_copy_of_a_pair() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("c-json.log");
    for name in [
        "c-json.log",
        "c-json.log.1",
        "c-json.log.1.gz", // being compressed: the plain one is read
        "c-json.log.2.gz",
        "c-json.log.10",
        "c-json.log.x",
        "c-json.log.-1",
        "c-json.logs.1",
        "other.log.3",
    ] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    std::fs::create_dir(dir.path().join("c-json.log.4")).unwrap();
    symlink("/etc/shadow", dir.path().join("c-json.log.5")).unwrap();
    assert_eq!(
        names(&rotated(&current, Rotation::Numbered)),
        ["c-json.log.10", "c-json.log.2.gz", "c-json.log.1"]
    );
}

#[test]
fn stamped_rotations_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("0.log");
    for name in [
        "0.log.20261206-110000",
        "0.log.20261205-235959.gz",
        "0.log.20261206-090000.gz",
        "0.log.2026120-090000",
        "0.log.tmp",
        "1.log.20261206-100000",
    ] {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    assert_eq!(
        names(&rotated(&current, Rotation::Stamped)),
        [
            "0.log.20261205-235959.gz",
            "0.log.20261206-090000.gz",
            "0.log.20261206-110000"
        ]
    );
    assert!(rotated(&dir.path().join("absent/0.log"), Rotation::Stamped).is_empty());
}

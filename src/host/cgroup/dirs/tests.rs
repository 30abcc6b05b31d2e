//! `CgroupDirs` on plain directories (a fake cgroup: a directory with a `cgroup.procs`): the
//! same bytes and errors as a read by path, a removed and remade directory read afresh, the
//! budget, and the tick's sweep. The same on real cgroups: `tests/host/cgroup_dirs.rs`.

use super::*;

fn fake_cgroup(root: &Path, name: &str, usage: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cgroup.procs"), "").unwrap();
    std::fs::write(dir.join("cpuacct.usage"), usage).unwrap();
    dir
}

#[test]
fn reads_what_the_path_holds_through_a_kept_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fake_cgroup(tmp.path(), "a", "5\n");
    let mut dirs = CgroupDirs::with_budget(8);
    let mut buf = Vec::new();
    dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
    assert_eq!(buf, b"5\n");
    assert_eq!(dirs.len(), 1);
    std::fs::write(dir.join("cpuacct.usage"), "6\n").unwrap();
    dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
    assert_eq!(buf, b"6\n");
    assert_eq!(
        dirs.files_len(),
        0,
        "a plain file (not a cgroup's) outlives its directory: never kept open"
    );
    // An absent file of a live directory: ENOENT, and the directory stays kept.
    let err = dirs.read(&dir.join("cpu.stat"), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(dirs.len(), 1);
    assert!(dirs.exists(&dir));
    assert!(!dirs.exists(&tmp.path().join("absent")));
}

#[test]
fn a_removed_and_remade_directory_is_read_afresh_never_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fake_cgroup(tmp.path(), "a", "1\n");
    let mut dirs = CgroupDirs::with_budget(8);
    let mut buf = Vec::new();
    dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!dirs.exists(&dir));
    let err = dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(dirs.is_empty(), "a removed directory is not kept");
    fake_cgroup(tmp.path(), "a", "2\n");
    dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
    assert_eq!(buf, b"2\n");
    // Removed and made again between two reads, without a look in between.
    std::fs::remove_dir_all(&dir).unwrap();
    fake_cgroup(tmp.path(), "a", "3\n");
    dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
    assert_eq!(buf, b"3\n");
}

#[test]
fn keeps_no_more_than_its_budget_and_reads_the_rest_by_path() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = CgroupDirs::with_budget(2);
    let mut buf = Vec::new();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let dir = fake_cgroup(tmp.path(), name, &format!("{i}\n"));
        dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
        assert_eq!(buf, format!("{i}\n").as_bytes());
    }
    assert_eq!(dirs.len(), 2);
    let none = CgroupDirs::default();
    assert_eq!(none.budget(), 0, "the one-shot readers' keeps nothing");
}

#[test]
fn closes_the_directories_a_tick_did_not_ask_for() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fake_cgroup(tmp.path(), "a", "1\n");
    let b = fake_cgroup(tmp.path(), "b", "1\n");
    let mut dirs = CgroupDirs::with_budget(8);
    let mut buf = Vec::new();
    dirs.read(&a.join("cpuacct.usage"), &mut buf).unwrap();
    dirs.read(&b.join("cpuacct.usage"), &mut buf).unwrap();
    dirs.end_tick();
    assert_eq!(dirs.len(), 2);
    dirs.read(&a.join("cpuacct.usage"), &mut buf).unwrap();
    dirs.end_tick();
    assert_eq!(dirs.len(), 1, "b was not asked for in the tick");
    dirs.end_tick();
    assert!(dirs.is_empty());
}

#[test]
fn a_kept_directory_is_taken_as_there_until_a_read_finds_it_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fake_cgroup(tmp.path(), "a", "1\n");
    let mut dirs = CgroupDirs::with_budget(8);
    let mut buf = Vec::new();
    assert!(!dirs.kept_or_exists(&tmp.path().join("absent")));
    assert!(dirs.kept_or_exists(&dir), "not kept yet: it exists");
    dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(dirs.kept_or_exists(&dir), "kept: taken as there, no lookup");
    dirs.end_tick();
    assert_eq!(dirs.len(), 1, "asked for this tick: still kept");
    let err = dirs.read(&dir.join("cpuacct.usage"), &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(dirs.is_empty(), "the read found it gone and dropped it");
    assert!(!dirs.kept_or_exists(&dir));
}

use std::os::unix::fs::{PermissionsExt, symlink};

use super::*;

#[test]
fn only_directories_root_arranges_are_walked_through_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    // The temp dir's parent (/tmp) is writable by everyone: the walk below it follows nothing.
    let (base, rel) = trusted_split(&dir.path().join("a/b/c.log"));
    assert!(dir.path().starts_with(&base), "{base:?}");
    assert!(rel.ends_with("a/b/c.log"), "{rel:?}");
    // Root's own trees are trusted down to the file's directory.
    let (base, rel) = trusted_split(Path::new("/usr/share/doc/x.log"));
    assert_eq!(
        (base.as_path(), rel.as_path()),
        (Path::new("/usr/share/doc"), Path::new("x.log"))
    );
    // `..` is never walked.
    let (_, rel) = trusted_split(Path::new("/usr/../etc/shadow"));
    assert!(rel.components().any(|c| c == Component::ParentDir));
}

#[test]
fn a_symlink_in_a_users_store_is_refused_and_a_fifo_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "root's\n").unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    symlink(&secret, store.join("ctr.log")).unwrap();
    let err = open(&store.join("ctr.log")).unwrap_err();
    assert!(matches!(err, LogError::Refused { .. }), "{err}");
    // A directory of the way that is a symlink is refused too.
    symlink(&store, dir.path().join("link")).unwrap();
    std::fs::write(store.join("real.log"), "x\n").unwrap();
    assert!(open(&dir.path().join("link/real.log")).is_err());
    assert!(open(&store.join("real.log")).unwrap().is_some());
    nix::unistd::mkfifo(
        &store.join("fifo.log"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let err = open(&store.join("fifo.log")).unwrap_err();
    assert!(err.to_string().contains("FIFO"), "{err}");
    assert!(open(&store.join("absent.log")).unwrap().is_none());
}

#[test]
fn a_directory_is_trusted_only_when_no_one_else_can_arrange_it() {
    let dir = tempfile::tempdir().unwrap();
    let own = rustix::process::geteuid().as_raw();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(only_trusted_arrange(&store, own));
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o775)).unwrap();
    assert!(!only_trusted_arrange(&store, own), "group-writable");
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    if own == 0 {
        // Another user's directory (nobody's): their symlinks would be followed through it.
        nix::unistd::chown(&store, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        assert!(!only_trusted_arrange(&store, own));
    }
}

fn records(file: &File, end: u64) -> Vec<Raw> {
    let mut out = Vec::new();
    let flow = lines_backward(file, Path::new("t"), end, &mut |raw| {
        out.push(raw);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(flow.is_continue());
    out
}

#[test]
fn lines_backward_across_blocks_huge_lines_and_a_torn_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let huge = vec![b'h'; RECORD_CAP + 5];
    let mut bytes = Vec::new();
    for i in 0..20_000 {
        bytes.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    bytes.extend_from_slice(&huge);
    bytes.extend_from_slice(b"\nlast\ntorn");
    std::fs::write(&path, &bytes).unwrap();
    let file = File::open(&path).unwrap();
    let got = records(&file, bytes.len() as u64);
    assert_eq!(got.len(), 20_002);
    assert_eq!(
        got[0],
        Raw::Record {
            bytes: b"last".to_vec(),
            dropped: 0
        }
    );
    assert_eq!(
        got[1],
        Raw::Record {
            bytes: vec![b'h'; RECORD_CAP],
            dropped: 5
        }
    );
    assert_eq!(
        got[20_001],
        Raw::Record {
            bytes: b"line 0".to_vec(),
            dropped: 0
        }
    );
    assert_eq!(
        after_last_newline(&file, &path, bytes.len() as u64).unwrap(),
        bytes.len() as u64 - 4
    );
    assert!(
        records(&file, 3).is_empty(),
        "no whole line in the first bytes"
    );
}

#[test]
fn frames_backward_and_where_they_stop_lining_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("container.log");
    let frame = |p: &[u8]| {
        let len = (p.len() as u32).to_be_bytes();
        [&len[..], p, &len[..]].concat()
    };
    let mut bytes = [frame(b"one"), frame(b"two")].concat();
    let whole = bytes.len() as u64;
    bytes.extend_from_slice(b"\x00\x00\x00\x09half");
    std::fs::write(&path, &bytes).unwrap();
    let file = File::open(&path).unwrap();
    let mut got = Vec::new();
    let mut each = |raw| {
        got.push(raw);
        ControlFlow::Continue(())
    };
    assert!(matches!(
        frames_backward(&file, &path, whole, &mut each).unwrap(),
        FramesBack::Done(ControlFlow::Continue(()))
    ));
    assert!(matches!(
        frames_backward(&file, &path, bytes.len() as u64, &mut each).unwrap(),
        FramesBack::Damaged(end) if end == bytes.len() as u64
    ));
    assert_eq!(got.len(), 2);
    let (kept, note) = collect(&file, &path, false, None, Framer::frames()).unwrap();
    assert_eq!(
        kept.len(),
        2,
        "the frame being written is held, not a record"
    );
    assert!(note.is_none());
}

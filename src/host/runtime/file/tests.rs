use std::os::unix::fs::{PermissionsExt, symlink};

use super::*;

fn is_root() -> bool {
    own_uid() == 0
}

#[test]
fn regular_files_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(dir.path().join("a/b/state.json"), b"{}").unwrap();
    let file = read_beneath(dir.path(), Path::new("a/b/state.json"), Cap::STATE).unwrap();
    assert_eq!(file.bytes, b"{}");
    assert_eq!(file.writers, Writers::Trusted);
    assert_eq!(
        read_capped(&dir.path().join("a/b/state.json"), Cap::LINE).unwrap(),
        b"{}"
    );
    assert!(
        read_beneath(dir.path(), Path::new("a/none"), Cap::STATE)
            .unwrap_err()
            .is_missing()
    );
}

#[test]
fn a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("state.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    // Without O_NONBLOCK this open would wait for a writer forever.
    let err = read_capped(&fifo, Cap::STATE).unwrap_err();
    assert!(
        matches!(err, FileError::NotRegular { kind: "FIFO", .. }),
        "{err}"
    );
}

#[test]
fn symlinks_are_never_followed_below_the_base() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/dev/zero", dir.path().join("zero")).unwrap();
    let err = read_capped(&dir.path().join("zero"), Cap::STATE).unwrap_err();
    assert!(matches!(err, FileError::Symlink { .. }), "{err}");

    // A symlinked directory on the way (`runc/x -> elsewhere`) is refused too.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("state.json"), b"{}").unwrap();
    symlink(elsewhere.path(), dir.path().join("x")).unwrap();
    let err = read_beneath(dir.path(), Path::new("x/state.json"), Cap::STATE).unwrap_err();
    assert!(matches!(err, FileError::Symlink { .. }), "{err}");
    // Listing skips it.
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let listing = list_dirs_beneath(dir.path(), Path::new("")).unwrap();
    assert_eq!(listing.names, vec!["real".to_string()]);
    let err = list_dirs_beneath(dir.path(), Path::new("x")).unwrap_err();
    assert!(matches!(err, FileError::Symlink { .. }), "{err}");
}

#[test]
fn the_base_itself_may_be_a_symlink() {
    let real = tempfile::tempdir().unwrap();
    std::fs::create_dir(real.path().join("d")).unwrap();
    std::fs::write(real.path().join("d/f"), b"x").unwrap();
    let links = tempfile::tempdir().unwrap();
    symlink(real.path(), links.path().join("base")).unwrap();
    let file = read_beneath(&links.path().join("base"), Path::new("d/f"), Cap::LINE).unwrap();
    assert_eq!(file.bytes, b"x");
}

#[test]
fn files_past_the_cap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(Cap::LINE.0 + 1)
        .unwrap();
    let err = read_capped(&big, Cap::LINE).unwrap_err();
    assert!(matches!(err, FileError::TooBig { .. }), "{err}");
    assert!(read_capped(&big, Cap::STATE).is_ok());
}

#[test]
fn dot_dot_and_absolute_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for rel in ["../etc/passwd", "/etc/passwd", "a/../b", ""] {
        let err = read_beneath(dir.path(), Path::new(rel), Cap::LINE).unwrap_err();
        assert!(matches!(err, FileError::BadPath { .. }), "{rel}: {err}");
    }
}

#[test]
fn a_world_writable_directory_lets_anyone_write() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::write(open.join("f"), b"x").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = read_beneath(dir.path(), Path::new("open/f"), Cap::LINE).unwrap();
    assert!(matches!(file.writers, Writers::Anyone(_)), "{file:?}");
    // Sticky (like /tmp): the entry's owner decides.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let file = read_beneath(dir.path(), Path::new("open/f"), Cap::LINE).unwrap();
    assert_eq!(file.writers, Writers::Trusted);
}

#[test]
fn another_users_directory_makes_that_user_the_writer() {
    if !is_root() {
        eprintln!("skipping: chown needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join("65534");
    std::fs::create_dir_all(user.join("runc/x")).unwrap();
    std::fs::write(user.join("runc/x/state.json"), b"{}").unwrap();
    std::os::unix::fs::chown(&user, Some(65534), Some(65534)).unwrap();
    let file = read_beneath(dir.path(), Path::new("65534/runc/x/state.json"), Cap::STATE).unwrap();
    assert_eq!(file.writers, Writers::User(65534));
    // A third user's file inside it: more than one stranger.
    std::os::unix::fs::chown(user.join("runc/x/state.json"), Some(65533), None).unwrap();
    let file = read_beneath(dir.path(), Path::new("65534/runc/x/state.json"), Cap::STATE).unwrap();
    assert!(matches!(file.writers, Writers::Anyone(_)), "{file:?}");
    let listing = list_dirs_beneath(dir.path(), Path::new("65534/runc")).unwrap();
    assert_eq!(
        (listing.names, listing.writers),
        (vec!["x".to_string()], Writers::User(65534))
    );
}

/// A root-owned state dir, mode 0775, of group `gid`, holding `state.json`; who could write it.
fn writers_through_group_dir(gid: u32) -> Writers {
    let dir = tempfile::tempdir().unwrap();
    let runc = dir.path().join("runc");
    std::fs::create_dir(&runc).unwrap();
    std::os::unix::fs::chown(&runc, Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(&runc, std::fs::Permissions::from_mode(0o775)).unwrap();
    std::fs::write(runc.join("state.json"), b"{}").unwrap();
    read_beneath(dir.path(), Path::new("runc/state.json"), Cap::STATE)
        .unwrap()
        .writers
}

#[test]
fn a_group_writable_directory_lets_its_groups_members_write() {
    if !is_root() {
        eprintln!("skipping a_group_writable_directory_lets_its_groups_members_write: needs root");
        return;
    }
    // nogroup: nobody's primary group (and on Debian also sync's and _apt's).
    let members = group::members(65534);
    assert!(members.contains(&65534), "{members:?}");
    let writers = writers_through_group_dir(65534);
    if members.len() == 1 {
        assert_eq!(writers, Writers::User(65534));
    } else {
        assert!(matches!(&writers, Writers::Anyone(_)), "{writers:?}");
    }
    // A group nobody here is known to belong to: its members cannot be checked.
    assert!(
        matches!(writers_through_group_dir(4_242_424), Writers::Anyone(why)
        if why.contains("group 4242424"))
    );
    // Root's group counts only through the members it has here.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let group = std::fs::read_to_string("/etc/group").unwrap();
    if group::members_in(0, &passwd, &group)
        .iter()
        .all(|u| *u == 0)
    {
        assert_eq!(writers_through_group_dir(0), Writers::Trusted);
    }
}

#[test]
fn group_members_come_from_primary_groups_and_member_lists() {
    let passwd = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n\
                  bob:x:1001:1001::/home/bob:/bin/sh\n";
    let group = "root:x:0:\nalice:x:1000:\nops:x:2000:alice,bob\nodd:x:3000:ghost\n";
    let set = |gid| {
        group::members_in(gid, passwd, group)
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(set(0), vec![0]);
    assert_eq!(set(1000), vec![1000]);
    assert_eq!(set(2000), vec![1000, 1001]);
    assert_eq!(
        set(3000),
        vec![u32::MAX],
        "an unknown member is unknown, not nobody"
    );
    assert!(set(4000).is_empty());
}

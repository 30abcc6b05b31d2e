//! The diff on hand-made layer trees (no mount): `user.` xattrs, which any owner may set, stand
//! for overlay's marks. Real mounts made by the kernel are tested in `tests/host/overlay_diff.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn set(path: &Path, key: &str, value: &[u8]) {
    rustix::fs::setxattr(path, key, value, rustix::fs::XattrFlags::empty())
        .unwrap_or_else(|e| panic!("setxattr {key} on {}: {e}", path.display()));
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

/// `user.overlay.whiteout` on a zero-size file, its directory marked `opaque=x`.
fn xattr_whiteout(path: &Path) {
    write(path, "");
    set(path, "user.overlay.whiteout", b"");
    set(path.parent().expect("parent"), "user.overlay.opaque", b"x");
}

fn changes(upper: &Path, lowers: &[PathBuf]) -> Vec<(String, char)> {
    overlay_diff(upper, lowers, XattrNamespace::User)
        .expect("diff")
        .into_iter()
        .map(|c| (c.path.display().to_string(), c.kind.letter()))
        .collect()
}

fn expect(list: &[(&str, char)]) -> Vec<(String, char)> {
    list.iter().map(|(p, k)| (p.to_string(), *k)).collect()
}

#[test]
fn upper_entries_are_added_changed_or_deleted_against_the_merged_lowers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (top, bottom, upper) = (
        tmp.path().join("l2"),
        tmp.path().join("l1"),
        tmp.path().join("u"),
    );
    write(&bottom.join("etc/passwd"), "root");
    write(&bottom.join("etc/hidden"), "shadowed by a whiteout in l2");
    write(&bottom.join("var/log/old"), "x");
    write(&bottom.join("var/log/keep"), "x");
    write(&bottom.join("srv/a/inner"), "x");
    write(&top.join("etc/group"), "root");
    xattr_whiteout(&top.join("etc/hidden"));
    // In the upper dir: etc/passwd modified, etc/new added, etc/group deleted, etc/hidden
    // made again (it was not in the image: added), var/log made opaque with one new file.
    write(&upper.join("etc/passwd"), "root\nme");
    write(&upper.join("etc/new"), "x");
    write(&upper.join("etc/hidden"), "again");
    xattr_whiteout(&upper.join("etc/group"));
    write(&upper.join("var/log/fresh"), "x");
    set(&upper.join("var/log"), "user.overlay.opaque", b"y");
    // srv/a renamed to srv/b: the old name whited out, the new dir redirected to it.
    fs::create_dir_all(upper.join("srv/b")).expect("mkdir");
    set(&upper.join("srv/b"), "user.overlay.redirect", b"a");
    xattr_whiteout(&upper.join("srv/a"));
    fs::create_dir_all(upper.join("new/deeper")).expect("mkdir");

    assert_eq!(
        changes(&upper, &[top, bottom]),
        expect(&[
            ("/etc", 'C'),
            ("/etc/group", 'D'),
            ("/etc/hidden", 'A'),
            ("/etc/new", 'A'),
            ("/etc/passwd", 'C'),
            ("/new", 'A'),
            ("/new/deeper", 'A'),
            ("/srv", 'C'),
            ("/srv/a", 'D'),
            ("/srv/b", 'A'),
            ("/srv/b/inner", 'A'),
            ("/var", 'C'),
            ("/var/log", 'C'),
            ("/var/log/fresh", 'A'),
            ("/var/log/keep", 'D'),
            ("/var/log/old", 'D'),
        ])
    );
}

#[test]
fn an_xattr_whiteout_counts_only_in_a_directory_marked_x() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (lower, upper) = (tmp.path().join("l"), tmp.path().join("u"));
    write(&lower.join("d/f"), "x");
    write(&upper.join("d/f"), "");
    set(&upper.join("d/f"), "user.overlay.whiteout", b"");
    // No `opaque=x` on d: the kernel (6.8+) reads f as an empty file that replaced the lower.
    assert_eq!(
        changes(&upper, std::slice::from_ref(&lower)),
        expect(&[("/d", 'C'), ("/d/f", 'C')])
    );
    set(&upper.join("d"), "user.overlay.opaque", b"x");
    assert_eq!(
        changes(&upper, &[lower]),
        expect(&[("/d", 'C'), ("/d/f", 'D')])
    );
}

#[test]
fn symlinks_are_entries_never_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (lower, upper, elsewhere) = (
        tmp.path().join("l"),
        tmp.path().join("u"),
        tmp.path().join("elsewhere"),
    );
    write(&lower.join("etc/x"), "x");
    write(&elsewhere.join("secret"), "x");
    fs::create_dir_all(&upper).expect("mkdir");
    std::os::unix::fs::symlink(&elsewhere, upper.join("etc")).expect("symlink");
    std::os::unix::fs::symlink(&elsewhere, upper.join("link")).expect("symlink");
    // A symlink `etc` in the upper dir replaced the image's directory: changed, nothing below.
    assert_eq!(
        changes(&upper, &[lower]),
        expect(&[("/etc", 'C'), ("/link", 'A')])
    );
}

#[test]
fn names_keep_their_exact_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (lower, upper) = (tmp.path().join("l"), tmp.path().join("u"));
    fs::create_dir_all(&lower).expect("mkdir");
    let name = OsStr::from_bytes(b"a b\nc\x1b[31m\xff");
    write(&upper.join(name), "x");
    let diff = overlay_diff(&upper, &[lower], XattrNamespace::User).expect("diff");
    assert_eq!(diff.len(), 1);
    assert_eq!(diff[0].path.as_os_str().as_bytes(), b"/a b\nc\x1b[31m\xff");
    assert_eq!(diff[0].kind, ChangeKind::Added);
}

#[test]
fn a_tree_deeper_than_the_bound_is_an_error_naming_where() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let upper = tmp.path().join("u");
    let deep: PathBuf = std::iter::repeat_n("d", MAX_DEPTH + 2).collect();
    fs::create_dir_all(upper.join(&deep)).expect("mkdir");
    match overlay_diff(&upper, &[], XattrNamespace::User) {
        Err(DiffError::TooDeep { path, limit }) => {
            assert_eq!(limit, MAX_DEPTH);
            assert!(path.components().count() > MAX_DEPTH, "{}", path.display());
        }
        other => panic!("expected TooDeep, got {other:?}"),
    }
}

#[test]
fn a_missing_layer_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let upper = tmp.path().join("u");
    fs::create_dir_all(&upper).expect("mkdir");
    let missing = tmp.path().join("gone");
    let err = overlay_diff(&upper, std::slice::from_ref(&missing), XattrNamespace::User)
        .expect_err("a missing lower");
    assert!(
        matches!(&err, DiffError::Open { path, .. } if *path == missing),
        "{err}"
    );
    assert!(err.to_string().contains(&missing.display().to_string()));
}

#[test]
fn userxattr_in_the_options_picks_the_user_namespace() {
    assert_eq!(
        XattrNamespace::of_options("rw,lowerdir=/a,userxattr".split(',')),
        XattrNamespace::User
    );
    assert_eq!(
        XattrNamespace::of_options("rw,lowerdir=/userxattr".split(',')),
        XattrNamespace::Trusted
    );
    assert_eq!(XattrNamespace::User.key("opaque"), "user.overlay.opaque");
}

//! Mountinfo lines: every field, escapes, optional fields, garbage.

use super::*;

#[test]
fn every_field_of_a_line() {
    let line = b"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
    let e = parse_line(line).expect("a line");
    assert_eq!((e.mount_id, e.parent_id), (36, 35));
    assert_eq!(
        e.device,
        Device {
            major: 98,
            minor: 0
        }
    );
    assert_eq!(e.device.to_string(), "98:0");
    assert_eq!(e.root, PathBuf::from("/mnt1"));
    assert_eq!(e.mount_point, PathBuf::from("/mnt2"));
    assert_eq!(e.mount_options, vec!["rw", "noatime"]);
    assert_eq!(e.propagation.master, Some(1));
    assert_eq!(e.propagation.mode(), "slave");
    assert_eq!(e.fs_type, "ext3");
    assert_eq!(e.source, OsString::from("/dev/root"));
    assert_eq!(e.super_options, b"rw,errors=continue");
    assert_eq!(e.super_options_decoded(), vec!["rw", "errors=continue"]);
}

#[test]
fn optional_fields_any_number_and_order() {
    let text = b"\
50 22 0:4 / /a rw shared:2 master:3 propagate_from:1 unbindable x-new:9 - tmpfs t rw
51 22 0:4 / /b rw - tmpfs t rw
52 22 0:4 / /c rw unbindable - tmpfs t rw
53 22 0:4 / /d rw shared:7 - tmpfs t rw
";
    let t = parse_mountinfo(text);
    assert_eq!(t.skipped_lines, 0);
    let p = &t.entries[0].propagation;
    assert_eq!(
        (p.shared, p.master, p.propagate_from, p.unbindable),
        (Some(2), Some(3), Some(1), true)
    );
    assert_eq!(p.other, vec!["x-new:9"]);
    assert_eq!(p.mode(), "shared,slave,unbindable");
    assert_eq!(t.entries[1].propagation, Propagation::default());
    assert_eq!(t.entries[1].propagation.mode(), "private");
    assert_eq!(t.entries[2].propagation.mode(), "unbindable");
    assert_eq!(t.entries[3].propagation.mode(), "shared");
}

#[test]
fn octal_escapes_in_paths_and_source_are_decoded_to_exact_bytes() {
    let line = br"60 22 8:1 /srv/a\040b\011c /mnt/x\012y\134z rw - ext4 /dev/my\040disk rw";
    let e = parse_line(line).expect("a line");
    assert_eq!(e.root, PathBuf::from("/srv/a b\tc"));
    assert_eq!(e.mount_point, PathBuf::from("/mnt/x\ny\\z"));
    assert_eq!(e.source, OsString::from("/dev/my disk"));
    // Not UTF-8: kept as bytes.
    let line = b"61 22 8:1 / /mnt/\xff\xfe rw - ext4 /dev/sda rw";
    let e = parse_line(line).expect("a line");
    use std::os::unix::ffi::OsStrExt;
    assert_eq!(e.mount_point.as_os_str().as_bytes(), b"/mnt/\xff\xfe");
}

#[test]
fn unescape_leaves_incomplete_escapes_alone() {
    assert_eq!(unescape(br"a\04"), br"a\04");
    assert_eq!(unescape(br"a\134b"), br"a\b");
    assert_eq!(unescape(br"\777"), br"\777");
    assert_eq!(unescape(br"end\134"), br"end\");
    assert_eq!(unescape(b"plain"), b"plain");
}

#[test]
fn garbage_lines_are_skipped_and_counted() {
    let text = b"\
garbage
1 2 3
x 22 8:1 / / rw - ext4 /dev/sda rw
70 22 8:1 / /ok rw - ext4 /dev/sda rw
71 22 8 / /nodev rw - ext4 /dev/sda rw
72 22 8:1 / /nosep rw shared:1 ext4 /dev/sda rw
73 22 8:1 / /notype rw -

74 22 0:5 / /empty-source rw -  tmpfs  rw
";
    let t = parse_mountinfo(text);
    let points: Vec<_> = t.entries.iter().map(|e| e.mount_point.clone()).collect();
    assert_eq!(points, vec![PathBuf::from("/ok")], "{t:?}");
    // The empty type of the last line (two spaces) is not a type either.
    assert_eq!(t.skipped_lines, 7);
}

#[test]
fn an_empty_source_field_is_kept_empty() {
    let e = parse_line(b"75 22 0:5 / /s rw - tmpfs  rw,size=64k").expect("a line");
    assert_eq!(e.source, OsString::new());
    assert_eq!(e.super_options_decoded(), vec!["rw", "size=64k"]);
}

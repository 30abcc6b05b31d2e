use std::fs;

use super::*;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      # a comment\n\
                      app:x:1000:1000:App:/home/app:/bin/sh\n\
                      broken:x:notanumber:1\n\
                      nohome:x:1001:1001\n";
const GROUP: &str = "root:x:0:\nwheel:x:10:root,app\napp:x:1000:\nstaff:x:50: app \n\
                     other:x:60:someone\n";

fn user(spec: Option<&str>) -> Result<ExecUser, String> {
    resolve_in(spec, Some(PASSWD), Some(GROUP))
}

#[test]
fn names_and_numbers_resolve_like_runc() {
    let root = user(None).unwrap();
    assert_eq!((root.uid, root.gid, root.home.as_str()), (0, 0, "/root"));
    assert_eq!(root.groups, [0, 10]);
    let app = user(Some("app")).unwrap();
    assert_eq!(
        (app.uid, app.gid, app.home.as_str()),
        (1000, 1000, "/home/app")
    );
    assert_eq!(app.groups, [1000, 10, 50]);
    // A uid with an entry takes its gid, home and groups.
    assert_eq!(user(Some("1000")).unwrap(), app);
    // A uid without one: gid 0, home /, no supplementary groups.
    let bare = user(Some("4242")).unwrap();
    assert_eq!((bare.uid, bare.gid, bare.home.as_str()), (4242, 0, "/"));
    assert_eq!(bare.groups, [0]);
    // An explicit group replaces the gid and adds nothing.
    let pair = user(Some("1000:1000")).unwrap();
    assert_eq!((pair.uid, pair.gid), (1000, 1000));
    assert_eq!(pair.groups, [1000]);
    let named = user(Some("app:staff")).unwrap();
    assert_eq!((named.gid, named.groups.as_slice()), (50, &[50][..]));
    assert_eq!(user(Some("4242:77")).unwrap().groups, [77]);
    assert_eq!(user(Some("nohome")).unwrap().home, "/");
}

#[test]
fn unknown_names_and_bad_forms_are_refused() {
    assert!(
        user(Some("nosuch"))
            .unwrap_err()
            .contains("no user \"nosuch\"")
    );
    assert!(user(Some("app:nogroup")).unwrap_err().contains("no group"));
    assert!(
        resolve_in(Some("app"), None, None)
            .unwrap_err()
            .contains("no /etc/passwd")
    );
    assert_eq!(resolve_in(Some("5"), None, None).unwrap().uid, 5);
    for bad in [
        "",
        ":",
        "a:",
        ":b",
        "a:b:c",
        "a b",
        "2147483648",
        "1:4294967295",
        "x\u{1b}",
    ] {
        assert!(check_spec(bad).is_err(), "{bad:?}");
    }
    assert!(check_spec("2147483647:0").is_ok());
    assert!(check_spec("www-data").is_ok());
}

fn rootfs_with(passwd: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("etc")).unwrap();
    passwd(&dir.path().join("etc"));
    dir
}

fn request(spec: &str) -> UserRequest {
    UserRequest {
        spec: spec.into(),
        option: "--user".into(),
    }
}

#[test]
fn files_are_read_beneath_the_root_only() {
    // A host file with a tempting entry, and an image whose /etc/passwd points at it by an
    // absolute and by a climbing symlink: both resolve inside the root, where nothing is.
    let host = tempfile::tempdir().unwrap();
    let host_passwd = host.path().join("passwd");
    fs::write(&host_passwd, "evil:x:0:0::/:/bin/sh\n").unwrap();
    for target in [
        host_passwd.display().to_string(),
        format!("../../../../../../..{}", host_passwd.display()),
    ] {
        let root =
            rootfs_with(|etc| std::os::unix::fs::symlink(&target, etc.join("passwd")).unwrap());
        let err = resolve(root.path(), Some(&request("evil")), None).unwrap_err();
        assert!(err.to_string().contains("no /etc/passwd"), "{err}");
    }
    // A symlink inside the image is followed inside it.
    let root = rootfs_with(|etc| {
        fs::write(etc.join("real"), "app:x:7:8::/app:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/etc/real", etc.join("passwd")).unwrap();
    });
    let app = resolve(root.path(), Some(&request("app")), None).unwrap();
    assert_eq!((app.uid, app.gid, app.home.as_str()), (7, 8, "/app"));
    // With a user namespace of 5 ids, uid 7 is not mapped.
    assert!(resolve(root.path(), Some(&request("app")), Some(5)).is_err());
}

#[test]
fn fifos_and_huge_files_are_refused_without_blocking() {
    let root = rootfs_with(|etc| {
        nix::unistd::mkfifo(
            &etc.join("passwd"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap()
    });
    let err = resolve(root.path(), Some(&request("app")), None).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let root = rootfs_with(|etc| {
        let file = fs::File::create(etc.join("group")).unwrap();
        file.set_len(MAX_DB_BYTES + 1).unwrap();
    });
    let err = resolve(root.path(), Some(&request("0")), None).unwrap_err();
    assert!(err.to_string().contains("larger than 8 MiB"), "{err}");
}

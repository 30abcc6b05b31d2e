//! Bad input to `isotop run` through the real binary (root): a missing image, a corrupt layer,
//! tar entries that escape (`../../etc/x`, a write through an absolute symlink, a hard link
//! to a host file), a name already in use, impossible limits, bad `-v`/`-e`/`--net`, a command
//! that does not exist, not being root. Each must fail with a clear message and exit code
//! (2 for the operator's mistakes, 1 otherwise) and leave nothing: no record, name claim,
//! data dir, cgroup or mount.

use crate::support::{archives, common, containers};

use std::path::Path;

use archives::{Item, gzip, tar_of};
use common::{ReachableCopy, isotop_for_any_user, require_program, unique_name};
use containers::{Container, assert_code, assert_nothing_named, isotop_out, require_launch, text};

/// Runs `isotop run --name <unique> ARGS`, checks the exit code, that stderr holds every one
/// of `says`, and that nothing named so is left; returns stderr.
fn refused(test: &str, args: &[&str], code: i32, says: &[&str]) -> String {
    let name = unique_name(test);
    let mut full = vec!["run", "--name", &name];
    full.extend_from_slice(args);
    let out = isotop_out(&full);
    assert_code(&out, code, &format!("isotop {full:?}"));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("isotop: "), "{stderr}");
    for part in says {
        assert!(stderr.contains(part), "{part:?} not in {stderr:?}");
    }
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_nothing_named(&name);
    stderr
}

#[test]
#[ignore = "needs root"]
fn a_missing_image_is_the_operators_mistake() {
    if !require_launch() {
        return;
    }
    refused(
        "missing-image",
        &["--image", "/no/such/image.tar", "--", "true"],
        2,
        &["--image", "/no/such/image.tar", "no such file"],
    );
}

#[test]
#[ignore = "needs root"]
fn a_corrupt_layer_is_refused() {
    if !require_launch() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip(&tar_of(&[
        Item::Dir("./"),
        Item::File("./etc/data", &[7u8; 64 * 1024]),
    ]));
    // A truncated rootfs tarball is not even readable as an archive.
    let path = dir.path().join("truncated.tar.gz");
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    refused(
        "truncated",
        &["--image", path.to_str().unwrap(), "--", "/bin/sh"],
        2,
        &["truncated.tar.gz", "corrupt"],
    );
    // A sound docker-save archive whose one layer is truncated: found when it is unpacked.
    let config = r#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let path = dir.path().join("image.tar");
    std::fs::write(
        &path,
        archives::docker_archive(config, &[whole[..whole.len() / 2].to_vec()]),
    )
    .unwrap();
    refused(
        "corrupt-layer",
        &["--image", path.to_str().unwrap(), "--", "/bin/sh"],
        1,
        &["layer", "corrupt"],
    );
}

fn hostile(test: &str, items: Vec<Item<'_>>, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.tar");
    // A harmless first entry: the archive is a rootfs tarball, refused while unpacking.
    let mut all = vec![Item::Dir("./"), Item::File("./ok", b"fine")];
    all.extend(items);
    std::fs::write(&path, tar_of(&all)).unwrap();
    refused(
        test,
        &["--image", path.to_str().unwrap(), "--", "/bin/sh"],
        1,
        &["refused tar entry", says],
    );
}

#[test]
#[ignore = "needs root"]
fn escaping_tar_entries_are_refused_and_write_nothing() {
    if !require_launch() {
        return;
    }
    let canary = unique_name("escape");
    let dotdot = format!("../../etc/{canary}");
    hostile("dotdot", vec![Item::File(&dotdot, b"owned")], "..");
    assert!(!Path::new("/etc").join(&canary).exists());

    let through = format!("root/tmp/{canary}");
    hostile(
        "abs-symlink",
        vec![Item::Symlink("root", "/"), Item::File(&through, b"owned")],
        "symlink",
    );
    assert!(!Path::new("/tmp").join(&canary).exists());

    hostile(
        "hardlink",
        vec![Item::HardLink("passwd", "/etc/passwd")],
        "passwd",
    );
}

#[test]
#[ignore = "needs root"]
fn a_name_in_use_is_refused_and_the_owner_untouched() {
    if !require_launch() {
        return;
    }
    let name = unique_name("taken");
    let first = Container::detached(&["--name", &name, "--", "sleep", "30"]);
    let out = isotop_out(&["run", "--name", &name, "--", "true"]);
    assert_code(&out, 2, "second run with the same name");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains(&first.id[..12]), "{stderr}");
    assert_eq!(first.status().as_deref(), Some("running"));
    let claim = std::fs::read_to_string(Path::new("/run/isotop/names").join(&name)).unwrap();
    assert_eq!(claim.trim(), first.id);
}

#[test]
#[ignore = "needs root"]
fn impossible_limits_are_refused() {
    if !require_launch() {
        return;
    }
    for (test, option, value, says) in [
        ("mem1", "--memory", "1", &["--memory", "MiB"][..]),
        ("cpu-tiny", "--cpus", "5m", &["--cpus", "minimum"]),
        ("pids0", "--pids", "0", &["--pids"]),
        ("mem-bad", "--memory", "lots", &["--memory"]),
    ] {
        refused(test, &[option, value, "--", "true"], 2, says);
    }
}

#[test]
#[ignore = "needs root"]
fn bad_volumes_env_and_net_are_refused() {
    if !require_launch() {
        return;
    }
    for (test, options, says) in [
        ("vol-rel", &["-v", "tmp:/data"][..], &["-v", "absolute"][..]),
        (
            "vol-missing",
            &["-v", "/no/such/dir:/data"],
            &["-v", "/no/such/dir"],
        ),
        ("vol-mode", &["-v", "/tmp:/data:rx"], &["ro or rw"]),
        ("env", &["-e", "=x"], &["-e"]),
        (
            "net",
            &["--net", "wifi"],
            &["--net", "none, bridge or host"],
        ),
        ("detach-tty", &["-d", "-t"], &["-d"]),
    ] {
        let mut args = options.to_vec();
        args.extend_from_slice(&["--", "true"]);
        refused(test, &args, 2, says);
    }
}

#[test]
#[ignore = "needs root"]
fn a_volume_onto_the_containers_root_is_the_operators_mistake() {
    if !require_launch() {
        return;
    }
    // `/` and what normalises to it would hide the image; an empty destination names nothing.
    for (test, volume, says) in [
        ("vol-root", "/tmp:/", "the container's root"),
        ("vol-root-dot", "/tmp:/./", "the container's root"),
        ("vol-root-slashes", "/tmp://", "the container's root"),
        ("vol-root-ro", "/tmp:/:ro", "the container's root"),
        ("vol-empty", "/tmp:", "the container path is missing"),
    ] {
        refused(
            test,
            &["-v", volume, "--", "true"],
            2,
            &["-v", volume, says],
        );
    }
}

#[test]
#[ignore = "needs root"]
fn a_command_that_does_not_exist_fails_cleanly() {
    if !require_launch() {
        return;
    }
    refused(
        "no-command",
        &["--", "/no/such/command", "arg"],
        1,
        &["/no/such/command"],
    );
}

#[test]
#[ignore = "needs root"]
fn not_root_is_told_so() {
    if !require_launch() || !require_program("setpriv") {
        return;
    }
    let isotop = isotop_for_any_user();
    let out = as_nobody(&isotop, &["run", "--", "true"]);
    assert_code(&out, 1, "run as nobody");
    assert!(
        text(&out.stderr).contains("needs root"),
        "{}",
        text(&out.stderr)
    );
    for act in [["stop", "x"], ["rm", "x"]] {
        let out = as_nobody(&isotop, &act);
        assert_code(&out, 1, &format!("{act:?} as nobody"));
        assert!(
            text(&out.stderr).contains("needs root"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// isotop ARGS run as `nobody` (uid and gid 65534, no groups), through `setpriv`.
fn as_nobody(isotop: &ReachableCopy, args: &[&str]) -> std::process::Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(isotop.path())
        .args(args)
        .output()
        .unwrap()
}

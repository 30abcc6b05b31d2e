//! Launched containers are confined like Docker's, seen from inside through the real binary
//! (root): Docker's default seccomp filter refuses what the capabilities would allow (key
//! management, odd personalities, AF_VSOCK, new user namespaces; `clone3` and calls newer than
//! the profile are ENOSYS) unless `--security-opt seccomp=unconfined`; every container joins a
//! session keyring of its own; the image's `User` (a uid:gid or a name from the image's
//! /etc/passwd) and `--user` are honoured with Docker's capabilities for non-root users; an
//! unknown user exits 2 and leaves nothing.
//!
//! The images are docker-save archives built here from busybox-static and a small static C
//! probe (`support/probe.c`, compiled with `gcc -static`) that makes the system
//! calls in question and prints `name=result` lines.

use crate::support::{archives, common, containers};

use std::path::{Path, PathBuf};
use std::process::Command;

use archives::{Item, docker_archive, tar_of};
use common::{require_program, unique_name};
use containers::{
    Container, assert_code, assert_nothing_named, busybox_bytes, isotop_out, run_sh, text,
};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\nwheel:x:10:root\napp:x:1000:\nstaff:x:50:app\n";

/// Docker's default capability set as /proc shows it.
const DOCKER_CAPS: &str = "00000000a80425fb";
const NO_CAPS: &str = "0000000000000000";

/// An image for these tests, in a temp dir kept alive with it.
struct Image {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Image {
    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// busybox, the probe and the image's /etc/passwd and /etc/group; `user` is the config's
/// `User`. `None` (with the reason printed) where the test cannot run.
fn image(user: Option<&str>) -> Option<Image> {
    let busybox = busybox_bytes()?;
    let probe = probe_bytes()?;
    let applets = ["sh", "cat", "echo", "grep", "id", "sleep", "true"];
    let links: Vec<String> = applets.iter().map(|a| format!("./bin/{a}")).collect();
    let mut items = vec![
        Item::Dir("./"),
        Item::Dir("./bin/"),
        Item::Dir("./etc/"),
        Item::Dir("./tmp/"),
        Item::Dir("./home/"),
        Item::Dir("./home/app/"),
        Item::FileMode("./bin/busybox", &busybox, 0o755),
        Item::FileMode("./bin/probe", &probe, 0o755),
        Item::File("./etc/passwd", PASSWD.as_bytes()),
        Item::File("./etc/group", GROUP.as_bytes()),
    ];
    items.extend(links.iter().map(|l| Item::Symlink(l, "busybox")));
    let mut config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": []}
    });
    if let Some(user) = user {
        config["config"]["User"] = user.into();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    std::fs::write(
        &path,
        docker_archive(&config.to_string(), &[tar_of(&items)]),
    )
    .unwrap();
    Some(Image { _dir: dir, path })
}

/// The probe, compiled static for this machine.
fn probe_bytes() -> Option<Vec<u8>> {
    let test = common::test_name();
    if !require_program("gcc") {
        return None;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/launch/support/probe.c");
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("probe");
    let out = Command::new("gcc")
        .args(["-static", "-O1", "-Wall", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "skipping {test}: gcc -static failed (libc6-dev missing?): {}",
            text(&out.stderr)
        );
        return None;
    }
    Some(std::fs::read(binary).unwrap())
}

/// `name=value` lines of `stdout` as pairs, in order.
fn pairs(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn value(stdout: &str, key: &str) -> String {
    pairs(stdout)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key} in {stdout:?}"))
}

#[test]
#[ignore = "needs root"]
fn the_default_filter_refuses_what_the_capabilities_allow() {
    let Some(image) = image(None) else {
        return;
    };
    let out = run_sh(
        &["--image", image.arg()],
        "grep -E '^Seccomp' /proc/self/status; probe filter",
    );
    assert_code(&out, 0, "run");
    let stdout = text(&out.stdout);
    let expected = [
        ("Seccomp", "2"),
        ("Seccomp_filters", "2"),
        // Not a capability matter: root in the container may use these on the host.
        ("keyctl_user", "EPERM"),
        ("request_key", "EPERM"),
        ("personality_query", "ok"),
        ("personality_read_implies_exec", "EPERM"),
        // The C library falls back to clone / fchmodat on ENOSYS.
        ("clone3", "ENOSYS"),
        ("fchmodat2", "ENOSYS"),
        ("vsock", "EPERM"),
        ("vsock_high_bits", "EPERM"),
        ("inet_socket", "ok"),
        ("clone_plain", "ok"),
        ("clone_newuser", "EPERM"),
    ];
    let got = pairs(&stdout);
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want, "{stdout}\nstderr: {}", text(&out.stderr));
}

#[test]
#[ignore = "needs root"]
fn seccomp_unconfined_is_the_recorded_and_warned_opt_out() {
    let Some(image) = image(None) else {
        return;
    };
    let out = run_sh(
        &[
            "--security-opt",
            "seccomp=unconfined",
            "--image",
            image.arg(),
        ],
        "grep -E '^Seccomp:' /proc/self/status; probe filter",
    );
    assert_code(&out, 0, "run unconfined");
    let stdout = text(&out.stdout);
    assert_eq!(value(&stdout, "Seccomp"), "0", "{stdout}");
    assert_eq!(value(&stdout, "keyctl_user"), "ok", "{stdout}");
    assert_eq!(value(&stdout, "personality_read_implies_exec"), "ok");
    assert!(
        text(&out.stderr).contains("warning: seccomp=unconfined"),
        "{}",
        text(&out.stderr)
    );
    // config.json records which filter each container got.
    for (options, recorded) in [
        (vec!["--image", image.arg()], "docker-default"),
        (
            vec![
                "--security-opt",
                "seccomp=unconfined",
                "--image",
                image.arg(),
            ],
            "unconfined",
        ),
    ] {
        let container = Container::sh(&options, "sleep 60");
        let config = std::fs::read_to_string(container.data_dir().join("config.json")).unwrap();
        let config: serde_json::Value = serde_json::from_str(&config).unwrap();
        assert_eq!(config["seccomp"], recorded, "{options:?}");
    }
    let out = run_sh(
        &[
            "--security-opt",
            "seccomp=/tmp/profile.json",
            "--image",
            image.arg(),
        ],
        "true",
    );
    assert_code(&out, 2, "a profile file");
    assert!(text(&out.stderr).contains("seccomp=unconfined"));
}

/// This process's session keyring (the user-session keyring when it has none), by id.
fn own_session_keyring() -> i64 {
    isotop::sys::credentials::session_keyring().unwrap_or(-1)
}

#[test]
#[ignore = "needs root"]
fn each_container_joins_a_session_keyring_of_its_own() {
    let test = common::test_name();
    let Some(image) = image(None) else {
        return;
    };
    let outside = own_session_keyring();
    if outside < 0 {
        eprintln!("skipping {test}: this kernel has no keyrings (keyctl failed)");
        return;
    }
    // Unconfined, so keyctl may look at all; with the filter it may not (EPERM).
    let look = || {
        let out = run_sh(
            &[
                "--security-opt",
                "seccomp=unconfined",
                "--image",
                image.arg(),
            ],
            "probe keyring",
        );
        assert_code(&out, 0, "probe keyring");
        text(&out.stdout)
    };
    let first = look();
    let second = look();
    let id = |stdout: &str| value(stdout, "session").parse::<i64>().unwrap();
    assert_ne!(
        id(&first),
        outside,
        "the launcher's session keyring: {first}"
    );
    assert_ne!(id(&first), id(&second), "two containers share one keyring");
    let description = value(&first, "session_desc");
    assert!(
        description.starts_with("keyring;0;0;") && description.ends_with(";_ses"),
        "a new anonymous session keyring: {description}"
    );
    let filtered = run_sh(&["--image", image.arg()], "probe keyring");
    assert_eq!(text(&filtered.stdout), "session=EPERM\n");
}

/// The ids, HOME and capability sets the container's command has.
fn identity(options: &[&str]) -> Vec<(String, String)> {
    let out = run_sh(
        options,
        "grep -E '^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)):' /proc/self/status; echo HOME=$HOME",
    );
    assert_code(&out, 0, &format!("run {options:?}"));
    pairs(&text(&out.stdout))
        .into_iter()
        .map(|(k, v)| {
            let mut words: Vec<&str> = v.split_whitespace().collect();
            if k == "Groups" {
                // The kernel keeps supplementary groups sorted.
                words.sort_by_key(|g| g.parse::<u32>().unwrap_or(u32::MAX));
            }
            (k, words.join(" "))
        })
        .collect()
}

fn expect(uid: &str, gid: &str, groups: &str, home: &str, caps: &str) -> Vec<(String, String)> {
    let ids = |id: &str| format!("{id} {id} {id} {id}");
    [
        ("Uid", ids(uid)),
        ("Gid", ids(gid)),
        ("Groups", groups.to_string()),
        ("CapInh", NO_CAPS.to_string()),
        ("CapPrm", caps.to_string()),
        ("CapEff", caps.to_string()),
        ("CapBnd", DOCKER_CAPS.to_string()),
        ("CapAmb", NO_CAPS.to_string()),
        ("HOME", home.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
#[ignore = "needs root"]
fn the_images_user_and_the_user_option_are_honoured() {
    let (Some(by_name), Some(by_ids), Some(rooted)) =
        (image(Some("app")), image(Some("1000:1000")), image(None))
    else {
        return;
    };
    // A name from the image's /etc/passwd: its gid, home and /etc/group memberships; no
    // capabilities but the bounding set, like Docker's non-root users.
    assert_eq!(
        identity(&["--image", by_name.arg()]),
        expect("1000", "1000", "50 1000", "/home/app", NO_CAPS)
    );
    // uid:gid: exactly that group.
    assert_eq!(
        identity(&["--image", by_ids.arg()]),
        expect("1000", "1000", "1000", "/home/app", NO_CAPS)
    );
    // --user replaces the image's User: a uid the image does not know (gid 0, HOME /), a name
    // with a named group.
    assert_eq!(
        identity(&["--user", "4242", "--image", by_name.arg()]),
        expect("4242", "0", "0", "/", NO_CAPS)
    );
    assert_eq!(
        identity(&["-u", "app:staff", "--image", by_ids.arg()]),
        expect("1000", "50", "50", "/home/app", NO_CAPS)
    );
    // No User: root with root's groups from the image and Docker's capabilities.
    assert_eq!(
        identity(&["--image", rooted.arg()]),
        expect("0", "0", "0 10", "/root", DOCKER_CAPS)
    );
    // -e HOME wins over the passwd entry's.
    let out = run_sh(&["-e", "HOME=/srv", "--image", by_name.arg()], "echo $HOME");
    assert_eq!(text(&out.stdout), "/srv\n");
}

#[test]
#[ignore = "needs root"]
fn an_unknown_user_exits_2_and_leaves_nothing() {
    let (Some(ghost), Some(plain)) = (image(Some("ghost")), image(None)) else {
        return;
    };
    let cases = [
        (vec!["--image", ghost.arg()], "no user \"ghost\""),
        (vec!["-d", "--image", ghost.arg()], "no user \"ghost\""),
        (
            vec!["--user", "nosuch", "--image", plain.arg()],
            "no user \"nosuch\"",
        ),
        (
            vec!["--user", "app:nogroup", "--image", plain.arg()],
            "no group \"nogroup\"",
        ),
    ];
    for (options, message) in cases {
        let name = unique_name("ghost");
        let mut args = vec!["run", "--name", &name];
        args.extend_from_slice(&options);
        args.extend_from_slice(&["--", "true"]);
        let out = isotop_out(&args);
        assert_code(&out, 2, &format!("{options:?}"));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{options:?}: {stderr}");
        assert_nothing_named(&name);
    }
}

/// `isotop enter ID -- SCRIPT` (through the container's `/bin/sh`), with `extra` options.
fn enter_sh(container: &Container, extra: &[&str], script: &str) -> std::process::Output {
    let mut cmd = common::isotop();
    cmd.arg("enter").args(extra).arg(&container.id);
    cmd.args(["--", "sh", "-c", script]);
    cmd.stdin(std::process::Stdio::null()).output().unwrap()
}

#[test]
#[ignore = "needs root"]
fn entered_commands_run_under_the_containers_own_filter() {
    let Some(image) = image(None) else {
        return;
    };
    let confined = Container::sh(&["--image", image.arg()], "sleep 120");
    let unconfined = Container::sh(
        &[
            "--security-opt",
            "seccomp=unconfined",
            "--image",
            image.arg(),
        ],
        "sleep 120",
    );
    let script = "grep -E '^Seccomp' /proc/self/status; probe filter";
    // What each container's init runs under, and --privileged (nsenter's behaviour): none.
    for (container, extra, seccomp, filters, keyctl) in [
        (&confined, &[][..], "2", "2", "EPERM"),
        (&unconfined, &[][..], "0", "0", "ok"),
        (&confined, &["--privileged"][..], "0", "0", "ok"),
    ] {
        let out = enter_sh(container, extra, script);
        assert_code(&out, 0, &format!("enter {extra:?}"));
        let stdout = text(&out.stdout);
        assert_eq!(value(&stdout, "Seccomp"), seccomp, "{extra:?}: {stdout}");
        assert_eq!(value(&stdout, "Seccomp_filters"), filters, "{stdout}");
        assert_eq!(value(&stdout, "keyctl_user"), keyctl, "{extra:?}: {stdout}");
    }
}

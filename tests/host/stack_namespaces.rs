//! `host::stack::read_stack` where mount namespaces end or belong to another user namespace:
//! short-lived `unshare -m` children read while they mount, chroot and exit (every answer
//! `Ok(None)` or a whole stack, never an error or a panic); a fixture `/proc` whose pid's
//! mountinfo is readable while isotop's own (the host's view) is gone; and a user-namespace
//! container (`unshare -Urm`) on an overlay mounted with `userxattr`.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use isotop::host::HostRoot;
use isotop::host::layers::{LayerOwners, LayerRole, Store};
use isotop::host::runtime::Runtime;
use isotop::host::stack::{LayerPosition, read_stack};

use crate::support::common;
use crate::support::overlay_root::{LayerDirs, Rooted, fill_rootfs};
use crate::support::stores::{DOCKER_LINKS, DOCKER_MOUNT, StoreRoot, positions, top_first};

#[test]
#[ignore = "needs root"]
fn namespaces_vanishing_mid_read_are_none_or_a_whole_stack() {
    let layers = LayerDirs::create();
    let (top, base) = (layers.dir("top"), layers.dir("base"));
    fill_rootfs(&base);
    let merged = layers.dir("merged");
    // Read-only (no upper dir): children one after another never contend for a work dir.
    let options = format!("lowerdir={}:{}", top.display(), base.display());
    let expected = top_first(None, &[top.clone(), base.clone()]);
    let live = HostRoot::live();
    let mut owners = LayerOwners::new(&live);
    let (mut gone, mut before_chroot, mut overlay) = (0, 0, 0);
    for round in 0..120 {
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount -t overlay ov -o \"$2\" \"$1\" && exec chroot \"$1\" /bin/sleep \"$3\"")
            .arg("sh")
            .arg(&merged)
            .arg(&options)
            .arg(format!("0.0{}", round % 4))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare starts");
        let pid = child.id() as i32;
        loop {
            // Reaped last: the last reads see a zombie, then no process at all.
            let reaped = child.try_wait().expect("try_wait").is_some();
            match read_stack(&live, pid, Runtime::Unknown, &mut owners) {
                Err(e) => panic!("round {round}: reading pid {pid} failed: {e}"),
                Ok(None) => gone += 1,
                Ok(Some(stack)) => {
                    let root = stack
                        .root
                        .root
                        .as_ref()
                        .unwrap_or_else(|| panic!("round {round}: no root in {stack:?}"));
                    if root.mount.fs_type == "overlay" {
                        assert_eq!(positions(&stack), expected, "round {round}");
                        overlay += 1;
                    } else {
                        // Still the host's root: unshare and sh before the chroot.
                        before_chroot += 1;
                    }
                }
            }
            if reaped {
                break;
            }
        }
    }
    eprintln!("{gone} gone, {before_chroot} before the chroot, {overlay} on the overlay");
    // Both sides of the race were met: whole stacks and vanished namespaces.
    assert!(overlay > 0 && gone >= 120, "{gone} gone, {overlay} overlay");
}

/// A pid that existed and was reaped: `/proc/<pid>` is gone.
fn reaped_pid() -> i32 {
    let mut child = Command::new("true").spawn().expect("true starts");
    let pid = child.id() as i32;
    child.wait().expect("reaped");
    pid
}

/// The fixture `/proc`: the container's mountinfo is there, isotop's own (`self`, the host's
/// view) points at a process that is gone. The stack is whole, owned, with a note; not an error.
#[test]
fn the_hosts_mountinfo_gone_mid_read_leaves_a_whole_stack_and_a_note() {
    let stores = StoreRoot::with(&["docker"]);
    let proc = stores.root().join("proc");
    fs::remove_file(&proc).expect("the live /proc link");
    let pid_dir = proc.join("4242");
    fs::create_dir_all(&pid_dir).expect("pid dir");
    let store = "/var/lib/docker/overlay2";
    let lower: Vec<String> = DOCKER_LINKS[1..]
        .iter()
        .map(|l| format!("{store}/l/{l}"))
        .collect();
    let line = format!(
        "100 1 0:50 / / rw,relatime - overlay overlay rw,lowerdir={},upperdir={store}/{DOCKER_MOUNT}/diff,workdir={store}/{DOCKER_MOUNT}/work\n\
         101 100 0:5 / /proc rw,nosuid - proc proc rw\n",
        lower.join(":")
    );
    fs::write(pid_dir.join("mountinfo"), line).expect("mountinfo");
    std::os::unix::fs::symlink(format!("/proc/{}", reaped_pid()), proc.join("self"))
        .expect("self link");

    let root = stores.host_root();
    let stack = read_stack(&root, 4242, Runtime::Docker, &mut LayerOwners::new(&root))
        .expect("not an error")
        .expect("the pid's mountinfo is there");
    assert!(
        stack.root.notes.iter().any(|n| n.contains("no host paths")),
        "{:?}",
        stack.root.notes
    );
    let roles: Vec<(LayerPosition, Option<Store>, Option<LayerRole>)> = stack
        .layers
        .iter()
        .map(|l| {
            (
                l.position,
                l.owner.as_ref().map(|o| o.store),
                l.owner.as_ref().map(|o| o.role),
            )
        })
        .collect();
    assert_eq!(
        roles,
        vec![
            (
                LayerPosition::Writable,
                Some(Store::Docker),
                Some(LayerRole::Writable)
            ),
            (
                LayerPosition::Lower(1),
                Some(Store::Docker),
                Some(LayerRole::Image)
            ),
            (
                LayerPosition::Lower(2),
                Some(Store::Docker),
                Some(LayerRole::Image)
            ),
        ]
    );
    // The pid itself gone too: `Ok(None)`.
    fs::remove_dir_all(&pid_dir).expect("remove the pid dir");
    assert!(
        read_stack(&root, 4242, Runtime::Docker, &mut LayerOwners::new(&root))
            .expect("not an error")
            .is_none()
    );
}

#[test]
#[ignore = "needs root"]
fn a_user_namespace_container_on_a_userxattr_overlay() {
    let layers = LayerDirs::create();
    let lower: Vec<PathBuf> = ["app layer", "base"]
        .iter()
        .map(|n| layers.dir(n))
        .collect();
    fill_rootfs(&lower[1]);
    let (upper, work, merged) = (
        layers.dir("upper"),
        layers.dir("work"),
        layers.dir("merged"),
    );
    let options = format!(
        "userxattr,lowerdir={}:{},upperdir={},workdir={}",
        lower[0].display(),
        lower[1].display(),
        upper.display(),
        work.display()
    );
    // `unshare -Urm`, then the overlay (`userxattr`: overlay's xattrs in `user.overlay.*`, as
    // in a user namespace they must be), chroot and sleep: a rootless-style container.
    let script = "mount -t overlay ov -o \"$2\" \"$1\"";
    let child = match Rooted::try_start(&["-U", "-r", "-m"], script, &merged, &[&options]) {
        Ok(child) => child,
        Err(stderr) => {
            eprintln!(
                "skipping {}: this kernel refuses an overlay in a user namespace: {stderr}",
                common::test_name()
            );
            return;
        }
    };
    // It is in a user namespace of its own.
    let own = fs::read_link(format!("/proc/{}/ns/user", child.pid())).expect("ns link");
    assert_ne!(
        own,
        fs::read_link("/proc/self/ns/user").expect("own ns link")
    );

    let live = HostRoot::live();
    let stack = read_stack(
        &live,
        child.pid(),
        Runtime::Unknown,
        &mut LayerOwners::new(&live),
    )
    .expect("readable from the host")
    .expect("alive");
    let overlay = stack
        .root
        .root
        .as_ref()
        .and_then(|r| r.overlay.as_ref())
        .expect("an overlay root");
    assert!(overlay.options.userxattr, "{:?}", overlay.options);
    assert_eq!(positions(&stack), top_first(Some(&upper), &lower));
}

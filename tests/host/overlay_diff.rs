//! `isotop diff` and `host::diff::overlay_diff` on real overlay mounts the tests make: several
//! lower layers (one with a whiteout of its own), files and directories created, modified and
//! deleted through the merged view, a directory renamed (`redirect_dir=on`), a lower file
//! chmod'ed (`metacopy=on`), a directory made opaque, names with spaces, newlines and escape
//! sequences; then a user-namespace mount (`userxattr`) with kernel-made whiteouts and xattr
//! whiteouts made by hand. The container is a real process whose root is the overlay
//! (`unshare --pid --mount --root`). Bad input: a root that is not overlay, an upper dir gone,
//! a process gone.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::diff::{XattrNamespace, overlay_diff};
use isotop::host::process::ReadDepth;

use crate::support::common::{self, ChildGuard, run_isotop};
use crate::support::unshared::PidGuard;

/// The layer directories of one overlay, under a fresh temporary directory; unmounted (lazily)
/// on drop when this process mounted it.
struct Layers {
    dir: tempfile::TempDir,
    mounted: bool,
}

impl Layers {
    fn new() -> Layers {
        let dir = tempfile::Builder::new()
            .prefix("isotop-test-overlay-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        for sub in ["l1", "l2", "l3", "upper", "work", "merged"] {
            fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        // What the container runs: a static busybox, and a /proc to mount on; both unchanged.
        let busybox = dir.path().join("l1/bin/busybox");
        fs::create_dir_all(dir.path().join("l1/proc")).expect("mkdir");
        fs::create_dir_all(busybox.parent().expect("bin")).expect("mkdir");
        let copied = Command::new("cp")
            .arg("/usr/bin/busybox")
            .arg(&busybox)
            .status()
            .expect("cp");
        assert!(copied.success(), "cp busybox");
        Layers {
            dir,
            mounted: false,
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn lowers(&self) -> Vec<PathBuf> {
        vec![self.path("l3"), self.path("l2"), self.path("l1")]
    }

    /// `-o` of the mount: the three lowers (top first), upper, work and `extra`.
    fn options(&self, extra: &str) -> String {
        let lowers: Vec<String> = self
            .lowers()
            .iter()
            .map(|l| l.display().to_string())
            .collect();
        format!(
            "lowerdir={},upperdir={},workdir={}{extra}",
            lowers.join(":"),
            self.path("upper").display(),
            self.path("work").display()
        )
    }

    /// Mounts in this mount namespace; false (with the kernel's answer) if refused.
    fn mount(&mut self, extra: &str) -> Result<(), String> {
        let out = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &self.options(extra)])
            .arg(self.path("merged"))
            .output()
            .expect("mount runs");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        self.mounted = true;
        Ok(())
    }
}

impl Drop for Layers {
    fn drop(&mut self) {
        if self.mounted {
            let _ = nix::mount::umount2(&self.path("merged"), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn xattr(path: &Path, key: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let len = rustix::fs::lgetxattr(path, key, &mut buf[..]).ok()?;
    buf.truncate(len);
    Some(buf)
}

/// Starts `command` (an `unshare ... --root` chain) and finds its descendant running busybox
/// in a pid namespace of its own: the container's init. Both are killed on drop.
fn start_container(command: &mut Command) -> (ChildGuard, PidGuard) {
    let outer = ChildGuard::spawn(command.stdin(Stdio::null()));
    let root = HostRoot::live();
    let mut init = None;
    let found = common::wait_until(Duration::from_secs(10), || {
        let processes = isotop::host::scan::read_processes(&root, ReadDepth::Full, &mut Vec::new())
            .unwrap_or_default();
        init = processes
            .iter()
            .find(|p| p.ppid == outer.pid() && p.comm == "busybox")
            .map(|p| p.pid);
        init.is_some()
    });
    assert!(found, "no container init under {}", outer.pid());
    (outer, PidGuard(init.expect("found")))
}

/// `unshare --fork --pid --mount --mount-proc [--root=DIR] busybox sleep 1000` (without a
/// root: the host's, where busybox is `/usr/bin/busybox`).
fn sleeper_in(root: Option<&Path>) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--fork", "--kill-child", "--pid", "--mount", "--mount-proc"]);
    match root {
        Some(root) => cmd
            .arg(format!("--root={}", root.display()))
            .arg("/bin/busybox"),
        None => cmd.arg("/usr/bin/busybox"),
    };
    cmd.args(["sleep", "1000"]);
    cmd
}

type Expected = BTreeSet<(Vec<u8>, char)>;

fn expected(list: &[(&[u8], char)]) -> Expected {
    list.iter().map(|(p, k)| (p.to_vec(), *k)).collect()
}

fn engine(layers: &Layers, ns: XattrNamespace) -> Expected {
    overlay_diff(&layers.path("upper"), &layers.lowers(), ns)
        .expect("overlay_diff")
        .into_iter()
        .map(|c| (c.path.as_os_str().as_bytes().to_vec(), c.kind.letter()))
        .collect()
}

/// `isotop diff --json PID`: the document, and its changes as (path, letter).
fn cli(pid: i32) -> (serde_json::Value, Expected) {
    let doc = common::isotop_json(&["diff", "--json", &pid.to_string()]);
    let changes = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let letter = match c["kind"].as_str().expect("kind") {
                "added" => 'A',
                "changed" => 'C',
                "deleted" => 'D',
                other => panic!("kind {other}"),
            };
            (
                c["path"].as_str().expect("path").as_bytes().to_vec(),
                letter,
            )
        })
        .collect();
    (doc, changes)
}

#[test]
#[ignore = "needs root"]
fn kernel_made_changes_over_three_layers_are_read_back_exactly() {
    let mut layers = Layers::new();
    let (l1, l2, l3) = (layers.path("l1"), layers.path("l2"), layers.path("l3"));
    for file in [
        "etc/passwd",
        "etc/group",
        "etc/old",
        "etc/meta",
        "var/lib/data/a",
        "var/lib/data/b",
        "opt/app/bin",
        "opt/app/lib/x",
        "srv/tree/x",
        "srv/tree/y",
        "usr/share/doc/readme",
    ] {
        write(&l1.join(file), "lower one\n");
    }
    write(&l2.join("etc/passwd"), "lower two\n");
    write(&l2.join("etc/motd"), "hello\n");
    write(&l2.join("srv/tree/w"), "w\n");
    write(&l3.join("home/user/.profile"), "\n");
    // l3 deletes l1's etc/group with a whiteout of its own: the image has no /etc/group.
    fs::create_dir_all(l3.join("etc")).expect("mkdir");
    nix::sys::stat::mknod(
        &l3.join("etc/group"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .expect("mknod a whiteout");

    let metacopy = match layers.mount(",redirect_dir=on,metacopy=on") {
        Ok(()) => true,
        Err(why) => {
            eprintln!(
                "{}: this kernel refuses metacopy=on ({}): the chmod is a full copy-up",
                common::test_name(),
                why.trim()
            );
            layers.mount(",redirect_dir=on").expect("mount overlay");
            false
        }
    };
    let merged = layers.path("merged");
    let (_outer, init) = start_container(&mut sleeper_in(Some(&merged)));

    // Changes through the merged view, with the container running.
    fs::OpenOptions::new()
        .append(true)
        .open(merged.join("etc/passwd"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"me\n"))
        .expect("append");
    write(&merged.join("etc/new"), "new\n");
    write(&merged.join("etc/group"), "again\n");
    fs::remove_file(merged.join("etc/old")).expect("rm");
    fs::remove_file(merged.join("etc/motd")).expect("rm");
    fs::remove_dir_all(merged.join("var/lib/data")).expect("rm -r");
    fs::rename(merged.join("opt/app"), merged.join("opt/renamed")).expect("rename a dir");
    fs::set_permissions(
        merged.join("etc/meta"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    fs::remove_dir_all(merged.join("srv/tree")).expect("rm -r");
    write(&merged.join("srv/tree/z"), "z\n");
    write(&merged.join("new/sub/f"), "f\n");
    for name in [
        &b"etc/with space"[..],
        b"etc/new\nline",
        b"etc/esc\x1b[31mred",
    ] {
        write(&merged.join(OsStr::from_bytes(name)), "odd\n");
    }

    // The kernel did what each case is about.
    let upper = layers.path("upper");
    assert_eq!(
        xattr(&upper.join("opt/renamed"), "trusted.overlay.redirect").as_deref(),
        Some(&b"app"[..]),
        "the rename left a redirect"
    );
    assert_eq!(
        xattr(&upper.join("srv/tree"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..]),
        "rm -r then mkdir made an opaque dir"
    );
    if metacopy {
        assert!(
            xattr(&upper.join("etc/meta"), "trusted.overlay.metacopy").is_some(),
            "chmod was a metadata-only copy-up"
        );
    }

    let want = expected(&[
        (b"/etc", 'C'),
        (b"/etc/esc\x1b[31mred", 'A'),
        (b"/etc/group", 'A'),
        (b"/etc/meta", 'C'),
        (b"/etc/motd", 'D'),
        (b"/etc/new", 'A'),
        (b"/etc/new\nline", 'A'),
        (b"/etc/old", 'D'),
        (b"/etc/passwd", 'C'),
        (b"/etc/with space", 'A'),
        (b"/new", 'A'),
        (b"/new/sub", 'A'),
        (b"/new/sub/f", 'A'),
        (b"/opt", 'C'),
        (b"/opt/app", 'D'),
        (b"/opt/renamed", 'A'),
        (b"/opt/renamed/bin", 'A'),
        (b"/opt/renamed/lib", 'A'),
        (b"/opt/renamed/lib/x", 'A'),
        (b"/srv", 'C'),
        (b"/srv/tree", 'C'),
        (b"/srv/tree/w", 'D'),
        (b"/srv/tree/x", 'D'),
        (b"/srv/tree/y", 'D'),
        (b"/srv/tree/z", 'A'),
        (b"/var", 'C'),
        (b"/var/lib", 'C'),
        (b"/var/lib/data", 'D'),
    ]);
    assert_eq!(engine(&layers, XattrNamespace::Trusted), want);

    let (doc, changes) = cli(init.0);
    assert_eq!(changes, want);
    assert_eq!(doc["pid"], init.0);
    assert_eq!(doc["xattrs"], "trusted");
    assert_eq!(doc["upper"], upper.display().to_string());
    let lowers: Vec<String> = layers
        .lowers()
        .iter()
        .map(|l| l.display().to_string())
        .collect();
    assert_eq!(doc["lowers"], serde_json::json!(lowers));

    // In text, one line per change; a name's newline and escape cannot reach the terminal.
    let out = run_isotop(&["diff", &init.0.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), want.len(), "{text}");
    assert!(text.contains("A /etc/new?line\n"), "{text}");
    assert!(text.contains("A /etc/esc?[31mred\n"), "{text}");
    assert!(text.contains("D /opt/app\nA /opt/renamed\n"), "{text}");
    assert!(!text.contains('\x1b'), "{text}");
}

#[test]
#[ignore = "needs root"]
fn a_user_namespace_mount_reads_user_xattrs_and_xattr_whiteouts() {
    let layers = Layers::new();
    let (l1, upper) = (layers.path("l1"), layers.path("upper"));
    for file in ["etc/kept", "etc/gone", "etc/xgone", "data/old"] {
        write(&l1.join(file), "lower\n");
    }
    // An xattr whiteout, as layer tools write them: a zero-size file marked
    // `user.overlay.whiteout` in a directory marked `user.overlay.opaque=x`.
    write(&upper.join("etc/xgone"), "");
    // tmpfs keeps user xattrs only since Linux 6.6: an older kernel with /tmp on tmpfs (the
    // cgroup v2 VM's 6.1) cannot hold the marks this test is about.
    let probe = rustix::fs::setxattr(
        upper.join("etc/xgone"),
        "user.overlay.whiteout",
        b"",
        rustix::fs::XattrFlags::empty(),
    );
    if probe == Err(rustix::io::Errno::NOTSUP) {
        eprintln!(
            "skipping {}: the file system under /tmp keeps no user xattrs on this kernel",
            common::test_name()
        );
        return;
    }
    let set = |path: &Path, key: &str, value: &[u8]| {
        rustix::fs::setxattr(path, key, value, rustix::fs::XattrFlags::empty())
            .unwrap_or_else(|e| panic!("setxattr {key}: {e}"));
    };
    set(&upper.join("etc/xgone"), "user.overlay.whiteout", b"");
    set(&upper.join("etc"), "user.overlay.opaque", b"x");

    // Mounted by root of a new user namespace (`userxattr`), where the kernel then deletes a
    // file (its own 0/0 whiteout), adds one and removes a directory, before the container starts.
    let merged = layers.path("merged");
    let script = format!(
        "mount -t overlay overlay -o '{options}' '{m}' && rm '{m}/etc/gone' && \
         echo new > '{m}/etc/added' && rm -r '{m}/data' && \
         exec unshare --fork --kill-child --pid --mount-proc --root='{m}' /bin/busybox sleep 1000",
        options = layers.options(",userxattr"),
        m = merged.display(),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c", &script]);
    let (_outer, init) = start_container(&mut cmd);

    // The kernel reads the hand-made xattr whiteout as one: the container has no etc/xgone.
    let seen = PathBuf::from(format!("/proc/{}/root", init.0));
    assert!(
        seen.join("etc/kept").exists(),
        "the container sees its root"
    );
    assert!(
        !seen.join("etc/xgone").exists(),
        "the xattr whiteout hides etc/xgone"
    );
    assert!(!seen.join("etc/gone").exists());

    let want = expected(&[
        (b"/data", 'D'),
        (b"/etc", 'C'),
        (b"/etc/added", 'A'),
        (b"/etc/gone", 'D'),
        (b"/etc/xgone", 'D'),
    ]);
    assert_eq!(engine(&layers, XattrNamespace::User), want);
    let (doc, changes) = cli(init.0);
    assert_eq!(changes, want);
    assert_eq!(doc["xattrs"], "user");
}

#[test]
#[ignore = "needs root"]
fn a_root_that_is_not_overlay_an_upper_dir_gone_and_a_process_gone_are_refused() {
    // The host's own root file system: not overlay, exit 1 naming the type.
    let (_outer, init) = start_container(&mut sleeper_in(None));
    let out = run_isotop(&["diff", &init.0.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not overlay"), "{stderr}");

    // An overlay whose upper dir was moved away after the mount: exit 1 naming the path.
    let mut layers = Layers::new();
    layers.mount("").expect("mount overlay");
    let (_outer2, init2) = start_container(&mut sleeper_in(Some(&layers.path("merged"))));
    fs::rename(layers.path("upper"), layers.path("upper-moved")).expect("move the upper dir");
    let out = run_isotop(&["diff", &init2.0.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&layers.path("upper").display().to_string()),
        "{stderr}"
    );

    // The container's process is gone: its pid names no container any more (exit 2).
    let pid = init2.0;
    drop(_outer2);
    drop(init2);
    assert!(common::wait_until(Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{pid}")).exists()
    }));
    let out = run_isotop(&["diff", &pid.to_string()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

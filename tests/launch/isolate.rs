//! The container process, from inside and from the host (root; real namespaces and mounts).
//!
//! Each test builds its own root — a busybox rootfs made from the host's `/bin/busybox`
//! (busybox-static), or the default image — mounts it as an overlay, runs a command through
//! `isolate::create` + `start` with pipes for stdio, and compares what the command saw with
//! the kernel's files on the host side. Everything is undone by drop guards.

mod cgroupfs;
use crate::support::{common, isolate_harness};
mod userns;

use std::collections::BTreeSet;
use std::fs;

use isolate_harness::{Root, gone, launch, mount_options, ready, run};
use isotop::launch::isolate::{self, docker_cap_mask};
use isotop::launch::{LaunchError, Volume};

#[test]
#[ignore = "needs root"]
fn the_command_is_pid_1_and_sees_only_its_own_processes() {
    if !ready() {
        return;
    }
    let root = Root::busybox(|_| {});
    let setup = root.config(&[
        "sh",
        "-c",
        "echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; for p in /proc/[0-9]*; do echo ${p#/proc/}; done",
    ]);
    let (pending, running) = isolate_harness::create(&setup).unwrap();
    // From the host, before it runs: the same process is pid 1 in its own pid namespace.
    let status = fs::read_to_string(format!("/proc/{}/status", running.pid)).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    let ids: Vec<&str> = nspid.split_whitespace().skip(1).collect();
    assert_eq!(ids, [running.pid.to_string().as_str(), "1"], "{nspid}");
    pending.start().unwrap();
    let mut running = running;
    running.close_stdin();
    let out = running.wait();
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines[0], "1", "{lines:?}");
    assert_eq!(
        lines[1].trim(),
        "sh -c echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; for p in /proc/[0-9]*; do echo ${p#/proc/}; done"
    );
    // Only the shell itself (its earlier children were reaped): no host process is visible.
    assert_eq!(&lines[2..], ["1"], "{lines:?}");
}

#[test]
#[ignore = "needs root"]
fn hostname_network_and_ipc_are_its_own() {
    if !ready() {
        return;
    }
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&[
        "sh",
        "-c",
        "hostname; ls /sys/class/net; cat /sys/class/net/lo/flags; \
         for ns in net ipc uts; do readlink /proc/self/ns/$ns; done",
    ]);
    setup.hostname = "box-7".into();
    let out = run(&setup);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines[0], "box-7");
    assert_ne!(
        fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        "box-7"
    );
    // Only lo, and it is up (IFF_UP = 0x1 in its flags).
    assert_eq!(lines[1], "lo", "{lines:?}");
    let flags = u32::from_str_radix(lines[2].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 0x1, 0x1, "lo flags {}", lines[2]);
    for (line, ns) in lines[3..].iter().zip(["net", "ipc", "uts"]) {
        let host = fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        assert!(line.starts_with(&format!("{ns}:[")), "{line}");
        assert_ne!(
            *line,
            host.to_string_lossy(),
            "{ns} namespace is the host's"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn the_cgroup_namespace_is_rooted_at_the_containers_cgroup() {
    if !ready() {
        return;
    }
    let cgroups = common::CgroupGuard::new("isolate-cgns");
    let leaf = cgroups.child("box");
    let root = Root::busybox(|_| {});
    let setup = root.config(&["sh", "-c", "cat /proc/self/cgroup; echo end; read x"]);
    let (pending, mut running) = isolate_harness::create(&setup).unwrap();
    // As the supervisor does: move it between create and start.
    cgroups.add_pid("box", running.pid);
    pending.start().unwrap();
    let mut inside = Vec::new();
    loop {
        let line = running.read_line();
        if line == "end" {
            break;
        }
        inside.push(line);
    }
    let host_view = fs::read_to_string(format!("/proc/{}/cgroup", running.pid)).unwrap();
    running.write_stdin("done\n");
    running.close_stdin();
    running.wait().ok();
    assert!(!inside.is_empty());
    for line in &inside {
        // hierarchy-id:controllers:path — the path is the namespace root.
        assert!(line.ends_with(":/"), "inside: {inside:?}");
    }
    // The host sees the real place, the test's cgroup, in the hierarchies it was moved into.
    assert!(
        host_view.lines().any(|l| l.ends_with(&leaf)),
        "host view {host_view} lacks {leaf}"
    );
}

#[test]
#[ignore = "needs root"]
fn proc_sys_and_dev_are_fenced() {
    if !ready() {
        return;
    }
    // runc's lists, as far as this kernel has the paths (e.g. no /proc/kcore without
    // CONFIG_PROC_KCORE): what the host lacks the container lacks too.
    let on_host = |p: &&str| std::path::Path::new(p).exists();
    let masked: Vec<&str> = isolate::MASKED_PATHS
        .iter()
        .copied()
        .filter(on_host)
        .collect();
    let read_only: Vec<&str> = isolate::READ_ONLY_PATHS
        .iter()
        .copied()
        .filter(on_host)
        .collect();
    assert!(!masked.is_empty() && read_only.contains(&"/proc/sys"));
    let (masked_dirs, masked_files): (Vec<&str>, Vec<&str>) = masked
        .iter()
        .partition(|p| std::path::Path::new(p).is_dir());
    let script = format!(
        "echo x 2>/dev/null > /proc/sys/kernel/hostname && echo proc-sys-writable || echo proc-sys-ro; \
         touch /sys/kernel/x 2>/dev/null && echo sys-writable || echo sys-ro; \
         ls -A /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; \
         echo hi > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; \
         for f in {files}; do echo \"$f $(wc -c < $f)\"; done; \
         for d in {dirs}; do echo \"$d $(ls -A $d | wc -l)\"; done; \
         cat /proc/self/mountinfo",
        files = masked_files.join(" "),
        dirs = masked_dirs.join(" "),
    );
    let root = Root::busybox(|_| {});
    let out = run(&root.config(&["sh", "-c", &script]));
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["proc-sys-ro", "sys-ro"], "{out:?}");
    let dev: BTreeSet<&str> = lines[2].split_whitespace().collect();
    let want: BTreeSet<&str> = [
        "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty",
        "urandom", "zero",
    ]
    .into();
    assert_eq!(dev, want);
    assert_eq!(lines[3], "pts/ptmx");
    assert_eq!(lines[4], "null-ok");
    assert_eq!(lines[5].trim(), "4");
    // Masked files read as /dev/null, masked directories are empty.
    let counts = &lines[6..6 + masked.len()];
    for (line, path) in counts.iter().zip(masked_files.iter().chain(&masked_dirs)) {
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            [*path, "0"],
            "{out:?}"
        );
    }
    let mountinfo = lines[6 + masked.len()..].join("\n");
    let ro = |path: &str| {
        let options = mount_options(&mountinfo, path)
            .unwrap_or_else(|| panic!("{path} not mounted:\n{mountinfo}"));
        options.split(',').any(|o| o == "ro")
    };
    for path in read_only.iter().chain(&["/sys"]) {
        assert!(ro(path), "{path} is not read-only:\n{mountinfo}");
    }
    assert!(
        !ro("/proc"),
        "/proc itself stays writable (for /proc/self/...)"
    );
    for path in &masked_dirs {
        assert!(ro(path), "{path} is not a read-only mask:\n{mountinfo}");
    }
    for path in &masked_files {
        assert!(
            mount_options(&mountinfo, path).is_some(),
            "{path} not masked:\n{mountinfo}"
        );
    }
    // The container's own devpts instance; none of the host's mounts after pivot_root.
    let pts = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/dev/pts"))
        .unwrap();
    assert!(pts.contains(" - devpts "), "{pts}");
    // Under /sys/fs/cgroup only the container's own view: read-only, each cgroup mount rooted
    // at its cgroup namespace (`/`), not the host's mounts of the whole trees.
    for line in mountinfo.lines().filter(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|p| p.starts_with("/sys/fs/cgroup"))
    }) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert!(fields[5].split(',').any(|o| o == "ro"), "{line}");
        assert!(
            line.contains(" - tmpfs ") || fields[3] == "/",
            "host mounts leaked in: {line}"
        );
    }
    assert_eq!(
        mountinfo.lines().next().unwrap().split(' ').nth(4),
        Some("/"),
        "the first mount is the container's root"
    );
}

#[test]
#[ignore = "needs root"]
fn capabilities_are_dockers_and_no_new_privs_is_set() {
    if !ready() {
        return;
    }
    let root = Root::busybox(|_| {});
    let setup = root.config(&["sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"]);
    let out = run(&setup);
    let field = |name: &str| -> String {
        out.ok()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {}", out.stdout))
            .trim()
            .to_string()
    };
    let docker = format!("{:016x}", docker_cap_mask());
    assert_eq!(
        docker, "00000000a80425fb",
        "Docker's default set, as `docker run` shows it"
    );
    for set in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(field(set), docker, "{set}");
    }
    // Empty since Docker 20.10.14 (CVE-2022-24769), as the ambient set.
    assert_eq!(field("CapInh"), "0000000000000000");
    assert_eq!(field("CapAmb"), "0000000000000000");
    assert_eq!(field("NoNewPrivs"), "1");
}

#[test]
#[ignore = "needs root"]
fn writes_land_in_the_upper_layer_never_the_image_or_host() {
    if !ready() {
        return;
    }
    let root = Root::default_image();
    let name = common::unique_name("write");
    let script = format!(
        "echo hi > /etc/{name} && echo hi > /tmp/{name} && echo wrote; \
         touch /usr/{name} 2>/dev/null && echo usr-writable || echo usr-ro; \
         ls /usr/bin/sh >/dev/null && echo host-programs"
    );
    let setup = root.config(&["sh", "-c", &script]);
    let out = run(&setup);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines, ["wrote", "usr-ro", "host-programs"]);
    assert_eq!(
        fs::read_to_string(root.upper.join("etc").join(&name)).unwrap(),
        "hi\n"
    );
    assert!(root.upper.join("tmp").join(&name).is_file());
    let layer = &root.lower[0];
    for dir in ["etc", "tmp"] {
        assert!(
            !layer.join(dir).join(&name).exists(),
            "{dir} write reached the image"
        );
        assert!(
            !std::path::Path::new("/").join(dir).join(&name).exists(),
            "{dir} write reached the host"
        );
    }
    assert!(!std::path::Path::new("/usr").join(&name).exists());
    let image = root.image.as_ref().unwrap();
    assert!(image.binds.iter().all(|b| b.read_only));
    assert!(image.binds.iter().any(|b| b.dest == "/usr"));
}

#[test]
#[ignore = "needs root"]
fn volumes_bind_read_write_and_read_only() {
    if !ready() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    fs::write(shared.path().join("given"), "from host\n").unwrap();
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&[
        "sh",
        "-c",
        "echo made > /data/new && echo rw-ok; cat /ro/given; \
         echo x 2>/dev/null > /ro/new && echo ro-writable || echo ro-refused; \
         ls -d /deep/a/b",
    ]);
    setup.volumes = vec![
        Volume::parse(&format!("{}:/data", data.path().display())).unwrap(),
        Volume::parse(&format!("{}:/ro:ro", shared.path().display())).unwrap(),
        Volume::parse(&format!("{}:/deep/a/b:ro", shared.path().display())).unwrap(),
    ];
    let out = run(&setup);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines, ["rw-ok", "from host", "ro-refused", "/deep/a/b"]);
    assert_eq!(
        fs::read_to_string(data.path().join("new")).unwrap(),
        "made\n"
    );
    assert!(!shared.path().join("new").exists());
    // Mount points the image lacked were made in the upper layer, not in the image.
    assert!(root.upper.join("deep/a/b").is_dir());
    assert!(!root.lower[0].join("deep").exists());
}

#[test]
#[ignore = "needs root"]
fn a_symlinked_volume_destination_cannot_escape_the_root() {
    if !ready() {
        return;
    }
    // A directory on the host that the image's symlinks name, absolutely and through `..`;
    // the image has the same path inside, so the links resolve there.
    let target = tempfile::Builder::new()
        .prefix("isotop-test-escape-")
        .tempdir()
        .unwrap();
    let host_dir = target.path().to_path_buf();
    let relative = format!("../../../../../../..{}", host_dir.display());
    let root = Root::busybox(|lower| {
        std::os::unix::fs::symlink(&host_dir, lower.join("abs")).unwrap();
        std::os::unix::fs::symlink(&relative, lower.join("rel")).unwrap();
        fs::create_dir_all(lower.join(host_dir.strip_prefix("/").unwrap())).unwrap();
        // A link to a place the image lacks: it must fail, not fall through to the host.
        std::os::unix::fs::symlink(host_dir.join("missing"), lower.join("dangling")).unwrap();
    });
    let volume = tempfile::tempdir().unwrap();
    fs::write(volume.path().join("file"), "volume\n").unwrap();
    let mut setup = root.config(&["sh", "-c", "cat /abs/v1/file /rel/v2/file"]);
    setup.volumes = vec![
        Volume::parse(&format!("{}:/abs/v1", volume.path().display())).unwrap(),
        Volume::parse(&format!("{}:/rel/v2", volume.path().display())).unwrap(),
    ];
    let out = run(&setup);
    assert_eq!(out.ok(), "volume\nvolume\n");
    // The links were followed inside the root: the mount points are in the upper layer...
    let inside = root.upper.join(host_dir.strip_prefix("/").unwrap());
    assert!(inside.join("v1").is_dir() && inside.join("v2").is_dir());
    // ...and nothing was created or mounted in the host directory they name.
    assert_eq!(fs::read_dir(&host_dir).unwrap().count(), 0);
    let host_mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!host_mounts.contains(&host_dir.display().to_string()));

    setup.volumes =
        vec![Volume::parse(&format!("{}:/dangling/v", volume.path().display())).unwrap()];
    let err = launch(&setup)
        .err()
        .expect("a dangling link cannot be a mount point")
        .to_string();
    assert!(
        err.contains("/dangling/v") && err.contains("No such file or directory"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&host_dir).unwrap().count(), 0);
}

#[test]
#[ignore = "needs root"]
fn a_missing_command_is_a_clear_setup_error_and_leaves_no_process() {
    if !ready() {
        return;
    }
    let root = Root::busybox(|_| {});
    let (pending, _running) = isolate_harness::create(&root.config(&["/bin/nope"])).unwrap();
    let pid = pending.pid();
    let err = pending.start().unwrap_err();
    assert!(matches!(err, LaunchError::Setup(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the container could not start: exec /bin/nope: No such file or directory (check the \
         command exists in the image)"
    );
    assert!(gone(pid), "pid {pid} is still there");

    let err = launch(&root.config(&["nope", "x"])).err().unwrap();
    assert!(
        err.to_string()
            .contains("exec nope: not found in PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{err}"
    );
}

#[test]
#[ignore = "needs root"]
fn a_mount_failure_names_the_step_and_path() {
    if !ready() {
        return;
    }
    let volume = tempfile::tempdir().unwrap();
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&["true"]);
    // /bin/busybox is a file: no directory can be made under it.
    setup.volumes =
        vec![Volume::parse(&format!("{}:/bin/busybox/x", volume.path().display())).unwrap()];
    let (pending, _running) = isolate_harness::create(&setup).unwrap();
    let pid = pending.pid();
    let err = pending.start().unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "bind {} on /bin/busybox/x",
            volume.path().display()
        )) && err.contains("Not a directory"),
        "{err}"
    );
    assert!(gone(pid));
}

#[test]
#[ignore = "needs root"]
fn an_aborted_container_is_killed_and_reaped() {
    if !ready() {
        return;
    }
    let root = Root::busybox(|_| {});
    let (pending, _running) = isolate_harness::create(&root.config(&["true"])).unwrap();
    let pid = pending.pid();
    assert!(!gone(pid));
    pending.abort();
    assert!(gone(pid));
}

#[test]
#[ignore = "needs root"]
fn a_tty_becomes_the_controlling_terminal() {
    if !ready() {
        return;
    }
    let pty = nix::pty::openpty(None, None).unwrap();
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&[
        "sh",
        "-c",
        "cut -d' ' -f7 /proc/self/stat; test -t 0 && echo is-tty; pwd",
    ]);
    setup.tty = true;
    setup.cwd = "/work/dir".into();
    let stdio = [
        pty.slave.try_clone().unwrap(),
        pty.slave.try_clone().unwrap(),
        pty.slave,
    ];
    let pending = isolate_harness::create_with(&setup, stdio).unwrap();
    let pid = nix::unistd::Pid::from_raw(pending.pid());
    pending.start().unwrap();
    let status = nix::sys::wait::waitpid(pid, None).unwrap();
    assert!(
        matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
    let text = isolate_harness::drain_pty(pty.master);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    // Field 7 of stat is tty_nr: 0 means no controlling terminal.
    let tty_nr: i64 = lines[0].parse().unwrap();
    assert_ne!(tty_nr, 0, "no controlling terminal: {text}");
    assert_eq!(lines[1..], ["is-tty", "/work/dir"]);
    // The missing working directory was made in the upper layer.
    assert!(root.upper.join("work/dir").is_dir());
}

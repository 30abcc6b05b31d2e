//! `isotop run` seen from inside the container, through the real binary (root): the command is
//! PID 1 and sees no host process, the hostname is its own, the network has only `lo` (none)
//! or `eth0` + `lo` on the test's own bridge (bridge), writes land in the container's upper
//! layer and never in the image or on the host, and `--memory`, `--pids` and `--cpus` hold
//! (the kernel's cgroup files, a fork loop stopped by pids.max, an allocation OOM-killed, a
//! busy loop throttled). Images: a directory, a tarball and a docker-save archive made here.

use crate::support::{archives, common, containers};

use std::path::Path;
use std::time::Duration;

use archives::{Item, docker_archive, gzip, tar_of};
use common::{read_key, read_number, read_text, require_program, unique_name, wait_until};
use containers::{
    APPLETS, Container, assert_code, assert_gone, busybox_bytes, busybox_rootfs_dir, fingerprint,
    is_v2, isotop_out, require_launch, run_sh, text,
};
use isotop::host::HostRoot;
use isotop::launch::net::{self, BridgeConfig};

#[test]
#[ignore = "needs root"]
fn the_command_is_pid_1_alone_with_its_own_hostname() {
    if !require_launch() {
        return;
    }
    let host_name = read_text(Path::new("/proc/sys/kernel/hostname"));
    // The glob runs inside the shell itself: it lists every pid the container can see.
    let out = run_sh(
        &["--hostname", "inner-box"],
        "echo pid=$$; hostname; echo /proc/[0-9]*; cat /etc/hostname; grep -w inner-box /etc/hosts",
    );
    assert_code(&out, 0, "run");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "pid=1",
            "inner-box",
            "/proc/1",
            "inner-box",
            "127.0.1.1\tinner-box"
        ],
        "{stdout}"
    );
    assert_eq!(read_text(Path::new("/proc/sys/kernel/hostname")), host_name);
}

#[test]
#[ignore = "needs root"]
fn net_none_has_only_loopback_and_it_is_up() {
    if !require_launch() {
        return;
    }
    let out = run_sh(&[], "echo /sys/class/net/*; cat /sys/class/net/lo/flags");
    assert_code(&out, 0, "run");
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("/sys/class/net/lo"));
    let flags = u32::from_str_radix(lines.next().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "lo is up (IFF_UP)");
}

/// A bridge of this test's own; deleted on drop with its lease directory.
struct TestBridge {
    config: BridgeConfig,
}

impl Drop for TestBridge {
    fn drop(&mut self) {
        let removed = net::remove_bridge_if_unused(&HostRoot::live(), &self.config);
        if !matches!(removed, Ok(true)) {
            eprintln!(
                "warning: test bridge {} not removed: {removed:?}",
                self.config.bridge
            );
        }
    }
}

#[test]
#[ignore = "needs root"]
fn net_bridge_has_eth0_and_loopback_and_rm_takes_the_veth() {
    if !require_launch() || !require_program("ip") {
        return;
    }
    let pid = std::process::id();
    let bridge = TestBridge {
        config: BridgeConfig::new(
            &format!("isotc{}", pid % 100_000),
            &format!("10.{}.{}.0/24", 230, pid % 256),
        )
        .unwrap(),
    };
    let subnet = bridge.config.subnet.clone();
    let env = [
        ("ISOTOP_BRIDGE", bridge.config.bridge.as_str()),
        ("ISOTOP_SUBNET", subnet.as_str()),
    ];
    let c = Container::sh_with_env(
        &["--net", "bridge"],
        "echo /sys/class/net/*; sleep 30",
        &env,
    );
    let logged = c.wait_logged("eth0");
    assert!(
        logged.contains("/sys/class/net/eth0 /sys/class/net/lo"),
        "{logged}"
    );
    let record = c.record().unwrap();
    let address = record["address"].as_str().unwrap().to_string();
    let prefix = subnet.trim_end_matches("0/24");
    assert!(address.starts_with(prefix), "{address} in {subnet}");
    let veth = record["host_veth"].as_str().unwrap().to_string();
    assert!(Path::new("/sys/class/net").join(&veth).exists());
    assert_eq!(
        read_text(
            &Path::new("/sys/class/net")
                .join(&veth)
                .join("master/uevent")
        )
        .lines()
        .find_map(|l| l.strip_prefix("INTERFACE=")),
        Some(bridge.config.bridge.as_str()),
        "the host end is enslaved to the test's bridge"
    );
    let out = c.isotop(&["rm", "-f"]);
    assert_code(&out, 0, "rm -f");
    assert!(!Path::new("/sys/class/net").join(&veth).exists());
    assert_gone(&c.id);
}

#[test]
#[ignore = "needs root"]
fn userns_maps_container_root_to_an_unprivileged_host_uid() {
    if !require_launch() {
        return;
    }
    let c = Container::sh(
        &["--userns"],
        "cat /proc/self/uid_map; touch /made-by-root && echo wrote; sleep 30",
    );
    let logged = c.wait_logged("wrote");
    let map: Vec<u64> = logged
        .lines()
        .find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let data = v["data"].as_str()?.to_string();
            let nums: Vec<u64> = data
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (nums.len() == 3).then_some(nums)
        })
        .unwrap_or_else(|| panic!("no uid_map line in {logged}"));
    assert_eq!(map[0], 0, "container root");
    assert_ne!(map[1], 0, "maps to a host uid other than root");
    let status = read_text(&Path::new("/proc").join(c.pid().to_string()).join("status"));
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap();
    assert_eq!(uid, map[1].to_string(), "the host sees the mapped uid");
}

#[test]
#[ignore = "needs root"]
fn writes_stay_in_the_upper_layer_not_the_host() {
    if !require_launch() {
        return;
    }
    let canary = format!("/tmp/{}", unique_name("canary"));
    let script = format!(
        "echo inside > {canary} && echo etc > /etc/isotop-test-new && \
         (echo x > /usr/isotop-test-x 2>/dev/null && echo usr-writable || echo usr-read-only)"
    );
    let c = Container::sh(&[], &script);
    let record = c.wait_exited(Duration::from_secs(20)).unwrap();
    assert_eq!(record["exit_code"], 0, "{record}");
    let log = read_text(&c.log_path());
    assert!(log.contains("usr-read-only"), "{log}");
    assert!(
        !Path::new(&canary).exists(),
        "the write reached the host's /tmp"
    );
    assert!(!Path::new("/etc/isotop-test-new").exists());
    assert!(!Path::new("/usr/isotop-test-x").exists());
    let upper = Path::new(record["upper"].as_str().unwrap());
    assert_eq!(
        read_text(&upper.join(canary.trim_start_matches('/'))),
        "inside"
    );
    assert_eq!(read_text(&upper.join("etc/isotop-test-new")), "etc");
}

#[test]
#[ignore = "needs root"]
fn limits_are_in_the_kernel_files() {
    if !require_launch() {
        return;
    }
    let c = Container::detached(&[
        "--memory", "64M", "--pids", "20", "--cpus", "0.5", "--", "sleep", "30",
    ]);
    if is_v2() {
        let dir = c.cgroup_dir("");
        assert_eq!(
            read_text(&dir.join("memory.max")),
            (64u64 << 20).to_string()
        );
        assert_eq!(read_text(&dir.join("pids.max")), "20");
        assert_eq!(read_text(&dir.join("cpu.max")), "50000 100000");
    } else {
        assert_eq!(
            read_number(&c.cgroup_dir("memory").join("memory.limit_in_bytes")),
            64 << 20
        );
        assert_eq!(read_text(&c.cgroup_dir("pids").join("pids.max")), "20");
        assert_eq!(
            read_text(&c.cgroup_dir("cpu").join("cpu.cfs_quota_us")),
            "50000"
        );
    }
    // The init is in the container's cgroup in every hierarchy.
    let membership = read_text(&Path::new("/proc").join(c.pid().to_string()).join("cgroup"));
    for line in membership.lines() {
        assert!(line.ends_with(&format!("/isotop/{}", c.id)), "{line}");
    }
}

#[test]
#[ignore = "needs root"]
fn pids_max_stops_a_fork_loop() {
    if !require_launch() || !require_program("bash") {
        return;
    }
    // bash, not sh: dash exits at the first fork that fails, bash retries and carries on.
    let c = Container::detached(&[
        "--pids",
        "8",
        "--",
        "bash",
        "-c",
        "while :; do sleep 30 & done 2>/dev/null",
    ]);
    let dir = c.cgroup_dir("pids");
    assert!(wait_until(Duration::from_secs(20), || {
        std::fs::read_to_string(dir.join("pids.events"))
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("max ") && l != "max 0"))
    }));
    assert!(read_number(&dir.join("pids.current")) <= 8);
    assert!(read_key(&dir.join("pids.events"), "max") > 0);
}

#[test]
#[ignore = "needs root"]
fn limits_hold_from_the_first_instruction() {
    if !require_launch() {
        return;
    }
    // pids.max 1: the init itself is the one task, so its very first fork fails. Had the
    // limit come after the start, the fork could have slipped through.
    let out = run_sh(&["--pids", "1"], "echo $(echo sub); echo after");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("sub"), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).to_lowercase().contains("fork"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
#[ignore = "needs root"]
fn memory_limit_oom_kills_an_allocation_above_it() {
    if !require_launch() {
        return;
    }
    // `tail` keeps the last line of its input in memory; /dev/zero has no line end.
    let out = isotop_out(&["run", "--rm", "--memory", "16M", "--", "tail", "/dev/zero"]);
    assert_code(&out, 137, "tail /dev/zero under 16M");
}

#[test]
#[ignore = "needs root"]
fn cpus_throttle_a_busy_loop() {
    if !require_launch() {
        return;
    }
    let c = Container::sh(&["--cpus", "0.2"], "while :; do :; done");
    let stat = c.cgroup_dir("cpu").join("cpu.stat");
    assert!(
        wait_until(Duration::from_secs(20), || read_key(&stat, "nr_throttled")
            > 2),
        "{}",
        read_text(&stat)
    );
}

/// Runs `sh -c 'cat /etc/img; ...'` in `image` and returns stdout.
fn run_in(image: &Path, script: &str) -> String {
    let out = isotop_out(&[
        "run",
        "--rm",
        "--image",
        image.to_str().unwrap(),
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_code(&out, 0, &format!("run in {}", image.display()));
    text(&out.stdout)
}

#[test]
#[ignore = "needs root"]
fn a_directory_image_runs_and_is_not_written() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    busybox_rootfs_dir(dir.path(), &busybox, "from-dir");
    let before = fingerprint(dir.path());
    let stdout = run_in(
        dir.path(),
        "cat /etc/img; echo; echo changed > /etc/img; touch /new; cat /etc/img",
    );
    assert_eq!(stdout, "from-dir\nchanged\n");
    assert_eq!(
        fingerprint(dir.path()),
        before,
        "the image directory changed"
    );
}

fn busybox_layer(busybox: &[u8], marker: &[u8]) -> Vec<u8> {
    let links: Vec<String> = APPLETS.iter().map(|a| format!("./bin/{a}")).collect();
    let mut items = vec![
        Item::Dir("./"),
        Item::Dir("./bin/"),
        Item::Dir("./etc/"),
        Item::Dir("./tmp/"),
        Item::FileMode("./bin/busybox", busybox, 0o755),
        Item::File("./etc/img", marker),
    ];
    items.extend(links.iter().map(|l| Item::Symlink(l, "busybox")));
    tar_of(&items)
}

#[test]
#[ignore = "needs root"]
fn a_tarball_image_runs() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rootfs.tar.gz");
    std::fs::write(&path, gzip(&busybox_layer(&busybox, b"from-tarball"))).unwrap();
    assert_eq!(run_in(&path, "cat /etc/img"), "from-tarball");
}

#[test]
#[ignore = "needs root"]
fn a_docker_archive_runs_its_own_command_with_its_env_and_layers() {
    let Some(busybox) = busybox_bytes() else {
        return;
    };
    let base = busybox_layer(&busybox, b"base");
    let top = tar_of(&[
        Item::Dir("./etc/"),
        Item::File("./etc/img", b"top"),
        Item::File("./etc/.wh.gone", b""),
    ]);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {
            "Env": ["PATH=/bin", "IMG=docker"],
            "Cmd": ["/bin/sh", "-c", "echo $IMG; cat /etc/img; echo; pwd"],
            "WorkingDir": "/tmp"
        },
        "rootfs": {"type": "layers", "diff_ids": []}
    })
    .to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    std::fs::write(&path, docker_archive(&config, &[base, top])).unwrap();
    // No command: the image's Cmd, environment and working directory.
    let out = isotop_out(&["run", "--rm", "--image", path.to_str().unwrap()]);
    assert_code(&out, 0, "docker archive");
    assert_eq!(text(&out.stdout), "docker\ntop\n/tmp\n");
    // A command replaces Cmd; -e adds to the image's environment.
    let out = run_sh(
        &["-e", "EXTRA=1", "--image", path.to_str().unwrap()],
        "echo $IMG$EXTRA",
    );
    assert_code(&out, 0, "docker archive with a command");
    assert_eq!(text(&out.stdout), "docker1\n");
}

#[test]
#[ignore = "needs root"]
fn a_device_node_made_inside_cannot_be_opened() {
    if !require_launch() {
        return;
    }
    // mknod is allowed (Docker's capability set has CAP_MKNOD), opening the node is not:
    // /dev/kmsg (1:11) opened write-only needs no capability, so only the device rules can
    // refuse it (they allow null, zero, full, random, urandom, tty, console, ptmx, pts).
    let out = run_sh(
        &[],
        "mknod /tmp/kmsg c 1 11 && true > /tmp/kmsg && echo opened; true > /dev/null && echo null-ok",
    );
    assert_eq!(text(&out.stdout), "null-ok\n", "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not permitted"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
#[ignore = "needs root"]
fn only_its_standard_streams_are_open_inside() {
    if !require_launch() {
        return;
    }
    // A descriptor isotop inherits without close-on-exec (as from a careless caller) must not
    // reach the container.
    let (leak_r, _leak_w) = nix::unistd::pipe().unwrap();
    let leaked = std::os::fd::AsRawFd::as_raw_fd(&leak_r);
    let out = run_sh(&[], "echo /proc/$$/fd/*");
    assert_code(&out, 0, "run");
    // 3 is the directory the glob itself is reading.
    assert_eq!(
        text(&out.stdout),
        "/proc/1/fd/0 /proc/1/fd/1 /proc/1/fd/2 /proc/1/fd/3\n"
    );
    assert!(leaked > 2);
}

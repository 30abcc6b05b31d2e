//! The container's own cgroups at `/sys/fs/cgroup` (part of tests/launch/isolate.rs): the
//! process is moved into a test cgroup with a memory and a pids limit between create and start
//! (as the supervisor does), and from inside `/sys/fs/cgroup` shows those limits, read-only,
//! with one mount per hierarchy the host has under its `/sys/fs/cgroup` (v1 / hybrid) or the
//! one cgroup2 (v2-only). Run plain, in a user namespace, and with the host's network in a
//! user namespace (where `/sys` is the host's, bound).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::common;
use crate::support::isolate_harness::{self, Root, ready};
use isotop::host::HostRoot;
use isotop::launch::NetMode;
use isotop::launch::isolate::{self, IdMap};

/// 64 MiB, page-aligned so v1 reads it back unchanged.
const MEMORY_LIMIT: u64 = 64 << 20;
const PIDS_LIMIT: u64 = 42;

const HOST_CGROUP_DIR: &str = "/sys/fs/cgroup";

/// The host's cgroup mounts directly at or under `/sys/fs/cgroup`, from its mountinfo:
/// (mount point, fstype).
fn host_cgroup_mounts() -> Vec<(String, String)> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut mounts = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (point, fstype) = (fields[4], fields[dash + 1]);
        let parent = Path::new(point).parent();
        if (fstype == "cgroup" || fstype == "cgroup2")
            && (point == HOST_CGROUP_DIR || parent == Some(Path::new(HOST_CGROUP_DIR)))
        {
            mounts.push((point.to_string(), fstype.to_string()));
        }
    }
    mounts
}

/// True when the host mounts cgroup2 at `/sys/fs/cgroup` itself (v2-only).
fn v2_only(mounts: &[(String, String)]) -> bool {
    mounts
        .iter()
        .any(|(point, fstype)| point == HOST_CGROUP_DIR && fstype == "cgroup2")
}

/// A cgroup in the host's hybrid `unified` (v2) hierarchy with one child, `marker`: once the
/// container's process is moved in, its `/sys/fs/cgroup/unified` must list `marker`. Removed
/// on drop (after the container process is gone).
struct UnifiedDir(PathBuf);

impl UnifiedDir {
    fn new(unified: &Path) -> UnifiedDir {
        let dir = unified.join(common::unique_name("isolate-cgfs"));
        fs::create_dir(&dir).unwrap();
        let guard = UnifiedDir(dir);
        fs::create_dir(guard.0.join("marker")).unwrap();
        guard
    }
}

impl Drop for UnifiedDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir(self.0.join("marker"));
        for _ in 0..100 {
            if fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!("warning: could not remove {}", self.0.display());
    }
}

/// The top mount (the visible one) at each mount point, as printed inside the container:
/// mount point → (root, options, fstype).
fn top_mounts(mountinfo: &str) -> std::collections::BTreeMap<String, (String, String, String)> {
    let mut top = std::collections::BTreeMap::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        top.insert(
            fields[4].to_string(),
            (
                fields[3].to_string(),
                fields[5].to_string(),
                fields[dash + 1].to_string(),
            ),
        );
    }
    top
}

/// One line `key=value` of the container's output.
fn field<'a>(lines: &[&'a str], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {lines:?}"))
}

fn check_the_containers_cgroups(net: NetMode, userns: Option<IdMap>) {
    if !ready() {
        return;
    }
    let host_mounts = host_cgroup_mounts();
    assert!(!host_mounts.is_empty(), "the host mounts no cgroups");
    let v2 = v2_only(&host_mounts);
    let cgroups = common::CgroupGuard::new("isolate-cgfs");
    cgroups.child("box");
    let (memory_file, pids_file) = if v2 {
        ("memory.max", "pids.max")
    } else {
        ("memory.limit_in_bytes", "pids.max")
    };
    fs::write(
        cgroups.dir("memory", "box").join(memory_file),
        MEMORY_LIMIT.to_string(),
    )
    .unwrap();
    fs::write(
        cgroups.dir("pids", "box").join(pids_file),
        PIDS_LIMIT.to_string(),
    )
    .unwrap();
    let (memory_in, pids_in) = if v2 {
        (
            "/sys/fs/cgroup/memory.max".to_string(),
            "/sys/fs/cgroup/pids.max".to_string(),
        )
    } else {
        (
            format!("/sys/fs/cgroup/memory/{memory_file}"),
            "/sys/fs/cgroup/pids/pids.max".to_string(),
        )
    };
    let unified = host_mounts
        .iter()
        .find(|(point, fstype)| fstype == "cgroup2" && point != HOST_CGROUP_DIR)
        .map(|(point, _)| UnifiedDir::new(Path::new(point)));

    // Each write is tried (a limit file; a new directory: in the sealed tmpfs on v1, a new
    // cgroup on v2) in a group whose stderr goes to a file, so the shell's own message for
    // the failed step (with the errno's text) is captured.
    let script = format!(
        "echo \"memory=$(cat {memory_in})\"; echo \"pids=$(cat {pids_in})\"; \
         if {{ echo 5 > {pids_in}; }} 2>/tmp/err; then echo write=ok; \
         else echo \"write=$(cat /tmp/err)\"; fi; \
         if {{ mkdir /sys/fs/cgroup/new-dir; }} 2>/tmp/err; then echo mkdir=ok; \
         else echo \"mkdir=$(cat /tmp/err)\"; fi; \
         echo \"unified=$(ls -p /sys/fs/cgroup/unified 2>/dev/null | grep /$ | tr '\\n' ' ')\"; \
         echo \"cgroup=$(tr '\\n' ' ' < /proc/self/cgroup)\"; \
         echo mountinfo; cat /proc/self/mountinfo",
    );
    let root = Root::busybox(|_| {});
    let mut setup = root.config(&["sh", "-c", &script]);
    setup.net = net;
    setup.userns = userns;
    let (pending, mut running) = isolate_harness::create(&setup).unwrap();
    // As the supervisor does: into the container's cgroups between create and start.
    cgroups.add_pid("box", running.pid);
    if let Some(dir) = &unified {
        fs::write(dir.0.join("cgroup.procs"), running.pid.to_string()).unwrap();
    }
    pending.start().unwrap();
    running.close_stdin();
    let out = running.wait();
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();

    assert_eq!(field(&lines, "memory"), MEMORY_LIMIT.to_string(), "{text}");
    assert_eq!(field(&lines, "pids"), PIDS_LIMIT.to_string(), "{text}");
    for step in ["write", "mkdir"] {
        let said = field(&lines, step);
        assert!(said.contains("Read-only file system"), "{step}: {said}");
    }
    // The host's value is untouched (the read-only mount did not just ignore the write).
    assert_eq!(
        common::read_text(&cgroups.dir("pids", "box").join(pids_file)),
        PIDS_LIMIT.to_string()
    );
    // Its cgroup namespace is still rooted at its own cgroup.
    let memberships: Vec<&str> = field(&lines, "cgroup").split_whitespace().collect();
    assert!(!memberships.is_empty());
    for line in &memberships {
        assert!(line.ends_with(":/"), "{memberships:?}");
    }
    if unified.is_some() {
        // The unified view is rooted at the cgroup the process was moved into.
        assert_eq!(field(&lines, "unified").trim(), "marker/", "{text}");
    }

    let start = lines.iter().position(|l| *l == "mountinfo").unwrap();
    let mounts = top_mounts(&lines[start + 1..].join("\n"));
    let under: BTreeSet<&str> = mounts
        .keys()
        .map(String::as_str)
        .filter(|p| *p == HOST_CGROUP_DIR || p.starts_with("/sys/fs/cgroup/"))
        .collect();
    let mut want: BTreeSet<&str> = host_mounts.iter().map(|(p, _)| p.as_str()).collect();
    if !v2 {
        want.insert(HOST_CGROUP_DIR);
    }
    assert_eq!(under, want, "{text}");
    for point in &under {
        let (mount_root, options, fstype) = &mounts[*point];
        assert!(
            options.split(',').any(|o| o == "ro"),
            "{point} is not read-only: {options}"
        );
        if *point == HOST_CGROUP_DIR && !v2 {
            assert_eq!(fstype, "tmpfs");
            continue;
        }
        let host_fstype = &host_mounts.iter().find(|(p, _)| p == point).unwrap().1;
        assert_eq!(fstype, host_fstype, "{point}");
        // `/`: the container's namespace root, i.e. its own cgroup, not the host's tree.
        assert_eq!(mount_root, "/", "{point}");
    }
    // The host's own cgroup mounts stay writable.
    for (point, options, _) in top_mounts(&fs::read_to_string("/proc/self/mountinfo").unwrap())
        .into_iter()
        .filter(|(p, _)| host_mounts.iter().any(|(h, _)| h == p))
        .map(|(p, (_, o, f))| (p, o, f))
    {
        assert!(
            options.split(',').any(|o| o == "rw"),
            "host {point} became {options}"
        );
    }
}

#[test]
#[ignore = "needs root"]
fn the_containers_cgroups_show_its_limits_read_only() {
    check_the_containers_cgroups(NetMode::None, None);
}

#[test]
#[ignore = "needs root"]
fn the_containers_cgroups_show_its_limits_in_a_user_namespace() {
    check_the_containers_cgroups(
        NetMode::None,
        Some(isolate::default_idmap(&HostRoot::live())),
    );
}

#[test]
#[ignore = "needs root"]
fn the_containers_cgroups_show_its_limits_with_host_network_in_a_user_namespace() {
    check_the_containers_cgroups(
        NetMode::Host,
        Some(isolate::default_idmap(&HostRoot::live())),
    );
}

#[test]
#[ignore = "needs root"]
fn the_containers_cgroups_show_its_limits_with_host_network() {
    check_the_containers_cgroups(NetMode::Host, None);
}

//! `isotop enter` on real containers — an `unshare` container (new pid, mount, uts, net and ipc
//! namespaces, its own hostname) and a runc container — compared with `nsenter -t PID -a` and
//! with the kernel's files read from the host: hostname, visible pids, interfaces, mounts,
//! cgroup; `--ns net,pid` keeps the host's file system; exit codes pass through; refusals.
//! Root only (namespaces); skips with a printed reason otherwise.

use crate::support::{bundle, common};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ChildGuard, require_program, wait_until};
use isotop::control::ControlError;
use isotop::control::enter::{EnterRequest, enter_logging_to};
use isotop::host::HostRoot;
use isotop::host::scan::{ScanOptions, scan};

/// Lists the pids a shell sees in `/proc` without starting any process of its own (the loop
/// and echo are builtins), then its own pid, to be left out.
const LIST_PIDS: &str = "for p in /proc/[0-9]*; do echo ${p#/proc/}; done; echo self $$";

/// An `unshare` container whose init is `sleep`; `--kill-child` ends it with the guard.
struct UnshareContainer {
    _guard: ChildGuard,
    init: i32,
}

impl UnshareContainer {
    fn start(hostname: &str) -> UnshareContainer {
        let guard = ChildGuard::spawn(
            Command::new("unshare")
                .args(["--fork", "--pid", "--mount-proc", "--mount", "--uts"])
                .args(["--net", "--ipc", "--kill-child", "bash", "-c"])
                .arg(format!("hostname {hostname} && exec sleep 1000"))
                .stdin(Stdio::null()),
        );
        let unshare = guard.pid();
        let mut init = 0;
        let started = wait_until(Duration::from_secs(20), || {
            let children =
                std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                    .unwrap_or_default();
            let Some(pid) = children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
            else {
                return false;
            };
            init = pid;
            // Ready once the hostname is set and bash has exec'd sleep.
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.starts_with(b"sleep\0"))
                .unwrap_or(false)
        });
        assert!(started, "unshare container did not start");
        UnshareContainer {
            _guard: guard,
            init,
        }
    }
}

/// Runs `isotop enter` with its audit log in `log`.
fn isotop_enter(log: &Path, args: &[&str]) -> Output {
    common::isotop()
        .arg("enter")
        .args(args)
        .env("ISOTOP_AUDIT_LOG", log)
        .stdin(Stdio::null())
        .output()
        .expect("isotop starts")
}

/// `isotop enter ARGS` that must succeed; its stdout.
fn entered(log: &Path, args: &[&str]) -> String {
    let out = isotop_enter(log, args);
    assert!(
        out.status.success(),
        "isotop enter {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `nsenter -t PID -a CMD` that must succeed; its stdout.
fn nsentered(pid: i32, command: &[&str]) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-a"])
        .args(command)
        .stdin(Stdio::null())
        .output()
        .expect("nsenter starts");
    assert!(
        out.status.success(),
        "nsenter {command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The pids listed by [`LIST_PIDS`], without the listing shell's own.
fn listed_pids(output: &str) -> BTreeSet<i32> {
    let own: Option<i32> = output
        .lines()
        .find_map(|l| l.strip_prefix("self ")?.trim().parse().ok());
    assert!(own.is_some(), "no `self` line in {output:?}");
    output
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|p| Some(*p) != own)
        .collect()
}

/// From the host: the pid, inside the container, of every process in `init`'s pid namespace.
fn pids_in_namespace_of(init: i32) -> BTreeSet<i32> {
    let ns = std::fs::read_link(format!("/proc/{init}/ns/pid")).expect("init's pid ns");
    let mut pids = BTreeSet::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let dir = entry.path();
        if std::fs::read_link(dir.join("ns/pid")).ok().as_ref() != Some(&ns) {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        if let Some(inner) = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
        {
            pids.insert(inner);
        }
    }
    pids
}

/// Interface names of a `/proc/net/dev` text.
fn interfaces(dev: &str) -> Vec<String> {
    dev.lines()
        .skip(2)
        .filter_map(|l| Some(l.split_once(':')?.0.trim().to_string()))
        .collect()
}

/// Mount points (field 5) of a mountinfo text, in order.
fn mount_points(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect()
}

fn audit_entries(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

fn ready(programs: &[&str]) -> bool {
    programs.iter().all(|p| require_program(p))
}

#[test]
#[ignore = "needs root"]
fn unshare_container_matches_nsenter_and_the_kernel() {
    if !ready(&["unshare", "nsenter"]) {
        return;
    }
    let hostname = format!("isotop-enter-{}", std::process::id());
    let c = UnshareContainer::start(&hostname);
    let pid = c.init.to_string();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");

    let ours = entered(&log, &[&pid, "--", "hostname"]);
    assert_eq!(ours.trim(), hostname);
    assert_eq!(ours, nsentered(c.init, &["hostname"]));

    let ours = listed_pids(&entered(&log, &[&pid, "--", "sh", "-c", LIST_PIDS]));
    assert_eq!(
        ours,
        listed_pids(&nsentered(c.init, &["sh", "-c", LIST_PIDS]))
    );
    assert_eq!(ours, pids_in_namespace_of(c.init));
    assert_eq!(
        ours,
        BTreeSet::from([1]),
        "the container's only process is its init"
    );

    let ours = interfaces(&entered(&log, &[&pid, "--", "cat", "/proc/net/dev"]));
    assert_eq!(
        ours,
        interfaces(&nsentered(c.init, &["cat", "/proc/net/dev"]))
    );
    assert_eq!(
        ours,
        vec!["lo".to_string()],
        "a new net namespace has only lo"
    );

    let ours = mount_points(&entered(&log, &[&pid, "--", "cat", "/proc/self/mountinfo"]));
    assert_eq!(
        ours,
        mount_points(&nsentered(c.init, &["cat", "/proc/self/mountinfo"]))
    );
    let kernel = mount_points(&std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap());
    assert_eq!(ours, kernel);
    assert_ne!(
        ours,
        mount_points(&std::fs::read_to_string("/proc/self/mountinfo").unwrap()),
        "the container's mounts differ from the host's (its own /proc)"
    );

    // The default command is a shell reading stdin.
    let out = common::isotop()
        .args(["enter", &pid])
        .env("ISOTOP_AUDIT_LOG", &log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"echo shell-$((6*7)); hostname\n")?;
            child.wait_with_output()
        })
        .expect("isotop enter with a shell");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("shell-42\n{hostname}\n")
    );

    // Every enter is in the audit log.
    let entries = audit_entries(&log);
    assert_eq!(entries.len(), 5, "{entries:?}");
    let container_id = format!(
        "pidns-{}",
        std::fs::read_link(format!("/proc/{pid}/ns/pid"))
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("pid:[")
            .trim_end_matches(']')
    );
    for entry in &entries {
        assert_eq!(entry["what"], "enter");
        assert_eq!(entry["result"], "ok");
        assert_eq!(entry["target"], container_id.as_str());
    }
    assert!(
        entries[0]["new"]
            .as_str()
            .unwrap()
            .starts_with("hostname [ns ")
    );
}

#[test]
#[ignore = "needs root"]
fn exit_codes_pass_through() {
    if !ready(&["unshare"]) {
        return;
    }
    let c = UnshareContainer::start("isotop-exit");
    let pid = c.init.to_string();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let code = |args: &[&str]| isotop_enter(&log, args).status.code();
    assert_eq!(code(&[&pid, "--", "sh", "-c", "exit 7"]), Some(7));
    assert_eq!(code(&[&pid, "--", "true"]), Some(0));
    // Killed by SIGTERM: 128 + 15, as a shell reports it.
    assert_eq!(code(&[&pid, "--", "sh", "-c", "kill -TERM $$"]), Some(143));
    // A program the container does not have exits 127, as in a shell, with the reason.
    let out = isotop_enter(&log, &[&pid, "--", "isotop-no-such-program"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("isotop-no-such-program"),
        "{out:?}"
    );
}

#[test]
#[ignore = "needs root"]
fn runc_container_matches_nsenter_and_keeps_the_host_fs_with_ns() {
    if !ready(&["runc", "nsenter"]) {
        return;
    }
    let run = bundle::OciRun::start("runc");
    let init = run.init_pid;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let id = run.id.as_str();

    let ours = entered(&log, &[id, "--", "busybox", "hostname"]);
    assert_eq!(ours, nsentered(init, &["busybox", "hostname"]));
    // The hostname runc set from the bundle's config (`/proc/sys/kernel/hostname` would show
    // the reader's own uts namespace, not the container's).
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(ours.trim(), spec["hostname"].as_str().unwrap());

    let ours = listed_pids(&entered(&log, &[id, "--", "sh", "-c", LIST_PIDS]));
    assert_eq!(
        ours,
        listed_pids(&nsentered(init, &["sh", "-c", LIST_PIDS]))
    );
    assert_eq!(ours, pids_in_namespace_of(init));

    let ours = interfaces(&entered(&log, &[id, "--", "cat", "/proc/net/dev"]));
    assert_eq!(
        ours,
        interfaces(&nsentered(init, &["cat", "/proc/net/dev"]))
    );
    // Its own network namespace (the VM's host may also have only `lo`: compare inodes).
    let net = std::fs::read_link(format!("/proc/{init}/ns/net")).unwrap();
    assert_ne!(net, std::fs::read_link("/proc/self/ns/net").unwrap());
    let ours = entered(
        &log,
        &[id, "--", "busybox", "readlink", "/proc/self/ns/net"],
    );
    assert_eq!(ours.trim(), net.to_str().unwrap());

    let ours = mount_points(&entered(&log, &[id, "--", "cat", "/proc/self/mountinfo"]));
    assert_eq!(
        ours,
        mount_points(&nsentered(init, &["cat", "/proc/self/mountinfo"]))
    );
    assert_eq!(
        ours,
        mount_points(&std::fs::read_to_string(format!("/proc/{init}/mountinfo")).unwrap())
    );

    // The command joins the container's cgroup in every hierarchy: seen from inside (same
    // cgroup namespace, if any), its memberships are the init's.
    let ours = entered(&log, &[id, "--", "cat", "/proc/self/cgroup"]);
    assert_eq!(ours, entered(&log, &[id, "--", "cat", "/proc/1/cgroup"]));
    // Without a cgroup namespace (runc on this hybrid host) the path itself names the
    // container; inside one (v2) both read `0::/`, and a command left outside would read a
    // path climbing out of it (`/../..`).
    let own_cgroup_ns = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    if std::fs::read_link(format!("/proc/{init}/ns/cgroup")).unwrap() == own_cgroup_ns {
        assert!(ours.contains(&run.id), "{ours}");
    } else {
        assert!(!ours.contains(".."), "{ours}");
    }

    // The container's root: no host files; its working directory is the init's.
    let marker = PathBuf::from(format!("/tmp/{}", common::unique_name("enter-marker")));
    std::fs::write(&marker, "host file\n").unwrap();
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _remove = Remove(marker.clone());
    let marker = marker.to_str().unwrap();
    let out = isotop_enter(&log, &[id, "--", "cat", marker]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the container's root hides {marker}"
    );
    // The init's working directory, as the kernel names it relative to the container's root.
    let cwd = std::fs::read_link(format!("/proc/{init}/cwd")).unwrap();
    assert_eq!(
        entered(&log, &[id, "--", "sh", "-c", "pwd"]).trim(),
        cwd.to_str().unwrap()
    );

    // `--ns net,pid`: the host's file system with the container's interfaces and pids.
    let ns = ["--ns", "net,pid"];
    assert_eq!(
        entered(&log, &[id, ns[0], ns[1], "--", "cat", marker]),
        "host file\n"
    );
    let inside = interfaces(&entered(
        &log,
        &[id, ns[0], ns[1], "--", "cat", "/proc/net/dev"],
    ));
    assert_eq!(
        inside,
        interfaces(&nsentered(init, &["cat", "/proc/net/dev"]))
    );
    let ours = entered(
        &log,
        &[id, ns[0], ns[1], "--", "readlink", "/proc/self/ns/net"],
    );
    assert_eq!(ours.trim(), net.to_str().unwrap());
}

#[test]
#[ignore = "needs root"]
fn refusals_exit_2_with_the_reason() {
    if !ready(&["unshare"]) {
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let out = isotop_enter(&log, &["1", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PID 1"),
        "{out:?}"
    );

    let out = isotop_enter(&log, &["1234", "--ns", "net,bogus", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bogus"),
        "{out:?}"
    );

    // A container that has exited.
    let c = UnshareContainer::start("isotop-gone");
    let pid = c.init;
    drop(c);
    assert!(wait_until(Duration::from_secs(10), || !Path::new(
        &format!("/proc/{pid}")
    )
    .exists()));
    let out = isotop_enter(&log, &[&pid.to_string(), "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
#[ignore = "needs root"]
fn vanished_and_own_process_are_refused_by_the_api() {
    if !ready(&["unshare"]) {
        return;
    }
    let root = HostRoot::live();
    let c = UnshareContainer::start("isotop-api");
    let pid = c.init;
    let snapshot = scan(&root, ScanOptions::TARGETS).unwrap();
    let view = snapshot
        .containers
        .iter()
        .find(|v| v.container.init_pid == Some(pid))
        .expect("the unshare container is found")
        .clone();
    let request = EnterRequest {
        only: None,
        command: vec!["true".into()],
        privileged: false,
    };
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");

    // isotop's own process (as if the container held it).
    let mut own = view.clone();
    let me = std::process::id() as i32;
    std::sync::Arc::make_mut(&mut own.container).init_pid = Some(me);
    std::sync::Arc::make_mut(&mut own.container).pids = vec![me];
    let err = enter_logging_to(&root, &own, &request, &log).unwrap_err();
    assert!(matches!(err, ControlError::Refused { .. }), "{err}");

    // Gone between the scan and the enter.
    drop(c);
    assert!(wait_until(Duration::from_secs(10), || !Path::new(
        &format!("/proc/{pid}")
    )
    .exists()));
    let err = enter_logging_to(&root, &view, &request, &log).unwrap_err();
    assert!(matches!(err, ControlError::Vanished { .. }), "{err}");
    // Both are in the log, with their reasons.
    let results: Vec<String> = audit_entries(&log)
        .iter()
        .map(|e| e["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].contains("isotop's own process"), "{results:?}");
    assert!(results[1].contains("is gone"), "{results:?}");
}

#[test]
#[ignore = "needs root"]
fn non_root_is_refused() {
    if !ready(&["setpriv"]) {
        return;
    }
    let isotop = common::isotop_for_any_user();
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(isotop.path())
        .args(["enter", "1234", "--", "true"])
        .output()
        .expect("setpriv starts");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs root"),
        "{out:?}"
    );
}

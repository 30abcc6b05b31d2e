//! The packaged exporter's privileges are enough, and each is needed: isotop run under exactly
//! the capability bounding set of `deploy/systemd/isotop-serve.service` (the DaemonSet adds the
//! same set: `deploy_manifests` checks they agree) sees a real runc container as full root
//! does — its runtime, name, cgroup, figures, limits, namespaces and network counters — and
//! reads the kernel log's OOM kills; without `CAP_SYS_PTRACE` the namespaces and counters go
//! unseen, without `CAP_SYSLOG` the kernel log (where `dmesg_restrict` is on). Every system
//! call isotop's reads make is one the unit's `SystemCallFilter=` lets through, as
//! `systemd-analyze syscall-filter` spells its groups.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::deploy::{
    UNIT, assert_seen_as_live, ls_entry, repo_text, unit_capabilities, unit_values,
};
use crate::support::{bundle, common};

/// `isotop ARGS` with its capabilities bounded to `caps` (root: after exec its permitted and
/// effective sets are the bounding set).
fn isotop_with_caps(caps: &BTreeSet<String>, args: &[&str]) -> std::process::Output {
    let set: String = std::iter::once("-all".to_string())
        .chain(
            caps.iter()
                .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_ascii_lowercase())),
        )
        .collect::<Vec<_>>()
        .join(",");
    let out = Command::new("setpriv")
        .arg(format!("--bounding-set={set}"))
        .arg("--inh-caps=-all")
        .arg(env!("CARGO_BIN_EXE_isotop"))
        .args(args)
        .output()
        .expect("setpriv starts");
    assert!(
        out.status.success(),
        "isotop {args:?} under {set}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Like [`isotop_with_caps`], its stdout as JSON.
fn json_with_caps(caps: &BTreeSet<String>, args: &[&str]) -> Value {
    serde_json::from_slice(&isotop_with_caps(caps, args).stdout).expect("isotop printed JSON")
}

/// The namespace inodes `ns --json` lists.
fn listed_namespaces(ns: &Value) -> BTreeSet<u64> {
    ns["namespaces"]
        .as_array()
        .map(|all| all.iter().filter_map(|n| n["ns"].as_u64()).collect())
        .unwrap_or_default()
}

/// The inode of `/proc/PID/ns/KIND`, as full root reads it.
fn ns_inode(pid: i32, kind: &str) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).expect("ns link");
    let text = link.to_string_lossy().into_owned();
    text.trim_start_matches(&format!("{kind}:["))
        .trim_end_matches(']')
        .parse()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn ready() -> bool {
    common::require_program("setpriv")
        && common::require_program("runc")
        && Path::new(bundle::BUSYBOX).is_file()
}

const LS: [&str; 5] = ["--read-only", "ls", "--json", "--interval", "0.3"];

#[test]
#[ignore = "needs root"]
fn the_units_capabilities_see_a_container_as_root_does_and_each_is_needed() {
    if !ready() {
        return;
    }
    let caps = unit_capabilities();
    assert!(
        caps.contains("CAP_SYS_PTRACE") && !caps.contains("CAP_SYS_ADMIN"),
        "{caps:?}"
    );
    let run = bundle::OciRun::start("runc");

    let live = ls_entry(&common::isotop_json(&LS), &run.id);
    let bounded = ls_entry(&json_with_caps(&caps, &LS), &run.id);
    assert_seen_as_live(&live, &bounded, "under the unit's capabilities");
    let pid_ns = ns_inode(run.init_pid, "pid");
    let mnt_ns = ns_inode(run.init_pid, "mnt");
    let seen = listed_namespaces(&json_with_caps(&caps, &["ns", "--json"]));
    assert!(
        seen.contains(&pid_ns) && seen.contains(&mnt_ns),
        "the container's pid {pid_ns} / mnt {mnt_ns} namespaces not listed under {caps:?}"
    );

    // Less CAP_SYS_PTRACE: another root process's /proc/PID/ns links are closed to a process
    // with fewer capabilities than it, so the container's namespaces and network go unseen.
    let mut without_ptrace = caps.clone();
    without_ptrace.remove("CAP_SYS_PTRACE");
    let unseen = listed_namespaces(&json_with_caps(&without_ptrace, &["ns", "--json"]));
    assert!(
        !unseen.contains(&pid_ns),
        "without CAP_SYS_PTRACE the container's pid namespace {pid_ns} was still read"
    );
    let blind = ls_entry(&json_with_caps(&without_ptrace, &LS), &run.id);
    assert!(
        blind["netns"].is_null() && blind["net_rx_bytes_total"].is_null(),
        "without CAP_SYS_PTRACE its network was still read: {blind}"
    );
    drop(run);
}

#[test]
#[ignore = "needs root"]
fn the_units_capabilities_read_the_kernel_log_and_syslog_is_needed() {
    if !common::require_program("setpriv") {
        return;
    }
    let restricted =
        std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict").is_ok_and(|v| v.trim() == "1");
    let caps = unit_capabilities();
    let events = ["--read-only", "events", "--since", "10m", "--json"];
    let stderr = |caps: &BTreeSet<String>| {
        String::from_utf8_lossy(&isotop_with_caps(caps, &events).stderr).into_owned()
    };
    let with = stderr(&caps);
    assert!(
        !with.contains("kmsg"),
        "the kernel log unread under {caps:?}: {with}"
    );
    if !restricted {
        eprintln!(
            "skipping the half of {} without CAP_SYSLOG: kernel.dmesg_restrict is 0 here",
            common::test_name()
        );
        return;
    }
    let mut without_syslog = caps.clone();
    without_syslog.remove("CAP_SYSLOG");
    let without = stderr(&without_syslog);
    assert!(
        without.contains("/dev/kmsg"),
        "without CAP_SYSLOG the kernel log was still read: {without}"
    );
}

/// Every system call of `group` (`@name`) as `systemd-analyze syscall-filter` lists the
/// groups, nested groups expanded.
fn syscall_group(listing: &str, group: &str, into: &mut BTreeSet<String>) {
    let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut current = None;
    for line in listing.lines() {
        if line.starts_with('@') {
            current = Some(line.trim());
            continue;
        }
        let item = line.trim();
        if item.is_empty() || item.starts_with('#') {
            continue;
        }
        if let Some(name) = current {
            groups.entry(name).or_default().push(item);
        }
    }
    fn expand(
        groups: &std::collections::BTreeMap<&str, Vec<&str>>,
        name: &str,
        into: &mut BTreeSet<String>,
    ) {
        for item in groups.get(name).map(Vec::as_slice).unwrap_or_default() {
            if item.starts_with('@') {
                expand(groups, item, into);
            } else {
                into.insert((*item).to_string());
            }
        }
    }
    expand(&groups, group, into);
}

#[test]
#[ignore = "needs root"]
fn every_call_isotops_reads_make_passes_the_units_syscall_filter() {
    if !common::require_program("strace") || !common::require_program("systemd-analyze") {
        return;
    }
    let listing = Command::new("systemd-analyze")
        .arg("syscall-filter")
        .output()
        .expect("systemd-analyze starts");
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    // systemd always lets @default through, whatever the filter says.
    let mut allowed = BTreeSet::new();
    syscall_group(&listing, "@default", &mut allowed);
    for group in unit_values(&repo_text(UNIT), "SystemCallFilter") {
        assert!(group.starts_with('@') && !group.starts_with("~"), "{group}");
        syscall_group(&listing, &group, &mut allowed);
    }
    assert!(
        allowed.contains("openat") && allowed.contains("readlink"),
        "{allowed:?}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut made = BTreeSet::new();
    for (i, args) in [
        &LS[..],
        &["--read-only", "ns", "--json"][..],
        &["--read-only", "events", "--since", "10m", "--json"][..],
    ]
    .iter()
    .enumerate()
    {
        let trace = dir.path().join(format!("trace-{i}"));
        let status = Command::new("strace")
            .args(["-f", "-qq", "-o"])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_isotop"))
            .args(*args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("strace starts");
        assert!(status.success(), "isotop {args:?} under strace");
        let text = std::fs::read_to_string(&trace).expect("trace");
        for line in text.lines() {
            // `PID name(args...) = result`, or a `<... name resumed>` continuation.
            let call = line
                .split_once(' ')
                .map(|(_, rest)| rest.trim_start())
                .and_then(|rest| rest.split_once('('))
                .map(|(name, _)| name);
            if let Some(name) = call.filter(|n| {
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }) {
                made.insert(name.to_string());
            }
        }
    }
    assert!(made.contains("openat"), "no calls parsed: {made:?}");
    let refused: Vec<&String> = made.difference(&allowed).collect();
    assert!(
        refused.is_empty(),
        "isotop's reads make calls the unit's SystemCallFilter refuses: {refused:?}"
    );
}

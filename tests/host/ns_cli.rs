//! `isotop ns` as a user runs it: bad input gives exit 2 with a message naming the fix, an
//! unreadable host gives exit 1, and a non-root run says what it could not see.

use crate::support::common;

use std::os::unix::fs::MetadataExt;

use common::{isotop, require_program, run_isotop};
use serde_json::Value;

#[test]
fn unknown_type_is_a_usage_error_listing_valid_types() {
    let out = run_isotop(&["ns", "-t", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'bogus'"), "{err}");
    assert!(
        err.contains("cgroup, ipc, mnt, net, pid, time, user, uts"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn absent_pid_is_a_usage_error() {
    // Above any pid_max the kernel allows (2^22), so never a live process.
    let out = run_isotop(&["ns", "-p", "999999999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no process with pid 999999999"), "{err}");

    let out = run_isotop(&["ns", "-p", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn root_without_proc_is_a_clear_host_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = isotop()
        .args(["--root", dir.path().to_str().unwrap(), "ns"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let proc = dir.path().join("proc");
    assert!(
        err.contains(&format!("{} is not a procfs mount", proc.display())),
        "{err}"
    );
}

#[test]
fn type_filter_keeps_only_that_kind_and_includes_our_own_namespace() {
    let out = run_isotop(&["ns", "--json", "-t", "net,uts"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["namespaces"].as_array().unwrap();
    assert!(
        rows.iter()
            .all(|ns| ns["type"] == "net" || ns["type"] == "uts")
    );
    let own_net = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert!(
        rows.iter().any(|ns| ns["ns"].as_u64() == Some(own_net)),
        "{doc}"
    );
    assert!(doc["host_reference"]["explanation"].is_string());
}

#[test]
fn table_has_lsns_columns_plus_parent_and_owner() {
    let out = run_isotop(&["ns", "-t", "user"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NS", "TYPE", "NPROCS", "PID", "USER", "PARENT", "OWNER", "COMMAND"
        ]
    );
    let own_user = std::fs::metadata("/proc/self/ns/user")
        .unwrap()
        .ino()
        .to_string();
    assert!(
        text.lines()
            .skip(1)
            .any(|l| l.trim_start().starts_with(&own_user)),
        "{text}"
    );
}

#[test]
#[ignore = "needs root"]
fn non_root_run_shows_what_it_can_and_warns_about_the_rest() {
    if !require_program("setpriv") {
        return;
    }
    // Drop to nobody: root's processes' ns links become unreadable (ptrace access check).
    let doc = common::isotop_json_as_nobody(&["ns", "--json"]);
    let warnings: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let hidden = warnings
        .iter()
        .find_map(|w| w.split_once(" process(es) hide their namespaces"))
        .map(|(count, _)| count.parse::<usize>().unwrap())
        .unwrap_or_else(|| panic!("no hidden-process warning in {warnings:?}"));
    // At least this test process (root) and PID 2's kernel threads are hidden from nobody.
    assert!(hidden >= 2, "{warnings:?}");
    // isotop itself (running as nobody) is visible: its net namespace has a process.
    let own_net = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    let rows = doc["namespaces"].as_array().unwrap();
    let net = rows
        .iter()
        .find(|ns| ns["ns"].as_u64() == Some(own_net))
        .expect("own net ns listed");
    assert!(net["nprocs"].as_u64().unwrap() >= 1);
    assert_eq!(net["user"], "nobody");
}

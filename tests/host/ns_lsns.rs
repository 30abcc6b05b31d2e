//! `isotop ns --json` against `lsns` (util-linux 2.38) on the live host, with namespaces the
//! tests create themselves: same namespaces, same NPROCS and PID, same parent and owner.
//!
//! Other tests (and other programs) start and stop processes while these run, so one pair of
//! runs can differ for reasons that are not isotop's. Each comparison runs isotop, lsns, isotop
//! ("sandwich"); a row both isotop runs agree on was stable across the lsns run and must match
//! lsns exactly. Pairs are retried a few times; the namespaces a test created are stable by
//! construction and are also checked against the kernel's own links.

use crate::support::common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use common::{ChildGuard, require_program, run_isotop, wait_until};
use serde_json::Value;

/// What both tools say about one namespace; `None` fields are not compared.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    kind: String,
    nprocs: u64,
    pid: Option<i64>,
    parent: Option<u64>,
    owner: Option<u64>,
}

const ATTEMPTS: usize = 8;

fn ns_inode(pid: i32, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .expect("ns link readable")
        .ino()
}

fn self_inode(kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/self/ns/{kind}"))
        .expect("own ns link readable")
        .ino()
}

fn isotop_json(args: &[&str]) -> Value {
    let mut all = vec!["ns", "--json"];
    all.extend_from_slice(args);
    let out = run_isotop(&all);
    assert!(
        out.status.success(),
        "isotop {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("isotop prints JSON")
}

/// isotop rows keyed by inode. `with_relations` keeps parent/owner for comparison.
fn isotop_rows(doc: &Value, with_relations: bool) -> BTreeMap<u64, Row> {
    let mut rows = BTreeMap::new();
    for ns in doc["namespaces"].as_array().expect("namespaces array") {
        let row = Row {
            kind: ns["type"].as_str().unwrap().to_string(),
            nprocs: ns["nprocs"].as_u64().unwrap(),
            pid: ns["pid"].as_i64(),
            parent: with_relations.then(|| ns["parent"].as_u64().unwrap_or(0)),
            owner: with_relations.then(|| ns["owner"].as_u64().unwrap_or(0)),
        };
        rows.insert(ns["ns"].as_u64().unwrap(), row);
    }
    rows
}

/// Runs lsns with `args` and flattens its JSON tree (`children`) into rows by inode. `Err`
/// when lsns fails (it gives up when a process vanishes at a bad moment): worth a retry.
fn lsns_rows(args: &[&str], with_relations: bool) -> Result<BTreeMap<u64, Row>, String> {
    let out = Command::new("lsns").args(args).output().expect("lsns runs");
    if !out.status.success() {
        return Err(format!(
            "lsns {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let doc: Value = serde_json::from_slice(&out.stdout).expect("lsns prints JSON");
    let mut rows = BTreeMap::new();
    let mut stack: Vec<&Value> = doc["namespaces"].as_array().unwrap().iter().collect();
    while let Some(ns) = stack.pop() {
        if let Some(children) = ns["children"].as_array() {
            stack.extend(children.iter());
        }
        let row = Row {
            kind: ns["type"].as_str().unwrap().to_string(),
            nprocs: ns["nprocs"].as_u64().unwrap(),
            pid: ns["pid"].as_i64(),
            parent: with_relations.then(|| ns["pns"].as_u64().unwrap_or(0)),
            owner: with_relations.then(|| ns["ons"].as_u64().unwrap_or(0)),
        };
        rows.insert(ns["ns"].as_u64().unwrap(), row);
    }
    Ok(rows)
}

/// Mismatches between lsns and the rows both isotop runs agree on; namespaces lsns lists that
/// neither isotop run saw are mismatches too. `skip` drops isotop rows lsns is known not to
/// list (bind-mount only).
fn sandwich_mismatches(
    before: &BTreeMap<u64, Row>,
    lsns: &BTreeMap<u64, Row>,
    after: &BTreeMap<u64, Row>,
    skip: &BTreeSet<u64>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (inode, row) in before {
        if skip.contains(inode) || after.get(inode) != Some(row) {
            continue; // changed while lsns ran: not comparable
        }
        match lsns.get(inode) {
            Some(theirs) if theirs == row => {}
            Some(theirs) => problems.push(format!("{inode}: isotop {row:?}, lsns {theirs:?}")),
            None => problems.push(format!("{inode}: isotop {row:?}, missing in lsns")),
        }
    }
    for (inode, row) in lsns {
        if !before.contains_key(inode) && !after.contains_key(inode) {
            problems.push(format!("{inode}: lsns {row:?}, missing in isotop"));
        }
    }
    problems
}

/// Retries the sandwich until one matches; returns the isotop document of the matching run.
fn compare_until_match(lsns_args: &[&str], with_relations: bool) -> Value {
    let mut last = Vec::new();
    for _ in 0..ATTEMPTS {
        let before_doc = isotop_json(&[]);
        let theirs = lsns_rows(lsns_args, with_relations);
        let after_doc = isotop_json(&[]);
        let theirs = match theirs {
            Ok(rows) => rows,
            Err(failure) => {
                last = vec![failure];
                continue;
            }
        };
        let skip: BTreeSet<u64> = before_doc["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|ns| {
                ns["nprocs"].as_u64() == Some(0)
                    && ns["nsfs"].as_array().is_some_and(|m| !m.is_empty())
            })
            .filter_map(|ns| ns["ns"].as_u64())
            .collect();
        let before = isotop_rows(&before_doc, with_relations);
        let after = isotop_rows(&after_doc, with_relations);
        last = sandwich_mismatches(&before, &theirs, &after, &skip);
        if last.is_empty() {
            return before_doc;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("isotop and lsns {lsns_args:?} disagree in every attempt; last: {last:#?}");
}

fn row_of(doc: &Value, inode: u64) -> &Value {
    doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ns| ns["ns"].as_u64() == Some(inode))
        .unwrap_or_else(|| panic!("namespace {inode} not listed by isotop"))
}

/// The first child pid of `pid` (from `/proc/<pid>/task/<pid>/children`), once it exists.
fn first_child(pid: i32) -> i32 {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let mut child = None;
    let found = wait_until(Duration::from_secs(5), || {
        child = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok());
        child.is_some()
    });
    assert!(found, "unshare {pid} started no child");
    child.unwrap()
}

/// Waits until `pid` has left our namespace of `kind` (its exec chain is done).
fn wait_for_new_ns(pid: i32, kind: &str) {
    let ours = self_inode(kind);
    let moved = wait_until(Duration::from_secs(5), || {
        std::fs::metadata(format!("/proc/{pid}/ns/{kind}")).is_ok_and(|m| m.ino() != ours)
    });
    assert!(moved, "process {pid} never entered a new {kind} namespace");
}

#[test]
#[ignore = "needs root"]
fn ns_json_matches_lsns_for_new_pid_net_uts_ipc_mnt_namespaces() {
    if !require_program("lsns") {
        return;
    }
    // unshare itself enters the new net/uts/ipc/mnt namespaces; its forked child (sleep) is
    // PID 1 of the new pid namespace. --kill-child ends the sleep when the guard kills unshare.
    let unshare = ChildGuard::spawn(Command::new("unshare").args([
        "--fork",
        "--kill-child",
        "--pid",
        "--mount-proc",
        "--net",
        "--uts",
        "--ipc",
        "sleep",
        "1000",
    ]));
    let sleeper = first_child(unshare.pid());
    wait_for_new_ns(sleeper, "pid");
    let execed = wait_until(Duration::from_secs(5), || {
        std::fs::read(format!("/proc/{sleeper}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
    });
    assert!(execed, "child {sleeper} never ran sleep");

    let doc = compare_until_match(&["-J"], false);

    let lowest = unshare.pid().min(sleeper);
    for kind in ["net", "uts", "ipc", "mnt"] {
        let inode = ns_inode(sleeper, kind);
        assert_ne!(inode, self_inode(kind), "{kind} is new");
        let row = row_of(&doc, inode);
        assert_eq!(row["type"], kind);
        assert_eq!(row["nprocs"], 2, "{kind}: unshare and sleep");
        assert_eq!(row["pid"], lowest);
        assert_eq!(row["pids"].as_array().unwrap().len(), 2);
        assert_eq!(row["user"], "root");
    }
    let pid_ns = row_of(&doc, ns_inode(sleeper, "pid"));
    assert_eq!(
        (pid_ns["nprocs"].as_u64(), pid_ns["pid"].as_i64()),
        (Some(1), Some(sleeper as i64))
    );
    assert_eq!(pid_ns["command"], "sleep 1000");
    assert_eq!(pid_ns["parent"].as_u64(), Some(self_inode("pid")));
    assert_eq!(pid_ns["owner"].as_u64(), Some(self_inode("user")));
}

#[test]
#[ignore = "needs root"]
fn ns_parent_and_owner_match_lsns_for_nested_user_namespaces() {
    if !require_program("lsns") {
        return;
    }
    // Outer unshare: user namespace A (root mapped, so a nested one may be made) with new net
    // and uts, then execs the inner unshare: user namespace B (child of A) with a new ipc, then
    // execs sleep. No process stays in A: only B and the net/uts it owns keep it alive.
    let sleeper = ChildGuard::spawn(Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "--net",
        "--uts",
        "unshare",
        "--user",
        "--ipc",
        "sleep",
        "1000",
    ]));
    let pid = sleeper.pid();
    wait_for_new_ns(pid, "ipc");
    let user_b = ns_inode(pid, "user");
    let net = ns_inode(pid, "net");
    let ipc = ns_inode(pid, "ipc");

    // lsns lists owners without processes only in its owner tree.
    let doc = compare_until_match(
        &["-J", "--tree=owner", "-o", "NS,TYPE,NPROCS,PID,PNS,ONS"],
        true,
    );

    let b = row_of(&doc, user_b);
    let user_a = b["parent"].as_u64().expect("B's parent is visible");
    assert_eq!(
        b["owner"].as_u64(),
        Some(user_a),
        "a user ns is owned by its parent"
    );
    assert_eq!(
        b["owner_uid"].as_u64(),
        Some(0),
        "created by root (mapped) in A"
    );
    let a = row_of(&doc, user_a);
    assert_eq!(
        (a["type"].as_str(), a["nprocs"].as_u64()),
        (Some("user"), Some(0))
    );
    assert!(a["pid"].is_null());
    assert_eq!(a["parent"].as_u64(), Some(self_inode("user")));
    assert_eq!(a["owner_uid"].as_u64(), Some(0));
    assert_eq!(row_of(&doc, net)["owner"].as_u64(), Some(user_a));
    assert_eq!(row_of(&doc, ipc)["owner"].as_u64(), Some(user_b));

    // The tree nests B under A, and the ipc under B.
    let out = run_isotop(&["ns", "--tree"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |needle: String| {
        text.lines()
            .position(|l| l.contains(&needle))
            .unwrap_or_else(|| panic!("no `{needle}` in tree:\n{text}"))
    };
    let indent = |at: usize| {
        text.lines()
            .nth(at)
            .unwrap()
            .chars()
            .take_while(|c| !c.is_alphanumeric())
            .count()
    };
    let (at_a, at_b, at_ipc) = (
        line(format!("user {user_a}")),
        line(format!("user {user_b}")),
        line(format!("ipc {ipc}")),
    );
    assert!(at_a < at_b && at_b < at_ipc, "{text}");
    assert!(
        indent(at_a) < indent(at_b) && indent(at_b) < indent(at_ipc),
        "{text}"
    );
}

#[test]
#[ignore = "needs root"]
fn ns_pid_filter_lists_exactly_that_process_namespaces() {
    if !require_program("lsns") {
        return;
    }
    let child =
        ChildGuard::spawn(Command::new("unshare").args(["--net", "--uts", "sleep", "1000"]));
    let pid = child.pid();
    wait_for_new_ns(pid, "uts");
    let doc = isotop_json(&["-p", &pid.to_string()]);
    let listed: BTreeSet<(String, u64)> = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| {
            (
                ns["type"].as_str().unwrap().to_string(),
                ns["ns"].as_u64().unwrap(),
            )
        })
        .collect();
    let kernel: BTreeSet<(String, u64)> =
        ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]
            .iter()
            .filter(|k| std::path::Path::new(&format!("/proc/{pid}/ns/{k}")).exists())
            .map(|k| (k.to_string(), ns_inode(pid, k)))
            .collect();
    assert_eq!(listed, kernel);
    let theirs: BTreeSet<u64> = lsns_rows(&["-J", "-p", &pid.to_string()], false)
        .expect("lsns -p runs")
        .into_keys()
        .collect();
    let ours: BTreeSet<u64> = listed.iter().map(|(_, inode)| *inode).collect();
    assert_eq!(ours, theirs);
}

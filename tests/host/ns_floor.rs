//! The benchmark's floor (`examples/ns_floor.rs`, compiled here as it is) against `isotop ns
//! --json` on namespaces the test makes: the same namespaces, counts, lowest pids, owners,
//! relatives and commands, so the floor cannot drift into reading less than isotop shows (nor
//! isotop into showing what the floor does not read). And the sampler's parent/owner cache
//! ([`RelationCache`]) against a namespace that dies and whose inode is given to a new one.

use crate::support::common;

#[allow(dead_code)]
#[path = "../../examples/ns_floor.rs"]
mod floor;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{ChildGuard, require_program, run_isotop, wait_until};
use isotop::host::HostRoot;
use isotop::host::namespace::{NamespaceTable, RelationCache, build_table, build_table_cached};
use isotop::host::process::ReadDepth;
use isotop::host::users::UserNames;
use serde_json::Value;

/// What both say of one namespace; the command only where the test compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    kind: String,
    nprocs: usize,
    pid: Option<i64>,
    uid: Option<u64>,
    parent: Option<u64>,
    owner: Option<u64>,
    owner_uid: Option<u64>,
    nsfs: usize,
    command: Option<String>,
}

fn floor_rows() -> BTreeMap<u64, Row> {
    let rows = floor::floor(Path::new("/proc")).expect("the floor reads /proc");
    // Through its own text, so `render` is checked too.
    let text = floor::render(&rows);
    let dash = |field: &str| (field != "-").then(|| field.to_string());
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 10, "{line}");
            let number = |i: usize| dash(f[i]).map(|v| v.parse::<u64>().expect("a number"));
            let row = Row {
                kind: f[1].to_string(),
                nprocs: f[2].parse().unwrap(),
                pid: number(3).map(|p| p as i64),
                uid: number(4),
                parent: number(5),
                owner: number(6),
                owner_uid: number(7),
                nsfs: f[8].parse().unwrap(),
                command: dash(f[9]),
            };
            (f[0].parse().unwrap(), row)
        })
        .collect()
}

fn isotop_rows() -> BTreeMap<u64, Row> {
    let out = run_isotop(&["ns", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("isotop prints JSON");
    doc["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .map(|ns| {
            let row = Row {
                kind: ns["type"].as_str().unwrap().to_string(),
                nprocs: ns["nprocs"].as_u64().unwrap() as usize,
                pid: ns["pid"].as_i64(),
                uid: ns["uid"].as_u64(),
                parent: ns["parent"].as_u64(),
                owner: ns["owner"].as_u64(),
                owner_uid: ns["owner_uid"].as_u64(),
                nsfs: ns["nsfs"].as_array().map_or(0, Vec::len),
                command: ns["command"].as_str().map(str::to_string),
            };
            (ns["ns"].as_u64().unwrap(), row)
        })
        .collect()
}

fn inode_of(pid: i32, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .expect("ns link readable")
        .ino()
}

fn wait_for_new_ns(pid: i32, kind: &str) {
    let ours = inode_of(std::process::id() as i32, kind);
    let moved = wait_until(Duration::from_secs(5), || {
        std::fs::metadata(format!("/proc/{pid}/ns/{kind}")).is_ok_and(|m| m.ino() != ours)
    });
    assert!(moved, "process {pid} never entered a new {kind} namespace");
}

#[test]
#[ignore = "needs root"]
fn floor_and_isotop_ns_agree_on_real_namespaces() {
    if !require_program("unshare") {
        return;
    }
    // A user namespace A with no process of its own (kept by B, nested in it, and by the
    // net namespace it owns), B with a new ipc namespace, running sleep.
    let nested = ChildGuard::spawn(Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "--net",
        "unshare",
        "--user",
        "--ipc",
        "sleep",
        "1000",
    ]));
    let plain =
        ChildGuard::spawn(Command::new("unshare").args(["--uts", "--ipc", "sleep", "1000"]));
    wait_for_new_ns(nested.pid(), "ipc");
    wait_for_new_ns(plain.pid(), "uts");
    let made: Vec<u64> = [
        inode_of(nested.pid(), "user"),
        inode_of(nested.pid(), "net"),
        inode_of(nested.pid(), "ipc"),
        inode_of(plain.pid(), "uts"),
        inode_of(plain.pid(), "ipc"),
    ]
    .to_vec();

    // Other tests start and stop processes meanwhile: floor, isotop, floor; a row both floor
    // runs agree on was stable across the isotop run and must match it.
    let me = std::process::id() as i32;
    let ours_too: Vec<u64> = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]
        .iter()
        .map(|kind| inode_of(me, kind))
        .collect();
    let mut last = Vec::new();
    for _ in 0..8 {
        let before = floor_rows();
        let ours = isotop_rows();
        let after = floor_rows();
        last.clear();
        for (inode, row) in &before {
            if after.get(inode) != Some(row) {
                continue;
            }
            let mut theirs = match ours.get(inode) {
                Some(theirs) => theirs.clone(),
                None => {
                    last.push(format!("{inode}: floor {row:?}, missing in isotop"));
                    continue;
                }
            };
            // `isotop ns` runs as a child of this test, in this test's namespaces: it counts
            // itself there, where the in-process floor has no such process.
            if ours_too.contains(inode) {
                theirs.nprocs = theirs.nprocs.saturating_sub(1);
            }
            let mut row = row.clone();
            if !made.contains(inode) {
                // Commands of strangers may hold bytes the two clean differently.
                (row.command, theirs.command) = (None, None);
            }
            if row != theirs {
                last.push(format!("{inode}: floor {row:?}, isotop {theirs:?}"));
            }
        }
        for inode in ours.keys() {
            if !before.contains_key(inode) && !after.contains_key(inode) {
                last.push(format!("{inode}: isotop only"));
            }
        }
        if last.is_empty() {
            for inode in &made {
                assert!(
                    before.contains_key(inode),
                    "{inode} made by the test, not listed"
                );
            }
            let user_b = &before[&made[0]];
            let user_a = user_b.parent.expect("B's parent is visible");
            assert_eq!(before[&user_a].nprocs, 0, "A has no process of its own");
            assert_eq!(before[&made[1]].owner, Some(user_a), "A owns the net ns");
            assert_eq!(before[&made[3]].command.as_deref(), Some("sleep 1000"));
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("floor and isotop disagree in every attempt; last: {last:#?}");
}

fn snapshot() -> Vec<isotop::host::process::Process> {
    isotop::host::scan::read_processes(&HostRoot::live(), ReadDepth::Full, &mut Vec::new())
        .expect("processes")
}

fn table_of(
    processes: &[isotop::host::process::Process],
    cache: &mut RelationCache,
) -> NamespaceTable {
    let root = HostRoot::live();
    build_table_cached(&root, processes, &UserNames::read(&root), cache)
}

fn table(cache: &mut RelationCache) -> NamespaceTable {
    table_of(&snapshot(), cache)
}

fn owner_of(table: &NamespaceTable, inode: u64) -> Option<u64> {
    table.get(inode).and_then(|ns| ns.owner)
}

#[test]
#[ignore = "needs root"]
fn cached_relations_are_read_again_when_a_namespace_dies_and_its_inode_is_reused() {
    if !require_program("unshare") || !require_program("nsenter") {
        return;
    }
    let own_user = inode_of(std::process::id() as i32, "user");
    // The kernel gives a new namespace the lowest free inode number, so a uts namespace made
    // right after one died usually gets its number; others' tests may take it first: retry.
    for _ in 0..10 {
        let first = ChildGuard::spawn(Command::new("unshare").args(["--uts", "sleep", "1000"]));
        wait_for_new_ns(first.pid(), "uts");
        let inode = inode_of(first.pid(), "uts");
        let mut cache = RelationCache::default();
        let processes = snapshot();
        let before = table_of(&processes, &mut cache);
        assert_eq!(owner_of(&before, inode), Some(own_user));
        assert!(cache.holds(inode));

        // A second build with nothing changed answers this namespace from the cache. (Not a
        // share of all of them: other tests' namespaces whose owner no process holds are
        // opened every build by design, and a VM's full run is full of them.)
        let again = table_of(&processes, &mut cache);
        assert_eq!(owner_of(&again, inode), Some(own_user));
        // One build in `REVERIFY_EVERY` reads it again whatever: never two in a row.
        let answered = !cache.opened_in_last_build(inode) || {
            let _ = table_of(&processes, &mut cache);
            !cache.opened_in_last_build(inode)
        };
        assert!(
            answered,
            "the unchanged uts namespace {inode} was opened again ({} of {} were)",
            cache.opened_last_build(),
            again.namespaces.len()
        );

        // A user namespace to own the next uts namespace, made before the first one dies so
        // it cannot take its number.
        let owner = ChildGuard::spawn(Command::new("unshare").args([
            "--user",
            "--map-root-user",
            "sleep",
            "1000",
        ]));
        wait_for_new_ns(owner.pid(), "user");
        let new_user = inode_of(owner.pid(), "user");
        let gone = first.pid();
        drop(first);
        assert!(wait_until(Duration::from_secs(5), || {
            !Path::new(&format!("/proc/{gone}")).exists()
        }));
        let second = ChildGuard::spawn(Command::new("nsenter").args([
            "--target",
            &owner.pid().to_string(),
            "--user",
            "--preserve-credentials",
            "unshare",
            "--uts",
            "sleep",
            "1000",
        ]));
        wait_for_new_ns(second.pid(), "uts");
        if inode_of(second.pid(), "uts") != inode {
            continue; // someone else took the number
        }
        // No build saw the namespace gone: only the witness tells the answers are stale.
        let after = table(&mut cache);
        assert_eq!(owner_of(&after, inode), Some(new_user), "fresh owner");
        let uncached = {
            let root = HostRoot::live();
            let processes =
                isotop::host::scan::read_processes(&root, ReadDepth::Full, &mut Vec::new())
                    .expect("processes");
            build_table(&root, &processes, &UserNames::read(&root))
        };
        assert_eq!(owner_of(&uncached, inode), Some(new_user));

        // Once gone and not reused, the entry is dropped.
        let last = second.pid();
        drop(second);
        assert!(wait_until(Duration::from_secs(5), || {
            !Path::new(&format!("/proc/{last}")).exists()
        }));
        // One build for both sides: another test's namespace may take the number (and lose it
        // again) between two builds of a VM's full run.
        let after_gone = table(&mut cache);
        assert!(!cache.holds(inode) || after_gone.get(inode).is_some());
        return;
    }
    panic!("the uts inode was never reused in 10 attempts");
}

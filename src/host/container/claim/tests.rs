use std::path::PathBuf;

use super::*;
use crate::host::namespace::NsSet;
use crate::host::runtime::Runtime;

/// A fixture host whose `/proc/<pid>/status` says `uids` and whose boot was at `btime` s.
fn host(procs: &[(i32, [u32; 4])], btime: i64, subuid: &str) -> (tempfile::TempDir, HostRoot) {
    let dir = tempfile::tempdir().unwrap();
    let root = HostRoot::under(dir.path());
    for (pid, uids) in procs {
        let pid_dir = root.pid_dir(*pid);
        std::fs::create_dir_all(&pid_dir).unwrap();
        let uids: Vec<String> = uids.iter().map(u32::to_string).collect();
        std::fs::write(
            pid_dir.join("status"),
            format!(
                "Name:\tsleep\nUid:\t{}\nGid:\t0\t0\t0\t0\n",
                uids.join("\t")
            ),
        )
        .unwrap();
    }
    std::fs::create_dir_all(&root.proc).unwrap();
    std::fs::write(
        root.proc.join("stat"),
        format!("cpu 1 2 3\nbtime {btime}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(&root.etc).unwrap();
    std::fs::write(root.etc.join("subuid"), subuid).unwrap();
    std::fs::write(
        root.etc.join("passwd"),
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    )
    .unwrap();
    (dir, root)
}

fn state(writers: Writers, pid: i32, ticks: Option<u64>, created_ms: Option<i64>) -> OciState {
    OciState {
        runtime: Runtime::Runc,
        id: "x".into(),
        init_pid: Some(pid),
        init_start_ticks: ticks,
        cgroup_paths: Vec::new(),
        labels: Default::default(),
        created_ms,
        source: PathBuf::from("/run/user/1000/runc/x/state.json"),
        writers,
    }
}

fn process(pid: i32, start_ticks: u64) -> Process {
    let mut p = Process::new(pid, 0, NsSet::default());
    p.start_ticks = start_ticks;
    p
}

#[test]
fn root_states_are_trusted_and_anyones_never() {
    let (_dir, root) = host(&[], 0, "");
    let mut checker = Checker::new(&root);
    let p = process(42, 5);
    assert_eq!(
        checker.check(&state(Writers::Trusted, 42, Some(5), None), Some(&p)),
        Trust::root()
    );
    let anyone = checker.check(
        &state(
            Writers::Anyone("/run/x is writable by every user".into()),
            42,
            Some(5),
            None,
        ),
        Some(&p),
    );
    assert!(!anyone.verified);
    assert!(anyone.refusal().unwrap().contains("writable by every user"));
}

#[test]
fn a_users_claim_on_someone_elses_process_is_unverified() {
    let (_dir, root) = host(&[(42, [0, 0, 0, 0]), (43, [1000, 0, 1000, 1000])], 0, "");
    let mut checker = Checker::new(&root);
    let trust = checker.check(
        &state(Writers::User(1000), 42, Some(5), None),
        Some(&process(42, 5)),
    );
    assert!(!trust.verified);
    assert_eq!(trust.claimed_by_uid, Some(1000));
    assert!(
        trust.refusal().unwrap().contains("run by uid 0"),
        "{trust:?}"
    );
    // Setuid: real uid is the user's, the effective one root's. Not the user's process.
    let trust = checker.check(
        &state(Writers::User(1000), 43, Some(5), None),
        Some(&process(43, 5)),
    );
    assert!(!trust.verified, "{trust:?}");
}

#[test]
fn the_users_own_and_subordinate_uids_verify() {
    let subuid = "alice:100000:65536\n2000:300000:10\n";
    let (_dir, root) = host(
        &[(42, [1000; 4]), (43, [100_000 + 33; 4]), (44, [165_536; 4])],
        0,
        subuid,
    );
    let mut checker = Checker::new(&root);
    let own = checker.check(
        &state(Writers::User(1000), 42, Some(5), None),
        Some(&process(42, 5)),
    );
    assert_eq!(own, Trust::verified_for(1000));
    let mapped = checker.check(
        &state(Writers::User(1000), 43, Some(5), None),
        Some(&process(43, 5)),
    );
    assert!(mapped.verified, "{mapped:?}");
    // One past the end of alice's range.
    let outside = checker.check(
        &state(Writers::User(1000), 44, Some(5), None),
        Some(&process(44, 5)),
    );
    assert!(!outside.verified, "{outside:?}");
}

#[test]
fn start_times_must_match() {
    let btime = 1_700_000_000;
    let (_dir, root) = host(&[(42, [1000; 4])], btime, "");
    let mut checker = Checker::new(&root);
    let ticks = clock_ticks_per_second();
    // Started 100 s after boot.
    let p = process(42, 100 * ticks);
    let wrong = checker.check(&state(Writers::User(1000), 42, Some(7), None), Some(&p));
    assert!(wrong.refusal().unwrap().contains("tick 7"), "{wrong:?}");
    let started_ms = (btime + 100) * 1000;
    let close = checker.check(
        &state(Writers::User(1000), 42, None, Some(started_ms + 800)),
        Some(&p),
    );
    assert!(close.verified, "{close:?}");
    let far = checker.check(
        &state(
            Writers::User(1000),
            42,
            None,
            Some(started_ms + CREATED_TOLERANCE_MS + 1000),
        ),
        Some(&p),
    );
    assert!(!far.verified, "{far:?}");
    let none = checker.check(&state(Writers::User(1000), 42, None, None), Some(&p));
    assert!(
        none.refusal().unwrap().contains("no start time"),
        "{none:?}"
    );
}

#[test]
fn stopped_user_states_are_unverified() {
    let (_dir, root) = host(&[], 0, "");
    let mut checker = Checker::new(&root);
    let gone = checker.check(&state(Writers::User(1000), 42, Some(5), None), None);
    assert!(!gone.verified);
    assert_eq!(
        stopped_trust(&state(Writers::Trusted, 1, None, None)),
        Trust::root()
    );
}

#[test]
fn subuid_lines_by_name_and_number() {
    let ids = SubIds::parse(
        "alice:100000:65536\n# comment\nbad\n2000:5:5\nnobody:1:1\n",
        "alice:x:1000:1000::/h:/s\n",
    );
    assert!(ids.contains(1000, 100_000) && ids.contains(1000, 165_535));
    assert!(!ids.contains(1000, 165_536) && !ids.contains(1000, 99_999));
    assert!(ids.contains(2000, 9) && !ids.contains(2000, 10));
    assert!(!ids.contains(65534, 1), "unknown names map to nobody");
}

use super::*;

/// What kernel 6.18 printed for a real kill on this project's test host (trimmed dump lines).
const KILL: &str = "\
4,3101,36577713711,-;tail invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
 SUBSYSTEM=memory
6,3102,36577713786,-;Memory cgroup stats for /isotop-test-oom/box:
6,3103,36577713858,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=box,mems_allowed=0,oom_memcg=/isotop-test-oom/box,task_memcg=/isotop-test-oom/box,task=perl,pid=10364,uid=0
3,3104,36577713874,-;Memory cgroup out of memory: Killed process 10364 (perl) total-vm:139088kB, anon-rss:32884kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:120kB oom_score_adj:0
";

/// A root whose `dev/kmsg` holds `records` and whose uptime is 1000 s.
fn root_with(records: &str) -> (tempfile::TempDir, HostRoot) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dev")).unwrap();
    std::fs::create_dir_all(dir.path().join("proc")).unwrap();
    std::fs::write(dir.path().join("dev/kmsg"), records).unwrap();
    std::fs::write(dir.path().join("proc/uptime"), "1000.00 1900.00\n").unwrap();
    let root = HostRoot::under(dir.path());
    (dir, root)
}

#[test]
fn a_kill_joins_its_summary_line() {
    let (_dir, root) = root_with(KILL);
    let before = crate::units::now_ms();
    let mut reader = KmsgReader::open(&root, Start::Oldest).unwrap();
    let victims = reader.read_victims();
    assert_eq!(victims.len(), 1, "{victims:?}");
    let v = &victims[0];
    assert_eq!((v.seq, v.pid, v.command.as_str()), (3104, 10364, "perl"));
    assert_eq!(v.task_memcg.as_deref(), Some("/isotop-test-oom/box"));
    assert_eq!(v.oom_memcg.as_deref(), Some("/isotop-test-oom/box"));
    assert_eq!(v.uid, Some(0));
    // 36577.7 s after a boot 1000 s ago: boot time + the record's µs.
    let boot = before - 1_000_000;
    assert!(
        v.at_ms.abs_diff(boot + 36_577_713) < 2_000,
        "{} vs {}",
        v.at_ms,
        boot + 36_577_713
    );
    // Read to the end: nothing more until the kernel writes again.
    assert!(reader.read_victims().is_empty());
}

#[test]
fn a_reader_from_the_end_sees_only_what_comes_after() {
    let (dir, root) = root_with(KILL);
    let mut reader = KmsgReader::open(&root, Start::End).unwrap();
    assert!(reader.read_victims().is_empty());
    // Appended records (a regular file stands in for the device) are read on the next call,
    // and a record cut in two by a read is joined.
    let more = "6,3200,40000000000,-;Out of memory: Killed process 77 (py)thon) total-vm:1kB\n";
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("dev/kmsg"))
        .unwrap();
    file.write_all(&more.as_bytes()[..20]).unwrap();
    assert!(reader.read_victims().is_empty());
    file.write_all(&more.as_bytes()[20..]).unwrap();
    let victims = reader.read_victims();
    assert_eq!(victims.len(), 1);
    // No summary line: no cgroup; a name holding `)` ends before the figures.
    assert_eq!(
        (victims[0].pid, victims[0].command.as_str()),
        (77, "py)thon")
    );
    assert_eq!(victims[0].task_memcg, None);
}

#[test]
fn hostile_names_and_paths_are_cleaned_and_fields_taken_from_the_end() {
    let summary = parse_summary(
        "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task=x,task_memcg=/a/evil\u{1b}[2J,task=w\u{202e}b,pid=12,uid=1000",
    )
    .unwrap();
    assert_eq!(summary.pid, 12);
    assert_eq!(summary.uid, Some(1000));
    assert_eq!(summary.task, "w?b");
    assert_eq!(summary.task_memcg.as_deref(), Some("/a/evil?[2J"));
    // Older kernels print no summary; unrelated lines are no kill.
    assert_eq!(parse_summary("oom_reaper: reaped process 12"), None);
    assert_eq!(parse_killed("Killed process x (y)"), None);
    assert_eq!(parse_killed("Killed process 9 (sh)"), Some((9, "sh")));
    assert_eq!(parse_record("garbage"), None);
    assert_eq!(
        parse_record("6,1,2,-,caller=T1;hi"),
        Some(Record {
            seq: 1,
            usec: 2,
            message: "hi"
        })
    );
}

#[test]
fn an_unreadable_log_is_an_error_the_caller_can_take_as_no_victim() {
    let dir = tempfile::tempdir().unwrap();
    assert!(KmsgReader::open(&HostRoot::under(dir.path()), Start::End).is_err());
}

//! The sampler's process table on a fixture `/proc` (no root needed): a process is read in full
//! once and then only its `stat`; a pid seen with a new start time is a new process (its cached
//! cmdline and cgroups are dropped and read again); an exec (new comm) re-reads the cmdline;
//! CPU% comes from the tick delta; a vanished process leaves the table.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use isotop::host::HostRoot;
use isotop::host::process::Process;
use isotop::sample::ProcessTable;

/// A `stat` line: comm, state, ppid, utime, stime, start time (clock ticks after boot).
fn stat_line(pid: i32, comm: &str, utime: u64, start: u64) -> String {
    // Fields 1-52 of proc(5); the ones not named here are zero.
    let mut fields: Vec<String> = vec!["0".to_string(); 52];
    fields[0] = pid.to_string();
    fields[1] = format!("({comm})");
    fields[2] = "S".to_string();
    fields[3] = "1".to_string();
    fields[13] = utime.to_string();
    fields[14] = "0".to_string();
    fields[19] = "1".to_string(); // threads
    fields[21] = start.to_string();
    fields[23] = "10".to_string(); // rss pages
    fields.join(" ") + "\n"
}

fn write_process(proc_dir: &Path, pid: i32, comm: &str, cmdline: &str, utime: u64, start: u64) {
    let dir = proc_dir.join(pid.to_string());
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("stat"), stat_line(pid, comm, utime, start)).unwrap();
    fs::write(dir.join("cmdline"), cmdline.replace(' ', "\0") + "\0").unwrap();
    fs::write(dir.join("cgroup"), "0::/box\n").unwrap();
}

fn cmdline_of(table: &ProcessTable, pid: i32) -> Vec<String> {
    let i = table.index_of(pid).expect("pid in table");
    table.processes()[i].cmdline.to_vec()
}

#[test]
fn pid_and_start_time_key_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    write_process(&proc_dir, 7, "sh", "sh -c work", 100, 5_000);
    let root = HostRoot::under(tmp.path());
    let mut table = ProcessTable::new(1_000_000);

    let first = table.refresh(&root, None, 100).unwrap();
    assert_eq!((first.added, first.gone), (1, 0));
    assert_eq!(cmdline_of(&table, 7), ["sh", "-c", "work"]);
    let i = table.index_of(7).unwrap();
    assert_eq!(table.processes()[i].cgroups[0].path, "/box");
    assert_eq!(
        table.rates()[i].cpu_percent,
        None,
        "first sighting has no rate"
    );

    // Same process (same start time, same comm): only stat is read, so a changed cmdline file
    // is not seen, while the CPU time is. 50 ticks at 100 Hz over 1 s = 50 %.
    write_process(&proc_dir, 7, "sh", "sh -c changed", 150, 5_000);
    let same = table.refresh(&root, Some(1_000_000), 100).unwrap();
    assert_eq!((same.added, same.gone, same.reread), (0, 0, 0));
    assert_eq!(cmdline_of(&table, 7), ["sh", "-c", "work"]);
    let i = table.index_of(7).unwrap();
    assert_eq!(table.processes()[i].cpu_ticks, 150);
    assert_eq!(table.rates()[i].cpu_percent, Some(50.0));

    // The pid reused by another process (new start time): everything is read again and the
    // CPU delta against the old process is not taken (its counter is lower: no rate at all).
    write_process(&proc_dir, 7, "sleep", "sleep 9", 3, 9_000);
    let reused = table.refresh(&root, Some(1_000_000), 100).unwrap();
    assert_eq!((reused.added, reused.gone), (1, 1));
    assert_eq!(cmdline_of(&table, 7), ["sleep", "9"]);
    let i = table.index_of(7).unwrap();
    assert_eq!(table.processes()[i].start_ticks, 9_000);
    assert_eq!(table.rates()[i].cpu_percent, None);
}

/// A kernel thread's `stat` (flags carry `PF_KTHREAD`), parent kthreadd, no command line.
fn write_kernel_thread(proc_dir: &Path, pid: i32, comm: &str, start: u64) {
    let dir = proc_dir.join(pid.to_string());
    fs::create_dir_all(&dir).unwrap();
    let mut stat = stat_line(pid, comm, 0, start)
        .split(' ')
        .map(str::to_string)
        .collect::<Vec<_>>();
    stat[3] = "2".to_string();
    stat[8] = 0x0020_0000.to_string();
    fs::write(dir.join("stat"), stat.join(" ")).unwrap();
    fs::write(dir.join("cmdline"), "").unwrap();
    fs::write(dir.join("cgroup"), "0::/\n").unwrap();
}

/// A workqueue worker renames itself by the work it does (`kworker/0:1-events`), most ticks:
/// no exec, so neither a full re-read nor a move of the table's generation (what containers'
/// ownership is judged by); a process's new name (an exec) is both.
#[test]
fn a_kernel_threads_new_name_is_no_exec() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    write_kernel_thread(&proc_dir, 40, "kworker/0:1-events", 300);
    write_process(&proc_dir, 41, "sh", "sh", 1, 310);
    let root = HostRoot::under(tmp.path());
    let mut table = ProcessTable::new(1_000_000);
    // Past the young re-reads of a new process.
    for _ in 0..6 {
        table.refresh(&root, Some(1_000_000), 100).unwrap();
    }
    let generation = table.generation();
    write_kernel_thread(&proc_dir, 40, "kworker/0:1-mm_percpu_wq", 300);
    let renamed = table.refresh(&root, Some(1_000_000), 100).unwrap();
    assert_eq!((renamed.reread, renamed.facts_changed), (0, false));
    assert_eq!(table.generation(), generation);
    let i = table.index_of(40).unwrap();
    assert_eq!(table.processes()[i].comm, "kworker/0:1-mm_percpu_wq");
    write_process(&proc_dir, 41, "bash", "bash", 2, 310);
    let exec = table.refresh(&root, Some(1_000_000), 100).unwrap();
    assert_eq!((exec.reread, exec.facts_changed), (1, true));
    assert_ne!(table.generation(), generation);
}

#[test]
fn exec_rereads_the_cmdline() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    write_process(&proc_dir, 30, "nsenter", "nsenter -t 1 bash", 1, 700);
    let root = HostRoot::under(tmp.path());
    let mut table = ProcessTable::new(1_000_000);
    table.refresh(&root, None, 100).unwrap();
    // exec keeps pid and start time but changes comm: the cmdline is read again.
    write_process(&proc_dir, 30, "bash", "bash", 2, 700);
    let after = table.refresh(&root, Some(1_000_000), 100).unwrap();
    assert_eq!(after.reread, 1);
    assert_eq!((after.added, after.gone), (0, 0));
    assert_eq!(cmdline_of(&table, 30), ["bash"]);
    assert_eq!(table.processes()[table.index_of(30).unwrap()].comm, "bash");
}

#[test]
fn vanished_process_leaves_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    write_process(&proc_dir, 1, "init", "init", 1, 1);
    write_process(&proc_dir, 40, "gone", "gone", 1, 2);
    let root = HostRoot::under(tmp.path());
    let mut table = ProcessTable::new(1_000_000);
    table.refresh(&root, None, 100).unwrap();
    assert!(table.index_of(40).is_some());
    fs::remove_dir_all(proc_dir.join("40")).unwrap();
    let after = table.refresh(&root, Some(1_000_000), 100).unwrap();
    assert_eq!((after.added, after.gone), (0, 1));
    assert!(after.changed());
    assert_eq!(table.index_of(40), None);
    assert!(table.index_of(1).is_some());
}

#[test]
fn every_process_is_reread_once_per_period() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    for pid in 1..=6 {
        write_process(&proc_dir, pid, "p", "p", 1, 1);
    }
    let root = HostRoot::under(tmp.path());
    let mut table = ProcessTable::new(3);
    table.refresh(&root, None, 100).unwrap();
    // Over one period of 3 ticks each of the 6 processes is re-read exactly once.
    let mut reread = 0;
    for _ in 0..3 {
        reread += table.refresh(&root, Some(1_000_000), 100).unwrap().reread;
    }
    assert_eq!(reread, 6);
}

/// The table's records are what the frames share: one unchanged between two ticks is the same
/// allocation in both, one that changed while an earlier frame held it is a new one (that
/// frame keeps its figures), and one that changed when no frame held it any more is changed in
/// place.
#[test]
fn records_are_shared_until_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_dir = tmp.path().join("proc");
    write_process(&proc_dir, 7, "sh", "sh -c work", 100, 5_000);
    write_process(&proc_dir, 8, "sleep", "sleep 9", 50, 6_000);
    let root = HostRoot::under(tmp.path());
    let mut table = ProcessTable::new(1_000_000);
    table.refresh(&root, None, 100).unwrap();
    let frame: Vec<Arc<Process>> = table.processes().shared().to_vec();

    write_process(&proc_dir, 8, "sleep", "sleep 9", 60, 6_000);
    table.refresh(&root, Some(1_000_000), 100).unwrap();
    let now = table.processes().shared();
    assert_eq!((now[0].pid, now[1].pid), (7, 8));
    assert!(
        Arc::ptr_eq(&frame[0], &now[0]),
        "unchanged: the same record"
    );
    assert!(!Arc::ptr_eq(&frame[1], &now[1]), "changed: a copy");
    assert_eq!((frame[1].cpu_ticks, now[1].cpu_ticks), (50, 60));

    drop(frame);
    let alone = Arc::as_ptr(&now[1]);
    write_process(&proc_dir, 8, "sleep", "sleep 9", 75, 6_000);
    table.refresh(&root, Some(1_000_000), 100).unwrap();
    let now = table.processes().shared();
    assert_eq!(now[1].cpu_ticks, 75);
    assert_eq!(
        Arc::as_ptr(&now[1]),
        alone,
        "held by no frame: changed in place"
    );
}

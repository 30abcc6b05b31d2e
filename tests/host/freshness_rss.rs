//! A sleeping process's resident set shrinks without it running in two ways, and the process
//! table shows the kernel's figure after each: when the kernel reclaims its pages (here a
//! memory cgroup's reclaim of the clean page cache it maps: a loop device of the test's own,
//! so it works where `/tmp` is tmpfs, whose pages nothing reclaims without swap) within
//! `IDLE_STAT_EVERY` refreshes, by the reclaim counters the table watches (its periodic
//! re-read set beyond reach); when a file it maps is truncated (no counter tells) by its
//! periodic re-read.

use crate::freshness::{assert_figures_right, process, refresh, settled_table_rereading_every};
use crate::support::block_io::LoopDevice;
use crate::support::common;
use crate::support::scripted::Scripted;

use std::path::Path;
use std::process::Command;

use common::CgroupGuard;
use isotop::host::HostRoot;
use isotop::host::process::{ReadDepth, read_process};
use isotop::host::reclaim::ReclaimWatch;
use isotop::sample::ProcessTable;
use isotop::sample::processes::IDLE_STAT_EVERY;

/// Says `ready`; on a line, writes the file named by its first argument when the second is
/// `write` (`MIB` MiB, synced: clean pages, charged to its memory cgroup), maps `MIB` MiB of
/// it read-only, touches each page (they count in its resident set), says `mapped` and
/// sleeps.
const MAP_AND_SLEEP: &str = "import mmap, os, sys, time
print('ready', flush=True)
sys.stdin.readline()
size = int(sys.argv[3]) << 20
if sys.argv[2] == 'write':
    with open(sys.argv[1], 'w+b') as f:
        f.write(b'\\1' * size)
        f.flush()
        os.fsync(f.fileno())
f = open(sys.argv[1], 'rb')
m = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
touched = sum(m[i] for i in range(0, size, 4096))
print('mapped', flush=True)
time.sleep(1000)
";

const MIB: u64 = 32;

/// The mapper: started, `file` written first when `write`, then mapped (in the caller's
/// cgroups, or in `into`).
fn mapper(file: &Path, write: bool, into: Option<(&CgroupGuard, &str)>) -> Scripted {
    let mut mapper = Scripted::spawn(
        Command::new("python3")
            .args(["-c", MAP_AND_SLEEP])
            .arg(file)
            .arg(if write { "write" } else { "read" })
            .arg(MIB.to_string()),
    );
    if let Some((guard, leaf)) = into {
        guard.add_pid(leaf, mapper.pid());
    }
    assert_eq!(mapper.ask("go"), "mapped");
    mapper
}

/// Refreshes `table` until `pid`'s resident set is `wanted` bytes; the refreshes it took, at
/// most `limit`, else the test fails saying what the table held.
fn refreshes_until_rss(table: &mut ProcessTable, pid: i32, wanted: u64, limit: u64) -> u64 {
    let root = HostRoot::live();
    for n in 1..=limit {
        refresh(table, &root);
        if process(table, pid).expect("python").rss_bytes == wanted {
            return n;
        }
    }
    panic!(
        "resident set of {pid} still {} bytes, not {wanted}, after {limit} refreshes",
        process(table, pid).expect("python").rss_bytes
    );
}

fn rss_now(pid: i32) -> u64 {
    read_process(&HostRoot::live(), pid, ReadDepth::Full)
        .expect("read")
        .expect("alive")
        .rss_bytes
}

/// Has the kernel reclaim `bytes` of `leaf`'s memory: v2's `memory.reclaim`, v1's
/// `memory.limit_in_bytes` set that far below its usage.
fn reclaim(guard: &CgroupGuard, leaf: &str, bytes: u64) {
    let dir = guard.dir("memory", leaf);
    let v2 = dir.join("memory.reclaim");
    if v2.exists() {
        std::fs::write(&v2, bytes.to_string()).expect("memory.reclaim");
        return;
    }
    let usage: u64 = std::fs::read_to_string(dir.join("memory.usage_in_bytes"))
        .expect("memory.usage_in_bytes")
        .trim()
        .parse()
        .expect("a number");
    std::fs::write(
        dir.join("memory.limit_in_bytes"),
        (usage - bytes).to_string(),
    )
    .expect("lower memory.limit_in_bytes below the usage");
}

#[test]
#[ignore = "needs root"]
fn an_idle_process_whose_pages_are_reclaimed_shows_it_within_the_idle_period() {
    let guard = CgroupGuard::new("reclaim");
    let leaf = guard.child("leaf");
    let leaf = leaf.trim_start_matches(&guard.rel).trim_start_matches('/');
    if !guard.dir("memory", leaf).join("memory.stat").exists() {
        eprintln!(
            "skipping {}: no memory controller in the test's cgroups",
            common::test_name()
        );
        return;
    }
    let Some(device) = LoopDevice::new(MIB) else {
        return;
    };
    let mapper = mapper(&device.path, false, Some((&guard, leaf)));
    let pid = mapper.pid();
    // The periodic re-read beyond reach: only the reclaim counters can bring the new figure.
    let mut table = settled_table_rereading_every(1_000_000);
    assert_figures_right(&table, pid);
    let mapped = process(&table, pid).expect("python").rss_bytes;
    let mut counters = ReclaimWatch::new();
    counters.moved(&HostRoot::live());
    reclaim(&guard, leaf, (MIB - 8) << 20);
    assert!(
        counters.moved(&HostRoot::live()),
        "the kernel's reclaim counters did not move"
    );
    let shrunk = rss_now(pid);
    assert!(shrunk + (16 << 20) <= mapped, "{mapped} -> {shrunk} bytes");
    refreshes_until_rss(&mut table, pid, shrunk, IDLE_STAT_EVERY);
    assert_figures_right(&table, pid);
}

/// Truncating a file unmaps its pages from the sleeping process that maps it: no counter
/// tells, the table's periodic re-read of the process does.
#[test]
fn an_idle_process_whose_mapped_file_is_truncated_shows_it_by_its_periodic_read() {
    const REREAD_EVERY: u64 = 24;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mapped");
    let mapper = mapper(&file, true, None);
    let pid = mapper.pid();
    let mut table = settled_table_rereading_every(REREAD_EVERY);
    assert_figures_right(&table, pid);
    let mapped = process(&table, pid).expect("python").rss_bytes;
    std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(0))
        .expect("truncate");
    let shrunk = rss_now(pid);
    assert!(shrunk + (16 << 20) <= mapped, "{mapped} -> {shrunk} bytes");
    refreshes_until_rss(&mut table, pid, shrunk, REREAD_EVERY);
    assert_figures_right(&table, pid);
}

//! What reading network namespaces costs, per namespace: the three counter sources (
//! `/proc/<pid>/net/dev`, netlink `RTM_GETSTATS`, netlink `RTM_GETLINK` from inside each
//! namespace) and the full read (links, addresses, routes) with peer resolution.
//! bench/net-bench.sh builds the namespaces and runs this.
//!
//! Usage: `net_cost MOUNT_PREFIX [ROUNDS]`: reads the network namespaces bind-mounted at paths
//! starting with MOUNT_PREFIX (e.g. `/run/netns/isotop-bench-123-`), each ROUNDS times (default
//! 5, after one warm-up), and prints one line per method: namespaces read, notes, mean time per
//! walk and per bench namespace (µs). The full read adds the host's own namespace (the bench's
//! bridge and the veths' host ends), so every peer is resolved.

use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use isotop::host::HostRoot;
use isotop::host::namespace::mounts::read_nsfs_mounts;
use isotop::host::net::{self, CounterSource, NetnsHandle};
use isotop::host::scan::read_processes;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let prefix = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: net_cost MOUNT_PREFIX [ROUNDS]"))?;
    let rounds: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let root = HostRoot::live();
    let processes = read_processes(
        &root,
        isotop::host::process::ReadDepth::Namespaces,
        &mut Vec::new(),
    )?;
    let mounts = read_nsfs_mounts(&root)?;
    let handles: Vec<NetnsHandle> = net::discover(&processes, &mounts)
        .into_iter()
        .filter(|h| {
            h.mounts
                .iter()
                .any(|m| m.to_string_lossy().starts_with(&prefix))
        })
        .collect();
    anyhow::ensure!(!handles.is_empty(), "no namespace mounted at {prefix}*");
    // The full read also reads the host's namespace, where the bench's bridge and the veths'
    // host ends are: its peers are resolved against the bench's namespaces.
    let own = std::fs::metadata("/proc/self/ns/net")?.ino();
    let with_host: Vec<NetnsHandle> = net::discover(&processes, &mounts)
        .into_iter()
        .filter(|h| h.inode == own || handles.iter().any(|b| b.inode == h.inode))
        .collect();
    let with_pids = handles.iter().filter(|h| !h.pids.is_empty()).count();
    println!(
        "namespaces: {} ({with_pids} with a process), rounds: {rounds}",
        handles.len()
    );
    let sources = [
        ("counters /proc/<pid>/net/dev", CounterSource::ProcNetDev),
        ("counters netlink RTM_GETSTATS", CounterSource::NetlinkStats),
        ("counters netlink RTM_GETLINK", CounterSource::NetlinkLinks),
    ];
    for (label, source) in sources {
        let (read, notes) = time(rounds, handles.len(), label, || {
            let read = net::read_counters_from(&root, &handles, source);
            (read.namespaces.len(), read.notes.len())
        });
        anyhow::ensure!(read == handles.len(), "{label}: read {read}, {notes} notes");
    }
    time(rounds, handles.len(), "full read + peers (+ host)", || {
        let mut read = net::read_full(&root, &with_host);
        net::peers::resolve(&root, &with_host, &mut read);
        (read.namespaces.len(), read.notes.len())
    });
    Ok(())
}

/// Runs `walk` once to warm up and `rounds` times timed; prints the mean per walk and per
/// namespace. Returns what the last walk returned (namespaces read, notes).
fn time(
    rounds: u32,
    namespaces: usize,
    label: &str,
    mut walk: impl FnMut() -> (usize, usize),
) -> (usize, usize) {
    let mut last = walk();
    let start = Instant::now();
    for _ in 0..rounds {
        last = walk();
    }
    let mean = start.elapsed() / rounds.max(1);
    println!(
        "{label:32} read {:5}  notes {:3}  {:9.2} ms per walk  {:8.1} µs per namespace",
        last.0,
        last.1,
        mean.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e6 / namespaces.max(1) as f64
    );
    last
}

//! Reading network namespaces: the full picture (interfaces, addresses, routes, counters) and
//! the cheap per-tick path (counters only).
//!
//! Contract: each namespace is read once, however many containers share it, from inside it:
//! one dedicated thread ([`crate::sys::netns::on_own_thread`]) joins each namespace in turn,
//! opens a netlink socket there and dumps what the depth asks for; the thread exits at the end
//! of the walk. The counters path may instead read `/proc/<pid>/net/dev` of a process in the
//! namespace (no thread, no `setns`: see [`CounterSource`] and the README's measurements).
//! Nothing here fails the read: a namespace that vanished, a refusal (not root), a netlink error
//! each become one line of [`NetRead::notes`] and that namespace is left out. Every reading
//! carries the moment it was taken, so `sample::rates` can divide by the right interval.

use foldhash::HashMap;
use std::os::fd::AsFd;
use std::time::Instant;

use serde::Serialize;

use super::counters::{Counters, parse_proc_net_dev};
use super::error::NetError;
use super::link::Interface;
use super::namespaces::{self, NetnsHandle};
use super::route::Route;
use super::socket::{Dump, RouteSocket};
use crate::host::HostRoot;
use crate::host::error::is_vanished;
use crate::sys::netns::{Inside, on_own_thread};
use crate::sys::nsfs;

/// Everything about one namespace's network, read at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct NetnsReading {
    pub inode: u64,
    /// When it was read, milliseconds since the Unix epoch.
    pub read_at_ms: u64,
    /// When it was read, for rates.
    #[serde(skip)]
    pub at: Instant,
    /// Ordered by index.
    pub interfaces: Vec<Interface>,
    /// The main table.
    pub routes: Vec<Route>,
}

impl NetnsReading {
    /// The interface with this index.
    pub fn interface(&self, ifindex: u32) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.ifindex == ifindex)
    }
}

#[cfg(test)]
impl NetnsReading {
    /// A reading of these interfaces, no routes, taken now.
    pub(crate) fn for_test(inode: u64, interfaces: Vec<Interface>) -> NetnsReading {
        NetnsReading {
            inode,
            read_at_ms: 0,
            at: Instant::now(),
            interfaces,
            routes: Vec::new(),
        }
    }
}

/// One interface's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceCounters {
    /// Cleaned; empty from [`CounterSource::NetlinkStats`] (which gives indexes only).
    pub name: String,
    /// `None` when read from `/proc/<pid>/net/dev` (which names interfaces only).
    pub ifindex: Option<u32>,
    pub counters: Counters,
}

/// The counters of every interface of one namespace, read at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct NetnsCounters {
    pub inode: u64,
    pub read_at_ms: u64,
    #[serde(skip)]
    pub at: Instant,
    pub source: CounterSource,
    pub interfaces: Vec<InterfaceCounters>,
}

impl NetnsCounters {
    /// The namespace's total over its interfaces but loopback (traffic that never left it).
    pub fn total(&self) -> Counters {
        Counters::sum(
            self.interfaces
                .iter()
                .filter(|i| i.name != "lo")
                .map(|i| &i.counters),
        )
    }
}

/// Where counters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterSource {
    /// `/proc/<pid>/net/dev` of a process in the namespace: no thread, no `setns`. Namespaces
    /// held only by a mount have no pid to read through and are read by `RTM_GETLINK` instead.
    ProcNetDev,
    /// `RTM_GETSTATS` (64-bit counters only) from inside the namespace. Names no interface:
    /// [`InterfaceCounters::name`] is empty, the index identifies it.
    NetlinkStats,
    /// `RTM_GETLINK` (every attribute) from inside the namespace.
    NetlinkLinks,
}

/// The readings of a walk, and what could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct NetRead<T> {
    pub namespaces: Vec<T>,
    /// One line per namespace left out or read in part, naming it and what to do.
    pub notes: Vec<String>,
}

impl<T> Default for NetRead<T> {
    fn default() -> Self {
        NetRead {
            namespaces: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Reads every namespace in full: interfaces with their addresses and counters, and the main
/// table's routes. The less frequent path (`isotop net`, the Network view's refresh).
pub fn read_full(root: &HostRoot, handles: &[NetnsHandle]) -> NetRead<NetnsReading> {
    let mut read = walk(root, handles, "reading interfaces", read_inside);
    read.namespaces.sort_by_key(|n| n.inode);
    read
}

/// Reads only counters, the cheap path a sampler calls each tick: `/proc/<pid>/net/dev`, which
/// bench/net-bench.sh measured as cheap as the leanest netlink dump (`RTM_GETSTATS`, which
/// names no interface) and half the cost of a link dump, with no thread and no `setns`.
pub fn read_counters(root: &HostRoot, handles: &[NetnsHandle]) -> NetRead<NetnsCounters> {
    read_counters_from(root, handles, CounterSource::ProcNetDev)
}

/// Reads only counters, from the given source (the benchmark compares them).
pub fn read_counters_from(
    root: &HostRoot,
    handles: &[NetnsHandle],
    source: CounterSource,
) -> NetRead<NetnsCounters> {
    let mut read = NetRead::default();
    let mut by_netlink = Vec::new();
    for handle in handles {
        if source != CounterSource::ProcNetDev || handle.pids.is_empty() {
            by_netlink.push(handle.clone());
            continue;
        }
        match read_proc_net_dev(root, handle) {
            Ok(Some(counters)) => read.namespaces.push(counters),
            Ok(None) if !handle.mounts.is_empty() => by_netlink.push(handle.clone()),
            Ok(None) => read.notes.push(
                NetError::Vanished {
                    inode: handle.inode,
                    path: root.pid_dir(handle.pids[0]).join("net/dev"),
                }
                .to_string(),
            ),
            Err(e) => read.notes.push(e.to_string()),
        }
    }
    if !by_netlink.is_empty() {
        // Namespaces held only by a mount have no /proc/<pid>/net/dev: their link dump names
        // the interfaces as that file would.
        let netlink = if source == CounterSource::NetlinkStats {
            CounterSource::NetlinkStats
        } else {
            CounterSource::NetlinkLinks
        };
        let inside = walk(
            root,
            &by_netlink,
            "reading counters",
            |socket, notes, inode| counters_inside(socket, notes, inode, netlink),
        );
        read.namespaces.extend(inside.namespaces);
        read.notes.extend(inside.notes);
        read.namespaces.sort_by_key(|n| n.inode);
    }
    read
}

/// `/proc/<pid>/net/dev` through the first process still in the namespace; `Ok(None)` when
/// none is. The process's namespace link is checked after the read: a pid reused meanwhile by
/// a process elsewhere would have shown another namespace's interfaces, and is skipped.
fn read_proc_net_dev(
    root: &HostRoot,
    handle: &NetnsHandle,
) -> Result<Option<NetnsCounters>, NetError> {
    let expected = format!("net:[{}]", handle.inode);
    for &pid in &handle.pids {
        let dir = root.pid_dir(pid);
        let path = dir.join("net/dev");
        let at = Instant::now();
        let read_at_ms = crate::units::now_ms();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if is_vanished(&e) => continue,
            Err(source) => return Err(NetError::Read { path, source }),
        };
        let still_there = std::fs::read_link(dir.join("ns/net"))
            .is_ok_and(|target| target.as_os_str() == expected.as_str());
        if !still_there {
            continue;
        }
        return Ok(Some(counters_of_text(handle.inode, at, read_at_ms, &bytes)));
    }
    Ok(None)
}

/// The reading of namespace `inode` whose `/proc/<pid>/net/dev` text is `bytes`, read at `at`.
pub(super) fn counters_of_text(
    inode: u64,
    at: Instant,
    read_at_ms: u64,
    bytes: &[u8],
) -> NetnsCounters {
    // The kernel's text is ASCII but for interface names: the plain check first (the lossy
    // one walks it chunk by chunk, ~1 % of a dashboard run's instructions on 400 namespaces).
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let interfaces = parse_proc_net_dev(&text)
        .into_iter()
        .map(|(name, counters)| InterfaceCounters {
            name,
            ifindex: None,
            counters,
        })
        .collect();
    NetnsCounters {
        inode,
        read_at_ms,
        at,
        source: CounterSource::ProcNetDev,
        interfaces,
    }
}

fn read_inside(
    socket: &mut RouteSocket,
    notes: &mut Vec<String>,
    inode: u64,
) -> Result<NetnsReading, NetError> {
    let at = Instant::now();
    let read_at_ms = crate::units::now_ms();
    let mut interfaces = dumped(socket.links(), notes, inode, "the link dump")?;
    interfaces.sort_by_key(|i| i.ifindex);
    let addresses = dumped(socket.addresses(), notes, inode, "the address dump")?;
    let mut routes = dumped(socket.routes(), notes, inode, "the route dump")?;
    let positions: HashMap<u32, usize> = interfaces
        .iter()
        .enumerate()
        .map(|(at, i)| (i.ifindex, at))
        .collect();
    // An address whose interface is not in the link dump belongs to one deleted in between:
    // left out, like the interface.
    for (ifindex, address) in addresses {
        if let Some(&at) = positions.get(&ifindex) {
            interfaces[at].addresses.push(address);
        }
    }
    for route in &mut routes {
        route.device = route
            .ifindex
            .and_then(|i| positions.get(&i))
            .map(|&at| interfaces[at].name.clone());
    }
    Ok(NetnsReading {
        inode,
        read_at_ms,
        at,
        interfaces,
        routes,
    })
}

fn counters_inside(
    socket: &mut RouteSocket,
    notes: &mut Vec<String>,
    inode: u64,
    source: CounterSource,
) -> Result<NetnsCounters, NetError> {
    let at = Instant::now();
    let read_at_ms = crate::units::now_ms();
    let interfaces = if source == CounterSource::NetlinkLinks {
        dumped(socket.links(), notes, inode, "the link dump")?
            .into_iter()
            .filter_map(|i| {
                Some(InterfaceCounters {
                    counters: i.counters?,
                    name: i.name,
                    ifindex: Some(i.ifindex),
                })
            })
            .collect()
    } else {
        dumped(socket.counters(), notes, inode, "the counters dump")?
            .into_iter()
            .map(|(ifindex, counters)| InterfaceCounters {
                name: String::new(),
                ifindex: Some(ifindex),
                counters,
            })
            .collect()
    };
    Ok(NetnsCounters {
        inode,
        read_at_ms,
        at,
        source,
        interfaces,
    })
}

/// A dump's items, with a note when some were left out or the kernel kept changing them.
fn dumped<T>(
    result: std::io::Result<Dump<T>>,
    notes: &mut Vec<String>,
    inode: u64,
    what: &'static str,
) -> Result<Vec<T>, NetError> {
    let dump = result.map_err(|source| NetError::Netlink {
        inode,
        what,
        source,
    })?;
    if dump.skipped > 0 {
        notes.push(format!(
            "network namespace {inode}: {} entries of {what} could not be decoded and are left out",
            dump.skipped
        ));
    }
    if dump.interrupted {
        notes.push(format!(
            "network namespace {inode}: interfaces kept changing during {what}; shown as last read"
        ));
    }
    Ok(dump.items)
}

/// Joins each namespace in turn on one dedicated thread and runs `each` on a socket opened
/// there. The thread's own namespace (the caller's) is read first, before any join, so it
/// needs no privilege: an unprivileged run still sees its own network. Namespaces that cannot
/// be opened, joined or read become notes; refusals are summed up in one.
pub(super) fn walk<T: Send>(
    root: &HostRoot,
    handles: &[NetnsHandle],
    what: &'static str,
    each: impl Fn(&mut RouteSocket, &mut Vec<String>, u64) -> Result<T, NetError> + Sync,
) -> NetRead<T> {
    let mut read = NetRead::default();
    if handles.is_empty() {
        return read;
    }
    if !root.live {
        read.notes.extend(handles.iter().map(|h| {
            NetError::NotLive {
                inode: h.inode,
                what,
            }
            .to_string()
        }));
        return read;
    }
    let walked = on_own_thread(|inside| {
        let own = nsfs::inode_of_path(&root.proc.join("thread-self/ns/net")).ok();
        let (mine, others): (Vec<&NetnsHandle>, Vec<&NetnsHandle>) =
            handles.iter().partition(|h| Some(h.inode) == own);
        let mut read = NetRead::default();
        let mut refused: Vec<NetError> = Vec::new();
        for handle in mine {
            let result = RouteSocket::open()
                .map_err(|source| NetError::Netlink {
                    inode: handle.inode,
                    what: "opening a socket",
                    source,
                })
                .and_then(|mut socket| each(&mut socket, &mut read.notes, handle.inode));
            keep(result, &mut read, &mut refused);
        }
        for handle in others {
            let result = enter(root, inside, handle)
                .and_then(|mut socket| each(&mut socket, &mut read.notes, handle.inode));
            keep(result, &mut read, &mut refused);
        }
        match refused.len() {
            0 => {}
            1 => read.notes.push(refused[0].to_string()),
            n => read.notes.push(format!(
                "{n} network namespaces could not be read, the first: {}",
                refused[0]
            )),
        }
        read
    });
    walked.unwrap_or_else(|source| NetRead {
        namespaces: Vec::new(),
        notes: vec![NetError::Thread { source }.to_string()],
    })
}

/// Files a namespace's result: its value, a refusal (summed up later) or a note.
fn keep<T>(result: Result<T, NetError>, read: &mut NetRead<T>, refused: &mut Vec<NetError>) {
    match result {
        Ok(value) => read.namespaces.push(value),
        Err(e) if e.is_permission() => refused.push(e),
        Err(e) => read.notes.push(e.to_string()),
    }
}

/// Opens the namespace, moves the walking thread into it and opens a netlink socket there.
pub(super) fn enter(
    root: &HostRoot,
    inside: &Inside,
    handle: &NetnsHandle,
) -> Result<RouteSocket, NetError> {
    let (fd, path) = namespaces::open(root, handle)?;
    inside.join(fd.as_fd()).map_err(|source| {
        if source.raw_os_error() == Some(nix::libc::EPERM) {
            NetError::EnterDenied {
                inode: handle.inode,
                path: path.clone(),
            }
        } else {
            NetError::Enter {
                inode: handle.inode,
                path: path.clone(),
                source,
            }
        }
    })?;
    RouteSocket::open().map_err(|source| NetError::Netlink {
        inode: handle.inode,
        what: "opening a socket",
        source,
    })
}

#[cfg(test)]
mod tests;

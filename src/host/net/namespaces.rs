//! Which network namespaces exist, and how to reach each one: its processes (`/proc/<pid>/ns/net`)
//! and its nsfs bind mounts (`ip netns add` keeps `/run/netns/NAME`, Docker
//! `/run/docker/netns/ID`), both found under the injected root.
//!
//! Contract: a namespace is identified by its nsfs inode, once, however many processes or
//! mounts hold it (the two containers of a pod sharing one are one [`NetnsHandle`]). [`open`]
//! tries the holders in turn and checks that what it opened is that namespace (a pid can be
//! reused between the listing and the open); when none holds it any more the namespace is
//! gone ([`NetError::Vanished`]), the normal end of a namespace, not a failure.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::NetError;
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::error::is_vanished;
use crate::host::namespace::NsKind;
use crate::host::namespace::mounts::NsfsMount;
use crate::host::process::Records;
use crate::sys::nsfs;

/// How many of a namespace's processes [`open`] tries before giving up on processes (each
/// failure is one that exited since the listing).
const PIDS_TRIED: usize = 8;

/// One network namespace and what holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetnsHandle {
    /// The namespace's identity (`ls -Li /proc/<pid>/ns/net`, lsns' NS column).
    pub inode: u64,
    /// Host pids of the processes in it, ascending.
    pub pids: Vec<i32>,
    /// Its nsfs bind mounts, as the kernel names them (for opening).
    #[serde(skip)]
    pub mounts: Vec<PathBuf>,
    /// The same mounts, cleaned for display.
    #[serde(rename = "mounts")]
    pub mounts_shown: Vec<String>,
}

/// The network namespaces of `processes` (each process's `ns.net`) and of the nsfs mounts,
/// one handle per inode, ordered by inode.
pub fn discover<'p>(processes: impl Into<Records<'p>>, mounts: &[NsfsMount]) -> Vec<NetnsHandle> {
    let processes = processes.into();
    from_members(
        processes
            .iter()
            .filter_map(|p| Some((p.pid, p.ns.get(NsKind::Net)?))),
        mounts,
    )
}

/// The network namespace whose figures are container `c`'s own: its init's, unless that is the
/// host's (`--network host`: the host's traffic is not the container's, so it has none of its
/// own) or unknown. The one rule every view, `ls`, `inspect` and the sampler attribute traffic
/// by; the containers of a pod share one namespace and so one set of figures.
pub fn own_netns(c: &Container) -> Option<u64> {
    if c.shared_with_host.contains(&NsKind::Net) {
        return None;
    }
    c.namespaces.get(NsKind::Net)
}

/// Groups (pid, net namespace inode) pairs and nsfs mounts into handles, ordered by inode:
/// what a caller with its own process table (the sampler) passes instead of [`Process`](crate::host::process::Process)es.
pub fn from_members(
    members: impl IntoIterator<Item = (i32, u64)>,
    mounts: &[NsfsMount],
) -> Vec<NetnsHandle> {
    let mut by_inode: BTreeMap<u64, NetnsHandle> = BTreeMap::new();
    for (pid, inode) in members {
        handle_for(&mut by_inode, inode).pids.push(pid);
    }
    for mount in mounts.iter().filter(|m| m.kind == NsKind::Net) {
        let handle = handle_for(&mut by_inode, mount.inode);
        if !handle.mounts.contains(&mount.mount_point) {
            handle.mounts.push(mount.mount_point.clone());
            handle.mounts_shown.push(mount.display.clone());
        }
    }
    let mut handles: Vec<NetnsHandle> = by_inode.into_values().collect();
    for handle in &mut handles {
        handle.pids.sort_unstable();
        handle.pids.dedup();
    }
    handles
}

fn handle_for(map: &mut BTreeMap<u64, NetnsHandle>, inode: u64) -> &mut NetnsHandle {
    map.entry(inode).or_insert_with(|| NetnsHandle {
        inode,
        pids: Vec::new(),
        mounts: Vec::new(),
        mounts_shown: Vec::new(),
    })
}

/// The `ns/net` file of one of the namespace's processes, or one of its mounts, in the order
/// [`open`] tries them.
pub fn paths(root: &HostRoot, handle: &NetnsHandle) -> Vec<PathBuf> {
    handle
        .pids
        .iter()
        .take(PIDS_TRIED)
        .map(|pid| root.pid_dir(*pid).join("ns/net"))
        .chain(handle.mounts.iter().map(|m| root.host_path(m)))
        .collect()
}

/// Opens the namespace through the first holder that still holds it; returns the descriptor
/// and the path it came from.
pub fn open(root: &HostRoot, handle: &NetnsHandle) -> Result<(OwnedFd, PathBuf), NetError> {
    let mut denied = None;
    let mut last = None;
    for path in paths(root, handle) {
        match open_checked(&path, handle.inode) {
            Ok(Some(fd)) => return Ok((fd, path)),
            Ok(None) => {}
            Err(NetError::OpenDenied { path }) => denied = Some(path),
            Err(other) => last = Some(other),
        }
        last.get_or_insert(NetError::Vanished {
            inode: handle.inode,
            path,
        });
    }
    if let Some(path) = denied {
        return Err(NetError::OpenDenied { path });
    }
    Err(last.unwrap_or(NetError::Vanished {
        inode: handle.inode,
        path: PathBuf::new(),
    }))
}

/// Opens one namespace file; `Ok(None)` when it is gone or is now another namespace.
fn open_checked(path: &Path, inode: u64) -> Result<Option<OwnedFd>, NetError> {
    let fd = match nsfs::open(path) {
        Ok(fd) => fd,
        Err(e) if is_vanished(&e) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(NetError::OpenDenied {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(NetError::Open {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    match nsfs::inode(fd.as_fd()) {
        Ok(found) if found == inode => Ok(Some(fd)),
        Ok(_) => Ok(None),
        Err(source) => Err(NetError::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::namespace::NsSet;
    use crate::host::process::Process;

    fn process(pid: i32, net: Option<u64>) -> Process {
        let mut ns = NsSet::default();
        ns.set(NsKind::Net, net);
        Process::new(pid, 0, ns)
    }

    fn mount(kind: NsKind, inode: u64, at: &str) -> NsfsMount {
        NsfsMount {
            kind,
            inode,
            mount_point: PathBuf::from(at),
            display: at.to_string(),
        }
    }

    #[test]
    fn one_handle_per_namespace_with_every_holder() {
        let processes = [
            process(30, Some(7)),
            process(10, Some(7)),
            process(20, Some(5)),
            process(40, None),
        ];
        let mounts = [
            mount(NsKind::Net, 7, "/run/netns/pod"),
            mount(NsKind::Net, 7, "/run/netns/pod"),
            mount(NsKind::Net, 9, "/run/docker/netns/abc"),
            mount(NsKind::User, 3, "/tmp/user"),
        ];
        let handles = discover(&processes, &mounts);
        let summary: Vec<(u64, Vec<i32>, Vec<String>)> = handles
            .iter()
            .map(|h| (h.inode, h.pids.clone(), h.mounts_shown.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (5, vec![20], vec![]),
                (7, vec![10, 30], vec!["/run/netns/pod".to_string()]),
                (9, vec![], vec!["/run/docker/netns/abc".to_string()]),
            ]
        );
    }

    #[test]
    fn paths_try_processes_then_mounts_under_the_root() {
        let root = HostRoot::under(Path::new("/host"));
        let handle = from_members([(12, 4), (3, 4)], &[mount(NsKind::Net, 4, "/run/netns/x")]);
        assert_eq!(
            paths(&root, &handle[0]),
            vec![
                PathBuf::from("/host/proc/3/ns/net"),
                PathBuf::from("/host/proc/12/ns/net"),
                PathBuf::from("/host/run/netns/x"),
            ]
        );
    }

    #[test]
    fn a_namespace_nobody_holds_any_more_is_vanished() {
        let root = HostRoot::live();
        // Pid 0 never exists; i32::MAX is above any pid_max.
        let handle = &from_members([(i32::MAX, 1)], &[])[0];
        let err = open(&root, handle).unwrap_err();
        assert!(err.is_vanished(), "{err}");
    }

    #[test]
    fn our_own_namespace_opens_and_a_wrong_inode_does_not() {
        let root = HostRoot::live();
        let me = std::process::id() as i32;
        let inode = nsfs::inode_of_path(Path::new("/proc/self/ns/net")).unwrap();
        let (fd, path) = open(&root, &from_members([(me, inode)], &[])[0]).unwrap();
        assert_eq!(nsfs::inode(fd.as_fd()).unwrap(), inode);
        assert_eq!(path, root.pid_dir(me).join("ns/net"));
        let wrong = open(&root, &from_members([(me, inode + 1)], &[])[0]).unwrap_err();
        assert!(wrong.is_vanished(), "{wrong}");
    }
}

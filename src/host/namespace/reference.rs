//! The host reference: which namespaces count as "the host's", and why isotop believes so.
//!
//! The natural answer is PID 1's namespaces, but PID 1 may hide them (on some machines its
//! `/proc/1/ns/*` links are EACCES even for root). The next best witness is kthreadd (PID 2 with
//! parent 0 and the kernel-thread flag): kernel threads are forked from the initial task and
//! never leave the initial namespaces. Failing both, isotop's own process is used, which is the
//! host's only when isotop runs on the host; the `explanation` says which witness was taken and
//! why the better ones were not, so a user reading the output can judge.

use serde::{Deserialize, Serialize};

use super::{NsSet, read_ns_set};
use crate::host::HostRoot;
use crate::host::process::{Records, read_stat};

/// The process whose namespaces stand for the host's, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReference {
    /// The witness pid; `None` when no process's namespaces could be read.
    pub pid: Option<i32>,
    pub explanation: String,
    pub ns: NsSet,
}

impl HostReference {
    /// True when `inode` of `kind` is one of the host's namespaces.
    pub fn is_host(&self, kind: super::NsKind, inode: u64) -> bool {
        self.ns.get(kind) == Some(inode)
    }
}

/// What kthreadd's `stat` says: whether it is the kernel thread with parent 0, and its name.
#[derive(Debug, Clone)]
pub(super) struct Kthread {
    pub(super) ppid: i32,
    pub(super) kernel_thread: bool,
    pub(super) comm: String,
}

/// Picks the host reference: PID 1 where readable, else kthreadd, else isotop itself.
/// `processes` is consulted for PIDs 1 and 2 (to avoid reading them twice); what is missing
/// there is read.
pub fn host_reference<'p>(root: &HostRoot, processes: impl Into<Records<'p>>) -> HostReference {
    let processes = processes.into();
    let find = |pid: i32| processes.iter().find(|p| p.pid == pid);
    let pid2 = find(2).map(|p| {
        // A record read with namespaces only has no `stat` fields (its comm is empty).
        let stat = (!p.comm.is_empty()).then(|| Kthread {
            ppid: p.ppid,
            kernel_thread: p.kernel_thread,
            comm: p.comm.to_string(),
        });
        (p.ns, stat)
    });
    reference_from(root, find(1).map(|p| p.ns), pid2)
}

/// [`host_reference`] from what the caller read: PID 1's links, PID 2's links and maybe its
/// `stat`; what is `None` is read here.
pub(super) fn reference_from(
    root: &HostRoot,
    pid1: Option<NsSet>,
    pid2: Option<(NsSet, Option<Kthread>)>,
) -> HostReference {
    let pid1 = pid1.or_else(|| read_ns_set(root, 1).ok().flatten());
    let why_not_pid1 = match pid1 {
        Some(ns) if !ns.denied && !ns.is_empty() => {
            return HostReference {
                pid: Some(1),
                explanation: "PID 1 (init): its namespaces are the host's".to_string(),
                ns,
            };
        }
        Some(ns) if ns.denied => "PID 1's namespace links are unreadable (permission denied)",
        Some(_) => "PID 1 shows no namespace links",
        None => "PID 1 is not visible",
    };

    let pid2_ns = pid2
        .as_ref()
        .map(|(ns, _)| *ns)
        .or_else(|| read_ns_set(root, 2).ok().flatten());
    let stat = pid2.and_then(|(_, stat)| stat).or_else(|| {
        let stat = read_stat(root, 2, &mut Vec::new()).ok()??;
        Some(Kthread {
            ppid: stat.ppid,
            kernel_thread: stat.kernel_thread,
            comm: stat.comm,
        })
    });
    if let (Some(ns), Some(kthreadd)) = (pid2_ns, stat)
        && kthreadd.ppid == 0
        && kthreadd.kernel_thread
        && !ns.denied
        && !ns.is_empty()
    {
        return HostReference {
            pid: Some(2),
            explanation: format!(
                "{why_not_pid1}; using PID 2 ({}), a kernel thread with parent 0: kernel threads \
                 stay in the initial namespaces",
                kthreadd.comm
            ),
            ns,
        };
    }

    let own = std::fs::read_link(root.self_dir())
        .ok()
        .and_then(|target| target.to_str()?.parse::<i32>().ok());
    if let Some(pid) = own
        && let Ok(Some(ns)) = read_ns_set(root, pid)
        && !ns.is_empty()
    {
        return HostReference {
            pid: Some(pid),
            explanation: format!(
                "{why_not_pid1} and PID 2 is not a kernel thread; using isotop's own process \
                 (pid {pid}): these are the host's namespaces only if isotop runs on the host"
            ),
            ns,
        };
    }

    HostReference {
        pid: None,
        explanation: format!(
            "{why_not_pid1}, PID 2 is not a kernel thread and isotop's own namespaces are \
             unreadable: no host reference"
        ),
        ns: NsSet::default(),
    }
}

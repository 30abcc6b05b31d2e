//! Containers of every runtime, identified from files alone (no daemon is asked).
//!
//! Contract: [`find_containers`] turns a process snapshot into the running containers: which
//! processes belong to which container comes from their cgroup paths, runc/crun state dirs
//! and, for what no runtime names, their own pid + mount namespaces ([`assign`]); the human
//! name, image, labels and pod come from the runtime's files ([`crate::host::runtime`]), with
//! the id as the fallback whenever those are missing or broken. Every process is in at most
//! one container; kernel threads in none. [`find_stopped`] lists what runtimes keep on disk
//! without a running process (`ls --all`). Both are infallible: unreadable files only make
//! the answer less rich. Every container carries its [`Trust`]: a runc/crun state another user
//! could have written names processes only when it checks out ([`claim`]); what does not is
//! listed as unverified, with the reason, and acts refuse it. [`measure`] is the one place a
//! container's figures (state, uptime, cgroup reading, memory, limits, CPU counter) are read.

pub mod assign;
pub mod claim;
pub mod hidden;
pub mod hints;
pub mod measure;
pub mod ownership;
pub mod rules;
pub mod stopped;

use foldhash::HashMap;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use self::claim::Trust;
pub use self::hints::ContainerHints;
pub use super::runtime::{Pod, Runtime};

use self::assign::Group;
use super::HostRoot;
use super::namespace::{NsKind, NsSet};
use super::process::{CgroupMembership, Process, Records};
use super::runtime::containerd::TaskIndex;
use super::runtime::oci::{self, OciState};
use super::runtime::podman::{self, PodmanStores};
use super::runtime::{Metadata, docker, lxc, nspawn};
use super::text::clean_str;

/// One container as the kernel and its runtime's files describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// The runtime's id (LXC/nspawn: the name; unknown: [`UNKNOWN_ID_PREFIX`]`<inode>`).
    /// Raw (it names files and cgroups): display it through [`crate::units::short_id()`], which
    /// cleans.
    pub id: String,
    /// Human name from the runtime's files, else the id (unknown: the init's comm). Cleaned.
    pub name: String,
    pub runtime: Runtime,
    /// Image reference as the runtime recorded it.
    pub image: Option<String>,
    /// Host pid of the container's init (`None` for stopped containers).
    pub init_pid: Option<i32>,
    /// Host pids of every process in the container, ascending.
    pub pids: Vec<i32>,
    /// The init's memberships, from `/proc/<pid>/cgroup`: the init's own list, shared (the
    /// sampler keeps one copy of each distinct list).
    pub cgroups: Arc<[CgroupMembership]>,
    /// The container's own cgroup path, e.g. `/docker/<id>`.
    pub cgroup_path: Option<String>,
    /// The init's namespaces.
    pub namespaces: NsSet,
    /// Namespace kinds the init shares with the host reference.
    pub shared_with_host: Vec<NsKind>,
    pub pod: Option<Pod>,
    /// Labels or annotations, cleaned.
    pub labels: BTreeMap<String, String>,
    /// The runtime file the name came from.
    pub metadata: Option<PathBuf>,
    /// The init's start time, clock ticks after boot.
    pub start_ticks: Option<u64>,
    /// True when the container has processes (or, unverified, claims a running one).
    pub running: bool,
    /// Whether the files naming it may be believed (`verified`, `unverified_reason`,
    /// `claimed_by_uid` in JSON).
    #[serde(flatten)]
    pub trust: Trust,
}

/// Id prefix of the containers no runtime names: `pidns-<inode of their pid namespace>`.
pub const UNKNOWN_ID_PREFIX: &str = "pidns-";

impl Container {
    /// True when the name is what the container's init process calls itself (its `comm`):
    /// a container no runtime names (id `pidns-<inode>`, even when a `container=` variable
    /// in its environment hinted a runtime) is named by its init, i.e. by whoever started it.
    /// Such a name is shown, but never trusted to pick a container (see `cli::target`).
    pub fn name_is_process_chosen(&self) -> bool {
        self.id.starts_with(UNKNOWN_ID_PREFIX) && self.name != self.id
    }
}

/// The running containers among `processes`. `host_ns` is the host reference the caller picked
/// (e.g. isotop's own namespaces when PID 1's are unreadable): namespaces equal to it are
/// "shared with the host", and processes whose pid and mount namespaces both differ from it
/// are containers even when no runtime names them. Sorted by runtime, name, id.
pub fn find_containers<'p>(
    root: &HostRoot,
    processes: impl Into<Records<'p>>,
    host_ns: &NsSet,
) -> Vec<Container> {
    find_containers_hinted(root, processes, host_ns, &mut ContainerHints::default())
}

/// [`find_containers`], taking the inits' `container=` variables from `hints` where it read
/// them before (the sampler keeps them from grouping to grouping: [`ContainerHints`]).
pub fn find_containers_hinted<'p>(
    root: &HostRoot,
    processes: impl Into<Records<'p>>,
    host_ns: &NsSet,
    hints: &mut ContainerHints,
) -> Vec<Container> {
    let processes = processes.into();
    hints.begin();
    let tasks = TaskIndex::read(root);
    let states = oci::read_states(root);
    let groups = assign::group_processes(root, processes, host_ns, &tasks, &states);
    let by_pid: HashMap<i32, &Process> = processes.iter().map(|p| (p.pid, p)).collect();
    let mut stores: Option<PodmanStores> = None;
    let mut containers: Vec<Container> = groups
        .into_iter()
        .map(|group| {
            let meta = metadata_for(root, &group, &tasks, &states, &mut stores);
            build(root, group, meta, &by_pid, &states, host_ns, hints)
        })
        .collect();
    hints.keep_only(|pid, start| by_pid.get(&pid).is_some_and(|p| p.start_ticks == start));
    sort(&mut containers);
    containers
}

/// Containers the runtimes keep on disk with no running process: runc/crun states, Docker
/// configs, Podman/CRI-O stores, containerd tasks, LXC configs. `running` is what
/// [`find_containers`] returned; anything with one of their ids is left out.
pub fn find_stopped(root: &HostRoot, running: &[Container]) -> Vec<Container> {
    let mut stopped = stopped::find(root, running);
    sort(&mut stopped);
    stopped
}

fn sort(containers: &mut [Container]) {
    containers.sort_by(|a, b| (a.runtime, &a.name, &a.id).cmp(&(b.runtime, &b.name, &b.id)));
}

/// Reads the group's runtime files.
fn metadata_for(
    root: &HostRoot,
    group: &Group,
    tasks: &TaskIndex,
    states: &[OciState],
    stores: &mut Option<PodmanStores>,
) -> Metadata {
    let id = group.id.as_str();
    let mut podman_lookup = |id: &str| {
        stores
            .get_or_insert_with(|| PodmanStores::read(root))
            .lookup(id)
    };
    match group.runtime {
        Runtime::Docker => docker::read(root, id),
        Runtime::Kubernetes => Some(super::runtime::containerd::read_kubernetes(
            root,
            tasks,
            id,
            group.pod_uid.as_deref(),
        )),
        Runtime::Podman => podman_lookup(id),
        Runtime::CriO => podman::read_crio(root, id).or_else(|| podman_lookup(id)),
        Runtime::Containerd => group
            .namespace
            .as_deref()
            .and_then(|ns| tasks.get(ns, id))
            .map(super::runtime::containerd::read),
        Runtime::Lxc => Some(lxc::read(root, id)),
        Runtime::Nspawn => nspawn::read(root, id),
        Runtime::Runc | Runtime::Crun => group.oci.map(|i| oci_metadata(&states[i])),
        Runtime::Isotop => super::runtime::isotop::read(root, id),
        Runtime::Unknown => None,
    }
    .unwrap_or_default()
}

/// runc/crun record no name: the metadata is the state file, its labels and init.
pub(crate) fn oci_metadata(state: &OciState) -> Metadata {
    Metadata {
        name: None,
        image: None,
        labels: state.labels.clone(),
        pod: None,
        init_pid: state.init_pid,
        source: Some(state.source.clone()),
    }
}

fn build(
    root: &HostRoot,
    group: Group,
    meta: Metadata,
    by_pid: &HashMap<i32, &Process>,
    states: &[OciState],
    host_ns: &NsSet,
    hints: &mut ContainerHints,
) -> Container {
    let recorded_init = meta
        .init_pid
        .or_else(|| group.oci.and_then(|i| states[i].init_pid))
        .filter(|pid| group.pids.binary_search(pid).is_ok());
    let init_pid = recorded_init.or_else(|| lowest_root(&group.pids, by_pid));
    let init = init_pid.and_then(|pid| by_pid.get(&pid).copied());
    let mut runtime = group.runtime;
    if runtime == Runtime::Unknown
        && let Some(init) = init
        && let Some(hint) = hints.of(root, init)
        && let Some(hinted) = Runtime::from_environ_hint(&hint)
    {
        runtime = hinted;
    }
    let name = meta
        .name
        .or_else(|| {
            (group.runtime == Runtime::Unknown)
                .then(|| init.map(|p| p.comm.to_string()))
                .flatten()
                .filter(|c| !c.is_empty())
        })
        // The id comes from a cgroup path segment (a user with a delegated subtree names
        // it): as a name, cleaned like every other.
        .unwrap_or_else(|| clean_str(&group.id));
    // Podman 4+ records a container's pod only in its database; its cgroup path names it.
    let pod = meta.pod.or_else(|| {
        (group.runtime == Runtime::Podman)
            .then(|| {
                group
                    .cgroup_path
                    .as_deref()
                    .and_then(podman::pod_from_cgroup_path)
            })
            .flatten()
    });
    let namespaces = init.map(|p| p.ns).unwrap_or_default();
    let shared_with_host = namespaces
        .iter()
        .filter(|(kind, inode)| host_ns.get(*kind) == Some(*inode))
        .map(|(kind, _)| kind)
        .collect();
    Container {
        id: group.id,
        name,
        runtime,
        image: meta.image,
        init_pid,
        pids: group.pids,
        cgroups: init.map(|p| Arc::clone(&p.cgroups)).unwrap_or_default(),
        cgroup_path: group.cgroup_path,
        namespaces,
        shared_with_host,
        pod,
        labels: meta.labels,
        metadata: meta.source,
        start_ticks: init.map(|p| p.start_ticks),
        running: true,
        trust: group.trust,
    }
}

/// The container's init when no runtime file says: among the processes whose parent is not in
/// the container, the lowest pid.
fn lowest_root(pids: &[i32], by_pid: &HashMap<i32, &Process>) -> Option<i32> {
    pids.iter()
        .copied()
        .filter(|pid| {
            by_pid
                .get(pid)
                .is_none_or(|p| pids.binary_search(&p.ppid).is_err())
        })
        .min()
        .or_else(|| pids.first().copied())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::host::text::must_escape;

    /// A cgroup segment below any `isotop` segment names an isotop container; a user with a
    /// delegated cgroup subtree picks that segment, and with no record behind it the name
    /// falls back to it: cleaned like every name.
    #[test]
    fn names_that_fall_back_to_a_cgroup_segment_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let root = HostRoot::under(dir.path());
        let mut process = Process::new(4242, 1000, NsSet::default());
        process.cgroups = Arc::from(vec![CgroupMembership {
            hierarchy: 0,
            controllers: Vec::new(),
            path: "/user.slice/user@1000.service/isotop/evil\u{202e}\u{1b}[2J".into(),
        }]);
        let found = find_containers(&root, &[process], &NsSet::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].runtime, Runtime::Isotop);
        assert!(
            !found[0].name.chars().any(must_escape),
            "an unclean name: {:?}",
            found[0].name
        );
        assert_eq!(found[0].name, "evil??[2J");
    }
}

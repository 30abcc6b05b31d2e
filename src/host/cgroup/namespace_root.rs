//! isotop inside a cgroup namespace of its own (an unprivileged pod on a cgroup v2 node,
//! `unshare --cgroup`): the kernel then shows every cgroup path relative to isotop's namespace
//! root, climbing out of it with `..` — other processes' `/proc/PID/cgroup` lines
//! (`0::/../../kubepods.slice/…`) and the root field of cgroup mounts in mountinfo
//! (`/../../..` for the host's `/sys/fs/cgroup` bound in).
//!
//! Contract: [`namespace_roots`] finds, once per [`HostRoot`] (cached for the process's life:
//! a namespace's root never moves), the absolute path of isotop's namespace root in each
//! mounted hierarchy; [`NamespaceRoots::translate`] turns a namespace-relative path into the
//! absolute one, lexically ([`resolve`], never above `/`). The read side translates at the two
//! places paths enter it — `/proc/PID/cgroup` (`host::process`) and the mount roots
//! (`layout`) — so everything downstream sees host paths. Outside a namespace (or in one
//! rooted at `/`) nothing changes. A root that cannot be found leaves the paths as the kernel
//! gave them (their `..` refused downstream, as before) and says why in [`NamespaceRoots::warning`].
//!
//! How the root is found: the kernel gives no absolute path, but the mountinfo root of a mount
//! showing the whole hierarchy is `..` once per level of the namespace root's depth; isotop's
//! own line of `/proc/self/cgroup` is its cgroup relative to that root. So below such a mount
//! (checked to be the hierarchy root by its root-only files), the namespace root is the one
//! directory at that depth whose `<own path>/cgroup.procs` lists isotop's own pid (every
//! process is in exactly one cgroup of a hierarchy). Bounded: at most [`MAX_DEPTH`] levels and
//! [`MAX_DIRS`] directories listed; symlinks are never followed (cgroupfs has none; a fixture
//! or a hostile mount might).

use foldhash::HashMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use procfs_core::FromBufRead;
use procfs_core::process::{MountInfo, MountInfos};

use super::layout::v1_controllers;
use crate::host::process::CgroupMembership;
use crate::host::{HostRoot, read_optional};

/// Deepest namespace root searched for (levels below the hierarchy root). Kubernetes puts a
/// container's cgroup 4 levels down (`kubepods.slice/…-burstable.slice/…pod….slice/….scope`).
pub const MAX_DEPTH: usize = 16;
/// Most directories listed while searching one hierarchy (a node of 110 pods has ~1,000).
pub const MAX_DIRS: usize = 100_000;

/// The absolute path `relative` names when read against `base` (an absolute cgroup path
/// without `..`): `..` climbs, `.` and empty parts are dropped. `None` when it climbs above
/// `/` (or `base` is not clean): such a path names nothing.
pub fn resolve(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            name => parts.push(name),
        }
    }
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// isotop's namespace root in one mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RootIn {
    /// 1 or 2.
    version: u8,
    /// v1: the controllers of the hierarchy (as in `Hierarchy::controllers`); v2: empty.
    controllers: Vec<String>,
    /// The absolute path of the namespace root; `None` when it could not be found.
    absolute: Option<String>,
}

/// isotop's cgroup namespace roots, per hierarchy (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceRoots {
    roots: Vec<RootIn>,
    /// Why some hierarchy's root could not be found, and what to do about it.
    pub warning: Option<String>,
}

impl NamespaceRoots {
    /// True when no path needs translating (every known root is `/`).
    pub fn is_identity(&self) -> bool {
        self.roots
            .iter()
            .all(|r| r.absolute.as_deref().is_none_or(|a| a == "/"))
    }

    /// The root of the hierarchy `version`/`controllers` name (v1: the hierarchy sharing one
    /// of the controllers, as `CgroupLayout::hierarchy_for` matches).
    fn root_of(&self, version: u8, controllers: &[String]) -> Option<&str> {
        self.roots
            .iter()
            .find(|r| {
                r.version == version
                    && (version == 2 || controllers.iter().any(|c| r.controllers.contains(c)))
            })?
            .absolute
            .as_deref()
    }

    /// `path` (namespace-relative, as the kernel shows it to isotop) as the absolute path in
    /// the hierarchy `version`/`controllers`; unchanged when the root there is `/` or unknown,
    /// or when the path climbs above `/` (it stays refused downstream).
    pub fn translate(&self, version: u8, controllers: &[String], path: &str) -> String {
        match self.root_of(version, controllers) {
            Some(base) if base != "/" => resolve(base, path).unwrap_or_else(|| path.to_string()),
            _ => path.to_string(),
        }
    }

    /// Translates every line of a process's `/proc/PID/cgroup` in place.
    pub fn translate_memberships(&self, memberships: &mut [CgroupMembership]) {
        if self.is_identity() {
            return;
        }
        for m in memberships {
            let version = if m.hierarchy == 0 && m.controllers.is_empty() {
                2
            } else {
                1
            };
            m.path = self.translate(version, &m.controllers, &m.path);
        }
    }
}

/// Found roots by the (prefix, procfs) they were found through: a process usually has one
/// or two (the live host, a test's fixture), so a list searched by borrowed paths — asked once
/// per process read, a lookup must not copy two paths each time.
type Cache = Mutex<Vec<((PathBuf, PathBuf), Arc<NamespaceRoots>)>>;
static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();

/// isotop's namespace roots as seen through `root` (found on first use, then cached).
pub fn namespace_roots(root: &HostRoot) -> Arc<NamespaceRoots> {
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let cached = |list: &[((PathBuf, PathBuf), Arc<NamespaceRoots>)]| {
        list.iter()
            .find(|((prefix, proc), _)| *prefix == root.prefix && *proc == root.proc)
            .map(|(_, found)| Arc::clone(found))
    };
    if let Some(found) = cached(&cache.lock().unwrap_or_else(|e| e.into_inner())) {
        return found;
    }
    // Found outside the lock: the search reads files; two threads racing both find the same.
    let found = Arc::new(find(root));
    let mut list = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(first) = cached(&list) {
        return first;
    }
    list.push(((root.prefix.clone(), root.proc.clone()), Arc::clone(&found)));
    found
}

/// One mounted hierarchy as mountinfo shows it: its mounts' roots and where isotop reads them.
struct Mounted {
    version: u8,
    controllers: Vec<String>,
    /// (root field, directory) per mount of this superblock.
    mounts: Vec<(String, PathBuf)>,
}

/// What isotop sees of itself and of the host's init, for one hierarchy.
struct Seen<'a> {
    /// isotop's own cgroup, namespace-relative (`/proc/self/cgroup`).
    own_path: Option<&'a str>,
    /// PID 1's cgroup as isotop sees it (with hostPID the host's init: `/..` when nested).
    init_path: Option<&'a str>,
    /// isotop's pid as `cgroup.procs` files show it to isotop.
    own_pid: Option<i32>,
    /// See [`same_namespace_as_init`].
    same_as_init: Option<bool>,
}

/// Reads `<proc>/self/{cgroup,mountinfo}` (and PID 1's cgroup and namespace for the signs) and
/// finds the root in every hierarchy.
fn find(root: &HostRoot) -> NamespaceRoots {
    let memberships = |dir: PathBuf| {
        read_optional(&dir.join("cgroup"))
            .ok()
            .flatten()
            .and_then(|text| procfs_core::ProcessCGroups::from_buf_read(text.as_bytes()).ok())
            .map(|groups| groups.0)
            .unwrap_or_default()
    };
    let own = memberships(root.self_dir());
    let init = memberships(root.pid_dir(1));
    let mountinfo = read_optional(&root.self_dir().join("mountinfo"))
        .ok()
        .flatten()
        .and_then(|text| MountInfos::from_buf_read(text.as_bytes()).ok())
        .map(|m| m.0)
        .unwrap_or_default();
    let own_pid = std::fs::read_link(root.self_dir())
        .ok()
        .and_then(|link| link.to_str()?.parse::<i32>().ok());
    let same_as_init = same_namespace_as_init(root);
    let mut roots = NamespaceRoots::default();
    let mut why = Vec::new();
    for mounted in group_mounts(root, mountinfo) {
        let line_of = |lines: &'_ [procfs_core::ProcessCGroup]| {
            lines
                .iter()
                .find(|g| {
                    if mounted.version == 2 {
                        g.hierarchy == 0 && g.controllers.is_empty()
                    } else {
                        g.controllers
                            .iter()
                            .any(|c| mounted.controllers.contains(c))
                    }
                })
                .map(|g| g.pathname.clone())
        };
        let (own_path, init_path) = (line_of(&own), line_of(&init));
        let seen = Seen {
            own_path: own_path.as_deref(),
            init_path: init_path.as_deref(),
            own_pid,
            same_as_init,
        };
        let absolute = root_of(&mounted, &seen);
        if let Err(reason) = &absolute {
            why.push(format!("{}: {reason}", label(&mounted)));
        }
        roots.roots.push(RootIn {
            version: mounted.version,
            controllers: mounted.controllers,
            absolute: absolute.ok(),
        });
    }
    if !why.is_empty() {
        roots.warning = Some(format!(
            "isotop runs in a cgroup namespace of its own and could not find where its root \
             lies ({}): cgroups outside that namespace are not shown; run isotop in the host's \
             cgroup namespace (`--cgroupns=host`, a privileged pod) or mount the host's whole \
             cgroup hierarchy (the DaemonSet's /host/sys/fs/cgroup)",
            why.join("; ")
        ));
    }
    roots
}

fn label(mounted: &Mounted) -> String {
    if mounted.version == 2 {
        "unified".to_string()
    } else {
        mounted.controllers.join(",")
    }
}

/// `Some(true)` when `/proc/self/ns/cgroup` and `/proc/1/ns/cgroup` are the same namespace
/// (with hostPID, pid 1 is the host's init); `None` when either is unreadable (EACCES without
/// `CAP_SYS_PTRACE`) or absent (fixture roots).
fn same_namespace_as_init(root: &HostRoot) -> Option<bool> {
    let own = std::fs::read_link(root.self_dir().join("ns/cgroup")).ok()?;
    let init = std::fs::read_link(root.pid_dir(1).join("ns/cgroup")).ok()?;
    Some(own == init)
}

/// The cgroup mounts of mountinfo, one entry per superblock (hierarchy).
fn group_mounts(root: &HostRoot, mounts: Vec<MountInfo>) -> Vec<Mounted> {
    let mut out: Vec<Mounted> = Vec::new();
    let mut by_superblock: HashMap<String, usize> = HashMap::default();
    for mount in mounts {
        let version = match mount.fs_type.as_str() {
            "cgroup2" => 2,
            "cgroup" => 1,
            _ => continue,
        };
        let dir = root.host_path(&mount.mount_point);
        if let Some(&i) = by_superblock.get(&mount.majmin) {
            out[i].mounts.push((mount.root, dir));
            continue;
        }
        by_superblock.insert(mount.majmin.clone(), out.len());
        let controllers = if version == 2 {
            Vec::new()
        } else {
            v1_controllers(&mount)
        };
        out.push(Mounted {
            version,
            controllers,
            mounts: vec![(mount.root, dir)],
        });
    }
    out
}

/// The number of levels `root` climbs when it is nothing but `..` (`/../..` is 2); `None`
/// when it names anything.
fn climbs_only(root: &str) -> Option<usize> {
    let parts: Vec<&str> = root.split('/').filter(|p| !p.is_empty()).collect();
    parts.iter().all(|p| *p == "..").then_some(parts.len())
}

/// True when `dir` is the root cgroup of its hierarchy: the kernel puts some files only there
/// (v1 `cgroup.sane_behavior` and `release_agent`) and some everywhere but there (v2
/// `cgroup.type`).
fn is_hierarchy_root(dir: &Path, version: u8) -> bool {
    if version == 2 {
        dir.join("cgroup.controllers").is_file() && !dir.join("cgroup.type").exists()
    } else {
        dir.join("cgroup.sane_behavior").is_file() || dir.join("release_agent").is_file()
    }
}

/// isotop's namespace root in one hierarchy, or why it is not known.
fn root_of(mounted: &Mounted, seen: &Seen) -> Result<String, String> {
    let climbs = |path: Option<&str>| path.is_some_and(|p| p.starts_with("/.."));
    let climbing_mount = mounted.mounts.iter().any(|(r, _)| climbs(Some(r)));
    let nested = climbing_mount
        || climbs(seen.own_path)
        || climbs(seen.init_path)
        || seen.same_as_init == Some(false);
    if !nested {
        return Ok("/".into());
    }
    if !climbing_mount {
        // Every mount shows isotop's namespace root (or below): fine when that root is the
        // hierarchy's own, else nothing outside the namespace can be reached.
        return if mounted
            .mounts
            .iter()
            .any(|(r, dir)| r == "/" && is_hierarchy_root(dir, mounted.version))
        {
            Ok("/".into())
        } else {
            Err("every mount of it shows only isotop's own subtree".into())
        };
    }
    let own_path = seen.own_path;
    let own_pid = seen.own_pid;
    let Some(own_path) = own_path else {
        return Err("isotop's own /proc/self/cgroup names no cgroup here".into());
    };
    if own_path.split('/').any(|p| p == "..") {
        return Err(format!(
            "isotop's own cgroup ({own_path}) lies outside its namespace"
        ));
    }
    let Some(pid) = own_pid else {
        return Err("isotop's own pid is unknown (no /proc/self link)".into());
    };
    let Some((depth, dir)) = mounted.mounts.iter().find_map(|(r, dir)| {
        let depth = climbs_only(r)?;
        (depth > 0 && is_hierarchy_root(dir, mounted.version)).then_some((depth, dir))
    }) else {
        return Err("no mount shows the whole hierarchy".into());
    };
    if depth > MAX_DEPTH {
        return Err(format!(
            "the namespace root is {depth} levels deep (searched: {MAX_DEPTH})"
        ));
    }
    search(dir, depth, own_path, pid)
}

/// The directory `depth` levels below `dir` whose `<own_path>/cgroup.procs` lists `pid`, as
/// an absolute cgroup path. Breadth-first, symlinks not followed, at most [`MAX_DIRS`] listed.
fn search(dir: &Path, depth: usize, own_path: &str, pid: i32) -> Result<String, String> {
    let own: PathBuf = own_path.split('/').filter(|p| !p.is_empty()).collect();
    let mut queue: VecDeque<(PathBuf, usize)> = VecDeque::from([(PathBuf::new(), 0)]);
    let mut listed = 0usize;
    while let Some((relative, level)) = queue.pop_front() {
        if level == depth {
            let procs = dir.join(&relative).join(&own).join("cgroup.procs");
            if holds(&procs, pid) {
                let parts: Vec<String> = relative
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                return Ok(format!("/{}", parts.join("/")));
            }
            continue;
        }
        listed += 1;
        if listed > MAX_DIRS {
            return Err(format!(
                "searched {MAX_DIRS} cgroups of {} without finding isotop's own",
                dir.display()
            ));
        }
        let Ok(entries) = std::fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in entries.flatten() {
            // `file_type` does not follow symlinks.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                queue.push_back((relative.join(entry.file_name()), level + 1));
            }
        }
    }
    Err(format!(
        "no cgroup {depth} levels below {} holds isotop (pid {pid}) at {own_path}",
        dir.display()
    ))
}

/// True when the `cgroup.procs` file lists `pid`.
fn holds(procs: &Path, pid: i32) -> bool {
    std::fs::read_to_string(procs).is_ok_and(|text| {
        text.lines()
            .any(|line| line.trim().parse::<i32>().ok() == Some(pid))
    })
}

#[cfg(test)]
mod tests;

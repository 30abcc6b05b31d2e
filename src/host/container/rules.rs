//! Cgroup path rules: which runtime and container a cgroup path names.
//!
//! A path is split into segments and each segment is tried against every runtime's pattern,
//! given its parent segment; the deepest segment that matches is the container (nested
//! containers: the innermost wins). At one segment the order is Kubernetes (a container segment
//! directly below a `pod<uid>` segment under `kubepods`), Docker, Podman, CRI-O, LXC, nspawn,
//! isotop, containerd. containerd's `/<namespace>/<id>` and `<prefix>-<id>.scope` count only
//! when the task dir exists. The container's own cgroup is the path up to that segment (plus
//! nspawn's `payload`); deeper segments are the container's own sub-cgroups. Pure string work
//! except for the task index handed in.

use foldhash::HashMap;

use crate::host::runtime::containerd::TaskIndex;
use crate::host::runtime::{Runtime, isotop, lxc, nspawn};
use crate::units::ContainerId;

/// What one cgroup path says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch {
    pub runtime: Runtime,
    /// Container id (LXC and nspawn: the name from the path).
    pub id: String,
    /// The container's own cgroup path, a prefix of the matched path, e.g. `/docker/<id>`.
    pub container_path: String,
    /// Segments in `container_path`: deeper is more inner.
    pub depth: usize,
    /// Kubernetes pod uid from the `pod<uid>` segment.
    pub pod_uid: Option<String>,
    /// containerd namespace of the task.
    pub namespace: Option<String>,
    /// A bare `payload` segment: systemd-nspawn without a unit name. Only a process whose
    /// ancestor is `systemd-nspawn` (or whose environment says so) confirms it.
    pub bare_payload: bool,
    /// For a bare `payload`: the innermost container above it, which the process belongs to
    /// when the payload turns out not to be nspawn's (a cgroup that is merely called so).
    pub outer: Option<Box<PathMatch>>,
}

/// Matches paths against the rules, remembering each distinct path's answer (a scan sees few
/// distinct paths and many processes).
pub struct PathRules<'a> {
    tasks: &'a TaskIndex,
    cache: HashMap<String, Option<PathMatch>>,
}

impl<'a> PathRules<'a> {
    pub fn new(tasks: &'a TaskIndex) -> Self {
        PathRules {
            tasks,
            cache: HashMap::default(),
        }
    }

    /// The innermost container `path` names, if any.
    pub fn match_path(&mut self, path: &str) -> Option<PathMatch> {
        if let Some(hit) = self.cache.get(path) {
            return hit.clone();
        }
        let found = match_segments(path, self.tasks);
        self.cache.insert(path.to_string(), found.clone());
        found
    }
}

/// Splits a cgroup path into its non-empty segments.
pub fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn join(segs: &[&str]) -> String {
    format!("/{}", segs.join("/"))
}

fn match_segments(path: &str, tasks: &TaskIndex) -> Option<PathMatch> {
    let segs = segments(path);
    let mut found = None;
    for i in 0..segs.len() {
        if let Some(mut hit) = match_at(&segs, i, tasks) {
            if hit.bare_payload {
                hit.outer = found.take().map(Box::new);
            }
            found = Some(hit);
        }
    }
    found
}

/// The container named by segment `i` of `segs`, if any (highest precedence first).
fn match_at(segs: &[&str], i: usize, tasks: &TaskIndex) -> Option<PathMatch> {
    let seg = segs[i];
    let parent = i.checked_sub(1).map(|p| segs[p]);
    let here = |runtime: Runtime, id: String| PathMatch {
        runtime,
        id,
        container_path: join(&segs[..=i]),
        depth: i + 1,
        pod_uid: None,
        namespace: None,
        bare_payload: false,
        outer: None,
    };
    if let Some(uid) = parent.and_then(|p| pod_uid(p, &segs[..i - 1]))
        && let Some(id) = kubernetes_container_id(seg)
    {
        return Some(PathMatch {
            pod_uid: Some(uid),
            ..here(Runtime::Kubernetes, id)
        });
    }
    if let Some(id) = docker_id(parent, seg) {
        return Some(here(Runtime::Docker, id));
    }
    if let Some(id) = scoped_hex_id(seg, "libpod-") {
        return Some(here(Runtime::Podman, id));
    }
    if let Some(id) = scoped_hex_id(seg, "crio-") {
        return Some(here(Runtime::CriO, id));
    }
    if let Some(name) = lxc::name_from_segment(parent, seg) {
        return Some(here(Runtime::Lxc, name));
    }
    if let Some(name) = nspawn::name_from_segment(seg) {
        return match segs.get(i + 1) {
            // The supervisor's own sub-cgroup is not the container.
            Some(&"supervisor") => None,
            Some(&"payload") => Some(PathMatch {
                container_path: join(&segs[..=i + 1]),
                depth: i + 2,
                ..here(Runtime::Nspawn, name)
            }),
            _ => Some(here(Runtime::Nspawn, name)),
        };
    }
    if seg == "payload" && parent.is_none_or(|p| nspawn::name_from_segment(p).is_none()) {
        let name = parent.map(nspawn::unescape_unit).unwrap_or_default();
        return Some(PathMatch {
            bare_payload: true,
            ..here(Runtime::Nspawn, name)
        });
    }
    if let Some(id) = isotop::id_from_segment(parent, seg) {
        return Some(here(Runtime::Isotop, id));
    }
    if let Some(task) = parent
        .and_then(|ns| tasks.get(ns, seg))
        .or_else(|| scope_suffix_id(seg).and_then(|id| tasks.by_id(id)))
    {
        return Some(PathMatch {
            namespace: Some(task.namespace.clone()),
            ..here(Runtime::Containerd, task.id.clone())
        });
    }
    None
}

/// The pod uid a segment names when it is a pod cgroup under `kubepods`: cgroupfs
/// `pod<uid>` (some ancestor `kubepods`), systemd `kubepods[-<qos>]-pod<uid>.slice` (uid with
/// `_` for `-`).
fn pod_uid(seg: &str, ancestors: &[&str]) -> Option<String> {
    if let Some(uid) = seg.strip_prefix("pod")
        && !uid.is_empty()
        && ancestors
            .iter()
            .any(|a| *a == "kubepods" || a.starts_with("kubepods."))
    {
        return Some(uid.to_string());
    }
    let stem = seg.strip_prefix("kubepods-")?.strip_suffix(".slice")?;
    let uid = match stem.strip_prefix("pod") {
        Some(uid) => uid,
        None => stem.rsplit_once("-pod")?.1,
    };
    (!uid.is_empty()).then(|| uid.replace('_', "-"))
}

/// A container segment directly below a pod: the bare id (cgroupfs) or a CRI scope.
fn kubernetes_container_id(seg: &str) -> Option<String> {
    if let Some(id) = ContainerId::parse(seg) {
        return Some(id.into_string());
    }
    ["cri-containerd-", "crio-", "docker-", "cri-dockerd-"]
        .iter()
        .find_map(|prefix| scoped_hex_id(seg, prefix))
}

/// Docker: `<64hex>` below a segment `docker`, or `docker-<64hex>.scope`.
fn docker_id(parent: Option<&str>, seg: &str) -> Option<String> {
    if parent == Some("docker")
        && let Some(id) = ContainerId::parse(seg)
    {
        return Some(id.into_string());
    }
    let id = seg.strip_prefix("docker-")?.strip_suffix(".scope")?;
    ContainerId::parse(id).map(ContainerId::into_string)
}

/// `<prefix><64hex>` with an optional `.scope` (cgroupfs and systemd drivers).
fn scoped_hex_id(seg: &str, prefix: &str) -> Option<String> {
    let rest = seg.strip_prefix(prefix)?;
    let id = rest.strip_suffix(".scope").unwrap_or(rest);
    ContainerId::parse(id).map(ContainerId::into_string)
}

/// The `<id>` of a systemd scope `<prefix>-<id>.scope` (containerd's systemd driver).
fn scope_suffix_id(seg: &str) -> Option<&str> {
    let stem = seg.strip_suffix(".scope")?;
    let (_, id) = stem.split_once('-')?;
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn m(path: &str) -> Option<(Runtime, String, String)> {
        let tasks = TaskIndex::default();
        match_segments(path, &tasks).map(|m| (m.runtime, m.id, m.container_path))
    }

    #[test]
    fn docker_both_drivers() {
        let id = hex('a');
        assert_eq!(
            m(&format!("/docker/{id}")),
            Some((Runtime::Docker, id.clone(), format!("/docker/{id}")))
        );
        assert_eq!(
            m(&format!("/system.slice/docker-{id}.scope/init.scope")),
            Some((
                Runtime::Docker,
                id.clone(),
                format!("/system.slice/docker-{id}.scope")
            ))
        );
        let not_hex = "z".repeat(64);
        assert_eq!(m(&format!("/docker/{not_hex}")), None);
        assert_eq!(m(&format!("/other/{id}")), None);
    }

    #[test]
    fn nested_docker_innermost_wins() {
        let (outer, inner) = (hex('a'), hex('b'));
        let got = m(&format!("/docker/{outer}/docker/{inner}")).unwrap();
        assert_eq!(got.1, inner);
    }

    #[test]
    fn kubernetes_cgroupfs_and_systemd() {
        let id = hex('c');
        let tasks = TaskIndex::default();
        let got = match_segments(&format!("/kubepods/burstable/pod12-34/{id}"), &tasks).unwrap();
        assert_eq!(got.runtime, Runtime::Kubernetes);
        assert_eq!(got.pod_uid.as_deref(), Some("12-34"));
        let got = match_segments(
            &format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice/cri-containerd-{id}.scope"
            ),
            &tasks,
        )
        .unwrap();
        assert_eq!(
            (got.runtime, got.id.as_str()),
            (Runtime::Kubernetes, id.as_str())
        );
        assert_eq!(got.pod_uid.as_deref(), Some("12-34"));
        let got = match_segments(
            &format!("/kubepods.slice/kubepods-pod99.slice/crio-{id}.scope"),
            &tasks,
        )
        .unwrap();
        assert_eq!(got.pod_uid.as_deref(), Some("99"));
        // CRI-O's conmon scope is not a container.
        assert_eq!(
            m(&format!(
                "/kubepods.slice/kubepods-pod99.slice/crio-conmon-{id}.scope"
            )),
            None
        );
        // A pod segment outside kubepods means nothing.
        assert_eq!(m(&format!("/other/pod1/{id}")), None);
    }

    #[test]
    fn podman_crio_lxc_nspawn_isotop() {
        let id = hex('d');
        assert_eq!(
            m(&format!("/machine.slice/libpod-{id}.scope/container")).map(|x| x.0),
            Some(Runtime::Podman)
        );
        assert_eq!(m("/libpod_parent/conmon"), None);
        assert_eq!(m(&format!("/machine.slice/libpod-conmon-{id}.scope")), None);
        assert_eq!(
            m(&format!("/system.slice/crio-{id}.scope")).map(|x| x.0),
            Some(Runtime::CriO)
        );
        assert_eq!(
            m("/lxc.payload.web/init.scope"),
            Some((Runtime::Lxc, "web".into(), "/lxc.payload.web".into()))
        );
        assert_eq!(m("/lxc.monitor.web"), None);
        assert_eq!(
            m("/machine.slice/systemd-nspawn@deb.service/payload/system.slice"),
            Some((
                Runtime::Nspawn,
                "deb".into(),
                "/machine.slice/systemd-nspawn@deb.service/payload".into()
            ))
        );
        assert_eq!(
            m("/machine.slice/systemd-nspawn@deb.service/supervisor"),
            None
        );
        assert_eq!(
            m("/machine.slice/machine-fed.scope").map(|x| x.1),
            Some("fed".into())
        );
        let tasks = TaskIndex::default();
        let bare = match_segments("/user.slice/session-1.scope/payload", &tasks).unwrap();
        assert!(bare.bare_payload);
        assert_eq!(bare.outer, None);
        let id = hex('e');
        let inside = match_segments(&format!("/docker/{id}/payload"), &tasks).unwrap();
        assert!(inside.bare_payload);
        assert_eq!(
            inside.outer.map(|o| (o.runtime, o.id)),
            Some((Runtime::Docker, id))
        );
        assert_eq!(
            m("/isotop/c1/sub"),
            Some((Runtime::Isotop, "c1".into(), "/isotop/c1".into()))
        );
    }

    #[test]
    fn containerd_needs_a_task_dir() {
        assert_eq!(m("/default/web"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(
            dir.path()
                .join("run/containerd/io.containerd.runtime.v2.task/default/web"),
        )
        .unwrap();
        let root = crate::host::HostRoot::under(dir.path());
        let tasks = TaskIndex::read(&root);
        let got = match_segments("/default/web", &tasks).unwrap();
        assert_eq!(got.runtime, Runtime::Containerd);
        assert_eq!(got.namespace.as_deref(), Some("default"));
        let got = match_segments("/system.slice/nerdctl-web.scope", &tasks).unwrap();
        assert_eq!(got.id, "web");
        assert_eq!(match_segments("/default/other", &tasks), None);
    }
}

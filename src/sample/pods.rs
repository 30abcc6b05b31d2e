//! Pods: the containers that share one sandbox, and the pod's totals — the one place they are
//! computed, for the dashboard's pod rows (and anything else that shows a pod's figures).
//!
//! A container belongs to a pod when its runtime's files (CRI annotations, kubelet labels,
//! Podman's store) or its cgroup path (`kubepods…pod<uid>`, `machine-libpod_pod_<id>.slice`,
//! `libpod_parent/<id>`) name one: see `host::container::Container::pod`. Members are grouped
//! by the pod's uid (Kubernetes) or id (Podman), else its namespace and name. The totals are
//! sums of the members' own figures from the same tick (CPU %, memory, pids): a total is
//! `None` while any member's figure is unknown, never an undercount; network traffic counts
//! each namespace once (the members share the sandbox's). The namespaces a pod
//! shares are those of [`POD_SHARED`] every member has the same inode of (the sandbox's net,
//! ipc and uts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::frame::ContainerSample;
use crate::host::container::{Pod, Runtime};
use crate::host::namespace::NsKind;
use crate::host::text::clean_str;
use crate::units::short_id;

/// The namespaces a pod's containers share with its sandbox.
pub const POD_SHARED: [NsKind; 3] = [NsKind::Net, NsKind::Ipc, NsKind::Uts];

/// Prefix of a pod's key, so it never equals a container id or a cgroup path.
pub const POD_KEY_PREFIX: &str = "pod:";

/// One pod of a tick, with its members' totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodSample {
    /// `pod:<uid>` (or `pod:<namespace>/<name>` without a uid): the row's identity.
    pub key: String,
    /// As shown: `namespace/name`, the name, else `pod <short uid>`. Cleaned.
    pub label: String,
    pub pod: Pod,
    /// The members' runtime (the first member's when they differ).
    pub runtime: Runtime,
    /// Indices into the frame's `containers`, in the frame's order.
    pub members: Vec<usize>,
    /// Sum of the members' CPU %, percent of one CPU; `None` while any member's is unknown.
    pub cpu_percent: Option<f64>,
    /// Sum of the members' memory, bytes; `None` while any member's is unknown.
    pub memory_bytes: Option<u64>,
    /// Sum of the members' processes.
    pub pids: usize,
    /// Network bytes per second received and sent, each namespace counted once (a pod's
    /// members share the sandbox's); `None` while any member's is unknown.
    pub net_rx_bytes_per_second: Option<f64>,
    pub net_tx_bytes_per_second: Option<f64>,
    /// Sum of the members' block I/O, bytes per second; `None` while any member's is unknown.
    pub io_read_bytes_per_second: Option<f64>,
    pub io_write_bytes_per_second: Option<f64>,
    /// Which of [`POD_SHARED`] every member has in common.
    pub shared: Vec<NsKind>,
    /// The cgroup all members' own cgroups are under (their longest common parent), if any.
    pub cgroup_path: Option<String>,
    /// The longest a member has been up, seconds.
    pub uptime_seconds: Option<f64>,
}

/// The key of the pod `pod` names; `None` when it names none (no uid, name or namespace).
pub fn pod_key(pod: &Pod) -> Option<String> {
    match &pod.uid {
        Some(uid) if !uid.is_empty() => Some(format!("{POD_KEY_PREFIX}{uid}")),
        _ if pod.name.is_empty() && pod.namespace.is_empty() => None,
        _ => Some(format!("{POD_KEY_PREFIX}{}/{}", pod.namespace, pod.name)),
    }
}

/// The pod as a row names it.
pub fn pod_label(pod: &Pod) -> String {
    let text = match (pod.namespace.is_empty(), pod.name.is_empty(), &pod.uid) {
        (false, false, _) => format!("{}/{}", pod.namespace, pod.name),
        (_, false, _) => pod.name.clone(),
        (_, true, Some(uid)) => format!("pod {}", short_id(uid)),
        (false, true, None) => format!("{}/?", pod.namespace),
        (true, true, None) => "pod".to_string(),
    };
    clean_str(&text)
}

/// The pods among `containers` (a frame's, in its order), sorted by label then key.
pub fn group(containers: &[ContainerSample]) -> Vec<PodSample> {
    let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in containers.iter().enumerate() {
        if let Some(key) = c.view.container.pod.as_ref().and_then(pod_key) {
            by_key.entry(key).or_default().push(i);
        }
    }
    let mut pods: Vec<PodSample> = by_key
        .into_iter()
        .map(|(key, members)| totals(key, members, containers))
        .collect();
    pods.sort_by(|a, b| (&a.label, &a.key).cmp(&(&b.label, &b.key)));
    pods
}

fn totals(key: String, members: Vec<usize>, containers: &[ContainerSample]) -> PodSample {
    let samples: Vec<&ContainerSample> = members.iter().map(|&i| &containers[i]).collect();
    // The most complete description among the members (the sandbox's annotations name the
    // pod; a container seen only by its cgroup path has the uid alone).
    let pod = samples
        .iter()
        .filter_map(|c| c.view.container.pod.clone())
        .max_by_key(|p| (!p.name.is_empty(), !p.namespace.is_empty()))
        .unwrap_or(Pod {
            name: String::new(),
            namespace: String::new(),
            uid: None,
        });
    let cpu_percent = samples.iter().map(|c| c.cpu_percent).sum::<Option<f64>>();
    let memory_bytes = samples
        .iter()
        .map(|c| c.memory_bytes)
        .try_fold(0u64, |sum, m| m.map(|m| sum.saturating_add(m)));
    let first_ns = samples[0].view.container.namespaces;
    let shared = POD_SHARED
        .into_iter()
        .filter(|&kind| {
            first_ns.get(kind).is_some()
                && samples
                    .iter()
                    .all(|c| c.view.container.namespaces.get(kind) == first_ns.get(kind))
        })
        .collect();
    let cgroup_path = common_parent(
        samples
            .iter()
            .filter_map(|c| c.view.container.cgroup_path.as_deref()),
    );
    let uptime_seconds = samples
        .iter()
        .filter_map(|c| c.view.uptime_seconds)
        .reduce(f64::max);
    let io_read_bytes_per_second = samples
        .iter()
        .map(|c| c.io_rates.read_bytes_per_second)
        .sum::<Option<f64>>();
    let io_write_bytes_per_second = samples
        .iter()
        .map(|c| c.io_rates.write_bytes_per_second)
        .sum::<Option<f64>>();
    let (net_rx_bytes_per_second, net_tx_bytes_per_second) = net_once_per_namespace(&samples);
    PodSample {
        net_rx_bytes_per_second,
        net_tx_bytes_per_second,
        io_read_bytes_per_second,
        io_write_bytes_per_second,
        label: pod_label(&pod),
        runtime: samples[0].view.container.runtime,
        pids: samples.iter().map(|c| c.pids).sum(),
        key,
        pod,
        members,
        cpu_percent,
        memory_bytes,
        shared,
        cgroup_path,
        uptime_seconds,
    }
}

/// The members' network rates (received, sent), each namespace once: the containers of a pod
/// share the sandbox's namespace and show its figures each. `None` while any member's is
/// unknown.
fn net_once_per_namespace(samples: &[&ContainerSample]) -> (Option<f64>, Option<f64>) {
    let mut seen = Vec::new();
    let (mut rx, mut tx) = (Some(0.0), Some(0.0));
    for c in samples {
        let Some(net) = &c.net else {
            return (None, None);
        };
        if seen.contains(&net.netns) {
            continue;
        }
        seen.push(net.netns);
        rx = rx.zip(net.rates.rx_bytes_per_second).map(|(a, b)| a + b);
        tx = tx.zip(net.rates.tx_bytes_per_second).map(|(a, b)| a + b);
    }
    (rx, tx)
}

/// The longest cgroup path every one of `paths` is below (the parent when there is one path);
/// `None` for no paths or only the root in common.
fn common_parent<'a>(paths: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut common: Option<Vec<&str>> = None;
    for path in paths {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // A member's own cgroup is never the pod's: its parent at most.
        let parent = &segments[..segments.len().saturating_sub(1)];
        common = Some(match common {
            None => parent.to_vec(),
            Some(c) => c
                .iter()
                .zip(parent)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    common
        .filter(|c| !c.is_empty())
        .map(|c| format!("/{}", c.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::net::Counters;
    use crate::sample::frame::ContainerNet;
    use crate::sample::net::tests::container;
    use crate::sample::rates::NetRates;

    /// A member of pod `uid` whose namespace `netns` receives `rx` and sends `tx` bytes/s
    /// (`None`: its network is unknown).
    fn member(id: &str, uid: &str, netns: u64, rates: Option<(f64, f64)>) -> ContainerSample {
        let mut c = container(id, 10, netns, false);
        std::sync::Arc::make_mut(&mut c.view.container).pod = Some(Pod {
            name: "web".into(),
            namespace: "prod".into(),
            uid: Some(uid.into()),
        });
        c.net = rates.map(|(rx, tx)| ContainerNet {
            netns,
            sharing: 1,
            counters: Counters::default(),
            rates: NetRates {
                rx_bytes_per_second: Some(rx),
                tx_bytes_per_second: Some(tx),
                ..NetRates::default()
            },
        });
        c
    }

    #[test]
    fn a_pods_network_counts_each_namespace_once() {
        let pod = group(&[
            member("pause", "u1", 7, Some((100.0, 40.0))),
            member("app", "u1", 7, Some((100.0, 40.0))),
            member("sidecar", "u1", 7, Some((100.0, 40.0))),
        ]);
        assert_eq!(pod.len(), 1);
        assert_eq!(pod[0].net_rx_bytes_per_second, Some(100.0));
        assert_eq!(pod[0].net_tx_bytes_per_second, Some(40.0));

        // A member with a namespace of its own adds its own traffic, once.
        let pod = group(&[
            member("pause", "u1", 7, Some((100.0, 40.0))),
            member("app", "u1", 7, Some((100.0, 40.0))),
            member("own", "u1", 8, Some((5.0, 1.0))),
        ]);
        assert_eq!(pod[0].net_rx_bytes_per_second, Some(105.0));
        assert_eq!(pod[0].net_tx_bytes_per_second, Some(41.0));

        // Any member's unknown: the pod's is unknown, never an undercount.
        let pod = group(&[
            member("pause", "u1", 7, Some((100.0, 40.0))),
            member("app", "u1", 9, None),
        ]);
        assert_eq!(pod[0].net_rx_bytes_per_second, None);
        assert_eq!(pod[0].net_tx_bytes_per_second, None);
    }

    #[test]
    fn common_parent_is_the_pod_cgroup() {
        let paths = [
            "/kubepods/burstable/pod12/aaa",
            "/kubepods/burstable/pod12/bbb",
        ];
        assert_eq!(
            common_parent(paths.into_iter()).as_deref(),
            Some("/kubepods/burstable/pod12")
        );
        assert_eq!(
            common_parent(["/a/b"].into_iter()).as_deref(),
            Some("/a"),
            "one member: its parent"
        );
        assert_eq!(common_parent(["/a", "/b"].into_iter()), None);
        assert_eq!(common_parent(std::iter::empty()), None);
    }

    #[test]
    fn keys_and_labels() {
        let pod = |name: &str, namespace: &str, uid: Option<&str>| Pod {
            name: name.into(),
            namespace: namespace.into(),
            uid: uid.map(String::from),
        };
        assert_eq!(
            pod_key(&pod("a", "b", Some("u1"))).as_deref(),
            Some("pod:u1")
        );
        assert_eq!(pod_key(&pod("a", "b", None)).as_deref(), Some("pod:b/a"));
        assert_eq!(pod_key(&pod("", "", None)), None);
        assert_eq!(pod_label(&pod("api", "prod", Some("u"))), "prod/api");
        assert_eq!(pod_label(&pod("api", "", Some("u"))), "api");
        assert_eq!(
            pod_label(&pod("", "", Some(&"ab".repeat(32)))),
            format!("pod {}", "ab".repeat(6))
        );
        assert_eq!(pod_label(&pod("evil\u{1b}[2J", "", None)), "evil?[2J");
    }
}

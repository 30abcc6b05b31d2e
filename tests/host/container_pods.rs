//! Pods from fixture roots, end to end from the runtimes' files to the pod's totals: a
//! Kubernetes pod under containerd (a `pause` sandbox and two containers, their CRI
//! annotations naming the pod; cgroupfs `kubepods/burstable/pod<uid>`) and a Podman pod (an
//! infra container and two, the pod known by its `machine-libpod_pod_<id>.slice` cgroup and,
//! for one entry, by containers.json's `pod-name`/`pod-id`). `find_containers` gives every
//! member the pod; `sample::pods::group` makes one pod of them with the sums of their figures,
//! the namespaces they share and the pod's cgroup; a Podman container outside any pod is none.

use crate::support::procs;

use isotop::host::container::measure::{ContainerState, ContainerView};
use isotop::host::container::{Container, Runtime, find_containers};
use isotop::host::namespace::{NsKind, NsSet};
use isotop::sample::ContainerSample;
use isotop::sample::pods::group;
use procs::*;

const K_PAUSE: &str = "1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a";
const K_SHOP: &str = "2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b";
const K_SHIP: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";
const K_UID: &str = "5f6e7d8c-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
const P_POD: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";
const P_INFRA: &str = "4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d";
const P_WEB: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
const P_DB: &str = "6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f";
const P_ALONE: &str = "bead0000bead0000bead0000bead0000bead0000bead0000bead0000bead0000";

/// A pod member's namespaces: the sandbox's net, ipc and uts (`sandbox`), its own mnt and pid.
fn member_ns(sandbox: u64, own: u64) -> NsSet {
    let mut ns = container_ns(sandbox);
    ns.set(NsKind::Mnt, Some(own));
    ns.set(NsKind::Pid, Some(own + 1));
    ns
}

/// A sample of `c` with these figures, as the sampler would make it.
fn sample(c: &Container, cpu: f64, memory: u64) -> ContainerSample {
    ContainerSample {
        view: ContainerView {
            container: c.clone().into(),
            state: ContainerState::Running,
            uptime_seconds: Some(60.0 + memory as f64),
            cgroup: None,
            ownership: std::sync::Arc::from([]),
            inherited_limits: Default::default(),
            sources: Default::default(),
        },
        cpu_percent: Some(cpu),
        throttled_percent: None,
        memory_bytes: Some(memory),
        memory_limit_bytes: None,
        cpu_limit_cpus: None,
        pids: c.pids.len(),
        pids_limit: None,
        kernel: Default::default(),
        oom_kills_since_start: None,
        stack: None,
        io: None,
        io_rates: Default::default(),
        io_limits: None,
        net: None,
        runtime_state: None,
    }
}

#[test]
fn kubernetes_pod_of_two_and_its_pause_is_one_pod_with_totals() {
    let root = fixture_root("kubernetes-pod");
    let pod_cg = format!("/kubepods/burstable/pod{K_UID}");
    let procs = vec![
        host_process(1, 0, "init"),
        process(
            5999,
            1,
            "containerd-shim",
            "/system.slice/containerd.service",
            host_ns(),
        ),
        process(
            6000,
            5999,
            "pause",
            &format!("{pod_cg}/{K_PAUSE}"),
            member_ns(7000, 7100),
        ),
        process(
            6010,
            5999,
            "shop",
            &format!("{pod_cg}/{K_SHOP}"),
            member_ns(7000, 7200),
        ),
        process(
            6011,
            6010,
            "shop-worker",
            &format!("{pod_cg}/{K_SHOP}"),
            member_ns(7000, 7200),
        ),
        process(
            6020,
            5999,
            "fluent-bit",
            &format!("{pod_cg}/{K_SHIP}"),
            member_ns(7000, 7300),
        ),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 3, "{:#?}", summary(&found));
    for id in [K_PAUSE, K_SHOP, K_SHIP] {
        let c = by_id(&found, id);
        assert_eq!(c.runtime, Runtime::Kubernetes);
        let pod = c.pod.as_ref().expect("a pod");
        assert_eq!(
            (
                pod.name.as_str(),
                pod.namespace.as_str(),
                pod.uid.as_deref()
            ),
            ("shop-5c7d9-qrx2l", "store", Some(K_UID)),
            "{id}"
        );
    }
    assert_eq!(by_id(&found, K_PAUSE).name, "POD");
    assert_eq!(by_id(&found, K_SHIP).name, "log-shipper");

    let figures = [
        (K_PAUSE, 0.5, 1 << 20),
        (K_SHOP, 30.0, 200 << 20),
        (K_SHIP, 4.5, 40 << 20),
    ];
    let samples: Vec<ContainerSample> = found
        .iter()
        .map(|c| {
            let (_, cpu, mem) = figures.iter().find(|f| f.0 == c.id).unwrap();
            sample(c, *cpu, *mem)
        })
        .collect();
    let pods = group(&samples);
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    assert_eq!(pod.key, format!("pod:{K_UID}"));
    assert_eq!(pod.label, "store/shop-5c7d9-qrx2l");
    assert_eq!(pod.members.len(), 3);
    assert_eq!(pod.cpu_percent, Some(35.0));
    assert_eq!(pod.memory_bytes, Some(241 << 20));
    assert_eq!(pod.pids, 4);
    let mut shared: Vec<&str> = pod.shared.iter().map(|k| k.name()).collect();
    shared.sort();
    assert_eq!(shared, ["ipc", "net", "uts"]);
    assert_eq!(pod.cgroup_path.as_deref(), Some(pod_cg.as_str()));
    assert_eq!(pod.uptime_seconds, Some(60.0 + (200u64 << 20) as f64));

    // A member's figure unknown (first tick): the total is unknown, not an undercount.
    let mut partial = samples.clone();
    partial[0].cpu_percent = None;
    assert_eq!(group(&partial)[0].cpu_percent, None);
    assert_eq!(group(&partial)[0].memory_bytes, Some(241 << 20));
}

#[test]
fn podman_pod_from_its_cgroup_and_the_stores_pod_fields() {
    let root = fixture_root("podman-pod");
    let slice = format!("/machine.slice/machine-libpod_pod_{P_POD}.slice");
    let procs = vec![
        host_process(1, 0, "init"),
        process(
            8000,
            1,
            "conmon",
            &format!("{slice}/libpod-conmon-{P_INFRA}.scope"),
            host_ns(),
        ),
        process(
            8001,
            8000,
            "catatonit",
            &format!("{slice}/libpod-{P_INFRA}.scope"),
            member_ns(9000, 9100),
        ),
        process(
            8011,
            1,
            "nginx",
            &format!("{slice}/libpod-{P_WEB}.scope"),
            member_ns(9000, 9200),
        ),
        process(
            8021,
            1,
            "redis-server",
            &format!("{slice}/libpod-{P_DB}.scope"),
            member_ns(9000, 9300),
        ),
        // A Podman container in no pod (cgroupfs driver).
        process(
            8031,
            1,
            "haproxy",
            &format!("/libpod_parent/libpod-{P_ALONE}"),
            container_ns(9500),
        ),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 4, "{:#?}", summary(&found));
    for id in [P_INFRA, P_WEB, P_DB] {
        let c = by_id(&found, id);
        assert_eq!(c.runtime, Runtime::Podman, "{id}");
        assert_eq!(
            c.pod.as_ref().and_then(|p| p.uid.as_deref()),
            Some(P_POD),
            "{id}: the pod's id"
        );
    }
    assert_eq!(by_id(&found, P_WEB).name, "blog-web");
    assert_eq!(
        by_id(&found, P_DB).pod.as_ref().map(|p| p.name.as_str()),
        Some("blog"),
        "containers.json's pod-name"
    );
    assert_eq!(by_id(&found, P_ALONE).pod, None);

    let samples: Vec<ContainerSample> = found.iter().map(|c| sample(c, 1.0, 1 << 20)).collect();
    let pods = group(&samples);
    assert_eq!(pods.len(), 1, "{pods:#?}");
    assert_eq!(
        pods[0].label, "blog",
        "the member that names the pod names it"
    );
    assert_eq!(pods[0].members.len(), 3);
    assert_eq!(pods[0].pids, 3);
    assert_eq!(pods[0].cpu_percent, Some(3.0));
    assert_eq!(pods[0].cgroup_path.as_deref(), Some(slice.as_str()));
}

#[test]
fn podman_pod_ids_in_both_cgroup_drivers_and_nothing_else() {
    use isotop::host::runtime::podman::pod_from_cgroup_path;
    let uid = |path: &str| pod_from_cgroup_path(path).and_then(|p| p.uid);
    assert_eq!(
        uid(&format!(
            "/machine.slice/machine-libpod_pod_{P_POD}.slice/libpod-{P_WEB}.scope"
        )),
        Some(P_POD.to_string())
    );
    assert_eq!(
        uid(&format!("/libpod_parent/{P_POD}/libpod-{P_WEB}")),
        Some(P_POD.to_string())
    );
    assert_eq!(uid(&format!("/libpod_parent/libpod-{P_WEB}")), None);
    assert_eq!(
        uid("/machine.slice/machine-libpod_pod_../../etc.slice/libpod-x.scope"),
        None,
        "only a 64-hex id"
    );
}

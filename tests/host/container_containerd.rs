//! containerd (nerdctl, ctr) and Kubernetes containers from fixture roots: task dirs decide
//! whether `/<namespace>/<id>` is a container, names come from nerdctl's and the CRI's
//! annotations, pods from the CRI sandbox annotations (containerd) or io.kubernetes.* (CRI-O).

use crate::support::procs;

use isotop::host::container::{Pod, Runtime, find_containers, find_stopped};
use procs::*;

const WEB: &str = "0f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978";
const KC: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const KP: &str = "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a";
const CC: &str = "ccccdddd00001111ccccdddd00001111ccccdddd00001111ccccdddd00001111";
const CS: &str = "eeeeffff22223333eeeeffff22223333eeeeffff22223333eeeeffff22223333";
const CX: &str = "7777888899990000777788889999000077778888999900007777888899990000";
const POD_UID: &str = "0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7";

#[test]
fn nerdctl_task_is_named_from_annotations() {
    let root = fixture_root("containerd");
    let procs = vec![
        host_process(1, 0, "init"),
        process(
            2000,
            1,
            "containerd-shim",
            "/system.slice/containerd.service",
            host_ns(),
        ),
        process(2001, 2000, "nginx", "/default/web1", container_ns(6000)),
        process(2002, 2001, "nginx", "/default/web1", container_ns(6000)),
        process(
            2101,
            2000,
            "buildkitd",
            "/buildkit/job7",
            container_ns(6100),
        ),
        // Two segments without a task dir prove nothing: not a container.
        process(2201, 1, "daemon", "/default/ghost", host_ns()),
        // Docker's own task (namespace moby) keeps its Docker identity.
        process(
            2301,
            2000,
            "nginx",
            &format!("/system.slice/docker-{WEB}.scope"),
            container_ns(6300),
        ),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 3, "{:#?}", summary(&found));

    let web = by_id(&found, "web1");
    assert_eq!(web.runtime, Runtime::Containerd);
    assert_eq!(web.name, "webby");
    assert_eq!(web.init_pid, Some(2001));
    assert_eq!(web.pids, vec![2001, 2002]);
    assert_eq!(web.cgroup_path.as_deref(), Some("/default/web1"));
    assert_eq!(
        web.labels.get("nerdctl/hostname").map(String::as_str),
        Some("web1?[2J")
    );
    assert_eq!(
        web.metadata.as_deref(),
        Some(
            root.run
                .join("containerd/io.containerd.runtime.v2.task/default/web1/config.json")
                .as_path()
        )
    );

    // No name annotation and a garbage init.pid: the id, and the root process as init.
    let job = by_id(&found, "job7");
    assert_eq!(job.runtime, Runtime::Containerd);
    assert_eq!(job.name, "job7");
    assert_eq!(job.init_pid, Some(2101));
    assert_eq!(job.metadata, None);

    assert_eq!(by_id(&found, WEB).runtime, Runtime::Docker);
    assert!(!found.iter().any(|c| c.pids.contains(&2201)));

    // A created task with no process is listed as stopped; moby's is Docker's business.
    let stopped = find_stopped(&root, &found);
    assert_eq!(
        summary(&stopped),
        vec![("containerd".into(), "created1".into(), vec![])]
    );
    assert_eq!(stopped[0].name, "not-started");
}

#[test]
fn kubernetes_via_containerd_systemd_and_cgroupfs() {
    let root = fixture_root("kubernetes-containerd");
    let pod_slice = "/kubepods.slice/kubepods-burstable.slice/\
                     kubepods-burstable-pod0e1f2a3b_4c5d_6e7f_8091_a2b3c4d5e6f7.slice";
    let procs = vec![
        host_process(1, 0, "init"),
        process(
            2999,
            1,
            "containerd-shim",
            "/system.slice/containerd.service",
            host_ns(),
        ),
        process(
            3000,
            2999,
            "pause",
            &format!("{pod_slice}/cri-containerd-{KP}.scope"),
            container_ns(7000),
        ),
        process(
            3001,
            2999,
            "api",
            &format!("{pod_slice}/cri-containerd-{KC}.scope"),
            container_ns(7000),
        ),
        process(
            3002,
            3001,
            "api-worker",
            &format!("{pod_slice}/cri-containerd-{KC}.scope"),
            container_ns(7000),
        ),
        // The same pod seen through the cgroupfs driver, without runtime files: the uid from
        // the path is all there is.
        process(
            3101,
            1,
            "orphan",
            &format!("/kubepods/besteffort/pod77-88/{}", "e".repeat(64)),
            container_ns(7100),
        ),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 3, "{:#?}", summary(&found));
    let pod = Some(Pod {
        name: "api-7d9f8-xk2p".into(),
        namespace: "prod".into(),
        uid: Some(POD_UID.into()),
    });

    let api = by_id(&found, KC);
    assert_eq!(api.runtime, Runtime::Kubernetes);
    assert_eq!(api.name, "api");
    assert_eq!(api.image.as_deref(), Some("registry.example/api:2.1"));
    assert_eq!(api.pod, pod);
    assert_eq!(api.init_pid, Some(3001));
    assert_eq!(api.pids, vec![3001, 3002]);

    let pause = by_id(&found, KP);
    assert_eq!(pause.name, "POD");
    assert_eq!(pause.pod, pod);
    assert_eq!(pause.init_pid, Some(3000));

    let orphan = by_id(&found, &"e".repeat(64));
    assert_eq!(orphan.runtime, Runtime::Kubernetes);
    assert_eq!(orphan.name, "e".repeat(64));
    assert_eq!(
        orphan.pod,
        Some(Pod {
            name: String::new(),
            namespace: String::new(),
            uid: Some("77-88".into())
        })
    );
}

#[test]
fn kubernetes_via_crio_and_conmon_excluded() {
    let root = fixture_root("kubernetes-crio");
    let pod_slice = "/kubepods.slice/kubepods-pod11112222_3333_4444_5555_666677778888.slice";
    let procs = vec![
        host_process(1, 0, "init"),
        process(
            4000,
            1,
            "conmon",
            &format!("{pod_slice}/crio-conmon-{CS}.scope"),
            host_ns(),
        ),
        process(
            4001,
            4000,
            "pause",
            &format!("{pod_slice}/crio-{CS}.scope"),
            container_ns(8000),
        ),
        process(
            4010,
            1,
            "conmon",
            &format!("{pod_slice}/crio-conmon-{CC}.scope"),
            host_ns(),
        ),
        process(
            4011,
            4010,
            "redis-server",
            &format!("{pod_slice}/crio-{CC}.scope"),
            container_ns(8000),
        ),
        // A conmon that ended up inside the container's own cgroup is still not the container.
        process(
            4012,
            4010,
            "conmon",
            &format!("{pod_slice}/crio-{CC}.scope"),
            host_ns(),
        ),
        // CRI-O outside Kubernetes.
        process(
            4101,
            1,
            "standalone",
            &format!("/system.slice/crio-{CX}.scope"),
            container_ns(8100),
        ),
    ];
    let found = find_containers(&root, &procs, &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 3, "{:#?}", summary(&found));
    let pod = Some(Pod {
        name: "cache-0".into(),
        namespace: "data".into(),
        uid: Some("11112222-3333-4444-5555-666677778888".into()),
    });

    let cache = by_id(&found, CC);
    assert_eq!(cache.runtime, Runtime::Kubernetes);
    assert_eq!(cache.name, "cache");
    assert_eq!(cache.image.as_deref(), Some("docker.io/library/redis:7"));
    assert_eq!(cache.pod, pod);
    assert_eq!(cache.pids, vec![4011], "conmon is not in the container");
    assert_eq!(cache.init_pid, Some(4011));

    let sandbox = by_id(&found, CS);
    assert_eq!(sandbox.name, "POD");
    assert_eq!(sandbox.image.as_deref(), Some("registry.k8s.io/pause:3.9"));
    assert_eq!(sandbox.pod, pod);

    let standalone = by_id(&found, CX);
    assert_eq!(standalone.runtime, Runtime::CriO);
    assert_eq!(standalone.name, "standalone");
    assert_eq!(standalone.pod, None);
    assert_eq!(
        standalone.metadata.as_deref(),
        Some(
            root.var_lib
                .join(format!(
                    "containers/storage/overlay-containers/{CX}/userdata/config.json"
                ))
                .as_path()
        )
    );
}

//! Hand-made frames for the UI tests: fixed clocks, names and figures, so every drawing of
//! them is the same. The host has 2 CPUs; three containers: `web` (runc, CPU quota 0.5,
//! memory limit 256 MiB, pids limit 100), a Kubernetes pod of two (`api` and its `pause`,
//! sharing net, ipc and uts) and `scratch` (unknown runtime, the host's net namespace). Their
//! roots, mounts, layers and layer sizes are in [`stacks`]; their network and block I/O (and
//! `web`'s I/O limits) in [`traffic`]; their events and runtime states in [`events`];
//! [`layers_frame`] adds containers of Docker, Podman and isotop for the other stores' layers.

pub mod events;
pub mod net;
mod parts;
pub mod stacks;
pub mod traffic;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use isotop::host::cgroup::{CgroupMode, CgroupReading, Pressure};
use isotop::host::container::{Pod, Runtime};
use isotop::host::namespace::{HostReference, Namespace, NamespaceTable, NsKind};
use isotop::sample::{CgroupSample, Frame, History, HostSummary};
use isotop::ui::App;

/// 2026-01-02 03:04:05 UTC, in ms.
pub const T0_MS: u64 = 1_767_323_045_000;
pub const MIB: u64 = 1024 * 1024;

use parts::*;

/// Frame number `seq` (one per second from [`T0_MS`]); `with_web` false leaves `web` out (it
/// vanished). Figures vary with `seq` so charts have shape.
pub fn frame(seq: u64, with_web: bool) -> Frame {
    let wave = (seq % 10) as f64;
    let web_ns = ns_set(
        4026532000,
        &[
            NsKind::Mnt,
            NsKind::Pid,
            NsKind::Net,
            NsKind::Ipc,
            NsKind::Uts,
            NsKind::Cgroup,
        ],
    );
    let pod_ns = ns_set(4026532100, &[NsKind::Net, NsKind::Ipc, NsKind::Uts]);
    let mut api_ns = pod_ns;
    api_ns.set(NsKind::Mnt, Some(4026532200));
    api_ns.set(NsKind::Pid, Some(4026532201));
    let mut pause_ns = pod_ns;
    pause_ns.set(NsKind::Mnt, Some(4026532300));
    pause_ns.set(NsKind::Pid, Some(4026532301));
    let scratch_ns = ns_set(4026532400, &[NsKind::Mnt, NsKind::Pid]);
    let pod = Pod {
        name: "api-7d9f".into(),
        namespace: "default".into(),
        uid: Some("0f0e".into()),
    };
    let web_cg = "/isotop-demo/web";
    let api_cg = "/kubepods/pod0f0e/api";
    let pause_cg = "/kubepods/pod0f0e/pause";
    let mut containers = vec![
        container(
            Spec {
                id: "api0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
                name: "api",
                runtime: Runtime::Kubernetes,
                pids: vec![310, 311],
                ns: api_ns,
                cgroup: Some(api_cg),
                pod: Some(pod.clone()),
            },
            Some(reading(api_cg, 2, None, 96 * MIB, Some(512 * MIB), 4, None)),
            Some(12.5 + wave),
            Some(96 * MIB),
        ),
        container(
            Spec {
                id: "pause0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
                name: "pause",
                runtime: Runtime::Kubernetes,
                pids: vec![300],
                ns: pause_ns,
                cgroup: Some(pause_cg),
                pod: Some(pod),
            },
            Some(reading(pause_cg, 1, None, MIB, None, 1, None)),
            Some(0.0),
            Some(MIB),
        ),
        container(
            Spec {
                id: "web",
                name: "web",
                runtime: Runtime::Runc,
                pids: vec![200, 201, 202],
                ns: web_ns,
                cgroup: Some(web_cg),
                pod: None,
            },
            Some({
                let mut r = reading(
                    web_cg,
                    3,
                    Some((50_000, 100_000)),
                    (120 + seq * 2) * MIB,
                    Some(256 * MIB),
                    3,
                    Some(100),
                );
                // Pressure with shape for the charts.
                r.pressure = Some(Pressure {
                    cpu: Some(psi(20.0 + 3.0 * wave)),
                    memory: Some(psi(2.0 + wave)),
                    io: Some(psi(9.0 - wave)),
                });
                r
            }),
            Some(40.0 + wave),
            Some((120 + seq * 2) * MIB),
        ),
        container(
            Spec {
                id: "pidns-4026532401",
                name: "scratch",
                runtime: Runtime::Unknown,
                pids: vec![400],
                ns: scratch_ns,
                cgroup: None,
                pod: None,
            },
            None,
            Some(1.0),
            Some(2 * MIB),
        ),
    ];
    let layer_sizes = stacks::fill(&mut containers, seq);
    if !with_web {
        containers.retain(|c| c.view.container.id != "web");
    }
    let cg = |path: &str,
              name: &str,
              depth: usize,
              has_children: bool,
              r: CgroupReading,
              cpu: f64,
              container_id: Option<&str>| CgroupSample {
        path: path.into(),
        name: name.into(),
        depth,
        has_children,
        reading: r.into(),
        cpu_percent: Some(cpu),
        throttled_percent: Some(0.0),
        container_id: container_id.map(String::from),
        io_rates: Default::default(),
    };
    let mut cgroups = vec![
        cg(
            "/",
            "/",
            0,
            true,
            reading("/", 5, None, 900 * MIB, None, 40, None),
            75.0,
            None,
        ),
        cg(
            "/isotop-demo",
            "isotop-demo",
            1,
            true,
            reading("/isotop-demo", 0, None, 130 * MIB, None, 3, None),
            40.0,
            None,
        ),
        cg(
            web_cg,
            "web",
            2,
            false,
            reading(
                web_cg,
                3,
                Some((50_000, 100_000)),
                (120 + seq * 2) * MIB,
                Some(256 * MIB),
                3,
                Some(100),
            ),
            40.0 + wave,
            Some("web"),
        ),
        cg(
            "/kubepods",
            "kubepods",
            1,
            true,
            reading("/kubepods", 0, None, 97 * MIB, None, 5, None),
            13.0,
            None,
        ),
        cg(
            "/kubepods/pod0f0e",
            "pod0f0e",
            2,
            true,
            reading("/kubepods/pod0f0e", 0, None, 97 * MIB, None, 5, None),
            13.0,
            None,
        ),
        cg(
            api_cg,
            "api",
            3,
            false,
            reading(api_cg, 2, None, 96 * MIB, Some(512 * MIB), 4, None),
            12.5 + wave,
            Some(containers[0].view.container.id.as_str()),
        ),
        cg(
            pause_cg,
            "pause",
            3,
            false,
            reading(pause_cg, 1, None, MIB, None, 1, None),
            0.0,
            Some(containers[1].view.container.id.as_str()),
        ),
    ];
    if !with_web {
        cgroups.retain(|g| g.path != web_cg);
    }
    traffic::fill(&mut containers, &mut cgroups, seq);
    let events = events::fill(&mut containers, seq);
    let host = host_ns();
    let mut processes = vec![
        process(1, 0, "init", &["/sbin/init"], host, "/", None, 0.5),
        process(2, 0, "kthreadd", &[], host, "/", None, 0.0),
        process(
            150,
            1,
            "sshd",
            &["sshd:", "/usr/sbin/sshd", "-D"],
            host,
            "/",
            None,
            0.0,
        ),
        process(151, 150, "bash", &["-bash"], host, "/", None, 0.0),
        process(
            300,
            1,
            "pause",
            &["/pause"],
            pause_ns,
            pause_cg,
            Some(containers[1].view.container.id.as_str()),
            0.0,
        ),
        process(
            310,
            1,
            "api",
            &["/app/api", "--port", "8080"],
            api_ns,
            api_cg,
            Some(containers[0].view.container.id.as_str()),
            10.0,
        ),
        process(
            311,
            310,
            "worker",
            &["/app/api", "worker"],
            api_ns,
            api_cg,
            Some(containers[0].view.container.id.as_str()),
            2.5,
        ),
        process(
            400,
            151,
            "sh",
            &["sh", "-c", "sleep 1000"],
            scratch_ns,
            "/",
            Some("pidns-4026532401"),
            1.0,
        ),
    ];
    if with_web {
        processes.extend([
            process(
                200,
                1,
                "nginx",
                &["nginx: master process"],
                web_ns,
                web_cg,
                Some("web"),
                30.0,
            ),
            process(
                201,
                200,
                "nginx",
                &["nginx: worker process"],
                web_ns,
                web_cg,
                Some("web"),
                5.0,
            ),
            process(
                202,
                200,
                "nginx",
                &["nginx: worker process"],
                web_ns,
                web_cg,
                Some("web"),
                5.0,
            ),
        ]);
    }
    processes.sort_by_key(|p| p.process.pid);
    // The namespace table from the processes, like build_table: every (kind, inode) once.
    let mut by_inode: BTreeMap<u64, (NsKind, BTreeSet<i32>, String)> = BTreeMap::new();
    for p in &processes {
        for (kind, inode) in p.process.ns.iter() {
            let entry = by_inode
                .entry(inode)
                .or_insert_with(|| (kind, BTreeSet::new(), p.process.command()));
            entry.1.insert(p.process.pid);
        }
    }
    let namespaces: Vec<Namespace> = by_inode
        .into_iter()
        .map(|(inode, (kind, pids, _))| {
            let pids: Vec<i32> = pids.into_iter().collect();
            let lowest = processes
                .iter()
                .find(|p| p.process.pid == pids[0])
                .map(|p| p.process.command())
                .unwrap_or_default();
            namespace(kind, inode, pids, &lowest)
        })
        .collect();
    let namespace_count = namespaces.len();
    net::with_networks(Frame {
        seq,
        taken_at_ms: T0_MS + seq * 1000,
        interval_ms: (seq > 0).then_some(1000),
        host: HostSummary {
            hostname: "demo-host".into(),
            kernel: "6.18.0-demo".into(),
            cgroup_mode: Some(CgroupMode::Hybrid),
            is_root: true,
            cpus: 2,
            cpu_percent_per_core: vec![35.0 + wave, 62.0],
            cpu_percent_total: Some(48.5),
            memory_total_bytes: 4096 * MIB,
            memory_available_bytes: 2900 * MIB,
            swap_total_bytes: 0,
            swap_free_bytes: 0,
            load: [0.52, 0.40, 0.31],
            uptime_seconds: 273_600.0 + seq as f64,
            processes: processes.len(),
            containers: containers.len(),
            namespaces: namespace_count,
            cgroups: cgroups.len(),
            hidden: None,
        },
        pods: isotop::sample::pods::group(&containers),
        containers,
        cgroups: cgroups.into(),
        namespaces: NamespaceTable {
            host: HostReference {
                pid: Some(1),
                explanation: "PID 1 (init): its namespaces are the host's".into(),
                ns: host,
            },
            namespaces,
            warnings: vec![],
        }
        .into(),
        processes,
        warnings: vec![],
        layer_sizes: std::sync::Arc::new(layer_sizes),
        networks: Vec::new(),
        net_map: None,
        events,
    })
}

/// Frame `seq` with [`stacks::extra_containers`] after the rest: every store's layers.
pub fn layers_frame(seq: u64) -> Frame {
    let mut f = frame(seq, true);
    f.containers.extend(stacks::extra_containers());
    let mut sizes = (*f.layer_sizes).clone();
    sizes.extend(stacks::fill_extra(&mut f.containers));
    f.layer_sizes = std::sync::Arc::new(sizes);
    f.host.containers = f.containers.len();
    f.pods = isotop::sample::pods::group(&f.containers);
    f
}

/// Frame `seq` (web present) as an unprivileged isotop sees it: every act is refused.
pub fn frame_not_root(seq: u64) -> Frame {
    let mut f = frame(seq, true);
    f.host.is_root = false;
    f
}

/// An app and history fed frames 0..=last (web present in all).
pub fn app_with_history(last: u64) -> (App, History) {
    app_fed(last, |seq| frame(seq, true))
}

/// An app and history fed [`layers_frame`]s 0..=last.
pub fn app_with_layers(last: u64) -> (App, History) {
    app_fed(last, layers_frame)
}

fn app_fed(last: u64, make: impl Fn(u64) -> Frame) -> (App, History) {
    let mut app = App::new(Duration::from_secs(600));
    let mut history = History::new(Duration::from_secs(600));
    for seq in 0..=last {
        let f = make(seq);
        history.record(&f);
        app.on_frame(f);
    }
    (app, history)
}

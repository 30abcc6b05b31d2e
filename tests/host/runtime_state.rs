//! What runtimes record of a container's life, read from a fixture tree of every runtime's
//! files (`tests/fixtures/runtime_state`) by `host::runtime::state::read_state`: Docker's
//! restart count, health, exit code and times (a restarted one, an OOM-killed one with an
//! offset time, one never started, garbage), dockershim's attempt label, Podman's exit files
//! and health log, containerd's CRI status with kubelet's log dir, CRI-O's state with its
//! annotations, isotop's record, runc's creation time; the dated events made of them; and
//! hostile files (a config symlinked out of the store, a store dir symlinked away, a FIFO, a
//! 100 MB file, a world-writable dir) refused without blocking.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use isotop::host::HostRoot;
use isotop::host::container::{Container, Pod, Runtime, Trust};
use isotop::host::events::runtime::dated_events;
use isotop::host::runtime::state::{RuntimeState, read, read_state};

const DOCKER_WEB: &str = "d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1d0c1";
const DOCKER_JOB: &str = "d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2d0c2";
const DOCKER_FRESH: &str = "d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3d0c3";
const DOCKER_GARBAGE: &str = "d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4d0c4";
const DOCKER_STOPPED: &str = "d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6d0c6";
const DOCKERSHIM: &str = "d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5d0c5";
const PODMAN_EXITED: &str = "b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1b0d1";
const PODMAN_OLD: &str = "b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2b0d2";
const PODMAN_HEALTHY: &str = "b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3b0d3";
const CONTAINERD_K8S: &str = "c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1c0a1";
const CRIO_K8S: &str = "c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1c0b1";
const CRIO_META: &str = "c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2c0b2";
const ISOTOP_EXITED: &str = "e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1e0f1";

/// 2024-05-01T12:00:00Z in ms.
const NOON: u64 = 1_714_564_800_000;

fn root() -> HostRoot {
    HostRoot::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime_state"))
}

/// A container of `runtime` with `id`, as a scan would have found it.
fn container(runtime: Runtime, id: &str, running: bool) -> Container {
    Container {
        id: id.into(),
        name: "c".into(),
        runtime,
        image: None,
        init_pid: None,
        pids: Vec::new(),
        cgroups: std::sync::Arc::from([]),
        cgroup_path: None,
        namespaces: Default::default(),
        shared_with_host: Vec::new(),
        pod: None,
        labels: BTreeMap::new(),
        metadata: None,
        start_ticks: None,
        running,
        trust: Trust::root(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn docker_restarts_health_exit_codes_and_times() {
    let root = root();
    // Restarted three times by its policy, running, its health check failing: the exit before
    // the restart is dated, its code (reset by Docker while running) is not given.
    let web = read_state(&root, &container(Runtime::Docker, DOCKER_WEB, true)).unwrap();
    assert_eq!(
        web,
        RuntimeState {
            restart_count: Some(3),
            health: Some("unhealthy".into()),
            exit_code: None,
            started_at_ms: Some(NOON + 5_500),
            finished_at_ms: Some(NOON + 4_250),
            stop_requested: None,
        }
    );
    // OOM-killed and stopped: 137, finished at 14:30 +02:00 = 12:30 UTC (ns cut to ms); the
    // stale health of a stopped container is not shown.
    let job = read_state(&root, &container(Runtime::Docker, DOCKER_JOB, false)).unwrap();
    assert_eq!(
        job,
        RuntimeState {
            restart_count: Some(3),
            health: None,
            exit_code: Some(137),
            started_at_ms: Some(NOON + 123),
            finished_at_ms: Some(NOON + 30 * 60_000 + 987),
            stop_requested: Some(false),
        }
    );
    // `docker stop` of a command that ignored TERM: 137, and Docker's "stopped by hand".
    let stopped = read_state(&root, &container(Runtime::Docker, DOCKER_STOPPED, false)).unwrap();
    assert_eq!(
        stopped,
        RuntimeState {
            restart_count: Some(0),
            health: None,
            exit_code: Some(137),
            started_at_ms: Some(NOON),
            finished_at_ms: Some(NOON + 10_000),
            stop_requested: Some(true),
        }
    );
    // Created, never started: Go's zero times are "never", the code of no run is no code.
    let fresh = read_state(&root, &container(Runtime::Docker, DOCKER_FRESH, false)).unwrap();
    assert_eq!(
        fresh,
        RuntimeState {
            restart_count: Some(0),
            ..RuntimeState::default()
        }
    );
    assert_eq!(
        read_state(&root, &container(Runtime::Docker, DOCKER_GARBAGE, false)),
        None
    );
    // No config at all, and an id that is not one.
    assert_eq!(
        read_state(&root, &container(Runtime::Docker, &"f".repeat(64), true)),
        None
    );
    assert_eq!(
        read_state(&root, &container(Runtime::Docker, "../../../etc", true)),
        None
    );
    // The files read are named.
    let reading = read(&root, &container(Runtime::Docker, DOCKER_WEB, true)).unwrap();
    assert_eq!(
        reading.sources,
        vec![
            root.var_lib
                .join("docker/containers")
                .join(DOCKER_WEB)
                .join("config.v2.json")
        ]
    );
}

#[test]
fn kubernetes_attempts_from_annotations_labels_and_log_dirs() {
    let root = root();
    // dockershim: kubelet's annotation as a label; times from Docker's config.
    let mut shim = container(Runtime::Kubernetes, DOCKERSHIM, true);
    shim.labels = labels(&[("annotation.io.kubernetes.container.restartCount", "2")]);
    let state = read_state(&root, &shim).unwrap();
    assert_eq!(state.restart_count, Some(2));
    assert_eq!(state.started_at_ms, Some(NOON + 600_000));
    assert_eq!(state.exit_code, None);

    // containerd's CRI status (ns), the attempt from kubelet's log dir: 2.log is the newest
    // (a rotated `2.log.<date>` and a non-number are not attempts).
    let mut web = container(Runtime::Kubernetes, CONTAINERD_K8S, true);
    web.name = "web".into();
    web.pod = Some(Pod {
        name: "web-7d9f".into(),
        namespace: "shop".into(),
        uid: Some("1234-5678".into()),
    });
    let reading = read(&root, &web).unwrap();
    assert_eq!(
        reading.state,
        RuntimeState {
            restart_count: Some(2),
            started_at_ms: Some(NOON + 250),
            ..RuntimeState::default()
        }
    );
    assert_eq!(reading.sources.len(), 2, "{:?}", reading.sources);
    assert!(reading.sources[1].ends_with("var/log/pods/shop_web-7d9f_1234-5678/web"));
    // A pod name that would leave the log dir is not joined onto it.
    web.pod.as_mut().unwrap().name = "../../etc".into();
    assert_eq!(read_state(&root, &web).unwrap().restart_count, None);

    // CRI-O: its state.json, kubelet's restartCount annotation in its spec.
    let mut crio = container(Runtime::Kubernetes, CRIO_K8S, false);
    crio.labels = labels(&[("io.kubernetes.container.restartCount", "4")]);
    assert_eq!(
        read_state(&root, &crio).unwrap(),
        RuntimeState {
            restart_count: Some(4),
            health: None,
            exit_code: Some(1),
            started_at_ms: Some(NOON),
            finished_at_ms: Some(NOON + 30_000),
            stop_requested: None,
        }
    );
    // CRI-O's own metadata annotation carries the attempt too; running: no exit.
    let mut meta = container(Runtime::CriO, CRIO_META, true);
    meta.labels = labels(&[(
        "io.kubernetes.cri-o.Metadata",
        r#"{"name":"db","attempt":1}"#,
    )]);
    assert_eq!(
        read_state(&root, &meta).unwrap(),
        RuntimeState {
            restart_count: Some(1),
            started_at_ms: Some(NOON),
            ..RuntimeState::default()
        }
    );
    // A Kubernetes container no runtime file knows records nothing.
    assert_eq!(
        read_state(
            &root,
            &container(Runtime::Kubernetes, &"a".repeat(64), true)
        ),
        None
    );
}

#[test]
fn podman_exit_files_and_health_log() {
    let root = root();
    // The persist copy wins over the older exits/ one; dated by its mtime.
    let exited = container(Runtime::Podman, PODMAN_EXITED, false);
    let reading = read(&root, &exited).unwrap();
    let persist = root
        .run
        .join("libpod/persist")
        .join(PODMAN_EXITED)
        .join("exit");
    let mtime = std::fs::metadata(&persist)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(
        reading.state,
        RuntimeState {
            exit_code: Some(143),
            finished_at_ms: Some(mtime),
            ..RuntimeState::default()
        }
    );
    assert_eq!(reading.sources, vec![persist]);
    let old = read_state(&root, &container(Runtime::Podman, PODMAN_OLD, false)).unwrap();
    assert_eq!(old.exit_code, Some(2));
    // Running: its health; an exit file would not be read.
    let healthy = read_state(&root, &container(Runtime::Podman, PODMAN_HEALTHY, true)).unwrap();
    assert_eq!(healthy.health.as_deref(), Some("healthy"));
    assert_eq!(
        read_state(&root, &container(Runtime::Podman, PODMAN_EXITED, true)),
        None
    );
    // A rootless container's files are looked for under its user's run dir, not root's.
    let mut rootless = container(Runtime::Podman, PODMAN_EXITED, false);
    rootless.trust = Trust::verified_for(1000);
    assert_eq!(read_state(&root, &rootless), None);
}

#[test]
fn isotop_records_and_runc_creation_and_runtimes_without_files() {
    let root = root();
    let batch = read_state(&root, &container(Runtime::Isotop, ISOTOP_EXITED, false)).unwrap();
    assert_eq!(
        batch,
        RuntimeState {
            exit_code: Some(3),
            started_at_ms: Some(NOON),
            finished_at_ms: Some(NOON + 60_500),
            stop_requested: Some(false),
            ..RuntimeState::default()
        }
    );
    // runc: the state file the container was named from (below /run), its `created`.
    let mut oneshot = container(Runtime::Runc, "oneshot", true);
    oneshot.metadata = Some(root.run.join("runc/oneshot/state.json"));
    assert_eq!(
        read_state(&root, &oneshot).unwrap(),
        RuntimeState {
            started_at_ms: Some(NOON + 750),
            ..RuntimeState::default()
        }
    );
    // Without one, or with one outside /run, nothing is read.
    oneshot.metadata = None;
    assert_eq!(read_state(&root, &oneshot), None);
    let elsewhere = root.var_lib.join("docker/containers").join(DOCKER_JOB);
    oneshot.metadata = Some(elsewhere.join("config.v2.json"));
    assert_eq!(read_state(&root, &oneshot), None);
    for runtime in [Runtime::Lxc, Runtime::Nspawn, Runtime::Unknown] {
        assert_eq!(read_state(&root, &container(runtime, "web", true)), None);
        assert!(isotop::host::runtime::state::unrecorded(runtime).is_some());
    }
}

#[test]
fn the_recorded_dates_are_events() {
    let root = root();
    let job = container(Runtime::Docker, DOCKER_JOB, false);
    let state = read_state(&root, &job).unwrap();
    let events = dated_events(&job, &state);
    let json: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(json.len(), 2, "{json:#?}");
    // A restart count above 0 makes the start a restart.
    assert_eq!(json[0]["kind"], "restarted");
    assert_eq!(json[0]["restart_count"], 3);
    assert_eq!(json[0]["at_ms"], NOON + 123);
    assert_eq!(json[0]["timing"], "dated");
    assert_eq!(json[1]["kind"], "exited");
    assert_eq!(json[1]["exit_code"], 137);
    assert_eq!(json[1]["at_ms"], NOON + 30 * 60_000 + 987);
    assert_eq!(json[1]["subject"]["container_id"], DOCKER_JOB);
    // Running after a restart: the exit before it is not this run's.
    let web = container(Runtime::Docker, DOCKER_WEB, true);
    let events = dated_events(&web, &read_state(&root, &web).unwrap());
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["restarted"]);
    // isotop's: started, then exited with 3.
    let batch = container(Runtime::Isotop, ISOTOP_EXITED, false);
    let events = dated_events(&batch, &read_state(&root, &batch).unwrap());
    let kinds: Vec<(&str, u64)> = events.iter().map(|e| (e.kind.name(), e.at_ms)).collect();
    assert_eq!(kinds, [("started", NOON), ("exited", NOON + 60_500)]);
}

/// A scratch host root with one Docker container dir `id`, returned with its config path.
fn scratch(id: &str) -> (tempfile::TempDir, HostRoot, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let containers = dir.path().join("var/lib/docker/containers");
    std::fs::create_dir_all(containers.join(id)).unwrap();
    let root = HostRoot::under(dir.path());
    let config = containers.join(id).join("config.v2.json");
    (dir, root, config)
}

/// Runs `read_state` on a thread; panics when it does not answer within 20 s (a FIFO opened
/// for reading would block it forever).
fn read_bounded(root: &HostRoot, c: Container) -> Option<RuntimeState> {
    let (tx, rx) = mpsc::channel();
    let root = root.clone();
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(read_state(&root, &c));
    });
    let state = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("read_state answered");
    eprintln!("answered in {:?}", start.elapsed());
    state
}

const GOOD: &str = r#"{"RestartCount":99,"State":{"Running":false,"ExitCode":9,
"StartedAt":"2024-05-01T12:00:00Z","FinishedAt":"2024-05-01T12:00:01Z"}}"#;

#[test]
fn a_config_symlinked_out_of_the_store_is_not_read() {
    let id = "ab".repeat(32);
    let (dir, root, config) = scratch(&id);
    // Sanity: the same text in place is read.
    std::fs::write(&config, GOOD).unwrap();
    let c = container(Runtime::Docker, &id, false);
    assert_eq!(read_bounded(&root, c.clone()).unwrap().exit_code, Some(9));
    // A symlink to a file elsewhere holding it.
    let elsewhere = dir.path().join("elsewhere.json");
    std::fs::write(&elsewhere, GOOD).unwrap();
    std::fs::remove_file(&config).unwrap();
    symlink(&elsewhere, &config).unwrap();
    assert_eq!(read_bounded(&root, c.clone()), None);
    // The container's dir itself a symlink to a dir holding it.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("config.v2.json"), GOOD).unwrap();
    let store_dir = config.parent().unwrap();
    std::fs::remove_file(&config).unwrap();
    std::fs::remove_dir(store_dir).unwrap();
    symlink(&outside, store_dir).unwrap();
    assert_eq!(read_bounded(&root, c), None);
}

#[test]
fn a_fifo_as_a_config_is_refused_at_once() {
    let id = "cd".repeat(32);
    let (_dir, root, config) = scratch(&id);
    nix::unistd::mkfifo(&config, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert_eq!(
        read_bounded(&root, container(Runtime::Docker, &id, false)),
        None
    );
    // The same for Podman's exit file and isotop's record.
    let exit = root.run.join("libpod/exits");
    std::fs::create_dir_all(&exit).unwrap();
    nix::unistd::mkfifo(
        &exit.join(&id),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    assert_eq!(
        read_bounded(&root, container(Runtime::Podman, &id, false)),
        None
    );
    let record = root.run.join("isotop").join(&id);
    std::fs::create_dir_all(&record).unwrap();
    nix::unistd::mkfifo(
        &record.join("state.json"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    assert_eq!(
        read_bounded(&root, container(Runtime::Isotop, &id, false)),
        None
    );
}

#[test]
fn a_100_mb_config_is_not_read() {
    let id = "ef".repeat(32);
    let (_dir, root, config) = scratch(&id);
    // Valid JSON at its start, then 100 MB of spaces (JSON whitespace): a reader that read it
    // all would parse it.
    let mut text = GOOD.as_bytes().to_vec();
    text.resize(100 * 1024 * 1024, b' ');
    std::fs::write(&config, &text).unwrap();
    drop(text);
    let start = Instant::now();
    assert_eq!(
        read_bounded(&root, container(Runtime::Docker, &id, false)),
        None
    );
    // Refused by its size before a byte is read: far under the time reading it would take
    // on this shared machine is not asserted (nothing is timed), only printed.
    eprintln!("100 MB config refused in {:?}", start.elapsed());
}

#[test]
fn a_file_anyone_could_have_written_speaks_for_no_one() {
    let id = "0a".repeat(32);
    let (_dir, root, config) = scratch(&id);
    std::fs::write(&config, GOOD).unwrap();
    let store_dir = config.parent().unwrap();
    std::fs::set_permissions(store_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        read_bounded(&root, container(Runtime::Docker, &id, false)),
        None
    );
    std::fs::set_permissions(store_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(read_bounded(&root, container(Runtime::Docker, &id, false)).is_some());
    assert!(Path::new(&config).exists());
}

//! Docker containers from a fixture root: cgroupfs and systemd paths, names and images from
//! config.v2.json, control characters cleaned, garbage or missing metadata falling back to the
//! id, ids that are not hex ignored, nesting, and the stopped list.

use crate::support::procs;

use isotop::host::container::{Runtime, find_containers, find_stopped};
use isotop::host::namespace::NsKind;
use procs::*;

const WEB: &str = "0f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978";
const DB: &str = "a0b1c2d3e4f5a6b7a0b1c2d3e4f5a6b7a0b1c2d3e4f5a6b7a0b1c2d3e4f5a6b7";
const BAD: &str = "badbadbadbadbad0badbadbadbadbad0badbadbadbadbad0badbadbadbadbad0";
const NOMETA: &str = "1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef";
const OLD: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const INNER: &str = "1111222233334444111122223333444411112222333344441111222233334444";

fn snapshot() -> Vec<isotop::host::process::Process> {
    let web = format!("/docker/{WEB}");
    let db = format!("/system.slice/docker-{DB}.scope");
    vec![
        host_process(1, 0, "init"),
        process(
            1000,
            1,
            "containerd-shim",
            "/system.slice/containerd.service",
            host_ns(),
        ),
        process(1001, 1000, "nginx", &web, container_ns(5000)),
        process(1002, 1001, "nginx", &web, container_ns(5000)),
        // `docker exec`: a child of the shim, in the container's cgroup.
        process(1003, 1000, "sh", &web, container_ns(5000)),
        // A sub-cgroup that is merely called `payload` (no systemd-nspawn around it).
        process(
            1004,
            1001,
            "worker",
            &format!("{web}/payload"),
            container_ns(5000),
        ),
        process(1101, 1000, "postgres", &db, container_ns(5100)),
        process(
            1102,
            1101,
            "postgres",
            &format!("{db}/sub"),
            container_ns(5100),
        ),
        process(
            1201,
            1000,
            "app",
            &format!("/docker/{BAD}"),
            container_ns(5200),
        ),
        process(
            1251,
            1000,
            "app",
            &format!("/docker/{NOMETA}"),
            container_ns(5250),
        ),
        // 64 characters but not hex: not a Docker id, and in the host's namespaces.
        process(
            1401,
            1,
            "fake",
            &format!("/docker/{}", "z".repeat(64)),
            host_ns(),
        ),
        // Docker in Docker: the inner container is the innermost match.
        process(
            1301,
            1001,
            "inner",
            &format!("{web}/docker/{INNER}"),
            container_ns(5300),
        ),
    ]
}

#[test]
fn docker_containers_are_named_from_config_v2() {
    let root = fixture_root("docker");
    let found = find_containers(&root, &snapshot(), &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 5, "{:#?}", summary(&found));

    let web = by_id(&found, WEB);
    assert_eq!(web.runtime, Runtime::Docker);
    assert_eq!(web.name, "web");
    assert_eq!(web.image.as_deref(), Some("nginx:1.27"));
    assert_eq!(web.init_pid, Some(1001));
    assert_eq!(web.pids, vec![1001, 1002, 1003, 1004]);
    assert_eq!(
        web.cgroup_path.as_deref(),
        Some(format!("/docker/{WEB}").as_str())
    );
    assert_eq!(
        web.labels.get("com.example.team").map(String::as_str),
        Some("shop")
    );
    assert_eq!(
        web.labels.get("evil").map(String::as_str),
        Some("red?[31mtext")
    );
    assert!(web.running);
    assert_eq!(web.start_ticks, Some(1000 + 1001));
    assert_eq!(
        web.metadata.as_deref(),
        Some(
            root.var_lib
                .join(format!("docker/containers/{WEB}/config.v2.json"))
                .as_path()
        )
    );
    assert_eq!(
        web.namespaces.get(NsKind::Net),
        Some(5000 + NsKind::Net as u64)
    );
    assert_eq!(
        web.shared_with_host,
        vec![NsKind::Cgroup, NsKind::Time, NsKind::User]
    );
    assert!(
        web.cgroups
            .iter()
            .any(|m| m.path == format!("/docker/{WEB}"))
    );
}

#[test]
fn systemd_driver_and_control_characters() {
    let found = find_containers(&fixture_root("docker"), &snapshot(), &host_ns());
    let db = by_id(&found, DB);
    assert_eq!(db.runtime, Runtime::Docker);
    // The name held BEL and an OSC escape: both cleaned.
    assert_eq!(db.name, "db??]0;pwned?");
    assert!(!db.name.chars().any(char::is_control));
    assert_eq!(db.image.as_deref(), Some("postgres:16"));
    // The config's pid is not one of the container's processes: the root process is the init.
    assert_eq!(db.init_pid, Some(1101));
    assert_eq!(db.pids, vec![1101, 1102]);
    assert_eq!(
        db.cgroup_path.as_deref(),
        Some(format!("/system.slice/docker-{DB}.scope").as_str())
    );
}

#[test]
fn broken_or_missing_metadata_falls_back_to_the_id() {
    let found = find_containers(&fixture_root("docker"), &snapshot(), &host_ns());
    for id in [BAD, NOMETA] {
        let c = by_id(&found, id);
        assert_eq!(c.runtime, Runtime::Docker);
        assert_eq!(c.name, id);
        assert_eq!(c.image, None);
        assert_eq!(c.metadata, None);
    }
    assert!(
        !found.iter().any(|c| c.pids.contains(&1401)),
        "a non-hex id is not a container"
    );
}

#[test]
fn nested_container_takes_its_own_processes() {
    let found = find_containers(&fixture_root("docker"), &snapshot(), &host_ns());
    let inner = by_id(&found, INNER);
    assert_eq!(inner.name, "inner");
    assert_eq!(inner.pids, vec![1301]);
    assert_eq!(inner.init_pid, Some(1301));
    assert!(!by_id(&found, WEB).pids.contains(&1301));
}

#[test]
fn stopped_lists_configs_without_processes() {
    let root = fixture_root("docker");
    let running = find_containers(&root, &snapshot(), &host_ns());
    let stopped = find_stopped(&root, &running);
    assert_eq!(
        summary(&stopped),
        vec![("docker".into(), OLD.into(), vec![])]
    );
    let old = &stopped[0];
    assert_eq!(old.name, "old-job");
    assert_eq!(old.image.as_deref(), Some("busybox:1.36"));
    assert!(!old.running);
    assert_eq!(old.init_pid, None);
    // With nothing running, every config on disk is listed (the garbage one by its id).
    let all = find_stopped(&root, &[]);
    let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    let mut expected = vec![WEB, DB, BAD, OLD, INNER];
    expected.sort();
    assert_eq!(ids, expected);
}

//! Podman containers from a fixture root: names from containers.json (and the volatile list of
//! `--rm` containers, and a rootless user's store), images from the entry's metadata string,
//! conmon never part of a container, garbage metadata strings tolerated.

use crate::support::procs;

use isotop::host::container::{Runtime, find_containers, find_stopped};
use procs::*;

const PW: &str = "bead0000bead0000bead0000bead0000bead0000bead0000bead0000bead0000";
const PV: &str = "f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d";
const PR: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";
const PS: &str = "5709ed005709ed005709ed005709ed005709ed005709ed005709ed005709ed00";

fn snapshot() -> Vec<isotop::host::process::Process> {
    let user_slice = "/user.slice/user-1000.slice/user@1000.service/user.slice";
    vec![
        host_process(1, 0, "init"),
        // cgroupfs driver: conmon in its own cgroup, and (older Podman) in the container's
        // parent cgroup with the payload below it in `ctr`.
        process(5000, 1, "conmon", "/libpod_parent/conmon", host_ns()),
        process(
            5010,
            1,
            "conmon",
            &format!("/libpod_parent/libpod-{PW}"),
            host_ns(),
        ),
        process(
            5011,
            5010,
            "haproxy",
            &format!("/libpod_parent/libpod-{PW}/ctr"),
            container_ns(9000),
        ),
        process(
            5012,
            5011,
            "haproxy",
            &format!("/libpod_parent/libpod-{PW}/ctr"),
            container_ns(9000),
        ),
        // systemd driver.
        process(
            5020,
            1,
            "conmon",
            &format!("/machine.slice/libpod-conmon-{PV}.scope"),
            host_ns(),
        ),
        process(
            5021,
            5020,
            "tmp",
            &format!("/machine.slice/libpod-{PV}.scope/container"),
            container_ns(9100),
        ),
        // rootless, under the user's manager.
        process(
            5030,
            1,
            "conmon",
            &format!("{user_slice}/libpod-conmon-{PR}.scope"),
            host_ns(),
        ),
        process(
            5031,
            5030,
            "app",
            &format!("{user_slice}/libpod-{PR}.scope/container"),
            container_ns(9200),
        ),
    ]
}

#[test]
fn podman_names_images_and_conmon() {
    let root = fixture_root("podman");
    let found = find_containers(&root, &snapshot(), &host_ns());
    assert_disjoint(&found);
    assert_eq!(found.len(), 3, "{:#?}", summary(&found));
    assert!(
        !found
            .iter()
            .flat_map(|c| &c.pids)
            .any(|p| [5000, 5010, 5020, 5030].contains(p)),
        "conmon is never in a container"
    );

    let proxy = by_id(&found, PW);
    assert_eq!(proxy.runtime, Runtime::Podman);
    assert_eq!(proxy.name, "proxy");
    assert_eq!(
        proxy.image.as_deref(),
        Some("docker.io/library/haproxy:2.9")
    );
    assert_eq!(proxy.pids, vec![5011, 5012]);
    assert_eq!(proxy.init_pid, Some(5011));
    assert_eq!(
        proxy.cgroup_path.as_deref(),
        Some(format!("/libpod_parent/libpod-{PW}").as_str())
    );
    assert_eq!(
        proxy
            .labels
            .get("io.podman.annotations.autoremove")
            .map(String::as_str),
        Some("FALSE")
    );
    assert_eq!(
        proxy.metadata.as_deref(),
        Some(
            root.var_lib
                .join("containers/storage/overlay-containers/containers.json")
                .as_path()
        )
    );

    let tmp = by_id(&found, PV);
    assert_eq!(tmp.name, "tmp-?[1mbold", "volatile list, name cleaned");
    assert_eq!(tmp.image.as_deref(), Some("quay.io/x/tmp:1"));
    assert_eq!(tmp.pids, vec![5021]);

    let rootless = by_id(&found, PR);
    assert_eq!(rootless.runtime, Runtime::Podman);
    assert_eq!(rootless.name, "rootless-app");
    assert_eq!(
        rootless.image.as_deref(),
        Some("docker.io/library/alpine:3")
    );
}

#[test]
fn stopped_podman_container_with_garbage_metadata_string() {
    let root = fixture_root("podman");
    let running = find_containers(&root, &snapshot(), &host_ns());
    let stopped = find_stopped(&root, &running);
    assert_eq!(
        summary(&stopped),
        vec![("podman".into(), PS.into(), vec![])]
    );
    assert_eq!(stopped[0].name, "stopped-one");
    // The metadata string is not JSON: the image id stands in for the name.
    assert_eq!(
        stopped[0].image.as_deref(),
        Some("cafe".repeat(16).as_str())
    );
}

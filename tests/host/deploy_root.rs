//! The DaemonSet's mounts are what `--root /host` reads: in a private mount namespace the test
//! bind-mounts, read-only, every hostPath volume of `deploy/kubernetes/daemonset.yaml` at its
//! mountPath under a temporary directory (as the kubelet would under the container's root),
//! runs `isotop --root DIR/host --read-only ls --json` there, and compares what it finds of a
//! real runc container with the live view: the same container, runtime, name, cgroup, pid,
//! state, network namespace, figures (network counters among them) and limits. A mount
//! missing from the manifest (say /run, where runc keeps its state) loses the container; one
//! at the wrong path loses the cgroup figures. Once more from a cgroup namespace of its own
//! (`unshare --cgroup`, rooted in a test cgroup): the view is the same.

use std::process::Command;

use serde_json::Value;

use crate::support::deploy::{assert_seen_as_live, ls_entry, manifest};
use crate::support::{bundle, common};

/// The DaemonSet's (host path, mount path) pairs, parents before what is mounted inside them.
fn daemonset_mounts() -> Vec<(String, String)> {
    let daemonset = manifest("deploy/kubernetes/daemonset.yaml");
    let pod = &daemonset["spec"]["template"]["spec"];
    let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
    let mut pairs: Vec<(String, String)> = pod["containers"][0]["volumeMounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|mount| {
            let volume = volumes
                .iter()
                .find(|v| v["name"] == mount["name"])
                .expect("a volume per mount");
            let host = volume["hostPath"]["path"].as_str().expect("hostPath");
            let at = mount["mountPath"].as_str().expect("mountPath");
            (host.to_string(), at.to_string())
        })
        .collect();
    pairs.sort_by(|a, b| a.1.cmp(&b.1));
    pairs
}

/// A shell script that mounts `pairs` read-only under `base` (in the mount namespace it runs
/// in), then runs isotop with `--root BASE/host` and `args`.
fn mount_script(base: &str, pairs: &[(String, String)], args: &[&str]) -> String {
    let mut script = String::from("set -e\n");
    for (host, at) in pairs {
        let target = format!("{base}{at}");
        // A node without the directory gets an empty one (DirectoryOrCreate); here the host is
        // left as it is and the mount point stays empty, which reads the same.
        script.push_str(&format!(
            "if [ -d '{host}' ]; then mkdir -p '{target}'; mount --rbind '{host}' '{target}'\n\
             elif [ -e '{host}' ]; then mkdir -p \"$(dirname '{target}')\"; touch '{target}'; \
             mount --bind '{host}' '{target}'\n\
             else mkdir -p '{target}'; fi\n\
             if [ -e '{host}' ]; then mount -o remount,bind,ro '{target}'; fi\n"
        ));
    }
    script.push_str(&format!(
        "exec '{}' --root '{base}/host' {}\n",
        env!("CARGO_BIN_EXE_isotop"),
        args.join(" ")
    ));
    script
}

/// Runs isotop under the DaemonSet's mounts (see the module documentation) and asserts it
/// sees a real runc container as the live host does. With `cgroupns`, from that guard's `obs`
/// cgroup in a cgroup namespace of its own, as an unprivileged pod on a cgroup v2 node.
fn seen_as_live_under_the_mounts(cgroupns: Option<&common::CgroupGuard>) {
    if !common::require_program("unshare")
        || !common::require_program("runc")
        || !std::path::Path::new(bundle::BUSYBOX).is_file()
    {
        return;
    }
    let pairs = daemonset_mounts();
    assert!(pairs.iter().any(|(h, _)| h == "/proc"), "{pairs:?}");
    let run = bundle::OciRun::start("runc");
    let base = tempfile::Builder::new()
        .prefix("isotop-test-daemonset-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let base_text = base.path().display().to_string();
    let args = ["--read-only", "ls", "--json", "--interval", "0.3"];
    let script = mount_script(&base_text, &pairs, &args);
    let out = match cgroupns {
        None => Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(script)
            .output(),
        Some(guard) => {
            let moves: String = guard
                .dirs
                .iter()
                .map(|d| format!("echo $$ > '{}/obs/cgroup.procs'\n", d.display()))
                .collect();
            Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "set -e\n{moves}exec unshare --cgroup --mount --propagation private \
                     sh -c \"$0\""
                ))
                .arg(script)
                .output()
        }
    }
    .expect("unshare starts");
    assert!(
        out.status.success(),
        "isotop under the DaemonSet's mounts: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("cgroup namespace"), "{stderr}");
    let mounted: Value = serde_json::from_slice(&out.stdout).expect("isotop printed JSON");
    let under_host = ls_entry(&mounted, &run.id);
    let live = ls_entry(&common::isotop_json(&args), &run.id);
    assert_seen_as_live(&live, &under_host, "under the DaemonSet's mounts");
    // The mounts were private to the test's namespace: nothing is left mounted here.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mountinfo.contains(&base_text),
        "a mount leaked: {base_text}"
    );
    drop(run);
}

#[test]
#[ignore = "needs root"]
fn the_daemonsets_mounts_show_a_container_as_the_live_host_does() {
    seen_as_live_under_the_mounts(None);
}

/// The same from a cgroup namespace of its own rooted in a test cgroup (so not at `/`): the
/// container's cgroup reads `/../…` there, and isotop still finds it and its figures.
#[test]
#[ignore = "needs root"]
fn in_a_cgroup_namespace_the_daemonsets_mounts_show_the_same() {
    let guard = common::CgroupGuard::new("daemonset-cgns");
    guard.child("obs");
    seen_as_live_under_the_mounts(Some(&guard));
}

//! The DaemonSet's mounts are what `--root /host` reads: in a private mount namespace the test
//! bind-mounts, read-only, every hostPath volume of `deploy/kubernetes/daemonset.yaml` at its
//! mountPath under a temporary directory (as the kubelet would under the container's root),
//! runs `isotop --root DIR/host --read-only ls --json` there, and compares what it finds of a
//! real runc container with the live view: the same container, runtime, name, cgroup, pid,
//! state, network namespace, figures (network counters among them) and limits. A mount
//! missing from the manifest (say /run, where runc keeps its state) loses the container; one
//! at the wrong path loses the cgroup figures.

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

#[test]
#[ignore = "needs root"]
fn the_daemonsets_mounts_show_a_container_as_the_live_host_does() {
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
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(mount_script(&base_text, &pairs, &args))
        .output()
        .expect("unshare starts");
    assert!(
        out.status.success(),
        "isotop under the DaemonSet's mounts: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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

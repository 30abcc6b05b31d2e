//! The runtimes' log layouts written by the logs tests into a fake host root (the live
//! `/proc` and `/sys`, its own `/run` and `/var/lib`, `HostRoot::under` through `--root`):
//! Docker's container directory with `config.v2.json`, `hostconfig.json` and a `json-file`
//! log; a Kubernetes pod under containerd (task dirs with the CRI annotations, kubelet's
//! `/var/log/pods`); a Podman `k8s-file` container. Records are written as the runtimes write
//! them; times are chosen by the test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use isotop::host::logs::time::format_rfc3339_ns;

use crate::support::common::isotop;
use crate::support::hostile_files::fake_root;

/// 2026-12-06T10:00:00Z, ns since the epoch.
pub const T0: u64 = 1_796_551_200_000_000_000;
pub const SECOND: u64 = 1_000_000_000;

/// A `json-file` record.
pub fn docker_line(log: &str, stream: &str, at_ns: u64) -> String {
    let record =
        serde_json::json!({"log": log, "stream": stream, "time": format_rfc3339_ns(at_ns)});
    format!("{record}\n")
}

/// A CRI record (`tag` `F` or `P`).
pub fn cri_line(text: &str, stream: &str, tag: &str, at_ns: u64) -> String {
    format!("{} {stream} {tag} {text}\n", format_rfc3339_ns(at_ns))
}

/// A 64-hex id unique to this run (the runtimes' kind of id).
pub fn unique_id(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{what}-{}-{nanos}", std::process::id());
    let mut hex = String::new();
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    while hex.len() < 64 {
        for byte in seed.bytes().chain(hex.clone().into_bytes()) {
            state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hex.push_str(&format!("{state:016x}"));
    }
    hex.truncate(64);
    hex
}

/// Appends `text` to `path` (creating it and its directory).
pub fn append(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("log dir");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap_or_else(|e| panic!("append to {}: {e}", path.display()));
}

fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
    std::fs::write(path, value.to_string()).expect("write record");
}

/// A fake host root holding runtimes' records and logs.
pub struct LogRoot {
    pub dir: tempfile::TempDir,
}

impl LogRoot {
    pub fn new() -> LogRoot {
        LogRoot { dir: fake_root() }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `isotop --root <this root> logs <args>`.
    pub fn logs(&self, args: &[&str]) -> Command {
        let mut cmd = isotop();
        cmd.arg("--root")
            .arg(self.dir.path())
            .arg("logs")
            .args(args);
        cmd
    }

    /// A Docker container `name` logging with `json-file`; its log's path (not written yet).
    /// `pid`: its running init, as Docker records it.
    pub fn docker(&self, id: &str, name: &str, pid: Option<i32>) -> PathBuf {
        let dir = self.path("var/lib/docker/containers").join(id);
        let log = dir.join(format!("{id}-json.log"));
        let host_log = Path::new("/var/lib/docker/containers")
            .join(id)
            .join(format!("{id}-json.log"));
        write_json(
            &dir.join("config.v2.json"),
            &serde_json::json!({
                "ID": id,
                "Name": format!("/{name}"),
                "LogPath": host_log,
                "Config": {"Image": "busybox"},
                "State": {"Running": pid.is_some(), "Pid": pid.unwrap_or(0)},
            }),
        );
        write_json(
            &dir.join("hostconfig.json"),
            &serde_json::json!({"LogConfig": {"Type": "json-file", "Config": {}}}),
        );
        log
    }

    /// A Kubernetes container `name` of pod `namespace/pod` under containerd (created: its
    /// task dir and its sandbox's); its log's path (attempt 0, not written yet).
    pub fn kubernetes(&self, id: &str, namespace: &str, pod: &str, name: &str) -> PathBuf {
        let uid = "6c0ffee0-1111-2222-3333-444455556666";
        let sandbox = unique_id("sandbox");
        let pod_dir = format!("/var/log/pods/{namespace}_{pod}_{uid}");
        let tasks = self.path("run/containerd/io.containerd.runtime.v2.task/k8s.io");
        let common = |kind: &str| {
            serde_json::json!({
                "io.kubernetes.cri.container-type": kind,
                "io.kubernetes.cri.sandbox-id": sandbox,
                "io.kubernetes.cri.sandbox-name": pod,
                "io.kubernetes.cri.sandbox-namespace": namespace,
                "io.kubernetes.cri.sandbox-uid": uid,
            })
        };
        let mut sandbox_annotations = common("sandbox");
        sandbox_annotations["io.kubernetes.cri.sandbox-log-directory"] = pod_dir.clone().into();
        write_json(
            &tasks.join(&sandbox).join("config.json"),
            &serde_json::json!({"annotations": sandbox_annotations}),
        );
        let mut annotations = common("container");
        annotations["io.kubernetes.cri.container-name"] = name.into();
        write_json(
            &tasks.join(id).join("config.json"),
            &serde_json::json!({"annotations": annotations}),
        );
        self.path(pod_dir.trim_start_matches('/'))
            .join(name)
            .join("0.log")
    }

    /// A Podman container `name` with the `k8s-file` driver; its `ctr.log` (not written yet).
    pub fn podman(&self, id: &str, name: &str) -> PathBuf {
        let store = self.path("var/lib/containers/storage/overlay-containers");
        write_json(
            &store.join("containers.json"),
            &serde_json::json!([{"id": id, "names": [name]}]),
        );
        store.join(id).join("userdata/ctr.log")
    }
}

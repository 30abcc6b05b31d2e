//! The Kubernetes manifests under `deploy/kubernetes/` hold together and hold isotop's promises:
//! the DaemonSet only reads (read-only mounts laid out as `--root /host` expects, every
//! capability dropped but the systemd unit's reading ones, `--read-only`, no escalation, a
//! read-only root), the Service, NetworkPolicy, ServiceMonitor and scrape config all select the
//! exporter's pods and port, the kustomization lists the objects, the image's entrypoint is
//! the DaemonSet's command. Then the outside validators, each where installed (`.ci/run`
//! installs them): `kubernetes-validate --strict` for the core kinds (the newest schemas it
//! has and 1.30, the oldest with `recursiveReadOnly`), the ServiceMonitor against the
//! Prometheus Operator's CRD schema (`@kubernetes-models/prometheus-operator`, run by node),
//! `yamllint`, and `promtool check config` for the plain scrape job.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::deploy::{
    manifest, repo_path, repo_text, tool, unit_capabilities, yaml_documents,
};

const DIR: &str = "deploy/kubernetes";

/// The files `kubectl apply -k` applies (kustomization.yaml's resources).
const CORE: [&str; 5] = [
    "namespace.yaml",
    "serviceaccount.yaml",
    "daemonset.yaml",
    "service.yaml",
    "networkpolicy.yaml",
];

fn object(file: &str) -> Value {
    manifest(&format!("{DIR}/{file}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// True when every label `selector` asks for is among `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|wanted| !wanted.is_empty() && wanted.iter().all(|(k, v)| &labels[k] == v))
}

#[test]
fn the_daemonset_only_reads_the_node_under_host() {
    let daemonset = object("daemonset.yaml");
    assert_eq!(daemonset["kind"], "DaemonSet");
    let pod = &daemonset["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true, "/host/proc's pids must be the node's");
    assert_eq!(pod["hostNetwork"], false);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    let command = strings(&c["command"]);
    for word in ["--read-only", "--root", "/host", "serve"] {
        assert!(
            command.iter().any(|w| w == word),
            "command {command:?} lacks {word}"
        );
    }
    let args = strings(&c["args"]);
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--listen" && w[1] == "0.0.0.0:9814"),
        "{args:?}"
    );

    let security = &c["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["privileged"], false);
    assert_eq!(security["runAsUser"], 0);
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    // The unit's set less CAP_SYSLOG: a container's device cgroup refuses /dev/kmsg, so the
    // capability would only widen what a compromise could do.
    let added: BTreeSet<String> = strings(&security["capabilities"]["add"])
        .into_iter()
        .map(|c| format!("CAP_{c}"))
        .collect();
    let mut expected = unit_capabilities();
    expected.remove("CAP_SYSLOG");
    assert_eq!(
        added, expected,
        "the DaemonSet's capabilities and the unit's"
    );

    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(c[probe]["httpGet"]["path"], "/healthz", "{probe}");
        assert_eq!(c[probe]["httpGet"]["port"], "metrics", "{probe}");
    }
    let port = &c["ports"][0];
    assert_eq!(
        (port["name"].as_str(), port["containerPort"].as_u64()),
        (Some("metrics"), Some(9814))
    );
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][bound][resource].is_string(),
                "resources.{bound}.{resource}"
            );
        }
    }

    // Every mount is a host path, read-only, at /host + the same path: HostRoot::under("/host")
    // reads the node's /X at /host/X.
    let volumes = pod["volumes"].as_array().expect("volumes");
    let mounts = c["volumeMounts"].as_array().expect("volumeMounts");
    assert_eq!(volumes.len(), mounts.len(), "one mount per volume");
    let mut mounted = BTreeSet::new();
    for mount in mounts {
        let name = &mount["name"];
        let volume = volumes
            .iter()
            .find(|v| &v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"));
        let host = volume["hostPath"]["path"]
            .as_str()
            .expect("a hostPath volume");
        let at = mount["mountPath"].as_str().expect("mountPath");
        assert_eq!(at, format!("/host{host}"), "volume {name}");
        assert_eq!(mount["readOnly"], true, "volume {name} must be read-only");
        assert!(mount.get("mountPropagation").is_none(), "volume {name}");
        mounted.insert(host.to_string());
    }
    for needed in [
        "/proc",
        "/sys",
        "/sys/fs/cgroup",
        "/run",
        "/var/lib/docker",
        "/var/lib/containerd",
        "/var/lib/containers",
        "/var/log/pods",
        "/etc/passwd",
    ] {
        assert!(
            mounted.contains(needed),
            "{needed} is not mounted: {mounted:?}"
        );
    }
}

#[test]
fn service_policy_monitor_and_scrape_job_select_the_exporter() {
    let daemonset = object("daemonset.yaml");
    let pod_labels = &daemonset["spec"]["template"]["metadata"]["labels"];
    assert!(selects(
        &daemonset["spec"]["selector"]["matchLabels"],
        pod_labels
    ));
    let namespace = object("namespace.yaml")["metadata"]["name"].clone();

    let service = object("service.yaml");
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert!(
        selects(&service["spec"]["selector"], pod_labels),
        "Service selector"
    );
    let port = &service["spec"]["ports"][0];
    assert_eq!(
        (port["name"].as_str(), port["port"].as_u64()),
        (Some("metrics"), Some(9814))
    );
    assert_eq!(port["targetPort"], "metrics");

    let policy = object("networkpolicy.yaml");
    assert!(selects(
        &policy["spec"]["podSelector"]["matchLabels"],
        pod_labels
    ));
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], "metrics");
    assert_eq!(
        policy["spec"]["egress"],
        Value::Array(vec![]),
        "no egress at all"
    );

    let monitor = object("servicemonitor.yaml");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert!(selects(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    ));
    assert!(
        strings(&monitor["spec"]["namespaceSelector"]["matchNames"])
            .contains(&namespace.as_str().unwrap_or_default().to_string())
    );
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], "metrics");
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(
        endpoint["honorLabels"], true,
        "the containers' namespace/pod labels win"
    );

    for file in CORE.iter().chain(["servicemonitor.yaml"].iter()) {
        assert_eq!(object(file)["metadata"]["name"], "isotop", "{file}");
        if *file != "namespace.yaml" {
            assert_eq!(object(file)["metadata"]["namespace"], namespace, "{file}");
        }
    }

    let scrape = manifest(&format!("{DIR}/prometheus-scrape.yaml"));
    let job = &scrape["scrape_configs"][0];
    assert_eq!(job["honor_labels"], true);
    assert!(
        strings(&job["kubernetes_sd_configs"][0]["namespaces"]["names"])
            .contains(&namespace.as_str().unwrap_or_default().to_string())
    );
    let keep = &job["relabel_configs"][0];
    assert_eq!(keep["action"], "keep");
    let wanted = format!(
        "{};{}",
        service["metadata"]["name"].as_str().unwrap_or_default(),
        "metrics"
    );
    assert_eq!(
        keep["regex"],
        wanted.as_str(),
        "the scrape job keeps the Service's metrics port"
    );
}

#[test]
fn kustomization_lists_the_objects_and_the_image_runs_the_daemonsets_command() {
    let kustomization = manifest(&format!("{DIR}/kustomization.yaml"));
    let resources: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let core: BTreeSet<String> = CORE.iter().map(|f| f.to_string()).collect();
    assert_eq!(resources, core);
    let listed: BTreeSet<String> = std::fs::read_dir(repo_path(DIR))
        .expect("deploy/kubernetes")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    let expected: BTreeSet<String> = core
        .iter()
        .cloned()
        .chain(
            [
                "kustomization.yaml",
                "servicemonitor.yaml",
                "prometheus-scrape.yaml",
            ]
            .map(String::from),
        )
        .collect();
    assert_eq!(listed, expected, "a manifest the tests do not know");

    let containerfile = repo_text("deploy/container/Containerfile");
    let entrypoint = containerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint).expect("exec-form ENTRYPOINT");
    let daemonset = object("daemonset.yaml");
    assert_eq!(
        strings(&daemonset["spec"]["template"]["spec"]["containers"][0]["command"]),
        entrypoint
    );
    assert!(containerfile.lines().any(|l| l.trim() == "FROM scratch"));
}

fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().expect("the validator starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn core_manifests_pass_kubernetes_validate_strict() {
    let Some(validate) = tool("kubernetes-validate", "Kubernetes' schemas") else {
        return;
    };
    let files: Vec<_> = CORE
        .iter()
        .map(|f| repo_path(&format!("{DIR}/{f}")))
        .collect();
    for version in [None, Some("1.30.0")] {
        let mut command = Command::new(&validate);
        command.arg("--strict");
        if let Some(v) = version {
            command.args(["-k", v]);
        }
        let (ok, text) = run(command.args(&files));
        assert!(ok, "kubernetes-validate {version:?}: {text}");
        assert_eq!(text.matches("passed").count(), CORE.len(), "{text}");
    }
    // It does refuse: a misspelt field of the DaemonSet.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("daemonset.yaml");
    let text = repo_text(&format!("{DIR}/daemonset.yaml"))
        .replace("readOnlyRootFilesystem", "readOnlyRootFilesystm");
    std::fs::write(&bad, text).expect("write");
    let (ok, _) = run(Command::new(&validate).arg("--strict").arg(&bad));
    assert!(!ok, "kubernetes-validate accepted a misspelt field");
}

/// Where `.ci/run` installs `@kubernetes-models/prometheus-operator` (ISOTOP_NPM_DIR overrides).
fn npm_dir() -> std::path::PathBuf {
    std::env::var_os("ISOTOP_NPM_DIR")
        .map(Into::into)
        .unwrap_or_else(|| "/var/cache/isotop-ci/npm".into())
}

/// Validates `object` with the CRD schema's ServiceMonitor model; `Err` carries its message.
fn validate_service_monitor(node: &Path, object: &Value) -> Result<(), String> {
    let model = npm_dir().join("node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js");
    let script = "const { ServiceMonitor } = await import(process.env.MODEL); \
                  new ServiceMonitor(JSON.parse(process.env.OBJECT)).validate();";
    let (ok, text) = run(Command::new(node)
        .args(["--input-type=module", "-e", script])
        .env("MODEL", format!("file://{}", model.display()))
        .env("OBJECT", object.to_string()));
    if ok { Ok(()) } else { Err(text) }
}

#[test]
fn the_service_monitor_passes_the_operators_crd_schema() {
    let Some(node) = tool("node", "the ServiceMonitor CRD schema") else {
        return;
    };
    if !npm_dir()
        .join("node_modules/@kubernetes-models/prometheus-operator")
        .is_dir()
    {
        eprintln!(
            "skipping {}: @kubernetes-models/prometheus-operator is not installed in {} (.ci/run installs it)",
            crate::support::common::test_name(),
            npm_dir().display()
        );
        return;
    }
    let monitor = object("servicemonitor.yaml");
    if let Err(text) = validate_service_monitor(&node, &monitor) {
        panic!("ServiceMonitor against the CRD schema: {text}");
    }
    // It does refuse: a port number where the CRD wants the port's name.
    let mut bad = monitor.clone();
    bad["spec"]["endpoints"][0]["port"] = Value::from(9814);
    assert!(
        validate_service_monitor(&node, &bad).is_err(),
        "a numeric port passed"
    );
}

#[test]
fn every_yaml_file_passes_yamllint() {
    let Some(yamllint) = tool("yamllint", "YAML style") else {
        return;
    };
    let config = "{extends: default, rules: {line-length: {max: 100}}}";
    let (ok, text) = run(Command::new(yamllint)
        .args(["--strict", "-d", config])
        .arg(repo_path(DIR)));
    assert!(ok, "yamllint: {text}");
}

#[test]
fn the_scrape_job_passes_promtool() {
    let Some(promtool) = tool("promtool", "Prometheus' config check") else {
        return;
    };
    let file = repo_path(&format!("{DIR}/prometheus-scrape.yaml"));
    let (ok, text) = run(Command::new(promtool).args(["check", "config"]).arg(&file));
    if !ok && text.contains("kubernetes_sd_configs not found") {
        // Debian's prometheus is built without Kubernetes service discovery.
        eprintln!(
            "skipping {}: this promtool has no kubernetes_sd_configs (Debian builds it without)",
            crate::support::common::test_name()
        );
        return;
    }
    assert!(ok, "promtool check config: {text}");
    assert!(yaml_documents(&format!("{DIR}/prometheus-scrape.yaml")).len() == 1);
}

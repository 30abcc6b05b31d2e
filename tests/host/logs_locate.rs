//! `host::logs::locate` and `read` on a fixture root holding every runtime's log layout
//! (`tests/fixtures/logs`, made by its `make.py`): the containers are found the way `isotop
//! logs` finds them (the runtimes' records, `find_stopped`), their logs located (Docker's
//! json-file with `.1` and `.2.gz`, `local` with a compressed rotation, the dual-logging cache;
//! kubelet's `/var/log/pods` from containerd's sandbox record or the pod's annotations, CRI-O's
//! `LogPath`; Podman's `ctr.log`; nerdctl's json-file; isotop's own) and read, and the
//! runtimes that keep no file say why and how to get one.

use std::path::{Path, PathBuf};

use isotop::host::HostRoot;
use isotop::host::container::{Container, Runtime, find_stopped};
use isotop::host::logs::{LogFiles, LogFormat, LogLocation, LogQuery, LogStream, locate, read};

const JSON_FILE: &str = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
const LOCAL: &str = "bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222";
const JOURNALD: &str = "cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333";
const SYSLOG: &str = "dddd4444dddd4444dddd4444dddd4444dddd4444dddd4444dddd4444dddd4444";
const NONE: &str = "eeee5555eeee5555eeee5555eeee5555eeee5555eeee5555eeee5555eeee5555";
const SANDBOX: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
const WEB: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const SIDECAR: &str = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";
const CRIO: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
const CRIO_SANDBOX: &str = "c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4";
const PODMAN: &str = "9999aaaa9999aaaa9999aaaa9999aaaa9999aaaa9999aaaa9999aaaa9999aaaa";
const PODMAN_JOURNALD: &str = "9999bbbb9999bbbb9999bbbb9999bbbb9999bbbb9999bbbb9999bbbb9999bbbb";
const ISOTOP: &str = "1507091515070915150709151507091515070915150709151507091515070915";
const NERDCTL: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";
const POD_DIR: &str = "var/log/pods/shop_web-7d9f_0d9e8f7a-1111-2222-3333-444455556666";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs")
}

struct Host {
    root: HostRoot,
    containers: Vec<Container>,
}

impl Host {
    fn new() -> Host {
        let root = HostRoot::under(&fixture());
        let containers = find_stopped(&root, &[]);
        Host { root, containers }
    }

    fn container(&self, id: &str) -> &Container {
        self.containers
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} not found among {:?}", self.ids()))
    }

    fn ids(&self) -> Vec<(&str, Runtime)> {
        self.containers
            .iter()
            .map(|c| (c.id.as_str(), c.runtime))
            .collect()
    }

    fn files(&self, id: &str) -> LogFiles {
        match locate(&self.root, self.container(id)) {
            LogLocation::Files(files) => files,
            other => panic!("{id}: {other:?}"),
        }
    }

    fn no_file(&self, id: &str) -> (String, String) {
        match locate(&self.root, self.container(id)) {
            LogLocation::NoFile { reason, hint } => (reason, hint),
            other => panic!("{id}: {other:?}"),
        }
    }
}

fn texts(files: &LogFiles) -> Vec<String> {
    read(files, &LogQuery::default())
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect()
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn docker_json_file_with_its_rotated_and_compressed_files() {
    let host = Host::new();
    assert_eq!(host.container(JSON_FILE).runtime, Runtime::Docker);
    let files = host.files(JSON_FILE);
    assert_eq!(files.format, LogFormat::DockerJsonFile);
    let dir = fixture().join("var/lib/docker/containers").join(JSON_FILE);
    assert_eq!(files.current, dir.join(format!("{JSON_FILE}-json.log")));
    assert_eq!(
        names(&files.rotated),
        [
            format!("{JSON_FILE}-json.log.2.gz"),
            format!("{JSON_FILE}-json.log.1")
        ]
    );
    assert_eq!(
        texts(&files),
        [
            "oldest",
            "tab\there \"quoted\" \u{1b}[31mred",
            "warning",
            "a long line split across rotation",
            "newest"
        ]
    );
    let lines = read(
        &files,
        &LogQuery {
            stream: Some(LogStream::Stderr),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].at_ns, Some(1_796_551_203_000_000_000));
}

#[test]
fn docker_local_driver_and_the_dual_logging_cache() {
    let host = Host::new();
    let files = host.files(LOCAL);
    assert_eq!(files.format, LogFormat::DockerLocal);
    assert!(files.current.ends_with("local-logs/container.log"));
    assert_eq!(names(&files.rotated), ["container.log.1.gz"]);
    assert_eq!(
        texts(&files),
        ["local old", "local error \u{fffd}", "local joined"]
    );
    let tail = read(
        &files,
        &LogQuery {
            tail: Some(1),
            ..LogQuery::default()
        },
    )
    .unwrap();
    assert_eq!(tail[0].text, "local joined");
    assert_eq!(tail[0].at_ns, Some(1_796_551_203_000_000_005));

    let cached = host.files(SYSLOG);
    assert_eq!(cached.format, LogFormat::DockerLocal);
    assert!(cached.current.ends_with("container-cached.log"));
    assert_eq!(texts(&cached), ["cached copy"]);
}

#[test]
fn docker_drivers_without_a_file_say_how_to_read_the_output() {
    let host = Host::new();
    let (reason, hint) = host.no_file(JOURNALD);
    assert!(reason.contains("journald"), "{reason}");
    assert!(
        hint.contains(&format!("journalctl CONTAINER_ID={}", &JOURNALD[..12])),
        "{hint}"
    );
    assert!(hint.contains("--log-driver json-file"), "{hint}");
    let (reason, hint) = host.no_file(NONE);
    assert!(reason.contains("log driver none"), "{reason}");
    assert!(hint.contains("--log-driver json-file"), "{hint}");
}

#[test]
fn kubernetes_under_containerd_from_the_sandbox_record_and_the_pod() {
    let host = Host::new();
    assert_eq!(host.container(WEB).runtime, Runtime::Kubernetes);
    let files = host.files(WEB);
    assert_eq!(files.format, LogFormat::Cri);
    // The latest attempt (1.log, not the previous 0.log), its rotations oldest first.
    assert_eq!(files.current, fixture().join(POD_DIR).join("web/1.log"));
    assert_eq!(
        names(&files.rotated),
        ["1.log.20261206-100000.gz", "1.log.20261206-110000"]
    );
    assert_eq!(
        texts(&files),
        [
            "rotated and compressed",
            "rotated",
            "err",
            "a line in pieces",
            "current"
        ]
    );
    let summary = isotop::host::logs::read_each(&files, &LogQuery::default(), |_| {
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(summary.skipped, 1, "the garbage line");
    // Without a sandbox id, kubelet's directory from the pod's namespace, name and uid.
    let sidecar = host.files(SIDECAR);
    assert_eq!(
        sidecar.current,
        fixture().join(POD_DIR).join("sidecar/0.log")
    );
    assert_eq!(texts(&sidecar), ["sidecar line"]);
    let (reason, _) = host.no_file(SANDBOX);
    assert!(reason.contains("sandbox"), "{reason}");
}

#[test]
fn crio_records_the_file_itself() {
    let host = Host::new();
    assert_eq!(host.container(CRIO).runtime, Runtime::Kubernetes);
    let files = host.files(CRIO);
    assert!(
        files.current.ends_with(
            "var/log/pods/data_cache-0_11112222-3333-4444-5555-666677778888/cache/0.log"
        )
    );
    assert_eq!(texts(&files), ["crio line"]);
    let (reason, hint) = host.no_file(CRIO_SANDBOX);
    assert!(reason.contains("pause"), "{reason}");
    assert!(hint.contains("pod's containers"), "{hint}");
}

#[test]
fn podman_k8s_file_or_the_journal() {
    let host = Host::new();
    assert_eq!(host.container(PODMAN).runtime, Runtime::Podman);
    let files = host.files(PODMAN);
    assert_eq!(files.format, LogFormat::Cri);
    assert!(
        files
            .current
            .ends_with(format!("{PODMAN}/userdata/ctr.log"))
    );
    assert_eq!(texts(&files), ["podman k8s-file"]);
    let (reason, hint) = host.no_file(PODMAN_JOURNALD);
    assert!(reason.contains("journal"), "{reason}");
    assert!(hint.contains("--log-driver k8s-file"), "{hint}");
    assert!(hint.contains(&PODMAN_JOURNALD[..12]), "{hint}");
}

#[test]
fn isotops_own_and_nerdctls_json_file() {
    let host = Host::new();
    let files = host.files(ISOTOP);
    assert_eq!(files.format, LogFormat::Isotop);
    assert_eq!(names(&files.rotated), ["container.log.1"]);
    let lines = read(&files, &LogQuery::default()).unwrap();
    let got: Vec<(&str, Option<LogStream>)> =
        lines.iter().map(|l| (l.text.as_str(), l.stream)).collect();
    assert_eq!(
        got,
        [
            ("isotop old", Some(LogStream::Stdout)),
            ("oops", Some(LogStream::Stderr)),
            ("isotop new", Some(LogStream::Stdout))
        ]
    );
    assert_eq!(lines[2].at_ns, Some(1_796_551_202_000_000_000));

    assert_eq!(host.container(NERDCTL).runtime, Runtime::Containerd);
    let nerd = host.files(NERDCTL);
    assert_eq!(nerd.format, LogFormat::DockerJsonFile);
    assert_eq!(texts(&nerd), ["nerdctl line"]);
}

#[test]
fn runtimes_that_keep_no_file_say_how_to_get_one() {
    let host = Host::new();
    let (reason, hint) = host.no_file("plainjob");
    assert!(reason.contains("containerd keeps no file"), "{reason}");
    assert!(hint.contains("--log-uri file://"), "{hint}");
    let (reason, hint) = host.no_file("ctr1");
    assert!(reason.starts_with("runc keeps no log"), "{reason}");
    assert!(hint.contains("runc run ID >/var/log/ID.log"), "{hint}");
    let (reason, hint) = host.no_file("console");
    assert!(reason.contains("/var/log/lxc/console.log"), "{reason}");
    assert!(hint.contains("less -R"), "{hint}");
    let (_, hint) = host.no_file("quiet");
    assert!(hint.contains("lxc.console.logfile"), "{hint}");
}

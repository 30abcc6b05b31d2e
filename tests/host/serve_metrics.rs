//! `serve::metrics` on the UI's hand-made frame: each figure of a container lands in its
//! cAdvisor-named family with its labels and value, a figure the frame lacks is no sample, a
//! stranger's name is cleaned and escaped, and both formats pass the tools Prometheus users
//! check with (`promtool check metrics` on the 0.0.4 text, the official Python client's strict
//! OpenMetrics parser on the OpenMetrics text), when installed.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use isotop::host::cgroup::{IoCounters, IoDevice, IoStats};
use isotop::sample::Frame;
use isotop::serve::metrics::{Extras, FAMILIES, Format, encode_frame, encode_tail};

use crate::support::common::{require_program, test_name};
use crate::support::fixture::{self, MIB};

/// One sample of the 0.0.4 text: name, labels, value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of a 0.0.4 or OpenMetrics text (comments skipped; label values unescaped).
pub fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name_end, mut labels) = (
            line.find(['{', ' ']).expect("a sample line"),
            BTreeMap::new(),
        );
        let name = line[..name_end].to_string();
        let mut rest = &line[name_end..];
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices();
            let mut key = String::new();
            let mut end = 0;
            while let Some((i, c)) = chars.next() {
                match c {
                    '}' => {
                        end = i + 1;
                        break;
                    }
                    ',' => {}
                    '=' => {
                        assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                        let mut value = String::new();
                        while let Some((_, c)) = chars.next() {
                            match c {
                                '\\' => match chars.next().map(|(_, c)| c) {
                                    Some('n') => value.push('\n'),
                                    Some(other) => value.push(other),
                                    None => panic!("{line}"),
                                },
                                '"' => break,
                                c => value.push(c),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    c => key.push(c),
                }
            }
            rest = &inner[end..];
        }
        let value = rest
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("value of {line:?}"));
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

/// The value of `name` for the container called `container`, with `extra` labels too.
fn value(samples: &[Sample], name: &str, container: &str, extra: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.get("name").map(String::as_str) == Some(container)
                && extra
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The fixture's first frame with networks, and `web` given per-device I/O counters.
fn frame() -> Arc<Frame> {
    let mut frame = fixture::net::with_networks(fixture::frame(0, true));
    let web = frame
        .containers
        .iter_mut()
        .find(|c| c.view.container.name == "web")
        .unwrap();
    let counters = IoCounters {
        read_bytes_total: Some(4096),
        write_bytes_total: Some(8192),
        read_ios_total: Some(1),
        write_ios_total: Some(2),
        ..IoCounters::default()
    };
    std::sync::Arc::make_mut(web.view.cgroup.as_mut().unwrap()).io = Some(IoStats {
        total: counters.clone(),
        devices: vec![IoDevice {
            device: "7:3".into(),
            name: Some("loop3".into()),
            counters,
        }],
        counted_devices: None,
    });
    Arc::new(frame)
}

fn extras() -> Extras {
    Extras {
        events_total: BTreeMap::from([("oom_kill".to_string(), 3)]),
        tick_seconds: Some(0.25),
        trouble_dumps: Some(2),
    }
}

#[test]
fn a_containers_figures_in_cadvisors_families() {
    let frame = frame();
    let text = encode_frame(&frame, &extras(), Format::Prometheus);
    let s = parse(&text);
    let web = |name: &str| value(&s, name, "web", &[]);
    assert_eq!(web("container_cpu_usage_seconds_total"), Some(1.0));
    assert_eq!(web("container_cpu_cfs_periods_total"), Some(200.0));
    assert_eq!(web("container_cpu_cfs_throttled_periods_total"), Some(20.0));
    assert_eq!(
        web("container_cpu_cfs_throttled_seconds_total"),
        Some(0.005)
    );
    assert_eq!(web("container_spec_cpu_quota"), Some(50_000.0));
    assert_eq!(web("container_spec_cpu_period"), Some(100_000.0));
    assert_eq!(
        web("container_memory_usage_bytes"),
        Some((120 * MIB) as f64)
    );
    // No inactive file figure in the fixture: the working set is the usage.
    assert_eq!(
        web("container_memory_working_set_bytes"),
        Some((120 * MIB) as f64)
    );
    assert_eq!(
        web("container_memory_max_usage_bytes"),
        Some((121 * MIB) as f64)
    );
    assert_eq!(
        web("container_spec_memory_limit_bytes"),
        Some((256 * MIB) as f64)
    );
    assert_eq!(web("container_oom_events_total"), Some(2.0));
    assert_eq!(web("container_processes"), Some(3.0));
    assert_eq!(web("container_threads"), Some(3.0));
    assert_eq!(web("isotop_container_pids_limit"), Some(100.0));
    assert_eq!(web("isotop_container_pids_refused_forks_total"), Some(7.0));
    assert_eq!(web("isotop_container_throttled_ratio"), Some(0.04));
    assert_eq!(
        web("container_pressure_cpu_waiting_seconds_total"),
        Some(1.0)
    );
    let ratio =
        |labels: &[(&str, &str)]| value(&s, "isotop_container_pressure_ratio", "web", labels);
    assert_eq!(
        ratio(&[("resource", "cpu"), ("kind", "some"), ("window", "10s")]),
        Some(0.2)
    );
    assert_eq!(
        ratio(&[("resource", "io"), ("kind", "some"), ("window", "300s")]),
        Some(0.0225)
    );
    // The fixture's PSI files have no `full` line: no stalled series, no full ratio.
    assert_eq!(web("container_pressure_cpu_stalled_seconds_total"), None);
    assert_eq!(ratio(&[("kind", "full")]), None);
    // Uptime 3725 s at the frame's time.
    let taken = frame.taken_at_ms as f64 / 1000.0;
    assert_eq!(web("container_start_time_seconds"), Some(taken - 3725.0));
    assert_eq!(web("container_last_seen"), Some(taken));
    // Its own disk, by device.
    let device = [("device", "/dev/loop3")];
    assert_eq!(
        value(&s, "container_fs_reads_bytes_total", "web", &device),
        Some(4096.0)
    );
    assert_eq!(
        value(&s, "container_fs_writes_total", "web", &device),
        Some(2.0)
    );
    let limit = [("device", "loop3"), ("direction", "write")];
    assert_eq!(
        value(
            &s,
            "isotop_container_io_limit_bytes_per_second",
            "web",
            &limit
        ),
        Some((10 * MIB) as f64)
    );
    // Its own network namespace's interfaces, loopback left out.
    let web_sample = frame
        .containers
        .iter()
        .find(|c| c.view.container.name == "web")
        .unwrap();
    let netns = web_sample.net.as_ref().unwrap().netns;
    let ns = frame.networks.iter().find(|n| n.inode == netns).unwrap();
    let mut seen = 0;
    for i in &ns.interfaces {
        let got = value(
            &s,
            "container_network_receive_bytes_total",
            "web",
            &[("interface", &i.name)],
        );
        if i.name == "lo" {
            assert_eq!(got, None, "loopback");
        } else {
            assert_eq!(got, Some(i.counters.rx_bytes as f64), "{}", i.name);
            seen += 1;
        }
    }
    assert!(
        seen > 0,
        "web has an interface beside lo: {:?}",
        ns.interfaces
    );
    // Every series of a container carries its identity.
    let info = s
        .iter()
        .find(|x| x.name == "isotop_container_info" && x.labels["name"] == "web")
        .unwrap();
    assert_eq!(info.labels["id"], "/isotop-demo/web");
    assert_eq!(info.labels["runtime"], "runc");
    assert_eq!(info.labels["state"], "running");
    assert_eq!(info.labels["image"], "");
}

#[test]
fn kubernetes_labels_and_absent_figures() {
    let frame = frame();
    let s = parse(&encode_frame(&frame, &extras(), Format::Prometheus));
    let api = s
        .iter()
        .find(|x| x.name == "container_memory_usage_bytes" && x.labels["name"] == "api")
        .unwrap();
    assert_eq!(api.labels["namespace"], "default");
    assert_eq!(api.labels["pod"], "api-7d9f");
    assert_eq!(api.labels["container"], "api");
    assert_eq!(api.labels["image"], "registry.local/api:1.2");
    assert_eq!(api.labels["runtime"], "kubernetes");
    // web is no pod: no Kubernetes labels.
    let web = s
        .iter()
        .find(|x| x.labels.get("name").map(String::as_str) == Some("web"))
        .unwrap();
    assert!(!web.labels.contains_key("pod"), "{:?}", web.labels);
    // Unlimited is no sample, not 0: pause has no memory limit, api and pause no CPU quota.
    assert_eq!(
        value(&s, "container_spec_memory_limit_bytes", "pause", &[]),
        None
    );
    assert_eq!(value(&s, "container_spec_cpu_quota", "api", &[]), None);
    assert_eq!(
        value(&s, "container_spec_memory_limit_bytes", "api", &[]),
        Some((512 * MIB) as f64)
    );
    // scratch has no cgroup of its own: no cgroup figure at all, but it is listed.
    for x in s
        .iter()
        .filter(|x| x.labels.get("name").map(String::as_str) == Some("scratch"))
    {
        assert!(
            [
                "isotop_container_info",
                "container_processes",
                "container_last_seen",
                "container_start_time_seconds",
                "isotop_container_namespace_info",
                "isotop_container_throttled_ratio"
            ]
            .contains(&x.name.as_str()),
            "scratch has {}",
            x.name
        );
    }
    assert_eq!(value(&s, "container_processes", "scratch", &[]), Some(1.0));
    // The host's and the exporter's own.
    let host = |name: &str| s.iter().find(|x| x.name == name).map(|x| x.value);
    assert_eq!(host("machine_cpu_cores"), Some(2.0));
    assert_eq!(host("isotop_sampler_tick_seconds"), Some(0.25));
    let events = s.iter().find(|x| x.name == "isotop_events_total").unwrap();
    assert_eq!(
        (events.labels["kind"].as_str(), events.value),
        ("oom_kill", 3.0)
    );
    assert_eq!(host("isotop_trouble_dumps_total"), Some(2.0));
    assert!(
        s.iter()
            .any(|x| x.name == "isotop_build_info" && x.labels.contains_key("commit"))
    );
    // Every family written is in the table the README's list comes from.
    let names: Vec<String> = FAMILIES.iter().map(|f| f.sample_name()).collect();
    for x in &s {
        assert!(names.contains(&x.name), "{} is not in FAMILIES", x.name);
    }
}

#[test]
fn strangers_names_are_cleaned_and_escaped() {
    let mut frame = (*frame()).clone();
    std::sync::Arc::make_mut(&mut frame.containers[0].view.container).name =
        "evil\"name\\x\n\u{1b}[31mred".to_string();
    std::sync::Arc::make_mut(&mut frame.containers[0].view.container).image =
        Some("img\"} 1\nfake_metric 2".to_string());
    let text = encode_frame(&Arc::new(frame), &extras(), Format::Prometheus);
    assert!(
        !text.contains('\u{1b}'),
        "an escape sequence reached the text"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("fake_metric")),
        "a label value made a line"
    );
    let s = parse(&text);
    let evil = s
        .iter()
        .find(|x| x.labels["name"].starts_with("evil"))
        .map(|x| x.labels.clone());
    let evil = evil.unwrap_or_else(|| panic!("no evil sample in\n{text}"));
    assert!(
        evil["name"].starts_with("evil\"name\\x"),
        "{:?}",
        evil["name"]
    );
    assert!(!evil["name"].contains('\n'));
}

#[test]
fn both_formats_name_families_alike() {
    let frame = frame();
    let prometheus =
        encode_frame(&frame, &extras(), Format::Prometheus) + &encode_tail(1.5, Format::Prometheus);
    let openmetrics = encode_frame(&frame, &extras(), Format::OpenMetrics)
        + &encode_tail(1.5, Format::OpenMetrics);
    assert!(openmetrics.ends_with("# EOF\n"));
    assert!(!prometheus.contains("# EOF") && !prometheus.contains("# UNIT"));
    assert!(openmetrics.contains(
        "# TYPE container_cpu_usage_seconds counter\n# UNIT container_cpu_usage_seconds seconds\n"
    ));
    assert!(prometheus.contains("# TYPE container_cpu_usage_seconds_total counter\n"));
    assert!(prometheus.contains("# TYPE isotop_container_info gauge\n"));
    assert!(openmetrics.contains("# TYPE isotop_container info\n"));
    assert!(prometheus.contains("isotop_scrape_frame_age_seconds 1.5\n"));
    // The same samples, name for name.
    let key = |s: &Sample| format!("{}{:?}{}", s.name, s.labels, s.value);
    let mut a: Vec<String> = parse(&prometheus).iter().map(key).collect();
    let mut b: Vec<String> = parse(&openmetrics).iter().map(key).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// Runs `program args` with `input` on stdin; its status and output.
fn check_with(program: &str, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

/// The Python client's strict OpenMetrics parser (Debian's python3-prometheus-client).
pub const OPENMETRICS_PARSE: &str = "import sys\n\
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
families = list(parse(sys.stdin.read()))\n\
print(len(families), 'families')\n";

/// True when Debian's Python has the Prometheus client; otherwise says why the test skips it.
pub fn python_openmetrics() -> bool {
    let found = Command::new("/usr/bin/python3")
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "skipping the OpenMetrics parse of {}: python3-prometheus-client is not installed \
             (.ci/run installs it)",
            test_name()
        );
    }
    found
}

#[test]
fn promtool_and_the_openmetrics_parser_accept_the_text() {
    let frame = frame();
    let prometheus =
        encode_frame(&frame, &extras(), Format::Prometheus) + &encode_tail(0.5, Format::Prometheus);
    let openmetrics = encode_frame(&frame, &extras(), Format::OpenMetrics)
        + &encode_tail(0.5, Format::OpenMetrics);
    if require_program("promtool") {
        let (ok, said) = check_with("promtool", &["check", "metrics"], &prometheus);
        assert!(ok, "promtool check metrics: {said}\n{prometheus}");
    }
    if python_openmetrics() {
        let (ok, said) = check_with("/usr/bin/python3", &["-c", OPENMETRICS_PARSE], &openmetrics);
        assert!(ok, "OpenMetrics parser: {said}\n{openmetrics}");
        // A text the parser must refuse: it is strict, not a pass-through.
        let broken = openmetrics.replace("# EOF\n", "");
        assert!(!check_with("/usr/bin/python3", &["-c", OPENMETRICS_PARSE], &broken).0);
    }
}

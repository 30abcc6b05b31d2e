//! A real Prometheus scrapes `isotop serve` and answers what the kernel says: a busy loop in a
//! test cgroup with a 0.5-CPU quota runs as an `unknown` container (its own pid and mount
//! namespaces, its init a copy of perl with a name of its own); Prometheus (its own config and
//! data dir, loopback, scraping every second) is asked
//! `rate(container_cpu_usage_seconds_total{name="…"}[30s])`, which must be within 10 % of the
//! rate read from the cgroup's own CPU counter over the same 30 s. It scrapes the OpenMetrics
//! text (what Prometheus asks for first) without error. Everything is killed by pid on drop.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::serve_process::{Served, get, try_get};
use crate::support::common::{
    CgroupGuard, ChildGuard, read_key, read_number, require_program, wait_until,
};
use crate::support::unshared::{WAIT_UNTIL_MOVED, unshare, v2_host};

/// Percent-encodes a PromQL query for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus of the test's own: config, data dir, loopback port; killed on drop.
pub struct Prometheus {
    _dir: tempfile::TempDir,
    _child: ChildGuard,
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Scraping `target` every second (its log in the data dir).
    pub fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: isotop\n    scrape_interval: 1s\n    \
                 scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        // A free loopback port: bound, read, released for Prometheus.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = ChildGuard::spawn(
            Command::new("prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        );
        Prometheus {
            _dir: dir,
            _child: child,
            addr,
        }
    }

    /// `GET /api/v1/PATH`'s `data` (panics on an error answer).
    pub fn api(&self, path_and_query: &str) -> serde_json::Value {
        let answer = get(self.addr, &format!("/api/v1/{path_and_query}"), &[]);
        let json: serde_json::Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("{path_and_query}: {e}: {answer:?}"));
        assert_eq!(json["status"], "success", "{json}");
        json["data"].clone()
    }

    /// The value of the one-series instant `query` at unix time `at`, if it has one.
    pub fn value(&self, query: &str, at: f64) -> Option<f64> {
        let data = self.api(&format!("query?query={}&time={at:.3}", encode(query)));
        let result = data["result"].as_array()?;
        assert!(result.len() <= 1, "{query}: several series {result:?}");
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// Its log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

/// Seconds since the epoch, now.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The cgroup's own CPU counter, seconds: v1 `cpuacct.usage` (ns), v2 `cpu.stat` `usage_usec`.
fn cgroup_cpu_seconds(guard: &CgroupGuard) -> f64 {
    if v2_host() {
        read_key(&guard.dir("", "box").join("cpu.stat"), "usage_usec") as f64 / 1e6
    } else {
        read_number(&guard.dir("cpuacct", "box").join("cpuacct.usage")) as f64 / 1e9
    }
}

/// A busy loop under a 0.5-CPU quota in the guard's `box`, its init named `comm`: (unshare,
/// the init's pid guard) and the copy of perl it runs.
fn busy_loop(
    guard: &CgroupGuard,
    comm: &str,
    dir: &Path,
) -> (ChildGuard, crate::support::unshared::PidGuard, PathBuf) {
    guard.child("box");
    if v2_host() {
        std::fs::write(guard.dir("", "box").join("cpu.max"), "50000 100000").unwrap();
    } else {
        let cpu = guard.dir("cpu", "box");
        std::fs::write(cpu.join("cpu.cfs_period_us"), "100000").unwrap();
        std::fs::write(cpu.join("cpu.cfs_quota_us"), "50000").unwrap();
    }
    let perl = dir.join(comm);
    std::fs::copy("/usr/bin/perl", &perl).unwrap();
    let script = format!("{WAIT_UNTIL_MOVED}\n1 while 1;\n");
    let mark = guard.rel.clone();
    let (unshare, init) = unshare(&[perl.to_str().unwrap(), "-e", &script, &mark, "cpu"], comm);
    guard.add_pid("box", init.0);
    (unshare, init, perl)
}

#[test]
#[ignore = "needs root"]
fn prometheus_sees_the_busy_loops_cpu() {
    if !require_program("prometheus") || !require_program("unshare") {
        return;
    }
    let guard = CgroupGuard::new("serve-prom");
    let dir = tempfile::tempdir().unwrap();
    let comm = format!("spin{}", std::process::id() % 100_000);
    let (_unshare, _init, _perl) = busy_loop(&guard, &comm, dir.path());
    let served = Served::start(&["--listen", "127.0.0.1:0", "--interval", "1"]);
    let prometheus = Prometheus::start(served.addr);
    let series = format!("container_cpu_usage_seconds_total{{name=\"{comm}\"}}");
    // Up, and the busy loop's series there (the first ticks of a debug build can be slow).
    let seen = wait_until(Duration::from_secs(180), || {
        try_get(
            prometheus.addr,
            &format!("/api/v1/query?query={}", encode(&series)),
        )
        .is_some_and(|a| a.status == 200 && a.body.contains(&comm))
    });
    assert!(seen, "Prometheus never had {series}: {}", prometheus.log());
    // 30 s of scrapes of it, and the cgroup's counter read beside them, once a second.
    let mut direct: Vec<(f64, f64)> = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(33) {
        direct.push((now(), cgroup_cpu_seconds(&guard)));
        std::thread::sleep(Duration::from_secs(1));
    }
    let (end, end_cpu) = *direct.last().unwrap();
    let (begin, begin_cpu) = *direct.iter().find(|(t, _)| *t >= end - 30.0).unwrap();
    let kernel_rate = (end_cpu - begin_cpu) / (end - begin);
    let query = format!("rate({series}[30s])");
    let promql_rate = prometheus
        .value(&query, end)
        .unwrap_or_else(|| panic!("no value for {query}: {}", prometheus.log()));
    eprintln!("{query} = {promql_rate:.4} CPUs; the cgroup's counter: {kernel_rate:.4} CPUs");
    assert!(kernel_rate > 0.2, "the busy loop ran: {kernel_rate}");
    assert!(
        (promql_rate - kernel_rate).abs() <= 0.10 * kernel_rate,
        "PromQL {promql_rate} vs the cgroup's {kernel_rate}"
    );
    // The quota and its throttling, as cAdvisor names them.
    let quota = prometheus.value(&format!("container_spec_cpu_quota{{name=\"{comm}\"}}"), end);
    assert_eq!(quota, Some(50_000.0));
    let throttled = format!("container_cpu_cfs_throttled_periods_total{{name=\"{comm}\"}}");
    assert!(
        prometheus.value(&throttled, end).unwrap_or(0.0) > 0.0,
        "{throttled}"
    );
    // The scrapes were whole and in OpenMetrics (what Prometheus asks for first).
    let targets = prometheus.api("targets");
    let target = &targets["activeTargets"][0];
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");
    let om = get(
        served.addr,
        "/metrics",
        &["Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"],
    );
    assert!(
        om.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text"))
    );
}

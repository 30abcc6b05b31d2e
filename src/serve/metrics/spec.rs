//! The families the exporter writes — name, unit, type, meaning — in one table
//! ([`FAMILIES`]: the README's metrics table and the tests read it), and the one function that
//! writes a family's samples through `prometheus-client`.

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (samples `NAME_total`).
    Counter,
    Gauge,
    /// `NAME_info{…} 1`: facts as labels (a gauge in the 0.0.4 format).
    Info,
    /// Untyped: for a cAdvisor counter whose name lacks `_total` (`container_memory_failcnt`),
    /// which OpenMetrics would rename were it typed a counter.
    Unknown,
}

/// One family: its name without unit and type suffixes (the encoder adds them), its unit
/// (`seconds`, `bytes`, `ratio`), type and help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilySpec {
    pub stem: &'static str,
    pub unit: Option<&'static str>,
    pub kind: Kind,
    pub help: &'static str,
}

impl FamilySpec {
    /// The name its samples carry: stem, unit, then `_total` (counters) or `_info`.
    pub fn sample_name(&self) -> String {
        let mut name = self.stem.to_string();
        if let Some(unit) = self.unit {
            name.push('_');
            name.push_str(unit);
        }
        match self.kind {
            Kind::Counter => name.push_str("_total"),
            Kind::Info => name.push_str("_info"),
            Kind::Gauge | Kind::Unknown => {}
        }
        name
    }
}

/// The labels of one sample.
pub(super) type Labels = Vec<(&'static str, String)>;

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Value {
    Int(u64),
    Float(f64),
}

impl Value {
    /// A float sample; `None` for NaN and infinities (no figure, not a sample).
    pub(super) fn float(v: f64) -> Option<Value> {
        v.is_finite().then_some(Value::Float(v))
    }

    /// Microseconds as seconds.
    pub(super) fn usec(usec: u64) -> Value {
        Value::Float(usec as f64 / 1e6)
    }
}

/// Writes `spec`'s descriptor and `samples`; nothing at all when there is no sample.
pub(super) fn write(
    encoder: &mut DescriptorEncoder,
    spec: &FamilySpec,
    samples: &[(Labels, Value)],
) -> Result<(), std::fmt::Error> {
    if samples.is_empty() {
        return Ok(());
    }
    let unit = spec.unit.map(|u| match u {
        "seconds" => Unit::Seconds,
        "bytes" => Unit::Bytes,
        other => Unit::Other(other.to_string()),
    });
    let metric_type = match spec.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Info => MetricType::Info,
        Kind::Unknown => MetricType::Unknown,
    };
    let mut family = encoder.encode_descriptor(spec.stem, spec.help, unit.as_ref(), metric_type)?;
    for (labels, value) in samples {
        if spec.kind == Kind::Info {
            family.encode_info(labels)?;
            continue;
        }
        let mut sample = family.encode_family(labels)?;
        match (spec.kind, *value) {
            (Kind::Counter, Value::Int(v)) => {
                sample.encode_counter::<NoLabelSet, _, f64>(&v, None)?
            }
            (Kind::Counter, Value::Float(v)) => {
                sample.encode_counter::<NoLabelSet, _, f64>(&v, None)?
            }
            (_, Value::Int(v)) => sample.encode_gauge(&v)?,
            (_, Value::Float(v)) => sample.encode_gauge(&v)?,
        }
    }
    Ok(())
}

const fn family(
    stem: &'static str,
    unit: Option<&'static str>,
    kind: Kind,
    help: &'static str,
) -> FamilySpec {
    FamilySpec {
        stem,
        unit,
        kind,
        help,
    }
}

const SECONDS: Option<&str> = Some("seconds");
const BYTES: Option<&str> = Some("bytes");
const RATIO: Option<&str> = Some("ratio");

// cAdvisor's families (docs/storage/prometheus.md of google/cadvisor), same meanings.
pub(super) const CPU_USAGE: FamilySpec = family(
    "container_cpu_usage",
    SECONDS,
    Kind::Counter,
    "Cumulative cpu time consumed (own cgroup: cpuacct.usage, cpu.stat usage_usec)",
);
pub(super) const CPU_USER: FamilySpec = family(
    "container_cpu_user",
    SECONDS,
    Kind::Counter,
    "Cumulative user cpu time consumed",
);
pub(super) const CPU_SYSTEM: FamilySpec = family(
    "container_cpu_system",
    SECONDS,
    Kind::Counter,
    "Cumulative system cpu time consumed",
);
pub(super) const CFS_PERIODS: FamilySpec = family(
    "container_cpu_cfs_periods",
    None,
    Kind::Counter,
    "Number of elapsed enforcement period intervals",
);
pub(super) const CFS_THROTTLED_PERIODS: FamilySpec = family(
    "container_cpu_cfs_throttled_periods",
    None,
    Kind::Counter,
    "Number of throttled period intervals",
);
pub(super) const CFS_THROTTLED_SECONDS: FamilySpec = family(
    "container_cpu_cfs_throttled",
    SECONDS,
    Kind::Counter,
    "Total time duration the container has been throttled",
);
pub(super) const SPEC_CPU_QUOTA: FamilySpec = family(
    "container_spec_cpu_quota",
    None,
    Kind::Gauge,
    "CPU quota of the container, microseconds per period (absent when unlimited)",
);
pub(super) const SPEC_CPU_PERIOD: FamilySpec = family(
    "container_spec_cpu_period",
    None,
    Kind::Gauge,
    "CPU period of the container, microseconds",
);
pub(super) const SPEC_CPU_SHARES: FamilySpec = family(
    "container_spec_cpu_shares",
    None,
    Kind::Gauge,
    "CPU share of the container (cgroup v1 cpu.shares)",
);
pub(super) const MEMORY_USAGE: FamilySpec = family(
    "container_memory_usage",
    BYTES,
    Kind::Gauge,
    "Current memory usage, including all memory regardless of when it was accessed",
);
pub(super) const MEMORY_WORKING_SET: FamilySpec = family(
    "container_memory_working_set",
    BYTES,
    Kind::Gauge,
    "Current working set: usage less inactive page cache",
);
pub(super) const MEMORY_RSS: FamilySpec = family(
    "container_memory_rss",
    None,
    Kind::Gauge,
    "Size of RSS (anonymous memory), bytes",
);
pub(super) const MEMORY_CACHE: FamilySpec = family(
    "container_memory_cache",
    None,
    Kind::Gauge,
    "Total page cache memory, bytes",
);
pub(super) const MEMORY_SWAP: FamilySpec = family(
    "container_memory_swap",
    None,
    Kind::Gauge,
    "Container swap usage, bytes",
);
pub(super) const MEMORY_MAX_USAGE: FamilySpec = family(
    "container_memory_max_usage",
    BYTES,
    Kind::Gauge,
    "Maximum memory usage recorded",
);
pub(super) const MEMORY_FAILCNT: FamilySpec = family(
    "container_memory_failcnt",
    None,
    Kind::Unknown,
    "Number of memory usage hits limits (cgroup v1 memory.failcnt)",
);
pub(super) const SPEC_MEMORY_LIMIT: FamilySpec = family(
    "container_spec_memory_limit",
    BYTES,
    Kind::Gauge,
    "Memory limit for the container (absent when unlimited)",
);
pub(super) const SPEC_MEMORY_RESERVATION: FamilySpec = family(
    "container_spec_memory_reservation_limit",
    BYTES,
    Kind::Gauge,
    "Memory reservation limit for the container (v1 soft limit, v2 memory.low; absent when unset)",
);
pub(super) const OOM_EVENTS: FamilySpec = family(
    "container_oom_events",
    None,
    Kind::Counter,
    "Count of out of memory kills in the container's cgroup",
);
pub(super) const PROCESSES: FamilySpec = family(
    "container_processes",
    None,
    Kind::Gauge,
    "Number of processes running inside the container",
);
pub(super) const THREADS: FamilySpec = family(
    "container_threads",
    None,
    Kind::Gauge,
    "Number of threads running inside the container (pids.current)",
);
pub(super) const START_TIME: FamilySpec = family(
    "container_start_time",
    SECONDS,
    Kind::Gauge,
    "Start time of the container since unix epoch",
);
pub(super) const LAST_SEEN: FamilySpec = family(
    "container_last_seen",
    None,
    Kind::Gauge,
    "Last time a container was seen by the exporter, seconds since unix epoch",
);
pub(super) const NET_RX_BYTES: FamilySpec = family(
    "container_network_receive",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes received",
);
pub(super) const NET_TX_BYTES: FamilySpec = family(
    "container_network_transmit",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes transmitted",
);
pub(super) const NET_RX_PACKETS: FamilySpec = family(
    "container_network_receive_packets",
    None,
    Kind::Counter,
    "Cumulative count of packets received",
);
pub(super) const NET_TX_PACKETS: FamilySpec = family(
    "container_network_transmit_packets",
    None,
    Kind::Counter,
    "Cumulative count of packets transmitted",
);
pub(super) const NET_RX_ERRORS: FamilySpec = family(
    "container_network_receive_errors",
    None,
    Kind::Counter,
    "Cumulative count of errors encountered while receiving",
);
pub(super) const NET_TX_ERRORS: FamilySpec = family(
    "container_network_transmit_errors",
    None,
    Kind::Counter,
    "Cumulative count of errors encountered while transmitting",
);
pub(super) const NET_RX_DROPPED: FamilySpec = family(
    "container_network_receive_packets_dropped",
    None,
    Kind::Counter,
    "Cumulative count of packets dropped while receiving",
);
pub(super) const NET_TX_DROPPED: FamilySpec = family(
    "container_network_transmit_packets_dropped",
    None,
    Kind::Counter,
    "Cumulative count of packets dropped while transmitting",
);
pub(super) const FS_READ_BYTES: FamilySpec = family(
    "container_fs_reads",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes read",
);
pub(super) const FS_WRITE_BYTES: FamilySpec = family(
    "container_fs_writes",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes written",
);
pub(super) const FS_READS: FamilySpec = family(
    "container_fs_reads",
    None,
    Kind::Counter,
    "Cumulative count of reads completed",
);
pub(super) const FS_WRITES: FamilySpec = family(
    "container_fs_writes",
    None,
    Kind::Counter,
    "Cumulative count of writes completed",
);
pub(super) const PSI_CPU_WAITING: FamilySpec = family(
    "container_pressure_cpu_waiting",
    SECONDS,
    Kind::Counter,
    "Total time duration tasks in the container have waited due to CPU congestion (PSI some)",
);
pub(super) const PSI_CPU_STALLED: FamilySpec = family(
    "container_pressure_cpu_stalled",
    SECONDS,
    Kind::Counter,
    "Total time duration no tasks in the container could make progress due to CPU congestion (PSI full)",
);
pub(super) const PSI_MEMORY_WAITING: FamilySpec = family(
    "container_pressure_memory_waiting",
    SECONDS,
    Kind::Counter,
    "Total time duration tasks in the container have waited due to memory congestion (PSI some)",
);
pub(super) const PSI_MEMORY_STALLED: FamilySpec = family(
    "container_pressure_memory_stalled",
    SECONDS,
    Kind::Counter,
    "Total time duration no tasks in the container could make progress due to memory congestion (PSI full)",
);
pub(super) const PSI_IO_WAITING: FamilySpec = family(
    "container_pressure_io_waiting",
    SECONDS,
    Kind::Counter,
    "Total time duration tasks in the container have waited due to I/O congestion (PSI some)",
);
pub(super) const PSI_IO_STALLED: FamilySpec = family(
    "container_pressure_io_stalled",
    SECONDS,
    Kind::Counter,
    "Total time duration no tasks in the container could make progress due to I/O congestion (PSI full)",
);
pub(super) const MACHINE_CPU_CORES: FamilySpec = family(
    "machine_cpu_cores",
    None,
    Kind::Gauge,
    "Number of logical CPU cores",
);
pub(super) const MACHINE_MEMORY: FamilySpec = family(
    "machine_memory",
    BYTES,
    Kind::Gauge,
    "Amount of memory installed on the machine",
);

// isotop's own.
pub(super) const INFO: FamilySpec = family(
    "isotop_container",
    None,
    Kind::Info,
    "A container isotop sees, with its state (running, frozen, stopped, unverified)",
);
pub(super) const PIDS_LIMIT: FamilySpec = family(
    "isotop_container_pids_limit",
    None,
    Kind::Gauge,
    "The container's pids.max (absent when unlimited)",
);
pub(super) const PIDS_REFUSED: FamilySpec = family(
    "isotop_container_pids_refused_forks",
    None,
    Kind::Counter,
    "Forks refused because pids.max was reached (pids.events max)",
);
pub(super) const PRESSURE: FamilySpec = family(
    "isotop_container_pressure",
    RATIO,
    Kind::Gauge,
    "PSI stall share over the window, 0..1 (some: at least one task stalled; full: all)",
);
pub(super) const THROTTLED: FamilySpec = family(
    "isotop_container_throttled",
    RATIO,
    Kind::Gauge,
    "Share of the CFS periods of the sampler's last interval in which the container was throttled, 0..1",
);
pub(super) const RESTARTS: FamilySpec = family(
    "isotop_container_restarts",
    None,
    Kind::Gauge,
    "Restarts its runtime recorded (Docker RestartCount, the CRI attempt)",
);
pub(super) const HEALTH: FamilySpec = family(
    "isotop_container_health",
    None,
    Kind::Info,
    "The runtime's health check status",
);
pub(super) const IO_LIMIT: FamilySpec = family(
    "isotop_container_io_limit_bytes_per_second",
    None,
    Kind::Gauge,
    "Block I/O bandwidth limit of the container's own cgroup per device and direction, bytes per second",
);
pub(super) const NAMESPACE: FamilySpec = family(
    "isotop_container_namespace",
    None,
    Kind::Info,
    "A namespace of the container's init: type and nsfs inode",
);
pub(super) const NAMESPACES: FamilySpec = family(
    "isotop_namespaces",
    None,
    Kind::Gauge,
    "Namespaces on the host, by type",
);
pub(super) const EVENTS: FamilySpec = family(
    "isotop_events",
    None,
    Kind::Counter,
    "Events isotop saw since the exporter started, by kind",
);
pub(super) const TICK: FamilySpec = family(
    "isotop_sampler_tick",
    SECONDS,
    Kind::Gauge,
    "Time from the start of the sampler's last tick until its frame reached the exporter",
);
pub(super) const FRAME_AGE: FamilySpec = family(
    "isotop_scrape_frame_age",
    SECONDS,
    Kind::Gauge,
    "Age of the frame this scrape was served from",
);
pub(super) const BUILD: FamilySpec = family(
    "isotop_build",
    None,
    Kind::Info,
    "The isotop build serving these metrics",
);

/// Every family, in the order written (the frame's age comes last, per scrape).
pub const FAMILIES: &[FamilySpec] = &[
    CPU_USAGE,
    CPU_USER,
    CPU_SYSTEM,
    CFS_PERIODS,
    CFS_THROTTLED_PERIODS,
    CFS_THROTTLED_SECONDS,
    SPEC_CPU_QUOTA,
    SPEC_CPU_PERIOD,
    SPEC_CPU_SHARES,
    MEMORY_USAGE,
    MEMORY_WORKING_SET,
    MEMORY_RSS,
    MEMORY_CACHE,
    MEMORY_SWAP,
    MEMORY_MAX_USAGE,
    MEMORY_FAILCNT,
    SPEC_MEMORY_LIMIT,
    SPEC_MEMORY_RESERVATION,
    OOM_EVENTS,
    PROCESSES,
    THREADS,
    START_TIME,
    LAST_SEEN,
    NET_RX_BYTES,
    NET_TX_BYTES,
    NET_RX_PACKETS,
    NET_TX_PACKETS,
    NET_RX_ERRORS,
    NET_TX_ERRORS,
    NET_RX_DROPPED,
    NET_TX_DROPPED,
    FS_READ_BYTES,
    FS_WRITE_BYTES,
    FS_READS,
    FS_WRITES,
    PSI_CPU_WAITING,
    PSI_CPU_STALLED,
    PSI_MEMORY_WAITING,
    PSI_MEMORY_STALLED,
    PSI_IO_WAITING,
    PSI_IO_STALLED,
    INFO,
    PIDS_LIMIT,
    PIDS_REFUSED,
    PRESSURE,
    THROTTLED,
    RESTARTS,
    HEALTH,
    IO_LIMIT,
    NAMESPACE,
    MACHINE_CPU_CORES,
    MACHINE_MEMORY,
    NAMESPACES,
    EVENTS,
    TICK,
    BUILD,
    FRAME_AGE,
];

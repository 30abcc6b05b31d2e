//! The families the exporter writes, in one table ([`FAMILIES`]: the README's metrics table and
//! the tests read it): cAdvisor's names, types, units and meanings where they overlap
//! (`docs/storage/prometheus.md` of google/cadvisor), isotop's own under `isotop_`.

use super::{FamilySpec, Kind};

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

// cAdvisor's families, same meanings.
pub(crate) const CPU_USAGE: FamilySpec = family(
    "container_cpu_usage",
    SECONDS,
    Kind::Counter,
    "Cumulative cpu time consumed (own cgroup: cpuacct.usage, cpu.stat usage_usec)",
);
pub(crate) const CPU_USER: FamilySpec = family(
    "container_cpu_user",
    SECONDS,
    Kind::Counter,
    "Cumulative user cpu time consumed",
);
pub(crate) const CPU_SYSTEM: FamilySpec = family(
    "container_cpu_system",
    SECONDS,
    Kind::Counter,
    "Cumulative system cpu time consumed",
);
pub(crate) const CFS_PERIODS: FamilySpec = family(
    "container_cpu_cfs_periods",
    None,
    Kind::Counter,
    "Number of elapsed enforcement period intervals",
);
pub(crate) const CFS_THROTTLED_PERIODS: FamilySpec = family(
    "container_cpu_cfs_throttled_periods",
    None,
    Kind::Counter,
    "Number of throttled period intervals",
);
pub(crate) const CFS_THROTTLED_SECONDS: FamilySpec = family(
    "container_cpu_cfs_throttled",
    SECONDS,
    Kind::Counter,
    "Total time duration the container has been throttled",
);
pub(crate) const SPEC_CPU_QUOTA: FamilySpec = family(
    "container_spec_cpu_quota",
    None,
    Kind::Gauge,
    "CPU quota of the container, microseconds per period (absent when unlimited)",
);
pub(crate) const SPEC_CPU_PERIOD: FamilySpec = family(
    "container_spec_cpu_period",
    None,
    Kind::Gauge,
    "CPU period of the container, microseconds",
);
pub(crate) const SPEC_CPU_SHARES: FamilySpec = family(
    "container_spec_cpu_shares",
    None,
    Kind::Gauge,
    "CPU share of the container (cgroup v1 cpu.shares)",
);
pub(crate) const MEMORY_USAGE: FamilySpec = family(
    "container_memory_usage",
    BYTES,
    Kind::Gauge,
    "Current memory usage, including all memory regardless of when it was accessed",
);
pub(crate) const MEMORY_WORKING_SET: FamilySpec = family(
    "container_memory_working_set",
    BYTES,
    Kind::Gauge,
    "Current working set: usage less inactive page cache",
);
pub(crate) const MEMORY_RSS: FamilySpec = family(
    "container_memory_rss",
    None,
    Kind::Gauge,
    "Size of RSS (anonymous memory), bytes",
);
pub(crate) const MEMORY_CACHE: FamilySpec = family(
    "container_memory_cache",
    None,
    Kind::Gauge,
    "Total page cache memory, bytes",
);
pub(crate) const MEMORY_SWAP: FamilySpec = family(
    "container_memory_swap",
    None,
    Kind::Gauge,
    "Container swap usage, bytes",
);
pub(crate) const MEMORY_MAX_USAGE: FamilySpec = family(
    "container_memory_max_usage",
    BYTES,
    Kind::Gauge,
    "Maximum memory usage recorded",
);
pub(crate) const MEMORY_FAILCNT: FamilySpec = family(
    "container_memory_failcnt",
    None,
    Kind::Unknown,
    "Number of memory usage hits limits (cgroup v1 memory.failcnt)",
);
pub(crate) const SPEC_MEMORY_LIMIT: FamilySpec = family(
    "container_spec_memory_limit",
    BYTES,
    Kind::Gauge,
    "Memory limit for the container (absent when unlimited)",
);
pub(crate) const SPEC_MEMORY_RESERVATION: FamilySpec = family(
    "container_spec_memory_reservation_limit",
    BYTES,
    Kind::Gauge,
    "Memory reservation limit for the container (v1 soft limit, v2 memory.low; absent when unset)",
);
pub(crate) const OOM_EVENTS: FamilySpec = family(
    "container_oom_events",
    None,
    Kind::Counter,
    "Count of out of memory kills in the container's cgroup",
);
pub(crate) const PROCESSES: FamilySpec = family(
    "container_processes",
    None,
    Kind::Gauge,
    "Number of processes running inside the container",
);
pub(crate) const THREADS: FamilySpec = family(
    "container_threads",
    None,
    Kind::Gauge,
    "Number of threads running inside the container (pids.current)",
);
pub(crate) const START_TIME: FamilySpec = family(
    "container_start_time",
    SECONDS,
    Kind::Gauge,
    "Start time of the container since unix epoch",
);
pub(crate) const LAST_SEEN: FamilySpec = family(
    "container_last_seen",
    None,
    Kind::Gauge,
    "Last time a container was seen by the exporter, seconds since unix epoch",
);
pub(crate) const NET_RX_BYTES: FamilySpec = family(
    "container_network_receive",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes received",
);
pub(crate) const NET_TX_BYTES: FamilySpec = family(
    "container_network_transmit",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes transmitted",
);
pub(crate) const NET_RX_PACKETS: FamilySpec = family(
    "container_network_receive_packets",
    None,
    Kind::Counter,
    "Cumulative count of packets received",
);
pub(crate) const NET_TX_PACKETS: FamilySpec = family(
    "container_network_transmit_packets",
    None,
    Kind::Counter,
    "Cumulative count of packets transmitted",
);
pub(crate) const NET_RX_ERRORS: FamilySpec = family(
    "container_network_receive_errors",
    None,
    Kind::Counter,
    "Cumulative count of errors encountered while receiving",
);
pub(crate) const NET_TX_ERRORS: FamilySpec = family(
    "container_network_transmit_errors",
    None,
    Kind::Counter,
    "Cumulative count of errors encountered while transmitting",
);
pub(crate) const NET_RX_DROPPED: FamilySpec = family(
    "container_network_receive_packets_dropped",
    None,
    Kind::Counter,
    "Cumulative count of packets dropped while receiving",
);
pub(crate) const NET_TX_DROPPED: FamilySpec = family(
    "container_network_transmit_packets_dropped",
    None,
    Kind::Counter,
    "Cumulative count of packets dropped while transmitting",
);
pub(crate) const FS_READ_BYTES: FamilySpec = family(
    "container_fs_reads",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes read",
);
pub(crate) const FS_WRITE_BYTES: FamilySpec = family(
    "container_fs_writes",
    BYTES,
    Kind::Counter,
    "Cumulative count of bytes written",
);
pub(crate) const FS_READS: FamilySpec = family(
    "container_fs_reads",
    None,
    Kind::Counter,
    "Cumulative count of reads completed",
);
pub(crate) const FS_WRITES: FamilySpec = family(
    "container_fs_writes",
    None,
    Kind::Counter,
    "Cumulative count of writes completed",
);
pub(crate) const PSI_CPU_WAITING: FamilySpec = family(
    "container_pressure_cpu_waiting",
    SECONDS,
    Kind::Counter,
    "Total time duration tasks in the container have waited due to CPU congestion (PSI some)",
);
pub(crate) const PSI_CPU_STALLED: FamilySpec = family(
    "container_pressure_cpu_stalled",
    SECONDS,
    Kind::Counter,
    "Total time duration no tasks in the container could make progress due to CPU congestion (PSI full)",
);
pub(crate) const PSI_MEMORY_WAITING: FamilySpec = family(
    "container_pressure_memory_waiting",
    SECONDS,
    Kind::Counter,
    "Total time duration tasks in the container have waited due to memory congestion (PSI some)",
);
pub(crate) const PSI_MEMORY_STALLED: FamilySpec = family(
    "container_pressure_memory_stalled",
    SECONDS,
    Kind::Counter,
    "Total time duration no tasks in the container could make progress due to memory congestion (PSI full)",
);
pub(crate) const PSI_IO_WAITING: FamilySpec = family(
    "container_pressure_io_waiting",
    SECONDS,
    Kind::Counter,
    "Total time duration tasks in the container have waited due to I/O congestion (PSI some)",
);
pub(crate) const PSI_IO_STALLED: FamilySpec = family(
    "container_pressure_io_stalled",
    SECONDS,
    Kind::Counter,
    "Total time duration no tasks in the container could make progress due to I/O congestion (PSI full)",
);
pub(crate) const MACHINE_CPU_CORES: FamilySpec = family(
    "machine_cpu_cores",
    None,
    Kind::Gauge,
    "Number of logical CPU cores",
);
pub(crate) const MACHINE_MEMORY: FamilySpec = family(
    "machine_memory",
    BYTES,
    Kind::Gauge,
    "Amount of memory installed on the machine",
);

// isotop's own.
pub(crate) const INFO: FamilySpec = family(
    "isotop_container",
    None,
    Kind::Info,
    "A container isotop sees, with its state (running, frozen, stopped, unverified)",
);
pub(crate) const PIDS_LIMIT: FamilySpec = family(
    "isotop_container_pids_limit",
    None,
    Kind::Gauge,
    "The container's pids.max (absent when unlimited)",
);
pub(crate) const PIDS_REFUSED: FamilySpec = family(
    "isotop_container_pids_refused_forks",
    None,
    Kind::Counter,
    "Forks refused because pids.max was reached (pids.events max)",
);
pub(crate) const PRESSURE: FamilySpec = family(
    "isotop_container_pressure",
    RATIO,
    Kind::Gauge,
    "PSI stall share over the window, 0..1 (some: at least one task stalled; full: all)",
);
pub(crate) const THROTTLED: FamilySpec = family(
    "isotop_container_throttled",
    RATIO,
    Kind::Gauge,
    "Share of the CFS periods of the sampler's last interval in which the container was throttled, 0..1",
);
pub(crate) const RESTARTS: FamilySpec = family(
    "isotop_container_restarts",
    None,
    Kind::Gauge,
    "Restarts its runtime recorded (Docker RestartCount, the CRI attempt)",
);
pub(crate) const HEALTH: FamilySpec = family(
    "isotop_container_health",
    None,
    Kind::Info,
    "The runtime's health check status",
);
pub(crate) const IO_LIMIT: FamilySpec = family(
    "isotop_container_io_limit_bytes_per_second",
    None,
    Kind::Gauge,
    "Block I/O bandwidth limit of the container's own cgroup per device and direction, bytes per second",
);
pub(crate) const NAMESPACE: FamilySpec = family(
    "isotop_container_namespace",
    None,
    Kind::Info,
    "A namespace of the container's init: type and nsfs inode",
);
pub(crate) const NAMESPACES: FamilySpec = family(
    "isotop_namespaces",
    None,
    Kind::Gauge,
    "Namespaces on the host, by type",
);
pub(crate) const EVENTS: FamilySpec = family(
    "isotop_events",
    None,
    Kind::Counter,
    "Events isotop saw since the exporter started, by kind",
);
pub(crate) const TROUBLE_DUMPS: FamilySpec = family(
    "isotop_trouble_dumps",
    None,
    Kind::Counter,
    "Dumps on trouble (the last minutes of frames, for isotop replay) written since the exporter started",
);
pub(crate) const TICK: FamilySpec = family(
    "isotop_sampler_tick",
    SECONDS,
    Kind::Gauge,
    "Time from the start of the sampler's last tick until its frame reached the exporter",
);
pub(crate) const FRAME_AGE: FamilySpec = family(
    "isotop_scrape_frame_age",
    SECONDS,
    Kind::Gauge,
    "Age of the frame this scrape was served from",
);
pub(crate) const BUILD: FamilySpec = family(
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
    TROUBLE_DUMPS,
    TICK,
    BUILD,
    FRAME_AGE,
];

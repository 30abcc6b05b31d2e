//! The arguments of each subcommand (clap derive): what `isotop <subcommand> --help` shows.
//! `cli.rs` holds the top level (`Cli`, `Command`) and dispatch; the subcommands' files read
//! these values.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub(crate) struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImageCommand {
    /// List cached layers: digest, size on disk, entries, whiteouts, age, containers using it.
    Ls(JsonArgs),
    /// Remove every cached layer no isotop container (running or stopped) uses.
    Prune(JsonArgs),
}

#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The container's name (default: the program's name and the first 6 digits of the id).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A root-filesystem directory, a rootfs tarball, a `docker save` archive or an OCI
    /// layout (default: the host's programs, read-only, with a private writable layer).
    #[arg(long, value_name = "SRC")]
    pub image: Option<PathBuf>,
    /// CPU quota: CPUs (`0.5`), percent of one CPU (`50%`), millicores (`500m`).
    #[arg(long, value_name = "CPUS", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// Memory limit: `256M`, `1.5G`, bytes (at least 6M).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Maximum number of tasks.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids: Option<String>,
    /// Network: none (own namespace, loopback only), bridge (veth to isotop0), host.
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub net: String,
    /// The container's hostname (default: the first 12 digits of its id).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// An environment variable, `KEY=VALUE` (`KEY` alone: its value here); repeatable.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// A bind mount, `HOST:DEST` or `HOST:DEST:ro`; repeatable.
    #[arg(short = 'v', long = "volume", value_name = "HOST:DEST[:ro]")]
    pub volumes: Vec<String>,
    /// Run in the background and print the container's id.
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Keep stdin open and forward it to the container.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the container a pseudo-terminal (with -i: this terminal, in raw mode).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Remove the container once its command exits.
    #[arg(long)]
    pub rm: bool,
    /// Run as root in a user namespace mapped to an unprivileged host id range.
    #[arg(long)]
    pub userns: bool,
    /// The user to run as, `USER[:GROUP]` or `UID[:GID]` (default: the image's `User`, else
    /// root); names are looked up in the image's /etc/passwd and /etc/group.
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// `seccomp=unconfined` runs without Docker's default seccomp filter (not advised);
    /// repeatable.
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// With -d: print the container as JSON.
    #[arg(long)]
    pub json: bool,
    /// The command and its arguments (default: the image's, else /bin/sh).
    #[arg(
        value_name = "CMD",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// A container name, id, unique id prefix, pid or cgroup path (any runtime).
    pub target: String,
    /// Keep printing new output (across rotation) until the container exits.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only output logged since TIME: RFC 3339 (`2026-12-06T10:00:00Z`, `…+02:00`) or a
    /// duration ago (`90s`, `10m`, `2h`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only output logged until TIME (as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only the last N lines.
    #[arg(short = 'n', long = "tail", value_name = "N")]
    pub tail: Option<usize>,
    /// Prefix each line with the time its runtime logged it (RFC 3339, ns, UTC).
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Only this stream's lines.
    #[arg(long, value_enum, value_name = "STREAM")]
    pub stream: Option<LogsStream>,
}

/// A stream `isotop logs --stream` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogsStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// Container names, ids or unique id prefixes.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Seconds to wait after TERM before KILL.
    #[arg(
        short = 't',
        long = "time",
        value_name = "SECONDS",
        default_value_t = crate::launch::lifecycle::DEFAULT_STOP_TIMEOUT.as_secs()
    )]
    pub time: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Container names, ids or unique id prefixes.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Kill a running container first.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SuperviseArgs {
    /// The container's id.
    pub id: String,
    /// Where to report `ready <pid>` or `error ...`.
    #[arg(long, value_name = "FD")]
    pub ready_fd: Option<i32>,
    /// The CLI's end of the attach socket (foreground runs).
    #[arg(long, value_name = "FD")]
    pub attach_fd: Option<i32>,
}

#[derive(Debug, Args)]
pub(crate) struct RevertWorkerArgs {
    /// The pending revert's id.
    pub id: String,
    /// Only start the detached worker and exit.
    #[arg(long)]
    pub spawn: bool,
    /// With --spawn: print the worker's pid instead of recording it (the caller holds the
    /// journal lock and records it).
    #[arg(long, requires = "spawn")]
    pub print_pid: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// A container id or unique id prefix, a name, a host pid; or a cgroup path (`/x`,
    /// `cgroup:/x`): that cgroup itself, in every hierarchy that has it.
    pub target: String,
    /// CPU quota: CPUs (`0.5`), percent of one CPU (`50%`), millicores (`500m`) or `max`.
    #[arg(long, value_name = "CPUS", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// CFS period in microseconds for the quota (default: keep the current one).
    #[arg(long, value_name = "USEC")]
    pub period: Option<String>,
    /// Relative CPU weight: v2 `cpu.weight` 1–10000 (v1: converted to `cpu.shares`).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub cpu_weight: Option<String>,
    /// Memory limit: `256M`, `1.5G`, bytes, or `max`.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory throttling threshold (v2 `memory.high`): like `--memory`.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_high: Option<String>,
    /// Maximum number of tasks, or `max`.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids: Option<String>,
    /// Read bandwidth of one disk: DEV=RATE, DEV a block device path (`/dev/sda`) or MAJ:MIN,
    /// RATE bytes per second (`10M`, `1MiB`), `max` or `0` to clear. Repeatable.
    #[arg(long, value_name = "DEV=RATE", allow_hyphen_values = true)]
    pub device_read_bps: Vec<String>,
    /// Write bandwidth of one disk: like `--device-read-bps`.
    #[arg(long, value_name = "DEV=RATE", allow_hyphen_values = true)]
    pub device_write_bps: Vec<String>,
    /// Read operations per second of one disk: DEV=N, `max` or `0` to clear. Repeatable.
    #[arg(long, value_name = "DEV=N", allow_hyphen_values = true)]
    pub device_read_iops: Vec<String>,
    /// Write operations per second of one disk: like `--device-read-iops`.
    #[arg(long, value_name = "DEV=N", allow_hyphen_values = true)]
    pub device_write_iops: Vec<String>,
    /// Relative I/O weight: v2 `io.weight` 1–10000 (or `io.bfq.weight` 1–1000); v1
    /// `blkio.weight` (CFQ, 10–1000) or `blkio.bfq.weight` (BFQ, 1–1000).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub io_weight: Option<String>,
    /// Allow a memory limit below current usage (the kernel will reclaim or OOM-kill).
    #[arg(long)]
    pub force: bool,
    /// Revert by itself after this long (`90s`, `10m`, `2h`), even if isotop has exited.
    #[arg(long = "for", value_name = "DURATION")]
    pub for_duration: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UndoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PendingArgs {
    /// Cancel the pending revert with this id (its change then stays).
    #[arg(long, value_name = "ID")]
    pub cancel: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Only the last N entries.
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
    /// Print JSON lines as stored.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KillArgs {
    /// A container id or unique id prefix, a name, a host pid; or a cgroup path (`/x`,
    /// `cgroup:/x`): every process of that cgroup.
    pub target: String,
    /// Signal name or number (`TERM`, `SIGKILL`, `9`).
    #[arg(short, long, value_name = "NAME", default_value = "TERM")]
    pub signal: String,
    /// Seconds to wait for the container to end before saying it did not (then KILL is offered).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EnterArgs {
    /// A container id or unique id prefix, a name, a host pid, or a cgroup path.
    pub target: String,
    /// Only these namespaces, comma separated (`net,pid`): keeps the host's file system.
    #[arg(long, value_name = "LIST")]
    pub ns: Option<String>,
    /// Run with isotop's own credentials (every capability, root), like nsenter, instead of
    /// the container init's: a program the container controls gets full control of the host.
    #[arg(long)]
    pub privileged: bool,
    /// The command to run (default: the container's shell, else /bin/sh).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `--at TIME` / `--from DIR`: answer from a flight recorder's store instead of the host.
#[derive(Debug, Args)]
pub(crate) struct RecordedArgs {
    /// Answer from the recording: the frame taken at or before TIME, an RFC 3339 time
    /// (`2026-12-05T03:12:00Z`, `…T04:12:00+01:00`) or a duration ago (`-15m`, `15m`, `2h`).
    // `-15m` is a value, not an option.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// The recording to answer from (default /var/lib/isotop/record); alone, without `--at`,
    /// its newest frame.
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct NsArgs {
    /// Only namespaces of this type (cgroup, ipc, mnt, net, pid, time, user, uts); repeatable.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only the namespaces of this process.
    #[arg(short = 'p', long = "task", value_name = "PID")]
    pub pid: Option<i32>,
    /// Show user and pid namespaces as a tree of parents and the namespaces each user owns.
    #[arg(long)]
    pub tree: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub recorded: RecordedArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CgroupsArgs {
    /// Start at this cgroup path (e.g. `/docker`); default the root.
    pub path: Option<String>,
    /// Descend at most this many levels below PATH.
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub recorded: RecordedArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Also list stopped containers the runtimes still keep on disk (no processes).
    #[arg(short, long)]
    pub all: bool,
    /// Seconds between the two samples CPU% is computed from (0 skips CPU%; default 0.5).
    /// Not with `--at`/`--from`: the recording's rates are over its own interval.
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<f64>,
    /// Also show what the kernel tells of trouble: throttled share of periods, CPU/memory/I/O
    /// pressure, OOM kills and forks refused at the pids limit.
    #[arg(short, long)]
    pub wide: bool,
    /// Also size each running container's writable layer (the RW SIZE column, bytes on disk:
    /// what it wrote), at idle I/O priority; waits until every layer is walked.
    #[arg(short, long)]
    pub size: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub recorded: RecordedArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also size the writable layer and each lower layer (bytes on disk and files), at idle
    /// I/O priority; waits until every layer is walked.
    #[arg(short, long)]
    pub size: bool,
    #[command(flatten)]
    pub recorded: RecordedArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// A container id or unique id prefix, a name, a host pid, or a cgroup path (for
    /// `freeze`/`thaw` the cgroup itself; elsewhere the container whose cgroup it is).
    pub target: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Past events come from sources that date them: isotop's own acts (its \
audit log), OOM kills (the kernel log, /dev/kmsg, when readable: root, or \
kernel.dmesg_restrict=0), the running containers' starts (their inits' start times) and the \
exits runtimes record. Throttling, pressure, refused forks, health, restarts and limit changes \
by others have no dated source: they are seen only while isotop runs (--follow, or the \
dashboard)."
)]
pub(crate) struct EventsArgs {
    /// Only this container's events (an id or unique id prefix, a name, a host pid), or a
    /// cgroup path's (`/x`, `cgroup:/x`: that cgroup and those below it).
    pub target: Option<String>,
    /// Past events since TIME (`2026-12-06T10:00:00Z`, UTC without a zone) or DURATION ago
    /// (`90s`, `10m`, `2h`); default the last hour.
    #[arg(long, value_name = "TIME|DURATION")]
    pub since: Option<String>,
    /// After the past events, keep sampling and print each event as it happens, until Ctrl-C.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// With --follow: seconds between samples.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub interval: f64,
    /// Print JSON: an array, or with --follow one object per line.
    #[arg(long)]
    pub json: bool,
}

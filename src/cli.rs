//! The scriptable subcommands: clap definitions and dispatch.
//!
//! Each subcommand reads the host through the same `host` functions the dashboard uses and
//! prints either an aligned table or, with `--json`, one JSON document whose schema is listed in
//! the README. Exit codes: 0 success, 1 the host could not be read, 2 the user's own mistake
//! (bad arguments, unknown or ambiguous target).

#[cfg(test)]
mod agreement_tests;
pub(crate) mod audit;
pub(crate) mod cgroups;
pub(crate) mod enter;
pub(crate) mod error;
pub(crate) use crate::units::format;
pub(crate) mod freeze;
pub(crate) mod image;
pub(crate) mod inspect;
pub(crate) mod kill;
pub(crate) mod launch;
pub(crate) mod lifecycle;
pub(crate) mod limit;
pub(crate) mod logs;
pub(crate) mod ls;
pub(crate) mod ns;
pub(crate) mod ps;
pub(crate) mod read_only;
pub(crate) mod table;
pub(crate) mod target;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use crate::units::{ShortIds, short_id};
pub(crate) use error::CliError;

use crate::host::HostRoot;

/// isotop — containers the way the kernel sees them.
#[derive(Debug, Parser)]
#[command(name = "isotop", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Read the host mounted under this directory (its proc, sys, run, var/lib, etc),
    /// e.g. `/host` when isotop runs inside a container.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Dashboard: seconds between samples (default 1, or the config's `refresh`). Not global:
    /// `-d` of `isotop run` is `--detach`, as in `docker run`.
    #[arg(short = 'd', long = "delay", value_name = "SECONDS")]
    pub delay: Option<f64>,

    /// Dashboard: read this config file instead of $XDG_CONFIG_HOME/isotop/config.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Watch only: every act key of the dashboard answers "read-only" and the act subcommands
    /// (limit, undo, pending --cancel, freeze, thaw, kill, enter, run, stop, rm, image prune)
    /// refuse with exit 2. The config's `read_only = true` does the same.
    #[arg(long, global = true)]
    pub read_only: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List namespaces like lsns: inode, type, processes, lowest pid, user, command, parents.
    Ns(NsArgs),
    /// Show the cgroup tree with stats and limits (v1, v2 and hybrid hosts).
    Cgroups(CgroupsArgs),
    /// List containers of every runtime, with CPU%, memory, limits and state.
    Ls(LsArgs),
    /// Everything about one container; every figure names the kernel file it came from.
    Inspect(TargetArgs),
    /// A container's processes as a tree.
    Ps(TargetArgs),
    /// Change a container's CPU, memory or pids limits (undoable; `--for` reverts by itself).
    Limit(LimitArgs),
    /// Restore the exact previous values of the last limit change.
    Undo(UndoArgs),
    /// List timed reverts still waiting (`limit --for`), or cancel one.
    Pending(PendingArgs),
    /// Print the audit log of every act.
    Log(LogArgs),
    /// Freeze every process of a container (cgroup freezer).
    Freeze(TargetArgs),
    /// Thaw a frozen container.
    Thaw(TargetArgs),
    /// Signal every process of a container so none escapes by forking.
    Kill(KillArgs),
    /// Run a command inside a container's namespaces, cgroup and root (like `nsenter -a`).
    Enter(EnterArgs),
    /// Internal: the detached process that carries out a timed revert (`limit --for`).
    #[command(hide = true)]
    RevertWorker(RevertWorkerArgs),
    /// Run a command in a new isotop container (namespaces, cgroup limits, overlay layers).
    Run(RunArgs),
    /// Print an isotop container's output (stdout and stderr, as logged by its supervisor).
    Logs(LogsArgs),
    /// Stop isotop containers: TERM to the init, KILL after a timeout.
    Stop(StopArgs),
    /// Remove stopped isotop containers: mount, writable layer, cgroups, veth, record.
    Rm(RmArgs),
    /// Internal: the per-container supervisor started by `run`.
    #[command(hide = true)]
    Supervise(SuperviseArgs),
    /// isotop's layer cache: list cached layers and who uses them, prune unused ones.
    Image(ImageArgs),
}

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
    /// A container name, id or unique id prefix.
    pub target: String,
    /// Keep printing new output until the container exits.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only output from the last DURATION (`90s`, `10m`, `2h`).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Only the last N records.
    #[arg(short = 'n', long = "tail", value_name = "N")]
    pub tail: Option<usize>,
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
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Also list stopped containers the runtimes still keep on disk (no processes).
    #[arg(short, long)]
    pub all: bool,
    /// Seconds between the two samples CPU% is computed from (0 skips CPU%).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pub interval: f64,
    /// Also show what the kernel tells of trouble: throttled share of periods, CPU/memory/I/O
    /// pressure, OOM kills and forks refused at the pids limit.
    #[arg(short, long)]
    pub wide: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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

/// The whole `isotop` binary: parses the command line, runs it, and on failure prints the error
/// (control characters stripped: messages can quote what an image or container said) and exits
/// with its code (1 the host could not be read, 2 the user's own mistake).
pub(crate) fn main() {
    if let Err(err) = run(Cli::parse()) {
        eprintln!(
            "isotop: {}",
            crate::host::text::clean_lines(&err.to_string())
        );
        std::process::exit(err.exit_code());
    }
}

/// Runs one subcommand; without one, the dashboard.
pub(crate) fn run(cli: Cli) -> Result<(), CliError> {
    let root = host_root(&cli.root);
    let read_only = read_only::requested(&cli)?;
    if read_only && let Some(act) = cli.command.as_ref().and_then(read_only::act_of) {
        return Err(read_only::refusal(act));
    }
    // Timed reverts whose worker is gone are carried out by any later run (one readdir when
    // none is due); the per-container supervisor is left out (it runs for a container's life),
    // and so is a read-only run (it writes nothing).
    if !read_only && !matches!(cli.command, Some(Command::Supervise(_))) {
        for line in crate::control::limits::pending::apply_overdue(&root) {
            eprintln!("isotop: {}", crate::host::text::clean_lines(&line));
        }
    }
    match cli.command {
        Some(Command::Ns(args)) => ns::run(&root, &args),
        Some(Command::Cgroups(args)) => cgroups::run(&root, &args),
        Some(Command::Ls(args)) => ls::run(&root, &args),
        Some(Command::Inspect(args)) => inspect::run(&root, &args),
        Some(Command::Ps(args)) => ps::run(&root, &args),
        Some(Command::Limit(args)) => limit::run(&root, &args),
        Some(Command::Undo(args)) => limit::undo(&root, &args),
        Some(Command::Pending(args)) => limit::pending(&root, &args),
        Some(Command::Log(args)) => audit::run(&args),
        Some(Command::Freeze(args)) => freeze::run(&root, &args, true),
        Some(Command::Thaw(args)) => freeze::run(&root, &args, false),
        Some(Command::Kill(args)) => kill::run(&root, &args),
        Some(Command::Enter(args)) => enter::run(&root, &args),
        Some(Command::RevertWorker(args)) => {
            limit::revert_worker(&root, &args.id, args.spawn, args.print_pid)
        }
        Some(Command::Run(args)) => launch::run(&root, args),
        Some(Command::Logs(args)) => logs::run(&root, &args),
        Some(Command::Stop(args)) => lifecycle::stop(&root, &args),
        Some(Command::Rm(args)) => lifecycle::remove(&root, &args),
        Some(Command::Supervise(args)) => launch::supervise(&root, &args),
        Some(Command::Image(args)) => image::run(&root, &args),
        None => {
            let options = crate::ui::Options {
                delay_seconds: cli.delay,
                config: cli.config.clone(),
                read_only,
            };
            crate::ui::run(root, &options).map_err(|e| {
                if e.is_usage() {
                    CliError::Usage(e.to_string())
                } else {
                    CliError::Output(e.to_string())
                }
            })
        }
    }
}

fn host_root(dir: &std::path::Path) -> HostRoot {
    if dir == std::path::Path::new("/") {
        HostRoot::live()
    } else {
        HostRoot::under(dir)
    }
}

/// Writes a value as pretty JSON to stdout. Characters a terminal would act on (DEL, C1,
/// bidirectional controls: serde escapes only C0) are written as `\uXXXX` escapes, so the
/// output is safe on a terminal and a JSON reader still gets the exact text.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
    text.push('\n');
    write_stdout(&crate::host::text::escape_json(&text))
}

/// Writes text to stdout, cleaned of control characters but line breaks and tabs
/// ([`crate::host::text::clean_lines`]): the last guard of every table and report, whatever
/// field a stranger chose. A closed pipe (`isotop ls | head`) is not an error: the reader has
/// what it wanted, so isotop stops quietly instead of panicking like `print!` would.
pub(crate) fn print_text(text: &str) -> Result<(), CliError> {
    write_stdout(&crate::host::text::clean_lines(text))
}

fn write_stdout(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e.to_string())),
    }
}

/// Writes one line to stderr as `isotop: LINE`, cleaned like [`print_text`] (warnings quote
/// paths and names from the host).
pub(crate) fn warn(line: &str) {
    eprintln!("isotop: {}", crate::host::text::clean_lines(line));
}

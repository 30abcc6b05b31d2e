//! The scriptable subcommands: clap definitions and dispatch.
//!
//! Each subcommand reads the host through the same `host` functions the dashboard uses and
//! prints either an aligned table or, with `--json`, one JSON document whose schema is listed in
//! the README. Exit codes: 0 success, 1 the host could not be read, 2 the user's own mistake
//! (bad arguments, unknown or ambiguous target).

pub mod audit;
pub mod cgroups;
pub mod enter;
pub mod error;
pub mod format;
pub mod freeze;
pub mod inspect;
pub mod kill;
pub mod limit;
pub mod ls;
pub mod ns;
pub mod ps;
pub mod table;
pub mod target;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use error::CliError;

use crate::host::HostRoot;

/// isotop — containers the way the kernel sees them.
#[derive(Debug, Parser)]
#[command(name = "isotop", version, about, long_about = None)]
pub struct Cli {
    /// Read the host mounted under this directory (its proc, sys, run, var/lib, etc),
    /// e.g. `/host` when isotop runs inside a container.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Dashboard: seconds between samples (default 1, or the config's `refresh`).
    #[arg(short = 'd', long = "delay", global = true, value_name = "SECONDS")]
    pub delay: Option<f64>,

    /// Dashboard: read this config file instead of $XDG_CONFIG_HOME/isotop/config.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
}

#[derive(Debug, Args)]
pub struct RevertWorkerArgs {
    /// The pending revert's id.
    pub id: String,
    /// Only start the detached worker and exit.
    #[arg(long)]
    pub spawn: bool,
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// A container id or unique id prefix, a name, a host pid, or a cgroup path.
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
pub struct UndoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Cancel the pending revert with this id (its change then stays).
    #[arg(long, value_name = "ID")]
    pub cancel: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only the last N entries.
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
    /// Print JSON lines as stored.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// A container id or unique id prefix, a name, a host pid, or a cgroup path.
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
pub struct EnterArgs {
    /// A container id or unique id prefix, a name, a host pid, or a cgroup path.
    pub target: String,
    /// Only these namespaces, comma separated (`net,pid`): keeps the host's file system.
    #[arg(long, value_name = "LIST")]
    pub ns: Option<String>,
    /// The command to run (default: the container's shell, else /bin/sh).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NsArgs {
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
pub struct CgroupsArgs {
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
pub struct LsArgs {
    /// Also list stopped containers the runtimes still keep on disk (no processes).
    #[arg(short, long)]
    pub all: bool,
    /// Seconds between the two samples CPU% is computed from (0 skips CPU%).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pub interval: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// A container id or unique id prefix, a name, a host pid, or a cgroup path.
    pub target: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs one subcommand; without one, the dashboard.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let root = host_root(&cli.root);
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
        Some(Command::RevertWorker(args)) => limit::revert_worker(&root, &args.id, args.spawn),
        None => {
            let options = crate::ui::Options {
                delay_seconds: cli.delay,
                config: cli.config.clone(),
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

/// Writes a value as pretty JSON to stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
    text.push('\n');
    print_text(&text)
}

/// Writes text to stdout. A closed pipe (`isotop ls | head`) is not an error: the reader has
/// what it wanted, so isotop stops quietly instead of panicking like `print!` would.
pub fn print_text(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e.to_string())),
    }
}

/// A container id as tables show it: 64-hex ids cut to 12 like docker, other ids whole.
pub fn short_id(id: &str) -> String {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        id[..12].to_string()
    } else {
        id.to_string()
    }
}

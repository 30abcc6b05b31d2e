//! The scriptable subcommands: clap definitions and dispatch.
//!
//! Each subcommand reads the host through the same `host` functions the dashboard uses and
//! prints either an aligned table or, with `--json`, one JSON document whose schema is listed in
//! the README. Exit codes: 0 success, 1 the host could not be read, 2 the user's own mistake
//! (bad arguments, unknown or ambiguous target).

pub(crate) mod agent;
#[cfg(test)]
mod agreement_tests;
mod args;
pub(crate) mod audit;
pub(crate) mod cgroups;
pub(crate) mod completions;
pub(crate) mod diff;
pub(crate) mod enter;
pub(crate) mod error;
pub(crate) mod events;
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
mod moment;
pub(crate) mod net;
pub(crate) mod ns;
pub(crate) mod ps;
pub(crate) mod read_only;
pub(crate) mod record;
mod recorded;
pub(crate) mod replay;
pub(crate) mod serve;
pub(crate) mod table;
pub(crate) mod target;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub(crate) use crate::units::{ShortIds, short_id};
pub(crate) use args::{
    CgroupsArgs, EnterArgs, EventsArgs, ImageArgs, ImageCommand, InspectArgs, JsonArgs, KillArgs,
    LimitArgs, LogArgs, LogsArgs, LogsStream, LsArgs, NsArgs, PendingArgs, RecordedArgs,
    RevertWorkerArgs, RmArgs, RunArgs, StopArgs, SuperviseArgs, TargetArgs, UndoArgs,
};
pub(crate) use error::CliError;

use crate::host::HostRoot;

/// isotop — containers the way the kernel sees them.
#[derive(Debug, Parser)]
// `--version` says the commit too (build.rs: short hash, `-dirty`, or `unknown`).
#[command(
    name = "isotop",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ISOTOP_COMMIT"), ")"),
    about,
    long_about = None
)]
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

    /// Dashboard: watch a remote host over ssh instead of this one: `ssh://[user@]host[:port]`
    /// or `[user@]host`; `isotop agent` must be installed there. Give it several times (or
    /// ISOTOP_HOST=a,b) for a host switcher (H). The system ssh connects: its config, keys,
    /// agent and jump hosts apply; extra options in ISOTOP_SSH_OPTIONS.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,

    /// Dashboard with --host: the command that runs isotop on the remote host (default
    /// `isotop`, or ISOTOP_REMOTE_COMMAND), e.g. `/opt/isotop/bin/isotop` or `sudo isotop`.
    #[arg(long, value_name = "COMMAND")]
    pub remote_command: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List namespaces like lsns: inode, type, processes, lowest pid, user, command, parents.
    Ns(NsArgs),
    /// Show the cgroup tree with stats and limits (v1, v2 and hybrid hosts).
    Cgroups(CgroupsArgs),
    /// The host's network map: bridges, veth pairs and the containers at their ends; each
    /// network namespace once, with its interfaces, addresses, routes and counters.
    Net(JsonArgs),
    /// List containers of every runtime, with CPU%, memory, limits and state.
    Ls(LsArgs),
    /// Everything about one container; every figure names the kernel file it came from.
    Inspect(InspectArgs),
    /// A container's processes as a tree.
    Ps(TargetArgs),
    /// What a container changed against its image (overlay roots): A added, C changed, D deleted.
    Diff(TargetArgs),
    /// Change a container's CPU, memory or pids limits (undoable; `--for` reverts by itself).
    Limit(LimitArgs),
    /// Restore the exact previous values of the last limit change.
    Undo(UndoArgs),
    /// List timed reverts still waiting (`limit --for`), or cancel one.
    Pending(PendingArgs),
    /// Print the audit log of every act.
    Log(LogArgs),
    /// What happened to containers: started, exited, OOM kills, refused forks, throttling,
    /// pressure, limit changes (isotop's and others'), freezes; past ones and, with -f, live.
    Events(EventsArgs),
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
    /// Print a container's output from its runtime's log files (any runtime; -f follows).
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
    /// The far end of `isotop --host`: samples this host and streams frames on stdout, takes
    /// acts on stdin (run by ssh, not by hand; never listens on a socket). --read-only refuses
    /// acts.
    Agent(agent::AgentArgs),
    /// Serve container metrics to Prometheus (OpenMetrics; cAdvisor's names) over HTTP(S).
    Serve(serve::ServeArgs),
    /// Record the host's frames to a store (the flight recorder) until SIGINT or SIGTERM.
    Record(record::RecordArgs),
    /// The dashboard on a recording (`isotop record`): every view as it was at a past moment;
    /// [ ] step, { } jump to events, t go to a time; acts are off.
    Replay(replay::ReplayArgs),
    /// Print a shell completion script (bash, zsh, fish) to stdout.
    Completions(completions::CompletionsArgs),
    /// Print the man page, or write every page (one per subcommand) with --dir.
    Man(completions::ManArgs),
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
    // Generated from the clap definition alone: no host read, no config, no pending reverts.
    match &cli.command {
        Some(Command::Completions(args)) => return completions::completions(args),
        Some(Command::Man(args)) => return completions::man(args),
        _ => {}
    }
    let root = host_root(&cli.root);
    let read_only = read_only::requested(&cli)?;
    if read_only && let Some(act) = cli.command.as_ref().and_then(read_only::act_of) {
        return Err(read_only::refusal(act));
    }
    // Timed reverts whose worker is gone are carried out by any later run (one readdir when
    // none is due); the per-container supervisor is left out (it runs for a container's life),
    // and so are a read-only run and a replay (they write nothing).
    if !read_only
        && !matches!(
            cli.command,
            Some(Command::Supervise(_) | Command::Replay(_))
        )
    {
        for line in crate::control::limits::pending::apply_overdue(&root) {
            eprintln!("isotop: {}", crate::host::text::clean_lines(&line));
        }
    }
    match cli.command {
        Some(Command::Ns(args)) => ns::run(&root, &args),
        Some(Command::Cgroups(args)) => cgroups::run(&root, &args),
        Some(Command::Net(args)) => net::run(&root, &args),
        Some(Command::Ls(args)) => ls::run(&root, &args),
        Some(Command::Inspect(args)) => inspect::run(&root, &args),
        Some(Command::Ps(args)) => ps::run(&root, &args),
        Some(Command::Diff(args)) => diff::run(&root, &args),
        Some(Command::Limit(args)) => limit::run(&root, &args),
        Some(Command::Undo(args)) => limit::undo(&root, &args),
        Some(Command::Pending(args)) => limit::pending(&root, &args),
        Some(Command::Log(args)) => audit::run(&args),
        Some(Command::Events(args)) => events::run(&root, &args),
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
        Some(Command::Agent(args)) => agent::run(root, &args, cli.config.clone(), read_only),
        None if agent::remote_requested(&cli) => agent::dashboard(&cli, read_only),
        Some(Command::Serve(args)) => serve::run(root, &args),
        Some(Command::Record(args)) => record::run(root, &args, cli.config.as_deref()),
        Some(Command::Replay(args)) => replay::run(&root, &args, cli.config.clone()),
        Some(Command::Completions(args)) => completions::completions(&args),
        Some(Command::Man(args)) => completions::man(&args),
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
    write_stdout(&json_text(value)?)
}

/// The text [`print_json`] writes: pretty JSON, a line break, control characters escaped.
pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.to_string()))?;
    text.push('\n');
    Ok(crate::host::text::escape_json(&text))
}

/// The text `isotop ls --json --at T` prints when `frame` is the frame at or before T (the
/// CLI's own builder; for the recorder's scenario test, which compares it with the binary's).
pub(crate) fn ls_json_of_frame(frame: &crate::sample::Frame) -> Result<String, String> {
    ls::json_of_frame(frame).map_err(|e| e.to_string())
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

//! Acts from the dashboard: what the [`crate::ui::App`] asks the app loop to do to a container
//! ([`Request`]), how the loop does it with the `control` functions ([`run`], off the UI
//! thread; [`run_enter`] in the foreground with the terminal given back), and what comes back
//! to show in the status line ([`Outcome`]). The App never writes to the host itself.
//! Launching, stopping and removing isotop's own containers are in [`launch`]; acts on a
//! cgroup itself (the Cgroups view) in [`cgroup`]; the limit prompt's options in
//! [`limit_line`].

pub mod cgroup;
pub mod launch;
pub mod limit_line;

use std::time::Duration;

use crate::control::ControlError;
use crate::control::enter::{self, EnterRequest};
use crate::control::freeze;
use crate::control::kill;
use crate::control::limits::journal;
use crate::control::limits::pending;
use crate::control::limits::{self, LimitRequest, RevertAfter};
use crate::host::HostRoot;
use crate::host::scan::ContainerView;
use crate::launch::RunSpec;
use limit_line::LimitLine;
use nix::sys::signal::Signal;

/// How long a TERM is given to end the container before the outcome is reported, seconds.
pub const TERM_GRACE: Duration = Duration::from_secs(3);
/// How long a KILL is given to end every process (they cannot refuse it), seconds.
pub const KILL_WAIT: Duration = Duration::from_secs(5);

/// Which limit an input line edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// CPUs (`0.5`, `50%`, `500m`, `max`).
    Cpu,
    /// Bytes (`256M`, `1.5G`, `max`).
    Memory,
    /// Tasks (`100`, `max`).
    Pids,
    /// Block I/O: options only (`--device-write-bps DEV=RATE` …, `--io-weight N`).
    Io,
}

impl LimitKind {
    /// The word shown in the prompt and messages.
    pub fn label(self) -> &'static str {
        match self {
            LimitKind::Cpu => "CPU limit (CPUs)",
            LimitKind::Memory => "memory limit",
            LimitKind::Pids => "pids limit",
            LimitKind::Io => "I/O limits",
        }
    }

    /// The parse the CLI does for the same text: the value as `--cpus`, `--memory` or
    /// `--pids`, then the options the CLI takes with it ([`LimitLine`]: `for 10m`,
    /// `--period`, `--memory-high`, `--force`; the I/O prompt's `--device-*-bps`,
    /// `--device-*-iops`, `--io-weight`).
    pub fn parse(self, text: &str) -> Result<LimitRequest, ControlError> {
        LimitLine::parse(self, text).map(|(_, request, _)| request)
    }
}

/// The signal a kill sends: TERM first; KILL after the init ignored TERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillSignal {
    Term,
    Kill,
}

impl KillSignal {
    pub fn name(self) -> &'static str {
        match self {
            KillSignal::Term => "TERM",
            KillSignal::Kill => "KILL",
        }
    }
}

/// An act the App asks the app loop to run. Each carries the container as the last frame saw
/// it; the control functions read the kernel files again before writing.
#[derive(Debug, Clone)]
pub enum Request {
    /// Set one limit to `text` (already checked to parse).
    Limit {
        view: Box<ContainerView>,
        kind: LimitKind,
        text: String,
    },
    /// Undo the last limit change (any container's, as `isotop undo`).
    Undo,
    Freeze {
        view: Box<ContainerView>,
        frozen: bool,
    },
    Kill {
        view: Box<ContainerView>,
        signal: KillSignal,
    },
    /// Set one limit of the cgroup `path` itself (the Cgroups view; see
    /// `control::cgroup_target`).
    LimitCgroup {
        path: String,
        kind: LimitKind,
        text: String,
    },
    FreezeCgroup {
        path: String,
        frozen: bool,
    },
    KillCgroup {
        path: String,
        signal: KillSignal,
    },
    /// Run the container's shell in it (the loop suspends the screen meanwhile).
    Enter {
        view: Box<ContainerView>,
    },
    /// Start a container from the `n` form, detached (`spec` already checked).
    Launch {
        spec: Box<RunSpec>,
    },
    /// Stop one of isotop's own containers: TERM, KILL after
    /// [`DEFAULT_STOP_TIMEOUT`](crate::launch::lifecycle::DEFAULT_STOP_TIMEOUT).
    Stop {
        id: String,
        name: String,
    },
    /// Remove one of isotop's own containers, stopping it first when it was `running`.
    Remove {
        id: String,
        name: String,
        running: bool,
    },
}

/// What an act did, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done(String),
    Failed(String),
    /// TERM was sent and the container's init (PID 1 of its pid namespace, which ignores
    /// signals it has no handler for) is still running: KILL is offered.
    InitIgnoredTerm {
        id: String,
        name: String,
    },
    /// TERM was sent to a cgroup and processes are left: KILL is offered (`id` is the
    /// cgroup's `cgroup:/x`).
    SurvivedTerm {
        id: String,
        text: String,
    },
    /// A launch started container `id` (the App selects it once a frame shows it).
    Started {
        id: String,
        name: String,
    },
}

/// Runs a request that does not need the terminal (all but [`Request::Enter`]); blocks, so
/// the loop calls it on a blocking thread.
pub fn run(root: &HostRoot, request: Request) -> Outcome {
    match request {
        Request::Limit { view, kind, text } => run_limit(root, &view, kind, &text),
        Request::Undo => run_undo(root),
        Request::Freeze { view, frozen } => match freeze::set_frozen(root, &view, frozen) {
            Ok(o) => Outcome::Done(format!(
                "{} {}: {} → {}",
                if frozen { "froze" } else { "thawed" },
                o.name,
                o.before,
                o.after
            )),
            Err(e) => Outcome::Failed(e.to_string()),
        },
        Request::Kill { view, signal } => run_kill(root, &view, signal),
        Request::LimitCgroup { path, kind, text } => cgroup::run_limit(root, &path, kind, &text),
        Request::FreezeCgroup { path, frozen } => cgroup::run_freeze(root, &path, frozen),
        Request::KillCgroup { path, signal } => cgroup::run_kill(root, &path, signal),
        Request::Enter { view } => run_enter(root, &view),
        Request::Launch { spec } => launch::run_launch(root, *spec),
        Request::Stop { id, name } => launch::run_stop(root, &id, &name),
        Request::Remove { id, name, running } => launch::run_remove(root, &id, &name, running),
    }
}

fn run_limit(root: &HostRoot, view: &ContainerView, kind: LimitKind, text: &str) -> Outcome {
    let (request, duration) = match LimitLine::parse(kind, text) {
        Ok((_, request, duration)) => (request, duration),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let exe = match worker_exe(duration) {
        Ok(exe) => exe,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let timed = timed(duration, exe.as_deref());
    let result = limits::set_limits_for(root, view, &request, None, timed);
    limit_outcome(root, &view.container.name, result)
}

/// isotop's own binary, which a timed revert's worker runs as (only with a duration).
pub(crate) fn worker_exe(
    duration: Option<Duration>,
) -> Result<Option<std::path::PathBuf>, ControlError> {
    duration
        .map(|_| {
            std::env::current_exe().map_err(|e| {
                ControlError::Other(format!(
                    "cannot find isotop's binary to run the revert worker: {e}: nothing was \
                     changed"
                ))
            })
        })
        .transpose()
}

pub(crate) fn timed<'a>(
    duration: Option<Duration>,
    exe: Option<&'a std::path::Path>,
) -> Option<RevertAfter<'a>> {
    duration
        .zip(exe)
        .map(|(after, worker_exe)| RevertAfter { after, worker_exe })
}

/// The status line of a limit change on `name`: each file old → new, the timed revert (its
/// worker started now if it was not before the write), notes and warnings.
pub(crate) fn limit_outcome(
    root: &HostRoot,
    name: &str,
    result: Result<limits::LimitOutcome, ControlError>,
) -> Outcome {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let files: Vec<String> = outcome
        .change
        .files
        .iter()
        .map(|f| format!("{} {} → {}", file_name(&f.path), f.old, f.now))
        .collect();
    let mut message = format!("{name}: {}", files.join(", "));
    let mut warnings = outcome.warnings.clone();
    match &outcome.pending {
        None => message.push_str("; u undoes"),
        Some(p) => {
            // Normally started before the write; else now (as `isotop limit --for` does).
            let started = match p.worker_pid {
                Some(_) => Ok(None),
                None => std::env::current_exe()
                    .map_err(|e| ControlError::Other(e.to_string()))
                    .and_then(|exe| pending::start_worker(root, p, &exe))
                    .map(Some),
            };
            match started {
                Ok(Some(pending::WorkerStart::Gone)) => message.push_str(&format!(
                    "; the timed revert {} is done already (isotop log)",
                    p.id
                )),
                Ok(_) => message.push_str(&format!(
                    "; reverts by itself at {} (isotop pending)",
                    crate::control::audit::rfc3339(p.due_unix)
                )),
                Err(e) => warnings.push(format!(
                    "the revert worker did not start ({e}): it reverts when isotop next looks \
                     after {} (this dashboard does every few seconds)",
                    crate::control::audit::rfc3339(p.due_unix)
                )),
            }
        }
    }
    for extra in outcome.notes.iter().chain(&warnings) {
        message.push_str(&format!("; {extra}"));
    }
    Outcome::Done(message)
}

fn run_undo(root: &HostRoot) -> Outcome {
    let undone = match journal::undo_last(root) {
        Ok(undone) => undone,
        Err(e) => return Outcome::Failed(format!("undo: {e}")),
    };
    // A timed revert of this change has nothing left to do (as `isotop undo`).
    let mut warnings = undone.warnings.clone();
    if let Ok(Some(_)) = pending::read(root, &undone.change.id)
        && let Err(e) = pending::cancel(root, &undone.change.id)
    {
        warnings.push(format!("pending revert {}: {e}", undone.change.id));
    }
    let files: Vec<String> = undone
        .restored
        .iter()
        .map(|f| format!("{} {} → {}", file_name(&f.path), f.old, f.now))
        .collect();
    let mut message = format!("undid: {}", files.join(", "));
    for extra in undone.notes.iter().chain(&warnings) {
        message.push_str(&format!("; {extra}"));
    }
    Outcome::Done(message)
}

fn run_kill(root: &HostRoot, view: &ContainerView, signal: KillSignal) -> Outcome {
    let (sig, wait) = match signal {
        KillSignal::Term => (Signal::SIGTERM, TERM_GRACE),
        KillSignal::Kill => (Signal::SIGKILL, KILL_WAIT),
    };
    let name = &view.container.name;
    match kill::kill_container(root, view, sig, wait) {
        Ok(o) if o.gone => Outcome::Done(format!(
            "{name} is gone: {} signalled {} process(es)",
            o.signal, o.signalled
        )),
        Ok(o) if o.init_survived && signal == KillSignal::Term => Outcome::InitIgnoredTerm {
            id: view.container.id.clone(),
            name: name.clone(),
        },
        Ok(o) => Outcome::Failed(format!(
            "{name}: {} sent, {} process(es) still running after {:.0} s",
            o.signal,
            o.remaining.len(),
            o.waited_seconds
        )),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Runs the container's default shell in all its namespaces and waits for it. The caller
/// must have given the terminal back first.
pub fn run_enter(root: &HostRoot, view: &ContainerView) -> Outcome {
    match enter::enter(root, view, &EnterRequest::default()) {
        Ok(code) => Outcome::Done(format!(
            "left {}: the shell exited with {code}",
            view.container.name
        )),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

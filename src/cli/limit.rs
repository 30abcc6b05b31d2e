//! `isotop limit TARGET` (a container, or a cgroup path: `/x`, `cgroup:/x`), `isotop undo`, `isotop pending [--cancel ID]` and the hidden
//! `isotop revert-worker ID` that timed reverts run as. Each prints what it changed (file,
//! old → new, read back) or, with `--json`, one document. Refusals and bad input are audited
//! too and exit 2 with nothing written.

use serde::Serialize;

use super::{CliError, LimitArgs, PendingArgs, UndoArgs, print_json, print_text, target};
use crate::control::ControlError;
use crate::control::audit::AuditEntry;
use crate::control::cgroup_target::CgroupTarget;
use crate::control::guard;
use crate::control::limits::journal;
use crate::control::limits::pending::{self, PendingRevert, WorkerStart};
use crate::control::limits::{
    self, FileChange, LimitInput, LimitRequest, RevertAfter, audit_or_warn, value,
};
use crate::host::HostRoot;
use crate::host::cgroup::detect_layout;
use crate::host::scan::{ScanOptions, scan};

/// The `limit --json` document.
#[derive(Debug, Serialize)]
struct LimitReport<'a> {
    target: &'a str,
    id: &'a str,
    changes: &'a [FileChange],
    notes: &'a [String],
    pending: Option<&'a PendingRevert>,
    warnings: &'a [String],
}

pub(crate) fn run(root: &HostRoot, args: &LimitArgs) -> Result<(), CliError> {
    let result = limit(root, args);
    if let Err(err) = &result {
        // Refusals and failures are acts too: the log says who tried what.
        let audited = match target::cgroup_path(&args.target) {
            Ok(Some(path)) => crate::control::cgroup_target::label(&path),
            _ => args.target.clone(),
        };
        let mut entry = AuditEntry::now(&audited, "limit", None, Some(describe_args(args)));
        entry.result = err.to_string();
        let mut warnings = Vec::new();
        audit_or_warn(&entry, &mut warnings);
    }
    result
}

fn describe_args(args: &LimitArgs) -> String {
    let options = [
        ("--cpus", &args.cpus),
        ("--period", &args.period),
        ("--cpu-weight", &args.cpu_weight),
        ("--memory", &args.memory),
        ("--memory-high", &args.memory_high),
        ("--pids", &args.pids),
        ("--io-weight", &args.io_weight),
        ("--for", &args.for_duration),
    ];
    let mut words: Vec<String> = options
        .iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name} {v}")))
        .collect();
    let devices = [
        ("--device-read-bps", &args.device_read_bps),
        ("--device-write-bps", &args.device_write_bps),
        ("--device-read-iops", &args.device_read_iops),
        ("--device-write-iops", &args.device_write_iops),
    ];
    for (name, values) in devices {
        words.extend(values.iter().map(|v| format!("{name} {v}")));
    }
    if args.force {
        words.push("--force".into());
    }
    words.join(" ")
}

fn limit(root: &HostRoot, args: &LimitArgs) -> Result<(), CliError> {
    // All input is checked before the host is looked at: bad input writes nothing.
    let request = LimitRequest::parse(&LimitInput {
        cpus: args.cpus.as_deref(),
        period: args.period.as_deref(),
        cpu_weight: args.cpu_weight.as_deref(),
        memory: args.memory.as_deref(),
        memory_high: args.memory_high.as_deref(),
        pids: args.pids.as_deref(),
        device_read_bps: args.device_read_bps.iter().map(String::as_str).collect(),
        device_write_bps: args.device_write_bps.iter().map(String::as_str).collect(),
        device_read_iops: args.device_read_iops.iter().map(String::as_str).collect(),
        device_write_iops: args.device_write_iops.iter().map(String::as_str).collect(),
        io_weight: args.io_weight.as_deref(),
        force: args.force,
    })
    .map_err(usage)?;
    let duration = args
        .for_duration
        .as_deref()
        .map(value::parse_duration)
        .transpose()?;
    guard::require_root("limit")?;
    // The revert is recorded, and its worker started, before anything is written (see
    // `control::limits::set`).
    let exe = match duration {
        Some(_) => Some(std::env::current_exe().map_err(|e| {
            ControlError::Other(format!(
                "cannot find isotop's binary to run the revert worker: {e}: nothing was changed"
            ))
        })?),
        None => None,
    };
    let timed = duration
        .zip(exe.as_deref())
        .map(|(after, worker_exe)| RevertAfter { after, worker_exe });
    let (heading, outcome) = match target::cgroup_path(&args.target)? {
        Some(path) => {
            let layout = detect_layout(root)?;
            let cgroup = CgroupTarget::resolve(root, &layout, &path)?;
            let outcome = limits::set_cgroup_limits(root, &cgroup, &request, &layout, timed)?;
            (format!("cgroup {path}"), outcome)
        }
        None => {
            let snapshot = scan(root, ScanOptions::TARGETS)?;
            let view = target::resolve(&snapshot.containers, &args.target)?;
            let outcome =
                limits::set_limits_for(root, view, &request, snapshot.layout.as_ref(), timed)?;
            let heading = format!(
                "{} ({})",
                view.container.name,
                super::short_id(&outcome.change.target)
            );
            (heading, outcome)
        }
    };
    let (change, mut notes, mut warnings) = (outcome.change, outcome.notes, outcome.warnings);
    let target = change.target.clone();
    let revert = match outcome.pending {
        Some(recorded) => timed_revert(root, recorded, &mut notes, &mut warnings),
        None => TimedRevert::None,
    };
    let scheduled = match &revert {
        TimedRevert::Pending(p) => Some(p),
        TimedRevert::None | TimedRevert::Gone => None,
    };
    if args.json {
        return print_json(&LimitReport {
            target: &target,
            id: &change.id,
            changes: &change.files,
            notes: &notes,
            pending: scheduled,
            warnings: &warnings,
        });
    }
    let mut text = format!("{heading}:\n");
    text.push_str(&describe_changes(&change.files));
    for note in &notes {
        text.push_str(&format!("note: {note}\n"));
    }
    match &revert {
        TimedRevert::Pending(p) => text.push_str(&format!(
            "reverts by itself at {} (pending id {}; `isotop pending --cancel {}` keeps it)\n",
            crate::control::audit::rfc3339(p.due_unix),
            p.id,
            p.id
        )),
        // The note says what became of it (after a revert, `undo` would undo an older change).
        TimedRevert::Gone => {}
        TimedRevert::None => text.push_str("`isotop undo` restores the previous values\n"),
    }
    for w in &warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    print_text(&text)
}

/// The timed revert of a `limit --for` once its worker was asked to start.
enum TimedRevert {
    /// No `--for`.
    None,
    /// Waiting for its due time: with its worker's pid, or (a warning says so) without one,
    /// for the next isotop run after the due time.
    Pending(PendingRevert),
    /// Not pending any more (a note says why): carried out or cancelled already.
    Gone,
}

/// Starts the worker of `recorded`. A worker that cannot be started leaves the revert to the
/// next isotop run, and a warning says so; a revert gone meanwhile is a note, never a pending
/// revert without a worker.
fn timed_revert(
    root: &HostRoot,
    recorded: PendingRevert,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> TimedRevert {
    let due = crate::control::audit::rfc3339(recorded.due_unix);
    // Started before the change was written (the usual case): report what the file says now.
    if recorded.worker_pid.is_some() {
        match pending::read(root, &recorded.id) {
            Ok(Some(now)) => return TimedRevert::Pending(now),
            Ok(None) => {
                notes.push(format!(
                    "the timed revert {} (due {due}) is no longer pending: it was carried out \
                     or cancelled already (the audit log says which)",
                    recorded.id
                ));
                return TimedRevert::Gone;
            }
            Err(e) => {
                warnings.push(format!("timed revert {}: {e}", recorded.id));
                return TimedRevert::Pending(recorded);
            }
        }
    }
    let started = std::env::current_exe()
        .map_err(|e| ControlError::Other(format!("cannot find isotop's binary: {e}")))
        .and_then(|exe| pending::start_worker(root, &recorded, &exe));
    match started {
        Ok(WorkerStart::Started(pending)) => TimedRevert::Pending(pending),
        Ok(WorkerStart::Gone) => {
            notes.push(format!(
                "the timed revert {} (due {due}) is no longer pending: it came due before its \
                 worker was recorded and another isotop run carried it out, or it was cancelled \
                 meanwhile (the audit log says which)",
                recorded.id
            ));
            TimedRevert::Gone
        }
        Err(e) => {
            warnings.push(format!(
                "the revert worker did not start ({e}): the change reverts when isotop next \
                 runs after {due} (any subcommand, or the dashboard); `isotop undo` restores \
                 the previous values now"
            ));
            TimedRevert::Pending(recorded)
        }
    }
}

/// Errors of the operator's own input keep exit code 2 (`ControlError::is_usage`); a request
/// with nothing to change is one too.
fn usage(err: ControlError) -> CliError {
    match err {
        ControlError::Other(message) => CliError::Usage(message),
        other => CliError::Control(other),
    }
}

fn describe_changes(files: &[FileChange]) -> String {
    let mut text = String::new();
    for f in files {
        let read_back = if f.in_flight {
            "not confirmed: isotop stopped around the write".to_string()
        } else {
            format!("reads back {}", f.now)
        };
        text.push_str(&format!(
            "  {}: {} → {} ({read_back})\n",
            f.path.display(),
            f.old,
            f.written,
        ));
    }
    text
}

pub(crate) fn undo(root: &HostRoot, args: &UndoArgs) -> Result<(), CliError> {
    guard::require_root("undo")?;
    let undone = match journal::undo_last(root) {
        Ok(undone) => undone,
        Err(ControlError::Other(message)) => return Err(CliError::Usage(message)),
        Err(e) => return Err(e.into()),
    };
    // A timed revert of this change has nothing left to do.
    let mut warnings = undone.warnings.clone();
    if let Ok(Some(_)) = pending::read(root, &undone.change.id)
        && let Err(e) = pending::cancel(root, &undone.change.id)
    {
        warnings.push(format!("pending revert {}: {e}", undone.change.id));
    }
    if args.json {
        return print_json(&undone);
    }
    let mut text = format!(
        "undid change {} on {}:\n",
        undone.change.id,
        target::shown(&undone.change.target)
    );
    text.push_str(&describe_changes(&undone.restored));
    for n in &undone.notes {
        text.push_str(&format!("note: {n}\n"));
    }
    for w in &warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    print_text(&text)
}

pub(crate) fn pending(root: &HostRoot, args: &PendingArgs) -> Result<(), CliError> {
    if let Some(id) = &args.cancel {
        guard::require_root("pending --cancel")?;
        let cancelled = pending::cancel(root, id)?;
        if args.json {
            return print_json(&cancelled);
        }
        return print_text(&format!(
            "cancelled the revert of {} on {}: the change stays\n",
            cancelled.id,
            target::shown(&cancelled.target)
        ));
    }
    let list = pending::list(root)?;
    if args.json {
        return print_json(&list);
    }
    if list.is_empty() {
        return print_text("no pending reverts\n");
    }
    let mut text = String::new();
    for p in &list {
        let worker = match p.worker_pid {
            Some(pid) if pending::is_worker(root, pid, &p.id) => format!("worker {pid}"),
            Some(pid) => {
                format!("worker {pid} is gone: the next isotop run after the due time reverts it")
            }
            None => "no worker: the next isotop run after the due time reverts it".to_string(),
        };
        text.push_str(&format!(
            "{}  {}  due {}  {}\n",
            p.id,
            target::shown(&p.target),
            crate::control::audit::rfc3339(p.due_unix),
            worker
        ));
        text.push_str(&describe_changes(&p.files));
    }
    print_text(&text)
}

/// The hidden `revert-worker` subcommand: `--spawn` starts the detached worker; without it,
/// this process is the worker.
pub(crate) fn revert_worker(
    root: &HostRoot,
    id: &str,
    spawn: bool,
    print_pid: bool,
) -> Result<(), CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| ControlError::Other(format!("cannot find isotop's binary: {e}")))?;
    if spawn {
        let pid = pending::spawn_worker_recording(root, id, &exe, !print_pid)?;
        if print_pid && let Some(pid) = pid {
            print_text(&format!("{pid}\n"))?;
        }
        return Ok(());
    }
    Ok(pending::run_worker(root, id)?)
}

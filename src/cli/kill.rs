//! `isotop kill TARGET [--signal NAME] [--timeout S]`: signals every process of a container
//! (or of the cgroup a path names, `/x` or `cgroup:/x`, in every hierarchy that has it) so
//! that none escapes by forking (see `control::kill`), waits up to `--timeout` seconds for the
//! container to end and says whether it did. A container whose init ignored the signal (PID 1
//! of a pid namespace ignores every signal it has no handler for, TERM included) is reported
//! with the command that ends it; that, and any process left, exits 1. Refusals exit 2.

use std::time::Duration;

use super::{CliError, KillArgs, print_json, print_text, target};
use crate::control::ControlError;
use crate::control::cgroup_target::CgroupTarget;
use crate::control::cgroup_target::acts::kill_cgroup_target;
use crate::control::kill::{KillOutcome, kill_container};
use crate::control::signal::parse_signal;
use crate::host::HostRoot;
use crate::host::cgroup::detect_layout;
use crate::host::scan::{ScanOptions, scan};

/// Kills the container `args.target`.
pub(crate) fn run(root: &HostRoot, args: &KillArgs) -> Result<(), CliError> {
    let signal = parse_signal(&args.signal)?;
    if !args.timeout.is_finite() || args.timeout < 0.0 || args.timeout > 86_400.0 {
        return Err(ControlError::InvalidValue {
            what: "--timeout".into(),
            value: args.timeout.to_string(),
            hint: "seconds from 0 to 86400".into(),
        }
        .into());
    }
    crate::control::guard::require_root("kill")?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let outcome = match target::cgroup_path(&args.target)? {
        Some(path) => {
            let layout = detect_layout(root)?;
            let cgroup = CgroupTarget::resolve(root, &layout, &path)?;
            kill_cgroup_target(root, &layout, &cgroup, signal, timeout)?
        }
        None => {
            let snapshot = scan(root, ScanOptions::TARGETS)?;
            let view = target::resolve(&snapshot.containers, &args.target)?;
            kill_container(root, view, signal, timeout)?
        }
    };
    if args.json {
        print_json(&outcome)?;
    } else {
        print_text(&summary(&outcome))?;
    }
    match verdict(&outcome, &args.target) {
        Some(message) => Err(ControlError::Other(message).into()),
        None => Ok(()),
    }
}

fn summary(o: &KillOutcome) -> String {
    let who = super::freeze::heading(&o.name, &o.target);
    let method = match o.method {
        crate::control::kill::KillMethod::CgroupKill => "cgroup.kill".to_string(),
        crate::control::kill::KillMethod::FreezeSignalThaw => {
            format!("freeze, signal, thaw; {} round(s)", o.rounds)
        }
        crate::control::kill::KillMethod::SignalEach => {
            format!("signal each, no freezer; {} round(s)", o.rounds)
        }
        crate::control::kill::KillMethod::Pidfd => "pidfds, no cgroup of its own".to_string(),
    };
    let mut text = format!(
        "{who}: sent {} to {} process(es) ({method})\n",
        o.signal, o.signalled
    );
    if o.gone {
        text.push_str(&format!(
            "{who} is gone: no process left ({:.1} s)\n",
            o.waited_seconds
        ));
    }
    for note in &o.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    if let Some(e) = &o.audit_error {
        text.push_str(&format!("warning: not written to the audit log: {e}\n"));
    }
    text
}

/// The error to exit with when the container did not end.
fn verdict(o: &KillOutcome, target: &str) -> Option<String> {
    if o.gone {
        return None;
    }
    let retry = format!("run `isotop kill {target} --signal KILL`");
    if o.init_survived {
        let pid = o
            .init_pid
            .map(|p| format!(" (host pid {p})"))
            .unwrap_or_default();
        return Some(format!(
            "init ignored {sig}: the container's init{pid} is PID 1 of its pid namespace and \
             ignores every signal it has no handler for; after {secs:.1} s {n} process(es) are \
             still running; {retry}",
            sig = o.signal,
            secs = o.waited_seconds,
            n = o.remaining.len(),
        ));
    }
    let pids: Vec<String> = o.remaining.iter().take(10).map(|p| p.to_string()).collect();
    let next = if o.signal == "KILL" {
        "a process in uninterruptible sleep (state D) ends only when its I/O returns; look again \
         with `isotop ps`"
            .to_string()
    } else {
        retry
    };
    Some(format!(
        "{n} process(es) still running after {sig} and {secs:.1} s (pids {list}); {next}",
        n = o.remaining.len(),
        sig = o.signal,
        secs = o.waited_seconds,
        list = pids.join(", "),
    ))
}

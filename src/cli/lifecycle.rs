//! `isotop stop [-t SECS] TARGET...` and `isotop rm [-f] TARGET...` on isotop's own
//! containers. Each target is handled even when an earlier one failed; every failure is
//! printed, and the last one decides the exit code (2 for the operator's mistakes: unknown
//! target, `rm` of a running container without `-f`; else 1).

use std::time::Duration;

use serde::Serialize;

use super::launch::launch_error;
use super::{CliError, RmArgs, StopArgs, print_json, print_text, short_id};
use crate::host::HostRoot;
use crate::launch::lifecycle::{self, Stopped};

/// Runs `act` on every target; prints all failures but the last, returns the last.
fn each<T>(
    targets: &[String],
    mut act: impl FnMut(&str) -> Result<T, CliError>,
) -> (Vec<T>, Result<(), CliError>) {
    let mut done = Vec::new();
    let mut last = Ok(());
    for target in targets {
        match act(target) {
            Ok(value) => done.push(value),
            Err(e) => {
                if let Err(previous) = std::mem::replace(&mut last, Err(e)) {
                    super::warn(&previous.to_string());
                }
            }
        }
    }
    (done, last)
}

fn describe(stopped: &Stopped, timeout: u64) -> String {
    let how = if stopped.killed {
        format!("killed: it did not exit within {timeout} s of TERM")
    } else {
        "stopped".to_string()
    };
    let code = stopped
        .exit_code
        .map(|c| format!(" (exit code {c})"))
        .unwrap_or_default();
    format!("{} ({}) {how}{code}\n", stopped.name, short_id(&stopped.id))
}

/// `isotop stop`.
pub fn stop(root: &HostRoot, args: &StopArgs) -> Result<(), CliError> {
    let timeout = Duration::from_secs(args.time);
    let (stopped, result) = each(&args.targets, |target| {
        let stopped = lifecycle::stop(root, target, timeout).map_err(launch_error)?;
        if !args.json {
            print_text(&describe(&stopped, args.time))?;
        }
        Ok(stopped)
    });
    if args.json {
        print_json(&stopped)?;
    }
    result
}

#[derive(Debug, Serialize)]
struct Removed {
    id: String,
}

/// `isotop rm`.
pub fn remove(root: &HostRoot, args: &RmArgs) -> Result<(), CliError> {
    let (removed, result) = each(&args.targets, |target| {
        let id = lifecycle::remove(root, target, args.force).map_err(launch_error)?;
        if !args.json {
            print_text(&format!("{id}\n"))?;
        }
        Ok(Removed { id })
    });
    if args.json {
        print_json(&removed)?;
    }
    result
}

//! `isotop enter TARGET [--ns mnt,pid,...] [-- CMD...]`: run a command inside a container like
//! `nsenter -t PID -a` (see `control::enter` for what is entered and in which order).
//!
//! The command runs with the container init's credentials (uids, groups, capabilities,
//! `no_new_privs`); `--privileged` keeps isotop's (every capability), with a warning line.
//!
//! isotop's exit code is the command's (128 + signal when it was killed; 127 when the
//! container has no such program, 126 when it cannot be executed, as a shell). Refusals —
//! not root, the host's PID 1, isotop itself, a target that is unknown, stopped or vanished,
//! a bad `--ns` list — exit 2 with the reason; trouble on the host exits 1.

use super::{CliError, EnterArgs, target};
use crate::control::ControlError;
use crate::control::enter::{EnterRequest, enter, parse_ns_list};
use crate::control::guard::require_root;
use crate::host::HostRoot;
use crate::host::scan::{ScanOptions, scan};

pub(crate) fn run(root: &HostRoot, args: &EnterArgs) -> Result<(), CliError> {
    require_root("enter")?;
    let only = args.ns.as_deref().map(parse_ns_list).transpose()?;
    // The host's PID 1 is refused by name before any lookup: it is no container's process,
    // and "not a process of any container" would hide why.
    if args.target.trim() == "1" {
        return Err(ControlError::Refused {
            target: "pid 1".into(),
            reason: "it is the host's PID 1 (the machine's init): isotop never enters it".into(),
        }
        .into());
    }
    let request = EnterRequest {
        only,
        command: args.command.clone(),
        privileged: args.privileged,
    };
    if args.privileged {
        eprintln!(
            "isotop: warning: --privileged: the command runs with every capability and root's \
             credentials, not the container's; any program of the container it runs (its shell \
             included) can take over the host"
        );
    }
    let snapshot = scan(root, ScanOptions::TARGETS)?;
    let view = target::resolve(&snapshot.containers, &args.target)?;
    match enter(root, view, &request) {
        Ok(0) => Ok(()),
        // The command's own code is isotop's answer; nothing is left to print or flush.
        Ok(code) => std::process::exit(code),
        // Gone between the lookup and the enter: the same answer as a target not found.
        Err(e @ ControlError::Vanished { .. }) => Err(CliError::Usage(e.to_string())),
        Err(ControlError::CommandNotRun { message, code }) => {
            eprintln!("isotop: {}", crate::host::text::clean_lines(&message));
            std::process::exit(code)
        }
        Err(e) => Err(e.into()),
    }
}

//! `isotop run [OPTIONS] [--] [CMD...]` and the hidden `isotop supervise`.
//!
//! `run` builds a [`RunSpec`] from the options (every value checked before anything is made),
//! then either starts the container in the background (`-d`: prints its id, or with `--json`
//! its id, name and init pid) or runs it in the foreground: the container's stdout and stderr
//! go to isotop's own, `-i` forwards stdin, `-t` gives it a terminal, and isotop exits with the
//! container's exit code, like `docker run`. Exit codes of isotop's own: 2 for the operator's
//! mistakes (bad option values, a name in use, not an image), 1 for everything else (not
//! root, the host refused, the container's setup failed).

use serde::Serialize;

use super::{CliError, RunArgs, SuperviseArgs, print_json, print_text, short_id};
use crate::control::ControlError;
use crate::host::HostRoot;
use crate::launch::lifecycle::{self, RunEnd};
use crate::launch::seccomp::SeccompMode;
use crate::launch::spec::{LimitText, NetMode, RunSpec, Volume, parse_env};
use crate::launch::{LaunchError, supervisor};

/// Maps a launch error to the CLI's: the operator's own mistakes exit 2, the rest 1.
pub fn launch_error(error: LaunchError) -> CliError {
    match error {
        LaunchError::Control(e) => CliError::Control(e),
        e if e.is_usage() => CliError::Usage(e.to_string()),
        e => CliError::Control(ControlError::Other(e.to_string())),
    }
}

/// The spec the options describe; the first bad value is the error.
pub fn spec_from(args: RunArgs) -> Result<RunSpec, LaunchError> {
    let env = args
        .env
        .iter()
        .map(|e| parse_env(e))
        .collect::<Result<Vec<_>, _>>()?;
    let volumes = args
        .volumes
        .iter()
        .map(|v| Volume::parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seccomp = SeccompMode::DockerDefault;
    for opt in &args.security_opt {
        match SeccompMode::parse_security_opt(opt) {
            Ok(Some(mode)) => seccomp = mode,
            Ok(None) => {}
            Err(hint) => return Err(LaunchError::invalid("--security-opt", opt, hint)),
        }
    }
    Ok(RunSpec {
        name: args.name,
        image: args.image,
        command: args.command,
        env,
        volumes,
        hostname: args.hostname,
        net: NetMode::parse(&args.net)?,
        limits: Default::default(),
        limit_text: LimitText {
            cpus: args.cpus,
            memory: args.memory,
            pids: args.pids,
        },
        detach: args.detach,
        interactive: args.interactive,
        tty: args.tty,
        remove: args.rm,
        userns: args.userns,
        user: args.user,
        seccomp,
    })
}

#[derive(Debug, Serialize)]
struct StartedJson<'a> {
    id: &'a str,
    name: &'a str,
    pid: i32,
}

/// `isotop run`.
pub fn run(root: &HostRoot, args: RunArgs) -> Result<(), CliError> {
    let json = args.json;
    let spec = spec_from(args).map_err(launch_error)?;
    if spec.seccomp == SeccompMode::Unconfined {
        eprintln!(
            "isotop: warning: seccomp=unconfined: the container runs without Docker's default \
             seccomp filter (every system call its capabilities allow is open to it)"
        );
    }
    // The supervisor is this very binary: /proc/self/exe, even if the file was replaced.
    let exe = HostRoot::live().self_dir().join("exe");
    if spec.detach {
        let started = lifecycle::run_detached(root, spec, &exe).map_err(launch_error)?;
        return if json {
            print_json(&StartedJson {
                id: &started.id,
                name: &started.name,
                pid: started.pid,
            })
        } else {
            print_text(&format!("{}\n", started.id))
        };
    }
    let (started, end) = lifecycle::run_attached(root, spec, &exe).map_err(launch_error)?;
    match end {
        RunEnd::Exited(0) => Ok(()),
        // The container's own code is isotop's answer; everything is flushed already.
        RunEnd::Exited(code) => std::process::exit(code),
        RunEnd::Detached => {
            eprintln!(
                "isotop: detached from {name} ({id}); it runs on: `isotop logs -f {name}`, \
                 `isotop stop {name}`",
                name = started.name,
                id = short_id(&started.id)
            );
            Ok(())
        }
    }
}

/// `isotop supervise ID` (started by `run`, not by operators).
pub fn supervise(root: &HostRoot, args: &SuperviseArgs) -> Result<(), CliError> {
    match supervisor::supervise(root, &args.id, args.ready_fd, args.attach_fd) {
        0 => Ok(()),
        code => std::process::exit(code),
    }
}

//! The acts on isotop's own containers: `run` (detached or attached), `stop` and `rm`. The
//! CLI and the dashboard call these; each appends one line to the audit log.
//!
//! Contract:
//! - [`run_detached`]: [`prepare`](prepare::prepare) (root, checks, id, name claim, image,
//!   data dirs, `config.json`, record `created`), then the supervisor ([`spawn`]); returns
//!   once the command runs, or with the error and NOTHING left (record, name, data dir,
//!   cgroups, mount, veth).
//! - [`run_attached`]: the same with an attach socket; relays the container's streams to the
//!   caller's terminal and returns its exit code once the supervisor has cleaned up.
//! - [`stop`]: TERM to the init through a pidfd, KILL after the timeout; returns once the
//!   supervisor has recorded the exit and released the container's runtime.
//! - [`remove`]: refuses a running container unless forced (then kills it), releases the
//!   runtime and deletes the files; finishes off half-removed containers; idempotent.
//!
//! Pids from records are never trusted alone: a pidfd is opened and the process is checked to
//! be the container's (its cgroup) or its supervisor (its command line) before any signal.

pub mod bounds;
pub mod config;
pub mod prepare;
pub mod teardown;

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::attach::client::{self, ClientEnd, ClientOptions};
use super::error::LaunchError;
use super::spec::RunSpec;
use super::store::{self, ContainerPaths, ContainerRecord, Status};
use super::supervisor::spawn::{SupervisorProcess, spawn};
use crate::control::audit::{self, AuditEntry};
use crate::control::signal::{PidFd, wait_exited};
use crate::host::{HostRoot, read_optional};
use prepare::{Prepared, prepare};
use teardown::{Runtime, release_runtime, remove_files};

/// How long `stop` waits after TERM before it sends KILL, as Docker's: `isotop stop`'s default
/// (`-t` overrides it) and the dashboard's `x`.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the killed init gets to go, and the supervisor to clean up after it.
const KILL_WAIT: Duration = Duration::from_secs(10);
const SUPERVISOR_WAIT: Duration = Duration::from_secs(30);

/// A container that has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id: String,
    pub name: String,
    /// Its init, as a host pid.
    pub pid: i32,
}

/// How an attached run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// The command's exit code (128 + signal number when it was killed).
    Exited(i32),
    /// The operator detached (Ctrl-C three times): the container runs on.
    Detached,
}

fn audit_act(id: &str, what: &str, new: Option<String>, result: &Result<(), String>) {
    let mut entry = AuditEntry::now(id, what, None, new);
    if let Err(e) = result {
        entry.result = e.clone();
    }
    // The act happened (or failed) either way; a log that cannot be written does not undo it.
    let _ = audit::append(&entry);
}

/// Starts the supervisor and waits for its report; on failure removes everything.
fn start(
    host: &HostRoot,
    prepared: &Prepared,
    exe: &Path,
    attach: Option<&OwnedFd>,
) -> Result<(i32, SupervisorProcess), LaunchError> {
    let id = &prepared.config.id;
    let result = spawn(host, exe, id, attach).and_then(|mut supervisor| {
        let pid = supervisor.wait_ready()?;
        Ok((pid, supervisor))
    });
    let command = Some(prepared.config.argv.join(" "));
    match result {
        Ok(started) => {
            audit_act(id, "run", command, &Ok(()));
            Ok(started)
        }
        Err(e) => {
            audit_act(id, "run", command, &Err(e.to_string()));
            // The supervisor undid its steps; a supervisor that died mid-way did not.
            let record = &prepared.record;
            let _ = release_runtime(
                host,
                Runtime {
                    id,
                    net: record.net,
                    host_veth: None,
                },
            );
            let _ = remove_files(host, id);
            Err(e)
        }
    }
}

/// Reaps the supervisor when it ends, without holding up the caller (the dashboard runs on).
fn reap_later(mut supervisor: SupervisorProcess) {
    std::thread::spawn(move || {
        let _ = supervisor.child.wait();
    });
}

/// Prepares the image, records the container and starts its supervisor (`exe supervise`);
/// returns once the command runs, or with the setup error and nothing left behind.
pub fn run_detached(host: &HostRoot, spec: RunSpec, exe: &Path) -> Result<Started, LaunchError> {
    let prepared = prepare(host, spec)?;
    let (pid, supervisor) = start(host, &prepared, exe, None)?;
    reap_later(supervisor);
    Ok(Started {
        id: prepared.config.id.clone(),
        name: prepared.config.name.clone(),
        pid,
    })
}

/// Runs in the foreground: like [`run_detached`], then relays the container's stdout and
/// stderr to this process's, its stdin with `-i`, a terminal with `-t`, until it exits.
pub fn run_attached(
    host: &HostRoot,
    spec: RunSpec,
    exe: &Path,
) -> Result<(Started, RunEnd), LaunchError> {
    let options = ClientOptions {
        interactive: spec.interactive,
        tty: spec.tty,
    };
    let prepared = prepare(host, spec)?;
    let socket_error = |e| LaunchError::io("create", Path::new("attach socketpair"), e);
    let (mut ours, theirs) = UnixStream::pair().map_err(socket_error)?;
    for frame in client::initial_frames(options) {
        frame.send(&mut ours).map_err(socket_error)?;
    }
    let theirs = OwnedFd::from(theirs);
    let (pid, mut supervisor) = start(host, &prepared, exe, Some(&theirs))?;
    drop(theirs);
    let started = Started {
        id: prepared.config.id.clone(),
        name: prepared.config.name.clone(),
        pid,
    };
    let end = client::run(ours, options)?;
    let end = match end {
        ClientEnd::Exited(code) => {
            let _ = supervisor.child.wait();
            RunEnd::Exited(code)
        }
        ClientEnd::Detached => {
            reap_later(supervisor);
            RunEnd::Detached
        }
        ClientEnd::Closed => {
            let _ = supervisor.child.wait();
            let recorded = store::read_record(host, &started.id)
                .ok()
                .flatten()
                .and_then(|r| r.exit_code);
            match recorded {
                Some(code) => RunEnd::Exited(code),
                None => {
                    return Err(LaunchError::Tool {
                        what: format!("the supervisor of {}", started.name),
                        detail: format!(
                            "it ended without reporting an exit code; see {}",
                            super::supervisor::spawn::log_path(host, &started.id).display()
                        ),
                    });
                }
            }
        }
    };
    Ok((started, end))
}

fn require_root(what: &str) -> Result<(), LaunchError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(LaunchError::NeedsRoot { what: what.into() })
    }
}

/// A pidfd on the container's init, if it still runs and is still the container's (its
/// cgroup is `/isotop/<id>` or below).
fn open_init(host: &HostRoot, record: &ContainerRecord) -> Result<Option<PidFd>, LaunchError> {
    let Some(pid) = record.pid else {
        return Ok(None);
    };
    let Some(fd) = PidFd::open(pid)? else {
        return Ok(None);
    };
    let text = read_optional(&host.pid_dir(pid).join("cgroup"))
        .map_err(crate::control::ControlError::from)?
        .unwrap_or_default();
    let ours = text.lines().any(|line| {
        line.splitn(3, ':').nth(2).is_some_and(|path| {
            path == record.cgroup_path || path.starts_with(&format!("{}/", record.cgroup_path))
        })
    });
    Ok((ours && !fd.has_exited()?).then_some(fd))
}

/// A pidfd on the container's supervisor, if it still runs (its command line names it).
fn open_supervisor(
    host: &HostRoot,
    record: &ContainerRecord,
) -> Result<Option<PidFd>, LaunchError> {
    let Some(pid) = record.supervisor_pid else {
        return Ok(None);
    };
    let Some(fd) = PidFd::open(pid)? else {
        return Ok(None);
    };
    let cmdline = std::fs::read(host.pid_dir(pid).join("cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let ours = args.contains(&b"supervise".as_slice()) && args.contains(&record.id.as_bytes());
    Ok((ours && !fd.has_exited()?).then_some(fd))
}

/// Waits for the supervisor to finish; when it is gone without recording the end (killed),
/// records it and releases the runtime in its place.
fn finish_supervisor(
    host: &HostRoot,
    id: &str,
    supervisor: Option<PidFd>,
) -> Result<(), LaunchError> {
    if let Some(fd) = supervisor {
        wait_exited(std::slice::from_ref(&fd), SUPERVISOR_WAIT)?;
    }
    let Some(mut record) = store::read_record(host, id)? else {
        return Ok(()); // --rm: it removed everything
    };
    if open_supervisor(host, &record)?.is_some() {
        return Err(LaunchError::WrongState {
            id: short(id),
            why: "its supervisor is still cleaning up; try again in a moment".into(),
        });
    }
    if matches!(record.status, Status::Created | Status::Running) {
        record.status = Status::Exited;
        record.finished_ms = Some(crate::units::now_ms());
        record.stop_requested = store::stop_was_requested(host, id);
        store::write_record(host, &record)?;
    }
    release_runtime(host, runtime_of(&record))
}

fn runtime_of(record: &ContainerRecord) -> Runtime<'_> {
    Runtime {
        id: &record.id,
        net: record.net,
        host_veth: record.host_veth.as_deref(),
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// How a stop went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stopped {
    pub id: String,
    pub name: String,
    /// True when TERM was not enough and KILL was sent.
    pub killed: bool,
    pub exit_code: Option<i32>,
}

/// TERM to the container's init, KILL after `timeout`; waits for the supervisor to record it.
pub fn stop(host: &HostRoot, target: &str, timeout: Duration) -> Result<Stopped, LaunchError> {
    require_root("isotop stop")?;
    let record = store::resolve(host, target)?;
    let supervisor = open_supervisor(host, &record)?;
    let init = open_init(host, &record)?;
    if init.is_none() && record.status == Status::Created && supervisor.is_some() {
        return Err(LaunchError::WrongState {
            id: short(&record.id),
            why: "it is still starting; try again in a moment".into(),
        });
    }
    let mut killed = false;
    let result = (|| {
        if let Some(init) = &init {
            store::request_stop(host, &record.id)?;
            init.send(Signal::SIGTERM)?;
            if !wait_exited(std::slice::from_ref(init), timeout)?.is_empty() {
                killed = init.send(Signal::SIGKILL)?;
                wait_exited(std::slice::from_ref(init), KILL_WAIT)?;
            }
        }
        finish_supervisor(host, &record.id, supervisor)
    })();
    let signal = if killed { "KILL" } else { "TERM" };
    audit_act(
        &record.id,
        "stop",
        init.as_ref().map(|_| signal.to_string()),
        &result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
    );
    result?;
    let exit_code = store::read_record(host, &record.id)?
        .and_then(|r| r.exit_code)
        .or(record.exit_code);
    Ok(Stopped {
        id: record.id,
        name: record.name,
        killed,
        exit_code,
    })
}

/// Removes a stopped container (a running one only with `force`, which kills it first):
/// unmounts, deletes the writable layer, the cgroups, the veth, the record and the name.
pub fn remove(host: &HostRoot, target: &str, force: bool) -> Result<String, LaunchError> {
    require_root("isotop rm")?;
    let record = match store::resolve(host, target) {
        Ok(record) => record,
        // No record: a removal cut short, or a failed start; finish it by full id.
        Err(LaunchError::NoSuchContainer { .. })
            if crate::units::ContainerId::is_valid(target) && leftovers(host, target)? =>
        {
            let result = release_runtime(
                host,
                Runtime {
                    id: target,
                    net: super::spec::NetMode::None,
                    host_veth: None,
                },
            )
            .and_then(|()| remove_files(host, target));
            audit_act(
                target,
                "rm",
                None,
                &result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
            );
            return result.map(|()| target.to_string());
        }
        Err(e) => return Err(e),
    };
    let id = record.id.clone();
    let supervisor = open_supervisor(host, &record)?;
    let init = open_init(host, &record)?;
    let running = init.is_some() || (record.status == Status::Created && supervisor.is_some());
    if running && !force {
        return Err(LaunchError::WrongState {
            id: format!("{} ({})", record.name, short(&id)),
            why: format!(
                "it is running: `isotop stop {0}` first, or `isotop rm --force {0}`",
                record.name
            ),
        });
    }
    let result = (|| {
        if let Some(init) = &init {
            store::request_stop(host, &id)?;
            init.send(Signal::SIGKILL)?;
            wait_exited(std::slice::from_ref(init), KILL_WAIT)?;
        } else if let (true, Some(sup)) = (running, &supervisor) {
            // Still starting: TERM makes the supervisor abort the start and undo it.
            sup.send(Signal::SIGTERM)?;
        }
        finish_supervisor(host, &id, supervisor)?;
        // A supervisor may have released it already: every step is idempotent.
        release_runtime(host, runtime_of(&record))?;
        remove_files(host, &id)
    })();
    audit_act(
        &id,
        "rm",
        force.then(|| "force".to_string()),
        &result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
    );
    result.map(|()| id)
}

/// True when anything of container `id` is left on the host besides a record.
fn leftovers(host: &HostRoot, id: &str) -> Result<bool, LaunchError> {
    let paths = ContainerPaths::new(host, id);
    Ok(paths.data_dir.exists()
        || paths.run_dir.exists()
        || !super::cgroup::existing_dirs(host, id)?.is_empty())
}

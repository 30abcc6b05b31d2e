//! The per-container supervisor: `isotop supervise <id> [--ready-fd N] [--attach-fd N]`, a
//! hidden subcommand started by `run` ([`spawn`]). It keeps the container independent of the
//! terminal, CLI or dashboard that started it.
//!
//! Contract, in order:
//! 1. Blocks SIGTERM/SIGINT/SIGHUP ([`signals`]): they abort the start, later they are
//!    forwarded to the container's init.
//! 2. Reads `config.json` and the record; runs the start sequence ([`setup`]). On failure
//!    every step is undone, the record says `failed` with the error, and the ready pipe gets
//!    `error ...`; the caller removes the rest.
//! 3. Records `running`, the init's pid, its own pid and the start time; reports
//!    `ready <pid>`.
//! 4. Relays output to `container.log` (and the attached CLI) until the init exits
//!    ([`relay`]); reaps it and records `exited`, the exit code (128 + signal number when
//!    killed) and the time.
//! 5. Detaches the network, removes the cgroups, unmounts the rootfs (the writable layer and
//!    the log stay for `logs` and `rm`); with `--rm` removes everything.
//! 6. Sends the exit code to the attached CLI, last, so a foreground `run --rm` returns once
//!    nothing is left.
//!
//! It is single-threaded throughout (the container is cloned from it) and uses no tokio.

pub mod relay;
pub mod setup;
pub mod signals;
pub mod spawn;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::attach::terminal::DEFAULT_SIZE;
use super::attach::{FrameReader, Kind};
use super::error::LaunchError;
use super::lifecycle::config::LaunchConfig;
use super::lifecycle::teardown::{Runtime, release_runtime, remove_files};
use super::logs::LogWriter;
use super::store::{self, ContainerPaths, ContainerRecord, Status, write_record};
use crate::control::signal::PidFd;
use crate::host::HostRoot;
use crate::units::now_ms;
use relay::Relay;
use signals::Signals;

/// How long the supervisor waits for the CLI's window size before opening the pty.
const SIZE_TIMEOUT: Duration = Duration::from_secs(2);

/// Takes ownership of an fd number passed on the command line, after checking it is open;
/// marks it close-on-exec so the container never inherits it.
fn adopt_fd(fd: RawFd) -> Result<OwnedFd, LaunchError> {
    if fd < 3 {
        return Err(LaunchError::invalid(
            "--ready-fd/--attach-fd",
            &fd.to_string(),
            "an inherited descriptor above 2",
        ));
    }
    // Passed to this process for it alone by its spawner (`spawn`); adopted once, here.
    let owned = crate::sys::fd::adopt_inherited(fd)
        .map_err(|e| LaunchError::kernel(format!("fd {fd}"), e))?;
    fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| LaunchError::kernel("fcntl(FD_CLOEXEC)", e))?;
    Ok(owned)
}

/// The supervisor's main: returns the process exit code (0 when the container ran, whatever
/// its own exit code; 1 when it could not be started).
pub fn supervise(
    host: &HostRoot,
    id: &str,
    ready_fd: Option<RawFd>,
    attach_fd: Option<RawFd>,
) -> i32 {
    let mut ready = match ready_fd.map(adopt_fd).transpose() {
        Ok(fd) => fd.map(File::from),
        Err(e) => {
            eprintln!("isotop supervise: {e}");
            return 1;
        }
    };
    let attach = match attach_fd.map(adopt_fd).transpose() {
        Ok(fd) => fd.map(UnixStream::from),
        Err(e) => {
            report(&mut ready, Err(&e));
            return 1;
        }
    };
    match run(host, id, &mut ready, attach) {
        Ok(()) => 0,
        Err(e) => {
            report(&mut ready, Err(&e));
            eprintln!("isotop supervise {id}: {e}");
            1
        }
    }
}

/// Writes the ready line once (later reports find the pipe gone).
fn report(ready: &mut Option<File>, result: Result<i32, &LaunchError>) {
    if let Some(mut pipe) = ready.take() {
        let _ = pipe.write_all(spawn::ready_line(result).as_bytes());
    }
}

/// Reads the CLI's first frame, the window size (`-t`), with a bounded wait.
fn initial_size(attach: Option<&UnixStream>) -> (u16, u16) {
    let Some(mut socket) = attach else {
        return DEFAULT_SIZE;
    };
    let _ = socket.set_read_timeout(Some(SIZE_TIMEOUT));
    let mut header = [0u8; 9];
    let size = socket
        .read_exact(&mut header)
        .ok()
        .and_then(|()| FrameReader::default().push(&header).ok())
        .and_then(|frames| frames.into_iter().next())
        .filter(|frame| frame.kind == Kind::Winsize)
        .and_then(|frame| frame.size());
    let _ = socket.set_read_timeout(None);
    size.unwrap_or(DEFAULT_SIZE)
}

fn run(
    host: &HostRoot,
    id: &str,
    ready: &mut Option<File>,
    attach: Option<UnixStream>,
) -> Result<(), LaunchError> {
    if !crate::units::ContainerId::is_valid(id) {
        return Err(LaunchError::invalid("container id", id, "64 hex digits"));
    }
    let signals = Signals::block()?;
    let paths = ContainerPaths::new(host, id);
    let config = LaunchConfig::read(&paths.config)?;
    let mut record = store::read_record(host, id)?
        .ok_or_else(|| LaunchError::NoSuchContainer { target: id.into() })?;
    record.supervisor_pid = Some(std::process::id() as i32);
    let size = if config.spec.tty {
        initial_size(attach.as_ref())
    } else {
        DEFAULT_SIZE
    };
    let log = LogWriter::open(&paths.log)?;
    let running = match setup::start(host, &config, size, &signals) {
        Ok(running) => running,
        Err(e) => {
            record.status = Status::Failed;
            record.error = Some(e.to_string());
            let _ = write_record(host, &record);
            return Err(e);
        }
    };
    let pid = running.pid;
    record.status = Status::Running;
    record.pid = Some(pid);
    record.started_ms = Some(now_ms());
    if let Some(a) = &running.attachment {
        record.address = Some(a.address.clone());
        record.host_veth = Some(a.host_veth.clone());
    }
    let init = PidFd::open(pid)
        .map_err(LaunchError::from)
        .and_then(|fd| fd.ok_or_else(|| LaunchError::Setup("the command exited at once".into())));
    let started = init.and_then(|init| write_record(host, &record).map(|()| init));
    let init = match started {
        Ok(init) => init,
        Err(e) => {
            // Unrecorded containers are not left running.
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            let _ = release_runtime(host, runtime_of(&record));
            record.status = Status::Failed;
            record.error = Some(e.to_string());
            let _ = write_record(host, &record);
            return Err(e);
        }
    };
    report(ready, Ok(pid));
    let mut relay = Relay::new(running.io, log, attach);
    relay.run(&signals, &init);
    let (code, signal) = exit_status(pid);
    record.status = Status::Exited;
    record.exit_code = code;
    record.exit_signal = signal;
    record.finished_ms = Some(now_ms());
    record.stop_requested = store::stop_was_requested(host, id);
    if let Err(e) = write_record(host, &record) {
        eprintln!("isotop supervise {id}: recording the exit: {e}");
    }
    if let Err(e) = release_runtime(host, runtime_of(&record)) {
        eprintln!("isotop supervise {id}: clean-up: {e}");
    }
    if record.remove_on_exit
        && let Err(e) = remove_files(host, id)
    {
        eprintln!("isotop supervise {id}: --rm: {e}");
    }
    relay.send(&super::attach::Frame::exit(code.unwrap_or(1)));
    Ok(())
}

fn runtime_of(record: &ContainerRecord) -> Runtime<'_> {
    Runtime {
        id: &record.id,
        net: record.net,
        host_veth: record.host_veth.as_deref(),
    }
}

/// Reaps the init: (exit code, signal), the code being 128 + the signal when it was killed.
fn exit_status(pid: i32) -> (Option<i32>, Option<i32>) {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return (Some(code), None),
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                let number = signal as i32;
                return (Some(128 + number), Some(number));
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return (None, None),
        }
    }
}

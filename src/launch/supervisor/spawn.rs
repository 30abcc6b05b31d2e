//! Starting a supervisor from `run` (the CLI or the dashboard): `exe [--root DIR] supervise
//! <id> --ready-fd N [--attach-fd M]` through `std::process::Command` — an exec of isotop's own
//! binary, never a bare fork of a possibly multi-threaded caller — in a session of its own
//! (no terminal signals reach it), stdin `/dev/null`, stdout and stderr appended to
//! `<data dir>/supervisor.log`.
//!
//! The ready pipe carries one line back: `ready <pid>` once the command runs, or
//! `error setup <message>` (the container's own setup failed), `error invalid <JSON of
//! option, value, hint>` (the operator's input was refused at start, e.g. a `--user` the image
//! does not have: the caller exits 2 as for any invalid option) / `error other <message>`. A
//! supervisor that dies without a line closes the pipe; the caller then reads why from
//! `supervisor.log`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::fcntl::OFlag;

use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::store::ContainerPaths;

/// The supervisor's log file inside the container's data dir.
pub fn log_path(host: &HostRoot, id: &str) -> PathBuf {
    ContainerPaths::new(host, id)
        .data_dir
        .join("supervisor.log")
}

/// A supervisor that has been started and has not reported yet.
#[derive(Debug)]
pub struct SupervisorProcess {
    pub child: Child,
    ready: BufReader<File>,
    log: PathBuf,
}

/// The line a supervisor reports on its ready pipe.
pub fn ready_line(result: Result<i32, &LaunchError>) -> String {
    match result {
        Ok(pid) => format!("ready {pid}\n"),
        Err(LaunchError::Setup(message)) => format!("error setup {}\n", one_line(message)),
        Err(LaunchError::Invalid {
            option,
            value,
            hint,
        }) => {
            // JSON escapes newlines: one line, read back exactly.
            let fields = serde_json::json!([option, value, hint]);
            format!("error invalid {fields}\n")
        }
        Err(other) => format!("error other {}\n", one_line(&other.to_string())),
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// Parses a ready line back (see [`ready_line`]).
pub fn parse_ready_line(line: &str) -> Option<Result<i32, LaunchError>> {
    let line = line.trim_end_matches('\n');
    if let Some(pid) = line.strip_prefix("ready ") {
        return pid.trim().parse().ok().map(Ok);
    }
    if let Some(message) = line.strip_prefix("error setup ") {
        return Some(Err(LaunchError::Setup(message.into())));
    }
    if let Some(fields) = line.strip_prefix("error invalid ") {
        if let Ok([option, value, hint]) = serde_json::from_str::<[String; 3]>(fields) {
            return Some(Err(LaunchError::Invalid {
                option,
                value,
                hint,
            }));
        }
        return Some(Err(LaunchError::Tool {
            what: "starting the container".into(),
            detail: fields.into(),
        }));
    }
    line.strip_prefix("error other ").map(|message| {
        Err(LaunchError::Tool {
            what: "starting the container".into(),
            detail: message.into(),
        })
    })
}

/// Starts the supervisor of container `id` (its data dir must exist).
pub fn spawn(
    host: &HostRoot,
    exe: &Path,
    id: &str,
    attach: Option<&OwnedFd>,
) -> Result<SupervisorProcess, LaunchError> {
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| LaunchError::kernel("pipe2 (ready pipe)", e))?;
    let log = log_path(host, id);
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| LaunchError::io("open", &log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| LaunchError::io("open", &log, e))?;
    let mut cmd = Command::new(exe);
    if host.prefix != Path::new("/") {
        cmd.arg("--root").arg(&host.prefix);
    }
    let ready_fd = ready_w.as_raw_fd();
    let attach_fd = attach.map(|fd| fd.as_raw_fd());
    cmd.arg("supervise")
        .arg(id)
        .arg("--ready-fd")
        .arg(ready_fd.to_string());
    if let Some(fd) = attach_fd {
        cmd.arg("--attach-fd").arg(fd.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (setsid, close_range, fcntl) on fds that are open in the
    // child (they are open in the parent, which keeps them until after spawn returns).
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid()?;
            // Whatever the caller inherited (a terminal multiplexer's pipes, a CI runner's
            // sockets) must not reach the supervisor, and through it the container.
            close_inherited_on_exec();
            for fd in std::iter::once(ready_fd).chain(attach_fd) {
                // Keep these two across exec (they were made close-on-exec so no other child
                // of a multi-threaded caller inherits them).
                if nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| LaunchError::io("start the supervisor", exe, e))?;
    // Only the supervisor holds the write end now: its exit closes the pipe.
    drop(ready_w);
    Ok(SupervisorProcess {
        child,
        ready: BufReader::new(File::from(ready_r)),
        log,
    })
}

/// Marks every descriptor above 2 close-on-exec (`close_range`, Linux 5.11; older kernels get
/// a loop over the first 4096 numbers). Async-signal-safe: it runs between fork and exec.
fn close_inherited_on_exec() {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on open descriptors of
    // this process; it reads and writes no memory of ours.
    let done = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            3u32,
            u32::MAX,
            nix::libc::CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if !done {
        for fd in 3..4096 {
            // SAFETY: F_SETFD on a number that is not open fails with EBADF, nothing else.
            unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, nix::libc::FD_CLOEXEC) };
        }
    }
}

impl SupervisorProcess {
    /// Waits for the supervisor's report: the container's init pid, or why it did not start.
    pub fn wait_ready(&mut self) -> Result<i32, LaunchError> {
        let mut line = String::new();
        let read = self.ready.read_line(&mut line);
        if let Ok(n) = read
            && n > 0
            && let Some(result) = parse_ready_line(&line)
        {
            return result;
        }
        // No report: the supervisor died. Reap it and say what it left in its log.
        let status = self.child.wait().ok();
        let last = std::fs::read_to_string(&self.log)
            .ok()
            .and_then(|text| {
                text.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(String::from)
            })
            .map(|l| crate::host::text::clean_str(&l))
            .unwrap_or_else(|| "(its log is empty)".into());
        Err(LaunchError::Tool {
            what: "the container's supervisor".into(),
            detail: format!(
                "it ended ({}) without starting the container: {last}",
                status.map_or_else(|| "status unknown".into(), |s| s.to_string())
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines_round_trip() {
        assert_eq!(ready_line(Ok(42)), "ready 42\n");
        assert!(matches!(parse_ready_line("ready 42\n"), Some(Ok(42))));
        let setup = LaunchError::Setup("exec /x: No such file\nor directory".into());
        let line = ready_line(Err(&setup));
        assert_eq!(line.matches('\n').count(), 1);
        match parse_ready_line(&line) {
            Some(Err(LaunchError::Setup(m))) => assert_eq!(m, "exec /x: No such file or directory"),
            other => panic!("{other:?}"),
        }
        let invalid = LaunchError::invalid("--user", "no\nbody", "no user \"nobody\"");
        let line = ready_line(Err(&invalid));
        assert_eq!(line.matches('\n').count(), 1);
        match parse_ready_line(&line) {
            Some(Err(e @ LaunchError::Invalid { .. })) => {
                assert_eq!(e.to_string(), invalid.to_string());
                assert!(e.is_usage());
            }
            other => panic!("{other:?}"),
        }
        let other = LaunchError::Tool {
            what: "ip".into(),
            detail: "too small".into(),
        };
        match parse_ready_line(&ready_line(Err(&other))) {
            Some(Err(LaunchError::Tool { detail, .. })) => assert!(detail.contains("too small")),
            other => panic!("{other:?}"),
        }
        assert!(parse_ready_line("garbage").is_none());
    }
}

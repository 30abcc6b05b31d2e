//! The container process between clone and exec.
//!
//! Contract: it runs on a copy of the parent's memory, possibly cloned from a process with
//! other threads whose locks it copied held, so it only makes system calls on what the
//! [`Plan`] prepared — no allocation, no locks, no panics, and no glibc wrapper that talks to
//! other threads (credentials go through raw syscalls, see [`credentials`]). It waits for
//! the release byte, then: credentials (user namespace), a new session keyring, cgroup
//! namespace, hostname, `lo` up, mounts and `pivot_root` (see [`super::mounts`]), working
//! directory, stdio, session, bounding set, `no_new_privs`, the user's ids, capabilities, the
//! seccomp filter (last: it refuses much of the above), exec. A step that fails reports one
//! [`Failure`] by `sys::child`'s protocol and exits 127; a successful exec closes the pipe
//! empty.

use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::sched::CloneFlags;

use super::caps::docker_cap_mask;
use super::plan::Plan;
use crate::sys::child::{Report, Reporter};
use crate::sys::process::{ArgVector, execve, exit_now};
use crate::sys::{capability, credentials, fd, net, signal};

/// Which step failed; the first word of a failure record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(super) enum Step {
    Signals = 1,
    Release,
    Credentials,
    Keyring,
    CgroupNs,
    Hostname,
    Loopback,
    Propagation,
    RootBind,
    RootOpen,
    MountResolve,
    MountAttach,
    MountReadOnly,
    Pivot,
    Cwd,
    Stdio,
    Session,
    Terminal,
    Bounding,
    NoNewPrivs,
    User,
    Capabilities,
    Seccomp,
    Exec,
}

impl Step {
    pub(super) const ALL: [Step; 24] = [
        Step::Signals,
        Step::Release,
        Step::Credentials,
        Step::Keyring,
        Step::CgroupNs,
        Step::Hostname,
        Step::Loopback,
        Step::Propagation,
        Step::RootBind,
        Step::RootOpen,
        Step::MountResolve,
        Step::MountAttach,
        Step::MountReadOnly,
        Step::Pivot,
        Step::Cwd,
        Step::Stdio,
        Step::Session,
        Step::Terminal,
        Step::Bounding,
        Step::NoNewPrivs,
        Step::User,
        Step::Capabilities,
        Step::Seccomp,
        Step::Exec,
    ];

    pub(super) fn from_u32(n: u32) -> Option<Step> {
        Step::ALL.into_iter().find(|s| *s as u32 == n)
    }
}

/// A failed step: which, on which item (mount step or exec candidate), with which errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Failure {
    pub step: Step,
    pub index: u32,
    pub errno: Errno,
}

impl Failure {
    /// The record this failure is sent as.
    fn report(self) -> Report {
        Report {
            step: self.step as u32,
            index: self.index,
            errno: self.errno,
        }
    }

    /// `None` for a record with an unknown step (never written by this code).
    pub(super) fn from_report(report: Report) -> Option<Failure> {
        Some(Failure {
            step: Step::from_u32(report.step)?,
            index: report.index,
            errno: report.errno,
        })
    }
}

/// The descriptors the child works with, as numbers valid in its copy of the fd table.
pub(super) struct ChildFds {
    pub release_read: RawFd,
    pub release_write: RawFd,
    pub stdio: [RawFd; 3],
}

/// Argument and environment vectors for execve: pointers into the plan's C strings,
/// NULL-terminated, built by the parent.
pub(super) struct ExecVectors<'a> {
    pub argv: ArgVector<'a>,
    pub envp: ArgVector<'a>,
}

type StepResult = Result<(), (Step, u32, Errno)>;

/// The child's whole life: never returns.
pub(super) fn run(plan: &Plan, vectors: &ExecVectors<'_>, fds: &ChildFds, reporter: Reporter) -> ! {
    // The parent's end: only the parent may hold it, so its exit or abort is seen here.
    fd::close(fds.release_write);
    let failure = match setup(plan, fds) {
        Ok(()) => exec(plan, vectors),
        Err((step, index, errno)) => Failure { step, index, errno },
    };
    reporter.fail(failure.report())
}

fn at(step: Step) -> impl Fn(Errno) -> (Step, u32, Errno) {
    move |errno| (step, 0, errno)
}

fn setup(plan: &Plan, fds: &ChildFds) -> StepResult {
    signal::reset_all().map_err(at(Step::Signals))?;
    let mut byte = [0u8; 1];
    match fd::read(fds.release_read, &mut byte) {
        Ok(1) => {}
        // The parent dropped the release end without writing: it aborted. Leave quietly.
        Ok(_) => exit_now(1),
        Err(e) => return Err((Step::Release, 0, e)),
    }
    fd::close(fds.release_read);
    if plan.userns {
        // The parent wrote uid_map/gid_map before the release: become the mapped root.
        // setgroups is allowed (the map was written by a process with CAP_SETGID above).
        credentials::become_root().map_err(at(Step::Credentials))?;
    }
    // Before anything runs as the container: the launcher's session keyring (root's) is not
    // the container's to read.
    credentials::join_new_session_keyring().map_err(at(Step::Keyring))?;
    // Now, after the parent moved this process into the container's cgroups: that becomes the
    // root of the new cgroup namespace, so /proc/self/cgroup reads `/`.
    nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(at(Step::CgroupNs))?;
    nix::unistd::sethostname(std::ffi::OsStr::from_bytes(plan.hostname.to_bytes()))
        .map_err(at(Step::Hostname))?;
    if plan.loopback {
        net::loopback_up().map_err(at(Step::Loopback))?;
    }
    super::mounts::mounts(plan)?;
    // The container's file system is in place: become its root.
    let cwd = &plan.cwd;
    nix::unistd::chdir(cwd.as_c_str()).map_err(at(Step::Cwd))?;
    stdio(fds).map_err(at(Step::Stdio))?;
    nix::unistd::setsid().map_err(at(Step::Session))?;
    if plan.tty {
        // rustix's TIOCSCTTY (argument 0: do not steal it from another session), a raw
        // system call.
        rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())
            .map_err(|e| Errno::from_raw(e.raw_os_error()))
            .map_err(at(Step::Terminal))?;
    }
    let keep = docker_cap_mask();
    capability::drop_bounding_except(keep).map_err(at(Step::Bounding))?;
    // Kernels before 4.3 have no ambient set; nothing to clear there.
    let _ = capability::clear_ambient();
    capability::set_no_new_privs().map_err(at(Step::NoNewPrivs))?;
    let creds = &plan.credentials;
    credentials::set_user(creds.uid, creds.gid, &creds.groups).map_err(at(Step::User))?;
    // Docker's sets for root; none for another user (leaving uid 0 cleared them already). The
    // inheritable set is emptied, as Docker does since 20.10.14 (CVE-2022-24769: an
    // inheritable set would hand its bits to a non-root user's exec of a file with
    // inheritable file capabilities); exec as uid 0 then yields exactly `keep`.
    let sets = if creds.uid == 0 { keep } else { 0 };
    capability::set(sets, sets, 0).map_err(at(Step::Capabilities))?;
    // Last: the filter refuses mount, sethostname, setns… that the steps above made.
    if let Some(filter) = &plan.seccomp {
        filter.install().map_err(at(Step::Seccomp))?;
    }
    Ok(())
}

/// Tries each exec candidate in order (execvp's rules: a missing file tries the next, a
/// permission error is remembered, anything else stops); returns why none ran.
fn exec(plan: &Plan, vectors: &ExecVectors<'_>) -> Failure {
    let mut denied: Option<u32> = None;
    let mut last = Failure {
        step: Step::Exec,
        index: 0,
        errno: Errno::ENOENT,
    };
    for (i, candidate) in plan.program.candidates.iter().enumerate() {
        let errno = execve(candidate, &vectors.argv, &vectors.envp);
        let index = i as u32;
        match errno {
            Errno::ENOENT | Errno::ENOTDIR => last.index = index,
            Errno::EACCES => {
                denied.get_or_insert(index);
            }
            other => {
                return Failure {
                    step: Step::Exec,
                    index,
                    errno: other,
                };
            }
        }
    }
    match denied {
        Some(index) => Failure {
            step: Step::Exec,
            index,
            errno: Errno::EACCES,
        },
        None => last,
    }
}

/// Moves the given stdin/stdout/stderr onto 0, 1 and 2. They are first copied above 2, so a
/// given descriptor that already sits on 0-2 is not overwritten before it is used.
fn stdio(fds: &ChildFds) -> nix::Result<()> {
    let mut high = [0; 3];
    for (slot, given) in high.iter_mut().zip(fds.stdio) {
        *slot = fd::dup_above(given, 3)?;
    }
    for (target, high_fd) in high.into_iter().enumerate() {
        fd::dup_onto(high_fd, target as RawFd)?;
        fd::close(high_fd);
    }
    Ok(())
}

//! The container process: cloned into new namespaces, held before it does anything, then
//! released to set itself up and exec the command.
//!
//! Contract:
//! - [`create`] clones the process into new pid, mount, uts, ipc, network (unless
//!   [`NetMode::Host`]) and, with `userns`, user namespaces, writes its `uid_map`/`gid_map`,
//!   and returns a [`Pending`] whose process waits on a pipe. The caller moves it into its
//!   cgroups and network in between (the pid is the host's).
//! - [`Pending::start`] releases it. Inside, in order: root of the user namespace, a new
//!   cgroup namespace (rooted at the cgroup it was moved into), hostname, `lo` up, mounts
//!   (nothing propagates to the host; `/proc` fresh, `/sys` read-only, the container's own
//!   cgroups read-only at `/sys/fs/cgroup` (see [`cgroupfs`]), a minimal `/dev`, volumes,
//!   runc's masked and read-only paths), `pivot_root`, working directory, stdio,
//!   a new session (controlling terminal with `tty`), Docker's default bounding set,
//!   `no_new_privs`, the user's ids and groups (see [`user`]), Docker's default capabilities
//!   for root (none for another user, like Docker), Docker's default seccomp filter (see
//!   [`crate::launch::seccomp`]) unless unconfined, exec. It also joins a new
//!   anonymous session keyring first thing, so root's keyrings stay outside. `start` returns
//!   once exec happened, or the step that failed as [`LaunchError::Setup`] text (step,
//!   container path, errno), with the process reaped.
//! - The user is resolved by [`create`] against the mounted root before the clone (an
//!   unknown name is [`LaunchError::Invalid`]); `HOME` is added from its passwd entry when the
//!   environment has none.
//! - [`Pending::abort`], or dropping a `Pending`, kills and reaps the process.
//!
//! Mount destinations are resolved inside the container root (`openat2` with
//! `RESOLVE_IN_ROOT`): an image's symlinks cannot send a volume, or a created mount point,
//! outside it. The child runs only system calls on data prepared here (see [`child`]).

mod caps;
mod cgroupfs;
mod child;
mod idmap;
mod mounts;
mod plan;
pub mod user;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::{Pid, pipe2};

use super::error::LaunchError;
use super::seccomp::SeccompMode;
use super::spec::{NetMode, Volume};
use crate::host::HostRoot;
use crate::sys::child::{ReportPipe, ReportReader, Start};
use crate::sys::fd;
use crate::sys::process::ArgVector;
pub use caps::{DOCKER_CAPS, docker_cap_mask};
use child::{ChildFds, ExecVectors, Failure, Step};
pub use idmap::default_idmap;
pub use plan::{DEFAULT_PATH, MASKED_PATHS, READ_ONLY_PATHS};
use plan::{MountStep, Plan};
pub use user::{ExecUser, UserRequest};

/// A user-namespace mapping: container ids 0..count → host ids host_uid.., host_gid...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub host_uid: u32,
    pub host_gid: u32,
    pub count: u32,
}

/// Everything the container process needs; consumed by [`create`].
#[derive(Debug)]
pub struct ChildConfig {
    /// The mounted overlay (or any directory) to pivot_root into.
    pub rootfs: PathBuf,
    /// `argv[0]` is looked up in the container's PATH when it has no `/`.
    pub argv: Vec<String>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    pub cwd: String,
    pub hostname: String,
    /// Bind mounts, applied in order (the default image's read-only binds first).
    pub volumes: Vec<Volume>,
    pub net: NetMode,
    pub userns: Option<IdMap>,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// stdin is a pty slave: make it the controlling terminal (setsid + TIOCSCTTY).
    pub tty: bool,
    /// The image's `User` or the operator's `--user`; `None` runs as root.
    pub user: Option<UserRequest>,
    pub seccomp: SeccompMode,
}

/// A cloned container process, stopped before `exec` until [`Pending::start`].
#[derive(Debug)]
pub struct Pending {
    pid: i32,
    /// Writing one byte releases the child; dropping it unwritten makes the child exit.
    release: Option<OwnedFd>,
    /// Read to end of file: empty after exec, one [`Failure`] record otherwise.
    errors: ReportReader,
    plan: Plan,
    /// Reaped (or handed over by `start`): nothing left for `Drop` to do.
    settled: bool,
}

/// The child's stack. It runs a few frames of system-call wrappers (path buffers of up to
/// 1 KiB each on the stack in nix); 256 KiB leaves ample room. The pages are the parent's
/// copy-on-write memory, touched only where used.
const CHILD_STACK_BYTES: usize = 256 * 1024;

/// Serialises the window between making the pipes and closing the parent's child-side ends,
/// so a container cloned by another thread of this process meanwhile does not inherit them
/// (it would hold a release or error pipe open until its own exec).
static CLONE_WINDOW: Mutex<()> = Mutex::new(());

/// Clones the container process into new pid, mnt, uts, ipc, net (unless host) and user
/// (when asked) namespaces; it waits for [`Pending::start`].
pub fn create(config: ChildConfig) -> Result<Pending, LaunchError> {
    let host = HostRoot::live();
    let user = user::resolve(
        &config.rootfs,
        config.user.as_ref(),
        config.userns.map(|m| m.count),
    )?;
    let plan = Plan::new(&config, &host, &user)?;
    let mut flags = CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC;
    if config.net != NetMode::Host {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    if config.userns.is_some() {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    // execve's vectors: pointers into the plan's strings, NULL-terminated, made before the
    // clone so the child allocates nothing.
    let vectors = ExecVectors {
        argv: ArgVector::new(plan.program.argv.iter().map(|a| a.as_c_str())),
        envp: ArgVector::new(plan.program.env.iter().map(|e| e.as_c_str())),
    };
    let mut stack = vec![0u8; CHILD_STACK_BYTES];

    let window = CLONE_WINDOW
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let pipe = |what: &'static str| {
        pipe2(OFlag::O_CLOEXEC).map_err(|e| LaunchError::kernel(format!("pipe2 ({what})"), e))
    };
    let (release_read, release_write) = pipe("release")?;
    let errors = ReportPipe::new().map_err(|e| LaunchError::kernel("pipe2 (errors)", e))?;
    let fds = ChildFds {
        release_read: release_read.as_raw_fd(),
        release_write: release_write.as_raw_fd(),
        stdio: [
            config.stdin.as_raw_fd(),
            config.stdout.as_raw_fd(),
            config.stderr.as_raw_fd(),
        ],
    };
    // The child runs `child::run` on its own copy of this memory and of `stack` (see its
    // contract: system calls on data prepared above only, ending in exec or _exit).
    let start = Start::Clone {
        flags,
        stack: &mut stack,
    };
    let cloned = errors.spawn(start, |reporter| {
        child::run(&plan, &vectors, &fds, reporter)
    });
    // The child's ends (and its stdio) live on in the child only; the errors pipe's write
    // end was closed by `spawn`.
    drop(release_read);
    drop(window);
    drop(config.stdin);
    drop(config.stdout);
    drop(config.stderr);
    let (pid, errors) = cloned.map_err(|e| {
        let hint = match e {
            Errno::ENOSPC | Errno::EUSERS => " (a namespace limit in /proc/sys/user was reached)",
            Errno::EPERM => " (needs root)",
            Errno::EINVAL if config.userns.is_some() => {
                " (this kernel refuses user namespaces here)"
            }
            _ => "",
        };
        LaunchError::kernel(
            format!("clone the container process into new namespaces{hint}"),
            e,
        )
    })?;
    let pending = Pending {
        pid: pid.as_raw(),
        release: Some(release_write),
        errors,
        plan,
        settled: false,
    };
    if let Some(map) = config.userns {
        // On error `pending` drops here: the child is killed and reaped.
        idmap::write_maps(&host, pending.pid, map)?;
    }
    Ok(pending)
}

impl Pending {
    /// The container's init as a host pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets it run its setup and exec; returns once exec succeeded, or the error it reported
    /// (the process is then reaped).
    pub fn start(mut self) -> Result<i32, LaunchError> {
        let release = self.release.take();
        let released = match &release {
            Some(release) => fd::write_all(release.as_raw_fd(), b"1"),
            None => Err(Errno::EBADF),
        };
        drop(release);
        let record = self.read_record();
        match (released, record) {
            (_, Ok(Some(failure))) => {
                self.reap();
                Err(LaunchError::Setup(describe(&self.plan, failure)))
            }
            // Released and the pipe closed empty: exec happened (or the process was killed
            // from outside on the way, which its exit status will show).
            (Ok(()), Ok(None)) => {
                self.settled = true;
                Ok(self.pid)
            }
            (Err(e), Ok(None)) => {
                self.reap();
                Err(LaunchError::Setup(format!(
                    "the container process ended before it could be released ({})",
                    e.desc()
                )))
            }
            (_, Err(e)) => {
                self.kill_and_reap();
                Err(LaunchError::kernel(
                    "reading the container's setup result",
                    e,
                ))
            }
        }
    }

    /// Kills and reaps it (setup elsewhere failed).
    pub fn abort(mut self) {
        self.kill_and_reap();
    }

    /// The failure record, or `None` when the pipe closed empty. A record with a step this
    /// code never writes reads as a failed exec with an unknown errno.
    fn read_record(&self) -> Result<Option<Failure>, Errno> {
        Ok(self.errors.read()?.map(|report| {
            Failure::from_report(report).unwrap_or(Failure {
                step: Step::Exec,
                index: u32::MAX,
                errno: Errno::UnknownErrno,
            })
        }))
    }

    fn kill_and_reap(&mut self) {
        if !self.settled {
            let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
            self.reap();
        }
    }

    fn reap(&mut self) {
        while let Err(Errno::EINTR) = waitpid(Pid::from_raw(self.pid), None) {}
        self.settled = true;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// The operator's message for a failed step: what, on which container path, the errno.
fn describe(plan: &Plan, failure: Failure) -> String {
    let Failure { step, index, errno } = failure;
    let mount = || {
        plan.mounts
            .get(index as usize)
            .map(MountStep::describe)
            .unwrap_or_else(|| format!("mount step {index}"))
    };
    let why = errno.desc();
    match step {
        Step::Exec => describe_exec(plan, index, errno),
        Step::MountResolve => {
            let hint = match errno {
                // The walk follows the image's symlinks inside the root: one that points at a
                // path the image lacks ends here, instead of on the host.
                Errno::ENOENT => {
                    " (a symlink in the image points to a path the image does not have?)"
                }
                Errno::EACCES if plan.userns => {
                    " (in a user namespace the container's root may not write the image's \
                     root-owned directories: the mount point must exist in the image)"
                }
                _ => "",
            };
            format!(
                "{}: finding or creating the mount point: {why}{hint}",
                mount()
            )
        }
        Step::MountAttach => format!("{}: {why}", mount()),
        Step::MountReadOnly => format!("{}: making it read-only: {why}", mount()),
        Step::Signals => format!("resetting signal handlers: {why}"),
        Step::Release => format!("waiting for the launcher: {why}"),
        Step::Credentials => format!("becoming root of the user namespace (setuid 0): {why}"),
        Step::Keyring => {
            let hint = match errno {
                Errno::EDQUOT => {
                    " (the key quota of the container's user is used up: raise \
                     /proc/sys/kernel/keys/maxkeys and maxbytes)"
                }
                _ => "",
            };
            format!("join a new session keyring: {why}{hint}")
        }
        Step::CgroupNs => format!("unshare the cgroup namespace: {why}"),
        Step::Hostname => format!("sethostname {:?}: {why}", plan.hostname.to_string_lossy()),
        Step::Loopback => format!("bring lo up: {why}"),
        Step::Propagation => format!("make / a private (slave) mount tree: {why}"),
        Step::RootBind => format!(
            "bind the root {} onto itself: {why}",
            plan.rootfs.to_string_lossy()
        ),
        Step::RootOpen => format!("open the root {}: {why}", plan.rootfs.to_string_lossy()),
        Step::Pivot => format!("pivot_root into {}: {why}", plan.rootfs.to_string_lossy()),
        Step::Cwd => format!("chdir {}: {why}", plan.cwd.to_string_lossy()),
        Step::Stdio => format!("set up stdin/stdout/stderr: {why}"),
        Step::Session => format!("setsid: {why}"),
        Step::Terminal => format!("make the terminal the controlling terminal: {why}"),
        Step::Bounding => format!("drop capabilities from the bounding set: {why}"),
        Step::NoNewPrivs => format!("set no_new_privs: {why}"),
        Step::User => {
            let creds = &plan.credentials;
            format!(
                "become uid {} gid {} with groups {:?}: {why}",
                creds.uid, creds.gid, creds.groups
            )
        }
        Step::Capabilities => format!("set capabilities (capset): {why}"),
        Step::Seccomp => {
            let hint = match errno {
                Errno::EINVAL => {
                    " (does this kernel lack seccomp filters? --security-opt seccomp=unconfined \
                     runs without)"
                }
                _ => "",
            };
            format!("install the seccomp filter: {why}{hint}")
        }
    }
}

fn describe_exec(plan: &Plan, index: u32, errno: Errno) -> String {
    let program = &plan.program;
    let first = program
        .argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tried = program
        .candidates
        .get(index as usize)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| first.clone());
    match (errno, &program.searched) {
        (Errno::ENOENT | Errno::ENOTDIR, Some(path)) => format!(
            "exec {first}: not found in PATH {path} (check the command exists in the image)"
        ),
        (Errno::ENOENT | Errno::ENOTDIR, None) => format!(
            "exec {tried}: {} (check the command exists in the image)",
            errno.desc()
        ),
        (Errno::EACCES, _) => format!(
            "exec {tried}: {} (is it an executable file, on a file system mounted with exec?)",
            errno.desc()
        ),
        (Errno::ENOEXEC, _) => format!(
            "exec {tried}: {} (not a program for this machine, or a script without #!)",
            errno.desc()
        ),
        _ => format!("exec {tried}: {}", errno.desc()),
    }
}

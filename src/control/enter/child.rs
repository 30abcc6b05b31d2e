//! The process work of an enter: fork a child that joins the cgroups and namespaces, chroots,
//! forks the command and waits for it; isotop waits for the child. The command's process
//! takes on the container init's credentials ([`Confinement`]) just before exec; with
//! `--privileged` it keeps isotop's (root in a joined user namespace, as nsenter does).
//!
//! Contract. After `fork` the child runs only async-signal-safe system calls on what
//! [`Prepared`] opened beforehand — no allocation, no locks — because isotop may have threads
//! (the dashboard) whose locks a fork copies held. A step that fails reports (step, index,
//! errno) by `sys::child`'s protocol and exits; the parent reads the report pipe until end of
//! file, which comes either with such a record or, empty, when the command has been executed
//! (the last write end closes on exec). SIGINT and SIGQUIT are ignored by isotop
//! and the intermediate child while the command runs (like `system(3)`), so Ctrl-C reaches the
//! command only; the command gets isotop's previous dispositions back before exec.
//!
//! Order in the command's process (each needs what the previous steps leave): supplementary
//! groups before the user namespace is joined (in isotop's ids, which `status` shows, and
//! while `setgroups` is still allowed), namespaces, root and working directory while
//! privileged; then non-dumpable, a new session keyring, the seccomp filter when the init
//! has no `no_new_privs` (it needs CAP_SYS_ADMIN then), securebits (`KEEP_CAPS` so
//! permitted survives the uid change, `NOROOT` when exec would otherwise grant root more than
//! the init holds), inheritable (before the bounding set shrinks below it), the bounding set
//! (while CAP_SETPCAP is held), gids, uids, the fs uid, permitted/effective/inheritable,
//! ambient, `no_new_privs`, the seccomp filter when `no_new_privs` is set, exec.

use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::libc;
use nix::sched::{CloneFlags, setns};
use nix::sys::wait::waitpid;
use nix::unistd::{Pid, chroot, fchdir};

use super::credentials::{CapSets, Confinement, exec_sets};
use super::prepare::Prepared;
use super::{EnterPlan, exit_code};
use crate::control::error::ControlError;
use crate::host::namespace::NsKind;
use crate::sys::child::{Report, ReportPipe, Reporter, Start};
use crate::sys::process::{ArgVector, execv, exit_now, fork_child};
use crate::sys::signal::InterruptsIgnored;
use crate::sys::{capability, credentials, seccomp};

/// The step of the child that failed (first word of the failure record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Step {
    Cgroup = 1,
    Setns = 2,
    Credentials = 3,
    Root = 4,
    Cwd = 5,
    Fork = 6,
    Exec = 7,
    Groups = 8,
    Dumpable = 9,
    Keyring = 10,
    Seccomp = 11,
    Securebits = 12,
    Capabilities = 13,
    Bounding = 14,
    Gids = 15,
    Uids = 16,
    Ambient = 17,
    NoNewPrivs = 18,
}

impl Step {
    const ALL: [Step; 18] = [
        Step::Cgroup,
        Step::Setns,
        Step::Credentials,
        Step::Root,
        Step::Cwd,
        Step::Fork,
        Step::Exec,
        Step::Groups,
        Step::Dumpable,
        Step::Keyring,
        Step::Seccomp,
        Step::Securebits,
        Step::Capabilities,
        Step::Bounding,
        Step::Gids,
        Step::Uids,
        Step::Ambient,
        Step::NoNewPrivs,
    ];

    fn from_u32(n: u32) -> Option<Step> {
        Step::ALL.into_iter().find(|s| *s as u32 == n)
    }

    /// What the step does, for the operator's message.
    fn doing(self) -> &'static str {
        match self {
            Step::Groups => "setting the init's supplementary groups (setgroups)",
            Step::Dumpable => "marking the command's process non-dumpable (prctl)",
            Step::Keyring => "joining a new session keyring (keyctl)",
            Step::Seccomp => "installing the container's seccomp filter",
            Step::Securebits => "setting securebits (prctl)",
            Step::Capabilities => "setting the init's capability sets (capset)",
            Step::Bounding => "dropping capabilities from the bounding set (prctl)",
            Step::Gids => "setting the init's gids (setresgid, setfsgid)",
            Step::Uids => "setting the init's uids (setresuid, setfsuid)",
            Step::Ambient => "setting the init's ambient capabilities (prctl)",
            Step::NoNewPrivs => "setting no_new_privs (prctl)",
            _ => "entering",
        }
    }
}

/// Why the command did not start.
#[derive(Debug)]
pub(super) enum SpawnError {
    /// isotop itself could not set up (pipe, fork, signals).
    Parent(ControlError),
    /// The child reported `step` failing on item `index` with `errno`.
    Child { step: u32, index: u32, errno: Errno },
}

/// The intermediate child, running the command; `wait` returns its exit code.
pub(super) struct Running {
    child: Pid,
    saved: InterruptsIgnored,
}

impl Running {
    /// Waits for the command (through the intermediate child, which exits with its code).
    pub(super) fn wait(self) -> Result<i32, ControlError> {
        let status = wait_for(self.child);
        self.saved.restore();
        let status = status.map_err(|source| ControlError::Syscall {
            what: "waiting for the entered command".into(),
            source,
        })?;
        exit_code(status).ok_or_else(|| {
            ControlError::Other(format!("the entered command ended oddly: {status:?}"))
        })
    }
}

/// Forks the child that enters and runs the command; returns once the command has been
/// executed (or a step failed).
pub(super) fn spawn(prepared: &Prepared) -> Result<Running, SpawnError> {
    let syscall = |what: &str| {
        let what = what.to_string();
        move |source| SpawnError::Parent(ControlError::Syscall { what, source })
    };
    // execv's argv: pointers into `prepared.argv`, NULL-terminated, built before the fork.
    let argv = ArgVector::new(prepared.argv.iter().map(|a| a.as_c_str()));
    let pipe = ReportPipe::new().map_err(syscall("pipe2"))?;
    let saved = InterruptsIgnored::ignore().map_err(syscall("ignoring SIGINT while entering"))?;
    let spawned = pipe.spawn(Start::Fork, |reporter| {
        enter_and_exec(prepared, &argv, reporter, &saved)
    });
    let (child, reader) = match spawned {
        Ok(spawned) => spawned,
        Err(e) => {
            saved.restore();
            return Err(syscall("fork")(e));
        }
    };
    let failure = match reader.read() {
        Ok(None) => return Ok(Running { child, saved }),
        Ok(Some(Report { step, index, errno })) => SpawnError::Child { step, index, errno },
        Err(errno) => SpawnError::Parent(ControlError::Syscall {
            what: "reading the entering child's status".into(),
            source: errno,
        }),
    };
    let _ = wait_for(child);
    saved.restore();
    Err(failure)
}

/// Turns a spawn failure into the operator's message, naming the file or namespace.
pub(super) fn describe_failure(error: SpawnError, plan: &EnterPlan) -> ControlError {
    let (step, index, errno) = match error {
        SpawnError::Parent(e) => return e,
        SpawnError::Child { step, index, errno } => (step, index as usize, errno),
    };
    let what = match Step::from_u32(step) {
        Some(Step::Cgroup) => {
            let path = plan.cgroup_procs.get(index).cloned().unwrap_or_default();
            if errno == Errno::ENOENT || errno == Errno::ENODEV {
                return ControlError::Vanished {
                    target: format!("{} (cgroup {})", plan.target, path.display()),
                };
            }
            return ControlError::Write {
                path,
                source: std::io::Error::from_raw_os_error(errno as i32),
            };
        }
        Some(Step::Setns) => format!(
            "joining the {} namespace of pid {} (setns)",
            plan.namespaces.get(index).map(|k| k.name()).unwrap_or("?"),
            plan.pid
        ),
        Some(Step::Credentials) => "becoming root in the container's user namespace".into(),
        Some(Step::Root) => format!("changing root to the root of pid {} (chroot)", plan.pid),
        Some(Step::Cwd) => "changing to the container's working directory".into(),
        Some(Step::Fork) => "forking the command inside the pid namespace".into(),
        Some(Step::Exec) => {
            let program = plan.command.first().map(String::as_str).unwrap_or("");
            let hint = if errno == Errno::ENOENT && plan.enter_root {
                ": the container has no such program; `--ns net,pid` keeps the host's file \
                 system so host tools can be used"
            } else {
                ""
            };
            // As a shell says it: 127 when there is no such program, 126 when there is one
            // that cannot be run (not executable, a directory, not a format the kernel runs).
            return ControlError::CommandNotRun {
                message: format!(
                    "cannot run {program:?} in the container: {}{hint}",
                    errno.desc()
                ),
                code: if errno == Errno::ENOENT { 127 } else { 126 },
            };
        }
        Some(step) => format!("{} for pid {}'s container", step.doing(), plan.pid),
        None => format!("step {step}"),
    };
    ControlError::Syscall {
        what,
        source: errno,
    }
}

/// The child: cgroups, namespaces, credentials, root and cwd, then a fork for the command
/// (pid and time namespaces apply to children only) and a wait whose result is its exit code.
fn enter_and_exec(
    prepared: &Prepared,
    argv: &ArgVector<'_>,
    reporter: Reporter,
    saved: &InterruptsIgnored,
) -> ! {
    let fail = |step: Step, index: usize, errno: Errno| -> ! {
        reporter.fail(Report {
            step: step as u32,
            index: index as u32,
            errno,
        })
    };
    // Writing "0" moves the writer itself (v1 and v2), so no pid has to be formatted here.
    for (i, file) in prepared.cgroup_procs.iter().enumerate() {
        if let Err(e) = nix::unistd::write(file, b"0") {
            fail(Step::Cgroup, i, e);
        }
    }
    let confinement = prepared.confinement.as_ref();
    if let Some(c) = confinement
        && let Err(e) = credentials::set_groups(&c.groups)
    {
        fail(Step::Groups, 0, e);
    }
    let mut entered_user = false;
    for (i, (kind, file)) in prepared.namespaces.iter().enumerate() {
        if let Err(e) = setns(file.as_fd(), clone_flag(*kind)) {
            fail(Step::Setns, i, e);
        }
        entered_user |= *kind == NsKind::User;
    }
    // --privileged, as nsenter: root of the user namespace. Confined, the command's process
    // sets the init's ids itself (the capabilities a joined user namespace grants suffice).
    if entered_user
        && confinement.is_none()
        && let Err(e) = credentials::become_namespace_root()
    {
        fail(Step::Credentials, 0, e);
    }
    if let Some(root_dir) = &prepared.root_dir
        && let Err(e) = fchdir(root_dir).and_then(|()| chroot("."))
    {
        fail(Step::Root, 0, e);
    }
    if let Some(cwd_dir) = &prepared.cwd_dir
        && let Err(e) = fchdir(cwd_dir)
    {
        fail(Step::Cwd, 0, e);
    }
    // As above, the grandchild only restores signal dispositions, makes the raw credential
    // calls of `sys` on memory prepared before the first fork, and execs.
    let command = fork_child(|| {
        saved.restore();
        if let Some(c) = confinement
            && let Err((step, e)) = confine(c)
        {
            fail(step, 0, e);
        }
        fail(Step::Exec, 0, exec_first(&prepared.candidates, argv))
    });
    match command {
        Err(e) => fail(Step::Fork, 0, e),
        Ok(child) => {
            // Only the command may hold the pipe now: its exec closes it and tells isotop.
            reporter.close();
            let code = wait_for(child).ok().and_then(exit_code).unwrap_or(127);
            exit_now(code)
        }
    }
}

/// Gives this process (the command, about to exec) the init's credentials, in the order the
/// module documentation gives. Runs after fork: raw system calls and bit arithmetic only.
fn confine(c: &Confinement) -> Result<(), (Step, Errno)> {
    let at = |step: Step| move |e: Errno| (step, e);
    credentials::not_dumpable().map_err(at(Step::Dumpable))?;
    credentials::join_new_session_keyring().map_err(at(Step::Keyring))?;
    if !c.no_new_privs
        && let Some(program) = &c.seccomp
    {
        for filter in program.filters() {
            seccomp::install(filter).map_err(at(Step::Seccomp))?;
        }
    }
    let held = capability::permitted().map_err(at(Step::Capabilities))?;
    let (sets, no_root) = exec_sets(c.caps, c.uid, held, c.own_bounding);
    let mut bits = libc::SECBIT_KEEP_CAPS;
    if no_root {
        bits |= libc::SECBIT_NOROOT | libc::SECBIT_NOROOT_LOCKED;
    }
    capability::set_securebits(bits).map_err(at(Step::Securebits))?;
    // Everything still held, with the init's inheritable set: capset lets the inheritable
    // set grow only within the bounding set, which shrinks next.
    let holding = CapSets {
        effective: held,
        permitted: held,
        inheritable: sets.inheritable,
        ..sets
    };
    set_capabilities(&holding).map_err(at(Step::Capabilities))?;
    capability::drop_bounding_except(sets.bounding).map_err(at(Step::Bounding))?;
    credentials::set_gids(c.gid).map_err(at(Step::Gids))?;
    credentials::set_uids([c.uid[0], c.uid[1], c.uid[2]]).map_err(at(Step::Uids))?;
    if c.uid[3] != c.uid[1] {
        // Leaving uid 0 emptied the effective set; setfsuid to an id outside the three
        // needs CAP_SETUID back.
        set_capabilities(&holding).map_err(at(Step::Capabilities))?;
        credentials::set_fsuid(c.uid[3]).map_err(at(Step::Uids))?;
    }
    set_capabilities(&sets).map_err(at(Step::Capabilities))?;
    capability::set_ambient(sets.ambient).map_err(at(Step::Ambient))?;
    if c.no_new_privs {
        capability::set_no_new_privs().map_err(at(Step::NoNewPrivs))?;
        if let Some(program) = &c.seccomp {
            for filter in program.filters() {
                seccomp::install(filter).map_err(at(Step::Seccomp))?;
            }
        }
    }
    Ok(())
}

/// The effective, permitted and inheritable sets of `sets` (`capset`).
fn set_capabilities(sets: &CapSets) -> nix::Result<()> {
    capability::set(sets.effective, sets.permitted, sets.inheritable)
}

/// Executes the first of `candidates` that runs (as a shell: one that is absent, or behind a
/// directory the command may not search, is skipped); returns why none did: EACCES when one
/// exists but may not be executed (a shell's 126), else ENOENT (not found: 127).
fn exec_first(candidates: &[std::ffi::CString], argv: &ArgVector<'_>) -> Errno {
    let mut denied = false;
    for path in candidates {
        // The environment is isotop's own.
        match execv(path, argv) {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG | Errno::ELOOP => {}
            // A file that is there but not executable, or a directory on the way that may
            // not be searched (then the program counts as not found).
            Errno::EACCES => {
                // nix's fstatat takes the C string as is (no allocation) and stats on this
                // frame.
                let exists = nix::sys::stat::fstatat(
                    nix::fcntl::AT_FDCWD,
                    path.as_c_str(),
                    nix::fcntl::AtFlags::empty(),
                );
                denied |= exists.is_ok();
            }
            // The program is there but cannot start (not a format the kernel runs, too
            // many arguments, busy): say that, as a shell does.
            other => return other,
        }
    }
    if denied { Errno::EACCES } else { Errno::ENOENT }
}

fn clone_flag(kind: NsKind) -> CloneFlags {
    match kind {
        NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
        NsKind::Mnt => CloneFlags::CLONE_NEWNS,
        NsKind::Net => CloneFlags::CLONE_NEWNET,
        NsKind::Pid => CloneFlags::CLONE_NEWPID,
        NsKind::User => CloneFlags::CLONE_NEWUSER,
        NsKind::Uts => CloneFlags::CLONE_NEWUTS,
        // nix has no CLONE_NEWTIME; 0 lets setns take the file's own type (a time namespace,
        // since the file is /proc/PID/ns/time).
        NsKind::Time => CloneFlags::empty(),
    }
}

fn wait_for(child: Pid) -> nix::Result<nix::sys::wait::WaitStatus> {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

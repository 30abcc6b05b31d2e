//! The process work of an enter: fork a child that joins the cgroups and namespaces, chroots,
//! forks the command and waits for it; isotop waits for the child. The command's process
//! takes on the container init's credentials ([`Confinement`]) just before exec; with
//! `--privileged` it keeps isotop's (root in a joined user namespace, as nsenter does).
//!
//! Contract. After `fork` the child runs only async-signal-safe system calls on what
//! [`Prepared`] opened beforehand — no allocation, no locks — because isotop may have threads
//! (the dashboard) whose locks a fork copies held. A step that fails writes a fixed 12-byte
//! record (step, index, errno) to a close-on-exec pipe and exits; the parent reads the pipe
//! until end of file, which comes either with such a record or, empty, when the command has
//! been executed (the last write end closes on exec). SIGINT and SIGQUIT are ignored by isotop
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

use std::ffi::c_char;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::libc;
use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, chroot, fchdir, fork, pipe2};

use super::credentials::{CapSets, Confinement, exec_sets};
use super::prepare::Prepared;
use super::{EnterPlan, exit_code, sys};
use crate::control::error::ControlError;
use crate::host::namespace::NsKind;

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
    saved: SavedSignals,
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
    // execvp's argv: pointers into `prepared.argv`, NULL-terminated, built before the fork.
    let mut argv: Vec<*const c_char> = prepared.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let (reader, writer) = pipe2(OFlag::O_CLOEXEC).map_err(syscall("pipe2"))?;
    let saved = SavedSignals::ignore().map_err(syscall("ignoring SIGINT while entering"))?;
    // SAFETY: the child branch only makes async-signal-safe system calls on values prepared
    // before the fork (no allocation, no locks) and ends in exec or _exit.
    let forked = unsafe { fork() };
    match forked {
        Err(e) => {
            saved.restore();
            Err(syscall("fork")(e))
        }
        Ok(ForkResult::Child) => {
            drop(reader);
            enter_and_exec(prepared, &argv, &writer, &saved)
        }
        Ok(ForkResult::Parent { child }) => {
            drop(writer);
            match read_failure(&reader) {
                None => Ok(Running { child, saved }),
                Some(failure) => {
                    let _ = wait_for(child);
                    saved.restore();
                    Err(failure)
                }
            }
        }
    }
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
    argv: &[*const c_char],
    writer: &OwnedFd,
    saved: &SavedSignals,
) -> ! {
    let fail = |step: Step, index: usize, errno: Errno| -> ! {
        report(writer, step, index, errno);
        exit_now(127)
    };
    // Writing "0" moves the writer itself (v1 and v2), so no pid has to be formatted here.
    for (i, file) in prepared.cgroup_procs.iter().enumerate() {
        if let Err(e) = nix::unistd::write(file, b"0") {
            fail(Step::Cgroup, i, e);
        }
    }
    let confinement = prepared.confinement.as_ref();
    if let Some(c) = confinement
        && let Err(e) = sys::set_groups(&c.groups)
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
        && let Err(e) = sys::become_namespace_root()
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
    // SAFETY: as above; the grandchild only restores signal dispositions, makes the raw
    // credential calls of `sys` on memory prepared before the first fork, and execs.
    match unsafe { fork() } {
        Err(e) => fail(Step::Fork, 0, e),
        Ok(ForkResult::Child) => {
            saved.restore();
            if let Some(c) = confinement
                && let Err((step, e)) = confine(c)
            {
                fail(step, 0, e);
            }
            fail(Step::Exec, 0, exec_first(&prepared.candidates, argv))
        }
        Ok(ForkResult::Parent { child }) => {
            // Only the command may hold the pipe now: its exec closes it and tells isotop.
            // SAFETY: closes this process's copy of the descriptor; the OwnedFd is never
            // used or dropped again (the process exits below without unwinding).
            unsafe { libc::close(writer.as_raw_fd()) };
            let code = wait_for(child).ok().and_then(exit_code).unwrap_or(127);
            exit_now(code)
        }
    }
}

/// Gives this process (the command, about to exec) the init's credentials, in the order the
/// module documentation gives. Runs after fork: raw system calls and bit arithmetic only.
fn confine(c: &Confinement) -> Result<(), (Step, Errno)> {
    let at = |step: Step| move |e: Errno| (step, e);
    sys::not_dumpable().map_err(at(Step::Dumpable))?;
    sys::join_new_session_keyring().map_err(at(Step::Keyring))?;
    if !c.no_new_privs
        && let Some(program) = &c.seccomp
    {
        for filter in program.filters() {
            sys::install_seccomp(filter).map_err(at(Step::Seccomp))?;
        }
    }
    let held = sys::permitted().map_err(at(Step::Capabilities))?;
    let (sets, no_root) = exec_sets(c.caps, c.uid, held, c.own_bounding);
    let mut bits = libc::SECBIT_KEEP_CAPS;
    if no_root {
        bits |= libc::SECBIT_NOROOT | libc::SECBIT_NOROOT_LOCKED;
    }
    sys::set_securebits(bits).map_err(at(Step::Securebits))?;
    // Everything still held, with the init's inheritable set: capset lets the inheritable
    // set grow only within the bounding set, which shrinks next.
    let holding = CapSets {
        effective: held,
        permitted: held,
        inheritable: sets.inheritable,
        ..sets
    };
    sys::set_capabilities(&holding).map_err(at(Step::Capabilities))?;
    sys::drop_bounding_except(sets.bounding).map_err(at(Step::Bounding))?;
    sys::set_gids(c.gid).map_err(at(Step::Gids))?;
    sys::set_uids([c.uid[0], c.uid[1], c.uid[2]]).map_err(at(Step::Uids))?;
    if c.uid[3] != c.uid[1] {
        // Leaving uid 0 emptied the effective set; setfsuid to an id outside the three
        // needs CAP_SETUID back.
        sys::set_capabilities(&holding).map_err(at(Step::Capabilities))?;
        sys::set_fsuid(c.uid[3]).map_err(at(Step::Uids))?;
    }
    sys::set_capabilities(&sets).map_err(at(Step::Capabilities))?;
    sys::set_ambient(sets.ambient).map_err(at(Step::Ambient))?;
    if c.no_new_privs {
        sys::set_no_new_privs().map_err(at(Step::NoNewPrivs))?;
        if let Some(program) = &c.seccomp {
            for filter in program.filters() {
                sys::install_seccomp(filter).map_err(at(Step::Seccomp))?;
            }
        }
    }
    Ok(())
}

/// Executes the first of `candidates` that runs (as a shell: one that is absent, or behind a
/// directory the command may not search, is skipped); returns why none did: EACCES when one
/// exists but may not be executed (a shell's 126), else ENOENT (not found: 127).
fn exec_first(candidates: &[std::ffi::CString], argv: &[*const c_char]) -> Errno {
    let mut denied = false;
    for path in candidates {
        // SAFETY: path is NUL-terminated and argv a NULL-terminated array of pointers to
        // NUL-terminated strings, all owned by `prepared` and alive until exec replaces this
        // process; the environment is isotop's own.
        unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
        match Errno::last() {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG | Errno::ELOOP => {}
            // A file that is there but not executable, or a directory on the way that may
            // not be searched (then the program counts as not found).
            Errno::EACCES => {
                // SAFETY: stat is plain old data; all-zero is a valid value.
                let mut stat: libc::stat = unsafe { std::mem::zeroed() };
                // SAFETY: fstatat reads the NUL-terminated path and writes into the stat
                // buffer on this frame.
                let exists = unsafe { libc::fstatat(libc::AT_FDCWD, path.as_ptr(), &mut stat, 0) };
                denied |= exists == 0;
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

/// Writes the failure record: step, index, errno as three native-endian u32 (12 bytes, one
/// write, far below PIPE_BUF so never split).
fn report(writer: &OwnedFd, step: Step, index: usize, errno: Errno) {
    let mut record = [0u8; 12];
    record[..4].copy_from_slice(&(step as u32).to_ne_bytes());
    record[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
    record[8..].copy_from_slice(&(errno as i32).to_ne_bytes());
    let _ = nix::unistd::write(writer, &record);
}

/// Reads the pipe to end of file; a full record is a failure, nothing means the exec happened.
fn read_failure(reader: &OwnedFd) -> Option<SpawnError> {
    let mut record = [0u8; 12];
    let mut filled = 0;
    while filled < record.len() {
        match nix::unistd::read(reader, &mut record[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                return Some(SpawnError::Parent(ControlError::Syscall {
                    what: "reading the entering child's status".into(),
                    source: errno,
                }));
            }
        }
    }
    if filled < record.len() {
        return None;
    }
    let word = |i: usize| {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&record[i..i + 4]);
        bytes
    };
    Some(SpawnError::Child {
        step: u32::from_ne_bytes(word(0)),
        index: u32::from_ne_bytes(word(4)),
        errno: Errno::from_raw(i32::from_ne_bytes(word(8))),
    })
}

fn wait_for(child: Pid) -> nix::Result<nix::sys::wait::WaitStatus> {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process at once, without running atexit handlers or flushing
    // stdio buffers copied from the parent (which the parent flushes itself).
    unsafe { libc::_exit(code) }
}

/// isotop's SIGINT and SIGQUIT dispositions, saved while they are ignored.
struct SavedSignals {
    int: SigAction,
    quit: SigAction,
}

impl SavedSignals {
    fn ignore() -> nix::Result<SavedSignals> {
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: installs SIG_IGN, which runs no code; the previous action is kept to restore.
        let int = unsafe { sigaction(Signal::SIGINT, &ignore) }?;
        // SAFETY: as above.
        let quit = match unsafe { sigaction(Signal::SIGQUIT, &ignore) } {
            Ok(quit) => quit,
            Err(e) => {
                // SAFETY: puts back the action that was installed a moment ago.
                let _ = unsafe { sigaction(Signal::SIGINT, &int) };
                return Err(e);
            }
        };
        Ok(SavedSignals { int, quit })
    }

    fn restore(&self) {
        // SAFETY: reinstalls the dispositions isotop had before `ignore`.
        let _ = unsafe { sigaction(Signal::SIGINT, &self.int) };
        // SAFETY: as above.
        let _ = unsafe { sigaction(Signal::SIGQUIT, &self.quit) };
    }
}

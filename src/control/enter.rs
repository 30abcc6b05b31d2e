//! Enter a container (`isotop enter`, the dashboard's `e`): run a command inside a running
//! container's namespaces, cgroup, root and working directory, like `nsenter -t PID -a`.
//!
//! Contract. By default every namespace of the container's init whose inode differs from
//! isotop's own is entered (so the user namespace only when it differs), the command is moved
//! into the init's cgroup in every hierarchy (unless the container has no cgroup of its own)
//! and runs chrooted in `/proc/PID/root` with `/proc/PID/cwd` as its working directory. With an
//! explicit namespace list (`--ns net,pid`) only those namespaces are entered, the cgroup is
//! kept and the host's file system stays visible (host tools for distroless containers) —
//! unless `mnt` is in the list, which brings the container's root and working directory along.
//! The default command is the container's shell (the init's `SHELL` when present in its root,
//! else `/bin/sh`; in host-file-system mode isotop's own `SHELL`, else `/bin/sh`).
//!
//! The command gets the container init's credentials, as `docker exec` gives a command the
//! container's own ([`credentials`]): its uids, gids and groups (as seen inside a joined user
//! namespace), its five capability sets, its `no_new_privs`, a fresh session keyring, and a
//! seccomp filter where isotop knows one. The container's own programs — its `/bin/sh`
//! included — thus never run with more than the init holds. `--privileged` keeps nsenter's
//! behaviour: isotop's credentials (all capabilities; root of a joined user namespace).
//!
//! Everything is read and opened before anything changes ([`prepare`]), with the init held by
//! a pidfd so a recycled pid is never entered. The work itself happens in a child ([`child`]),
//! never in isotop: setns into a mount
//! namespace needs a process that shares its file-system state with no thread, and a pid or
//! time namespace only applies to children, so the child forks once more and the grandchild
//! execs. `enter` returns the command's exit code (128 + signal when it was killed; a command
//! that cannot be executed is [`ControlError::CommandNotRun`], 127 or 126 as a shell says),
//! and every enter, refusal and failure is appended to the audit log.

mod child;
mod credentials;
mod prepare;
mod seccomp;

use std::path::{Path, PathBuf};

pub use seccomp::{SeccompInstruction, SeccompProgram};

use super::audit::{self, AuditEntry};
use super::error::ControlError;
use super::guard;
use crate::host::HostRoot;
use crate::host::cgroup::detect_layout;
use crate::host::namespace::{NsKind, NsSet, parse_ns_link, read_ns_set};
use crate::host::process::read_environ_var;
use crate::host::scan::ContainerView;

/// The order namespaces are joined in (nsenter's): user first, so the later joins run with
/// the capabilities it grants; mnt late, since it resets root and cwd; time last (it applies
/// to children only, like pid).
pub const SETNS_ORDER: [NsKind; 8] = [
    NsKind::User,
    NsKind::Cgroup,
    NsKind::Ipc,
    NsKind::Uts,
    NsKind::Net,
    NsKind::Pid,
    NsKind::Mnt,
    NsKind::Time,
];

/// What the operator asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterRequest {
    /// `Some(kinds)`: only these namespaces, host file system kept (`--ns`); `None`: all.
    pub only: Option<Vec<NsKind>>,
    /// The command and its arguments; empty for the default shell.
    pub command: Vec<String>,
    /// Keep isotop's own credentials (every capability) instead of the init's.
    pub privileged: bool,
}

/// What an enter will do, decided from the host's files before anything is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterPlan {
    /// The container id (for the audit log and messages).
    pub target: String,
    /// Host pid of the process whose namespaces are entered (the container's init).
    pub pid: i32,
    /// Its start time after boot in clock ticks: with the pid, its identity.
    pub start_ticks: Option<u64>,
    /// Namespaces to join, in [`SETNS_ORDER`].
    pub namespaces: Vec<NsKind>,
    /// `cgroup.procs` files of the init's cgroups the command is moved into.
    pub cgroup_procs: Vec<PathBuf>,
    /// Chroot into the init's root and change to its working directory.
    pub enter_root: bool,
    /// The command with its arguments (the default shell already filled in).
    pub command: Vec<String>,
    /// isotop's credentials (nsenter's behaviour) instead of the init's.
    pub privileged: bool,
    /// The init's user namespace is not isotop's (then its capabilities mean nothing outside
    /// it: without `user` in the namespaces joined, the command gets none).
    pub foreign_user_ns: bool,
    /// A seccomp filter for the command (confined enters only): the one isotop's own
    /// containers run under ([`own_container_filter`]); other runtimes' filters are not known.
    pub seccomp: Option<SeccompProgram>,
}

/// Parses `--ns`: comma-separated namespace kinds (`net,pid`).
pub fn parse_ns_list(text: &str) -> Result<Vec<NsKind>, ControlError> {
    let invalid = |value: &str| ControlError::InvalidValue {
        what: "namespace list".into(),
        value: value.to_string(),
        hint: "give a comma-separated list of cgroup, ipc, mnt, net, pid, time, user, uts \
               (e.g. `--ns net,pid`)"
            .into(),
    };
    let mut kinds = Vec::new();
    for part in text.split(',').map(str::trim) {
        let kind = NsKind::from_name(part).ok_or_else(|| invalid(part))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(invalid(text));
    }
    Ok(kinds)
}

/// Checks the refusals, plans, runs the command inside `view` and waits for it; returns its
/// exit code. Every outcome (refused, failed, entered) is appended to the audit log.
pub fn enter(
    root: &HostRoot,
    view: &ContainerView,
    request: &EnterRequest,
) -> Result<i32, ControlError> {
    enter_logging_to(root, view, request, &audit::log_path())
}

/// [`enter`] with the audit log at `log` (a configured log, or a test's own file).
pub fn enter_logging_to(
    root: &HostRoot,
    view: &ContainerView,
    request: &EnterRequest,
    log_file: &Path,
) -> Result<i32, ControlError> {
    let planned = guard::check(root, view, "enter", false).and_then(|()| plan(root, view, request));
    match planned {
        Ok(plan) => run(root, &plan, log_file),
        Err(e) => {
            // Refused or unplannable: logged with the request as given (`run` logs the rest).
            log(
                log_file,
                &view.container.id,
                &describe_request(request),
                Err(&e),
            );
            Err(e)
        }
    }
}

/// Decides what to enter for `view` (no refusal checks: [`enter`] does those).
pub fn plan(
    root: &HostRoot,
    view: &ContainerView,
    request: &EnterRequest,
) -> Result<EnterPlan, ControlError> {
    let c = &view.container;
    let target = c.id.clone();
    let Some(pid) = c.init_pid else {
        return Err(ControlError::Refused {
            target: format!("{} ({})", c.name, c.id),
            reason: "it is stopped: there is no process to enter (start it first)".into(),
        });
    };
    let vanished = || ControlError::Vanished {
        target: format!("{} ({})", c.name, c.id),
    };
    let theirs = read_ns_set(root, pid)?.ok_or_else(vanished)?;
    let ours = own_namespaces(root);
    let foreign_user_ns = match (theirs.get(NsKind::User), ours.get(NsKind::User)) {
        (Some(t), Some(o)) => t != o,
        (Some(_), None) => true,
        // Without it the init's capabilities could not be placed: refuse rather than guess.
        (None, _) if !request.privileged => {
            return Err(ControlError::Other(format!(
                "cannot tell the user namespace of pid {pid} (its ns/user link is unreadable), \
                 so its credentials cannot be given to the command; `--privileged` enters \
                 with isotop's own"
            )));
        }
        (None, _) => false,
    };
    let wanted: Vec<NsKind> = match &request.only {
        Some(kinds) => kinds.clone(),
        None => NsKind::ALL.to_vec(),
    };
    let mut namespaces = Vec::new();
    for kind in SETNS_ORDER.into_iter().filter(|k| wanted.contains(k)) {
        match (theirs.get(kind), ours.get(kind)) {
            // Already in it: joining our own namespace is a no-op at best (EINVAL for user).
            (Some(t), Some(o)) if t == o => {}
            (Some(_), _) => namespaces.push(kind),
            // Absent from this kernel: nothing to enter. Unreadable: say so when asked for it.
            (None, _) if theirs.denied && request.only.is_some() => {
                return Err(ControlError::Other(format!(
                    "cannot read the {kind} namespace of pid {pid} (permission denied)"
                )));
            }
            (None, _) => {}
        }
    }
    let enter_root = request
        .only
        .as_ref()
        .is_none_or(|k| k.contains(&NsKind::Mnt));
    let cgroup_procs = if request.only.is_none() && c.cgroup_path.is_some() {
        cgroup_procs_files(root, view)?
    } else {
        Vec::new()
    };
    let command = if request.command.is_empty() {
        vec![default_shell(root, pid, enter_root)?]
    } else {
        request.command.clone()
    };
    Ok(EnterPlan {
        target,
        pid,
        start_ticks: c.start_ticks,
        namespaces,
        cgroup_procs,
        enter_root,
        command,
        privileged: request.privileged,
        foreign_user_ns,
        seccomp: if request.privileged {
            None
        } else {
            own_container_filter(root, c)?
        },
    })
}

/// The filter an isotop container's init runs under, for a command entered into it: Docker's
/// default profile unless the container was launched `--security-opt seccomp=unconfined`. A
/// record that cannot be read gets the default filter (never more than the container could
/// have had). Other runtimes: `None` (their filter is not known here).
fn own_container_filter(
    root: &HostRoot,
    c: &crate::host::container::Container,
) -> Result<Option<SeccompProgram>, ControlError> {
    use crate::launch::{lifecycle::config::LaunchConfig, seccomp::SeccompMode};
    if c.runtime != crate::host::runtime::Runtime::Isotop {
        return Ok(None);
    }
    let config = crate::launch::store::ContainerPaths::new(root, &c.id).config;
    match LaunchConfig::read(&config).map(|launched| launched.seccomp) {
        Ok(SeccompMode::Unconfined) => Ok(None),
        Ok(SeccompMode::DockerDefault) | Err(_) => SeccompProgram::docker_default().map(Some),
    }
}

/// Runs `plan` and waits for the command; returns its exit code (128 + signal when killed).
/// The enter is audited as soon as the command has started (or failed to).
pub fn run(root: &HostRoot, plan: &EnterPlan, log_file: &Path) -> Result<i32, ControlError> {
    let what = describe_plan(plan);
    let prepared = match prepare::prepare(root, plan) {
        Ok(prepared) => prepared,
        Err(e) => {
            log(log_file, &plan.target, &what, Err(&e));
            return Err(e);
        }
    };
    let started = child::spawn(&prepared);
    match started {
        Ok(running) => {
            log(log_file, &plan.target, &what, Ok(()));
            running.wait()
        }
        Err(e) => {
            let e = child::describe_failure(e, plan);
            log(log_file, &plan.target, &what, Err(&e));
            Err(e)
        }
    }
}

/// isotop's own namespaces (`<proc>/self/ns`); unknown kinds stay `None` (then entered).
fn own_namespaces(root: &HostRoot) -> NsSet {
    let dir = root.self_dir().join("ns");
    let mut set = NsSet::default();
    for kind in NsKind::ALL {
        if let Some((k, ino)) = std::fs::read_link(dir.join(kind.name()))
            .ok()
            .and_then(|t| t.to_str().and_then(parse_ns_link))
            && k == kind
        {
            set.set(kind, Some(ino));
        }
    }
    set
}

/// The init's `cgroup.procs` in every hierarchy where isotop is not already in that cgroup.
fn cgroup_procs_files(root: &HostRoot, view: &ContainerView) -> Result<Vec<PathBuf>, ControlError> {
    let layout = detect_layout(root)?;
    let own = crate::host::process::read_process(
        root,
        std::process::id() as i32,
        crate::host::process::ReadDepth::Full,
    )
    .ok()
    .flatten();
    let mut files = Vec::new();
    for membership in view.container.cgroups.iter() {
        let Some(hierarchy) = layout.hierarchy_for(membership) else {
            continue;
        };
        let already = own.as_ref().is_some_and(|p| {
            p.cgroups
                .iter()
                .any(|m| layout.hierarchy_for(m) == Some(hierarchy) && m.path == membership.path)
        });
        if already {
            continue;
        }
        if let Some(dir) = hierarchy.cgroup_dir(&membership.path) {
            files.push(dir.join("cgroup.procs"));
        }
    }
    Ok(files)
}

/// The container's shell: the init's `SHELL` if its root has it, else `/bin/sh`. Without the
/// container's root, isotop's own `SHELL` on the host's file system, else `/bin/sh`.
fn default_shell(
    root: &HostRoot,
    pid: i32,
    in_container_root: bool,
) -> Result<String, ControlError> {
    let (fs_root, shell) = if in_container_root {
        (
            root.pid_dir(pid).join("root"),
            read_environ_var(root, pid, "SHELL"),
        )
    } else {
        (PathBuf::from("/"), std::env::var("SHELL").ok())
    };
    // lstat, not stat: an absolute symlink inside the container's root (`/bin/sh ->
    // /bin/busybox`) would be resolved against isotop's root by a following stat.
    let present = |path: &str| {
        path.starts_with('/')
            && !path.split('/').any(|p| p == "..")
            && std::fs::symlink_metadata(fs_root.join(path.trim_start_matches('/'))).is_ok()
    };
    if let Some(shell) = shell.filter(|s| present(s)) {
        return Ok(shell);
    }
    if present("/bin/sh") {
        return Ok("/bin/sh".into());
    }
    Err(ControlError::Other(format!(
        "the container (pid {pid}) has no shell: neither its SHELL nor /bin/sh is in its root \
         file system; give a command after `--`, or use `--ns net,pid` to keep the host's file \
         system and debug it with host tools (a distroless container has none of its own)"
    )))
}

fn describe_request(request: &EnterRequest) -> String {
    let ns = match &request.only {
        Some(kinds) => kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(","),
        None => "all".into(),
    };
    let command = if request.command.is_empty() {
        "(shell)".to_string()
    } else {
        request.command.join(" ")
    };
    let privileged = if request.privileged {
        ", privileged"
    } else {
        ""
    };
    format!("{command} [ns {ns}{privileged}]")
}

fn describe_plan(plan: &EnterPlan) -> String {
    let ns: Vec<&str> = plan.namespaces.iter().map(|k| k.name()).collect();
    let mut what = format!("{} [ns {}", plan.command.join(" "), ns.join(","));
    if !plan.cgroup_procs.is_empty() {
        what.push_str(", cgroup");
    }
    if plan.enter_root {
        what.push_str(", root");
    }
    what.push_str(if plan.privileged {
        ", privileged"
    } else {
        ", init's credentials"
    });
    what.push(']');
    what
}

fn log(log_file: &Path, target: &str, what: &str, result: Result<(), &ControlError>) {
    let mut entry = AuditEntry::now(
        target,
        "enter",
        None,
        Some(crate::host::text::clean_str(what)),
    );
    if let Err(e) = result {
        entry.result = e.to_string();
    }
    if let Err(e) = audit::append_to(log_file, &entry) {
        // The enter happened (or was refused) anyway; a log that cannot be written is said.
        eprintln!("isotop: audit log not written: {e}");
    }
}

/// Maps a wait status to a shell-style exit code: the code, or 128 + the signal number.
pub(crate) fn exit_code(status: nix::sys::wait::WaitStatus) -> Option<i32> {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_lists_parse_and_reject_unknown_kinds() {
        assert_eq!(
            parse_ns_list("net,pid").unwrap(),
            vec![NsKind::Net, NsKind::Pid]
        );
        assert_eq!(
            parse_ns_list(" mnt , mnt,user").unwrap(),
            vec![NsKind::Mnt, NsKind::User]
        );
        for bad in ["", "net,", "network", "net,,pid"] {
            let err = parse_ns_list(bad).unwrap_err();
            assert!(err.is_usage(), "{bad:?}: {err}");
            assert!(err.to_string().contains("cgroup, ipc, mnt"), "{err}");
        }
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        use nix::sys::signal::Signal;
        use nix::sys::wait::WaitStatus;
        use nix::unistd::Pid;
        let pid = Pid::from_raw(10);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 7)), Some(7));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            Some(143)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }
}

//! Everything the entering child needs, opened, read and converted in isotop before the fork
//! (the child allocates nothing: isotop may have threads, and after fork only
//! async-signal-safe calls are sound).
//!
//! Contract. The init is held by a pidfd first, and its start time is checked against the
//! plan's, so the pidfd names the process the operator chose. Then everything is read and
//! opened by pid — its credentials (`status`, `uid_map`, `gid_map`), namespace files, root
//! and working directory, `cgroup.procs` — and at the end the pidfd must show the init still
//! running: a pid can be reused only after its process has exited, so every file read or
//! opened meanwhile was the init's, never a stranger's that got its pid.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::EnterPlan;
use super::credentials::{
    Confinement, CredentialsError, IdMap, ProcessCredentials, UserNsView, confine, parse_status,
};
use crate::control::error::ControlError;
use crate::control::signal::PidFd;
use crate::host::HostRoot;
use crate::host::namespace::NsKind;
use crate::host::process::read_stat;

/// `status` with 65536 groups is about 720 KiB; nothing the kernel writes there is larger.
const MAX_PROC_FILE: u64 = 1 << 20;

/// What the child uses.
pub(crate) struct Prepared {
    pub namespaces: Vec<(NsKind, File)>,
    pub cgroup_procs: Vec<File>,
    pub root_dir: Option<File>,
    pub cwd_dir: Option<File>,
    pub argv: Vec<CString>,
    /// Where the program may be, tried in order: itself when it names a path, else each
    /// directory of isotop's `PATH` joined with it (searched in the child, with the
    /// command's credentials).
    pub candidates: Vec<CString>,
    /// The init's credentials for the command; `None` with `--privileged`.
    pub confinement: Option<Confinement>,
}

pub(super) fn prepare(root: &HostRoot, plan: &EnterPlan) -> Result<Prepared, ControlError> {
    let vanished = || ControlError::Vanished {
        target: format!("{} (pid {})", plan.target, plan.pid),
    };
    // Held first: from here on the pid cannot name anyone else while the init lives.
    let held = PidFd::open(plan.pid)?.ok_or_else(vanished)?;
    let mut buf = Vec::new();
    let now = read_stat(root, plan.pid, &mut buf)?.ok_or_else(vanished)?;
    if plan.start_ticks.is_some_and(|t| t != now.start_ticks) {
        return Err(vanished());
    }
    let open = |path: PathBuf, write: bool| -> Result<File, ControlError> {
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open(&path)
            .map_err(|source| io_error(path, source, write, &vanished))
    };
    let dir = root.pid_dir(plan.pid);
    let confinement = if plan.privileged {
        None
    } else {
        Some(read_confinement(root, plan, &dir, &vanished)?)
    };
    let mut namespaces = Vec::new();
    for kind in &plan.namespaces {
        namespaces.push((*kind, open(dir.join("ns").join(kind.name()), false)?));
    }
    let (root_dir, cwd_dir) = if plan.enter_root {
        (
            Some(open(dir.join("root"), false)?),
            Some(open(dir.join("cwd"), false)?),
        )
    } else {
        (None, None)
    };
    let mut cgroup_procs = Vec::new();
    for path in &plan.cgroup_procs {
        cgroup_procs.push(open(path.clone(), true)?);
    }
    let argv = plan
        .command
        .iter()
        .map(|a| {
            CString::new(a.as_bytes()).map_err(|_| ControlError::InvalidValue {
                what: "command argument".into(),
                value: a.clone(),
                hint: "arguments cannot contain NUL bytes".into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Some(program) = argv.first() else {
        return Err(ControlError::Other("no command to run".into()));
    };
    let candidates = candidates(program.as_bytes(), std::env::var_os("PATH").as_deref());
    // Still running after all the reads and opens: they were all the init's.
    if held.has_exited()? {
        return Err(vanished());
    }
    Ok(Prepared {
        namespaces,
        cgroup_procs,
        root_dir,
        cwd_dir,
        argv,
        candidates,
        confinement,
    })
}

/// The paths to try for `program`, as a shell searches: the program itself when it holds a
/// slash, else `dir/program` for each directory of `path` (an empty entry is the working
/// directory; no `PATH` at all means the usual system directories).
fn candidates(program: &[u8], path: Option<&std::ffi::OsStr>) -> Vec<CString> {
    use std::os::unix::ffi::OsStrExt;
    if program.contains(&b'/') || program.is_empty() {
        return CString::new(program).into_iter().collect();
    }
    let path = path
        .map(OsStrExt::as_bytes)
        .unwrap_or(b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(|b| *b == b':')
        .filter_map(|dir| {
            let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
            let mut full = dir.to_vec();
            if !full.ends_with(b"/") {
                full.push(b'/');
            }
            full.extend_from_slice(program);
            CString::new(full).ok()
        })
        .collect()
}

/// The init's credentials as the command gets them, and isotop's own bounding set.
fn read_confinement(
    root: &HostRoot,
    plan: &EnterPlan,
    dir: &Path,
    vanished: &dyn Fn() -> ControlError,
) -> Result<Confinement, ControlError> {
    let credentials = |path: PathBuf| -> Result<ProcessCredentials, ControlError> {
        let text = read_small(&path, vanished)?;
        parse_status(&text).map_err(|fault| invalid(CredentialsError::Parse { path, fault }))
    };
    let init = credentials(dir.join("status"))?;
    let own = credentials(root.self_dir().join("status"))?;
    let map = |name: &'static str| -> Result<(IdMap, PathBuf), ControlError> {
        let path = dir.join(name);
        let text = read_small(&path, vanished)?;
        let map = IdMap::parse(&text, name).map_err(|fault| {
            invalid(CredentialsError::Parse {
                path: path.clone(),
                fault,
            })
        })?;
        Ok((map, path))
    };
    let view = if plan.namespaces.contains(&NsKind::User) {
        let (uid_map, uid_map_path) = map("uid_map")?;
        let (gid_map, gid_map_path) = map("gid_map")?;
        UserNsView::Entered {
            uid_map,
            gid_map,
            uid_map_path,
            gid_map_path,
        }
    } else if plan.foreign_user_ns {
        UserNsView::NotEntered
    } else {
        UserNsView::Shared
    };
    confine(&init, own.caps.bounding, &view, plan.seccomp.clone()).map_err(invalid)
}

/// A kernel file of at most [`MAX_PROC_FILE`] bytes, as text.
fn read_small(path: &Path, vanished: &dyn Fn() -> ControlError) -> Result<String, ControlError> {
    let mut text = String::new();
    File::open(path)
        .and_then(|f| f.take(MAX_PROC_FILE + 1).read_to_string(&mut text))
        .map_err(|source| io_error(path.to_path_buf(), source, false, vanished))?;
    if text.len() as u64 > MAX_PROC_FILE {
        return Err(ControlError::Other(format!(
            "{} is larger than {MAX_PROC_FILE} bytes: not a kernel file isotop can use",
            path.display()
        )));
    }
    Ok(text)
}

fn io_error(
    path: PathBuf,
    source: std::io::Error,
    write: bool,
    vanished: &dyn Fn() -> ControlError,
) -> ControlError {
    if crate::host::error::is_vanished(&source) {
        vanished()
    } else if write {
        ControlError::Write { path, source }
    } else {
        ControlError::Read { path, source }
    }
}

fn invalid(e: CredentialsError) -> ControlError {
    ControlError::Other(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_searched_like_a_shell_does() {
        let paths = |program: &str, path: Option<&str>| -> Vec<String> {
            candidates(program.as_bytes(), path.map(std::ffi::OsStr::new))
                .into_iter()
                .map(|c| c.into_string().unwrap())
                .collect()
        };
        assert_eq!(paths("/bin/sh", Some("/usr/bin")), ["/bin/sh"]);
        assert_eq!(paths("./run", Some("/usr/bin")), ["./run"]);
        assert_eq!(
            paths("cat", Some("/usr/local/bin:/usr/bin/::/bin")),
            ["/usr/local/bin/cat", "/usr/bin/cat", "./cat", "/bin/cat"]
        );
        assert_eq!(paths("cat", None).len(), 6);
        assert_eq!(paths("", Some("/bin")), [""]);
    }
}

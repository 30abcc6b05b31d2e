//! The `container=` variable of container inits' environments, kept between groupings.
//!
//! Contract: a container no runtime names takes its runtime from its init's `container=`
//! variable where it has one (Podman, systemd-nspawn, LXC set it). Reading it is an open and
//! a read of the whole environment (pages of it) per such init per grouping; the variable is
//! what the process was started (or last exec'd) with, so [`ContainerHints`] keeps it per
//! process — pid, start time and `comm` (an exec changes the name, and may change the
//! environment) — and forgets the processes no longer in the grouped list. A process that
//! rewrites its environment in place after it started (as `setproctitle` does) keeps the hint
//! it started with: the one its runtime gave it.

use foldhash::HashMap;

use crate::host::HostRoot;
use crate::host::process::{Comm, Process, read_environ_var};

/// Kept `container=` values (see the module).
#[derive(Debug, Default)]
pub struct ContainerHints {
    by_process: HashMap<(i32, u64), (Comm, Option<String>)>,
    /// Environments read by the last grouping.
    pub reads: usize,
}

impl ContainerHints {
    /// The `container=` value of `process`, read once while it is the same process.
    pub(super) fn of(&mut self, root: &HostRoot, process: &Process) -> Option<String> {
        let key = (process.pid, process.start_ticks);
        if let Some((comm, value)) = self.by_process.get(&key)
            && *comm == process.comm
        {
            return value.clone();
        }
        self.reads += 1;
        let value = read_environ_var(root, process.pid, "container");
        self.by_process
            .insert(key, (process.comm.clone(), value.clone()));
        value
    }

    /// Starts a grouping.
    pub(super) fn begin(&mut self) {
        self.reads = 0;
    }

    /// Forgets the processes `alive` does not hold (same pid and start time).
    pub(super) fn keep_only(&mut self, alive: impl Fn(i32, u64) -> bool) {
        self.by_process
            .retain(|(pid, start), _| alive(*pid, *start));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::namespace::NsSet;

    fn write_environ(proc_dir: &std::path::Path, pid: i32, environ: &str) {
        let dir = proc_dir.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("environ"), environ.replace(' ', "\0")).unwrap();
    }

    #[test]
    fn an_inits_variable_is_read_once_while_it_is_the_same_process() {
        let tmp = tempfile::tempdir().unwrap();
        let root = HostRoot::under(tmp.path());
        write_environ(&root.proc, 7, "PATH=/bin container=podman ");
        let mut init = Process::new(7, 0, NsSet::default());
        init.start_ticks = 500;
        init.comm = "sh".into();
        let mut hints = ContainerHints::default();
        hints.begin();
        assert_eq!(hints.of(&root, &init).as_deref(), Some("podman"));
        // Kept: the file no longer says so, the hint stays the one it started with.
        write_environ(&root.proc, 7, "PATH=/bin ");
        assert_eq!(hints.of(&root, &init).as_deref(), Some("podman"));
        assert_eq!(hints.reads, 1);
        // An exec (a new name) reads it again.
        init.comm = "init".into();
        assert_eq!(hints.of(&root, &init), None);
        assert_eq!(hints.reads, 2);
        // A new process on the pid (another start time) too.
        write_environ(&root.proc, 7, "container=lxc ");
        init.start_ticks = 900;
        assert_eq!(hints.of(&root, &init).as_deref(), Some("lxc"));
        // Gone processes are forgotten.
        hints.keep_only(|pid, start| (pid, start) == (7, 900));
        assert_eq!(hints.by_process.len(), 1);
        hints.keep_only(|_, _| false);
        assert!(hints.by_process.is_empty());
    }
}

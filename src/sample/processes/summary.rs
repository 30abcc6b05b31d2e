//! What one refresh of the process table found and read ([`RefreshSummary`]): the counts a
//! caller shows or warns about, and what was read, so a test can prove which reads were spared.

/// What one refresh found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    /// Processes seen for the first time (pid reuse included).
    pub added: usize,
    /// Processes gone since the previous tick (pid reuse included).
    pub gone: usize,
    /// Processes whose namespaces, cgroups or owner were read again this tick.
    pub reread: usize,
    /// Processes already known whose `stat` was read this tick (the rest had not run).
    pub stat_reads: usize,
    /// `schedstat` reads this tick (new processes' included).
    pub schedstat_reads: usize,
    /// Processes already known whose cgroup memberships alone were read again (the periodic
    /// re-read of one that has not run since its last full read).
    pub memberships_reads: usize,
    /// Processes already known whose namespace links alone were read again (they ran).
    pub namespace_reads: usize,
    /// A re-read found different namespaces or cgroup memberships.
    pub memberships_changed: bool,
    /// A known process's parent or name changed (a re-parenting, an exec; a kernel thread's
    /// new name is not one: workqueue workers rename themselves by their work): what a
    /// container's ownership of its cgroups is judged by, beside the memberships.
    pub facts_changed: bool,
    /// Pids of the processes seen for the first time and of those whose namespaces or cgroups
    /// changed this tick: where a container or a namespace may have begun.
    pub arrived: Vec<i32>,
    /// Processes that could not be read (permission); they are left out.
    pub denied: usize,
    /// Other read failures, in words.
    pub warnings: Vec<String>,
}

impl RefreshSummary {
    /// True when the set of processes or what they belong to changed.
    pub fn changed(&self) -> bool {
        self.added > 0 || self.gone > 0 || self.memberships_changed
    }
}

//! Which process a pid names: a (pid, start time) pair ([`ProcessKey`]), and how one seen now
//! relates to the one the table holds for that pid ([`Lifecycle`]).

/// The identity of a process: a pid is reused, a (pid, start time) pair is not (start times
/// are clock ticks after boot, and reusing a pid takes a wrap of the whole pid space, far
/// longer than one clock tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessKey {
    pub pid: i32,
    pub start_ticks: u64,
}

/// How a process seen now relates to what the table holds for its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Nothing was cached for this pid.
    New,
    /// The cached entry is this very process.
    Same,
    /// The pid was reused by another process: the cached entry must be dropped.
    Replaced,
}

impl Lifecycle {
    pub fn of(cached: Option<ProcessKey>, seen: ProcessKey) -> Lifecycle {
        match cached {
            None => Lifecycle::New,
            Some(key) if key == seen => Lifecycle::Same,
            Some(_) => Lifecycle::Replaced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pid_and_start_is_the_same_process() {
        let key = ProcessKey {
            pid: 42,
            start_ticks: 1000,
        };
        assert_eq!(Lifecycle::of(None, key), Lifecycle::New);
        assert_eq!(Lifecycle::of(Some(key), key), Lifecycle::Same);
        let reused = ProcessKey {
            pid: 42,
            start_ticks: 1001,
        };
        assert_eq!(Lifecycle::of(Some(key), reused), Lifecycle::Replaced);
    }
}

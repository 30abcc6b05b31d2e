//! `ioprio_set`/`ioprio_get`, which nix and rustix do not wrap: the I/O scheduling class of one
//! thread (what `ionice` sets for a process).
//!
//! Contract: each function is one system call on a thread id (0 = the calling thread) and
//! returns `nix::Result`; which class to ask for, and what a refusal means, is the caller's.

use nix::errno::Errno;
use nix::libc;

/// `IOPRIO_WHO_PROCESS` (linux/ioprio.h): `who` is a thread id; 0 is the calling thread.
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// The class sits above the 13 bits of per-class data (`IOPRIO_CLASS_SHIFT`).
const IOPRIO_CLASS_SHIFT: u32 = 13;
/// The mask of the per-class data (the best-effort/realtime level, 0..7).
const IOPRIO_PRIO_MASK: libc::c_int = (1 << IOPRIO_CLASS_SHIFT) - 1;

/// An I/O scheduling class (`ionice -c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoClass {
    /// No class set: the kernel derives it from the CPU nice value (`ionice`: "none").
    None,
    /// Realtime, with its level 0 (highest) to 7.
    Realtime(u8),
    /// Best effort, with its level 0 (highest) to 7.
    BestEffort(u8),
    /// Idle: served only when no other I/O asked for the disk for a while.
    Idle,
}

/// Puts the calling thread in the idle I/O class (`ionice -c3` for this thread alone). Any
/// user may lower their own thread's I/O class.
pub fn set_idle_self() -> nix::Result<()> {
    let value: libc::c_int = 3 << IOPRIO_CLASS_SHIFT;
    // SAFETY: ioprio_set takes three integers and touches no memory of this process.
    Errno::result(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) })
        .map(drop)
}

/// The I/O class of thread `tid` (0: the calling thread), as `ionice -p` shows it.
pub fn get(tid: i32) -> nix::Result<IoClass> {
    // SAFETY: ioprio_get takes two integers and touches no memory of this process.
    let value =
        Errno::result(unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid) })?
            as libc::c_int;
    let level = (value & IOPRIO_PRIO_MASK).clamp(0, 7) as u8;
    Ok(match value >> IOPRIO_CLASS_SHIFT {
        1 => IoClass::Realtime(level),
        2 => IoClass::BestEffort(level),
        3 => IoClass::Idle,
        _ => IoClass::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_set_idle_reads_back_idle_and_others_keep_theirs() {
        let before = get(0).unwrap();
        let inside = std::thread::spawn(|| {
            set_idle_self().unwrap();
            get(0).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(inside, IoClass::Idle);
        assert_eq!(
            get(0).unwrap(),
            before,
            "only the thread that asked changes"
        );
    }
}

//! Starting and ending processes by hand: `fork`, `clone` into new namespaces, `execv` and
//! `execve` from vectors built before the fork, `_exit`.
//!
//! Contract: [`fork_child`] and [`clone_child`] run `body` in the new process and never
//! return there (`body` ends in exec or [`exit_now`]: its `Infallible` return type says it
//! cannot return). The new process is a copy of a process
//! that may have other threads, whose locks it copied held: `body` must only make child-safe
//! calls (the functions of `sys` so marked, nix and rustix system-call wrappers that take no
//! lock) on data prepared before the call — no allocation, no `println!`, no panic. The
//! compiler cannot check that; every caller's module states it as its own contract.
//! [`ArgVector`] is that prepared data for exec: NULL-terminated pointers to C strings that
//! outlive it, so [`execv`] and [`execve`] are safe and allocate nothing.

use std::convert::Infallible;
use std::ffi::{CStr, c_char};
use std::marker::PhantomData;

use nix::errno::Errno;
use nix::libc;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid};

/// A NULL-terminated array of pointers to C strings that live at least as long as it: an
/// argv or envp for exec, built before a fork so the child allocates nothing.
pub struct ArgVector<'s> {
    pointers: Vec<*const c_char>,
    strings: PhantomData<&'s CStr>,
}

impl<'s> ArgVector<'s> {
    /// The vector of `strings`, in order, with the terminating NULL.
    pub fn new<I: IntoIterator<Item = &'s CStr>>(strings: I) -> ArgVector<'s> {
        let mut pointers: Vec<*const c_char> = strings.into_iter().map(CStr::as_ptr).collect();
        pointers.push(std::ptr::null());
        ArgVector {
            pointers,
            strings: PhantomData,
        }
    }

    /// The number of strings (the NULL not counted).
    pub fn len(&self) -> usize {
        self.pointers.len() - 1
    }

    /// True when it holds no string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `execv(path, argv)` with this process's environment; returns only on failure, with its
/// errno. Child-safe.
pub fn execv(path: &CStr, argv: &ArgVector<'_>) -> Errno {
    // SAFETY: path is NUL-terminated; argv is a NULL-terminated array of pointers to
    // NUL-terminated strings that outlive it (ArgVector's lifetime), so all are alive until
    // exec replaces this process.
    unsafe { libc::execv(path.as_ptr(), argv.pointers.as_ptr()) };
    Errno::last()
}

/// `execve(path, argv, envp)`; returns only on failure, with its errno. Child-safe.
pub fn execve(path: &CStr, argv: &ArgVector<'_>, envp: &ArgVector<'_>) -> Errno {
    // SAFETY: as in `execv`; envp is an ArgVector too.
    unsafe {
        libc::execve(
            path.as_ptr(),
            argv.pointers.as_ptr(),
            envp.pointers.as_ptr(),
        )
    };
    Errno::last()
}

/// Ends the process now: no atexit handlers, no destructors, no stdio flush (in a child the
/// buffers are the parent's copies, which the parent flushes itself). Child-safe.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no memory of this process.
    unsafe { libc::_exit(code) }
}

/// Forks; the child runs `body` (see the module contract), the parent gets the child's pid.
pub fn fork_child(body: impl FnOnce() -> Infallible) -> nix::Result<Pid> {
    // SAFETY: the child branch runs only `body`, which by this module's contract makes only
    // async-signal-safe calls on data prepared before the fork and ends in exec or _exit,
    // never returning into the parent's frames.
    match unsafe { nix::unistd::fork() }? {
        // `body` cannot return (its type is uninhabited); the empty match says so to the
        // type checker, which also calls the match itself unreachable.
        #[allow(unreachable_code)]
        ForkResult::Child => match body() {},
        ForkResult::Parent { child } => Ok(child),
    }
}

/// Clones into the new namespaces of `flags` (SIGCHLD on exit, as fork), running `body` on
/// `stack` (see the module contract); the parent gets the child's pid as the host sees it.
/// Without `CLONE_VM` the child works on its own copy of this memory, like fork.
pub fn clone_child(
    flags: CloneFlags,
    stack: &mut [u8],
    body: impl FnOnce() -> Infallible,
) -> nix::Result<Pid> {
    if flags.contains(CloneFlags::CLONE_VM) {
        // The child would share (and scribble on) the parent's memory: never wanted here.
        return Err(Errno::EINVAL);
    }
    let mut body = Some(body);
    // SAFETY: CLONE_VM is refused above, so the child runs on a copy of this memory and its
    // own copy of `stack`; by this module's contract `body` makes only async-signal-safe calls
    // on prepared data and ends in exec or _exit, never returning into this frame (the `127`
    // is unreachable but keeps the callback's type).
    unsafe {
        nix::sched::clone(
            Box::new(move || -> isize {
                if let Some(body) = body.take() {
                    match body() {}
                }
                127
            }),
            stack,
            flags,
            Some(Signal::SIGCHLD as i32),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::{WaitStatus, waitpid};

    #[test]
    fn an_arg_vector_is_null_terminated() {
        let strings = [c"a".to_owned(), c"bc".to_owned()];
        let v = ArgVector::new(strings.iter().map(|s| s.as_c_str()));
        assert_eq!(v.len(), 2);
        assert!(!v.is_empty());
        assert!(v.pointers[2].is_null());
        assert!(ArgVector::new([]).is_empty());
    }

    #[test]
    fn a_forked_child_exits_with_its_code_and_a_failed_exec_says_why() {
        let argv = ArgVector::new([c"/nonexistent/isotop-test"]);
        let child = fork_child(|| {
            let errno = execv(c"/nonexistent/isotop-test", &argv);
            exit_now(if errno == Errno::ENOENT { 42 } else { 1 })
        })
        .unwrap();
        assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 42));
    }

    #[test]
    fn clone_refuses_a_shared_address_space() {
        let mut stack = [0u8; 64];
        let refused = clone_child(CloneFlags::CLONE_VM, &mut stack, || exit_now(0));
        assert_eq!(refused.unwrap_err(), Errno::EINVAL);
    }
}

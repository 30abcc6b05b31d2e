//! Steps a `std::process::Command` child runs between fork and exec (`pre_exec`): a new
//! session with only chosen descriptors inherited, a descriptor placed at a fixed number, a
//! network namespace joined, a seccomp filter installed.
//!
//! Contract: each function adds one hook to the command; the hook makes only async-signal-
//! safe system calls on numbers and memory captured when the hook was added (no allocation,
//! no lock), so it is sound in the forked copy of a multi-threaded process. Descriptors are
//! captured as numbers: the caller keeps them open until the command is spawned (a number
//! closed by then fails the spawn with EBADF, or names another file the caller opened).

use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::libc;

use super::seccomp::{self, SeccompInstruction};

/// Turns a libc return value into the hook's result.
fn checked(result: libc::c_int) -> io::Result<()> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The child starts a new session (`setsid`), marks every descriptor above 2 close-on-exec
/// (whatever the caller inherited — a terminal multiplexer's pipes, a CI runner's sockets —
/// must not reach it), then clears close-on-exec on `keep` so exactly those are inherited.
pub fn new_session_keeping(command: &mut Command, keep: Vec<RawFd>) {
    // SAFETY: the hook runs in the forked child before exec and makes only async-signal-safe
    // system calls (setsid, close_range, fcntl) on descriptor numbers; `keep` was allocated
    // before the fork and is only read.
    unsafe {
        command.pre_exec(move || {
            nix::unistd::setsid()?;
            close_inherited_on_exec();
            for &fd in &keep {
                checked(libc::fcntl(fd, libc::F_SETFD, 0))?;
            }
            Ok(())
        });
    }
}

/// Marks every descriptor above 2 close-on-exec (`close_range`, Linux 5.11; older kernels get
/// a loop over the first 4096 numbers). Child-safe.
fn close_inherited_on_exec() {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on open descriptors of
    // this process; it reads and writes no memory of ours.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if !done {
        for fd in 3..4096 {
            // SAFETY: F_SETFD on a number that is not open fails with EBADF, nothing else.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
}

/// The child gets `fd` at number `target`, inherited across exec.
pub fn place_fd(command: &mut Command, fd: RawFd, target: RawFd) {
    // SAFETY: the hook runs in the forked child before exec and only calls dup2 or fcntl,
    // async-signal-safe, on descriptor numbers; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if fd == target {
                // Already there: dup2 would keep close-on-exec, so clear it instead.
                checked(libc::fcntl(fd, libc::F_SETFD, 0))
            } else {
                checked(libc::dup2(fd, target))
            }
        });
    }
}

/// The child joins the network namespace open as `netns` (`setns(CLONE_NEWNET)`).
pub fn join_net_namespace(command: &mut Command, netns: RawFd) {
    // SAFETY: the hook runs in the forked (single-threaded) child before exec and only calls
    // setns, async-signal-safe, on a descriptor number; it allocates nothing.
    unsafe {
        command.pre_exec(move || checked(libc::setns(netns, libc::CLONE_NEWNET)));
    }
}

/// The child sets `no_new_privs` and installs `filters` in order.
pub fn confine_with_seccomp(command: &mut Command, filters: Vec<Vec<SeccompInstruction>>) {
    // SAFETY: the hook runs in the forked child before exec and makes only prctl and seccomp
    // system calls on the filters, allocated before the fork and only read.
    unsafe {
        command.pre_exec(move || {
            super::capability::set_no_new_privs()?;
            for filter in &filters {
                seccomp::install(filter)?;
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_placed_descriptor_is_inherited_at_its_number() {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "test -e /proc/self/fd/7"]);
        place_fd(&mut command, file.as_raw_fd(), 7);
        assert!(command.status().unwrap().success());
    }
}

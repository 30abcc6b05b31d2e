//! Descriptors by number: reading, writing, closing and duplicating a raw descriptor, and
//! adopting one handed to this process by its parent.
//!
//! Contract: every function is child-safe (one system call or a retry loop of them, no
//! allocation) and returns `nix::Result`; `EINTR` is retried where a loop is documented.
//! Raw numbers are used because a child works on its copy of the parent's descriptor table,
//! where the parent's `OwnedFd`s must never be dropped.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::libc;

/// How many descriptors a kept-open cache may hold: `1/share` of this process's soft
/// `RLIMIT_NOFILE` (the kernel's own figure, by `getrlimit`; 1024 when it cannot be read), at
/// most `most` (an unlimited soft limit is `u64::MAX`). Child-safe.
pub fn descriptor_budget(share: u64, most: usize) -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _hard)| soft);
    usize::try_from(soft / share.max(1)).map_or(most, |n| n.min(most))
}

/// Reads into `buf`, retrying on EINTR. Child-safe.
pub fn read(fd: RawFd, buf: &mut [u8]) -> nix::Result<usize> {
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into the live, exclusive buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match Errno::result(n) {
            Err(Errno::EINTR) => continue,
            other => return other.map(|n| n as usize),
        }
    }
}

/// Writes all of `buf`, retrying on EINTR (small records, far below PIPE_BUF, so one write
/// in practice). Child-safe.
pub fn write_all(fd: RawFd, buf: &[u8]) -> nix::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &buf[done..];
        // SAFETY: the kernel reads at most rest.len() bytes from the live buffer.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        match Errno::result(n) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => done += n as usize,
        }
    }
    Ok(())
}

/// Closes a raw descriptor this process holds a copy of (a child's copy of a parent's
/// `OwnedFd`, which the child never drops: it ends in exec or `_exit`). Child-safe.
pub fn close(fd: RawFd) {
    // SAFETY: closing a descriptor number has no memory effects; the caller never uses the
    // number again.
    unsafe { libc::close(fd) };
}

/// Duplicates `fd` to the lowest free number >= `min`, close-on-exec. Child-safe.
pub fn dup_above(fd: RawFd, min: RawFd) -> nix::Result<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC only allocates a descriptor; no memory is passed.
    Errno::result(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })
}

/// `dup2(fd, target)`; the copy at `target` is inherited across exec. Child-safe.
pub fn dup_onto(fd: RawFd, target: RawFd) -> nix::Result<()> {
    // SAFETY: dup2 only changes the descriptor table.
    Errno::result(unsafe { libc::dup2(fd, target) }).map(drop)
}

/// Takes ownership of a descriptor number this process was handed on its command line by
/// the process that started it (`--ready-fd`), after checking it is open: a closed number is
/// `EBADF`. Call it once per number; the caller must not otherwise use or close it.
pub fn adopt_inherited(fd: RawFd) -> nix::Result<OwnedFd> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    // SAFETY: the number is only borrowed for this one fcntl; F_GETFD on a closed number
    // fails with EBADF, which is the check.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD)?;
    // SAFETY: the descriptor is open (checked above) and was passed to this process for this
    // one owner, per this function's contract; nothing else in the process closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_pipe_carries_a_record_and_a_closed_number_is_not_adopted() {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        write_all(w.as_raw_fd(), b"abc").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(read(r.as_raw_fd(), &mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
        let high = dup_above(w.as_raw_fd(), 100).unwrap();
        assert!(high >= 100);
        close(high);
        // A number no process can have open (far above any RLIMIT_NOFILE).
        assert_eq!(adopt_inherited(RawFd::MAX).unwrap_err(), Errno::EBADF);
        assert_eq!(adopt_inherited(-1).unwrap_err(), Errno::EBADF);
    }
}

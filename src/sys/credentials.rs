//! The raw system calls the container's setup needs and nix does not wrap (or wraps with an
//! allocation): pipes read and written by raw descriptor, credentials (`setgroups`,
//! `setresgid`, `setresuid`), capabilities (`capset`, the bounding set), a new session
//! keyring, `mount_setattr`, bringing `lo` up, resetting signals, and `/proc/self/fd/N` paths
//! formatted on the stack.
//!
//! Contract: every function here is safe to call in the cloned child (async-signal-safe, no
//! allocation, no locks), returns `nix::Result`, and leaves no descriptor open on error.

use std::ffi::{CStr, c_int};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;
use nix::libc;

/// Docker's default capability set (moby `oci/caps/defaults.go`), as bit numbers from
/// linux/capability.h (libc does not define them).
pub const DOCKER_CAPS: [(&str, u32); 14] = [
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_RAW", 13),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_MKNOD", 27),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_SETFCAP", 31),
];

/// [`DOCKER_CAPS`] as a 64-bit mask (`CapBnd` in /proc/PID/status reads 00000000a80425fb).
pub const fn docker_cap_mask() -> u64 {
    let mut mask = 0u64;
    let mut i = 0;
    while i < DOCKER_CAPS.len() {
        mask |= 1 << DOCKER_CAPS[i].1;
        i += 1;
    }
    mask
}

/// Reads into `buf`, retrying on EINTR.
pub fn read_fd(fd: RawFd, buf: &mut [u8]) -> nix::Result<usize> {
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into the live, exclusive buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match Errno::result(n) {
            Err(Errno::EINTR) => continue,
            other => return other.map(|n| n as usize),
        }
    }
}

/// Writes all of `buf` (small records, far below PIPE_BUF, so one write in practice).
pub fn write_fd(fd: RawFd, buf: &[u8]) -> nix::Result<()> {
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

/// Closes a raw descriptor this process owns a copy of (the parent's `OwnedFd` copies are
/// never dropped in the child, which ends in exec or `_exit`).
pub fn close_fd(fd: RawFd) {
    // SAFETY: closing a descriptor number has no memory effects; the child never uses it again.
    unsafe { libc::close(fd) };
}

/// Duplicates `fd` to the lowest free number >= `min`, close-on-exec.
pub fn dup_above(fd: RawFd, min: RawFd) -> nix::Result<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC only allocates a descriptor; no memory is passed.
    Errno::result(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })
}

/// `dup2(fd, target)`; the copy at `target` is inherited across exec.
pub fn dup_onto(fd: RawFd, target: RawFd) -> nix::Result<()> {
    // SAFETY: dup2 only changes the descriptor table.
    Errno::result(unsafe { libc::dup2(fd, target) }).map(drop)
}

/// Ends the process now: no atexit handlers, no destructors, no stdio flush (the buffers are
/// the parent's copies).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user memory.
    unsafe { libc::_exit(code) }
}

/// Every signal back to its default action and an empty signal mask, so the command starts
/// with none of the launcher's handlers or ignored signals (exec keeps SIG_IGN and the mask).
pub fn reset_signals() -> nix::Result<()> {
    // SAFETY: a zeroed sigaction with SIG_DFL (0) installs the default action; the struct
    // lives on this stack frame for the duration of each call.
    let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
    default.sa_sigaction = libc::SIG_DFL;
    for signal in 1..libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: as above; the old action is not wanted (null). Numbers glibc reserves for
        // itself fail with EINVAL, which is fine to skip.
        unsafe { libc::sigaction(signal, &default, std::ptr::null_mut()) };
    }
    // SAFETY: the empty set lives on this frame; the old mask is not wanted.
    let mut empty: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigemptyset initialises the set in place.
    unsafe { libc::sigemptyset(&mut empty) };
    // SAFETY: sets the mask from the initialised set.
    Errno::result(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) })
        .map(drop)
}

/// Becomes uid 0 / gid 0 with no supplementary groups, by raw system calls: glibc's
/// wrappers would signal every thread of the launcher to change credentials too (setxid
/// broadcast), and this cloned copy has only one thread but glibc's list of the others, so
/// they would wait forever.
pub fn become_root() -> nix::Result<()> {
    // SAFETY: setgroups with a count of 0 reads no memory; the id calls take integers.
    unsafe {
        Errno::result(libc::syscall(
            libc::SYS_setgroups,
            0,
            std::ptr::null::<libc::gid_t>(),
        ))?;
        Errno::result(libc::syscall(libc::SYS_setresgid, 0, 0, 0))?;
        Errno::result(libc::syscall(libc::SYS_setresuid, 0, 0, 0))?;
    }
    Ok(())
}

/// Becomes `uid`/`gid` with exactly `groups` as supplementary groups, by raw system calls (see
/// [`become_root`] for why). Leaving uid 0 clears the permitted and effective capability sets
/// (no `PR_SET_KEEPCAPS`), as an exec by a non-root user would.
pub fn set_user(uid: u32, gid: u32, groups: &[libc::gid_t]) -> nix::Result<()> {
    // SAFETY: setgroups reads `groups.len()` ids from the live slice; the id calls take
    // integers.
    unsafe {
        Errno::result(libc::syscall(
            libc::SYS_setgroups,
            groups.len(),
            groups.as_ptr(),
        ))?;
        Errno::result(libc::syscall(libc::SYS_setresgid, gid, gid, gid))?;
        Errno::result(libc::syscall(libc::SYS_setresuid, uid, uid, uid))?;
    }
    Ok(())
}

/// `KEYCTL_JOIN_SESSION_KEYRING` (linux/keyctl.h).
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

/// Joins a new anonymous session keyring, as runc does: the launcher's (root's) session
/// keyring stays out of the container. A kernel without keys (ENOSYS) has nothing to leak.
pub fn join_new_session_keyring() -> nix::Result<()> {
    // SAFETY: a NULL name asks for a new anonymous keyring; no memory is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    match Errno::result(r) {
        Ok(_) | Err(Errno::ENOSYS) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets IFF_UP on `lo` in this process's network namespace (SIOCGIFFLAGS + SIOCSIFFLAGS on a
/// throwaway datagram socket: no netlink, no `ip` exec, two ioctls).
pub fn loopback_up() -> nix::Result<()> {
    // SAFETY: socket only allocates a descriptor, closed below on every path.
    let sock = Errno::result(unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS fills ifr_flags of the ifreq we own on this frame.
    let result = Errno::result(unsafe { libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) })
        .and_then(|_| {
            // SAFETY: the flags member was just written by the kernel.
            unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
            // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
            Errno::result(unsafe { libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) })
        });
    close_fd(sock);
    result.map(drop)
}

/// Drops from the bounding set every capability not in `keep` (a bit mask); stops at the
/// first number the kernel does not know (EINVAL past `cap_last_cap`).
pub fn drop_bounding_except(keep: u64) -> nix::Result<()> {
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes a capability number by value.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        match Errno::result(r) {
            Ok(_) => {}
            Err(Errno::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Clears the ambient set and sets `prctl(PR_SET_NO_NEW_PRIVS)`.
pub fn no_new_privs() -> nix::Result<()> {
    // SAFETY: both prctls take integers by value.
    unsafe {
        // Kernels before 4.3 have no ambient set; nothing to clear there.
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        );
        Errno::result(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)).map(drop)
    }
}

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets this process's effective and permitted sets to `mask` and empties the inheritable set,
/// as Docker does since 20.10.14 (CVE-2022-24769: an inheritable set would hand its bits to
/// a non-root user's exec of a file with inheritable file capabilities). exec as uid 0 then
/// yields exactly `mask` (root's exec takes the bounding set, `mask`); as another user, none.
pub fn set_capabilities(mask: u64) -> nix::Result<()> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let word = |w: u64| CapData {
        effective: w as u32,
        permitted: w as u32,
        inheritable: 0,
    };
    let data = [word(mask), word(mask >> 32)];
    // SAFETY: capset reads the version-3 header and two data structs, all on this frame.
    Errno::result(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
}

/// `struct mount_attr` (linux/mount.h).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// Makes the mount tree whose root `fd` is read-only, submounts included
/// (`mount_setattr(AT_RECURSIVE)`, Linux 5.12+). ENOSYS tells the caller to fall back to a
/// remount of the top mount.
pub fn set_read_only_recursive(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a static empty C string, the attr struct lives on this frame and its
    // size is passed; AT_EMPTY_PATH makes the call act on `fd` itself.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// Makes the controlling terminal of this (new) session the terminal on stdin.
pub fn take_controlling_terminal() -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer (0: do not steal from another session).
    Errno::result(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) }).map(drop)
}

/// `execve(path, argv, envp)`; returns only on failure, with its errno.
pub fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    // SAFETY: argv and envp are NULL-terminated arrays of pointers to NUL-terminated strings
    // owned by the plan, alive until exec replaces this process.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// `<prefix><fd>\0` in `buf` (e.g. `/proc/self/fd/7`), as a C string naming the file `fd`
/// is open on. `prefix` is checked by the plan to leave room for the digits.
pub fn fd_path<'b>(prefix: &[u8], fd: RawFd, buf: &'b mut [u8; 128]) -> nix::Result<&'b CStr> {
    let mut digits = [0u8; 12];
    let mut n = fd.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let total = prefix.len() + len;
    if total + 1 > buf.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    buf[..prefix.len()].copy_from_slice(prefix);
    for i in 0..len {
        buf[prefix.len() + i] = digits[len - 1 - i];
    }
    buf[total] = 0;
    CStr::from_bytes_with_nul(&buf[..=total]).map_err(|_| Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_mask_matches_dockers_capbnd() {
        assert_eq!(docker_cap_mask(), 0xa80425fb);
    }

    #[test]
    fn fd_paths_are_formatted_on_the_stack() {
        let mut buf = [0u8; 128];
        assert_eq!(
            fd_path(b"/proc/self/fd/", 7, &mut buf).unwrap(),
            c"/proc/self/fd/7"
        );
        assert_eq!(fd_path(b"/p/", 1234567, &mut buf).unwrap(), c"/p/1234567");
        assert!(fd_path(&[b'x'; 120], 12345678, &mut buf).is_err());
    }
}

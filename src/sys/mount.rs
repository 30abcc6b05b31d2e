//! `mount_setattr`, which nix and rustix do not wrap: a whole mount tree read-only at once.
//!
//! Contract: child-safe, returns `nix::Result`; ENOSYS (before Linux 5.12) is returned as is
//! for the caller's fallback.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::libc;

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
    // size is passed; AT_EMPTY_PATH makes the call act on `fd` itself, borrowed for the call.
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

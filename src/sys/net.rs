//! Bringing `lo` up in a new network namespace: two interface ioctls on a throwaway socket
//! (no netlink, no `ip` exec).
//!
//! Contract: child-safe, returns `nix::Result`, and closes its socket on every path.

use nix::errno::Errno;
use nix::libc;

use super::fd;

/// Sets IFF_UP on `lo` in this process's network namespace (SIOCGIFFLAGS + SIOCSIFFLAGS on a
/// datagram socket).
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
            // SAFETY: the flags member of the union was just written by the kernel.
            unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
            // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
            Errno::result(unsafe { libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) })
        });
    fd::close(sock);
    result.map(drop)
}

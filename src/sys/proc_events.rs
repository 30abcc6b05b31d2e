//! The kernel's process events connector (`NETLINK_CONNECTOR`, group `CN_IDX_PROC`): a socket
//! on which the kernel queues one message per fork, exec, exit (and id changes) of any task
//! of the host, as they happen.
//!
//! Contract: [`subscribe`] returns the socket only once the kernel acknowledged the listen
//! request with no error: it refuses (`EPERM`) a caller without CAP_NET_ADMIN, and silently
//! ignores one outside the initial user and pid namespaces (no acknowledgement: reported
//! here as `EPERM` too), so a socket returned here is sure to receive every event until its
//! receive buffer overflows (then [`receive`] reports `ENOBUFS` once: events were lost).
//! [`receive`] never blocks. [`unsubscribe`] sends the matching ignore request (kernels before
//! 6.6 count listeners globally and keep emitting events until told). The message layout
//! (`nlmsghdr`, `cn_msg`, `proc_event`) is parsed by the caller from the bytes received.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc;

/// `CN_IDX_PROC` / `CN_VAL_PROC` (linux/connector.h).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `enum proc_cn_mcast_op` (linux/cn_proc.h).
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;
/// `NLMSG_DONE`: the type the connector's requests are sent with.
const NLMSG_DONE: u16 = 3;
/// Bytes of `nlmsghdr` (16) + `cn_msg` (20) before a message's payload.
pub const HEADERS: usize = 36;

/// Opens a connector socket, asks for a receive buffer of `rcvbuf` bytes (forced past
/// `rmem_max` when privileged), joins the process events group and waits for the kernel's
/// acknowledgement of the listen request (sent synchronously, before `send` returns).
pub fn subscribe(rcvbuf: usize) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers; a non-negative result is a new descriptor we own.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_CONNECTOR,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` was just returned by socket() and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let size = libc::c_int::try_from(rcvbuf).unwrap_or(libc::c_int::MAX);
    if set_int_option(fd.as_raw_fd(), libc::SO_RCVBUFFORCE, size).is_err() {
        // Unprivileged: as much as rmem_max allows (the kernel clamps).
        let _ = set_int_option(fd.as_raw_fd(), libc::SO_RCVBUF, size);
    }
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value before the fields are set.
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    address.nl_groups = CN_IDX_PROC;
    // SAFETY: bind reads `size_of::<sockaddr_nl>()` bytes of the address on this frame.
    let bound = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const address).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if bound < 0 {
        return Err(io::Error::last_os_error());
    }
    // Our request's (seq, ack) pair: the kernel answers with ack + 1 (its own seq), which
    // tells our acknowledgement from another listener's (they go to the whole group).
    let tag = (std::process::id(), nanos_now());
    send_op(fd.as_fd(), PROC_CN_MCAST_LISTEN, tag)?;
    // The acknowledgement: a PROC_EVENT_NONE message whose payload's error word is 0. Other
    // events may already be queued before it (the group was joined by bind).
    let mut buf = [0u8; 4096];
    loop {
        let n = match receive(fd.as_fd(), &mut buf) {
            Ok(n) => n,
            // Events overflowed the buffer before the acknowledgement: read on.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // No acknowledgement: the kernel ignored the request (another namespace).
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::from_raw_os_error(libc::EPERM));
            }
            Err(e) => return Err(e),
        };
        if let Some(err) = acknowledgement(&buf[..n], tag) {
            return match err {
                0 => Ok(fd),
                err => Err(io::Error::from_raw_os_error(
                    i32::try_from(err).unwrap_or(libc::EPERM),
                )),
            };
        }
    }
}

/// The low 32 bits of the wall clock's nanoseconds (a tag, not a time).
fn nanos_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32)
}

/// The error word of the acknowledgement of the request tagged `(_, ack)` in `message` (a
/// `PROC_EVENT_NONE` event whose `cn_msg.ack` is `ack + 1`), if it is one.
fn acknowledgement(message: &[u8], (_, ack): (u32, u32)) -> Option<u32> {
    let word = |at: usize| -> Option<u32> {
        message
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    };
    // cn_msg: ack @28; proc_event: what (u32), cpu (u32), timestamp (u64), then the ack's
    // error word.
    let ours = word(28)? == ack.wrapping_add(1) && word(HEADERS)? == 0;
    ours.then(|| word(HEADERS + 16)).flatten()
}

/// Asks the kernel to stop sending events to this socket (before closing it).
pub fn unsubscribe(fd: BorrowedFd<'_>) -> io::Result<()> {
    send_op(fd, PROC_CN_MCAST_IGNORE, (0, 0))
}

/// Receives one datagram (one or more netlink messages) without blocking: `WouldBlock` when
/// none is queued, `ENOBUFS` once after the receive buffer overflowed (events were dropped).
pub fn receive(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into the live, exclusive buffer.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Sends a connector message carrying one `proc_cn_mcast_op`, tagged `(seq, ack)`.
fn send_op(fd: BorrowedFd<'_>, op: u32, (seq, ack): (u32, u32)) -> io::Result<()> {
    let mut message = [0u8; HEADERS + 4];
    let length = message.len() as u32;
    message[0..4].copy_from_slice(&length.to_ne_bytes()); // nlmsg_len
    message[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes()); // nlmsg_type
    // nlmsg_flags, nlmsg_seq, nlmsg_pid: 0 (the kernel fills the port id).
    message[16..20].copy_from_slice(&CN_IDX_PROC.to_ne_bytes()); // cn_msg.id.idx
    message[20..24].copy_from_slice(&CN_VAL_PROC.to_ne_bytes()); // cn_msg.id.val
    message[24..28].copy_from_slice(&seq.to_ne_bytes()); // cn_msg.seq
    message[28..32].copy_from_slice(&ack.to_ne_bytes()); // cn_msg.ack
    message[32..34].copy_from_slice(&4u16.to_ne_bytes()); // cn_msg.len
    message[HEADERS..].copy_from_slice(&op.to_ne_bytes());
    // SAFETY: send reads message.len() bytes from the live buffer on this frame.
    let sent = unsafe { libc::send(fd.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_int_option(fd: libc::c_int, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt reads one c_int from this frame.
    let done = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if done < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

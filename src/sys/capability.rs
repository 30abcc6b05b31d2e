//! The raw system calls that give the entered command its credentials: session keyring,
//! groups, uids and gids, securebits, the capability sets and `no_new_privs`, and a seccomp
//! filter.
//!
//! Contract: every function is safe to call in the forked child — a raw `syscall`/`prctl`
//! on integers and on memory the caller prepared, no allocation, no locks, no glibc wrapper
//! that talks to other threads (glibc's `setresuid` and friends signal every thread it knows
//! of to change credentials too, the "setxid broadcast"; a copy made by fork or clone has one
//! thread and must not take part in that). Each returns `nix::Result`.

use nix::errno::Errno;
use nix::libc;

use super::credentials::CapSets;
use super::seccomp::SeccompInstruction;

// The same calls the launched container's child makes, from one place.
pub use crate::launch::isolate::sys::{drop_bounding_except, join_new_session_keyring};

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Marks this process non-dumpable until exec: while it holds the entering fds (cgroup
/// files, the container's root) and changes credentials, processes of the container with the
/// same uid cannot ptrace it or open its `/proc` files. exec of the command resets it.
pub fn not_dumpable() -> nix::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes integers by value.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }).map(drop)
}

/// Sets the supplementary groups to exactly `groups`.
pub fn set_groups(groups: &[libc::gid_t]) -> nix::Result<()> {
    // SAFETY: the kernel reads `len` gids from the live slice.
    Errno::result(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) })
        .map(drop)
}

/// Real, effective and saved gid, then the file-system gid (`setresgid` sets it to the
/// effective one; `setfsgid` reports no error, so the result is read back).
pub fn set_gids(ids: [u32; 4]) -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::syscall(libc::SYS_setresgid, ids[0], ids[1], ids[2]) })?;
    if ids[3] != ids[1] {
        // SAFETY: integers by value; -1 (an invalid id) changes nothing and returns the
        // current file-system gid.
        let now = unsafe {
            libc::syscall(libc::SYS_setfsgid, ids[3]);
            libc::syscall(libc::SYS_setfsgid, u32::MAX)
        };
        if now as u32 != ids[3] {
            return Err(Errno::EPERM);
        }
    }
    Ok(())
}

/// Real, effective and saved uid (the file-system uid follows the effective one).
pub fn set_uids(ids: [u32; 3]) -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::syscall(libc::SYS_setresuid, ids[0], ids[1], ids[2]) }).map(drop)
}

/// The file-system uid, read back (`setfsuid` reports no error).
pub fn set_fsuid(id: u32) -> nix::Result<()> {
    // SAFETY: integers by value; -1 changes nothing and returns the current fsuid.
    let now = unsafe {
        libc::syscall(libc::SYS_setfsuid, id);
        libc::syscall(libc::SYS_setfsuid, u32::MAX)
    };
    if now as u32 == id {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// As nsenter does in a user namespace it joined: uid and gid 0 there, no supplementary
/// groups (a namespace whose `setgroups` says deny refuses that; not fatal).
pub fn become_namespace_root() -> nix::Result<()> {
    let _ = set_groups(&[]);
    // SAFETY: integers by value.
    unsafe {
        Errno::result(libc::syscall(libc::SYS_setresgid, 0, 0, 0))?;
        Errno::result(libc::syscall(libc::SYS_setresuid, 0, 0, 0))?;
    }
    Ok(())
}

/// `prctl(PR_SET_SECUREBITS)`.
pub fn set_securebits(bits: libc::c_int) -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0) })
        .map(drop)
}

/// This process's permitted set (`capget`).
pub fn permitted() -> nix::Result<u64> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two version-3 data structs into the array on this frame.
    Errno::result(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
    Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
}

/// Sets the effective, permitted and inheritable sets of `sets` (`capset`).
pub fn set_capabilities(sets: &CapSets) -> nix::Result<()> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let word = |shift: u32| CapData {
        effective: (sets.effective >> shift) as u32,
        permitted: (sets.permitted >> shift) as u32,
        inheritable: (sets.inheritable >> shift) as u32,
    };
    let data = [word(0), word(32)];
    // SAFETY: capset reads the version-3 header and two data structs, all on this frame.
    Errno::result(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
}

/// Makes the ambient set exactly `ambient` (each bit must be permitted and inheritable).
pub fn set_ambient(ambient: u64) -> nix::Result<()> {
    // SAFETY: integers by value.
    let cleared = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    match Errno::result(cleared) {
        // Kernels before 4.3 have no ambient set: nothing to clear, nothing can be raised.
        Err(Errno::EINVAL) if ambient == 0 => return Ok(()),
        other => other.map(drop)?,
    }
    for cap in 0..64u32 {
        if ambient & (1 << cap) == 0 {
            continue;
        }
        // SAFETY: integers by value.
        Errno::result(unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap as libc::c_ulong,
                0,
                0,
            )
        })?;
    }
    Ok(())
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: exec never grants privileges again (setuid bits and
/// file capabilities are ignored), for this process and every descendant.
pub fn set_no_new_privs() -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
}

/// Installs a seccomp filter (`PR_SET_SECCOMP`, `SECCOMP_MODE_FILTER`). Needs
/// `no_new_privs` or CAP_SYS_ADMIN.
pub fn install_seccomp(program: &[SeccompInstruction]) -> nix::Result<()> {
    let fprog = libc::sock_fprog {
        // SeccompProgram holds at most 4096 instructions.
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: the kernel copies `len` instructions from the live slice, whose element type
    // has sock_filter's layout (checked at compile time in `seccomp`); it never writes.
    Errno::result(unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
            0,
            0,
        )
    })
    .map(drop)
}

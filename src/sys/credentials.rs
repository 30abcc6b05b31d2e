//! Who a child is: supplementary groups, real/effective/saved and file-system ids, a new
//! session keyring, and dumpability — set by raw system calls.
//!
//! Contract: every function is child-safe and returns `nix::Result`. The ids are set by raw
//! `syscall`s, never glibc's wrappers: glibc's `setresuid` and friends signal every thread it
//! knows of to change credentials too (the "setxid broadcast"); a copy made by fork or clone
//! has one thread but glibc's list of the others, and would wait for them forever. The
//! kernel's calls change the calling thread only, which in such a child is the process.

use nix::errno::Errno;
use nix::libc;

/// Sets the supplementary groups to exactly `groups`.
pub fn set_groups(groups: &[libc::gid_t]) -> nix::Result<()> {
    // SAFETY: the kernel reads `len` gids from the live slice (none when it is empty).
    Errno::result(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) })
        .map(drop)
}

/// `setresgid(real, effective, saved)` (the file-system gid follows the effective one).
pub fn set_res_gid(real: u32, effective: u32, saved: u32) -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::syscall(libc::SYS_setresgid, real, effective, saved) }).map(drop)
}

/// `setresuid(real, effective, saved)` (the file-system uid follows the effective one).
pub fn set_res_uid(real: u32, effective: u32, saved: u32) -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::syscall(libc::SYS_setresuid, real, effective, saved) }).map(drop)
}

/// Real, effective and saved gid, then the file-system gid (`setresgid` sets it to the
/// effective one; `setfsgid` reports no error, so the result is read back).
pub fn set_gids(ids: [u32; 4]) -> nix::Result<()> {
    set_res_gid(ids[0], ids[1], ids[2])?;
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
    set_res_uid(ids[0], ids[1], ids[2])
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

/// Becomes uid 0 / gid 0 with no supplementary groups (the mapped root of a new user
/// namespace whose maps were written by a process with CAP_SETGID: setgroups is allowed).
pub fn become_root() -> nix::Result<()> {
    set_groups(&[])?;
    set_res_gid(0, 0, 0)?;
    set_res_uid(0, 0, 0)
}

/// As nsenter does in a user namespace it joined: uid and gid 0 there, no supplementary
/// groups (a namespace whose `setgroups` says deny refuses that; not fatal).
pub fn become_namespace_root() -> nix::Result<()> {
    let _ = set_groups(&[]);
    set_res_gid(0, 0, 0)?;
    set_res_uid(0, 0, 0)
}

/// Becomes `uid`/`gid` with exactly `groups` as supplementary groups. Leaving uid 0 clears
/// the permitted and effective capability sets (no `PR_SET_KEEPCAPS`), as an exec by a
/// non-root user would.
pub fn set_user(uid: u32, gid: u32, groups: &[libc::gid_t]) -> nix::Result<()> {
    set_groups(groups)?;
    set_res_gid(gid, gid, gid)?;
    set_res_uid(uid, uid, uid)
}

/// `KEYCTL_JOIN_SESSION_KEYRING` (linux/keyctl.h).
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

/// Joins a new anonymous session keyring, as runc does: the starter's (root's) session
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

/// Marks this process non-dumpable until exec: while it holds the entering fds (cgroup
/// files, the container's root) and changes credentials, processes of the container with the
/// same uid cannot ptrace it or open its `/proc` files. exec of the command resets it.
pub fn not_dumpable() -> nix::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes integers by value.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }).map(drop)
}

/// `KEYCTL_GET_KEYRING_ID` and `KEY_SPEC_SESSION_KEYRING` (linux/keyctl.h).
const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

/// This process's session keyring by id (the user-session keyring when it has none); ENOSYS
/// on a kernel without keys. Looks only: never makes one.
pub fn session_keyring() -> nix::Result<i64> {
    // SAFETY: KEYCTL_GET_KEYRING_ID takes integers only (create = 0: look, do not make one).
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0 as libc::c_long,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_a_new_session_keyring_changes_it_in_a_child_only() {
        let Ok(before) = session_keyring() else {
            return; // a kernel without keys
        };
        let child = super::super::process::fork_child(|| {
            let joined = join_new_session_keyring().is_ok();
            let changed = session_keyring().is_ok_and(|now| now != before);
            super::super::process::exit_now(if joined && changed { 0 } else { 1 })
        })
        .unwrap();
        let status = nix::sys::wait::waitpid(child, None).unwrap();
        assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
        assert_eq!(session_keyring().unwrap(), before);
    }
}

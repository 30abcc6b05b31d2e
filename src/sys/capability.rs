//! What a child may do as root: its capability sets (`capget`/`capset`), the bounding and
//! ambient sets, securebits and `no_new_privs`, all by `prctl` or raw `syscall`.
//!
//! Contract: every function is child-safe (integers and memory on the caller's frame, no
//! allocation) and returns `nix::Result`. Sets are 64-bit masks of capability numbers
//! (linux/capability.h), read and written as `_LINUX_CAPABILITY_VERSION_3` (two 32-bit words
//! per set) for this process only.

use nix::errno::Errno;
use nix::libc;

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

/// The header for this process (pid 0).
fn own_header() -> CapHeader {
    CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    }
}

/// This process's permitted set (`capget`).
pub fn permitted() -> nix::Result<u64> {
    let mut header = own_header();
    let mut data = [CapData::default(); 2];
    // SAFETY: capget reads the version-3 header and writes two version-3 data structs into
    // the array, all on this frame.
    Errno::result(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
    Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
}

/// Sets this process's effective, permitted and inheritable sets (`capset`).
pub fn set(effective: u64, permitted: u64, inheritable: u64) -> nix::Result<()> {
    let mut header = own_header();
    let word = |shift: u32| CapData {
        effective: (effective >> shift) as u32,
        permitted: (permitted >> shift) as u32,
        inheritable: (inheritable >> shift) as u32,
    };
    let data = [word(0), word(32)];
    // SAFETY: capset reads the version-3 header and two data structs, all on this frame.
    Errno::result(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
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

/// Empties the ambient set (EINVAL before Linux 4.3, which has none).
pub fn clear_ambient() -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    })
    .map(drop)
}

/// Makes the ambient set exactly `ambient` (each bit must be permitted and inheritable).
pub fn set_ambient(ambient: u64) -> nix::Result<()> {
    match clear_ambient() {
        // Kernels before 4.3 have no ambient set: nothing to clear, nothing can be raised.
        Err(Errno::EINVAL) if ambient == 0 => return Ok(()),
        other => other?,
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

/// `prctl(PR_SET_SECUREBITS)`.
pub fn set_securebits(bits: libc::c_int) -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0) })
        .map(drop)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: exec never grants privileges again (setuid bits and
/// file capabilities are ignored); permanent for this process and its children.
pub fn set_no_new_privs() -> nix::Result<()> {
    // SAFETY: integers by value.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permitted_set_matches_proc_status() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let cap_prm = status
            .lines()
            .find_map(|l| l.strip_prefix("CapPrm:"))
            .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
            .unwrap();
        assert_eq!(permitted().unwrap(), cap_prm);
    }
}

//! Docker's default capability set, which isotop's containers get (as bounding set, and as
//! effective and permitted sets for root).
//!
//! Contract: [`DOCKER_CAPS`] names and numbers the set (moby's `oci/caps/defaults.go`);
//! [`docker_cap_mask`] is the same set as the 64-bit mask `sys::capability` takes.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_mask_matches_dockers_capbnd() {
        assert_eq!(docker_cap_mask(), 0xa80425fb);
    }
}

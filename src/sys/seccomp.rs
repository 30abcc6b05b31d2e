//! Installing a classic-BPF seccomp filter in this process.
//!
//! Contract: [`install`] loads one filter with `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)`
//! (the same kernel path as `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)`); it is child-safe,
//! needs `no_new_privs` or CAP_SYS_ADMIN, and is permanent for the process and everything it
//! starts. The kernel checks the program itself (EINVAL for a bad one, E2BIG here for one
//! longer than a `u16` can count). [`SeccompInstruction`] is the kernel's `struct
//! sock_filter` layout; [`from_seccompiler`] views `seccompiler`'s instructions as it,
//! without copying (so a child can install a filter built before its fork).

use std::os::raw::c_ushort;

use nix::errno::Errno;
use nix::libc;

/// One `struct sock_filter` (linux/filter.h): the layout the kernel reads.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompInstruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// The kernel reads these as `struct sock_filter`; `from_seccompiler` reinterprets
// seccompiler's, which must have the same layout.
const _: () = assert!(
    std::mem::size_of::<SeccompInstruction>() == std::mem::size_of::<libc::sock_filter>()
        && std::mem::align_of::<SeccompInstruction>() == std::mem::align_of::<libc::sock_filter>()
        && std::mem::size_of::<SeccompInstruction>()
            == std::mem::size_of::<seccompiler::sock_filter>()
        && std::mem::align_of::<SeccompInstruction>()
            == std::mem::align_of::<seccompiler::sock_filter>()
);

/// `struct sock_fprog` (linux/filter.h).
#[repr(C)]
struct SockFprog {
    len: c_ushort,
    filter: *const SeccompInstruction,
}

/// Loads `filter` into this process. Child-safe.
pub fn install(filter: &[SeccompInstruction]) -> nix::Result<()> {
    let program = SockFprog {
        len: c_ushort::try_from(filter.len()).map_err(|_| Errno::E2BIG)?,
        filter: filter.as_ptr(),
    };
    // SAFETY: the kernel copies `len` instructions from `filter`, which is borrowed for the
    // call and has sock_filter's layout (asserted above); the struct is on this frame.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &program as *const SockFprog,
        )
    })
    .map(drop)
}

/// `seccompiler`'s instructions as the kernel's, borrowed (no copy, no allocation).
pub fn from_seccompiler(filter: &[seccompiler::sock_filter]) -> &[SeccompInstruction] {
    // SAFETY: both types are repr(C) structs of u16, u8, u8, u32 with the same size and
    // alignment (asserted above), every bit pattern is valid for either, and the returned
    // slice borrows `filter` for its whole life.
    unsafe { std::slice::from_raw_parts(filter.as_ptr().cast(), filter.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccompiler_instructions_read_the_same() {
        let theirs = [seccompiler::sock_filter {
            code: 0x06,
            jt: 1,
            jf: 2,
            k: 0x7fff_0000,
        }];
        assert_eq!(
            from_seccompiler(&theirs),
            [SeccompInstruction {
                code: 0x06,
                jt: 1,
                jf: 2,
                k: 0x7fff_0000
            }]
        );
    }
}

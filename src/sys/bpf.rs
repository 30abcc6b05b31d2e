//! The `bpf(2)` calls behind cgroup v2's device rules: load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program and attach it to a cgroup.
//!
//! Contract: the instructions ([`Insn`], the kernel's `struct bpf_insn`) are the caller's;
//! the kernel's verifier checks them on load. Each call returns `nix::Result`; a loaded
//! program is an owned descriptor, closed on drop (an attached program lives on with its
//! cgroup).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// `union bpf_attr` for BPF_PROG_LOAD, up to the fields used; the rest stays zero (the kernel
/// requires unknown trailing bytes to be zero).
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    padding: [u64; 8],
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    padding: [u32; 11],
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;

/// Loads `insns` as a cgroup device program under `license` and `name` (at most 15 bytes
/// are kept, the kernel's limit).
pub fn load_cgroup_device_program(
    insns: &[Insn],
    license: &CStr,
    name: &str,
) -> nix::Result<OwnedFd> {
    let mut prog_name = [0u8; 16];
    let kept = name.len().min(15);
    prog_name[..kept].copy_from_slice(&name.as_bytes()[..kept]);
    let mut load = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| nix::Error::E2BIG)?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name,
        ..ProgLoad::default()
    };
    // SAFETY: `load` is a repr(C) bpf_attr prefix of the size passed, exclusively borrowed;
    // its pointers (instructions, license) point to memory borrowed for the whole call.
    let fd = nix::Error::result(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &mut load as *mut ProgLoad,
            std::mem::size_of::<ProgLoad>(),
        )
    })?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor that only the caller owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attaches a loaded device program to the cgroup directory open as `cgroup`.
pub fn attach_cgroup_device(cgroup: BorrowedFd<'_>, program: BorrowedFd<'_>) -> nix::Result<()> {
    let mut attach = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..ProgAttach::default()
    };
    // SAFETY: `attach` is a repr(C) bpf_attr prefix of the size passed, exclusively borrowed;
    // it holds descriptor numbers only, both borrowed for the call.
    nix::Error::result(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &mut attach as *mut ProgAttach,
            std::mem::size_of::<ProgAttach>(),
        )
    })
    .map(drop)
}

//! A seccomp filter for the entered command: a classic-BPF program (`struct sock_filter`
//! instructions) built in isotop before the fork and installed by the child just before exec
//! (see `child`): after `no_new_privs` when the init has it, else while the child still holds
//! `CAP_SYS_ADMIN`, before its credentials change (as runc orders it), so the program must
//! allow `capset`, `prctl`, `setresuid`, `setresgid`, `setgroups` and `execve` (Docker's
//! default profile does).
//!
//! Contract: a [`SeccompProgram`] holds 1 to 4096 instructions (the kernel's `BPF_MAXINSNS`);
//! the kernel checks the program itself when it is installed (EINVAL names a bad one).

use super::super::error::ControlError;

/// The kernel's limit on a classic-BPF program's length.
const MAX_INSTRUCTIONS: usize = 4096;

/// One `struct sock_filter` (linux/filter.h): the layout the kernel reads.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompInstruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// The child passes a pointer to these as `struct sock_filter *`.
const _: () = assert!(
    std::mem::size_of::<SeccompInstruction>() == std::mem::size_of::<nix::libc::sock_filter>()
        && std::mem::align_of::<SeccompInstruction>()
            == std::mem::align_of::<nix::libc::sock_filter>()
);

/// A whole filter program, ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompProgram {
    instructions: Vec<SeccompInstruction>,
}

impl SeccompProgram {
    /// Takes a built program (e.g. from `seccompiler`'s `BpfProgram`, instruction by
    /// instruction); refuses an empty one or one longer than the kernel accepts.
    pub fn new(instructions: Vec<SeccompInstruction>) -> Result<SeccompProgram, ControlError> {
        if instructions.is_empty() || instructions.len() > MAX_INSTRUCTIONS {
            return Err(ControlError::InvalidValue {
                what: "seccomp program".into(),
                value: format!("{} instructions", instructions.len()),
                hint: "a filter has 1 to 4096 instructions".into(),
            });
        }
        Ok(SeccompProgram { instructions })
    }

    pub fn instructions(&self) -> &[SeccompInstruction] {
        &self.instructions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_have_one_to_4096_instructions() {
        let allow = SeccompInstruction {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        };
        assert!(SeccompProgram::new(Vec::new()).is_err());
        assert!(SeccompProgram::new(vec![allow; 4097]).is_err());
        let program = SeccompProgram::new(vec![allow; 4096]).unwrap();
        assert_eq!(program.instructions().len(), 4096);
    }
}

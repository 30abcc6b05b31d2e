//! A seccomp filter for the entered command: a classic-BPF program (`struct sock_filter`
//! instructions) built in isotop before the fork and installed by the child just before exec
//! (see `child`): after `no_new_privs` when the init has it, else while the child still holds
//! `CAP_SYS_ADMIN`, before its credentials change (as runc orders it), so the program must
//! allow `capset`, `prctl`, `setresuid`, `setresgid`, `setgroups` and `execve` (Docker's
//! default profile does).
//!
//! Contract: a [`SeccompProgram`] is one or more filters installed in order, each of 1 to 4096
//! instructions (the kernel's `BPF_MAXINSNS`); the kernel checks each filter itself when it is
//! installed (EINVAL names a bad one). [`SeccompProgram::docker_default`] is the filter isotop's
//! own containers run under (`launch::seccomp`), for commands entered into them.

use super::super::error::ControlError;

/// The kernel's limit on a classic-BPF program's length.
const MAX_INSTRUCTIONS: usize = 4096;

/// One `struct sock_filter`, the layout the kernel reads (defined beside the call that
/// installs it).
pub use crate::sys::seccomp::SeccompInstruction;

/// A whole filter program (its filters in install order), ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompProgram {
    filters: Vec<Vec<SeccompInstruction>>,
}

impl SeccompProgram {
    /// Takes a built program (e.g. from `seccompiler`'s `BpfProgram`, instruction by
    /// instruction); refuses an empty one or one longer than the kernel accepts.
    pub fn new(instructions: Vec<SeccompInstruction>) -> Result<SeccompProgram, ControlError> {
        SeccompProgram::from_filters(vec![instructions])
    }

    /// Several filters, installed in order (the kernel runs them all; the strictest answer
    /// wins). Each is checked as [`SeccompProgram::new`] checks one.
    pub fn from_filters(
        filters: Vec<Vec<SeccompInstruction>>,
    ) -> Result<SeccompProgram, ControlError> {
        if filters.is_empty() {
            return Err(ControlError::InvalidValue {
                what: "seccomp program".into(),
                value: "no filter".into(),
                hint: "give at least one filter".into(),
            });
        }
        for instructions in &filters {
            if instructions.is_empty() || instructions.len() > MAX_INSTRUCTIONS {
                return Err(ControlError::InvalidValue {
                    what: "seccomp program".into(),
                    value: format!("{} instructions", instructions.len()),
                    hint: "a filter has 1 to 4096 instructions".into(),
                });
            }
        }
        Ok(SeccompProgram { filters })
    }

    /// The filter isotop's own containers run under: Docker's default profile, as
    /// `launch::seccomp` builds it for `isotop run`.
    pub fn docker_default() -> Result<SeccompProgram, ControlError> {
        let launched = crate::launch::seccomp::docker_default_program()
            .map_err(|e| ControlError::Other(e.to_string()))?;
        SeccompProgram::from_filters(
            launched
                .filters()
                .iter()
                .map(|filter| {
                    filter
                        .iter()
                        .map(|i| SeccompInstruction {
                            code: i.code,
                            jt: i.jt,
                            jf: i.jf,
                            k: i.k,
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// The filters, in install order.
    pub fn filters(&self) -> impl Iterator<Item = &[SeccompInstruction]> {
        self.filters.iter().map(Vec::as_slice)
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
        assert_eq!(
            program.filters().map(<[_]>::len).collect::<Vec<_>>(),
            [4096]
        );
        assert!(SeccompProgram::from_filters(Vec::new()).is_err());
        assert!(SeccompProgram::from_filters(vec![vec![allow], Vec::new()]).is_err());
    }

    #[test]
    fn the_launch_profile_converts_filter_by_filter() {
        let launched = crate::launch::seccomp::docker_default_program().unwrap();
        let entered = SeccompProgram::docker_default().unwrap();
        assert_eq!(
            entered.filters().map(<[_]>::len).collect::<Vec<_>>(),
            launched.lengths()
        );
    }
}

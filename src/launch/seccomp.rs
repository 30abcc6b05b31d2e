//! The seccomp filter isotop's containers run under: Docker's default profile (see
//! [`profile`]), compiled with `seccompiler` (rust-vmm: pure Rust, no libseccomp) for this
//! machine's architecture (x86_64, aarch64, riscv64).
//!
//! Contract:
//! - [`docker_default_program`] builds the filter as BPF, in the caller's memory; building
//!   allocates, so do it before `fork`/`clone`. [`SeccompProgram::install`] then loads it with
//!   raw system calls only (no allocation, async-signal-safe): the container's setup calls it
//!   as its last step before `exec`, and `enter` may call it in the process it starts in an
//!   isotop container. Installing needs `no_new_privs` (or CAP_SYS_ADMIN) and is permanent
//!   for the process and everything it starts.
//! - The program is two filters: the profile's allowlist (default `EPERM`; a system call of
//!   another ABI is refused — i386 and arm32 ones kill the process, x32 ones fail with
//!   `EPERM` — the filter is built for the native ABI only, where Docker's also admits the
//!   compat ABIs), then a small one returning `ENOSYS`
//!   for `clone3` and for numbers newer than the profile. The kernel runs both and the second
//!   one's `ENOSYS` wins over the first one's `EPERM` (equal precedence: the newest filter's).
//! - [`SeccompMode`] is what a container records in its `config.json` (`"seccomp":
//!   "docker-default"` or `"unconfined"`, the operator's `--security-opt seccomp=unconfined`).

mod profile;

use std::sync::OnceLock;

use nix::libc;
use seccompiler::{BpfProgram, TargetArch, sock_filter};
use serde::{Deserialize, Serialize};

use crate::sys;

use profile::{ALLOWED, ArgTest, CONDITIONAL, X32_SYSCALL_BIT, arch_allowed};
pub use profile::{CLONE_NAMESPACE_FLAGS, CLONE3, FIRST_UNKNOWN};

/// Which filter a container runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompMode {
    /// Docker's default profile ([`docker_default_program`]).
    #[default]
    DockerDefault,
    /// No filter (`--security-opt seccomp=unconfined`).
    Unconfined,
}

impl SeccompMode {
    /// Parses a `--security-opt` value: `seccomp=unconfined` (Docker's spelling) or
    /// `seccomp=default`. `Ok(None)` for `no-new-privileges` (always on in isotop); anything
    /// else is an error naming what is accepted.
    pub fn parse_security_opt(text: &str) -> Result<Option<SeccompMode>, String> {
        match text {
            "seccomp=unconfined" | "seccomp:unconfined" => Ok(Some(SeccompMode::Unconfined)),
            "seccomp=default" | "seccomp=docker-default" => Ok(Some(SeccompMode::DockerDefault)),
            "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true" => Ok(None),
            other if other.starts_with("seccomp") => Err(
                "isotop has Docker's default profile built in: use seccomp=unconfined to run \
                 without it (profile files are not supported)"
                    .into(),
            ),
            _ => Err("use seccomp=unconfined or no-new-privileges".into()),
        }
    }

    /// The name stored in `config.json` and shown by `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            SeccompMode::DockerDefault => "docker-default",
            SeccompMode::Unconfined => "unconfined",
        }
    }
}

/// Why the filter could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SeccompError {
    #[error(
        "no seccomp filter for the {0} architecture (isotop builds Docker's profile for x86_64, \
         aarch64 and riscv64): run with --security-opt seccomp=unconfined"
    )]
    Architecture(String),
    #[error("building Docker's default seccomp filter for {arch:?} failed: {why}")]
    Compile { arch: TargetArch, why: String },
}

/// A compiled filter: BPF programs installed in order (see the module contract).
#[derive(Debug, Clone, PartialEq)]
pub struct SeccompProgram {
    filters: Vec<BpfProgram>,
}

/// Docker's default profile for this machine's architecture. Compiled once per process
/// (a few milliseconds: the crate's table is consulted name by name) and cloned after.
pub fn docker_default_program() -> Result<SeccompProgram, SeccompError> {
    static COMPILED: OnceLock<Result<SeccompProgram, SeccompError>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        let arch = TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|_| SeccompError::Architecture(std::env::consts::ARCH.into()))?;
        docker_default_program_for(arch)
    });
    compiled.clone()
}

/// Docker's default profile for `arch`.
pub fn docker_default_program_for(arch: TargetArch) -> Result<SeccompProgram, SeccompError> {
    let (allowlist, _skipped) = compile_allowlist(arch)?;
    Ok(SeccompProgram {
        filters: vec![allowlist, enosys_filter()],
    })
}

/// The allowlist filter for `arch`, and the profile's names `arch` does not have.
fn compile_allowlist(arch: TargetArch) -> Result<(BpfProgram, Vec<&'static str>), SeccompError> {
    let failed = |why: String| SeccompError::Compile { arch, why };
    let mut unconditional: Vec<&'static str> = ALLOWED.to_vec();
    unconditional.extend_from_slice(arch_allowed(arch));
    let mut conditional = CONDITIONAL.to_vec();
    let mut skipped = Vec::new();
    // The profile lists names of every architecture; the crate's table for `arch` knows which
    // exist there. Drop the ones it calls unknown, one at a time, as libseccomp skips them.
    // Bounded: each round removes one name or returns.
    loop {
        let json = allowlist_json(&unconditional, &conditional);
        match seccompiler::compile_from_json(json.as_bytes(), arch) {
            Ok(mut map) => {
                return match map.remove(FILTER_NAME) {
                    Some(program) => Ok((program, skipped)),
                    None => Err(failed("the compiled map lacks the filter".into())),
                };
            }
            Err(e) => {
                let Some(name) = unknown_name(&e, &unconditional, &conditional) else {
                    return Err(failed(e.to_string()));
                };
                unconditional.retain(|n| *n != name);
                conditional.retain(|c| c.name != name);
                skipped.push(name);
            }
        }
    }
}

/// The key of the one filter in the JSON document.
const FILTER_NAME: &str = "container";

/// seccompiler's JSON for the allowlist: match → allow, no match → `EPERM`.
fn allowlist_json(unconditional: &[&str], conditional: &[profile::Conditional]) -> String {
    let mut rules: Vec<serde_json::Value> = unconditional
        .iter()
        .map(|name| serde_json::json!({ "syscall": name }))
        .collect();
    for rule in conditional {
        // seccompiler's spelling: "dword" compares the low 32 bits, "qword" all 64.
        let (len, op, value) = match rule.test {
            ArgTest::Equals32(v) => ("dword", serde_json::json!("eq"), u64::from(v)),
            ArgTest::Differs32(v) => ("dword", serde_json::json!("ne"), u64::from(v)),
            ArgTest::NoneOf64(mask) => ("qword", serde_json::json!({ "masked_eq": mask }), 0),
        };
        rules.push(serde_json::json!({
            "syscall": rule.name,
            "args": [{ "index": rule.index, "type": len, "op": op, "val": value }],
        }));
    }
    serde_json::json!({
        FILTER_NAME: {
            "mismatch_action": { "errno": libc::EPERM },
            "match_action": "allow",
            "filter": rules,
        }
    })
    .to_string()
}

/// The profile name the compiler's error calls unknown for the architecture, if that is what
/// failed (its message is "Invalid syscall name: NAME for given arch: ARCH.").
fn unknown_name(
    error: &seccompiler::Error,
    unconditional: &[&'static str],
    conditional: &[profile::Conditional],
) -> Option<&'static str> {
    let text = error.to_string();
    let name = text
        .split("Invalid syscall name: ")
        .nth(1)?
        .split(" for given arch")
        .next()?;
    unconditional
        .iter()
        .copied()
        .chain(conditional.iter().map(|c| c.name))
        .find(|n| *n == name)
}

/// `ENOSYS` for `clone3` and for numbers from [`FIRST_UNKNOWN`] (below the x32 bit); allow
/// otherwise, leaving the verdict to the allowlist. No architecture check is needed here: the
/// allowlist kills other ABIs, and a kill outranks an errno.
fn enosys_filter() -> BpfProgram {
    let stmt = |code: u32, k: u32| sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    vec![
        // seccomp_data.nr, offset 0.
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        // x32 numbers: allow here (the allowlist refuses them).
        jump(
            libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
            X32_SYSCALL_BIT,
            3,
            0,
        ),
        jump(
            libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
            FIRST_UNKNOWN,
            1,
            0,
        ),
        jump(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, CLONE3, 0, 1),
        stmt(libc::BPF_RET | libc::BPF_K, enosys),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

impl SeccompProgram {
    /// Loads every filter into this process (`seccomp(SECCOMP_SET_MODE_FILTER)`, see
    /// [`crate::sys::seccomp`]), in order. Only system calls: safe between `clone`/`fork`
    /// and `exec`. Needs `no_new_privs` (or CAP_SYS_ADMIN); on error the filters before the
    /// failing one stay installed.
    pub fn install(&self) -> nix::Result<()> {
        for filter in &self.filters {
            sys::seccomp::install(sys::seccomp::from_seccompiler(filter))?;
        }
        Ok(())
    }

    /// The filters, in install order (`enter` installs the same ones in commands it starts).
    pub fn filters(&self) -> &[BpfProgram] {
        &self.filters
    }

    /// The number of BPF instructions in each filter (for tests and `inspect`).
    pub fn lengths(&self) -> Vec<usize> {
        self.filters.iter().map(Vec::len).collect()
    }
}

#[cfg(test)]
mod tests;

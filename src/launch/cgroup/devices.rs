//! Which device nodes a container may use: runc's default rules — `mknod` of any node, but
//! read and write only of the harmless character devices (null, zero, full, random, urandom)
//! and terminals (tty, console, ptmx, pts). Without them a container's root could make a node
//! for the host's disk (CAP_MKNOD is in Docker's capability set) and open it.
//!
//! Contract: on v1 the rules go to the `devices` controller ([`restrict_v1`]: deny all, then
//! allow each); v2 has no such files, so [`restrict_v2`] attaches a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program built from the same rules to the container's cgroup (the kernel runs it on every
//! open and mknod of a device node; it lives as long as the cgroup, nothing to detach).

use std::os::fd::AsFd;
use std::path::Path;

use crate::launch::error::LaunchError;
use crate::sys::bpf::{self, Insn};

/// `BPF_DEVCG_DEV_*`: the device type in the program's context.
const BLOCK: u32 = 1;
const CHAR: u32 = 2;
/// `BPF_DEVCG_ACC_*`: the access asked for.
const MKNOD: u32 = 1;
const READ: u32 = 2;
const WRITE: u32 = 4;

/// One rule: type (`None` = both), major and minor (`None` = any), accesses allowed.
#[derive(Debug, Clone, Copy)]
struct Rule {
    kind: Option<u32>,
    major: Option<u32>,
    minor: Option<u32>,
    access: u32,
}

const fn rule(kind: u32, major: Option<u32>, minor: Option<u32>, access: u32) -> Rule {
    Rule {
        kind: Some(kind),
        major,
        minor,
        access,
    }
}

const RWM: u32 = READ | WRITE | MKNOD;

/// The allowed devices (everything else is denied).
const RULES: [Rule; 11] = [
    rule(CHAR, None, None, MKNOD),
    rule(BLOCK, None, None, MKNOD),
    rule(CHAR, Some(1), Some(3), RWM), // null
    rule(CHAR, Some(1), Some(5), RWM), // zero
    rule(CHAR, Some(1), Some(7), RWM), // full
    rule(CHAR, Some(1), Some(8), RWM), // random
    rule(CHAR, Some(1), Some(9), RWM), // urandom
    rule(CHAR, Some(5), Some(0), RWM), // tty
    rule(CHAR, Some(5), Some(1), RWM), // console
    rule(CHAR, Some(5), Some(2), RWM), // ptmx
    rule(CHAR, Some(136), None, RWM),  // pts
];

impl Rule {
    /// The rule as a v1 `devices.allow` line (`c 1:3 rwm`).
    fn v1_line(&self) -> String {
        let kind = match self.kind {
            Some(BLOCK) => "b",
            Some(CHAR) => "c",
            _ => "a",
        };
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, letter) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(letter);
            }
        }
        format!(
            "{kind} {}:{} {access}",
            number(self.major),
            number(self.minor)
        )
    }
}

/// v1: deny everything, then allow each rule.
pub fn restrict_v1(dir: &Path) -> Result<(), LaunchError> {
    let deny = dir.join("devices.deny");
    std::fs::write(&deny, "a").map_err(|e| LaunchError::io("write", &deny, e))?;
    let allow = dir.join("devices.allow");
    for rule in RULES {
        std::fs::write(&allow, rule.v1_line()).map_err(|e| LaunchError::io("write", &allow, e))?;
    }
    Ok(())
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// Opcodes used (BPF_LDX|BPF_MEM|BPF_W, BPF_ALU64 mov/and/rsh, BPF_JMP jne, BPF_EXIT).
const LDX_W: u8 = 0x61;
const MOV_REG: u8 = 0xbf;
const MOV_IMM: u8 = 0xb7;
const AND_IMM: u8 = 0x57;
const RSH_IMM: u8 = 0x77;
const JNE_IMM: u8 = 0x55;
const EXIT: u8 = 0x95;

/// The program: r3 = type, r4 = access, r5 = major, r6 = minor (from `struct
/// bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, access_type = access << 16
/// | type); each rule is a block that jumps to the next on a mismatch and returns 1 (allow)
/// otherwise; falling off the last block returns 0 (deny).
fn program() -> Vec<Insn> {
    let mut out = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV_REG, 3, 2, 0, 0),
        insn(AND_IMM, 3, 0, 0, 0xffff),
        insn(MOV_REG, 4, 2, 0, 0),
        insn(RSH_IMM, 4, 0, 0, 16),
        insn(LDX_W, 5, 1, 4, 0),
        insn(LDX_W, 6, 1, 8, 0),
    ];
    for rule in RULES {
        let checks: Vec<(u8, u32)> = [(3, rule.kind), (5, rule.major), (6, rule.minor)]
            .into_iter()
            .filter_map(|(reg, value)| value.map(|v| (reg, v)))
            .collect();
        // Block: the checks, the access test (3), allow (2).
        let len = checks.len() + 5;
        let to_next = |index: usize| (len - index - 1) as i16;
        for (index, (reg, value)) in checks.iter().enumerate() {
            out.push(insn(JNE_IMM, *reg, 0, to_next(index), *value as i32));
        }
        let at = checks.len();
        out.push(insn(MOV_REG, 7, 4, 0, 0));
        // Any access bit outside the rule's: not this rule.
        out.push(insn(AND_IMM, 7, 0, 0, (!rule.access & RWM) as i32));
        out.push(insn(JNE_IMM, 7, 0, to_next(at + 2), 0));
        out.push(insn(MOV_IMM, 0, 0, 0, 1));
        out.push(insn(EXIT, 0, 0, 0, 0));
    }
    out.push(insn(MOV_IMM, 0, 0, 0, 0));
    out.push(insn(EXIT, 0, 0, 0, 0));
    out
}

/// v2: attaches the rules as a device program to the cgroup at `dir`.
pub fn restrict_v2(dir: &Path) -> Result<(), LaunchError> {
    let insns = program();
    let prog = bpf::load_cgroup_device_program(&insns, c"Apache-2.0", "isotop_device")
        .map_err(|e| LaunchError::kernel("loading the device rules (bpf BPF_PROG_LOAD)", e))?;
    let cgroup = std::fs::File::open(dir).map_err(|e| LaunchError::io("open", dir, e))?;
    bpf::attach_cgroup_device(cgroup.as_fd(), prog.as_fd()).map_err(|e| {
        LaunchError::kernel(
            format!("attaching the device rules to {}", dir.display()),
            e,
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines_read_like_runc() {
        let lines: Vec<String> = RULES.iter().map(Rule::v1_line).collect();
        assert_eq!(lines[0], "c *:* m");
        assert_eq!(lines[1], "b *:* m");
        assert_eq!(lines[2], "c 1:3 rwm");
        assert_eq!(lines[10], "c 136:* rwm");
    }

    /// Runs the program on one request, as the kernel would (a tiny interpreter of the
    /// instructions it uses).
    fn run(kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | kind, major, minor];
        let prog = program();
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0x0f) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = u64::from(ctx[i.off as usize / 4]),
                MOV_REG => r[dst] = r[src],
                MOV_IMM => r[dst] = i.imm as i64 as u64,
                AND_IMM => r[dst] &= i.imm as i64 as u64,
                RSH_IMM => r[dst] >>= i.imm,
                JNE_IMM => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc = (pc as i64 + i64::from(i.off)) as usize;
                    }
                }
                EXIT => return r[0],
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_program_allows_exactly_the_rules() {
        assert_eq!(run(CHAR, READ | WRITE, 1, 3), 1, "/dev/null");
        assert_eq!(run(CHAR, READ, 1, 9), 1, "/dev/urandom");
        assert_eq!(run(CHAR, READ | WRITE, 136, 7), 1, "/dev/pts/7");
        assert_eq!(run(CHAR, MKNOD, 8, 0), 1, "mknod of anything");
        assert_eq!(run(BLOCK, MKNOD, 8, 0), 1, "mknod of a block device");
        assert_eq!(run(BLOCK, READ, 8, 0), 0, "reading a disk");
        assert_eq!(run(CHAR, WRITE, 1, 11), 0, "/dev/kmsg");
        assert_eq!(run(CHAR, READ, 1, 1), 0, "/dev/mem");
        assert_eq!(run(CHAR, READ | MKNOD, 1, 11), 0, "mknod plus read");
        assert_eq!(
            run(BLOCK, READ, 1, 3),
            0,
            "a block device numbered like null"
        );
    }

    #[test]
    fn the_program_loads_and_holds_for_real() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: needs root (loads a BPF program, makes a cgroup)");
            return;
        }
        let host = crate::host::HostRoot::live();
        let layout = crate::host::cgroup::detect_layout(&host).unwrap();
        let Some(v2) = layout.v2() else {
            eprintln!("skipping: no cgroup v2 hierarchy mounted");
            return;
        };
        let dir = v2
            .dir
            .join(format!("isotop-test-devices-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        struct Remove(std::path::PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let _remove = Remove(dir.clone());
        restrict_v2(&dir).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let node = tmp.path().join("kmsg");
        // The shell moves itself into the cgroup first: only its v2 membership changes.
        let script = format!(
            "echo $$ > {}/cgroup.procs && mknod {node} c 1 11 && \
             (true > {node} && echo opened); true > /dev/null && echo null-ok",
            dir.display(),
            node = node.display()
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "null-ok\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

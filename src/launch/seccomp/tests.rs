use std::process::Command;

use super::*;

/// The profile's names x86_64 does not have: the 32-bit ABIs' variants and other
/// architectures' calls. Anything else skipped would be a typo in the profile.
const NOT_ON_X86_64: [&str; 48] = [
    "chown32",
    "clock_adjtime64",
    "clock_getres_time64",
    "clock_gettime64",
    "clock_nanosleep_time64",
    "fadvise64_64",
    "fchown32",
    "fcntl64",
    "fstat64",
    "fstatat64",
    "fstatfs64",
    "ftruncate64",
    "futex_time64",
    "getegid32",
    "geteuid32",
    "getgid32",
    "getgroups32",
    "getresgid32",
    "getresuid32",
    "getuid32",
    "io_pgetevents_time64",
    "ipc",
    "lchown32",
    "_llseek",
    "lstat64",
    "mmap2",
    "mq_timedreceive_time64",
    "mq_timedsend_time64",
    "_newselect",
    "ppoll_time64",
    "pselect6_time64",
    "recv",
    "recvmmsg_time64",
    "rt_sigtimedwait_time64",
    "sched_rr_get_interval_time64",
    "semtimedop_time64",
    "send",
    "sendfile64",
    "setfsgid32",
    "setfsuid32",
    "setgid32",
    "setgroups32",
    "setregid32",
    "setresgid32",
    "setresuid32",
    "setreuid32",
    "setuid32",
    "sigprocmask",
];

#[test]
fn x86_64_skips_only_other_abis_names() {
    let (program, skipped) = compile_allowlist(TargetArch::x86_64).unwrap();
    let unexpected: Vec<_> = skipped
        .iter()
        .filter(|n| !NOT_ON_X86_64.contains(n) && !OTHER_32_BIT.contains(n))
        .collect();
    assert!(unexpected.is_empty(), "skipped on x86_64: {unexpected:?}");
    for needed in [
        "read",
        "execve",
        "clone",
        "socket",
        "personality",
        "arch_prctl",
    ] {
        assert!(!skipped.contains(&needed), "{needed} must be judged");
    }
    assert!(program.len() < 4096, "{} instructions", program.len());
}

/// More 32-bit-only names (socketcall multiplexing, old signal and time calls).
const OTHER_32_BIT: [&str; 13] = [
    "socketcall",
    "sigreturn",
    "signalfd",
    "stat64",
    "statfs64",
    "timer_gettime64",
    "timer_settime64",
    "timerfd_gettime64",
    "timerfd_settime64",
    "truncate64",
    "ugetrlimit",
    "utimensat_time64",
    "waitpid",
];

#[test]
fn aarch64_and_riscv64_build_and_keep_the_essentials() {
    for arch in [TargetArch::aarch64, TargetArch::riscv64] {
        let (program, skipped) = compile_allowlist(arch).unwrap();
        for needed in ["read", "execve", "clone", "socket", "personality", "openat"] {
            assert!(!skipped.contains(&needed), "{needed} on {arch:?}");
        }
        assert!(program.len() < 4096);
        let full = docker_default_program_for(arch).unwrap();
        assert_eq!(full.lengths().len(), 2);
    }
}

#[test]
fn shared_numbers_match_this_machines_table() {
    assert_eq!(libc::SYS_clone3 as u32, CLONE3);
    assert_eq!(libc::SYS_set_mempolicy_home_node as u32 + 1, FIRST_UNKNOWN);
}

#[test]
fn security_opts_parse() {
    assert_eq!(
        SeccompMode::parse_security_opt("seccomp=unconfined"),
        Ok(Some(SeccompMode::Unconfined))
    );
    assert_eq!(
        SeccompMode::parse_security_opt("no-new-privileges"),
        Ok(None)
    );
    assert!(SeccompMode::parse_security_opt("seccomp=/etc/profile.json").is_err());
    assert!(SeccompMode::parse_security_opt("apparmor=unconfined").is_err());
    let json = serde_json::to_string(&SeccompMode::DockerDefault).unwrap();
    assert_eq!(json, "\"docker-default\"");
    assert_eq!(SeccompMode::Unconfined.name(), "unconfined");
}

/// Runs `sh -c script` with the filter installed between fork and exec; its exit code.
fn filtered_sh(script: &str) -> i32 {
    let program = docker_default_program().unwrap();
    let mut command = Command::new("/bin/sh");
    command.arg("-c").arg(script);
    let filters = program
        .filters()
        .iter()
        .map(|filter| crate::sys::seccomp::from_seccompiler(filter).to_vec())
        .collect();
    crate::sys::command::confine_with_seccomp(&mut command, filters);
    command.status().unwrap().code().unwrap_or(-1)
}

#[test]
fn an_ordinary_program_runs_under_the_filter_and_unshare_is_refused() {
    assert_eq!(filtered_sh("echo ok >/dev/null && ls / >/dev/null"), 0);
    // unshare(2) needs CAP_SYS_ADMIN in Docker's profile: refused even to root here.
    if std::path::Path::new("/usr/bin/unshare").exists() && nix::unistd::geteuid().is_root() {
        assert_ne!(filtered_sh("/usr/bin/unshare -U true 2>/dev/null"), 0);
        assert_eq!(
            filtered_sh("/usr/bin/unshare -U true 2>/dev/null || exit 0"),
            0
        );
    }
}

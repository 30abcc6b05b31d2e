//! `isotop enter` is as safe as `docker exec`: the command gets the container init's
//! credentials, checked against `/proc/<init>/status` on real `unshare` containers whose
//! inits run with fewer privileges (started through `setpriv`, or dropping their own
//! capabilities): uids, gids, groups, the five capability sets and `NoNewPrivs`, ids as seen
//! inside a user namespace, a session keyring of its own, the container's own `/bin/sh`
//! replaced by a hostile script, `--privileged` with its warning, 127/126 for commands that
//! cannot run, and a seccomp program installed before exec.
//! Root only (namespaces); skips with a printed reason otherwise.

use crate::support::{common, container};

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ChildGuard, require_program, wait_until};
use container::{Container, Scratch, credential_lines, credentials_of};
use isotop::control::enter::{EnterRequest, SeccompInstruction, SeccompProgram, plan, run};
use isotop::host::HostRoot;
use isotop::host::scan::{ScanOptions, scan};

fn isotop_enter(log: &Path, args: &[&str], stdin: Stdio) -> Output {
    common::isotop()
        .arg("enter")
        .args(args)
        .env("ISOTOP_AUDIT_LOG", log)
        .stdin(stdin)
        .output()
        .expect("isotop starts")
}

fn entered(log: &Path, args: &[&str]) -> String {
    let out = isotop_enter(log, args, Stdio::null());
    assert!(
        out.status.success(),
        "isotop enter {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ready(programs: &[&str]) -> bool {
    programs.iter().all(|p| require_program(p))
}

/// A non-root init without capabilities and with `no_new_privs` (uid 1000, groups 1000 and
/// 2000): `setpriv` as a runtime would set it up.
const UNPRIVILEGED: [&str; 8] = [
    "setpriv",
    "--reuid=1000",
    "--regid=1000",
    "--groups=1000,2000",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
    "sleep",
];

#[test]
#[ignore = "needs root"]
fn entered_commands_get_the_inits_credentials() {
    if !ready(&["unshare", "setpriv", "perl"]) {
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    // Root that dropped its capabilities itself after its exec (as daemons do), keeping
    // the full bounding set: exec as root would hand that whole set back, so the command
    // must not get it.
    let capset = nix::libc::SYS_capset;
    let drop_own = format!(
        "my ($h, $d) = (pack('Li', 0x20080522, 0), pack('L6', 0, 0, 0, 0, 0, 0)); \
         syscall({capset}, $h, $d) == 0 or die $!; sleep 1000"
    );
    let inits: [Vec<&str>; 4] = [
        [UNPRIVILEGED.as_slice(), &["1000"]].concat(),
        // Root with a small bounding set (permitted = effective = bounding after exec).
        vec![
            "setpriv",
            "--bounding-set=-all,+chown,+kill,+net_bind_service",
            "--inh-caps=-all",
            "sleep",
            "1000",
        ],
        // Not root, with an ambient capability.
        vec![
            "setpriv",
            "--reuid=1000",
            "--regid=1000",
            "--clear-groups",
            "--inh-caps=-all,+net_bind_service",
            "--ambient-caps=+net_bind_service",
            "--bounding-set=-all,+net_bind_service,+kill",
            "sleep",
            "1000",
        ],
        vec!["perl", "-e", &drop_own],
    ];
    for command in inits {
        let program = if command[0] == "perl" {
            "perl"
        } else {
            "sleep"
        };
        let c = Container::start(&command, program);
        if program == "perl" {
            // perl runs under its own name before its capset: wait until the drop is done
            // (under the VM's software emulation that takes a while).
            let dropped = "CapPrm: 0000000000000000";
            assert!(
                wait_until(Duration::from_secs(20), || credentials_of(c.init)
                    .iter()
                    .any(|l| l == dropped)),
                "perl init {} never dropped its capabilities",
                c.init
            );
        }
        let init = credentials_of(c.init);
        let ours = credential_lines(&entered(
            &log,
            &[&c.init.to_string(), "--", "cat", "/proc/self/status"],
        ));
        assert_eq!(ours, init, "init {command:?}");
        // A shell and what it runs keep them (exec does not hand anything back).
        let ours = credential_lines(&entered(
            &log,
            &[
                &c.init.to_string(),
                "--",
                "sh",
                "-c",
                "cat /proc/self/status; exit 0",
            ],
        ));
        assert_eq!(ours, init, "init {command:?} through sh");
    }
}

#[test]
#[ignore = "needs root"]
fn ids_are_the_ones_seen_inside_a_user_namespace() {
    if !ready(&["unshare", "nsenter", "setpriv"]) {
        return;
    }
    // A user namespace mapping 0-65535 inside to 100000-165535 outside (written by this
    // test: newuidmap may be absent), held by a sleeping process; the container joins it
    // as its root and starts a uid-1000 init with a pid namespace of its own.
    let holder = ChildGuard::spawn(
        Command::new("unshare")
            .args(["--user", "sleep", "1000"])
            .stdin(Stdio::null()),
    );
    let h = holder.pid();
    let own_user = std::fs::read_link("/proc/self/ns/user").unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        std::fs::read_link(format!("/proc/{h}/ns/user")).is_ok_and(|ns| ns != own_user)
    }));
    std::fs::write(format!("/proc/{h}/uid_map"), "0 100000 65536\n").unwrap();
    std::fs::write(format!("/proc/{h}/gid_map"), "0 100000 65536\n").unwrap();
    let container = ChildGuard::spawn(
        Command::new("nsenter")
            .args(["--target", &h.to_string(), "--user"])
            .args(["unshare", "--fork", "--pid", "--mount", "--mount-proc"])
            .arg("--kill-child")
            .args(&UNPRIVILEGED[..5])
            .args(["--bounding-set=-all,+kill", "sleep", "1000"])
            .stdin(Stdio::null()),
    );
    let c = Container::ready(vec![holder, container], "sleep");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");

    // From the host the init is uid 101000; inside, 1000.
    let host_view = credentials_of(c.init);
    assert_eq!(host_view[0], "Uid: 101000 101000 101000 101000");
    assert_eq!(host_view[2], "Groups: 101000 102000");
    // One `cat` reads its own status and the init's (pid 1 there), both as seen inside.
    let out = entered(
        &log,
        &[
            &c.init.to_string(),
            "--",
            "cat",
            "/proc/self/status",
            "/proc/1/status",
        ],
    );
    let split = out.find("\nName:").expect("two status files") + 1;
    let (ours, init) = (
        credential_lines(&out[..split]),
        credential_lines(&out[split..]),
    );
    assert_eq!(ours, init);
    assert_eq!(ours[0], "Uid: 1000 1000 1000 1000");
    assert_eq!(ours[1], "Gid: 1000 1000 1000 1000");
    assert_eq!(ours[2], "Groups: 1000 2000");
    // The capability sets and no_new_privs are the same seen from anywhere.
    assert_eq!(ours[3..], host_view[3..]);

    // Without joining the user namespace (`--ns net,pid`) the command stays in the host's,
    // where it is uid 101000, and the init holds no capability there.
    let out = entered(
        &log,
        &[
            &c.init.to_string(),
            "--ns",
            "net,pid",
            "--",
            "cat",
            "/proc/self/status",
        ],
    );
    assert_eq!(credential_lines(&out), host_view);
}

#[test]
#[ignore = "needs root"]
fn the_command_gets_a_session_keyring_of_its_own() {
    if !ready(&["unshare", "perl"]) {
        return;
    }
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): the session keyring's id
    // (keyutils may not be installed; perl is).
    let script = format!("print syscall({}, 0, -3, 0)", nix::libc::SYS_keyctl);
    let keyring = |command: &mut Command| -> i64 {
        let out = command.output().expect("perl runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("keyring id {text:?}: {out:?}"))
    };
    let ours = keyring(Command::new("perl").args(["-e", &script]));
    assert!(ours > 0);
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let c = Container::start(&["sleep", "1000"], "sleep");
    let entered_keyring = || {
        keyring(
            common::isotop()
                .args(["enter", &c.init.to_string(), "--", "perl", "-e", &script])
                .env("ISOTOP_AUDIT_LOG", &log)
                .stdin(Stdio::null()),
        )
    };
    let first = entered_keyring();
    assert!(first > 0);
    assert_ne!(
        first, ours,
        "the operator's session keyring is not the command's"
    );
    assert_ne!(entered_keyring(), first, "each enter gets a new one");
}

#[test]
#[ignore = "needs root"]
fn a_replaced_shell_runs_with_the_inits_privileges_only() {
    if !ready(&["unshare", "setpriv", "bash", "mount"]) {
        return;
    }
    let scratch = Scratch::new("enter-shell", 0o755);
    // A directory only its owner (nobody) may write to: root needs CAP_DAC_OVERRIDE.
    let locked = scratch.path("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    chown(&locked, Some(65534), Some(65534)).unwrap();
    // The container's /bin/sh, replaced (in its own mount namespace) by this script.
    let hostile = scratch.path("hostile-sh");
    let report = scratch.path("status");
    let flag = locked.join("flag");
    std::fs::write(
        &hostile,
        format!(
            "#!/bin/bash\ncat /proc/self/status > {}\necho taken > {} 2>/dev/null\nexit 0\n",
            report.display(),
            flag.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hostile, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Its init is root without CAP_DAC_OVERRIDE (a small bounding set).
    let setup = format!(
        "mount --bind {} /bin/sh && exec setpriv --bounding-set=-all,+chown,+kill,+setuid \
         --inh-caps=-all sleep 1000",
        hostile.display()
    );
    let c = Container::start(&["bash", "-c", &setup], "sleep");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let pid = c.init.to_string();

    // No command: the container's shell, i.e. the script, with the init's privileges.
    let out = isotop_enter(&log, &[&pid], Stdio::null());
    assert!(out.status.success(), "{out:?}");
    let status = std::fs::read_to_string(&report).expect("the replaced shell ran");
    assert_eq!(credential_lines(&status), credentials_of(c.init));
    assert!(
        !flag.exists(),
        "the container's shell wrote into a directory only CAP_DAC_OVERRIDE opens"
    );

    // --privileged: nsenter's behaviour, said on stderr (and the script gets through).
    std::fs::remove_file(&report).unwrap();
    let out = isotop_enter(&log, &["--privileged", &pid], Stdio::null());
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: --privileged"), "{stderr}");
    assert!(flag.exists(), "--privileged runs with every capability");
    let status = std::fs::read_to_string(&report).unwrap();
    let own = credentials_of(std::process::id() as i32);
    assert_eq!(credential_lines(&status)[3..8], own[3..8]);
}

#[test]
#[ignore = "needs root"]
fn privileged_keeps_isotops_credentials_with_a_warning() {
    if !ready(&["unshare", "setpriv"]) {
        return;
    }
    let c = Container::start(&[UNPRIVILEGED.as_slice(), &["1000"]].concat(), "sleep");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let out = isotop_enter(
        &log,
        &[
            &c.init.to_string(),
            "--privileged",
            "--",
            "cat",
            "/proc/self/status",
        ],
        Stdio::null(),
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --privileged") && stderr.contains("every capability"),
        "{stderr}"
    );
    let ours = credential_lines(&String::from_utf8_lossy(&out.stdout));
    let own = credentials_of(std::process::id() as i32);
    assert_eq!(ours[0], "Uid: 0 0 0 0");
    // Every capability isotop holds (CapPrm, CapEff, CapBnd), none of the init's limits.
    assert_eq!(ours[4..7], own[4..7]);
    assert_eq!(ours[8], "NoNewPrivs: 0");
    // The audit log says which it was.
    let audit = std::fs::read_to_string(&log).unwrap();
    assert!(audit.contains("privileged"), "{audit}");
}

#[test]
#[ignore = "needs root"]
fn commands_that_cannot_run_exit_127_or_126() {
    if !ready(&["unshare", "setpriv"]) {
        return;
    }
    let scratch = Scratch::new("enter-exec", 0o755);
    let data = scratch.path("data");
    std::fs::write(&data, "not a program\n").unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o644)).unwrap();
    // A program only root may run: the init (uid 1000) may not, so neither may the command.
    let root_only = scratch.path("root-only");
    std::fs::write(&root_only, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&root_only, std::fs::Permissions::from_mode(0o700)).unwrap();
    let c = Container::start(&[UNPRIVILEGED.as_slice(), &["1000"]].concat(), "sleep");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    let pid = c.init.to_string();
    let run = |program: &str| isotop_enter(&log, &[&pid, "--", program], Stdio::null());

    let out = run("isotop-no-such-program");
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("isotop-no-such-program"), "{stderr}");
    assert_eq!(run("/no/such/path").status.code(), Some(127));
    for not_runnable in [data.to_str().unwrap(), root_only.to_str().unwrap(), "/tmp"] {
        let out = run(not_runnable);
        assert_eq!(out.status.code(), Some(126), "{not_runnable}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(not_runnable),
            "{out:?}"
        );
    }
    // With isotop's credentials the root-only program runs.
    let out = isotop_enter(
        &log,
        &[&pid, "--privileged", "--", root_only.to_str().unwrap()],
        Stdio::null(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A classic-BPF program failing mkdir and mkdirat with EPERM, allowing everything else.
fn deny_mkdir() -> SeccompProgram {
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64
    #[cfg(target_arch = "x86_64")]
    const MKDIR: u32 = nix::libc::SYS_mkdir as u32;
    #[cfg(not(target_arch = "x86_64"))]
    const MKDIR: u32 = nix::libc::SYS_mkdirat as u32;
    const MKDIRAT: u32 = nix::libc::SYS_mkdirat as u32;
    let op = |code: u16, jt: u8, jf: u8, k: u32| SeccompInstruction { code, jt, jf, k };
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    SeccompProgram::new(vec![
        op(LD_W_ABS, 0, 0, 4),            // seccomp_data.arch
        op(JEQ_K, 0, 3, ARCH),            // another arch: allow
        op(LD_W_ABS, 0, 0, 0),            // seccomp_data.nr
        op(JEQ_K, 2, 0, MKDIR),           // → deny
        op(JEQ_K, 1, 0, MKDIRAT),         // → deny
        op(RET_K, 0, 0, 0x7fff_0000),     // SECCOMP_RET_ALLOW
        op(RET_K, 0, 0, 0x0005_0000 | 1), // SECCOMP_RET_ERRNO | EPERM
    ])
    .unwrap()
}

#[test]
#[ignore = "needs root"]
fn a_seccomp_program_in_the_plan_is_installed_before_exec() {
    if !ready(&["unshare", "setpriv"]) {
        return;
    }
    let scratch = Scratch::new("enter-seccomp", 0o1777);
    let root = HostRoot::live();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("audit.jsonl");
    // With no_new_privs (installed last) and without (installed while still privileged).
    let inits: [Vec<&str>; 2] = [
        [UNPRIVILEGED.as_slice(), &["1000"]].concat(),
        vec!["setpriv", "--bounding-set=-all,+chown", "sleep", "1000"],
    ];
    for (i, command) in inits.iter().enumerate() {
        let c = Container::start(command, "sleep");
        let snapshot = scan(&root, ScanOptions::TARGETS).unwrap();
        let view = snapshot
            .containers
            .iter()
            .find(|v| v.container.init_pid == Some(c.init))
            .expect("the unshare container is found");
        let blocked = scratch.path(&format!("blocked-{i}"));
        let report = scratch.path(&format!("seccomp-{i}"));
        let script = format!(
            "grep Seccomp: /proc/self/status > {}; mkdir {}",
            report.display(),
            blocked.display()
        );
        let request = EnterRequest {
            command: vec!["sh".into(), "-c".into(), script],
            ..EnterRequest::default()
        };
        let mut planned = plan(&root, view, &request).unwrap();
        planned.seccomp = Some(deny_mkdir());
        let code = run(&root, &planned, &log).unwrap();
        assert_ne!(code, 0, "mkdir is denied");
        assert!(!blocked.exists());
        let seccomp = std::fs::read_to_string(&report).unwrap();
        assert_eq!(
            seccomp.split_whitespace().collect::<Vec<_>>(),
            ["Seccomp:", "2"]
        );
        // The same plan without the filter creates it.
        planned.seccomp = None;
        assert_eq!(run(&root, &planned, &log).unwrap(), 0);
        assert!(blocked.is_dir());
    }
}

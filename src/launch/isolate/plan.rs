//! The container's setup, decided in the parent before the clone: every path, flag, string and
//! argument vector the child will need, as ready C strings, plus the words to describe each
//! step when it fails.
//!
//! Contract: the child (see [`super::child`]) only reads a [`Plan`]; it allocates nothing and
//! decides nothing the plan did not. Mount destinations are container paths, resolved by the
//! child inside the root (`openat2` + `RESOLVE_IN_ROOT`), never joined onto host paths here.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::mount::MsFlags;

use super::ChildConfig;
use super::user::ExecUser;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::seccomp::{self, SeccompMode, SeccompProgram};
use crate::launch::spec::NetMode;

/// The PATH searched when the environment has none (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Host devices bound into the container's `/dev` (runc's default device set minus console).
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Paths runc masks: `/dev/null` over files, an empty read-only tmpfs over directories.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths runc makes read-only.
pub const READ_ONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A container path, split so the child can resolve it, or create it one component at a time,
/// without allocating.
#[derive(Debug)]
pub struct Dest {
    /// As the operator would write it (`/usr/lib`), for messages.
    pub shown: String,
    /// Relative to the container root (`usr/lib`).
    pub full: CString,
    /// Each leading part (`usr`, `usr/lib`).
    pub prefixes: Vec<CString>,
    /// Each component (`usr`, `lib`).
    pub names: Vec<CString>,
}

impl Dest {
    /// Splits an absolute container path; `.` parts are dropped, `..` and the root itself are
    /// refused (nothing can be mounted over the container's `/` this way).
    pub fn parse(path: &str) -> Result<Dest, LaunchError> {
        let bad = |hint: &str| LaunchError::invalid("container path", path, hint);
        if !path.starts_with('/') {
            return Err(bad("it must be absolute"));
        }
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(bad("it may not contain `..`"));
        }
        if parts.is_empty() {
            return Err(bad("it may not be `/` itself"));
        }
        let c = |s: &str| CString::new(s).map_err(|_| bad("it may not contain NUL"));
        let mut prefixes = Vec::with_capacity(parts.len());
        let mut names = Vec::with_capacity(parts.len());
        for i in 0..parts.len() {
            prefixes.push(c(&parts[..=i].join("/"))?);
            names.push(c(parts[i])?);
        }
        Ok(Dest {
            shown: format!("/{}", parts.join("/")),
            full: c(&parts.join("/"))?,
            prefixes,
            names,
        })
    }
}

/// What to do when a destination does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Skip the step (masks and read-only paths the kernel does not have).
    Skip,
    Dir,
    /// An empty file (the mount point for a file).
    File,
}

/// One mount-namespace step, in order.
#[derive(Debug)]
pub enum MountStep {
    /// A recursive bind of a host path (a volume, a default-image bind, a device node).
    Bind {
        source: CString,
        source_shown: String,
        dest: Dest,
        create: Create,
        read_only: bool,
    },
    /// A new instance of a kernel file system (proc, tmpfs, devpts).
    Fresh {
        fstype: CString,
        flags: MsFlags,
        data: Option<CString>,
        dest: Dest,
    },
    /// sysfs, read-only; where sysfs cannot be mounted (a user namespace that does not own
    /// the network namespace, i.e. `--net host --userns`), a recursive read-only bind of the
    /// host's.
    Sysfs { host_sys: CString, dest: Dest },
    /// A cgroup hierarchy, read-only, rooted at the child's cgroup namespace (see
    /// [`super::cgroupfs`]). The kernel refusing it skips the step: the container then lacks
    /// that directory's files, as on a host without the controller, and its limits hold all
    /// the same (they are the host's, enforced whether or not the container can read them) —
    /// e.g. a v1 hierarchy a user namespace may not mount must not keep the command from
    /// running.
    Cgroup {
        fstype: CString,
        flags: MsFlags,
        /// v1: the controllers (`cpu,cpuacct`, `name=systemd`).
        data: Option<CString>,
        dest: Dest,
    },
    /// The mount at `dest` (made by an earlier step) made read-only, submounts included.
    Seal { dest: Dest },
    /// A symlink named `dest` (its parent exists) pointing at `target`.
    Symlink { target: CString, dest: Dest },
    /// runc's masking: `/dev/null` over a file, an empty read-only tmpfs over a directory.
    Mask { dev_null: CString, dest: Dest },
    /// A bind of the path onto itself, then read-only.
    ReadOnly { dest: Dest },
    /// The working directory, created when missing.
    Workdir { dest: Dest },
}

impl MountStep {
    /// The step in the operator's words, e.g. "bind /srv/data on /data".
    pub fn describe(&self) -> String {
        match self {
            MountStep::Bind {
                source_shown,
                dest,
                read_only,
                ..
            } => format!(
                "bind {source_shown} on {}{}",
                dest.shown,
                if *read_only { " (read-only)" } else { "" }
            ),
            MountStep::Fresh { fstype, dest, .. } => {
                format!("mount {} on {}", fstype.to_string_lossy(), dest.shown)
            }
            MountStep::Sysfs { dest, .. } => format!("mount sysfs (read-only) on {}", dest.shown),
            MountStep::Cgroup {
                fstype, data, dest, ..
            } => format!(
                "mount {}{} (read-only) on {}",
                fstype.to_string_lossy(),
                data.as_ref()
                    .map(|d| format!(" {}", d.to_string_lossy()))
                    .unwrap_or_default(),
                dest.shown
            ),
            MountStep::Seal { dest } => format!("make {} read-only", dest.shown),
            MountStep::Symlink { target, dest } => format!(
                "create symlink {} -> {}",
                dest.shown,
                target.to_string_lossy()
            ),
            MountStep::Mask { dest, .. } => format!("mask {}", dest.shown),
            MountStep::ReadOnly { dest } => format!("make {} read-only", dest.shown),
            MountStep::Workdir { dest } => format!("create the working directory {}", dest.shown),
        }
    }
}

/// The command: argv, environment and the paths `execve` tries in order.
#[derive(Debug)]
pub struct Program {
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    pub candidates: Vec<CString>,
    /// The PATH searched, when argv[0] has no `/` (for messages).
    pub searched: Option<String>,
}

/// The ids the command runs as, ready for the raw `setgroups`/`setresgid`/`setresuid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (the primary gid first).
    pub groups: Vec<nix::libc::gid_t>,
}

/// Everything the child does, in order.
#[derive(Debug)]
pub struct Plan {
    /// The host path of the root to pivot into.
    pub rootfs: CString,
    pub hostname: CString,
    /// Bring `lo` up (own network namespace).
    pub loopback: bool,
    pub userns: bool,
    pub mounts: Vec<MountStep>,
    pub cwd: CString,
    pub program: Program,
    /// `/proc/self/fd/` on the host, as bytes: mount targets are named through descriptors.
    pub fd_prefix: Vec<u8>,
    pub tty: bool,
    pub credentials: Credentials,
    /// Installed last before exec; `None` when unconfined.
    pub seccomp: Option<SeccompProgram>,
}

fn cstring(option: &str, text: &[u8]) -> Result<CString, LaunchError> {
    CString::new(text).map_err(|_| {
        LaunchError::invalid(
            option,
            &String::from_utf8_lossy(text),
            "it may not contain NUL",
        )
    })
}

fn path_cstring(path: &Path) -> Result<CString, LaunchError> {
    cstring("path", path.as_os_str().as_bytes())
}

impl Plan {
    /// Decides every step for `config` on the live host `host`, to run as `user`.
    pub fn new(
        config: &ChildConfig,
        host: &HostRoot,
        user: &ExecUser,
    ) -> Result<Plan, LaunchError> {
        let mut mounts = Vec::new();
        mounts.push(MountStep::Fresh {
            fstype: c"proc".into(),
            flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            data: None,
            dest: Dest::parse("/proc")?,
        });
        mounts.push(MountStep::Sysfs {
            host_sys: path_cstring(&host.sys)?,
            dest: Dest::parse("/sys")?,
        });
        mounts.extend(super::cgroupfs::steps(host)?);
        dev_steps(host, &mut mounts)?;
        for volume in &config.volumes {
            let meta = std::fs::metadata(&volume.host)
                .map_err(|e| LaunchError::io("use the volume source", &volume.host, e))?;
            mounts.push(MountStep::Bind {
                source: path_cstring(&volume.host)?,
                source_shown: volume.host.display().to_string(),
                dest: Dest::parse(&volume.dest)?,
                create: if meta.is_dir() {
                    Create::Dir
                } else {
                    Create::File
                },
                read_only: volume.read_only,
            });
        }
        let dev_null = path_cstring(&host.host_path(Path::new("/dev/null")))?;
        for path in MASKED_PATHS {
            mounts.push(MountStep::Mask {
                dev_null: dev_null.clone(),
                dest: Dest::parse(path)?,
            });
        }
        for path in READ_ONLY_PATHS {
            mounts.push(MountStep::ReadOnly {
                dest: Dest::parse(path)?,
            });
        }
        let cwd = if config.cwd.is_empty() {
            "/"
        } else {
            config.cwd.as_str()
        };
        if !cwd.starts_with('/') {
            return Err(LaunchError::invalid(
                "working directory",
                cwd,
                "it must be absolute",
            ));
        }
        if cwd.split('/').any(|p| !p.is_empty() && p != ".") {
            mounts.push(MountStep::Workdir {
                dest: Dest::parse(cwd)?,
            });
        }
        let mut fd_prefix = host.self_dir().join("fd").as_os_str().as_bytes().to_vec();
        fd_prefix.push(b'/');
        if fd_prefix.len() > 100 {
            return Err(LaunchError::invalid(
                "proc path",
                &String::from_utf8_lossy(&fd_prefix),
                "the host's /proc path is too long (over 100 bytes)",
            ));
        }
        // Built here, in the parent: compiling allocates, the child may not.
        let seccomp =
            match config.seccomp {
                SeccompMode::DockerDefault => Some(seccomp::docker_default_program().map_err(
                    |e| LaunchError::Tool {
                        what: "building the seccomp filter".into(),
                        detail: e.to_string(),
                    },
                )?),
                SeccompMode::Unconfined => None,
            };
        Ok(Plan {
            rootfs: path_cstring(&config.rootfs)?,
            hostname: cstring("--hostname", config.hostname.as_bytes())?,
            loopback: config.net != NetMode::Host,
            userns: config.userns.is_some(),
            mounts,
            cwd: cstring("working directory", cwd.as_bytes())?,
            program: program(&config.argv, &with_home(&config.env, &user.home))?,
            fd_prefix,
            tty: config.tty,
            credentials: Credentials {
                uid: user.uid,
                gid: user.gid,
                groups: user.groups.clone(),
            },
            seccomp,
        })
    }
}

/// A minimal `/dev`: a tmpfs holding the host's harmless devices (bound, since a container
/// may not be allowed to mknod), a private devpts, `/dev/shm` and the usual symlinks.
fn dev_steps(host: &HostRoot, mounts: &mut Vec<MountStep>) -> Result<(), LaunchError> {
    mounts.push(MountStep::Fresh {
        fstype: c"tmpfs".into(),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        // 64 MiB: the size limit runc and Docker use for /dev.
        data: Some(c"mode=755,size=65536k".into()),
        dest: Dest::parse("/dev")?,
    });
    for device in DEVICES {
        let source = host.host_path(&Path::new("/dev").join(device));
        mounts.push(MountStep::Bind {
            source: path_cstring(&source)?,
            source_shown: source.display().to_string(),
            dest: Dest::parse(&format!("/dev/{device}"))?,
            create: Create::File,
            read_only: false,
        });
    }
    mounts.push(MountStep::Fresh {
        fstype: c"devpts".into(),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        // Its own instance, so the container sees only its own ptys; 0666 ptmx lets any user
        // in it open one, 0620 is the usual mode of a new pty.
        data: Some(c"newinstance,ptmxmode=0666,mode=0620".into()),
        dest: Dest::parse("/dev/pts")?,
    });
    mounts.push(MountStep::Fresh {
        fstype: c"tmpfs".into(),
        flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        data: Some(c"mode=1777,size=65536k".into()),
        dest: Dest::parse("/dev/shm")?,
    });
    // Symlink targets are paths inside the container (its own fresh /proc), not host paths.
    let links = [
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    for (name, target) in links {
        mounts.push(MountStep::Symlink {
            target: cstring("symlink", target.as_bytes())?,
            dest: Dest::parse(name)?,
        });
    }
    Ok(())
}

/// `env` with `HOME=home` added when it sets no `HOME` (runc's rule).
fn with_home(env: &[String], home: &str) -> Vec<String> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

/// argv, env (with Docker's default PATH added when missing) and the exec candidates.
fn program(argv: &[String], env: &[String]) -> Result<Program, LaunchError> {
    let Some(first) = argv.first().filter(|a| !a.is_empty()) else {
        return Err(LaunchError::invalid("COMMAND", "", "give a command to run"));
    };
    let argv_c = argv
        .iter()
        .map(|a| cstring("COMMAND", a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut env_c = env
        .iter()
        .map(|e| cstring("-e", e.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let path = env.iter().rev().find_map(|e| e.strip_prefix("PATH="));
    if path.is_none() {
        env_c.push(cstring("-e", format!("PATH={DEFAULT_PATH}").as_bytes())?);
    }
    let path = path.unwrap_or(DEFAULT_PATH);
    let (candidates, searched) = if first.contains('/') {
        (vec![cstring("COMMAND", first.as_bytes())?], None)
    } else {
        let mut list = Vec::new();
        // Empty PATH entries (the current directory in execvp) are skipped on purpose.
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let candidate = format!("{}/{first}", dir.trim_end_matches('/'));
            list.push(cstring("COMMAND", candidate.as_bytes())?);
        }
        (list, Some(path.to_string()))
    };
    Ok(Program {
        argv: argv_c,
        env: env_c,
        candidates,
        searched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_split_and_refuse() {
        let d = Dest::parse("/usr//lib/./x/").unwrap();
        assert_eq!(d.shown, "/usr/lib/x");
        assert_eq!(d.full.as_c_str(), c"usr/lib/x");
        assert_eq!(d.prefixes[1].as_c_str(), c"usr/lib");
        assert_eq!(d.names[2].as_c_str(), c"x");
        assert!(Dest::parse("/a/../b").is_err());
        assert!(Dest::parse("/").is_err());
        assert!(Dest::parse("rel").is_err());
    }

    #[test]
    fn programs_are_searched_in_the_containers_path() {
        let p = program(&["sh".into(), "-c".into()], &["A=1".into()]).unwrap();
        assert_eq!(p.candidates.len(), 6);
        assert_eq!(p.candidates[0].as_c_str(), c"/usr/local/sbin/sh");
        assert!(p.env.iter().any(|e| e.as_bytes().starts_with(b"PATH=")));
        let q = program(&["ls".into()], &["PATH=/opt/bin/::/bin".into()]).unwrap();
        assert_eq!(q.candidates.len(), 2);
        assert_eq!(q.candidates[0].as_c_str(), c"/opt/bin/ls");
        assert_eq!(q.env.len(), 1);
        let r = program(&["./run".into()], &[]).unwrap();
        assert_eq!(r.candidates.len(), 1);
        assert!(r.searched.is_none());
        assert!(program(&[], &[]).is_err());
        assert_eq!(
            with_home(&["A=1".into()], "/home/app"),
            ["A=1", "HOME=/home/app"]
        );
        assert_eq!(with_home(&["HOME=/x".into()], "/root"), ["HOME=/x"]);
        assert!(program(&["a\0b".into()], &[]).is_err());
    }
}

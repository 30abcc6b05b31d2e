//! The start sequence, run by the supervisor (single-threaded) in the host's mount namespace:
//! overlay mount, cgroups with limits, the container process cloned (waiting), moved into its
//! cgroups, the bridge attached when asked, then released to exec. Any failure undoes every
//! step (abort the child, detach, remove the cgroups, unmount) before it is returned.
//!
//! Like Docker, the container gets its own `/etc/hostname` and `/etc/hosts` (files in its data
//! dir, bound over the image's): tools that resolve their own hostname find it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};

use super::signals::Signals;
use crate::host::HostRoot;
use crate::launch::fail::LaunchError;
use crate::launch::isolate::{self, ChildConfig, Pending};
use crate::launch::lifecycle::config::LaunchConfig;
use crate::launch::lifecycle::prepare::parse_limits;
use crate::launch::lifecycle::teardown::{Runtime, release_runtime};
use crate::launch::net::{self, Attachment};
use crate::launch::spec::{NetMode, Volume};
use crate::launch::store::ContainerPaths;
use crate::launch::{cgroup, rootfs};

/// The supervisor's ends of the container's standard streams.
#[derive(Debug)]
pub enum ContainerIo {
    Pipes {
        /// The write end of the container's stdin (`-i`); `None`: stdin is at end of file.
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// The pseudo-terminal's master: the container's output, and its input with `-i`.
    Tty { master: OwnedFd },
}

/// A container whose command runs.
#[derive(Debug)]
pub struct Running {
    /// Its init, as a host pid (a child of the supervisor).
    pub pid: i32,
    pub io: ContainerIo,
    pub attachment: Option<Attachment>,
}

/// The container's ends of its streams.
struct ChildIo {
    stdin: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
}

fn kernel(step: &'static str) -> impl Fn(nix::Error) -> LaunchError {
    move |e| LaunchError::kernel(step, e)
}

fn set_cloexec(fd: &OwnedFd) -> Result<(), LaunchError> {
    fcntl(fd.as_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(kernel("fcntl(FD_CLOEXEC)"))?;
    Ok(())
}

/// Makes `fd` non-blocking (the relay polls, and must never stall on one stream).
pub fn set_nonblocking(fd: &OwnedFd) -> Result<(), LaunchError> {
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(kernel("fcntl(O_NONBLOCK)"))?;
    Ok(())
}

fn pipe() -> Result<(OwnedFd, OwnedFd), LaunchError> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(kernel("pipe2"))
}

/// Pipes, or a pty of `size` (rows, cols) with `tty`. Every fd is close-on-exec: the child's
/// ends become its 0, 1 and 2 by `dup2`, which clears the flag on the copies only.
fn streams(
    interactive: bool,
    tty: bool,
    size: (u16, u16),
) -> Result<(ChildIo, ContainerIo), LaunchError> {
    if tty {
        let winsize = nix::pty::Winsize {
            ws_row: size.0,
            ws_col: size.1,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&winsize), None).map_err(kernel("openpty"))?;
        set_cloexec(&pty.master)?;
        set_cloexec(&pty.slave)?;
        let dup = |fd: &OwnedFd| {
            fd.try_clone()
                .map_err(|e| LaunchError::io("dup", Path::new("pty"), e))
        };
        let child = ChildIo {
            stdin: dup(&pty.slave)?,
            stdout: dup(&pty.slave)?,
            stderr: pty.slave,
        };
        set_nonblocking(&pty.master)?;
        return Ok((child, ContainerIo::Tty { master: pty.master }));
    }
    let (stdin_r, stdin_w) = pipe()?;
    let (stdout_r, stdout_w) = pipe()?;
    let (stderr_r, stderr_w) = pipe()?;
    for fd in [&stdin_w, &stdout_r, &stderr_r] {
        set_nonblocking(fd)?;
    }
    let child = ChildIo {
        stdin: stdin_r,
        stdout: stdout_w,
        stderr: stderr_w,
    };
    let ours = ContainerIo::Pipes {
        // Without -i the write end closes here: the container reads end of file at once.
        stdin: interactive.then_some(stdin_w),
        stdout: stdout_r,
        stderr: stderr_r,
    };
    Ok((child, ours))
}

/// An error unless no stop signal arrived (the container is then not started at all).
fn check_stop(signals: &Signals) -> Result<(), LaunchError> {
    match signals.take().first() {
        None => Ok(()),
        Some(signal) => Err(LaunchError::Setup(format!(
            "the supervisor got {} while starting the container: start aborted",
            signal.as_str()
        ))),
    }
}

/// Runs the start sequence (see the module contract); `size` is the terminal size for `-t`.
pub fn start(
    host: &HostRoot,
    config: &LaunchConfig,
    size: (u16, u16),
    signals: &Signals,
) -> Result<Running, LaunchError> {
    let mut attachment = None;
    let result = start_steps(host, config, size, signals, &mut attachment);
    if result.is_err() {
        let runtime = Runtime {
            id: &config.id,
            net: config.spec.net,
            host_veth: attachment
                .as_ref()
                .map(|a: &Attachment| a.host_veth.as_str()),
        };
        let _ = release_runtime(host, runtime);
    }
    result
}

fn start_steps(
    host: &HostRoot,
    config: &LaunchConfig,
    size: (u16, u16),
    signals: &Signals,
    attachment: &mut Option<Attachment>,
) -> Result<Running, LaunchError> {
    let paths = ContainerPaths::new(host, &config.id);
    rootfs::mount_overlay(
        &config.lower_layers,
        &paths.upper,
        &paths.work,
        &paths.rootfs,
    )?;
    let limits = parse_limits(&config.spec.limit_text)?;
    let cgroups = cgroup::create(host, &config.id, &limits)?;
    let (child_io, io) = streams(config.spec.interactive, config.spec.tty, size)?;
    let mut volumes = identity_files(&paths, &config.hostname)?;
    // The operator's volumes come last, so `-v FILE:/etc/hosts` still wins.
    volumes.extend(config.volumes());
    let child = ChildConfig {
        rootfs: paths.rootfs.clone(),
        argv: config.argv.clone(),
        env: config.env.clone(),
        cwd: config.cwd.clone(),
        hostname: config.hostname.clone(),
        volumes,
        net: config.spec.net,
        userns: config.spec.userns.then(|| isolate::default_idmap(host)),
        stdin: child_io.stdin,
        stdout: child_io.stdout,
        stderr: child_io.stderr,
        tty: config.spec.tty,
        user: config.user_request(),
        seccomp: config.seccomp,
    };
    check_stop(signals)?;
    let pending = signals.unblocked(|| isolate::create(child))?;
    let ready = |pending: &Pending| -> Result<Option<Attachment>, LaunchError> {
        check_stop(signals)?;
        cgroups.add(pending.pid())?;
        if config.spec.net == NetMode::Bridge {
            let bridge = config.bridge_config()?;
            return net::attach_bridge(host, &bridge, &config.id, pending.pid()).map(Some);
        }
        Ok(None)
    };
    match ready(&pending) {
        Ok(attached) => *attachment = attached,
        Err(e) => {
            pending.abort();
            return Err(e);
        }
    }
    let pid = pending.start()?;
    Ok(Running {
        pid,
        io,
        attachment: attachment.clone(),
    })
}

/// True when `rootfs/etc/<name>` is a regular file reached through no symlink: only then is it
/// bound over. Creating a missing one could fail in a user namespace (root-owned `/etc`), and
/// an image's symlinked `/etc` must never lead a host-side path out of the root.
fn plain_file_in_image(rootfs: &Path, name: &str) -> bool {
    let etc = rootfs.join("etc");
    std::fs::symlink_metadata(&etc).is_ok_and(|m| m.is_dir())
        && std::fs::symlink_metadata(etc.join(name)).is_ok_and(|m| m.is_file())
}

/// Writes the container's `hostname` and `hosts` files into its data dir and returns the binds
/// that put them at `/etc/hostname` and `/etc/hosts`, where the image has those files. The
/// hostname was checked to be one DNS label (`spec::check_hostname`), so it is safe to write
/// as is; Debian's convention maps it to 127.0.1.1, which needs no knowledge of the bridge
/// address.
fn identity_files(paths: &ContainerPaths, hostname: &str) -> Result<Vec<Volume>, LaunchError> {
    let files = [
        ("hostname", "/etc/hostname", format!("{hostname}\n")),
        (
            "hosts",
            "/etc/hosts",
            format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
                 127.0.1.1\t{hostname}\n"
            ),
        ),
    ];
    files
        .into_iter()
        .filter(|(name, _, _)| plain_file_in_image(&paths.rootfs, name))
        .map(|(name, dest, text)| {
            let host = paths.data_dir.join(name);
            std::fs::write(&host, text).map_err(|e| LaunchError::io("write", &host, e))?;
            Ok(Volume {
                host,
                dest: dest.into(),
                read_only: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_without_input_read_end_of_file() {
        let (child, ours) = streams(false, false, (24, 80)).unwrap();
        assert!(matches!(ours, ContainerIo::Pipes { stdin: None, .. }));
        let mut buf = [0u8; 4];
        assert_eq!(nix::unistd::read(child.stdin.as_fd(), &mut buf).unwrap(), 0);
        let (_child, ours) = streams(true, true, (30, 100)).unwrap();
        let ContainerIo::Tty { master } = ours else {
            panic!("a tty was asked for")
        };
        let flags = fcntl(master.as_fd(), FcntlArg::F_GETFD).unwrap();
        assert_ne!(
            flags & nix::libc::FD_CLOEXEC,
            0,
            "the master must not leak into the container"
        );
    }
}

//! Helpers for tests/launch/isolate.rs: a container root made by the test (a busybox rootfs or
//! the default image, under an overlay whose layers the test can inspect), and running a
//! command in it through `isolate::create` + `start` with pipes for its stdio.
//!
//! Everything is removed on drop, even when a test fails: the container process is killed by
//! pid and reaped, the overlay unmounted, the temporary directories deleted.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use isotop::host::HostRoot;
use isotop::launch::isolate::{self, ChildConfig, IdMap, Pending};
use isotop::launch::rootfs::{self, DefaultImage};
use isotop::launch::seccomp::SeccompMode;
use isotop::launch::{LaunchError, NetMode, Volume};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

pub const BUSYBOX: &str = "/bin/busybox";

/// An overlay root: `lower` layers, `upper` + `work`, mounted at `target`.
pub struct Root {
    /// Holds `lower`, `upper`, the overlay's work dir and `target`: removed on drop.
    _dir: tempfile::TempDir,
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub target: PathBuf,
    /// Set for the default image.
    pub image: Option<DefaultImage>,
}

impl Root {
    /// A busybox rootfs (`/bin/busybox` + one symlink per applet, `/tmp` 1777, `/etc`,
    /// `/root`, and `/proc`, `/sys`, `/dev` as mount points),
    /// with `extra` run on the lower layer before mounting.
    pub fn busybox(extra: impl FnOnce(&Path)) -> Root {
        let dir = tempfile::Builder::new()
            .prefix("isotop-test-isolate-")
            .tempdir()
            .unwrap();
        let lower = dir.path().join("lower");
        fs::create_dir_all(lower.join("bin")).unwrap();
        fs::copy(BUSYBOX, lower.join("bin/busybox")).unwrap();
        let list = Command::new(BUSYBOX).arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" && !applet.contains('/') && !applet.is_empty() {
                std::os::unix::fs::symlink("busybox", lower.join("bin").join(applet)).unwrap();
            }
        }
        // The mount points a real image has (a user-namespaced root could not make them).
        for name in ["tmp", "etc", "root", "proc", "sys", "dev"] {
            fs::create_dir_all(lower.join(name)).unwrap();
        }
        fs::set_permissions(lower.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
        fs::write(lower.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        extra(&lower);
        Root::mount(dir, vec![lower], None)
    }

    /// The default image, its skeleton generated under this test's own `var/lib`.
    pub fn default_image() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("isotop-test-isolate-")
            .tempdir()
            .unwrap();
        let mut host = HostRoot::live();
        host.var_lib = dir.path().join("var-lib");
        let image = rootfs::default_image(&host).unwrap();
        let lower = vec![image.layer.clone()];
        Root::mount(dir, lower, Some(image))
    }

    fn mount(dir: tempfile::TempDir, lower: Vec<PathBuf>, image: Option<DefaultImage>) -> Root {
        let upper = dir.path().join("upper");
        let work = dir.path().join("work");
        let target = dir.path().join("rootfs");
        rootfs::mount_overlay(&lower, &upper, &work, &target).unwrap();
        Root {
            _dir: dir,
            lower,
            upper,
            target,
            image,
        }
    }

    /// The default image's binds (none for busybox).
    pub fn binds(&self) -> Vec<Volume> {
        self.image
            .as_ref()
            .map(|i| i.binds.clone())
            .unwrap_or_default()
    }

    /// A config for `argv` in this root: stdio to be filled by [`launch`].
    pub fn config(&self, argv: &[&str]) -> Setup {
        Setup {
            rootfs: self.target.clone(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            env: vec!["HOME=/root".into()],
            cwd: "/".into(),
            hostname: "isotop-test-box".into(),
            volumes: self.binds(),
            net: NetMode::None,
            userns: None,
            tty: false,
        }
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        if let Err(e) = rootfs::unmount_rootfs(&self.target) {
            eprintln!("warning: {e}");
        }
    }
}

/// [`ChildConfig`] without the descriptors.
#[derive(Debug, Clone)]
pub struct Setup {
    pub rootfs: PathBuf,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub hostname: String,
    pub volumes: Vec<Volume>,
    pub net: NetMode,
    pub userns: Option<IdMap>,
    pub tty: bool,
}

/// A container process this test made: killed by pid and reaped on drop unless waited for.
pub struct Running {
    pub pid: i32,
    pub stdin: Option<fs::File>,
    pub stdout: fs::File,
    pub stderr: fs::File,
    reaped: bool,
}

/// What a finished container gave.
#[derive(Debug)]
pub struct Outcome {
    pub status: WaitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts exit status 0 (printing both streams otherwise) and returns stdout.
    pub fn ok(&self) -> &str {
        assert!(
            matches!(self.status, WaitStatus::Exited(_, 0)),
            "container ended with {:?}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }
}

fn pipe() -> (fs::File, OwnedFd) {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    (fs::File::from(read), write)
}

/// True when the test can run: busybox-static's binary is there for the test roots. The tests
/// calling it need root: they are `#[ignore = "needs root"]`.
pub fn ready() -> bool {
    if !Path::new(BUSYBOX).is_file() {
        eprintln!(
            "skipping {}: needs {BUSYBOX} (busybox-static)",
            super::common::test_name()
        );
        return false;
    }
    true
}

/// `isolate::create` for `setup` with the given stdin, stdout, stderr.
pub fn create_with(setup: &Setup, stdio: [OwnedFd; 3]) -> Result<Pending, LaunchError> {
    let [stdin, stdout, stderr] = stdio;
    isolate::create(ChildConfig {
        rootfs: setup.rootfs.clone(),
        argv: setup.argv.clone(),
        env: setup.env.clone(),
        cwd: setup.cwd.clone(),
        hostname: setup.hostname.clone(),
        volumes: setup.volumes.clone(),
        net: setup.net,
        userns: setup.userns,
        stdin,
        stdout,
        stderr,
        tty: setup.tty,
        user: None,
        seccomp: SeccompMode::DockerDefault,
    })
}

/// Creates the container (stdin, stdout, stderr are pipes the test holds) without starting it.
pub fn create(setup: &Setup) -> Result<(Pending, Running), LaunchError> {
    let (stdin_read, stdin_write) = pipe();
    let (stdout_read, stdout_write) = pipe();
    let (stderr_read, stderr_write) = pipe();
    let pending = create_with(
        setup,
        [OwnedFd::from(stdin_read), stdout_write, stderr_write],
    )?;
    let running = Running {
        pid: pending.pid(),
        stdin: Some(fs::File::from(stdin_write)),
        stdout: stdout_read,
        stderr: stderr_read,
        reaped: false,
    };
    Ok((pending, running))
}

/// Everything written to a pty whose slave side is closed (reading the master ends with EIO
/// once drained).
pub fn drain_pty(master: OwnedFd) -> String {
    let mut master = fs::File::from(master);
    let mut text = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Creates and starts; the container keeps its stdin open until [`Running::close_stdin`].
pub fn launch(setup: &Setup) -> Result<Running, LaunchError> {
    let (pending, mut running) = create(setup)?;
    match pending.start() {
        Ok(_) => Ok(running),
        Err(e) => {
            running.reaped = true;
            Err(e)
        }
    }
}

/// Runs to the end with an empty stdin.
pub fn run(setup: &Setup) -> Outcome {
    let mut running = launch(setup).unwrap_or_else(|e| panic!("launch {:?}: {e}", setup.argv));
    running.close_stdin();
    running.wait()
}

impl Running {
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn write_stdin(&mut self, text: &str) {
        if let Some(stdin) = &mut self.stdin {
            stdin.write_all(text.as_bytes()).unwrap();
        }
    }

    /// Reads one line of stdout (blocking).
    pub fn read_line(&mut self) -> String {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while self.stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Reads both streams to their end, then reaps.
    pub fn wait(mut self) -> Outcome {
        let mut stderr = self.stderr.try_clone().unwrap();
        let err_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut stdout = String::new();
        let _ = self.stdout.read_to_string(&mut stdout);
        let status = waitpid(Pid::from_raw(self.pid), None).unwrap();
        self.reaped = true;
        Outcome {
            status,
            stdout,
            stderr: err_reader.join().unwrap(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(self.pid), None);
        }
    }
}

/// True when no process has this pid (any more).
pub fn gone(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
}

/// The mount options field (6th) of the `/proc/self/mountinfo` line, as printed inside the
/// container, whose mount point is `path`.
pub fn mount_options<'a>(mountinfo: &'a str, path: &str) -> Option<&'a str> {
    mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(path))
        .and_then(|l| l.split(' ').nth(5))
}

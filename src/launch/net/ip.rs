//! Runs iproute2's `ip`, the tool operators already use to look at what isotop made.
//!
//! Contract: [`batch`] feeds `ip -batch -` a few commands and stops at the first that fails;
//! the failure is a [`LaunchError::Tool`] carrying ip's stderr (cleaned for the terminal).
//! [`Netns`] says where ip runs: in isotop's own network namespace, there with the container's
//! namespace reachable as `/proc/self/fd/3` (for `netns /proc/self/fd/3`), or inside the
//! container's namespace (`setns` before exec). Both take the namespace as a descriptor isotop
//! opened and checked, so the namespace configured is the one checked even if the pid dies.
//! [`links`] reads `ip -j addr show` as values.

use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::host::text::clean_str;
use crate::launch::fail::LaunchError;

/// The descriptor number the container's namespace gets in [`Netns::HostSeeing`].
pub(super) const SEEN_NETNS_PATH: &str = "/proc/self/fd/3";
const SEEN_NETNS_FD: i32 = 3;

/// Where one `ip` run happens.
#[derive(Debug, Clone, Copy)]
pub(super) enum Netns<'a> {
    /// isotop's own network namespace (the host's).
    Host,
    /// The host's, with this namespace as descriptor 3 ([`SEEN_NETNS_PATH`]).
    HostSeeing(BorrowedFd<'a>),
    /// Inside this network namespace.
    Inside(BorrowedFd<'a>),
}

/// One interface as `ip -j addr show` prints it (fields isotop does not use are ignored).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Link {
    pub ifname: String,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct AddrInfo {
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub local: Option<String>,
    #[serde(default)]
    pub prefixlen: Option<u8>,
}

impl Link {
    pub fn is_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
    }

    /// The IPv4 addresses with their prefix lengths.
    pub fn ipv4(&self) -> Vec<(std::net::Ipv4Addr, u8)> {
        self.addr_info
            .iter()
            .filter(|a| a.family == "inet")
            .filter_map(|a| Some((a.local.as_deref()?.parse().ok()?, a.prefixlen?)))
            .collect()
    }
}

/// Where `ip` is: on PATH, else the usual sbin directories (a supervisor started with a bare
/// environment may have no PATH with sbin in it).
fn program() -> PathBuf {
    let from_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    let standard = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from);
    from_path
        .into_iter()
        .chain(standard)
        .map(|dir| dir.join("ip"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("ip"))
}

fn command(netns: Netns<'_>) -> Command {
    let mut cmd = Command::new(program());
    cmd.env("LC_ALL", "C");
    match netns {
        Netns::Host => {}
        Netns::HostSeeing(fd) => {
            let raw = fd.as_raw_fd();
            // SAFETY: the closure runs in the forked child before exec and only makes the
            // async-signal-safe calls dup2(2)/fcntl(2) on a descriptor the parent keeps open
            // (borrowed for this command's lifetime); it allocates nothing.
            unsafe {
                cmd.pre_exec(move || {
                    let done = if raw == SEEN_NETNS_FD {
                        // Already fd 3: dup2 would keep close-on-exec, so clear it instead.
                        nix::libc::fcntl(raw, nix::libc::F_SETFD, 0)
                    } else {
                        nix::libc::dup2(raw, SEEN_NETNS_FD)
                    };
                    if done == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        Netns::Inside(fd) => {
            let raw = fd.as_raw_fd();
            // SAFETY: the closure runs in the forked (single-threaded) child before exec and
            // only calls setns(2), async-signal-safe, on a namespace descriptor the parent
            // keeps open (borrowed for this command's lifetime); it allocates nothing.
            unsafe {
                cmd.pre_exec(move || {
                    if nix::libc::setns(raw, nix::libc::CLONE_NEWNET) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
    }
    cmd
}

fn tool_error(what: &str, detail: String) -> LaunchError {
    LaunchError::Tool {
        what: what.into(),
        detail,
    }
}

fn spawn_error(what: &str, e: std::io::Error) -> LaunchError {
    if e.kind() == std::io::ErrorKind::NotFound {
        tool_error(
            what,
            "the `ip` program was not found: install iproute2".into(),
        )
    } else {
        tool_error(what, format!("could not run `ip`: {e}"))
    }
}

/// ip's stderr as one cleaned line ("RTNETLINK answers: File exists; Command failed -:2").
fn stderr_text(bytes: &[u8], status: std::process::ExitStatus) -> String {
    let text = clean_str(
        &String::from_utf8_lossy(bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
    );
    if text.is_empty() {
        format!("`ip` ended with {status} and said nothing")
    } else {
        text
    }
}

/// Runs `ip -batch -` with `lines` (one command each) in `netns`; `what` names the step in the
/// error ("creating bridge isotop0").
pub(super) fn batch(what: &str, lines: &[String], netns: Netns<'_>) -> Result<(), LaunchError> {
    let mut cmd = command(netns);
    cmd.args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error(what, e))?;
    let mut script = lines.join("\n");
    script.push('\n');
    // A few hundred bytes: far below the pipe buffer, so writing before reading cannot block.
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(script.as_bytes()));
    let output = child.wait_with_output().map_err(|e| spawn_error(what, e))?;
    if !output.status.success() {
        return Err(tool_error(what, stderr_text(&output.stderr, output.status)));
    }
    if let Some(Err(e)) = written {
        return Err(tool_error(what, format!("could not write to `ip`: {e}")));
    }
    Ok(())
}

/// `ip -j addr show [dev DEV]` in isotop's namespace, as values.
pub(super) fn links(what: &str, dev: Option<&str>) -> Result<Vec<Link>, LaunchError> {
    let mut cmd = command(Netns::Host);
    cmd.args(["-j", "addr", "show"]);
    if let Some(dev) = dev {
        cmd.args(["dev", dev]);
    }
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(what, e))?;
    if !output.status.success() {
        return Err(tool_error(what, stderr_text(&output.stderr, output.status)));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| tool_error(what, format!("unexpected `ip -j addr` output: {e}")))
}

//! Where a container's log is, from its runtime's files: Docker's `config.v2.json` and
//! `hostconfig.json` (`locate::docker`), kubelet's `/var/log/pods` layout as containerd and
//! CRI-O record it and Podman's `k8s-file` `ctr.log` (`locate::cri`), isotop's own data dir;
//! and for runtimes that keep no file of a container's output, why and how to get one.
//!
//! Contract: [`locate`] never reads a log, only the runtime's records and directory listings;
//! it answers [`LogLocation::Files`] only with a format it can read, and otherwise
//! [`LogLocation::NoFile`] with the reason (the log driver, the runtime) and a hint (the
//! command that reads the journal, the option that makes a file). Paths a runtime recorded
//! are the host's: they are mapped under the [`HostRoot`]. Ids are joined onto paths only when
//! they are what the runtime makes (64 hex digits; LXC and nspawn names are never joined).

mod cri;
mod docker;

use std::path::{Path, PathBuf};

use super::{LogFiles, LogFormat, LogLocation};
use crate::host::HostRoot;
use crate::host::container::Container;
use crate::host::runtime::{Cap, Runtime, read_capped};
use crate::units::ContainerId;

/// Where container `c`'s log is, or why it has none (see the module).
pub fn locate(root: &HostRoot, c: &Container) -> LogLocation {
    match c.runtime {
        Runtime::Docker => docker::locate(root, &c.id),
        Runtime::Kubernetes | Runtime::CriO => cri::kubernetes(root, c),
        Runtime::Podman => cri::podman(root, &c.id),
        Runtime::Containerd => containerd(root, c),
        Runtime::Isotop => isotop(root, &c.id),
        Runtime::Lxc => lxc(root, &c.name),
        Runtime::Nspawn => no_file(
            "systemd-nspawn keeps no file of a container's output: its console goes to the \
             terminal it runs in, or to its unit's journal when machinectl started it",
            &format!(
                "journalctl -u systemd-nspawn@{0} (its console), journalctl -M {0} (its own journal)",
                c.name
            ),
        ),
        Runtime::Runc | Runtime::Crun => no_file(
            &format!(
                "{} keeps no log of a container's output: it goes to the terminal or pipes of \
                 whoever ran `{} run` (its --log is the runtime's own log)",
                c.runtime, c.runtime
            ),
            &format!(
                "start it with its output sent to a file (`{} run ID >/var/log/ID.log 2>&1`), \
                 or under a runtime that keeps logs (isotop run, docker, podman)",
                c.runtime
            ),
        ),
        Runtime::Unknown => no_file(
            "no runtime's files name this container, so no log of it is known",
            "its output goes wherever its parent sends it: `isotop ps TARGET`, then \
             `ls -l /proc/PID/fd/1 /proc/PID/fd/2`",
        ),
    }
}

fn no_file(reason: &str, hint: &str) -> LogLocation {
    LogLocation::NoFile {
        reason: reason.to_string(),
        hint: hint.to_string(),
    }
}

/// How a runtime names its rotated files after the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotation {
    /// `<name>.1` (newest) … `<name>.N` (oldest), each maybe `.gz` (Docker, isotop).
    Numbered,
    /// `<name>.YYYYMMDD-HHMMSS`, maybe `.gz` (kubelet, CRI-O).
    Stamped,
}

/// The rotated siblings of `current`, oldest first: regular files only (no symlink is
/// followed to a rotated file).
fn rotated(current: &Path, rotation: Rotation) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (current.parent(), current.file_name()) else {
        return Vec::new();
    };
    let Some(name) = name.to_str() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, bool, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let file_name = e.file_name().into_string().ok()?;
            let suffix = file_name.strip_prefix(name)?.strip_prefix('.')?;
            let gzip = suffix.ends_with(".gz");
            let stem = suffix.strip_suffix(".gz").unwrap_or(suffix);
            let key = match rotation {
                Rotation::Numbered => {
                    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let n: u32 = stem.parse().ok()?;
                    // Higher numbers are older: sort keys descending through their complement.
                    format!("{:010}", u32::MAX - n)
                }
                Rotation::Stamped => {
                    let stamp = stem.len() == 15
                        && stem.bytes().enumerate().all(|(i, b)| {
                            if i == 8 {
                                b == b'-'
                            } else {
                                b.is_ascii_digit()
                            }
                        });
                    if !stamp {
                        return None;
                    }
                    stem.to_string()
                }
            };
            Some((key, gzip, e.path()))
        })
        .collect();
    // One rotation seen twice (`.1` and `.1.gz` while it is being compressed): the plain one.
    found.sort();
    found.dedup_by(|later, earlier| later.0 == earlier.0);
    found.into_iter().map(|(_, _, path)| path).collect()
}

/// Files of `format` with `current` and its rotated siblings.
fn files(format: LogFormat, current: PathBuf, rotation: Rotation) -> LogLocation {
    let rotated = rotated(&current, rotation);
    LogLocation::Files(LogFiles {
        format,
        current,
        rotated,
    })
}

/// isotop's own: `launch::logs`' documented layout, `/var/lib/isotop/containers/<id>/
/// container.log` and one rotated `container.log.1`.
fn isotop(root: &HostRoot, id: &str) -> LogLocation {
    if !ContainerId::is_valid(id) {
        return no_file(
            "this isotop container's id is not one isotop makes",
            "isotop ls --all",
        );
    }
    let current = root
        .var_lib
        .join("isotop/containers")
        .join(id)
        .join("container.log");
    files(LogFormat::Isotop, current, Rotation::Numbered)
}

/// containerd without Kubernetes: nerdctl's `json-file` log in its state dir, else none.
fn containerd(root: &HostRoot, c: &Container) -> LogLocation {
    if let Some(state_dir) = c.labels.get("nerdctl/state-dir").map(Path::new)
        && state_dir.is_absolute()
        && ContainerId::is_valid(&c.id)
    {
        let current = root.host_path(state_dir).join(format!("{}-json.log", c.id));
        if current.exists() {
            return files(LogFormat::DockerJsonFile, current, Rotation::Numbered);
        }
    }
    no_file(
        "containerd keeps no file of a container's output: `ctr run` sends it to its own \
         terminal, or where its --log-uri pointed (containerd does not record that on disk)",
        "ctr run --log-uri file:///var/log/ID.log … and read that file; nerdctl run keeps a \
         json-file log (`nerdctl logs`)",
    )
}

/// LXC: no log of its own, but a console log file when its config sets one.
fn lxc(root: &HostRoot, name: &str) -> LogLocation {
    let config = crate::host::runtime::lxc::config_path(root, name);
    let console = read_capped(&config, Cap::STATE).ok().and_then(|bytes| {
        String::from_utf8_lossy(&bytes).lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "lxc.console.logfile")
                .then(|| value.trim().to_string())
                .filter(|v| !v.is_empty())
        })
    });
    match console {
        Some(path) => no_file(
            &format!(
                "LXC writes this container's console to {} as raw terminal output, not as \
                 log records",
                crate::host::text::clean_str(&path)
            ),
            &format!(
                "less -R {} (or lxc-console -n {name})",
                crate::host::text::clean_str(&path)
            ),
        ),
        None => no_file(
            "LXC keeps no log of a container's output: its console is only on lxc-console's \
             terminal",
            &format!(
                "set `lxc.console.logfile = /var/log/lxc/{name}.console` in {}, or attach with \
                 lxc-console -n {name}",
                config.display()
            ),
        ),
    }
}

#[cfg(test)]
mod tests;

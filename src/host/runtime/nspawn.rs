//! systemd-nspawn: machines named by their unit, recorded by machined in
//! `/run/systemd/machines/<name>`.
//!
//! Under systemd a machine runs as `systemd-nspawn@<name>.service` (its payload in the
//! `payload` sub-cgroup, the supervisor in `supervisor`) or in a scope `machine-<name>.scope`
//! registered with machined. Unit names escape characters as `\xNN` (`-` is `\x2d`).
//! machined's state file (`NAME=`, `LEADER=<pid>`, `CLASS=container|vm`, `ROOT=<dir>`) names
//! the leader; `CLASS=vm` marks a virtual machine (qemu), which is not a container. Without
//! systemd, nspawn still makes a `payload` cgroup below its own; the name then comes from the
//! supervisor's command line (`-M`/`--machine`, else the `-D` directory's base name).

use std::path::{Path, PathBuf};

use super::{Cap, Metadata, clean_name, read_capped};
use crate::host::HostRoot;
use crate::host::process::Cmdline;

/// The machine name a cgroup path segment names (unescaped), or `None`.
pub fn name_from_segment(segment: &str) -> Option<String> {
    let escaped = segment
        .strip_prefix("systemd-nspawn@")
        .and_then(|s| s.strip_suffix(".service"))
        .or_else(|| {
            segment
                .strip_prefix("machine-")
                .and_then(|s| s.strip_suffix(".scope"))
        })?;
    let name = unescape_unit(escaped);
    (!name.is_empty()).then_some(name)
}

/// Undoes systemd's unit-name escaping (`\x2d` → `-`); bad escapes stay as written.
pub fn unescape_unit(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(hex) = text.get(i + 2..i + 4)
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            out.push(value);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The machine name on a `systemd-nspawn` command line: `-M name`, `-Mname`, `--machine=name`,
/// `--machine name`; else the base name of `-D`/`--directory` or `-i`/`--image` (nspawn's own
/// default, minus an image's extension).
pub fn machine_name_from_cmdline(args: &Cmdline) -> Option<String> {
    let value_of = |short: &str, long: &str| {
        let mut iter = args.args().skip(1);
        while let Some(arg) = iter.next() {
            if arg == short || arg == long {
                return iter.next().map(str::to_string);
            }
            if let Some(v) = arg.strip_prefix(&format!("{long}=")) {
                return Some(v.to_string());
            }
            if let Some(v) = arg.strip_prefix(short)
                && !v.is_empty()
                && !arg.starts_with("--")
            {
                return Some(v.to_string());
            }
        }
        None
    };
    if let Some(name) = value_of("-M", "--machine") {
        return clean_name(&name);
    }
    let dir = value_of("-D", "--directory").or_else(|| value_of("-i", "--image"))?;
    let base = Path::new(dir.trim_end_matches('/')).file_name()?.to_str()?;
    let base = base.strip_suffix(".raw").unwrap_or(base);
    clean_name(base)
}

/// machined's record of one machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineRecord {
    pub leader: Option<i32>,
    pub class: Option<String>,
    pub root: Option<String>,
    pub path: PathBuf,
}

/// Reads `/run/systemd/machines/<name>` (KEY=value lines); `None` when absent.
pub fn read_machine(root: &HostRoot, name: &str) -> Option<MachineRecord> {
    if name.contains('/') {
        return None;
    }
    let path = root.run.join("systemd/machines").join(name);
    let text = String::from_utf8_lossy(&read_capped(&path, Cap::LINE).ok()?).into_owned();
    let mut record = MachineRecord {
        path,
        ..MachineRecord::default()
    };
    for line in text.lines() {
        match line.split_once('=') {
            Some(("LEADER", v)) => record.leader = v.trim().parse().ok().filter(|p| *p > 0),
            Some(("CLASS", v)) => record.class = clean_name(v),
            Some(("ROOT", v)) => record.root = clean_name(v),
            _ => {}
        }
    }
    Some(record)
}

/// True when machined records `name` as a virtual machine (`CLASS=vm`): not a container.
pub fn is_vm(root: &HostRoot, name: &str) -> bool {
    read_machine(root, name).and_then(|r| r.class).as_deref() == Some("vm")
}

/// What machined says about machine `name`; `None` when machined calls it a VM.
pub fn read(root: &HostRoot, name: &str) -> Option<Metadata> {
    let record = read_machine(root, name);
    if record.as_ref().and_then(|r| r.class.as_deref()) == Some("vm") {
        return None;
    }
    Some(Metadata {
        name: clean_name(name),
        image: record.as_ref().and_then(|r| r.root.clone()),
        init_pid: record.as_ref().and_then(|r| r.leader),
        source: record.map(|r| r.path),
        ..Metadata::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_unescaped() {
        assert_eq!(
            name_from_segment("systemd-nspawn@web\\x2d1.service"),
            Some("web-1".into())
        );
        assert_eq!(name_from_segment("machine-db.scope"), Some("db".into()));
        assert_eq!(name_from_segment("machine-.scope"), None);
        assert_eq!(name_from_segment("docker-abc.scope"), None);
        assert_eq!(unescape_unit("a\\x2"), "a\\x2");
        assert_eq!(unescape_unit("a\\xzz"), "a\\xzz");
    }

    #[test]
    fn machine_name_from_the_supervisor_command_line() {
        let n = |l: &[&str]| machine_name_from_cmdline(&Cmdline::from(l));
        assert_eq!(
            n(&["systemd-nspawn", "-M", "web", "-D", "/x"]),
            Some("web".into())
        );
        assert_eq!(n(&["systemd-nspawn", "-Mweb"]), Some("web".into()));
        assert_eq!(n(&["systemd-nspawn", "--machine=web"]), Some("web".into()));
        assert_eq!(
            n(&["systemd-nspawn", "-D", "/var/lib/machines/deb/"]),
            Some("deb".into())
        );
        assert_eq!(
            n(&["systemd-nspawn", "--image=/img/fed.raw"]),
            Some("fed".into())
        );
        assert_eq!(n(&["systemd-nspawn", "-b"]), None);
    }
}

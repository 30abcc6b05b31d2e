//! What an operator asks `isotop run` (or the dashboard's `n` form) for, parsed and checked
//! before anything is created on the host.
//!
//! Contract: [`RunSpec`] is plain data (serde, stored as the container's `config.json`); the
//! parsers here turn the operator's text into it and every error names the option, the value
//! and what would be accepted. Nothing here reads or writes the host.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::LaunchError;
use super::isolate::user::check_spec;
use super::seccomp::SeccompMode;
use crate::control::limits::{LimitInput, LimitRequest};

/// The container's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetMode {
    /// Its own network namespace with only `lo`, up (the default).
    #[default]
    None,
    /// Its own namespace plus a veth pair to the host bridge `isotop0`, an address from the
    /// bridge's subnet and a default route via the bridge. No NAT: traffic stays on the host.
    Bridge,
    /// The host's network namespace.
    Host,
}

impl NetMode {
    pub fn parse(text: &str) -> Result<NetMode, LaunchError> {
        match text {
            "none" => Ok(NetMode::None),
            "bridge" => Ok(NetMode::Bridge),
            "host" => Ok(NetMode::Host),
            other => Err(LaunchError::invalid(
                "--net",
                other,
                "use none, bridge or host",
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NetMode::None => "none",
            NetMode::Bridge => "bridge",
            NetMode::Host => "host",
        }
    }
}

/// A bind mount from the host into the container (`-v HOST:DEST[:ro]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Absolute, existing host path (checked by [`Volume::parse`]).
    pub host: PathBuf,
    /// Absolute path inside the container, without `..` components.
    pub dest: String,
    pub read_only: bool,
}

impl Volume {
    /// Parses `HOST:DEST`, `HOST:DEST:ro` or `HOST:DEST:rw`. The host path must exist (it is
    /// canonicalised, so a symlink cannot later redirect the mount).
    pub fn parse(text: &str) -> Result<Volume, LaunchError> {
        let bad = |hint: &str| LaunchError::invalid("-v", text, hint);
        let parts: Vec<&str> = text.split(':').collect();
        let (host, dest, read_only) = match parts.as_slice() {
            [h, d] => (*h, *d, false),
            [h, d, "ro"] => (*h, *d, true),
            [h, d, "rw"] => (*h, *d, false),
            [_, _, _] => return Err(bad("the third part must be ro or rw")),
            _ => return Err(bad("use HOST:DEST or HOST:DEST:ro")),
        };
        if dest.is_empty() {
            return Err(bad(
                "the container path is missing: use HOST:DEST with DEST an absolute path \
                 inside the container, e.g. /tmp:/data",
            ));
        }
        if !host.starts_with('/') || !dest.starts_with('/') {
            return Err(bad("both paths must be absolute"));
        }
        if dest.split('/').any(|c| c == "..") {
            return Err(bad("the container path may not contain `..`"));
        }
        // `/`, `//`, `/./`: a mount onto the container's root would hide its whole file system
        // (the image) behind the host directory. Always the operator's mistake.
        if dest.split('/').all(|c| c.is_empty() || c == ".") {
            return Err(bad(
                "the container path may not be the container's root `/`: mount onto a \
                 directory inside it, e.g. /tmp:/data",
            ));
        }
        let host = std::fs::canonicalize(host).map_err(|e| {
            LaunchError::invalid("-v", text, format!("the host path cannot be used: {e}"))
        })?;
        Ok(Volume {
            host,
            dest: dest.to_string(),
            read_only,
        })
    }
}

/// Everything `isotop run` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The operator's name; [`RunSpec::name_or_default`] fills one in.
    pub name: Option<String>,
    /// An image path (directory, rootfs tarball, docker-archive, OCI layout); `None` is the
    /// default image (the host's programs, read-only; see `default_image`).
    pub image: Option<PathBuf>,
    /// The command; empty means the image's entrypoint + cmd, else `/bin/sh`.
    pub command: Vec<String>,
    /// `KEY=VALUE` pairs, on top of the image's environment.
    pub env: Vec<(String, String)>,
    pub volumes: Vec<Volume>,
    pub hostname: Option<String>,
    pub net: NetMode,
    /// Applied to the container's cgroup before the command starts.
    #[serde(skip)]
    pub limits: LimitRequest,
    /// The limits as the operator typed them (kept for `inspect` and `config.json`).
    pub limit_text: LimitText,
    /// Run in the background; `isotop run` prints the id and returns.
    pub detach: bool,
    /// Forward stdin.
    pub interactive: bool,
    /// Give the container a pseudo-terminal.
    pub tty: bool,
    /// Remove everything once the command exits.
    pub remove: bool,
    /// Map container root to an unprivileged host uid/gid range (a user namespace).
    pub userns: bool,
    /// `--user USER[:GROUP]`: replaces the image's `User` (names are looked up in the image).
    #[serde(default)]
    pub user: Option<String>,
    /// The seccomp filter asked for: Docker's default unless `--security-opt
    /// seccomp=unconfined`.
    #[serde(default)]
    pub seccomp: SeccompMode,
}

/// The limit options as typed, so a stored spec can be parsed again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitText {
    pub cpus: Option<String>,
    pub memory: Option<String>,
    pub pids: Option<String>,
}

impl LimitText {
    /// Parses into a [`LimitRequest`] with the same checks as `isotop limit`.
    pub fn parse(&self) -> Result<LimitRequest, LaunchError> {
        // No limit asked for is fine here (`isotop limit` refuses an empty request).
        if self.cpus.is_none() && self.memory.is_none() && self.pids.is_none() {
            return Ok(LimitRequest::default());
        }
        LimitRequest::parse(&LimitInput {
            cpus: self.cpus.as_deref(),
            memory: self.memory.as_deref(),
            pids: self.pids.as_deref(),
            ..LimitInput::default()
        })
        .map_err(LaunchError::Control)
    }
}

/// Parses `KEY=VALUE` (`-e`). A bare `KEY` takes the value from isotop's own environment,
/// like `docker run -e KEY`; a key that is unset there is an error.
pub fn parse_env(text: &str) -> Result<(String, String), LaunchError> {
    let (key, value) = match text.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => {
            let value = std::env::var(text).map_err(|_| {
                LaunchError::invalid("-e", text, "use KEY=VALUE (KEY alone is not set here)")
            })?;
            (text.to_string(), value)
        }
    };
    if key.is_empty() || key.contains('\0') || value.contains('\0') {
        return Err(LaunchError::invalid(
            "-e",
            text,
            "the key must be non-empty and neither part may contain NUL",
        ));
    }
    Ok((key, value))
}

/// A container name: 1–63 characters, `[A-Za-z0-9][A-Za-z0-9_.-]*` (Docker's rule). Names
/// become file names under `/run/isotop/names/`, so nothing else is allowed.
pub fn check_name(name: &str) -> Result<(), LaunchError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !first_ok || !rest_ok || name.len() > 63 {
        return Err(LaunchError::invalid(
            "--name",
            name,
            "use 1-63 letters, digits, `_`, `.` or `-`, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// A hostname: 1–63 characters of letters, digits and `-` (one DNS label).
pub fn check_hostname(name: &str) -> Result<(), LaunchError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(LaunchError::invalid(
            "--hostname",
            name,
            "use 1-63 letters, digits or `-`, not starting with `-`",
        ))
    }
}

impl RunSpec {
    /// Checks what can be checked without the host: name, hostname, limits, the flag mix.
    pub fn validate(&mut self) -> Result<(), LaunchError> {
        if let Some(name) = &self.name {
            check_name(name)?;
        }
        if let Some(h) = &self.hostname {
            check_hostname(h)?;
        }
        self.limits = self.limit_text.parse()?;
        if self.detach && (self.interactive || self.tty) {
            return Err(LaunchError::invalid(
                "-d",
                "-d with -i/-t",
                "a detached container has no terminal to talk to: drop -d or -i/-t",
            ));
        }
        if self.command.first().is_some_and(|c| c.is_empty()) {
            return Err(LaunchError::invalid("COMMAND", "", "the command is empty"));
        }
        if let Some(user) = &self.user {
            check_spec(user).map_err(|hint| LaunchError::invalid("--user", user, hint))?;
        }
        Ok(())
    }

    /// The name to use: the operator's, else `<program>-<first 6 of id>`.
    pub fn name_or_default(&self, id: &str) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let program = self
            .command
            .first()
            .and_then(|c| c.rsplit('/').next())
            .filter(|p| !p.is_empty())
            .unwrap_or("box");
        let program: String = program
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c))
            .take(40)
            .collect();
        let program = if program.is_empty() {
            "box".into()
        } else {
            program
        };
        format!("{program}-{}", &id[..6.min(id.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_parse_and_refuse() {
        let v = Volume::parse("/tmp:/data:ro").unwrap();
        assert!(v.read_only);
        assert_eq!(v.dest, "/data");
        assert!(Volume::parse("tmp:/data").is_err());
        assert!(Volume::parse("/tmp:/a/../b").is_err());
        assert!(Volume::parse("/tmp:/data:xx").is_err());
        assert!(Volume::parse("/no/such/dir/here:/data").is_err());
    }

    #[test]
    fn volumes_onto_the_root_or_nowhere_are_refused() {
        for text in [
            "/tmp:/",
            "/tmp://",
            "/tmp:/./",
            "/tmp:/.//.",
            "/tmp:",
            "/tmp::ro",
        ] {
            let err = Volume::parse(text).expect_err(text).to_string();
            assert!(
                err.contains("root `/`") || err.contains("container path is missing"),
                "{text}: {err}"
            );
        }
        assert_eq!(Volume::parse("/tmp:/./data").unwrap().dest, "/./data");
    }

    #[test]
    fn names_and_hostnames() {
        assert!(check_name("web-1.a_b").is_ok());
        assert!(check_name("-x").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name(&"a".repeat(64)).is_err());
        assert!(check_hostname("box-1").is_ok());
        assert!(check_hostname("bad_host").is_err());
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("ISOTOP_SURELY_UNSET_VAR_42").is_err());
    }

    #[test]
    fn default_names_come_from_the_program() {
        let spec = RunSpec {
            command: vec!["/bin/sleep".into(), "5".into()],
            ..RunSpec::default()
        };
        assert_eq!(spec.name_or_default("abcdef123456"), "sleep-abcdef");
        let mut bad = RunSpec {
            detach: true,
            tty: true,
            ..RunSpec::default()
        };
        assert!(bad.validate().is_err());
        let mut user = RunSpec {
            user: Some("app:".into()),
            limit_text: LimitText {
                pids: Some("max".into()),
                ..LimitText::default()
            },
            ..RunSpec::default()
        };
        assert!(user.validate().unwrap_err().to_string().contains("--user"));
        user.user = Some("app:staff".into());
        assert!(user.validate().is_ok());
        assert_eq!(user.seccomp, SeccompMode::DockerDefault);
    }
}

//! Which remote host to watch: `ssh://[user@]host[:port]` or `[user@]host` (an `ssh_config`
//! alias works: ssh resolves it), from `--host` (repeatable) or `ISOTOP_HOST`
//! (comma-separated). Parsed strictly: the parts end up as ssh's arguments, so a host or user
//! that starts with `-` (ssh would take it for an option) or holds spaces or control characters
//! is refused.

use std::fmt;

/// The environment variable listing hosts, comma-separated, when no `--host` is given.
pub const HOSTS_ENV: &str = "ISOTOP_HOST";

/// One `--host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTarget {
    pub user: Option<String>,
    /// A name, an address (IPv6 without brackets) or an `ssh_config` alias.
    pub host: String,
    pub port: Option<u16>,
}

impl HostTarget {
    /// Parses `ssh://[user@]host[:port]` (IPv6 in brackets) or `[user@]host`.
    pub fn parse(text: &str) -> Result<HostTarget, String> {
        let text = text.trim();
        let bad = |why: &str| format!("--host {text:?}: {why}");
        let (user, rest) = match text.strip_prefix("ssh://") {
            Some(url) => {
                let url = url.strip_suffix('/').unwrap_or(url);
                let (user, hostport) = split_user(url);
                let (host, port) = split_port(hostport).map_err(|why| bad(&why))?;
                let target = HostTarget {
                    user: user.map(str::to_string),
                    host: host.to_string(),
                    port,
                };
                return target.checked().map_err(|why| bad(&why));
            }
            None if text.contains("://") => {
                return Err(bad("only ssh:// is understood (ssh://user@host:port)"));
            }
            None => split_user(text),
        };
        HostTarget {
            user: user.map(str::to_string),
            host: rest.to_string(),
            port: None,
        }
        .checked()
        .map_err(|why| bad(&why))
    }

    /// Every host of a comma-separated list (`ISOTOP_HOST`); empty items are skipped.
    pub fn parse_list(list: &str) -> Result<Vec<HostTarget>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(HostTarget::parse)
            .collect()
    }

    /// `[user@]host`, ssh's destination argument.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }

    fn checked(self) -> Result<HostTarget, String> {
        let fine = |part: &str| {
            !part.is_empty()
                && !part.starts_with('-')
                && !part.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if !fine(&self.host) {
            return Err(
                "give a host name or address (not empty, no spaces, not starting with -)"
                    .to_string(),
            );
        }
        if let Some(user) = &self.user
            && (!fine(user) || user.contains('@'))
        {
            return Err("the user is empty, has spaces or starts with -".to_string());
        }
        if self.port == Some(0) {
            return Err("port 0 is no port".to_string());
        }
        Ok(self)
    }
}

impl fmt::Display for HostTarget {
    /// `[user@]host[:port]`, IPv6 in brackets when a port follows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match self.port {
            Some(port) if self.host.contains(':') => write!(f, "[{}]:{port}", self.host),
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// `user@rest` at the last `@` (none: no user).
fn split_user(text: &str) -> (Option<&str>, &str) {
    match text.rsplit_once('@') {
        Some((user, rest)) => (Some(user), rest),
        None => (None, text),
    }
}

/// `host[:port]`, `[v6]:port`, `[v6]`.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map(Some)
            .map_err(|_| format!("port {p:?} is not a number from 1 to 65535"))
    };
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address opened with [ and never closed")?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host, port(p)?)),
                None => Err(format!("{after:?} after the address")),
            },
        };
    }
    match text.split_once(':') {
        Some((_, rest)) if rest.contains(':') => {
            Err("an IPv6 address with a port goes in brackets: ssh://[::1]:22".to_string())
        }
        Some((host, p)) => Ok((host, port(p)?)),
        None => Ok((text, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(user: Option<&str>, host: &str, port: Option<u16>) -> HostTarget {
        HostTarget {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn the_forms_parse() {
        assert_eq!(
            HostTarget::parse("ssh://root@127.0.0.1:2222").unwrap(),
            target(Some("root"), "127.0.0.1", Some(2222))
        );
        assert_eq!(
            HostTarget::parse("ssh://db1").unwrap(),
            target(None, "db1", None)
        );
        assert_eq!(
            HostTarget::parse("ops@db1.example").unwrap(),
            target(Some("ops"), "db1.example", None)
        );
        assert_eq!(
            HostTarget::parse("ssh://me@[::1]:22").unwrap(),
            target(Some("me"), "::1", Some(22))
        );
        assert_eq!(
            HostTarget::parse("me@::1").unwrap(),
            target(Some("me"), "::1", None)
        );
        assert_eq!(
            HostTarget::parse("ssh://root@127.0.0.1:2222")
                .unwrap()
                .to_string(),
            "root@127.0.0.1:2222"
        );
    }

    #[test]
    fn options_and_garbage_are_refused() {
        for bad in [
            "",
            "-oProxyCommand=x",
            "ssh://-oProxyCommand=x",
            "-l@host",
            "ssh://root@host:0",
            "ssh://root@host:99999",
            "ssh://host:22:1",
            "http://host",
            "a b",
            "ssh://root@[::1",
        ] {
            assert!(HostTarget::parse(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn a_list_parses_each() {
        let hosts = HostTarget::parse_list("a, ops@b ,,ssh://c:23").unwrap();
        assert_eq!(hosts.len(), 3);
        assert_eq!(hosts[2].port, Some(23));
    }
}

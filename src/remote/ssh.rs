//! The `ssh` command lines the dashboard runs: the agent's stream
//! (`ssh -T -o BatchMode=yes -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o
//! ConnectTimeout=10 [-p PORT] [OPTIONS] -- [user@]host 'CMD agent'`) and a container's shell
//! (`ssh -t [-p PORT] [OPTIONS] -- [user@]host 'CMD enter ID'`). It is the system's `ssh`, so
//! the user's `~/.ssh/config`, keys, agent and jump hosts apply as they do everywhere; isotop
//! adds no authentication of its own. `CMD` is `isotop` unless `--remote-command` or
//! `ISOTOP_REMOTE_COMMAND` says otherwise (an install off the PATH, `sudo isotop`); extra ssh
//! options come from `ISOTOP_SSH_OPTIONS` (split as a shell would, e.g.
//! `-i ~/.ssh/ops -o UserKnownHostsFile=/tmp/known`). The remote command is run by the remote
//! user's shell, so every word isotop adds to it is quoted.

use std::process::Command;

use super::target::HostTarget;

/// The environment variable naming the remote command.
pub const REMOTE_COMMAND_ENV: &str = "ISOTOP_REMOTE_COMMAND";
/// The environment variable holding extra ssh options.
pub const SSH_OPTIONS_ENV: &str = "ISOTOP_SSH_OPTIONS";
/// The remote command when none is given.
pub const DEFAULT_REMOTE_COMMAND: &str = "isotop";

/// How to reach the agents: the remote command and extra ssh options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// Run by the remote shell before `agent` or `enter ID` (not quoted: it is the user's).
    pub remote_command: String,
    /// Extra ssh arguments, before the destination.
    pub options: Vec<String>,
}

impl SshSettings {
    /// From `--remote-command` (else `ISOTOP_REMOTE_COMMAND`, else `isotop`) and
    /// `ISOTOP_SSH_OPTIONS`.
    pub fn from_env(remote_command: Option<String>) -> Result<SshSettings, String> {
        let remote_command = remote_command
            .or_else(|| std::env::var(REMOTE_COMMAND_ENV).ok())
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| DEFAULT_REMOTE_COMMAND.to_string());
        let options = match std::env::var(SSH_OPTIONS_ENV) {
            Ok(text) => shlex::split(&text).ok_or_else(|| {
                format!("{SSH_OPTIONS_ENV}={text:?}: unbalanced quotes; write it as for a shell")
            })?,
            Err(_) => Vec::new(),
        };
        Ok(SshSettings {
            remote_command,
            options,
        })
    }

    /// `ssh … HOST 'CMD agent'`: the agent's stream on stdin and stdout, no terminal, never a
    /// password prompt (BatchMode: keys and agents only), a dead link noticed within 15 s.
    pub fn agent(&self, target: &HostTarget) -> Command {
        let mut command = self.ssh(target, &["-T", "-o", "BatchMode=yes"]);
        command.args([
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            "ConnectTimeout=10",
        ]);
        self.finish(&mut command, target, "agent");
        command
    }

    /// `ssh -t … HOST 'CMD enter ID'`: the container's shell on this terminal (ssh may ask
    /// for a password here: the terminal is the user's). An id that `isotop enter` would take
    /// for an option (it starts with `-`) or that cannot be quoted is refused.
    pub fn enter(&self, target: &HostTarget, container_id: &str) -> Result<Command, String> {
        if container_id.starts_with('-') {
            return Err(format!(
                "container id {container_id:?} starts with -: not passed to a command line"
            ));
        }
        let quoted = shlex::try_quote(container_id)
            .map_err(|_| format!("container id {container_id:?} cannot be quoted for a shell"))?;
        let mut command = self.ssh(target, &["-t"]);
        self.finish(&mut command, target, &format!("enter {quoted}"));
        Ok(command)
    }

    fn ssh(&self, target: &HostTarget, first: &[&str]) -> Command {
        let mut command = Command::new("ssh");
        command.args(first);
        if let Some(port) = target.port {
            command.args(["-p", &port.to_string()]);
        }
        command
    }

    fn finish(&self, command: &mut Command, target: &HostTarget, words: &str) {
        command.args(&self.options);
        // `--` ends ssh's options: nothing after it is taken for one.
        command.arg("--");
        command.arg(target.destination());
        command.arg(format!("{} {words}", self.remote_command));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_agent_command_line() {
        let settings = SshSettings {
            remote_command: "/opt/isotop/bin/isotop".to_string(),
            options: vec!["-i".to_string(), "/tmp/key".to_string()],
        };
        let target = HostTarget::parse("ssh://root@127.0.0.1:2222").unwrap();
        let command = settings.agent(&target);
        assert_eq!(command.get_program(), "ssh");
        let args = args(&command);
        assert_eq!(&args[..3], ["-T", "-o", "BatchMode=yes"]);
        assert!(args.windows(2).any(|w| w == ["-p", "2222"]));
        assert!(
            args.windows(2)
                .any(|w| w == ["-o", "ServerAliveInterval=5"])
        );
        assert!(
            args.windows(2)
                .any(|w| w == ["-o", "ServerAliveCountMax=3"])
        );
        assert_eq!(
            &args[args.len() - 5..],
            [
                "-i",
                "/tmp/key",
                "--",
                "root@127.0.0.1",
                "/opt/isotop/bin/isotop agent"
            ]
        );
    }

    #[test]
    fn enter_quotes_the_id() {
        let settings = SshSettings {
            remote_command: "isotop".to_string(),
            options: Vec::new(),
        };
        let target = HostTarget::parse("ops@db1").unwrap();
        let args = args(&settings.enter(&target, "web; rm -rf /").unwrap());
        assert_eq!(args[0], "-t");
        assert_eq!(
            args.last().unwrap(),
            "isotop enter 'web; rm -rf /'",
            "the id reaches the remote shell as one word"
        );
        assert!(settings.enter(&target, "--privileged").is_err());
    }
}

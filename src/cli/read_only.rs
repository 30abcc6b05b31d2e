//! `--read-only` on the command line: the one check every subcommand passes through before it
//! runs ([`super::run`]). An act subcommand — one that writes to the host: limit, undo,
//! pending --cancel, freeze, thaw, kill, enter, run, stop, rm, image prune — is refused with
//! exit 2 and a message, having written nothing (not even the audit log, nor the timed
//! reverts a later run would carry out). The config's `read_only = true` counts as the flag;
//! the config is read only when an act (or the dashboard) is asked for without the flag, and
//! an act is refused when the config cannot be read (it may be what forbids it).

use super::{Cli, CliError, Command, ImageCommand};

/// True when `--read-only` is given, or an act is asked for and the config says
/// `read_only = true` (or cannot be read: then the act is refused with the config's error).
pub(crate) fn requested(cli: &Cli) -> Result<bool, CliError> {
    if cli.read_only {
        return Ok(true);
    }
    let Some(act) = cli.command.as_ref().and_then(act_of) else {
        // The dashboard: its config says too (a config it cannot read is its own error, said
        // when it loads it); other subcommands only read.
        return Ok(cli.command.is_none()
            && crate::ui::Config::load(cli.config.as_deref()).is_ok_and(|c| c.read_only));
    };
    match crate::ui::Config::load(cli.config.as_deref()) {
        Ok(config) => Ok(config.read_only),
        Err(e) => Err(CliError::Usage(format!(
            "`isotop {act}` not run: {e} (the config may say read_only = true; fix it first)"
        ))),
    }
}

/// The act `command` is, as the user typed it; `None` for what only reads.
pub(crate) fn act_of(command: &Command) -> Option<&'static str> {
    Some(match command {
        Command::Limit(_) => "limit",
        Command::Undo(_) => "undo",
        Command::Pending(args) if args.cancel.is_some() => "pending --cancel",
        Command::Freeze(_) => "freeze",
        Command::Thaw(_) => "thaw",
        Command::Kill(_) => "kill",
        Command::Enter(_) => "enter",
        Command::Run(_) => "run",
        Command::Stop(_) => "stop",
        Command::Rm(_) => "rm",
        Command::Image(args) if matches!(args.command, ImageCommand::Prune(_)) => "image prune",
        _ => return None,
    })
}

/// The refusal of `act` (exit 2).
pub(crate) fn refusal(act: &str) -> CliError {
    CliError::Usage(format!(
        "read-only: `isotop {act}` acts on the host, and --read-only (or read_only = true in \
         the config) forbids every act; run it without --read-only to act"
    ))
}

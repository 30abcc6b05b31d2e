//! `isotop logs [-f] [--since DURATION] [-n N] TARGET`: the output an isotop container wrote,
//! as its supervisor logged it — stdout records to stdout, stderr records to stderr — with
//! control characters other than newline and tab replaced (the text came from the container).
//! `-f` keeps printing until the container exits.

use std::io::Write;

use super::launch::launch_error;
use super::{CliError, LogsArgs};
use crate::control::ControlError;
use crate::control::limits::value::parse_duration;
use crate::host::HostRoot;
use crate::host::text::clean_lines;
use crate::launch::logs::{LogOptions, Stream, stream};
use crate::launch::store::now_ms;

/// `isotop logs`.
pub fn run(root: &HostRoot, args: &LogsArgs) -> Result<(), CliError> {
    let since_ms = match &args.since {
        Some(text) => {
            let ago = parse_duration(text).map_err(|_| ControlError::InvalidValue {
                what: "--since".into(),
                value: text.clone(),
                hint: "give a duration like `90s`, `10m` or `2h`".into(),
            })?;
            Some(now_ms().saturating_sub(ago.as_millis() as u64))
        }
        None => None,
    };
    let options = LogOptions {
        follow: args.follow,
        since_ms,
        tail: args.tail,
    };
    stream(root, &args.target, options, |record| {
        let text = clean_lines(&record.data);
        match record.stream {
            Stream::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Stream::Stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(text.as_bytes()).and_then(|()| err.flush())
            }
        }
    })
    .map_err(launch_error)
}

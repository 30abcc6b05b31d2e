//! `isotop limit` (being built; see issue 5).

use super::{CliError, LimitArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &LimitArgs) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop limit` is not built yet".into()))
}

pub fn undo(_root: &HostRoot, _args: &super::UndoArgs) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop undo` is not built yet".into()))
}

pub fn pending(_root: &HostRoot, _args: &super::PendingArgs) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop pending` is not built yet".into()))
}

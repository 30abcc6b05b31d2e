//! `isotop ls` (placeholder; being written).

use super::{CliError, LsArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &LsArgs) -> Result<(), CliError> {
    Err(CliError::Usage("not built yet".into()))
}

//! `isotop kill` (being built; see issue 5).

use super::{CliError, KillArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &KillArgs) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop kill` is not built yet".into()))
}

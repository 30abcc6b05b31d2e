//! `isotop freeze` (being built; see issue 5).

use super::{CliError, TargetArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &TargetArgs, _freeze: bool) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop freeze` is not built yet".into()))
}

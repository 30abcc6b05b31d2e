//! `isotop inspect` (placeholder; being written).

use super::{CliError, TargetArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &TargetArgs) -> Result<(), CliError> {
    Err(CliError::Usage("not built yet".into()))
}

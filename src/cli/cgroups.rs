//! `isotop cgroups` (placeholder; being written).

use super::{CgroupsArgs, CliError};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &CgroupsArgs) -> Result<(), CliError> {
    Err(CliError::Usage("not built yet".into()))
}

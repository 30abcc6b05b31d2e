//! `isotop ns` (placeholder; being written).

use super::{CliError, NsArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &NsArgs) -> Result<(), CliError> {
    Err(CliError::Usage("not built yet".into()))
}

//! `isotop enter` (being built; see issue 5).

use super::{CliError, EnterArgs};
use crate::host::HostRoot;

pub fn run(_root: &HostRoot, _args: &EnterArgs) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop enter` is not built yet".into()))
}

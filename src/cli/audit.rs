//! `isotop log` (being built; see issue 5).

use super::{CliError, LogArgs};

pub fn run(_args: &LogArgs) -> Result<(), CliError> {
    Err(CliError::Usage("`isotop log` is not built yet".into()))
}

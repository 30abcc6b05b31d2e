//! Errors of the dashboard boundary: a config the user must fix, or a terminal that cannot be
//! driven. Host trouble never reaches here: the sampler turns it into frame warnings.

use std::path::PathBuf;

use super::keymap::KeymapError;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The config file is unreadable or wrong; the message says what to change.
    #[error("config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("config {}: {source}", path.display())]
    Keymap {
        path: PathBuf,
        #[source]
        source: KeymapError,
    },
    /// A command-line value out of range.
    #[error("{0}")]
    Usage(String),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

impl UiError {
    /// True when the user can fix it (config or option), as opposed to a terminal failure.
    pub fn is_usage(&self) -> bool {
        !matches!(self, UiError::Terminal(_))
    }
}

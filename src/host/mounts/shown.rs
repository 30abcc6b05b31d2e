//! Serializing strangers' paths: kept as exact bytes in memory (to open them), written to JSON
//! as cleaned text (`host::text::clean`: invalid UTF-8 as U+FFFD, control and invisible
//! characters as `?`), so a path can neither fail serialization nor carry terminal escapes.
//! Read back (a frame from a remote agent or a recording), a path is its shown text: to show,
//! never to open.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serializer};

use crate::host::text::clean;

/// A path as text safe to show.
pub fn display(path: &Path) -> String {
    clean(path.as_os_str().as_bytes())
}

/// Serializes an `OsString` (a mount source) cleaned.
pub fn os<S: Serializer>(value: &OsStr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&clean(value.as_bytes()))
}

/// Reads back what [`os`] wrote.
pub fn read_os<'de, D: Deserializer<'de>>(d: D) -> Result<std::ffi::OsString, D::Error> {
    Ok(String::deserialize(d)?.into())
}

/// Serializes a path cleaned.
pub fn path<S: Serializer>(value: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&display(value))
}

/// Serializes an optional path cleaned (`null` when absent).
pub fn opt_path<S: Serializer>(value: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(p) => s.serialize_some(&display(p)),
        None => s.serialize_none(),
    }
}

/// Serializes a list of paths cleaned.
pub fn paths<S: Serializer>(value: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(value.iter().map(|p| display(p)))
}

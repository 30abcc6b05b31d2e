//! The bounds an operator raises for one launch through the environment: the per-layer bounds
//! (`ISOTOP_MAX_LAYER_BYTES`, `ISOTOP_MAX_LAYER_FILES`) and the image-wide one
//! (`ISOTOP_MAX_IMAGE_BYTES`). The image side defines the bounds and their names; reading the
//! operator's settings is the run side's, so the image side never builds a [`LaunchError`].

use crate::control::limits::value::parse_size;
use crate::host::cgroup::Limit;
use crate::launch::error::LaunchError;
use crate::launch::image::layer::{MAX_BYTES_ENV, MAX_FILES_ENV};
use crate::launch::image::manifest::IMAGE_BYTES_ENV;
use crate::launch::image::unpack::UnpackLimits;

/// The bounds from `ISOTOP_MAX_LAYER_BYTES` (a size: `64G`, bytes, or `max`) and
/// `ISOTOP_MAX_LAYER_FILES` (a count or `max`); the defaults where unset.
pub fn limits_from_env() -> Result<UnpackLimits, LaunchError> {
    let mut limits = UnpackLimits::default();
    let value = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(text) = value(MAX_BYTES_ENV) {
        limits.max_bytes = match parse_size(MAX_BYTES_ENV, &text) {
            Ok(Limit::Value(bytes)) => bytes,
            Ok(Limit::Max) => u64::MAX,
            Err(_) => {
                return Err(bad_limit(
                    MAX_BYTES_ENV,
                    &text,
                    "a size: `64G`, bytes or `max`",
                ));
            }
        };
    }
    if let Some(text) = value(MAX_FILES_ENV) {
        let t = text.trim();
        limits.max_entries = if t.eq_ignore_ascii_case("max") {
            u64::MAX
        } else {
            match t.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(bad_limit(
                        MAX_FILES_ENV,
                        &text,
                        "a count of entries or `max`",
                    ));
                }
            }
        };
    }
    Ok(limits)
}

fn bad_limit(name: &str, value: &str, hint: &str) -> LaunchError {
    LaunchError::invalid(name, value, format!("give {hint}"))
}

/// The image bound from [`IMAGE_BYTES_ENV`] (a size: `64G`, bytes, or `max`); `None` when
/// unset (then twice the per-layer bound).
pub fn image_bytes_from_env() -> Result<Option<u64>, LaunchError> {
    let Some(text) = std::env::var(IMAGE_BYTES_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    match parse_size(IMAGE_BYTES_ENV, &text) {
        Ok(Limit::Value(bytes)) => Ok(Some(bytes)),
        Ok(Limit::Max) => Ok(Some(u64::MAX)),
        Err(_) => Err(LaunchError::invalid(
            IMAGE_BYTES_ENV,
            &text,
            "give a size: `64G`, bytes or `max`".to_string(),
        )),
    }
}

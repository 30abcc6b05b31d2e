//! The layers of one image as they are prepared, with image-wide bounds: at most
//! [`MAX_LAYERS`] layers; a member the manifest lists again (or links to again) is read and
//! hashed once, its first result reused; and all layers' decompressed tar streams together
//! within the image bound ([`IMAGE_BYTES_ENV`], by default twice the per-layer bound), so N
//! bomb layers cost one bound, not N. Each layer is unpacked with the per-layer bound lowered
//! to what the image has left.

use foldhash::HashMap;
use std::path::PathBuf;

use super::super::digest::Digest;
use super::super::error::ImageError;
use super::super::layer::{LayerBlob, LayerCache, meta};
use super::super::unpack::{UnpackLimits, shown_bytes};

/// Most layers one image may stack. overlayfs takes about 500 lower directories on a 4 KiB
/// page of mount options; real images hold a few dozen (Docker's own limit is 125-127).
pub const MAX_LAYERS: usize = 128;

/// The environment variable an operator sets to raise the image-wide bound.
pub const IMAGE_BYTES_ENV: &str = "ISOTOP_MAX_IMAGE_BYTES";

/// The layers prepared so far.
pub(super) struct Stack<'c> {
    cache: &'c LayerCache,
    image: String,
    /// By member identity: the diff_id the config named for it and its layer directory.
    seen: HashMap<String, (Option<Digest>, PathBuf)>,
    /// Decompressed tar bytes of the distinct layers so far.
    used: u64,
    pub(super) layers: Vec<PathBuf>,
}

impl<'c> Stack<'c> {
    /// A stack for an image of `count` layers; refused past [`MAX_LAYERS`].
    pub(super) fn new(
        cache: &'c LayerCache,
        image: String,
        count: usize,
    ) -> Result<Self, ImageError> {
        if count > MAX_LAYERS {
            return Err(ImageError::Unsupported {
                what: format!("{image}: an image of {count} layers"),
                hint: format!(
                    "isotop stacks at most {MAX_LAYERS} layers (overlayfs's limit is near 500); \
                     squash the image"
                ),
            });
        }
        Ok(Stack {
            cache,
            image,
            seen: HashMap::default(),
            used: 0,
            layers: Vec::with_capacity(count),
        })
    }

    /// Prepares `blob` (identified in the bundle by `member`, when known) as the next layer.
    pub(super) fn push(
        &mut self,
        member: Option<String>,
        blob: &LayerBlob<'_>,
    ) -> Result<(), ImageError> {
        if let Some(key) = &member
            && let Some((diff_id, dir)) = self.seen.get(key)
        {
            // The same bytes cannot have two diff_ids: one of the config's is wrong.
            if let (Some(wanted), Some(first)) = (&blob.diff_id, diff_id)
                && wanted != first
            {
                return Err(ImageError::DiffIdMismatch {
                    what: blob.name.clone(),
                    expected: wanted.hex().to_string(),
                    actual: first.hex().to_string(),
                });
            }
            self.layers.push(dir.clone());
            return Ok(());
        }
        let image_max = self.cache.image_max_bytes();
        let left = image_max.saturating_sub(self.used);
        let limits = self.cache.limits();
        let bounded_by_image = left < limits.max_bytes;
        let layer_cache = self.cache.clone().with_limits(UnpackLimits {
            max_bytes: left.min(limits.max_bytes),
            ..limits
        });
        let dir = layer_cache.ensure_layer(blob).map_err(|e| match e {
            ImageError::LimitExceeded { .. } if bounded_by_image => self.over_image(image_max),
            other => other,
        })?;
        let tar_bytes = dir
            .file_name()
            .and_then(|hex| Digest::parse(&hex.to_string_lossy()))
            .and_then(|digest| meta::read(&self.cache.meta_dir(), &digest))
            .map_or(0, |facts| facts.tar_bytes);
        self.used = self.used.saturating_add(tar_bytes);
        if self.used > image_max {
            return Err(self.over_image(image_max));
        }
        if let Some(key) = member {
            self.seen.insert(key, (blob.diff_id.clone(), dir.clone()));
        }
        self.layers.push(dir);
        Ok(())
    }

    fn over_image(&self, image_max: u64) -> ImageError {
        ImageError::LimitExceeded {
            layer: self.image.clone(),
            what: format!(
                "its layers decompress to more than {} in all",
                shown_bytes(image_max)
            ),
            limit: format!(
                "image size limit of {} ({image_max} bytes)",
                shown_bytes(image_max)
            ),
            raise: format!("{IMAGE_BYTES_ENV}=<bytes>"),
        }
    }
}

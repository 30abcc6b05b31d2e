//! The image side of launch: from a path the operator names to unpacked layers ready to stack.
//!
//! [`ImageSource::detect`] ([`source`]) names what a path holds (a root-filesystem directory,
//! a rootfs tarball, a `docker save` archive, an OCI image layout as a directory or a tar);
//! [`LayerCache::prepare`] ([`layer`]) unpacks each layer of it ONCE into
//! `<cache>/sha256/<digest of the layer blob as stored>/` and returns the layer directories,
//! lowest first, ready to stack as overlay `lowerdir`s, plus the image's run config. Layers are
//! unpacked into a temporary directory and renamed into place, so a failed, corrupt or
//! concurrent unpack never leaves a half layer in the cache.
//!
//! The parts: [`archive`] reads named files out of a bundle (directory or tar) without
//! unpacking it, [`manifest`] reads `docker save` and OCI manifests and stacks their layers,
//! [`unpack`] extracts one layer tar (entries come from strangers: nothing they say can write
//! outside the layer directory), [`digest`] is the sha256 that keys the cache, and [`error`]
//! holds [`ImageError`], the one error type of this folder. These modules call one another
//! (a manifest prepares layers, a layer reads the archive and unpacks); that cycle stays inside
//! this folder. Outside it, the image side uses only [`store`](super::store)'s directory modes
//! and paths, and [`LaunchError`](super::LaunchError) for the operator's settings (bounds read
//! from the environment) and `isotop image ls`/`prune` ([`crate::launch::inventory`]).

pub mod archive;
pub mod digest;
pub mod error;
pub mod layer;
pub mod manifest;
pub mod source;
pub mod unpack;

pub use digest::Digest;
pub use error::ImageError;
pub use layer::LayerCache;
pub use source::{Image, ImageConfig, ImageSource};

//! LAUNCH groundwork: turns an image source into overlay lower layers, without a daemon.
//!
//! Contract: [`ImageSource::detect`] names what a path holds (a root-filesystem directory, a
//! rootfs tarball, a `docker save` archive, an OCI image layout as a directory or a tar);
//! [`LayerCache::prepare`] unpacks each layer of it ONCE into
//! `<cache>/sha256/<digest of the layer blob as stored>/` and returns the layer directories,
//! lowest first, ready to stack as overlay `lowerdir`s, plus the image's run config. Layers are
//! unpacked into a temporary directory and renamed into place, so a failed, corrupt or
//! concurrent unpack never leaves a half layer in the cache. Tar entries come from strangers:
//! nothing they say can write outside the layer directory (see [`unpack`]).

pub mod archive;
pub mod digest;
pub mod error;
pub mod image;
pub mod layer;
pub mod manifest;
pub mod unpack;

pub use digest::Digest;
pub use error::ImageError;
pub use image::{Image, ImageConfig, ImageSource};
pub use layer::LayerCache;

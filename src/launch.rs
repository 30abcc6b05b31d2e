//! LAUNCH: isotop's own runtime, without a daemon.
//!
//! Image side: [`ImageSource::detect`] names what a path holds (a root-filesystem directory, a
//! rootfs tarball, a `docker save` archive, an OCI image layout as a directory or a tar);
//! [`LayerCache::prepare`] unpacks each layer of it ONCE into
//! `<cache>/sha256/<digest of the layer blob as stored>/` and returns the layer directories,
//! lowest first, ready to stack as overlay `lowerdir`s, plus the image's run config. Layers are
//! unpacked into a temporary directory and renamed into place, so a failed, corrupt or
//! concurrent unpack never leaves a half layer in the cache. Tar entries come from strangers:
//! nothing they say can write outside the layer directory (see [`unpack`]).
//!
//! Run side: [`spec`] is what the operator asked for, [`store`] where each container's record
//! and files live, [`rootfs`] the overlay mount, [`isolate`] the container process in its
//! namespaces (as the image's user), [`seccomp`] Docker's default filter it runs under,
//! [`net`] the bridge and veth, [`cgroup`] its cgroups and limits, [`supervisor`] the
//! per-container process that outlives the CLI, and [`lifecycle`] the acts (`run`, `stop`,
//! `rm`, `logs`).

pub mod archive;
pub mod attach;
pub mod cgroup;
pub mod digest;
pub mod error;
pub mod fail;
pub mod image;
pub mod isolate;
pub mod layer;
pub mod lifecycle;
pub mod logs;
pub mod manifest;
pub mod net;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod store;
pub mod supervisor;
pub mod unpack;

pub use digest::Digest;
pub use error::ImageError;
pub use fail::LaunchError;
pub use image::{Image, ImageConfig, ImageSource};
pub use layer::LayerCache;
pub use spec::{NetMode, RunSpec, Volume};

//! LAUNCH: isotop's own runtime, without a daemon (`isotop run`, `stop`, `rm`, `logs`,
//! `image`, and `n` in the dashboard). Nothing in `control` or `host` depends on it, apart from
//! `control::enter` reusing its seccomp filter and reading its containers' configs.
//!
//! Image side, [`image`]: [`ImageSource::detect`] names what a path holds (a root-filesystem
//! directory, a rootfs tarball, a `docker save` archive, an OCI image layout as a directory or
//! a tar); [`LayerCache::prepare`] unpacks each layer of it ONCE into a content-addressed cache
//! and returns the layer directories, lowest first, ready to stack as overlay `lowerdir`s, plus
//! the image's run config. Tar entries come from strangers: nothing they say can write outside
//! the layer directory (see [`image::unpack`]). Its errors are [`ImageError`].
//!
//! Run side: [`spec`] is what the operator asked for, [`store`] where each container's record
//! and files live, [`rootfs`] the overlay mount, [`isolate`] the container process in its
//! namespaces (as the image's user), [`seccomp`] Docker's default filter it runs under,
//! [`net`] the bridge and veth, [`cgroup`] its cgroups and limits, [`supervisor`] the
//! per-container process that outlives the CLI, [`attach`] the terminal of `run -it`,
//! [`logs`] the container's captured output, and [`lifecycle`] the acts (`run`, `stop`, `rm`).
//! Their errors are [`LaunchError`] ([`error`]), which wraps an [`ImageError`].
//!
//! Above both: [`data`] makes isotop's data directory (the store's part and the cache's part)
//! and [`inventory`] answers `isotop image ls`/`prune` from the cache and the containers'
//! records. Direction of imports: `image` → `store::dirs` (modes, temporary names), never the
//! reverse; only `data`, `inventory` and the run side use both.

pub mod attach;
pub mod cgroup;
pub mod data;
pub mod error;
pub mod image;
pub mod inventory;
pub mod isolate;
pub mod lifecycle;
pub mod logs;
pub mod net;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod store;
pub mod supervisor;

pub use error::LaunchError;
pub use image::{Digest, Image, ImageConfig, ImageError, ImageSource, LayerCache};
pub use spec::{NetMode, RunSpec, Volume};

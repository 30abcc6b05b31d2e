//! Tests of isotop's own runtime (`isotop run`): image archives and their hostile forms,
//! the unpacker, the layer cache, the container process's isolation and confinement, its
//! network, and a container's whole lifecycle through the real binary.
//!
//! Tests that mount, unshare or start containers are `#[ignore = "needs root"]`: run them as
//! root with `cargo test --locked -- --include-ignored`.

mod support;

mod bad_input;
mod confine;
mod hostile;
mod image;
mod image_bounds;
mod image_cache;
mod image_outer;
mod image_reuse;
mod isolate;
mod lifecycle;
mod logs;
mod mounts;
mod net;
mod run;
mod stack;
mod unpack_bounds;
mod unpack_escape;

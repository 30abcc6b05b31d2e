//! Every raw system call isotop makes that no kept crate wraps safely: the only module where
//! `unsafe` is allowed (Cargo.toml's `[lints]` deny `unsafe_code` everywhere else). Each
//! `unsafe` block carries a `// SAFETY:` line saying why the call cannot break memory safety.
//!
//! Contract: each file is one noun and exposes small safe functions that return
//! `nix::Result`/`io::Result` values and never panic:
//! - [`nsfs`]: the namespace-file ioctls the read side needs (parent, owner, kind, owner uid);
//! - [`fd`], [`process`], [`child`]: descriptors by number, exec and exit, fork and clone, and
//!   the fork-and-report-error protocol both `enter` and `launch` start their children with;
//! - [`credentials`], [`capability`], [`seccomp`]: what a child does to itself before exec,
//!   by raw system calls that touch no other thread (see [`credentials`]);
//! - [`signal`], [`mount`], [`net`], [`bpf`]: dispositions and masks, `mount_setattr`, `lo`
//!   up, the cgroup device program;
//! - [`heap`]: the C allocator's arena count and thresholds, and giving free pages back;
//! - [`ioprio`]: a thread's I/O scheduling class (the layer sizer runs in the idle class);
//! - [`proc_events`]: the kernel's process events connector (fork and exit as they happen);
//! - [`netns`]: joining network namespaces on a dedicated thread that exits afterwards (the
//!   read side's netlink reads inside each container's network);
//! - [`command`]: the few steps run in a `std::process::Command` child between fork and exec.
//!
//! Functions marked "child-safe" make only async-signal-safe calls, allocate nothing and take
//! no lock: they may run between `fork`/`clone` and `exec` in a copy of a multi-threaded
//! process. Where nix or rustix has a safe API, callers use it directly instead of adding one
//! here.
#![allow(unsafe_code)]

pub mod bpf;
pub mod capability;
pub mod child;
pub mod command;
pub mod credentials;
pub mod fd;
pub mod heap;
pub mod ioprio;
pub mod mount;
pub mod net;
pub mod netns;
pub mod nsfs;
pub mod proc_events;
pub mod process;
pub mod seccomp;
pub mod signal;

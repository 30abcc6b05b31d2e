//! Containers' networks as the kernel sees them: each network namespace's interfaces (kind,
//! state, MTU, MAC, addresses, counters) and main-table routes, read through netlink from
//! inside the namespace; who is wired to whom (each veth's peer in its other namespace, the
//! bridge or Open vSwitch datapath a port hangs on); and the host map `isotop net` prints.
//!
//! Contract:
//! - A namespace is counted once, identified by its nsfs inode ([`namespaces`]), and attributed
//!   afterwards to every container whose init is in it: the containers of a pod share one
//!   reading, never two.
//! - Two depths: [`read::read_full`] (addresses, routes: the map, the Network view) and
//!   [`read::read_counters`] (counters only, the cheap path a sampler calls each tick; with
//!   each namespace's file kept open between calls: [`kept::KeptNetDev`]). Both
//!   return counters with the moment they were read, never rates (`sample::rates` makes them).
//! - Entering a namespace happens on a dedicated thread that exits afterwards
//!   ([`crate::sys::netns`]), never on a caller's thread.
//! - Nothing fails a read: a namespace that vanished, an interface deleted mid-dump, netlink
//!   refused (not root) are notes ([`read::NetRead::notes`]); a [`error::NetError`] names the
//!   namespace and the file or request.
//! - Interface names and labels are chosen by whoever is root in the namespace: they are
//!   cleaned ([`crate::host::text`]) when decoded.

pub mod address;
pub mod counters;
pub mod error;
pub mod kept;
pub mod link;
pub mod map;
pub mod namespaces;
pub mod peers;
pub mod read;
pub mod route;
pub mod socket;

pub use counters::Counters;
pub use error::NetError;
pub use kept::KeptNetDev;
pub use link::{Endpoint, Interface, InterfaceKind, LinkTarget};
pub use namespaces::{NetnsHandle, discover, own_netns};
pub use read::{
    CounterSource, NetRead, NetnsCounters, NetnsReading, read_counters, read_counters_from,
    read_full,
};

/// A netlink message's bytes as the kernel would send them (the decoders' tests).
#[cfg(test)]
pub(crate) fn emitted(message: &impl netlink_packet_core::Emitable) -> Vec<u8> {
    let mut bytes = vec![0; message.buffer_len()];
    message.emit(&mut bytes);
    bytes
}

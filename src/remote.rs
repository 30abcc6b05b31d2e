//! Remote hosts over ssh: the dashboard here, the sampler there.
//!
//! `isotop agent` ([`agent`]) runs on the far host: it samples as the dashboard would, writes
//! each frame to its stdout and reads requests (acts, the network map, the interval, a log to
//! follow) from its stdin, in the versioned, length-prefixed protocol of [`wire`]. It never
//! listens on a socket: the system `ssh` is the transport and its authentication, and every
//! act it runs goes through the same guarded, audited act path as the dashboard's
//! (`ui::acts::run`), audited on the host it changes. [`request`] is what crosses the wire for
//! an act: a target named by container id or cgroup path, resolved by the agent from its own
//! frames, never a pid or a client's view of a container.
//!
//! [`client`] is the dashboard's end: it spawns `ssh … HOST isotop agent` ([`ssh`] builds the
//! command lines, [`target`] parses `ssh://user@host:port` and `user@host`), reads frames on a
//! thread, reconnects with backoff when the connection drops, and hands the dashboard's app
//! loop a [`crate::ui::FrameSource`] shaped like the local sampler.
//!
//! Must not: listen on any socket; trust anything the peer sends (every length is bounded,
//! every text cleaned before a terminal, acts resolved by the agent); import `cli`.

pub mod agent;
pub mod client;
pub mod request;
pub mod ssh;
pub mod target;
pub mod wire;

pub use client::RemoteHost;
pub use target::HostTarget;

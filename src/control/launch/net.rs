//! STUB (helper B replaces): container networks.
#![allow(unused_variables)]
use serde::{Deserialize, Serialize};

use super::fail::LaunchError;
use crate::host::HostRoot;

/// The host bridge and its subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    pub bridge: String,
    /// IPv4 CIDR, e.g. `10.77.0.0/24`.
    pub subnet: String,
}

impl BridgeConfig {
    /// `isotop0` on `10.77.0.0/24`, overridden by `ISOTOP_BRIDGE` / `ISOTOP_SUBNET`.
    pub fn from_env() -> Result<BridgeConfig, LaunchError> {
        unimplemented!("helper B")
    }
}

/// What bridge mode set up for one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub host_veth: String,
    /// `10.77.0.5/24`.
    pub address: String,
    pub gateway: String,
}

/// Creates the bridge if needed, a veth pair, moves one end into `pid`'s net namespace as
/// `eth0` with an address and a default route via the bridge.
pub fn attach_bridge(
    host: &HostRoot,
    config: &BridgeConfig,
    id: &str,
    pid: i32,
) -> Result<Attachment, LaunchError> {
    unimplemented!("helper B")
}

/// Removes the container's veth (if still there) and releases its address. Idempotent.
pub fn detach(host: &HostRoot, config: &BridgeConfig, id: &str, host_veth: Option<&str>) {
    unimplemented!("helper B")
}

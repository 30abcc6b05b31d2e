//! Container networks: `none` and `host` need nothing here (the container brings its own
//! loopback up, or shares the host's namespace); `bridge` is this module.
//!
//! Contract of bridge mode, per container id:
//! - the host bridge (`isotop0`, subnet `10.77.0.0/24`; `ISOTOP_BRIDGE` and `ISOTOP_SUBNET`
//!   override them, see [`BridgeConfig::from_vars`]) exists, is up and holds the gateway, the
//!   subnet's first host address (`10.77.0.1/24`) — see `net/bridge.rs`;
//! - one address leased to the container, the lowest free one (see `net/lease.rs`);
//! - a veth pair: the host end `veth<first 8 hex digits of the id>` attached to the bridge and
//!   up; the other end created directly inside the container's network namespace as `eth0`
//!   (no temporary name on the host, so nothing can clash there), with the address, up, and a
//!   default route via the gateway. The container brings `lo` up itself.
//! - No NAT, forwarding or firewall rule: traffic stays on this host.
//!
//! [`attach_bridge`] either does all of it or undoes what it did (veth, lease) and returns the
//! error; it never removes the bridge, which other containers use. [`detach`] is idempotent.
//! The work is done by iproute2's `ip` (module `ip`) run in isotop's namespace or, via `setns`
//! on a descriptor of the container's namespace, inside it.

mod bridge;
mod ip;
mod lease;
pub mod subnet;

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

use super::error::LaunchError;
use crate::host::HostRoot;
use crate::sys::nsfs;
use crate::units::ContainerId;
use ip::{Netns, SEEN_NETNS_PATH};
pub use subnet::{ENV_BRIDGE, ENV_SUBNET, Subnet};

/// The bridge isotop uses when `ISOTOP_BRIDGE` is unset or empty.
pub const DEFAULT_BRIDGE: &str = "isotop0";
/// The subnet isotop uses when `ISOTOP_SUBNET` is unset or empty.
pub const DEFAULT_SUBNET: &str = "10.77.0.0/24";

/// The container-side interface name.
const CONTAINER_IFACE: &str = "eth0";

/// The host bridge and its subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    pub bridge: String,
    /// IPv4 CIDR, e.g. `10.77.0.0/24`.
    pub subnet: String,
}

impl BridgeConfig {
    /// `isotop0` on `10.77.0.0/24`, overridden by `ISOTOP_BRIDGE` / `ISOTOP_SUBNET`
    /// (see [`BridgeConfig::from_vars`]).
    pub fn from_env() -> Result<BridgeConfig, LaunchError> {
        let read = |name: &str| match std::env::var_os(name) {
            None => Ok(None),
            Some(value) => value
                .into_string()
                .map(Some)
                .map_err(|v| LaunchError::invalid(name, &v.to_string_lossy(), "not UTF-8 text")),
        };
        Self::from_vars(read(ENV_BRIDGE)?.as_deref(), read(ENV_SUBNET)?.as_deref())
    }

    /// The rules of [`from_env`](Self::from_env) on given values: each is trimmed; unset or
    /// empty means the default; the bridge name has 1–15 characters of `[A-Za-z0-9_.-]` (not
    /// `.` or `..`); the subnet is a private (RFC 1918) IPv4 network address with a prefix from
    /// /16 to /29.
    pub fn from_vars(
        bridge: Option<&str>,
        subnet: Option<&str>,
    ) -> Result<BridgeConfig, LaunchError> {
        let pick = |value: Option<&str>, default: &str| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        BridgeConfig::new(&pick(bridge, DEFAULT_BRIDGE), &pick(subnet, DEFAULT_SUBNET))
    }

    /// A checked configuration.
    pub fn new(bridge: &str, subnet: &str) -> Result<BridgeConfig, LaunchError> {
        let config = BridgeConfig {
            bridge: bridge.into(),
            subnet: subnet.into(),
        };
        config.check()?;
        Ok(config)
    }

    /// Checks both fields (they are public, so every entry point checks again).
    pub fn check(&self) -> Result<Subnet, LaunchError> {
        subnet::check_bridge_name(&self.bridge)?;
        Subnet::parse(&self.subnet)
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

/// The host end of the container's veth pair: `veth` + the first 8 hex digits of its id
/// (12 characters, within the kernel's 15).
pub fn host_veth_name(id: &str) -> String {
    let digits: String = id.chars().take(8).collect();
    format!("veth{digits}")
}

/// Creates the bridge if needed, a veth pair, moves one end into `pid`'s net namespace as
/// `eth0` with an address and a default route via the bridge.
pub fn attach_bridge(
    host: &HostRoot,
    config: &BridgeConfig,
    id: &str,
    pid: i32,
) -> Result<Attachment, LaunchError> {
    let subnet = config.check()?;
    if !ContainerId::is_valid(id) {
        return Err(LaunchError::invalid(
            "container id",
            id,
            "64 lowercase hex digits",
        ));
    }
    if !nix::unistd::geteuid().is_root() {
        return Err(LaunchError::NeedsRoot {
            what: "bridge networking".into(),
        });
    }
    let netns = open_own_netns(host, id, pid)?;
    let host_veth = host_veth_name(id);
    if bridge::iface_exists(host, &host_veth) {
        return Err(LaunchError::WrongState {
            id: id.into(),
            why: format!(
                "a host interface named {host_veth} already exists (a container whose id starts \
                 with the same 8 digits, or one not removed): `isotop rm` it or delete it"
            ),
        });
    }

    let address = {
        let leases = lease::lock(host, &config.bridge)?;
        if let Err(e) = bridge::ensure(host, &config.bridge, &subnet) {
            leases.remove_if_empty();
            return Err(e);
        }
        leases.take(host, &subnet, id)?
    };
    let attachment = Attachment {
        host_veth,
        address: format!("{address}/{}", subnet.prefix()),
        gateway: subnet.gateway().to_string(),
    };
    if let Err(e) = plumb(config, &attachment, netns.as_fd()) {
        if bridge::iface_exists(host, &attachment.host_veth) {
            // Deleting one end deletes the pair, wherever the other end is.
            let _ = delete_veth(&attachment.host_veth);
        }
        if let Ok(Some(leases)) = lease::lock_existing(host, &config.bridge) {
            leases.release_address(address, id);
        }
        return Err(e);
    }
    Ok(attachment)
}

/// The veth pair, its host end on the bridge, and the container end configured.
fn plumb(
    config: &BridgeConfig,
    attachment: &Attachment,
    netns: std::os::fd::BorrowedFd<'_>,
) -> Result<(), LaunchError> {
    let Attachment {
        host_veth,
        address,
        gateway,
    } = attachment;
    let bridge = &config.bridge;
    ip::batch(
        &format!("creating veth {host_veth} on bridge {bridge}"),
        &[
            format!(
                "link add {host_veth} type veth peer name {CONTAINER_IFACE} netns {SEEN_NETNS_PATH}"
            ),
            format!("link set dev {host_veth} master {bridge} up"),
        ],
        Netns::HostSeeing(netns),
    )?;
    ip::batch(
        &format!("configuring {CONTAINER_IFACE} ({address}) in the container"),
        &[
            format!("addr add {address} dev {CONTAINER_IFACE}"),
            format!("link set dev {CONTAINER_IFACE} up"),
            format!("route add default via {gateway} dev {CONTAINER_IFACE}"),
        ],
        Netns::Inside(netns),
    )
}

/// Opens `pid`'s network namespace and refuses isotop's own: configuring that one would give
/// the host an `eth0` and a default route.
fn open_own_netns(host: &HostRoot, id: &str, pid: i32) -> Result<OwnedFd, LaunchError> {
    if pid <= 0 {
        return Err(LaunchError::invalid(
            "pid",
            &pid.to_string(),
            "a process id above 0",
        ));
    }
    let path = host.pid_dir(pid).join("ns/net");
    let fd = nsfs::open(&path)
        .map_err(|e| LaunchError::io("open the network namespace of the container", &path, e))?;
    let theirs = nix::sys::stat::fstat(fd.as_fd())
        .map_err(|e| LaunchError::kernel("fstat of the container's network namespace", e))?;
    let own_path = host.self_dir().join("ns/net");
    let own = std::fs::metadata(&own_path)
        .map_err(|e| LaunchError::io("stat isotop's network namespace", &own_path, e))?;
    if theirs.st_ino == own.ino() && theirs.st_dev == own.dev() {
        return Err(LaunchError::WrongState {
            id: id.into(),
            why: format!(
                "process {pid} is in isotop's own network namespace; bridge mode needs the \
                 container in a new one (CLONE_NEWNET)"
            ),
        });
    }
    Ok(fd)
}

fn delete_veth(name: &str) -> Result<(), LaunchError> {
    ip::batch(
        &format!("deleting veth {name}"),
        &[format!("link del dev {name}")],
        Netns::Host,
    )
}

/// Removes the container's veth (if still there) and releases its address. Idempotent.
pub fn detach(host: &HostRoot, config: &BridgeConfig, id: &str, host_veth: Option<&str>) {
    let _ = try_detach(host, config, id, host_veth);
}

/// [`detach`], reporting the first thing it could not undo (it still tries the rest). Only
/// `veth<8 hex digits of id>` is ever deleted, whatever `host_veth` says (a record is a file
/// anyone with root could edit; the bridge or `eth0` are never deleted here).
pub fn try_detach(
    host: &HostRoot,
    config: &BridgeConfig,
    id: &str,
    host_veth: Option<&str>,
) -> Result<(), LaunchError> {
    if !ContainerId::is_valid(id) {
        return Err(LaunchError::invalid(
            "container id",
            id,
            "64 lowercase hex digits",
        ));
    }
    let ours = host_veth_name(id);
    let mut first_error = None;
    if let Some(named) = host_veth.filter(|n| *n != ours) {
        first_error = Some(LaunchError::invalid(
            "host veth",
            named,
            format!("container {id} uses {ours}; left as is"),
        ));
    }
    // The pair normally goes with the container's namespace; a held namespace keeps it.
    if bridge::iface_exists(host, &ours)
        && let Err(e) = delete_veth(&ours)
        && bridge::iface_exists(host, &ours)
    {
        first_error.get_or_insert(e);
    }
    match subnet::check_bridge_name(&config.bridge) {
        Ok(()) => match lease::lock_existing(host, &config.bridge) {
            Ok(leases) => {
                leases.map(|l| l.release_all(id));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        },
        Err(e) => {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// True when the configured bridge exists on the host (as a bridge).
pub fn bridge_exists(host: &HostRoot, config: &BridgeConfig) -> bool {
    subnet::check_bridge_name(&config.bridge).is_ok() && bridge::is_bridge(host, &config.bridge)
}

/// Deletes the bridge when no interface is attached to it, and its lease directory when no
/// lease is left; `Ok(true)` when the bridge was deleted. A launch attaching at that very
/// moment fails cleanly (its veth cannot join) and may be retried.
pub fn remove_bridge_if_unused(
    host: &HostRoot,
    config: &BridgeConfig,
) -> Result<bool, LaunchError> {
    subnet::check_bridge_name(&config.bridge)?;
    let leases = lease::lock_existing(host, &config.bridge)?;
    let removed = bridge::remove_if_unused(host, &config.bridge)?;
    if let Some(leases) = leases {
        leases.remove_if_empty();
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let default = BridgeConfig::from_vars(None, None).unwrap();
        assert_eq!(default.bridge, "isotop0");
        assert_eq!(default.subnet, "10.77.0.0/24");
        assert_eq!(
            BridgeConfig::from_vars(Some(""), Some("  ")).unwrap(),
            default
        );
        let custom = BridgeConfig::from_vars(Some(" br-lab "), Some("192.168.50.0/26")).unwrap();
        assert_eq!(custom.bridge, "br-lab");
        assert_eq!(custom.subnet, "192.168.50.0/26");
        let err = BridgeConfig::from_vars(Some("much-too-long-name"), None).unwrap_err();
        assert!(err.to_string().contains("ISOTOP_BRIDGE"), "{err}");
        let err = BridgeConfig::from_vars(None, Some("1.2.3.0/24")).unwrap_err();
        assert!(err.to_string().contains("ISOTOP_SUBNET"), "{err}");
    }

    #[test]
    fn host_veth_names_fit_the_kernel_limit() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(host_veth_name(&id), "veth01234567");
        assert!(host_veth_name(&id).len() <= subnet::MAX_IFNAME);
    }

    #[test]
    fn detach_without_anything_attached_is_quiet_and_refuses_foreign_names() {
        let tmp = tempfile::tempdir().unwrap();
        let host = HostRoot::under(tmp.path());
        let config = BridgeConfig::new("isotb-none", "10.9.0.0/24").unwrap();
        let id = crate::launch::store::new_id().unwrap();
        try_detach(&host, &config, &id, None).unwrap();
        detach(&host, &config, &id, Some("eth0"));
        assert!(try_detach(&host, &config, &id, Some("eth0")).is_err());
        assert!(try_detach(&host, &config, "../x", None).is_err());
    }
}

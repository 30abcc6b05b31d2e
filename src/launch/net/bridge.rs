//! The host bridge every bridge-mode container's veth is attached to.
//!
//! Contract: [`ensure`] leaves the bridge existing, up, and holding the gateway address
//! (`<first host address>/<prefix>`, e.g. `10.77.0.1/24`), creating it when missing — and
//! refuses plainly when the name belongs to an interface that is not a bridge, when the bridge
//! holds other IPv4 addresses and not the gateway, or (on creation) when another interface
//! already has an address overlapping the subnet. It adds no NAT, forwarding or firewall
//! rule: traffic stays on this host. Callers hold the lease lock of the bridge, so isotop
//! processes never race here; a foreign process creating the same bridge at the same moment
//! is handled by looking again. Existence is read from sysfs (`<sys>/class/net/<name>`).

use std::path::PathBuf;

use super::ip::{self, Netns};
use super::subnet::{ENV_BRIDGE, ENV_SUBNET, Subnet};
use crate::host::HostRoot;
use crate::host::text::clean_str;
use crate::launch::fail::LaunchError;

/// `<sys>/class/net/<name>`: present when a network interface of that name exists.
pub(super) fn iface_dir(host: &HostRoot, name: &str) -> PathBuf {
    host.sys.join("class/net").join(name)
}

pub(super) fn iface_exists(host: &HostRoot, name: &str) -> bool {
    iface_dir(host, name).exists()
}

/// True when `name` is a bridge (it has a `bridge/` attribute directory).
pub(super) fn is_bridge(host: &HostRoot, name: &str) -> bool {
    iface_dir(host, name).join("bridge").is_dir()
}

/// The interfaces attached to the bridge (`brif/`), sorted.
pub(super) fn ports(host: &HostRoot, bridge: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(iface_dir(host, bridge).join("brif"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// See the module contract. `bridge` is a checked name.
pub(super) fn ensure(host: &HostRoot, bridge: &str, subnet: &Subnet) -> Result<(), LaunchError> {
    let gateway = format!("{}/{}", subnet.gateway(), subnet.prefix());
    // Three looks: a bridge another process is creating right now may be seen half made.
    let mut last_error = None;
    for _ in 0..3 {
        if iface_exists(host, bridge) {
            match fix_existing(host, bridge, subnet, &gateway) {
                Ok(()) => return Ok(()),
                Err(e @ LaunchError::Invalid { .. }) => return Err(e),
                Err(e) => last_error = Some(e),
            }
        } else {
            refuse_overlaps(bridge, subnet)?;
            let lines = [
                format!("link add name {bridge} type bridge"),
                format!("addr add {gateway} dev {bridge}"),
                format!("link set dev {bridge} up"),
            ];
            match ip::batch(&format!("creating bridge {bridge}"), &lines, Netns::Host) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
    }
    Err(last_error.unwrap_or_else(|| LaunchError::Tool {
        what: format!("setting up bridge {bridge}"),
        detail: "it kept changing while isotop looked at it".into(),
    }))
}

/// An existing interface named `bridge`: check it, add the gateway if it has no IPv4 address,
/// bring it up if down.
fn fix_existing(
    host: &HostRoot,
    bridge: &str,
    subnet: &Subnet,
    gateway: &str,
) -> Result<(), LaunchError> {
    if !is_bridge(host, bridge) {
        return Err(LaunchError::invalid(
            ENV_BRIDGE,
            bridge,
            "a network interface of this name exists and is not a bridge: \
             set ISOTOP_BRIDGE to another name",
        ));
    }
    let what = format!("reading bridge {bridge}");
    let links = ip::links(&what, Some(bridge))?;
    let Some(link) = links.first() else {
        return Err(LaunchError::Tool {
            what,
            detail: "`ip addr show` listed nothing".into(),
        });
    };
    let addresses = link.ipv4();
    let has_gateway = addresses
        .iter()
        .any(|(a, p)| *a == subnet.gateway() && *p == subnet.prefix());
    let mut lines = Vec::new();
    if !has_gateway {
        if !addresses.is_empty() {
            let held: Vec<String> = addresses.iter().map(|(a, p)| format!("{a}/{p}")).collect();
            return Err(LaunchError::invalid(
                ENV_SUBNET,
                &subnet.to_string(),
                format!(
                    "bridge {bridge} already has the address {}, not {gateway}: set \
                     ISOTOP_SUBNET to the subnet of its address, or ISOTOP_BRIDGE to another \
                     bridge",
                    held.join(", ")
                ),
            ));
        }
        lines.push(format!("addr add {gateway} dev {bridge}"));
    }
    if !link.is_up() {
        lines.push(format!("link set dev {bridge} up"));
    }
    if lines.is_empty() {
        return Ok(());
    }
    ip::batch(&format!("setting up bridge {bridge}"), &lines, Netns::Host)
}

/// Refuses a subnet another interface of the host already has addresses in: routes to it
/// would be ambiguous.
fn refuse_overlaps(bridge: &str, subnet: &Subnet) -> Result<(), LaunchError> {
    let links = ip::links("listing the host's addresses", None)?;
    for link in links.iter().filter(|l| l.ifname != bridge) {
        if let Some((address, prefix)) = link
            .ipv4()
            .into_iter()
            .find(|(a, p)| subnet.overlaps(*a, *p))
        {
            return Err(LaunchError::invalid(
                ENV_SUBNET,
                &subnet.to_string(),
                format!(
                    "it overlaps {address}/{prefix} of interface {}: choose a private subnet \
                     no interface of this host uses",
                    clean_str(&link.ifname)
                ),
            ));
        }
    }
    Ok(())
}

/// Deletes the bridge when nothing is attached to it; `Ok(false)` when it is missing or in use.
pub(super) fn remove_if_unused(host: &HostRoot, bridge: &str) -> Result<bool, LaunchError> {
    if !is_bridge(host, bridge) || !ports(host, bridge).is_empty() {
        return Ok(false);
    }
    ip::batch(
        &format!("removing bridge {bridge}"),
        &[format!("link del dev {bridge}")],
        Netns::Host,
    )?;
    Ok(true)
}

//! One network interface as `RTM_GETLINK` reports it, decoded attribute by attribute.
//!
//! Contract: [`decode`] turns the payload of one `RTM_NEWLINK` message into an [`Interface`] or
//! `None` when even its fixed header is short. Each attribute is parsed on its own, so one the
//! parser rejects (a newer kernel's, a malformed one) is skipped instead of losing the
//! interface. The name is taken as raw bytes and cleaned ([`clean`]): an interface name is
//! chosen by whoever is root in its namespace, i.e. by a stranger, and may be any bytes but `/`,
//! `:`, white space and NUL — not necessarily UTF-8, which the crate's own string parser refuses.

use netlink_packet_core::{NlasIterator, ParseableParametrized};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkHeader, LinkInfo, LinkLayerType, State,
};
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::counters::Counters;
use crate::host::text::clean;

/// `sizeof(struct ifinfomsg)`: the fixed header before the attributes.
const LINK_HEADER_LEN: usize = 16;
/// `IFLA_IFNAME` (linux/if_link.h).
const IFLA_IFNAME: u16 = 3;

/// What an interface is, by its driver (`IFLA_INFO_KIND`) or, for loopback, its link type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterfaceKind {
    Loopback,
    Veth,
    Bridge,
    Macvlan,
    Ipvlan,
    Vxlan,
    /// A tun or tap device.
    Tun,
    Wireguard,
    /// Anything else: a physical NIC (no driver kind), `dummy`, `bond`, `openvswitch`, …
    /// ([`Interface::driver`] names it).
    Other,
}

impl InterfaceKind {
    /// The word tables show.
    pub fn name(self) -> &'static str {
        match self {
            InterfaceKind::Loopback => "loopback",
            InterfaceKind::Veth => "veth",
            InterfaceKind::Bridge => "bridge",
            InterfaceKind::Macvlan => "macvlan",
            InterfaceKind::Ipvlan => "ipvlan",
            InterfaceKind::Vxlan => "vxlan",
            InterfaceKind::Tun => "tun",
            InterfaceKind::Wireguard => "wireguard",
            InterfaceKind::Other => "other",
        }
    }
}

/// Where `IFLA_LINK` points: a veth's peer, a macvlan's or vlan's lower device. The index is
/// the one the other namespace uses; `netnsid` (`IFLA_LINK_NETNSID`) is the id the reading
/// namespace gives the other one, absent when both are in the same namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkTarget {
    pub ifindex: u32,
    pub netnsid: Option<i32>,
}

/// The other end of a link, once found: in which namespace (its nsfs inode), which interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub netns: u64,
    pub ifindex: u32,
    pub name: String,
}

/// One interface of one network namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    /// The interface's index in its namespace (indexes repeat across namespaces).
    pub ifindex: u32,
    /// The name, cleaned.
    pub name: String,
    pub kind: InterfaceKind,
    /// The kernel's name of the driver (`IFLA_INFO_KIND`: `veth`, `bridge`, `openvswitch`,
    /// `dummy`, …), cleaned; `None` for devices without one (physical NICs, loopback).
    pub driver: Option<String>,
    /// Operational state (`IFLA_OPERSTATE`) as `ip link` prints it, lowercased: `up`, `down`,
    /// `unknown` (loopback, tun), `lowerlayerdown`, `dormant`, `notpresent`, `testing`.
    pub state: String,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    pub mtu: Option<u32>,
    /// Hardware address, `aa:bb:cc:dd:ee:ff`; `None` when the device has none.
    pub mac: Option<String>,
    /// The bridge, bond or Open vSwitch datapath this interface is a port of (`IFLA_MASTER`),
    /// by its index in the same namespace.
    pub master: Option<u32>,
    /// Where `IFLA_LINK` points, when it names another interface.
    pub link: Option<LinkTarget>,
    /// A veth's other end, once resolved (`host::net::peers`).
    pub peer: Option<Endpoint>,
    /// A macvlan's, ipvlan's or vlan's lower device, once resolved.
    pub lower: Option<Endpoint>,
    pub addresses: Vec<Address>,
    /// The kernel's 64-bit counters (`IFLA_STATS64`).
    pub counters: Option<Counters>,
}

#[cfg(test)]
impl Interface {
    /// An up interface with only what the resolving and mapping tests look at.
    pub(crate) fn for_test(
        ifindex: u32,
        name: &str,
        kind: InterfaceKind,
        link: Option<(u32, Option<i32>)>,
    ) -> Interface {
        Interface {
            ifindex,
            name: name.to_string(),
            kind,
            driver: None,
            state: "up".to_string(),
            admin_up: true,
            mtu: Some(1500),
            mac: None,
            master: None,
            link: link.map(|(ifindex, netnsid)| LinkTarget { ifindex, netnsid }),
            peer: None,
            lower: None,
            addresses: Vec::new(),
            counters: None,
        }
    }
}

/// Decodes one `RTM_NEWLINK` payload. `None` when the fixed header is short or the interface
/// has no name attribute (the kernel always sends one).
pub fn decode(payload: &[u8]) -> Option<Interface> {
    let header = LinkHeader::parse(payload).ok()?;
    let attributes = payload.get(LINK_HEADER_LEN..)?;
    let mut interface = Interface {
        ifindex: header.index,
        name: String::new(),
        kind: InterfaceKind::Other,
        driver: None,
        state: "unknown".to_string(),
        admin_up: header.flags.contains(LinkFlags::Up),
        mtu: None,
        mac: None,
        master: None,
        link: None,
        peer: None,
        lower: None,
        addresses: Vec::new(),
        counters: None,
    };
    let mut named = false;
    let mut link_index = None;
    let mut link_netnsid = None;
    for nla in NlasIterator::new(attributes) {
        let Ok(nla) = nla else { break };
        if nla.kind() == IFLA_IFNAME {
            let raw = nla.value();
            let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
            interface.name = clean(raw);
            named = true;
            continue;
        }
        let Ok(attribute) = LinkAttribute::parse_with_param(&nla, header.interface_family) else {
            continue;
        };
        match attribute {
            LinkAttribute::Mtu(mtu) => interface.mtu = Some(mtu),
            LinkAttribute::Address(bytes) => interface.mac = mac_text(&bytes),
            LinkAttribute::Controller(index) if index != 0 => interface.master = Some(index),
            LinkAttribute::Link(index) => link_index = Some(index),
            LinkAttribute::LinkNetNsId(id) => link_netnsid = Some(id),
            LinkAttribute::OperState(state) => interface.state = state_text(state),
            LinkAttribute::Stats64(stats) => interface.counters = Some(Counters::from(&stats)),
            LinkAttribute::LinkInfo(infos) => {
                if let Some(kind) = infos.iter().find_map(|info| match info {
                    LinkInfo::Kind(kind) => Some(kind),
                    _ => None,
                }) {
                    interface.kind = kind_of(kind);
                    interface.driver = Some(clean(kind.to_string().as_bytes()));
                }
            }
            _ => {}
        }
    }
    if header.link_layer_type == LinkLayerType::Loopback {
        interface.kind = InterfaceKind::Loopback;
    }
    // IFLA_LINK equal to the interface's own index (some drivers) or 0 names nothing else.
    interface.link = link_index
        .filter(|&index| index != 0 && (index != interface.ifindex || link_netnsid.is_some()))
        .map(|ifindex| LinkTarget {
            ifindex,
            netnsid: link_netnsid.filter(|&id| id >= 0),
        });
    named.then_some(interface)
}

fn kind_of(kind: &InfoKind) -> InterfaceKind {
    match kind {
        InfoKind::Veth => InterfaceKind::Veth,
        InfoKind::Bridge => InterfaceKind::Bridge,
        InfoKind::MacVlan => InterfaceKind::Macvlan,
        InfoKind::IpVlan => InterfaceKind::Ipvlan,
        InfoKind::Vxlan => InterfaceKind::Vxlan,
        InfoKind::Tun => InterfaceKind::Tun,
        InfoKind::Wireguard => InterfaceKind::Wireguard,
        _ => InterfaceKind::Other,
    }
}

/// `IFLA_OPERSTATE` the way `ip link` shows it, lowercased.
fn state_text(state: State) -> String {
    state.to_string().to_ascii_lowercase()
}

/// A hardware address as colon-separated hex; `None` when empty or all zero (loopback,
/// tun, wireguard have none worth showing).
pub fn mac_text(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() || bytes.iter().all(|&b| b == 0) {
        return None;
    }
    Some(
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::LinkMessage;

    fn payload(message: &LinkMessage) -> Vec<u8> {
        crate::host::net::emitted(message)
    }

    fn veth_message(name_bytes: &[u8]) -> Vec<u8> {
        let mut message = LinkMessage::default();
        message.header.index = 7;
        message.header.link_layer_type = LinkLayerType::Ether;
        message.header.flags = LinkFlags::Up | LinkFlags::Broadcast;
        message.attributes = vec![
            LinkAttribute::Mtu(1500),
            LinkAttribute::Address(vec![0x02, 0x42, 0xac, 0x11, 0x00, 0x02]),
            LinkAttribute::Link(12),
            LinkAttribute::LinkNetNsId(3),
            LinkAttribute::Controller(4),
            LinkAttribute::OperState(State::Up),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth)]),
        ];
        let mut bytes = payload(&message);
        // IFLA_IFNAME by hand: the crate would refuse to emit non-UTF-8 bytes.
        let mut name = name_bytes.to_vec();
        name.push(0);
        let length = 4 + name.len();
        bytes.extend_from_slice(&(length as u16).to_ne_bytes());
        bytes.extend_from_slice(&IFLA_IFNAME.to_ne_bytes());
        bytes.extend_from_slice(&name);
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        bytes
    }

    #[test]
    fn a_veth_with_its_peer_and_bridge() {
        let interface = decode(&veth_message(b"veth1")).unwrap();
        assert_eq!(interface.ifindex, 7);
        assert_eq!(interface.name, "veth1");
        assert_eq!(interface.kind, InterfaceKind::Veth);
        assert_eq!(interface.driver.as_deref(), Some("veth"));
        assert_eq!(interface.state, "up");
        assert!(interface.admin_up);
        assert_eq!(interface.mtu, Some(1500));
        assert_eq!(interface.mac.as_deref(), Some("02:42:ac:11:00:02"));
        assert_eq!(interface.master, Some(4));
        assert_eq!(
            interface.link,
            Some(LinkTarget {
                ifindex: 12,
                netnsid: Some(3)
            })
        );
    }

    #[test]
    fn a_hostile_name_is_cleaned_and_keeps_the_interface() {
        let interface = decode(&veth_message(b"ev\x1b[2Jil\xff")).unwrap();
        assert_eq!(interface.name, "ev?[2Jil\u{fffd}");
        assert_eq!(interface.kind, InterfaceKind::Veth);
    }

    #[test]
    fn loopback_by_link_type_and_no_mac() {
        let mut message = LinkMessage::default();
        message.header.index = 1;
        message.header.link_layer_type = LinkLayerType::Loopback;
        message.attributes = vec![
            LinkAttribute::IfName("lo".to_string()),
            LinkAttribute::Address(vec![0; 6]),
            LinkAttribute::OperState(State::Unknown),
        ];
        let interface = decode(&payload(&message)).unwrap();
        assert_eq!(interface.kind, InterfaceKind::Loopback);
        assert_eq!(interface.driver, None);
        assert_eq!(interface.mac, None);
        assert_eq!(interface.state, "unknown");
        assert!(!interface.admin_up);
        assert_eq!(interface.link, None);
    }

    #[test]
    fn unknown_drivers_are_other_with_their_kernel_name() {
        let mut message = LinkMessage::default();
        message.header.index = 9;
        message.attributes = vec![
            LinkAttribute::IfName("ovs-system".to_string()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Other(
                "openvswitch".to_string(),
            ))]),
            // Link to itself: names nothing else.
            LinkAttribute::Link(9),
        ];
        let interface = decode(&payload(&message)).unwrap();
        assert_eq!(interface.kind, InterfaceKind::Other);
        assert_eq!(interface.driver.as_deref(), Some("openvswitch"));
        assert_eq!(interface.link, None);
    }

    #[test]
    fn short_or_nameless_payloads_are_none() {
        assert!(decode(&[0; 8]).is_none());
        assert!(decode(&payload(&LinkMessage::default())).is_none());
    }
}

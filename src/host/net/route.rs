//! One route of a namespace's main table, as `RTM_GETROUTE` reports it.
//!
//! Contract: [`decode`] turns one `RTM_NEWROUTE` payload into a [`Route`] when it belongs to
//! the main table (`RT_TABLE_MAIN`, 254: what `ip route` shows) and `None` otherwise (local,
//! default-policy and other tables, or a payload the parser rejects). The output device is an
//! index; [`Route::device`] is filled in by the caller from the same namespace's interfaces.

use std::net::IpAddr;

use netlink_packet_core::Parseable;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteScope,
};
use serde::{Deserialize, Serialize};

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `inet` or `inet6`.
    pub family: String,
    /// `default`, or the destination network with its prefix (`10.0.0.0/24`).
    pub destination: String,
    pub gateway: Option<IpAddr>,
    /// Output interface index (`RTA_OIF`).
    pub ifindex: Option<u32>,
    /// Output interface name, from the namespace's interfaces.
    pub device: Option<String>,
    /// Preferred source address (`RTA_PREFSRC`).
    pub source: Option<IpAddr>,
    /// Who installed it: `kernel`, `boot`, `static`, `dhcp`, …
    pub protocol: String,
    /// `global`, `link`, `host`, as `ip route` names them.
    pub scope: String,
    /// `unicast`, `blackhole`, `unreachable`, … (lowercase).
    pub kind: String,
    /// `RTA_PRIORITY`, as `ip route` shows `metric`.
    pub metric: Option<u32>,
}

/// Decodes one `RTM_NEWROUTE` payload; `None` for routes outside the main table.
pub fn decode(payload: &[u8]) -> Option<Route> {
    let message = RouteMessage::parse(payload).ok()?;
    let header = &message.header;
    let table = message
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(header.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let ipv4 = u8::from(header.address_family) == nix::libc::AF_INET as u8;
    let mut route = Route {
        family: if ipv4 { "inet" } else { "inet6" }.to_string(),
        destination: "default".to_string(),
        gateway: None,
        ifindex: None,
        device: None,
        source: None,
        protocol: header.protocol.to_string().to_ascii_lowercase(),
        scope: match header.scope {
            RouteScope::Universe => "global".to_string(),
            other => other.to_string(),
        },
        kind: format!("{:?}", header.kind).to_ascii_lowercase(),
        metric: None,
    };
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(address) => {
                if let Some(ip) = ip_of(address) {
                    route.destination = format!("{ip}/{}", header.destination_prefix_length);
                }
            }
            RouteAttribute::Gateway(address) => route.gateway = ip_of(address),
            RouteAttribute::Oif(index) => route.ifindex = Some(*index),
            RouteAttribute::PrefSource(address) => route.source = ip_of(address),
            RouteAttribute::Priority(metric) => route.metric = Some(*metric),
            _ => {}
        }
    }
    Some(route)
}

fn ip_of(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::AddressFamily;
    use netlink_packet_route::route::{RouteProtocol, RouteType};

    fn payload(message: &RouteMessage) -> Vec<u8> {
        crate::host::net::emitted(message)
    }

    fn message(table: u8) -> RouteMessage {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        message.header.table = table;
        message.header.kind = RouteType::Unicast;
        message.header.protocol = RouteProtocol::Boot;
        message.header.scope = RouteScope::Universe;
        message
    }

    #[test]
    fn a_default_route_via_a_gateway() {
        let mut m = message(RouteHeader::RT_TABLE_MAIN);
        m.attributes = vec![
            RouteAttribute::Gateway(RouteAddress::Inet("10.77.0.1".parse().unwrap())),
            RouteAttribute::Oif(2),
            RouteAttribute::Priority(100),
        ];
        let route = decode(&payload(&m)).unwrap();
        assert_eq!(route.destination, "default");
        assert_eq!(route.gateway, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(route.ifindex, Some(2));
        assert_eq!(route.metric, Some(100));
        assert_eq!(route.protocol, "boot");
        assert_eq!(route.kind, "unicast");
        assert_eq!(route.family, "inet");
    }

    #[test]
    fn a_connected_network() {
        let mut m = message(RouteHeader::RT_TABLE_MAIN);
        m.header.destination_prefix_length = 24;
        m.header.scope = RouteScope::Link;
        m.attributes = vec![
            RouteAttribute::Destination(RouteAddress::Inet("10.77.0.0".parse().unwrap())),
            RouteAttribute::PrefSource(RouteAddress::Inet("10.77.0.5".parse().unwrap())),
        ];
        let route = decode(&payload(&m)).unwrap();
        assert_eq!(route.destination, "10.77.0.0/24");
        assert_eq!(route.source, Some("10.77.0.5".parse().unwrap()));
        assert_eq!(route.scope, "link");
    }

    #[test]
    fn other_tables_are_left_out() {
        // 255 is the local table: every address of the namespace has a route there.
        assert!(decode(&payload(&message(255))).is_none());
        let mut m = message(0);
        m.attributes = vec![RouteAttribute::Table(1000)];
        assert!(decode(&payload(&m)).is_none());
    }
}

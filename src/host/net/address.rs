//! One interface address as `RTM_GETADDR` reports it (IPv4 and IPv6, with prefix length).
//!
//! Contract: [`decode`] turns one `RTM_NEWADDR` payload into the interface index it belongs to
//! and an [`Address`], or `None` when the header is short or no address attribute parses. Each
//! attribute is parsed on its own: the label (`IFA_LABEL`, chosen by the namespace's root, not
//! necessarily UTF-8) is never needed and a bad one does not lose the address.

use std::net::IpAddr;

use netlink_packet_core::{NlasIterator, Parseable};
use netlink_packet_route::address::{AddressAttribute, AddressHeader, AddressScope};
use serde::{Deserialize, Serialize};

/// `sizeof(struct ifaddrmsg)`.
const ADDRESS_HEADER_LEN: usize = 8;

/// An address with its prefix: `10.0.0.2/24`, `fe80::1/64`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// `inet` or `inet6`.
    pub family: String,
    pub address: IpAddr,
    pub prefix: u8,
    /// `global`, `link`, `host`, `site`, as `ip address` names them.
    pub scope: String,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// Decodes one `RTM_NEWADDR` payload into (interface index, address). The local address
/// (`IFA_LOCAL`) wins over `IFA_ADDRESS`: on a point-to-point link the latter is the peer's.
pub fn decode(payload: &[u8]) -> Option<(u32, Address)> {
    let header = AddressHeader::parse(payload).ok()?;
    let mut address = None;
    let mut local = None;
    for nla in NlasIterator::new(payload.get(ADDRESS_HEADER_LEN..)?) {
        let Ok(nla) = nla else { break };
        match AddressAttribute::parse(&nla) {
            Ok(AddressAttribute::Address(ip)) => address = Some(ip),
            Ok(AddressAttribute::Local(ip)) => local = Some(ip),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    Some((
        header.index,
        Address {
            family: if ip.is_ipv4() { "inet" } else { "inet6" }.to_string(),
            address: ip,
            prefix: header.prefix_len,
            scope: scope_text(header.scope),
        },
    ))
}

/// A scope as `ip` prints it: the kernel's "universe" is `global` there.
fn scope_text(scope: AddressScope) -> String {
    match scope {
        AddressScope::Universe => "global".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::AddressFamily;
    use netlink_packet_route::address::AddressMessage;

    fn payload(message: &AddressMessage) -> Vec<u8> {
        crate::host::net::emitted(message)
    }

    #[test]
    fn ipv4_prefers_the_local_address() {
        let mut message = AddressMessage::default();
        message.header.family = AddressFamily::Inet;
        message.header.prefix_len = 24;
        message.header.index = 5;
        message.attributes = vec![
            AddressAttribute::Address("10.9.0.1".parse().unwrap()),
            AddressAttribute::Local("10.9.0.2".parse().unwrap()),
        ];
        let (index, address) = decode(&payload(&message)).unwrap();
        assert_eq!(index, 5);
        assert_eq!(address.to_string(), "10.9.0.2/24");
        assert_eq!(address.family, "inet");
        assert_eq!(address.scope, "global");
    }

    #[test]
    fn ipv6_link_scope() {
        let mut message = AddressMessage::default();
        message.header.family = AddressFamily::Inet6;
        message.header.prefix_len = 64;
        message.header.scope = AddressScope::Link;
        message.header.index = 2;
        message.attributes = vec![AddressAttribute::Address("fe80::1".parse().unwrap())];
        let (_, address) = decode(&payload(&message)).unwrap();
        assert_eq!(address.to_string(), "fe80::1/64");
        assert_eq!(address.family, "inet6");
        assert_eq!(address.scope, "link");
    }

    #[test]
    fn no_address_or_short_header_is_none() {
        assert!(decode(&payload(&AddressMessage::default())).is_none());
        assert!(decode(&[1, 2]).is_none());
    }
}

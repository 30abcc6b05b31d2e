//! The containers' IPv4 subnet and the bridge name, as the operator gives them
//! (`ISOTOP_SUBNET`, `ISOTOP_BRIDGE`), checked before anything touches the host.
//!
//! Contract: [`Subnet::parse`] accepts only a private network (RFC 1918: 10/8, 172.16/12,
//! 192.168/16) written as its network address with a prefix length from /16 to /29, e.g.
//! `10.77.0.0/24`. The first host address is the gateway (the bridge's own address); the
//! containers get the others, lowest first, up to the one before the broadcast address.
//! [`check_bridge_name`] accepts 1–15 characters of `[A-Za-z0-9_.-]` other than `.` and `..`
//! (the kernel's IFNAMSIZ is 16 bytes with the NUL; the name also becomes a directory name).
//! Every refusal is a [`LaunchError::Invalid`] that says what would be accepted.

use std::fmt;
use std::net::Ipv4Addr;

use crate::launch::error::LaunchError;

/// The environment variable naming the bridge.
pub const ENV_BRIDGE: &str = "ISOTOP_BRIDGE";
/// The environment variable naming the subnet.
pub const ENV_SUBNET: &str = "ISOTOP_SUBNET";

/// Shortest prefix accepted: a /16 holds 65,533 containers, plenty for one host.
pub const MIN_PREFIX: u8 = 16;
/// Longest prefix accepted: a /29 holds the gateway and 5 containers.
pub const MAX_PREFIX: u8 = 29;

/// Longest interface name the kernel takes (IFNAMSIZ 16 bytes minus the NUL).
pub const MAX_IFNAME: usize = 15;

/// A checked private IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    network: Ipv4Addr,
    prefix: u8,
}

impl Subnet {
    /// Parses and checks `a.b.c.d/n` (see the module contract).
    pub fn parse(text: &str) -> Result<Subnet, LaunchError> {
        let bad = |hint: String| LaunchError::invalid(ENV_SUBNET, text, hint);
        let Some((address, prefix)) = text.split_once('/') else {
            return Err(bad(
                "write a private IPv4 network with its prefix length, e.g. 10.77.0.0/24".into(),
            ));
        };
        let address: Ipv4Addr = address.parse().map_err(|_| {
            bad(format!(
                "{address:?} is not an IPv4 address; write e.g. 10.77.0.0/24"
            ))
        })?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (MIN_PREFIX..=MAX_PREFIX).contains(p))
            .ok_or_else(|| {
                bad(format!(
                    "the prefix length must be a number from /{MIN_PREFIX} to /{MAX_PREFIX}"
                ))
            })?;
        if !address.is_private() {
            return Err(bad(
                "not a private network: use one inside 10.0.0.0/8, 172.16.0.0/12 or \
                 192.168.0.0/16 (RFC 1918), so container traffic can never be mistaken for \
                 the internet"
                    .into(),
            ));
        }
        let network = Ipv4Addr::from(u32::from(address) & mask(prefix));
        if network != address {
            return Err(bad(format!(
                "{address} is a host address inside the network; did you mean {network}/{prefix}?"
            )));
        }
        // Every RFC 1918 block is a /16 or shorter, so a network address inside one with a
        // prefix of /16 or longer lies wholly inside it.
        Ok(Subnet { network, prefix })
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first host address: the bridge's own address, the containers' default route.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// The last address (all host bits set), which no host may use.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix))
    }

    /// The addresses containers may get, lowest first: after the gateway, before the broadcast.
    pub fn container_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let first = u32::from(self.network) + 2;
        let last = u32::from(self.broadcast()) - 1;
        (first..=last).map(Ipv4Addr::from)
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix) == u32::from(self.network)
    }

    /// True when the network `address/prefix` (as an interface address names it) shares any
    /// address with this subnet: two networks overlap exactly when one contains the other, so
    /// compare under the shorter of the two masks.
    pub fn overlaps(&self, address: Ipv4Addr, prefix: u8) -> bool {
        let shorter = mask(prefix.min(self.prefix));
        u32::from(address) & shorter == u32::from(self.network) & shorter
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The netmask of a prefix length (0..=32) as a number.
fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// Checks a bridge name (see the module contract).
pub fn check_bridge_name(name: &str) -> Result<(), LaunchError> {
    let bad = |hint: &str| LaunchError::invalid(ENV_BRIDGE, name, hint);
    if name.is_empty() || name.len() > MAX_IFNAME {
        return Err(bad("a bridge name has 1 to 15 characters"));
    }
    if name == "." || name == ".." {
        return Err(bad("the kernel refuses `.` and `..` as interface names"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(bad(
            "use only letters, digits, `_`, `.` and `-` (e.g. isotop0)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint_of(result: Result<Subnet, LaunchError>) -> String {
        match result {
            Err(LaunchError::Invalid { option, hint, .. }) => {
                assert_eq!(option, ENV_SUBNET);
                hint
            }
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn a_private_network_parses_with_its_gateway_and_range() {
        let s = Subnet::parse("10.77.0.0/24").unwrap();
        assert_eq!(s.to_string(), "10.77.0.0/24");
        assert_eq!(s.gateway(), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 77, 0, 255));
        let all: Vec<Ipv4Addr> = s.container_addresses().collect();
        assert_eq!(all.len(), 253);
        assert_eq!(all[0], Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(all[252], Ipv4Addr::new(10, 77, 0, 254));

        let small = Subnet::parse("192.168.7.8/29").unwrap();
        let all: Vec<Ipv4Addr> = small.container_addresses().collect();
        assert_eq!(small.gateway(), Ipv4Addr::new(192, 168, 7, 9));
        assert_eq!(all.first(), Some(&Ipv4Addr::new(192, 168, 7, 10)));
        assert_eq!(all.last(), Some(&Ipv4Addr::new(192, 168, 7, 14)));
        assert!(Subnet::parse("172.31.0.0/16").is_ok());
    }

    #[test]
    fn public_wide_narrow_unaligned_and_garbage_subnets_are_refused_with_a_hint() {
        assert!(hint_of(Subnet::parse("8.8.8.0/24")).contains("RFC 1918"));
        assert!(hint_of(Subnet::parse("172.32.0.0/16")).contains("RFC 1918"));
        assert!(hint_of(Subnet::parse("10.0.0.0/8")).contains("/16 to /29"));
        assert!(hint_of(Subnet::parse("10.77.0.0/30")).contains("/16 to /29"));
        assert!(hint_of(Subnet::parse("10.77.0.0/x")).contains("/16 to /29"));
        assert!(hint_of(Subnet::parse("10.77.0.5/24")).contains("did you mean 10.77.0.0/24"));
        assert!(hint_of(Subnet::parse("10.77.0.0")).contains("prefix length"));
        assert!(hint_of(Subnet::parse("ten/24")).contains("not an IPv4 address"));
        assert!(hint_of(Subnet::parse("")).contains("prefix length"));
    }

    #[test]
    fn overlap_and_containment() {
        let s = Subnet::parse("10.77.0.0/24").unwrap();
        assert!(s.contains(Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!s.contains(Ipv4Addr::new(10, 77, 1, 1)));
        assert!(s.overlaps(Ipv4Addr::new(10, 77, 3, 4), 16)); // a wider network around it
        assert!(s.overlaps(Ipv4Addr::new(10, 77, 0, 9), 30)); // a narrower one inside
        assert!(!s.overlaps(Ipv4Addr::new(10, 78, 0, 1), 24));
        assert!(!s.overlaps(Ipv4Addr::new(192, 0, 2, 2), 24));
    }

    #[test]
    fn bridge_names_follow_the_kernel_and_stay_path_safe() {
        assert!(check_bridge_name("isotop0").is_ok());
        assert!(check_bridge_name("br_test.1-a").is_ok());
        assert!(check_bridge_name("fifteen-chars-x").is_ok());
        for bad in [
            "",
            "sixteen-chars-xx",
            ".",
            "..",
            "br/0",
            "br 0",
            "br:0",
            "bré",
        ] {
            assert!(
                matches!(check_bridge_name(bad), Err(LaunchError::Invalid { .. })),
                "{bad:?} should be refused"
            );
        }
    }
}

//! Allow-lists: which sender networks a listener takes messages from.
//!
//! A listener configured with `allow = ["10.0.0.0/8", "2001:db8::/32"]` drops
//! datagrams and refuses connections from any other address (counted, never
//! logged per message). An empty list allows everyone, which is the default.
//!
//! Addresses are compared in their canonical form: an IPv4 sender reaching a
//! dual-stack `[::]` socket shows up as `::ffff:10.1.2.3`, and is matched
//! against the IPv4 networks as `10.1.2.3`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One network in CIDR notation, `10.0.0.0/8` or `2001:db8::/32`.
///
/// A bare address stands for a single host (`/32` or `/128`). Host bits set
/// below the prefix are rejected (`10.0.0.1/8`) because they usually mean a typo
/// in the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

/// Why a string is not a network in CIDR notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("invalid address in {text:?}")]
    Address { text: String },
    #[error("invalid prefix length in {text:?}: expected 0 to {max}")]
    PrefixLength { text: String, max: u8 },
    #[error("host bits set in {text:?}: did you mean {suggestion}?")]
    HostBits { text: String, suggestion: Cidr },
}

impl Cidr {
    /// The network's first address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// How many leading bits of an address must match.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `addr` lies inside this network. IPv4 never matches IPv6.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let mask = mask_u32(self.prefix_len);
                u32::from(addr) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let mask = mask_u128(self.prefix_len);
                u128::from(addr) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask_u32(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0)
}

fn mask_u128(prefix_len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix_len))
        .unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr_text.trim().parse().map_err(|_| CidrError::Address {
            text: text.to_owned(),
        })?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };

        let prefix_len = match prefix_text {
            None => max,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&len| len <= max)
                .ok_or_else(|| CidrError::PrefixLength {
                    text: text.to_owned(),
                    max,
                })?,
        };

        // The network address must have no bits set past the prefix.
        let masked = match network {
            IpAddr::V4(addr) => {
                IpAddr::from((u32::from(addr) & mask_u32(prefix_len)).to_be_bytes())
            }
            IpAddr::V6(addr) => {
                IpAddr::from((u128::from(addr) & mask_u128(prefix_len)).to_be_bytes())
            }
        };
        if masked != network {
            let suggestion = Cidr {
                network: masked,
                prefix_len,
            };
            return Err(CidrError::HostBits {
                text: text.to_owned(),
                suggestion,
            });
        }
        Ok(Cidr {
            network,
            prefix_len,
        })
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;

    fn try_from(text: String) -> Result<Cidr, CidrError> {
        text.parse()
    }
}

impl From<Cidr> for String {
    fn from(cidr: Cidr) -> String {
        cidr.to_string()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// The networks one listener accepts; empty means everyone.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    networks: Vec<Cidr>,
}

impl AllowList {
    /// An allow-list of `networks`; an empty slice allows every sender.
    pub fn new(networks: &[Cidr]) -> AllowList {
        AllowList {
            networks: networks.to_vec(),
        }
    }

    /// Whether this list lets every sender through.
    pub fn is_open(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether messages from `addr` are taken.
    ///
    /// A linear scan: lists hold a handful of networks, where a scan beats any
    /// tree.
    pub fn allows(&self, addr: IpAddr) -> bool {
        self.is_open() || self.networks.iter().any(|net| net.contains(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn matches_v4_networks() {
        let net = cidr("10.1.0.0/16");
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(cidr("0.0.0.0/0").contains(ip("192.0.2.1")));
        assert!(cidr("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!cidr("192.0.2.7").contains(ip("192.0.2.8")));
    }

    #[test]
    fn matches_v6_networks() {
        let net = cidr("2001:db8::/32");
        assert!(net.contains(ip("2001:db8:ffff::1")));
        assert!(!net.contains(ip("2001:db9::1")));
        assert!(cidr("::/0").contains(ip("::1")));
    }

    #[test]
    fn v4_mapped_senders_match_v4_networks() {
        assert!(cidr("10.0.0.0/8").contains(ip("::ffff:10.9.8.7")));
        assert!(!cidr("::/0").contains(ip("::ffff:10.9.8.7")));
        assert!(!cidr("10.0.0.0/8").contains(ip("2001:db8::1")));
    }

    #[test]
    fn rejects_bad_text() {
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::PrefixLength { .. })
        ));
        assert!(matches!(
            "10.0.0/8".parse::<Cidr>(),
            Err(CidrError::Address { .. })
        ));
        assert!(matches!(
            "::/129".parse::<Cidr>(),
            Err(CidrError::PrefixLength { .. })
        ));
        assert_eq!(
            "10.0.0.1/8".parse::<Cidr>().unwrap_err().to_string(),
            "host bits set in \"10.0.0.1/8\": did you mean 10.0.0.0/8?"
        );
    }

    #[test]
    fn round_trips_through_text() {
        for text in ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32", "::/0"] {
            assert_eq!(cidr(text).to_string(), text);
        }
    }

    proptest::proptest! {
        /// The mask arithmetic agrees with comparing the leading bits one by one.
        #[test]
        fn contains_matches_a_bitwise_reference(
            net in proptest::prelude::any::<u128>(),
            addr in proptest::prelude::any::<u128>(),
            prefix_len in 0u8..=128,
            v4: bool,
        ) {
            let bits = if v4 { 32 } else { 128 };
            let prefix_len = prefix_len % (bits + 1);
            let (net, addr) = if v4 { (net >> 96, addr >> 96) } else { (net, addr) };
            let bit = |value: u128, i: u8| (value >> (bits - 1 - i)) & 1;
            let want = (0..prefix_len).all(|i| bit(net, i) == bit(addr, i));

            let ip = |value: u128| {
                if v4 {
                    IpAddr::from((value as u32).to_be_bytes())
                } else {
                    IpAddr::from(value.to_be_bytes())
                }
            };
            // Clear the host bits so the network parses.
            let text = format!("{}/{prefix_len}", ip(net));
            let network = match text.parse::<Cidr>() {
                Ok(network) => network,
                Err(CidrError::HostBits { suggestion, .. }) => suggestion,
                Err(error) => panic!("{text}: {error}"),
            };
            // A v6 value that happens to be v4-mapped is matched as IPv4.
            proptest::prop_assume!(v4 || !matches!(ip(net).to_canonical(), IpAddr::V4(_)));
            proptest::prop_assume!(v4 || !matches!(ip(addr).to_canonical(), IpAddr::V4(_)));
            proptest::prop_assert_eq!(network.contains(ip(addr)), want);
        }
    }

    #[test]
    fn empty_list_allows_everyone() {
        assert!(AllowList::new(&[]).allows(ip("203.0.113.9")));
        let list = AllowList::new(&[cidr("10.0.0.0/8"), cidr("2001:db8::/32")]);
        assert!(list.allows(ip("10.3.3.3")));
        assert!(list.allows(ip("2001:db8::5")));
        assert!(!list.allows(ip("192.0.2.1")));
    }
}

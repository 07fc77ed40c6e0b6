//! From a captured link-layer frame to the UDP datagram or TCP segment inside it.
//!
//! Handles the link types tcpdump and Wireshark write for the interfaces syslog
//! arrives on: Ethernet (with 802.1Q/802.1ad tags), Linux cooked (`any`, v1 and
//! v2), BSD loopback, and raw IP. Then IPv4 or IPv6 (over hop-by-hop, routing
//! and destination-option headers), then UDP or TCP.
//!
//! TODO: fragmented IP packets are skipped, not reassembled: syslog over UDP
//! rarely exceeds one MTU, and reassembly needs a per-flow buffer with timeouts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Link types (the pcap LINKTYPE_ registry numbers).
const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW_OPENBSD: u32 = 12;
const LINKTYPE_RAW_BSDOS: u32 = 14;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_IPV6: u32 = 229;
const LINKTYPE_LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];

const PROTOCOL_TCP: u8 = 6;
const PROTOCOL_UDP: u8 = 17;

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;

/// A UDP datagram found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub source: IpAddr,
    pub destination_port: u16,
    pub payload: &'a [u8],
}

/// A TCP segment found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub sequence: u32,
    pub is_syn: bool,
    /// FIN or RST: the sender is done.
    pub is_end: bool,
    pub payload: &'a [u8],
}

/// What a frame carries, as far as replay cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Udp(Datagram<'a>),
    Tcp(Segment<'a>),
}

/// The UDP datagram or TCP segment in `frame`, or `None` for anything else
/// (other protocols, fragments, frames cut short by the snap length).
pub fn transport(linktype: u32, frame: &[u8]) -> Option<Transport<'_>> {
    let (ethertype, packet) = network_layer(linktype, frame)?;
    match ethertype {
        ETHERTYPE_IPV4 => ipv4(packet),
        ETHERTYPE_IPV6 => ipv6(packet),
        _ => None,
    }
}

/// The UDP datagram in `frame`, if it carries one.
#[cfg(test)]
fn udp_datagram(linktype: u32, frame: &[u8]) -> Option<Datagram<'_>> {
    match transport(linktype, frame)? {
        Transport::Udp(datagram) => Some(datagram),
        Transport::Tcp(_) => None,
    }
}

/// The network-layer protocol (as an ethertype) and packet of a frame.
fn network_layer(linktype: u32, frame: &[u8]) -> Option<(u16, &[u8])> {
    match linktype {
        LINKTYPE_ETHERNET => {
            let mut ethertype = be16(frame, 12)?;
            let mut at = 14;
            while ETHERTYPE_VLAN.contains(&ethertype) {
                ethertype = be16(frame, at + 2)?;
                at += 4;
            }
            Some((ethertype, frame.get(at..)?))
        }
        LINKTYPE_LINUX_SLL => Some((be16(frame, 14)?, frame.get(16..)?)),
        LINKTYPE_LINUX_SLL2 => Some((be16(frame, 0)?, frame.get(20..)?)),
        // The address family, in the capturing host's byte order (NULL) or big
        // endian (LOOP): 2 is IPv4 everywhere, IPv6 is 24, 28 or 30 by OS.
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let bytes: [u8; 4] = frame.get(..4)?.try_into().ok()?;
            let family = if linktype == LINKTYPE_LOOP || bytes[0] == 0 {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            };
            let ethertype = match family {
                2 => ETHERTYPE_IPV4,
                24 | 28 | 30 => ETHERTYPE_IPV6,
                _ => return None,
            };
            Some((ethertype, frame.get(4..)?))
        }
        LINKTYPE_RAW | LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW_BSDOS => match frame.first()? >> 4 {
            4 => Some((ETHERTYPE_IPV4, frame)),
            6 => Some((ETHERTYPE_IPV6, frame)),
            _ => None,
        },
        LINKTYPE_IPV4 => Some((ETHERTYPE_IPV4, frame)),
        LINKTYPE_IPV6 => Some((ETHERTYPE_IPV6, frame)),
        _ => None,
    }
}

fn ipv4(packet: &[u8]) -> Option<Transport<'_>> {
    if packet.first()? >> 4 != 4 {
        return None;
    }
    let header_bytes = usize::from(packet[0] & 0x0f) * 4;
    let total_bytes = usize::from(be16(packet, 2)?).min(packet.len());
    let fragment = be16(packet, 6)?;
    let (more_fragments, fragment_offset) = (fragment & 0x2000 != 0, fragment & 0x1fff);
    if more_fragments || fragment_offset != 0 {
        return None;
    }
    let source: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
    let destination: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
    let addresses = (
        IpAddr::V4(Ipv4Addr::from(source)),
        IpAddr::V4(Ipv4Addr::from(destination)),
    );
    let segment = packet.get(header_bytes..total_bytes)?;
    match *packet.get(9)? {
        PROTOCOL_UDP => udp(addresses.0, segment),
        PROTOCOL_TCP => tcp(addresses, segment),
        _ => None,
    }
}

fn ipv6(packet: &[u8]) -> Option<Transport<'_>> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const DESTINATION_OPTIONS: u8 = 60;

    if packet.first()? >> 4 != 6 {
        return None;
    }
    let payload_bytes = usize::from(be16(packet, 4)?);
    let source: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
    let destination: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
    let addresses = (
        IpAddr::V6(Ipv6Addr::from(source)),
        IpAddr::V6(Ipv6Addr::from(destination)),
    );
    let end = (40 + payload_bytes).min(packet.len());
    let mut next = *packet.get(6)?;
    let mut at = 40;
    loop {
        match next {
            PROTOCOL_UDP | PROTOCOL_TCP => break,
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS => {
                next = *packet.get(at)?;
                at += (usize::from(*packet.get(at + 1)?) + 1) * 8;
            }
            FRAGMENT => return None,
            _ => return None,
        }
    }
    let segment = packet.get(at..end)?;
    match next {
        PROTOCOL_UDP => udp(addresses.0, segment),
        _ => tcp(addresses, segment),
    }
}

fn udp(source: IpAddr, segment: &[u8]) -> Option<Transport<'_>> {
    let destination_port = be16(segment, 2)?;
    let length = usize::from(be16(segment, 4)?);
    if length < 8 {
        return None;
    }
    let payload = segment.get(8..length.min(segment.len()))?;
    Some(Transport::Udp(Datagram {
        source,
        destination_port,
        payload,
    }))
}

fn tcp((source, destination): (IpAddr, IpAddr), segment: &[u8]) -> Option<Transport<'_>> {
    let source_port = be16(segment, 0)?;
    let destination_port = be16(segment, 2)?;
    let sequence = u32::from_be_bytes(segment.get(4..8)?.try_into().ok()?);
    let header_bytes = usize::from(segment.get(12)? >> 4) * 4;
    let flags = *segment.get(13)?;
    if header_bytes < 20 {
        return None;
    }
    Some(Transport::Tcp(Segment {
        source: SocketAddr::new(source, source_port),
        destination: SocketAddr::new(destination, destination_port),
        sequence,
        is_syn: flags & TCP_SYN != 0,
        is_end: flags & (TCP_FIN | TCP_RST) != 0,
        payload: segment.get(header_bytes..)?,
    }))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 UDP packet from 192.0.2.9:40000 to port 514 carrying `payload`.
    fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut packet = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0];
        packet.extend_from_slice(&[64, PROTOCOL_UDP, 0, 0, 192, 0, 2, 9, 127, 0, 0, 1]);
        let udp_len = 8 + payload.len();
        packet.extend_from_slice(&[0x9c, 0x40, 0x02, 0x02]);
        packet.extend_from_slice(&[(udp_len >> 8) as u8, udp_len as u8, 0, 0]);
        packet.extend_from_slice(payload);
        packet
    }

    #[test]
    fn finds_udp_in_ethernet_with_a_vlan_tag() {
        let mut frame = vec![0; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
        frame.extend_from_slice(&ipv4_udp(b"<13>hi"));
        frame.extend_from_slice(&[0; 6]); // Ethernet padding past the IP length.
        let datagram = udp_datagram(LINKTYPE_ETHERNET, &frame).unwrap();
        assert_eq!(datagram.payload, b"<13>hi");
        assert_eq!(datagram.source, "192.0.2.9".parse::<IpAddr>().unwrap());
        assert_eq!(datagram.destination_port, 514);
    }

    #[test]
    fn finds_udp_in_cooked_null_and_raw_frames() {
        let packet = ipv4_udp(b"<13>x");
        let mut sll = vec![0; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&packet);
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&packet);
        for (linktype, frame) in [
            (LINKTYPE_LINUX_SLL, sll),
            (LINKTYPE_NULL, null),
            (LINKTYPE_RAW, packet.clone()),
        ] {
            let datagram = udp_datagram(linktype, &frame).unwrap();
            assert_eq!(datagram.payload, b"<13>x", "linktype {linktype}");
        }
    }

    #[test]
    fn finds_udp_in_ipv6() {
        let payload = b"<13>six";
        let udp_len = 8 + payload.len();
        let mut packet = vec![0x60, 0, 0, 0, 0, udp_len as u8, PROTOCOL_UDP, 64];
        packet.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        packet.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        packet.extend_from_slice(&[0x9c, 0x40, 0x02, 0x02, 0, udp_len as u8, 0, 0]);
        packet.extend_from_slice(payload);
        let datagram = udp_datagram(LINKTYPE_RAW, &packet).unwrap();
        assert_eq!(datagram.payload, payload);
        assert_eq!(datagram.source, "2001:db8::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn skips_fragments_other_protocols_and_cut_frames() {
        let mut fragment = ipv4_udp(b"<13>x");
        fragment[6] = 0x20; // More fragments.
        assert_eq!(udp_datagram(LINKTYPE_RAW, &fragment), None);
        let mut icmp = ipv4_udp(b"<13>x");
        icmp[9] = 1;
        assert_eq!(udp_datagram(LINKTYPE_RAW, &icmp), None);
        assert_eq!(udp_datagram(LINKTYPE_RAW, &ipv4_udp(b"")[..24]), None);
        assert_eq!(udp_datagram(LINKTYPE_ETHERNET, &[0; 10]), None);
    }

    #[test]
    fn finds_tcp_segments() {
        let payload = b"5 <13>x";
        let total = 20 + 20 + payload.len();
        let mut packet = vec![
            0x45,
            0,
            0,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            PROTOCOL_TCP,
            0,
            0,
        ];
        packet.extend_from_slice(&[192, 0, 2, 9, 127, 0, 0, 1]);
        packet.extend_from_slice(&[0x9c, 0x40, 0x02, 0x59, 0, 0, 0x10, 0, 0, 0, 0, 0]);
        packet.extend_from_slice(&[0x50, TCP_FIN | 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        packet.extend_from_slice(payload);
        let Some(Transport::Tcp(segment)) = transport(LINKTYPE_RAW, &packet) else {
            panic!("a TCP segment");
        };
        assert_eq!(segment.source, "192.0.2.9:40000".parse().unwrap());
        assert_eq!(segment.destination, "127.0.0.1:601".parse().unwrap());
        assert_eq!(segment.sequence, 0x1000);
        assert!(segment.is_end && !segment.is_syn);
        assert_eq!(segment.payload, payload);
    }
}

//! Batched UDP receive: the buffers for one `recvmmsg(2)` call and how to read
//! the datagrams and sender addresses the kernel put in them.
//!
//! `libc` offers the call but nothing around it; this file keeps the raw
//! pointers of the receive path apart from the listener's logic. [`Datagrams`]
//! owns a payload slot and an address buffer per datagram, and points the
//! message headers at them before each call, since the kernel rewrites the
//! lengths. No control messages are asked for: the listener reads the socket's
//! drop count once per batch instead of having it copied out with every datagram.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ptr;

/// Datagrams read by one `recvmmsg` call, and so the largest batch.
///
/// With 64 KiB slots that is 4 MiB of address space per socket, of which only
/// the pages datagrams land in are touched (a 400-byte datagram touches one).
/// Under a flood the queue holds more than 32 datagrams at most calls, and 64
/// halves the calls and hand-offs per message (300,000 datagrams/s on loopback
/// went from some kernel drops at 32 to none at 64, `benches/run.sh udp`).
pub(super) const BATCH_DATAGRAMS: usize = 64;

/// The buffers one `recvmmsg` call fills: a payload slot and an address per
/// datagram, and the headers pointing at them.
pub(super) struct Datagrams {
    slot_bytes: usize,
    payloads: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers in `iovecs` and `headers` only ever point into the
// struct's own heap buffers, which move with it between threads.
unsafe impl Send for Datagrams {}

/// One received datagram, borrowed from [`Datagrams`].
pub(super) struct Datagram<'a> {
    pub(super) payload: &'a [u8],
    pub(super) peer: Option<SocketAddr>,
    /// The datagram was longer than its slot and the kernel cut it.
    pub(super) truncated: bool,
}

impl Datagrams {
    pub(super) fn new(slot_bytes: usize) -> Datagrams {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let (name, iovec, header) = unsafe { (mem::zeroed(), mem::zeroed(), mem::zeroed()) };
        Datagrams {
            slot_bytes,
            payloads: vec![0; slot_bytes * BATCH_DATAGRAMS],
            names: vec![name; BATCH_DATAGRAMS],
            iovecs: vec![iovec; BATCH_DATAGRAMS],
            headers: vec![header; BATCH_DATAGRAMS],
        }
    }

    /// Blocks until at least one datagram is in (or the receive timeout passes),
    /// then takes whatever else is queued, up to the batch size.
    pub(super) fn receive(&mut self, fd: libc::c_int) -> io::Result<usize> {
        // The kernel rewrites lengths and flags, so every header is reset.
        let base = self.payloads.as_mut_ptr();
        for index in 0..BATCH_DATAGRAMS {
            self.iovecs[index] = libc::iovec {
                // SAFETY: the slot lies within `payloads`.
                iov_base: unsafe { base.add(index * self.slot_bytes) }.cast(),
                iov_len: self.slot_bytes,
            };
            let header = &mut self.headers[index];
            header.msg_len = 0;
            header.msg_hdr.msg_name = ptr::addr_of_mut!(self.names[index]).cast();
            header.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as _;
            header.msg_hdr.msg_iov = ptr::addr_of_mut!(self.iovecs[index]);
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = ptr::null_mut();
            header.msg_hdr.msg_controllen = 0;
            header.msg_hdr.msg_flags = 0;
        }

        // SAFETY: every header points at live buffers of the stated sizes.
        let count = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                BATCH_DATAGRAMS as libc::c_uint,
                libc::MSG_WAITFORONE,
                ptr::null_mut(),
            )
        };
        if count < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(count as usize)
    }

    /// The `index`th datagram of the last [`receive`](Datagrams::receive).
    pub(super) fn get(&self, index: usize) -> Datagram<'_> {
        let header = &self.headers[index];
        let len = (header.msg_len as usize).min(self.slot_bytes);
        let start = index * self.slot_bytes;
        Datagram {
            payload: &self.payloads[start..start + len],
            peer: socket_addr(&self.names[index], header.msg_hdr.msg_namelen),
            truncated: header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        }
    }
}

/// The socket's running count of datagrams the kernel dropped (`sk_drops`, the
/// count `SO_RXQ_OVFL` would attach to each datagram), read with `SO_MEMINFO`.
pub(super) fn kernel_drop_count(fd: libc::c_int) -> io::Result<u32> {
    // The kernel fills as many counters as it has (nine today) and says how many.
    let mut info = [0u32; 16];
    let mut len = mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: the pointer and length describe `info`, which outlives the call.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let index = libc::SK_MEMINFO_DROPS as usize;
    if (len as usize) < (index + 1) * mem::size_of::<u32>() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SO_MEMINFO without a drop count",
        ));
    }
    Ok(info[index])
}

/// Converts a sender address filled in by the kernel.
fn socket_addr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let addr = unsafe { &*ptr::from_ref(storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(addr.sin_port),
            )))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let addr = unsafe { &*ptr::from_ref(storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(addr.sin6_addr.s6_addr),
                u16::from_be(addr.sin6_port),
                addr.sin6_flowinfo,
                addr.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_v4_and_v6_senders() {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let v4 = ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in>();
        // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
        unsafe {
            (*v4).sin_family = libc::AF_INET as libc::sa_family_t;
            (*v4).sin_port = 514u16.to_be();
            (*v4).sin_addr.s_addr = u32::from(Ipv4Addr::new(192, 0, 2, 1)).to_be();
        }
        let len = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            socket_addr(&storage, len),
            Some("192.0.2.1:514".parse().unwrap())
        );
        assert_eq!(socket_addr(&storage, 2), None, "a short address is refused");

        // SAFETY: as above.
        storage = unsafe { mem::zeroed() };
        let v6 = ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in6>();
        // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
        unsafe {
            (*v6).sin6_family = libc::AF_INET6 as libc::sa_family_t;
            (*v6).sin6_port = 6514u16.to_be();
            (*v6).sin6_addr.s6_addr = "2001:db8::7".parse::<Ipv6Addr>().unwrap().octets();
        }
        let len = mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        assert_eq!(
            socket_addr(&storage, len),
            Some("[2001:db8::7]:6514".parse().unwrap())
        );
    }
}

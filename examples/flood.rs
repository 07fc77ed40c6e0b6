//! A rate-limited syslog sender for benchmarking `nat-ingest run` on loopback.
//!
//! Sends Huawei-style NAT session lines over UDP or TCP (newline or
//! octet-counted framing) at a target rate, stopping after `--count` messages
//! or `--max-secs` seconds, whichever comes first. It refuses any address that
//! is not loopback: this is a load generator, and loopback is the only place it
//! may point.
//!
//! ```text
//! cargo run --release --example flood -- --udp 127.0.0.1:5514 --rate 100000 --count 1000000
//! ```

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use clap::Parser;

/// Rate-limited syslog flood to a loopback address.
#[derive(Debug, Parser)]
struct Args {
    /// Send UDP datagrams to this loopback ADDR:PORT.
    #[arg(long, conflicts_with = "tcp")]
    udp: Option<SocketAddr>,
    /// Send over one TCP connection to this loopback ADDR:PORT.
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// Use octet-counted framing on TCP instead of newlines.
    #[arg(long)]
    octet: bool,
    /// Target messages per second.
    #[arg(long, default_value_t = 50_000)]
    rate: u64,
    /// Messages to send.
    #[arg(long, default_value_t = 500_000)]
    count: u64,
    /// Stop after this many seconds even if `count` is not reached.
    #[arg(long, default_value_t = 60)]
    max_secs: u64,
    /// UDP only: hand the kernel up to 64 equal-length datagrams per buffer with
    /// UDP generic segmentation offload (`UDP_SEGMENT`). The listener still gets
    /// one datagram per message; the sender just pays for one pass through the
    /// IP stack per buffer instead of per datagram, which matters when it shares
    /// two cores with the listener it measures. Messages of one rate slice are
    /// grouped by length, so they leave in a different order.
    #[arg(long, requires = "udp")]
    gso: bool,
}

/// The sender sleeps between slices of this length to hold the rate.
const SLICE: Duration = Duration::from_millis(5);

enum Target {
    /// Connected to the listener.
    Udp(UdpSocket),
    Tcp(TcpStream),
}

fn main() {
    let args = Args::parse();
    let address = args.udp.or(args.tcp).expect("give --udp or --tcp");
    assert!(
        address.ip().is_loopback(),
        "{address} is not a loopback address"
    );

    let mut target = match (args.udp, args.tcp) {
        (Some(address), _) => {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.connect(address).unwrap();
            Target::Udp(socket)
        }
        (None, Some(address)) => Target::Tcp(TcpStream::connect(address).unwrap()),
        (None, None) => unreachable!("checked above"),
    };

    // Lines are rendered before the clock starts, so that the sender's own cost is
    // little more than its system calls: it shares the machine with the listener.
    let pool = Pool::render(args.count.min(POOL_LINES));

    let started = Instant::now();
    // Wall-clock start, for a caller that times what happens after the flood.
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let deadline = started + Duration::from_secs(args.max_secs);
    let mut buffer = Vec::with_capacity(1 << 20);
    // For UDP, the (start, end) of each datagram in the pool.
    let mut datagrams: Vec<(usize, usize)> = Vec::new();
    let mut sent = 0u64;
    let mut errors = 0u64;
    while sent < args.count && Instant::now() < deadline {
        // How many messages the rate allows by now, sent as one slice.
        let allowed = (started.elapsed().as_secs_f64() * args.rate as f64) as u64;
        let due = allowed.min(args.count).saturating_sub(sent);
        if due == 0 {
            std::thread::sleep(SLICE);
            continue;
        }

        buffer.clear();
        datagrams.clear();
        for n in sent..sent + due {
            let (start, end) = pool.line(n);
            let line = &pool.text[start..end];
            match &mut target {
                Target::Udp(_) => datagrams.push((start, end)),
                Target::Tcp(_) if args.octet => {
                    write!(buffer, "{} ", line.len()).unwrap();
                    buffer.extend_from_slice(line);
                }
                Target::Tcp(_) => {
                    buffer.extend_from_slice(line);
                    buffer.push(b'\n');
                }
            }
        }
        match &mut target {
            Target::Tcp(stream) => stream.write_all(&buffer).expect("TCP write"),
            Target::Udp(socket) if args.gso => {
                errors += send_segmented(socket, &pool.text, &mut datagrams)
            }
            Target::Udp(socket) => errors += send_datagrams(socket, &pool.text, &datagrams),
        }
        sent += due;
    }

    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sent={sent} send_errors={errors} elapsed_secs={elapsed:.3} rate={:.0} \
         started_unix={started_unix:.6}",
        sent as f64 / elapsed
    );
}

/// Distinct lines rendered up front; message `n` is line `n % POOL_LINES`, so a
/// flood of more messages repeats lines (and their `seq`).
const POOL_LINES: u64 = 1 << 20;

/// Rendered lines, back to back, and where each ends.
struct Pool {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Pool {
    fn render(lines: u64) -> Pool {
        let mut pool = Pool {
            text: Vec::new(),
            ends: Vec::new(),
        };
        let mut line = String::with_capacity(512);
        for n in 0..lines.max(1) {
            line.clear();
            session_line(n, &mut line);
            pool.text.extend_from_slice(line.as_bytes());
            pool.ends.push(pool.text.len());
        }
        pool
    }

    /// Where message `n`'s line lies in `text`.
    fn line(&self, n: u64) -> (usize, usize) {
        let i = (n % self.ends.len() as u64) as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        (start, self.ends[i])
    }
}

/// One `iovec` per `(start, end)` range of `text`, valid while `text` lives.
fn iovecs_of(text: &[u8], ranges: &[(usize, usize)]) -> Vec<libc::iovec> {
    ranges
        .iter()
        .map(|(start, end)| libc::iovec {
            iov_base: text[*start..*end].as_ptr() as *mut libc::c_void,
            iov_len: end - start,
        })
        .collect()
}

/// Datagrams handed to the kernel per `sendmmsg` call.
const DATAGRAMS_PER_CALL: usize = 64;

/// Sends the `(start, end)` ranges of `text` as one datagram each on the
/// connected `socket`, a batch per system call (one `send` per datagram cannot
/// reach the rates the listener is benchmarked at); returns how many could not be
/// sent.
fn send_datagrams(socket: &UdpSocket, text: &[u8], datagrams: &[(usize, usize)]) -> u64 {
    use std::os::fd::AsRawFd;
    let mut errors = 0;
    for batch in datagrams.chunks(DATAGRAMS_PER_CALL) {
        let mut iovecs = iovecs_of(text, batch);
        // SAFETY: zeroed `mmsghdr`s are valid (no address: the socket is
        // connected), and each points at one `iovec` that lives until the call
        // returns and describes bytes of `text`.
        let mut messages: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .map(|iovec| {
                let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
                message.msg_hdr.msg_iov = iovec;
                message.msg_hdr.msg_iovlen = 1;
                message
            })
            .collect();
        let mut done = 0;
        while done < messages.len() {
            // SAFETY: the pointer and length describe live `mmsghdr`s, see above.
            let sent = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    messages[done..].as_mut_ptr(),
                    (messages.len() - done) as libc::c_uint,
                    0,
                )
            };
            if sent <= 0 {
                // The first datagram of the rest failed: count it and go on.
                errors += 1;
                done += 1;
            } else {
                done += sent as usize;
            }
        }
    }
    errors
}

/// Most segments the kernel accepts in one `UDP_SEGMENT` send (`UDP_MAX_SEGMENTS`).
const MAX_SEGMENTS: usize = 64;

/// Sends the `(start, end)` ranges of `text` as one datagram each, grouping ranges
/// of equal length into buffers of up to [`MAX_SEGMENTS`] that the kernel cuts
/// into datagrams of that length (`UDP_SEGMENT`); a length that occurs once goes
/// as a plain datagram. Reorders `datagrams`; returns how many datagrams could not
/// be sent.
fn send_segmented(socket: &UdpSocket, text: &[u8], datagrams: &mut [(usize, usize)]) -> u64 {
    use std::os::fd::AsRawFd;
    datagrams.sort_unstable_by_key(|(start, end)| end - start);
    let mut errors = 0;
    let mut rest = &datagrams[..];
    while let Some(&(start, end)) = rest.first() {
        let len = end - start;
        let same = rest.iter().take_while(|(s, e)| e - s == len).count();
        let (group, after) = rest.split_at(same);
        rest = after;
        // One buffer's payload must stay below 64 KiB.
        let per_buffer = MAX_SEGMENTS.min((65_507 / len.max(1)).max(1));
        for chunk in group.chunks(per_buffer) {
            let mut iovecs = iovecs_of(text, chunk);
            // Room for one cmsghdr carrying a u16, 8-byte aligned.
            let mut control = [0u64; 4];
            // SAFETY: a zeroed msghdr is valid; it points at `iovecs` and `control`,
            // which outlive the call, and CMSG_* stay within `control`'s length.
            let sent = unsafe {
                let mut message: libc::msghdr = std::mem::zeroed();
                message.msg_iov = iovecs.as_mut_ptr();
                message.msg_iovlen = iovecs.len();
                if chunk.len() > 1 {
                    message.msg_control = control.as_mut_ptr().cast();
                    message.msg_controllen = libc::CMSG_SPACE(2) as usize;
                    let header = libc::CMSG_FIRSTHDR(&message);
                    (*header).cmsg_level = libc::SOL_UDP;
                    (*header).cmsg_type = libc::UDP_SEGMENT;
                    (*header).cmsg_len = libc::CMSG_LEN(2) as usize;
                    std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<u16>(), len as u16);
                }
                libc::sendmsg(socket.as_raw_fd(), &message, 0)
            };
            if sent < 0 {
                errors += chunk.len() as u64;
            }
        }
    }
    errors
}

/// A SECLOG session teardown line that varies with `n`, so documents differ.
fn session_line(n: u64, out: &mut String) {
    use std::fmt::Write;
    let (a, b, port) = ((n >> 8) % 250 + 1, n % 250 + 1, 1024 + n % 60_000);
    write!(
        out,
        "<190>2025-07-23 02:11:12 FW-{:02} %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4,Protocol=TCP,\
         SourceIP=10.20.{a}.{b},DestinationIP=198.51.100.{b},SourcePort={port},DestinationPort=443,\
         SourceNatIP=203.0.113.{a},SourceNatPort={},BeginTime=1753236672,EndTime=1753236700,\
         SendPkts=12,SendBytes=3456,RcvPkts=10,RcvBytes=7890,SourceVpnID=0,DestinationVpnID=0,\
         PolicyName=nat-out,CloseReason=tcp-fin,seq={n}.",
        n % 16,
        40_000 + n % 20_000,
    )
    .unwrap();
}

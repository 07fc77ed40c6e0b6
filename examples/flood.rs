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
}

/// The sender sleeps between slices of this length to hold the rate.
const SLICE: Duration = Duration::from_millis(5);

enum Target {
    Udp(UdpSocket, SocketAddr),
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
        (Some(address), _) => Target::Udp(UdpSocket::bind("127.0.0.1:0").unwrap(), address),
        (None, Some(address)) => Target::Tcp(TcpStream::connect(address).unwrap()),
        (None, None) => unreachable!("checked above"),
    };

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_secs);
    let mut line = String::with_capacity(512);
    let mut buffer = Vec::with_capacity(1 << 20);
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
        for n in sent..sent + due {
            line.clear();
            session_line(n, &mut line);
            match &mut target {
                Target::Udp(socket, address) => {
                    if socket.send_to(line.as_bytes(), *address).is_err() {
                        errors += 1;
                    }
                }
                Target::Tcp(_) if args.octet => {
                    write!(buffer, "{} {line}", line.len()).unwrap();
                }
                Target::Tcp(_) => {
                    buffer.extend_from_slice(line.as_bytes());
                    buffer.push(b'\n');
                }
            }
        }
        if let Target::Tcp(stream) = &mut target {
            stream.write_all(&buffer).expect("TCP write");
        }
        sent += due;
    }

    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sent={sent} send_errors={errors} elapsed_secs={elapsed:.3} rate={:.0}",
        sent as f64 / elapsed
    );
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

//! nat-ingest: syslog ingestion for network NAT logs.
//!
//! A message flows through these modules, in this order:
//!
//! ```text
//! listener → framing → syslog → vendor → document → pipeline → archive | bulk | kafka
//!                                                  (kafka →) index → archive | bulk
//! ```
//!
//! * [`listener`] receives UDP datagrams and TCP/TLS streams and hands whole frames on;
//! * [`framing`] cuts a stream into frames (RFC 6587 octet counting, LF or NUL);
//! * [`syslog`] reads the header (Huawei VRP, RFC 5424, RFC 3164) without copying;
//! * [`vendor`] picks a declarative grammar by message code and reads the body;
//! * [`document`] resolves times, derives sums and writes one ECS JSON document;
//! * [`pipeline`] runs parser threads between bounded queues and feeds the sink;
//! * [`kafka`] ships documents to a topic and, in `index`, from it to a sink.
//!
//! `framing`, `syslog`, `vendor`, [`time`] and `document` are pure: bytes in, values
//! out, no sockets, no tokio; `scan` holds the short byte searches the header and body
//! readers share. They build without the `runtime` feature, which is how
//! the fuzz crate uses them.

#[cfg(feature = "runtime")]
pub mod archive;
#[cfg(feature = "runtime")]
pub mod bulk;
#[cfg(feature = "runtime")]
pub mod cli;
#[cfg(feature = "runtime")]
pub mod config;
pub mod document;
pub mod framing;
#[cfg(feature = "runtime")]
pub mod kafka;
#[cfg(feature = "runtime")]
pub mod listener;
#[cfg(feature = "runtime")]
pub mod pipeline;
#[cfg(feature = "runtime")]
pub mod replay;
#[cfg(feature = "runtime")]
pub mod telemetry;

mod scan;
pub mod syslog;
pub mod time;
pub mod vendor;

pub use document::{Dataset, Encoded, Encoder, EncoderSettings, Received};

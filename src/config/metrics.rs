//! `[metrics]`: the Prometheus endpoint.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The `[metrics]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve the Prometheus text format at `http://<address>/metrics`.
    ///
    /// Default true.
    pub enabled: bool,

    /// Address and port of the endpoint.
    ///
    /// Port 0 picks a free port (logged at start). Default `127.0.0.1:9898`; the
    /// endpoint has no authentication, so keep it off public interfaces.
    pub address: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> MetricsConfig {
        MetricsConfig {
            enabled: true,
            address: SocketAddr::from(([127, 0, 0, 1], 9898)),
        }
    }
}

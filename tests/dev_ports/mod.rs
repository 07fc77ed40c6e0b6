//! The dev servers' ports as the tests find them: `deploy/dev/servers.sh`'s
//! defaults, or the `NAT_INGEST_*_PORT` variables it honours.

/// The port in `var`, or `default` when it is unset; panics on a value that is
/// not a port.
pub fn port_from_env(var: &str, default: u16) -> u16 {
    match std::env::var(var) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{var}={value:?} is not a port")),
        Err(_) => default,
    }
}

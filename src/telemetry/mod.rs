//! Telemetry: notable events that log through `tracing` and count through `metrics`.
//!
//! SEED: the Prometheus endpoint and event structs come with `run`.

//! librdkafka client settings and its logs, shared by the producer and the
//! consumer.

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::ClientConfig;

use crate::config::kafka::KafkaConfig;

/// The settings both sides share, with the section's extra `options` last.
/// `role` goes into `client.id` (`nat-ingest-producer`), so broker logs tell
/// the two apart.
pub(super) fn client_config(
    config: &KafkaConfig,
    role: &str,
    own: &[(&str, String)],
) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", config.bootstrap_servers())
        .set("client.id", format!("{}-{role}", config.client_id));
    for (key, value) in own {
        client.set(*key, value);
    }
    for (key, value) in &config.options {
        client.set(key, value);
    }
    client.set_log_level(RDKafkaLogLevel::Warning);
    client
}

/// Forwards one librdkafka log line to `tracing`.
///
/// librdkafka reports a broker it cannot reach at warning level, again at
/// every reconnect; that is how an operator sees the outage, so it stays a warn.
pub(super) fn log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(facility, "librdkafka: {message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(facility, "librdkafka: {message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(facility, "librdkafka: {message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(facility, "librdkafka: {message}"),
    }
}

/// Forwards a client-wide error (all brokers down, authentication) to `tracing`.
pub(super) fn error(error: &KafkaError, reason: &str) {
    tracing::warn!(error = %error, reason, "Kafka client error.");
}

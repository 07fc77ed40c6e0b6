//! What a Kafka message carries besides the document: its identity and its
//! routing facts, so that the indexer never parses the JSON again.
//!
//! - **Key**: the document's Elasticsearch `_id`, the 22-character base64url
//!   form of its 128-bit fingerprint (`crate::bulk::document_id`). Being the
//!   `_id` itself, it lets any other consumer (a Logstash `kafka` input with
//!   `document_id => "%{[@metadata][kafka][key]}"`, say) write the same ids, and
//!   being a hash it spreads documents evenly over the partitions.
//! - **Header `nat.timestamp_us`**: `@timestamp` as decimal microseconds since
//!   the Unix epoch. The archive names its files by its UTC day, the bulk writer
//!   dates its index names by it. Sub-microsecond digits are cut, which moves no
//!   document to another day; the document's own `@timestamp` text is untouched.
//! - **Header `nat.dataset`**: `huawei.session`, `huawei.log` or `syslog`, which
//!   picks the session or the syslog index.
//!
//! The Kafka message timestamp is left to the producer's clock on purpose: a
//! device with a clock far in the future would otherwise have its documents
//! refused by brokers that bound timestamps (`log.message.timestamp.after.max.ms`).

use jiff::Timestamp;

use crate::bulk::{document_id, DOCUMENT_ID_LEN};
use crate::document::{Dataset, Encoded};

/// Header holding `@timestamp` in decimal microseconds.
pub const TIMESTAMP_HEADER: &str = "nat.timestamp_us";
/// Header holding the dataset name.
pub const DATASET_HEADER: &str = "nat.dataset";

/// Why a message's key or headers could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is not a 22-character document id")]
    Key,
    #[error("header {TIMESTAMP_HEADER} missing or not microseconds in range")]
    Timestamp,
    #[error("header {DATASET_HEADER} missing or unknown")]
    Dataset,
}

/// The message key of a document: its `_id`.
pub fn key(fingerprint: u128) -> [u8; DOCUMENT_ID_LEN] {
    document_id(fingerprint)
}

/// The fingerprint back from a key; the inverse of [`key`].
pub fn fingerprint(key: &[u8]) -> Result<u128, KeyError> {
    if key.len() != DOCUMENT_ID_LEN {
        return Err(KeyError::Key);
    }
    let mut value: u128 = 0;
    for (i, &c) in key.iter().enumerate() {
        let digit = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return Err(KeyError::Key),
        } as u128;
        // 21 whole six-bit digits, then the last two bits in the top of the 22nd.
        if i < DOCUMENT_ID_LEN - 1 {
            value = (value << 6) | digit;
        } else {
            if digit & 0x0f != 0 {
                return Err(KeyError::Key);
            }
            value = (value << 2) | (digit >> 4);
        }
    }
    Ok(value)
}

/// The `nat.timestamp_us` value of `timestamp`, written into `buffer`.
pub fn timestamp_header(timestamp: Timestamp, buffer: &mut itoa::Buffer) -> &str {
    buffer.format(timestamp.as_microsecond())
}

/// `@timestamp` back from a `nat.timestamp_us` value.
pub fn timestamp(value: Option<&[u8]>) -> Result<Timestamp, KeyError> {
    let text = value
        .and_then(|v| std::str::from_utf8(v).ok())
        .ok_or(KeyError::Timestamp)?;
    let micros: i64 = text.parse().map_err(|_| KeyError::Timestamp)?;
    Timestamp::from_microsecond(micros).map_err(|_| KeyError::Timestamp)
}

/// The `nat.dataset` value of `dataset`.
pub fn dataset_header(dataset: Dataset) -> &'static str {
    crate::telemetry::pipeline::dataset_label(dataset)
}

/// The dataset back from a `nat.dataset` value.
pub fn dataset(value: Option<&[u8]>) -> Result<Dataset, KeyError> {
    match value {
        Some(b"huawei.session") => Ok(Dataset::HuaweiSession),
        Some(b"huawei.log") => Ok(Dataset::HuaweiLog),
        Some(b"syslog") => Ok(Dataset::Syslog),
        _ => Err(KeyError::Dataset),
    }
}

/// The encoder result a sink needs, read back from a message's key and headers.
/// The failure tag is not carried: the shipper already counted it, and the
/// document holds it in `tags`.
pub fn encoded(
    key: Option<&[u8]>,
    timestamp_value: Option<&[u8]>,
    dataset_value: Option<&[u8]>,
) -> Result<Encoded, KeyError> {
    Ok(Encoded {
        fingerprint: Some(fingerprint(key.ok_or(KeyError::Key)?)?),
        timestamp: timestamp(timestamp_value)?,
        dataset: dataset(dataset_value)?,
        failure: None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn key_is_the_document_id() {
        let fingerprint = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        assert_eq!(key(fingerprint), document_id(fingerprint));
        assert_eq!(super::fingerprint(&key(fingerprint)), Ok(fingerprint));
        assert_eq!(super::fingerprint(&key(u128::MAX)), Ok(u128::MAX));
        assert_eq!(super::fingerprint(&key(0)), Ok(0));
    }

    #[test]
    fn refuses_keys_that_are_no_document_id() {
        assert_eq!(fingerprint(b"short"), Err(KeyError::Key));
        assert_eq!(fingerprint(&[b'='; 22]), Err(KeyError::Key));
        // The last digit carries two bits; any of its low four set is not an id.
        let mut odd = key(0);
        odd[21] = b'B';
        assert_eq!(fingerprint(&odd), Err(KeyError::Key));
    }

    #[test]
    fn headers_round_trip() {
        let at: Timestamp = "2025-07-23T02:11:12.345678Z".parse().unwrap();
        let mut buffer = itoa::Buffer::new();
        let text = timestamp_header(at, &mut buffer).to_owned();
        assert_eq!(text, "1753236672345678");
        assert_eq!(timestamp(Some(text.as_bytes())), Ok(at));
        assert_eq!(timestamp(Some(b"soon")), Err(KeyError::Timestamp));
        assert_eq!(timestamp(None), Err(KeyError::Timestamp));
        for d in [Dataset::HuaweiSession, Dataset::HuaweiLog, Dataset::Syslog] {
            assert_eq!(dataset(Some(dataset_header(d).as_bytes())), Ok(d));
        }
        assert_eq!(dataset(Some(b"nginx")), Err(KeyError::Dataset));
    }

    proptest! {
        #[test]
        fn any_fingerprint_round_trips(value: u128) {
            prop_assert_eq!(fingerprint(&key(value)), Ok(value));
        }

        #[test]
        fn any_microsecond_round_trips(micros in -377_705_116_800_000_000i64..253_402_207_200_000_000) {
            let at = Timestamp::from_microsecond(micros).unwrap();
            let mut buffer = itoa::Buffer::new();
            let text = timestamp_header(at, &mut buffer).to_owned();
            prop_assert_eq!(timestamp(Some(text.as_bytes())), Ok(at));
        }
    }
}

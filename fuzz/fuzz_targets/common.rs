//! Shared by the targets: one encoder, and the checks every document must pass.

use std::sync::LazyLock;

use nat_ingest::document::{Encoder, EncoderSettings, Received};
use serde_json::Value;

pub static ENCODER: LazyLock<Encoder> = LazyLock::new(|| {
    let settings = EncoderSettings::from_options(Some("Asia/Shanghai"), None, None, true)
        .expect("built-in settings");
    Encoder::new(settings)
});

pub fn received() -> Received {
    Received { at: jiff::Timestamp::from_second(1_753_236_705).unwrap(), peer: None, truncated: false }
}

/// Encodes `line` and checks the result: one JSON object, valid UTF-8, a failure
/// tag only with an error message whose byte offset lies inside the line, and the
/// same bytes when encoded again.
pub fn encode_and_check(line: &[u8]) -> Value {
    let mut out = Vec::new();
    let encoded = ENCODER.encode(line, &received(), &mut out);
    let text = std::str::from_utf8(&out).expect("documents are UTF-8");
    let document: Value = serde_json::from_str(text).expect("documents are one JSON value");
    assert!(document.is_object(), "a document is an object");

    let mut again = Vec::new();
    ENCODER.encode(line, &received(), &mut again);
    assert_eq!(out, again, "encoding is deterministic");

    if let Some(tag) = encoded.failure {
        assert!(tag.ends_with("parse_failure"));
        let message = document["error"]["message"].as_str().expect("failures say why");
        let byte: usize = message
            .rsplit_once("(byte ")
            .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok())
            .expect("failures say where");
        assert!(byte <= line.len(), "offset {byte} inside a {} byte line", line.len());
        assert!(document["event"]["original"].is_string(), "failures keep the raw line");
    }
    document
}

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
    Received {
        at: jiff::Timestamp::from_second(1_753_236_705).unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    }
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
        let message = document["error"]["message"]
            .as_str()
            .expect("failures say why");
        let byte: usize = message
            .rsplit_once("(byte ")
            .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok())
            .expect("failures say where");
        assert!(
            byte <= line.len(),
            "offset {byte} inside a {} byte line",
            line.len()
        );
        assert!(
            document["event"]["original"].is_string(),
            "failures keep the raw line"
        );
    }
    document
}

/// A fixed list of valid headers for one grammar, for [`HeaderedBody`].
pub trait Headers {
    const LIST: &'static [&'static str];
}

/// A fuzzed body behind one of a grammar's valid headers. Its `Debug` is the line.
pub struct HeaderedBody<H: Headers> {
    header: usize,
    body: Vec<u8>,
    _headers: std::marker::PhantomData<H>,
}

impl<'a, H: Headers> arbitrary::Arbitrary<'a> for HeaderedBody<H> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let header = u.choose_index(H::LIST.len())?;
        Ok(HeaderedBody {
            header,
            body: u.arbitrary()?,
            _headers: std::marker::PhantomData,
        })
    }
}

impl<H: Headers> std::fmt::Debug for HeaderedBody<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}",
            H::LIST[self.header],
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// Runs the line through [`encode_and_check`] and checks it stayed in the grammar's
/// world: a session document or a generic Huawei log, and no tag but the grammar's
/// failure tag (or the UTF-8 repair tag).
pub fn check_grammar_body<H: Headers>(input: &HeaderedBody<H>, failure_tag: &str) {
    // Bodies beyond the listeners' frame limit never reach the encoder.
    if input.body.len() > 16 * 1024 {
        return;
    }
    let mut line = H::LIST[input.header].as_bytes().to_vec();
    line.extend_from_slice(&input.body);
    let document = encode_and_check(&line);
    let dataset = document["event"]["dataset"].as_str().unwrap_or_default();
    assert!(
        matches!(dataset, "huawei.session" | "huawei.log"),
        "dataset {dataset}"
    );
    for tag in document["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
    {
        assert!(
            tag == failure_tag || tag == "_invalid_utf8_replaced",
            "tag {tag}"
        );
    }
}

//! Every grammar carries sample lines with the fields they must produce; this runs
//! them all, for the built-in grammars and for any directory named in
//! `NAT_INGEST_GRAMMARS` (so a user can check their own grammar files the same way).

mod support;

use nat_ingest::document::{Encoder, EncoderSettings, Received};
use nat_ingest::vendor::Grammars;
use serde_json::Value;
use support::{flatten, is_failure, same_value};

#[test]
fn every_grammar_sample_produces_its_expected_fields() {
    let dir = std::env::var_os("NAT_INGEST_GRAMMARS").map(std::path::PathBuf::from);
    let grammars = Grammars::load(dir.as_deref()).unwrap();
    let mut problems = Vec::new();
    let mut samples = 0;

    for grammar in grammars.iter() {
        assert!(
            !grammar.samples.is_empty(),
            "grammar {} carries no samples",
            grammar.name
        );
        let context = grammar
            .sample_context
            .as_ref()
            .expect("samples need a [samples] context");
        let settings =
            EncoderSettings::from_options(Some(&context.timezone), None, dir.as_deref(), true)
                .unwrap();
        let encoder = Encoder::new(settings);
        let received = Received {
            at: context.received.parse().unwrap(),
            peer: None,
            truncated: false,
            misframed: false,
        };

        for sample in &grammar.samples {
            samples += 1;
            let mut out = Vec::new();
            let encoded = encoder.encode(sample.line.as_bytes(), &received, &mut out);
            let document: Value = serde_json::from_slice(&out).expect("valid JSON");
            let actual = flatten(&document);
            let mut fail =
                |what: String| problems.push(format!("{} / {}: {what}", grammar.name, sample.why));

            if sample.failure {
                if !is_failure(&actual) || encoded.failure != Some(grammar.failure_tag) {
                    fail(format!(
                        "expected a {} failure, got {document}",
                        grammar.failure_tag
                    ));
                }
            } else if let Some(tag) = encoded.failure {
                fail(format!(
                    "unexpected failure {tag}: {}",
                    actual.get("error.message").unwrap_or(&Value::Null)
                ));
            }
            if let Some(needle) = &sample.error_contains {
                let message = actual
                    .get("error.message")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !message.contains(needle.as_str()) {
                    fail(format!("error.message {message:?} lacks {needle:?}"));
                }
            }
            for field in &sample.absent {
                if let Some(value) = actual.get(field) {
                    fail(format!("{field} should be absent, is {value}"));
                }
            }
            for (field, want) in &sample.expect {
                let want = serde_json::to_value(want).unwrap();
                match actual.get(field) {
                    Some(got) if same_value(field, &want, got) => {}
                    got => fail(format!("{field}: want {want}, got {got:?}")),
                }
            }
        }
    }
    assert!(samples >= 20, "only {samples} samples ran");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

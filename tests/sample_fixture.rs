//! The team's Huawei sample (tests/fixtures/huawei/sample.log) against its expected
//! fields (sample.expected.jsonl): every line, every listed field. `null` means the
//! field must be absent; `{"_failure": true}` means a tagged failure with an error.

mod support;

use nat_ingest::document::{Encoder, EncoderSettings, Received};
use serde_json::Value;
use support::{flatten, is_failure, same_value};

#[test]
fn sample_log_reproduces_the_expected_fields() {
    let lines = include_str!("fixtures/huawei/sample.log");
    let expected = include_str!("fixtures/huawei/sample.expected.jsonl");
    let settings = EncoderSettings::from_options(
        Some("+08:00"),
        Some("2025-07-23T12:00:00+08:00"),
        None,
        true,
    )
    .unwrap();
    let encoder = Encoder::new(settings);
    let received = Received {
        at: "2025-07-23T04:00:00Z".parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };

    let mut mismatches = Vec::new();
    let mut checked_fields = 0;
    for (number, (line, expected)) in lines.lines().zip(expected.lines()).enumerate() {
        let mut out = Vec::new();
        encoder.encode(line.as_bytes(), &received, &mut out);
        let document: Value = serde_json::from_slice(&out).expect("valid JSON");
        let actual = flatten(&document);
        let expected: serde_json::Map<String, Value> = serde_json::from_str(expected).unwrap();

        if expected.get("_failure") == Some(&Value::Bool(true)) {
            if !is_failure(&actual) {
                mismatches.push(format!(
                    "line {}: expected a failure, got {document}",
                    number + 1
                ));
            }
            continue;
        }
        for (field, want) in &expected {
            checked_fields += 1;
            let got = actual.get(field);
            let ok = match (want, got) {
                (Value::Null, None) => true,
                (Value::Null, Some(_)) | (_, None) => false,
                (want, Some(got)) => same_value(field, want, got),
            };
            if !ok {
                mismatches.push(format!(
                    "line {}: {field}: want {want}, got {got:?}",
                    number + 1
                ));
            }
        }
    }
    assert_eq!(lines.lines().count(), 150);
    assert!(
        checked_fields > 2000,
        "only {checked_fields} fields checked"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

//! Helpers shared by the document tests: flatten nested JSON, compare field values.

#![allow(dead_code)]

use serde_json::{Map, Value};

/// `{"a":{"b":1}}` → `{"a.b": 1}`.
pub fn flatten(value: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    flatten_into("", value, &mut out);
    out
}

fn flatten_into(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(map) if !prefix.ends_with("structured_data") => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_into(&path, inner, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// Equal as field values: times compare as instants, everything else exactly.
pub fn same_value(field: &str, expected: &Value, actual: &Value) -> bool {
    let is_time = field == "@timestamp"
        || field.starts_with("event.")
            && matches!(field, "event.start" | "event.end" | "event.created");
    if is_time {
        if let (Some(e), Some(a)) = (expected.as_str(), actual.as_str()) {
            return match (e.parse::<jiff::Timestamp>(), a.parse::<jiff::Timestamp>()) {
                (Ok(e), Ok(a)) => e == a,
                _ => false,
            };
        }
    }
    expected == actual
}

/// Whether a flattened document is a tagged failure with an error message.
pub fn is_failure(doc: &Map<String, Value>) -> bool {
    let tagged = doc
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| {
            tags.iter()
                .any(|t| t.as_str().is_some_and(|t| t.ends_with("parse_failure")))
        });
    tagged
        && doc.get("error.message").is_some_and(Value::is_string)
        && doc.get("event.original").is_some()
}

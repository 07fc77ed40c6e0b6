//! Reads a `_bulk` response with simd-json: the per-item status and, for failed
//! items, the error's type and reason.
//!
//! A bulk response can say 200 while some of its items failed; the top-level
//! `errors` flag only says whether to look. Items are answered in request order,
//! so the n-th result belongs to the n-th item of the body. The request asks for
//! `filter_path=errors,items.*.status,items.*.error`, which keeps a response for
//! 5,000 successful items near 100 KiB.
//!
//! Only failures allocate: a successful item is a status code in a reused vector.

use std::borrow::Cow;

use serde::Deserialize;

/// The query string that trims a bulk response to what this module reads.
pub const BULK_FILTER_PATH: &str = "errors,items.*.status,items.*.error";

/// Why a response could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("bulk response is not the expected JSON")]
    Json(#[source] simd_json::Error),
    #[error("bulk response has {got} items for {sent} sent")]
    ItemCount { got: usize, sent: usize },
}

/// The outcome of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    pub status: u16,
    /// `type: reason` of a failed item (e.g. `mapper_parsing_exception: failed to
    /// parse field [source.port] ...`), with the innermost cause appended.
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(default)]
    errors: bool,
    #[serde(default, borrow)]
    items: Vec<WireItem<'a>>,
}

/// One entry of `items`: an object with one key, the action's name.
#[derive(Deserialize)]
struct WireItem<'a> {
    #[serde(borrow, alias = "index", alias = "update", alias = "delete")]
    create: WireOutcome<'a>,
}

#[derive(Deserialize)]
struct WireOutcome<'a> {
    status: u16,
    #[serde(default, borrow)]
    error: Option<WireError<'a>>,
}

#[derive(Deserialize)]
struct WireError<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    caused_by: Option<Box<WireError<'a>>>,
}

impl WireError<'_> {
    fn describe(&self) -> String {
        let mut text = String::new();
        text.push_str(self.kind.as_deref().unwrap_or("error"));
        if let Some(reason) = &self.reason {
            text.push_str(": ");
            text.push_str(reason);
        }
        // The innermost cause usually names the offending value.
        let mut cause = self.caused_by.as_deref();
        let mut innermost = None;
        while let Some(c) = cause {
            innermost = Some(c);
            cause = c.caused_by.as_deref();
        }
        if let Some(c) = innermost {
            text.push_str(" (caused by ");
            text.push_str(c.kind.as_deref().unwrap_or("error"));
            if let Some(reason) = &c.reason {
                text.push_str(": ");
                text.push_str(reason);
            }
            text.push(')');
        }
        text
    }
}

/// Parses `body` (modified in place, as simd-json does) into one result per sent
/// item, appended to `results` after clearing it. Returns the `errors` flag.
pub fn parse(
    body: &mut [u8],
    sent: usize,
    results: &mut Vec<ItemResult>,
) -> Result<bool, ResponseError> {
    results.clear();
    let wire: Wire = simd_json::serde::from_slice(body).map_err(ResponseError::Json)?;
    if wire.items.len() != sent {
        return Err(ResponseError::ItemCount {
            got: wire.items.len(),
            sent,
        });
    }
    results.extend(wire.items.iter().map(|item| ItemResult {
        status: item.create.status,
        error: item.create.error.as_ref().map(WireError::describe),
    }));
    Ok(wire.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str, sent: usize) -> Result<(bool, Vec<ItemResult>), ResponseError> {
        let mut bytes = text.as_bytes().to_vec();
        let mut results = vec![ItemResult {
            status: 1,
            error: None,
        }];
        let errors = parse(&mut bytes, sent, &mut results)?;
        Ok((errors, results))
    }

    #[test]
    fn reads_statuses_in_order() {
        let (errors, results) = parse_str(
            r#"{"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}"#,
            2,
        )
        .unwrap();
        assert!(!errors);
        assert_eq!(results.len(), 2);
        assert!(results.iter().all(|r| r.status == 201 && r.error.is_none()));
    }

    #[test]
    fn reads_mixed_failures_with_their_reasons() {
        let text = r#"{"errors":true,"items":[
            {"create":{"status":201}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[x]: version conflict, document already exists"}}},
            {"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [source.port] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"abc\""}}}},
            {"create":{"status":429,"error":{"type":"cluster_block_exception","reason":"index [n] blocked"}}},
            {"index":{"status":503}}
        ]}"#;
        let (errors, results) = parse_str(text, 5).unwrap();
        assert!(errors);
        let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [201, 409, 400, 429, 503]);
        assert_eq!(
            results[2].error.as_deref(),
            Some(
                "mapper_parsing_exception: failed to parse field [source.port] of type [long] \
                 (caused by illegal_argument_exception: For input string: \"abc\")"
            )
        );
        assert!(results[3]
            .error
            .as_deref()
            .unwrap()
            .starts_with("cluster_block_exception"));
        assert_eq!(results[4].error, None);
    }

    #[test]
    fn refuses_a_response_that_does_not_match_the_request() {
        let text = r#"{"errors":false,"items":[{"create":{"status":201}}]}"#;
        assert!(matches!(
            parse_str(text, 2),
            Err(ResponseError::ItemCount { got: 1, sent: 2 })
        ));
        assert!(matches!(
            parse_str("<html>", 1),
            Err(ResponseError::Json(_))
        ));
        assert!(matches!(
            parse_str(r#"{"errors":true,"items":[{"create":{}}]}"#, 1),
            Err(ResponseError::Json(_))
        ));
    }
}

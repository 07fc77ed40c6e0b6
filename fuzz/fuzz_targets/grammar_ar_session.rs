//! The AR FW-LOG SESSION_LOG groups grammar behind a valid header: fuzzed bodies in every header
//! form must give a session document or a tagged session failure, nothing else.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const HEADERS: [&str; 4] = [
    "<189>Jul 23 2025 10:11:12 AR1220-EDGE %%01FW-LOG/5/SESSION_LOG(l)[1532]:",
    "<189>Mar 30 2025 03:30:05+02:00 DST br-ar2220-01 10.255.0.1 %%01FW-LOG/5/SESSION_LOG(l)[88]:",
    "<189>Jul  3 10:11:12 AR1220-EDGE %%01FW-LOG/5/SESSION_LOG(l):",
    "<189>2025-07-23 10:11:12.345 AR3260-HQ %%01FW-LOG/5/SESSION_LOG(l)[20441]:",
];

struct Input {
    header: usize,
    body: Vec<u8>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input { header: u.choose_index(HEADERS.len())?, body: u.arbitrary()? })
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", HEADERS[self.header], String::from_utf8_lossy(&self.body))
    }
}

fuzz_target!(|input: Input| {
    if input.body.len() > 16 * 1024 {
        return;
    }
    let mut line = HEADERS[input.header].as_bytes().to_vec();
    line.extend_from_slice(&input.body);
    let document = common::encode_and_check(&line);
    let dataset = document["event"]["dataset"].as_str().unwrap_or_default();
    assert!(matches!(dataset, "huawei.session" | "huawei.log"), "dataset {dataset}");
    if let Some(tags) = document["tags"].as_array() {
        for tag in tags.iter().filter_map(|t| t.as_str()) {
            assert!(matches!(tag, "_nat_parse_failure" | "_invalid_utf8_replaced"), "tag {tag}");
        }
    }
});

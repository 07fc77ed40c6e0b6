//! The SECLOG key=value grammar behind a valid header: fuzzed bodies in every header
//! form must give a session document or a tagged session failure, nothing else.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const HEADERS: [&str; 4] = [
    "<190>2025-07-23 10:11:12 USG6525E-FW1 %%01SECLOG/6/SESSION_TEARDOWN(l):",
    "<190>Jul 23 2025 10:11:12+08:00 DST FW %%01SECLOG/6/SESSION_BUILT(l)[7]:",
    "<190>%%: %%01SECLOG/6/SESSION_URL(l):",
    "<190>Jul 23 10:11:41 10.0.0.1 2025-07-23 10:11:40 FW-OUT-01 %%01SECLOG/6/SESSION_TEARDOWN(l):",
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

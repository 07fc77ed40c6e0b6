//! The SECLOG key=value grammar behind valid headers of every form: fuzzed bodies must
//! give a session document, a generic Huawei log or a tagged session failure.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

struct Seclog;

impl common::Headers for Seclog {
    const LIST: &'static [&'static str] = &[
        "<190>2025-07-23 10:11:12 USG6525E-FW1 %%01SECLOG/6/SESSION_TEARDOWN(l):",
        "<190>Jul 23 2025 10:11:12+08:00 DST FW %%01SECLOG/6/SESSION_BUILT(l)[7]:",
        "<190>%%: %%01SECLOG/6/SESSION_URL(l):",
        "<190>Jul 23 10:11:41 10.0.0.1 2025-07-23 10:11:40 FW-OUT-01 %%01SECLOG/6/SESSION_TEARDOWN(l):",
    ];
}

fuzz_target!(|input: common::HeaderedBody<Seclog>| {
    common::check_grammar_body(&input, "_nat_parse_failure");
});

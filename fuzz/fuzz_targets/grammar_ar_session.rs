//! The AR FW-LOG SESSION_LOG groups grammar behind valid headers of every form:
//! fuzzed bodies must give a session document or a tagged session failure.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

struct ArSession;

impl common::Headers for ArSession {
    const LIST: &'static [&'static str] = &[
        "<189>Jul 23 2025 10:11:12 AR1220-EDGE %%01FW-LOG/5/SESSION_LOG(l)[1532]:",
        "<189>Mar 30 2025 03:30:05+02:00 DST br-ar2220-01 10.255.0.1 %%01FW-LOG/5/SESSION_LOG(l)[88]:",
        "<189>Jul  3 10:11:12 AR1220-EDGE %%01FW-LOG/5/SESSION_LOG(l):",
        "<189>2025-07-23 10:11:12.345 AR3260-HQ %%01FW-LOG/5/SESSION_LOG(l)[20441]:",
    ];
}

fuzz_target!(|input: common::HeaderedBody<ArSession>| {
    common::check_grammar_body(&input, "_nat_parse_failure");
});

//! A whole line, any bytes, through the encoder: exactly one valid document.

#![no_main]

use libfuzzer_sys::fuzz_target;

// This target uses only the whole-line check of the shared module.
#[path = "common.rs"]
#[allow(dead_code)]
mod common;

fuzz_target!(|data: &[u8]| {
    // Lines beyond the listeners' frame limit never reach the encoder.
    if data.len() > 64 * 1024 {
        return;
    }
    common::encode_and_check(data);
});

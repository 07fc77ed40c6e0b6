//! The syslog header parser on arbitrary bytes: no panic, and every slice it returns
//! is where its offset says.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nat_ingest::syslog;

fuzz_target!(|data: &[u8]| {
    match syslog::parse(data) {
        Ok(message) => {
            let end = message.body_offset + message.body.len();
            assert_eq!(&data[message.body_offset..end], message.body);
            if let Some(huawei) = message.huawei {
                let end = huawei.grammar_body_offset + huawei.grammar_body.len();
                assert_eq!(&data[huawei.grammar_body_offset..end], huawei.grammar_body);
                assert!(huawei.severity <= 7);
            }
            assert!(message.priority.is_none_or(|p| p <= 191));
            assert!(message.stamp_offset <= data.len());
        }
        Err(error) => assert!(error.offset <= data.len()),
    }
});

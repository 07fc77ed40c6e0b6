//! Grammar files from a user's directory: they add to or replace the built-in ones, and
//! a bad one is refused at start with its file, line and reason.

use nat_ingest::document::{Encoder, EncoderSettings, Received};
use nat_ingest::vendor::Grammars;

const CGN_GRAMMAR: &str = r#"
name = "example-cgn-port-block"
dataset = "huawei.cgn"
failure_tag = "_cgn_parse_failure"
required = ["source.ip"]
applies_to = [{ module = "NAT", brief = "PORT_BLOCK" }]

[body]
kind = "key_value"
unknown_keys_prefix = "cgn"

[[field]]
keys = ["Inside", "InsideIP"]
target = "source.ip"
type = "ip"

[[field]]
keys = ["Outside"]
target = "source.nat.ip"
type = "ip"
"#;

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_user_grammar_adds_a_message_type() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cgn.toml", CGN_GRAMMAR);
    let settings =
        EncoderSettings::from_options(Some("UTC"), None, Some(dir.path()), true).unwrap();
    let encoder = Encoder::new(settings);
    let received = Received {
        at: "2025-07-23T00:00:00Z".parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let mut out = Vec::new();
    encoder.encode(b"<190>Jul 23 2025 01:00:00 NE8K %%01NAT/6/PORT_BLOCK(l):Inside=10.0.0.1,Outside=203.0.113.9,Block=1024-2047", &received, &mut out);
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["event"]["dataset"], "huawei.cgn");
    assert_eq!(doc["source"]["ip"], "10.0.0.1");
    assert_eq!(doc["source"]["nat"]["ip"], "203.0.113.9");
    assert_eq!(doc["cgn"]["block"], "1024-2047");
    // The built-in grammars are still there.
    assert!(Grammars::load(Some(dir.path()))
        .unwrap()
        .choose(b"SECLOG", b"SESSION_BUILT")
        .is_some());
}

#[test]
fn a_user_grammar_with_a_built_in_name_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = CGN_GRAMMAR
        .replace("example-cgn-port-block", "huawei-seclog-session")
        .replace("PORT_BLOCK", "SESSION_BUILT");
    write(dir.path(), "seclog.toml", &renamed);
    let grammars = Grammars::load(Some(dir.path())).unwrap();
    let chosen = grammars.choose(b"NAT", b"SESSION_BUILT").unwrap();
    assert_eq!(chosen.dataset, "huawei.cgn");
    // The replaced grammar no longer claims its old messages.
    assert!(grammars.choose(b"SECLOG", b"SESSION_TEARDOWN").is_none());
}

#[test]
fn bad_grammars_are_refused_with_file_line_and_reason() {
    let cases = [
        (
            CGN_GRAMMAR.replace(
                "type = \"ip\"\n\n[[field]]",
                "type = \"ipaddr\"\n\n[[field]]",
            ),
            12,
            "unknown type \"ipaddr\"",
        ),
        (
            CGN_GRAMMAR.replace("target = \"source.nat.ip\"", "target = \"source.port\""),
            17,
            "source.port is typed Long",
        ),
        (
            CGN_GRAMMAR.replace("kind = \"key_value\"", "kind = \"csv\""),
            9,
            "unknown variant `csv`",
        ),
        (
            CGN_GRAMMAR.replace("required = [\"source.ip\"]", "required = [\"url.path\"]"),
            5,
            "required field \"url.path\"",
        ),
        (
            CGN_GRAMMAR.replace("Outside", "Inside"),
            17,
            "key \"Inside\" names two fields",
        ),
        (
            CGN_GRAMMAR.replace("dataset", "datset"),
            3,
            "unknown field `datset`",
        ),
        (
            CGN_GRAMMAR.replace("\"huawei.cgn\"", r#""huawei\"cgn""#),
            1,
            "dataset \"huawei\\\"cgn\" may hold only letters",
        ),
    ];
    for (text, line, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bad.toml", &text);
        let error = Grammars::load(Some(dir.path())).unwrap_err();
        let shown = error.to_string();
        assert!(shown.contains("bad.toml"), "{shown}");
        assert!(shown.contains(reason), "{shown} lacks {reason}");
        assert_eq!(error.line, line, "{shown}");
    }
}

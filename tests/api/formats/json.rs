//! v2 JSON (SPEC §8): binary identifiers, emission rules, the accepted variants, and memory
//! bounded by the limits whatever the JSON's shape.

use crate::common::*;
use crate::counting_alloc::*;
use crate::support::*;
use macaroon_mint::{
    DecodeErrorKind, Encoding, Error, Format, Layer, LimitError, Limits, Macaroon, Parsed,
};

#[test]
fn json_shapes_that_lie() {
    const BIG: usize = 1 << 19;
    // Deep nesting: refused at the fourth level, whatever follows.
    let deep = format!("{{\"c\":{}", "[".repeat(BIG));
    let (r, u) = read_measured(deep.as_bytes(), &Limits::default(), false);
    assert_eq!(
        decode_kind(r, "deep arrays"),
        (
            Layer::Json,
            7,
            DecodeErrorKind::JsonSyntax {
                expected: "less nesting"
            }
        )
    );
    assert_bounded(u, deep.len(), "deep arrays");
    let deep = format!("{{\"c\":[{}", "{\"i\":".repeat(BIG / 5));
    let (r, u) = read_measured(deep.as_bytes(), &Limits::default(), false);
    assert_eq!(
        decode_kind(r, "deep objects"),
        (
            Layer::Json,
            11,
            DecodeErrorKind::JsonSyntax {
                expected: "less nesting"
            }
        )
    );
    assert_bounded(u, deep.len(), "deep objects");
    // A huge caveat array: stops at the first caveat over the limit.
    let many = format!("{{\"i\":\"x\",\"c\":[{}", "{\"i\":\"a\"},".repeat(BIG / 10));
    let (r, u) = read_measured(many.as_bytes(), &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::TooManyCaveats {
            limit: 1024,
            offset: 14 + 1024 * 10
        }))
    );
    assert_bounded(u, many.len(), "many caveats");
    // Many members: stops at the ninth.
    let members: String = (0..BIG / 16).map(|i| format!("\"k{i}\":0,")).collect();
    let wide = format!("{{{members}");
    let (r, u) = read_measured(wide.as_bytes(), &Limits::default(), false);
    assert_eq!(
        decode_kind(r, "many members"),
        (
            Layer::Json,
            wide.find("\"k8\"").expect("k8"),
            DecodeErrorKind::Unexpected {
                found: "field \"k8\"".into(),
                expected: "at most 8 fields in an object"
            }
        )
    );
    assert_bounded(u, wide.len(), "many members");
    // A string of escapes decodes to fewer bytes than its text; over the field limit.
    let escapes = format!(
        "{{\"i\":\"{}\",\"s64\":\"{}\"}}",
        "\\u0000".repeat(BIG / 6),
        "A".repeat(43)
    );
    let (r, u) = read_measured(escapes.as_bytes(), &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: BIG / 6,
            offset: 5
        }))
    );
    assert_bounded(u, escapes.len(), "escapes");
    // Base64 in a `*64` field declaring far more than the limit: decoded, then refused.
    let b64 = format!("{{\"i64\":\"{}\",\"s64\":\"\"}}", "QUFB".repeat(BIG / 4));
    let (r, u) = read_measured(b64.as_bytes(), &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: BIG / 4 * 3,
            offset: 7
        }))
    );
    assert_bounded(u, b64.len(), "i64");
}

/// JSON has no declared lengths, but its parsed tree costs more per byte than the text: a
/// caveat object of ten characters holds a few hundred bytes of parsed members (and a copy kept
/// for lenient inspection). That cost is bounded by `max_caveats` and the eight members an
/// object may have, not by the input: the worst shapes stay under 2 MiB at the default limits.
#[test]
fn json_tree_memory_is_bounded_by_the_limits() {
    for (item, want) in [
        (
            r#"{"i":"a"},"#,
            DecodeErrorKind::Missing {
                field: "caveat \"i\" or \"i64\"",
            },
        ),
        (
            r#"{"i":0,"i64":0,"v":0,"v64":0,"l":0,"l64":0,"a":0,"b":0},"#,
            DecodeErrorKind::UnknownField { field: "a".into() },
        ),
        (
            r#"{"i":null,"i64":null,"v":null,"v64":null,"l":null,"l64":null},"#,
            DecodeErrorKind::Missing {
                field: "caveat \"i\" or \"i64\"",
            },
        ),
    ] {
        // 1,023 such caveats and an empty one: every caveat is read before any is interpreted.
        let text = format!("{{\"i\":\"x\",\"c\":[{}{{}}]}}", item.repeat(1023));
        let (r, u) = read_measured(text.as_bytes(), &Limits::default(), false);
        assert_eq!(decode_kind(r, item).2, want, "{item}");
        assert!(
            u.peak <= 2 << 20,
            "{item}: peak {} for {} bytes",
            u.peak,
            text.len()
        );
        // One caveat more is refused while reading, before it is parsed.
        let text = format!("{{\"i\":\"x\",\"c\":[{}{{}}]}}", item.repeat(1024));
        let (r, u) = read_measured(text.as_bytes(), &Limits::default(), false);
        assert_eq!(
            r,
            Err(Error::Limit(LimitError::TooManyCaveats {
                limit: 1024,
                offset: 14 + 1024 * item.len()
            })),
            "{item}"
        );
        assert!(
            u.peak <= 2 << 20,
            "{item}: peak {} for {} bytes",
            u.peak,
            text.len()
        );
    }
}

#[test]
fn binary_identifier_in_v2j() {
    let data = load("signatures.json");
    for v in arr(&data, "binary_identifier", "signatures.json") {
        let name = s(v, "name", "signatures.json");
        let id = unhex(s(v, "identifier_hex", name), name);
        assert!(std::str::from_utf8(&id).is_err(), "[{name}] not UTF-8");
        let m = Macaroon::mint(&key("any key"), "http://example.org/", &id)
            .unwrap_or_else(|e| panic!("[{name}] mint: {e}"));
        let json = serialize_ok(&m, Format::V2Json, name);
        let i64 = s(v, "expect_v2j_i64", name);
        assert!(
            json.contains(&format!("\"i64\":\"{i64}\"")),
            "[{name}] V2J carries i64 {i64:?}: {json}"
        );
        assert!(!json.contains("\"i\":"), "[{name}] no plain i: {json}");
        assert_eq!(parse_ok(&json, name), m, "[{name}] V2J round trip");
        check_conversions(&m, name);
    }
}

#[test]
fn v2j_emission_rules() {
    // §8.3: keys in order, no spaces, "c" always, s64 always, no nulls, plain only for UTF-8
    // without '"', '\\' or control characters.
    let k = key("k");
    let m = Macaroon::mint(&k, "", "id").expect("mint");
    let json = serialize_ok(&m, Format::V2Json, "minimal");
    let s64 = b64_encode(m.signature(), true, false);
    assert_eq!(
        json,
        format!(r#"{{"v":2,"i":"id","c":[],"s64":"{s64}"}}"#),
        "minimal V2J"
    );
    for (what, value, plain) in [
        ("quote", "a\"b", false),
        ("backslash", "a\\b", false),
        ("newline", "a\nb", false),
        ("tab", "a\tb", false),
        ("non-ASCII UTF-8", "grüße ✓", true),
        ("DEL is not a control below U+0020", "a\u{7f}b", true),
    ] {
        let m = Macaroon::mint(&k, value, value)
            .expect("mint")
            .with_first_party(value)
            .expect("fp")
            .with_third_party_nonce(value, &key("ck"), value, [3; 24])
            .expect("tp");
        let json = serialize_ok(&m, Format::V2Json, what);
        let b64 = b64_encode(value.as_bytes(), true, false);
        let field = |key: &str| {
            if plain {
                format!(r#""{key}":"{value}""#)
            } else {
                format!(r#""{key}64":"{b64}""#)
            }
        };
        let vid = b64_encode(m.caveats()[1].verification_id().expect("vid"), true, false);
        let sig = b64_encode(m.signature(), true, false);
        let want = format!(
            r#"{{"v":2,{},{},"c":[{{{}}},{{{},"v64":"{vid}",{}}}],"s64":"{sig}"}}"#,
            field("l"),
            field("i"),
            field("i"),
            field("i"),
            field("l"),
        );
        assert_eq!(json, want, "[V2J with {what}]");
        assert_eq!(parse_ok(&json, what), m, "[V2J with {what}] round trip");
    }
}

#[test]
fn v2j_accepted_variants() {
    // §8.2 tolerances, all on the TV4 token (signature 4be967cd…).
    let sig = unhex(
        "4be967cd1ea0c6b26baf6a4a94ee9b05b15886da0ba85e8c42a93c8d0e125efc",
        "TV4",
    );
    let url = b64_encode(&sig, true, false);
    let body = r#""l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}]"#;
    let cases = [
        ("s64 padded", format!(r#"{{"v":2,{body},"s64":"{url}="}}"#)),
        (
            "s64 standard alphabet",
            format!(
                r#"{{"v":2,{body},"s64":"{}"}}"#,
                b64_encode(&sig, false, true)
            ),
        ),
        ("no v", format!(r#"{{{body},"s64":"{url}"}}"#)),
        (
            "keys reordered, whitespace",
            format!("{{ \"s64\" : \"{url}\" ,\n {body} , \"v\" : 2 }}"),
        ),
        (
            "escapes in strings",
            format!(
                r#"{{"v":2,"l":"http:\/\/example.org\/","i":"key\u0069d","c":[{{"i":"account = 3735928559"}},{{"i":"user = \u0061lice"}}],"s64":"{url}"}}"#
            ),
        ),
        (
            "i64 / l64 / caveat i64",
            format!(
                r#"{{"v":2,"l64":"{}","i64":"{}","c":[{{"i64":"{}"}},{{"i":"user = alice","l":null}}],"s64":"{url}"}}"#,
                b64_encode(b"http://example.org/", true, false),
                b64_encode(b"keyid", false, true),
                b64_encode(b"account = 3735928559", true, false),
            ),
        ),
        (
            "null location, no c",
            format!(r#"{{"v":2,"l":null,"i":"keyid","s64":"{url}"}}"#),
        ),
    ];
    for (what, text) in &cases {
        let m = parse_ok(text, what);
        assert_eq!(
            m.signature().as_slice(),
            sig.as_slice(),
            "[V2J {what}] signature"
        );
        assert_eq!(m.identifier(), b"keyid", "[V2J {what}] identifier");
        if !what.contains("no c") {
            assert_eq!(
                caveat_ids(&m),
                ["account = 3735928559", "user = alice"],
                "[V2J {what}] caveats"
            );
            assert_eq!(
                m.location(),
                b"http://example.org/",
                "[V2J {what}] location"
            );
        }
    }
    // Plain "s": 32 bytes as UTF-8.
    let plain = "abcdefghijklmnopqrstuvwxyz012345";
    let m = parse_ok(
        &format!(r#"{{"v":2,"i":"keyid","s":"{plain}"}}"#),
        "V2J plain s",
    );
    assert_eq!(m.signature().as_slice(), plain.as_bytes(), "[V2J plain s]");
    // Legacy V1 JSON with uppercase hex and a standard-alphabet padded vid.
    let tp = Macaroon::mint(&key("k"), "loc", "id")
        .expect("mint")
        .with_third_party_nonce("tp-loc", &key("ck"), "tp", [9; 24])
        .expect("tp");
    let vid = tp.caveats()[0].verification_id().expect("vid");
    let legacy = format!(
        r#"{{"location":"loc","identifier":"id","caveats":[{{"cid":"tp","vid":"{}","cl":"tp-loc"}}],"signature":"{}"}}"#,
        b64_encode(vid, false, true),
        tp.signature_hex().to_uppercase()
    );
    let p = Parsed::from_text(&legacy, &Limits::default())
        .unwrap_or_else(|e| panic!("[legacy V1 JSON] {e}"));
    assert_eq!(p.encoding, Encoding::V1Json, "[legacy V1 JSON] encoding");
    assert_eq!(p.macaroon, tp, "[legacy V1 JSON] fields");
}

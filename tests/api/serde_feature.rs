#![cfg(all(feature = "serde", feature = "onedata"))]
//! The `serde` feature: the macaroon as its v2 JSON object (written exactly as
//! `serialize(Format::V2Json)`, read exactly as `Macaroon::parse`), `Format` and `Encoding` by
//! name, and the errors' JSON shape.

use std::path::PathBuf;

use crate::common::{b64_encode, key, load};
use macaroon_mint::caveat::TypedCaveat;
use macaroon_mint::onedata::{InviteType, OnedataError, OnedataToken};
use macaroon_mint::{
    AuthContext, Encoding, Error, Format, LimitError, Limits, Macaroon, Parsed, RootKey, Verifier,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A macaroon with every kind of field that needs care: a location that must be base64 (a quote
/// and a control character), a non-UTF-8 identifier, caveats that are plain, non-UTF-8, with
/// JSON-special characters, and third-party caveats with binary ids and locations.
fn tricky() -> Macaroon {
    Macaroon::mint(
        &key("root"),
        "loc \"with\" quotes\n",
        [0xff, 0xfe, 0x00, b'i', b'd'],
    )
    .and_then(|m| m.with_first_party("account = 3735928559"))
    .and_then(|m| m.with_first_party([0x80, 0x81, b' ', b'=', b' ', 0xc3]))
    .and_then(|m| m.with_first_party("back\\slash and \"quote\" and \u{7f} and é"))
    .and_then(|m| m.with_third_party_nonce("https://tp.example/", &key("ck1"), "tp-1", [7; 24]))
    .and_then(|m| m.with_third_party_nonce([0xf0, 0x9f], &key("ck2"), [0x00, 0x01, 0xff], [8; 24]))
    .and_then(|m| m.with_first_party("time < 4102444800"))
    .unwrap_or_else(|e| panic!("mint: {e}"))
}

/// `serde_json::to_string` is byte for byte `serialize(Format::V2Json)`, and both readings of it
/// (from text, and from a `serde_json::Value`, whose keys come sorted) give the macaroon back.
fn check_round_trip(m: &Macaroon, ctx: &str) {
    let written = m
        .serialize(Format::V2Json)
        .unwrap_or_else(|e| panic!("[{ctx}] serialize: {e}"));
    let via_serde = serde_json::to_string(m).unwrap_or_else(|e| panic!("[{ctx}] to_string: {e}"));
    assert_eq!(via_serde, written, "[{ctx}] serde text = serialize(V2Json)");
    let back: Macaroon =
        serde_json::from_str(&via_serde).unwrap_or_else(|e| panic!("[{ctx}] from_str: {e}"));
    assert_eq!(&back, m, "[{ctx}] from_str round trip");
    let value = serde_json::to_value(m).unwrap_or_else(|e| panic!("[{ctx}] to_value: {e}"));
    let back: Macaroon =
        serde_json::from_value(value).unwrap_or_else(|e| panic!("[{ctx}] from_value: {e}"));
    assert_eq!(&back, m, "[{ctx}] from_value round trip");
}

#[test]
fn minted_macaroons_round_trip_byte_for_byte() {
    let m = tricky();
    check_round_trip(&m, "tricky");
    let value = serde_json::to_value(&m).expect("to_value");
    assert_eq!(value["v"], 2);
    assert!(
        value.get("l64").is_some() && value.get("l").is_none(),
        "{value}"
    );
    assert_eq!(value["i64"], b64_encode(m.identifier(), true, false));
    assert_eq!(value["c"][0], json!({ "i": "account = 3735928559" }));
    assert!(value["c"][1].get("i64").is_some(), "{value}");
    assert!(
        value["c"][2].get("i64").is_some(),
        "JSON-special text is base64: {value}"
    );
    let third = &value["c"][3];
    assert_eq!(third["i"], "tp-1");
    assert_eq!(third["l"], "https://tp.example/");
    assert!(third["v64"].is_string(), "{value}");
    let binary = &value["c"][4];
    assert!(
        binary.get("i64").is_some() && binary.get("l64").is_some(),
        "{value}"
    );
    assert_eq!(value["s64"], b64_encode(m.signature(), true, false));

    // Empty location (no "l"), no caveats ("c":[]), a discharge bound to its root.
    let bare = Macaroon::mint(&key("k"), "", "id").expect("mint");
    assert_eq!(
        serde_json::to_string(&bare).expect("to_string"),
        format!(
            r#"{{"v":2,"i":"id","c":[],"s64":"{}"}}"#,
            b64_encode(bare.signature(), true, false)
        )
    );
    check_round_trip(&bare, "bare");
    let discharge = Macaroon::mint(&key("ck1"), "https://tp.example/", "tp-1")
        .and_then(|d| d.with_first_party("user = alice"))
        .expect("discharge")
        .bind_to(&m);
    check_round_trip(&discharge, "bound discharge");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_fields_round_trip_byte_for_byte(
        location in prop::collection::vec(any::<u8>(), 0..24),
        identifier in prop::collection::vec(any::<u8>(), 0..24),
        caveats in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..24), prop::option::of(prop::collection::vec(any::<u8>(), 0..12))),
            0..5,
        ),
    ) {
        let mut m = Macaroon::mint(&key("k"), &location, &identifier).expect("mint");
        for (id, third_party_location) in &caveats {
            m = match third_party_location {
                None => m.with_first_party(id),
                Some(l) => m.with_third_party_nonce(l, &key("ck"), id, [1; 24]),
            }
            .expect("caveat");
        }
        check_round_trip(&m, "arbitrary");
    }
}

/// Every string of the JSON vector files that is a JSON text the token parser reads (an object,
/// or a JSON string holding a token).
fn json_vector_texts() -> Vec<(String, String)> {
    fn walk(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, x)| walk(x, &format!("{path}.{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), out)),
            Value::String(s)
                if (s.starts_with('{') || s.starts_with('"'))
                    && serde_json::from_str::<Value>(s).is_ok() =>
            {
                out.push((path.to_owned(), s.clone()))
            }
            _ => {}
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/data")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        walk(&load(&name), &name, &mut out);
    }
    out
}

/// The §8.2 variants every peer writes, on TV4 (signature 4be967cd…), and legacy v1 JSON.
fn accepted_variants() -> Vec<(String, String)> {
    let sig = crate::common::unhex(
        "4be967cd1ea0c6b26baf6a4a94ee9b05b15886da0ba85e8c42a93c8d0e125efc",
        "TV4",
    );
    let url = b64_encode(&sig, true, false);
    let std_padded = b64_encode(&sig, false, true);
    let body = r#""l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}]"#;
    let tp = Macaroon::mint(&key("k"), "loc", "id")
        .and_then(|m| m.with_third_party_nonce("tp-loc", &key("ck"), "tp", [9; 24]))
        .expect("tp");
    let vid = tp.caveats()[0].verification_id().expect("vid");
    [
        ("LM v2 JSON", format!(r#"{{"v":2,{body},"s64":"{url}"}}"#)),
        ("s64 padded", format!(r#"{{"v":2,{body},"s64":"{url}="}}"#)),
        ("s64 standard, padded", format!(r#"{{"v":2,{body},"s64":"{std_padded}"}}"#)),
        ("no v (pymacaroons)", format!(r#"{{{body},"s64":"{url}"}}"#)),
        ("v as a string", format!(r#"{{"v":"2",{body},"s64":"{url}"}}"#)),
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
            "i64 / l64 / caveat i64, either alphabet",
            format!(
                r#"{{"v":2,"l64":"{}","i64":"{}","c":[{{"i64":"{}"}},{{"i":"user = alice","l":null}}],"s64":"{url}"}}"#,
                b64_encode(b"http://example.org/", true, false),
                b64_encode(b"keyid", false, true),
                b64_encode(b"account = 3735928559", true, false),
            ),
        ),
        (
            "the macaroon crate: nulls, standard i64",
            format!(
                r#"{{"v":2,"i":null,"i64":"{}","l":"http://example.org/","l64":null,"c":[],"s":null,"s64":"{std_padded}"}}"#,
                b64_encode(b"keyid", false, true)
            ),
        ),
        ("null location, no c", format!(r#"{{"v":2,"l":null,"i":"keyid","s64":"{url}"}}"#)),
        ("plain s", r#"{"v":2,"i":"keyid","s":"abcdefghijklmnopqrstuvwxyz012345"}"#.to_owned()),
        (
            "legacy v1 JSON, upper-case hex, standard vid",
            format!(
                r#"{{"location":"loc","identifier":"id","caveats":[{{"cid":"tp","vid":"{}","cl":"tp-loc"}}],"signature":"{}"}}"#,
                b64_encode(vid, false, true),
                tp.signature_hex().to_uppercase()
            ),
        ),
        (
            "JSON string holding a v2 token",
            format!("\"{}\"", tp.serialize(Format::V2).expect("v2")),
        ),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_owned(), text))
    .collect()
}

#[test]
fn every_json_variant_deserializes_as_the_parser_reads_it() {
    let vectors = json_vector_texts();
    assert!(
        vectors.len() >= 8,
        "expected the v2 JSON, legacy JSON and quoted-token vectors of tests/data, found {vectors:?}"
    );
    let mut objects = 0;
    for (name, text) in vectors.iter().chain(&accepted_variants()) {
        let parsed =
            Macaroon::parse(text).unwrap_or_else(|e| panic!("[{name}] the parser rejects: {e}"));
        let from_text: Macaroon =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("[{name}] from_str: {e}"));
        assert_eq!(from_text, parsed, "[{name}] from_str = Macaroon::parse");
        let value: Value = serde_json::from_str(text).expect("JSON");
        let from_value: Macaroon =
            serde_json::from_value(value).unwrap_or_else(|e| panic!("[{name}] from_value: {e}"));
        assert_eq!(from_value, parsed, "[{name}] from_value = Macaroon::parse");
        objects += usize::from(text.starts_with('{'));
    }
    assert!(objects >= 15, "{objects} JSON objects checked");

    // Inside a request body, and as an Option.
    #[derive(serde::Deserialize)]
    struct Body {
        token: Option<Macaroon>,
    }
    let (_, text) = &accepted_variants()[0];
    let body: Body = serde_json::from_str(&format!(r#"{{"token":{text}}}"#)).expect("request body");
    assert_eq!(body.token, Some(Macaroon::parse(text).expect("parse")));
    let body: Body = serde_json::from_str(r#"{"token":null}"#).expect("null token");
    assert_eq!(body.token, None);
}

#[test]
fn malformed_json_fails_with_the_parsers_message() {
    let s64 = b64_encode(&[0; 32], true, false);
    let deep = format!(r#"{{"v":2,"i":"x","c":[{{"i":{{"a":[1,{{"b":2}}]}}}}],"s64":"{s64}"}}"#);
    let cases = [
        format!(r#"{{"v":2,"i":"a","i":"b","s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"i":"a","i64":"Yg","s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"i":"a","x":1,"s64":"{s64}"}}"#),
        format!(r#"{{"v":3,"i":"a","s64":"{s64}"}}"#),
        format!(r#"{{"v":2.0,"i":"a","s64":"{s64}"}}"#),
        format!(r#"{{"v":true,"i":"a","s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"l":"loc","s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"i64":"a*b","s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"i":"a","c":[{{"v64":"AA"}}],"s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"i":"a","c":{{}},"s64":"{s64}"}}"#),
        format!(r#"{{"v":2,"i":"a","c":[{{"i":7}}],"s64":"{s64}"}}"#),
        r#"{"v":2,"i":"a","s64":"AAAA"}"#.to_owned(),
        r#"{"v":2,"i":"a"}"#.to_owned(),
        r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}"#.to_owned(),
        r#"{"identifier":"a","i":"b","signature":"00"}"#.to_owned(),
        r#"{"identifier":"a","signature":"zz"}"#.to_owned(),
        deep.clone(),
        r#""MDAx!""#.to_owned(),
        r#""""#.to_owned(),
    ];
    for text in &cases {
        let expected = Macaroon::parse(text)
            .map(|_| ())
            .expect_err(text)
            .to_string();
        let err = serde_json::from_str::<Macaroon>(text)
            .map(|_| ())
            .expect_err(text)
            .to_string();
        // serde_json adds where in its input the value ended.
        assert!(
            err.starts_with(&expected),
            "{text}\n  serde: {err}\n  parse: {expected}"
        );
    }
    let err = serde_json::from_str::<Macaroon>(&deep)
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("json: expected less nesting at offset 25"),
        "{err}"
    );

    // A token larger than the default limit, measured as the parser measures it.
    let big = format!(
        r#"{{"v":2,"i":"{}","s64":"{s64}"}}"#,
        "a".repeat(Limits::DEFAULT.max_token_bytes)
    );
    let expected = Macaroon::parse(&big).map(|_| ()).unwrap_err();
    assert!(matches!(
        expected,
        Error::Limit(LimitError::TokenTooLarge { .. })
    ));
    let err = serde_json::from_str::<Macaroon>(&big)
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().starts_with(&expected.to_string()), "{err}");

    // Neither an object nor a string: a type error.
    for text in ["12", "[1]", "true", "null"] {
        let err = serde_json::from_str::<Macaroon>(text)
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.to_string().contains("expected a macaroon"),
            "{text}: {err}"
        );
    }
}

#[test]
fn format_and_encoding_by_name() {
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        let text = serde_json::to_string(&format).expect("to_string");
        assert_eq!(text, format!("\"{}\"", format.name()));
        assert_eq!(
            serde_json::from_str::<Format>(&text).expect("from_str"),
            format
        );
    }
    for (alias, format) in [
        ("json", Format::V2Json),
        ("v2json", Format::V2Json),
        ("base62", Format::Onedata),
    ] {
        assert_eq!(
            serde_json::from_value::<Format>(json!(alias)).expect(alias),
            format
        );
    }
    let err = serde_json::from_str::<Format>(r#""v3""#)
        .unwrap_err()
        .to_string();
    let expected = "v3".parse::<Format>().unwrap_err();
    assert!(err.starts_with(&expected), "{err}");

    let encodings = [
        Encoding::V1,
        Encoding::V2,
        Encoding::V2Binary,
        Encoding::V1Binary,
        Encoding::V2Json,
        Encoding::V1Json,
        Encoding::Onedata { service: None },
        Encoding::Onedata {
            service: Some("opw".into()),
        },
        Encoding::Onedata {
            service: Some("opp".into()),
        },
    ];
    for encoding in &encodings {
        let value = serde_json::to_value(encoding).expect("to_value");
        assert_eq!(value["name"], encoding.name(), "{value}");
        match encoding {
            Encoding::Onedata { service } => assert_eq!(value["service"], json!(service)),
            _ => assert_eq!(value.as_object().map(|o| o.len()), Some(1), "{value}"),
        }
        assert_eq!(
            &serde_json::from_value::<Encoding>(value).expect("from_value"),
            encoding
        );
        if !matches!(encoding, Encoding::Onedata { service: Some(_) }) {
            assert_eq!(
                &serde_json::from_value::<Encoding>(json!(encoding.name())).expect("bare name"),
                encoding
            );
        }
    }
    // What detection reports serializes under the same names.
    let onedata = "opw-".to_owned() + &onedata_text();
    let parsed = Parsed::from_text(&onedata, &Limits::default()).expect("onedata");
    assert_eq!(
        serde_json::to_string(&parsed.encoding).expect("to_string"),
        r#"{"name":"onedata","service":"opw"}"#
    );
    for bad in [
        json!("v3"),
        json!({ "name": "v1", "service": "opw" }),
        json!({ "service": null }),
        json!({ "name": "v1", "x": 1 }),
    ] {
        assert!(
            serde_json::from_value::<Encoding>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

/// Onedata text of a small first-party token.
fn onedata_text() -> String {
    Macaroon::mint(&key("k"), "domain.example.com", "2/nmd/usr-a/act/id")
        .and_then(|m| m.serialize(Format::Onedata))
        .expect("onedata")
}

#[test]
fn errors_serialize_to_the_documented_shape() {
    // A decode error in a binary layer, with the text character it maps to.
    let err = Macaroon::parse("MDAx!").unwrap_err();
    let v1 = Macaroon::parse("eHh4eGxvY2F0aW9uIGEK").unwrap_err();
    assert_eq!(
        serde_json::to_value(&v1).expect("to_value"),
        json!({
            "kind": "decode",
            "reason": "bad_packet_header",
            "message": v1.to_string(),
            "layer": "v1",
            "offset": 0,
            "text_offset": 0,
        })
    );
    let value = serde_json::to_value(&err).expect("to_value");
    assert_eq!(value["kind"], "decode");
    assert_eq!(value["layer"], "base64");
    assert_eq!(value["offset"], 4);
    assert_eq!(value["reason"], "invalid_character");
    assert_eq!(value["character"], "!");
    assert_eq!(value["message"], err.to_string());

    // A verify error with its index, in a discharge, with a non-UTF-8 caveat.
    let root_key = key("root");
    let caveat_key = RootKey::new("ck");
    let root = Macaroon::mint(&root_key, "", "root-id")
        .and_then(|m| m.with_third_party_nonce("tp", &caveat_key, "tp-id", [3; 24]))
        .expect("root");
    let discharge = Macaroon::mint(&caveat_key, "tp", "tp-id")
        .and_then(|d| d.with_first_party("ok"))
        .and_then(|d| d.with_first_party([0xff, b'x']))
        .expect("discharge")
        .bind_to(&root);
    let err = Verifier::new()
        .satisfy_exact("ok")
        .verify(&root_key, &root, &[discharge])
        .unwrap_err();
    assert_eq!(
        serde_json::to_value(&err).expect("to_value"),
        json!({
            "kind": "verify",
            "reason": "caveat_not_satisfied",
            "message": err.to_string(),
            "macaroon": "discharge",
            "identifier": "tp-id",
            "index": 1,
            "caveat64": "_3g",
            "unmet": { "reason": "no_rule", "message": "no rule accepts it" },
        })
    );

    // Typed checking: an expired caveat, and a malformed one with its caveat error nested.
    let m = Macaroon::mint(&root_key, "", "id")
        .and_then(|m| m.with_first_party("time < 100"))
        .expect("mint");
    let ctx = AuthContext::new();
    let err = Verifier::new()
        .at_time(200)
        .with_context(&ctx)
        .verify(&root_key, &m, &[])
        .unwrap_err();
    let value = serde_json::to_value(&err).expect("to_value");
    assert_eq!(value["reason"], "expired", "{value}");
    assert_eq!(
        (
            value["index"].clone(),
            value["expiry"].clone(),
            value["now"].clone()
        ),
        (json!(0), json!(100), json!(200))
    );
    let m = Macaroon::mint(&root_key, "", "id")
        .and_then(|m| m.with_first_party("time < abc"))
        .expect("mint");
    let err = Verifier::new()
        .with_context(&ctx)
        .verify(&root_key, &m, &[])
        .unwrap_err();
    let value = serde_json::to_value(&err).expect("to_value");
    assert_eq!(value["reason"], "malformed_caveat", "{value}");
    let caveat_error = TypedCaveat::parse(b"time < abc").unwrap_err();
    assert_eq!(
        value["caveat_error"],
        json!({
            "kind": "caveat",
            "reason": "expected",
            "message": caveat_error.to_string(),
            "form": "time",
            "offset": 7,
            "expected": "decimal digits",
        })
    );

    // A signature mismatch says which macaroon, never a signature.
    let err = Verifier::new().verify(&key("wrong"), &m, &[]).unwrap_err();
    let text = serde_json::to_string(&err).expect("to_string");
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON"),
        json!({ "kind": "verify", "reason": "signature_mismatch", "message": err.to_string(), "macaroon": "root" })
    );
    assert!(!text.contains(&m.signature_hex()));
    assert!(!text.contains(&b64_encode(m.signature(), true, false)));

    // A limit.
    let limits = Limits {
        max_token_bytes: 8,
        ..Limits::default()
    };
    let err = Parsed::from_text("MDAxY2xvY2F0aW9u", &limits).unwrap_err();
    assert_eq!(
        serde_json::to_value(&err).expect("to_value"),
        json!({ "kind": "limit", "reason": "token_too_large", "message": err.to_string(), "limit": 8, "found": 16 })
    );

    // Onedata: its own errors are kind "onedata"; wrapped ones keep their own shape.
    let err = OnedataError::WrongInviteType {
        expected: InviteType::RegisterOneprovider,
        found: InviteType::SupportSpace,
    };
    assert_eq!(
        serde_json::to_value(&err).expect("to_value"),
        json!({ "kind": "onedata", "reason": "wrong_invite_type", "message": err.to_string(), "expected": "rop", "found": "ssp" })
    );
    let bad_id = Macaroon::mint(&root_key, "domain", "2/nmd/usr-a/bogus/id")
        .and_then(|m| m.serialize(Format::Onedata))
        .expect("token");
    let err = OnedataToken::parse(&bad_id).unwrap_err();
    let value = serde_json::to_value(&err).expect("to_value");
    assert_eq!(value["kind"], "decode", "{value}");
    assert_eq!(value["layer"], "onedata-identifier", "{value}");
    assert_eq!(value["segment"], "type", "{value}");
    assert_eq!(value["offset"], 12, "{value}");
    assert_eq!(value["reason"], "bad_type", "{value}");
    assert_eq!(value["message"], err.to_string());
    let err = OnedataToken::parse("MDAx!").unwrap_err();
    assert_eq!(
        serde_json::to_value(&err).expect("to_value"),
        serde_json::to_value(Macaroon::parse("MDAx!").unwrap_err()).expect("to_value")
    );
}

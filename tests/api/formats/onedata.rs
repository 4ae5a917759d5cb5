//! Onedata's base62 text (SPEC §9, §11.7): the escape micro vectors, TV7's tokens, and the damaged
//! tokens of Onedata's documentation, parsed and inspected.

use crate::common::*;
use crate::support::*;
use macaroon_mint::{
    base62_escape, base62_unescape, DecodeErrorKind, Encoding, Error, Format, Inspection, Layer,
    Limits, Macaroon, Parsed, Verifier,
};
use serde_json::Value;

#[test]
fn damaged_onedata_examples_parse() {
    let data = load("damaged.json");
    let examples = arr(&data, "examples", "damaged.json");
    assert_eq!(examples.len(), 3, "damaged.json: SPEC §14 A, B, C");
    for ex in examples {
        let name = format!(
            "§14 {}: {}",
            s(ex, "id", "damaged"),
            s(ex, "name", "damaged")
        );
        let name = name.as_str();
        let text = s(ex, "text", name);
        assert_eq!(text.len(), u(ex, "length", name), "[{name}] length");
        let want = ex.get("strict_error").expect("strict_error");
        let e = decode_err(Macaroon::parse(text), name);
        let layer = match s(want, "layer", name) {
            "base62" => Layer::Base62,
            "base64" => Layer::Base64,
            "v1" => Layer::V1,
            other => panic!("[{name}] unexpected layer {other}"),
        };
        assert_eq!(e.layer, layer, "[{name}] layer");
        assert_eq!(e.offset, u(want, "offset", name), "[{name}] offset");
        let ch = || {
            opt_s(want, "char")
                .and_then(|c| c.chars().next())
                .expect("char")
        };
        let kind = match s(want, "reason", name) {
            "InvalidCharacter" => DecodeErrorKind::InvalidCharacter { ch: ch() },
            "TrailingBits" => DecodeErrorKind::TrailingBits { ch: ch() },
            "BadPacketHeader" => DecodeErrorKind::BadPacketHeader,
            other => panic!("[{name}] unexpected reason {other}"),
        };
        assert_eq!(e.kind, kind, "[{name}] kind");
        let text_offset = want
            .get("char_offset")
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        assert_eq!(e.text_offset, text_offset, "[{name}] text offset");
        assert_eq!(e.to_string(), s(want, "message", name), "[{name}] Display");
        // Error::Display is the same text.
        let err = Macaroon::parse(text).map(|_| ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            s(want, "message", name),
            "[{name}] Error Display"
        );
        // Verification never gets that far: Parsed::from_text fails identically.
        assert_eq!(
            Parsed::from_text(text, &Limits::default()).map(|_| ()),
            Err(err),
            "[{name}] Parsed::from_text"
        );
    }
}

#[test]
fn damaged_example_extra_checks() {
    let data = load("damaged.json");
    let examples = arr(&data, "examples", "damaged.json");
    let by_id = |id: &str| {
        examples
            .iter()
            .find(|e| opt_s(e, "id") == Some(id))
            .unwrap_or_else(|| panic!("damaged.json: example {id}"))
    };
    // C read as base62 would fail with InvalidEscape "0a" at 11.
    let c = by_id("C");
    let name = "§14 C as base62";
    let e = macaroon_mint::base62_unescape(s(c, "text", name))
        .err()
        .unwrap_or_else(|| panic!("[{name}] must fail"));
    let want = &c["extra_checks"]["as_base62_error"];
    assert_eq!(e.offset, u(want, "offset", name), "[{name}] offset");
    assert_eq!(
        e.kind,
        DecodeErrorKind::InvalidEscape { pair: ['0', 'a'] },
        "[{name}] kind"
    );
    // B with trailing bits tolerated: the V1 truncation at byte 22, as SPEC §13 words it.
    let b = by_id("B");
    let name = "§14 B decoded bytes";
    let decoded = s(&b["lenient"], "decoded_text", name).as_bytes().to_vec();
    assert_eq!(decoded.len(), 64, "[{name}] 64 bytes");
    let e = decode_err(from_v1(&decoded), name);
    assert_eq!((e.layer, e.offset), (Layer::V1, 22), "[{name}] position");
    assert_eq!(
        e.kind,
        DecodeErrorKind::Truncated {
            what: "identifier packet",
            declared: 59,
            remaining: 42
        },
        "[{name}] kind"
    );
    assert_eq!(
        e.to_string(),
        "v1: identifier packet at byte 22 declares 59 bytes, 42 remain",
        "[{name}] Display (SPEC §13 example)"
    );
    // The same bytes as base64 text: the error adds the character of the group (4 * 22/3 = 28).
    let text = b64_encode(&decoded, true, false);
    let e = decode_err(Macaroon::parse(&text), "§14 B re-encoded");
    assert_eq!(
        (e.layer, e.offset, e.text_offset),
        (Layer::V1, 22, Some(28)),
        "[§14 B re-encoded] position"
    );
    assert_eq!(
        e.to_string(),
        "v1: identifier packet at byte 22 (character 28) declares 59 bytes, 42 remain",
        "[§14 B re-encoded] Display"
    );
}

#[test]
fn damaged_onedata_examples_inspect() {
    let data = load("damaged.json");
    for ex in arr(&data, "examples", "damaged.json") {
        let id = s(ex, "id", "damaged");
        let name = format!("§14 {id} inspect");
        let name = name.as_str();
        let text = s(ex, "text", name);
        let lenient = ex.get("lenient").expect("lenient");
        let report = Inspection::of_text(text);
        let parse_err = Macaroon::parse(text).map(|_| ()).unwrap_err();
        assert_eq!(
            report.parsed.as_ref().map(|_| ()),
            Err(&parse_err),
            "[{name}] inspect reports the strict error"
        );
        let r = report
            .recovered
            .as_ref()
            .unwrap_or_else(|| panic!("[{name}] recovered fields"));
        if let Some(t) = opt_s(lenient, "decoded_text") {
            assert_eq!(r.decoded, t.as_bytes(), "[{name}] decoded bytes");
        }
        assert_eq!(
            r.decoded.len(),
            u(lenient, "decoded_bytes", name),
            "[{name}] decoded length"
        );
        assert_eq!(
            field_bytes(&r.location),
            Some((s(lenient, "location", name).as_bytes().to_vec(), false)),
            "[{name}] location"
        );
        let identifier = match (
            opt_s(lenient, "identifier"),
            opt_s(lenient, "identifier_prefix"),
        ) {
            (Some(full), _) => Some((full.as_bytes().to_vec(), false)),
            (None, Some(prefix)) => Some((prefix.as_bytes().to_vec(), true)),
            (None, None) => None,
        };
        assert_eq!(
            field_bytes(&r.identifier),
            identifier,
            "[{name}] identifier"
        );
        let caveats = strings(lenient.get("caveats").expect("caveats"), name);
        assert_eq!(
            r.caveats
                .iter()
                .map(|c| String::from_utf8_lossy(&c.id.bytes).into_owned())
                .collect::<Vec<_>>(),
            caveats,
            "[{name}] caveats"
        );
        for c in &r.caveats {
            assert!(!c.id.truncated, "[{name}] caveat complete");
            assert!(c.verification_id.is_none(), "[{name}] first-party caveat");
        }
        let signature = opt_s(lenient, "signature_truncated_hex").map(|h| (unhex(h, name), true));
        assert_eq!(field_bytes(&r.signature), signature, "[{name}] signature");
        if let Some(n) = lenient
            .get("signature_present_bytes")
            .and_then(Value::as_u64)
        {
            assert_eq!(
                r.signature.as_ref().map(|f| f.bytes.len()),
                Some(n as usize),
                "[{name}] signature bytes present"
            );
        }
        // The lenient report lists every defect (text and v1).
        let notes = r.notes.join("\n");
        for d in arr(lenient, "text_defects", name)
            .iter()
            .chain(arr(lenient, "v1_defects", name))
        {
            let offset = u(d, "offset", name).to_string();
            // Reported either in the notes or as the strict error itself.
            let strict =
                matches!(&report.parsed, Err(Error::Decode(e)) if e.offset.to_string() == offset);
            assert!(
                strict || r.notes.iter().any(|n| n.contains(&offset)),
                "[{name}] a note for the defect {d} at {offset}; notes:\n{notes}"
            );
            if let Some(declared) = d.get("declared").and_then(Value::as_u64) {
                let remaining = u(d, "remaining", name);
                assert!(
                    r.notes.iter().any(|n| n.contains(&offset)
                        && n.contains(&declared.to_string())
                        && n.contains(&remaining.to_string())),
                    "[{name}] note: packet at {offset} declares {declared}, {remaining} remain; notes:\n{notes}"
                );
            }
        }
    }
    // Valid input: parsed, nothing to recover.
    let ok = Inspection::of_text(&serialize_ok(&tv1(), Format::V1, "TV1"));
    assert_eq!(
        ok.parsed.map(|p| p.macaroon).ok(),
        Some(tv1()),
        "inspect of a valid token"
    );
    assert!(
        ok.recovered.is_none(),
        "inspect of a valid token recovers nothing"
    );
}

#[test]
fn tv7_onedata_tokens() {
    let data = load("onedata.json");
    let location = s(&data, "location", "onedata.json");
    let mut checked = 0;
    for t in arr(&data, "tokens", "onedata.json") {
        let name = format!("TV7 {}", s(t, "name", "onedata.json"));
        let name = name.as_str();
        let secret = s(t, "secret", name);
        let identifier = s(t, "identifier", name);
        let Some(text) = opt_s(t, "text") else {
            continue; // the identity token's caveats were not transcribed
        };
        let caveats = strings(t.get("caveats").expect("caveats"), name);
        let parsed = Parsed::from_text(text, &Limits::default())
            .unwrap_or_else(|e| panic!("[{name}] parse: {e}"));
        assert_eq!(
            parsed.encoding,
            Encoding::Onedata { service: None },
            "[{name}] detected encoding"
        );
        let m = &parsed.macaroon;
        assert_eq!(m.location(), location.as_bytes(), "[{name}] location");
        assert_eq!(m.identifier(), identifier.as_bytes(), "[{name}] identifier");
        assert_eq!(caveat_ids(m), caveats, "[{name}] caveats");
        assert_eq!(
            m.signature_hex(),
            s(t, "signature_hex", name),
            "[{name}] signature"
        );
        // Recompute with the secret.
        let mut minted = Macaroon::mint(&key(secret), location, identifier).expect("mint");
        for c in &caveats {
            minted = minted.with_first_party(c).expect("caveat");
        }
        assert_eq!(
            minted.signature_hex(),
            s(t, "signature_hex", name),
            "[{name}] recomputed signature"
        );
        assert_eq!(
            &minted, m,
            "[{name}] recomputed macaroon equals the parsed one"
        );
        assert_eq!(
            serialize_ok(m, Format::Onedata, name),
            text,
            "[{name}] serialize(Onedata) reproduces the text"
        );
        assert_eq!(
            serialize_ok(&minted, Format::Onedata, name),
            text,
            "[{name}] serialize(Onedata) of the minted token reproduces the text"
        );
        assert!(
            text.bytes().all(|b| b.is_ascii_alphanumeric()),
            "[{name}] text is base62"
        );
        Verifier::new()
            .satisfy_general(|_| true)
            .verify(&key(secret), m, &[])
            .unwrap_or_else(|e| panic!("[{name}] verifies with the secret: {e}"));
        // With a service indication.
        for service in ["opw", "opp"] {
            let prefixed = format!("{service}-{text}");
            let p = Parsed::from_text(&prefixed, &Limits::default())
                .unwrap_or_else(|e| panic!("[{name}] {service}- parse: {e}"));
            assert_eq!(
                p.encoding,
                Encoding::Onedata {
                    service: Some(service.into())
                },
                "[{name}] {service}- encoding"
            );
            assert_eq!(&p.macaroon, m, "[{name}] {service}- same macaroon");
        }
        check_conversions(m, name);
        checked += 1;
    }
    assert_eq!(checked, 3, "onedata.json: three transcribed token texts");
}

#[test]
fn micro_base62() {
    let data = load("micro.json");
    for p in arr(&data, "base62_escape_pairs", "micro.json") {
        let ch = s(p, "char", "micro.json base62_escape_pairs");
        let ctx = format!("base62 escape of {ch:?}");
        let esc = s(p, "escaped", &ctx);
        assert_eq!(base62_escape(ch), esc, "[{ctx}] escape");
        assert_eq!(
            base62_unescape(esc).unwrap_or_else(|e| panic!("[{ctx}] {e}")),
            ch,
            "[{ctx}] unescape"
        );
    }
    for p in arr(&data, "base62_escape", "micro.json") {
        let input = s(p, "input", "micro.json base62_escape");
        let ctx = format!("base62 escape of {input:?}");
        let output = s(p, "output", &ctx);
        assert_eq!(base62_escape(input), output, "[{ctx}] escape");
        assert_eq!(
            base62_unescape(output).unwrap_or_else(|e| panic!("[{ctx}] {e}")),
            input,
            "[{ctx}] unescape"
        );
    }
    for p in arr(&data, "base62_decode_errors", "micro.json") {
        let input = s(p, "input", "micro.json base62_decode_errors");
        let ctx = format!("base62 decode of {input:?}");
        let e = base62_unescape(input)
            .err()
            .unwrap_or_else(|| panic!("[{ctx}] must fail"));
        assert_eq!(e.layer, Layer::Base62, "[{ctx}] layer");
        assert_eq!(e.offset, u(p, "offset", &ctx), "[{ctx}] offset");
        let want = match s(p, "kind", &ctx) {
            "InvalidEscape" => {
                let pair: Vec<char> = s(p, "pair", &ctx).chars().collect();
                DecodeErrorKind::InvalidEscape {
                    pair: [pair[0], pair[1]],
                }
            }
            "DanglingEscape" => DecodeErrorKind::DanglingEscape,
            "InvalidCharacter" => DecodeErrorKind::InvalidCharacter {
                ch: s(p, "char", &ctx).chars().next().expect("char"),
            },
            other => panic!("[{ctx}] unknown kind {other}"),
        };
        assert_eq!(e.kind, want, "[{ctx}] kind");
    }
    // Every base64 character survives the escape.
    let all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=";
    let escaped = base62_escape(all);
    assert!(
        escaped.bytes().all(|b| b.is_ascii_alphanumeric()),
        "escape of {all}"
    );
    assert_eq!(base62_unescape(&escaped).expect("round trip"), all);
}

//! The serialization formats (SPEC §6–§9, §11): every vector's chain in every format, format
//! detection, truncation at every length, offsets through the text layers, and bounded memory on
//! floods. One module per format holds what is particular to it.

use crate::common::*;
use crate::counting_alloc::*;
use crate::support::*;
use macaroon_mint::{
    DecodeErrorKind, Error, Format, Inspection, Layer, LimitError, Limits, Macaroon, MacaroonRole,
    Parsed, RootKey, Verifier, VerifyError,
};
use serde_json::Value;

mod json;
mod onedata;
mod v1;
mod v2;

/// Every proper prefix must fail with a decode error inside the input, never panic.
fn check_every_prefix(text: &str, ctx: &str) {
    assert!(text.is_ascii(), "[{ctx}] test text is ASCII");
    for len in 0..text.len() {
        let prefix = &text[..len];
        let cctx = format!("{ctx}, first {len} of {} characters", text.len());
        let e = decode_err(Macaroon::parse(prefix), &cctx);
        assert!(
            e.offset <= len,
            "[{cctx}] offset {} beyond the input ({e})",
            e.offset
        );
        if let Some(t) = e.text_offset {
            assert!(t <= len, "[{cctx}] text offset {t} beyond the input ({e})");
        }
    }
    parse_ok(text, ctx);
}

fn check_every_byte_prefix(bytes: &[u8], v1: bool, ctx: &str) {
    for len in 0..bytes.len() {
        let cctx = format!("{ctx}, first {len} of {} bytes", bytes.len());
        let r = if v1 {
            from_v1(&bytes[..len])
        } else {
            from_bytes(&bytes[..len])
        };
        let e = decode_err(r, &cctx);
        assert!(
            e.offset <= len,
            "[{cctx}] offset {} beyond the input",
            e.offset
        );
    }
}

#[test]
fn truncated_input_at_every_length() {
    let data = load("third_party.json");
    let sers = &data["tv2"]["serializations"];
    for field in ["root_v1", "root_v2", "root_v2j", "bound_discharge_v1"] {
        check_every_prefix(s(sers, field, field), &format!("TV2 {field}"));
    }
    let tv1 = tv1();
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        check_every_prefix(&serialize_ok(&tv1, format, "TV1"), &format!("TV1 {format}"));
    }
    let onedata = load("onedata.json");
    let access = s(&onedata["tokens"][0], "text", "TV7 access");
    check_every_prefix(access, "TV7 access token");
    check_every_prefix(&format!("opw-{access}"), "TV7 access token with opw-");

    let root = parse_ok(s(sers, "root_v1", "TV2"), "TV2");
    check_every_byte_prefix(&root.to_v1_bytes().expect("v1"), true, "TV2 root raw v1");
    check_every_byte_prefix(&root.to_v2_bytes(), false, "TV2 root raw v2");
}

#[test]
fn empty_input() {
    for text in ["", " ", "\n\t \r"] {
        let e = decode_err(Macaroon::parse(text), &format!("empty input {text:?}"));
        assert_eq!(
            (e.layer, e.kind),
            (Layer::Input, DecodeErrorKind::Empty),
            "empty input {text:?}"
        );
    }
}

#[test]
fn binary_error_text_offsets_through_base64_and_base62() {
    // §13: a binary-layer error also gives the character where the base64 group holding the byte
    // starts: 4 * floor(byte / 3), plus skipped whitespace, plus one per base62 escape before it.
    let data = load("onedata.json");
    let text = s(&data["tokens"][0], "text", "TV7 access");
    let b64 = macaroon_mint::base62_unescape(text).expect("unescape");
    let mut bytes = b64_decode(&b64);
    let n = bytes.len();
    bytes.push(b'\n'); // one byte after the signature packet
    let b64 = b64_encode(&bytes, true, false);
    let group = n / 3 * 4;
    for (what, input, want_char) in [
        ("base64", b64.clone(), group),
        (
            "base64 wrapped at 76 columns",
            b64.as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).expect("ascii"))
                .collect::<Vec<_>>()
                .join("\n"),
            group + group / 76,
        ),
        (
            "Onedata base62",
            macaroon_mint::base62_escape(&b64),
            macaroon_mint::base62_escape(&b64[..group]).len(),
        ),
        (
            "Onedata base62 with opw-",
            format!("opw-{}", macaroon_mint::base62_escape(&b64)),
            4 + macaroon_mint::base62_escape(&b64[..group]).len(),
        ),
    ] {
        let ctx = format!("TV7 access + trailing LF, {what}");
        let e = decode_err(Macaroon::parse(&input), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind, e.text_offset),
            (Layer::V1, n, DecodeErrorKind::TrailingData, Some(want_char)),
            "[{ctx}]"
        );
    }
    // A base64 defect is reported at its original character, whitespace counted.
    let wrapped = s(
        &load("negative.json")["vectors"][0],
        "text",
        "TV1 incompetent hackers",
    )
    .to_owned();
    let at = 100; // after the first line feed at 76
    let bad = format!("{}*{}", &wrapped[..at], &wrapped[at + 1..]);
    let e = decode_err(Macaroon::parse(&bad), "wrapped base64 with '*'");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::Base64,
            at,
            DecodeErrorKind::InvalidCharacter { ch: '*' }
        ),
        "wrapped base64 with '*' at {at}"
    );
    // Base62 is trimmed only at the ends: inner whitespace is a defect.
    let od = s(&data["tokens"][2], "text", "TV7 rop");
    let bad = format!("{} {}", &od[..150], &od[150..]);
    let e = decode_err(Macaroon::parse(&bad), "base62 with inner space");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::Base62,
            150,
            DecodeErrorKind::InvalidCharacter { ch: ' ' }
        ),
        "base62 with a space at 150"
    );
    assert!(
        Macaroon::parse(&format!("\n {od} \t")).is_ok(),
        "base62 trimmed at the ends"
    );
}

#[test]
fn inspect_recovers_completed_fields_of_v2_and_json() {
    // §13 (3): V2 and JSON show the fields completed before the error.
    let m = tv1();
    let v2 = m.to_v2_bytes();
    let json = serialize_ok(&m, Format::V2Json, "TV1");
    // Cut inside the third caveat.
    let cut_v2 = find(&v2, b"email") + 3;
    let cut_json = json.find("email").expect("email") + 3;
    for (what, input) in [
        (
            "v2 text",
            b64_encode(&v2[..cut_v2], true, false).into_bytes(),
        ),
        ("raw v2", v2[..cut_v2].to_vec()),
        ("v2 JSON", json.as_bytes()[..cut_json].to_vec()),
    ] {
        let ctx = format!("inspect of TV1 {what} cut inside caveat 2");
        let report = macaroon_mint::Inspection::of_bytes(&input);
        assert!(report.parsed.is_err(), "[{ctx}] strict parse fails");
        let r = report
            .recovered
            .unwrap_or_else(|| panic!("[{ctx}] recovered fields"));
        assert_eq!(
            field_bytes(&r.location),
            Some((b"http://mybank/".to_vec(), false)),
            "[{ctx}] location"
        );
        assert_eq!(
            field_bytes(&r.identifier),
            Some((b"we used our secret key".to_vec(), false)),
            "[{ctx}] identifier"
        );
        assert_eq!(
            r.caveats
                .iter()
                .map(|c| String::from_utf8_lossy(&c.id.bytes).into_owned())
                .collect::<Vec<_>>(),
            TV1_PREDS[..2],
            "[{ctx}] the two completed caveats"
        );
        assert!(r.signature.is_none(), "[{ctx}] no signature");
    }
}

#[test]
fn long_text_and_packet_floods_are_bounded() {
    const BIG: usize = 1 << 20;
    // 1 MiB of tiny cid packets: refused at caveat 1,025.
    let mut flood = b"0010identifier \n".to_vec();
    while flood.len() + 9 <= BIG * 3 / 4 {
        flood.extend(b"0009cid \n");
    }
    let text = b64_encode(&flood, true, false);
    assert!(text.len() <= BIG);
    let (r, u) = read_measured(text.as_bytes(), &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::TooManyCaveats {
            limit: 1024,
            offset: 16 + 1024 * 9
        }))
    );
    assert_bounded(u, text.len(), "cid flood");
    // The same in v2: an empty caveat is `02 00 00`.
    let mut flood = vec![2u8];
    put_field(&mut flood, 2, b"");
    flood.push(0);
    while flood.len() + 3 <= BIG {
        flood.extend([2, 0, 0]);
    }
    let (r, u) = read_measured(&flood, &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::TooManyCaveats {
            limit: 1024,
            offset: 4 + 1024 * 3
        }))
    );
    assert_bounded(u, flood.len(), "v2 caveat flood");
    // Onedata text that is all escapes; base64 that decodes to garbage.
    for (name, text) in [
        ("escapes", "00".repeat(BIG / 2 - 1)),
        ("zeros", "A".repeat(BIG - 4)),
    ] {
        let (r, u) = read_measured(text.as_bytes(), &Limits::default(), false);
        let e = decode_err(r, name);
        assert!(e.offset <= text.len(), "{name}: {e}");
        assert_bounded(u, text.len(), name);
        let (report, u) = measure(|| Inspection::of_text(&text));
        assert!(report.recovered.is_some());
        assert_bounded(u, text.len(), &format!("inspect {name}"));
    }
}

#[test]
fn signature_chains_and_serializations() {
    let data = load("signatures.json");
    let vectors = arr(&data, "vectors", "signatures.json");
    assert!(vectors.len() >= 5, "signatures.json: expected >= 5 vectors");
    for v in vectors {
        let name = s(v, "name", "signatures.json");
        let root_key = s(v, "root_key", name);
        let steps = arr(v, "steps", name);

        // The derivation (§3.1): a raw derived key gives the same chain.
        if let Some(dk) = opt_s(v, "derived_key_hex") {
            let from_derived = Macaroon::mint(
                &RootKey::from_derived(unhex32(dk, name)),
                s(v, "location", name),
                s(v, "identifier", name),
            )
            .unwrap_or_else(|e| panic!("[{name}] mint from derived: {e}"));
            assert_eq!(
                from_derived.signature_hex(),
                s(&steps[0], "signature_hex", name),
                "[{name}] RootKey::from_derived(derived_key_hex) gives the mint signature"
            );
        }

        // The chain, step by step.
        let mut built = Vec::new();
        let mut m = Macaroon::mint(
            &key(root_key),
            s(v, "location", name),
            s(v, "identifier", name),
        )
        .unwrap_or_else(|e| panic!("[{name}] mint: {e}"));
        for (i, step) in steps.iter().enumerate() {
            let ctx = format!("{name} step {i}");
            if i > 0 {
                m = apply_step(m, step, &ctx);
            }
            assert_eq!(
                m.signature_hex(),
                s(step, "signature_hex", &ctx),
                "[{ctx}] signature"
            );
            assert_eq!(m.caveats().len(), i, "[{ctx}] caveat count");
            if let Some(s64) = opt_s(step, "v2j_s64") {
                let json = serialize_ok(&m, Format::V2Json, &ctx);
                assert!(
                    json.contains(&format!("\"s64\":\"{s64}\"")),
                    "[{ctx}] V2J s64 {s64:?} in {json}"
                );
            }
            if let Some(tp) = step.get("third_party") {
                let c = m.caveats().last().expect("caveat");
                assert!(c.is_third_party(), "[{ctx}] third-party caveat");
                assert_eq!(c.id(), s(tp, "cid", &ctx).as_bytes(), "[{ctx}] cid");
                assert_eq!(
                    c.location(),
                    s(tp, "location", &ctx).as_bytes(),
                    "[{ctx}] cl"
                );
                let vid = c.verification_id().expect("vid");
                assert_eq!(vid.len(), macaroon_mint::VID_LEN, "[{ctx}] vid length");
                assert_eq!(
                    &vid[..24],
                    &unhex24(s(tp, "nonce_hex", &ctx), &ctx)[..],
                    "[{ctx}] vid starts with the nonce"
                );
                for field in ["vid_b64url", "vid_b64std"] {
                    if let Some(b64) = opt_s(step, field) {
                        assert_eq!(vid, b64_decode(b64).as_slice(), "[{ctx}] {field}");
                    }
                }
                if let Some(b64) = opt_s(step, "vid_b64url") {
                    assert_eq!(b64_encode(vid, true, false), b64, "[{ctx}] vid base64url");
                }
            }
            if let Some(wrongs) = step.get("wrong_signatures_hex") {
                for wrong in strings(wrongs, &ctx) {
                    assert_ne!(
                        m.signature_hex(),
                        wrong,
                        "[{ctx}] signature must differ from the wrong-order value"
                    );
                }
            }
            built.push(m.clone());
        }

        for (j, ser) in v
            .get("serializations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let step = u(ser, "after_step", name);
            let format = format_named(s(ser, "format", name), name);
            let ctx = format!("{name} serialization {j} ({format}, after step {step})");
            let expected = &built[step];
            check_serialization(s(ser, "text", &ctx), format, expected, &ctx);
            check_conversions(expected, &ctx);
            for alt in ser
                .get("also_accept")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let alt = alt.as_str().expect("string");
                assert_eq!(
                    &parse_ok(alt, &ctx),
                    expected,
                    "[{ctx}] also_accept {alt:?} parses to the same macaroon"
                );
            }
            if let Some(rej) = ser.get("rs_padded_form").and_then(|r| r.get("must_reject")) {
                let text = s(rej, "text", &ctx);
                let e = decode_err(Macaroon::parse(text), &ctx);
                assert_eq!(e.layer, Layer::Base64, "[{ctx}] must_reject layer");
                assert_eq!(
                    e.offset,
                    u(rej, "offset", &ctx),
                    "[{ctx}] must_reject offset"
                );
                assert_eq!(
                    e.kind,
                    DecodeErrorKind::InvalidPadding,
                    "[{ctx}] must_reject kind"
                );
            }
        }
    }
}

#[test]
fn negative_vectors() {
    let data = load("negative.json");
    let mut checked = 0;
    for v in arr(&data, "vectors", "negative.json") {
        let name = s(v, "name", "negative.json");
        if opt_s(v, "kind") == Some("descriptive") {
            continue; // issue_48 is built with the API in discharge.rs (lm_issue_48)
        }
        let text = s(v, "text", name);
        let root = parse_ok(text, name);
        if let Some(p) = v.get("parsed") {
            assert_eq!(
                root.location(),
                s(p, "location", name).as_bytes(),
                "[{name}] location"
            );
            assert_eq!(
                root.identifier(),
                s(p, "identifier", name).as_bytes(),
                "[{name}] identifier"
            );
            assert_eq!(
                caveat_ids(&root),
                strings(p.get("caveats").expect("caveats"), name),
                "[{name}] caveats"
            );
            assert_eq!(
                root.signature_hex(),
                s(p, "signature_hex", name),
                "[{name}] parsed signature"
            );
        }
        let discharges: Vec<Macaroon> = v
            .get("discharge_texts")
            .map(|d| strings(d, name))
            .unwrap_or_default()
            .iter()
            .map(|t| parse_ok(t, name))
            .collect();
        let preds = strings(v.get("satisfied_predicates").expect("preds"), name);
        let verifier = preds
            .iter()
            .fold(Verifier::new(), |v, p| v.satisfy_exact(p));
        let root_key = key(s(v, "root_key", name));
        let e = verify_err(verifier.verify(&root_key, &root, &discharges), name);
        let expect = v.get("expect").expect("expect");
        let role = match s(expect, "macaroon", name) {
            "root" => MacaroonRole::Root,
            id => discharge_role(id),
        };
        match s(expect, "error", name) {
            "SignatureMismatch" => match e {
                VerifyError::SignatureMismatch { macaroon, .. } => {
                    assert_eq!(
                        macaroon, role,
                        "[{name}] SignatureMismatch names the macaroon"
                    )
                }
                other => panic!("[{name}] expected SignatureMismatch, got {other:?}"),
            },
            "CaveatNotSatisfied" => assert_eq!(
                e,
                VerifyError::CaveatNotSatisfied {
                    macaroon: role,
                    index: u(expect, "index", name),
                    caveat: s(expect, "caveat", name).as_bytes().to_vec(),
                    reason: macaroon_mint::Unmet::NoRule,
                },
                "[{name}] CaveatNotSatisfied"
            ),
            other => panic!("[{name}] unknown expected error {other}"),
        }
        // The signature a correct minter computes differs from the forged one.
        if let Some(sig) = opt_s(v, "expected_signature_hex") {
            let p = v.get("parsed").expect("parsed");
            let mut m = Macaroon::mint(&root_key, s(p, "location", name), s(p, "identifier", name))
                .expect("mint");
            for c in strings(p.get("caveats").expect("caveats"), name) {
                m = m.with_first_party(c).expect("caveat");
            }
            assert_eq!(m.signature_hex(), sig, "[{name}] correct signature");
            assert_ne!(
                root.signature_hex(),
                sig,
                "[{name}] forged signature differs"
            );
        }
        if let Some(good) = opt_s(v, "correct_root_key_verifies") {
            verifier
                .verify(&key(good), &root, &discharges)
                .unwrap_or_else(|e| panic!("[{name}] verifies with the correct key: {e}"));
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "negative.json: expected >= 5 token vectors, got {checked}"
    );
}

#[test]
fn micro_detection() {
    let data = load("micro.json");
    let entries = arr(&data, "detection", "micro.json");
    assert!(
        entries.len() >= 6,
        "micro.json: the six §11.6 detection cases"
    );
    for d in entries {
        let name = s(d, "name", "micro.json detection");
        let text = s(d, "text", name);
        let want = encoding_named(s(d, "expect", name), opt_s(d, "service"), name);
        let p = Parsed::from_text(text, &Limits::default())
            .unwrap_or_else(|e| panic!("[{name}] parse: {e} ({e:?})"));
        assert_eq!(p.encoding, want, "[{name}] detected encoding");
        let m = &p.macaroon;
        assert_eq!(
            m.signature_hex(),
            s(d, "signature_hex", name),
            "[{name}] signature"
        );
        assert_eq!(
            m.location(),
            s(d, "location", name).as_bytes(),
            "[{name}] location"
        );
        assert_eq!(
            m.identifier(),
            s(d, "identifier", name).as_bytes(),
            "[{name}] identifier"
        );
        Verifier::new()
            .satisfy_general(|_| true)
            .verify(&key(s(d, "root_key", name)), m, &[])
            .unwrap_or_else(|e| panic!("[{name}] verifies: {e}"));
        // Output format follows the input's encoding.
        let back = serialize_ok(m, p.encoding.output_format(), name);
        assert_eq!(
            parse_ok(&back, name),
            *m,
            "[{name}] output format round trip"
        );
    }
}

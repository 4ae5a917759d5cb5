//! SPEC §11 test vectors, loaded from `tests/data/*.json`.
//!
//! Every assertion names the vector it checks.

use crate::common::*;
use macaroon_mint::Parsed;
use macaroon_mint::{
    base62_escape, base62_unescape, DecodeErrorKind, Encoding, Error, Format, Layer, Limits,
    Macaroon, MacaroonRole, RootKey, Verifier, VerifyError,
};
use serde_json::Value;

const ALL_FORMATS: [Format; 4] = [Format::V1, Format::V2, Format::V2Json, Format::Onedata];

/// Applies one `steps[]` entry (first- or third-party caveat) to `m`.
fn apply_step(m: Macaroon, step: &Value, ctx: &str) -> Macaroon {
    if let Some(pred) = opt_s(step, "first_party") {
        return m
            .with_first_party(pred)
            .unwrap_or_else(|e| panic!("[{ctx}] with_first_party({pred:?}): {e}"));
    }
    let tp = step
        .get("third_party")
        .unwrap_or_else(|| panic!("[{ctx}] step is neither first- nor third-party: {step}"));
    let nonce = unhex24(s(tp, "nonce_hex", ctx), ctx);
    m.with_third_party_nonce(
        s(tp, "location", ctx),
        &key(s(tp, "caveat_key", ctx)),
        s(tp, "cid", ctx),
        nonce,
    )
    .unwrap_or_else(|e| panic!("[{ctx}] with_third_party_nonce: {e}"))
}

/// Parses `text`, checks the detected encoding and that it equals `expected` (every field and the
/// signature), and that serializing `expected` in `format` reproduces `text` byte for byte.
fn check_serialization(text: &str, format: Format, expected: &Macaroon, ctx: &str) {
    let parsed = Parsed::from_text(text, &Limits::default())
        .unwrap_or_else(|e| panic!("[{ctx}] parse of {format} text failed: {e} ({e:?})"));
    let want_encoding = format.encoding();
    assert_eq!(parsed.encoding, want_encoding, "[{ctx}] detected encoding");
    assert_eq!(
        macaroon_mint::Encoding::sniff(text.as_bytes()).as_ref(),
        Some(&want_encoding),
        "[{ctx}] sniffed encoding"
    );
    let m = parsed.macaroon;
    assert_eq!(m.location(), expected.location(), "[{ctx}] location");
    assert_eq!(m.identifier(), expected.identifier(), "[{ctx}] identifier");
    assert_eq!(caveat_ids(&m), caveat_ids(expected), "[{ctx}] caveat ids");
    for (i, (a, b)) in m.caveats().iter().zip(expected.caveats()).enumerate() {
        assert_eq!(
            a.verification_id(),
            b.verification_id(),
            "[{ctx}] caveat {i} vid"
        );
        assert_eq!(a.location(), b.location(), "[{ctx}] caveat {i} location");
    }
    assert_eq!(
        m.signature_hex(),
        expected.signature_hex(),
        "[{ctx}] signature"
    );
    assert_eq!(&m, expected, "[{ctx}] parsed macaroon equals the built one");
    assert_eq!(
        serialize_ok(expected, format, ctx),
        text,
        "[{ctx}] our {format} serialization reproduces the text byte for byte"
    );
    assert_eq!(
        serialize_ok(&m, format, ctx),
        text,
        "[{ctx}] re-serializing the parsed macaroon reproduces the text"
    );
}

/// Converting between every pair of formats keeps every field and the signature.
fn check_conversions(m: &Macaroon, ctx: &str) {
    for from in ALL_FORMATS {
        let text = serialize_ok(m, from, ctx);
        let back = parse_ok(&text, &format!("{ctx} via {from}"));
        assert_eq!(
            back.signature(),
            m.signature(),
            "[{ctx}] signature kept through {from}"
        );
        assert_eq!(&back, m, "[{ctx}] all fields kept through {from}");
        for to in ALL_FORMATS {
            let converted = parse_ok(&serialize_ok(&back, to, ctx), ctx);
            assert_eq!(
                converted.signature_hex(),
                m.signature_hex(),
                "[{ctx}] signature kept converting {from} -> {to}"
            );
        }
    }
    let v2 = m.to_v2_bytes();
    let raw = Parsed::from_bytes(&v2, &Limits::default())
        .unwrap_or_else(|e| panic!("[{ctx}] raw v2 bytes: {e}"));
    assert_eq!(raw.encoding, Encoding::V2Binary, "[{ctx}] raw v2 encoding");
    assert_eq!(&raw.macaroon, m, "[{ctx}] raw v2 round trip");
    let v1 = m
        .to_v1_bytes()
        .unwrap_or_else(|e| panic!("[{ctx}] to_v1_bytes: {e}"));
    assert_eq!(
        &from_v1(&v1).unwrap_or_else(|e| panic!("[{ctx}] raw v1 bytes: {e}")),
        m,
        "[{ctx}] raw v1 round trip"
    );
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

/// The TV2 root built with the API (zero nonce), after every step.
fn tv2_root(tv2: &Value, name: &str) -> Vec<Macaroon> {
    let mut m = Macaroon::mint(
        &key(s(tv2, "root_key", name)),
        s(tv2, "location", name),
        s(tv2, "identifier", name),
    )
    .unwrap_or_else(|e| panic!("[{name}] mint: {e}"));
    let mut out = Vec::new();
    for (i, step) in arr(tv2, "steps", name).iter().enumerate() {
        let ctx = format!("{name} step {i}");
        m = apply_step(m, step, &ctx);
        assert_eq!(
            m.signature_hex(),
            s(step, "signature_hex", &ctx),
            "[{ctx}] signature"
        );
        out.push(m.clone());
    }
    out
}

fn tv2_discharge(tv2: &Value, name: &str) -> Macaroon {
    let d = tv2.get("discharge").expect("discharge");
    let mut m = Macaroon::mint(
        &key(s(d, "root_key", name)),
        s(d, "location", name),
        s(d, "identifier", name),
    )
    .unwrap_or_else(|e| panic!("[{name}] mint discharge: {e}"));
    assert_eq!(
        m.signature_hex(),
        s(d, "s0_hex", name),
        "[{name}] discharge s0 = HMAC(Kc, cid)"
    );
    for c in strings(d.get("caveats").expect("caveats"), name) {
        m = m.with_first_party(&c).expect("first party");
    }
    assert_eq!(
        m.signature_hex(),
        s(d, "signature_hex", name),
        "[{name}] unbound discharge signature"
    );
    m
}

#[test]
fn tv2_third_party_discharge_and_binding() {
    let data = load("third_party.json");
    let tv2 = data.get("tv2").expect("tv2");
    let name = s(tv2, "name", "third_party.json");
    let roots = tv2_root(tv2, name);
    let root = roots.last().expect("root").clone();

    // The third-party step in detail.
    let step = &arr(tv2, "steps", name)[1];
    let ctx = format!("{name} third-party step");
    let c = &root.caveats()[1];
    let vid = c.verification_id().expect("vid");
    assert_eq!(
        hex::encode(vid),
        s(step, "vid_hex", &ctx),
        "[{ctx}] vid hex"
    );
    assert_eq!(
        b64_encode(vid, true, false),
        s(step, "vid_b64url", &ctx),
        "[{ctx}] vid base64url"
    );
    assert_eq!(
        hex::encode(&vid[..24]),
        s(step, "vid_nonce_hex", &ctx),
        "[{ctx}] nonce"
    );
    assert_eq!(
        hex::encode(&vid[24..40]),
        s(step, "vid_tag_hex", &ctx),
        "[{ctx}] tag (tag first)"
    );
    assert_eq!(
        hex::encode(&vid[40..]),
        s(step, "vid_ciphertext_hex", &ctx),
        "[{ctx}] encrypted Kc"
    );
    for wrong in ["wrong_h2_cid_first_hex", "wrong_flat_vid_cid_hex"] {
        assert_ne!(
            root.signature_hex(),
            s(step, wrong, &ctx),
            "[{ctx}] signature must differ from {wrong}"
        );
    }
    // Kc, the derived caveat key, is the discharge's HMAC key (§3.4).
    let kc = unhex32(s(step, "derived_caveat_key_hex", &ctx), &ctx);
    let d = tv2.get("discharge").expect("discharge");
    let via_kc = Macaroon::mint(
        &RootKey::from_derived(kc),
        s(d, "location", name),
        s(d, "identifier", name),
    )
    .expect("mint");
    assert_eq!(
        via_kc.signature_hex(),
        s(d, "s0_hex", name),
        "[{ctx}] RootKey::from_derived(Kc) mints the discharge s0"
    );

    // Discharge and binding.
    let discharge = tv2_discharge(tv2, name);
    let b = tv2.get("binding").expect("binding");
    assert_eq!(
        root.signature_hex(),
        s(b, "root_signature_hex", name),
        "[{name}] binding input: root"
    );
    assert_eq!(
        discharge.signature_hex(),
        s(b, "discharge_signature_hex", name),
        "[{name}] binding input: discharge"
    );
    let bound = discharge.bind_to(&root);
    assert_eq!(
        bound.signature_hex(),
        s(b, "bound_hex", name),
        "[{name}] bound signature"
    );
    assert_eq!(
        bound.identifier(),
        discharge.identifier(),
        "[{name}] bind keeps id"
    );
    assert_eq!(
        bound.location(),
        discharge.location(),
        "[{name}] bind keeps location"
    );
    assert_eq!(
        caveat_ids(&bound),
        caveat_ids(&discharge),
        "[{name}] bind keeps caveats"
    );
    for wrong in ["wrong_discharge_first_hex", "wrong_flat_concat_hex"] {
        assert_ne!(
            bound.signature_hex(),
            s(b, wrong, name),
            "[{name}] bound signature must differ from {wrong}"
        );
    }
    // Binding the other way round must not give the same value either.
    assert_ne!(
        root.bind_to(&discharge).signature_hex(),
        s(b, "bound_hex", name),
        "[{name}] binding is ordered"
    );

    // Serializations.
    let sers = tv2.get("serializations").expect("serializations");
    for (field, format, expected) in [
        ("root_v1", Format::V1, &root),
        ("root_v2", Format::V2, &root),
        ("root_v2j", Format::V2Json, &root),
        ("bound_discharge_v1", Format::V1, &bound),
        ("bound_discharge_v2", Format::V2, &bound),
        ("unbound_discharge_v1", Format::V1, &discharge),
    ] {
        let ctx = format!("{name} {field}");
        check_serialization(s(sers, field, &ctx), format, expected, &ctx);
        check_conversions(expected, &ctx);
    }

    // Verification.
    let ver = tv2.get("verification").expect("verification");
    let preds = strings(ver.get("satisfied_predicates").expect("preds"), name);
    let verifier = preds
        .iter()
        .fold(Verifier::new(), |v, p| v.satisfy_exact(p));
    let root_key = key(s(tv2, "root_key", name));
    let parsed_root = parse_ok(s(sers, "root_v1", name), name);
    let parsed_bound = parse_ok(s(sers, "bound_discharge_v1", name), name);
    let parsed_bound_v2 = parse_ok(s(sers, "bound_discharge_v2", name), name);
    let parsed_unbound = parse_ok(s(sers, "unbound_discharge_v1", name), name);
    for (what, d) in [("v1", &parsed_bound), ("v2", &parsed_bound_v2)] {
        let discharges = [d.clone()];
        let ok = verifier
            .verify(&root_key, &parsed_root, &discharges)
            .unwrap_or_else(|e| panic!("[{name}] root + bound discharge ({what}) verifies: {e}"));
        assert_eq!(ok.discharges().len(), 1, "[{name}] one discharge used");
        assert_eq!(
            ok.first_party_predicates().collect::<Vec<_>>(),
            preds.iter().map(String::as_bytes).collect::<Vec<_>>(),
            "[{name}] predicates checked"
        );
    }
    let unbound = [parsed_unbound];
    let e = verify_err(verifier.verify(&root_key, &parsed_root, &unbound), name);
    match &e {
        VerifyError::SignatureMismatch {
            macaroon: MacaroonRole::Discharge { identifier },
            ..
        } => assert_eq!(
            identifier.as_slice(),
            s(d, "identifier", name).as_bytes(),
            "[{name}] the mismatch names the discharge"
        ),
        other => panic!(
            "[{name}] unbound discharge: expected discharge SignatureMismatch, got {other:?}"
        ),
    }
    // Without the time predicate the bound discharge still authenticates, then fails the caveat.
    let e = verify_err(
        Verifier::new().satisfy_exact(&preds[0]).verify(
            &root_key,
            &parsed_root,
            std::slice::from_ref(&parsed_bound),
        ),
        name,
    );
    assert_eq!(
        e,
        VerifyError::CaveatNotSatisfied {
            macaroon: discharge_role(s(d, "identifier", name)),
            index: 0,
            caveat: preds[1].as_bytes().to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        "[{name}] discharge caveat unsatisfied"
    );
}

#[test]
fn tv3_prepare_for_request() {
    let data = load("third_party.json");
    let tv2 = data.get("tv2").expect("tv2");
    let v = data.get("tv3_prepare_for_request").expect("tv3");
    let name = s(v, "name", "third_party.json");
    let root = tv2_root(tv2, name).pop().expect("root");
    assert_eq!(
        root.signature_hex(),
        s(v, "root_signature_hex", name),
        "[{name}] root signature"
    );
    let d = v.get("discharge").expect("discharge");
    let mut discharge = Macaroon::mint(
        &key(s(d, "root_key", name)),
        s(d, "location", name),
        s(d, "identifier", name),
    )
    .expect("mint");
    for c in strings(d.get("caveats").expect("caveats"), name) {
        discharge = discharge.with_first_party(&c).expect("caveat");
    }
    assert_eq!(
        discharge.signature_hex(),
        s(d, "signature_hex", name),
        "[{name}] discharge signature"
    );
    let bound = discharge.bind_to(&root);
    assert_eq!(
        bound.signature_hex(),
        s(v, "bound_signature_hex", name),
        "[{name}] bound signature"
    );
    let preds = ["account = 3735928559", "time < 2015-01-01T00:00"];
    let verifier = preds
        .iter()
        .fold(Verifier::new(), |v, p| v.satisfy_exact(p));
    let discharges = [bound];
    verifier
        .verify(&key(s(tv2, "root_key", name)), &root, &discharges)
        .unwrap_or_else(|e| panic!("[{name}] verifies: {e}"));
}

#[test]
fn tv3_packet_size_limit() {
    let name = "TV3 packet size (SPEC §11.3)";
    let base = Macaroon::mint(
        &key("this is our super secret key; only we should know it"),
        "http://mybank/",
        "we used our secret key",
    )
    .expect("mint");
    let fits = base
        .clone()
        .with_first_party(vec![b'x'; 65_526])
        .expect("first party of 65,526 bytes");
    let bytes = fits
        .to_v1_bytes()
        .unwrap_or_else(|e| panic!("[{name}] 65,526-byte cid must serialize: {e}"));
    let cid_at = bytes
        .windows(8)
        .position(|w| w == b"ffffcid ")
        .unwrap_or_else(|| panic!("[{name}] no packet with header ffff and key cid"));
    assert_eq!(
        bytes[cid_at + 0xffff - 1],
        b'\n',
        "[{name}] the cid packet is exactly 0xffff bytes"
    );
    let text = serialize_ok(&fits, Format::V1, name);
    assert_eq!(parse_ok(&text, name), fits, "[{name}] round trip");

    let too_big = base
        .with_first_party(vec![b'x'; 65_527])
        .expect("first party of 65,527 bytes (fits v2)");
    for format in [Format::V1, Format::Onedata] {
        match too_big.serialize(format) {
            Err(Error::Encode(macaroon_mint::EncodeError::PacketTooLarge { len, max, .. })) => {
                assert_eq!(
                    (len, max),
                    (65_527, 65_526),
                    "[{name}] PacketTooLarge fields ({format})"
                )
            }
            other => panic!("[{name}] {format}: expected PacketTooLarge, got {other:?}"),
        }
    }
    assert!(
        matches!(
            too_big.to_v1_bytes(),
            Err(Error::Encode(
                macaroon_mint::EncodeError::PacketTooLarge { .. }
            ))
        ),
        "[{name}] to_v1_bytes refuses too"
    );
    // v2 and JSON carry it.
    let v2 = serialize_ok(&too_big, Format::V2, name);
    assert_eq!(parse_ok(&v2, name), too_big, "[{name}] v2 round trip");
}

#[test]
fn negative_vectors() {
    let data = load("negative.json");
    let mut checked = 0;
    for v in arr(&data, "vectors", "negative.json") {
        let name = s(v, "name", "negative.json");
        if opt_s(v, "kind") == Some("descriptive") {
            continue; // issue_48 is built with the API in errors.rs
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
fn tv1_wrapped_standard_base64_negative() {
    // Also pinned here verbatim from SPEC §11.1 in case the data file changes shape.
    let name = "TV1 incompetent hackers (SPEC §11.1)";
    let text = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNl\n\
Y3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIw\n\
LTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0\n\
dXJlID8f19FL+bkC9p/aoMmIecC7GxdOcLVyUnrv6lJMM7NSCg==";
    let parsed = Parsed::from_text(text, &Limits::default())
        .unwrap_or_else(|e| panic!("[{name}] must parse: {e}"));
    assert_eq!(parsed.encoding, Encoding::V1, "[{name}] encoding");
    let m = parsed.macaroon;
    assert_eq!(
        m.signature_hex(),
        "3f1fd7d14bf9b902f69fdaa0c98879c0bb1b174e70b572527aefea524c33b352",
        "[{name}] signature"
    );
    let e = verify_err(
        Verifier::new().satisfy_general(|_| true).verify(
            &key("this is our super secret key; only we should know it"),
            &m,
            &[],
        ),
        name,
    );
    assert_eq!(
        e,
        VerifyError::SignatureMismatch {
            macaroon: MacaroonRole::Root,
            reason: None
        },
        "[{name}]"
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

#[test]
fn micro_uvarint_through_v2() {
    let data = load("micro.json");
    for p in arr(&data, "uvarint", "micro.json") {
        let value = u(p, "value", "micro.json uvarint");
        let ctx = format!("uvarint {value}");
        let want = unhex(s(p, "hex", &ctx), &ctx);
        // An identifier of `value` bytes and no location: 02 | 02 <len varint> ...
        let m = Macaroon::mint(&key("k"), "", vec![b'i'; value]).expect("mint");
        let bytes = m.to_v2_bytes();
        assert_eq!(&bytes[..2], &[2, 2], "[{ctx}] version and identifier type");
        assert_eq!(
            &bytes[2..2 + want.len()],
            want.as_slice(),
            "[{ctx}] length varint"
        );
        assert_eq!(
            bytes[2 + want.len()],
            b'i',
            "[{ctx}] data follows the varint"
        );
        assert_eq!(from_bytes(&bytes).expect("parse"), m, "[{ctx}] round trip");
    }
    for p in arr(&data, "uvarint_errors", "micro.json") {
        let hexs = s(p, "hex", "micro.json uvarint_errors");
        let ctx = format!("uvarint error {hexs}");
        let mut bytes = vec![2u8, 2];
        bytes.extend(unhex(hexs, &ctx));
        bytes.extend([0, 0, 6, 32]);
        bytes.extend([0u8; 32]);
        let e = decode_err(from_bytes(&bytes), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (Layer::V2, 2, DecodeErrorKind::InvalidVarint),
            "[{ctx}]"
        );
    }
}

#[test]
fn micro_v1_header_zero() {
    let data = load("micro.json");
    let v = data.get("v1_header_zero").expect("v1_header_zero");
    let text = s(v, "text", "micro.json v1_header_zero");
    let ctx = format!("V1 header 0000 ({text})");
    assert_eq!(
        hex::encode(b64_decode(text)),
        s(v, "decoded_hex", &ctx),
        "[{ctx}] data"
    );
    let e = decode_err(Macaroon::parse(text), &ctx);
    assert_eq!(e.layer, Layer::V1, "[{ctx}] layer");
    assert_eq!(e.offset, 0, "[{ctx}] offset");
    assert_eq!(e.text_offset, Some(0), "[{ctx}] text offset");
    assert_eq!(
        e.kind,
        DecodeErrorKind::PacketTooShort { declared: 0 },
        "[{ctx}] kind"
    );
    // The raw-bytes API too.
    let e = decode_err(from_v1(&b64_decode(text)), &ctx);
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::V1,
            0,
            DecodeErrorKind::PacketTooShort { declared: 0 }
        ),
        "[{ctx}] raw"
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

#[test]
fn v2_text_round_trips_for_every_first_field_length() {
    // The 4th character of a v2 text is the low 6 bits of the first field's length: a length of
    // 62 (mod 64) makes it '-' ("AgE-…"), which must still be read as v2 (§9 step 7), not as a
    // bad Onedata service indication.
    let k = key("k");
    let mut failures = Vec::new();
    for len in 0..=300usize {
        for (what, m) in [
            (
                "location",
                Macaroon::mint(&k, vec![b'l'; len], "id").expect("mint"),
            ),
            (
                "identifier (no location)",
                Macaroon::mint(&k, "", vec![b'i'; len]).expect("mint"),
            ),
        ] {
            let text = serialize_ok(&m, Format::V2, what);
            match Parsed::from_text(&text, &Limits::default()) {
                Ok(p) if p.macaroon == m && p.encoding == Encoding::V2 => {}
                other => failures.push(format!(
                    "{what} of {len} bytes, text {:?}…: {other:?}",
                    &text[..6]
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "v2 texts that do not parse back ({}):\n{}",
        failures.len(),
        failures.join("\n")
    );
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
fn v2_emission_rules() {
    // §7.2: header location only when non-empty; third-party caveats always carry a location
    // field (01 00 if empty); first-party caveats never do.
    let k = key("k");
    let m = Macaroon::mint(&k, "", "id")
        .expect("mint")
        .with_first_party("fp")
        .expect("fp")
        .with_third_party_nonce("", &key("ck"), "tp", [0; 24])
        .expect("tp");
    let bytes = m.to_v2_bytes();
    let vid = m.caveats()[1].verification_id().expect("vid");
    let mut want = vec![2u8, 2, 2, b'i', b'd', 0];
    want.extend([2, 2, b'f', b'p', 0]);
    want.extend([1, 0, 2, 2, b't', b'p', 4, 72]);
    want.extend(vid);
    want.extend([0, 0, 6, 32]);
    want.extend(m.signature());
    assert_eq!(
        bytes, want,
        "v2 bytes: no header location, 01 00 on the third-party caveat"
    );
    assert_eq!(from_bytes(&bytes).expect("parse"), m, "round trip");
    // v1: location always, cl even when empty.
    let v1 = m.to_v1_bytes().expect("v1");
    let packets = v1_packets(&v1);
    let keys: Vec<String> = packets
        .iter()
        .map(|p| {
            let end = p.iter().skip(4).position(|&b| b == b' ').expect("space") + 4;
            String::from_utf8_lossy(&p[4..end]).into_owned()
        })
        .collect();
    assert_eq!(
        keys,
        [
            "location",
            "identifier",
            "cid",
            "cid",
            "vid",
            "cl",
            "signature"
        ],
        "v1 packets"
    );
    assert_eq!(packets[0], b"000elocation \n", "empty location packet");
    assert_eq!(packets[5], b"0008cl \n", "empty cl packet");
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

#[test]
fn binding_always_hashes() {
    // §4: GO and ERL skip binding when the signatures are equal; we always hash.
    let k = key("same");
    let root = Macaroon::mint(&k, "", "x").expect("mint");
    let twin = Macaroon::mint(&k, "", "x").expect("mint");
    assert_eq!(root.signature(), twin.signature(), "equal signatures");
    assert_ne!(
        twin.bind_to(&root).signature(),
        root.signature(),
        "binding equal signatures still hashes"
    );
}

//! The signature chain (SPEC §4): a token verifies only under its key with every caveat in place
//! and in order; a forged token fails on its signature before any caveat is read; signatures are
//! compared in constant time and a mismatch reveals no position.

use crate::common::*;
use crate::support::*;
use macaroon_mint::{
    Error, Limits, Macaroon, MacaroonRole, Parsed, RootKey, Verifier, VerifyError,
};
use serde_json::Value;

#[test]
fn wrong_key() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    expect_ok(&v, &key(TV1_KEY), &m, &[], "TV1 right key");
    expect_verify(
        &v,
        &key("this is not the key"),
        &m,
        &[],
        root_mismatch(),
        "TV1 wrong key",
    );
    expect_verify(
        &v,
        &RootKey::from_derived([0; 32]),
        &m,
        &[],
        root_mismatch(),
        "TV1 raw zero key",
    );
}

#[test]
fn flipped_signature_bit() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    let k = key(TV1_KEY);
    let bytes = m.to_v1_bytes().expect("v1");
    let sig_start = bytes.len() - 1 - 32;
    assert_eq!(&bytes[sig_start..bytes.len() - 1], m.signature(), "layout");
    for bit in 0..256 {
        let ctx = format!("TV1 signature bit {bit} flipped (v1 bytes)");
        let mut t = bytes.clone();
        t[sig_start + bit / 8] ^= 1 << (bit % 8);
        let forged = from_v1(&t).unwrap_or_else(|e| panic!("[{ctx}] parses: {e}"));
        expect_verify(&v, &k, &forged, &[], root_mismatch(), &ctx);
    }
    let ctx = "TV1 signature bit flipped (v2 JSON s64)";
    let forged = tamper_json(
        &m,
        |j| {
            let mut sig = b64_decode(j["s64"].as_str().expect("s64"));
            sig[31] ^= 0x80;
            j["s64"] = Value::from(b64_encode(&sig, true, false));
        },
        ctx,
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
}

#[test]
fn dropped_caveat() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    let k = key(TV1_KEY);
    for i in 0..3 {
        let ctx = format!("TV1 caveat {i} dropped (JSON)");
        let forged = tamper_json(
            &m,
            |j| {
                j["c"].as_array_mut().expect("c").remove(i);
            },
            &ctx,
        );
        assert_eq!(forged.caveats().len(), 2, "[{ctx}] tampered");
        expect_verify(&v, &k, &forged, &[], root_mismatch(), &ctx);
        let ctx = format!("TV1 caveat {i} dropped (v1 packets)");
        let forged = tamper_v1(&m, |p| drop(p.remove(2 + i)), &ctx);
        assert_eq!(forged.caveats().len(), 2, "[{ctx}] tampered");
        expect_verify(&v, &k, &forged, &[], root_mismatch(), &ctx);
    }
    // All caveats dropped.
    let ctx = "TV1 all caveats dropped (JSON)";
    let forged = tamper_json(&m, |j| j["c"] = Value::Array(vec![]), ctx);
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
}

#[test]
fn changed_caveat() {
    let m = tv1();
    let v = Verifier::new().satisfy_general(|_| true);
    let k = key(TV1_KEY);
    let ctx = "TV1 caveat 0 changed (JSON)";
    let forged = tamper_json(
        &m,
        |j| j["c"][0]["i"] = Value::from("account = 0000000001"),
        ctx,
    );
    assert_eq!(caveat_ids(&forged)[0], "account = 0000000001", "[{ctx}]");
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    let ctx = "TV1 caveat 2 changed (v1 packets)";
    let forged = tamper_v1(
        &m,
        |p| p[4] = v1_packet("cid", b"email = mallory@example.org"),
        ctx,
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    // Changing the identifier is a mismatch too; changing the location is not (unsigned).
    let ctx = "TV1 identifier changed (JSON)";
    let forged = tamper_json(&m, |j| j["i"] = Value::from("we used our secret kez"), ctx);
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    let ctx = "TV1 location changed (JSON, unsigned)";
    let moved = tamper_json(&m, |j| j["l"] = Value::from("http://elsewhere/"), ctx);
    expect_ok(&v, &k, &moved, &[], ctx);
}

#[test]
fn reordered_caveats() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    let k = key(TV1_KEY);
    let ctx = "TV1 caveats 0 and 1 swapped (JSON)";
    let forged = tamper_json(&m, |j| j["c"].as_array_mut().expect("c").swap(0, 1), ctx);
    assert_eq!(
        caveat_ids(&forged),
        [TV1_PREDS[1], TV1_PREDS[0], TV1_PREDS[2]],
        "[{ctx}]"
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    let ctx = "TV1 caveats reversed (v1 packets)";
    let forged = tamper_v1(&m, |p| p[2..5].reverse(), ctx);
    assert_eq!(
        caveat_ids(&forged),
        [TV1_PREDS[2], TV1_PREDS[1], TV1_PREDS[0]],
        "[{ctx}]"
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
}

#[test]
fn forged_token_fails_on_signature_before_caveats() {
    // §5.3: authenticate first. A tampered token with unsatisfiable caveats is a mismatch.
    let m = tv1();
    let ctx = "TV1 tampered, no satisfiers";
    let forged = tamper_json(&m, |j| j["c"][1]["i"] = Value::from("admin = true"), ctx);
    expect_verify(
        &Verifier::new(),
        &key(TV1_KEY),
        &forged,
        &[],
        root_mismatch(),
        ctx,
    );
}

/// Removes string literals (and comments) from a source line.
fn code_only(line: &str) -> String {
    let line = line.split("//").next().unwrap_or_default();
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else {
            out.push(c);
        }
    }
    out
}

fn rust_sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read");
            out.push((path.display().to_string(), text));
        }
    }
}

/// Structural checks: the one signature comparison goes through `subtle`, and no library code
/// compares a signature with `==`/`!=` (which may exit at the first differing byte).
#[test]
fn signature_comparison_goes_through_subtle() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let crypto = std::fs::read_to_string(root.join("crypto.rs")).expect("crypto.rs");
    assert!(crypto.contains("use subtle::ConstantTimeEq;"));
    let body = crypto
        .split("pub(crate) fn signatures_equal(")
        .nth(1)
        .expect("signatures_equal exists")
        .split("\n}")
        .next()
        .expect("body");
    assert!(
        body.contains(".ct_eq(") && !body.contains("=="),
        "signatures_equal must use ct_eq only: {body}"
    );
    let mut sources = Vec::new();
    rust_sources(&root, &mut sources);
    let mut offenders = Vec::new();
    let mut uses = 0;
    for (path, text) in &sources {
        for (n, line) in text.lines().enumerate() {
            let code = code_only(line);
            if code.contains("signatures_equal(") {
                uses += 1;
            }
            // Identifiers only: `SIGNATURE` is the v2 field type, not a signature value.
            let compares = code.contains("==") || code.contains("!=") || code.contains(".eq(");
            let names_signature = code.contains("signature")
                || code
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == "sig");
            if compares && names_signature {
                offenders.push(format!("{path}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "signature compared without subtle:\n{}",
        offenders.join("\n")
    );
    // The definition, Macaroon::is_signed_by and both verification paths.
    assert!(uses >= 4, "signatures_equal used {uses} times");
}

/// A mismatch in the first byte and one in the last give the identical error: the variant
/// carries only which macaroon failed, never a position or an expected value.
#[test]
fn mismatch_position_is_not_revealed() {
    // Compile-time: `SignatureMismatch` has exactly these two fields (no `..`).
    fn fields(e: &VerifyError) -> Option<(&MacaroonRole, &Option<&'static str>)> {
        match e {
            VerifyError::SignatureMismatch { macaroon, reason } => Some((macaroon, reason)),
            _ => None,
        }
    }
    let k = key("root");
    let ck = key("ck");
    let m = Macaroon::mint(&k, "", "id")
        .expect("mint")
        .with_first_party("p")
        .expect("fp");
    let root = m
        .clone()
        .with_third_party_nonce("", &ck, "cid", [0; 24])
        .expect("tp");
    let d = Macaroon::mint(&ck, "", "cid").expect("mint").bind_to(&root);
    let all = Verifier::new().satisfy_general(|_| true);
    // Flip byte `at` of a signature by rebuilding the token from its v2 bytes.
    let flipped = |m: &Macaroon, at: usize| {
        let mut bytes = m.to_v2_bytes();
        let n = bytes.len();
        bytes[n - 32 + at] ^= 0x01;
        Parsed::from_bytes(&bytes, &Limits::default())
            .expect("parse")
            .macaroon
    };
    let wrong_key = all.verify(&key("wrong"), &m, &[]).map(|_| ()).unwrap_err();
    let first = all
        .verify(&k, &flipped(&m, 0), &[])
        .map(|_| ())
        .unwrap_err();
    let last = all
        .verify(&k, &flipped(&m, 31), &[])
        .map(|_| ())
        .unwrap_err();
    let want = Error::Verify(VerifyError::SignatureMismatch {
        macaroon: MacaroonRole::Root,
        reason: None,
    });
    for e in [&wrong_key, &first, &last] {
        assert_eq!(e, &want);
        let Error::Verify(v) = e else { unreachable!() };
        assert_eq!(fields(v), Some((&MacaroonRole::Root, &None)));
    }
    assert_eq!(
        (first.to_string(), format!("{first:?}")),
        (last.to_string(), format!("{last:?}"))
    );
    assert_eq!(first.to_string(), "signature mismatch in the root macaroon");
    for format in FORMATS {
        let a = all
            .verify_token(&k, &serialize_ok(&flipped(&m, 0), format, "first"), &[])
            .map(|_| ());
        let b = all
            .verify_token(&k, &serialize_ok(&flipped(&m, 31), format, "last"), &[])
            .map(|_| ());
        assert_eq!(a, Err(want.clone()), "{format} first byte");
        assert_eq!(b, Err(want.clone()), "{format} last byte");
    }
    // Discharges too.
    let dwant = Err(Error::Verify(VerifyError::SignatureMismatch {
        macaroon: discharge_role("cid"),
        reason: None,
    }));
    for at in [0, 15, 31] {
        assert_eq!(
            all.verify(&k, &root, &[flipped(&d, at)]).map(|_| ()),
            dwant,
            "discharge byte {at}"
        );
    }
}

//! Helpers the modules of this binary share: TV1 (SPEC §11.1) and exact verifiers, expected
//! errors, tampering with a token's JSON or v1 packets, and `Limits` edits.

use crate::common::*;
use macaroon_mint::{
    DecodeError, DecodeErrorKind, Encoding, Error, Format, Layer, Limits, Macaroon, MacaroonRole,
    Parsed, RootKey, Verifier, VerifyError,
};
use serde_json::Value;

pub(crate) const TV1_KEY: &str = "this is our super secret key; only we should know it";

pub(crate) const TV1_PREDS: [&str; 3] = [
    "account = 3735928559",
    "time < 2020-01-01T00:00",
    "email = alice@example.org",
];

/// TV1 with its three caveats (SPEC §11.1).
pub(crate) fn tv1() -> Macaroon {
    TV1_PREDS.iter().fold(
        Macaroon::mint(&key(TV1_KEY), "http://mybank/", "we used our secret key").expect("mint"),
        |m, p| m.with_first_party(p).expect("caveat"),
    )
}

pub(crate) fn exact(preds: &[&'static str]) -> Verifier<'static> {
    preds
        .iter()
        .fold(Verifier::new(), |v, p| v.satisfy_exact(*p))
}

pub(crate) fn root_mismatch() -> VerifyError {
    VerifyError::SignatureMismatch {
        macaroon: MacaroonRole::Root,
        reason: None,
    }
}

pub(crate) fn discharge_mismatch(id: &str) -> VerifyError {
    VerifyError::SignatureMismatch {
        macaroon: discharge_role(id),
        reason: None,
    }
}

/// Rebuilds `m` after editing its v2 JSON form as a `serde_json::Value`.
pub(crate) fn tamper_json(m: &Macaroon, edit: impl FnOnce(&mut Value), ctx: &str) -> Macaroon {
    let mut v: Value =
        serde_json::from_str(&serialize_ok(m, Format::V2Json, ctx)).expect("our JSON is JSON");
    edit(&mut v);
    parse_ok(&serde_json::to_string(&v).expect("serialize"), ctx)
}

/// Rebuilds `m` after editing its raw v1 packets.
pub(crate) fn tamper_v1(m: &Macaroon, edit: impl FnOnce(&mut Vec<Vec<u8>>), ctx: &str) -> Macaroon {
    let mut packets = v1_packets(&m.to_v1_bytes().expect("v1"));
    edit(&mut packets);
    from_v1(&packets.concat()).unwrap_or_else(|e| panic!("[{ctx}] tampered v1 must parse: {e}"))
}

pub(crate) fn expect_verify(
    verifier: &Verifier<'_>,
    key: &RootKey,
    root: &Macaroon,
    discharges: &[Macaroon],
    want: VerifyError,
    ctx: &str,
) {
    let got = verify_err(verifier.verify(key, root, discharges), ctx);
    assert_eq!(got, want, "[{ctx}]");
}

pub(crate) fn expect_ok(
    verifier: &Verifier<'_>,
    key: &RootKey,
    root: &Macaroon,
    discharges: &[Macaroon],
    ctx: &str,
) {
    if let Err(e) = verifier.verify(key, root, discharges) {
        panic!("[{ctx}] expected to verify, got {e} ({e:?})");
    }
}

pub(crate) const FORMATS: [Format; 4] = [Format::V1, Format::V2, Format::V2Json, Format::Onedata];

pub(crate) fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

pub(crate) fn decode_kind(
    r: Result<Macaroon, Error>,
    ctx: &str,
) -> (Layer, usize, DecodeErrorKind) {
    let d: DecodeError = decode_err(r, ctx);
    (d.layer, d.offset, d.kind)
}

pub(crate) fn verify_with(
    l: Limits,
    k: &RootKey,
    root: &Macaroon,
    ds: &[Macaroon],
) -> Result<(), Error> {
    Verifier::new()
        .with_limits(l)
        .verify(k, root, ds)
        .map(|_| ())
}

/// Applies one `steps[]` entry (first- or third-party caveat) to `m`.
pub(crate) fn apply_step(m: Macaroon, step: &Value, ctx: &str) -> Macaroon {
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
pub(crate) fn check_serialization(text: &str, format: Format, expected: &Macaroon, ctx: &str) {
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
pub(crate) fn check_conversions(m: &Macaroon, ctx: &str) {
    for from in FORMATS {
        let text = serialize_ok(m, from, ctx);
        let back = parse_ok(&text, &format!("{ctx} via {from}"));
        assert_eq!(
            back.signature(),
            m.signature(),
            "[{ctx}] signature kept through {from}"
        );
        assert_eq!(&back, m, "[{ctx}] all fields kept through {from}");
        for to in FORMATS {
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

pub(crate) fn field_bytes(f: &Option<macaroon_mint::RecoveredField>) -> Option<(Vec<u8>, bool)> {
    f.as_ref().map(|f| (f.bytes.clone(), f.truncated))
}

pub(crate) struct ThirdParty {
    pub(crate) key: RootKey,
    pub(crate) root: Macaroon,
    pub(crate) caveat_key: RootKey,
    pub(crate) discharge: Macaroon,
}

/// A root with one third-party caveat `cid` and its (unbound) discharge.
pub(crate) fn third_party(cid: &str) -> ThirdParty {
    let key = key("root secret");
    let caveat_key = RootKey::new(format!("caveat key for {cid}"));
    let root = Macaroon::mint(&key, "http://svc/", "root-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp")
        .with_third_party("http://auth/", &caveat_key, cid)
        .expect("tp");
    let discharge = Macaroon::mint(&caveat_key, "http://auth/", cid)
        .expect("mint")
        .with_first_party("time < 2000000000")
        .expect("fp");
    ThirdParty {
        key,
        root,
        caveat_key,
        discharge,
    }
}

pub(crate) fn tp_verifier() -> Verifier<'static> {
    Verifier::new()
        .satisfy_exact("user = alice")
        .at_time(1_700_000_000)
}

//! Interop with the real `macaroon` crate 0.3.0 ("RS" in SPEC): tokens it mints we parse and
//! verify, tokens we mint it parses and verifies, in v1, v2 and v2 JSON; third-party caveats and
//! bound discharges both ways.
//!
//! Where RS has a known defect (SPEC §15) the test asserts OUR behaviour and documents the defect
//! in a comment; where RS cannot read something we write, the test asserts exactly that failure.
//!
//! Key handling: `MacaroonKey::generate(secret)` derives exactly like our `RootKey::new(secret)`
//! (`HMAC(key = "macaroons-key-generator", data = secret)`, SPEC §3.1), while
//! `MacaroonKey::from([u8; 32])` uses the bytes as the derived key, like our
//! `RootKey::from_derived`.

use macaroon::{
    ByteString, Caveat as RsCaveat, Format as RsFormat, Macaroon as RsMacaroon, MacaroonError,
    MacaroonKey, Verifier as RsVerifier,
};
use macaroon_mint::{Error, Format, Limits, Macaroon, Parsed, RootKey, Verifier, VerifyError};
use serde_json::Value;

const LOC: &str = "http://mybank/";
const SECRET: &str = "this is our super secret key; only we should know it";
const ID: &str = "we used our secret key";
const ACCOUNT: &str = "account = 3735928559";
const USER: &str = "user = alice";
const CAVEAT_SECRET: &str = "4; guaranteed random by a fair toss of the dice";
const CID: &str = "this was how we remind auth of key/pred";
const CL: &str = "http://auth.mybank/";
const DISCHARGE_CAVEAT: &str = "time < 2020-01-01T00:00";

/// The three formats both libraries support.
const FORMATS: [Format; 3] = [Format::V1, Format::V2, Format::V2Json];

// --- helpers ------------------------------------------------------------------------------------

fn init() {
    // RS requires this before any crypto (sodiumoxide); it is idempotent.
    macaroon::initialize().expect("sodiumoxide initializes");
}

fn rs_format(f: Format) -> RsFormat {
    match f {
        Format::V1 => RsFormat::V1,
        Format::V2 => RsFormat::V2,
        Format::V2Json => RsFormat::V2JSON,
        other => unreachable!("RS has no {other} format"),
    }
}

fn rs_key(secret: &str) -> MacaroonKey {
    MacaroonKey::generate(secret.as_bytes())
}

fn rs_mint(location: Option<&str>, secret: &str, id: &str, caveats: &[&str]) -> RsMacaroon {
    let mut m = RsMacaroon::create(location.map(str::to_owned), &rs_key(secret), id.into())
        .expect("RS mints");
    for c in caveats {
        m.add_first_party_caveat((*c).into());
    }
    m
}

fn rs_serialize(m: &RsMacaroon, f: Format) -> String {
    m.serialize(rs_format(f)).expect("RS serializes")
}

fn rs_verify(
    m: &RsMacaroon,
    key: &MacaroonKey,
    exact: &[&str],
    discharges: Vec<RsMacaroon>,
) -> Result<(), MacaroonError> {
    let mut v = RsVerifier::default();
    for e in exact {
        v.satisfy_exact((*e).into());
    }
    v.verify(m, key, discharges)
}

fn ours_mint(location: &str, secret: &str, id: &str, caveats: &[&str]) -> Macaroon {
    let mut m = Macaroon::mint(&RootKey::new(secret), location, id).expect("we mint");
    for c in caveats {
        m = m.with_first_party(c).expect("we add a caveat");
    }
    m
}

fn parse(text: &str) -> Parsed {
    Parsed::from_text(text, &Limits::default()).unwrap_or_else(|e| panic!("we parse {text:?}: {e}"))
}

fn verify_ours(
    key: &RootKey,
    m: &Macaroon,
    exact: &[&str],
    discharges: &[Macaroon],
) -> Result<(), Error> {
    let mut v = Verifier::new();
    for e in exact {
        v = v.satisfy_exact(e);
    }
    v.verify(key, m, discharges).map(|_| ())
}

fn is_signature_mismatch(r: &Result<(), Error>) -> bool {
    matches!(r, Err(Error::Verify(VerifyError::SignatureMismatch { .. })))
}

/// RS's caveats as (id, Some((vid, cl))) tuples.
type RsCaveatParts = (Vec<u8>, Option<(Vec<u8>, String)>);

fn rs_caveats(m: &RsMacaroon) -> Vec<RsCaveatParts> {
    m.caveats()
        .into_iter()
        .map(|c| match c {
            RsCaveat::FirstParty(fp) => (fp.predicate().0, None),
            RsCaveat::ThirdParty(tp) => (tp.id().0, Some((tp.verifier_id().0, tp.location()))),
        })
        .collect()
}

fn our_caveats(m: &Macaroon) -> Vec<RsCaveatParts> {
    m.caveats()
        .iter()
        .map(|c| {
            (
                c.id().to_vec(),
                c.verification_id().map(|vid| {
                    (
                        vid.to_vec(),
                        String::from_utf8(c.location().to_vec()).expect("UTF-8 cl"),
                    )
                }),
            )
        })
        .collect()
}

/// Asserts that our parse and RS's value hold the same fields and signature.
fn assert_same(ours: &Macaroon, rs: &RsMacaroon, what: &str) {
    assert_eq!(
        ours.identifier(),
        rs.identifier().0.as_slice(),
        "{what}: identifier"
    );
    assert_eq!(
        ours.location(),
        rs.location().unwrap_or_default().as_bytes(),
        "{what}: location"
    );
    assert_eq!(our_caveats(ours), rs_caveats(rs), "{what}: caveats");
    assert_eq!(
        &ours.signature()[..],
        &rs.signature()[..],
        "{what}: signature"
    );
}

fn b64url(bytes: &[u8]) -> String {
    use base64_engine::encode_url_nopad;
    encode_url_nopad(bytes)
}

/// A tiny URL-safe unpadded base64 encoder (the library keeps its own private).
mod base64_engine {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode_url_nopad(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }
}

// --- keys ---------------------------------------------------------------------------------------------

#[test]
fn key_derivation_matches() {
    init();
    // Same signature from the same secret: generate() derives like RootKey::new().
    let rs = rs_mint(Some(LOC), SECRET, ID, &[]);
    let ours = ours_mint(LOC, SECRET, ID, &[]);
    assert_eq!(&rs.signature()[..], &ours.signature()[..]);
    assert_eq!(
        ours.signature_hex(),
        "e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f",
        "SPEC §11.1"
    );

    // A raw 32-byte RS key is our from_derived key, not RootKey::new of the same bytes.
    let raw = [7u8; 32];
    let rs =
        RsMacaroon::create(Some(LOC.into()), &MacaroonKey::from(raw), ID.into()).expect("RS mints");
    let parsed = parse(&rs_serialize(&rs, Format::V1)).macaroon;
    verify_ours(&RootKey::from_derived(raw), &parsed, &[], &[]).expect("raw key verifies");
    assert!(is_signature_mismatch(&verify_ours(
        &RootKey::new(raw),
        &parsed,
        &[],
        &[]
    )));
}

#[test]
fn rs_debug_prints_keys_ours_redacts() {
    init();
    // RS defect (SPEC §15): `Debug` of a MacaroonKey prints the key bytes. Ours never does.
    let rs = format!("{:?}", MacaroonKey::from([0xab; 32]));
    assert!(rs.contains("171"), "RS prints the key bytes: {rs}");
    assert_eq!(
        format!("{:?}", RootKey::new("secret")),
        "RootKey(<redacted>)"
    );
    let m = ours_mint(LOC, SECRET, ID, &[]);
    assert!(!format!("{m:?}").contains(&m.signature_hex()));
}

// --- RS mints first-party, we parse and verify -----------------------------------------------------

#[test]
fn rs_mints_we_verify_in_every_format() {
    init();
    let rs = rs_mint(Some(LOC), SECRET, ID, &[ACCOUNT, USER]);
    for f in FORMATS {
        let text = rs_serialize(&rs, f);
        let parsed = parse(&text);
        assert_eq!(parsed.encoding, f.encoding(), "{f}");
        let ours = parsed.macaroon;
        assert_same(&ours, &rs, &format!("{f}"));

        let key = RootKey::new(SECRET);
        verify_ours(&key, &ours, &[ACCOUNT, USER], &[]).unwrap_or_else(|e| panic!("{f}: {e}"));
        // Wrong key: signature mismatch.
        assert!(
            is_signature_mismatch(&verify_ours(
                &RootKey::new("this is not the key"),
                &ours,
                &[ACCOUNT, USER],
                &[]
            )),
            "{f}"
        );
        // A caveat nobody satisfies: named in the error.
        match verify_ours(&key, &ours, &[ACCOUNT], &[]) {
            Err(Error::Verify(VerifyError::CaveatNotSatisfied { index, caveat, .. })) => {
                assert_eq!((index, caveat.as_slice()), (1, USER.as_bytes()), "{f}");
            }
            other => panic!("{f}: expected CaveatNotSatisfied, got {other:?}"),
        }
        // RS agrees on all three outcomes.
        rs_verify(&rs, &rs_key(SECRET), &[ACCOUNT, USER], vec![]).expect("RS verifies its own");
    }
}

#[test]
fn rs_padded_base64_is_read() {
    init();
    // RS defect (SPEC §6.3, §15): it writes URL-safe base64 WITH `=` padding; libmacaroons and
    // the others write none. We read it, and re-emit the canonical unpadded text.
    // SPEC §11.3 (TV3) "padding case" `test = acaveat`: RS's v1 is the published text plus `==`.
    // (SPEC §11.3 puts the note "RS: same + `=`" on the `test = caveat` row; that text is a
    // multiple of 4 characters, so RS writes it unchanged — asserted below.)
    let published = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxN2NpZCB0ZXN0ID0gYWNhdmVhdAowMDJmc2lnbmF0dXJlIJRJ_V3WNJQnqlVq5eez7spnltwU_AXs8NIRY739sHooCg";
    let rs = rs_mint(Some(LOC), SECRET, ID, &["test = acaveat"]);
    let text = rs_serialize(&rs, Format::V1);
    assert_eq!(text, format!("{published}=="), "RS pads");
    let ours = parse(&text).macaroon;
    assert_eq!(
        ours.signature_hex(),
        "9449fd5dd6349427aa556ae5e7b3eeca6796dc14fc05ecf0d21163bdfdb07a28"
    );
    assert_eq!(ours.serialize(Format::V1).expect("v1"), published);

    // v2: padded too; we read it and write the same bytes without padding.
    let text = rs_serialize(&rs, Format::V2);
    let unpadded = ours.serialize(Format::V2).expect("v2");
    let padding = "=".repeat((4 - unpadded.len() % 4) % 4);
    assert!(!padding.is_empty(), "this vector needs padding in v2 too");
    assert_eq!(text, format!("{unpadded}{padding}"), "RS pads v2");
    assert_eq!(parse(&text).macaroon, ours);

    // `test = caveat` needs no padding: RS's v1 equals the published TV3 text exactly.
    let rs = rs_mint(Some(LOC), SECRET, ID, &["test = caveat"]);
    assert_eq!(
        rs_serialize(&rs, Format::V1),
        "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxNmNpZCB0ZXN0ID0gY2F2ZWF0CjAwMmZzaWduYXR1cmUgGXusegRK8zMyhluSZuJtSTvdZopmDkTYjOGpmMI9vWcK"
    );
}

#[test]
fn rs_json_nulls_and_padded_fields_are_read() {
    init();
    // RS defects (SPEC §8.1, §15): its v2 JSON writes `null` for every absent field, `i64` in the
    // STANDARD alphabet with padding and `s64` URL-safe with padding. We treat null as absent and
    // read either alphabet, padded or not.
    let rs = rs_mint(Some(LOC), SECRET, ID, &[ACCOUNT]);
    let text = rs_serialize(&rs, Format::V2Json);
    let v: Value = serde_json::from_str(&text).expect("RS writes JSON");
    assert_eq!(v["i"], Value::Null, "RS writes i: null");
    assert!(v.as_object().is_some_and(|o| o.contains_key("i")));
    assert_eq!(v["l64"], Value::Null);
    assert_eq!(v["s"], Value::Null);
    assert_eq!(v["c"][0]["i"], Value::Null);
    assert_eq!(v["c"][0]["v64"], Value::Null);
    let s64 = v["s64"].as_str().expect("s64 string");
    assert!(s64.ends_with('='), "RS pads s64: {s64}");
    let i64 = v["i64"].as_str().expect("i64 string");
    assert!(i64.ends_with('='), "RS pads i64: {i64}");

    let ours = parse(&text).macaroon;
    assert_same(&ours, &rs, "v2j");
    verify_ours(&RootKey::new(SECRET), &ours, &[ACCOUNT], &[]).expect("verifies");
    // Re-emitted in our canonical form (SPEC §8.3): no nulls, plain strings, unpadded s64.
    assert_eq!(
        ours.serialize(Format::V2Json).expect("v2j"),
        r#"{"v":2,"l":"http://mybank/","i":"we used our secret key","c":[{"i":"account = 3735928559"}],"s64":"Hv5HY_KQ284MHQhHc2fhH07uRWpkkzz2YteXctu4ISg"}"#
    );
}

#[test]
fn rs_standard_alphabet_i64_with_plus_and_slash_is_read() {
    init();
    // RS writes i64 in the standard alphabet; a binary identifier whose base64 has `+` or `/`
    // must be read as such. Find such an identifier deterministically.
    let id: Vec<u8> = (0u8..=255)
        .map(|b| vec![0xfb, 0xff, b])
        .find(|id| {
            let text = b64url(id);
            text.contains('-') && text.contains('_')
        })
        .expect("an identifier with both characters");
    let rs =
        RsMacaroon::create(Some(LOC.into()), &rs_key(SECRET), id.clone().into()).expect("RS mints");
    let text = rs_serialize(&rs, Format::V2Json);
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let i64 = v["i64"].as_str().expect("i64");
    assert!(
        i64.contains('+') && i64.contains('/'),
        "standard alphabet: {i64}"
    );
    let ours = parse(&text).macaroon;
    assert_eq!(ours.identifier(), id.as_slice());
    verify_ours(&RootKey::new(SECRET), &ours, &[], &[]).expect("verifies");
}

#[test]
fn rs_v1_without_location_packet_is_read() {
    init();
    // RS defect (SPEC §6.2, §15): with `location: None` its v1 has no `location` packet at all
    // (libmacaroons and Go reject that). We accept it as an empty location, and re-emit the
    // packet (empty) so every peer can read our output.
    let rs = rs_mint(None, SECRET, ID, &[ACCOUNT]);
    let text = rs_serialize(&rs, Format::V1);
    assert!(
        text.starts_with("MDAyNmlkZW50aWZpZXIg"),
        "starts with the identifier: {text}"
    );
    let ours = parse(&text).macaroon;
    assert_eq!(ours.location(), b"");
    assert_eq!(ours.identifier(), ID.as_bytes());
    verify_ours(&RootKey::new(SECRET), &ours, &[ACCOUNT], &[]).expect("verifies");
    let reemitted = ours.serialize(Format::V1).expect("v1");
    assert!(
        reemitted.starts_with("MDAwZWxvY2F0aW9uIAo"),
        "empty location packet: {reemitted}"
    );
    // RS reads our re-emitted text (location Some("")), and it still verifies there.
    let back = RsMacaroon::deserialize(&reemitted).expect("RS reads it");
    assert_eq!(back.location().as_deref(), Some(""));
    rs_verify(&back, &rs_key(SECRET), &[ACCOUNT], vec![]).expect("RS verifies");

    // v2 and v2 JSON without a location.
    for f in [Format::V2, Format::V2Json] {
        let text = rs_serialize(&rs, f);
        let ours = parse(&text).macaroon;
        assert_eq!(ours.location(), b"", "{f}");
        verify_ours(&RootKey::new(SECRET), &ours, &[ACCOUNT], &[]).expect("verifies");
    }
    // RS writes "l": null in v2 JSON for no location.
    let v: Value = serde_json::from_str(&rs_serialize(&rs, Format::V2Json)).expect("JSON");
    assert_eq!(v["l"], Value::Null);
}

#[test]
fn rs_tv4_vectors_parse_on_both_sides() {
    init();
    // SPEC §11.4 (TV4): RS and we produce the same signature for the libmacaroons unit vectors.
    let rs = rs_mint(
        Some("http://example.org/"),
        "this is the key",
        "keyid",
        &[ACCOUNT, USER],
    );
    assert_eq!(
        hex::encode(&rs.signature()[..]),
        "4be967cd1ea0c6b26baf6a4a94ee9b05b15886da0ba85e8c42a93c8d0e125efc"
    );
    let v2j = r#"{"v":2,"l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}],"s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw"}"#;
    let ours = ours_mint(
        "http://example.org/",
        "this is the key",
        "keyid",
        &[ACCOUNT, USER],
    );
    assert_eq!(ours.serialize(Format::V2Json).expect("v2j"), v2j);
    let from_rs = RsMacaroon::deserialize(v2j).expect("RS reads the published v2 JSON");
    assert_eq!(from_rs, rs);
}

// --- we mint first-party, RS parses and verifies ----------------------------------------------------

#[test]
fn we_mint_rs_verifies_in_every_format() {
    init();
    let ours = ours_mint(LOC, SECRET, ID, &[ACCOUNT, USER]);
    for f in FORMATS {
        let text = ours.serialize(f).expect("we serialize");
        let rs = RsMacaroon::deserialize(&text).unwrap_or_else(|e| panic!("RS reads our {f}: {e}"));
        assert_same(&ours, &rs, &format!("{f}"));
        rs_verify(&rs, &rs_key(SECRET), &[ACCOUNT, USER], vec![])
            .unwrap_or_else(|e| panic!("RS verifies our {f}: {e}"));
        assert!(
            matches!(
                rs_verify(&rs, &rs_key("wrong"), &[ACCOUNT, USER], vec![]),
                Err(MacaroonError::InvalidSignature)
            ),
            "{f}"
        );
        assert!(
            matches!(
                rs_verify(&rs, &rs_key(SECRET), &[ACCOUNT], vec![]),
                Err(MacaroonError::CaveatNotSatisfied(_))
            ),
            "{f}"
        );
        // RS's own re-serialization of our token is read back by us unchanged.
        let round = parse(&rs_serialize(&rs, f)).macaroon;
        assert_eq!(round, ours, "{f}");
    }
}

#[test]
fn we_mint_with_empty_location_rs_verifies() {
    init();
    let ours = ours_mint("", SECRET, ID, &[ACCOUNT]);
    for f in FORMATS {
        let text = ours.serialize(f).expect("we serialize");
        let rs = RsMacaroon::deserialize(&text).unwrap_or_else(|e| panic!("RS reads our {f}: {e}"));
        // v1: we always write the location packet (empty), RS reads Some(""); v2 and v2 JSON
        // omit an empty location, RS reads None. Either way the signature holds.
        assert_eq!(rs.location().unwrap_or_default(), "", "{f}");
        rs_verify(&rs, &rs_key(SECRET), &[ACCOUNT], vec![]).expect("RS verifies");
    }
}

#[test]
fn we_mint_from_derived_key_rs_verifies_with_raw_key() {
    init();
    let raw = [0x42u8; 32];
    let ours = Macaroon::mint(&RootKey::from_derived(raw), LOC, ID)
        .expect("mint")
        .with_first_party(ACCOUNT)
        .expect("caveat");
    let rs = RsMacaroon::deserialize(ours.serialize(Format::V2).expect("v2")).expect("RS reads");
    rs_verify(&rs, &MacaroonKey::from(raw), &[ACCOUNT], vec![]).expect("RS raw key verifies");
    assert!(matches!(
        rs_verify(&rs, &MacaroonKey::generate(&raw), &[ACCOUNT], vec![]),
        Err(MacaroonError::InvalidSignature)
    ));
}

#[test]
fn rs_cannot_read_empty_identifier() {
    init();
    // RS limitation: it refuses an empty identifier (IncompleteMacaroon) in every format, though
    // the format allows it (SPEC §1). We mint and read it; RS fails precisely there.
    let ours = ours_mint(LOC, SECRET, "", &[ACCOUNT]);
    for f in FORMATS {
        let text = ours.serialize(f).expect("we serialize");
        assert_eq!(parse(&text).macaroon, ours, "{f}");
        match RsMacaroon::deserialize(&text) {
            Err(MacaroonError::IncompleteMacaroon(what)) => {
                assert_eq!(what, "no identifier found", "{f}");
            }
            other => panic!("{f}: expected IncompleteMacaroon, got {other:?}"),
        }
    }
}

#[test]
fn rs_cannot_read_our_url_safe_i64() {
    init();
    // RS defect (SPEC §8.1, §8.3, §15): it reads `i64`/`v64` only in the standard alphabet. We
    // write URL-safe (as libmacaroons, pymacaroons, Go and js do), so RS cannot read our v2 JSON
    // of a binary identifier whose base64 contains `-` or `_`. SPEC §11.3's binary identifier is
    // such a case. v1 and v2 binary interoperate.
    let id = hex::decode("00ada8faad00abdf9b38d917c3b932ec702e8422cef6185a30c7").expect("hex");
    let ours = Macaroon::mint(&RootKey::new(SECRET), LOC, &id)
        .expect("mint")
        .with_first_party(ACCOUNT)
        .expect("caveat");
    let text = ours.serialize(Format::V2Json).expect("v2j");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        v["i64"], "AK2o-q0Aq9-bONkXw7ky7HAuhCLO9hhaMMc",
        "SPEC §11.3"
    );
    match RsMacaroon::deserialize(&text) {
        Err(MacaroonError::DeserializationError(msg)) => {
            assert!(msg.contains("base64"), "fails decoding base64: {msg}");
        }
        other => panic!("expected RS to fail on URL-safe i64, got {other:?}"),
    }
    // The same macaroon in v1 and v2: RS reads and verifies it.
    for f in [Format::V1, Format::V2] {
        let rs = RsMacaroon::deserialize(ours.serialize(f).expect("ser")).expect("RS reads");
        assert_eq!(rs.identifier().0, id, "{f}");
        rs_verify(&rs, &rs_key(SECRET), &[ACCOUNT], vec![]).expect("RS verifies");
    }
}

#[test]
fn rs_requires_v_and_c_in_json() {
    init();
    // RS defect (SPEC §8.2, §15): v2 JSON without "v" (pymacaroons writes none) or without "c"
    // (pymacaroons and Go omit it when there are no caveats) is an error for RS. We accept both.
    let no_v = r#"{"l":"http://mybank/","i":"we used our secret key","c":[{"i":"account = 3735928559"}],"s64":"Hv5HY_KQ284MHQhHc2fhH07uRWpkkzz2YteXctu4ISg"}"#;
    let no_c = r#"{"v":2,"l":"http://mybank/","i":"we used our secret key","s64":"49ngKQhSbEwAOa4VEUEV2X_daL8ro3mzQqrw9hfQVS8"}"#;
    let key = RootKey::new(SECRET);
    verify_ours(&key, &parse(no_v).macaroon, &[ACCOUNT], &[]).expect("we read JSON without v");
    let m = parse(no_c).macaroon;
    assert!(m.caveats().is_empty());
    verify_ours(&key, &m, &[], &[]).expect("we read JSON without c");
    for text in [no_v, no_c] {
        assert!(
            matches!(
                RsMacaroon::deserialize(text),
                Err(MacaroonError::DeserializationError(_))
            ),
            "RS rejects {text}"
        );
    }
    // What we emit always carries both, so RS reads our JSON of a caveat-less macaroon.
    let ours = ours_mint(LOC, SECRET, ID, &[]);
    let text = ours.serialize(Format::V2Json).expect("v2j");
    assert!(
        text.starts_with(r#"{"v":2,"#) && text.contains(r#""c":[]"#),
        "{text}"
    );
    let rs = RsMacaroon::deserialize(&text).expect("RS reads our caveat-less JSON");
    rs_verify(&rs, &rs_key(SECRET), &[], vec![]).expect("RS verifies");
}

// --- third-party caveats and discharges ---------------------------------------------------------------

/// RS: root with `account` and a third-party caveat; discharge with one caveat, bound by RS.
fn rs_root_and_bound_discharge() -> (RsMacaroon, RsMacaroon, RsMacaroon) {
    let mut root = rs_mint(Some(LOC), SECRET, ID, &[ACCOUNT]);
    root.add_third_party_caveat(CL, &rs_key(CAVEAT_SECRET), CID.into());
    let unbound = rs_mint(Some(CL), CAVEAT_SECRET, CID, &[DISCHARGE_CAVEAT]);
    let mut bound = unbound.clone();
    root.bind(&mut bound);
    (root, unbound, bound)
}

#[test]
fn rs_third_party_and_bound_discharge_we_verify() {
    init();
    let (root, unbound, bound) = rs_root_and_bound_discharge();
    rs_verify(
        &root,
        &rs_key(SECRET),
        &[ACCOUNT, DISCHARGE_CAVEAT],
        vec![bound.clone()],
    )
    .expect("RS verifies its own");
    let key = RootKey::new(SECRET);
    for f in FORMATS {
        for g in FORMATS {
            let r = parse(&rs_serialize(&root, f)).macaroon;
            let d = parse(&rs_serialize(&bound, g)).macaroon;
            assert_same(&r, &root, "root");
            assert_same(&d, &bound, "discharge");
            assert_eq!(r.caveats()[1].verification_id().map(<[u8]>::len), Some(72));
            verify_ours(
                &key,
                &r,
                &[ACCOUNT, DISCHARGE_CAVEAT],
                std::slice::from_ref(&d),
            )
            .unwrap_or_else(|e| panic!("root {f}, discharge {g}: {e}"));
            // Without the discharge, or with it unbound: refused.
            assert!(matches!(
                verify_ours(&key, &r, &[ACCOUNT, DISCHARGE_CAVEAT], &[]),
                Err(Error::Verify(VerifyError::DischargeMissing { .. }))
            ));
            let u = parse(&rs_serialize(&unbound, g)).macaroon;
            assert!(is_signature_mismatch(&verify_ours(
                &key,
                &r,
                &[ACCOUNT, DISCHARGE_CAVEAT],
                std::slice::from_ref(&u)
            )));
            // Our binding of RS's unbound discharge equals RS's binding.
            assert_eq!(u.bind_to(&r), d, "root {f}, discharge {g}");
        }
    }
}

#[test]
fn we_bind_rs_discharge_and_rs_binds_ours() {
    init();
    let (root, unbound, _) = rs_root_and_bound_discharge();
    // We bind RS's discharge; RS verifies with it.
    let our_root = parse(&rs_serialize(&root, Format::V2)).macaroon;
    let our_unbound = parse(&rs_serialize(&unbound, Format::V1)).macaroon;
    let our_bound = our_unbound.bind_to(&our_root);
    let rs_bound =
        RsMacaroon::deserialize(our_bound.serialize(Format::V1).expect("v1")).expect("RS reads");
    rs_verify(
        &root,
        &rs_key(SECRET),
        &[ACCOUNT, DISCHARGE_CAVEAT],
        vec![rs_bound],
    )
    .expect("RS accepts our binding");

    // RS binds our discharge; we verify with it.
    let ours_root = ours_mint(LOC, SECRET, ID, &[ACCOUNT])
        .with_third_party(CL, &RootKey::new(CAVEAT_SECRET), CID)
        .expect("third party");
    let ours_discharge = ours_mint(CL, CAVEAT_SECRET, CID, &[DISCHARGE_CAVEAT]);
    let rs_root = RsMacaroon::deserialize(ours_root.serialize(Format::V2).expect("v2"))
        .expect("RS reads our root");
    let mut rs_discharge =
        RsMacaroon::deserialize(ours_discharge.serialize(Format::V2).expect("v2"))
            .expect("RS reads our discharge");
    rs_root.bind(&mut rs_discharge);
    let bound = parse(&rs_serialize(&rs_discharge, Format::V1)).macaroon;
    assert_eq!(bound, ours_discharge.bind_to(&ours_root));
    verify_ours(
        &RootKey::new(SECRET),
        &ours_root,
        &[ACCOUNT, DISCHARGE_CAVEAT],
        &[bound],
    )
    .expect("we accept RS's binding");
}

#[test]
fn we_mint_third_party_rs_verifies_v1_v2() {
    init();
    // Includes an empty caveat location: we write `cl` (v1) / `01 00` (v2) for it anyway,
    // because RS rejects a vid without a location (SPEC §6.2, §7.2).
    for cl in [CL, ""] {
        let root = ours_mint(LOC, SECRET, ID, &[ACCOUNT])
            .with_third_party(cl, &RootKey::new(CAVEAT_SECRET), CID)
            .expect("third party");
        let discharge = ours_mint(cl, CAVEAT_SECRET, CID, &[DISCHARGE_CAVEAT]).bind_to(&root);
        verify_ours(
            &RootKey::new(SECRET),
            &root,
            &[ACCOUNT, DISCHARGE_CAVEAT],
            std::slice::from_ref(&discharge),
        )
        .expect("we verify our own");
        for f in [Format::V1, Format::V2] {
            for g in [Format::V1, Format::V2] {
                let rs_root = RsMacaroon::deserialize(root.serialize(f).expect("ser"))
                    .unwrap_or_else(|e| panic!("RS reads our {f} root (cl {cl:?}): {e}"));
                let rs_discharge = RsMacaroon::deserialize(discharge.serialize(g).expect("ser"))
                    .unwrap_or_else(|e| panic!("RS reads our {g} discharge: {e}"));
                assert_same(&root, &rs_root, "root");
                assert_same(&discharge, &rs_discharge, "discharge");
                rs_verify(
                    &rs_root,
                    &rs_key(SECRET),
                    &[ACCOUNT, DISCHARGE_CAVEAT],
                    vec![rs_discharge.clone()],
                )
                .unwrap_or_else(|e| panic!("RS verifies root {f}, discharge {g}: {e}"));
                // RS agrees a missing discharge fails.
                assert!(rs_verify(
                    &rs_root,
                    &rs_key(SECRET),
                    &[ACCOUNT, DISCHARGE_CAVEAT],
                    vec![]
                )
                .is_err());
            }
        }
    }
}

/// Our root with a third-party caveat under a deterministic nonce derived from `n`.
fn ours_root_with_nonce(n: u8) -> Macaroon {
    let mut nonce = [0u8; 24];
    nonce[0] = n;
    ours_mint(LOC, SECRET, ID, &[ACCOUNT])
        .with_third_party_nonce(CL, &RootKey::new(CAVEAT_SECRET), CID, nonce)
        .expect("third party")
}

#[test]
fn rs_cannot_read_our_url_safe_v64() {
    init();
    // RS defect (SPEC §8.3, §15): RS decodes `v64` in the standard alphabet only. A 72-byte vid
    // is 96 base64 characters with no padding, so RS reads our v2 JSON exactly when the vid's
    // text happens to have neither `-` nor `_` (about 1 in 21 random nonces), and fails
    // otherwise. Both cases, with deterministic nonces:
    let vid_text = |m: &Macaroon| b64url(m.caveats()[1].verification_id().expect("vid"));
    let failing = (0u8..=255)
        .map(ours_root_with_nonce)
        .find(|m| vid_text(m).contains(['-', '_']))
        .expect("a vid with a URL-safe character");
    let readable = (0u8..=255)
        .map(ours_root_with_nonce)
        .find(|m| !vid_text(m).contains(['-', '_']))
        .expect("a vid without URL-safe characters");

    let text = failing.serialize(Format::V2Json).expect("v2j");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        v["c"][1]["v64"],
        vid_text(&failing),
        "we write URL-safe v64"
    );
    match RsMacaroon::deserialize(&text) {
        Err(MacaroonError::DeserializationError(msg)) => {
            assert!(msg.contains("base64"), "fails decoding base64: {msg}");
        }
        other => panic!("expected RS to fail on URL-safe v64, got {other:?}"),
    }
    // We read our own and RS's (standard alphabet) spelling of the same token.
    assert_eq!(parse(&text).macaroon, failing);

    let rs = RsMacaroon::deserialize(readable.serialize(Format::V2Json).expect("v2j"))
        .expect("RS reads a vid without - or _");
    assert_same(&readable, &rs, "v2j");
    let discharge = ours_mint(CL, CAVEAT_SECRET, CID, &[]).bind_to(&readable);
    let rs_discharge = RsMacaroon::deserialize(discharge.serialize(Format::V2Json).expect("v2j"))
        .expect("RS reads the first-party discharge");
    rs_verify(&rs, &rs_key(SECRET), &[ACCOUNT], vec![rs_discharge]).expect("RS verifies");

    // The same failing token in v1 and v2 is fine for RS.
    for f in [Format::V1, Format::V2] {
        let rs = RsMacaroon::deserialize(failing.serialize(f).expect("ser")).expect("RS reads");
        assert_same(&failing, &rs, &format!("{f}"));
    }
}

#[test]
fn rs_json_third_party_with_standard_v64_is_read() {
    init();
    // RS writes v64 in the standard alphabet, padded (72 bytes need no padding) and `l` plain.
    let (root, _, bound) = rs_root_and_bound_discharge();
    let text = rs_serialize(&root, Format::V2Json);
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let v64 = v["c"][1]["v64"].as_str().expect("v64");
    assert_eq!(v64.len(), 96);
    assert!(!v64.contains(['-', '_']), "standard alphabet: {v64}");
    assert_eq!(v["c"][1]["l"], CL);
    let ours = parse(&text).macaroon;
    assert_same(&ours, &root, "v2j");
    let d = parse(&rs_serialize(&bound, Format::V2Json)).macaroon;
    verify_ours(
        &RootKey::new(SECRET),
        &ours,
        &[ACCOUNT, DISCHARGE_CAVEAT],
        &[d],
    )
    .expect("verifies");
}

#[test]
fn nested_discharges_bound_to_root_both_ways() {
    init();
    // Root -> discharge A (itself with a third-party caveat) -> discharge B; both bound to the
    // ROOT (SPEC §4: LM, GO, PY, RS and ERL agree).
    let ka = "key for a";
    let kb = "key for b";
    let mut root = rs_mint(Some(LOC), SECRET, ID, &[ACCOUNT]);
    root.add_third_party_caveat("https://a/", &rs_key(ka), "cid-a".into());
    let mut a = rs_mint(Some("https://a/"), ka, "cid-a", &["a-pred"]);
    a.add_third_party_caveat("https://b/", &rs_key(kb), "cid-b".into());
    let mut b = rs_mint(Some("https://b/"), kb, "cid-b", &["b-pred"]);
    root.bind(&mut a);
    root.bind(&mut b);
    let exact = [ACCOUNT, "a-pred", "b-pred"];
    rs_verify(&root, &rs_key(SECRET), &exact, vec![a.clone(), b.clone()]).expect("RS verifies");

    // We verify RS's tree, discharges in either order.
    let r = parse(&rs_serialize(&root, Format::V1)).macaroon;
    let pa = parse(&rs_serialize(&a, Format::V2)).macaroon;
    let pb = parse(&rs_serialize(&b, Format::V2Json)).macaroon;
    let key = RootKey::new(SECRET);
    verify_ours(&key, &r, &exact, &[pa.clone(), pb.clone()]).expect("we verify RS's tree");
    verify_ours(&key, &r, &exact, &[pb.clone(), pa.clone()]).expect("order does not matter");

    // And RS verifies the same tree minted by us.
    let our_root = ours_mint(LOC, SECRET, ID, &[ACCOUNT])
        .with_third_party("https://a/", &RootKey::new(ka), "cid-a")
        .expect("tp");
    let our_a = ours_mint("https://a/", ka, "cid-a", &["a-pred"])
        .with_third_party("https://b/", &RootKey::new(kb), "cid-b")
        .expect("tp")
        .bind_to(&our_root);
    let our_b = ours_mint("https://b/", kb, "cid-b", &["b-pred"]).bind_to(&our_root);
    verify_ours(&key, &our_root, &exact, &[our_a.clone(), our_b.clone()]).expect("ours");
    let rs = |m: &Macaroon, f| RsMacaroon::deserialize(m.serialize(f).expect("ser")).expect("RS");
    rs_verify(
        &rs(&our_root, Format::V1),
        &rs_key(SECRET),
        &exact,
        vec![rs(&our_a, Format::V2), rs(&our_b, Format::V1)],
    )
    .expect("RS verifies our tree");
}

#[test]
fn unused_discharge_is_an_error_on_both_sides() {
    init();
    // RS and we both refuse a discharge no caveat uses (SPEC §5.2); we can be told to ignore it.
    let (root, _, bound) = rs_root_and_bound_discharge();
    let extra = rs_mint(Some(CL), "other", "spare", &[]);
    let mut extra_bound = extra.clone();
    root.bind(&mut extra_bound);
    assert!(matches!(
        rs_verify(
            &root,
            &rs_key(SECRET),
            &[ACCOUNT, DISCHARGE_CAVEAT],
            vec![bound.clone(), extra_bound.clone()]
        ),
        Err(MacaroonError::DischargeNotUsed)
    ));
    let r = parse(&rs_serialize(&root, Format::V1)).macaroon;
    let d = parse(&rs_serialize(&bound, Format::V1)).macaroon;
    let e = parse(&rs_serialize(&extra_bound, Format::V1)).macaroon;
    let discharges = [d, e];
    let key = RootKey::new(SECRET);
    match verify_ours(&key, &r, &[ACCOUNT, DISCHARGE_CAVEAT], &discharges) {
        Err(Error::Verify(VerifyError::DischargeUnused { index, identifier })) => {
            assert_eq!((index, identifier.as_slice()), (1, &b"spare"[..]));
        }
        other => panic!("expected DischargeUnused, got {other:?}"),
    }
    Verifier::new()
        .satisfy_exact(ACCOUNT)
        .satisfy_exact(DISCHARGE_CAVEAT)
        .ignore_unused_discharges()
        .verify(&key, &r, &discharges)
        .expect("ignored on request");
}

#[test]
fn third_party_signature_matches_tv2_vector_through_rs() {
    init();
    // SPEC §11.2: our zero-nonce TV2 root is read by RS, which re-folds the same signature when
    // verifying it with the TV2 discharge (so RS decrypts our vid and agrees on H2 vid-first).
    let key = "this is a different super-secret key; never use the same secret twice";
    let root = Macaroon::mint(&RootKey::new(key), LOC, "we used our other secret key")
        .expect("mint")
        .with_first_party(ACCOUNT)
        .expect("caveat")
        .with_third_party_nonce(CL, &RootKey::new(CAVEAT_SECRET), CID, [0; 24])
        .expect("tp");
    assert_eq!(
        root.signature_hex(),
        "d27db2fd1f22760e4c3dae8137e2d8fc1df6c0741c18aed4b97256bf78d1f55c"
    );
    let discharge = ours_mint(CL, CAVEAT_SECRET, CID, &[DISCHARGE_CAVEAT]).bind_to(&root);
    assert_eq!(
        discharge.signature_hex(),
        "d115ef1c133b1126978d5ab27f69d99ba9d0468cd6c1b7e47b8c1c59019cb019"
    );
    let rs_root = RsMacaroon::deserialize(root.serialize(Format::V1).expect("v1")).expect("RS");
    let rs_d = RsMacaroon::deserialize(discharge.serialize(Format::V2).expect("v2")).expect("RS");
    rs_verify(
        &rs_root,
        &rs_key(key),
        &[ACCOUNT, DISCHARGE_CAVEAT],
        vec![rs_d],
    )
    .expect("RS verifies TV2");
}

#[test]
fn rs_byte_string_helpers_agree() {
    init();
    // RS identifiers are bytes: a non-UTF-8 identifier round-trips through v1 and v2 both ways.
    let id: &[u8] = &[0xff, 0x00, 0xfe, b'x'];
    let rs = RsMacaroon::create(Some(LOC.into()), &rs_key(SECRET), ByteString::from(id))
        .expect("RS mints");
    for f in [Format::V1, Format::V2] {
        let ours = parse(&rs_serialize(&rs, f)).macaroon;
        assert_eq!(ours.identifier(), id, "{f}");
        verify_ours(&RootKey::new(SECRET), &ours, &[], &[]).expect("verifies");
        let back = RsMacaroon::deserialize(ours.serialize(f).expect("ser")).expect("RS reads");
        assert_eq!(back, rs, "{f}");
    }
}

#[test]
fn rs_third_party_with_empty_location_is_read() {
    init();
    // RS always writes a location for a third-party caveat (`cl ` / `01 00` / `"l":""`), even
    // an empty one; we read it as a third-party caveat with an empty location in every format.
    let mut root = rs_mint(Some(LOC), SECRET, ID, &[]);
    root.add_third_party_caveat("", &rs_key(CAVEAT_SECRET), CID.into());
    let mut discharge = rs_mint(None, CAVEAT_SECRET, CID, &[]);
    root.bind(&mut discharge);
    for f in FORMATS {
        let r = parse(&rs_serialize(&root, f)).macaroon;
        assert_same(&r, &root, &format!("{f}"));
        assert!(r.caveats()[0].is_third_party(), "{f}");
        assert_eq!(r.caveats()[0].location(), b"", "{f}");
        let d = parse(&rs_serialize(&discharge, f)).macaroon;
        verify_ours(&RootKey::new(SECRET), &r, &[], &[d]).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn rs_writes_a_wrapped_v1_header_for_an_oversized_packet() {
    init();
    // RS defect (SPEC §6.2): a v1 packet over 65,535 bytes gets its length header wrapped
    // modulo 0x10000 instead of an error. A 65,530-byte caveat makes a 65,539-byte `cid`
    // packet, written with header `0003`. We reject that text with a v1 error at the packet
    // (byte 66 = 28-byte location packet + 38-byte identifier packet), and refuse to write
    // such a packet ourselves (SPEC §11.3: 65,526 is the largest cid).
    let big = "x".repeat(65_530);
    let rs = rs_mint(Some(LOC), SECRET, ID, &[&big]);
    let text = rs_serialize(&rs, Format::V1);
    match Macaroon::parse(&text) {
        Err(Error::Decode(e)) => {
            assert_eq!(e.layer.to_string(), "v1", "{e}");
            assert_eq!(e.offset, 66, "{e}");
        }
        other => panic!("expected a v1 decode error, got {other:?}"),
    }
    let ours = ours_mint(LOC, SECRET, ID, &[&big]);
    assert!(matches!(ours.serialize(Format::V1), Err(Error::Encode(_))));
    // v2 has no such limit below 65,535: both sides read each other's v2.
    let from_rs = parse(&rs_serialize(&rs, Format::V2)).macaroon;
    assert_eq!(from_rs, ours);
    let back = RsMacaroon::deserialize(ours.serialize(Format::V2).expect("v2")).expect("RS");
    assert_eq!(back, rs);
    // The largest cid that fits: 65,526 bytes, header `ffff`, read by RS.
    let max = ours_mint(LOC, SECRET, ID, &[&"x".repeat(65_526)]);
    let text = max.serialize(Format::V1).expect("fits exactly");
    let rs = RsMacaroon::deserialize(&text).expect("RS reads the largest v1 packet");
    assert_same(&max, &rs, "v1 max");
}

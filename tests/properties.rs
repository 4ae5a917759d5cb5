//! Property tests (issue #6): every format round-trips arbitrary bytes; attenuation never repairs
//! a failing verification; any change to a signed field fails with the error the algorithm of
//! SPEC §5.1 predicts; discharge sets behave as §5.2 says whatever their order; truncated and
//! spliced tokens never panic and report offsets inside the input.
//!
//! Strategies keep fields small so the default 256 cases run quickly in debug builds; only the
//! truncation property (which parses every prefix of seven encodings) bounds its case count.

mod common;

use common::*;
use macaroon_mint::{
    base62_escape, base62_unescape, DecodeErrorKind, Encoding, Error, Format, Layer, LimitError,
    Limits, Macaroon, MacaroonRole, RootKey, Verifier, VerifyError,
};
use macaroon_mint::{Inspection, Parsed};
use proptest::collection::vec;
use proptest::prelude::*;

const FORMATS: [Format; 4] = [Format::V1, Format::V2, Format::V2Json, Format::Onedata];

/// The reason the verifier gives when a third-party caveat's vid does not open (SPEC §5.1).
const VID_DOES_NOT_OPEN: &str = "third-party caveat's verification id does not open";

/// Bytes that stress every format: JSON escapes, base64/base62 alphabet, detection characters,
/// control bytes, NUL and bytes that are never valid UTF-8.
const TRICKY: &[u8] = b"\0\x01\n\r\t \"\\/{}[]:,0123456789-_+=Ag\x7f\x80\xc3\xff";

// ---------------------------------------------------------------------------------------------
// Strategies and builders
// ---------------------------------------------------------------------------------------------

/// Arbitrary field bytes: binary (NUL, non-UTF-8), any Unicode text, tricky characters, empty.
fn arb_bytes(max: usize) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..=max),
        2 => proptest::string::string_regex(&format!("(?s).{{0,{max}}}"))
            .expect("regex")
            .prop_map(String::into_bytes),
        2 => vec(proptest::sample::select(TRICKY), 0..=max),
        1 => Just(Vec::new()),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
enum CaveatSpec {
    First(Vec<u8>),
    Third {
        location: Vec<u8>,
        secret: Vec<u8>,
        id: Vec<u8>,
        nonce: [u8; 24],
    },
}

#[derive(Debug, Clone)]
struct Spec {
    secret: Vec<u8>,
    location: Vec<u8>,
    identifier: Vec<u8>,
    caveats: Vec<CaveatSpec>,
}

fn arb_caveat() -> impl Strategy<Value = CaveatSpec> {
    prop_oneof![
        3 => arb_bytes(24).prop_map(CaveatSpec::First),
        1 => (arb_bytes(16), vec(any::<u8>(), 0..8), arb_bytes(16), any::<[u8; 24]>()).prop_map(
            |(location, secret, id, nonce)| CaveatSpec::Third {
                location,
                secret,
                id,
                nonce,
            }
        ),
    ]
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        vec(any::<u8>(), 0..40),
        arb_bytes(24),
        arb_bytes(24),
        vec(arb_caveat(), 0..6),
    )
        .prop_map(|(secret, location, identifier, caveats)| Spec {
            secret,
            location,
            identifier,
            caveats,
        })
}

fn build(spec: &Spec) -> (RootKey, Macaroon) {
    let key = RootKey::new(&spec.secret);
    let mut m = Macaroon::mint(&key, &spec.location, &spec.identifier).expect("mint");
    for c in &spec.caveats {
        m = match c {
            CaveatSpec::First(p) => m.with_first_party(p).expect("first party"),
            CaveatSpec::Third {
                location,
                secret,
                id,
                nonce,
            } => m
                .with_third_party_nonce(location, &RootKey::new(secret), id, *nonce)
                .expect("third party"),
        };
    }
    (key, m)
}

/// A caveat as plain parts, for building values only a parser can produce.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawCaveat {
    id: Vec<u8>,
    vid: Option<Vec<u8>>,
    location: Vec<u8>,
}

impl RawCaveat {
    /// The signed content: id and vid (the caveat location is a hint).
    fn signed(&self) -> (&[u8], Option<&[u8]>) {
        (&self.id, self.vid.as_deref())
    }
}

/// A macaroon as plain parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parts {
    location: Vec<u8>,
    identifier: Vec<u8>,
    caveats: Vec<RawCaveat>,
    signature: [u8; 32],
}

impl Parts {
    fn of(m: &Macaroon) -> Parts {
        Parts {
            location: m.location().to_vec(),
            identifier: m.identifier().to_vec(),
            caveats: m
                .caveats()
                .iter()
                .map(|c| RawCaveat {
                    id: c.id().to_vec(),
                    vid: c.verification_id().map(<[u8]>::to_vec),
                    location: c.location().to_vec(),
                })
                .collect(),
            signature: *m.signature(),
        }
    }

    /// v2 binary as written by hand (SPEC §7.1), keeping a location on a first-party caveat.
    fn to_v2(&self) -> Vec<u8> {
        let mut out = vec![2u8];
        if !self.location.is_empty() {
            put_field(&mut out, 1, &self.location);
        }
        put_field(&mut out, 2, &self.identifier);
        out.push(0);
        for c in &self.caveats {
            if !c.location.is_empty() || c.vid.is_some() {
                put_field(&mut out, 1, &c.location);
            }
            put_field(&mut out, 2, &c.id);
            if let Some(vid) = &c.vid {
                put_field(&mut out, 4, vid);
            }
            out.push(0);
        }
        out.push(0);
        put_field(&mut out, 6, &self.signature);
        out
    }

    fn build(&self) -> Macaroon {
        Parsed::from_bytes(&self.to_v2(), &Limits::default())
            .unwrap_or_else(|e| panic!("hand-built v2 must parse: {e} ({self:?})"))
            .macaroon
    }
}

/// Every encoding of `m`: (name, input bytes, is raw binary).
fn encodings(m: &Macaroon) -> Vec<(String, Vec<u8>, bool)> {
    let mut out: Vec<(String, Vec<u8>, bool)> = FORMATS
        .iter()
        .map(|&f| {
            (
                f.to_string(),
                m.serialize(f).expect("fits").into_bytes(),
                false,
            )
        })
        .collect();
    out.push((
        "opw-onedata".into(),
        format!("opw-{}", m.serialize(Format::Onedata).expect("fits")).into_bytes(),
        false,
    ));
    out.push(("raw v2".into(), m.to_v2_bytes(), true));
    out.push(("raw v1".into(), m.to_v1_bytes().expect("fits"), true));
    out
}

/// Parses `input` the way its kind is read: raw v1 through the explicit API, everything else
/// through detection.
fn parse_input(name: &str, input: &[u8]) -> Result<Macaroon, Error> {
    if name == "raw v1" {
        Parsed::from_bytes(input, &Limits::default()).map(|p| p.macaroon)
    } else {
        Parsed::from_bytes(input, &Limits::default()).map(|p| p.macaroon)
    }
}

/// The error of a malformed input must point inside it: text layers count characters of the
/// input, binary layers bytes of the decoded data (never more than the input's bytes), and a
/// binary-layer error found under a text layer also names the character (SPEC §13).
fn check_error_inside(e: &Error, input: &[u8], raw: bool, ctx: &str) -> Result<(), TestCaseError> {
    let chars = if raw {
        input.len()
    } else {
        String::from_utf8_lossy(input).chars().count()
    };
    match e {
        Error::Decode(d) => {
            let binary = matches!(d.layer, Layer::V1 | Layer::V2) || d.text_offset.is_some();
            if binary {
                prop_assert!(
                    d.offset <= input.len(),
                    "[{}] {:?} offset {} beyond {} bytes ({})",
                    ctx,
                    d.layer,
                    d.offset,
                    input.len(),
                    e
                );
                if !raw {
                    let t = d.text_offset;
                    prop_assert!(
                        t.is_some_and(|t| t <= chars),
                        "[{}] binary error from text needs a text offset within {} characters: {:?} ({})",
                        ctx,
                        chars,
                        t,
                        e
                    );
                }
            } else {
                prop_assert!(
                    d.offset <= chars,
                    "[{}] {:?} offset {} beyond {} characters ({})",
                    ctx,
                    d.layer,
                    d.offset,
                    chars,
                    e
                );
            }
            if d.kind == DecodeErrorKind::Empty {
                prop_assert_eq!(d.layer, Layer::Input, "[{}] empty is an input error", ctx);
            }
        }
        Error::Limit(LimitError::FieldTooLarge { offset, .. })
        | Error::Limit(LimitError::TooManyCaveats { offset, .. }) => {
            prop_assert!(
                *offset <= input.len(),
                "[{}] limit offset {} beyond {} bytes ({})",
                ctx,
                offset,
                input.len(),
                e
            );
        }
        other => prop_assert!(
            false,
            "[{}] malformed input gave a non-decode error: {:?}",
            ctx,
            other
        ),
    }
    Ok(())
}

/// Compares two macaroons ignoring the caveat location of first-party caveats, which no format
/// emits (SPEC §7.2: "first-party caveats never do").
fn same_emittable(a: &Macaroon, b: &Macaroon) -> bool {
    let strip = |m: &Macaroon| {
        let mut p = Parts::of(m);
        for c in &mut p.caveats {
            if c.vid.is_none() {
                c.location.clear();
            }
        }
        p
    };
    strip(a) == strip(b)
}

/// Compares the signed content of two macaroons (everything but locations).
fn same_signed(a: &Macaroon, b: &Macaroon) -> bool {
    let signed = |m: &Macaroon| {
        let p = Parts::of(m);
        (
            p.identifier,
            p.caveats
                .iter()
                .map(|c| (c.id.clone(), c.vid.clone()))
                .collect::<Vec<_>>(),
            p.signature,
        )
    };
    signed(a) == signed(b)
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

fn check_round_trips(m: &Macaroon, ctx: &str) -> Result<(), TestCaseError> {
    for format in FORMATS {
        let text = m
            .serialize(format)
            .map_err(|e| TestCaseError::fail(format!("[{ctx}] serialize {format}: {e}")))?;
        let parsed = Parsed::from_text(&text, &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("[{ctx}] parse {format} {text:?}: {e}")))?;
        prop_assert_eq!(
            &parsed.macaroon,
            m,
            "[{}] parse(serialize) in {}",
            ctx,
            format
        );
        prop_assert_eq!(parsed.encoding, format.encoding(), "[{}] {}", ctx, format);
        // The canonical text is a fixed point.
        prop_assert_eq!(
            parsed.macaroon.serialize(format).ok(),
            Some(text.clone()),
            "[{}] serialize(parse) in {}",
            ctx,
            format
        );
        // Surrounding whitespace is skipped.
        let padded = Macaroon::parse(&format!(" \r\n\t{text}\n ")).ok();
        prop_assert_eq!(
            padded.as_ref(),
            Some(m),
            "[{}] {} with surrounding whitespace",
            ctx,
            format
        );
    }
    let onedata = m.serialize(Format::Onedata).expect("fits");
    for service in ["opw", "opp"] {
        let parsed = Parsed::from_text(&format!("{service}-{onedata}"), &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("[{ctx}] {service}-: {e}")))?;
        prop_assert_eq!(&parsed.macaroon, m);
        prop_assert_eq!(
            parsed.encoding,
            Encoding::Onedata {
                service: Some(service.into())
            }
        );
    }
    let v2 = m.to_v2_bytes();
    let parsed = Parsed::from_bytes(&v2, &Limits::default())
        .map_err(|e| TestCaseError::fail(format!("[{ctx}] raw v2: {e}")))?;
    prop_assert_eq!(&parsed.macaroon, m, "[{}] raw v2", ctx);
    prop_assert_eq!(parsed.encoding, Encoding::V2Binary);
    prop_assert_eq!(parsed.macaroon.to_v2_bytes(), v2);
    let v1 = m.to_v1_bytes().expect("fits");
    let back = Parsed::from_bytes(&v1, &Limits::default())
        .map(|p| p.macaroon)
        .map_err(|e| TestCaseError::fail(format!("[{ctx}] raw v1: {e}")))?;
    prop_assert_eq!(&back, m, "[{}] raw v1", ctx);
    prop_assert_eq!(back.to_v1_bytes().ok(), Some(v1));
    Ok(())
}

proptest! {
    /// parse(serialize(m)) == m and serialize(parse(text)) == text in every format, for minted
    /// macaroons with arbitrary bytes everywhere and both kinds of caveat.
    #[test]
    fn minted_values_round_trip_in_every_format(spec in arb_spec()) {
        let (_, m) = build(&spec);
        check_round_trips(&m, "minted")?;
    }

    /// Values only a parser can produce (vids of any non-empty length and content, any
    /// signature) round-trip as well.
    #[test]
    fn parsed_values_round_trip_in_every_format(
        location in arb_bytes(16),
        identifier in arb_bytes(16),
        caveats in vec(
            (arb_bytes(16), proptest::option::of(vec(any::<u8>(), 1..100)), arb_bytes(8)),
            0..5,
        ),
        signature in any::<[u8; 32]>(),
    ) {
        let parts = Parts {
            location,
            identifier,
            caveats: caveats
                .into_iter()
                .map(|(id, vid, location)| RawCaveat {
                    location: if vid.is_some() { location } else { Vec::new() },
                    id,
                    vid,
                })
                .collect(),
            signature,
        };
        let m = parts.build();
        prop_assert_eq!(Parts::of(&m), parts.clone());
        check_round_trips(&m, "parsed")?;
    }

    /// Base62 escape and unescape are inverse on base64 text, and escaped text holds only
    /// alphanumerics.
    #[test]
    fn base62_escape_unescape_inverse(text in "[A-Za-z0-9_+/=-]{0,80}") {
        let escaped = base62_escape(&text);
        prop_assert!(escaped.bytes().all(|b| b.is_ascii_alphanumeric()), "{}", escaped);
        prop_assert_eq!(base62_unescape(&escaped).ok(), Some(text.clone()));
    }

    /// Any text: unescape either succeeds and escaping gives the text back, or fails with an
    /// offset inside the text, at the character the kind names.
    #[test]
    fn base62_unescape_is_exact_or_fails_inside(text in "(?s).{0,40}|[0-9A-Za-z]{0,40}") {
        match base62_unescape(&text) {
            Ok(plain) => prop_assert_eq!(base62_escape(&plain), text),
            Err(e) => {
                let chars: Vec<char> = text.chars().collect();
                prop_assert_eq!(e.layer, Layer::Base62);
                prop_assert!(e.offset < chars.len(), "{:?} in {:?}", e, text);
                match e.kind {
                    DecodeErrorKind::DanglingEscape => {
                        prop_assert_eq!(e.offset, chars.len() - 1);
                        prop_assert_eq!(chars[e.offset], '0');
                    }
                    DecodeErrorKind::InvalidEscape { pair } => {
                        prop_assert_eq!(pair[0], '0');
                        prop_assert_eq!(chars[e.offset], '0');
                        prop_assert_eq!(chars[e.offset + 1], pair[1]);
                        prop_assert!(!('0'..='5').contains(&pair[1]));
                    }
                    DecodeErrorKind::InvalidCharacter { ch } => {
                        prop_assert_eq!(chars[e.offset], ch);
                        prop_assert!(!ch.is_ascii_alphanumeric());
                    }
                    other => prop_assert!(false, "unexpected kind {:?}", other),
                }
            }
        }
    }
}

/// Fields at the largest size a v1 packet holds round-trip; one byte more is
/// `EncodeError::PacketTooLarge` naming the field for v1 and Onedata, while v2 and v2 JSON (which
/// have no packet limit) still round-trip.
#[test]
fn v1_packet_size_limits_are_encode_errors() {
    use macaroon_mint::EncodeError;
    let k = key("k");
    let ck = key("ck");
    // (field, largest value in a v1 packet, builder)
    type Make = fn(&RootKey, &RootKey, usize) -> Macaroon;
    let cases: [(&str, usize, Make); 4] = [
        ("location", 65_521, |k, _, n| {
            Macaroon::mint(k, vec![b'l'; n], "id").expect("mint")
        }),
        ("identifier", 65_519, |k, _, n| {
            Macaroon::mint(k, "", vec![b'i'; n]).expect("mint")
        }),
        ("caveat id", 65_526, |k, _, n| {
            Macaroon::mint(k, "", "id")
                .expect("mint")
                .with_first_party(vec![b'c'; n])
                .expect("fp")
        }),
        ("caveat location", 65_527, |k, ck, n| {
            Macaroon::mint(k, "", "id")
                .expect("mint")
                .with_third_party_nonce(vec![b'L'; n], ck, "cid", [3; 24])
                .expect("tp")
        }),
    ];
    for (field, max, make) in cases {
        let fits = make(&k, &ck, max);
        for format in FORMATS {
            let text = serialize_ok(&fits, format, field);
            assert_eq!(
                Macaroon::parse(&text).as_ref(),
                Ok(&fits),
                "{field} of {max} bytes in {format}"
            );
        }
        let over = make(&k, &ck, max + 1);
        for format in [Format::V1, Format::Onedata] {
            assert_eq!(
                over.serialize(format),
                Err(Error::Encode(EncodeError::PacketTooLarge {
                    field,
                    len: max + 1,
                    max
                })),
                "{field} of {} bytes in {format}",
                max + 1
            );
        }
        assert_eq!(
            over.to_v1_bytes(),
            Err(Error::Encode(EncodeError::PacketTooLarge {
                field,
                len: max + 1,
                max
            })),
            "{field} raw v1"
        );
        for format in [Format::V2, Format::V2Json] {
            let text = serialize_ok(&over, format, field);
            assert_eq!(
                Macaroon::parse(&text).as_ref(),
                Ok(&over),
                "{field} of {} bytes in {format}",
                max + 1
            );
        }
    }
    // A vid (only a parser can make one this long) has the cid's packet limit.
    let vid_parts = |n: usize| Parts {
        location: Vec::new(),
        identifier: b"id".to_vec(),
        caveats: vec![RawCaveat {
            id: b"cid".to_vec(),
            vid: Some(vec![b'v'; n]),
            location: Vec::new(),
        }],
        signature: [0; 32],
    };
    let fits = vid_parts(65_526).build();
    assert_eq!(
        Macaroon::parse(&serialize_ok(&fits, Format::V1, "vid")).as_ref(),
        Ok(&fits),
        "vid of 65,526 bytes in v1"
    );
    assert_eq!(
        vid_parts(65_527).build().serialize(Format::V1),
        Err(Error::Encode(EncodeError::PacketTooLarge {
            field: "verification id",
            len: 65_527,
            max: 65_526
        })),
        "vid of 65,527 bytes in v1"
    );
    // Above 65,535 bytes no format can carry a field, so minting refuses it.
    for (field, r) in [
        ("location", Macaroon::mint(&k, vec![0u8; 65_536], "id")),
        ("identifier", Macaroon::mint(&k, "", vec![0u8; 65_536])),
        (
            "caveat id",
            Macaroon::mint(&k, "", "id")
                .expect("mint")
                .with_first_party(vec![0u8; 65_536]),
        ),
        (
            "caveat location",
            Macaroon::mint(&k, "", "id")
                .expect("mint")
                .with_third_party_nonce(vec![0u8; 65_536], &ck, "c", [0; 24]),
        ),
    ] {
        assert_eq!(
            r,
            Err(Error::Encode(EncodeError::FieldTooLarge {
                field,
                len: 65_536,
                max: 65_535
            })),
            "{field} of 65,536 bytes"
        );
    }
}

/// A location on a first-party caveat is accepted and kept by the v2 and JSON readers (SPEC
/// §7.2) but no format emits it (§7.2, §8.3), so such a value does not survive re-serialization.
/// The location is not signed, so verification is unaffected either way.
#[test]
fn first_party_caveat_location_is_read_but_never_emitted() {
    let k = key("k");
    let m = Macaroon::mint(&k, "", "id")
        .expect("mint")
        .with_first_party("p")
        .expect("fp");
    let mut parts = Parts::of(&m);
    parts.caveats[0].location = b"http://hint/".to_vec();
    let with_location = parts.build();
    assert_eq!(with_location.caveats()[0].location(), b"http://hint/");
    assert!(!with_location.caveats()[0].is_third_party());
    for format in FORMATS {
        let back = parse_ok(&serialize_ok(&with_location, format, "fp location"), "fp");
        assert_eq!(back, m, "{format}: the first-party location is dropped");
    }
    for token in [&m, &with_location] {
        Verifier::new()
            .satisfy_exact("p")
            .verify(&k, token, &[])
            .expect("location is unsigned");
    }
}

// ---------------------------------------------------------------------------------------------
// Attenuation and tampering
// ---------------------------------------------------------------------------------------------

const PREDICATES: [&str; 4] = ["user = alice", "op = read", "time < 2000000000", "x"];

/// Why an unsatisfied predicate of [`PREDICATES`] fails with no clock: a `time <` caveat says the
/// verifier has no clock, any other that no rule accepts it.
fn unmet_without_clock(predicate: &str) -> macaroon_mint::Unmet {
    if predicate.starts_with("time < ") {
        macaroon_mint::Unmet::NoClock
    } else {
        macaroon_mint::Unmet::NoRule
    }
}

fn exact_verifier(satisfied: &[bool; 4]) -> Verifier<'static> {
    PREDICATES
        .iter()
        .zip(satisfied)
        .filter(|(_, &s)| s)
        .fold(Verifier::new(), |v, (p, _)| v.satisfy_exact(p))
}

fn verify_result(
    v: &Verifier<'_>,
    key: &RootKey,
    m: &Macaroon,
    ds: &[Macaroon],
) -> Result<Vec<Vec<u8>>, Error> {
    v.verify(key, m, ds).map(|ok| {
        ok.discharges()
            .iter()
            .map(|d| d.identifier().to_vec())
            .collect()
    })
}

proptest! {
    /// Adding a caveat never turns a failing verification into a passing one: the error stays
    /// exactly the same (a first-party caveat is appended, and root caveats are checked in
    /// order), or becomes the specific error of the new third-party caveat. On a passing token
    /// the new caveat is checked like any other.
    #[test]
    fn attenuation_never_repairs_a_failure(
        caveats in vec(0..4usize, 0..5),
        satisfied in any::<[bool; 4]>(),
        wrong_key in any::<bool>(),
        extra in 0..4usize,
        discharge_caveat in proptest::option::of(0..4usize),
        nonce in any::<[u8; 24]>(),
    ) {
        let k = key("root key");
        let m = caveats.iter().fold(Macaroon::mint(&k, "loc", "id").expect("mint"), |m, &i| {
            m.with_first_party(PREDICATES[i]).expect("fp")
        });
        let used_key = if wrong_key { key("not the root key") } else { key("root key") };
        let v = exact_verifier(&satisfied);
        let before = v.verify(&used_key, &m, &[]).map(|_| ());
        if wrong_key {
            prop_assert_eq!(
                before.clone(),
                Err(Error::Verify(VerifyError::SignatureMismatch {
                    macaroon: MacaroonRole::Root,
                    reason: None
                }))
            );
        }

        // First party.
        let first = m.clone().with_first_party(PREDICATES[extra]).expect("fp");
        let after = v.verify(&used_key, &first, &[]).map(|_| ());
        match &before {
            Err(e) => prop_assert_eq!(after, Err(e.clone()), "a first-party caveat repaired it"),
            Ok(()) if satisfied[extra] => prop_assert_eq!(after, Ok(())),
            Ok(()) => prop_assert_eq!(
                after,
                Err(Error::Verify(VerifyError::CaveatNotSatisfied {
                    macaroon: MacaroonRole::Root,
                    index: caveats.len(),
                    caveat: PREDICATES[extra].as_bytes().to_vec(),
                    reason: unmet_without_clock(PREDICATES[extra]),
                }))
            ),
        }

        // Third party, with and without the discharge its adder can mint.
        let ck = key("caveat key");
        let third = m.clone().with_third_party_nonce("tp", &ck, "tp-cid", nonce).expect("tp");
        let discharge = discharge_caveat
            .iter()
            .fold(Macaroon::mint(&ck, "tp", "tp-cid").expect("mint"), |d, &i| {
                d.with_first_party(PREDICATES[i]).expect("fp")
            })
            .bind_to(&third);
        let with_discharge = v.verify(&used_key, &third, std::slice::from_ref(&discharge)).map(|_| ());
        let without = v.verify(&used_key, &third, &[]).map(|_| ());
        if wrong_key {
            let doesnt_open = Err(Error::Verify(VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Root,
                reason: Some(VID_DOES_NOT_OPEN),
            }));
            prop_assert_eq!(with_discharge, doesnt_open.clone());
            prop_assert_eq!(without, doesnt_open);
        } else {
            prop_assert_eq!(
                without,
                Err(Error::Verify(VerifyError::DischargeMissing { caveat_id: b"tp-cid".to_vec() }))
            );
            match (&before, discharge_caveat) {
                (Err(e), _) => prop_assert_eq!(with_discharge, Err(e.clone())),
                (Ok(()), Some(i)) if !satisfied[i] => prop_assert_eq!(
                    with_discharge,
                    Err(Error::Verify(VerifyError::CaveatNotSatisfied {
                        macaroon: discharge_role("tp-cid"),
                        index: 0,
                        caveat: PREDICATES[i].as_bytes().to_vec(),
                        reason: unmet_without_clock(PREDICATES[i]),
                    }))
                ),
                (Ok(()), _) => prop_assert_eq!(with_discharge, Ok(())),
            }
        }
    }
}

/// One edit of a token's parts.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(usize),
    Move(usize, usize),
    Duplicate(usize, usize),
    ReplaceId(usize, Vec<u8>),
    FlipIdentifier(usize, u8),
    FlipCaveatId(usize, usize, u8),
    FlipVid(usize, usize, u8),
    FlipSignature(usize, u8),
    // Unsigned fields.
    ChangeLocation(Vec<u8>),
    ChangeCaveatLocation(usize, Vec<u8>),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<usize>();
    let mask = 1..=255u8;
    prop_oneof![
        i.prop_map(Mutation::Remove),
        (i, i).prop_map(|(a, b)| Mutation::Move(a, b)),
        (i, i).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
        (i, arb_bytes(12)).prop_map(|(a, b)| Mutation::ReplaceId(a, b)),
        (i, mask.clone()).prop_map(|(a, m)| Mutation::FlipIdentifier(a, m)),
        (i, i, mask.clone()).prop_map(|(a, b, m)| Mutation::FlipCaveatId(a, b, m)),
        (i, i, mask.clone()).prop_map(|(a, b, m)| Mutation::FlipVid(a, b, m)),
        (i, mask).prop_map(|(a, m)| Mutation::FlipSignature(a, m)),
        arb_bytes(12).prop_map(Mutation::ChangeLocation),
        (i, arb_bytes(12)).prop_map(|(a, b)| Mutation::ChangeCaveatLocation(a, b)),
    ]
}

fn flip(bytes: &mut [u8], at: usize, mask: u8) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let n = bytes.len();
    bytes[at % n] ^= mask;
    true
}

/// Applies `mutation`; `None` if it does not apply (nothing to index).
fn mutate(p: &Parts, mutation: &Mutation) -> Option<Parts> {
    let mut t = p.clone();
    let n = t.caveats.len();
    match mutation {
        Mutation::Remove(i) => {
            if n == 0 {
                return None;
            }
            t.caveats.remove(i % n);
        }
        Mutation::Move(i, j) => {
            if n == 0 {
                return None;
            }
            let c = t.caveats.remove(i % n);
            t.caveats.insert(j % n, c);
        }
        Mutation::Duplicate(i, j) => {
            if n == 0 {
                return None;
            }
            let c = t.caveats[i % n].clone();
            t.caveats.insert(j % (n + 1), c);
        }
        Mutation::ReplaceId(i, with) => {
            if n == 0 {
                return None;
            }
            t.caveats[i % n].id = with.clone();
        }
        Mutation::FlipIdentifier(at, mask) => {
            if !flip(&mut t.identifier, *at, *mask) {
                return None;
            }
        }
        Mutation::FlipCaveatId(i, at, mask) => {
            if n == 0 || !flip(&mut t.caveats[i % n].id, *at, *mask) {
                return None;
            }
        }
        Mutation::FlipVid(i, at, mask) => {
            let with_vid: Vec<usize> = (0..n).filter(|&c| t.caveats[c].vid.is_some()).collect();
            if with_vid.is_empty() {
                return None;
            }
            let c = with_vid[i % with_vid.len()];
            flip(t.caveats[c].vid.as_mut().expect("vid"), *at, *mask);
        }
        Mutation::FlipSignature(at, mask) => {
            flip(&mut t.signature, *at, *mask);
        }
        Mutation::ChangeLocation(l) => t.location = l.clone(),
        Mutation::ChangeCaveatLocation(i, l) => {
            if n == 0 {
                return None;
            }
            t.caveats[i % n].location = l.clone();
        }
    }
    Some(t)
}

/// What SPEC §5.1 predicts for a tampered root `t` of `orig`, verified with `orig`'s key and
/// the discharges of `orig` (each with first-party caveats only) and a satisfier accepting all.
fn predicted(orig: &Parts, t: &Parts) -> Result<(), VerifyError> {
    let mismatch = |reason| VerifyError::SignatureMismatch {
        macaroon: MacaroonRole::Root,
        reason,
    };
    let any_third_party_from = |p: usize| t.caveats.iter().skip(p).any(|c| c.vid.is_some());
    if t.identifier != orig.identifier {
        // The chain differs from its first step: the first vid never opens.
        return Err(mismatch(
            any_third_party_from(0).then_some(VID_DOES_NOT_OPEN),
        ));
    }
    let first_difference = (0..t.caveats.len().max(orig.caveats.len())).find(|&i| {
        t.caveats.get(i).map(RawCaveat::signed) != orig.caveats.get(i).map(RawCaveat::signed)
    });
    match first_difference {
        None if t.signature == orig.signature => Ok(()),
        // Every discharge is bound to the presented root signature: the first to finish fails.
        None => Err(match t.caveats.iter().find(|c| c.vid.is_some()) {
            Some(c) => VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Discharge {
                    identifier: c.id.clone(),
                },
                reason: None,
            },
            None => mismatch(None),
        }),
        Some(p) => {
            let (now, was) = (t.caveats.get(p), orig.caveats.get(p));
            match (now, was) {
                // Same vid under the same running signature: it opens, but nobody discharges
                // the new caveat id.
                (Some(now), Some(was)) if now.vid.is_some() && now.vid == was.vid => {
                    Err(VerifyError::DischargeMissing {
                        caveat_id: now.id.clone(),
                    })
                }
                _ => Err(mismatch(
                    any_third_party_from(p).then_some(VID_DOES_NOT_OPEN),
                )),
            }
        }
    }
}

/// A root mixing first-party caveats with third-party ones whose ids have distinct lengths (so
/// an edited id never names another caveat's discharge), and its bound discharges.
fn arb_tamper_case() -> impl Strategy<Value = (Vec<Option<Vec<u8>>>, Vec<u8>, Vec<u8>)> {
    (
        vec(proptest::option::of(arb_bytes(12)), 0..6),
        arb_bytes(12),
        arb_bytes(12),
    )
}

fn build_tamper_case(
    caveats: &[Option<Vec<u8>>],
    location: &[u8],
    identifier: &[u8],
) -> (RootKey, Macaroon, Vec<Macaroon>) {
    let k = key("tamper root");
    let mut m = Macaroon::mint(&k, location, identifier).expect("mint");
    let mut third = Vec::new();
    for (i, c) in caveats.iter().enumerate() {
        m = match c {
            Some(p) => m.with_first_party(p).expect("fp"),
            None => {
                let cid = [b"tp".repeat(third.len() + 1), vec![i as u8, 0xff]].concat();
                let ck = RootKey::new(&cid);
                let m = m
                    .with_third_party_nonce("http://tp/", &ck, &cid, [i as u8; 24])
                    .expect("tp");
                third.push((ck, cid));
                m
            }
        };
    }
    let ds = third
        .iter()
        .map(|(ck, cid)| {
            Macaroon::mint(ck, "", cid)
                .expect("mint")
                .with_first_party("discharge caveat")
                .expect("fp")
                .bind_to(&m)
        })
        .collect();
    (k, m, ds)
}

proptest! {
    /// Removing, reordering, duplicating or changing any caveat, and changing any byte of the
    /// identifier, a caveat id, a vid or the signature, fails with exactly the error §5.1
    /// predicts (a root `SignatureMismatch`, or `DischargeMissing` when only a third-party
    /// caveat id changed, or the first discharge's mismatch when the root signature changed).
    /// Locations are not signed (§1, §3.2): changing them still verifies.
    #[test]
    fn tampering_fails_with_the_predicted_error(
        (caveats, location, identifier) in arb_tamper_case(),
        mutation in arb_mutation(),
        format in proptest::sample::select(FORMATS.to_vec()),
    ) {
        let (k, m, ds) = build_tamper_case(&caveats, &location, &identifier);
        let all = Verifier::new().satisfy_general(|_| true);
        prop_assert_eq!(all.verify(&k, &m, &ds).map(|_| ()), Ok(()));
        let orig = Parts::of(&m);
        let Some(t) = mutate(&orig, &mutation) else { return Ok(()) };
        // A third-party caveat id edited into another discharge's identifier would select that
        // discharge; ids have distinct lengths, so only a wholesale replacement could do that.
        prop_assume!(t.caveats.iter().filter(|c| c.vid.is_some()).all(|c| {
            orig.caveats.iter().all(|o| o.vid != c.vid || o.id == c.id)
                || !ds.iter().any(|d| d.identifier() == c.id.as_slice())
        }));
        let tampered = t.build();
        let want = predicted(&orig, &t);
        let unchanged = same_signed(&tampered, &m);
        prop_assert_eq!(want.is_ok(), unchanged, "only unsigned edits may verify");
        let got = all.verify(&k, &tampered, &ds).map(|_| ());
        prop_assert_eq!(got.clone(), want.map_err(Error::Verify), "{:?}", mutation);
        // The parse-and-verify hot path agrees in every format.
        let token = tampered.serialize(format).expect("fits");
        prop_assert_eq!(all.verify_token(&k, &token, &ds).map(|_| ()), got, "verify_token {}", format);
    }

    /// `verify_token` (the fast path over borrowed slices) and parse-then-verify give the same
    /// result on valid, attenuated and damaged tokens of first-party caveats.
    #[test]
    fn verify_token_agrees_with_parse_then_verify(
        caveats in vec(0..4usize, 0..20),
        satisfied in any::<[bool; 4]>(),
        wrong_key in any::<bool>(),
        format in proptest::sample::select(FORMATS.to_vec()),
        edit in proptest::option::of((any::<usize>(), 0..3u8, any::<u8>())),
        time in proptest::option::of(1_900_000_000u64..2_100_000_000),
    ) {
        let k = key("root key");
        let m = caveats.iter().fold(Macaroon::mint(&k, "loc", "id").expect("mint"), |m, &i| {
            m.with_first_party(PREDICATES[i]).expect("fp")
        });
        let mut token = m.serialize(format).expect("fits").into_bytes();
        if let Some((at, op, byte)) = edit {
            let at = at % (token.len() + 1);
            let byte = byte % 0x80; // keep it ASCII, hence a str
            match op {
                0 => token.insert(at, byte),
                1 if at < token.len() => { token.remove(at); }
                _ if at < token.len() => token[at] = byte,
                _ => {}
            }
        }
        let token = String::from_utf8(token).expect("ASCII");
        let mut v = exact_verifier(&satisfied);
        if let Some(t) = time {
            v = v.at_time(t);
        }
        let used_key = if wrong_key { key("wrong") } else { key("root key") };
        let slow = Macaroon::parse(&token).and_then(|p| v.verify(&used_key, &p, &[]).map(|_| ()));
        prop_assert_eq!(v.verify_token(&used_key, &token, &[]).map(|_| ()), slow);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A one-bit change in any byte of the root's or of any discharge's signature fails, with
    /// one error per macaroon whichever byte it was (no position is revealed), also through the
    /// parse-and-verify path. The bit within each byte varies with the case.
    #[test]
    fn every_signature_byte_matters(
        (caveats, location, identifier) in arb_tamper_case(),
        rotate in 0..8usize,
    ) {
        let (k, m, ds) = build_tamper_case(&caveats, &location, &identifier);
        let all = Verifier::new().satisfy_general(|_| true);
        let orig = Parts::of(&m);
        let bits = || (0..32).map(|byte| byte * 8 + (byte + rotate) % 8);
        for bit in bits() {
            let mut t = orig.clone();
            t.signature[bit / 8] ^= 1 << (bit % 8);
            let want = predicted(&orig, &t).map_err(Error::Verify);
            prop_assert!(want.is_err());
            let tampered = t.build();
            prop_assert_eq!(all.verify(&k, &tampered, &ds).map(|_| ()), want.clone(), "root bit {}", bit);
            let token = tampered.serialize(Format::V1).expect("fits");
            prop_assert_eq!(all.verify_token(&k, &token, &ds).map(|_| ()), want, "root bit {} via verify_token", bit);
        }
        for (i, d) in ds.iter().enumerate() {
            let want = Err(Error::Verify(VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Discharge { identifier: d.identifier().to_vec() },
                reason: None,
            }));
            for bit in bits() {
                let mut p = Parts::of(d);
                p.signature[bit / 8] ^= 1 << (bit % 8);
                let mut tampered = ds.clone();
                tampered[i] = p.build();
                prop_assert_eq!(all.verify(&k, &m, &tampered).map(|_| ()), want.clone(), "discharge {} bit {}", i, bit);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Discharge sets
// ---------------------------------------------------------------------------------------------

/// One discharge of the root: its first-party caveats and, optionally, the first-party caveats
/// of a nested discharge it requires.
#[derive(Debug, Clone)]
struct DischargeSpec {
    caveats: Vec<usize>,
    nested: Option<Vec<usize>>,
}

const DISCHARGE_PREDICATES: [&str; 3] = ["ok = 1", "ok = 2", "deny"];

fn arb_discharges() -> impl Strategy<Value = (Vec<usize>, Vec<DischargeSpec>)> {
    // "deny" is rare, so most trees verify.
    let pred = prop_oneof![6 => 0..2usize, 1 => Just(2usize)];
    (
        vec(pred.clone(), 0..3),
        vec(
            (
                vec(pred.clone(), 0..3),
                proptest::option::of(vec(pred, 0..2)),
            )
                .prop_map(|(caveats, nested)| DischargeSpec { caveats, nested }),
            1..5,
        ),
    )
}

struct Tree {
    key: RootKey,
    root: Macaroon,
    /// The discharges, unbound, in a canonical order: each root discharge then its nested one.
    unbound: Vec<Macaroon>,
    /// The caveat key of each discharge (same order).
    keys: Vec<RootKey>,
    /// The same, bound to the root.
    bound: Vec<Macaroon>,
    /// For each discharge, the index of the nested discharge it requires.
    nested: Vec<Option<usize>>,
}

fn with_predicates(m: Macaroon, caveats: &[usize]) -> Macaroon {
    caveats.iter().fold(m, |m, &i| {
        m.with_first_party(DISCHARGE_PREDICATES[i]).expect("fp")
    })
}

fn build_tree(root_caveats: &[usize], specs: &[DischargeSpec]) -> Tree {
    let k = key("tree root");
    let mut root = with_predicates(
        Macaroon::mint(&k, "http://svc/", "root").expect("mint"),
        root_caveats,
    );
    let mut unbound = Vec::new();
    let mut keys = Vec::new();
    let mut nested_of = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let cid = format!("d{i}");
        let ck = key(&format!("key {cid}"));
        root = root
            .with_third_party_nonce("http://tp/", &ck, &cid, [i as u8; 24])
            .expect("tp");
        let mut d = with_predicates(
            Macaroon::mint(&ck, "http://tp/", &cid).expect("mint"),
            &spec.caveats,
        );
        let nested = spec.nested.as_ref().map(|caveats| {
            let ncid = format!("d{i}.n");
            let nk = key(&format!("key {ncid}"));
            d = d
                .clone()
                .with_third_party_nonce("http://tp2/", &nk, &ncid, [0x80 | i as u8; 24])
                .expect("tp");
            let e = with_predicates(
                Macaroon::mint(&nk, "http://tp2/", &ncid).expect("mint"),
                caveats,
            );
            (nk, e)
        });
        unbound.push(d);
        keys.push(ck);
        nested_of.push(nested.as_ref().map(|_| unbound.len()));
        if let Some((nk, e)) = nested {
            unbound.push(e);
            keys.push(nk);
            nested_of.push(None);
        }
    }
    let bound = unbound.iter().map(|d| d.bind_to(&root)).collect();
    Tree {
        key: k,
        root,
        unbound,
        keys,
        bound,
        nested: nested_of,
    }
}

fn tree_verifier() -> Verifier<'static> {
    Verifier::new().satisfy_general(|c| c != b"deny")
}

fn permute<T: Clone>(items: &[T], sort_keys: &[u32]) -> Vec<T> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.sort_by_key(|&i| (sort_keys.get(i).copied().unwrap_or(0), i));
    idx.into_iter().map(|i| items[i].clone()).collect()
}

proptest! {
    /// Any permutation of the discharges gives the same result: the same verified discharges in
    /// the same (verification) order, or the same error.
    #[test]
    fn discharge_order_does_not_matter(
        (root_caveats, specs) in arb_discharges(),
        sort_keys in vec(any::<u32>(), 10),
    ) {
        let t = build_tree(&root_caveats, &specs);
        let v = tree_verifier();
        let canonical = verify_result(&v, &t.key, &t.root, &t.bound);
        let denied = root_caveats.contains(&2)
            || specs.iter().any(|s| s.caveats.contains(&2) || s.nested.as_ref().is_some_and(|n| n.contains(&2)));
        if !denied {
            // Verification order: each root discharge, then the one it requires.
            let ids: Vec<Vec<u8>> = t.unbound.iter().map(|d| d.identifier().to_vec()).collect();
            prop_assert_eq!(canonical.clone(), Ok(ids));
        } else {
            prop_assert!(
                matches!(canonical, Err(Error::Verify(VerifyError::CaveatNotSatisfied { ref caveat, .. })) if caveat == b"deny"),
                "{:?}", canonical
            );
        }
        let shuffled = permute(&t.bound, &sort_keys);
        prop_assert_eq!(verify_result(&v, &t.key, &t.root, &shuffled), canonical);
    }

    /// Dropping any one discharge fails with `DischargeMissing` naming it (its nested
    /// discharge, now unreachable, is not what is reported).
    #[test]
    fn a_missing_discharge_is_named(
        (root_caveats, specs) in arb_discharges(),
        drop in any::<usize>(),
        sort_keys in vec(any::<u32>(), 10),
    ) {
        let t = build_tree(&root_caveats, &specs);
        let j = drop % t.bound.len();
        let mut ds = t.bound.clone();
        let gone = ds.remove(j);
        let ds = permute(&ds, &sort_keys);
        for v in [tree_verifier(), tree_verifier().ignore_unused_discharges()] {
            prop_assert_eq!(
                verify_result(&v, &t.key, &t.root, &ds),
                Err(Error::Verify(VerifyError::DischargeMissing { caveat_id: gone.identifier().to_vec() }))
            );
        }
    }

    /// An extra discharge — unrelated, or a twin of a needed one — is `DischargeUnused` with its
    /// position (for a twin, the later copy: the first unused match is the one used), unless
    /// unused discharges are ignored.
    #[test]
    fn an_extra_discharge_is_unused(
        (root_caveats, specs) in arb_discharges(),
        twin_of in proptest::option::of(any::<usize>()),
        at in any::<usize>(),
    ) {
        let t = build_tree(&root_caveats, &specs);
        let extra = match twin_of {
            Some(j) => t.bound[j % t.bound.len()].clone(),
            None => Macaroon::mint(&key("stranger"), "", "nobody asked").expect("mint").bind_to(&t.root),
        };
        let at = at % (t.bound.len() + 1);
        let mut ds = t.bound.clone();
        ds.insert(at, extra.clone());
        let index = match twin_of {
            Some(j) => {
                let original = j % t.bound.len();
                let original = if original >= at { original + 1 } else { original };
                original.max(at)
            }
            None => at,
        };
        prop_assert_eq!(
            verify_result(&tree_verifier(), &t.key, &t.root, &ds),
            Err(Error::Verify(VerifyError::DischargeUnused { index, identifier: extra.identifier().to_vec() }))
        );
        prop_assert_eq!(
            verify_result(&tree_verifier().ignore_unused_discharges(), &t.key, &t.root, &ds),
            verify_result(&tree_verifier(), &t.key, &t.root, &t.bound)
        );
    }

    /// A discharge needed twice (the root asks again for one already used) is `DischargeReused`;
    /// a second copy satisfies it.
    #[test]
    fn a_reused_discharge_is_named(
        (root_caveats, specs) in arb_discharges(),
        again in any::<usize>(),
        sort_keys in vec(any::<u32>(), 12),
    ) {
        let t = build_tree(&root_caveats, &specs);
        let j = again % t.unbound.len();
        let cid = t.unbound[j].identifier().to_vec();
        let root = t.root.clone().with_third_party_nonce("http://tp/", &t.keys[j], &cid, [0xee; 24]).expect("tp");
        let ds: Vec<Macaroon> = t.unbound.iter().map(|d| d.bind_to(&root)).collect();
        prop_assert_eq!(
            verify_result(&tree_verifier(), &t.key, &root, &permute(&ds, &sort_keys)),
            Err(Error::Verify(VerifyError::DischargeReused { caveat_id: cid.clone() }))
        );
        // A second copy (with a copy of what it requires) satisfies the second caveat.
        let mut twice = ds.clone();
        twice.push(ds[j].clone());
        if let Some(n) = t.nested[j] {
            twice.push(ds[n].clone());
        }
        let v = tree_verifier();
        let want = verify_result(&v, &t.key, &t.root, &t.bound).map(|mut ids| {
            ids.push(cid.clone());
            ids.extend(t.nested[j].map(|n| t.unbound[n].identifier().to_vec()));
            ids
        });
        prop_assert_eq!(verify_result(&v, &t.key, &root, &permute(&twice, &sort_keys)), want);
    }

    /// A discharge bound wrongly — not at all, to another root, to its parent discharge, or
    /// twice — fails as a `SignatureMismatch` naming that discharge.
    #[test]
    fn a_rebound_discharge_is_a_mismatch_naming_it(
        (root_caveats, specs) in arb_discharges(),
        which in any::<usize>(),
        how in 0..4u8,
        sort_keys in vec(any::<u32>(), 10),
    ) {
        let t = build_tree(&root_caveats, &specs);
        let j = which % t.bound.len();
        let other_root = Macaroon::mint(&t.key, "http://svc/", "another root").expect("mint");
        let parent = t.unbound.iter().find(|p| {
            p.caveats().iter().any(|c| c.id() == t.unbound[j].identifier())
        });
        let rebound = match (how, parent) {
            (0, _) => t.unbound[j].clone(),
            (1, _) => t.unbound[j].bind_to(&other_root),
            (2, Some(parent)) => t.unbound[j].bind_to(parent),
            _ => t.bound[j].bind_to(&t.root),
        };
        let mut ds = t.bound.clone();
        ds[j] = rebound;
        let ds = permute(&ds, &sort_keys);
        prop_assert_eq!(
            verify_result(&tree_verifier(), &t.key, &t.root, &ds),
            Err(Error::Verify(VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Discharge { identifier: t.unbound[j].identifier().to_vec() },
                reason: None,
            }))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation and splices
// ---------------------------------------------------------------------------------------------

/// Char boundaries of `text` (all of them for raw bytes).
fn cut_points(input: &[u8], raw: bool) -> Vec<usize> {
    if raw {
        return (0..=input.len()).collect();
    }
    let text = std::str::from_utf8(input).expect("text tokens are UTF-8");
    let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    v.push(text.len());
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Every proper prefix of every encoding is a decode error inside the input (never a panic,
    /// never a value); `inspect` and `verify_token` report the same error.
    #[test]
    fn truncation_at_every_length_fails_inside_the_input(spec in arb_spec()) {
        let (k, m) = build(&spec);
        let v = Verifier::new();
        for (name, input, raw) in encodings(&m) {
            for cut in cut_points(&input, raw) {
                if cut == input.len() {
                    continue;
                }
                let prefix = &input[..cut];
                let ctx = format!("{name}, first {cut} of {} bytes", input.len());
                let r = parse_input(&name, prefix);
                let e = match &r {
                    Err(e @ Error::Decode(_)) => e.clone(),
                    other => return Err(TestCaseError::fail(format!("[{ctx}] expected a decode error, got {other:?}"))),
                };
                check_error_inside(&e, prefix, raw, &ctx)?;
                if name != "raw v1" {
                    prop_assert_eq!(&Inspection::of_bytes(prefix).parsed.map(|p| p.macaroon), &r, "[{}] inspect", ctx);
                }
                if !raw {
                    let text = std::str::from_utf8(prefix).expect("char boundary");
                    prop_assert_eq!(v.verify_token(&k, text, &[]).map(|_| ()), Err(e), "[{}] verify_token", ctx);
                }
            }
        }
    }
}

proptest! {
    /// A splice of two valid tokens (a prefix of one and a suffix of the other, or a piece of
    /// one inserted into the other) either parses, or fails with an offset inside the input.
    /// What parses re-serializes to an equal value (up to first-party caveat locations, which
    /// no format emits), and verifies only if its signed content is that of a token the key
    /// really minted.
    #[test]
    fn splices_never_panic_and_never_forge(
        spec in arb_spec(),
        extra in vec(arb_caveat(), 1..3),
        pick in (0..7usize, 0..7usize, any::<bool>(), any::<bool>()),
        cuts in (any::<usize>(), any::<usize>(), any::<usize>()),
        insert in any::<bool>(),
    ) {
        let (k, m1) = build(&spec);
        // The second token is the first attenuated, so splices line up often.
        let mut spec2 = spec.clone();
        spec2.caveats.extend(extra);
        let (_, m2) = build(&spec2);
        let e1 = encodings(if pick.2 { &m1 } else { &m2 });
        let e2 = encodings(if pick.3 { &m1 } else { &m2 });
        let (n1, a, raw1) = &e1[pick.0];
        let (n2, b, raw2) = &e2[pick.1];
        let raw = *raw1 || *raw2;
        let ca = cut_points(a, *raw1);
        let cb = cut_points(b, *raw2);
        let i = ca[cuts.0 % ca.len()];
        let j = cb[cuts.1 % cb.len()];
        let spliced: Vec<u8> = if insert {
            let j2 = cb[cuts.2 % cb.len()];
            let (lo, hi) = (j.min(j2), j.max(j2));
            [&a[..i], &b[lo..hi], &a[i..]].concat()
        } else {
            [&a[..i], &b[j..]].concat()
        };
        let ctx = format!("{n1} {i} + {n2} {j} (insert {insert})");
        let names: Vec<&str> = if *raw1 && n1 == "raw v1" { vec!["raw v1", "detect"] } else { vec!["detect"] };
        for name in names {
            match parse_input(name, &spliced) {
                Ok(p) => {
                    // Round trip in every format that can hold it.
                    for format in FORMATS {
                        let text = p.serialize(format).expect("small fields fit");
                        let back = Macaroon::parse(&text);
                        prop_assert!(
                            back.as_ref().is_ok_and(|b| same_emittable(b, &p)),
                            "[{}] spliced value does not round-trip in {}: {:?}", ctx, format, back
                        );
                    }
                    let verified = Verifier::new().satisfy_general(|_| true).verify(&k, &p, &[]).is_ok();
                    if verified {
                        prop_assert!(
                            same_signed(&p, &m1) || same_signed(&p, &m2),
                            "[{}] a splice verified with new signed content: {:?}", ctx, p
                        );
                    }
                }
                Err(e) => check_error_inside(&e, &spliced, raw || name == "raw v1", &ctx)?,
            }
        }
        // Lenient inspection never panics either.
        let report = Inspection::of_bytes(&spliced);
        prop_assert_eq!(report.parsed.is_ok(), report.recovered.is_none());
        if let Ok(text) = std::str::from_utf8(&spliced) {
            let _ = Inspection::of_text(text);
        }
    }
}

/// Text shaped like the start of each format, followed by characters from the formats'
/// alphabets or anything at all.
fn arb_token_like() -> impl Strategy<Value = String> {
    let head = proptest::sample::select(vec![
        "",
        " ",
        "{",
        "{\"v\":2,\"i\":\"",
        "{\"v\":2,\"i64\":\"",
        "{\"identifier\":\"",
        "{\"i\":\"x\",\"c\":[{\"i\":\"",
        "\"",
        "opw-",
        "opx-",
        "A",
        "Ag",
        "MDAx",
        "MDAwMGxvY2F0aW9u",
        "\u{2}",
    ]);
    let body = prop_oneof![
        "[{}\\[\\]\":,\\\\a-zA-Z0-9 _=+/.-]{0,60}",
        "[A-Za-z0-9_=+/-]{0,80}",
        "(?s).{0,40}",
    ];
    (head, body).prop_map(|(h, b)| format!("{h}{b}"))
}

proptest! {
    /// Arbitrary text never panics any reader: it parses, or fails with an offset inside it;
    /// `inspect` and `verify_token` agree with the parser.
    #[test]
    fn token_like_text_never_panics(text in arb_token_like()) {
        let raw = text.as_bytes().first() == Some(&2);
        let r = Macaroon::parse(&text);
        if let Err(e) = &r {
            check_error_inside(e, text.as_bytes(), raw, &format!("{text:?}"))?;
        }
        let report = Inspection::of_text(&text);
        prop_assert_eq!(&report.parsed.clone().map(|p| p.macaroon), &r);
        prop_assert_eq!(report.recovered.is_some(), r.is_err());
        let k = key("k");
        let v = Verifier::new();
        match &r {
            Err(e) => prop_assert_eq!(v.verify_token(&k, &text, &[]).map(|_| ()), Err(e.clone())),
            Ok(m) => prop_assert_eq!(
                v.verify_token(&k, &text, &[]).map(|_| ()),
                v.verify(&k, m, &[]).map(|_| ())
            ),
        }
    }
}

/// Regression (found by `token_like_text_never_panics`): a quoted token without its closing
/// quote was reported at a byte offset; text-layer offsets count characters (SPEC §0).
#[test]
fn unclosed_quoted_token_offset_counts_characters() {
    let unclosed = DecodeErrorKind::JsonSyntax {
        expected: "closing '\"'",
    };
    for (text, offset) in [("\"", 1), ("\"¡", 2), ("  \"héllo ", 8), ("\"MDAx€", 6)] {
        let e = decode_err(Macaroon::parse(text), text);
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (Layer::Json, offset, unclosed.clone()),
            "{text:?}"
        );
        assert!(offset <= text.chars().count());
    }
}

proptest! {
    /// Arbitrary bytes through the raw readers (v2 binary by detection, v1 packets by the
    /// explicit API), seeded with the formats' first bytes: a value that round-trips, or an
    /// error inside the input.
    #[test]
    fn raw_bytes_never_panic(
        head in proptest::sample::select(vec![
            &b"\x02"[..], b"\x02\x02\x00", b"\x02\x01\x00\x02\x00\x00", b"0010identifier ", b"000elocation \n",
        ]),
        body in prop_oneof![
            vec(any::<u8>(), 0..64),
            vec(proptest::sample::select(&b"\x00\x01\x02\x04\x06\x20\x48\x80\xff0123456789abcdef \nlocation identifier cid vid cl signature"[..]), 0..64),
        ],
    ) {
        let input = [head, &body[..]].concat();
        for (name, r) in [
            ("detect", Parsed::from_bytes(&input, &Limits::default()).map(|p| p.macaroon)),
            ("raw v1", Parsed::from_bytes(&input, &Limits::default()).map(|p| p.macaroon)),
        ] {
            match r {
                Ok(m) => {
                    for format in FORMATS {
                        let back = Macaroon::parse(&m.serialize(format).expect("small"));
                        prop_assert!(back.as_ref().is_ok_and(|b| same_emittable(b, &m)), "{} {}: {:?}", name, format, back);
                    }
                }
                Err(e) => check_error_inside(&e, &input, true, name)?,
            }
        }
        let _ = Inspection::of_bytes(&input);
    }
}

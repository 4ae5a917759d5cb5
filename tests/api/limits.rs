//! Every limit of [`Limits`] (SPEC §12): accepted exactly at the limit and rejected one above it
//! with the specific `LimitError`, in every format; discharge depth and count.

use crate::common::*;
use crate::counting_alloc::*;
use crate::support::*;
use macaroon_mint::{
    DecodeErrorKind, Error, Format, Inspection, LimitError, Limits, Macaroon, Parsed, RootKey,
    Verifier, VerifyError,
};

/// A macaroon whose largest fields are, in order: identifier 40, cid 50, vid 72.
fn sized() -> Macaroon {
    Macaroon::mint(&key("k"), "L", vec![b'i'; 40])
        .expect("mint")
        .with_first_party(vec![b'c'; 50])
        .expect("fp")
        .with_third_party_nonce("http://tp/", &key("ck"), "tp", [7; 24])
        .expect("tp")
}

#[test]
fn field_too_large_names_are_consistent_across_formats() {
    // A caveat's id and location are "caveat id" / "caveat location" in v1 and JSON; v2 must
    // not call them "identifier" / "location" (that names the macaroon's own fields).
    let m = Macaroon::mint(&key("k"), "", "i")
        .expect("mint")
        .with_third_party_nonce(vec![b'l'; 100], &key("ck"), "c", [1; 24])
        .expect("tp");
    let big_cid = Macaroon::mint(&key("k"), "", "i")
        .expect("mint")
        .with_first_party(vec![b'c'; 20])
        .expect("fp");
    let mut wrong = Vec::new();
    for (m, limit, field) in [(&m, 80, "caveat location"), (&big_cid, 10, "caveat id")] {
        let l = limits(|l| l.max_field_bytes = limit);
        for format in [Format::V1, Format::V2, Format::V2Json] {
            let text = serialize_ok(m, format, field);
            match Parsed::from_text(&text, &l).map(|p| p.macaroon) {
                Err(Error::Limit(LimitError::FieldTooLarge { field: got, .. })) => {
                    if got != field {
                        wrong.push(format!("oversized {field} in {format} is named {got:?}"));
                    }
                }
                other => panic!("{field} in {format}: expected FieldTooLarge, got {other:?}"),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "FieldTooLarge.field differs across formats:\n{}",
        wrong.join("\n")
    );
}

/// Every way a token is read: (name, result under `l`).
fn parse_everywhere(m: &Macaroon, l: &Limits) -> Vec<(String, Result<Macaroon, Error>)> {
    let mut out: Vec<(String, Result<Macaroon, Error>)> = FORMATS
        .iter()
        .map(|&f| {
            let text = serialize_ok(m, f, "parse_everywhere");
            (
                f.to_string(),
                Parsed::from_text(&text, l).map(|p| p.macaroon),
            )
        })
        .collect();
    out.push((
        "raw v2".into(),
        Parsed::from_bytes(&m.to_v2_bytes(), l).map(|p| p.macaroon),
    ));
    out.push((
        "raw v1".into(),
        Parsed::from_bytes(&m.to_v1_bytes().expect("v1"), l).map(|p| p.macaroon),
    ));
    out
}

/// A macaroon whose encodings are all somewhat below 1 MiB.
fn big() -> (RootKey, Macaroon) {
    let k = key("big");
    let m = (0..12).fold(
        Macaroon::mint(&k, "http://big/", "big").expect("mint"),
        |m, i| {
            m.with_first_party(vec![b'a' + i as u8; 50_000])
                .expect("fp")
        },
    );
    (k, m)
}

#[test]
fn token_size_default_limit_in_every_format() {
    const MIB: usize = 1 << 20;
    let (k, m) = big();
    let verifier = Verifier::new().satisfy_general(|_| true);
    let mut texts: Vec<(String, String)> = FORMATS
        .iter()
        .map(|&f| (f.to_string(), serialize_ok(&m, f, "big")))
        .collect();
    texts.push((
        "opw-onedata".into(),
        format!("opw-{}", serialize_ok(&m, Format::Onedata, "big")),
    ));
    for (name, text) in texts {
        assert!(text.len() < MIB, "{name}: {} bytes", text.len());
        // Measured as given: whitespace padding counts.
        let at = format!("{text}{}", " ".repeat(MIB - text.len()));
        assert_eq!(at.len(), MIB);
        assert_eq!(
            Macaroon::parse(&at).as_ref(),
            Ok(&m),
            "{name} exactly 1 MiB"
        );
        assert_eq!(
            verifier.verify_token(&k, &at, &[]).map(|_| ()),
            Ok(()),
            "{name} exactly 1 MiB, verify_token"
        );
        let over = format!("{at} ");
        let (r, u) = measure(|| Macaroon::parse(&over));
        assert_eq!(
            r,
            Err(Error::Limit(LimitError::TokenTooLarge {
                limit: MIB,
                found: MIB + 1
            })),
            "{name} 1 MiB + 1"
        );
        assert_eq!(u.total, 0, "{name}: rejected before anything is allocated");
        let (r, u) = measure(|| verifier.verify_token(&k, &over, &[]).map(|_| ()));
        assert_eq!(
            r,
            Err(Error::Limit(LimitError::TokenTooLarge {
                limit: MIB,
                found: MIB + 1
            })),
            "{name} 1 MiB + 1, verify_token"
        );
        assert_eq!(u.total, 0, "{name}: verify_token rejects before allocating");
        let report = Inspection::of_text(&over);
        assert!(
            report.recovered.is_none(),
            "{name}: inspect does not decode an oversized token"
        );
    }
    // Input that is no token at all is measured before it is decoded.
    let huge = "A".repeat(MIB + 1);
    assert_eq!(
        Macaroon::parse(&huge).map(|_| ()),
        Err(Error::Limit(LimitError::TokenTooLarge {
            limit: MIB,
            found: MIB + 1
        })),
        "default max_token_bytes"
    );
    // Raw bytes: grow the location until the encoding is exactly 1 MiB.
    type Encode = fn(&Macaroon) -> Vec<u8>;
    let raw: [(&str, Encode); 2] = [
        ("raw v2", |m| m.to_v2_bytes()),
        ("raw v1", |m| m.to_v1_bytes().expect("v1")),
    ];
    for (name, encode) in raw {
        // 20 caveats of 50,000 bytes, and a location making up the rest.
        // Start with a location long enough that its length header no longer grows.
        let mut location = 20_000usize;
        let sized = loop {
            let mut p = Macaroon::mint(&k, vec![b'L'; location], "big").expect("mint");
            for i in 0..20u8 {
                p = p.with_first_party(vec![b'a' + i; 50_000]).expect("fp");
            }
            let len = encode(&p).len();
            if len == MIB {
                break p;
            }
            assert!(len < MIB, "{name}: overshot");
            location += MIB - len;
        };
        let bytes = encode(&sized);
        let at = |max| limits(|l| l.max_token_bytes = max);
        let read = |l: &Limits| Parsed::from_bytes(&bytes, l).map(|p| p.macaroon);
        assert_eq!(
            read(&Limits::default()).as_ref(),
            Ok(&sized),
            "{name} 1 MiB"
        );
        assert_eq!(
            read(&at(MIB - 1)),
            Err(Error::Limit(LimitError::TokenTooLarge {
                limit: MIB - 1,
                found: MIB
            })),
            "{name} 1 MiB with a limit one below"
        );
    }
}

/// `max_token_bytes` below the default: text of every format and raw bytes are accepted exactly
/// at the limit and refused one byte over, measured as given (surrounding whitespace counts),
/// by the parser and by `verify_token` alike.
#[test]
fn token_size_custom_limit_in_every_format() {
    let k = key("k");
    let small = Macaroon::mint(&k, "loc", "id")
        .expect("mint")
        .with_first_party("a = 1")
        .expect("fp")
        .with_third_party_nonce("tp", &key("ck"), "cid", [1; 24])
        .expect("tp");
    let too_large = |limit, found| Err(Error::Limit(LimitError::TokenTooLarge { limit, found }));
    // (name, token, its key, what verify_token answers when the size is accepted)
    let tokens = [
        ("TV1", tv1(), key(TV1_KEY), Ok(())),
        (
            "small",
            small,
            k,
            Err(Error::Verify(VerifyError::DischargeMissing {
                caveat_id: b"cid".to_vec(),
            })),
        ),
    ];
    for (name, m, k, verified) in &tokens {
        for format in FORMATS {
            let text = serialize_ok(m, format, name);
            let n = text.len();
            for (limit, want) in [
                (n, Ok(m.clone())),
                (n - 1, too_large(n - 1, n)),
                (0, too_large(0, n)),
            ] {
                let ctx = format!("{name} {format} ({n} characters), max_token_bytes {limit}");
                let l = limits(|l| l.max_token_bytes = limit);
                assert_eq!(
                    Parsed::from_text(&text, &l).map(|p| p.macaroon),
                    want,
                    "[{ctx}]"
                );
                // The verifier applies the same limit to the text it parses.
                let v = Verifier::new().satisfy_general(|_| true).with_limits(l);
                assert_eq!(
                    v.verify_token(k, &text, &[]).map(|_| ()),
                    match &want {
                        Ok(_) => verified.clone(),
                        Err(e) => Err(e.clone()),
                    },
                    "[{ctx}] verify_token"
                );
            }
            // Measured as given: surrounding whitespace counts.
            let padded = format!(" {text}\n");
            assert_eq!(
                Parsed::from_text(&padded, &limits(|l| l.max_token_bytes = n)).map(|p| p.macaroon),
                too_large(n, n + 2),
                "[{name} {format}] whitespace counts"
            );
        }
        type Encode = fn(&Macaroon) -> Vec<u8>;
        let raw: [(&str, Encode); 2] = [
            ("raw v2", |m| m.to_v2_bytes()),
            ("raw v1", |m| m.to_v1_bytes().expect("v1")),
        ];
        for (encoding, encode) in raw {
            let bytes = encode(m);
            let n = bytes.len();
            assert_eq!(
                Parsed::from_bytes(&bytes, &limits(|l| l.max_token_bytes = n))
                    .map(|p| p.macaroon)
                    .as_ref(),
                Ok(m),
                "{name} {encoding} at the limit"
            );
            assert_eq!(
                Parsed::from_bytes(&bytes, &limits(|l| l.max_token_bytes = n - 1))
                    .map(|p| p.macaroon),
                too_large(n - 1, n),
                "{name} {encoding} one over"
            );
        }
    }
    // Empty input with a zero limit is just empty.
    assert_eq!(
        Parsed::from_text("", &limits(|l| l.max_token_bytes = 0))
            .map(|p| p.macaroon)
            .map_err(|e| decode_err::<()>(Err(e), "empty").kind),
        Err(DecodeErrorKind::Empty)
    );
}

/// One macaroon per field kind whose largest field is that one, of `n` bytes (`n` > 72 for
/// every kind but the vid, which is always 72 bytes).
fn with_large(field: &str, n: usize) -> Macaroon {
    let k = key("k");
    let ck = key("ck");
    let base = |loc: Vec<u8>, id: Vec<u8>| Macaroon::mint(&k, loc, id).expect("mint");
    match field {
        "location" => base(vec![b'L'; n], b"id".to_vec()),
        "identifier" => base(b"loc".to_vec(), vec![b'I'; n]),
        "caveat id" => base(b"loc".to_vec(), b"id".to_vec())
            .with_first_party(vec![b'C'; n])
            .expect("fp"),
        "caveat location" => base(b"loc".to_vec(), b"id".to_vec())
            .with_third_party_nonce(vec![b'T'; n], &ck, "cid", [9; 24])
            .expect("tp"),
        "verification id" => base(b"loc".to_vec(), b"id".to_vec())
            .with_third_party_nonce("tp", &ck, "cid", [9; 24])
            .expect("tp"),
        other => panic!("{other}"),
    }
}

/// Where the oversized field starts, in each encoding's offset unit (SPEC §12/§13): the v1
/// packet header and the v2 field type (bytes of decoded data), the JSON value's opening quote
/// (characters).
fn field_offsets(m: &Macaroon, field: &str) -> (usize, usize, usize) {
    let v1 = m.to_v1_bytes().expect("v1");
    let v2 = m.to_v2_bytes();
    let json = serialize_ok(m, Format::V2Json, field);
    let (v1_key, v2_prefix, json_key): (&[u8], Vec<u8>, &str) = match field {
        "location" => (b"location ", vec![1], "\"l\":"),
        "identifier" => (b"identifier ", vec![2], "\"i\":\"I"),
        "caveat id" => (b"cid C", vec![2], "\"i\":\"C"),
        "caveat location" => (b"cl ", vec![1], "\"l\":\"T"),
        "verification id" => (b"vid ", vec![4, 72], "\"v64\":"),
        other => panic!("{other}"),
    };
    let v1_at = find(&v1, v1_key) - 4;
    let v2_at = match field {
        // The first field of its type that is followed by a long length varint or a vid.
        "verification id" => find(&v2, &v2_prefix),
        _ => {
            let data = match field {
                "location" => m.location().to_vec(),
                "identifier" => m.identifier().to_vec(),
                "caveat id" => m.caveats()[0].id().to_vec(),
                _ => m.caveats()[0].location().to_vec(),
            };
            let mut head = v2_prefix.clone();
            put_uvarint(&mut head, data.len() as u64);
            head.extend_from_slice(&data[..4]);
            find(&v2, &head)
        }
    };
    let json_at = json.find(json_key).expect("json key") + json_key.find(':').expect("colon") + 1;
    (v1_at, v2_at, json_at)
}

/// (field, token, field size, the token's largest field, (v1, v2, JSON) offsets)
type FieldCase = (&'static str, Macaroon, usize, usize, (usize, usize, usize));

/// `max_field_bytes` below the default: a token whose largest field is at the limit is
/// accepted everywhere; one byte less and the first field over it is refused, named, with its
/// offset in each encoding's unit.
#[test]
fn field_size_custom_limit_in_every_format() {
    let mut cases: Vec<FieldCase> = [
        ("location", 80),
        ("identifier", 80),
        ("caveat id", 80),
        ("caveat location", 80),
        ("verification id", 72),
    ]
    .into_iter()
    .map(|(field, n)| {
        let m = with_large(field, n);
        let offsets = field_offsets(&m, field);
        (field, m, n, n, offsets)
    })
    .collect();
    // One token, three fields over three limits: the first field over the limit is named.
    let m = sized();
    let vid = m.caveats()[1].verification_id().expect("vid").to_vec();
    let v1 = m.to_v1_bytes().expect("v1");
    let v2 = m.to_v2_bytes();
    let json = serialize_ok(&m, Format::V2Json, "sized");
    cases.extend([
        (
            "identifier",
            m.clone(),
            40,
            72,
            (
                find(&v1, b"identifier ") - 4,
                find(&v2, &[2, 40, b'i']),
                json.find("\"i\":\"i").expect("i") + 4,
            ),
        ),
        (
            "caveat id",
            m.clone(),
            50,
            72,
            (
                find(&v1, b"cid c") - 4,
                find(&v2, &[2, 50, b'c']),
                json.find("\"i\":\"c").expect("cid") + 4,
            ),
        ),
        (
            "verification id",
            m.clone(),
            72,
            72,
            (
                find(&v1, b"vid ") - 4,
                find(&v2, &[[4u8, 72].as_slice(), &vid[..4]].concat()),
                json.find("\"v64\":\"").expect("v64") + 6,
            ),
        ),
    ]);
    for (field, m, n, largest, (v1_at, v2_at, json_at)) in cases {
        let at = limits(|l| l.max_field_bytes = largest);
        for (name, r) in parse_everywhere(&m, &at) {
            assert_eq!(
                r.as_ref(),
                Ok(&m),
                "{field} of {n} bytes, {name}, largest field at the limit"
            );
        }
        let below = limits(|l| l.max_field_bytes = n - 1);
        for (name, r) in parse_everywhere(&m, &below) {
            let offset = match name.as_str() {
                "v1" | "onedata" | "raw v1" => v1_at,
                "v2" | "raw v2" => v2_at,
                _ => json_at,
            };
            assert_eq!(
                r,
                Err(Error::Limit(LimitError::FieldTooLarge {
                    field,
                    limit: n - 1,
                    found: n,
                    offset
                })),
                "{field} of {n} bytes, {name}, one over"
            );
        }
    }
}

#[test]
fn field_size_limit_zero_allows_only_empty_fields_and_the_signature() {
    let k = key("k");
    let empty = Macaroon::mint(&k, "", "").expect("mint");
    let zero = limits(|l| l.max_field_bytes = 0);
    for (name, r) in parse_everywhere(&empty, &zero) {
        assert_eq!(
            r.as_ref(),
            Ok(&empty),
            "empty fields, {name}: the signature is exempt"
        );
    }
    let one = Macaroon::mint(&k, "", "i").expect("mint");
    for (name, r) in parse_everywhere(&one, &zero) {
        let offset = match name.as_str() {
            "v1" | "onedata" | "raw v1" => 14, // after the empty location packet
            "v2" | "raw v2" => 1,
            _ => 11, // {"v":2,"i":
        };
        assert_eq!(
            r,
            Err(Error::Limit(LimitError::FieldTooLarge {
                field: "identifier",
                limit: 0,
                found: 1,
                offset
            })),
            "one-byte identifier, {name}"
        );
    }
}

/// Default `max_field_bytes` (65,535): only v2 and JSON can carry a longer field (a v1 packet
/// holds at most 65,526 bytes of value), so the limit is tested there, with hand-built tokens.
#[test]
fn field_size_default_limit_in_v2_and_json() {
    const MAX: usize = 65_535;
    let sig = [7u8; 32];
    // (field, v2 builder, JSON builder): each puts `n` bytes into that field.
    type V2 = fn(usize) -> Vec<u8>;
    type Json = fn(usize) -> String;
    let cases: [(&str, V2, Json); 5] = [
        (
            "location",
            |n| {
                let mut v = vec![2];
                put_field(&mut v, 1, &vec![b'l'; n]);
                put_field(&mut v, 2, b"id");
                v.extend([0, 0]);
                v
            },
            |n| {
                format!(
                    r#"{{"v":2,"l":"{}","i":"id","c":[],"s64":"SIG"}}"#,
                    "l".repeat(n)
                )
            },
        ),
        (
            "identifier",
            |n| {
                let mut v = vec![2];
                put_field(&mut v, 2, &vec![b'i'; n]);
                v.extend([0, 0]);
                v
            },
            |n| format!(r#"{{"v":2,"i":"{}","c":[],"s64":"SIG"}}"#, "i".repeat(n)),
        ),
        (
            "caveat id",
            |n| {
                let mut v = vec![2];
                put_field(&mut v, 2, b"id");
                v.push(0);
                put_field(&mut v, 2, &vec![b'c'; n]);
                v.extend([0, 0]);
                v
            },
            |n| {
                format!(
                    r#"{{"v":2,"i":"id","c":[{{"i":"{}"}}],"s64":"SIG"}}"#,
                    "c".repeat(n)
                )
            },
        ),
        (
            "caveat location",
            |n| {
                let mut v = vec![2];
                put_field(&mut v, 2, b"id");
                v.push(0);
                put_field(&mut v, 1, &vec![b'L'; n]);
                put_field(&mut v, 2, b"cid");
                put_field(&mut v, 4, &[1; 72]);
                v.extend([0, 0]);
                v
            },
            |n| {
                format!(
                    r#"{{"v":2,"i":"id","c":[{{"i":"cid","v64":"{}","l":"{}"}}],"s64":"SIG"}}"#,
                    "AQEB".repeat(24),
                    "L".repeat(n)
                )
            },
        ),
        (
            "verification id",
            |n| {
                let mut v = vec![2];
                put_field(&mut v, 2, b"id");
                v.push(0);
                put_field(&mut v, 2, b"cid");
                put_field(&mut v, 4, &vec![b'v'; n]);
                v.extend([0, 0]);
                v
            },
            |n| {
                // n is a multiple of 3 here: "dnZ2" is base64 of "vvv".
                format!(
                    r#"{{"v":2,"i":"id","c":[{{"i":"cid","v64":"{}"}}],"s64":"SIG"}}"#,
                    "dnZ2".repeat(n / 3)
                )
            },
        ),
    ];
    let sig64 = b64_encode(&sig, true, false);
    for (field, v2, json) in cases {
        // The vid case needs a multiple of 3 for its base64; 65,535 = 3 × 21,845.
        for (n, fits) in [(MAX, true), (MAX + 1, false)] {
            if field == "verification id" && !fits {
                continue; // covered below with 65,538 = 3 × 21,846
            }
            let mut bytes = v2(n);
            put_field(&mut bytes, 6, &sig);
            let text = json(n).replace("SIG", &sig64);
            let v2_offset = match field {
                "location" | "identifier" => 1,
                "caveat id" => 1 + 4 + 1,
                "caveat location" => 1 + 4 + 1,
                _ => 1 + 4 + 1 + 5,
            };
            let json_offset = match field {
                "location" => 11,
                "identifier" => 11,
                "caveat id" => 26,
                "caveat location" => text.find(r#""l":"L"#).expect("l") + 4,
                _ => 38,
            };
            let b64 = b64_encode(&bytes, true, false);
            let results = [
                (
                    "raw v2",
                    Parsed::from_bytes(&bytes, &Limits::default()).map(|p| p.macaroon),
                    v2_offset,
                ),
                ("v2", Macaroon::parse(&b64), v2_offset),
                ("v2j", Macaroon::parse(&text), json_offset),
            ];
            for (name, r, offset) in results {
                if fits {
                    assert!(r.is_ok(), "{field} of {n} bytes, {name}: {:?}", r.err());
                } else {
                    assert_eq!(
                        r.map(|_| ()),
                        Err(Error::Limit(LimitError::FieldTooLarge {
                            field,
                            limit: MAX,
                            found: n,
                            offset
                        })),
                        "{field} of {n} bytes, {name}"
                    );
                }
            }
        }
    }
    // A vid of 65,538 bytes (a multiple of 3, for the JSON base64).
    let n = MAX + 3;
    let mut bytes = vec![2];
    put_field(&mut bytes, 2, b"id");
    bytes.push(0);
    put_field(&mut bytes, 2, b"cid");
    put_field(&mut bytes, 4, &vec![b'v'; n]);
    bytes.extend([0, 0]);
    put_field(&mut bytes, 6, &sig);
    let want = |offset| {
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "verification id",
            limit: MAX,
            found: n,
            offset,
        }))
    };
    assert_eq!(
        Parsed::from_bytes(&bytes, &Limits::default()).map(|_| ()),
        want(11),
        "vid of 65,538 bytes, raw v2"
    );
    let text = format!(
        r#"{{"v":2,"i":"id","c":[{{"i":"cid","v64":"{}"}}],"s64":"{sig64}"}}"#,
        "dnZ2".repeat(n / 3)
    );
    assert_eq!(
        Macaroon::parse(&text).map(|_| ()),
        want(38),
        "vid of 65,538 bytes, v2j"
    );
}

/// `max_caveats`: first- and third-party caveats count alike; one over the limit is refused
/// where the first caveat beyond it starts, in every encoding.
#[test]
fn caveat_count_limit_in_every_format() {
    let k = key("k");
    let ck = key("ck");
    // `n` caveats, every tenth third-party (they count too).
    let with = |n: usize| {
        (0..n).fold(Macaroon::mint(&k, "loc", "id").expect("mint"), |m, i| {
            if i % 10 == 9 {
                m.with_third_party_nonce("tp", &ck, format!("tp{i}"), [i as u8; 24])
                    .expect("tp")
            } else {
                m.with_first_party(format!("c{i}")).expect("fp")
            }
        })
    };
    // At 9 the caveat over the limit is a third-party one.
    for (limit, l) in [
        (1024, Limits::default()),
        (9, limits(|l| l.max_caveats = 9)),
        (3, limits(|l| l.max_caveats = 3)),
        (0, limits(|l| l.max_caveats = 0)),
    ] {
        let at = with(limit);
        for (name, r) in parse_everywhere(&at, &l) {
            assert_eq!(r.as_ref(), Ok(&at), "{limit} caveats, {name}, at the limit");
        }
        let over = with(limit + 1);
        // The first caveat over the limit starts where the signature of `at` starts.
        let v1_offset = at.to_v1_bytes().expect("v1").len() - 47;
        let v2_offset = at.to_v2_bytes().len() - 35;
        let json = serialize_ok(&over, Format::V2Json, "over");
        let json_offset = json
            .match_indices("{\"i\"")
            .nth(limit)
            .expect("caveat over the limit")
            .0;
        for (name, r) in parse_everywhere(&over, &l) {
            let offset = match name.as_str() {
                "v1" | "onedata" | "raw v1" => v1_offset,
                "v2" | "raw v2" => v2_offset,
                _ => json_offset,
            };
            assert_eq!(
                r,
                Err(Error::Limit(LimitError::TooManyCaveats { limit, offset })),
                "{} caveats, {name}, max_caveats {limit}",
                limit + 1
            );
        }
    }
}

/// `max_caveats` and `max_field_bytes` bound parsing. `Verifier::verify` takes an already
/// parsed (or locally built) value and applies only `max_discharges` and `max_depth`, as its
/// documentation says; `verify_token`, which parses, applies all of them.
#[test]
fn verifier_applies_parse_limits_only_when_it_parses() {
    let k = key("k");
    let m = (0..5).fold(Macaroon::mint(&k, "", "id").expect("mint"), |m, i| {
        m.with_first_party(format!("c{i}")).expect("fp")
    });
    let strict = limits(|l| l.max_field_bytes = 1);
    let v = Verifier::new()
        .satisfy_general(|_| true)
        .with_limits(strict);
    assert_eq!(v.verify(&k, &m, &[]).map(|_| ()), Ok(()));
    for format in FORMATS {
        let text = serialize_ok(&m, format, "5 caveats");
        assert!(
            matches!(
                v.verify_token(&k, &text, &[]),
                Err(Error::Limit(LimitError::FieldTooLarge {
                    field: "identifier",
                    limit: 1,
                    found: 2,
                    ..
                }))
            ),
            "{format}"
        );
    }
    let v = Verifier::new()
        .satisfy_general(|_| true)
        .with_limits(limits(|l| l.max_caveats = 4));
    for format in FORMATS {
        let text = serialize_ok(&m, format, "5 caveats");
        assert!(
            matches!(
                v.verify_token(&k, &text, &[]),
                Err(Error::Limit(LimitError::TooManyCaveats { limit: 4, .. }))
            ),
            "{format}"
        );
    }
}

/// A root requiring `d1`, and discharges `d1 … dn` where each `di` requires `d(i+1)`.
fn chain(n: usize) -> (RootKey, Macaroon, Vec<Macaroon>) {
    let k = key("chain root");
    let kd = |i: usize| key(&format!("chain key {i}"));
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party_nonce("", &kd(1), "d1", [1; 24])
        .expect("tp");
    let ds = (1..=n)
        .map(|i| {
            let m = Macaroon::mint(&kd(i), "", format!("d{i}")).expect("mint");
            let m = if i < n {
                m.with_third_party_nonce("", &kd(i + 1), format!("d{}", i + 1), [2; 24])
                    .expect("tp")
            } else {
                m
            };
            m.bind_to(&root)
        })
        .collect();
    (k, root, ds)
}

/// `max_depth`: a chain of discharges as deep as the limit verifies; one deeper fails at the
/// first discharge beyond it, naming that discharge.
#[test]
fn depth_limit_exactly_at_and_one_over() {
    let depth_exceeded = |limit: usize, at: usize| {
        Err(Error::Limit(LimitError::DepthExceeded {
            limit,
            caveat_id: format!("d{at}").into_bytes(),
        }))
    };
    // (chain length, max_depth or the default 16, expected)
    let table: [(usize, Option<usize>, Result<(), Error>); 16] = [
        (1, Some(0), depth_exceeded(0, 1)),
        (1, Some(1), Ok(())),
        (2, Some(1), depth_exceeded(1, 2)),
        (2, Some(2), Ok(())),
        (3, Some(2), depth_exceeded(2, 3)),
        (3, Some(3), Ok(())),
        (4, Some(3), depth_exceeded(3, 4)),
        (4, Some(4), Ok(())),
        (5, Some(4), depth_exceeded(4, 5)),
        (5, Some(5), Ok(())),
        (5, Some(6), Ok(())),
        (5, Some(0), depth_exceeded(0, 1)),
        (16, None, Ok(())),
        (17, None, depth_exceeded(16, 17)),
        (1, None, Ok(())),
        (64, Some(64), Ok(())),
    ];
    for (n, max_depth, want) in table {
        let (k, root, ds) = chain(n);
        let l = match max_depth {
            Some(max) => limits(|l| l.max_depth = max),
            None => Limits::default(),
        };
        assert_eq!(
            verify_with(l, &k, &root, &ds),
            want,
            "chain of {n}, max_depth {max_depth:?}"
        );
    }
    // The depth limit is checked before the signature of the too-deep discharge: a chain too
    // deep fails on depth even if its last discharge is forged.
    let (k, root, mut ds) = chain(3);
    ds[2] = Macaroon::mint(&key("forger"), "", "d3")
        .expect("mint")
        .bind_to(&root);
    assert_eq!(
        verify_with(limits(|l| l.max_depth = 2), &k, &root, &ds),
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 2,
            caveat_id: b"d3".to_vec()
        }))
    );
}

/// The walk keeps its own stack: a chain far deeper than the defaults verifies when the limits
/// allow it, without recursion on the thread's stack; the count limit still bounds it.
#[test]
fn very_deep_chain_with_raised_limits() {
    let n = 1_000;
    let (k, root, ds) = chain(n);
    let raised = limits(|l| {
        l.max_depth = n;
        l.max_discharges = n;
    });
    // A small thread stack proves no recursion per level.
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let ok = verify_with(raised, &k, &root, &ds);
            let fewer = verify_with(limits(|l| l.max_depth = n - 1), &k, &root, &ds);
            let count = verify_with(limits(|l| l.max_discharges = n - 1), &k, &root, &ds);
            (ok, fewer, count)
        })
        .expect("spawn")
        .join()
        .expect("no stack overflow");
    assert_eq!(result.0, Ok(()), "chain of {n}");
    assert_eq!(
        result.1,
        Err(Error::Limit(LimitError::TooManyDischarges {
            limit: 64,
            found: n
        })),
        "the count is checked first"
    );
    assert_eq!(
        result.2,
        Err(Error::Limit(LimitError::TooManyDischarges {
            limit: n - 1,
            found: n
        }))
    );
}

/// `max_discharges`: as many discharges as the limit verify; one more (a spare or a repeat of
/// one given) fails with the count, before any signature is checked, on both verify paths.
#[test]
fn discharge_count_limit() {
    let k = key("root");
    let keys: Vec<RootKey> = (0..64).map(|i| key(&format!("ck {i}"))).collect();
    let build = |n: usize| {
        let root = keys[..n].iter().enumerate().fold(
            Macaroon::mint(&k, "", "root").expect("mint"),
            |m, (i, ck)| {
                m.with_third_party_nonce("", ck, format!("c{i}"), [i as u8; 24])
                    .expect("tp")
            },
        );
        let ds: Vec<Macaroon> = keys[..n]
            .iter()
            .enumerate()
            .map(|(i, ck)| {
                Macaroon::mint(ck, "", format!("c{i}"))
                    .expect("mint")
                    .bind_to(&root)
            })
            .collect();
        (root, ds)
    };
    for (limit, l) in [
        (64, Limits::default()),
        (5, limits(|l| l.max_discharges = 5)),
        (2, limits(|l| l.max_discharges = 2)),
        (0, limits(|l| l.max_discharges = 0)),
    ] {
        let (root, ds) = build(limit);
        assert_eq!(verify_with(l, &k, &root, &ds), Ok(()), "{limit} discharges");
        let want = Err(Error::Limit(LimitError::TooManyDischarges {
            limit,
            found: limit + 1,
        }));
        let spare = Macaroon::mint(&k, "", "spare").expect("mint");
        let extras = std::iter::once(("a spare", spare)).chain(
            ds.first()
                .map(|first| ("a repeat of the first", first.clone())),
        );
        for (what, extra) in extras {
            let mut more = ds.clone();
            more.push(extra);
            let ctx = format!("{limit} discharges and {what}");
            assert_eq!(verify_with(l, &k, &root, &more), want, "[{ctx}]");
            // Checked before any signature: even the wrong key gets the limit error.
            assert_eq!(
                verify_with(l, &key("wrong"), &root, &more),
                want,
                "[{ctx}] wrong key"
            );
            let text = serialize_ok(&root, Format::V2, "root");
            assert_eq!(
                Verifier::new()
                    .with_limits(l)
                    .verify_token(&k, &text, &more)
                    .map(|_| ()),
                want,
                "[{ctx}] verify_token"
            );
        }
    }
}

//! Limits and hostile input (issue #6, SPEC §12): every limit of [`Limits`] accepted exactly at
//! the limit and rejected one above it with the specific `LimitError` in every format; deep,
//! wide and cyclic discharge sets; memory stays bounded when length fields lie; secrets never
//! reach `Debug`, `Display` or error text; signature comparison is constant time and reveals no
//! position.
//!
//! This binary installs a counting global allocator. It counts per thread (the test harness runs
//! each test on its own thread), so the measurements are not disturbed by tests running in
//! parallel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crate::common::*;
use macaroon_mint::{
    DecodeError, DecodeErrorKind, Error, Format, Layer, LimitError, Limits, Macaroon, MacaroonRole,
    RootKey, Verifier, VerifyError,
};
use macaroon_mint::{Inspection, Parsed};

// ---------------------------------------------------------------------------------------------
// Counting allocator
// ---------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    // `const` thread-locals of `Cell`s need no lazy initialization or destructor, so touching
    // them from inside the allocator never allocates.
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let now = CURRENT.with(|c| {
                c.set(c.get() + size);
                c.get()
            });
            PEAK.with(|p| p.set(p.get().max(now)));
            TOTAL.with(|t| t.set(t.get() + size));
        }
    });
}

fn on_dealloc(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            CURRENT.with(|c| c.set(c.get().saturating_sub(size)));
        }
    });
}

// SAFETY: defers every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_dealloc(layout.size());
        on_alloc(new_size);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated on this thread while `f` ran: the peak held at once (above what was held
/// before) and the total.
#[derive(Debug, Clone, Copy)]
struct Usage {
    peak: usize,
    total: usize,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    CURRENT.with(|c| c.set(0));
    PEAK.with(|p| p.set(0));
    TOTAL.with(|t| t.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let usage = Usage {
        peak: PEAK.with(Cell::get),
        total: TOTAL.with(Cell::get),
    };
    (out, usage)
}

/// What a decoder may hold for an input of `len` bytes: a decode buffer, a decoded string and
/// its copy (each at most the input's size; a 512 KiB `i64` field peaks at 3.0×), plus one more
/// for headroom and a constant for error text and bookkeeping. Nothing may scale with a length
/// the input merely declares.
fn bounded(len: usize) -> usize {
    4 * len + 16 * 1024
}

#[test]
fn the_counter_counts() {
    let ((), u) = measure(|| {
        std::hint::black_box(vec![0u8; 1000]);
    });
    assert_eq!((u.peak, u.total), (1000, 1000));
    let ((), u) = measure(|| {});
    assert_eq!((u.peak, u.total), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const FORMATS: [Format; 4] = [Format::V1, Format::V2, Format::V2Json, Format::Onedata];

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
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

fn decode_kind(r: Result<Macaroon, Error>, ctx: &str) -> (Layer, usize, DecodeErrorKind) {
    let d: DecodeError = decode_err(r, ctx);
    (d.layer, d.offset, d.kind)
}

// ---------------------------------------------------------------------------------------------
// max_token_bytes
// ---------------------------------------------------------------------------------------------

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
        let read = |l: &Limits| {
            if name == "raw v2" {
                Parsed::from_bytes(&bytes, l).map(|p| p.macaroon)
            } else {
                Parsed::from_bytes(&bytes, l).map(|p| p.macaroon)
            }
        };
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

#[test]
fn token_size_custom_limit_in_every_format() {
    let k = key("k");
    let m = Macaroon::mint(&k, "loc", "id")
        .expect("mint")
        .with_first_party("a = 1")
        .expect("fp")
        .with_third_party_nonce("tp", &key("ck"), "cid", [1; 24])
        .expect("tp");
    for format in FORMATS {
        let text = serialize_ok(&m, format, "small");
        let n = text.len();
        for (limit, want) in [
            (n, Ok(m.clone())),
            (
                n - 1,
                Err(Error::Limit(LimitError::TokenTooLarge {
                    limit: n - 1,
                    found: n,
                })),
            ),
            (
                0,
                Err(Error::Limit(LimitError::TokenTooLarge {
                    limit: 0,
                    found: n,
                })),
            ),
        ] {
            let l = limits(|l| l.max_token_bytes = limit);
            assert_eq!(
                Parsed::from_text(&text, &l).map(|p| p.macaroon),
                want,
                "{format}, max_token_bytes {limit}"
            );
            // The verifier applies the same limit to the text it parses.
            let v = Verifier::new().satisfy_general(|_| true).with_limits(l);
            assert_eq!(
                v.verify_token(&k, &text, &[]).map(|_| ()),
                match &want {
                    Ok(_) => Err(Error::Verify(VerifyError::DischargeMissing {
                        caveat_id: b"cid".to_vec()
                    })),
                    Err(e) => Err(e.clone()),
                },
                "{format}, max_token_bytes {limit}, verify_token"
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

// ---------------------------------------------------------------------------------------------
// max_field_bytes
// ---------------------------------------------------------------------------------------------

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

#[test]
fn field_size_custom_limit_in_every_format() {
    for (field, n) in [
        ("location", 80),
        ("identifier", 80),
        ("caveat id", 80),
        ("caveat location", 80),
        ("verification id", 72),
    ] {
        let m = with_large(field, n);
        let (v1_at, v2_at, json_at) = field_offsets(&m, field);
        let at = limits(|l| l.max_field_bytes = n);
        for (name, r) in parse_everywhere(&m, &at) {
            assert_eq!(
                r.as_ref(),
                Ok(&m),
                "{field} of {n} bytes, {name}, at the limit"
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

// ---------------------------------------------------------------------------------------------
// max_caveats
// ---------------------------------------------------------------------------------------------

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
    for (limit, l) in [
        (1024, Limits::default()),
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

// ---------------------------------------------------------------------------------------------
// Discharges: count, depth, cycles
// ---------------------------------------------------------------------------------------------

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

fn verify_with(l: Limits, k: &RootKey, root: &Macaroon, ds: &[Macaroon]) -> Result<(), Error> {
    Verifier::new()
        .with_limits(l)
        .verify(k, root, ds)
        .map(|_| ())
}

#[test]
fn depth_limit_exactly_at_and_one_over() {
    for max_depth in 0..=4 {
        let l = limits(|l| l.max_depth = max_depth);
        if max_depth > 0 {
            let (k, root, ds) = chain(max_depth);
            assert_eq!(
                verify_with(l, &k, &root, &ds),
                Ok(()),
                "chain of {max_depth}, max_depth {max_depth}"
            );
        }
        let (k, root, ds) = chain(max_depth + 1);
        assert_eq!(
            verify_with(l, &k, &root, &ds),
            Err(Error::Limit(LimitError::DepthExceeded {
                limit: max_depth,
                caveat_id: format!("d{}", max_depth + 1).into_bytes()
            })),
            "chain of {}, max_depth {max_depth}",
            max_depth + 1
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
        (0, limits(|l| l.max_discharges = 0)),
    ] {
        let (root, ds) = build(limit);
        assert_eq!(verify_with(l, &k, &root, &ds), Ok(()), "{limit} discharges");
        let mut more = ds.clone();
        more.push(Macaroon::mint(&k, "", "spare").expect("mint"));
        let want = Err(Error::Limit(LimitError::TooManyDischarges {
            limit,
            found: limit + 1,
        }));
        assert_eq!(
            verify_with(l, &k, &root, &more),
            want,
            "{} discharges",
            limit + 1
        );
        // Checked before any signature: even the wrong key gets the limit error.
        assert_eq!(
            verify_with(l, &key("wrong"), &root, &more),
            want,
            "{} discharges, wrong key",
            limit + 1
        );
        let text = serialize_ok(&root, Format::V2, "root");
        assert_eq!(
            Verifier::new()
                .with_limits(l)
                .verify_token(&k, &text, &more)
                .map(|_| ()),
            want,
            "{} discharges, verify_token",
            limit + 1
        );
    }
}

#[test]
fn discharge_cycles() {
    let k = key("root");
    // a -> b -> c -> a
    let names = ["a", "b", "c"];
    let ks: Vec<RootKey> = names.iter().map(|n| key(&format!("key {n}"))).collect();
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party_nonce("", &ks[0], "a", [0; 24])
        .expect("tp");
    let ring: Vec<Macaroon> = (0..3)
        .map(|i| {
            let next = (i + 1) % 3;
            Macaroon::mint(&ks[i], "", names[i])
                .expect("mint")
                .with_third_party_nonce("", &ks[next], names[next], [i as u8; 24])
                .expect("tp")
                .bind_to(&root)
        })
        .collect();
    let cycle = Err(Error::Verify(VerifyError::DischargeCycle {
        caveat_id: b"a".to_vec(),
    }));
    assert_eq!(verify_with(Limits::default(), &k, &root, &ring), cycle);
    assert_eq!(
        Verifier::new()
            .ignore_unused_discharges()
            .verify(&k, &root, &ring)
            .map(|_| ()),
        cycle
    );
    for order in [[2, 1, 0], [1, 2, 0], [0, 2, 1]] {
        let ds: Vec<Macaroon> = order.iter().map(|&i| ring[i].clone()).collect();
        assert_eq!(
            verify_with(Limits::default(), &k, &root, &ds),
            cycle,
            "{order:?}"
        );
    }
    // The cycle is found at depth 3; a depth limit of 2 stops the walk first, at c.
    assert_eq!(
        verify_with(limits(|l| l.max_depth = 2), &k, &root, &ring),
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 2,
            caveat_id: b"c".to_vec()
        }))
    );

    // A self-requiring discharge given many times: each copy is used once, so the walk goes as
    // deep as there are copies and then reports the cycle, or hits the depth limit first.
    let ck = key("self");
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party_nonce("", &ck, "me", [0; 24])
        .expect("tp");
    let me = Macaroon::mint(&ck, "", "me")
        .expect("mint")
        .with_third_party_nonce("", &ck, "me", [1; 24])
        .expect("tp")
        .bind_to(&root);
    let copies = vec![me; 64];
    assert_eq!(
        verify_with(Limits::default(), &k, &root, &copies),
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 16,
            caveat_id: b"me".to_vec()
        })),
        "64 copies, default depth"
    );
    assert_eq!(
        verify_with(limits(|l| l.max_depth = 64), &k, &root, &copies),
        Err(Error::Verify(VerifyError::DischargeCycle {
            caveat_id: b"me".to_vec()
        })),
        "64 copies, depth 64"
    );
}

/// Many discharges sharing one identifier (the worst case for matching) are handled in
/// bounded time and with the specific error.
#[test]
fn many_twins() {
    let k = key("root");
    let ck = key("ck");
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party_nonce("", &ck, "same", [0; 24])
        .expect("tp");
    let d = Macaroon::mint(&ck, "", "same").expect("mint");
    let mut ds = vec![d.clone(); 63]; // unbound: each would fail
    ds.push(d.bind_to(&root));
    // The first unused match is chosen and fails; no backtracking to the good twin (§5.2).
    assert_eq!(
        Verifier::new()
            .ignore_unused_discharges()
            .verify(&k, &root, &ds)
            .map(|_| ()),
        Err(Error::Verify(VerifyError::SignatureMismatch {
            macaroon: discharge_role("same"),
            reason: None
        }))
    );
    ds.rotate_right(1);
    assert_eq!(
        verify_with(Limits::default(), &k, &root, &ds),
        Err(Error::Verify(VerifyError::DischargeUnused {
            index: 1,
            identifier: b"same".to_vec()
        }))
    );
}

// ---------------------------------------------------------------------------------------------
// Memory: lying length fields
// ---------------------------------------------------------------------------------------------

/// Reads `input` as raw v1 (when `v1`) or through detection, measuring memory.
fn read_measured(input: &[u8], l: &Limits, v1: bool) -> (Result<Macaroon, Error>, Usage) {
    measure(|| {
        if v1 {
            Parsed::from_bytes(input, l).map(|p| p.macaroon)
        } else {
            Parsed::from_bytes(input, l).map(|p| p.macaroon)
        }
    })
}

fn assert_bounded(u: Usage, len: usize, ctx: &str) {
    assert!(
        u.peak <= bounded(len),
        "[{ctx}] peak {} bytes for {len} bytes of input",
        u.peak
    );
    assert!(
        u.total <= 2 * bounded(len),
        "[{ctx}] {} bytes allocated in all for {len} bytes of input",
        u.total
    );
}

#[test]
fn v1_headers_that_lie() {
    // `ffff` declares a 65,535-byte packet; a few bytes follow.
    let raw = b"ffffidentifier abc".to_vec();
    let (r, u) = read_measured(&raw, &Limits::default(), true);
    assert_eq!(
        decode_kind(r, "v1 ffff"),
        (
            Layer::V1,
            0,
            DecodeErrorKind::Truncated {
                what: "identifier packet",
                declared: 0xffff,
                remaining: raw.len()
            }
        )
    );
    assert!(u.peak < 1024, "raw v1 ffff: peak {}", u.peak);
    // The same as base64 text, in both header cases.
    for header in ["ffff", "FFFF"] {
        let text = b64_encode(format!("{header}location abc").as_bytes(), true, false);
        let (r, u) = read_measured(text.as_bytes(), &Limits::default(), false);
        let e = decode_err(r, "v1 text ffff");
        assert_eq!(
            (e.layer, e.offset, e.text_offset, e.kind),
            (
                Layer::V1,
                0,
                Some(0),
                DecodeErrorKind::Truncated {
                    what: "location packet",
                    declared: 0xffff,
                    remaining: 16
                }
            )
        );
        assert_bounded(u, text.len(), "v1 text ffff");
    }
    // `0000` (the LM endless loop) and other headers below the minimum end the walk.
    for (raw, declared) in [(&b"0000location \n"[..], 0), (b"0005location \n", 5)] {
        let (r, u) = read_measured(raw, &Limits::default(), true);
        assert_eq!(
            decode_kind(r, "short header"),
            (Layer::V1, 0, DecodeErrorKind::PacketTooShort { declared })
        );
        assert!(u.peak < 1024);
    }
    assert_eq!(
        decode_kind(Macaroon::parse("MDAwMGxvY2F0aW9uIAo"), "LM loop vector"),
        (
            Layer::V1,
            0,
            DecodeErrorKind::PacketTooShort { declared: 0 }
        )
    );
    // A header that is not hex (in base64 text: raw bytes are only taken for v1 packets when the
    // header is four hex digits).
    assert_eq!(
        decode_kind(Macaroon::parse("MDB4MGxvY2F0aW9uIAo"), "hex"),
        (Layer::V1, 0, DecodeErrorKind::BadPacketHeader)
    );
}

#[test]
fn v2_varints_that_lie() {
    let varint = |v: u64| {
        let mut out = Vec::new();
        put_uvarint(&mut out, v);
        out
    };
    // An identifier declaring 2^60 bytes: over the field limit, rejected before reading on.
    let mut huge = vec![2u8, 2];
    huge.extend(varint(1 << 60));
    huge.extend(b"abc");
    let (r, u) = read_measured(&huge, &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: 1 << 60,
            offset: 1
        }))
    );
    assert!(u.peak < 1024, "2^60 identifier: peak {}", u.peak);
    // Without a field limit, the length is compared with what remains, still without
    // allocating.
    let unlimited = limits(|l| l.max_field_bytes = usize::MAX);
    let (r, u) = read_measured(&huge, &unlimited, false);
    assert_eq!(
        decode_kind(r, "2^60 unlimited"),
        (
            Layer::V2,
            1,
            DecodeErrorKind::Truncated {
                what: "identifier field",
                declared: 1 << 60,
                remaining: 3
            }
        )
    );
    assert!(
        u.peak < 1024,
        "2^60 identifier, no field limit: peak {}",
        u.peak
    );
    // The largest varint (2^64 - 1, ten bytes) and one byte too many.
    let mut max = vec![2u8, 2];
    max.extend(varint(u64::MAX));
    assert_eq!(max.len(), 12);
    assert_eq!(
        Parsed::from_bytes(&max, &Limits::default()).map(|_| ()),
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: usize::try_from(u64::MAX).unwrap_or(usize::MAX),
            offset: 1
        }))
    );
    let mut overflow = vec![2u8, 2];
    overflow.extend([0xff; 10]);
    overflow.push(0x01);
    assert_eq!(
        decode_kind(
            Parsed::from_bytes(&overflow, &Limits::default()).map(|p| p.macaroon),
            "11-byte varint"
        ),
        (Layer::V2, 2, DecodeErrorKind::InvalidVarint)
    );
    // The signature is exempt from the field limit (it must be exactly 32 bytes), so a huge
    // declared signature is caught by the remaining-input check.
    let mut sig = vec![2u8];
    put_field(&mut sig, 2, b"id");
    sig.extend([0, 0, 6]);
    sig.extend(varint(1 << 60));
    sig.extend([0; 32]);
    let (r, u) = read_measured(&sig, &Limits::default(), false);
    assert_eq!(
        decode_kind(r, "2^60 signature"),
        (
            Layer::V2,
            7,
            DecodeErrorKind::Truncated {
                what: "signature field",
                declared: 1 << 60,
                remaining: 32
            }
        )
    );
    assert!(u.peak < 1024, "2^60 signature: peak {}", u.peak);
    // The same through base64 text, with the text offset of the lying field.
    let text = b64_encode(&huge, true, false);
    let (r, u) = read_measured(text.as_bytes(), &Limits::default(), false);
    assert_eq!(
        r,
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: 1 << 60,
            offset: 1
        }))
    );
    assert_bounded(u, text.len(), "2^60 identifier as text");
    // Lenient inspection of the same input is bounded too.
    let (report, u) = measure(|| Inspection::of_bytes(&huge));
    assert!(report.parsed.is_err() && report.recovered.is_some());
    assert_bounded(u, huge.len(), "inspect 2^60 identifier");
}

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

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

fn derive(secret: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(b"macaroons-key-generator").expect("any key length");
    mac.update(secret);
    mac.finalize().into_bytes().to_vec()
}

/// Every way 32 secret bytes could be printed (and an 8-byte prefix of each).
fn renderings(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for b in [bytes, &bytes[..8]] {
        out.push(hex::encode(b));
        out.push(hex::encode(b).to_uppercase());
        out.push(b64_encode(b, true, false));
        out.push(b64_encode(b, false, false));
        out.push(format!("{b:?}"));
    }
    out
}

fn assert_secret_free(text: &str, secrets: &[(&str, Vec<String>)], ctx: &str) {
    for (what, needles) in secrets {
        for needle in needles {
            assert!(
                !text.contains(needle.as_str()),
                "[{ctx}] leaks the {what} as {needle:?}: {text}"
            );
        }
    }
}

#[test]
fn secrets_never_appear_in_debug_display_or_errors() {
    let root_secret = "root secret: correct horse battery staple";
    let caveat_secret = "caveat secret: tr0ub4dor&3";
    let k = RootKey::new(root_secret);
    let ck = RootKey::new(caveat_secret);
    let wrong = RootKey::new("wrong secret");
    let root = Macaroon::mint(&k, "http://svc/", "root-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp")
        .with_third_party_nonce("http://auth/", &ck, "auth-cid", [5; 24])
        .expect("tp");
    let discharge = Macaroon::mint(&ck, "http://auth/", "auth-cid")
        .expect("mint")
        .with_first_party("level = high")
        .expect("fp");
    let bound = discharge.bind_to(&root);
    let first_party_only = Macaroon::mint(&k, "http://svc/", "fp-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp");
    // What the verifier computes with the wrong key for the first-party token.
    let expected_with_wrong_key = Macaroon::mint(&wrong, "", "fp-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp");

    let mut signature_renderings = Vec::new();
    for m in [
        &root,
        &discharge,
        &bound,
        &first_party_only,
        &expected_with_wrong_key,
    ] {
        signature_renderings.extend(renderings(m.signature()));
    }
    let key_secrets: Vec<(&str, Vec<String>)> = vec![
        (
            "root secret",
            vec![root_secret.to_owned(), hex::encode(root_secret)],
        ),
        (
            "caveat secret",
            vec![caveat_secret.to_owned(), hex::encode(caveat_secret)],
        ),
        (
            "derived root key",
            renderings(&derive(root_secret.as_bytes())),
        ),
        (
            "derived caveat key",
            renderings(&derive(caveat_secret.as_bytes())),
        ),
        ("derived wrong key", renderings(&derive(b"wrong secret"))),
    ];
    let mut all_secrets = key_secrets.clone();
    all_secrets.push(("signature", signature_renderings));

    // Keys, macaroons and verifiers.
    let verifier = Verifier::new().satisfy_exact("user = alice").at_time(1);
    let mut texts = vec![
        ("RootKey", format!("{k:?} {k:#?} {ck:?} {wrong:?}")),
        (
            "Macaroon",
            format!("{root:?} {root:#?} {discharge:?} {bound:#?} {first_party_only:?}"),
        ),
        ("Caveat", format!("{:?}", root.caveats())),
        ("Verifier", format!("{verifier:?} {verifier:#?}")),
    ];
    let ok = Verifier::new()
        .satisfy_general(|_| true)
        .verify(&k, &root, std::slice::from_ref(&bound))
        .expect("verifies");
    texts.push(("Verified", format!("{ok:?} {ok:#?}")));
    let parsed = Parsed::from_text(&serialize_ok(&root, Format::V1, "root"), &Limits::default())
        .expect("parse");
    texts.push(("Parsed", format!("{parsed:?}")));

    // Every error of a failing verification, as Display and Debug.
    let all = || Verifier::new().satisfy_general(|_| true);
    let mut errors: Vec<(&str, Error)> = vec![
        (
            "wrong key",
            all()
                .verify(&wrong, &first_party_only, &[])
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "wrong key, third party",
            all()
                .verify(&wrong, &root, std::slice::from_ref(&bound))
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "unsatisfied caveat",
            Verifier::new()
                .verify(&k, &first_party_only, &[])
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "unbound discharge",
            all()
                .verify(&k, &root, std::slice::from_ref(&discharge))
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "discharge from the wrong key",
            all()
                .verify(
                    &k,
                    &root,
                    &[Macaroon::mint(&wrong, "", "auth-cid")
                        .expect("mint")
                        .bind_to(&root)],
                )
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "missing discharge",
            all().verify(&k, &root, &[]).map(|_| ()).unwrap_err(),
        ),
        (
            "changed caveat",
            all()
                .verify_token(
                    &k,
                    &serialize_ok(&first_party_only, Format::V2Json, "fp")
                        .replace("alice", "mallory"),
                    &[],
                )
                .unwrap_err(),
        ),
    ];
    for format in FORMATS {
        let text = serialize_ok(&first_party_only, format, "fp");
        errors.push((
            "wrong key via verify_token",
            all().verify_token(&wrong, &text, &[]).unwrap_err(),
        ));
    }
    for (what, e) in &errors {
        texts.push((what, format!("{e} | {e:?} | {e:#?}")));
    }
    for (what, text) in &texts {
        assert_secret_free(text, &all_secrets, what);
    }

    // Inspection may show the token's own signature (it is in the token) but never a key.
    for token in [
        serialize_ok(&root, Format::V1, "root"),
        serialize_ok(&bound, Format::V2Json, "bound"),
        serialize_ok(&root, Format::Onedata, "root")[..60].to_owned(),
    ] {
        let report = Inspection::of_text(&token);
        assert_secret_free(&format!("{report:?} {report:#?}"), &key_secrets, "inspect");
    }
}

// ---------------------------------------------------------------------------------------------
// Constant-time comparison
// ---------------------------------------------------------------------------------------------

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

/// Text whose base64 happens to spell a v1 packet key, with whitespace (which the decoder skips)
/// after it, is still text: every entry point and `verify_token` read it alike (review M1).
#[test]
fn text_that_spells_a_v1_key_is_still_text() {
    use base64::Engine as _;
    let location = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("location")
        .expect("base64");
    let k = key("k");
    let m = Macaroon::mint(&k, &location, "id").expect("mint");
    let text = serialize_ok(&m, Format::V2, "v2");
    assert!(text.starts_with("AgEGlocation"), "{text}");
    let spaced = text.replacen("AgEGlocation", "AgEGlocation ", 1);
    assert_eq!(Macaroon::parse(&spaced).as_ref(), Ok(&m));
    assert_eq!(Macaroon::parse_bytes(spaced.as_bytes()).as_ref(), Ok(&m));
    assert_eq!(
        Parsed::from_bytes(spaced.as_bytes(), &Limits::default()).map(|p| p.macaroon),
        Ok(m.clone())
    );
    let verified = Verifier::new()
        .verify_token(&k, &spaced, &[])
        .expect("verifies");
    assert_eq!(verified.into_macaroon(), m);
    // Raw v1 packets are read as such only from bytes; as text they are not a token.
    let m = Macaroon::mint(&k, "loc", "id").expect("mint");
    let raw = m.to_v1_bytes().expect("v1");
    assert_eq!(Macaroon::parse_bytes(&raw).as_ref(), Ok(&m));
    let as_text = String::from_utf8_lossy(&raw);
    let as_text = as_text.as_ref();
    let parsed = Macaroon::parse(as_text).map(|_| ());
    assert!(parsed.is_err());
    assert_eq!(
        Verifier::new().verify_token(&k, as_text, &[]).map(|_| ()),
        parsed,
        "verify_token reads text as Macaroon::parse does"
    );
}

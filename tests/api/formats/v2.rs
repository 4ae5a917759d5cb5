//! v2 binary (SPEC §7): varints, field order, emission rules, text round trips, and memory bounded
//! when varints lie.

use crate::common::*;
use crate::counting_alloc::*;
use crate::support::*;
use macaroon_mint::{
    DecodeErrorKind, Encoding, Error, Format, Inspection, Layer, LimitError, Limits, Macaroon,
    Parsed,
};

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

/// A declared field length beyond `max_field_bytes` is refused before anything is allocated; one
/// within it but beyond the input is a truncation at the field.
#[test]
fn declared_field_lengths_beyond_the_limit_or_the_input() {
    // A declared v2 length far beyond anything is rejected before allocating.
    let mut huge = vec![2u8, 2];
    huge.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // 2^35
    assert_eq!(
        from_bytes(&huge),
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: 1 << 35,
            offset: 1
        })),
        "v2 identifier declaring 2^35 bytes"
    );
    // Default max_field_bytes 65,535: a declared length within it but beyond the input.
    let mut short = vec![2u8, 2, 0xff, 0xff, 0x03];
    short.extend(b"abc");
    let e = decode_err(
        from_bytes(&short),
        "v2 identifier declaring 65,535 bytes, 3 present",
    );
    assert_eq!(
        (e.layer, e.offset),
        (Layer::V2, 1),
        "v2 identifier declaring 65,535 bytes: position"
    );
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::Truncated {
                declared: 65_535,
                ..
            }
        ),
        "v2 identifier declaring 65,535 bytes: {e:?}"
    );
}

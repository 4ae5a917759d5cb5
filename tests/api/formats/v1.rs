//! libmacaroons v1 (SPEC §6): packet headers, the packet size limit, standard-alphabet text, and
//! memory bounded when headers lie.

use crate::common::*;
use crate::counting_alloc::*;
use crate::support::*;
use macaroon_mint::{
    DecodeErrorKind, Encoding, Error, Format, Layer, Limits, Macaroon, MacaroonRole, Parsed,
    Verifier, VerifyError,
};

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

//! `roundtrip`: whatever parses re-serializes, in every format that can hold it, to text that
//! parses back to the same macaroon (detected as that format), and that text is a fixed point.

use macaroon_mint::Parsed;
use macaroon_mint::{EncodeError, Encoding, Error, Format, Limits, Macaroon};

use crate::UNBOUNDED_TEXT;

/// What every format writes of a macaroon: all fields except a first-party caveat's location,
/// which v2 binary accepts on input but no format emits (SPEC §7.2).
type Held = (
    Vec<u8>,
    Vec<u8>,
    Vec<(Vec<u8>, Option<Vec<u8>>, Vec<u8>)>,
    [u8; 32],
);

fn held(m: &Macaroon) -> Held {
    let caveats = m
        .caveats()
        .iter()
        .map(|c| match c.verification_id() {
            Some(vid) => (c.id().to_vec(), Some(vid.to_vec()), c.location().to_vec()),
            None => (c.id().to_vec(), None, Vec::new()),
        })
        .collect();
    (
        m.location().to_vec(),
        m.identifier().to_vec(),
        caveats,
        *m.signature(),
    )
}

/// Whether some field is too long for a 65,535-byte v1 packet (SPEC §6.1 maxima).
fn exceeds_v1(m: &Macaroon) -> bool {
    m.location().len() > 65_521
        || m.identifier().len() > 65_519
        || m.caveats().iter().any(|c| {
            c.id().len() > 65_526
                || c.verification_id().is_some_and(|v| v.len() > 65_526)
                || (c.is_third_party() && c.location().len() > 65_527)
        })
}

/// The `roundtrip` oracle.
pub fn roundtrip(data: &[u8]) {
    if let Ok(p) = Parsed::from_bytes(data, &Limits::default()) {
        check(&p.macaroon);
    }
    if let Ok(m) = Parsed::from_bytes(data, &Limits::default()).map(|p| p.macaroon) {
        check(&m);
    }
}

/// Round trips one macaroon through every format.
pub fn check(m: &Macaroon) {
    let want = held(m);
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        let text = match m.serialize(format) {
            Ok(text) => text,
            Err(Error::Encode(EncodeError::PacketTooLarge { .. }))
                if matches!(format, Format::V1 | Format::Onedata) && exceeds_v1(m) =>
            {
                continue
            }
            Err(e) => panic!("{format} cannot serialize a parsed macaroon: {e} ({m:?})"),
        };
        let again = Parsed::from_text(&text, &UNBOUNDED_TEXT)
            .unwrap_or_else(|e| panic!("our own {format} text does not parse: {e}\n{text}"));
        assert_eq!(
            again.encoding,
            format.encoding(),
            "{format} text detected as another format: {text}"
        );
        assert_eq!(
            held(&again.macaroon),
            want,
            "{format} round trip changed the macaroon"
        );
        let text2 = again.macaroon.serialize(format).expect("serialized once");
        assert_eq!(text2, text, "{format} serialization is not a fixed point");
    }

    let v2 = m.to_v2_bytes();
    let again = Parsed::from_bytes(&v2, &UNBOUNDED_TEXT).expect("our own v2 bytes parse");
    assert_eq!(again.encoding, Encoding::V2Binary);
    assert_eq!(
        held(&again.macaroon),
        want,
        "raw v2 round trip changed the macaroon"
    );
    assert_eq!(
        again.macaroon.to_v2_bytes(),
        v2,
        "raw v2 is not a fixed point"
    );

    match m.to_v1_bytes() {
        Ok(v1) => {
            let again = Parsed::from_bytes(&v1, &UNBOUNDED_TEXT)
                .map(|p| p.macaroon)
                .expect("our v1 bytes parse");
            assert_eq!(held(&again), want, "raw v1 round trip changed the macaroon");
            assert_eq!(
                again.to_v1_bytes().ok(),
                Some(v1),
                "raw v1 is not a fixed point"
            );
        }
        Err(e) => assert!(exceeds_v1(m), "v1 bytes refused without cause: {e}"),
    }
}

//! v2 binary format (SPEC §7): a version byte, then `type length data` fields with EOS markers.

use crate::error::{DecodeError, DecodeErrorKind, Error, Layer, LimitError};
use crate::limits::Limits;
use crate::macaroon::Macaroon;
use crate::reader::Reader;

use super::{Builder, CaveatRef, Recovered, RecoveredCaveat, RecoveredField, Visitor};

const VERSION: u8 = 2;
const EOS: u64 = 0;
const LOCATION: u64 = 1;
const IDENTIFIER: u64 = 2;
const VID: u64 = 4;
const SIGNATURE: u64 = 6;

fn err(at: usize, kind: DecodeErrorKind) -> Error {
    DecodeError::new(Layer::V2, at, kind).into()
}

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a minimal unsigned LEB128 varint of at most 10 bytes.
pub(crate) fn read_uvarint(r: &mut Reader<'_>) -> Result<u64, Error> {
    let start = r.pos();
    let mut value: u64 = 0;
    for i in 0..10u32 {
        let b = r
            .take_byte()
            .ok_or_else(|| err(start, DecodeErrorKind::InvalidVarint))?;
        let bits = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return Err(err(start, DecodeErrorKind::InvalidVarint));
        }
        value |= bits << (7 * i);
        if b & 0x80 == 0 {
            // A final zero byte after the first means a longer encoding than needed.
            if b == 0 && i > 0 {
                return Err(err(start, DecodeErrorKind::InvalidVarint));
            }
            return Ok(value);
        }
    }
    Err(err(start, DecodeErrorKind::InvalidVarint))
}

/// Where a field stands: the same type numbers mean different fields in a caveat.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Caveat,
}

fn field_name(t: u64, section: Section) -> &'static str {
    match (t, section) {
        (LOCATION, Section::Header) => "location",
        (IDENTIFIER, Section::Header) => "identifier",
        (LOCATION, Section::Caveat) => "caveat location",
        (IDENTIFIER, Section::Caveat) => "caveat id",
        (VID, _) => "verification id",
        _ => "signature",
    }
}

struct Field<'a> {
    start: usize,
    kind: u64,
    data: &'a [u8],
}

/// Reads one field; `None` for EOS.
fn read_field<'a>(
    r: &mut Reader<'a>,
    limits: &Limits,
    section: Section,
) -> Result<Option<Field<'a>>, Error> {
    let start = r.pos();
    let kind = read_uvarint(r)?;
    if kind == EOS {
        return Ok(None);
    }
    if !matches!(kind, LOCATION | IDENTIFIER | VID | SIGNATURE) {
        return Err(err(
            start,
            DecodeErrorKind::UnknownField {
                field: format!("type {kind}"),
            },
        ));
    }
    let len = read_uvarint(r)?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if kind != SIGNATURE && len > limits.max_field_bytes {
        return Err(LimitError::FieldTooLarge {
            field: field_name(kind, section),
            limit: limits.max_field_bytes,
            found: len,
            offset: start,
        }
        .into());
    }
    let remaining = r.remaining();
    let data = r.take(len).ok_or_else(|| {
        err(
            start,
            DecodeErrorKind::Truncated {
                what: match (kind, section) {
                    (LOCATION, Section::Header) => "location field",
                    (IDENTIFIER, Section::Header) => "identifier field",
                    (LOCATION, Section::Caveat) => "caveat location field",
                    (IDENTIFIER, Section::Caveat) => "caveat id field",
                    (VID, _) => "vid field",
                    _ => "signature field",
                },
                declared: len,
                remaining,
            },
        )
    })?;
    Ok(Some(Field { start, kind, data }))
}

/// One section: fields with strictly increasing types up to EOS, as `[location, id, vid]`.
fn read_section<'a>(
    r: &mut Reader<'a>,
    limits: &Limits,
    section: Section,
) -> Result<[Option<&'a [u8]>; 3], Error> {
    let (allowed, expected): (&[u64], _) = match section {
        Section::Header => (
            &[LOCATION, IDENTIFIER],
            "location or identifier, in that order",
        ),
        Section::Caveat => (
            &[LOCATION, IDENTIFIER, VID],
            "location, identifier or vid, in that order",
        ),
    };
    let mut out: [Option<&'a [u8]>; 3] = [None; 3];
    let mut last = EOS;
    while let Some(f) = {
        if r.is_empty() {
            return Err(err(
                r.pos(),
                DecodeErrorKind::Missing {
                    field: "end of section",
                },
            ));
        }
        read_field(r, limits, section)?
    } {
        if f.kind <= last || !allowed.contains(&f.kind) {
            return Err(err(
                f.start,
                DecodeErrorKind::Unexpected {
                    found: format!("{} field", field_name(f.kind, section)),
                    expected,
                },
            ));
        }
        last = f.kind;
        let slot = match f.kind {
            LOCATION => 0,
            IDENTIFIER => 1,
            _ => 2,
        };
        if let Some(s) = out.get_mut(slot) {
            *s = Some(f.data);
        }
    }
    Ok(out)
}

/// Parses v2 binary into an owned macaroon.
pub(crate) fn parse(data: &[u8], limits: &Limits) -> Result<Macaroon, Error> {
    let mut builder = Builder::default();
    let signature = walk(data, limits, &mut builder)?;
    Ok(builder.finish(signature))
}

/// Walks v2 binary, validating it and reporting the header and each caveat to `visitor`;
/// returns the signature. Offsets in errors are bytes of `data`.
pub(crate) fn walk<'a>(
    data: &'a [u8],
    limits: &Limits,
    visitor: &mut impl Visitor<'a>,
) -> Result<[u8; 32], Error> {
    let mut r = Reader::new(data);
    match r.take_byte() {
        Some(VERSION) => {}
        Some(v) => {
            return Err(err(
                0,
                DecodeErrorKind::UnsupportedVersion {
                    found: v.to_string(),
                },
            ))
        }
        None => return Err(err(0, DecodeErrorKind::Missing { field: "version" })),
    }
    let header_start = r.pos();
    let [location, identifier, _] = read_section(&mut r, limits, Section::Header)?;
    let identifier = identifier.ok_or_else(|| {
        err(
            header_start,
            DecodeErrorKind::Missing {
                field: "identifier",
            },
        )
    })?;
    visitor.header(location.unwrap_or_default(), identifier)?;
    let mut count = 0usize;
    loop {
        // An EOS where a caveat would start ends the caveat list.
        if r.peek() == Some(0) {
            r.take_byte();
            break;
        }
        let start = r.pos();
        let [cl, cid, vid] = read_section(&mut r, limits, Section::Caveat)?;
        let cid = cid.ok_or_else(|| {
            err(
                start,
                DecodeErrorKind::Missing {
                    field: "caveat identifier",
                },
            )
        })?;
        if count >= limits.max_caveats {
            return Err(LimitError::TooManyCaveats {
                limit: limits.max_caveats,
                offset: start,
            }
            .into());
        }
        count += 1;
        visitor.caveat(CaveatRef {
            id: cid,
            vid: vid.filter(|v| !v.is_empty()),
            location: cl.unwrap_or_default(),
        })?;
    }
    let sig_start = r.pos();
    let Some(field) = read_field(&mut r, limits, Section::Header)? else {
        return Err(err(
            sig_start,
            DecodeErrorKind::Unexpected {
                found: "end of section".into(),
                expected: "the signature field",
            },
        ));
    };
    if field.kind != SIGNATURE {
        return Err(err(
            field.start,
            DecodeErrorKind::Unexpected {
                found: format!("{} field", field_name(field.kind, Section::Header)),
                expected: "the signature field",
            },
        ));
    }
    let signature: [u8; 32] = field.data.try_into().map_err(|_| {
        err(
            field.start,
            DecodeErrorKind::SignatureLength {
                found: field.data.len(),
            },
        )
    })?;
    if !r.is_empty() {
        return Err(err(r.pos(), DecodeErrorKind::TrailingData));
    }
    Ok(signature)
}

fn put_field(out: &mut Vec<u8>, kind: u64, data: &[u8]) {
    put_uvarint(out, kind);
    put_uvarint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Serializes `m` as v2 binary (SPEC §7.2 "Ours, emit").
pub(crate) fn serialize(m: &Macaroon) -> Vec<u8> {
    let mut len = 1 + 3 + m.location.len() + 3 + m.identifier.len() + 2 + 34;
    for c in &m.caveats {
        len += 3 + c.id.len() + 1;
        if let Some(vid) = &c.verification_id {
            len += 3 + vid.len() + 3 + c.location.len();
        }
    }
    let mut out = Vec::with_capacity(len);
    out.push(VERSION);
    if !m.location.is_empty() {
        put_field(&mut out, LOCATION, &m.location);
    }
    put_field(&mut out, IDENTIFIER, &m.identifier);
    out.push(0);
    for c in &m.caveats {
        match &c.verification_id {
            Some(vid) => {
                put_field(&mut out, LOCATION, &c.location);
                put_field(&mut out, IDENTIFIER, &c.id);
                put_field(&mut out, VID, vid);
            }
            None => put_field(&mut out, IDENTIFIER, &c.id),
        }
        out.push(0);
    }
    out.push(0);
    put_field(&mut out, SIGNATURE, &m.signature);
    out
}

/// Reads as many complete fields as possible for inspection (SPEC §13 step 3).
pub(crate) fn recover(data: &[u8], out: &mut Recovered) {
    let limits = Limits::DEFAULT;
    let mut r = Reader::new(data);
    if r.take_byte() != Some(VERSION) {
        return;
    }
    let stop = |out: &mut Recovered, e: Error| out.notes.push(format!("stopped at: {e}"));
    // Header fields up to the first EOS.
    loop {
        match read_field(&mut r, &limits, Section::Header) {
            Ok(None) => break,
            Ok(Some(f)) => {
                let field = RecoveredField::complete(f.data);
                match f.kind {
                    LOCATION => out.location = Some(field),
                    IDENTIFIER => out.identifier = Some(field),
                    _ => return,
                }
            }
            Err(e) => return stop(out, e),
        }
    }
    // Caveats, each ended by EOS; an EOS where a caveat would start ends the list.
    while r.peek().is_some_and(|b| b != 0) {
        if out.caveats.len() >= limits.max_caveats {
            out.notes.push(format!(
                "stopped at byte {}: more than {} caveats",
                r.pos(),
                limits.max_caveats
            ));
            return;
        }
        let mut caveat = RecoveredCaveat::default();
        loop {
            match read_field(&mut r, &limits, Section::Caveat) {
                Ok(None) => break,
                Ok(Some(f)) => {
                    let field = RecoveredField::complete(f.data);
                    match f.kind {
                        LOCATION => caveat.location = Some(field),
                        IDENTIFIER => caveat.id = field,
                        VID => caveat.verification_id = Some(field),
                        _ => return,
                    }
                }
                Err(e) => return stop(out, e),
            }
        }
        out.caveats.push(caveat);
    }
    r.take_byte();
    match read_field(&mut r, &limits, Section::Header) {
        Ok(Some(f)) if f.kind == SIGNATURE => {
            out.signature = Some(RecoveredField::complete(f.data))
        }
        Err(e) => stop(out, e),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(bytes: &[u8]) -> Result<u64, Error> {
        read_uvarint(&mut Reader::new(bytes))
    }

    #[test]
    fn uvarint_micro_vectors() {
        for (v, hex) in [
            (127u64, &[0x7f][..]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (65535, &[0xff, 0xff, 0x03]),
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(out, hex);
            assert_eq!(varint(hex).unwrap(), v);
        }
        assert_eq!(
            varint(&[0x80, 0x00]).unwrap_err(),
            err(0, DecodeErrorKind::InvalidVarint)
        );
        assert!(varint(&[0xff; 11]).is_err());
        assert!(varint(&[0x80]).is_err());
    }
}

/// Malformed input this decoder meets, through the public entry points: each error names its
/// layer, offset and kind, raw and through the text layers above.
#[cfg(test)]
mod decode_errors {
    use crate::error::{DecodeErrorKind, Layer};
    use crate::format::testing::*;
    use crate::macaroon::Macaroon;

    fn tv1_v2() -> Vec<u8> {
        let v2 = tv1().to_v2_bytes();
        // 02 | 01 0e "http://mybank/" | 02 16 "we used our secret key" | 00 | 02 14 "account…" 00 …
        assert_eq!(&v2[..3], &[2, 1, 14], "TV1 v2 layout");
        assert_eq!(&v2[17..19], &[2, 22], "TV1 v2 layout");
        assert_eq!(&v2[41..44], &[0, 2, 20], "TV1 v2 layout");
        v2
    }

    fn v2_error(bytes: &[u8], layer_offset: usize, kind: DecodeErrorKind, ctx: &str) {
        let e = decode_err(from_bytes(bytes), &format!("{ctx} (raw)"));
        assert_eq!(
            (e.layer, e.offset, &e.kind, e.text_offset),
            (Layer::V2, layer_offset, &kind, None),
            "[{ctx}] raw bytes"
        );
        let text = b64url(bytes);
        let e = decode_err(Macaroon::parse(&text), &format!("{ctx} (base64)"));
        assert_eq!(
            (e.layer, e.offset, &e.kind, e.text_offset),
            (Layer::V2, layer_offset, &kind, Some(layer_offset / 3 * 4)),
            "[{ctx}] base64 text"
        );
    }

    #[test]
    fn v2_non_minimal_varint() {
        let v2 = tv1_v2();
        // Location length 14 written as 8e 00.
        let mut t = v2[..2].to_vec();
        t.extend([0x8e, 0x00]);
        t.extend(&v2[3..]);
        v2_error(
            &t,
            2,
            DecodeErrorKind::InvalidVarint,
            "v2 location length 8e 00",
        );
        // Field type 2 written as 82 00.
        let mut t = v2[..17].to_vec();
        t.extend([0x82, 0x00]);
        t.extend(&v2[18..]);
        v2_error(
            &t,
            17,
            DecodeErrorKind::InvalidVarint,
            "v2 identifier type 82 00",
        );
        // A varint cut off by the end of input.
        v2_error(
            &[2, 2, 0x80],
            2,
            DecodeErrorKind::InvalidVarint,
            "v2 varint cut off",
        );
    }

    #[test]
    fn v2_unknown_field_type() {
        let v2 = tv1_v2();
        for (at, ty) in [(1usize, 3u8), (1, 5), (1, 7), (42, 3), (42, 5)] {
            let mut t = v2.clone();
            t[at] = ty;
            let ctx = format!("v2 field type {ty} at byte {at}");
            let e = decode_err(from_bytes(&t), &ctx);
            assert_eq!((e.layer, e.offset), (Layer::V2, at), "[{ctx}] position");
            match &e.kind {
                DecodeErrorKind::UnknownField { field } => assert!(
                    field.ends_with(&ty.to_string()),
                    "[{ctx}] UnknownField names type {ty}: {field:?}"
                ),
                other => panic!("[{ctx}] expected UnknownField, got {other:?}"),
            }
        }
    }

    #[test]
    fn v2_trailing_bytes_and_bad_signature() {
        let v2 = tv1_v2();
        for extra in [&[0u8][..], &[2, 1, b'x'], &v2[..]] {
            let mut t = v2.clone();
            t.extend(extra);
            v2_error(
                &t,
                v2.len(),
                DecodeErrorKind::TrailingData,
                &format!("v2 + {} trailing bytes", extra.len()),
            );
        }
        // Signature of 31 bytes.
        let sig_at = v2.len() - 34;
        assert_eq!(&v2[sig_at..sig_at + 2], &[6, 32], "TV1 v2 signature field");
        let mut t = v2[..sig_at].to_vec();
        t.extend([6, 31]);
        t.extend(&v2[sig_at + 2..v2.len() - 1]);
        v2_error(
            &t,
            sig_at,
            DecodeErrorKind::SignatureLength { found: 31 },
            "v2 signature of 31 bytes",
        );
        // Wrong version byte (raw bytes starting with 0x02 only are v2; test via base64 text).
        let mut t = v2.clone();
        t[0] = 3;
        let e = decode_err(Macaroon::parse(&b64url(&t)), "v2 version 3 as base64");
        assert_eq!(e.offset, 0, "v2 version 3 as base64: offset ({e})");
    }

    #[test]
    pub(crate) fn v2_field_order() {
        let v2 = tv1_v2();
        // Identifier before location in the header.
        let mut t = vec![2u8];
        t.extend(&v2[17..41]);
        t.extend(&v2[1..17]);
        t.extend(&v2[41..]);
        let e = decode_err(from_bytes(&t), "v2 identifier before location");
        assert_eq!(
            (e.layer, e.offset),
            (Layer::V2, 25),
            "v2 identifier before location: {e}"
        );
        assert!(
            matches!(e.kind, DecodeErrorKind::Unexpected { .. }),
            "v2 identifier before location: {e:?}"
        );
        // No identifier in the header.
        let mut t = v2[..17].to_vec();
        t.extend(&v2[41..]);
        let e = decode_err(from_bytes(&t), "v2 without identifier");
        assert_eq!(
            (e.layer, e.kind),
            (
                Layer::V2,
                DecodeErrorKind::Missing {
                    field: "identifier"
                }
            ),
            "v2 without identifier"
        );
    }
}

//! libmacaroons v1 packets (SPEC §6): `HHHH key value\n`, where `HHHH` is the total packet length.

use crate::error::{DecodeError, DecodeErrorKind, EncodeError, Error, Layer, LimitError};
use crate::limits::Limits;
use crate::macaroon::Macaroon;
use crate::reader::Reader;

use super::{Builder, CaveatRef, Recovered, RecoveredCaveat, RecoveredField, Visitor};

/// The largest packet a 4-hex-digit header can describe.
const MAX_PACKET: usize = 0xffff;
const HEADER: usize = 4;

const KEYS: [&[u8]; 6] = [
    b"location",
    b"identifier",
    b"cid",
    b"vid",
    b"cl",
    b"signature",
];

fn packet_name(key: &[u8]) -> &'static str {
    match key {
        b"location" => "location packet",
        b"identifier" => "identifier packet",
        b"cid" => "cid packet",
        b"vid" => "vid packet",
        b"cl" => "cl packet",
        b"signature" => "signature packet",
        _ => "packet",
    }
}

fn field_name(key: &[u8]) -> &'static str {
    match key {
        b"location" => "location",
        b"identifier" => "identifier",
        b"cid" => "caveat id",
        b"vid" => "verification id",
        b"cl" => "caveat location",
        _ => "signature",
    }
}

fn parse_header(bytes: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    for &b in bytes {
        let digit = char::from(b).to_digit(16)?;
        len = len * 16 + digit as usize;
    }
    Some(len)
}

/// The key of a packet starting at the reader position: the bytes after the header up to the
/// first space, looked for within the packet (or what remains of it).
fn packet_key(after_header: &[u8]) -> Option<&[u8]> {
    let space = after_header.iter().position(|&b| b == b' ')?;
    after_header.get(..space)
}

struct Packet<'a> {
    start: usize,
    key: &'a [u8],
    value: &'a [u8],
}

fn read_packet<'a>(r: &mut Reader<'a>) -> Result<Packet<'a>, DecodeError> {
    let start = r.pos();
    let err = |kind| DecodeError::new(Layer::V1, start, kind);
    let rest = r.rest();
    let header = rest.get(..HEADER).ok_or_else(|| {
        err(DecodeErrorKind::Truncated {
            what: "packet header",
            declared: HEADER,
            remaining: rest.len(),
        })
    })?;
    let declared = parse_header(header).ok_or_else(|| err(DecodeErrorKind::BadPacketHeader))?;
    let body = rest
        .get(HEADER..declared.min(rest.len()))
        .unwrap_or_default();
    let key = packet_key(body);
    if declared > rest.len() {
        return Err(err(DecodeErrorKind::Truncated {
            what: key.map_or("packet", packet_name),
            declared,
            remaining: rest.len(),
        }));
    }
    let Some(key) = key else {
        if declared < HEADER + 2 {
            return Err(err(DecodeErrorKind::PacketTooShort { declared }));
        }
        return Err(err(DecodeErrorKind::MissingSeparator));
    };
    if declared < HEADER + key.len() + 2 {
        return Err(err(DecodeErrorKind::PacketTooShort { declared }));
    }
    let packet = r
        .take(declared)
        .ok_or_else(|| err(DecodeErrorKind::PacketTooShort { declared }))?;
    let (last, _) = packet
        .split_last()
        .ok_or_else(|| err(DecodeErrorKind::PacketTooShort { declared }))?;
    if *last != b'\n' {
        return Err(err(DecodeErrorKind::MissingNewline));
    }
    let value = packet
        .get(HEADER + key.len() + 1..declared - 1)
        .unwrap_or_default();
    Ok(Packet { start, key, value })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    LocationOrIdentifier,
    Identifier,
    Caveats,
    AfterCid,
    AfterVid,
    AfterCl,
}

impl Expect {
    fn describe(self) -> &'static str {
        match self {
            Expect::LocationOrIdentifier => "a location or identifier packet",
            Expect::Identifier => "an identifier packet",
            Expect::Caveats | Expect::AfterCl => "a cid or signature packet",
            Expect::AfterCid => "a vid, cl, cid or signature packet",
            Expect::AfterVid => "a cl, cid or signature packet",
        }
    }
}

/// Walks raw v1 packets, validating them and reporting the header and each caveat to `visitor`;
/// returns the signature. Offsets in errors are bytes of `data`.
pub(crate) fn walk<'a>(
    data: &'a [u8],
    limits: &Limits,
    visitor: &mut impl Visitor<'a>,
) -> Result<[u8; 32], Error> {
    let mut r = Reader::new(data);
    let mut location: &[u8] = &[];
    let mut pending: Option<CaveatRef<'a>> = None;
    let mut count = 0usize;
    let mut state = Expect::LocationOrIdentifier;
    loop {
        if r.is_empty() {
            return Err(DecodeError::new(
                Layer::V1,
                r.pos(),
                DecodeErrorKind::Missing {
                    field: "signature packet",
                },
            )
            .into());
        }
        let p = read_packet(&mut r)?;
        if !KEYS.contains(&p.key) {
            return Err(DecodeError::new(
                Layer::V1,
                p.start,
                DecodeErrorKind::UnknownField {
                    field: String::from_utf8_lossy(p.key).into_owned(),
                },
            )
            .into());
        }
        if p.key != b"signature" && p.value.len() > limits.max_field_bytes {
            return Err(LimitError::FieldTooLarge {
                field: field_name(p.key),
                limit: limits.max_field_bytes,
                found: p.value.len(),
                offset: p.start,
            }
            .into());
        }
        let in_caveats = matches!(
            state,
            Expect::Caveats | Expect::AfterCid | Expect::AfterVid | Expect::AfterCl
        );
        match (state, p.key) {
            (Expect::LocationOrIdentifier, b"location") => {
                location = p.value;
                state = Expect::Identifier;
            }
            (Expect::LocationOrIdentifier | Expect::Identifier, b"identifier") => {
                visitor.header(location, p.value)?;
                state = Expect::Caveats;
            }
            (_, b"cid") if in_caveats => {
                if count >= limits.max_caveats {
                    return Err(LimitError::TooManyCaveats {
                        limit: limits.max_caveats,
                        offset: p.start,
                    }
                    .into());
                }
                count += 1;
                if let Some(done) = pending.take() {
                    visitor.caveat(done)?;
                }
                pending = Some(CaveatRef {
                    id: p.value,
                    vid: None,
                    location: &[],
                });
                state = Expect::AfterCid;
            }
            (Expect::AfterCid, b"vid") => {
                if let Some(c) = pending.as_mut() {
                    // An empty vid means first-party (LM writes none; some peers write it empty).
                    c.vid = (!p.value.is_empty()).then_some(p.value);
                }
                state = Expect::AfterVid;
            }
            (Expect::AfterCid | Expect::AfterVid, b"cl") => {
                if let Some(c) = pending.as_mut() {
                    c.location = p.value;
                }
                state = Expect::AfterCl;
            }
            (_, b"signature") if in_caveats => {
                let signature: [u8; 32] = p.value.try_into().map_err(|_| {
                    DecodeError::new(
                        Layer::V1,
                        p.start,
                        DecodeErrorKind::SignatureLength {
                            found: p.value.len(),
                        },
                    )
                })?;
                if !r.is_empty() {
                    return Err(DecodeError::new(
                        Layer::V1,
                        r.pos(),
                        DecodeErrorKind::TrailingData,
                    )
                    .into());
                }
                if let Some(done) = pending.take() {
                    visitor.caveat(done)?;
                }
                return Ok(signature);
            }
            _ => {
                return Err(DecodeError::new(
                    Layer::V1,
                    p.start,
                    DecodeErrorKind::Unexpected {
                        found: format!("{} packet", String::from_utf8_lossy(p.key)),
                        expected: state.describe(),
                    },
                )
                .into())
            }
        }
    }
}

/// Whether `data` starts like raw v1 packets: a header of four hex digits, then the `location`
/// or `identifier` key and its space. Only the byte entry points ask: no v1, v2, JSON or Onedata
/// text token can start so (their text starts `MDAx`, `Ag`, `{`, `"` or a service indication), so
/// a text given as bytes reads as it does as text.
pub(crate) fn looks_raw(data: &[u8]) -> bool {
    let (Some(header), Some(rest)) = (data.get(..HEADER), data.get(HEADER..)) else {
        return false;
    };
    header.iter().all(u8::is_ascii_hexdigit)
        && (rest.starts_with(b"location ") || rest.starts_with(b"identifier "))
}

/// Parses raw v1 packets into an owned macaroon.
pub(crate) fn parse(data: &[u8], limits: &Limits) -> Result<Macaroon, Error> {
    let mut builder = Builder::default();
    let signature = walk(data, limits, &mut builder)?;
    Ok(builder.finish(signature))
}

fn push_packet(out: &mut Vec<u8>, key: &'static [u8], value: &[u8]) -> Result<(), EncodeError> {
    let len = HEADER + key.len() + 1 + value.len() + 1;
    if len > MAX_PACKET {
        return Err(EncodeError::PacketTooLarge {
            field: field_name(key),
            len: value.len(),
            max: MAX_PACKET - HEADER - key.len() - 2,
        });
    }
    for shift in [12u32, 8, 4, 0] {
        out.push(crate::util::hex_digit((len >> shift) as u8) as u8);
    }
    out.extend_from_slice(key);
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(b'\n');
    Ok(())
}

/// The size of the packets of `m`, for reserving exactly.
fn encoded_len(m: &Macaroon) -> usize {
    let packet = |key: &[u8], value: usize| HEADER + key.len() + 2 + value;
    let mut len = packet(b"location", m.location.len())
        + packet(b"identifier", m.identifier.len())
        + packet(b"signature", 32);
    for c in &m.caveats {
        len += packet(b"cid", c.id.len());
        if let Some(vid) = &c.verification_id {
            len += packet(b"vid", vid.len()) + packet(b"cl", c.location.len());
        }
    }
    len
}

/// Serializes `m` as raw v1 packets (the canonical form of SPEC §6.2).
pub(crate) fn serialize(m: &Macaroon) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(encoded_len(m));
    push_packet(&mut out, b"location", &m.location)?;
    push_packet(&mut out, b"identifier", &m.identifier)?;
    for c in &m.caveats {
        push_packet(&mut out, b"cid", &c.id)?;
        if let Some(vid) = &c.verification_id {
            push_packet(&mut out, b"vid", vid)?;
            push_packet(&mut out, b"cl", &c.location)?;
        }
    }
    push_packet(&mut out, b"signature", &m.signature)?;
    Ok(out)
}

/// Walks v1 packets as far as possible for inspection (SPEC §13 step 2).
pub(crate) fn recover(data: &[u8], out: &mut Recovered) {
    let mut r = Reader::new(data);
    while !r.is_empty() {
        let start = r.pos();
        let rest = r.rest();
        let header = rest.get(..HEADER).unwrap_or(rest);
        let after = rest.get(HEADER..).unwrap_or_default();
        let key = packet_key(after).filter(|k| KEYS.contains(k));
        let (declared, value_start) = match (header.len() == HEADER, parse_header(header), key) {
            (true, Some(declared), Some(key)) => (Some(declared), HEADER + key.len() + 1),
            (true, None, Some(key)) => {
                out.notes.push(format!(
                    "packet header at byte {start} is not four hex digits; skipped it and read the {} up to the next line feed",
                    packet_name(key)
                ));
                (None, HEADER + key.len() + 1)
            }
            (true, Some(declared), None) if declared > rest.len() => {
                let name = KEYS
                    .iter()
                    .find(|k| !after.is_empty() && k.starts_with(after))
                    .map_or("packet", |k| packet_name(k));
                out.notes.push(format!(
                    "{name} at byte {start} declares {declared} bytes, {} remain",
                    rest.len()
                ));
                return;
            }
            _ => {
                out.notes
                    .push(format!("unreadable packet at byte {start}; stopped there"));
                return;
            }
        };
        let Some(key) = key else { return };
        let body = rest.get(value_start..).unwrap_or_default();
        let (value, truncated, consumed) = match declared {
            Some(d) if d <= rest.len() && d > value_start => {
                (rest.get(value_start..d - 1).unwrap_or_default(), false, d)
            }
            Some(d) if d <= value_start => {
                out.notes.push(format!(
                    "{} at byte {start} declares {d} bytes, shorter than its key and framing; stopped there",
                    packet_name(key)
                ));
                return;
            }
            Some(d) => {
                out.notes.push(format!(
                    "{} at byte {start} declares {d} bytes, {} remain",
                    packet_name(key),
                    rest.len()
                ));
                (body, true, rest.len())
            }
            None => match body.iter().position(|&b| b == b'\n') {
                Some(lf) => (
                    body.get(..lf).unwrap_or_default(),
                    false,
                    value_start + lf + 1,
                ),
                None => (body, true, rest.len()),
            },
        };
        let field = RecoveredField {
            bytes: value.to_vec(),
            truncated,
        };
        match key {
            b"location" => out.location = Some(field),
            b"identifier" => out.identifier = Some(field),
            b"cid" if out.caveats.len() >= Limits::DEFAULT.max_caveats => {
                out.notes.push(format!(
                    "stopped at byte {start}: more than {} caveats",
                    Limits::DEFAULT.max_caveats
                ));
                return;
            }
            b"cid" => out.caveats.push(RecoveredCaveat {
                id: field,
                verification_id: None,
                location: None,
            }),
            b"vid" => {
                if let Some(c) = out.caveats.last_mut() {
                    c.verification_id = Some(field);
                }
            }
            b"cl" => {
                if let Some(c) = out.caveats.last_mut() {
                    c.location = Some(field);
                }
            }
            _ => out.signature = Some(field),
        }
        if r.take(consumed).is_none() || truncated {
            return;
        }
    }
}

/// Malformed input this decoder meets, through the public entry points: each error names its
/// layer, offset and kind, raw and through the text layers above.
#[cfg(test)]
mod decode_errors {
    use crate::error::{DecodeErrorKind, Layer};
    use crate::format::testing::*;
    use crate::macaroon::Macaroon;

    fn v1_error(bytes: &[u8], at: usize, kind: DecodeErrorKind, ctx: &str) {
        let e = decode_err(from_bytes(bytes), &format!("{ctx} (raw)"));
        assert_eq!(
            (e.layer, e.offset, &e.kind),
            (Layer::V1, at, &kind),
            "[{ctx}] raw bytes"
        );
        let e = decode_err(Macaroon::parse(&b64url(bytes)), &format!("{ctx} (base64)"));
        assert_eq!(
            (e.layer, e.offset, &e.kind, e.text_offset),
            (Layer::V1, at, &kind, Some(at / 3 * 4)),
            "[{ctx}] base64 text"
        );
    }

    #[test]
    fn v1_malformed() {
        let v1 = tv1().to_v1_bytes().expect("v1");
        let packets = v1_packets(&v1);
        assert_eq!(packets.len(), 6, "TV1 v1 packets");
        let sig_at = v1.len() - 47;
        assert_eq!(sig_at, 161, "TV1 v1 layout");

        let mut t = v1.clone();
        t.push(b'\n');
        v1_error(&t, v1.len(), DecodeErrorKind::TrailingData, "v1 + LF");
        let mut t = v1.clone();
        t.extend(&packets[2]);
        v1_error(
            &t,
            v1.len(),
            DecodeErrorKind::TrailingData,
            "v1 + cid packet",
        );

        v1_error(
            &v1[..sig_at],
            sig_at,
            DecodeErrorKind::Missing {
                field: "signature packet",
            },
            "v1 without signature packet",
        );

        let mut t = v1[..sig_at].to_vec();
        t.extend(v1_packet("signature", &[0xab; 31]));
        v1_error(
            &t,
            sig_at,
            DecodeErrorKind::SignatureLength { found: 31 },
            "v1 signature of 31 bytes",
        );
        let mut t = v1[..sig_at].to_vec();
        t.extend(v1_packet("signature", &[0xab; 33]));
        v1_error(
            &t,
            sig_at,
            DecodeErrorKind::SignatureLength { found: 33 },
            "v1 signature of 33 bytes",
        );

        // Unknown key.
        let mut t = packets[..2].concat();
        let bogus_at = t.len();
        t.extend(v1_packet("bogus", b"x"));
        t.extend(&packets[5]);
        v1_error(
            &t,
            bogus_at,
            DecodeErrorKind::UnknownField {
                field: "bogus".into(),
            },
            "v1 unknown key",
        );

        // Packet not ending in LF.
        let mut t = v1.clone();
        t[27] = b'x';
        v1_error(
            &t,
            0,
            DecodeErrorKind::MissingNewline,
            "v1 location without LF",
        );

        // Header declaring more than remains.
        v1_error(
            &v1[..110],
            95,
            DecodeErrorKind::Truncated {
                what: "cid packet",
                declared: 32,
                remaining: 15,
            },
            "v1 cut inside a cid packet",
        );

        // Two identifiers.
        let mut t = packets[..2].concat();
        t.extend(&packets[1]);
        t.extend(&packets[5]);
        let e = decode_err(from_bytes(&t), "v1 two identifiers");
        assert_eq!(
            (e.layer, e.offset),
            (Layer::V1, 66),
            "v1 two identifiers: position"
        );
        assert!(
            matches!(e.kind, DecodeErrorKind::Unexpected { .. }),
            "v1 two identifiers: {e:?}"
        );

        // Uppercase hex headers are accepted.
        let upper = v1_packets(&sized().to_v1_bytes().expect("v1"))
            .into_iter()
            .map(|mut p| {
                p[..4].make_ascii_uppercase();
                p
            })
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(
            from_bytes(&upper).as_ref(),
            Ok(&sized()),
            "v1 uppercase hex headers accepted"
        );
    }
}

//! Independent, minimal writers and splitters for the wire formats, so the oracles can build
//! macaroons the library would never mint (unsigned edits) and cut tokens into packets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use macaroon_mint::Parsed;
use macaroon_mint::{base62_escape, Limits, Macaroon};

/// One caveat as plain parts: id, vid (third-party), location.
pub type Parts = (Vec<u8>, Option<Vec<u8>>, Vec<u8>);

/// The parts of `m`'s caveats.
pub fn caveat_parts(m: &Macaroon) -> Vec<Parts> {
    m.caveats()
        .iter()
        .map(|c| {
            (
                c.id().to_vec(),
                c.verification_id().map(<[u8]>::to_vec),
                c.location().to_vec(),
            )
        })
        .collect()
}

fn packet(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let len = 4 + key.len() + 1 + value.len() + 1;
    out.extend_from_slice(format!("{:04x}", len & 0xffff).as_bytes());
    out.extend_from_slice(key.as_bytes());
    out.push(b' ');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Raw v1 packets for arbitrary parts and signature (no signing: the signature is copied).
pub fn v1_bytes(location: &[u8], identifier: &[u8], caveats: &[Parts], sig: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    packet(&mut out, "location", location);
    packet(&mut out, "identifier", identifier);
    for (id, vid, cl) in caveats {
        packet(&mut out, "cid", id);
        if let Some(vid) = vid {
            packet(&mut out, "vid", vid);
            packet(&mut out, "cl", cl);
        }
    }
    packet(&mut out, "signature", sig);
    out
}

/// A macaroon holding exactly the given parts, or `None` when they do not fit v1 packets.
pub fn assemble(
    location: &[u8],
    identifier: &[u8],
    caveats: &[Parts],
    sig: &[u8; 32],
) -> Option<Macaroon> {
    let bytes = v1_bytes(location, identifier, caveats, sig);
    Parsed::from_bytes(&bytes, &Limits::default())
        .map(|p| p.macaroon)
        .ok()
}

/// URL-safe unpadded base64, the form the library emits.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Onedata token text of raw v1 bytes.
pub fn onedata_text(v1: &[u8]) -> String {
    base62_escape(&b64(v1))
}

/// Splits valid v1 packets at their declared lengths; an unreadable rest is one chunk.
pub fn split_v1(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = rest
            .get(..4)
            .and_then(|h| core::str::from_utf8(h).ok())
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .filter(|&l| l >= 4 && l <= rest.len())
            .unwrap_or(rest.len());
        let (head, tail) = rest.split_at(len);
        chunks.push(head.to_vec());
        rest = tail;
    }
    chunks
}

/// Rewrites a v1 packet's length header to `declared + delta` (mod 2¹⁶).
pub fn relength_v1(chunk: &mut [u8], delta: i32) {
    let declared = chunk
        .get(..4)
        .and_then(|h| core::str::from_utf8(h).ok())
        .and_then(|h| i32::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    let new = format!("{:04x}", (declared + delta).rem_euclid(0x1_0000));
    if let Some(h) = chunk.get_mut(..4) {
        h.copy_from_slice(new.as_bytes());
    }
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Minimal unsigned LEB128.
pub fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// One v2 chunk: the version byte, an end-of-section byte, or a whole field.
#[derive(Debug, Clone)]
pub enum V2Chunk {
    /// Bytes copied as they are (version, EOS, an unreadable rest).
    Raw(Vec<u8>),
    /// A field: type, declared length, data.
    Field {
        /// The field type.
        ty: u64,
        /// The declared length (may be edited to disagree with `data`).
        len: u64,
        /// The data.
        data: Vec<u8>,
    },
}

/// Splits valid v2 bytes into version, fields and EOS markers.
pub fn split_v2(bytes: &[u8]) -> Vec<V2Chunk> {
    let mut chunks = Vec::new();
    let Some((&version, _)) = bytes.split_first() else {
        return chunks;
    };
    chunks.push(V2Chunk::Raw(vec![version]));
    let mut at = 1;
    while at < bytes.len() {
        let start = at;
        let field = read_varint(bytes, &mut at).and_then(|ty| {
            if ty == 0 {
                return Some(V2Chunk::Raw(vec![0]));
            }
            let len = read_varint(bytes, &mut at)?;
            let end = at.checked_add(usize::try_from(len).ok()?)?;
            let data = bytes.get(at..end)?.to_vec();
            at = end;
            Some(V2Chunk::Field { ty, len, data })
        });
        match field {
            Some(chunk) => chunks.push(chunk),
            None => {
                chunks.push(V2Chunk::Raw(
                    bytes.get(start..).unwrap_or_default().to_vec(),
                ));
                break;
            }
        }
    }
    chunks
}

/// Writes v2 chunks back to bytes.
pub fn join_v2(chunks: &[V2Chunk]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        match chunk {
            V2Chunk::Raw(bytes) => out.extend_from_slice(bytes),
            V2Chunk::Field { ty, len, data } => {
                write_varint(&mut out, *ty);
                write_varint(&mut out, *len);
                out.extend_from_slice(data);
            }
        }
    }
    out
}

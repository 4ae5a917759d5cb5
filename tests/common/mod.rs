//! Helpers shared by the integration tests: loading the JSON vectors from `tests/data/`,
//! hex and base64 without extra dev-dependencies, macaroon builders and error extractors.
//!
//! Every helper takes a `ctx` string (usually the vector's name) and puts it into its panic
//! message, so a failure always says which vector broke.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

use macaroon_mint::Parsed;
use macaroon_mint::{
    DecodeError, Encoding, Error, Format, Limits, Macaroon, MacaroonRole, RootKey, VerifyError,
};
use serde_json::Value;

/// Loads `tests/data/<name>` as JSON.
pub fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A required string member.
pub fn s<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("[{ctx}] missing string field {key:?} in {v}"))
}

/// An optional string member (absent or null => None).
pub fn opt_s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A required array member.
pub fn arr<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("[{ctx}] missing array field {key:?} in {v}"))
}

/// A required unsigned integer member.
pub fn u(v: &Value, key: &str, ctx: &str) -> usize {
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or_else(|| panic!("[{ctx}] missing integer field {key:?} in {v}"))
}

/// An array of strings.
pub fn strings(v: &Value, ctx: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("[{ctx}] expected an array of strings, got {v}"))
        .iter()
        .map(|x| {
            x.as_str()
                .unwrap_or_else(|| panic!("[{ctx}] expected a string, got {x}"))
                .to_owned()
        })
        .collect()
}

pub fn unhex(text: &str, ctx: &str) -> Vec<u8> {
    hex::decode(text).unwrap_or_else(|e| panic!("[{ctx}] bad hex {text:?}: {e}"))
}

pub fn unhex32(text: &str, ctx: &str) -> [u8; 32] {
    unhex(text, ctx)
        .try_into()
        .unwrap_or_else(|_| panic!("[{ctx}] {text:?} is not 32 bytes"))
}

pub fn unhex24(text: &str, ctx: &str) -> [u8; 24] {
    unhex(text, ctx)
        .try_into()
        .unwrap_or_else(|_| panic!("[{ctx}] {text:?} is not 24 bytes"))
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes base64 in the URL-safe or standard alphabet, with or without `=` padding.
pub fn b64_encode(bytes: &[u8], url: bool, pad: bool) -> String {
    let alphabet = if url { URL } else { STD };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64 in either alphabet, ignoring `=` and ASCII whitespace (test data only).
pub fn b64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => panic!("test data: {c:?} is not base64 in {text:?}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

pub fn key(secret: &str) -> RootKey {
    RootKey::new(secret)
}

pub fn format_named(name: &str, ctx: &str) -> Format {
    name.parse::<Format>()
        .unwrap_or_else(|e| panic!("[{ctx}] unknown format {name:?}: {e}"))
}

/// The encoding auto-detection should report for a data file's format name.
pub fn encoding_named(name: &str, service: Option<&str>, ctx: &str) -> Encoding {
    match name {
        "v1" => Encoding::V1,
        "v2" => Encoding::V2,
        "v2j" => Encoding::V2Json,
        "v1json" => Encoding::V1Json,
        "onedata" => Encoding::Onedata {
            service: service.map(str::to_owned),
        },
        other => panic!("[{ctx}] unknown encoding name {other:?}"),
    }
}

/// Parses with auto-detection, panicking with `ctx` on failure.
pub fn parse_ok(text: &str, ctx: &str) -> Macaroon {
    Macaroon::parse(text).unwrap_or_else(|e| panic!("[{ctx}] parse failed: {e} ({e:?})"))
}

pub fn serialize_ok(m: &Macaroon, format: Format, ctx: &str) -> String {
    m.serialize(format)
        .unwrap_or_else(|e| panic!("[{ctx}] serialize({format}) failed: {e} ({e:?})"))
}

/// The caveat ids of `m`, as strings (lossy).
pub fn caveat_ids(m: &Macaroon) -> Vec<String> {
    m.caveats()
        .iter()
        .map(|c| String::from_utf8_lossy(c.id()).into_owned())
        .collect()
}

/// Expects a decode error, panicking with `ctx` otherwise.
pub fn decode_err<T: std::fmt::Debug>(r: Result<T, Error>, ctx: &str) -> DecodeError {
    match r {
        Err(Error::Decode(d)) => d,
        other => panic!("[{ctx}] expected Error::Decode, got {other:?}"),
    }
}

/// Expects a verification error, panicking with `ctx` otherwise.
pub fn verify_err<T: std::fmt::Debug>(r: Result<T, Error>, ctx: &str) -> VerifyError {
    match r {
        Err(Error::Verify(v)) => v,
        other => panic!("[{ctx}] expected Error::Verify, got {other:?}"),
    }
}

/// `SignatureMismatch` of a discharge with this identifier (any reason).
pub fn is_discharge_mismatch(e: &VerifyError, identifier: &[u8]) -> bool {
    matches!(
        e,
        VerifyError::SignatureMismatch {
            macaroon: MacaroonRole::Discharge { identifier: id },
            ..
        } if id.as_slice() == identifier
    )
}

pub fn discharge_role(identifier: &str) -> MacaroonRole {
    MacaroonRole::Discharge {
        identifier: identifier.as_bytes().to_vec(),
    }
}

/// Splits raw v1 bytes into whole packets (test data only: well-formed input).
pub fn v1_packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = std::str::from_utf8(&rest[..4]).expect("ascii header");
        let len = usize::from_str_radix(header, 16).expect("hex header");
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

/// One raw v1 packet `HHHH key value\n`.
pub fn v1_packet(key: &str, value: &[u8]) -> Vec<u8> {
    let len = 4 + key.len() + 1 + value.len() + 1;
    let mut out = format!("{len:04x}{key} ").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Parses raw v1 bytes with default limits.
pub fn from_v1(bytes: &[u8]) -> Result<Macaroon, Error> {
    Parsed::from_bytes(bytes, &Limits::default()).map(|p| p.macaroon)
}

/// Parses raw bytes (v2 binary when the first byte is 2) with default limits.
pub fn from_bytes(bytes: &[u8]) -> Result<Macaroon, Error> {
    Parsed::from_bytes(bytes, &Limits::default()).map(|p| p.macaroon)
}

/// Appends a v2 unsigned varint (LEB128), for hand-built v2 bytes.
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a v2 field: type, length, data.
pub fn put_field(out: &mut Vec<u8>, kind: u64, data: &[u8]) {
    put_uvarint(out, kind);
    put_uvarint(out, data.len() as u64);
    out.extend_from_slice(data);
}

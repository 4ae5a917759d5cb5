//! Helpers for the decoders' unit tests: TV1 (SPEC §11.1), raw bytes through the public byte
//! entry point, base64 text from the `base64` crate (an encoder independent of our decoder), and
//! hand-built v1 packets.

use ::base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ::base64::Engine as _;

use crate::error::{DecodeError, Error};
use crate::format::Parsed;
use crate::key::RootKey;
use crate::limits::Limits;
use crate::macaroon::Macaroon;

/// TV1 with its three caveats (SPEC §11.1).
pub(crate) fn tv1() -> Macaroon {
    [
        "account = 3735928559",
        "time < 2020-01-01T00:00",
        "email = alice@example.org",
    ]
    .iter()
    .fold(
        Macaroon::mint(
            &RootKey::new("this is our super secret key; only we should know it"),
            "http://mybank/",
            "we used our secret key",
        )
        .expect("mint"),
        |m, p| m.with_first_party(p).expect("caveat"),
    )
}

/// A token with fields of known sizes and one third-party caveat.
pub(crate) fn sized() -> Macaroon {
    Macaroon::mint(&RootKey::new("k"), "L", vec![b'i'; 40])
        .expect("mint")
        .with_first_party(vec![b'c'; 50])
        .expect("fp")
        .with_third_party_nonce("http://tp/", &RootKey::new("ck"), "tp", [7; 24])
        .expect("tp")
}

/// Expects a decode error, panicking with `ctx` otherwise.
pub(crate) fn decode_err<T: core::fmt::Debug>(r: Result<T, Error>, ctx: &str) -> DecodeError {
    match r {
        Err(Error::Decode(d)) => d,
        other => panic!("[{ctx}] expected Error::Decode, got {other:?}"),
    }
}

/// Parses raw bytes (v2 binary when the first byte is 2, else v1) with default limits.
pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Macaroon, Error> {
    Parsed::from_bytes(bytes, &Limits::default()).map(|p| p.macaroon)
}

/// Unpadded URL-safe base64.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Splits raw v1 bytes into whole packets (well-formed input only).
pub(crate) fn v1_packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = core::str::from_utf8(&rest[..4]).expect("ascii header");
        let len = usize::from_str_radix(header, 16).expect("hex header");
        out.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    out
}

/// One raw v1 packet `HHHH key value\n`.
pub(crate) fn v1_packet(key: &str, value: &[u8]) -> Vec<u8> {
    let len = 4 + key.len() + 1 + value.len() + 1;
    let mut out = format!("{len:04x}{key} ").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Parses with auto-detection, panicking with `ctx` on failure.
pub(crate) fn parse_ok(text: &str, ctx: &str) -> Macaroon {
    Macaroon::parse(text).unwrap_or_else(|e| panic!("[{ctx}] parse failed: {e} ({e:?})"))
}

/// The text of TV7's `registerOneprovider` token (SPEC §11.7, `tests/data/onedata.json`).
pub(crate) fn tv7_register_oneprovider_text() -> String {
    let data: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/data/onedata.json")).expect("JSON");
    data["tokens"][2]["text"]
        .as_str()
        .expect("TV7 registerOneprovider text")
        .to_owned()
}

//! Oracles for the macaroon-mint fuzz targets.
//!
//! The targets in `fuzz_targets/` are thin: each hands its input to one function here. Keeping
//! the oracles in a library lets them be read in one place and reused by the regression tests
//! (a crash input replays through the same function that found it).
//!
//! Every oracle panics on a property violation; a panic is what libFuzzer records as a crash.

use macaroon_mint::{Error, LimitError, Limits, Macaroon};

pub mod base62;
pub mod caveat;
pub mod parse;
pub mod roundtrip;
pub mod verify;
pub mod wire;

/// Checks the error text can be built and every offset the error carries lies inside the input
/// (`<= len`: "missing … at the end" points just past the last byte).
///
/// Binary-layer offsets count decoded bytes, which never outnumber the input's bytes; JSON
/// offsets count characters, which never outnumber bytes either.
pub fn check_error(err: &Error, input_len: usize, what: &str) {
    let text = err.to_string();
    assert!(!text.is_empty(), "{what}: empty error text for {err:?}");
    let _ = format!("{err:?}");
    let offsets: Vec<usize> = match err {
        Error::Decode(d) => core::iter::once(d.offset).chain(d.text_offset).collect(),
        Error::Limit(LimitError::FieldTooLarge { offset, .. })
        | Error::Limit(LimitError::TooManyCaveats { offset, .. }) => vec![*offset],
        _ => Vec::new(),
    };
    for offset in offsets {
        assert!(
            offset <= input_len,
            "{what}: offset {offset} outside an input of {input_len} bytes: {err:?} ({text})"
        );
    }
}

/// The signed content of a macaroon: identifier, caveat ids and vids, signature. Locations are
/// hints outside the signature, so changing them must not change what verifies.
pub type Semantic = (Vec<u8>, Vec<(Vec<u8>, Option<Vec<u8>>)>, [u8; 32]);

/// The signed content of `m`.
pub fn semantic(m: &Macaroon) -> Semantic {
    (
        m.identifier().to_vec(),
        m.caveats()
            .iter()
            .map(|c| (c.id().to_vec(), c.verification_id().map(<[u8]>::to_vec)))
            .collect(),
        *m.signature(),
    )
}

/// Limits with no bound on the token size, for re-parsing our own output of a large token.
pub const UNBOUNDED_TEXT: Limits = Limits {
    max_token_bytes: usize::MAX,
    ..Limits::DEFAULT
};

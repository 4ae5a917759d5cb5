//! # macaroon-mint
//!
//! Mint, attenuate, serialize and verify [macaroons]: bearer tokens whose signature is an
//! HMAC-SHA256 chain over an identifier and a list of caveats. Anyone holding a macaroon can add
//! caveats (attenuate it); nobody can remove one.
//!
//! Tokens interoperate byte for byte with libmacaroons, pymacaroons, the `macaroon` crate,
//! js-macaroon and Onedata, in every format they write: libmacaroons v1, v2 binary, v2 JSON (and
//! the legacy v1 JSON), and Onedata's base62 escape of v1.
//!
//! ```
//! use macaroon_mint::{Format, Macaroon, RootKey, Verifier};
//!
//! // Mint with a root key only the service knows, then attenuate.
//! let key = RootKey::new(b"this is our super secret key; only we should know it");
//! let token = Macaroon::mint(&key, "http://mybank/", "we used our secret key")?
//!     .with_first_party("account = 3735928559")?
//!     .with_first_party("time < 1700003600")?
//!     .serialize(Format::V1)?;
//!
//! // Later, on every request: parse (any format) and verify against the injected time.
//! let untrusted = Macaroon::parse(&token)?;
//! Verifier::new()
//!     .satisfy_exact("account = 3735928559")
//!     .at_time(1_700_000_000)
//!     .verify(&key, &untrusted, &[])?;
//! # Ok::<(), macaroon_mint::Error>(())
//! ```
//!
//! Parsing yields an untrusted [`Macaroon`] that can only be inspected; [`Verifier::verify`]
//! returns [`Verified`] only when every signature matches and every caveat is satisfied. Errors are
//! one [`Error`] type, nested by domain, with byte or character offsets for malformed input.
//! Untrusted input is bounded by [`Limits`].
//!
//! ## Reading tokens
//!
//! Six entry points, one per need: text or bytes by what you hold, then how much you want back.
//!
//! | | text (`&str`) | bytes (also raw v2 binary and raw v1 packets) |
//! |---|---|---|
//! | the macaroon, default [`Limits`] | [`Macaroon::parse`] | [`Macaroon::parse_bytes`] |
//! | with the [`Encoding`] found, explicit [`Limits`] | [`Parsed::from_text`] | [`Parsed::from_bytes`] |
//! | lenient: on failure, what survived (never fails) | [`Inspection::of_text`] | [`Inspection::of_bytes`] |
//!
//! A server that only needs to know whether a token authorizes a request calls
//! [`Verifier::verify_token`], which parses and verifies in one pass and returns the same
//! [`Verified`] as [`Verifier::verify`].
//!
//! ## Verifying
//!
//! A [`Verifier`] has one clock ([`Verifier::at_time`], or [`Verifier::with_clock`] with a
//! [`Clock`]'s leeway and lifetime cap), exact and general satisfiers, and with the `caveats`
//! feature typed checking against an `AuthContext`, a token kind's supported caveat forms and
//! deferred forms (returned in [`Verified`] for the caller to check per operation). It fails
//! closed: a caveat nothing accepts is an error naming the macaroon, the caveat's index and why.
//!
//! ## Features
//!
//! - `caveats` (default): the typed caveat language (`caveat` module, `TypedCaveat`,
//!   `AuthContext`, `Verifier::with_context`, supported and deferred forms).
//! - `onedata` (default, needs `caveats`): the Onedata token profile (`onedata` module).
//! - Without either, the core mints, attenuates, serializes, parses, inspects and verifies
//!   (exact and general satisfiers, `time < N` against the clock) in every format.
//! - `serde` (off by default): `Serialize` and `Deserialize` for [`Macaroon`] as its v2 JSON
//!   object (deserializing runs the token parser on it, so it accepts exactly what
//!   [`Macaroon::parse`] does), for [`Format`] and [`Encoding`] by name, and `Serialize` for
//!   [`Error`] and the errors it nests as `{"kind", "reason", "message", …}` objects; each impl's
//!   documentation gives the shape.
//!
//! [macaroons]: https://research.google/pubs/macaroons-cookies-with-contextual-caveats-for-decentralized-authorization-in-the-cloud/
//!
// The README's guided tour (build.rs): with the default features, whose examples it runs.
#![cfg_attr(feature = "onedata", doc = include_str!(concat!(env!("OUT_DIR"), "/tour.md")))]
// No unsafe code here: memory safety of the parser holds by construction. (The dependencies'
// own unsafe code is theirs: sha2's and base64-simd's SIMD kernels.)
#![forbid(unsafe_code)]
// On docs.rs (nightly rustdoc with `--cfg docsrs`), every item gated by a feature is badged with it.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The core's docs name the typed items it works with when the `caveats` feature is on; without
// it those links have nothing to point at (docs.rs and CI document every feature).
#![cfg_attr(not(feature = "caveats"), allow(rustdoc::broken_intra_doc_links))]
#![warn(missing_docs)]
// Library code reports errors; it never panics on input.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
// Nothing may skip the zeroizing drop of a key.
#![deny(clippy::mem_forget)]

#[cfg(feature = "caveats")]
pub mod caveat;
mod crypto;
mod error;
mod format;
mod hmac_sha256;
mod key;
mod limits;
mod macaroon;
#[cfg(feature = "onedata")]
pub mod onedata;
mod reader;
#[cfg(all(feature = "serde", feature = "onedata"))]
pub mod report;
#[cfg(feature = "serde")]
mod serde_impls;
mod util;
mod verify;

// The public interface is:
#[cfg(feature = "caveats")]
pub use crate::caveat::{CaveatError, TypedCaveat};
pub use crate::crypto::{NONCE_LEN, SIGNATURE_LEN, VID_LEN};
pub use crate::error::{
    DecodeError, DecodeErrorKind, EncodeError, Error, ErrorClass, Layer, LimitError, MacaroonRole,
    VerifyError,
};
pub use crate::format::base62::{escape as base62_escape, unescape as base62_unescape};
pub use crate::format::{
    Encoding, Format, Inspection, Parsed, Recovered, RecoveredCaveat, RecoveredField,
};
pub use crate::key::RootKey;
pub use crate::limits::Limits;
pub use crate::macaroon::{AsPredicate, Caveat, Macaroon, MAX_FIELD_BYTES};
#[cfg(feature = "caveats")]
pub use crate::verify::{ApiCall, AuthContext, Consumer, DataAccess, DeferredCaveat, Service};
pub use crate::verify::{Clock, ExactPredicate, Unmet, Verified, Verifier};

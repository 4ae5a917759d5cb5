//! One error type for the whole crate, nested by failure domain.
//!
//! Every fallible public function returns [`Error`]. Its variants split by domain so a server can map
//! them to responses without string matching: [`DecodeError`] (malformed input, with the layer,
//! offset and reason), [`LimitError`] (input larger than the configured [`Limits`](crate::Limits)),
//! [`VerifyError`] (authentic-looking input that does not authorize), and [`EncodeError`] (a value
//! that a format cannot hold).

use core::fmt;

#[cfg(feature = "caveats")]
use crate::caveat::CaveatError;
use crate::verify::Unmet;

/// The crate's error type.
///
/// ```
/// use macaroon_mint::{Error, Macaroon};
///
/// let err = Macaroon::parse("   ").unwrap_err();
/// assert!(matches!(err, Error::Decode(_)));
/// assert_eq!(err.to_string(), "input: the token is empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed token in any supported format.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The input (or the verification request) exceeds a configured limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The token is well formed but does not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A value cannot be represented in the requested format, or is invalid to build.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A typed caveat that is malformed or cannot be written as given.
    #[cfg(feature = "caveats")]
    #[error(transparent)]
    Caveat(#[from] CaveatError),
}

/// The decoding layer in which an error was found (SPEC §13).
///
/// Text layers (`Input`, `Base62`, `Base64`, `Json`) count characters of the text as the caller
/// passed it; binary layers (`V1`, `V2`) count bytes of the decoded data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// The input as a whole (emptiness, detection).
    Input,
    /// The Onedata base62 escape.
    Base62,
    /// Base64 text.
    Base64,
    /// libmacaroons v1 packets.
    V1,
    /// v2 binary fields.
    V2,
    /// v2 JSON or legacy v1 JSON.
    Json,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Input => "input",
            Layer::Base62 => "base62",
            Layer::Base64 => "base64",
            Layer::V1 => "v1",
            Layer::V2 => "v2",
            Layer::Json => "json",
        })
    }
}

/// Malformed input: where it was found and what was wrong.
///
/// `offset` is counted in the units of [`layer`](DecodeError::layer) (characters of the caller's
/// text for text layers, bytes of decoded data for `V1` and `V2`). For binary layers decoded from
/// text, `text_offset` additionally points at the character of the caller's text where the base64
/// group holding that byte starts.
///
/// ```
/// use macaroon_mint::{DecodeErrorKind, Error, Layer, Macaroon};
///
/// // A base62 (Onedata) token with a character outside the alphabet at offset 2.
/// let Error::Decode(e) = Macaroon::parse("MD-x0000").unwrap_err() else { panic!() };
/// assert_eq!((e.layer, e.offset), (Layer::Base62, 2));
/// assert_eq!(e.kind, DecodeErrorKind::InvalidCharacter { ch: '-' });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeError {
    /// The layer that rejected the input.
    pub layer: Layer,
    /// Offset of the defect within the layer (characters or bytes, see the type docs).
    pub offset: usize,
    /// For binary layers decoded from text: the character of the original text where the base64
    /// group holding `offset` starts.
    pub text_offset: Option<usize>,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    pub(crate) fn new(layer: Layer, offset: usize, kind: DecodeErrorKind) -> Self {
        DecodeError {
            layer,
            offset,
            text_offset: None,
            kind,
        }
    }
}

impl std::error::Error for DecodeError {}

/// The reason a [`DecodeError`] was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Nothing but whitespace was given.
    Empty,
    /// The format could not be recognised.
    UnknownFormat,
    /// A `0` escape followed by a character other than `0`–`5` (base62).
    InvalidEscape {
        /// The two characters of the bad escape.
        pair: [char; 2],
    },
    /// The text ends with a lone `0` escape character (base62).
    DanglingEscape,
    /// A character not allowed in this layer.
    InvalidCharacter {
        /// The offending character.
        ch: char,
    },
    /// A byte that is not valid UTF-8 text where text was expected.
    InvalidByte {
        /// The byte.
        byte: u8,
    },
    /// The service indication before `-` is not `opw` or `opp`.
    InvalidServicePrefix {
        /// The three characters found.
        prefix: String,
    },
    /// Base64 text whose data length leaves a single character in its final group.
    Base64Length,
    /// Misplaced or wrong `=` padding.
    InvalidPadding,
    /// The final base64 character carries bits beyond the data (usually cut-off text).
    TrailingBits {
        /// The final character.
        ch: char,
    },
    /// A v1 packet header that is not four hexadecimal digits.
    BadPacketHeader,
    /// A v1 packet whose declared length is below the minimum for its key.
    PacketTooShort {
        /// The declared total packet length.
        declared: usize,
    },
    /// A packet or field that declares more bytes than remain in the input.
    Truncated {
        /// What was being read: `"location packet"`, `"identifier field"`, ….
        what: &'static str,
        /// Bytes declared.
        declared: usize,
        /// Bytes that remain from the start of the packet or field.
        remaining: usize,
    },
    /// A v1 packet that does not end in a line feed.
    MissingNewline,
    /// A v1 packet with no space between key and value.
    MissingSeparator,
    /// A v1 key or v2 field type that is not known.
    UnknownField {
        /// The key (v1) or field type (v2) as text.
        field: String,
    },
    /// A field in a place the grammar does not allow.
    Unexpected {
        /// What was found.
        found: String,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// A required field is absent.
    Missing {
        /// The missing field.
        field: &'static str,
    },
    /// The same field given twice.
    Duplicate {
        /// The repeated field.
        field: String,
    },
    /// A signature that is not exactly 32 bytes.
    SignatureLength {
        /// The length found.
        found: usize,
    },
    /// Bytes after the end of the token.
    TrailingData,
    /// A v2 varint that is not minimal, overflows, or is cut off.
    InvalidVarint,
    /// A version other than the supported one.
    UnsupportedVersion {
        /// The version found, as text.
        found: String,
    },
    /// Malformed JSON syntax.
    JsonSyntax {
        /// What the parser expected at this point.
        expected: &'static str,
    },
    /// Hex text that is not valid (legacy JSON signatures).
    InvalidHex,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        let text = match self.text_offset {
            Some(t) => format!(" (character {t})"),
            None => String::new(),
        };
        let unit = match self.layer {
            Layer::V1 | Layer::V2 => "byte",
            _ => "offset",
        };
        write!(f, "{}: ", self.layer)?;
        match &self.kind {
            DecodeErrorKind::Empty => write!(f, "the token is empty"),
            DecodeErrorKind::UnknownFormat => {
                write!(f, "unrecognised token format at {unit} {at}{text}")
            }
            DecodeErrorKind::InvalidEscape { pair } => write!(
                f,
                "invalid escape \"{}{}\" at offset {at} (expected 0 followed by 0-5)",
                pair[0].escape_debug(),
                pair[1].escape_debug()
            ),
            DecodeErrorKind::DanglingEscape => {
                write!(f, "dangling escape character '0' at offset {at}")
            }
            DecodeErrorKind::InvalidCharacter { ch } => write!(
                f,
                "character '{}' at {unit} {at}{text} is not allowed",
                ch.escape_debug()
            ),
            DecodeErrorKind::InvalidByte { byte } => {
                write!(f, "byte 0x{byte:02x} at {unit} {at}{text} is not valid text")
            }
            DecodeErrorKind::InvalidServicePrefix { prefix } => write!(
                f,
                "service indication \"{}\" at offset {at} is not opw or opp",
                prefix.escape_debug()
            ),
            DecodeErrorKind::Base64Length => write!(
                f,
                "text ends with a single character in its last group at offset {at} (truncated text)"
            ),
            DecodeErrorKind::InvalidPadding => write!(f, "misplaced '=' padding at offset {at}"),
            DecodeErrorKind::TrailingBits { ch } => write!(
                f,
                "final character '{}' at {at} has non-zero trailing bits (truncated text)",
                ch.escape_debug()
            ),
            DecodeErrorKind::BadPacketHeader => write!(
                f,
                "packet header at byte {at}{text} is not four hex digits"
            ),
            DecodeErrorKind::PacketTooShort { declared } => write!(
                f,
                "packet at byte {at}{text} declares {declared} bytes, shorter than its key and framing"
            ),
            DecodeErrorKind::Truncated {
                what,
                declared,
                remaining,
            } => write!(
                f,
                "{what} at byte {at}{text} declares {declared} bytes, {remaining} remain"
            ),
            DecodeErrorKind::MissingNewline => {
                write!(f, "packet at byte {at}{text} does not end in a line feed")
            }
            DecodeErrorKind::MissingSeparator => {
                write!(f, "packet at byte {at}{text} has no space after its key")
            }
            DecodeErrorKind::UnknownField { field } => {
                write!(f, "unknown field \"{}\" at {unit} {at}{text}", field.escape_debug())
            }
            DecodeErrorKind::Unexpected { found, expected } => write!(
                f,
                "unexpected {} at {unit} {at}{text}, expected {expected}",
                found.escape_debug()
            ),
            DecodeErrorKind::Missing { field } => {
                write!(f, "missing {field} at {unit} {at}{text}")
            }
            DecodeErrorKind::Duplicate { field } => write!(
                f,
                "field \"{}\" given twice at {unit} {at}{text}",
                field.escape_debug()
            ),
            DecodeErrorKind::SignatureLength { found } => write!(
                f,
                "signature at {unit} {at}{text} is {found} bytes, expected 32"
            ),
            DecodeErrorKind::TrailingData => {
                write!(f, "unexpected data after the token at {unit} {at}{text}")
            }
            DecodeErrorKind::InvalidVarint => {
                write!(f, "invalid or non-minimal varint at byte {at}{text}")
            }
            DecodeErrorKind::UnsupportedVersion { found } => write!(
                f,
                "unsupported version {} at {unit} {at}{text}",
                found.escape_debug()
            ),
            DecodeErrorKind::JsonSyntax { expected } => {
                write!(f, "expected {expected} at offset {at}")
            }
            DecodeErrorKind::InvalidHex => write!(f, "invalid hex at offset {at}"),
        }
    }
}

/// What kind of failure an error is: the one classification a CLI's exit codes and a server's
/// HTTP statuses can both follow.
///
/// ```
/// use macaroon_mint::{ErrorClass, Macaroon, RootKey, Verifier};
///
/// assert_eq!(Macaroon::parse("not a token").unwrap_err().class(), ErrorClass::Malformed);
/// let key = RootKey::new("k");
/// let m = Macaroon::mint(&key, "", "id")?.with_first_party("user = alice")?;
/// let refused = Verifier::new().verify(&key, &m, &[]).unwrap_err();
/// assert_eq!(refused.class(), ErrorClass::NotAuthorized);
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The input is not a well-formed token, or exceeds a limit (HTTP 400, exit 2).
    Malformed,
    /// A well-formed token that does not authorize the request: a signature, a caveat, a
    /// discharge, a revoked or wrong kind of token (HTTP 401 or 403, exit 1).
    NotAuthorized,
    /// The caller asked for something that cannot be done: a value a format cannot hold, a typed
    /// caveat that does not encode, minting options that do not fit (HTTP 500 for a server that
    /// built the request itself, exit 2).
    Misuse,
}

impl Error {
    /// This error's [`ErrorClass`].
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Decode(_) | Error::Limit(_) => ErrorClass::Malformed,
            Error::Verify(_) => ErrorClass::NotAuthorized,
            Error::Encode(_) => ErrorClass::Misuse,
            #[cfg(feature = "caveats")]
            Error::Caveat(_) => ErrorClass::Misuse,
        }
    }
}

/// A configured [`Limits`](crate::Limits) value was exceeded.
///
/// ```
/// use macaroon_mint::{Error, LimitError, Limits, Parsed};
///
/// let limits = Limits { max_token_bytes: 8, ..Limits::default() };
/// let err = Parsed::from_text("MDAxY2xvY2F0aW9u", &limits).unwrap_err();
/// assert_eq!(err, Error::Limit(LimitError::TokenTooLarge { limit: 8, found: 16 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The token text or bytes are longer than `max_token_bytes`.
    #[error("token of {found} bytes exceeds the limit of {limit} bytes")]
    TokenTooLarge {
        /// The configured limit.
        limit: usize,
        /// The size found.
        found: usize,
    },
    /// A location, identifier, cid, vid or cl longer than `max_field_bytes`.
    #[error("{field} of {found} bytes at offset {offset} exceeds the limit of {limit} bytes")]
    FieldTooLarge {
        /// Which field.
        field: &'static str,
        /// The configured limit.
        limit: usize,
        /// The declared size.
        found: usize,
        /// Offset of the field: bytes of decoded data (v1, v2) or characters of JSON text.
        offset: usize,
    },
    /// More caveats in one macaroon than `max_caveats`.
    #[error("more than {limit} caveats in one macaroon (caveat {} starts at offset {offset})", limit + 1)]
    TooManyCaveats {
        /// The configured limit.
        limit: usize,
        /// Offset of the first caveat over the limit (bytes of decoded data, or JSON characters).
        offset: usize,
    },
    /// More discharges passed to one verification than `max_discharges`.
    #[error("{found} discharges exceed the limit of {limit}")]
    TooManyDischarges {
        /// The configured limit.
        limit: usize,
        /// The number given.
        found: usize,
    },
    /// Discharges nested deeper than `max_depth`.
    #[error("discharge \"{}\" would be at depth {}, deeper than the limit of {limit}", crate::util::Printable(caveat_id), limit + 1)]
    DepthExceeded {
        /// The configured limit.
        limit: usize,
        /// The third-party caveat id whose discharge would exceed it.
        caveat_id: Vec<u8>,
    },
}

/// Which macaroon of a verification request an error is about.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacaroonRole {
    /// The root macaroon presented for authorization.
    Root,
    /// A discharge macaroon, named by its identifier.
    Discharge {
        /// The discharge's identifier.
        identifier: Vec<u8>,
    },
}

impl fmt::Debug for MacaroonRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for MacaroonRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacaroonRole::Root => f.write_str("root macaroon"),
            MacaroonRole::Discharge { identifier } => {
                write!(f, "discharge \"{}\"", crate::util::Printable(identifier))
            }
        }
    }
}

/// A well-formed token that does not authorize the request.
///
/// ```
/// use macaroon_mint::{Error, Macaroon, RootKey, Verifier, VerifyError};
///
/// let key = RootKey::new(b"secret");
/// let m = Macaroon::mint(&key, "", "id")?.with_first_party("user = alice")?;
/// let err = Verifier::new().verify(&key, &m, &[]).unwrap_err();
/// let Error::Verify(VerifyError::CaveatNotSatisfied { index, caveat, .. }) = &err else { panic!() };
/// assert_eq!((*index, caveat.as_slice()), (0, &b"user = alice"[..]));
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A signature does not match: wrong key, altered or reordered fields, or a discharge that is not
    /// bound to this root. Deliberately carries no expected value.
    #[error("signature mismatch in the {macaroon}{}", reason.map(|r| format!(" ({r})")).unwrap_or_default())]
    SignatureMismatch {
        /// The macaroon whose signature failed.
        macaroon: MacaroonRole,
        /// A fixed description where the failure has a structural cause (e.g. a vid that does not open).
        reason: Option<&'static str>,
    },
    /// No satisfier accepted a first-party caveat.
    #[error(
        "caveat {index} of the {macaroon} is not satisfied: \"{}\" ({reason})",
        crate::util::Printable(caveat)
    )]
    CaveatNotSatisfied {
        /// The macaroon holding the caveat.
        macaroon: MacaroonRole,
        /// Index of the caveat within that macaroon (first- and third-party caveats both count).
        index: usize,
        /// The caveat's predicate.
        caveat: Vec<u8>,
        /// Why: [`Unmet::NoRule`] unless a typed checker judged it.
        reason: Unmet,
    },
    /// With typed checking on ([`Verifier::with_context`](crate::Verifier::with_context)), a
    /// first-party caveat that matches no typed form and that no other satisfier accepted.
    #[error(
        "caveat {index} of the {macaroon} is unknown: \"{}\"",
        crate::util::Printable(caveat)
    )]
    UnknownCaveat {
        /// The macaroon holding the caveat.
        macaroon: MacaroonRole,
        /// Index of the caveat.
        index: usize,
        /// The caveat's predicate.
        caveat: Vec<u8>,
    },
    #[cfg(feature = "caveats")]
    /// With typed checking on, a first-party caveat that starts like a typed form but does not
    /// parse (`time < abc`), and that no other satisfier accepted.
    #[error(
        "caveat {index} of the {macaroon} is malformed: \"{}\": {error}",
        crate::util::Printable(caveat)
    )]
    MalformedCaveat {
        /// The macaroon holding the caveat.
        macaroon: MacaroonRole,
        /// Index of the caveat.
        index: usize,
        /// The caveat's predicate.
        caveat: Vec<u8>,
        /// What is wrong with it.
        error: CaveatError,
    },
    /// The verifier's clock caps the lifetime ([`Clock::max_ttl`](crate::Clock::max_ttl))
    /// but the token has no `time <` caveat.
    #[error(
        "the token has no expiry (a \"time < N\" caveat is required, at most {max_ttl} s ahead)"
    )]
    NoExpiry {
        /// The policy's maximum lifetime in seconds.
        max_ttl: u64,
    },
    /// The token's earliest `time < N` is further ahead than the policy's maximum lifetime.
    #[error("the token lives too long: expires at {expiry}, more than {max_ttl} s after {now}")]
    LifetimeTooLong {
        /// The earliest expiry among the token's `time <` caveats.
        expiry: u64,
        /// The time of the check.
        now: u64,
        /// The policy's maximum lifetime in seconds.
        max_ttl: u64,
    },
    /// A `time < N` caveat that has expired (`now >= N`) and that no other satisfier accepted.
    #[error(
        "caveat {index} of the {macaroon} has expired: \"{}\" (now is {now})",
        crate::util::Printable(caveat)
    )]
    Expired {
        /// The macaroon holding the caveat.
        macaroon: MacaroonRole,
        /// Index of the caveat.
        index: usize,
        /// The caveat's predicate.
        caveat: Vec<u8>,
        /// The expiry (`N`).
        expiry: u64,
        /// The injected time.
        now: u64,
    },
    /// No unused discharge has the identifier a third-party caveat asks for.
    #[error(
        "no discharge for third-party caveat \"{}\"",
        crate::util::Printable(caveat_id)
    )]
    DischargeMissing {
        /// The third-party caveat id.
        caveat_id: Vec<u8>,
    },
    /// The only discharges for a caveat id were already used by another caveat.
    #[error(
        "discharge \"{}\" is needed twice but may be used once",
        crate::util::Printable(caveat_id)
    )]
    DischargeReused {
        /// The third-party caveat id.
        caveat_id: Vec<u8>,
    },
    /// A discharge that (directly or indirectly) requires itself.
    #[error(
        "discharge \"{}\" requires itself (cycle)",
        crate::util::Printable(caveat_id)
    )]
    DischargeCycle {
        /// The third-party caveat id.
        caveat_id: Vec<u8>,
    },
    /// A discharge that no third-party caveat used (see
    /// [`Verifier::ignore_unused_discharges`](crate::Verifier::ignore_unused_discharges)).
    #[error(
        "discharge {index} (\"{}\") was not used",
        crate::util::Printable(identifier)
    )]
    DischargeUnused {
        /// Position of the discharge in the list given to the verifier.
        index: usize,
        /// Its identifier.
        identifier: Vec<u8>,
    },
}

/// A value cannot be built or represented in the requested format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A v1 packet would exceed 65,535 bytes.
    #[error("{field} of {len} bytes does not fit in a v1 packet (at most {max} bytes)")]
    PacketTooLarge {
        /// Which field.
        field: &'static str,
        /// The value's length.
        len: usize,
        /// The largest value this field can hold.
        max: usize,
    },
    /// A field longer than the limit for any format (65,535 bytes).
    #[error("{field} of {len} bytes exceeds {max} bytes")]
    FieldTooLarge {
        /// Which field.
        field: &'static str,
        /// The value's length.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
}

//! Wire formats: serialization, parsing with auto-detection (SPEC §9), and lenient inspection.

pub(crate) mod base62;
pub(crate) mod base64;
pub(crate) mod json;
pub(crate) mod v1;
pub(crate) mod v2;

#[cfg(test)]
mod testing;

use core::fmt;

use crate::error::{DecodeError, DecodeErrorKind, Error, Layer, LimitError};
use crate::limits::Limits;
use crate::macaroon::{Caveat, Macaroon};

/// A caveat as borrowed slices of decoded data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaveatRef<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) vid: Option<&'a [u8]>,
    pub(crate) location: &'a [u8],
}

impl<'a> From<&'a Caveat> for CaveatRef<'a> {
    fn from(c: &'a Caveat) -> Self {
        CaveatRef {
            id: &c.id,
            vid: c.verification_id.as_deref(),
            location: &c.location,
        }
    }
}

/// Receives the fields of a token as a binary decoder validates them, in order.
pub(crate) trait Visitor<'a> {
    /// The location (empty if absent) and identifier, before any caveat.
    fn header(&mut self, location: &'a [u8], identifier: &'a [u8]) -> Result<(), Error>;
    /// One complete caveat.
    fn caveat(&mut self, caveat: CaveatRef<'a>) -> Result<(), Error>;
}

/// The visitor that builds an owned [`Macaroon`].
#[derive(Default)]
pub(crate) struct Builder {
    location: Vec<u8>,
    identifier: Vec<u8>,
    caveats: Vec<Caveat>,
}

impl Builder {
    pub(crate) fn finish(self, signature: [u8; 32]) -> Macaroon {
        Macaroon::from_parts(self.location, self.identifier, self.caveats, signature)
    }
}

impl<'a> Visitor<'a> for Builder {
    fn header(&mut self, location: &'a [u8], identifier: &'a [u8]) -> Result<(), Error> {
        self.location = location.to_vec();
        self.identifier = identifier.to_vec();
        Ok(())
    }

    fn caveat(&mut self, c: CaveatRef<'a>) -> Result<(), Error> {
        self.caveats.push(Caveat {
            id: c.id.to_vec(),
            verification_id: c.vid.map(<[u8]>::to_vec),
            location: c.location.to_vec(),
        });
        Ok(())
    }
}

/// A format to serialize into.
///
/// | Format | Text | Read by |
/// |---|---|---|
/// | `V1` | base64url (no padding) of libmacaroons v1 packets, starts `MDAx` | every peer |
/// | `V2` | base64url (no padding) of v2 binary, starts `Ag` | pymacaroons, the `macaroon` crate, js, Go |
/// | `V2Json` | v2 JSON object, `{"v":2,…}` | libmacaroons HEAD, pymacaroons, js, Go |
/// | `Onedata` | Onedata's base62 escape of the V1 text | Onedata (Onezone, Oneprovider) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// libmacaroons v1 packets as URL-safe base64 text.
    V1,
    /// v2 binary as URL-safe base64 text.
    V2,
    /// v2 JSON.
    V2Json,
    /// Onedata's base62 escape of the V1 text.
    Onedata,
}

impl Format {
    /// The short name used by the CLI: `v1`, `v2`, `v2j` or `onedata`.
    ///
    /// ```
    /// use macaroon_mint::Format;
    /// assert_eq!(Format::V2Json.name(), "v2j");
    /// assert_eq!("v2j".parse::<Format>(), Ok(Format::V2Json));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Format::V1 => "v1",
            Format::V2 => "v2",
            Format::V2Json => "v2j",
            Format::Onedata => "onedata",
        }
    }
}

impl Format {
    /// The encoding [`Parsed::from_text`] finds in this format's text.
    ///
    /// ```
    /// use macaroon_mint::{Encoding, Format, Limits, Macaroon, Parsed, RootKey};
    ///
    /// let m = Macaroon::mint(&RootKey::new("k"), "", "id")?;
    /// for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
    ///     let parsed = Parsed::from_text(&m.serialize(format)?, &Limits::default())?;
    ///     assert_eq!(parsed.encoding, format.encoding());
    /// }
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn encoding(self) -> Encoding {
        match self {
            Format::V1 => Encoding::V1,
            Format::V2 => Encoding::V2,
            Format::V2Json => Encoding::V2Json,
            Format::Onedata => Encoding::Onedata { service: None },
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(Format::V1),
            "v2" => Ok(Format::V2),
            "v2j" | "v2json" | "json" => Ok(Format::V2Json),
            "onedata" | "base62" => Ok(Format::Onedata),
            other => Err(format!(
                "unknown format \"{other}\" (expected v1, v2, v2j or onedata)"
            )),
        }
    }
}

/// How a parsed token was encoded, as found by auto-detection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// Base64 text of v1 packets (either alphabet, padded or not).
    V1,
    /// Base64 text of v2 binary.
    V2,
    /// Raw v2 bytes (libmacaroons' v2 API).
    V2Binary,
    /// Raw v1 packets (libmacaroons' and Go's binary form): four hex digits, then `location ` or
    /// `identifier `.
    V1Binary,
    /// v2 JSON.
    V2Json,
    /// Legacy v1 JSON (`{"identifier":…}`), read only.
    V1Json,
    /// Onedata base62 text, with the service indication (`opw`/`opp`) if there was one.
    Onedata {
        /// The three-letter service indication before `-`, if present.
        service: Option<String>,
    },
}

impl Encoding {
    /// The encoding detection (SPEC §9) takes `input` for, from its first characters alone,
    /// without decoding it: what a damaged token was meant to be. `None` for empty input and for
    /// text that starts like no token.
    ///
    /// ```
    /// use macaroon_mint::Encoding;
    ///
    /// // The damaged registration token printed in Onedata's docs still sniffs as Onedata.
    /// let damaged = "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8";
    /// assert_eq!(Encoding::sniff(damaged.as_bytes()), Some(Encoding::Onedata { service: None }));
    /// assert_eq!(Encoding::sniff(b"opw-MDAx"), Some(Encoding::Onedata { service: Some("opw".into()) }));
    /// assert_eq!(Encoding::sniff(b"MDAxY2xvY2F0aW9u"), Some(Encoding::V1));
    /// assert_eq!(Encoding::sniff(b"AgEOaHR0cDovL215YmFuay8"), Some(Encoding::V2));
    /// assert_eq!(Encoding::sniff(br#"{"v":2}"#), Some(Encoding::V2Json));
    /// assert_eq!(Encoding::sniff(b"  "), None);
    /// ```
    pub fn sniff(input: &[u8]) -> Option<Encoding> {
        if input.first() == Some(&2) {
            return Some(Encoding::V2Binary);
        }
        if v1::looks_raw(input) {
            return Some(Encoding::V1Binary);
        }
        let (start, end) = trim_bounds(input);
        let mut text = input.get(start..end).unwrap_or_default();
        // Go's JSON for a bare token: a string holding the token text (one level, as detection).
        if let Some(inner) = text.strip_prefix(b"\"") {
            text = inner;
            if text.first() == Some(&b'"') {
                return None;
            }
        }
        // Legacy v1 JSON is the one with an `identifier` key (as the JSON reader decides).
        let json = |text: &[u8]| {
            let has_identifier_key = text.windows(12).enumerate().any(|(i, w)| {
                w == b"\"identifier\""
                    && text
                        .get(i + 12..)
                        .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()))
                        == Some(&b':')
            });
            if has_identifier_key {
                Encoding::V1Json
            } else {
                Encoding::V2Json
            }
        };
        match text.first()? {
            b'{' => Some(json(text)),
            _ => match service_prefix(text) {
                Ok(Some(service)) => Some(Encoding::Onedata {
                    service: Some(service),
                }),
                Err(_) => None,
                Ok(None) if text.first() != Some(&b'A') && looks_base62(text) => {
                    Some(Encoding::Onedata { service: None })
                }
                Ok(None) => {
                    // What the first characters decode to says which binary form follows.
                    let head = base64::decode_lenient(text.get(..SNIFFED_CHARS).unwrap_or(text));
                    match head.first()? {
                        2 => Some(Encoding::V2),
                        // LM 0.3.0's base64-wrapped JSON: the keys can be anywhere in it.
                        b'{' => Some(json(&base64::decode_lenient(text))),
                        _ => Some(Encoding::V1),
                    }
                }
            },
        }
    }

    /// The format to write a token back in so its reader gets what it sent.
    ///
    /// ```
    /// use macaroon_mint::{Encoding, Format};
    /// assert_eq!(Encoding::V1Json.output_format(), Format::V2Json);
    /// ```
    pub fn output_format(&self) -> Format {
        match self {
            Encoding::V1 | Encoding::V1Binary => Format::V1,
            Encoding::V2 | Encoding::V2Binary => Format::V2,
            Encoding::V2Json | Encoding::V1Json => Format::V2Json,
            Encoding::Onedata { .. } => Format::Onedata,
        }
    }

    /// A short name: `v1`, `v2`, `v2-binary`, `v1-binary`, `v2j`, `v1json` or `onedata`.
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::V1 => "v1",
            Encoding::V2 => "v2",
            Encoding::V2Binary => "v2-binary",
            Encoding::V1Binary => "v1-binary",
            Encoding::V2Json => "v2j",
            Encoding::V1Json => "v1json",
            Encoding::Onedata { .. } => "onedata",
        }
    }
}

/// A parsed (still unverified) macaroon and how it was encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Parsed {
    /// The macaroon. Untrusted until verified.
    pub macaroon: Macaroon,
    /// The encoding auto-detection found.
    pub encoding: Encoding,
}

/// A field recovered by lenient inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveredField {
    /// The bytes that were present.
    pub bytes: Vec<u8>,
    /// Whether the input ended (or broke) before the field was complete.
    pub truncated: bool,
}

impl RecoveredField {
    pub(crate) fn complete(bytes: &[u8]) -> Self {
        RecoveredField {
            bytes: bytes.to_vec(),
            truncated: false,
        }
    }
}

/// A caveat recovered by lenient inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveredCaveat {
    /// The caveat id.
    pub id: RecoveredField,
    /// The verification id, for third-party caveats.
    pub verification_id: Option<RecoveredField>,
    /// The caveat location.
    pub location: Option<RecoveredField>,
}

/// What a lenient decode recovered from a damaged token (SPEC §13).
///
/// `Debug` redacts the signature and the decoded bytes (which hold it), as for [`Macaroon`].
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// Bytes recovered from the text layers (base62, base64).
    pub decoded: Vec<u8>,
    /// The location, if its packet or field was reached.
    pub location: Option<RecoveredField>,
    /// The identifier, if reached.
    pub identifier: Option<RecoveredField>,
    /// Caveats reached, in order.
    pub caveats: Vec<RecoveredCaveat>,
    /// The signature, if reached.
    pub signature: Option<RecoveredField>,
    /// Every defect and skip the lenient walk noticed, in order.
    pub notes: Vec<String>,
}

impl fmt::Debug for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovered")
            .field("decoded", &format_args!("<{} bytes>", self.decoded.len()))
            .field("location", &self.location)
            .field("identifier", &self.identifier)
            .field("caveats", &self.caveats)
            .field(
                "signature",
                &self.signature.as_ref().map(|s| {
                    format!(
                        "<redacted, {} bytes, truncated: {}>",
                        s.bytes.len(),
                        s.truncated
                    )
                }),
            )
            .field("notes", &self.notes)
            .finish()
    }
}

/// The result of [`Inspection::of_text`] or [`Inspection::of_bytes`]: the strict parse, and on
/// failure what could be recovered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inspection {
    /// The strict parse.
    pub parsed: Result<Parsed, Error>,
    /// For invalid input: what a lenient decode recovered before the damage.
    pub recovered: Option<Recovered>,
}

fn is_ws(b: u8) -> bool {
    base64::is_skipped_whitespace(b)
}

/// The bounds of `text` without leading and trailing ASCII whitespace.
fn trim_bounds(text: &[u8]) -> (usize, usize) {
    let start = text.iter().position(|&b| !is_ws(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |e| e + 1);
    (start, end)
}

/// Where the base64 text handed to the decoder came from, to map offsets back (SPEC §13).
struct TextOrigin<'a> {
    /// Offset of the base64 (or escaped) text in the caller's input.
    base: usize,
    /// The escaped text, when the base64 came out of base62.
    escaped: Option<&'a [u8]>,
    /// The plain base64 text, when it was not escaped.
    plain: &'a [u8],
}

impl TextOrigin<'_> {
    /// Caller's offset of base64 character `index`.
    fn map(&self, index: usize) -> usize {
        match self.escaped {
            Some(escaped) => self.base + base62::escaped_index(escaped, index),
            None => self.base + index,
        }
    }

    fn fix_base64_error(&self, mut e: DecodeError) -> DecodeError {
        e.offset = self.map(e.offset);
        e
    }

    /// Adds the caller's character offset to an error found in the decoded bytes.
    fn fix_binary_error(&self, e: Error) -> Error {
        match e {
            Error::Decode(mut d) if matches!(d.layer, Layer::V1 | Layer::V2 | Layer::Json) => {
                // Error path only: rebuild the base64 text the escape was decoded from.
                let unescaped;
                let b64 = match self.escaped {
                    Some(escaped) => {
                        unescaped = base62::unescape_lenient(escaped);
                        unescaped.as_slice()
                    }
                    None => self.plain,
                };
                d.text_offset = Some(self.map(base64::text_index_of_byte(b64, d.offset)));
                Error::Decode(d)
            }
            other => other,
        }
    }
}

fn service_prefix(text: &[u8]) -> Result<Option<String>, DecodeError> {
    match text {
        [a, b, c, b'-', ..]
            if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && c.is_ascii_alphabetic() =>
        {
            let prefix: String = [*a, *b, *c].iter().map(|&b| char::from(b)).collect();
            if prefix == "opw" || prefix == "opp" {
                Ok(Some(prefix))
            } else {
                Err(DecodeError::new(
                    Layer::Base62,
                    0,
                    DecodeErrorKind::InvalidServicePrefix { prefix },
                ))
            }
        }
        _ => Ok(None),
    }
}

/// True when the first `0` in the text starts a base62 escape (SPEC §9 step 8).
fn looks_base62(text: &[u8]) -> bool {
    match text.iter().position(|&b| b == b'0') {
        Some(i) => matches!(text.get(i + 1), Some(b'0'..=b'5')),
        None => false,
    }
}

/// Base64 (or base62-escaped base64) text decoded to bytes, with what is needed to map offsets.
struct DecodedText<'a> {
    bytes: Vec<u8>,
    origin: TextOrigin<'a>,
    /// `Some(service)` for Onedata text.
    onedata: Option<Option<String>>,
}

/// Steps 6–8 of detection and the text layers, on trimmed text starting at `base` in the input.
fn decode_text(text: &[u8], base: usize) -> Result<DecodedText<'_>, Error> {
    // v2 text starts with `A` and may have `-` fourth; only other text can carry a service prefix.
    let service = if text.first() == Some(&b'A') {
        None
    } else {
        service_prefix(text).map_err(|mut e| {
            e.offset += base;
            e
        })?
    };
    let (escaped, escaped_base) = match &service {
        Some(_) => (text.get(4..).unwrap_or_default(), base + 4),
        None => (text, base),
    };
    if escaped.is_empty() {
        return Err(DecodeError::new(Layer::Input, escaped_base, DecodeErrorKind::Empty).into());
    }
    if service.is_some() || (text.first() != Some(&b'A') && looks_base62(text)) {
        // Unescape and decode in one buffer: the only allocation on this path.
        let mut bytes = Vec::with_capacity(escaped.len());
        base62::unescape_into(escaped, &mut bytes).map_err(|mut e| {
            e.offset += escaped_base;
            e
        })?;
        let origin = TextOrigin {
            base: escaped_base,
            escaped: Some(escaped),
            plain: &[],
        };
        let len = base64::decode_in_place(&mut bytes).map_err(|e| origin.fix_base64_error(e))?;
        bytes.truncate(len);
        return Ok(DecodedText {
            bytes,
            origin,
            onedata: Some(service),
        });
    }
    let origin = TextOrigin {
        base,
        escaped: None,
        plain: text,
    };
    let bytes = base64::decode(text).map_err(|e| origin.fix_base64_error(e))?;
    Ok(DecodedText {
        bytes,
        origin,
        onedata: None,
    })
}

fn decode_base64_token(decoded: DecodedText<'_>, limits: &Limits) -> Result<Parsed, Error> {
    let DecodedText {
        bytes,
        origin,
        onedata,
    } = decoded;
    let (macaroon, encoding) = match (bytes.first(), onedata) {
        (Some(b'{'), None) => {
            // LM 0.3.0's base64-wrapped JSON: errors point into the JSON and at its base64 group.
            let parsed = json_text(&bytes, 0).and_then(|text| json::parse(text, 0, limits));
            let (macaroon, legacy) = parsed.map_err(|e| origin.fix_binary_error(e))?;
            let encoding = if legacy {
                Encoding::V1Json
            } else {
                Encoding::V2Json
            };
            (macaroon, encoding)
        }
        (Some(2), None) => (
            v2::parse(&bytes, limits).map_err(|e| origin.fix_binary_error(e))?,
            Encoding::V2,
        ),
        (_, Some(service)) => (
            v1::parse(&bytes, limits).map_err(|e| origin.fix_binary_error(e))?,
            Encoding::Onedata { service },
        ),
        _ => (
            v1::parse(&bytes, limits).map_err(|e| origin.fix_binary_error(e))?,
            Encoding::V1,
        ),
    };
    Ok(Parsed { macaroon, encoding })
}

fn json_text(bytes: &[u8], base: usize) -> Result<&str, Error> {
    core::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let chars = core::str::from_utf8(valid).map_or(0, |v| v.chars().count());
        DecodeError::new(
            Layer::Json,
            base + chars,
            DecodeErrorKind::InvalidByte {
                byte: bytes.get(e.valid_up_to()).copied().unwrap_or(0),
            },
        )
        .into()
    })
}

/// Decoded v1 or v2 packets, ready to be walked without copying fields.
pub(crate) struct Packets {
    bytes: Vec<u8>,
    v2: bool,
}

impl Packets {
    /// Walks the packets; errors carry byte offsets only (the full parser maps them to text).
    pub(crate) fn walk<'a>(
        &'a self,
        limits: &Limits,
        visitor: &mut impl Visitor<'a>,
    ) -> Result<[u8; 32], Error> {
        if self.v2 {
            v2::walk(&self.bytes, limits, visitor)
        } else {
            v1::walk(&self.bytes, limits, visitor)
        }
    }
}

/// The first check on any token (SPEC §9 step 1): its size as given, before anything is decoded.
pub(crate) fn check_token_size(len: usize, limits: &Limits) -> Result<(), Error> {
    if len > limits.max_token_bytes {
        return Err(LimitError::TokenTooLarge {
            limit: limits.max_token_bytes,
            found: len,
        }
        .into());
    }
    Ok(())
}

/// The text layers of a v1, v2 or Onedata token, decoded into one buffer; `None` for the
/// formats that go through the full parser (JSON, a quoted token, raw bytes).
pub(crate) fn decode_packets(input: &[u8], limits: &Limits) -> Result<Option<Packets>, Error> {
    check_token_size(input.len(), limits)?;
    let (start, end) = trim_bounds(input);
    let text = input.get(start..end).unwrap_or_default();
    if matches!(text.first(), None | Some(2 | b'{' | b'"')) {
        return Ok(None);
    }
    let decoded = decode_text(text, start)?;
    let v2 = match (decoded.bytes.first(), &decoded.onedata) {
        (Some(b'{'), None) => return Ok(None),
        (Some(2), None) => true,
        _ => false,
    };
    Ok(Some(Packets {
        bytes: decoded.bytes,
        v2,
    }))
}

/// Parses bytes: raw v1 packets, or anything [`parse_detect`] reads.
pub(crate) fn parse_detect_bytes(input: &[u8], limits: &Limits) -> Result<Parsed, Error> {
    if v1::looks_raw(input) {
        check_token_size(input.len(), limits)?;
        return Ok(Parsed {
            macaroon: v1::parse(input, limits)?,
            encoding: Encoding::V1Binary,
        });
    }
    parse_detect(input, limits)
}

/// Parses a token in any supported format (SPEC §9).
pub(crate) fn parse_detect(input: &[u8], limits: &Limits) -> Result<Parsed, Error> {
    check_token_size(input.len(), limits)?;
    if input.first() == Some(&2) {
        let macaroon = v2::parse(input, limits)?;
        return Ok(Parsed {
            macaroon,
            encoding: Encoding::V2Binary,
        });
    }
    let (start, end) = trim_bounds(input);
    let text = input.get(start..end).unwrap_or_default();
    match text.first() {
        None => Err(DecodeError::new(Layer::Input, 0, DecodeErrorKind::Empty).into()),
        Some(b'{') => {
            let (macaroon, legacy) = json::parse(json_text(text, start)?, start, limits)?;
            let encoding = if legacy {
                Encoding::V1Json
            } else {
                Encoding::V2Json
            };
            Ok(Parsed { macaroon, encoding })
        }
        Some(b'"') => {
            // Go's JSON for a bare token: a JSON string holding base64 text.
            let inner = text
                .get(1..text.len().saturating_sub(1))
                .filter(|_| text.len() >= 2 && text.last() == Some(&b'"'))
                .ok_or_else(|| {
                    // A text-layer offset counts characters (SPEC §0), not bytes.
                    let chars =
                        core::str::from_utf8(text).map_or(text.len(), |t| t.chars().count());
                    DecodeError::new(
                        Layer::Json,
                        start + chars,
                        DecodeErrorKind::JsonSyntax {
                            expected: "closing '\"'",
                        },
                    )
                })?;
            if inner.is_empty() {
                return Err(DecodeError::new(Layer::Input, start, DecodeErrorKind::Empty).into());
            }
            parse_text(inner, start + 1, limits)
        }
        Some(_) => parse_text(text, start, limits),
    }
}

/// Steps 6–9 of detection on trimmed text starting at `base` in the caller's input.
fn parse_text(text: &[u8], base: usize, limits: &Limits) -> Result<Parsed, Error> {
    decode_base64_token(decode_text(text, base)?, limits)
}

/// Lenient decode of damaged input for [`inspect`].
fn recover(input: &[u8]) -> Recovered {
    let mut out = Recovered::default();
    let (start, end) = trim_bounds(input);
    let text = input.get(start..end).unwrap_or_default();
    let bytes = match text.first() {
        Some(2) => input.to_vec(),
        Some(b'{') => {
            json::recover(text, &mut out);
            return out;
        }
        Some(b'"') | None => {
            out.notes.push("nothing to recover".into());
            return out;
        }
        Some(_) => {
            let escaped = match service_prefix(text) {
                Ok(Some(_)) if text.first() != Some(&b'A') => text.get(4..).unwrap_or_default(),
                _ => text,
            };
            let base = start + text.len() - escaped.len();
            let is_base62 = text.first() != Some(&b'A') && looks_base62(text);
            let (b64, origin) = if is_base62 {
                let (defects, total) = base62_defects(escaped);
                for (at, note) in defects {
                    out.notes
                        .push(format!("base62: {note} at offset {}", base + at));
                }
                if total > MAX_LISTED_DEFECTS {
                    out.notes.push(format!(
                        "base62: {} more defects not listed",
                        total - MAX_LISTED_DEFECTS
                    ));
                }
                let origin = TextOrigin {
                    base,
                    escaped: Some(escaped),
                    plain: &[],
                };
                (base62::unescape_lenient(escaped), origin)
            } else {
                let origin = TextOrigin {
                    base,
                    escaped: None,
                    plain: escaped,
                };
                (escaped.to_vec(), origin)
            };
            // A base64 defect is only meaningful where base62 did not already cut the text.
            if out.notes.is_empty() {
                if let Err(e) = base64::decode(&b64) {
                    out.notes.push(origin.fix_base64_error(e).to_string());
                }
            }
            base64::decode_lenient(&b64)
        }
    };
    match bytes.first() {
        Some(2) => v2::recover(&bytes, &mut out),
        Some(b'{') | None => {}
        Some(_) => v1::recover(&bytes, &mut out),
    }
    out.decoded = bytes;
    out
}

/// How many characters of base64 text [`Encoding::sniff`] decodes to tell v1 from v2 and JSON.
const SNIFFED_CHARS: usize = 20;

/// How many defects lenient inspection describes one by one; the rest are counted.
const MAX_LISTED_DEFECTS: usize = 16;

/// The first base62 defects in `text` and how many there are in all (the strict decoder stops
/// at the first).
fn base62_defects(text: &[u8]) -> (Vec<(usize, String)>, usize) {
    let mut defects = Vec::new();
    let mut total = 0usize;
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        let (defect, step) = match c {
            b'0' => match text.get(i + 1) {
                Some(b'0'..=b'5') => (None, 2),
                Some(_) => (Some("invalid escape"), 2),
                None => (Some("dangling escape '0'"), 1),
            },
            c if c.is_ascii_alphanumeric() => (None, 1),
            _ => (Some("character"), 1),
        };
        if let Some(kind) = defect {
            total += 1;
            if defects.len() < MAX_LISTED_DEFECTS {
                let text = match kind {
                    "invalid escape" => format!(
                        "invalid escape \"0{}\"",
                        base64::char_at(text, i + 1).escape_debug()
                    ),
                    "character" => format!(
                        "character '{}' is not allowed",
                        base64::char_at(text, i).escape_debug()
                    ),
                    other => other.to_owned(),
                };
                defects.push((i, text));
            }
        }
        i += step;
    }
    (defects, total)
}

impl Inspection {
    /// Parses text strictly (default [`Limits`]) and, if that fails, decodes it leniently to
    /// show what survived. Never verifies anything, never fails.
    ///
    /// ```
    /// use macaroon_mint::Inspection;
    ///
    /// // The damaged registration token printed in Onedata's docs (SPEC §14 A).
    /// let report = Inspection::of_text("MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8");
    /// assert_eq!(
    ///     report.parsed.unwrap_err().to_string(),
    ///     "base62: character '-' at offset 47 is not allowed"
    /// );
    /// let recovered = report.recovered.unwrap();
    /// assert_eq!(recovered.location.unwrap().bytes, b"registry");
    /// assert!(recovered.identifier.is_none());
    /// ```
    pub fn of_text(input: &str) -> Inspection {
        Inspection::of(input.as_bytes(), parse_detect)
    }

    /// [`Inspection::of_text`] for input that may be raw bytes (v2 binary, v1 packets).
    pub fn of_bytes(input: &[u8]) -> Inspection {
        Inspection::of(input, parse_detect_bytes)
    }

    fn of(input: &[u8], parse: fn(&[u8], &Limits) -> Result<Parsed, Error>) -> Inspection {
        let parsed = parse(input, &Limits::DEFAULT);
        let recovered = match &parsed {
            Ok(_) | Err(Error::Limit(LimitError::TokenTooLarge { .. })) => None,
            Err(_) => Some(recover(input)),
        };
        Inspection { parsed, recovered }
    }
}

impl Parsed {
    /// Parses text in any format under explicit `limits`, reporting the encoding found.
    ///
    /// ```
    /// use macaroon_mint::{Encoding, Limits, Parsed};
    ///
    /// let p = Parsed::from_text("AgEOaHR0cDovL215YmFuay8CFndlIHVzZWQgb3VyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQAABiAe_kdj8pDbzgwdCEdzZ-EfTu5FamSTPPZi15dy27ghKA", &Limits::default())?;
    /// assert_eq!(p.encoding, Encoding::V2);
    /// assert_eq!(p.macaroon.identifier(), b"we used our secret key");
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn from_text(text: &str, limits: &Limits) -> Result<Parsed, Error> {
        parse_detect(text.as_bytes(), limits)
    }

    /// [`Parsed::from_text`] for bytes: raw v2 binary (first byte `0x02`), raw v1 packets (as
    /// Go's binary API passes them), or any text format.
    ///
    /// ```
    /// use macaroon_mint::{Encoding, Limits, Macaroon, Parsed, RootKey};
    ///
    /// let m = Macaroon::mint(&RootKey::new("k"), "loc", [0u8, 159, 146, 150])?;
    /// let v2 = Parsed::from_bytes(&m.to_v2_bytes(), &Limits::default())?;
    /// assert_eq!((v2.encoding, v2.macaroon), (Encoding::V2Binary, m.clone()));
    /// let v1 = Parsed::from_bytes(&m.to_v1_bytes()?, &Limits::default())?;
    /// assert_eq!((v1.encoding, v1.macaroon), (Encoding::V1Binary, m));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn from_bytes(bytes: &[u8], limits: &Limits) -> Result<Parsed, Error> {
        parse_detect_bytes(bytes, limits)
    }
}

impl Macaroon {
    /// Parses a token in any supported text format, with the default [`Limits`].
    ///
    /// Detects v1 and v2 base64 text (either alphabet, padded or not, whitespace skipped),
    /// v2 JSON, legacy v1 JSON, Onedata base62 text (with or without an `opw-`/`opp-` service
    /// indication), and raw v2 bytes that happen to be valid UTF-8 (first byte `0x02`). The result is untrusted until verified. The other entry points, one per
    /// need: [`Macaroon::parse_bytes`] for raw binary, [`Parsed::from_text`] /
    /// [`Parsed::from_bytes`] for explicit limits and the encoding found, and
    /// [`Inspection::of_text`] / [`Inspection::of_bytes`] to see what survives in damaged input.
    ///
    /// ```
    /// use macaroon_mint::Macaroon;
    ///
    /// let m = Macaroon::parse(
    ///     r#"{"v":2,"l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}],"s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw"}"#,
    /// )?;
    /// assert_eq!(m.identifier(), b"keyid");
    /// assert_eq!(m.caveats().len(), 2);
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Macaroon, Error> {
        parse_detect(text.as_bytes(), &Limits::DEFAULT).map(|p| p.macaroon)
    }

    /// [`Macaroon::parse`] for bytes: raw v2 binary, raw v1 packets, or any text format, with the
    /// default [`Limits`].
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    ///
    /// let m = Macaroon::mint(&RootKey::new("k"), "loc", "id")?;
    /// assert_eq!(Macaroon::parse_bytes(&m.to_v1_bytes()?)?, m);
    /// assert_eq!(Macaroon::parse_bytes(&m.to_v2_bytes())?, m);
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn parse_bytes(bytes: &[u8]) -> Result<Macaroon, Error> {
        parse_detect_bytes(bytes, &Limits::DEFAULT).map(|p| p.macaroon)
    }

    /// Serializes into one of the text formats.
    ///
    /// Fails only for v1 and Onedata when a field does not fit in a 65,535-byte packet.
    ///
    /// ```
    /// use macaroon_mint::{Format, Macaroon, RootKey};
    ///
    /// let m = Macaroon::mint(&RootKey::new("this is the key"), "http://example.org/", "keyid")?;
    /// assert!(m.serialize(Format::V1)?.starts_with("MDAy"));
    /// assert!(m.serialize(Format::V2)?.starts_with("Ag"));
    /// assert!(m.serialize(Format::V2Json)?.starts_with(r#"{"v":2,"#));
    /// assert!(!m.serialize(Format::Onedata)?.contains(['-', '_']));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn serialize(&self, format: Format) -> Result<String, Error> {
        Ok(match format {
            Format::V1 => base64::encode_url(&v1::serialize(self)?),
            Format::V2 => base64::encode_url(&v2::serialize(self)),
            Format::V2Json => json::serialize(self),
            Format::Onedata => base62::escape(&base64::encode_url(&v1::serialize(self)?)),
        })
    }

    /// Raw v1 packets (no base64).
    pub fn to_v1_bytes(&self) -> Result<Vec<u8>, Error> {
        Ok(v1::serialize(self)?)
    }

    /// Raw v2 binary (no base64).
    ///
    /// ```
    /// use macaroon_mint::{Limits, Macaroon, Parsed, RootKey};
    ///
    /// let m = Macaroon::mint(&RootKey::new("k"), "", [0u8, 159, 146, 150])?;
    /// let bytes = m.to_v2_bytes();
    /// assert_eq!(bytes[0], 2);
    /// assert_eq!(Parsed::from_bytes(&bytes, &Limits::default())?.macaroon, m);
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn to_v2_bytes(&self) -> Vec<u8> {
        v2::serialize(self)
    }
}

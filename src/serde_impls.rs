//! The optional `serde` feature: [`Macaroon`] as its v2 JSON object, [`Format`] and [`Encoding`]
//! by name, and every error as one JSON-friendly object.
//!
//! Deserializing a macaroon does not interpret fields itself: it writes the value back as compact
//! JSON text (member order and repeated keys kept) and hands that text to [`Macaroon::parse`], so
//! it accepts, rejects and limits exactly what the parser does. Serializing takes its members from
//! the same functions as [`Macaroon::serialize`] with [`Format::V2Json`].

use std::borrow::Cow;

use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[cfg(feature = "caveats")]
use crate::caveat::{CaveatError, CaveatErrorKind};
use crate::error::{
    DecodeError, DecodeErrorKind, EncodeError, Error, LimitError, MacaroonRole, VerifyError,
};
use crate::format::{self, base64, json, Encoding, Format};
use crate::limits::Limits;
use crate::macaroon::{Caveat, Macaroon};
#[cfg(feature = "onedata")]
use crate::onedata::{IdentifierError, IdentifierErrorKind, OnedataError};
use crate::verify::Unmet;

// ---------------------------------------------------------------------------------------------
// Macaroon

/// The v2 JSON object, member for member as [`Macaroon::serialize`] writes it with
/// [`Format::V2Json`] (SPEC §8.3), as a map through any serializer.
///
/// With `serde_json::to_string` the text is byte for byte that of `serialize(Format::V2Json)`.
///
/// ```
/// use macaroon_mint::{Format, Macaroon, RootKey};
///
/// let m = Macaroon::mint(&RootKey::new("secret"), "https://example.org/", [0xff, 0x00, 0x7f])?
///     .with_first_party("time < 4102444800")?;
/// assert_eq!(serde_json::to_string(&m).unwrap(), m.serialize(Format::V2Json)?);
///
/// let value = serde_json::to_value(&m).unwrap();
/// assert_eq!(value["i64"], "_wB_"); // not UTF-8: URL-safe base64 under the `64` key
/// assert_eq!(value["c"][0]["i"], "time < 4102444800");
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
impl Serialize for Macaroon {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let head: Vec<json::Member<'_>> = json::head_members(self).collect();
        // "v", the head members, "c", "s64".
        let mut map = serializer.serialize_map(Some(head.len() + 3))?;
        map.serialize_entry("v", &2u8)?;
        for member in &head {
            map.serialize_entry(member.key, member.text.as_ref())?;
        }
        map.serialize_entry("c", &Caveats(&self.caveats))?;
        let signature = json::signature_member(self);
        map.serialize_entry(signature.key, signature.text.as_ref())?;
        map.end()
    }
}

/// The `"c"` array.
struct Caveats<'a>(&'a [Caveat]);

impl Serialize for Caveats<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for caveat in self.0 {
            seq.serialize_element(&CaveatObject(caveat))?;
        }
        seq.end()
    }
}

/// One caveat object of the `"c"` array.
struct CaveatObject<'a>(&'a Caveat);

impl Serialize for CaveatObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let members: Vec<json::Member<'_>> = json::caveat_members(self.0).collect();
        let mut map = serializer.serialize_map(Some(members.len()))?;
        for member in &members {
            map.serialize_entry(member.key, member.text.as_ref())?;
        }
        map.end()
    }
}

/// Whatever [`Macaroon::parse`] reads of the value's JSON text, with the default [`Limits`]:
/// a v2 JSON object (plain or `64` fields, base64 in either alphabet, padded or not, `"v"` as
/// `2`, `"2"` or absent, `null` as absent, no `"c"`), a legacy v1 JSON object
/// (`{"identifier":…}`), or a JSON string holding a token in any text format (Go's JSON for a bare
/// token).
///
/// The value is written back as compact JSON text, keeping the order of its members and any
/// repeated key, and that text is parsed: the parser's rules and limits apply as they are, and a
/// failure is the parser's error (layer, offset, what was wrong) as a custom error of the
/// deserializer. Offsets count characters of that compact text, which for compact input without
/// escapes (what libmacaroons and Go write) is the input itself. Only a self-describing format (JSON, or a format that
/// can say what each value is) can be read; other values than an object or a string are a type
/// error. A value nested deeper than 128 levels is refused without being walked further.
/// serde_json's `arbitrary_precision` feature hands numbers over as maps, so with it a numeric
/// `"v":2` is refused (`"v":"2"` and no `"v"` still read).
///
/// ```
/// use macaroon_mint::Macaroon;
///
/// // pymacaroons' v2 JSON: no "v", standard-alphabet base64, keys in its own order.
/// let text = r#"{"i":"keyid","s64":"S+lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw=","l":"http://example.org/","c":[{"i":"account = 3735928559"},{"i":"user = alice"}]}"#;
/// let m: Macaroon = serde_json::from_str(text).unwrap();
/// assert_eq!(m, Macaroon::parse(text)?);
///
/// // A request body with a token in it; a field given twice is the parser's error.
/// #[derive(serde::Deserialize, Debug)]
/// struct Request { token: Macaroon }
/// let err = serde_json::from_str::<Request>(r#"{"token":{"i":"a","i64":"Yg","s":"x"}}"#).unwrap_err();
/// assert!(err.to_string().starts_with(r#"json: field "i/i64" given twice at offset 9"#), "{err}");
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
impl<'de> Deserialize<'de> for Macaroon {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MacaroonVisitor)
    }
}

struct MacaroonVisitor;

impl<'de> Visitor<'de> for MacaroonVisitor {
    type Value = Macaroon;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a macaroon: a v2 JSON or legacy v1 JSON object, or a string holding a token")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Macaroon, A::Error> {
        let mut text = JsonText::default();
        Walk::new(&mut text, "").visit_map(map)?;
        text.parse().map_err(de::Error::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Macaroon, E> {
        let mut text = JsonText::default();
        text.push_string(v)?;
        text.parse().map_err(E::custom)
    }
}

/// How deep the walk follows a value. The parser stops at the fourth level (a token needs three);
/// beyond that the walk only measures the text, and it gives up at this depth.
const MAX_WALK_DEPTH: usize = 128;

/// The compact JSON text of a deserialized value, as far as the parser will read it.
#[derive(Default)]
struct JsonText {
    /// The text; kept while it is within the token size limit and not past a container nested
    /// deeper than the parser allows.
    text: String,
    /// The length of the whole text in bytes.
    len: usize,
    /// Set after the first container nested deeper than the parser allows: the parser stops at
    /// that container's opening bracket, so nothing after it is needed.
    cut: bool,
}

impl JsonText {
    fn push(&mut self, s: &str) {
        self.len = self.len.saturating_add(s.len());
        if !self.cut && self.len <= Limits::DEFAULT.max_token_bytes {
            self.text.push_str(s);
        }
    }

    fn push_string<E: de::Error>(&mut self, s: &str) -> Result<(), E> {
        let quoted = serde_json::to_string(s).map_err(E::custom)?;
        self.push(&quoted);
        Ok(())
    }

    /// [`Macaroon::parse`] of the text; the size check sees the whole text's length.
    fn parse(self) -> Result<Macaroon, Error> {
        format::check_token_size(self.len, &Limits::DEFAULT)?;
        Macaroon::parse(&self.text)
    }
}

/// Writes one value (after `lead`: `,` between elements, `:` before a member's value) as JSON.
struct Walk<'t> {
    out: &'t mut JsonText,
    lead: &'static str,
    depth: usize,
}

impl<'t> Walk<'t> {
    fn new(out: &'t mut JsonText, lead: &'static str) -> Self {
        Walk {
            out,
            lead,
            depth: 0,
        }
    }

    /// Writes an opening bracket and returns the depth inside it.
    fn open<E: de::Error>(&mut self, bracket: &str) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > MAX_WALK_DEPTH {
            return Err(E::custom(format_args!(
                "json: the value is nested more than {MAX_WALK_DEPTH} levels deep"
            )));
        }
        self.out.push(bracket);
        if depth > json::MAX_DEPTH {
            self.out.cut = true;
        }
        Ok(depth)
    }

    fn scalar<E>(self, text: &str) -> Result<(), E> {
        self.out.push(text);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // Called only when there is a value, so the separator goes before it.
        self.out.push(self.lead);
        deserializer.deserialize_any(Walk { lead: "", ..self })
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(if v { "true" } else { "false" })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(&v.to_string())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<(), E> {
        self.scalar(&v.to_string())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<(), E> {
        self.scalar(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if !v.is_finite() {
            return Err(E::invalid_value(de::Unexpected::Float(v), &self));
        }
        // serde_json writes 2.0 as `2.0`, which the parser rejects as a version, as it must.
        let text = serde_json::to_string(&v).map_err(E::custom)?;
        self.scalar(&text)
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<(), E> {
        self.visit_str(v.encode_utf8(&mut [0; 4]))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.out.push_string(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar("null")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar("null")
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.open("[")?;
        let mut lead = "";
        while seq
            .next_element_seed(Walk {
                out: &mut *self.out,
                lead,
                depth,
            })?
            .is_some()
        {
            lead = ",";
        }
        self.scalar("]")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let depth = self.open("{")?;
        let mut lead = "";
        while map
            .next_key_seed(Key {
                out: &mut *self.out,
                lead,
            })?
            .is_some()
        {
            map.next_value_seed(Walk {
                out: &mut *self.out,
                lead: ":",
                depth,
            })?;
            lead = ",";
        }
        self.scalar("}")
    }
}

/// Writes a member's key (JSON keys are strings; anything else is a type error).
struct Key<'t> {
    out: &'t mut JsonText,
    lead: &'static str,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.out.push(self.lead);
        deserializer.deserialize_str(Key { lead: "", ..self })
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.out.push_string(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Format and Encoding

/// The format's name, as [`Format::name`] gives it: `"v1"`, `"v2"`, `"v2j"` or `"onedata"`.
///
/// ```
/// use macaroon_mint::Format;
///
/// assert_eq!(serde_json::to_string(&Format::V2Json).unwrap(), r#""v2j""#);
/// assert_eq!(serde_json::from_str::<Format>(r#""base62""#).unwrap(), Format::Onedata);
/// ```
impl Serialize for Format {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Any name that `Format`'s `FromStr` accepts (the four names and the aliases `v2json`, `json`,
/// `base62`); its message for anything else.
impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FormatVisitor)
    }
}

struct FormatVisitor;

impl Visitor<'_> for FormatVisitor {
    type Value = Format;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a format name: v1, v2, v2j or onedata")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Format, E> {
        v.parse().map_err(E::custom)
    }
}

/// An object with the encoding's name ([`Encoding::name`]) and, for Onedata text only, its
/// service indication (`"opw"`, `"opp"` or `null`): `{"name":"v2-binary"}`,
/// `{"name":"onedata","service":"opw"}`.
///
/// Always an object, so a reader finds the name in one place whatever the encoding; `service`
/// appears exactly when the encoding has one to give.
///
/// ```
/// use macaroon_mint::{Encoding, Limits, Parsed};
///
/// let p = Parsed::from_text(r#"{"i":"id","s64":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#, &Limits::default())?;
/// assert_eq!(serde_json::to_string(&p.encoding).unwrap(), r#"{"name":"v2j"}"#);
/// let onedata = Encoding::Onedata { service: Some("opw".into()) };
/// assert_eq!(serde_json::to_string(&onedata).unwrap(), r#"{"name":"onedata","service":"opw"}"#);
/// assert_eq!(serde_json::from_str::<Encoding>(r#"{"name":"onedata","service":"opw"}"#).unwrap(), onedata);
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
impl Serialize for Encoding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Encoding::Onedata { service } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("name", self.name())?;
                map.serialize_entry("service", service)?;
                map.end()
            }
            _ => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("name", self.name())?;
                map.end()
            }
        }
    }
}

/// The object [`Encoding`] serializes as; a bare name is read too.
impl<'de> Deserialize<'de> for Encoding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EncodingVisitor)
    }
}

/// Every encoding, by the name [`Encoding::name`] gives it (Onedata without a service).
const ENCODINGS: [Encoding; 7] = [
    Encoding::V1,
    Encoding::V2,
    Encoding::V2Binary,
    Encoding::V1Binary,
    Encoding::V2Json,
    Encoding::V1Json,
    Encoding::Onedata { service: None },
];

const ENCODING_NAMES: &[&str] = &[
    "v1",
    "v2",
    "v2-binary",
    "v1-binary",
    "v2j",
    "v1json",
    "onedata",
];

fn encoding_named<E: de::Error>(name: &str, service: Option<String>) -> Result<Encoding, E> {
    let found = ENCODINGS.into_iter().find(|e| e.name() == name);
    match (found, service) {
        (None, _) => Err(E::unknown_variant(name, ENCODING_NAMES)),
        (Some(Encoding::Onedata { .. }), service) => Ok(Encoding::Onedata { service }),
        (Some(encoding), None) => Ok(encoding),
        (Some(_), Some(_)) => Err(E::custom(format_args!(
            "encoding \"{}\" has no service indication (only onedata has one)",
            name.escape_debug()
        ))),
    }
}

struct EncodingVisitor;

impl<'de> Visitor<'de> for EncodingVisitor {
    type Value = Encoding;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an encoding: {\"name\":…} (with \"service\" for onedata) or its name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Encoding, E> {
        encoding_named(v, None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Encoding, A::Error> {
        let mut name: Option<String> = None;
        let mut service: Option<Option<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" if name.is_some() => return Err(de::Error::duplicate_field("name")),
                "name" => name = Some(map.next_value()?),
                "service" if service.is_some() => {
                    return Err(de::Error::duplicate_field("service"))
                }
                "service" => service = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["name", "service"])),
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        encoding_named(&name, service.flatten())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The serialized form of an error: `kind`, `reason`, `message`, then the fields that locate it.
struct Shape<'a> {
    /// The failure domain; `None` for [`Unmet`], which only appears inside a verify error.
    kind: Option<&'static str>,
    /// The variant, in snake_case.
    reason: &'static str,
    /// The error's `Display` text.
    message: String,
    fields: Vec<(Cow<'static, str>, Field<'a>)>,
}

enum Field<'a> {
    Text(Cow<'a, str>),
    Number(u64),
    Nested(Box<Shape<'a>>),
}

impl<'a> Shape<'a> {
    fn new(kind: &'static str, error: &dyn fmt::Display) -> Self {
        Shape {
            kind: Some(kind),
            reason: "",
            message: error.to_string(),
            fields: Vec::new(),
        }
    }

    fn reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    fn text(mut self, key: &'static str, text: impl Into<Cow<'a, str>>) -> Self {
        self.fields
            .push((Cow::Borrowed(key), Field::Text(text.into())));
        self
    }

    fn number(mut self, key: &'static str, n: impl Into<u64>) -> Self {
        self.fields
            .push((Cow::Borrowed(key), Field::Number(n.into())));
        self
    }

    /// Sizes, offsets and indices (`usize` is at most 64 bits on every supported target).
    fn size(self, key: &'static str, n: usize) -> Self {
        self.number(key, n as u64)
    }

    fn opt_size(self, key: &'static str, n: Option<usize>) -> Self {
        match n {
            Some(n) => self.size(key, n),
            None => self,
        }
    }

    /// Bytes from a token: the text under `key` when they are UTF-8, else URL-safe base64 under
    /// `key64`, as v2 JSON does.
    fn bytes(mut self, key: &'static str, bytes: &'a [u8]) -> Self {
        let (key, value) = match core::str::from_utf8(bytes) {
            Ok(text) => (Cow::Borrowed(key), Cow::Borrowed(text)),
            Err(_) => (
                Cow::Owned(format!("{key}64")),
                Cow::Owned(base64::encode_url(bytes)),
            ),
        };
        self.fields.push((key, Field::Text(value)));
        self
    }

    fn nested(mut self, key: &'static str, shape: Shape<'a>) -> Self {
        self.fields
            .push((Cow::Borrowed(key), Field::Nested(Box::new(shape))));
        self
    }

    /// `"macaroon": "root"`, or `"macaroon": "discharge"` and the discharge's `identifier`.
    fn role(self, role: &'a MacaroonRole) -> Self {
        match role {
            MacaroonRole::Root => self.text("macaroon", "root"),
            MacaroonRole::Discharge { identifier } => self
                .text("macaroon", "discharge")
                .bytes("identifier", identifier),
        }
    }
}

impl Serialize for Shape<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = usize::from(self.kind.is_some()) + 2 + self.fields.len();
        let mut map = serializer.serialize_map(Some(len))?;
        if let Some(kind) = self.kind {
            map.serialize_entry("kind", kind)?;
        }
        map.serialize_entry("reason", self.reason)?;
        map.serialize_entry("message", &self.message)?;
        for (key, field) in &self.fields {
            match field {
                Field::Text(text) => map.serialize_entry(key, text)?,
                Field::Number(n) => map.serialize_entry(key, n)?,
                Field::Nested(shape) => map.serialize_entry(key, shape)?,
            }
        }
        map.end()
    }
}

/// An error's [`Shape`]. Each implementation is one match with one arm per variant, naming the
/// variant's reason and its fields together: adding or removing a variant touches one arm.
trait Shaped {
    fn shape(&self) -> Shape<'_>;
}

impl Shaped for Error {
    fn shape(&self) -> Shape<'_> {
        match self {
            Error::Decode(e) => e.shape(),
            Error::Limit(e) => e.shape(),
            Error::Verify(e) => e.shape(),
            Error::Encode(e) => e.shape(),
            #[cfg(feature = "caveats")]
            Error::Caveat(e) => e.shape(),
        }
    }
}

impl Shaped for DecodeError {
    fn shape(&self) -> Shape<'_> {
        use DecodeErrorKind as K;
        let s = Shape::new("decode", self)
            .text("layer", self.layer.to_string())
            .size("offset", self.offset)
            .opt_size("text_offset", self.text_offset);
        match &self.kind {
            K::Empty => s.reason("empty"),
            K::UnknownFormat => s.reason("unknown_format"),
            K::InvalidEscape { pair } => s
                .reason("invalid_escape")
                .text("escape", pair.iter().collect::<String>()),
            K::DanglingEscape => s.reason("dangling_escape"),
            K::InvalidCharacter { ch } => s
                .reason("invalid_character")
                .text("character", ch.to_string()),
            K::InvalidByte { byte } => s.reason("invalid_byte").number("byte", *byte),
            K::InvalidServicePrefix { prefix } => s
                .reason("invalid_service_prefix")
                .text("prefix", prefix.as_str()),
            K::Base64Length => s.reason("base64_length"),
            K::InvalidPadding => s.reason("invalid_padding"),
            K::TrailingBits { ch } => s.reason("trailing_bits").text("character", ch.to_string()),
            K::BadPacketHeader => s.reason("bad_packet_header"),
            K::PacketTooShort { declared } => {
                s.reason("packet_too_short").size("declared", *declared)
            }
            K::Truncated {
                what,
                declared,
                remaining,
            } => s
                .reason("truncated")
                .text("what", *what)
                .size("declared", *declared)
                .size("remaining", *remaining),
            K::MissingNewline => s.reason("missing_newline"),
            K::MissingSeparator => s.reason("missing_separator"),
            K::UnknownField { field } => s.reason("unknown_field").text("field", field.as_str()),
            K::Unexpected { found, expected } => s
                .reason("unexpected")
                .text("found", found.as_str())
                .text("expected", *expected),
            K::Missing { field } => s.reason("missing").text("field", *field),
            K::Duplicate { field } => s.reason("duplicate").text("field", field.as_str()),
            K::SignatureLength { found } => s.reason("signature_length").size("found", *found),
            K::TrailingData => s.reason("trailing_data"),
            K::InvalidVarint => s.reason("invalid_varint"),
            K::UnsupportedVersion { found } => s
                .reason("unsupported_version")
                .text("found", found.as_str()),
            K::JsonSyntax { expected } => s.reason("json_syntax").text("expected", *expected),
            K::InvalidHex => s.reason("invalid_hex"),
        }
    }
}

impl Shaped for LimitError {
    fn shape(&self) -> Shape<'_> {
        let s = Shape::new("limit", self);
        match self {
            LimitError::TokenTooLarge { limit, found } => s
                .reason("token_too_large")
                .size("limit", *limit)
                .size("found", *found),
            LimitError::FieldTooLarge {
                field,
                limit,
                found,
                offset,
            } => s
                .reason("field_too_large")
                .text("field", *field)
                .size("limit", *limit)
                .size("found", *found)
                .size("offset", *offset),
            LimitError::TooManyCaveats { limit, offset } => s
                .reason("too_many_caveats")
                .size("limit", *limit)
                .size("offset", *offset),
            LimitError::TooManyDischarges { limit, found } => s
                .reason("too_many_discharges")
                .size("limit", *limit)
                .size("found", *found),
            LimitError::DepthExceeded { limit, caveat_id } => s
                .reason("depth_exceeded")
                .size("limit", *limit)
                .bytes("caveat_id", caveat_id),
        }
    }
}

impl Shaped for VerifyError {
    fn shape(&self) -> Shape<'_> {
        let s = Shape::new("verify", self);
        match self {
            VerifyError::SignatureMismatch { macaroon, reason } => {
                let s = s.reason("signature_mismatch").role(macaroon);
                match reason {
                    Some(detail) => s.text("detail", *detail),
                    None => s,
                }
            }
            VerifyError::CaveatNotSatisfied {
                macaroon,
                index,
                caveat,
                reason,
            } => s
                .reason("caveat_not_satisfied")
                .role(macaroon)
                .size("index", *index)
                .bytes("caveat", caveat)
                .nested("unmet", reason.shape()),
            VerifyError::UnknownCaveat {
                macaroon,
                index,
                caveat,
            } => s
                .reason("unknown_caveat")
                .role(macaroon)
                .size("index", *index)
                .bytes("caveat", caveat),
            #[cfg(feature = "caveats")]
            VerifyError::MalformedCaveat {
                macaroon,
                index,
                caveat,
                error,
            } => s
                .reason("malformed_caveat")
                .role(macaroon)
                .size("index", *index)
                .bytes("caveat", caveat)
                .nested("caveat_error", error.shape()),
            VerifyError::NoExpiry { max_ttl } => s.reason("no_expiry").number("max_ttl", *max_ttl),
            VerifyError::LifetimeTooLong {
                expiry,
                now,
                max_ttl,
            } => s
                .reason("lifetime_too_long")
                .number("expiry", *expiry)
                .number("now", *now)
                .number("max_ttl", *max_ttl),
            VerifyError::Expired {
                macaroon,
                index,
                caveat,
                expiry,
                now,
            } => s
                .reason("expired")
                .role(macaroon)
                .size("index", *index)
                .bytes("caveat", caveat)
                .number("expiry", *expiry)
                .number("now", *now),
            VerifyError::DischargeMissing { caveat_id } => {
                s.reason("discharge_missing").bytes("caveat_id", caveat_id)
            }
            VerifyError::DischargeReused { caveat_id } => {
                s.reason("discharge_reused").bytes("caveat_id", caveat_id)
            }
            VerifyError::DischargeCycle { caveat_id } => {
                s.reason("discharge_cycle").bytes("caveat_id", caveat_id)
            }
            VerifyError::DischargeUnused { index, identifier } => s
                .reason("discharge_unused")
                .size("index", *index)
                .bytes("identifier", identifier),
        }
    }
}

impl Shaped for Unmet {
    fn shape(&self) -> Shape<'_> {
        let s = Shape {
            kind: None,
            ..Shape::new("", self)
        };
        match self {
            Unmet::NoRule => s.reason("no_rule"),
            Unmet::Missing(fact) => s.reason("missing").text("fact", *fact),
            Unmet::NotAllowed => s.reason("not_allowed"),
            Unmet::NoClock => s.reason("no_clock"),
            Unmet::Expired { expiry, now } => s
                .reason("expired")
                .number("expiry", *expiry)
                .number("now", *now),
            Unmet::Unknown => s.reason("unknown"),
            Unmet::NotSupported { token_kind } => {
                s.reason("not_supported").text("token_kind", *token_kind)
            }
        }
    }
}

impl Shaped for EncodeError {
    fn shape(&self) -> Shape<'_> {
        let s = Shape::new("encode", self);
        match self {
            EncodeError::PacketTooLarge { field, len, max } => s
                .reason("packet_too_large")
                .text("field", *field)
                .size("len", *len)
                .size("max", *max),
            EncodeError::FieldTooLarge { field, len, max } => s
                .reason("field_too_large")
                .text("field", *field)
                .size("len", *len)
                .size("max", *max),
            EncodeError::Random => s.reason("random"),
        }
    }
}

#[cfg(feature = "caveats")]
impl Shaped for CaveatError {
    fn shape(&self) -> Shape<'_> {
        use CaveatErrorKind as K;
        let s = Shape::new("caveat", self)
            .text("form", self.form)
            .size("offset", self.offset);
        match &self.kind {
            K::Expected(what) => s.reason("expected").text("expected", *what),
            K::EmptyList => s.reason("empty_list"),
            K::EmptyEntry => s.reason("empty_entry"),
            K::OutOfRange { max } => s.reason("out_of_range").number("max", *max),
            K::LeadingZeros => s.reason("leading_zeros"),
            K::PrefixTooLong { max } => s.reason("prefix_too_long").number("max", *max),
            K::NotCanonical { canonical } => s
                .reason("not_canonical")
                .text("canonical", canonical.as_str()),
            K::BadPath(detail) => s.reason("bad_path").text("detail", *detail),
            K::TrailingText => s.reason("trailing_text"),
            K::NotUtf8 => s.reason("not_utf8"),
            K::NotRepresentable => s.reason("not_representable"),
        }
    }
}

#[cfg(feature = "onedata")]
impl Shaped for IdentifierError {
    fn shape(&self) -> Shape<'_> {
        use IdentifierErrorKind as K;
        let s = Shape::new("decode", self)
            .text("layer", "onedata-identifier")
            .text("segment", self.segment.to_string())
            .size("offset", self.offset);
        match &self.kind {
            K::NotUtf8 => s.reason("not_utf8"),
            K::UnsupportedVersion { found } => s
                .reason("unsupported_version")
                .text("found", found.as_str()),
            K::FragmentCount { found } => s.reason("fragment_count").size("found", *found),
            K::Empty => s.reason("empty"),
            K::BadPersistence { found } => {
                s.reason("bad_persistence").text("found", found.as_str())
            }
            K::BadGeneration { found } => s.reason("bad_generation").text("found", found.as_str()),
            K::BadSubject { found } => s.reason("bad_subject").text("found", found.as_str()),
            K::BadType { found } => s.reason("bad_type").text("found", found.as_str()),
            K::InviteParts { found } => s.reason("invite_parts").size("found", *found),
            K::DashInviteForm { found } => {
                s.reason("dash_invite_form").text("found", found.as_str())
            }
            K::Release1902 { found } => s.reason("release_1902").text("found", found.as_str()),
            K::ForbiddenCharacter { ch } => s
                .reason("forbidden_character")
                .text("character", ch.to_string()),
            K::ReservedInviteCode { code } => {
                s.reason("reserved_invite_code").text("code", code.as_str())
            }
        }
    }
}

#[cfg(feature = "onedata")]
impl Shaped for OnedataError {
    fn shape(&self) -> Shape<'_> {
        let s = Shape::new("onedata", self);
        match self {
            // The wrapped errors keep their own kind and reason (`Display` is theirs too).
            OnedataError::Macaroon(e) => e.shape(),
            OnedataError::Identifier(e) => e.shape(),
            OnedataError::NotOnedataText { found } => {
                s.reason("not_onedata_text").text("found", *found)
            }
            OnedataError::LegacyToken { token_id } => {
                s.reason("legacy_token").text("token_id", token_id.as_str())
            }
            OnedataError::WrongTokenType { found } => s
                .reason("wrong_token_type")
                .text("found", found.to_string()),
            OnedataError::WrongInviteType { expected, found } => s
                .reason("wrong_invite_type")
                .text("expected", expected.code())
                .text("found", found.code()),
            OnedataError::UnknownInviteType { code } => {
                s.reason("unknown_invite_type").text("code", code.as_str())
            }
            OnedataError::Revoked {
                generation,
                current,
            } => s
                .reason("revoked")
                .number("generation", *generation)
                .number("current", *current),
            OnedataError::GenerationUnknown { generation } => s
                .reason("generation_unknown")
                .number("generation", *generation),
            OnedataError::ThirdPartyCaveat { index } => {
                s.reason("third_party_caveat").size("index", *index)
            }
            OnedataError::TemporaryWithoutExpiry => s.reason("temporary_without_expiry"),
            OnedataError::ZeroTtl => s.reason("zero_ttl"),
            OnedataError::ExpiryOverflow { now, ttl } => s
                .reason("expiry_overflow")
                .number("now", *now)
                .number("ttl", *ttl),
            OnedataError::UnsupportedCaveat { index, form, text } => s
                .reason("unsupported_caveat")
                .size("index", *index)
                .text("form", form.name())
                .text("text", text.as_str()),
            OnedataError::UnknownCaveat { index, text } => s
                .reason("unknown_caveat")
                .size("index", *index)
                .text("text", text.as_str()),
            OnedataError::InvalidCaveat { index, error } => s
                .reason("invalid_caveat")
                .size("index", *index)
                .nested("caveat_error", error.shape()),
        }
    }
}

/// One stable, JSON-friendly object, for APIs and logs:
///
/// ```text
/// {"kind": <domain>, "reason": <variant in snake_case>, "message": <the Display text>, …fields}
/// ```
///
/// | `kind` | `reason` (the variant of) | fields |
/// |---|---|---|
/// | `decode` | [`DecodeErrorKind`](crate::DecodeErrorKind) | `layer` (`input`, `base62`, `base64`, `v1`, `v2`, `json`), `offset`, `text_offset` (when known), and the kind's own: `character`, `byte`, `escape`, `prefix`, `field`, `found`, `expected`, `what`, `declared`, `remaining` |
/// | `limit` | [`LimitError`] | `limit`, and `found`, `field`, `offset` or `caveat_id` |
/// | `verify` | [`VerifyError`] | `macaroon` (`root` or `discharge`, with the discharge's `identifier`), `index`, `caveat`, `unmet` (an object: `reason`, `message`, `fact` / `expiry`, `now` / `token_kind`), `caveat_error` (a `caveat` error object), `expiry`, `now`, `max_ttl`, `caveat_id`, `detail` |
/// | `encode` | [`EncodeError`] | `field`, `len`, `max` |
/// | `caveat` | [`CaveatErrorKind`](crate::caveat::CaveatErrorKind) | `form`, `offset`, and `expected`, `max`, `canonical` or `detail` |
///
/// [`OnedataError`] adds `kind` `onedata` for its own variants; it wraps an [`Error`] or an
/// identifier error (`kind` `decode`, `layer` `onedata-identifier`, `segment`, `offset`) without
/// a level of its own, as its `Display` does. Fields that hold bytes from a token (`caveat`,
/// `identifier`, `caveat_id`) are text when the bytes are UTF-8, and otherwise URL-safe base64
/// under the key with `64` appended (`caveat64`), as in v2 JSON. Fields appear only when they
/// apply (no `null`s). Errors hold no secret (no key, no signature), so neither does this.
///
/// ```
/// use macaroon_mint::{Macaroon, RootKey, Verifier};
/// use serde_json::json;
///
/// let err = Macaroon::parse(r#"{"v":2,"i":"id","i64":"aWQ","s64":"x"}"#).unwrap_err();
/// assert_eq!(serde_json::to_value(&err).unwrap(), json!({
///     "kind": "decode",
///     "reason": "duplicate",
///     "message": "json: field \"i/i64\" given twice at offset 16",
///     "layer": "json",
///     "offset": 16,
///     "field": "i/i64",
/// }));
///
/// let key = RootKey::new("secret");
/// let m = Macaroon::mint(&key, "", "id")?.with_first_party("user = alice")?;
/// let err = Verifier::new().verify(&key, &m, &[]).unwrap_err();
/// assert_eq!(serde_json::to_value(&err).unwrap(), json!({
///     "kind": "verify",
///     "reason": "caveat_not_satisfied",
///     "message": "caveat 0 of the root macaroon is not satisfied: \"user = alice\" (no rule accepts it)",
///     "macaroon": "root",
///     "index": 0,
///     "caveat": "user = alice",
///     "unmet": { "reason": "no_rule", "message": "no rule accepts it" },
/// }));
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shape().serialize(serializer)
    }
}

/// The nested errors serialize as the [`Error`] that holds them does (see its `Serialize`).
macro_rules! serialize_as_shape {
    ($($error:ty),* $(,)?) => {$(
        /// The object described at [`Error`]'s `Serialize` implementation.
        impl Serialize for $error {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.shape().serialize(serializer)
            }
        }
    )*};
}

serialize_as_shape!(DecodeError, LimitError, VerifyError, EncodeError, Unmet);
#[cfg(feature = "caveats")]
serialize_as_shape!(CaveatError);
#[cfg(feature = "onedata")]
serialize_as_shape!(IdentifierError, OnedataError);

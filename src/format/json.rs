//! v2 JSON (SPEC §8) and the legacy v1 JSON that some peers write (read only, §8.4).
//!
//! The reader is a small strict JSON parser rather than `serde_json`: it must report character
//! offsets, reject duplicate keys, and bound nesting, and the token shapes need nothing more than
//! objects, one array level, strings, numbers and `null`.

use std::borrow::Cow;

use crate::error::{DecodeError, DecodeErrorKind, Error, Layer, LimitError};
use crate::limits::Limits;
use crate::macaroon::{Caveat, Macaroon};

use super::base64;

/// The deepest nesting a token needs: object → caveat array → caveat object → value.
pub(crate) const MAX_DEPTH: usize = 3;
/// The most members a token object can have without an unknown or repeated key (`v`, `l`, `l64`,
/// `i`, `i64`, `c`, `s`, `s64`); checked while reading, so no input costs more than linear time.
const MAX_MEMBERS: usize = 8;

#[derive(Debug, Clone)]
enum Value {
    Null,
    Bool,
    Number(String),
    String(String),
    Array(Vec<(usize, Value)>),
    Object(Vec<(usize, String, usize, Value)>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `text` within the caller's input.
    base: usize,
    /// String members of the outermost object completed so far (for lenient inspection).
    completed: Vec<(String, String)>,
    /// Caveat objects completed so far in the outermost object's array.
    completed_caveats: Vec<Value>,
    /// The most items an array may hold: `max_caveats`, checked while reading.
    max_items: usize,
}

impl<'a> Parser<'a> {
    fn char_offset(&self, byte: usize) -> usize {
        self.base
            + self
                .text
                .get(..byte)
                .map_or(byte, |prefix| prefix.chars().count())
    }

    /// The caller's offset of decoded character `index` of the string whose quote is at byte
    /// `quote`: escapes before it count with their full length.
    fn offset_in_string(&self, quote: usize, index: usize) -> usize {
        let raw = self.bytes.get(quote + 1..).unwrap_or_default();
        let mut i = 0usize;
        for _ in 0..index {
            i += match raw.get(i) {
                Some(b'\\') if raw.get(i + 1) == Some(&b'u') => 6,
                Some(b'\\') => 2,
                Some(&b) => utf8_len(b),
                None => break,
            };
        }
        self.char_offset(quote + 1 + i.min(raw.len()))
    }

    fn error(&self, at: usize, kind: DecodeErrorKind) -> Error {
        DecodeError::new(Layer::Json, self.char_offset(at), kind).into()
    }

    fn expected(&self, what: &'static str) -> Error {
        self.error(self.pos, DecodeErrorKind::JsonSyntax { expected: what })
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, Error> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|t| t.starts_with(word))
        {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.expected("a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        self.skip_ws();
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool),
            Some(b'f') => self.literal("false", Value::Bool),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.expected("a JSON value")),
        }
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.pos;
        self.eat(b'-');
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return Err(self.expected("a digit"));
        }
        if self.eat(b'.') && !digits(self) {
            return Err(self.expected("a digit"));
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            if !digits(self) {
                return Err(self.expected("a digit"));
            }
        }
        Ok(Value::Number(
            self.text
                .get(start..self.pos)
                .unwrap_or_default()
                .to_owned(),
        ))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.expected("four hex digits"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.expected("four hex digits"))
    }

    fn string(&mut self) -> Result<String, Error> {
        if !self.eat(b'"') {
            return Err(self.expected("a string"));
        }
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.pos..).unwrap_or_default();
            let Some(c) = rest.chars().next() else {
                return Err(self.expected("closing '\"'"));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.pos += 1;
                    let esc = self.bytes.get(self.pos).copied();
                    self.pos += 1;
                    match esc {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let at = self.pos - 2;
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if !(self.eat(b'\\') && self.eat(b'u')) {
                                    return Err(self.expected("a low surrogate escape"));
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.expected("a low surrogate escape"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            let ch = char::from_u32(code).ok_or_else(|| {
                                self.error(
                                    at,
                                    DecodeErrorKind::JsonSyntax {
                                        expected: "a valid unicode escape",
                                    },
                                )
                            })?;
                            out.push(ch);
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.expected("a valid escape"));
                        }
                    }
                }
                c if u32::from(c) < 0x20 => return Err(self.expected("no control characters")),
                c => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(self.expected("less nesting"));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            let at = self.pos;
            if items.len() >= self.max_items {
                return Err(LimitError::TooManyCaveats {
                    limit: self.max_items,
                    offset: self.char_offset(at),
                }
                .into());
            }
            let item = self.value(depth)?;
            if depth == 2 && matches!(item, Value::Object(_)) {
                self.completed_caveats.push(item.clone());
            }
            items.push((at, item));
            self.skip_ws();
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.expected("',' or ']'"));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > MAX_DEPTH {
            return Err(self.expected("less nesting"));
        }
        self.pos += 1;
        let mut members: Vec<(usize, String, usize, Value)> = Vec::new();
        self.skip_ws();
        if self.eat(b'}') {
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            let key_at = self.pos;
            let key = self.string()?;
            if members.iter().any(|(_, k, _, _)| *k == key) {
                return Err(self.error(key_at, DecodeErrorKind::Duplicate { field: key }));
            }
            if members.len() >= MAX_MEMBERS {
                return Err(self.error(
                    key_at,
                    DecodeErrorKind::Unexpected {
                        found: format!("field \"{key}\""),
                        expected: "at most 8 fields in an object",
                    },
                ));
            }
            self.skip_ws();
            if !self.eat(b':') {
                return Err(self.expected("':'"));
            }
            self.skip_ws();
            let value_at = self.pos;
            let value = self.value(depth)?;
            if depth == 1 {
                if let Value::String(v) = &value {
                    self.completed.push((key.clone(), v.clone()));
                }
            }
            members.push((key_at, key, value_at, value));
            self.skip_ws();
            if self.eat(b'}') {
                return Ok(Value::Object(members));
            }
            if !self.eat(b',') {
                return Err(self.expected("',' or '}'"));
            }
        }
    }
}

/// The length of the UTF-8 sequence a lead byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// Parses one JSON object, rejecting anything but whitespace after it.
fn parse_object<'t>(
    text: &'t str,
    base: usize,
    limits: &Limits,
) -> Result<(Parser<'t>, Value), Error> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        base,
        completed: Vec::new(),
        completed_caveats: Vec::new(),
        max_items: limits.max_caveats,
    };
    p.skip_ws();
    if p.bytes.get(p.pos) != Some(&b'{') {
        return Err(p.expected("'{'"));
    }
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error(p.pos, DecodeErrorKind::TrailingData));
    }
    Ok((p, v))
}

/// The top-level string fields of a damaged JSON token completed before the damage.
pub(crate) fn recover(text: &[u8], out: &mut super::Recovered) {
    let Ok(text) = core::str::from_utf8(text) else {
        return;
    };
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        base: 0,
        completed: Vec::new(),
        completed_caveats: Vec::new(),
        max_items: Limits::DEFAULT.max_caveats,
    };
    p.skip_ws();
    if let Err(e) = p.value(0) {
        out.notes.push(format!("stopped at: {e}"));
    }
    for (key, value) in p.completed {
        let Some(bytes) = recovered_bytes(&key, value) else {
            continue;
        };
        let field = Some(super::RecoveredField::complete(&bytes));
        match key.as_str() {
            "l" | "l64" | "location" => out.location = field,
            "i" | "i64" | "identifier" => out.identifier = field,
            "s" | "s64" | "signature" => out.signature = field,
            _ => {}
        }
    }
    for caveat in p.completed_caveats {
        let Value::Object(members) = caveat else {
            continue;
        };
        let mut recovered = super::RecoveredCaveat::default();
        for (_, key, _, value) in members {
            let Value::String(value) = value else {
                continue;
            };
            let Some(bytes) = recovered_bytes(&key, value) else {
                continue;
            };
            let field = super::RecoveredField::complete(&bytes);
            match key.as_str() {
                "i" | "i64" | "cid" => recovered.id = field,
                "v" | "v64" | "vid" => recovered.verification_id = Some(field),
                "l" | "l64" | "cl" => recovered.location = Some(field),
                _ => {}
            }
        }
        out.caveats.push(recovered);
    }
}

/// The bytes of a recovered string member: base64 for `*64` keys and legacy `vid`, hex for the
/// legacy `signature`, UTF-8 otherwise.
fn recovered_bytes(key: &str, value: String) -> Option<Vec<u8>> {
    if key.ends_with("64") || key == "vid" {
        base64::decode(value.as_bytes()).ok()
    } else if key == "signature" {
        decode_hex(&value)
    } else {
        Some(value.into_bytes())
    }
}

/// A field that may be given as plain text (`key`) or base64 (`key64`).
struct Dual<'v> {
    plain: &'static str,
    b64: &'static str,
    found: Option<(usize, &'v Value, bool)>,
}

fn take_field<'v>(
    p: &Parser<'_>,
    members: &'v [(usize, String, usize, Value)],
    plain: &'static str,
    b64: Option<&'static str>,
) -> Result<Option<(usize, &'v Value, bool)>, Error> {
    let mut d = Dual {
        plain,
        b64: b64.unwrap_or(""),
        found: None,
    };
    for (key_at, key, value_at, value) in members {
        let is_b64 = b64.is_some() && key == d.b64;
        if key != d.plain && !is_b64 || matches!(value, Value::Null) {
            continue;
        }
        if d.found.is_some() {
            return Err(p.error(
                *key_at,
                DecodeErrorKind::Duplicate {
                    field: format!("{}/{}", d.plain, d.b64),
                },
            ));
        }
        d.found = Some((*value_at, value, is_b64));
    }
    Ok(d.found)
}

fn bytes_of(
    p: &Parser<'_>,
    field: &'static str,
    found: Option<(usize, &Value, bool)>,
    limits: &Limits,
) -> Result<Option<Vec<u8>>, Error> {
    let Some((at, value, is_b64)) = found else {
        return Ok(None);
    };
    let Value::String(s) = value else {
        return Err(p.error(
            at,
            DecodeErrorKind::Unexpected {
                found: value.type_name().into(),
                expected: "a string",
            },
        ));
    };
    let bytes = if is_b64 {
        base64::decode(s.as_bytes()).map_err(|mut e| {
            e.offset = p.offset_in_string(at, e.offset);
            e.layer = Layer::Json;
            Error::from(e)
        })?
    } else {
        s.clone().into_bytes()
    };
    if bytes.len() > limits.max_field_bytes && field != "signature" {
        return Err(LimitError::FieldTooLarge {
            field,
            limit: limits.max_field_bytes,
            found: bytes.len(),
            offset: p.char_offset(at),
        }
        .into());
    }
    Ok(Some(bytes))
}

fn reject_unknown(
    p: &Parser<'_>,
    members: &[(usize, String, usize, Value)],
    known: &[&str],
) -> Result<(), Error> {
    for (key_at, key, _, _) in members {
        if !known.contains(&key.as_str()) {
            return Err(p.error(
                *key_at,
                DecodeErrorKind::UnknownField { field: key.clone() },
            ));
        }
    }
    Ok(())
}

fn signature_from(p: &Parser<'_>, at: usize, bytes: Vec<u8>) -> Result<[u8; 32], Error> {
    let found = bytes.len();
    bytes
        .try_into()
        .map_err(|_| p.error(at, DecodeErrorKind::SignatureLength { found }))
}

fn caveat_array<'v>(
    p: &Parser<'_>,
    members: &'v [(usize, String, usize, Value)],
    key: &'static str,
) -> Result<&'v [(usize, Value)], Error> {
    match take_field(p, members, key, None)? {
        None => Ok(&[]),
        Some((_, Value::Array(items), _)) => Ok(items),
        Some((at, v, _)) => Err(p.error(
            at,
            DecodeErrorKind::Unexpected {
                found: v.type_name().into(),
                expected: "an array of caveats",
            },
        )),
    }
}

fn caveat_object<'v>(
    p: &Parser<'_>,
    at: usize,
    item: &'v Value,
) -> Result<&'v [(usize, String, usize, Value)], Error> {
    match item {
        Value::Object(m) => Ok(m),
        v => Err(p.error(
            at,
            DecodeErrorKind::Unexpected {
                found: v.type_name().into(),
                expected: "a caveat object",
            },
        )),
    }
}

/// Parses a JSON token: legacy v1 JSON when it has an `identifier` key, else v2 JSON.
/// `base` is the offset of `text` in the caller's input. Returns the macaroon and whether it was
/// legacy v1 JSON.
pub(crate) fn parse(text: &str, base: usize, limits: &Limits) -> Result<(Macaroon, bool), Error> {
    let (p, v) = parse_object(text, base, limits)?;
    let Value::Object(top) = &v else {
        return Err(p.expected("'{'"));
    };
    let has = |k: &str| top.iter().any(|(_, key, _, _)| key == k);
    match (has("identifier"), has("i") || has("i64")) {
        (true, true) => Err(p.error(
            0,
            DecodeErrorKind::Duplicate {
                field: "identifier/i".into(),
            },
        )),
        (true, false) => Ok((interpret_v1(&p, top, limits)?, true)),
        (false, _) => Ok((interpret_v2(&p, top, limits)?, false)),
    }
}

type Members = [(usize, String, usize, Value)];

/// Reads the v2 JSON fields of a parsed object.
fn interpret_v2(p: &Parser<'_>, top: &Members, limits: &Limits) -> Result<Macaroon, Error> {
    reject_unknown(p, top, &["v", "l", "l64", "i", "i64", "c", "s", "s64"])?;
    if let Some((at, version, _)) = take_field(p, top, "v", None)? {
        let ok = match version {
            Value::Number(n) => n == "2",
            Value::String(s) => s == "2",
            _ => false,
        };
        if !ok {
            let found = match version {
                Value::Number(n) | Value::String(n) => n.clone(),
                other => other.type_name().into(),
            };
            return Err(p.error(at, DecodeErrorKind::UnsupportedVersion { found }));
        }
    }
    let location = bytes_of(p, "location", take_field(p, top, "l", Some("l64"))?, limits)?;
    let identifier = bytes_of(
        p,
        "identifier",
        take_field(p, top, "i", Some("i64"))?,
        limits,
    )?
    .ok_or_else(|| {
        p.error(
            0,
            DecodeErrorKind::Missing {
                field: "\"i\" or \"i64\"",
            },
        )
    })?;
    let mut caveats = Vec::new();
    for (at, item) in caveat_array(p, top, "c")? {
        let members = caveat_object(p, *at, item)?;
        reject_unknown(p, members, &["i", "i64", "v", "v64", "l", "l64"])?;
        let id = bytes_of(
            p,
            "caveat id",
            take_field(p, members, "i", Some("i64"))?,
            limits,
        )?
        .ok_or_else(|| {
            p.error(
                *at,
                DecodeErrorKind::Missing {
                    field: "caveat \"i\" or \"i64\"",
                },
            )
        })?;
        let vid = bytes_of(
            p,
            "verification id",
            take_field(p, members, "v", Some("v64"))?,
            limits,
        )?;
        let cl = bytes_of(
            p,
            "caveat location",
            take_field(p, members, "l", Some("l64"))?,
            limits,
        )?;
        caveats.push(Caveat {
            id,
            verification_id: vid.filter(|v| !v.is_empty()),
            location: cl.unwrap_or_default(),
        });
    }
    let sig_field = take_field(p, top, "s", Some("s64"))?;
    let sig_at = sig_field.map_or(0, |(at, _, _)| at);
    let sig = bytes_of(p, "signature", sig_field, limits)?.ok_or_else(|| {
        p.error(
            0,
            DecodeErrorKind::Missing {
                field: "\"s\" or \"s64\"",
            },
        )
    })?;
    let signature = signature_from(p, sig_at, sig)?;
    Ok(Macaroon::from_parts(
        location.unwrap_or_default(),
        identifier,
        caveats,
        signature,
    ))
}

/// Reads the legacy v1 JSON fields (`location`, `identifier`, `caveats`, hex `signature`).
fn interpret_v1(p: &Parser<'_>, top: &Members, limits: &Limits) -> Result<Macaroon, Error> {
    reject_unknown(p, top, &["location", "identifier", "caveats", "signature"])?;
    let location = bytes_of(p, "location", take_field(p, top, "location", None)?, limits)?;
    let identifier = bytes_of(
        p,
        "identifier",
        take_field(p, top, "identifier", None)?,
        limits,
    )?
    .ok_or_else(|| {
        p.error(
            0,
            DecodeErrorKind::Missing {
                field: "\"identifier\"",
            },
        )
    })?;
    let mut caveats = Vec::new();
    for (at, item) in caveat_array(p, top, "caveats")? {
        let members = caveat_object(p, *at, item)?;
        reject_unknown(p, members, &["cid", "vid", "cl"])?;
        let id = bytes_of(p, "caveat id", take_field(p, members, "cid", None)?, limits)?
            .ok_or_else(|| {
                p.error(
                    *at,
                    DecodeErrorKind::Missing {
                        field: "caveat \"cid\"",
                    },
                )
            })?;
        // The vid is base64 in every peer's legacy JSON.
        let vid = take_field(p, members, "vid", None)?.map(|(a, v, _)| (a, v, true));
        let vid = bytes_of(p, "verification id", vid, limits)?;
        let cl = bytes_of(
            p,
            "caveat location",
            take_field(p, members, "cl", None)?,
            limits,
        )?;
        caveats.push(Caveat {
            id,
            verification_id: vid.filter(|v| !v.is_empty()),
            location: cl.unwrap_or_default(),
        });
    }
    let (sig_at, sig_value, _) = take_field(p, top, "signature", None)?.ok_or_else(|| {
        p.error(
            0,
            DecodeErrorKind::Missing {
                field: "\"signature\"",
            },
        )
    })?;
    let Value::String(hex) = sig_value else {
        return Err(p.error(
            sig_at,
            DecodeErrorKind::Unexpected {
                found: sig_value.type_name().into(),
                expected: "a hex string",
            },
        ));
    };
    let sig = decode_hex(hex).ok_or_else(|| p.error(sig_at, DecodeErrorKind::InvalidHex))?;
    let signature = signature_from(p, sig_at, sig)?;
    Ok(Macaroon::from_parts(
        location.unwrap_or_default(),
        identifier,
        caveats,
        signature,
    ))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = char::from(*pair.first()?).to_digit(16)?;
            let lo = char::from(*pair.get(1)?).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// Plain JSON text is used only when LM, which does not unescape, would read it right.
fn is_plain(text: &str) -> bool {
    !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

/// One string member of a macaroon's v2 JSON object as we emit it (SPEC §8.3): the plain key and
/// the bytes' text, or the `64` key and URL-safe unpadded base64. [`serialize`] and the serde
/// `Serialize` impl both write the members these functions give, so their output cannot differ.
pub(crate) struct Member<'a> {
    /// `i`, `i64`, `l`, `l64`, `v64` or `s64`.
    pub(crate) key: &'static str,
    /// The string's content; never needs JSON escaping.
    pub(crate) text: Cow<'a, str>,
}

fn member<'a>(
    plain: &'static str,
    b64: &'static str,
    bytes: &'a [u8],
    force_b64: bool,
) -> Member<'a> {
    match core::str::from_utf8(bytes) {
        Ok(text) if !force_b64 && is_plain(text) => Member {
            key: plain,
            text: Cow::Borrowed(text),
        },
        _ => Member {
            key: b64,
            text: Cow::Owned(base64::encode_url(bytes)),
        },
    }
}

/// The members before `"c"`: the location when it is not empty, then the identifier.
pub(crate) fn head_members(m: &Macaroon) -> impl Iterator<Item = Member<'_>> {
    let location = (!m.location.is_empty()).then(|| member("l", "l64", &m.location, false));
    location
        .into_iter()
        .chain(core::iter::once(member("i", "i64", &m.identifier, false)))
}

/// A caveat object's members: the id, and for a third-party caveat the vid (always base64) and
/// the location.
pub(crate) fn caveat_members(c: &Caveat) -> impl Iterator<Item = Member<'_>> {
    let third_party = c.verification_id.as_deref().map(|vid| {
        [
            member("v", "v64", vid, true),
            member("l", "l64", &c.location, false),
        ]
    });
    core::iter::once(member("i", "i64", &c.id, false)).chain(third_party.into_iter().flatten())
}

/// The last member: the signature, always `s64`.
pub(crate) fn signature_member(m: &Macaroon) -> Member<'_> {
    member("s", "s64", &m.signature, true)
}

fn push_member(out: &mut String, member: &Member<'_>) {
    out.push('"');
    out.push_str(member.key);
    out.push_str("\":\"");
    out.push_str(&member.text);
    out.push('"');
}

/// Serializes `m` as v2 JSON (SPEC §8.3).
pub(crate) fn serialize(m: &Macaroon) -> String {
    let mut out = String::with_capacity(64 + m.location.len() + m.identifier.len());
    out.push_str("{\"v\":2");
    for member in head_members(m) {
        out.push(',');
        push_member(&mut out, &member);
    }
    out.push_str(",\"c\":[");
    for (n, c) in m.caveats.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('{');
        for (k, member) in caveat_members(c).enumerate() {
            if k > 0 {
                out.push(',');
            }
            push_member(&mut out, &member);
        }
        out.push('}');
    }
    out.push_str("],");
    push_member(&mut out, &signature_member(m));
    out.push('}');
    out
}

/// Malformed input this decoder meets, through the public entry points: each error names its
/// layer, offset and kind, raw and through the text layers above.
#[cfg(test)]
mod decode_errors {
    use crate::error::{DecodeErrorKind, Layer};
    use crate::format::testing::*;
    use crate::macaroon::Macaroon;

    const TV4_V2J: &str = r#"{"v":2,"l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}],"s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw"}"#;

    fn json_error(text: &str, at: usize, kind: DecodeErrorKind, ctx: &str) {
        let e = decode_err(Macaroon::parse(text), ctx);
        assert_eq!(
            (e.layer, e.offset, &e.kind),
            (Layer::Json, at, &kind),
            "[{ctx}] {text}"
        );
    }

    #[test]
    fn json_malformed() {
        parse_ok(TV4_V2J, "TV4 V2J");
        let insert =
            |after: &str, what: &str| TV4_V2J.replacen(after, &format!("{after}{what}"), 1);

        let t = insert(r#""l":"http://example.org/","#, r#""l":"x","#);
        let at = t.match_indices(r#""l":"#).nth(1).expect("second l").0;
        json_error(
            &t,
            at,
            DecodeErrorKind::Duplicate { field: "l".into() },
            "JSON duplicate field l",
        );

        let t = insert(r#""i":"keyid","#, r#""i64":"a2V5aWQ","#);
        let at = t.find(r#""i64""#).expect("i64");
        json_error(
            &t,
            at,
            DecodeErrorKind::Duplicate {
                field: "i/i64".into(),
            },
            "JSON both i and i64",
        );

        let t = insert(
            r#""s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw""#,
            r#","s":"x""#,
        );
        let at = t.find(r#""s":"#).expect("s");
        json_error(
            &t,
            at,
            DecodeErrorKind::Duplicate {
                field: "s/s64".into(),
            },
            "JSON both s and s64",
        );

        let t = insert(r#"{"v":2,"#, r#""x":1,"#);
        json_error(
            &t,
            7,
            DecodeErrorKind::UnknownField { field: "x".into() },
            "JSON unknown top-level key",
        );

        let t = TV4_V2J.replacen(
            r#"{"i":"user = alice"}"#,
            r#"{"i":"user = alice","q":"z"}"#,
            1,
        );
        let at = t.find(r#""q""#).expect("q");
        json_error(
            &t,
            at,
            DecodeErrorKind::UnknownField { field: "q".into() },
            "JSON unknown caveat key",
        );

        for (v, found) in [("3", "3"), (r#""3""#, "3"), ("1", "1"), ("2.0", "2.0")] {
            let t = TV4_V2J.replacen(r#""v":2"#, &format!(r#""v":{v}"#), 1);
            json_error(
                &t,
                5,
                DecodeErrorKind::UnsupportedVersion {
                    found: found.into(),
                },
                &format!("JSON \"v\":{v}"),
            );
        }
        // Accepted variants (§8.2): "v":"2", no v, null values.
        for (what, t) in [
            (
                "string version",
                TV4_V2J.replacen(r#""v":2"#, r#""v":"2""#, 1),
            ),
            ("no version", TV4_V2J.replacen(r#""v":2,"#, "", 1)),
            ("null i64", insert(r#""i":"keyid","#, r#""i64":null,"#)),
        ] {
            assert_eq!(
                parse_ok(&t, what).signature_hex(),
                "4be967cd1ea0c6b26baf6a4a94ee9b05b15886da0ba85e8c42a93c8d0e125efc",
                "JSON {what} accepted: {t}"
            );
        }

        let t = format!("{TV4_V2J} x");
        json_error(
            &t,
            TV4_V2J.len() + 1,
            DecodeErrorKind::TrailingData,
            "JSON trailing data",
        );

        let t = TV4_V2J.replacen(
            r#""S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw""#,
            r#""S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXg""#,
            1,
        );
        let at = t.find(r#""S-"#).expect("s64");
        json_error(
            &t,
            at,
            DecodeErrorKind::SignatureLength { found: 31 },
            "JSON signature of 31 bytes",
        );

        let t = TV4_V2J.replacen(r#"{"i":"user = alice"}"#, r#"{}"#, 1);
        let e = decode_err(Macaroon::parse(&t), "JSON caveat without i");
        assert_eq!(e.layer, Layer::Json, "JSON caveat without i: layer");
        assert!(
            matches!(e.kind, DecodeErrorKind::Missing { .. }),
            "JSON caveat without i: {e:?}"
        );

        // Legacy v1 JSON with both identifier and i.
        let t = r#"{"identifier":"id","i":"id","signature":"00"}"#;
        let e = decode_err(Macaroon::parse(t), "JSON identifier and i");
        assert_eq!(e.layer, Layer::Json, "JSON identifier and i: layer");
        assert!(
            matches!(&e.kind, DecodeErrorKind::Duplicate { .. }),
            "JSON identifier and i: {e:?}"
        );
    }

    #[test]
    fn json_offsets_count_characters() {
        // §0: text-layer offsets count characters, not bytes.
        let t = TV4_V2J.replacen("http://example.org/", "http://ëxämple.org/", 1);
        let t = t.replacen(r#""i":"keyid","#, r#""i":"keyid","x":1,"#, 1);
        let byte_at = t.find(r#""x""#).expect("x");
        let char_at = t[..byte_at].chars().count();
        assert_eq!(byte_at - char_at, 2, "two 2-byte characters before the key");
        json_error(
            &t,
            char_at,
            DecodeErrorKind::UnknownField { field: "x".into() },
            "JSON unknown key after non-ASCII",
        );
        // Leading whitespace counts.
        let t = format!("  \n{}", TV4_V2J.replacen(r#""v":2"#, r#""v":3"#, 1));
        json_error(
            &t,
            3 + 5,
            DecodeErrorKind::UnsupportedVersion { found: "3".into() },
            "JSON v:3 after leading whitespace",
        );
    }

    #[test]
    fn json_shape_errors() {
        for (what, t) in [
            (
                "identifier is a number",
                TV4_V2J.replacen(r#""i":"keyid""#, r#""i":5"#, 1),
            ),
            (
                "c is an object",
                TV4_V2J
                    .replacen(r#""c":["#, r#""c":{"a":["#, 1)
                    .replacen("],", "]},", 1),
            ),
            (
                "caveat is an array",
                TV4_V2J.replacen(r#"{"i":"user = alice"}"#, r#"["user = alice"]"#, 1),
            ),
            (
                "nested arrays",
                TV4_V2J.replacen(r#"{"i":"user = alice"}"#, r#"[[["x"]]]"#, 1),
            ),
            ("top level is an array", format!("[{TV4_V2J}]")),
            ("unterminated", TV4_V2J[..TV4_V2J.len() - 1].to_owned()),
            ("bad escape", TV4_V2J.replacen("keyid", r"key\qid", 1)),
            (
                "raw control character",
                TV4_V2J.replacen("keyid", "key\u{1}id", 1),
            ),
        ] {
            let e = decode_err(Macaroon::parse(&t), what);
            assert!(
                matches!(e.layer, Layer::Json | Layer::Base64 | Layer::V1),
                "[JSON {what}] layer {:?}: {e}",
                e.layer
            );
            if t.starts_with('{') {
                assert_eq!(e.layer, Layer::Json, "[JSON {what}] layer: {e}");
                assert!(e.offset <= t.chars().count(), "[JSON {what}] offset: {e}");
            }
        }
    }
}

//! A token as JSON for people debugging it: what `macaroon-mint inspect --json` prints and the
//! service's inspector page shows (features `serde` and `onedata`).
//!
//! [`inspect`] reads any input the parsers read. A valid token gives its format, encoding,
//! fields (as v2 JSON) and signature; a damaged one gives the parse error (kind, reason, byte
//! offset, packet) and what a lenient decode recovered before the damage. Onedata tokens (or
//! any identifier shaped like one) also get an `onedata` reading: the identifier's version,
//! persistence, subject, type and invite type, and each caveat's typed form with its value in
//! Onezone's caveat JSON.
//!
//! ```
//! use macaroon_mint::{report, Format, Macaroon, RootKey};
//!
//! let token = Macaroon::mint(&RootKey::new("k"), "onezone.example", "2/nmd/usr-u1/act/t1")?
//!     .with_first_party("time < 1900000000")?
//!     .serialize(Format::Onedata)?;
//! let report = report::inspect(token.as_bytes(), false);
//! assert!(report.error().is_none());
//! assert_eq!(report.json["format"], "onedata");
//! assert_eq!(report.json["onedata"]["identifier"]["subject"], "usr-u1");
//! assert_eq!(report.json["onedata"]["caveats"][0]["onezone"]["validUntil"], 1900000000);
//!
//! let damaged = report::inspect(&token.as_bytes()[..60], false);
//! assert!(damaged.error().is_some());
//! assert!(damaged.json["error"]["offset"].is_u64());
//! assert_eq!(damaged.json["recovered"]["location"]["text"], "onezone.example");
//! # Ok::<(), macaroon_mint::Error>(())
//! ```

use serde_json::{json, Value};

use crate::caveat::Form;
use crate::onedata::{InviteType, OnedataIdentifier, ParsedIdentifier, Persistence, TokenType};
use crate::util::hex;
use crate::{Encoding, Error, Inspection, Recovered, RecoveredField, TypedCaveat};

/// The report of [`inspect`]: the JSON, and the inspection it was built from (the parsed token,
/// or the parse error and what was recovered).
#[derive(Debug)]
#[non_exhaustive]
pub struct Report {
    /// `{"format", "encoding", "macaroon", "signature_hex", "service"?, "onedata"?}` for a valid
    /// token; `{"error", "recovered"?, "onedata"?}` for damaged input.
    pub json: Value,
    /// The strict parse and, for damaged input, the lenient one.
    pub inspection: Inspection,
}

impl Report {
    /// The strict parse's error, for damaged input.
    pub fn error(&self) -> Option<&Error> {
        self.inspection.parsed.as_ref().err()
    }
}

/// Inspects `input` (any format the parsers read); with `always_onedata` the Onedata reading
/// is given even for a token that does not look like one.
pub fn inspect(input: &[u8], always_onedata: bool) -> Report {
    let inspection = Inspection::of_bytes(input);
    let json = match &inspection.parsed {
        Ok(parsed) => parsed_json(parsed, always_onedata),
        Err(error) => damaged_json(input, error, inspection.recovered.as_ref(), always_onedata),
    };
    Report { json, inspection }
}

fn damaged_json(
    input: &[u8],
    error: &Error,
    recovered: Option<&Recovered>,
    always_onedata: bool,
) -> Value {
    let mut json = json!({ "error": error_json(error) });
    if let Some(recovered) = recovered {
        set(&mut json, "recovered", recovered_json(recovered));
        let identifier = recovered
            .identifier
            .as_ref()
            .map(|f| (f.bytes.as_slice(), f.truncated));
        let shown = always_onedata
            || matches!(Encoding::sniff(input), Some(Encoding::Onedata { .. }))
            || identifier.is_some_and(|(id, _)| is_versioned_identifier(id));
        if shown {
            let caveats: Vec<CaveatView<'_>> = recovered
                .caveats
                .iter()
                .map(|c| CaveatView {
                    id: &c.id.bytes,
                    third_party: c.verification_id.is_some(),
                    truncated: c.id.truncated,
                })
                .collect();
            set(&mut json, "onedata", onedata_json(identifier, &caveats));
        }
    }
    json
}

fn parsed_json(parsed: &crate::Parsed, always_onedata: bool) -> Value {
    let m = &parsed.macaroon;
    let mut json = json!({
        "format": parsed.encoding.output_format().name(),
        "encoding": serde_json::to_value(&parsed.encoding).unwrap_or(Value::Null),
        "macaroon": serde_json::to_value(m).unwrap_or(Value::Null),
        "signature_hex": m.signature_hex(),
    });
    if let Encoding::Onedata { service: Some(s) } = &parsed.encoding {
        set(&mut json, "service", json!(s));
    }
    if always_onedata
        || matches!(parsed.encoding, Encoding::Onedata { .. })
        || is_versioned_identifier(m.identifier())
    {
        let caveats: Vec<CaveatView<'_>> = m
            .caveats()
            .iter()
            .map(|c| CaveatView {
                id: c.id(),
                third_party: c.is_third_party(),
                truncated: false,
            })
            .collect();
        set(
            &mut json,
            "onedata",
            onedata_json(Some((m.identifier(), false)), &caveats),
        );
    }
    json
}

/// The library's JSON shape of an error: `kind`, `reason`, `message` and the fields locating
/// it (byte offset, packet, caveat).
pub fn error_json(error: &Error) -> Value {
    serde_json::to_value(error).unwrap_or_else(
        |e| json!({ "kind": "internal", "message": format!("internal JSON error: {e}") }),
    )
}

/// Whether an identifier has the shape of a versioned Onedata identifier: an integer, then `/`.
///
/// ```
/// use macaroon_mint::report::is_versioned_identifier;
/// assert!(is_versioned_identifier(b"2/nmd/usr-u/act/t"));
/// assert!(!is_versioned_identifier(b"user-42"));
/// ```
pub fn is_versioned_identifier(identifier: &[u8]) -> bool {
    let Some(slash) = identifier.iter().position(|&b| b == b'/') else {
        return false;
    };
    let version = identifier.get(..slash).unwrap_or_default();
    let digits = version
        .strip_prefix(b"+")
        .or_else(|| version.strip_prefix(b"-"))
        .unwrap_or(version);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// A caveat as the reports see it (from a parsed token or a lenient decode).
#[derive(Debug, Clone, Copy)]
pub struct CaveatView<'a> {
    /// The caveat id.
    pub id: &'a [u8],
    /// Whether it is a third-party caveat.
    pub third_party: bool,
    /// Whether the input ended before the id was complete.
    pub truncated: bool,
}

/// The Onedata reading of an identifier (with whether it was cut short) and of the caveats:
/// `{"identifier", "caveats"}`.
pub fn onedata_json(identifier: Option<(&[u8], bool)>, caveats: &[CaveatView<'_>]) -> Value {
    let identifier = match identifier {
        None => Value::Null,
        Some((bytes, truncated)) => {
            let mut v = identifier_json(bytes);
            if truncated {
                set(&mut v, "truncated", json!(true));
            }
            v
        }
    };
    let caveats: Vec<Value> = caveats
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let mut v = caveat_json(index, c);
            if c.truncated {
                set(&mut v, "truncated", json!(true));
            }
            v
        })
        .collect();
    json!({ "identifier": identifier, "caveats": caveats })
}

/// An identifier read as Onedata's: `{"version", "persistence", "subject", "id", "type", …}`
/// for version 2, `{"version", "token_id"}` for older ones, `{"error", "segment", "offset"}`
/// when it does not parse.
pub fn identifier_json(bytes: &[u8]) -> Value {
    match OnedataIdentifier::parse_bytes(bytes) {
        Ok(ParsedIdentifier::V2(id)) => {
            let mut v = json!({
                "version": id.version(),
                "persistence": id.persistence().to_string(),
                "subject": id.subject().to_string(),
                "id": id.id(),
            });
            if let Persistence::Temporary { generation } = id.persistence() {
                set(&mut v, "generation", json!(generation));
            }
            match id.token_type() {
                TokenType::Access { session } => {
                    set(&mut v, "type", json!("access"));
                    if let Some(s) = session {
                        set(&mut v, "session", json!(s));
                    }
                }
                TokenType::Identity => set(&mut v, "type", json!("identity")),
                TokenType::Invite {
                    invite,
                    target,
                    parameters,
                } => {
                    set(&mut v, "type", json!("invite"));
                    set(&mut v, "invite", json!(invite.code()));
                    set(&mut v, "target", json!(target));
                    set(&mut v, "parameters", json!(parameters));
                    if matches!(invite, InviteType::Other(_)) {
                        set(&mut v, "invite_known", json!(false));
                    }
                }
            }
            v
        }
        Ok(ParsedIdentifier::Legacy { token_id }) => json!({ "version": 1, "token_id": token_id }),
        Err(e) => {
            json!({ "error": e.to_string(), "segment": e.segment.to_string(), "offset": e.offset })
        }
    }
}

/// A caveat read as Onedata's: `{"index", "text" | "hex", "form", "onezone"}`, with `"error"`
/// when its form is known but its value malformed, `"third_party": true` for a third-party one.
pub fn caveat_json(index: usize, c: &CaveatView<'_>) -> Value {
    let mut v = json!({ "index": index });
    match std::str::from_utf8(c.id) {
        Ok(text) => set(&mut v, "text", json!(text)),
        Err(_) => set(&mut v, "hex", json!(hex(c.id))),
    }
    if c.third_party {
        set(&mut v, "third_party", json!(true));
        return v;
    }
    match TypedCaveat::parse(c.id) {
        Ok(typed) => {
            set(
                &mut v,
                "form",
                json!(typed.form().map_or("unknown", Form::name)),
            );
            if typed.form().is_some() {
                // The parsed value as Onezone's caveat JSON: it can be fed back to the
                // service's `caveats` fields as it is.
                set(&mut v, "onezone", typed.onezone_json());
            }
        }
        Err(e) => {
            set(&mut v, "form", json!(e.form));
            set(&mut v, "error", json!(e.to_string()));
        }
    }
    v
}

/// Sets `key` of the object `v` (reports only build objects).
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(object) = v.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}

/// Bytes as `{"text"}` when they are UTF-8, else `{"hex"}`.
fn bytes_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => json!({ "text": s }),
        Err(_) => json!({ "hex": hex(bytes) }),
    }
}

fn field_json(f: &RecoveredField) -> Value {
    let mut v = bytes_json(&f.bytes);
    set(&mut v, "truncated", json!(f.truncated));
    v
}

/// What a lenient decode recovered, as JSON.
pub fn recovered_json(r: &Recovered) -> Value {
    json!({
        "decoded_bytes": r.decoded.len(),
        "location": r.location.as_ref().map(field_json),
        "identifier": r.identifier.as_ref().map(field_json),
        "caveats": r.caveats.iter().map(|c| json!({
            "i": field_json(&c.id),
            "v": c.verification_id.as_ref().map(field_json),
            "l": c.location.as_ref().map(field_json),
        })).collect::<Vec<_>>(),
        "signature": r.signature.as_ref().map(|s| json!({
            "hex": hex(&s.bytes), "truncated": s.truncated
        })),
        "notes": r.notes,
    })
}

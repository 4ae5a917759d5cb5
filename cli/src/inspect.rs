//! `inspect`: one view of a token (parsed or damaged), rendered as text or JSON.

use macaroon_mint::caveat::Form;
use macaroon_mint::onedata::{
    InviteType, OnedataIdentifier, ParsedIdentifier, Persistence, TokenType,
};
use macaroon_mint::Inspection;
use macaroon_mint::{Encoding, Recovered, RecoveredField, TypedCaveat};
use serde_json::{json, Value};

use crate::report::{error_json, input_error, write_stdout, Failure};

/// Bytes as text when they are printable UTF-8, else as `hex:…`.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => format!("hex:{}", hex::encode(bytes)),
    }
}

pub(crate) fn bytes_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => json!({ "text": s }),
        Err(_) => json!({ "hex": hex::encode(bytes) }),
    }
}

pub(crate) fn inspect(input: &[u8], as_json: bool, force_onedata: bool) -> Result<String, Failure> {
    let report = Inspection::of_bytes(input);
    let parsed = match report.parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            if let Some(recovered) = &report.recovered {
                let identifier = recovered
                    .identifier
                    .as_ref()
                    .map(|f| (f.bytes.as_slice(), f.truncated));
                let show = force_onedata
                    || matches!(Encoding::sniff(input), Some(Encoding::Onedata { .. }))
                    || identifier.is_some_and(|(id, _)| is_versioned_identifier(id));
                let caveats: Vec<CaveatView<'_>> = recovered
                    .caveats
                    .iter()
                    .map(|c| CaveatView {
                        id: &c.id.bytes,
                        third_party: c.verification_id.is_some(),
                        truncated: c.id.truncated,
                    })
                    .collect();
                let onedata = show.then(|| onedata_view(identifier, &caveats));
                let text = if as_json {
                    let mut v =
                        json!({ "error": error_json(&e), "recovered": recovered_json(recovered) });
                    if let (Some((o, _)), Some(obj)) = (onedata, v.as_object_mut()) {
                        obj.insert("onedata".into(), o);
                    }
                    v.to_string()
                } else {
                    let mut text = recovered_text(recovered);
                    for line in onedata.map(|(_, lines)| lines).unwrap_or_default() {
                        text.push('\n');
                        text.push_str(&line);
                    }
                    text
                };
                write_stdout(&text)?;
            }
            return Err(e.into());
        }
    };
    let m = &parsed.macaroon;
    let onedata = (force_onedata
        || matches!(parsed.encoding, Encoding::Onedata { .. })
        || is_versioned_identifier(m.identifier()))
    .then(|| {
        let caveats: Vec<CaveatView<'_>> = m
            .caveats()
            .iter()
            .map(|c| CaveatView {
                id: c.id(),
                third_party: c.is_third_party(),
                truncated: false,
            })
            .collect();
        onedata_view(Some((m.identifier(), false)), &caveats)
    });
    if as_json {
        let internal = |e: serde_json::Error| input_error(format!("internal JSON error: {e}"));
        let mut out = json!({
            "format": parsed.encoding.output_format().name(),
            "encoding": serde_json::to_value(&parsed.encoding).map_err(internal)?,
            "macaroon": serde_json::to_value(m).map_err(internal)?,
            "signature_hex": m.signature_hex(),
        });
        if let (Encoding::Onedata { service: Some(s) }, Some(obj)) =
            (&parsed.encoding, out.as_object_mut())
        {
            obj.insert("service".into(), json!(s));
        }
        if let (Some((o, _)), Some(obj)) = (onedata, out.as_object_mut()) {
            obj.insert("onedata".into(), o);
        }
        return Ok(out.to_string());
    }
    let (onedata_identifier, onedata_caveats) = match onedata {
        Some((_, mut lines)) => {
            let rest = lines.split_off(1.min(lines.len()));
            (lines, rest)
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut lines = vec![
        format!("format: {}", parsed.encoding.name()),
        format!("location: {}", show_bytes(m.location())),
        format!("identifier: {}", show_bytes(m.identifier())),
    ];
    lines.extend(onedata_identifier);
    if let Encoding::Onedata { service: Some(s) } = &parsed.encoding {
        lines.push(format!("service: {s}"));
    }
    for (i, c) in m.caveats().iter().enumerate() {
        match c.verification_id() {
            None if c.location().is_empty() => {
                lines.push(format!("caveat {i}: {}", show_bytes(c.id())));
            }
            None => lines.push(format!(
                "caveat {i}: {} (location {})",
                show_bytes(c.id()),
                show_bytes(c.location())
            )),
            Some(vid) => lines.push(format!(
                "caveat {i}: third-party id {} location {} vid {}",
                show_bytes(c.id()),
                show_bytes(c.location()),
                b64url(vid)
            )),
        }
    }
    lines.extend(onedata_caveats);
    lines.push(format!("signature: {}", m.signature_hex()));
    Ok(lines.join("\n"))
}

/// Whether an identifier has the shape of a versioned Onedata identifier: an integer, then `/`.
pub(crate) fn is_versioned_identifier(identifier: &[u8]) -> bool {
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

/// A caveat as `inspect` sees it (from a parsed token or a lenient decode).
pub(crate) struct CaveatView<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) third_party: bool,
    pub(crate) truncated: bool,
}

/// The Onedata reading of an identifier (with whether it was cut short) and of the caveats: the
/// `"onedata"` JSON value and the text lines (the identifier's line first, then one per caveat).
pub(crate) fn onedata_view(
    identifier: Option<(&[u8], bool)>,
    caveats: &[CaveatView<'_>],
) -> (Value, Vec<String>) {
    let mut lines = Vec::new();
    let id_json = match identifier {
        // Nothing recovered: no line (the text report shows no identifier at all).
        None => Value::Null,
        Some((bytes, truncated)) => {
            let (mut v, mut line) = identifier_view(bytes);
            if truncated {
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("truncated".into(), json!(true));
                }
                line.push_str(" (truncated)");
            }
            lines.push(format!("onedata identifier: {line}"));
            v
        }
    };
    let caveats_json: Vec<Value> = caveats
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let (mut v, mut line) = caveat_view(index, c);
            if c.truncated {
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("truncated".into(), json!(true));
                }
                line.push_str(" (truncated)");
            }
            lines.push(format!("onedata caveat {index}: {line}"));
            v
        })
        .collect();
    (
        json!({ "identifier": id_json, "caveats": caveats_json }),
        lines,
    )
}

pub(crate) fn identifier_view(bytes: &[u8]) -> (Value, String) {
    match OnedataIdentifier::parse_bytes(bytes) {
        Ok(ParsedIdentifier::V2(id)) => {
            let mut v = json!({
                "version": id.version(),
                "persistence": id.persistence().to_string(),
                "subject": id.subject().to_string(),
                "id": id.id(),
            });
            let mut line = format!(
                "version {}, persistence {}, subject {}, ",
                id.version(),
                id.persistence(),
                id.subject()
            );
            if let Some(obj) = v.as_object_mut() {
                if let Persistence::Temporary { generation } = id.persistence() {
                    obj.insert("generation".into(), json!(generation));
                }
                match id.token_type() {
                    TokenType::Access { session } => {
                        obj.insert("type".into(), json!("access"));
                        line.push_str("type access");
                        if let Some(s) = session {
                            obj.insert("session".into(), json!(s));
                            line.push_str(&format!(" (session {s})"));
                        }
                    }
                    TokenType::Identity => {
                        obj.insert("type".into(), json!("identity"));
                        line.push_str("type identity");
                    }
                    TokenType::Invite {
                        invite,
                        target,
                        parameters,
                    } => {
                        obj.insert("type".into(), json!("invite"));
                        obj.insert("invite".into(), json!(invite.code()));
                        obj.insert("target".into(), json!(target));
                        obj.insert("parameters".into(), json!(parameters));
                        let unknown = if matches!(invite, InviteType::Other(_)) {
                            ", unknown code"
                        } else {
                            ""
                        };
                        line.push_str(&format!(
                            "type invite {invite}{unknown} (target {target}, parameters {parameters:?})"
                        ));
                    }
                    other => {
                        obj.insert("type".into(), json!(other.to_string()));
                        line.push_str(&format!("type {other}"));
                    }
                }
            }
            line.push_str(&format!(", id {}", id.id()));
            (v, line)
        }
        Ok(ParsedIdentifier::Legacy { token_id }) => (
            json!({ "version": 1, "token_id": token_id }),
            format!("legacy (version 1), token id {token_id}"),
        ),
        Ok(other) => (
            json!({ "version": other.version(), "token_id": other.token_id() }),
            format!("version {}, token id {}", other.version(), other.token_id()),
        ),
        Err(e) => (
            json!({ "error": e.to_string(), "segment": e.segment.to_string(), "offset": e.offset }),
            format!("invalid: {e}"),
        ),
    }
}

pub(crate) fn caveat_view(index: usize, c: &CaveatView<'_>) -> (Value, String) {
    let mut v = json!({ "index": index });
    let Some(obj) = v.as_object_mut() else {
        return (v, String::new());
    };
    match std::str::from_utf8(c.id) {
        Ok(text) => obj.insert("text".into(), json!(text)),
        Err(_) => obj.insert("hex".into(), json!(hex::encode(c.id))),
    };
    if c.third_party {
        obj.insert("third_party".into(), json!(true));
        return (
            v,
            "third-party caveat (Onedata tokens have none)".to_owned(),
        );
    }
    let line = match TypedCaveat::parse(c.id) {
        Ok(typed) => {
            let form = typed.form().map_or("unknown", Form::name);
            obj.insert("form".into(), json!(form));
            if typed.form().is_some() {
                // The parsed value as Onezone's caveat JSON: it can be fed back to the
                // service's `caveats` fields as it is.
                obj.insert("onezone".into(), typed.onezone_json());
            }
            form.to_owned()
        }
        Err(e) => {
            obj.insert("form".into(), json!(e.form));
            obj.insert("error".into(), json!(e.to_string()));
            format!("{} (malformed: {e})", e.form)
        }
    };
    (v, line)
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn field_text(f: &RecoveredField) -> String {
    let mut s = show_bytes(&f.bytes);
    if f.truncated {
        s.push_str(&format!(" (truncated: {} bytes present)", f.bytes.len()));
    }
    s
}

pub(crate) fn recovered_text(r: &Recovered) -> String {
    let mut lines = vec![format!(
        "recovered by lenient decode ({} bytes; NOT a valid token):",
        r.decoded.len()
    )];
    if let Some(l) = &r.location {
        lines.push(format!("location: {}", field_text(l)));
    }
    if let Some(i) = &r.identifier {
        lines.push(format!("identifier: {}", field_text(i)));
    }
    for (n, c) in r.caveats.iter().enumerate() {
        lines.push(format!("caveat {n}: {}", field_text(&c.id)));
    }
    if let Some(s) = &r.signature {
        let mut text = format!("signature: {}", hex::encode(&s.bytes));
        if s.truncated {
            text.push_str(&format!(" (truncated: {} of 32 bytes)", s.bytes.len()));
        }
        lines.push(text);
    }
    for note in &r.notes {
        lines.push(format!("note: {note}"));
    }
    lines.join("\n")
}

pub(crate) fn field_json(f: &RecoveredField) -> Value {
    let mut v = bytes_json(&f.bytes);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("truncated".into(), json!(f.truncated));
    }
    v
}

pub(crate) fn recovered_json(r: &Recovered) -> Value {
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
            "hex": hex::encode(&s.bytes), "truncated": s.truncated
        })),
        "notes": r.notes,
    })
}

//! `inspect`: one view of a token (parsed or damaged), rendered as text or JSON.

use macaroon_mint::report;
use macaroon_mint::{Encoding, Recovered, RecoveredField};
use serde_json::Value;

use crate::report::{write_stdout, Failure};

/// Bytes as text when they are printable UTF-8, else as `hex:…`.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => format!("hex:{}", hex::encode(bytes)),
    }
}

pub(crate) fn inspect(input: &[u8], as_json: bool, force_onedata: bool) -> Result<String, Failure> {
    let report = report::inspect(input, force_onedata);
    let parsed = match report.inspection.parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            // What a lenient decode recovered goes to stdout before the error (nothing when
            // the input held nothing to recover).
            if let Some(recovered) = &report.inspection.recovered {
                let text = if as_json {
                    report.json.to_string()
                } else {
                    let mut text = recovered_text(recovered);
                    for line in onedata_lines(&report.json["onedata"]) {
                        text.push('\n');
                        text.push_str(&line);
                    }
                    text
                };
                write_stdout(&text)?;
            }
            return Err(error.into());
        }
    };
    if as_json {
        return Ok(report.json.to_string());
    }
    let m = &parsed.macaroon;
    let mut onedata = onedata_lines(&report.json["onedata"]).into_iter();
    let mut lines = vec![
        format!("format: {}", parsed.encoding.name()),
        format!("location: {}", show_bytes(m.location())),
        format!("identifier: {}", show_bytes(m.identifier())),
    ];
    if report.json["onedata"]["identifier"].is_object() {
        lines.extend(onedata.next());
    }
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
    lines.extend(onedata);
    lines.push(format!("signature: {}", m.signature_hex()));
    Ok(lines.join("\n"))
}

/// The text lines of a report's `onedata` reading: the identifier's (when one was read), then
/// one per caveat.
fn onedata_lines(onedata: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let truncated = |v: &Value| {
        if v["truncated"] == true {
            " (truncated)"
        } else {
            ""
        }
    };
    let identifier = &onedata["identifier"];
    if identifier.is_object() {
        lines.push(format!(
            "onedata identifier: {}{}",
            identifier_line(identifier),
            truncated(identifier)
        ));
    }
    for caveat in onedata["caveats"].as_array().into_iter().flatten() {
        let index = &caveat["index"];
        lines.push(format!(
            "onedata caveat {index}: {}{}",
            caveat_line(caveat),
            truncated(caveat)
        ));
    }
    lines
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// An identifier's reading ([`report::identifier_json`]) in words.
fn identifier_line(id: &Value) -> String {
    if let Some(error) = id["error"].as_str() {
        return format!("invalid: {error}");
    }
    let version = &id["version"];
    if let Some(token_id) = id["token_id"].as_str() {
        return if version == 1 {
            format!("legacy (version 1), token id {token_id}")
        } else {
            format!("version {version}, token id {token_id}")
        };
    }
    let mut line = format!(
        "version {version}, persistence {}, subject {}, type {}",
        text(&id["persistence"]),
        text(&id["subject"]),
        text(&id["type"])
    );
    if let Some(session) = id["session"].as_str() {
        line.push_str(&format!(" (session {session})"));
    }
    if id["type"] == "invite" {
        let unknown = if id["invite_known"] == false {
            ", unknown code"
        } else {
            ""
        };
        line.push_str(&format!(
            " {}{unknown} (target {}, parameters {:?})",
            text(&id["invite"]),
            text(&id["target"]),
            text(&id["parameters"])
        ));
    }
    line.push_str(&format!(", id {}", text(&id["id"])));
    line
}

/// A caveat's reading ([`report::caveat_json`]) in words.
fn caveat_line(caveat: &Value) -> String {
    if caveat["third_party"] == true {
        return "third-party caveat (Onedata tokens have none)".to_owned();
    }
    match caveat["error"].as_str() {
        Some(error) => format!("{} (malformed: {error})", text(&caveat["form"])),
        None => text(&caveat["form"]).to_owned(),
    }
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

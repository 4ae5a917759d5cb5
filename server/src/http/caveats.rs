//! Caveats in request bodies: Onezone's JSON objects (`{"type": "time", "validUntil": N}`, …)
//! or, as our extension, the serialized text (`"time < N"`). Both end as a [`TypedCaveat`]
//! parsed strictly by `macaroon_mint`, so what is minted is exactly what the verifier reads.

use macaroon_mint::caveat::Form;
use macaroon_mint::TypedCaveat;
use serde_json::{Map, Value};

use super::error::ApiError;

/// At most this many caveats in one request, each at most [`MAX_CAVEAT_BYTES`] long, so every
/// token minted fits in an HTTP header (hyper refuses headers of about 400 KiB) and in
/// `macaroon_mint`'s default limits.
pub(crate) const MAX_CAVEATS: usize = 64;
/// The longest caveat accepted in a request, in bytes.
pub(crate) const MAX_CAVEAT_BYTES: usize = 2048;

fn strings(object: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match object.get(key) {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(format!("\"{key}\" must hold strings")),
            })
            .collect(),
        Some(_) => Err(format!("\"{key}\" must be a non-empty list")),
        None => Err(format!("missing \"{key}\"")),
    }
}

fn filter(object: &Map<String, Value>) -> Result<&'static str, String> {
    match object.get("filter").and_then(Value::as_str) {
        Some("whitelist") => Ok("="),
        Some("blacklist") => Ok("!="),
        _ => Err("\"filter\" must be \"whitelist\" or \"blacklist\"".to_owned()),
    }
}

/// The caveat text an Onezone JSON caveat object stands for.
fn text_of_object(object: &Map<String, Value>) -> Result<String, String> {
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or("missing \"type\"")?;
    let list = |key: &str| strings(object, key).map(|items| items.join("|"));
    Ok(match kind {
        "time" => match object.get("validUntil").and_then(Value::as_u64) {
            Some(n) => format!("time < {n}"),
            None => return Err("\"validUntil\" must be a non-negative integer".to_owned()),
        },
        "ip" => format!("ip = {}", list("whitelist")?),
        "asn" => format!("asn = {}", list("whitelist")?),
        "geo.country" => format!("geo.country {} {}", filter(object)?, list("list")?),
        "geo.region" => format!("geo.region {} {}", filter(object)?, list("list")?),
        "service" => format!("service = {}", list("whitelist")?),
        "consumer" => format!("consumer = {}", list("whitelist")?),
        "interface" => match object.get("interface").and_then(Value::as_str) {
            Some(name) => format!("interface = {name}"),
            None => return Err("\"interface\" must be a string".to_owned()),
        },
        "api" => format!("api = {}", list("whitelist")?),
        "data.readonly" => "data.readonly".to_owned(),
        "data.path" => format!("data.path = {}", list("whitelist")?),
        "data.objectid" => format!("data.objectid = {}", list("whitelist")?),
        other => return Err(format!("unknown caveat type \"{other}\"")),
    })
}

/// A caveat as Onezone's REST API writes it (the inverse of what a body may send): `time < N`
/// is `{"type": "time", "validUntil": N}`, `ip = a|b` is `{"type": "ip", "whitelist": [a, b]}`,
/// `geo.country != PL` is `{"type": "geo.country", "filter": "blacklist", "list": ["PL"]}`, …;
/// a caveat of no typed form stays its text.
///
/// ```
/// use macaroon_mint_server::http::caveats::caveat_json;
/// use serde_json::json;
/// assert_eq!(caveat_json("time < 42"), json!({ "type": "time", "validUntil": 42 }));
/// assert_eq!(caveat_json("asn = 3|4"), json!({ "type": "asn", "whitelist": [3, 4] }));
/// assert_eq!(
///     caveat_json("geo.region = Europe"),
///     json!({ "type": "geo.region", "filter": "whitelist", "list": ["Europe"] })
/// );
/// assert_eq!(caveat_json("colour = red"), json!("colour = red"));
/// ```
pub fn caveat_json(text: &str) -> Value {
    match TypedCaveat::parse(text.as_bytes()) {
        // The library writes Onezone's caveat JSON (the CLI's `inspect --json` uses it too).
        Ok(typed) if typed.form().is_some() => typed.onezone_json(),
        _ => Value::String(text.to_owned()),
    }
}

/// Reads the `caveats` list of a body: absent means none. Every caveat must parse into a form
/// listed in `allowed`.
///
/// # Errors
///
/// `badValueCaveat` with the caveat as given (`details.caveat`), its index and the reason in the
/// description.
pub(crate) fn from_value(
    caveats: Option<&Value>,
    allowed: &[Form],
) -> Result<Vec<TypedCaveat>, ApiError> {
    let items = match caveats {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() > MAX_CAVEATS => {
            return Err(ApiError::bad_caveat(
                MAX_CAVEATS,
                items[MAX_CAVEATS].clone(),
                format!("at most {MAX_CAVEATS} caveats are allowed"),
            ))
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::bad_caveat(
                0,
                other.clone(),
                "\"caveats\" must be a list",
            ))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let bad = |reason: String| ApiError::bad_caveat(index, item.clone(), reason);
            let text = match item {
                Value::String(text) => text.clone(),
                Value::Object(object) => text_of_object(object).map_err(bad)?,
                _ => return Err(bad("a caveat is an object or a string".into())),
            };
            if text.len() > MAX_CAVEAT_BYTES {
                return Err(bad(format!("a caveat is at most {MAX_CAVEAT_BYTES} bytes")));
            }
            let caveat = TypedCaveat::parse(text.as_bytes()).map_err(|e| bad(e.to_string()))?;
            if let TypedCaveat::Unknown(_) = caveat {
                return Err(bad(format!("\"{text}\" is no known caveat")));
            }
            match caveat.form() {
                Some(form) if allowed.contains(&form) => {}
                form => {
                    return Err(bad(format!(
                        "a {} caveat is not allowed here",
                        form.map_or("unknown", Form::name)
                    )))
                }
            }
            Ok(caveat)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(caveats: Value) -> Result<Vec<String>, ApiError> {
        let allowed = crate::service::auth::ACCESS_CAVEATS;
        from_value(Some(&caveats), &allowed).map(|cs| cs.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn onezone_objects_and_text_give_the_same_caveats() {
        let caveats = read(json!([
            {"type": "time", "validUntil": 1_700_000_000u64},
            {"type": "ip", "whitelist": ["10.0.0.0/8", "127.0.0.1"]},
            {"type": "asn", "whitelist": [3, 4]},
            {"type": "geo.country", "filter": "blacklist", "list": ["PL"]},
            {"type": "geo.region", "filter": "whitelist", "list": ["Europe"]},
            {"type": "interface", "interface": "rest"},
            {"type": "consumer", "whitelist": ["usr-*"]},
            {"type": "service", "whitelist": ["opw-*"]},
            {"type": "api", "whitelist": ["ozw/create/*.*.*"]},
            {"type": "data.readonly"},
            "time < 42",
        ]))
        .unwrap();
        assert_eq!(caveats[..FORMS.len()], FORMS);
        assert_eq!(caveats[FORMS.len()..], ["time < 42"]);
    }

    /// One caveat of every form an access token may carry in a request.
    const FORMS: [&str; 10] = [
        "time < 1700000000",
        "ip = 10.0.0.0/8|127.0.0.1",
        "asn = 3|4",
        "geo.country != PL",
        "geo.region = Europe",
        "interface = rest",
        "consumer = usr-*",
        "service = opw-*",
        "api = ozw/create/*.*.*",
        "data.readonly",
    ];

    /// Every form written as JSON reads back as the same caveat.
    #[test]
    fn caveat_json_is_the_inverse_of_reading() {
        for text in FORMS {
            let json = caveat_json(text);
            assert!(json.is_object(), "{text}: {json}");
            assert_eq!(read(json!([json])).unwrap(), [text], "{text}");
        }
    }

    #[test]
    fn bad_caveats_name_index_and_reason() {
        let cases = [
            (json!([{"type": "time"}]), 0, "validUntil"),
            (
                json!(["time < 1", {"type": "ip", "whitelist": []}]),
                1,
                "non-empty",
            ),
            (json!([{"type": "frobnicate"}]), 0, "unknown caveat type"),
            (json!(["colour = red"]), 0, "no known caveat"),
            (json!(["time < soon"]), 0, "time caveat"),
            (json!(["authorization = none"]), 0, "not allowed"),
            (json!([7]), 0, "object or a string"),
            (
                json!([format!("ip = {}", vec!["10.0.0.1"; 300].join("|"))]),
                0,
                "at most 2048 bytes",
            ),
            (json!(vec!["time < 1"; 65]), 64, "at most 64 caveats"),
        ];
        for (caveats, index, reason) in cases {
            let e = read(caveats.clone()).unwrap_err();
            assert_eq!(e.id, "badValueCaveat", "{caveats}");
            // Onezone's details: the caveat as sent; ours: index and reason in the description.
            assert_eq!(
                e.details,
                Some(json!({ "caveat": caveats[index] })),
                "{caveats}"
            );
            assert!(
                e.description.starts_with(&format!(
                    "Bad value: caveat {index} in \"caveats\" is invalid: "
                )),
                "{}",
                e.description
            );
            assert!(
                e.description.contains(reason),
                "{caveats}: {}",
                e.description
            );
        }
    }
}

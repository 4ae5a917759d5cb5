//! Every response the HTTP suites receive, checked against Onezone's swagger and Onedata's
//! error table ([`check`], called by [`super::send`] and the few raw requests).
//!
//! The reference data are the copies in `tests/data/` (see its README):
//! `onezone-swagger-subset.json` (Swagger 2.0, Onezone 21.02.7) and `onezone-errors.json`
//! (ctool's `errors.erl`). A response passes when
//!
//! - its URL (less `/api/v3/onezone` and the query) matches a swagger path template (literal
//!   segments win over `{templates}`: `/spaces/{id}/providers/token` before
//!   `/spaces/{id}/providers/{pid}`), the method is one of that path's operations and the status
//!   one of that operation's responses;
//! - its body is valid against that response's `schema` (the `jsonschema` crate, draft
//!   2020-12, the swagger's `definitions` resolved in memory: each schema is compiled once, as
//!   `{"$id": "urn:onezone-swagger", "allOf": [<schema>], "definitions": <definitions>}`), or
//!   empty when the response declares no schema;
//! - for a status of 400 or more, the body is `{"error": {"id", "description", "details"?}}`,
//!   the id is in Onedata's table with this very status and these very details keys, and so is
//!   every error nested in its details (`authError`, `tokenError`, `specificError`);
//!
//! or when the difference is one of [`DEVIATIONS`], each with its reason. Anything else panics
//! with the method, URL, status, the schema path that failed and the body.
//!
//! Swagger 2.0 schemas are not quite JSON Schema; [`SCHEMA_REWRITES`] lists the translations
//! made (discriminators, a prose enum, closed objects), and a unit test checks where.
//!
//! With `MACAROON_MINT_SWAGGER_LOG=FILE` every checked response appends `METHOD TEMPLATE
//! STATUS` to FILE (to count what a run covered).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Map, Value};

const SWAGGER: &str = include_str!("../data/onezone-swagger-subset.json");
const ERRORS: &str = include_str!("../data/onezone-errors.json");

/// The swagger's `basePath`.
pub const BASE_PATH: &str = "/api/v3/onezone";

/// The keys of an error's `details` that hold another error (errors.erl's `to_json/1` writes
/// `?ERROR_UNAUTHORIZED(AuthError)` as `"authError": to_json(AuthError)`, and so on).
const NESTED: &[&str] = &["authError", "tokenError", "specificError"];

/// How this service knowingly differs from what the swagger or the error table say.
#[derive(Debug)]
pub enum Deviation {
    /// An error (id, status and details keys) that Onedata's table does not have, or has with
    /// another status; allowed on every operation.
    Error {
        id: &'static str,
        status: u16,
        details: &'static [&'static str],
        reason: &'static str,
    },
    /// A status that the swagger does not declare for `method path` (`"*"`: any method, any
    /// path, also paths the swagger lacks; `""`: a path the swagger lacks). Its body is checked
    /// as an error (`#/definitions/Error` and the error table).
    Status {
        method: &'static str,
        path: &'static str,
        status: u16,
        reason: &'static str,
    },
    /// A body where the swagger's response declares none; checked against `schema` instead.
    Body {
        method: &'static str,
        path: &'static str,
        status: u16,
        schema: fn() -> Value,
        reason: &'static str,
    },
    /// `null` at `pointer` of the body, where the swagger's schema wants another type.
    Null {
        method: &'static str,
        path: &'static str,
        status: u16,
        pointer: &'static str,
        reason: &'static str,
    },
    /// An answer of the HTTP layer (hyper) itself, before any route: this status with an
    /// empty body, on any path.
    Transport { status: u16, reason: &'static str },
    /// A route of ours that the swagger lacks (`path` literal): a success status is checked
    /// against `schema`, an error status as any error.
    Extension {
        method: &'static str,
        path: &'static str,
        status: u16,
        schema: fn() -> Value,
        reason: &'static str,
    },
    /// `HEAD` on a path with a `GET`: checked as that `GET` (its statuses), without a body.
    Head { reason: &'static str },
    /// A property that the swagger's `definition` does not have, valid against `schema`.
    Property {
        definition: &'static str,
        property: &'static str,
        schema: fn() -> Value,
        reason: &'static str,
    },
}

/// Every deliberate difference, with its reason (README, "Token service" and "Hardening").
pub const DEVIATIONS: &[Deviation] = &[
    Deviation::Error {
        id: "notSupported",
        status: 405,
        details: &[],
        reason: "a method the path does not have: JSON 405 (Onedata's table says 400), README",
    },
    Deviation::Error {
        id: "payloadTooLarge",
        status: 413,
        details: &["limit"],
        reason: "a body over 64 KiB (README, Hardening); Onedata has no such id",
    },
    Deviation::Error {
        id: "requestTimeout",
        status: 408,
        details: &[],
        reason: "a body or request that does not arrive in time (README, Hardening)",
    },
    Deviation::Error {
        id: "tooManyRequests",
        status: 429,
        details: &[],
        reason: "password rate limits, with Retry-After (README, Hardening)",
    },
    Deviation::Error {
        id: "serviceUnavailable",
        status: 503,
        details: &[],
        reason:
            "connection, in-flight and password-queue limits, with Retry-After (README, Hardening)",
    },
    Deviation::Status {
        method: "*",
        path: "*",
        status: 405,
        reason: "JSON 405 notSupported for a method this service (or the swagger) lacks",
    },
    Deviation::Status {
        method: "*",
        path: "*",
        status: 408,
        reason: "the request and body timeouts (README, Hardening)",
    },
    Deviation::Status {
        method: "*",
        path: "*",
        status: 413,
        reason: "the 64 KiB body limit (README, Hardening)",
    },
    Deviation::Status {
        method: "*",
        path: "*",
        status: 429,
        reason: "the password rate limits (README, Hardening)",
    },
    Deviation::Status {
        method: "*",
        path: "*",
        status: 503,
        reason: "the connection and in-flight limits, the password queue (README, Hardening)",
    },
    Deviation::Status {
        method: "*",
        path: "",
        status: 404,
        reason: "a path the swagger does not have: the router's fallback, 404 notFound",
    },
    Deviation::Status {
        method: "GET",
        path: "/user",
        status: 401,
        reason: "the swagger omits 401 for GET /user only (every other operation declares it); \
                 Onezone answers it too",
    },
    Deviation::Body {
        method: "POST",
        path: "/users",
        status: 201,
        schema: created_id,
        reason: "201 {\"id\"} besides Onezone's Location (README's endpoint table)",
    },
    Deviation::Body {
        method: "POST",
        path: "/user/spaces",
        status: 201,
        schema: created_id,
        reason: "201 {\"id\"} besides Onezone's Location (README's endpoint table)",
    },
    Deviation::Null {
        method: "POST",
        path: "/tokens/infer_access_token_scope",
        status: 200,
        pointer: "/validUntil",
        reason: "validUntil is null for a token without expiry (README), as ttl is",
    },
    Deviation::Null {
        method: "POST",
        path: "/tokens/infer_access_token_scope",
        status: 200,
        pointer: "/dataAccessScope",
        reason: "null for a provider's token: the swagger's own text says so, its type says \
                 object",
    },
    Deviation::Extension {
        method: "POST",
        path: "/provider/spaces/support",
        status: 201,
        schema: created_id,
        reason: "Onezone 19.02's space support route, which the issue asks to keep as a \
                 documented extension (21.02 consumes support tokens over its internal channel)",
    },
    Deviation::Null {
        method: "POST",
        path: "/tokens/verify_invite_token",
        status: 200,
        pointer: "/ttl",
        reason: "ttl is null for a token without expiry (README; the swagger's own text says \
                 \"or null if infinite\", its type says integer)",
    },
    Deviation::Null {
        method: "POST",
        path: "/tokens/verify_access_token",
        status: 200,
        pointer: "/ttl",
        reason: "ttl is null for a token without expiry (README; the swagger's own text says \
                 \"or null if infinite\", its type says integer)",
    },
    Deviation::Null {
        method: "POST",
        path: "/tokens/verify_identity_token",
        status: 200,
        pointer: "/ttl",
        reason: "ttl is null for a token without expiry (README; the swagger's own text says \
                 \"or null if infinite\", its type says integer)",
    },
    Deviation::Transport {
        status: 408,
        reason: "hyper's header-read timeout: an empty 408 before any route (README, Hardening)",
    },
    Deviation::Transport {
        status: 431,
        reason: "hyper refuses a header over its limit: an empty 431 before any route",
    },
    Deviation::Head {
        reason: "axum answers HEAD on a GET route as that GET without the body (HTTP semantics)",
    },
    Deviation::Property {
        definition: "NamedToken",
        property: "parent",
        schema: string_or_null,
        reason: "the token whose holder minted this one, null after a password login \
                 (README, Hardening)",
    },
];

fn string_or_null() -> Value {
    json!({ "type": ["string", "null"] })
}

/// The body of [`Deviation::Body`] for the two creation endpoints.
/// The operator's probes, outside Onezone's base path and so outside its swagger: liveness
/// (`GET /health`, always `{"status": "ok"}`) and readiness (`GET /ready`, `{"status": "ready"}`
/// or a `503` error). Checked here so that they too are held to a shape.
pub const PROBES: &[(&str, &str)] = &[("/health", "ok"), ("/ready", "ready")];

fn probe_status(status: &str) -> Value {
    json!({
        "type": "object",
        "properties": { "status": { "const": status } },
        "required": ["status"],
        "additionalProperties": false,
    })
}

fn created_id() -> Value {
    json!({
        "type": "object",
        "properties": { "id": { "type": "string" } },
        "required": ["id"],
        "additionalProperties": false,
    })
}

/// The translations of the swagger's Swagger 2.0 schemas into JSON Schema (draft 2020-12).
pub const SCHEMA_REWRITES: &[(&str, &str)] = &[
    (
        "discriminator",
        "a definition with `discriminator` and `x-onedata-subclasses` (Caveat, InviteToken) \
         requires the discriminator to name one subclass and validates the subclass \
         (`if`/`then`); the subclasses' `allOf` point at the base, kept as `<Name>.base`",
    ),
    (
        "documentation enum",
        "an `enum` of strings on a schema of `type: object` (TokenPropertyTokenType lists \
         `\"{accessToken: {}}\"`, … as prose) is dropped: no object equals a string, and the \
         swagger's own examples are objects",
    ),
    (
        "closed object",
        "an object schema with `properties` and no `additionalProperties`, or an `allOf` \
         composition, gets `unevaluatedProperties: false` (an `allOf`'s members and the \
         `.base` definitions are closed by their composition): a property the swagger does not \
         name is a failure unless a `Deviation::Property` adds it",
    ),
];

/// The loaded reference data.
struct Reference {
    swagger: Value,
    /// The swagger's definitions, translated ([`SCHEMA_REWRITES`]).
    definitions: Value,
    /// What the translation did: `(rewrite, definition path)`.
    rewrites: Vec<(&'static str, String)>,
    /// Onedata's errors by id: `(ERROR_ name, status, sorted details keys)` for each form.
    errors: HashMap<String, Vec<(String, u16, Vec<String>)>>,
    /// Compiled validators by schema location.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let swagger: Value = serde_json::from_str(SWAGGER).expect("the swagger is JSON");
        assert_eq!(swagger["basePath"], BASE_PATH);
        let (definitions, rewrites) = translate(&swagger["definitions"]);
        let table: Value = serde_json::from_str(ERRORS).expect("the error table is JSON");
        let mut errors: HashMap<String, Vec<(String, u16, Vec<String>)>> = HashMap::new();
        for (name, entry) in table["errors"].as_object().expect("errors") {
            let status: u16 = entry["http"].as_str().unwrap().parse().unwrap();
            for form in entry["json"].as_array().unwrap() {
                let mut keys: Vec<String> = form["details"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_owned())
                    .collect();
                keys.sort();
                errors
                    .entry(form["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .push((name.clone(), status, keys));
            }
        }
        Reference {
            swagger,
            definitions,
            rewrites,
            errors,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// The swagger's definitions as JSON Schema ([`SCHEMA_REWRITES`]), and where each rewrite was
/// made.
fn translate(definitions: &Value) -> (Value, Vec<(&'static str, String)>) {
    let mut defs = definitions.as_object().expect("definitions").clone();
    let mut rewrites = Vec::new();
    let polymorphic: Vec<String> = defs
        .iter()
        .filter(|(_, d)| d.get("discriminator").is_some())
        .map(|(name, _)| name.clone())
        .collect();
    for name in polymorphic {
        let mut base = defs[&name].clone();
        let base_map = base.as_object_mut().unwrap();
        let discriminator = base_map
            .remove("discriminator")
            .and_then(|d| d.as_str().map(str::to_owned))
            .expect("a discriminator names a property");
        let subclasses: Vec<String> = base_map
            .get("x-onedata-subclasses")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name}: a discriminator without x-onedata-subclasses"))
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        let base_name = format!("{name}.base");
        let base_ref = json!({ "$ref": format!("#/definitions/{base_name}") });
        let mut values = Vec::new();
        let mut branches = vec![base_ref.clone(), Value::Null];
        for subclass in &subclasses {
            let sub = defs
                .get_mut(subclass)
                .unwrap_or_else(|| panic!("{name}: subclass {subclass} is not defined"));
            let parts = sub["allOf"]
                .as_array_mut()
                .unwrap_or_else(|| panic!("{subclass}: a subclass without allOf"));
            let mut value = subclass.clone();
            let mut based = false;
            for part in parts.iter_mut() {
                if part["$ref"] == format!("#/definitions/{name}") {
                    *part = base_ref.clone();
                    based = true;
                }
                if let Some(v) =
                    part["properties"][&discriminator]["x-discriminator-value"].as_str()
                {
                    value = v.to_owned();
                }
            }
            assert!(based, "{subclass}: does not extend {name}");
            branches.push(json!({
                "if": { "properties": { &discriminator: { "const": &value } } },
                "then": { "$ref": format!("#/definitions/{subclass}") },
            }));
            values.push(Value::from(value));
        }
        branches[1] = json!({ "properties": { &discriminator: { "enum": values } } });
        defs.insert(base_name, base);
        defs.insert(name.clone(), json!({ "allOf": branches }));
        rewrites.push(("discriminator", format!("#/definitions/{name}")));
    }
    for deviation in DEVIATIONS {
        if let Deviation::Property {
            definition,
            property,
            schema,
            ..
        } = deviation
        {
            let properties = defs
                .get_mut(*definition)
                .and_then(|d| d.get_mut("properties"))
                .and_then(Value::as_object_mut)
                .unwrap_or_else(|| {
                    panic!("DEVIATIONS: no definition {definition} with properties")
                });
            assert!(
                properties
                    .insert((*property).to_owned(), schema())
                    .is_none(),
                "DEVIATIONS: {definition} already has {property}"
            );
        }
    }
    let mut defs = Value::Object(defs);
    drop_prose_enums(&mut defs, "#/definitions", &mut rewrites);
    for (name, definition) in defs.as_object_mut().unwrap() {
        let at = format!("#/definitions/{}", escape(name));
        // A base is closed by the subclass composing it.
        close_objects(definition, name.ends_with(".base"), &at, &mut rewrites);
    }
    (defs, rewrites)
}

/// Gives each object schema with `properties` (and no `additionalProperties`)
/// `unevaluatedProperties: false` ([`SCHEMA_REWRITES`]), and each `allOf` composition too; the
/// members of an `allOf` (`composed`) are closed by it, not by themselves.
fn close_objects(
    schema: &mut Value,
    composed: bool,
    at: &str,
    rewrites: &mut Vec<(&'static str, String)>,
) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    let closable = map.contains_key("properties") || map.contains_key("allOf");
    if closable && !composed && !map.contains_key("additionalProperties") {
        map.insert("unevaluatedProperties".into(), Value::Bool(false));
        rewrites.push(("closed object", at.to_owned()));
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            let at = format!("{at}/properties/{}", escape(name));
            close_objects(property, false, &at, rewrites);
        }
    }
    for key in ["items", "additionalProperties", "then"] {
        if let Some(sub) = map.get_mut(key) {
            close_objects(sub, false, &format!("{at}/{key}"), rewrites);
        }
    }
    if let Some(Value::Array(members)) = map.get_mut("allOf") {
        for (i, member) in members.iter_mut().enumerate() {
            close_objects(member, true, &format!("{at}/allOf/{i}"), rewrites);
        }
    }
}

/// Drops each `enum` of strings on a schema whose `type` is `object` ([`SCHEMA_REWRITES`]).
fn drop_prose_enums(schema: &mut Value, at: &str, rewrites: &mut Vec<(&'static str, String)>) {
    match schema {
        Value::Object(map) => {
            let prose = map.get("type").and_then(Value::as_str) == Some("object")
                && map
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.iter().all(Value::is_string));
            if prose {
                map.remove("enum");
                rewrites.push(("documentation enum", at.to_owned()));
            }
            for (key, value) in map.iter_mut() {
                drop_prose_enums(value, &format!("{at}/{}", escape(key)), rewrites);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                drop_prose_enums(item, &format!("{at}/{i}"), rewrites);
            }
        }
        _ => {}
    }
}

/// A JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The path of `url` under the swagger's base path (no scheme, host, query or fragment);
/// `None` when it is not under it.
fn api_path(url: &str) -> Option<&str> {
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("/", |j| &url[i + 3 + j..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let rest = path.strip_prefix(BASE_PATH)?;
    rest.starts_with('/').then_some(rest)
}

/// The swagger path template matching `path`: segment by segment, a literal equals, a
/// `{template}` matches any non-empty segment; of several, the one with literals earliest.
fn template_for<'a>(swagger: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    swagger["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').skip(1).collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut rank = Vec::with_capacity(parts.len());
            for (part, segment) in parts.iter().zip(&segments) {
                let templated = part.starts_with('{') && part.ends_with('}');
                if templated {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part != segment {
                    return None;
                }
                rank.push(templated);
            }
            Some((rank, template.as_str()))
        })
        .min()
        .map(|(_, template)| template)
}

/// What a passing check covered: `(METHOD, template or "-", status)`.
pub type Covered = (String, String, u16);

static CHECKED: AtomicUsize = AtomicUsize::new(0);

/// How many responses this process has checked.
pub fn checked() -> usize {
    CHECKED.load(Ordering::SeqCst)
}

/// Checks one response (`body`: its JSON, `Null` when empty) against the swagger and the
/// error table; panics with the method, URL, status, failed schema path and body otherwise.
pub fn check(method: &str, url: &str, status: u16, body: &Value) {
    match verdict(method, url, status, body) {
        Ok((method, template, status)) => {
            CHECKED.fetch_add(1, Ordering::SeqCst);
            if let Some(file) = std::env::var_os("MACAROON_MINT_SWAGGER_LOG") {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
                {
                    let _ = f.write_all(format!("{method} {template} {status}\n").as_bytes());
                }
            }
        }
        Err(problem) => panic!(
            "response not as Onezone's swagger / Onedata's error table say:\n  \
             {method} {url} -> {status}\n  {problem}\n  body: {body}"
        ),
    }
}

/// The check itself: what it covered, or what failed (with the schema path).
pub fn verdict(method: &str, url: &str, status: u16, body: &Value) -> Result<Covered, String> {
    let reference = reference();
    let swagger = &reference.swagger;
    let mut method = method.to_ascii_uppercase();
    let head = method == "HEAD";
    if head {
        method = "GET".into();
        if !body.is_null() {
            return Err("HEAD: a body".into());
        }
    }
    let transport = DEVIATIONS
        .iter()
        .any(|d| matches!(d, Deviation::Transport { status: s, .. } if *s == status));
    let path = api_path(url);
    let plain_path = url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or(url);
    if let Some((probe, answer)) = PROBES.iter().find(|(p, _)| *p == plain_path) {
        let covered = (method.clone(), (*probe).to_owned(), status);
        let at = format!("PROBES {method} {probe} {status}");
        return match (method.as_str(), status) {
            ("GET", 200) => {
                validate(&at, &probe_status(answer), body, &method, probe, status)?;
                Ok(covered)
            }
            ("GET", 503) if *probe == "/ready" => {
                let error = json!({ "$ref": "#/definitions/Error" });
                validate(&at, &error, body, &method, probe, status)?;
                check_error(body, status)?;
                Ok(covered)
            }
            _ => Err(format!(
                "{at}: a probe answers GET with 200 (or /ready 503)"
            )),
        };
    }
    let extension = DEVIATIONS.iter().find_map(|d| match d {
        Deviation::Extension {
            method: m,
            path: p,
            status: s,
            schema,
            ..
        } if *m == method && Some(*p) == path && (*s == status || status >= 400) => {
            Some((*p, *s == status, schema))
        }
        _ => None,
    });
    if let Some((route, success, schema)) = extension {
        let covered = (method.clone(), route.to_owned(), status);
        if success {
            let at = format!("DEVIATIONS Extension {method} {route} {status}");
            validate(&at, &schema(), body, &method, route, status)?;
        } else {
            let error = json!({ "$ref": "#/definitions/Error" });
            validate("#/definitions/Error", &error, body, &method, route, status)?;
            check_error(body, status)?;
        }
        return Ok(covered);
    }
    let template = path.and_then(|p| template_for(swagger, p));
    let covered = (
        if head { "HEAD".into() } else { method.clone() },
        template.unwrap_or("-").to_owned(),
        status,
    );
    if transport && body.is_null() {
        return Ok(covered);
    }
    let label = template.unwrap_or("");
    let operation = template.and_then(|t| swagger["paths"][t].get(method.to_ascii_lowercase()));
    let at = template.map(|t| {
        format!(
            "#/paths/{}/{}/responses/{status}",
            escape(t),
            method.to_ascii_lowercase()
        )
    });
    let declared = operation.and_then(|op| op["responses"].get(status.to_string()));
    match (declared, at) {
        (Some(response), Some(at)) => {
            if head {
                // The GET's status, without its body.
            } else if let Some(schema) = response.get("schema") {
                validate(
                    &format!("{at}/schema"),
                    schema,
                    body,
                    &method,
                    label,
                    status,
                )?;
            } else if let Some(schema) = DEVIATIONS.iter().find_map(|d| match d {
                Deviation::Body {
                    method: m,
                    path: p,
                    status: s,
                    schema,
                    ..
                } if *m == method && *p == label && *s == status => Some(schema),
                _ => None,
            }) {
                let at = format!("DEVIATIONS Body {method} {label} {status}");
                validate(&at, &schema(), body, &method, label, status)?;
            } else if !body.is_null() {
                return Err(format!("{at}: declares no schema, so no body"));
            }
        }
        _ => {
            let allowed = DEVIATIONS.iter().any(|d| match d {
                Deviation::Status {
                    method: m,
                    path: p,
                    status: s,
                    ..
                } => {
                    // `label` is "" for a path the swagger lacks.
                    *s == status && (*m == "*" || *m == method) && (*p == "*" || *p == label)
                }
                _ => false,
            });
            if !allowed {
                return Err(match (template, operation) {
                    (None, _) => format!(
                        "#/paths: no path template matches {}, and no deviation for {status}",
                        path.unwrap_or("(not under the base path)")
                    ),
                    (Some(t), None) => format!(
                        "#/paths/{}: has no {method}, and no deviation for {status}",
                        escape(t)
                    ),
                    (Some(t), Some(_)) => format!(
                        "#/paths/{}/{}/responses: no {status}, and no deviation for it",
                        escape(t),
                        method.to_ascii_lowercase()
                    ),
                });
            }
            if status < 400 {
                return Err(format!("{status}: only error statuses can be deviations"));
            }
            if !head {
                let error = json!({ "$ref": "#/definitions/Error" });
                validate("#/definitions/Error", &error, body, &method, label, status)?;
            }
        }
    }
    if status >= 400 && !head {
        check_error(body, status)?;
    }
    if head
        && !DEVIATIONS
            .iter()
            .any(|d| matches!(d, Deviation::Head { .. }))
    {
        return Err("HEAD is not in the swagger".into());
    }
    Ok(covered)
}

/// Validates `body` against `schema` (a swagger schema at `at`), but for the `null`s that
/// [`Deviation::Null`] allows.
fn validate(
    at: &str,
    schema: &Value,
    body: &Value,
    method: &str,
    path: &str,
    status: u16,
) -> Result<(), String> {
    let reference = reference();
    let validator = {
        let mut cache = reference
            .validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = cache.entry(at.to_owned()).or_insert_with(|| {
            let mut schema = schema.clone();
            close_objects(&mut schema, false, at, &mut Vec::new());
            // A base URI, so that errors name the keyword's place (`…#/definitions/…`).
            let root = json!({
                "$id": "urn:onezone-swagger",
                "allOf": [schema],
                "definitions": reference.definitions,
            });
            Arc::new(
                jsonschema::draft202012::options()
                    .build(&root)
                    .unwrap_or_else(|e| panic!("{at}: not a schema: {e}")),
            )
        });
        Arc::clone(entry)
    };
    let problems: Vec<String> = validator
        .iter_errors(body)
        .filter(|e| {
            let pointer = e.instance_path().as_str();
            !(e.instance().is_null()
                && DEVIATIONS.iter().any(|d| {
                    matches!(d, Deviation::Null { method: m, path: p, status: s, pointer: q, .. }
                        if *m == method && *p == path && *s == status && *q == pointer)
                }))
        })
        .map(|e| {
            // Where the failed keyword is: in the swagger's definitions, or in the schema at
            // `at` itself; and the way there from `at`.
            let via = e.evaluation_path().as_str().trim_start_matches("/allOf/0");
            let keyword = e
                .absolute_keyword_location()
                .and_then(|uri| uri.as_str().split_once('#').map(|(_, f)| f.to_owned()))
                .map(|fragment| match fragment.strip_prefix("/allOf/0") {
                    Some(inline) => format!("{at}{inline}"),
                    None => format!("#{fragment}"),
                })
                .unwrap_or_else(|| format!("{at}{via}"));
            format!(
                "schema {keyword} (from {at}{via}; body at \"{}\"): {e}",
                e.instance_path().as_str()
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n  "))
    }
}

/// Checks an error body against Onedata's error table (and the [`Deviation::Error`]s).
fn check_error(body: &Value, status: u16) -> Result<(), String> {
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    if keys != ["error"] {
        return Err(format!(
            "an error body is {{\"error\": …}} alone, not keys {keys:?}"
        ));
    }
    check_error_object(&body["error"], Some(status), "/error")
        .map_err(|problem| format!("error table (onezone-errors.json), body at {problem}"))
}

/// One error object (`at`: where in the body); `status`: the HTTP status it must have in the
/// table (`None` for a nested error).
fn check_error_object(error: &Value, status: Option<u16>, at: &str) -> Result<(), String> {
    let Some(object) = error.as_object() else {
        return Err(format!("{at}: not an object"));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["id", "description", "details"].contains(&k.as_str()))
    {
        return Err(format!("{at}/{key}: not a key of an error"));
    }
    let Some(id) = object.get("id").and_then(Value::as_str) else {
        return Err(format!("{at}/id: missing or not a string"));
    };
    if !object.get("description").is_some_and(Value::is_string) {
        return Err(format!("{at}/description: missing or not a string"));
    }
    let empty = Map::new();
    let details = match object.get("details") {
        None => &empty,
        Some(Value::Object(details)) => details,
        Some(_) => return Err(format!("{at}/details: not an object")),
    };
    let mut keys: Vec<String> = details.keys().cloned().collect();
    keys.sort();
    let ours = DEVIATIONS.iter().find_map(|d| match d {
        Deviation::Error {
            id: i,
            status: s,
            details,
            ..
        } if *i == id && status.is_none_or(|status| status == *s) => Some(details),
        _ => None,
    });
    if let Some(allowed) = ours {
        let mut allowed: Vec<&str> = allowed.to_vec();
        allowed.sort_unstable();
        if keys != allowed {
            return Err(format!(
                "{at}/details: DEVIATIONS lists {id} with details {allowed:?}, not {keys:?}"
            ));
        }
    } else {
        let Some(forms) = reference().errors.get(id) else {
            return Err(format!("{at}/id: onezone-errors.json has no error {id:?}"));
        };
        let statused: Vec<_> = forms
            .iter()
            .filter(|(_, s, _)| status.is_none_or(|status| status == *s))
            .collect();
        if statused.is_empty() {
            let (name, listed, _) = &forms[0];
            return Err(format!(
                "{at}/id: onezone-errors.json {name} ({id}) has status {listed}, not {}",
                status.unwrap_or(0)
            ));
        }
        if !statused.iter().any(|(_, _, k)| *k == keys) {
            let listed: Vec<_> = statused.iter().map(|(n, _, k)| (n, k)).collect();
            return Err(format!(
                "{at}/details: onezone-errors.json lists {id} with details {listed:?}, not {keys:?}"
            ));
        }
    }
    for key in NESTED {
        if let Some(nested) = details.get(*key) {
            check_error_object(nested, None, &format!("{at}/details/{key}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:1/api/v3/onezone";

    fn rejected(method: &str, path: &str, status: u16, body: Value, expect: &str) {
        let url = format!("{URL}{path}");
        match verdict(method, &url, status, &body) {
            Ok(_) => panic!("{method} {path} {status} {body} was accepted"),
            Err(problem) => assert!(
                problem.contains(expect),
                "{method} {path} {status}: {problem:?} does not say {expect:?}"
            ),
        }
    }

    fn accepted(method: &str, path: &str, status: u16, body: Value) -> Covered {
        let url = format!("{URL}{path}?ignored=1");
        verdict(method, &url, status, &body)
            .unwrap_or_else(|e| panic!("{method} {path} {status} {body}: {e}"))
    }

    #[test]
    fn a_created_named_token_needs_its_fields_with_their_types() {
        let path = "/user/tokens/named";
        accepted(
            "POST",
            path,
            201,
            json!({ "tokenId": "t1", "token": "MDA" }),
        );
        rejected(
            "POST",
            path,
            201,
            json!({ "tokenId": "t1" }),
            "definitions/NamedTokenCreateResponse/required",
        );
        rejected(
            "POST",
            path,
            201,
            json!({ "tokenId": 7, "token": "MDA" }),
            "definitions/TokenPropertyId/type",
        );
        rejected("POST", path, 200, json!({}), "no 200");
    }

    #[test]
    fn error_ids_need_their_table_status_and_details() {
        let path = "/tokens/named/abc";
        let error = |id: &str, details: Option<Value>| {
            let mut e = json!({ "error": { "id": id, "description": "d" } });
            if let Some(details) = details {
                e["error"]["details"] = details;
            }
            e
        };
        accepted("GET", path, 404, error("notFound", None));
        accepted("GET", path, 400, error("badToken", None));
        rejected(
            "GET",
            path,
            404,
            error("badToken", None),
            "ERROR_BAD_TOKEN (badToken) has status 400",
        );
        rejected(
            "GET",
            path,
            400,
            error("noSuchError", None),
            "has no error \"noSuchError\"",
        );
        rejected(
            "GET",
            path,
            404,
            error("notFound", Some(json!({ "key": "x" }))),
            "/error/details",
        );
        rejected(
            "GET",
            path,
            400,
            json!({ "error": { "id": "badToken" } }),
            "definitions/Error",
        );
        // Nested errors are errors of the table too.
        let nested = |id: &str| {
            error(
                "unauthorized",
                Some(json!({ "authError": error(id, None)["error"] })),
            )
        };
        accepted("GET", path, 401, nested("tokenInvalid"));
        rejected(
            "GET",
            path,
            401,
            nested("noSuchError"),
            "/details/authError/id",
        );
        // Ours: only with the status and details listed.
        accepted("GET", path, 405, error("notSupported", None));
        rejected(
            "GET",
            path,
            400,
            error("payloadTooLarge", None),
            "no error \"payloadTooLarge\"",
        );
    }

    #[test]
    fn no_content_means_no_body() {
        let path = "/tokens/named/abc";
        accepted("PATCH", path, 204, Value::Null);
        rejected(
            "PATCH",
            path,
            204,
            json!({}),
            "declares no schema, so no body",
        );
        rejected("PATCH", path, 204, json!({ "revoked": true }), "no body");
    }

    #[test]
    fn literal_segments_win_and_unknown_routes_need_a_deviation() {
        let (_, template, _) = accepted(
            "POST",
            "/spaces/s1/providers/token",
            200,
            json!({ "token": "t" }),
        );
        assert_eq!(template, "/spaces/{id}/providers/token");
        let (_, template, _) = accepted(
            "GET",
            "/spaces/s1/providers/p1",
            404,
            json!({ "error": { "id": "notFound", "description": "d" } }),
        );
        assert_eq!(template, "/spaces/{id}/providers/{pid}");
        let (_, template, _) = accepted(
            "GET",
            "/user/tokens/named/name/n1",
            404,
            json!({ "error": { "id": "notFound", "description": "d" } }),
        );
        assert_eq!(template, "/user/tokens/named/name/{name}");
        rejected(
            "GET",
            "/no-such-route",
            200,
            json!({}),
            "no path template matches",
        );
        rejected("POST", "/user", 201, Value::Null, "has no POST");
    }

    #[test]
    fn caveats_and_invites_follow_their_subclass() {
        let token = |caveats: Value, token_type: Value| {
            json!({
                "id": "t1", "name": "n", "subject": { "type": "user", "id": "u" },
                "type": token_type, "caveats": caveats, "revoked": false,
            })
        };
        let access = json!({ "accessToken": {} });
        let path = "/tokens/named/t1";
        accepted(
            "GET",
            path,
            200,
            token(json!([{ "type": "time", "validUntil": 5 }]), access.clone()),
        );
        rejected(
            "GET",
            path,
            200,
            token(json!([{ "type": "time" }]), access.clone()),
            "definitions/time/required",
        );
        rejected(
            "GET",
            path,
            200,
            token(json!([{ "type": "colour" }]), access.clone()),
            "enum",
        );
        rejected(
            "GET",
            path,
            200,
            token(json!([{ "type": "ip", "whitelist": "x" }]), access),
            "definitions/ip",
        );
        let invite = json!({ "inviteToken": { "inviteType": "supportSpace", "spaceId": "s1" } });
        accepted("GET", path, 200, token(json!([]), invite));
        let invite =
            json!({ "inviteToken": { "inviteType": "supportSpace", "adminUserId": "s1" } });
        rejected(
            "GET",
            path,
            200,
            token(json!([]), invite),
            "definitions/supportSpace/required",
        );
    }

    /// A property the swagger does not name fails, unless a deviation adds it.
    #[test]
    fn objects_are_closed() {
        let path = "/tokens/named/t1";
        let mut record = json!({
            "id": "t1", "name": "n", "subject": { "type": "user", "id": "u" },
            "type": { "accessToken": {} }, "caveats": [], "revoked": false,
            "metadata": { "creationTime": 1 }, "parent": "named:t0",
        });
        accepted("GET", path, 200, record.clone());
        record["parent"] = Value::Null;
        accepted("GET", path, 200, record.clone());
        record["parent"] = json!(5);
        rejected("GET", path, 200, record.clone(), "/parent");
        record["parent"] = Value::Null;
        record["colour"] = json!("red");
        rejected(
            "GET",
            path,
            200,
            record.clone(),
            "definitions/NamedToken/unevaluatedProperties",
        );
        record.as_object_mut().unwrap().remove("colour");
        record["caveats"] = json!([{ "type": "time", "validUntil": 5, "colour": "red" }]);
        rejected("GET", path, 200, record.clone(), "unevaluatedProperties");
        record["caveats"] = json!([]);
        record["type"] = json!({ "accessToken": {}, "colour": {} });
        rejected(
            "GET",
            path,
            200,
            record,
            "definitions/TokenPropertyTokenType/unevaluatedProperties",
        );
        let user = "/user/tokens/temporary";
        accepted("POST", user, 201, json!({ "token": "t" }));
        rejected(
            "POST",
            user,
            201,
            json!({ "token": "t", "id": "x" }),
            "responses/201/schema/unevaluatedProperties",
        );
    }

    #[test]
    fn deviations_are_narrow() {
        let path = "/tokens/verify_invite_token";
        let subject = json!({ "type": "user", "id": "u" });
        accepted(
            "POST",
            path,
            200,
            json!({ "subject": subject, "ttl": null }),
        );
        accepted("POST", path, 200, json!({ "subject": subject, "ttl": 5 }));
        rejected(
            "POST",
            path,
            200,
            json!({ "subject": subject, "ttl": "5" }),
            "/ttl",
        );
        rejected("POST", path, 200, json!({ "subject": subject }), "required");
        accepted("POST", "/users", 201, json!({ "id": "u" }));
        rejected("POST", "/users", 201, json!({ "id": 1 }), "DEVIATIONS Body");
        accepted("HEAD", "/user", 401, Value::Null);
        rejected("HEAD", "/user", 401, json!({}), "HEAD: a body");
        accepted("GET", "/user", 431, Value::Null);
        rejected(
            "GET",
            "/user",
            431,
            json!({ "error": { "id": "badMessage", "description": "d", "details": { "message": "m" } } }),
            "no 431",
        );
    }

    /// The translation touches exactly the definitions [`SCHEMA_REWRITES`] names.
    #[test]
    fn the_swagger_needs_only_the_listed_rewrites() {
        let mut made: Vec<(&str, &str)> = reference()
            .rewrites
            .iter()
            .map(|(kind, at)| (*kind, at.as_str()))
            .collect();
        made.sort_unstable();
        let closed = |at: &str| made.contains(&("closed object", at));
        assert!(closed("#/definitions/NamedToken"));
        assert!(closed("#/definitions/time"));
        assert!(closed("#/definitions/Caveat"));
        assert!(!closed("#/definitions/Caveat.base"));
        assert!(!closed("#/definitions/time/allOf/1"));
        made.retain(|(kind, _)| *kind != "closed object");
        assert_eq!(
            made,
            [
                ("discriminator", "#/definitions/Caveat"),
                ("discriminator", "#/definitions/InviteToken"),
                ("documentation enum", "#/definitions/TokenPropertyTokenType"),
            ]
        );
        for (kind, _) in &made {
            assert!(SCHEMA_REWRITES.iter().any(|(k, _)| k == kind));
        }
    }
}

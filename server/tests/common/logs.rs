//! The service's logs during a test run, and the secrets the run handed to it.
//!
//! [`capture`] installs (once per test binary) a subscriber writing every event at every level,
//! as JSON lines, into one buffer. [`send`](super::send) registers each secret a request carries
//! (passwords, credentials, tokens) and each token an answer carries; servers register their
//! root keys. [`check_no_secret_logged`] then compares what was logged with what was
//! registered: each call checks the lines and secrets new since the last one against all of the
//! other kind, so the last server of a run to stop has checked every line against every secret.

use std::collections::BTreeSet;
use std::io;
use std::sync::{Mutex, Once, PoisonError};

use serde_json::Value;

/// Secrets shorter than this are not registered: a two- or three-letter password could occur in
/// harmless text. The suites' passwords (`pw-a` and longer), tokens and keys are all longer.
const MIN_SECRET_LEN: usize = 4;

#[derive(Default)]
struct Ledger {
    lines: Vec<String>,
    /// An incomplete last line.
    partial: Vec<u8>,
    secrets: Vec<String>,
    known: BTreeSet<String>,
    /// `lines[..lines_checked]` were checked against `secrets[..secrets_checked]`.
    lines_checked: usize,
    secrets_checked: usize,
}

static LEDGER: Mutex<Option<Ledger>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Ledger) -> T) -> T {
    let mut guard = LEDGER.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(Ledger::default))
}

struct Capture;

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        with(|ledger| {
            ledger.partial.extend_from_slice(buf);
            while let Some(end) = ledger.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = ledger.partial.drain(..=end).collect();
                ledger
                    .lines
                    .push(String::from_utf8_lossy(&line[..end]).into_owned());
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per process).
pub fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Capture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
    });
}

/// Registers a secret the service must never log: as it is and as a JSON string holds it (the
/// lines are JSON, so a secret with a quote or a backslash would be logged escaped).
pub fn secret(text: &str) {
    if text.len() < MIN_SECRET_LEN {
        return;
    }
    let quoted = serde_json::to_string(text).expect("a string serializes");
    let escaped = &quoted[1..quoted.len() - 1];
    with(|ledger| {
        for form in [text, escaped] {
            if ledger.known.insert(form.to_owned()) {
                ledger.secrets.push(form.to_owned());
            }
        }
    });
}

/// Registers a token: its text, and its signature in hex (what a careless log line would print
/// of a parsed token) when it parses in any format.
pub fn token(text: &str) {
    secret(text);
    let signature = macaroon_mint::onedata::OnedataToken::parse(text)
        .map(|token| token.macaroon().signature_hex())
        .or_else(|_| macaroon_mint::Macaroon::parse(text).map(|m| m.signature_hex()));
    if let Ok(hex) = signature {
        secret(&hex);
    }
}

/// Registers the secrets in an `Authorization`, `X-Auth-Token` or `Macaroon` header value.
pub fn credential_header(value: &str) {
    use base64::Engine as _;
    secret(value);
    if let Some(encoded) = value.strip_prefix("Basic ") {
        secret(encoded);
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(encoded) {
            let raw = String::from_utf8_lossy(&raw).into_owned();
            if let Some((_, password)) = raw.split_once(':') {
                secret(password);
            }
        }
    } else {
        token(value.strip_prefix("Bearer ").unwrap_or(value));
    }
}

/// Registers every string under a `password` or `token` key of `json` (a request or answer).
pub fn secrets_in(json: &Value) {
    match json {
        Value::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("password", Value::String(text)) => secret(text),
                    ("token", Value::String(text)) => token(text),
                    _ => secrets_in(value),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(secrets_in),
        _ => {}
    }
}

/// Every line captured so far, parsed (lines that are not JSON objects are a failure).
pub fn lines() -> Vec<Value> {
    with(|ledger| ledger.lines.clone())
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line not JSON ({e}): {line}"))
        })
        .collect()
}

/// The request lines (`"message": "request"`) of requests sent with this `X-Request-Id`; each
/// also carries the service's own id, which is checked to be unique among them.
pub fn request_lines(client_request_id: &str) -> Vec<Value> {
    let found: Vec<Value> = lines()
        .into_iter()
        .filter(|line| {
            line["message"] == "request" && line["client_request_id"] == client_request_id
        })
        .collect();
    for line in &found {
        let ours = line["request_id"]
            .as_str()
            .expect("every request line has request_id");
        let same = with(|ledger| {
            ledger
                .lines
                .iter()
                .filter(|l| l.contains(&format!("\"request_id\":\"{ours}\"")))
                .count()
        });
        assert_eq!(same, 1, "the service's request id {ours} is not unique");
    }
    found
}

/// Fails naming the secret and the line when a line captured so far holds a secret registered
/// so far (each pair is compared once over the run).
pub fn check_no_secret_logged() {
    let found = with(|ledger| {
        let (lines, secrets) = (ledger.lines.len(), ledger.secrets.len());
        let new_lines = &ledger.lines[ledger.lines_checked..lines];
        let old_lines = &ledger.lines[..ledger.lines_checked];
        let new_secrets = &ledger.secrets[ledger.secrets_checked..secrets];
        let all_secrets = &ledger.secrets[..secrets];
        let leak = new_lines
            .iter()
            .find_map(|line| {
                all_secrets
                    .iter()
                    .find(|s| line.contains(s.as_str()))
                    .map(|s| (s.clone(), line.clone()))
            })
            .or_else(|| {
                old_lines.iter().find_map(|line| {
                    new_secrets
                        .iter()
                        .find(|s| line.contains(s.as_str()))
                        .map(|s| (s.clone(), line.clone()))
                })
            });
        ledger.lines_checked = lines;
        ledger.secrets_checked = secrets;
        leak
    });
    if let Some((secret, line)) = found {
        panic!("a secret was logged: {secret:?} in {line}");
    }
}

/// How many lines and secrets the run has seen.
pub fn counts() -> (usize, usize) {
    with(|ledger| (ledger.lines.len(), ledger.secrets.len()))
}

//! Helpers shared by the server's integration tests: the PostgreSQL test database.
//!
//! The PostgreSQL variants of the tests run when `MACAROON_MINT_TEST_DATABASE_URL` names a
//! database (`eval "$(scripts/start-test-postgres)"` starts one and sets it). Without it they
//! print a `skipped:` line and pass, unless `MACAROON_MINT_REQUIRE_POSTGRES=1` (CI sets it), in
//! which case they fail. Each test works in a fresh schema ([`PgTestSchema`]), dropped at the
//! end.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

pub mod cut;
pub mod logs;
pub mod swagger;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable naming the test database (`postgres://user:password@host:port/database`).
pub const DATABASE_URL_VAR: &str = "MACAROON_MINT_TEST_DATABASE_URL";
/// Set to `1` to make a missing or unreachable test database fail the PostgreSQL tests.
pub const REQUIRE_POSTGRES_VAR: &str = "MACAROON_MINT_REQUIRE_POSTGRES";

/// Whether `MACAROON_MINT_REQUIRE_POSTGRES=1`.
pub fn postgres_required() -> bool {
    std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v.trim() == "1")
}

/// The test database URL. When `MACAROON_MINT_TEST_DATABASE_URL` is unset (or empty) it prints
/// `skipped: MACAROON_MINT_TEST_DATABASE_URL not set` (straight to stderr, so it shows without
/// `--nocapture`) and returns `None` — or panics when `MACAROON_MINT_REQUIRE_POSTGRES=1`.
pub fn postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                !postgres_required(),
                "{REQUIRE_POSTGRES_VAR}=1 but {DATABASE_URL_VAR} is not set \
                 (eval \"$(scripts/start-test-postgres)\" starts a test database)"
            );
            let test = std::thread::current()
                .name()
                .unwrap_or("a PostgreSQL test")
                .to_owned();
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {DATABASE_URL_VAR} not set"
            );
            None
        }
    }
}

/// A schema name no other test (in this or another test process) uses:
/// `t_<pid>_<nanoseconds>_<counter>`, valid for `PostgresStore::connect_in_schema`.
pub fn fresh_pg_schema_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t_{}_{nanos}_{n}", std::process::id())
}

/// Drops a test schema and everything in it (best effort: errors are printed, not raised).
///
/// It runs on a thread of its own, so it may be called from anywhere, even inside a tokio
/// runtime (the synchronous `postgres` client must not block a runtime thread).
pub fn drop_pg_schema(url: &str, schema: &str) {
    assert!(
        !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "not a test schema name: {schema:?}"
    );
    let url = url.to_owned();
    let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    let result = std::thread::spawn(move || -> Result<(), postgres::Error> {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        client.batch_execute(&sql)
    })
    .join();
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "dropping schema {schema}: {e}");
        }
        Err(_) => {
            let _ = writeln!(std::io::stderr(), "dropping schema {schema}: panicked");
        }
    }
}

/// A fresh schema in the test database, dropped (with its tables) when this goes out of scope.
/// Drop every store using it first.
#[derive(Debug)]
pub struct PgTestSchema {
    /// The test database URL.
    pub url: String,
    /// The schema name, for `PostgresStore::connect_in_schema`.
    pub name: String,
}

impl PgTestSchema {
    /// A fresh schema name in the test database; `None` (after the `skipped:` line) when no test
    /// database is configured. The schema itself is created by `connect_in_schema`.
    pub fn new() -> Option<PgTestSchema> {
        Some(PgTestSchema {
            url: postgres_url()?,
            name: fresh_pg_schema_name(),
        })
    }
}

impl Drop for PgTestSchema {
    fn drop(&mut self) {
        drop_pg_schema(&self.url, &self.name);
    }
}

/// The `Authorization` value for HTTP basic credentials.
pub fn basic(auth: (&str, &str)) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", auth.0, auth.1);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Sends a prepared request (with `body` as JSON, if any) and reads the answer, whatever its
/// status: the status, the `Retry-After` header and the JSON body (`Null` when empty). Every
/// answer is checked against Onezone's swagger and Onedata's error table ([`swagger::check`]).
pub fn send(
    request: ureq::Request,
    body: Option<serde_json::Value>,
) -> (u16, Option<String>, serde_json::Value) {
    let (status, mut headers, json) = send_keeping(request, body, &["retry-after"]);
    (status, headers.remove(0), json)
}

/// As [`send`], keeping the answer's headers named in `keep` (in that order).
pub fn send_keeping(
    request: ureq::Request,
    body: Option<serde_json::Value>,
    keep: &[&str],
) -> (u16, Vec<Option<String>>, serde_json::Value) {
    let (method, url) = (request.method().to_owned(), request.url().to_owned());
    for name in ["authorization", "x-auth-token", "macaroon"] {
        if let Some(value) = request.header(name) {
            logs::credential_header(value);
        }
    }
    if let Some(body) = &body {
        logs::secrets_in(body);
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let kept = keep
        .iter()
        .map(|name| response.header(name).map(str::to_owned))
        .collect();
    let text = response.into_string().unwrap();
    let json = answer(&method, &url, status, &text);
    logs::secrets_in(&json);
    (status, kept, json)
}

/// A response body read some other way than [`send`] (`text`: as received): its JSON (`Null`
/// when empty), checked like [`send`]'s against the swagger and the error table.
pub fn answer(method: &str, url: &str, status: u16, text: &str) -> serde_json::Value {
    let json = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{method} {url} -> {status}: not JSON ({e}): {text}"))
    };
    swagger::check(method, url, status, &json);
    json
}

//! Failures: what went wrong, its exit code, and how it is reported (one line, or JSON).

use std::io::Write;
use std::process::ExitCode;

use macaroon_mint::onedata::OnedataError;
use macaroon_mint::{Error, ErrorClass};
use serde_json::{json, Value};

/// A failure, with the exit code it maps to.
pub(crate) enum Failure {
    /// Usage or input error: exit 2.
    Input(String, Option<Box<Error>>),
    /// Output could not be written (standard output full, closed, …): exit 2.
    Io(String),
    /// The token does not verify: exit 1.
    Invalid(String, Option<Box<Error>>),
    /// An Onedata profile error: exit 1 for an invalid token, 2 for input that cannot be read.
    Onedata(Box<OnedataError>),
}

impl From<OnedataError> for Failure {
    fn from(e: OnedataError) -> Self {
        Failure::Onedata(Box::new(e))
    }
}

/// The library's classification decides the exit code: a token that does not authorize is
/// exit 1, anything malformed or misused exit 2.
impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match e.class() {
            ErrorClass::NotAuthorized => Failure::Invalid(e.to_string(), Some(Box::new(e))),
            _ => Failure::Input(e.to_string(), Some(Box::new(e))),
        }
    }
}

pub(crate) fn input_error(message: impl Into<String>) -> Failure {
    Failure::Input(message.into(), None)
}

/// The exit code of an Onedata profile error: 2 for input that cannot be read (or minting
/// options that cannot be used), 1 for a token that does not verify.
pub(crate) fn onedata_exit_code(e: &OnedataError) -> u8 {
    match e.class() {
        ErrorClass::NotAuthorized => 1,
        _ => 2,
    }
}

/// The one-line message of an Onedata profile error, with a hint for the CLI option to use.
pub(crate) fn onedata_message(e: &OnedataError) -> String {
    match e {
        OnedataError::GenerationUnknown { .. } => format!("{e} (give it with --generation)"),
        OnedataError::TemporaryWithoutExpiry => "a temporary token needs an expiry: give --ttl \
             (Onezone requires a \"time < N\" caveat on temporary tokens)"
            .to_owned(),
        _ => e.to_string(),
    }
}

/// The library's JSON shape of the error, with the CLI's message (which names the option to use).
pub(crate) fn onedata_error_json(e: &OnedataError) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_else(|j| internal_json_error(&j));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("message".into(), json!(onedata_message(e)));
    }
    v
}

/// The library's JSON shape of the error: `kind`, `reason`, `message` and the fields locating it.
pub(crate) fn error_json(e: &Error) -> Value {
    serde_json::to_value(e).unwrap_or_else(|j| internal_json_error(&j))
}

/// Serializing the library's errors cannot fail (string keys only); should it ever, say so.
pub(crate) fn internal_json_error(e: &serde_json::Error) -> Value {
    json!({ "kind": "internal", "message": format!("internal JSON error: {e}") })
}

/// Writes `text` and a line feed to standard output; a failed write is an input/output error.
pub(crate) fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Io(format!("writing standard output: {e}")))
}

/// Writes one line to standard error; if even that fails there is nowhere left to report it.
pub(crate) fn write_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Reports a failure on standard error (one line, JSON with `--json`) and gives its exit code.
pub(crate) fn report(failure: &Failure, as_json: bool) -> ExitCode {
    let (code, message, err, kind) = match failure {
        Failure::Input(m, e) => (2, m.clone(), e.as_deref(), "usage"),
        Failure::Io(m) => (2, m.clone(), None, "io"),
        Failure::Invalid(m, e) => (1, format!("invalid: {m}"), e.as_deref(), "usage"),
        Failure::Onedata(e) => return report_onedata(e, as_json),
    };
    if as_json {
        let mut v = err.map_or_else(|| json!({ "message": message, "kind": kind }), error_json);
        if let (Some(obj), Failure::Invalid(..)) = (v.as_object_mut(), failure) {
            obj.insert("valid".into(), json!(false));
        }
        write_stderr(&json!({ "error": v }).to_string());
    } else {
        write_stderr(&format!("macaroon-mint: {message}"));
    }
    ExitCode::from(code)
}

/// Reports an Onedata profile error like [`report`]: "invalid: …" and exit 1 for a token that
/// does not verify, exit 2 for input that cannot be read.
pub(crate) fn report_onedata(e: &OnedataError, as_json: bool) -> ExitCode {
    let code = onedata_exit_code(e);
    if as_json {
        let mut v = onedata_error_json(e);
        if let (Some(obj), 1) = (v.as_object_mut(), code) {
            obj.insert("valid".into(), json!(false));
        }
        write_stderr(&json!({ "error": v }).to_string());
    } else if code == 1 {
        write_stderr(&format!("macaroon-mint: invalid: {}", onedata_message(e)));
    } else {
        write_stderr(&format!("macaroon-mint: {}", onedata_message(e)));
    }
    ExitCode::from(code)
}

/// Reports a command line clap refused (or `--help` / `--version`, which it prints).
pub(crate) fn report_usage(e: &clap::Error) -> ExitCode {
    // Arguments need not be UTF-8 (that may be the very error): look at them as OsStr.
    let as_json = std::env::args_os().skip(1).any(|a| a == "--json");
    if !e.use_stderr() {
        // --help and --version
        return match e.print() {
            Ok(()) => ExitCode::SUCCESS,
            Err(io) => report(
                &Failure::Io(format!("writing standard output: {io}")),
                as_json,
            ),
        };
    }
    // clap's report is several lines; keep its first paragraph, the one that says what is
    // wrong, on one line.
    let rendered = e.to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = paragraph.join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    if as_json {
        write_stderr(&json!({ "error": { "kind": "usage", "message": message } }).to_string());
    } else {
        write_stderr(&format!("macaroon-mint: {message} (see --help)"));
    }
    ExitCode::from(2)
}

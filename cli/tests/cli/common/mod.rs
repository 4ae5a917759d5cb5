//! Helpers shared by the CLI test modules: run the built binary and check its exit code, stdout
//! and its one-line stderr.
// Each module uses a different subset.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;

/// TV7's provider registration token (SPEC §11.7).
pub const TV7_ROP: &str = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVjaWRlbnRpZmllciAyL25tZC91c3ItaW52aXRhdGlvbi1zZW5kZXIvcm9wOkFkbWluVXNlcklkOi8xMjM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBlCjAwMmZzaWduYXR1cmUgeqAZjO01V9inEh02PXkeRIj2256WD71TxRyBXLrlLqG4sK";

/// The damaged tokens printed in the Onedata docs (SPEC §14) and their strict errors.
pub const DAMAGED_A: &str = "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8";
pub const DAMAGED_B: &str =
    "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaWVyIHZjUGlIcGkweGZta1ZOdEp00eUNINVNvR2001Wl";
pub const DAMAGED_C: &str = "JKAxNWxvY2F0aW9uIG9uZXpvbmUKMDAzYmlkZW50aWZpZXIgOEhmSEFSSGdrbHFCa1pWSTRsNk1CVHZTU3Z0OThwcHA2OTQ4czhRN1NPawowMDFhY2lkIHRpbWUgPCAxNDk2MTQwMTQ0CjAwMmZzaWduYXR1cmUg88OI1d24c36707d99197c6cd995810a43aca";
pub const DAMAGED_A_ERROR: &str = "base62: character '-' at offset 47 is not allowed";
pub const DAMAGED_B_ERROR: &str =
    "base64: final character 'l' at 88 has non-zero trailing bits (truncated text)";
pub const DAMAGED_C_ERROR: &str =
    "v1: packet header at byte 0 (character 0) is not four hex digits";

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn cmd() -> Command {
    Command::cargo_bin("macaroon-mint").expect("binary macaroon-mint is built")
}

pub fn run_cmd(mut c: Command) -> Out {
    let out = c.output().expect("macaroon-mint runs");
    Out {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

pub fn run(args: &[&str]) -> Out {
    let mut c = cmd();
    c.args(args);
    run_cmd(c)
}

pub fn run_stdin(args: &[&str], stdin: &str) -> Out {
    let mut c = cmd();
    c.args(args).write_stdin(stdin.to_owned());
    run_cmd(c)
}

/// Runs a command that must succeed with nothing on stderr; returns stdout without its final LF.
pub fn ok(args: &[&str]) -> String {
    check_ok(run(args), args)
}

pub fn check_ok(o: Out, args: &[&str]) -> String {
    assert_eq!(
        o.code, 0,
        "expected exit 0 for {args:?}\nstdout: {}\nstderr: {}",
        o.stdout, o.stderr
    );
    assert_eq!(o.stderr, "", "no stderr on success for {args:?}");
    assert!(o.stdout.ends_with('\n'), "stdout ends with a newline");
    o.stdout.trim_end_matches('\n').to_owned()
}

/// Asserts the exit code and that stderr is exactly one line `macaroon-mint: …`; returns the
/// message after the prefix.
pub fn fails(o: &Out, code: i32) -> String {
    row_fails("", o, code)
}

/// [`fails`] for one row of a table: every failure message starts with the row's name, so a
/// failure says which case broke.
pub fn row_fails(row: &str, o: &Out, code: i32) -> String {
    let row = row_label(row);
    assert_eq!(
        o.code, code,
        "{row}expected exit {code}\nstdout: {}\nstderr: {}",
        o.stdout, o.stderr
    );
    let line = one_line(&row, &o.stderr);
    line.strip_prefix("macaroon-mint: ")
        .unwrap_or_else(|| panic!("{row}stderr line starts with `macaroon-mint: `: {line:?}"))
        .to_owned()
}

fn row_label(row: &str) -> String {
    if row.is_empty() {
        String::new()
    } else {
        format!("{row}: ")
    }
}

fn one_line<'a>(row: &str, stderr: &'a str) -> &'a str {
    let line = stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{row}stderr ends with a newline: {stderr:?}"));
    assert!(
        !line.is_empty() && !line.contains('\n'),
        "{row}stderr is exactly one line: {stderr:?}"
    );
    line
}

/// Asserts the exit code and that stderr is exactly one JSON line `{"error": {...}}`.
pub fn fails_json(o: &Out, code: i32) -> Value {
    row_fails_json("", o, code)
}

/// [`fails_json`] for one row of a table, naming the row in every failure message.
pub fn row_fails_json(row: &str, o: &Out, code: i32) -> Value {
    let row = row_label(row);
    assert_eq!(
        o.code, code,
        "{row}expected exit {code}\nstdout: {}\nstderr: {}",
        o.stdout, o.stderr
    );
    let line = one_line(&row, &o.stderr);
    let v: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{row}stderr is one JSON value ({e}): {line:?}"));
    let err = v
        .get("error")
        .unwrap_or_else(|| panic!("{row}stderr JSON has an `error` object: {v}"))
        .clone();
    assert!(
        err.get("message").and_then(Value::as_str).is_some(),
        "{row}error has a message: {err}"
    );
    err
}

/// The value at a JSON pointer, Null where there is none (as indexing a `Value` gives), so a
/// table row can name a field deep in a report.
pub fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

pub fn inspect_json(token: &str) -> Value {
    let out = ok(&["--json", "inspect", token]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("inspect --json prints JSON ({e}): {out}"))
}

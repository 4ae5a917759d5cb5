//! End-to-end tests of the `macaroon-mint` binary (DESIGN §4): every subcommand on its normal
//! path, every exit code (0 valid, 1 does not verify, 2 usage or input error), the one-line error
//! contract (plain and `--json`), the SPEC §11 vectors reproduced through the CLI, and the SPEC §14
//! damaged Onedata examples.

use crate::common::*;
use serde_json::{json, Value};

// --- SPEC §11.1 (TV1) -------------------------------------------------------------------------

const TV1_KEY: &str = "this is our super secret key; only we should know it";
const TV1_ID: &str = "we used our secret key";
const TV1_LOC: &str = "http://mybank/";
const ACCOUNT: &str = "account = 3735928559";
const TIME_2020: &str = "time < 2020-01-01T00:00";
const EMAIL: &str = "email = alice@example.org";

const TV1_V1_NO_CAVEATS: &str = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo";
const TV1_V1_ACCOUNT: &str = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDJmc2lnbmF0dXJlIB7-R2PykNvODB0IR3Nn4R9O7kVqZJM89mLXl3LbuCEoCg";
const TV1_V2_ACCOUNT: &str = "AgEOaHR0cDovL215YmFuay8CFndlIHVzZWQgb3VyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQAABiAe_kdj8pDbzgwdCEdzZ-EfTu5FamSTPPZi15dy27ghKA";
const TV1_V1_THREE: &str = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIwLTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0dXJlIN31U-Rgg-VbjXGrgivj2PzyHWvxnEDWF7uftDiTRHS2Cg";
const TV1_V2_THREE: &str = "AgEOaHR0cDovL215YmFuay8CFndlIHVzZWQgb3VyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQACF3RpbWUgPCAyMDIwLTAxLTAxVDAwOjAwAAIZZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwAABiDd9VPkYIPlW41xq4Ir49j88h1r8ZxA1he7n7Q4k0R0tg";
const TV1_V2J_THREE: &str = r#"{"v":2,"l":"http://mybank/","i":"we used our secret key","c":[{"i":"account = 3735928559"},{"i":"time < 2020-01-01T00:00"},{"i":"email = alice@example.org"}],"s64":"3fVT5GCD5VuNcauCK-PY_PIda_GcQNYXu5-0OJNEdLY"}"#;
const TV1_SIG_NO_CAVEATS: &str = "e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f";
const TV1_SIG_ACCOUNT: &str = "1efe4763f290dbce0c1d08477367e11f4eee456a64933cf662d79772dbb82128";
const TV1_SIG_THREE: &str = "ddf553e46083e55b8d71ab822be3d8fcf21d6bf19c40d617bb9fb438934474b6";
/// README "incompetent hackers" negative: parses, fails with a signature mismatch.
const TV1_NEGATIVE: &str = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNl\nY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIw\nLTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0\ndXJlID8f19FL+bkC9p/aoMmIecC7GxdOcLVyUnrv6lJMM7NSCg==\n";

// --- SPEC §11.2 (TV2) -------------------------------------------------------------------------

const TV2_KEY: &str = "this is a different super-secret key; never use the same secret twice";
const TV2_ID: &str = "we used our other secret key";
const TV2_CAVEAT_KEY: &str = "4; guaranteed random by a fair toss of the dice";
const TV2_CID: &str = "this was how we remind auth of key/pred";
const TV2_CL: &str = "http://auth.mybank/";
const ZERO_NONCE: &str = "000000000000000000000000000000000000000000000000";
const TV2_ROOT_V1: &str = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMmNpZGVudGlmaWVyIHdlIHVzZWQgb3VyIG90aGVyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDMwY2lkIHRoaXMgd2FzIGhvdyB3ZSByZW1pbmQgYXV0aCBvZiBrZXkvcHJlZAowMDUxdmlkIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAANNuxQLgWIbR8CefBV-lJVTRbRbBsUB0u7g_8P3XncL-CY8O1KKwkRMOa120aiCoawowMDFiY2wgaHR0cDovL2F1dGgubXliYW5rLwowMDJmc2lnbmF0dXJlINJ9sv0fInYOTD2ugTfi2Pwd9sB0HBiu1LlyVr940fVcCg";
const TV2_ROOT_V2: &str = "AgEOaHR0cDovL215YmFuay8CHHdlIHVzZWQgb3VyIG90aGVyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQABE2h0dHA6Ly9hdXRoLm15YmFuay8CJ3RoaXMgd2FzIGhvdyB3ZSByZW1pbmQgYXV0aCBvZiBrZXkvcHJlZARIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhrAAAGINJ9sv0fInYOTD2ugTfi2Pwd9sB0HBiu1LlyVr940fVc";
const TV2_ROOT_V2J: &str = r#"{"v":2,"l":"http://mybank/","i":"we used our other secret key","c":[{"i":"account = 3735928559"},{"i":"this was how we remind auth of key/pred","v64":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhr","l":"http://auth.mybank/"}],"s64":"0n2y_R8idg5MPa6BN-LY_B32wHQcGK7UuXJWv3jR9Vw"}"#;
const TV2_ROOT_SIG: &str = "d27db2fd1f22760e4c3dae8137e2d8fc1df6c0741c18aed4b97256bf78d1f55c";
const TV2_DISCHARGE_UNBOUND_V1: &str = "MDAyMWxvY2F0aW9uIGh0dHA6Ly9hdXRoLm15YmFuay8KMDAzN2lkZW50aWZpZXIgdGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkCjAwMjBjaWQgdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAKMDAyZnNpZ25hdHVyZSAu0QSYdunVhAlQJ0tXmwdwMX31TTONnTA5x8Z9DZHWPAo";
const TV2_DISCHARGE_BOUND_V1: &str = "MDAyMWxvY2F0aW9uIGh0dHA6Ly9hdXRoLm15YmFuay8KMDAzN2lkZW50aWZpZXIgdGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkCjAwMjBjaWQgdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAKMDAyZnNpZ25hdHVyZSDRFe8cEzsRJpeNWrJ_admbqdBGjNbBt-R7jBxZAZywGQo";
const TV2_DISCHARGE_BOUND_V2: &str = "AgETaHR0cDovL2F1dGgubXliYW5rLwIndGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkAAIXdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAAAAYg0RXvHBM7ESaXjVqyf2nZm6nQRozWwbfke4wcWQGcsBk";
const TV2_BOUND_SIG: &str = "d115ef1c133b1126978d5ab27f69d99ba9d0468cd6c1b7e47b8c1c59019cb019";

// --- SPEC §11.7 (TV7) and §14 ---------------------------------------------------------------

const TV7_ROP_SIG: &str = "7aa0198cefd5f629c487e3d791e4488f6db9e960fbd53c51c815cbae52ea1b8b";

const FORMATS: [&str; 4] = ["v1", "v2", "v2j", "onedata"];

// --- helpers ------------------------------------------------------------------------------------

fn signature_of(token: &str) -> String {
    inspect_json(token)["signature_hex"]
        .as_str()
        .expect("signature_hex is a string")
        .to_owned()
}

fn format_of(token: &str) -> String {
    inspect_json(token)["format"]
        .as_str()
        .expect("format is a string")
        .to_owned()
}

fn mint_tv1(format: &str, caveats: &[&str]) -> String {
    let mut args = vec![
        "mint",
        "--key",
        TV1_KEY,
        "--location",
        TV1_LOC,
        "--identifier",
        TV1_ID,
        "--format",
        format,
    ];
    for c in caveats {
        args.extend(["--caveat", c]);
    }
    ok(&args)
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn tmp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("write temp file");
    path
}

// --- mint: SPEC vectors ---------------------------------------------------------------------------

#[test]
fn mint_reproduces_tv1_texts_exactly() {
    let three = [ACCOUNT, TIME_2020, EMAIL];
    let cases: [(&str, &[&str], &str); 6] = [
        ("v1", &[], TV1_V1_NO_CAVEATS),
        ("v1", &[ACCOUNT], TV1_V1_ACCOUNT),
        ("v1", &three, TV1_V1_THREE),
        ("v2", &[ACCOUNT], TV1_V2_ACCOUNT),
        ("v2", &three, TV1_V2_THREE),
        ("v2j", &three, TV1_V2J_THREE),
    ];
    for (format, caveats, expected) in cases {
        assert_eq!(mint_tv1(format, caveats), expected, "{format} {caveats:?}");
    }
}

#[test]
fn mint_default_format_is_v1() {
    let out = ok(&[
        "mint",
        "--key",
        TV1_KEY,
        "--location",
        TV1_LOC,
        "--identifier",
        TV1_ID,
        "--caveat",
        ACCOUNT,
    ]);
    assert_eq!(out, TV1_V1_ACCOUNT);
}

#[test]
fn mint_signatures_match_tv1_chain() {
    assert_eq!(signature_of(&mint_tv1("v1", &[])), TV1_SIG_NO_CAVEATS);
    assert_eq!(signature_of(&mint_tv1("v2", &[ACCOUNT])), TV1_SIG_ACCOUNT);
    assert_eq!(
        signature_of(&mint_tv1("onedata", &[ACCOUNT, TIME_2020, EMAIL])),
        TV1_SIG_THREE
    );
}

#[test]
fn mint_onedata_is_base62_of_v1() {
    let token = mint_tv1("onedata", &[ACCOUNT]);
    assert!(
        token.bytes().all(|b| b.is_ascii_alphanumeric()),
        "base62 text only: {token}"
    );
    assert_eq!(format_of(&token), "onedata");
    // Unescaping by hand (SPEC §10.1) gives the v1 text.
    let mut unescaped = String::new();
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '0' {
            unescaped.push(match chars.next() {
                Some('0') => '0',
                Some('1') => '_',
                Some('2') => '-',
                Some('3') => '/',
                Some('4') => '+',
                Some('5') => '=',
                other => panic!("bad escape 0{other:?} in {token}"),
            });
        } else {
            unescaped.push(c);
        }
    }
    assert_eq!(unescaped, TV1_V1_ACCOUNT);
}

#[test]
fn mint_with_binary_identifier_hex() {
    let token = ok(&[
        "mint",
        "--key",
        "k",
        "--identifier-hex",
        "00ada8faad00abdf9b38d917c3b932ec702e8422cef6185a30c7",
        "--format",
        "v2j",
    ]);
    let v: Value = serde_json::from_str(&token).expect("v2j output is JSON");
    assert_eq!(
        v["i64"], "AK2o-q0Aq9-bONkXw7ky7HAuhCLO9hhaMMc",
        "SPEC §11.3"
    );
    let text = ok(&["inspect", &token]);
    assert!(
        text.contains("identifier: hex:00ada8faad00abdf9b38d917c3b932ec702e8422cef6185a30c7"),
        "binary identifiers are shown as hex: {text}"
    );
    assert_eq!(ok(&["verify", "--key", "k", &token]), "valid");
}

// --- key options ------------------------------------------------------------------------------------

#[test]
fn key_file_and_key_hex_equal_key() {
    let hex = hex_of(TV1_KEY);
    let path = tmp_file("tv1.key", TV1_KEY.as_bytes());
    let path = path.to_str().expect("UTF-8 temp path");
    for key in [
        ["--key", TV1_KEY],
        ["--key-hex", &hex],
        ["--key-file", path],
    ] {
        let minted = ok(&[
            "mint",
            key[0],
            key[1],
            "--location",
            TV1_LOC,
            "--identifier",
            TV1_ID,
            "--caveat",
            ACCOUNT,
        ]);
        assert_eq!(minted, TV1_V1_ACCOUNT, "mint with {}", key[0]);
        assert_eq!(
            ok(&["verify", key[0], key[1], "--exact", ACCOUNT, TV1_V1_ACCOUNT]),
            "valid",
            "verify with {}",
            key[0]
        );
    }
}

#[test]
fn key_file_uses_raw_bytes_including_newline() {
    // The file's raw bytes are the key: a trailing LF is part of it (so it differs from --key).
    let path = tmp_file("nl.key", format!("{TV1_KEY}\n").as_bytes());
    let path = path.to_str().expect("UTF-8 temp path");
    let o = run(&[
        "verify",
        "--key-file",
        path,
        "--exact",
        ACCOUNT,
        TV1_V1_ACCOUNT,
    ]);
    assert!(fails(&o, 1).contains("signature mismatch"), "{}", o.stderr);
    let hex = format!("{}0a", hex_of(TV1_KEY));
    let a = ok(&["mint", "--key-file", path, "--identifier", "x"]);
    let b = ok(&["mint", "--key-hex", &hex, "--identifier", "x"]);
    assert_eq!(a, b);
}

#[test]
fn key_hex_accepts_uppercase() {
    let upper = hex_of(TV1_KEY).to_uppercase();
    assert_eq!(
        ok(&[
            "verify",
            "--key-hex",
            &upper,
            "--exact",
            ACCOUNT,
            TV1_V1_ACCOUNT
        ]),
        "valid"
    );
}

// --- inspect ----------------------------------------------------------------------------------------

#[test]
fn inspect_text_shows_every_field() {
    let out = ok(&["inspect", TV1_V1_THREE]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "format: v1",
            "location: http://mybank/",
            "identifier: we used our secret key",
            "caveat 0: account = 3735928559",
            "caveat 1: time < 2020-01-01T00:00",
            "caveat 2: email = alice@example.org",
            &format!("signature: {TV1_SIG_THREE}"),
        ]
    );
}

#[test]
fn inspect_text_shows_third_party_caveat() {
    let out = ok(&["inspect", TV2_ROOT_V1]);
    assert!(out.contains("format: v1"), "{out}");
    assert!(out.contains("caveat 0: account = 3735928559"), "{out}");
    assert!(
        out.contains(
            "caveat 1: third-party id this was how we remind auth of key/pred location http://auth.mybank/ vid AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhr"
        ),
        "{out}"
    );
    assert!(out.contains(&format!("signature: {TV2_ROOT_SIG}")), "{out}");
}

#[test]
fn inspect_json_shows_format_macaroon_and_signature() {
    let v = inspect_json(TV1_V1_THREE);
    assert_eq!(v["format"], "v1");
    assert_eq!(v["signature_hex"], TV1_SIG_THREE);
    let expected: Value = serde_json::from_str(TV1_V2J_THREE).expect("vector is JSON");
    assert_eq!(v["macaroon"], expected, "macaroon in v2 JSON object form");

    let v = inspect_json(TV2_ROOT_V2);
    assert_eq!(v["format"], "v2");
    let expected: Value = serde_json::from_str(TV2_ROOT_V2J).expect("vector is JSON");
    assert_eq!(v["macaroon"], expected);

    assert_eq!(inspect_json(TV1_V2J_THREE)["format"], "v2j");
    let v = inspect_json(TV7_ROP);
    assert_eq!(v["format"], "onedata");
    assert_eq!(v["signature_hex"], TV7_ROP_SIG);
    assert_eq!(
        v["macaroon"]["i"],
        "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e"
    );
    assert_eq!(v["macaroon"]["l"], "domain.example.com");
}

#[test]
fn inspect_onedata_with_service_indication() {
    let token = format!("opw-{TV7_ROP}");
    let v = inspect_json(&token);
    assert_eq!(v["format"], "onedata");
    assert_eq!(v["service"], "opw");
    assert_eq!(v["signature_hex"], TV7_ROP_SIG);
    let text = ok(&["inspect", &token]);
    assert!(text.contains("service: opw"), "{text}");
}

#[test]
fn inspect_reads_standard_padded_wrapped_base64() {
    // SPEC §11.1 negative: standard alphabet, padded, with line feeds. It parses.
    let v = inspect_json(TV1_NEGATIVE);
    assert_eq!(v["format"], "v1");
    assert_eq!(
        v["signature_hex"],
        "3f1fd7d14bf9b902f69fdaa0c98879c0bb1b174e70b572527aefea524c33b352"
    );
}

// --- stdin ------------------------------------------------------------------------------------------

#[test]
fn token_dash_reads_stdin() {
    let o = run_stdin(&["inspect", "-"], &format!("{TV1_V1_ACCOUNT}\n"));
    let out = check_ok(o, &["inspect", "-"]);
    assert!(out.contains("caveat 0: account = 3735928559"), "{out}");

    let args = ["attenuate", "--caveat", "user = alice", "-"];
    let attenuated = check_ok(run_stdin(&args, TV1_V2_ACCOUNT), &args);
    assert_eq!(format_of(&attenuated), "v2");

    let root = mint_tv2_base("v1");
    // (arguments, standard input, expected output)
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["verify", "--key", TV1_KEY, "--exact", ACCOUNT, "-"],
            TV1_V1_ACCOUNT,
            "valid",
        ),
        (
            &["convert", "--format", "v1", "-"],
            TV1_V2_ACCOUNT,
            TV1_V1_ACCOUNT,
        ),
        (
            &["bind", TV2_ROOT_V1, "-"],
            TV2_DISCHARGE_UNBOUND_V1,
            TV2_DISCHARGE_BOUND_V1,
        ),
        (
            &[
                "third-party",
                "--key",
                TV2_CAVEAT_KEY,
                "--location",
                TV2_CL,
                "--caveat-id",
                TV2_CID,
                "--nonce-hex",
                ZERO_NONCE,
                "-",
            ],
            &root,
            TV2_ROOT_V1,
        ),
        // A discharge may come from standard input too.
        (
            &[
                "verify",
                "--key",
                TV2_KEY,
                "--exact",
                ACCOUNT,
                "--exact",
                TIME_2020,
                "--discharge",
                "-",
                TV2_ROOT_V1,
            ],
            TV2_DISCHARGE_BOUND_V1,
            "valid",
        ),
    ];
    for (args, stdin, expected) in cases {
        assert_eq!(check_ok(run_stdin(args, stdin), args), expected, "{args:?}");
    }

    // A failure read from stdin is reported like one from an argument.
    let args = ["verify", "--key", "wrong", "-"];
    let o = run_stdin(&args, TV1_V1_ACCOUNT);
    assert!(fails(&o, 1).contains("signature mismatch"), "{}", o.stderr);
}

// --- verify: exit codes ---------------------------------------------------------------------------------

#[test]
fn verify_valid_prints_valid() {
    let cases: [&[&str]; 3] = [
        &[
            "verify",
            "--key",
            TV1_KEY,
            "--exact",
            ACCOUNT,
            TV1_V1_ACCOUNT,
        ],
        &["verify", "--key", TV1_KEY, TV1_V1_NO_CAVEATS],
        // The order of --exact does not matter.
        &[
            "verify",
            "--key",
            TV1_KEY,
            "--exact",
            EMAIL,
            "--exact",
            ACCOUNT,
            "--exact",
            TIME_2020,
            TV1_V2J_THREE,
        ],
    ];
    for args in cases {
        assert_eq!(ok(args), "valid", "{args:?}");
    }
}

/// A row: its name, the arguments, text the message holds, text it must not hold.
type VerifyFailure = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// A token that does not verify exits 1 with nothing on stdout, and the one line says why: the
/// macaroon for a signature, the caveat's index and text for an unsatisfied caveat.
#[test]
fn verify_failures_exit_1_naming_the_cause() {
    let cases: [VerifyFailure; 5] = [
        (
            "wrong key",
            &[
                "verify",
                "--key",
                "this is not the key",
                "--exact",
                ACCOUNT,
                TV1_V1_ACCOUNT,
            ],
            &["signature mismatch", "root"],
            &[],
        ),
        (
            // SPEC §11.1 negative: it parses, then fails with a signature mismatch.
            "tampered token",
            &[
                "verify",
                "--key",
                TV1_KEY,
                "--exact",
                ACCOUNT,
                "--exact",
                TIME_2020,
                "--exact",
                EMAIL,
                TV1_NEGATIVE,
            ],
            &["signature mismatch"],
            &[],
        ),
        (
            "unsatisfied caveat",
            &[
                "verify",
                "--key",
                TV1_KEY,
                "--exact",
                ACCOUNT,
                "--exact",
                EMAIL,
                TV1_V1_THREE,
            ],
            &[TIME_2020, "caveat 1"],
            &[],
        ),
        (
            // A verifier that knows only another account (SPEC §11.4 outcomes).
            "another account",
            &[
                "verify",
                "--key",
                TV1_KEY,
                "--exact",
                "account = 0000000000",
                TV1_V1_ACCOUNT,
            ],
            &[ACCOUNT],
            &[],
        ),
        (
            // Wrong key and unsatisfied caveat: the signature error wins and reveals no caveat
            // (SPEC §5.3).
            "wrong key and unsatisfied caveat",
            &["verify", "--key", "wrong", TV1_V1_THREE],
            &["signature mismatch"],
            &["account"],
        ),
    ];
    for (name, args, present, absent) in cases {
        let o = run(args);
        let msg = row_fails(name, &o, 1);
        for text in present {
            assert!(msg.contains(text), "{name}: lacks {text:?}: {msg}");
        }
        for text in absent {
            assert!(!msg.contains(text), "{name}: has {text:?}: {msg}");
        }
        assert_eq!(
            o.stdout, "",
            "{name}: nothing on stdout for an invalid token"
        );
    }
}

#[test]
fn verify_time_caveat_with_now() {
    let token = ok(&[
        "mint",
        "--key",
        "k",
        "--identifier",
        "i",
        "--caveat",
        "time < 1700003600",
    ]);
    assert_eq!(
        ok(&["verify", "--key", "k", "--now", "1700000000", &token]),
        "valid"
    );
    assert_eq!(
        ok(&["verify", "--key", "k", "--now", "1700003599", &token]),
        "valid"
    );
    // Strict: at now == N the caveat has expired.
    for now in ["1700003600", "1800000000"] {
        let o = run(&["verify", "--key", "k", "--now", now, &token]);
        let msg = fails(&o, 1);
        assert!(msg.contains("expired"), "{msg}");
        assert!(msg.contains("time < 1700003600"), "names the caveat: {msg}");
    }
}

#[test]
fn verify_time_caveat_without_now_uses_clock() {
    // 1 is long past, u64::MAX-ish far future.
    let past = ok(&[
        "mint",
        "--key",
        "k",
        "--identifier",
        "i",
        "--caveat",
        "time < 1",
    ]);
    let o = run(&["verify", "--key", "k", &past]);
    assert!(fails(&o, 1).contains("expired"), "{}", o.stderr);
    let future = ok(&[
        "mint",
        "--key",
        "k",
        "--identifier",
        "i",
        "--caveat",
        "time < 99999999999",
    ]);
    assert_eq!(ok(&["verify", "--key", "k", &future]), "valid");
}

#[test]
fn verify_json_failure_is_one_json_line() {
    let o = run(&["--json", "verify", "--key", "wrong", TV1_V1_ACCOUNT]);
    let err = fails_json(&o, 1);
    assert_eq!(err["kind"], "verify");
    assert_eq!(err["valid"], false);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("signature mismatch")),
        "{err}"
    );

    let o = run(&["--json", "verify", "--key", TV1_KEY, TV1_V1_ACCOUNT]);
    let err = fails_json(&o, 1);
    assert!(
        err["message"].as_str().is_some_and(|m| m.contains(ACCOUNT)),
        "{err}"
    );
}

// --- usage errors (exit 2) ----------------------------------------------------------------------------

/// A bad command line exits 2 with one line naming the option at fault, and prints nothing on
/// stdout, whether the argument parser or our own code finds the error.
#[test]
fn usage_errors_exit_2_naming_the_option() {
    let hex = hex_of("k");
    let cases: [(&str, &[&str], &str); 16] = [
        (
            "mint without a key",
            &["mint", "--identifier", "i"],
            "--key",
        ),
        ("verify without a key", &["verify", TV1_V1_ACCOUNT], "--key"),
        (
            "discharge without a key",
            &["discharge", "--caveat-id", "c"],
            "--key",
        ),
        (
            "third-party without a key",
            &[
                "third-party",
                "--location",
                "l",
                "--caveat-id",
                "c",
                TV1_V1_ACCOUNT,
            ],
            "--key",
        ),
        (
            "mint with --key and --key-hex",
            &["mint", "--key", "k", "--key-hex", &hex, "--identifier", "i"],
            "cannot be used with",
        ),
        (
            "verify with --key and --key-file",
            &[
                "verify",
                "--key",
                "k",
                "--key-file",
                "/dev/null",
                TV1_V1_ACCOUNT,
            ],
            "cannot be used with",
        ),
        (
            "discharge with --caveat-key and --key",
            &[
                "discharge",
                "--caveat-key",
                &hex,
                "--key",
                "k",
                "--caveat-id",
                "c",
            ],
            "cannot be used with",
        ),
        (
            "mint with bad --key-hex",
            &["mint", "--key-hex", "zz", "--identifier", "i"],
            "--key-hex",
        ),
        (
            "mint with odd --identifier-hex",
            &["mint", "--key", "k", "--identifier-hex", "abc"],
            "--identifier-hex",
        ),
        (
            "verify with bad --key-hex",
            &["verify", "--key-hex", "0g", TV1_V1_ACCOUNT],
            "--key-hex",
        ),
        (
            "discharge with bad --caveat-key",
            &["discharge", "--caveat-key", "xyz", "--caveat-id", "c"],
            "--caveat-key",
        ),
        (
            "third-party with a short --nonce-hex",
            &[
                "third-party",
                "--key",
                "k",
                "--location",
                "l",
                "--caveat-id",
                "c",
                "--nonce-hex",
                "00",
                TV1_V1_ACCOUNT,
            ],
            "--nonce-hex",
        ),
        (
            "verify with a missing --key-file",
            &[
                "verify",
                "--key-file",
                "/nonexistent/macaroon-mint/key",
                TV1_V1_ACCOUNT,
            ],
            "--key-file",
        ),
        (
            "mint with unknown format",
            &["mint", "--key", "k", "--identifier", "i", "--format", "v3"],
            "v3",
        ),
        (
            "convert to unknown format",
            &["convert", "--format", "xml", TV1_V1_ACCOUNT],
            "xml",
        ),
        (
            "verify with bad --now",
            &["verify", "--key", "k", "--now", "yesterday", TV1_V1_ACCOUNT],
            "--now",
        ),
    ];
    for (name, args, needle) in cases {
        let o = run(args);
        let msg = row_fails(name, &o, 2);
        assert!(msg.contains(needle), "{name}: lacks {needle:?}: {msg}");
        assert_eq!(o.stdout, "", "{name}");
    }
}

#[test]
fn usage_unknown_subcommand_and_missing_token_exit_2() {
    assert_eq!(run(&["frobnicate"]).code, 2);
    assert_eq!(run(&["inspect"]).code, 2);
    assert_eq!(
        run(&["attenuate", TV1_V1_ACCOUNT]).code,
        2,
        "--caveat is required"
    );
    assert_eq!(run(&[]).code, 2);
}

#[test]
fn help_and_version_exit_0() {
    let o = run(&["--help"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("verify"), "{}", o.stdout);
    let o = run(&["--version"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("macaroon-mint"), "{}", o.stdout);
}

#[test]
fn json_usage_error_is_one_json_line() {
    // Errors our code raises (bad hex)…
    let o = run(&["--json", "mint", "--key-hex", "zz", "--identifier", "i"]);
    let err = fails_json(&o, 2);
    assert_eq!(err["kind"], "usage");
    // …and argument errors (DESIGN §4: errors are JSON with --json).
    let o = run(&["--json", "mint", "--identifier", "i"]);
    let err = fails_json(&o, 2);
    assert!(
        err["message"].as_str().is_some_and(|m| m.contains("--key")),
        "{err}"
    );
}

// --- input errors (exit 2) --------------------------------------------------------------------------

#[test]
fn malformed_token_exits_2_with_one_line() {
    for sub in [
        &["verify", "--key", "k"][..],
        &["attenuate", "--caveat", "c"][..],
        &["convert", "--format", "v2"][..],
        &["bind", TV2_ROOT_V1][..],
        &[
            "third-party",
            "--key",
            "k",
            "--location",
            "l",
            "--caveat-id",
            "c",
        ][..],
    ] {
        for bad in [
            "",
            "   ",
            "not a token!",
            "MDAwMGxvY2F0aW9uIAo",
            "{\"v\":2}",
        ] {
            let mut args = sub.to_vec();
            args.push(bad);
            let o = run(&args);
            let msg = fails(&o, 2);
            assert!(!msg.is_empty(), "{args:?}");
            assert_eq!(o.stdout, "", "{args:?}");
        }
    }
    let o = run(&["verify", "--key", "k", "   "]);
    assert_eq!(fails(&o, 2), "input: the token is empty");
    // SPEC §11.6: a 0000 header is an error at byte 0, with no hang.
    let o = run(&["verify", "--key", "k", "MDAwMGxvY2F0aW9uIAo"]);
    let msg = fails(&o, 2);
    assert!(msg.starts_with("v1: ") && msg.contains("byte 0"), "{msg}");
}

#[test]
fn malformed_discharge_exits_2() {
    let o = run(&[
        "verify",
        "--key",
        TV2_KEY,
        "--discharge",
        "garbage!",
        TV2_ROOT_V1,
    ]);
    fails(&o, 2);
}

#[test]
fn malformed_token_json_error() {
    let o = run(&["--json", "verify", "--key", "k", DAMAGED_C]);
    let err = fails_json(&o, 2);
    assert_eq!(err["kind"], "decode");
    assert_eq!(err["layer"], "v1");
    assert_eq!(err["offset"], 0);
    assert_eq!(err["text_offset"], 0);
    assert_eq!(err["message"], DAMAGED_C_ERROR);
}

fn damaged_cases() -> [(&'static str, &'static str, &'static str, u64); 3] {
    [
        (DAMAGED_A, DAMAGED_A_ERROR, "base62", 47),
        (DAMAGED_B, DAMAGED_B_ERROR, "base64", 88),
        (DAMAGED_C, DAMAGED_C_ERROR, "v1", 0),
    ]
}

#[test]
fn damaged_examples_fail_strictly_with_spec_position() {
    for (token, error, _, _) in damaged_cases() {
        for args in [
            &["verify", "--key", "k", token][..],
            &["convert", "--format", "v2", token][..],
            &["attenuate", "--caveat", "c", token][..],
        ] {
            let o = run(args);
            assert_eq!(fails(&o, 2), error, "{args:?}");
            assert_eq!(o.stdout, "", "{args:?}");
        }
        // inspect: same one-line error on stderr.
        let o = run(&["inspect", token]);
        assert_eq!(fails(&o, 2), error, "inspect {token}");
    }
}

#[test]
fn damaged_examples_json_errors() {
    for (token, error, layer, offset) in damaged_cases() {
        let o = run(&["--json", "verify", "--key", "k", token]);
        let err = fails_json(&o, 2);
        assert_eq!(err["kind"], "decode", "{token}");
        assert_eq!(err["layer"], layer, "{token}");
        assert_eq!(err["offset"], offset, "{token}");
        assert_eq!(err["message"], error, "{token}");
    }
}

/// A row: its name, the token, the strict error, text stdout holds, text it must not hold.
type DamagedInspect = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// `inspect` fails on a damaged token like every other command, and still prints on stdout what
/// the lenient reading recovered: the fields before the damage, and every defect it met.
#[test]
fn damaged_examples_inspect_recovers_what_it_can() {
    let cases: [DamagedInspect; 3] = [
        (
            "A: the location only",
            DAMAGED_A,
            DAMAGED_A_ERROR,
            &[
                "(34 bytes;",
                "location: registry\n",
                // Both text defects and the v1 truncation are listed.
                "'-'",
                "offset 47",
                "\"0Y\" at offset 48",
                "byte 22 declares 59 bytes, 12 remain",
            ],
            &["identifier:", "signature:"],
        ),
        (
            "B: a truncated identifier",
            DAMAGED_B,
            DAMAGED_B_ERROR,
            &[
                "(64 bytes;",
                "location: registry\n",
                "identifier: vcPiHpi0xfmkVNtJtyCH5SoGm5Z (truncated: 27 bytes present)",
                "byte 22 declares 59 bytes, 42 remain",
            ],
            &["caveat ", "signature:"],
        ),
        (
            "C: every field",
            DAMAGED_C,
            DAMAGED_C_ERROR,
            &[
                "(147 bytes;",
                "location: onezone\n",
                "identifier: 8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk\n",
                "caveat 0: time < 1496140144\n",
                "signature: f3c388d5ddb8737ebbd3b77df75f7b73a71df7de7cd746b8dda71a (truncated: 27 of 32 bytes)",
                // The skipped bad header is reported.
                "byte 0",
                "byte 106 declares 47 bytes, 41 remain",
            ],
            &[],
        ),
    ];
    for (name, token, error, present, absent) in cases {
        let o = run(&["inspect", token]);
        assert_eq!(row_fails(name, &o, 2), error, "{name}");
        let out = &o.stdout;
        for text in present {
            assert!(out.contains(text), "{name}: lacks {text:?}:\n{out}");
        }
        for text in absent {
            assert!(!out.contains(text), "{name}: has {text:?}:\n{out}");
        }
    }
}

/// `inspect --json` of a damaged token: the error as one JSON line on stderr, and on stdout one
/// JSON value with the same error and what was recovered (Null for a field never reached).
#[test]
fn damaged_examples_inspect_json() {
    let cases = [
        (
            "C",
            DAMAGED_C,
            DAMAGED_C_ERROR,
            vec![
                ("/recovered/decoded_bytes", json!(147)),
                ("/recovered/location/text", json!("onezone")),
                (
                    "/recovered/identifier/text",
                    json!("8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk"),
                ),
                ("/recovered/caveats/0/i/text", json!("time < 1496140144")),
                (
                    "/recovered/signature/hex",
                    json!("f3c388d5ddb8737ebbd3b77df75f7b73a71df7de7cd746b8dda71a"),
                ),
                ("/recovered/signature/truncated", json!(true)),
                ("/error/layer", json!("v1")),
            ],
        ),
        (
            "B",
            DAMAGED_B,
            DAMAGED_B_ERROR,
            vec![
                ("/recovered/location/text", json!("registry")),
                (
                    "/recovered/identifier/text",
                    json!("vcPiHpi0xfmkVNtJtyCH5SoGm5Z"),
                ),
                ("/recovered/identifier/truncated", json!(true)),
                ("/recovered/signature", Value::Null),
            ],
        ),
        (
            "A",
            DAMAGED_A,
            DAMAGED_A_ERROR,
            vec![
                ("/recovered/location/text", json!("registry")),
                ("/recovered/identifier", Value::Null),
                ("/error/offset", json!(47)),
            ],
        ),
    ];
    for (name, token, error, fields) in cases {
        let o = run(&["--json", "inspect", token]);
        let err = row_fails_json(name, &o, 2);
        assert_eq!(err["message"], error, "{name}");
        let v: Value = serde_json::from_str(o.stdout.trim_end())
            .unwrap_or_else(|e| panic!("{name}: stdout is one JSON value ({e}): {}", o.stdout));
        for (pointer, expected) in &fields {
            assert_eq!(at(&v, pointer), expected, "{name}: {pointer}");
        }
    }
}

// --- attenuate / convert round trips ---------------------------------------------------------------

#[test]
fn mint_attenuate_verify_round_trip_in_every_format() {
    for f in FORMATS {
        let minted = ok(&[
            "mint",
            "--key",
            "round trip key",
            "--location",
            "https://svc.example/",
            "--identifier",
            "rt-id",
            "--caveat",
            "a = 1",
            "--format",
            f,
        ]);
        assert_eq!(format_of(&minted), f);
        let attenuated = ok(&[
            "attenuate",
            "--caveat",
            "b = 2",
            "--caveat",
            "c = 3",
            &minted,
        ]);
        assert_eq!(format_of(&attenuated), f, "attenuate keeps the format");
        let v = inspect_json(&attenuated);
        let ids: Vec<&str> = v["macaroon"]["c"]
            .as_array()
            .expect("caveat array")
            .iter()
            .map(|c| c["i"].as_str().expect("plain caveat id"))
            .collect();
        assert_eq!(ids, ["a = 1", "b = 2", "c = 3"], "{f}");
        assert_eq!(v["macaroon"]["l"], "https://svc.example/");
        assert_eq!(v["macaroon"]["i"], "rt-id");

        let all = [
            "verify",
            "--key",
            "round trip key",
            "--exact",
            "a = 1",
            "--exact",
            "b = 2",
            "--exact",
            "c = 3",
        ];
        let mut args = all.to_vec();
        args.push(&attenuated);
        assert_eq!(ok(&args), "valid", "{f}");

        // Dropping any one exact makes it fail, naming that caveat.
        for (skip, caveat) in ["a = 1", "b = 2", "c = 3"].iter().enumerate() {
            let mut args = vec!["verify", "--key", "round trip key"];
            for (i, c) in ["a = 1", "b = 2", "c = 3"].iter().enumerate() {
                if i != skip {
                    args.extend(["--exact", c]);
                }
            }
            args.push(&attenuated);
            let o = run(&args);
            let msg = fails(&o, 1);
            assert!(msg.contains(caveat), "{f}: {msg}");
            assert!(msg.contains(&format!("caveat {skip}")), "{f}: {msg}");
        }

        // The un-attenuated token with the same signature chain prefix does not pass off as
        // the attenuated one: wrong key fails in every format.
        let o = run(&["verify", "--key", "other key", "--exact", "a = 1", &minted]);
        assert!(fails(&o, 1).contains("signature mismatch"), "{f}");
    }
}

#[test]
fn attenuate_reproduces_tv1_chain() {
    let one = ok(&["attenuate", "--caveat", ACCOUNT, TV1_V1_NO_CAVEATS]);
    assert_eq!(one, TV1_V1_ACCOUNT);
    let three = ok(&[
        "attenuate",
        "--caveat",
        TIME_2020,
        "--caveat",
        EMAIL,
        TV1_V2_ACCOUNT,
    ]);
    assert_eq!(three, TV1_V2_THREE);
}

#[test]
fn convert_keeps_signature_in_every_format() {
    // A token with first- and third-party caveats.
    let root = ok(&[
        "third-party",
        "--key",
        TV2_CAVEAT_KEY,
        "--location",
        TV2_CL,
        "--caveat-id",
        TV2_CID,
        &mint_tv1("v1", &[ACCOUNT]),
    ]);
    let sig = signature_of(&root);
    for from in FORMATS {
        let source = ok(&["convert", "--format", from, &root]);
        assert_eq!(format_of(&source), from);
        for to in FORMATS {
            let converted = ok(&["convert", "--format", to, &source]);
            assert_eq!(format_of(&converted), to, "{from} -> {to}");
            assert_eq!(signature_of(&converted), sig, "{from} -> {to}");
            assert_eq!(
                inspect_json(&converted)["macaroon"],
                inspect_json(&root)["macaroon"],
                "{from} -> {to}: same fields"
            );
        }
        // Back to v1 gives the original text (one canonical form per format).
        assert_eq!(ok(&["convert", "--format", "v1", &source]), root, "{from}");
    }
}

#[test]
fn convert_reproduces_published_texts() {
    let cases = [
        ("TV1 v1 -> v2", "v2", TV1_V1_ACCOUNT, TV1_V2_ACCOUNT),
        ("TV1 v1 -> v2j", "v2j", TV1_V1_THREE, TV1_V2J_THREE),
        ("TV1 v2j -> v1", "v1", TV1_V2J_THREE, TV1_V1_THREE),
        ("TV2 v1 -> v2", "v2", TV2_ROOT_V1, TV2_ROOT_V2),
        ("TV2 v2 -> v2j", "v2j", TV2_ROOT_V2, TV2_ROOT_V2J),
        ("TV2 v2j -> v1", "v1", TV2_ROOT_V2J, TV2_ROOT_V1),
    ];
    for (name, to, token, expected) in cases {
        assert_eq!(ok(&["convert", "--format", to, token]), expected, "{name}");
    }
    // The README negative (standard alphabet, padded, wrapped) re-encodes canonically.
    let canonical = ok(&["convert", "--format", "v1", TV1_NEGATIVE]);
    assert!(!canonical.contains('=') && !canonical.contains('\n'));
    assert_eq!(
        signature_of(&canonical),
        "3f1fd7d14bf9b902f69fdaa0c98879c0bb1b174e70b572527aefea524c33b352"
    );
}

#[test]
fn converted_tokens_still_verify() {
    for to in FORMATS {
        let converted = ok(&["convert", "--format", to, TV1_V1_THREE]);
        assert_eq!(
            ok(&[
                "verify", "--key", TV1_KEY, "--exact", ACCOUNT, "--exact", TIME_2020, "--exact",
                EMAIL, &converted
            ]),
            "valid",
            "{to}"
        );
    }
}

// --- third-party, discharge, bind -----------------------------------------------------------------

fn mint_tv2_base(format: &str) -> String {
    ok(&[
        "mint",
        "--key",
        TV2_KEY,
        "--location",
        TV1_LOC,
        "--identifier",
        TV2_ID,
        "--caveat",
        ACCOUNT,
        "--format",
        format,
    ])
}

#[test]
fn third_party_reproduces_tv2_root_exactly() {
    // Caveat key as text (--key) and as hex (--caveat-key / --caveat-key-hex / --key-hex).
    let hex = hex_of(TV2_CAVEAT_KEY);
    let path = tmp_file("tv2-caveat.key", TV2_CAVEAT_KEY.as_bytes());
    let path = path.to_str().expect("UTF-8 temp path");
    for key in [
        ["--key", TV2_CAVEAT_KEY],
        ["--caveat-key", &hex],
        ["--caveat-key-hex", &hex],
        ["--key-hex", &hex],
        ["--key-file", path],
    ] {
        for (format, expected) in [
            ("v1", TV2_ROOT_V1),
            ("v2", TV2_ROOT_V2),
            ("v2j", TV2_ROOT_V2J),
        ] {
            let out = ok(&[
                "third-party",
                key[0],
                key[1],
                "--location",
                TV2_CL,
                "--caveat-id",
                TV2_CID,
                "--nonce-hex",
                ZERO_NONCE,
                &mint_tv2_base(format),
            ]);
            assert_eq!(out, expected, "{} {format}", key[0]);
        }
    }
    assert_eq!(signature_of(TV2_ROOT_V1), TV2_ROOT_SIG);
}

#[test]
fn discharge_and_bind_reproduce_tv2() {
    let discharge = ok(&[
        "discharge",
        "--key",
        TV2_CAVEAT_KEY,
        "--caveat-id",
        TV2_CID,
        "--location",
        TV2_CL,
        "--caveat",
        TIME_2020,
    ]);
    assert_eq!(discharge, TV2_DISCHARGE_UNBOUND_V1);
    let bound = ok(&["bind", TV2_ROOT_V1, &discharge]);
    assert_eq!(bound, TV2_DISCHARGE_BOUND_V1);
    assert_eq!(signature_of(&bound), TV2_BOUND_SIG);

    // bind keeps the discharge's format.
    let discharge_v2 = ok(&["convert", "--format", "v2", &discharge]);
    assert_eq!(
        ok(&["bind", TV2_ROOT_V2J, &discharge_v2]),
        TV2_DISCHARGE_BOUND_V2
    );
}

#[test]
fn verify_with_tv2_discharge() {
    let verify = |discharges: &[&str], exacts: &[&str]| {
        let mut args = vec!["verify", "--key", TV2_KEY];
        for e in exacts {
            args.extend(["--exact", e]);
        }
        for d in discharges {
            args.extend(["--discharge", d]);
        }
        args.push(TV2_ROOT_V1);
        run(&args)
    };
    let both = [ACCOUNT, TIME_2020];
    let o = verify(&[TV2_DISCHARGE_BOUND_V1], &both);
    assert_eq!(check_ok(o, &[]), "valid");
    let o = verify(&[TV2_DISCHARGE_BOUND_V2], &both);
    assert_eq!(
        check_ok(o, &[]),
        "valid",
        "discharge format may differ from the root's"
    );

    // Without the discharge: exit 1, naming the caveat id.
    let msg = fails(&verify(&[], &both), 1);
    assert!(
        msg.contains("no discharge") && msg.contains(TV2_CID),
        "{msg}"
    );

    // Unbound discharge: signature mismatch of the discharge.
    let msg = fails(&verify(&[TV2_DISCHARGE_UNBOUND_V1], &both), 1);
    assert!(msg.contains("signature mismatch"), "{msg}");
    assert!(msg.contains("discharge"), "names the discharge: {msg}");

    // The discharge's own caveat must be satisfied.
    let msg = fails(&verify(&[TV2_DISCHARGE_BOUND_V1], &[ACCOUNT]), 1);
    assert!(msg.contains(TIME_2020), "{msg}");
    assert!(msg.contains("discharge"), "{msg}");

    // An extra (unused) discharge is an error unless explicitly ignored.
    let extra = ok(&["discharge", "--key", "x", "--caveat-id", "unrelated"]);
    let msg = fails(&verify(&[TV2_DISCHARGE_BOUND_V1, &extra], &both), 1);
    assert!(msg.contains("not used"), "{msg}");
    let o = run(&[
        "verify",
        "--key",
        TV2_KEY,
        "--exact",
        ACCOUNT,
        "--exact",
        TIME_2020,
        "--ignore-unused-discharges",
        "--discharge",
        TV2_DISCHARGE_BOUND_V1,
        "--discharge",
        &extra,
        TV2_ROOT_V1,
    ]);
    assert_eq!(check_ok(o, &[]), "valid");
}

#[test]
fn third_party_discharge_bind_verify_in_every_format() {
    for f in FORMATS {
        let root = ok(&[
            "mint",
            "--key",
            "root secret",
            "--location",
            "https://svc.example/",
            "--identifier",
            "root-id",
            "--caveat",
            "user = alice",
            "--format",
            f,
        ]);
        let caveat_key = hex_of("shared with auth");
        let root = ok(&[
            "third-party",
            "--caveat-key",
            &caveat_key,
            "--location",
            "https://auth.example/",
            "--caveat-id",
            "is-alice",
            &root,
        ]);
        assert_eq!(format_of(&root), f, "third-party keeps the format");
        let discharge = ok(&[
            "discharge",
            "--caveat-key",
            &caveat_key,
            "--caveat-id",
            "is-alice",
            "--location",
            "https://auth.example/",
            "--caveat",
            "time < 99999999999",
            "--format",
            f,
        ]);
        assert_eq!(format_of(&discharge), f);
        let bound = ok(&["bind", &root, &discharge]);
        assert_eq!(format_of(&bound), f, "bind keeps the discharge's format");
        assert_ne!(signature_of(&bound), signature_of(&discharge));

        assert_eq!(
            ok(&[
                "verify",
                "--key",
                "root secret",
                "--exact",
                "user = alice",
                "--now",
                "1700000000",
                "--discharge",
                &bound,
                &root
            ]),
            "valid",
            "{f}"
        );
        let o = run(&[
            "verify",
            "--key",
            "root secret",
            "--exact",
            "user = alice",
            &root,
        ]);
        assert!(fails(&o, 1).contains("is-alice"), "{f}: {}", o.stderr);
        // The discharge's time caveat, expired.
        let o = run(&[
            "verify",
            "--key",
            "root secret",
            "--exact",
            "user = alice",
            "--now",
            "99999999999",
            "--discharge",
            &bound,
            &root,
        ]);
        assert!(fails(&o, 1).contains("expired"), "{f}: {}", o.stderr);
        // Bound to another root: signature mismatch.
        let other_root = ok(&["mint", "--key", "root secret", "--identifier", "other"]);
        let misbound = ok(&["bind", &other_root, &discharge]);
        let o = run(&[
            "verify",
            "--key",
            "root secret",
            "--exact",
            "user = alice",
            "--now",
            "1700000000",
            "--discharge",
            &misbound,
            &root,
        ]);
        assert!(
            fails(&o, 1).contains("signature mismatch"),
            "{f}: {}",
            o.stderr
        );
    }
}

#[test]
fn third_party_uses_a_fresh_nonce() {
    let base = mint_tv2_base("v1");
    let args = [
        "third-party",
        "--key",
        TV2_CAVEAT_KEY,
        "--location",
        TV2_CL,
        "--caveat-id",
        TV2_CID,
        &base,
    ];
    let a = ok(&args);
    let b = ok(&args);
    assert_ne!(a, b, "random nonces differ");
    assert_ne!(a, TV2_ROOT_V1, "the default nonce is not zero");
    for root in [&a, &b] {
        assert_eq!(
            ok(&[
                "verify",
                "--key",
                TV2_KEY,
                "--exact",
                ACCOUNT,
                "--exact",
                TIME_2020,
                "--discharge",
                &ok(&["bind", root, TV2_DISCHARGE_UNBOUND_V1]),
                root
            ]),
            "valid"
        );
    }
}

// --- Onedata compatibility ----------------------------------------------------------------------------

#[test]
fn verify_onedata_tv7_token() {
    assert_eq!(
        ok(&["verify", "--key", "verySecretSecret5", TV7_ROP]),
        "valid"
    );
    let prefixed = format!("opw-{TV7_ROP}");
    assert_eq!(
        ok(&["verify", "--key", "verySecretSecret5", &prefixed]),
        "valid"
    );
    let o = run(&["verify", "--key", "verySecretSecret1", TV7_ROP]);
    assert!(fails(&o, 1).contains("signature mismatch"), "{}", o.stderr);
    // An unknown service indication is an input error.
    let o = run(&[
        "verify",
        "--key",
        "verySecretSecret5",
        &format!("ozw-{TV7_ROP}"),
    ]);
    assert!(fails(&o, 2).contains("ozw"), "{}", o.stderr);
}

// --- input tolerances -----------------------------------------------------------------------------

#[test]
fn raw_v2_bytes_from_stdin() {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(TV1_V2_ACCOUNT)
        .expect("vector is base64");
    assert_eq!(raw.first(), Some(&2), "raw v2 starts with the version byte");
    let mut c = cmd();
    c.args(["--json", "inspect", "-"]).write_stdin(raw.clone());
    let out = check_ok(run_cmd(c), &["--json", "inspect", "-"]);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    // "format" is one of v1|v2|v2j|onedata (DESIGN §4); the exact encoding is under "encoding".
    assert_eq!(v["format"], "v2");
    assert_eq!(v["encoding"]["name"], "v2-binary");
    assert_eq!(v["signature_hex"], TV1_SIG_ACCOUNT);

    // Tokens read as raw v2 are written back as v2 text.
    let mut c = cmd();
    c.args(["attenuate", "--caveat", TIME_2020, "-"])
        .write_stdin(raw.clone());
    let attenuated = check_ok(run_cmd(c), &["attenuate"]);
    assert_eq!(format_of(&attenuated), "v2");
    let mut c = cmd();
    c.args(["verify", "--key", TV1_KEY, "--exact", ACCOUNT, "-"])
        .write_stdin(raw);
    assert_eq!(check_ok(run_cmd(c), &["verify"]), "valid");
}

#[test]
fn surrounding_whitespace_and_json_string_are_accepted() {
    let o = run_stdin(&["inspect", "-"], &format!("  {TV1_V1_ACCOUNT}\r\n"));
    assert!(check_ok(o, &["inspect"]).contains(TV1_SIG_ACCOUNT));
    let padded = format!("\t{TV1_V1_ACCOUNT} ");
    assert_eq!(signature_of(&padded), TV1_SIG_ACCOUNT);
    // Go's JSON form of a bare token: a JSON string holding the base64 text (SPEC §9 step 5).
    let quoted = format!("\"{TV1_V1_ACCOUNT}\"");
    assert_eq!(signature_of(&quoted), TV1_SIG_ACCOUNT);
}

#[test]
fn malformed_root_for_bind_exits_2() {
    let o = run(&["bind", "garbage!", TV2_DISCHARGE_UNBOUND_V1]);
    fails(&o, 2);
    assert_eq!(o.stdout, "");
}

#[test]
fn usage_errors_are_one_plain_line() {
    for (args, needle) in [
        (&["mint", "--identifier", "i"][..], "--key"),
        (&["verify", "--key", "k"][..], "<TOKEN>"),
        (&["frobnicate"][..], "frobnicate"),
        (
            &["convert", "--format", "v9", TV1_V1_ACCOUNT][..],
            "unknown format",
        ),
    ] {
        let message = fails(&run(args), 2);
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(message.ends_with("(see --help)"), "{args:?}: {message}");
    }
}

#[test]
fn third_party_with_caveat_key_checks_the_root_key() {
    let ck = hex_of(TV2_CAVEAT_KEY);
    let root = mint_tv2_base("v1");
    let third_party = |key: &str| {
        run(&[
            "third-party",
            "--key",
            key,
            "--caveat-key",
            &ck,
            "--location",
            TV2_CL,
            "--caveat-id",
            TV2_CID,
            "--nonce-hex",
            ZERO_NONCE,
            &root,
        ])
    };
    // With both, KEY is the token's root key: the right one gives the TV2 root exactly…
    let token = check_ok(third_party(TV2_KEY), &["third-party"]);
    assert_eq!(token, TV2_ROOT_V1);
    // …and any other key is refused before anything is added.
    let o = third_party("not the root key");
    let message = fails(&o, 1);
    assert_eq!(
        message,
        "invalid: the token was not minted with the given root key"
    );
    assert_eq!(o.stdout, "");
}

// --- reviewer defects: hostile arguments, unwritable output, stdin twice, key-file size -----------

fn bin_path() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("macaroon-mint")
}

fn os_arg(bytes: &[u8]) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(bytes.to_vec())
}

#[test]
fn non_utf8_arguments_exit_2_with_one_line() {
    let cases: [Vec<std::ffi::OsString>; 4] = [
        vec!["inspect".into(), os_arg(b"\xff\xfe")],
        vec![
            "mint".into(),
            "--key".into(),
            os_arg(b"\xff"),
            "--identifier".into(),
            "x".into(),
        ],
        vec![os_arg(b"\xff")],
        vec![
            "verify".into(),
            "--key".into(),
            "k".into(),
            "--exact".into(),
            os_arg(b"a = \xc3"),
            TV1_V1_ACCOUNT.into(),
        ],
    ];
    for args in &cases {
        let mut c = cmd();
        c.args(args);
        let o = run_cmd(c);
        let message = fails(&o, 2);
        assert!(
            message.contains("UTF-8") || message.contains("unrecognized subcommand"),
            "{args:?}: {message}"
        );
        assert_eq!(o.stdout, "", "{args:?}");

        let mut c = cmd();
        c.arg("--json").args(args);
        let o = run_cmd(c);
        let err = fails_json(&o, 2);
        assert_eq!(err["kind"], "usage", "{args:?}: {err}");
    }
}

/// Runs the binary with standard output (and, if asked, standard error) on `/dev/full`.
fn run_to_dev_full(args: &[&str], stderr_full: bool) -> (i32, String) {
    let full = || std::process::Stdio::from(std::fs::File::create("/dev/full").expect("/dev/full"));
    let mut c = std::process::Command::new(bin_path());
    c.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(full());
    if stderr_full {
        c.stderr(full());
    } else {
        c.stderr(std::process::Stdio::piped());
    }
    let out = c.output().expect("macaroon-mint runs");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("{args:?}: exited normally, not by a signal"));
    (
        code,
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}

#[test]
fn unwritable_stdout_exits_2_with_one_line() {
    let mint = [
        "mint",
        "--key",
        TV1_KEY,
        "--identifier",
        TV1_ID,
        "--caveat",
        ACCOUNT,
    ];
    let verify = [
        "verify",
        "--key",
        TV1_KEY,
        "--exact",
        ACCOUNT,
        TV1_V1_ACCOUNT,
    ];
    let cases: [&[&str]; 6] = [
        &mint,
        &verify,
        &["inspect", TV1_V1_THREE],
        &["convert", "--format", "v2", TV1_V1_ACCOUNT],
        // A damaged token: inspect prints what it recovered before failing.
        &["inspect", DAMAGED_C],
        &["--help"],
    ];
    for args in cases {
        let (code, stderr) = run_to_dev_full(args, false);
        let o = Out {
            code,
            stdout: String::new(),
            stderr,
        };
        let message = fails(&o, 2);
        assert!(
            message.contains("writing standard output"),
            "{args:?}: {message}"
        );
    }
    let (code, stderr) = run_to_dev_full(&["--json", "inspect", TV1_V1_THREE], false);
    let err = fails_json(
        &Out {
            code,
            stdout: String::new(),
            stderr,
        },
        2,
    );
    assert_eq!(err["kind"], "io", "{err}");
}

#[test]
fn unwritable_stdout_and_stderr_exit_2_silently() {
    for args in [
        &["mint", "--key", TV1_KEY, "--identifier", TV1_ID][..],
        &["inspect", DAMAGED_C][..],
        &["verify", "--key", "wrong", TV1_V1_ACCOUNT][..],
        &["inspect", "garbage!"][..],
        &["frobnicate"][..],
        &["inspect"][..],
    ] {
        let (code, _) = run_to_dev_full(args, true);
        let expected = if args[0] == "verify" { 1 } else { 2 };
        assert_eq!(code, expected, "{args:?}: no panic (exit 101)");
    }
}

#[test]
fn standard_input_for_two_tokens_is_a_usage_error() {
    for args in [
        &["verify", "--key", TV2_KEY, "--discharge", "-", "-"][..],
        &[
            "verify",
            "--key",
            TV2_KEY,
            "--discharge",
            "-",
            "--discharge",
            "-",
            TV2_ROOT_V1,
        ][..],
        &["bind", "-", "-"][..],
    ] {
        let o = run_stdin(args, TV2_ROOT_V1);
        let message = fails(&o, 2);
        assert!(
            message.contains("standard input (-)"),
            "{args:?}: {message}"
        );
        assert_eq!(o.stdout, "", "{args:?}");
        let mut json_args = vec!["--json"];
        json_args.extend_from_slice(args);
        let err = fails_json(&run_stdin(&json_args, TV2_ROOT_V1), 2);
        assert_eq!(err["kind"], "usage", "{args:?}: {err}");
    }
}

#[test]
fn key_file_over_1_mib_is_refused() {
    const MIB: usize = 1 << 20;
    let big = tmp_file("big.key", &vec![b'k'; MIB + 1]);
    let exact = tmp_file("mib.key", &vec![b'k'; MIB]);
    let big_arg = big.to_str().expect("temp path is UTF-8");
    let exact_arg = exact.to_str().expect("temp path is UTF-8");

    let mint = |key_file: &str| run(&["mint", "--key-file", key_file, "--identifier", "i"]);
    let discharge =
        |key_file: &str| run(&["discharge", "--key-file", key_file, "--caveat-id", TV2_CID]);
    let verify = |key_file: &str| run(&["verify", "--key-file", key_file, TV1_V1_ACCOUNT]);
    for o in [mint(big_arg), discharge(big_arg), verify(big_arg)] {
        let message = fails(&o, 2);
        assert!(message.contains("--key-file"), "{message}");
        assert!(message.contains("larger than 1 MiB"), "{message}");
        assert_eq!(o.stdout, "");
    }
    // Exactly 1 MiB is still a key.
    check_ok(mint(exact_arg), &["mint", "--key-file", exact_arg]);
    check_ok(
        discharge(exact_arg),
        &["discharge", "--key-file", exact_arg],
    );
    std::fs::remove_file(big).ok();
    std::fs::remove_file(exact).ok();
}

#[test]
fn inspect_json_format_is_one_of_the_four_output_formats() {
    // Legacy v1 JSON is read as such, and written back (and named) as v2j.
    let sig = "00".repeat(32);
    let v1json = format!(
        r#"{{"location":"http://x/","identifier":"x","caveats":[{{"cid":"a = 1"}}],"signature":"{sig}"}}"#
    );
    let v = inspect_json(&v1json);
    assert_eq!(v["format"], "v2j", "{v}");
    assert_eq!(v["encoding"]["name"], "v1json", "{v}");
    assert_eq!(v["signature_hex"], sig.as_str());
    for token in [TV1_V1_THREE, TV1_V2_THREE, TV1_V2J_THREE, TV7_ROP] {
        let format = format_of(token);
        assert!(FORMATS.contains(&format.as_str()), "{token}: {format}");
    }
}

fn v1_packet(key: &str, value: &[u8]) -> Vec<u8> {
    let len = 4 + key.len() + 1 + value.len() + 1;
    let mut p = format!("{len:04x}{key} ").into_bytes();
    p.extend_from_slice(value);
    p.push(b'\n');
    p
}

#[test]
fn inspect_text_shows_first_party_caveat_location() {
    use base64::Engine;
    // v1: a `cl` packet may follow a first-party `cid`.
    let mut raw = v1_packet("location", b"http://x/");
    raw.extend(v1_packet("identifier", b"x"));
    raw.extend(v1_packet("cid", b"a = 1"));
    raw.extend(v1_packet("cl", b"http://x/"));
    raw.extend(v1_packet("cid", b"b = 2"));
    raw.extend(v1_packet("signature", &[0; 32]));
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let out = ok(&["inspect", &token]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"caveat 0: a = 1 (location http://x/)"),
        "{out}"
    );
    assert!(
        lines.contains(&"caveat 1: b = 2"),
        "no empty location: {out}"
    );

    // The same from legacy v1 JSON.
    let sig = "00".repeat(32);
    let v1json = format!(
        r#"{{"identifier":"x","caveats":[{{"cid":"a = 1","cl":"http://x/"}}],"signature":"{sig}"}}"#
    );
    let out = ok(&["inspect", &v1json]);
    assert!(
        out.lines()
            .any(|l| l == "caveat 0: a = 1 (location http://x/)"),
        "{out}"
    );
}

/// Shell completions and the man page come from the same definitions as --help: every
/// subcommand is in each.
#[test]
fn completions_and_man_page_cover_every_subcommand() {
    let subcommands = [
        "mint",
        "inspect",
        "verify",
        "attenuate",
        "third-party",
        "discharge",
        "bind",
        "convert",
        "onedata",
        "completions",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&["completions", shell]);
        for sub in subcommands {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    // fish completions name the option values clap knows (formats are free text here, so look
    // for a flag instead).
    assert!(ok(&["completions", "fish"]).contains("ignore-unused-discharges"));
    let man = ok(&["man"]);
    assert!(man.contains(".TH macaroon-mint 1"), "roff header");
    for sub in subcommands {
        assert!(
            man.contains(&sub.replace('-', "\\-")),
            "the man page lists {sub}"
        );
    }
    let o = run(&["completions", "tcsh"]);
    assert!(
        fails(&o, 2).contains("tcsh"),
        "an unknown shell is a usage error"
    );
}

/// Without the `server` feature the token tool has no `serve` or `keys`: they are unknown
/// subcommands, not a crash or a stub.
#[cfg(not(feature = "server"))]
#[test]
fn serve_and_keys_need_the_server_feature() {
    for sub in ["serve", "keys"] {
        let o = run(&[sub]);
        assert!(
            fails(&o, 2).contains(sub),
            "{sub} is unknown without the server feature"
        );
    }
}

#[cfg(feature = "server")]
#[test]
fn serve_and_keys_are_listed_with_the_server_feature() {
    let help = ok(&["--help"]);
    assert!(help.contains("serve") && help.contains("keys"), "{help}");
}

//! End-to-end tests of `macaroon-mint onedata …` (minting and verifying Onedata invite tokens,
//! SPEC §10) and of the Onedata reading `inspect` adds (the `"onedata"` field of `--json`), on the
//! TV7 tokens (SPEC §11.7) and the damaged examples of the Onedata docs (SPEC §14).

use crate::common::*;
use serde_json::Value;

// --- SPEC §11.7 (TV7) and §14 ---------------------------------------------------------------

const TV7_SECRET: &str = "verySecretSecret5";
const TV7_LOCATION: &str = "domain.example.com";
const TV7_TOKEN_ID: &str = "1234567890example-id1234567890e";
const TV7_SSP: &str = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVhaWRlbnRpZmllciAyL25tZC91c3ItaW52aXRhdGlvbi1zZW5kZXIvc3NwOlNwYWNlSWQ6Z2UvMTIzNDU2Nzg5MGV4YW1wbGUtaWQxMjM00NTY3ODkwZQowMDJmc2lnbmF00dXJlIICA3AFgFAXHLKDfXavXhDw00YeJioSh5rLbBeomcltfVCg";
const TV7_ACCESS: &str = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDRhaWRlbnRpZmllciAyL3RtcC003L3Vzci11aWQvYWN00OnNlc3NJZC8xMjM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBhCjAwMWFjaWQgdGltZSA8IDgzNzQ4OTEyMzQKMDAxZGNpZCBpcCA9IDE3Mi45OC4xMS4yMy8zMgowMDEyY2lkIGFzbiA9IDMyMgowMDFjY2lkIGdlby5jb3VudHJ5ID00gUEx8RlIKMDAxZGNpZCBnZW8ucmVnaW9uID00gQXNpYXxFVQowMDFkY2lkIGF1dGhvcml6YXRpb24gPSBub25lCjAwMWVjaWQgc2VydmljZSA9IG96dy1vbmV6b25lCjAwMmNjaWQgY29uc3VtZXIgPSB1c3ItdXNlci1pZHxncnAtZ3JvdXAtaWQKMDAxZWNpZCBpbnRlcmZhY2UgPSBncmFwaHN5bmMKMDAxZWNpZCBhcGkgPSBhbGwvYWxsLyouKi4qOioKMDAxNmNpZCBkYXRhLnJlYWRvbmx5CjAwNGFjaWQgZGF00YS5wYXRoID00gTDNOd1lXTmxNUzltYVd4bE1TNTBlSFE9fEwzTndZV005sTWk5a2FYSXZabWxzWlRJdWRIaDAKMDA00MWNpZCBkYXRhLm9iamVjdGlkID00gMDAwMDAwMDAwMDBDREJEQTY3NzU2OTY00MjMzMTMyMzMyMzYxNjI2MwowMDJmc2lnbmF00dXJlIFzjctImjdheinIatewEE6qZxluQoX63kTHYBEbChVksCg";

/// An Onedata-style secret (64 lowercase hex characters; the text is the key).
const SECRET: &str = "5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c";
const NOW: &str = "1700000000";

// --- helpers ------------------------------------------------------------------------------------

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn tv7_rop_args() -> Vec<&'static str> {
    vec![
        "onedata",
        "provider-registration-token",
        "--user",
        "AdminUserId",
        "--issuer",
        "invitation-sender",
        "--key",
        TV7_SECRET,
        "--location",
        TV7_LOCATION,
        "--token-id",
        TV7_TOKEN_ID,
    ]
}

/// Verifies `token` as an invite of kind `expect` under SECRET at NOW, plus `extra` options.
fn verify_args<'a>(expect: &'a str, extra: &[&'a str], token: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "onedata",
        "verify-invite",
        "--expect",
        expect,
        "--key",
        SECRET,
        "--now",
        NOW,
    ];
    args.extend_from_slice(extra);
    args.push(token);
    args
}

/// Mints an ssp token under SECRET at NOW with `extra` options.
fn mint_ssp(extra: &[&str]) -> String {
    let mut args = vec![
        "onedata",
        "space-support-token",
        "--space",
        "space1",
        "--issuer",
        "alice",
        "--key",
        SECRET,
    ];
    args.extend_from_slice(extra);
    ok(&args)
}

/// A hand-built Onedata token (through `mint`, which does not check the Onedata profile).
fn raw_token(identifier: &str, caveats: &[&str]) -> String {
    let mut args = vec![
        "mint",
        "--key",
        SECRET,
        "--location",
        "onezone.example",
        "--identifier",
        identifier,
        "--format",
        "onedata",
    ];
    for c in caveats {
        args.extend_from_slice(&["--caveat", c]);
    }
    ok(&args)
}

// --- provider-registration-token ------------------------------------------------------------------

#[test]
fn provider_registration_token_reproduces_tv7() {
    assert_eq!(ok(&tv7_rop_args()), TV7_ROP);
}

#[test]
fn provider_registration_token_defaults() {
    let token = ok(&[
        "onedata",
        "provider-registration-token",
        "--user",
        "bob",
        "--key",
        SECRET,
    ]);
    let v = inspect_json(&token);
    assert_eq!(v["macaroon"]["l"], "onezone.local", "default location");
    let id = &v["onedata"]["identifier"];
    assert_eq!(id["subject"], "usr-bob", "the issuer defaults to --user");
    assert_eq!(id["invite"], "rop");
    assert_eq!(id["target"], "bob");
    assert_eq!(id["persistence"], "nmd");
    let token_id = id["id"].as_str().expect("id");
    assert_eq!(token_id.len(), 32);
    assert!(
        token_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{token_id}"
    );
    assert_eq!(
        v["macaroon"]
            .get("c")
            .map_or(0, |c| c.as_array().map_or(0, Vec::len)),
        0
    );
}

#[test]
fn provider_registration_token_with_key_hex_and_key_file() {
    let hex_key: String = TV7_SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let mut args = tv7_rop_args();
    let at = args.iter().position(|a| *a == "--key").expect("--key");
    args[at] = "--key-hex";
    args[at + 1] = &hex_key;
    assert_eq!(ok(&args), TV7_ROP);

    let path = std::env::temp_dir().join(format!("onedata-key-{}", std::process::id()));
    std::fs::write(&path, TV7_SECRET).expect("write key file");
    let path_text = path.to_str().expect("UTF-8 path").to_owned();
    let mut args = tv7_rop_args();
    args[at] = "--key-file";
    args[at + 1] = &path_text;
    let out = ok(&args);
    std::fs::remove_file(&path).ok();
    assert_eq!(out, TV7_ROP);
}

// --- space-support-token ----------------------------------------------------------------------------

#[test]
fn space_support_token_reproduces_tv7() {
    let token = ok(&[
        "onedata",
        "space-support-token",
        "--space",
        "SpaceId",
        "--issuer",
        "invitation-sender",
        "--key",
        TV7_SECRET,
        "--location",
        TV7_LOCATION,
        "--token-id",
        TV7_TOKEN_ID,
    ]);
    assert_eq!(token, TV7_SSP);
}

#[test]
fn space_support_token_with_ttl_temporary_and_caveats() {
    let token = mint_ssp(&[
        "--ttl",
        "600",
        "--now",
        NOW,
        "--temporary",
        "4",
        "--token-id",
        "tok1",
        "--caveat",
        "ip = 10.0.0.0/8",
        "--caveat",
        "consumer = prv-p1",
    ]);
    let v = inspect_json(&token);
    let caveats: Vec<&str> = v["macaroon"]["c"]
        .as_array()
        .expect("caveats")
        .iter()
        .map(|c| c["i"].as_str().expect("text"))
        .collect();
    assert_eq!(
        caveats,
        ["time < 1700000600", "ip = 10.0.0.0/8", "consumer = prv-p1"]
    );
    assert_eq!(v["macaroon"]["i"], "2/tmp-4/usr-alice/ssp:space1:ge/tok1");
    assert_eq!(v["onedata"]["identifier"]["generation"], 4);
}

#[test]
fn minting_errors_exit_2() {
    let registration = |extra: &[&'static str]| {
        let mut args = vec![
            "onedata",
            "provider-registration-token",
            "--user",
            "u",
            "--key",
            SECRET,
        ];
        args.extend_from_slice(extra);
        args
    };
    // (case, arguments, the start of the message)
    let cases = [
        (
            "temporary without --ttl",
            vec![
                "onedata",
                "space-support-token",
                "--space",
                "s",
                "--issuer",
                "alice",
                "--key",
                SECRET,
                "--temporary",
                "1",
            ],
            "a temporary token needs an expiry: give --ttl",
        ),
        // Caveats outside the invite set, of no form, or malformed.
        (
            "interface caveat",
            registration(&["--caveat", "interface = rest"]),
            "caveat 0 (\"interface = rest\"): the interface form is not supported on invite tokens",
        ),
        (
            "caveat of no form",
            registration(&["--caveat", "user = alice"]),
            "caveat 0 (\"user = alice\") matches no Onedata caveat form",
        ),
        (
            "malformed caveat",
            registration(&["--caveat", "time < abc"]),
            "--caveat \"time < abc\": time caveat: expected decimal digits at byte 7",
        ),
        (
            "token id with a '/'",
            registration(&["--token-id", "a/b"]),
            "onedata-identifier: token id",
        ),
        (
            "--ttl 0",
            registration(&["--ttl", "0"]),
            "the ttl must be at least 1 second",
        ),
        (
            "--now without --ttl",
            registration(&["--now", NOW]),
            "the following required arguments were not provided: --ttl",
        ),
        (
            "no key",
            vec!["onedata", "provider-registration-token", "--user", "u"],
            "the following required arguments were not provided: <--key",
        ),
        (
            "no --user",
            vec!["onedata", "provider-registration-token", "--key", SECRET],
            "the following required arguments were not provided: --user",
        ),
    ];
    for (name, args, start) in cases {
        let o = run(&args);
        let msg = row_fails(name, &o, 2);
        assert!(msg.starts_with(start), "{name}: {msg}");
        assert_eq!(o.stdout, "", "{name}");
    }
}

#[test]
fn minting_error_as_json() {
    let o = run(&[
        "--json",
        "onedata",
        "provider-registration-token",
        "--user",
        "u",
        "--key",
        SECRET,
        "--temporary",
        "2",
    ]);
    let err = fails_json(&o, 2);
    assert_eq!(err["reason"], "temporary_without_expiry");
    assert_eq!(err["kind"], "onedata");
    assert!(
        err.get("valid").is_none(),
        "not a verification failure: {err}"
    );
}

// --- verify-invite: success ---------------------------------------------------------------------

#[test]
fn verify_invite_prints_the_claims() {
    let out = ok(&[
        "onedata",
        "verify-invite",
        "--expect",
        "rop",
        "--key",
        TV7_SECRET,
        TV7_ROP,
    ]);
    let v = json(&out);
    assert_eq!(v["valid"], true);
    assert_eq!(v["subject"], "usr-invitation-sender");
    assert_eq!(v["invite"], "rop");
    assert_eq!(v["target"], "AdminUserId");
    assert_eq!(v["parameters"], "");
    assert_eq!(v["token_id"], TV7_TOKEN_ID);
    assert_eq!(v["persistence"], "nmd");
    assert_eq!(v["expiry"], Value::Null);
    assert_eq!(v["location"], TV7_LOCATION);
    assert_eq!(v["service"], Value::Null);
    assert_eq!(v["caveats"], serde_json::json!([]));
    assert!(v.get("generation").is_none());

    // From standard input, with a service indication.
    let o = run_stdin(
        &[
            "onedata",
            "verify-invite",
            "--expect",
            "ssp",
            "--key",
            TV7_SECRET,
            "-",
        ],
        &format!("opp-{TV7_SSP}\n"),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = json(o.stdout.trim_end());
    assert_eq!(v["invite"], "ssp");
    assert_eq!(v["target"], "SpaceId");
    assert_eq!(v["parameters"], "ge");
    assert_eq!(v["service"], "opp");
}

#[test]
fn verify_invite_checks_caveats_against_the_context() {
    let token = mint_ssp(&[
        "--ttl",
        "600",
        "--now",
        NOW,
        "--temporary",
        "2",
        "--caveat",
        "ip = 10.0.0.0/8",
        "--caveat",
        "asn = 322",
        "--caveat",
        "geo.country = PL",
        "--caveat",
        "geo.region = Europe",
        "--caveat",
        "consumer = grp-g1",
    ]);
    let context = [
        "--generation",
        "2",
        "--ip",
        "10.9.8.7",
        "--asn",
        "322",
        "--country",
        "PL",
        "--region",
        "Europe",
        "--consumer",
        "usr-bob",
        "--consumer-group",
        "g1",
    ];
    let v = json(&ok(&verify_args("ssp", &context, &token)));
    assert_eq!(v["persistence"], "tmp-2");
    assert_eq!(v["generation"], 2);
    assert_eq!(v["expiry"], 1_700_000_600u64);
    assert_eq!(v["caveats"][0], "time < 1700000600");
    assert_eq!(v["caveats"][5], "consumer = grp-g1");

    // Another IP: exit 1 naming the caveat.
    let mut other_ip = context.to_vec();
    other_ip[3] = "192.168.0.1";
    let msg = fails(&run(&verify_args("ssp", &other_ip, &token)), 1);
    assert_eq!(
        msg,
        "invalid: caveat 1 of the root macaroon is not satisfied: \"ip = 10.0.0.0/8\" (the request is outside what it allows)"
    );
}

// --- verify-invite: failures ---------------------------------------------------------------------

#[test]
fn verify_invite_wrong_invite_type_exits_1() {
    let o = run(&[
        "onedata",
        "verify-invite",
        "--expect",
        "rop",
        "--key",
        TV7_SECRET,
        TV7_SSP,
    ]);
    assert_eq!(
        fails(&o, 1),
        "invalid: wrong invite type: expected rop (register Oneprovider), found ssp (support space)"
    );
    assert_eq!(o.stdout, "");

    let o = run(&[
        "--json",
        "onedata",
        "verify-invite",
        "--expect",
        "ssp",
        "--key",
        TV7_SECRET,
        TV7_ROP,
    ]);
    let err = fails_json(&o, 1);
    assert_eq!(err["reason"], "wrong_invite_type");
    assert_eq!(err["expected"], "ssp");
    assert_eq!(err["found"], "rop");
    assert_eq!(err["valid"], false);
}

#[test]
fn verify_invite_wrong_key_exits_1() {
    let o = run(&[
        "--json",
        "onedata",
        "verify-invite",
        "--expect",
        "rop",
        "--key",
        "verySecretSecret6",
        TV7_ROP,
    ]);
    let err = fails_json(&o, 1);
    // The library's error object (the serde feature): the macaroon layer's own reason.
    assert_eq!(err["kind"], "verify");
    assert_eq!(err["reason"], "signature_mismatch");
    assert_eq!(err["macaroon"], "root");
    assert_eq!(err["message"], "signature mismatch in the root macaroon");
    assert_eq!(err["valid"], false);
}

#[test]
fn verify_invite_expiry_is_strict() {
    let token = mint_ssp(&["--ttl", "100", "--now", NOW]);
    ok(&[
        "onedata",
        "verify-invite",
        "--expect",
        "ssp",
        "--key",
        SECRET,
        "--now",
        "1700000099",
        &token,
    ]);
    let msg = fails(
        &run(&[
            "onedata",
            "verify-invite",
            "--expect",
            "ssp",
            "--key",
            SECRET,
            "--now",
            "1700000100",
            &token,
        ]),
        1,
    );
    assert_eq!(
        msg,
        "invalid: caveat 0 of the root macaroon has expired: \"time < 1700000100\" (now is 1700000100)"
    );
    // --leeway accepts it a little later.
    ok(&[
        "onedata",
        "verify-invite",
        "--expect",
        "ssp",
        "--key",
        SECRET,
        "--now",
        "1700000100",
        "--leeway",
        "5",
        &token,
    ]);
}

#[test]
fn verify_invite_temporary_generation() {
    let token = mint_ssp(&["--ttl", "600", "--now", NOW, "--temporary", "2"]);
    // The current generation is 3: revoked, even before the signature is checked.
    let o = run(&verify_args("ssp", &["--generation", "3"], &token));
    assert_eq!(
        fails(&o, 1),
        "invalid: temporary token of generation 2 has been revoked (the current generation is 3)"
    );
    let mut args = verify_args("ssp", &["--generation", "3"], &token);
    args[5] = "the new secret";
    assert!(fails(&run(&args), 1).contains("revoked"));
    let mut json_args = vec!["--json"];
    json_args.extend(verify_args("ssp", &["--generation", "3"], &token));
    let err = fails_json(&run(&json_args), 1);
    assert_eq!(err["reason"], "revoked");
    assert_eq!(
        (err["generation"].as_u64(), err["current"].as_u64()),
        (Some(2), Some(3))
    );

    // No --generation: it cannot be checked.
    let msg = fails(&run(&verify_args("ssp", &[], &token)), 1);
    assert!(msg.ends_with("(give it with --generation)"), "{msg}");

    // The current generation: valid.
    ok(&verify_args("ssp", &["--generation", "2"], &token));
}

#[test]
fn verify_invite_temporary_lifetime_cap() {
    let token = mint_ssp(&["--ttl", "604801", "--now", NOW, "--temporary", "1"]);
    let msg = fails(&run(&verify_args("ssp", &["--generation", "1"], &token)), 1);
    assert_eq!(
        msg,
        "invalid: the token lives too long: expires at 1700604801, more than 604800 s after 1700000000"
    );
    ok(&verify_args(
        "ssp",
        &["--generation", "1", "--temporary-max-ttl", "604801"],
        &token,
    ));
}

#[test]
fn verify_invite_caveat_failures_exit_1() {
    let id = "2/nmd/usr-alice/rop:alice:/tok";
    let cases = [
        (
            "interface = rest",
            "invalid: caveat 0 of the root macaroon is not satisfied: \"interface = rest\" (it is not supported on invite tokens)",
        ),
        (
            "user = alice",
            "invalid: caveat 0 of the root macaroon is unknown: \"user = alice\"",
        ),
        (
            "time < abc",
            "invalid: caveat 0 of the root macaroon is malformed: \"time < abc\": time caveat: expected decimal digits at byte 7",
        ),
    ];
    for (caveat, expected) in cases {
        let token = raw_token(id, &[caveat]);
        assert_eq!(fails(&run(&verify_args("rop", &[], &token)), 1), expected);
    }
}

#[test]
fn verify_invite_token_kind_failures_exit_1() {
    // Legacy identifier.
    let legacy = raw_token("8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk", &[]);
    let msg = fails(&run(&verify_args("rop", &[], &legacy)), 1);
    assert!(
        msg.starts_with(
            "invalid: legacy (version 1) token \"8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk\""
        ),
        "{msg}"
    );
    // Access token (TV7).
    let msg = fails(&run(&verify_args("rop", &[], TV7_ACCESS)), 1);
    assert_eq!(
        msg,
        "invalid: wrong token type: expected an invite token, found an access token (type \"act:sessId\")"
    );
    // Unknown invite code in the token.
    let unknown = raw_token("2/nmd/usr-alice/xyz:t:/tok", &[]);
    let msg = fails(&run(&verify_args("rop", &[], &unknown)), 1);
    assert!(
        msg.starts_with("invalid: unknown invite type code \"xyz\""),
        "{msg}"
    );
}

#[test]
fn verify_invite_input_errors_exit_2() {
    // Damaged text (SPEC §14).
    for (token, error) in [(DAMAGED_A, DAMAGED_A_ERROR), (DAMAGED_B, DAMAGED_B_ERROR)] {
        let o = run(&verify_args("rop", &[], token));
        assert_eq!(fails(&o, 2), error);
        let mut args = vec!["--json"];
        args.extend(verify_args("rop", &[], token));
        let err = fails_json(&run(&args), 2);
        assert_eq!(err["kind"], "decode");
        assert!(err.get("valid").is_none());
    }
    // Not Onedata text.
    let v1 = ok(&[
        "mint",
        "--key",
        SECRET,
        "--identifier",
        "2/nmd/usr-a/rop:a:/t",
    ]);
    let msg = fails(&run(&verify_args("rop", &[], &v1)), 2);
    assert!(
        msg.starts_with("the token is v1 text, not Onedata token text"),
        "{msg}"
    );
    // A malformed version 2 identifier.
    let bad = raw_token("2/nmd/usr-alice/rop-alice/tok", &[]);
    let mut args = vec!["--json"];
    args.extend(verify_args("rop", &[], &bad));
    let err = fails_json(&run(&args), 2);
    assert_eq!(err["layer"], "onedata-identifier");
    assert_eq!(err["segment"], "type");
    assert_eq!(err["offset"], 16);
    assert_eq!(err["reason"], "dash_invite_form");
    assert_eq!(err["found"], "rop-alice");
    // Unknown --expect code and bad context options.
    let msg = fails(&run(&verify_args("xyz", &[], TV7_ROP)), 2);
    assert!(
        msg.starts_with("--expect: unknown invite type code \"xyz\""),
        "{msg}"
    );
    let msg = fails(&run(&verify_args("rop", &["--country", "pl"], TV7_ROP)), 2);
    assert!(msg.starts_with("--country pl:"), "{msg}");
    let msg = fails(
        &run(&verify_args("rop", &["--region", "Atlantis"], TV7_ROP)),
        2,
    );
    assert!(
        msg.starts_with("--region: unknown region \"Atlantis\""),
        "{msg}"
    );
    let msg = fails(
        &run(&verify_args("rop", &["--consumer", "bob"], TV7_ROP)),
        2,
    );
    assert_eq!(msg, "--consumer \"bob\" is not usr-ID, grp-ID or prv-ID");
    // Missing TOKEN.
    fails(
        &run(&[
            "onedata",
            "verify-invite",
            "--expect",
            "rop",
            "--key",
            SECRET,
        ]),
        2,
    );
}

// --- inspect: the "onedata" field ------------------------------------------------------------------

#[test]
fn inspect_json_reads_tv7_invite_identifiers() {
    let v = inspect_json(TV7_ROP);
    let o = &v["onedata"];
    assert_eq!(
        o["identifier"],
        serde_json::json!({
            "version": 2,
            "persistence": "nmd",
            "subject": "usr-invitation-sender",
            "type": "invite",
            "invite": "rop",
            "target": "AdminUserId",
            "parameters": "",
            "id": TV7_TOKEN_ID,
        })
    );
    assert_eq!(o["caveats"], serde_json::json!([]));

    let v = inspect_json(TV7_SSP);
    assert_eq!(v["onedata"]["identifier"]["invite"], "ssp");
    assert_eq!(v["onedata"]["identifier"]["parameters"], "ge");
}

#[test]
fn inspect_json_reads_the_tv7_access_token_and_its_caveats() {
    let v = inspect_json(TV7_ACCESS);
    let id = &v["onedata"]["identifier"];
    assert_eq!(id["type"], "access");
    assert_eq!(id["session"], "sessId");
    assert_eq!(id["persistence"], "tmp-7");
    assert_eq!(id["generation"], 7);
    assert_eq!(id["subject"], "usr-uid");
    let forms: Vec<&str> = v["onedata"]["caveats"]
        .as_array()
        .expect("caveats")
        .iter()
        .map(|c| c["form"].as_str().expect("form"))
        .collect();
    assert_eq!(
        forms,
        [
            "time",
            "ip",
            "asn",
            "geo.country",
            "geo.region",
            "authorization",
            "service",
            "consumer",
            "interface",
            "api",
            "data.readonly",
            "data.path",
            "data.objectid"
        ]
    );
    assert_eq!(v["onedata"]["caveats"][3]["index"], 3);
    assert_eq!(v["onedata"]["caveats"][3]["text"], "geo.country = PL|FR");
}

#[test]
fn inspect_shows_unknown_and_malformed_caveats_and_bad_identifiers() {
    let token = raw_token(
        "2/nmd/usr-alice/rop-alice/tok",
        &["user = alice", "ip = 300.1.1.1", "time < 5"],
    );
    let v = inspect_json(&token);
    let o = &v["onedata"];
    assert_eq!(o["identifier"]["segment"], "type");
    assert_eq!(o["identifier"]["offset"], 16);
    assert!(
        o["identifier"]["error"]
            .as_str()
            .expect("error")
            .starts_with("onedata-identifier: type at byte 16:"),
        "{o}"
    );
    assert_eq!(
        o["caveats"][0],
        serde_json::json!({"index": 0, "text": "user = alice", "form": "unknown"})
    );
    assert_eq!(o["caveats"][1]["form"], "ip");
    assert_eq!(
        o["caveats"][1]["error"],
        "ip caveat: expected an IPv4 or IPv6 address at byte 5"
    );
    assert_eq!(o["caveats"][2]["form"], "time");
    assert!(o["caveats"][2].get("error").is_none());

    let text = ok(&["inspect", &token]);
    assert!(
        text.contains("\nonedata identifier: invalid: onedata-identifier: type at byte 16:"),
        "{text}"
    );
    assert!(text.contains("\nonedata caveat 0: unknown\n"), "{text}");
    assert!(
        text.contains(
            "\nonedata caveat 1: ip (malformed: ip caveat: expected an IPv4 or IPv6 address at byte 5)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nonedata caveat 2: time\n"), "{text}");
}

#[test]
fn inspect_text_shows_the_onedata_identifier() {
    let text = ok(&["inspect", TV7_ROP]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "format: onedata",
            "location: domain.example.com",
            "identifier: 2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e",
            "onedata identifier: version 2, persistence nmd, subject usr-invitation-sender, type invite rop (target AdminUserId, parameters \"\"), id 1234567890example-id1234567890e",
            "signature: 7aa0198cefd5f629c487e3d791e4488f6db9e960fbd53c51c815cbae52ea1b8b",
        ]
    );
}

#[test]
fn inspect_adds_onedata_only_for_onedata_tokens_unless_asked() {
    // A plain v1 token with a legacy-looking identifier: no Onedata reading.
    let plain = ok(&["mint", "--key", "k", "--identifier", "keyid"]);
    assert!(inspect_json(&plain).get("onedata").is_none());
    assert!(!ok(&["inspect", &plain]).contains("onedata"));
    // ... unless --onedata asks for it.
    let v = json(&ok(&["--json", "inspect", "--onedata", &plain]));
    assert_eq!(
        v["onedata"]["identifier"],
        serde_json::json!({"version": 1, "token_id": "keyid"})
    );
    // Any format with a versioned identifier is read as Onedata.
    let v2 = ok(&[
        "mint",
        "--key",
        "k",
        "--identifier",
        "2/nmd/prv-pid/idn/t1",
        "--format",
        "v2",
    ]);
    let v = inspect_json(&v2);
    assert_eq!(v["onedata"]["identifier"]["type"], "identity");
    assert_eq!(v["onedata"]["identifier"]["subject"], "prv-pid");
    // Onedata text with a legacy identifier.
    let legacy = raw_token("8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk", &["time < 5"]);
    let v = inspect_json(&legacy);
    assert_eq!(v["onedata"]["identifier"]["version"], 1);
    assert_eq!(
        v["onedata"]["identifier"]["token_id"],
        "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk"
    );
    let text = ok(&["inspect", &legacy]);
    assert!(
        text.contains(
            "\nonedata identifier: legacy (version 1), token id 8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk\n"
        ),
        "{text}"
    );
}

#[test]
fn inspect_marks_third_party_caveats() {
    let root = raw_token("2/nmd/usr-alice/rop:alice:/tok", &["time < 5"]);
    let with_tp = ok(&[
        "third-party",
        "--key",
        "caveat key",
        "--location",
        "auth",
        "--caveat-id",
        "cid",
        &root,
    ]);
    let v = inspect_json(&with_tp);
    assert_eq!(
        v["onedata"]["caveats"][1],
        serde_json::json!({"index": 1, "text": "cid", "third_party": true})
    );
    assert!(ok(&["inspect", &with_tp]).contains("\nonedata caveat 1: third-party caveat"));
}

// --- inspect: SPEC §14 damaged examples ------------------------------------------------------------

/// One SPEC §14 damaged example, inspected with `args` as text and again with `--json`.
struct Damaged {
    name: &'static str,
    args: &'static [&'static str],
    error: &'static str,
    /// Fields of the `--json` report, by JSON pointer (Null: absent or null).
    json: Vec<(&'static str, Value)>,
    /// JSON pointers the report must not have at all.
    json_absent: &'static [&'static str],
    text: &'static [&'static str],
    text_absent: &'static [&'static str],
}

/// Damaged input fails with the strict error (exit 2), and the report on stdout still reads
/// what was recovered as Onedata where the text is Onedata's or `--onedata` asks for it.
#[test]
fn inspect_damaged_examples() {
    let cases = [
        Damaged {
            name: "A: no identifier to read",
            args: &["inspect", DAMAGED_A],
            error: DAMAGED_A_ERROR,
            json: vec![
                ("/recovered/location/text", serde_json::json!("registry")),
                // Base62 text, but no identifier was recovered.
                ("/onedata", serde_json::json!({"identifier": null, "caveats": []})),
            ],
            json_absent: &[],
            text: &["location: registry\n"],
            text_absent: &["identifier:"],
        },
        Damaged {
            name: "B: a truncated legacy identifier",
            args: &["inspect", DAMAGED_B],
            error: DAMAGED_B_ERROR,
            json: vec![
                ("/recovered/location/text", serde_json::json!("registry")),
                (
                    "/onedata/identifier",
                    serde_json::json!({
                        "version": 1,
                        "token_id": "vcPiHpi0xfmkVNtJtyCH5SoGm5Z",
                        "truncated": true
                    }),
                ),
                ("/onedata/caveats", serde_json::json!([])),
            ],
            json_absent: &[],
            text: &[
                "onedata identifier: legacy (version 1), token id vcPiHpi0xfmkVNtJtyCH5SoGm5Z (truncated)",
                "identifier: vcPiHpi0xfmkVNtJtyCH5SoGm5Z (truncated: 27 bytes present)",
            ],
            text_absent: &[],
        },
        // Plain base64, not Onedata token text, and a legacy identifier: no Onedata reading...
        Damaged {
            name: "C: plain base64",
            args: &["inspect", DAMAGED_C],
            error: DAMAGED_C_ERROR,
            json: vec![("/recovered/location/text", serde_json::json!("onezone"))],
            json_absent: &["/onedata"],
            text: &["location: onezone\n"],
            text_absent: &["onedata"],
        },
        // ... unless asked for.
        Damaged {
            name: "C with --onedata",
            args: &["inspect", "--onedata", DAMAGED_C],
            error: DAMAGED_C_ERROR,
            json: vec![
                (
                    "/onedata/identifier",
                    serde_json::json!({"version": 1, "token_id": "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk"}),
                ),
                (
                    "/onedata/caveats",
                    serde_json::json!([{
                        "index": 0,
                        "text": "time < 1496140144",
                        "form": "time",
                        "onezone": {"type": "time", "validUntil": 1_496_140_144u64},
                    }]),
                ),
                (
                    "/recovered/identifier/text",
                    serde_json::json!("8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk"),
                ),
            ],
            json_absent: &[],
            text: &["location: onezone\n", "\nonedata caveat 0: time"],
            text_absent: &[],
        },
    ];
    for case in cases {
        let name = case.name;
        let mut json_args = vec!["--json"];
        json_args.extend(case.args);
        let o = run(&json_args);
        let err = row_fails_json(name, &o, 2);
        assert_eq!(err["message"], case.error, "{name}");
        let v = json(o.stdout.trim_end());
        for (pointer, expected) in &case.json {
            assert_eq!(at(&v, pointer), expected, "{name}: {pointer}");
        }
        for pointer in case.json_absent {
            assert!(v.pointer(pointer).is_none(), "{name}: has {pointer}: {v}");
        }

        let o = run(case.args);
        assert_eq!(row_fails(name, &o, 2), case.error, "{name}");
        for text in case.text {
            assert!(
                o.stdout.contains(text),
                "{name}: lacks {text:?}:\n{}",
                o.stdout
            );
        }
        for text in case.text_absent {
            assert!(
                !o.stdout.contains(text),
                "{name}: has {text:?}:\n{}",
                o.stdout
            );
        }
    }
}

/// `inspect --json` gives each typed caveat's parsed value in Onezone's caveat JSON (the shape
/// the service's `caveats` fields take), beside its text.
#[test]
fn inspect_json_shows_typed_caveats_in_onezone_json() {
    let token = raw_token(
        "2/nmd/usr-alice/act/tok",
        &[
            "time < 1700000600",
            "ip = 10.0.0.0/8|192.168.1.7",
            "asn = 322",
            "geo.country != PL|DE",
            "interface = rest",
            "data.readonly",
            "authorization = none",
            "user = alice",
        ],
    );
    let v = json(&ok(&["--json", "inspect", &token]));
    let caveats = &v["onedata"]["caveats"];
    let onezone = |i: usize| caveats[i]["onezone"].clone();
    assert_eq!(
        onezone(0),
        serde_json::json!({"type": "time", "validUntil": 1_700_000_600u64})
    );
    assert_eq!(
        onezone(1),
        serde_json::json!({"type": "ip", "whitelist": ["10.0.0.0/8", "192.168.1.7"]})
    );
    assert_eq!(
        onezone(2),
        serde_json::json!({"type": "asn", "whitelist": [322]})
    );
    assert_eq!(
        onezone(3),
        serde_json::json!({"type": "geo.country", "filter": "blacklist", "list": ["PL", "DE"]})
    );
    assert_eq!(
        onezone(4),
        serde_json::json!({"type": "interface", "interface": "rest"})
    );
    assert_eq!(onezone(5), serde_json::json!({"type": "data.readonly"}));
    // Onezone writes identity scope, and text of no form, as the text itself.
    assert_eq!(onezone(6), serde_json::json!("authorization = none"));
    assert_eq!(
        caveats[7]["onezone"],
        Value::Null,
        "an unknown caveat has no typed value"
    );
    assert_eq!(caveats[1]["text"], "ip = 10.0.0.0/8|192.168.1.7");
}

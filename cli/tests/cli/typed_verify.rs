//! `macaroon-mint verify` checks caveats with the typed checkers against the request described by
//! its context flags (DESIGN §4): a caveat holds if it equals an `--exact` string or a typed
//! checker accepts it; everything else fails closed, naming the caveat and why.

use crate::common::*;

fn mint(caveats: &[&str]) -> String {
    let mut args = vec!["mint", "--key", "k", "--identifier", "id"];
    for c in caveats {
        args.extend(["--caveat", c]);
    }
    let o = run(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.stdout.trim_end().to_owned()
}

fn verify(token: &str, flags: &[&str]) -> Out {
    let mut args = vec!["verify", "--key", "k", "--now", "1700000000"];
    args.extend(flags);
    args.push(token);
    run(&args)
}

fn valid(token: &str, flags: &[&str]) {
    let o = verify(token, flags);
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (0, "valid\n", ""),
        "{flags:?}"
    );
}

fn invalid(token: &str, flags: &[&str], message: &str) {
    let o = verify(token, flags);
    assert_eq!(o.code, 1, "{flags:?}: {}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        format!("macaroon-mint: invalid: {message}\n"),
        "{flags:?}"
    );
}

fn usage(token: &str, flags: &[&str], message: &str) {
    let o = verify(token, flags);
    assert_eq!(o.code, 2, "{flags:?}: {}", o.stderr);
    assert_eq!(o.stderr, format!("macaroon-mint: {message}\n"), "{flags:?}");
}

#[test]
fn client_facts() {
    let t = mint(&[
        "time < 1700003600",
        "ip = 10.0.0.0/8|2001:db8::/32",
        "asn = 322",
        "geo.country != US",
        "geo.region = EU",
        "consumer = usr-alice|grp-admins",
    ]);
    let all = [
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
        "admins",
    ];
    valid(&t, &all);
    let mut v6 = all;
    v6[1] = "2001:db8::1";
    valid(&t, &v6);
    let mut outside = all;
    outside[1] = "11.0.0.1";
    invalid(
        &t,
        &outside,
        "caveat 1 of the root macaroon is not satisfied: \"ip = 10.0.0.0/8|2001:db8::/32\" \
         (the request is outside what it allows)",
    );
    invalid(
        &t,
        &all[2..],
        "caveat 1 of the root macaroon is not satisfied: \"ip = 10.0.0.0/8|2001:db8::/32\" \
         (the request context has no client IP)",
    );
    let mut us = all;
    us[5] = "US";
    invalid(
        &t,
        &us,
        "caveat 3 of the root macaroon is not satisfied: \"geo.country != US\" (the request is \
         outside what it allows)",
    );
    let no_group = &all[..10];
    invalid(
        &t,
        no_group,
        "caveat 5 of the root macaroon is not satisfied: \"consumer = usr-alice|grp-admins\" (the \
         request is outside what it allows)",
    );
}

#[test]
fn request_facts() {
    let t = mint(&[
        "service = opw-*",
        "interface = rest",
        "authorization = none",
        "api = ozw/get/user.*.*",
        "data.readonly",
        "data.path = L3NwYWNlMS9kaXI=",
    ]);
    let all = [
        "--service",
        "opw-p1",
        "--interface",
        "rest",
        "--identity-scope",
        "--api",
        "ozw/get/user.u1.instance",
        "--read-only",
        "--data-path",
        "/space1/dir/file.txt",
    ];
    valid(&t, &all);
    let mut other_service = all;
    other_service[1] = "ozw-onezone";
    invalid(
        &t,
        &other_service,
        "caveat 0 of the root macaroon is not satisfied: \"service = opw-*\" (the request is \
         outside what it allows)",
    );
    invalid(
        &t,
        &[&all[..4], &all[5..]].concat(),
        "caveat 2 of the root macaroon is not satisfied: \"authorization = none\" (the request is \
         outside what it allows)",
    );
    let mut shared = all;
    shared[6] = "ozw/get/user.u1.instance:shared";
    invalid(
        &t,
        &shared,
        "caveat 3 of the root macaroon is not satisfied: \"api = ozw/get/user.*.*\" (the request \
         is outside what it allows)",
    );
    invalid(
        &t,
        &[&all[..7], &all[8..]].concat(),
        "caveat 4 of the root macaroon is not satisfied: \"data.readonly\" (the request is \
         outside what it allows)",
    );
    let mut escape = all;
    escape[9] = "/space1/dir/../other";
    invalid(
        &t,
        &escape,
        "caveat 5 of the root macaroon is not satisfied: \"data.path = L3NwYWNlMS9kaXI=\" (the \
         request is outside what it allows)",
    );
}

#[test]
fn unknown_malformed_and_exact() {
    let t = mint(&["account = 7", "ip = 300.1.1.1"]);
    invalid(
        &t,
        &[],
        "caveat 0 of the root macaroon is unknown: \"account = 7\"",
    );
    invalid(
        &t,
        &["--exact", "account = 7", "--ip", "10.0.0.1"],
        "caveat 1 of the root macaroon is malformed: \"ip = 300.1.1.1\": ip caveat: expected an \
         IPv4 or IPv6 address at byte 5",
    );
    valid(&t, &["--exact", "account = 7", "--exact", "ip = 300.1.1.1"]);
    // The expiry is exclusive at --now.
    let t = mint(&["time < 1700000000"]);
    invalid(
        &t,
        &[],
        "caveat 0 of the root macaroon has expired: \"time < 1700000000\" (now is 1700000000)",
    );
    let t = mint(&["time < 1700000001"]);
    valid(&t, &[]);
}

#[test]
fn bad_context_flags_are_usage_errors() {
    let t = mint(&["interface = rest"]);
    let cases: [(&[&str], &str); 6] = [
        (
            &["--interface", "http"],
            "--interface \"http\" is not rest, oneclient or graphsync",
        ),
        (
            &["--service", "xyz-1"],
            "--service \"xyz-1\" is not ozw-ID, ozp-ID, opw-ID or opp-ID",
        ),
        (
            &["--api", "all/get/user.u.i"],
            "--api \"all/get/user.u.i\": give one service, not all",
        ),
        (
            &["--api", "ozw/get/user.*.i"],
            "--api \"ozw/get/user.*.i\": a call has no wildcards",
        ),
        (
            &["--country", "pl"],
            "--country pl: geo.country caveat: expected a two-letter upper-case country code at byte 0",
        ),
        (
            &["--consumer-group", "g"],
            "--consumer-group needs --consumer",
        ),
    ];
    for (flags, message) in cases {
        usage(&t, flags, message);
    }
    let o = verify(&t, &["--ip", "not-an-ip"]);
    assert_eq!(o.code, 2);
}

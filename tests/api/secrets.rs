//! Secrets never reach `Debug`, `Display` or error text: root keys, derived keys, signatures and
//! token text are redacted wherever a value can be printed.

use crate::common::*;
use crate::support::*;
use macaroon_mint::{Error, Format, Inspection, Limits, Macaroon, Parsed, RootKey, Verifier};

fn derive(secret: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(b"macaroons-key-generator").expect("any key length");
    mac.update(secret);
    mac.finalize().into_bytes().to_vec()
}

/// Every way 32 secret bytes could be printed, and prefixes of 12, 8 and 4 bytes of each.
fn renderings(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for b in [bytes, &bytes[..12], &bytes[..8], &bytes[..4]] {
        out.push(hex::encode(b));
        out.push(hex::encode(b).to_uppercase());
        out.push(b64_encode(b, true, false));
        out.push(b64_encode(b, false, false));
        out.push(b64_encode(b, false, true));
        out.push(format!("{b:?}"));
    }
    out
}

fn assert_secret_free(text: &str, secrets: &[(&str, Vec<String>)], ctx: &str) {
    for (what, needles) in secrets {
        for needle in needles {
            assert!(
                !text.contains(needle.as_str()),
                "[{ctx}] leaks the {what} as {needle:?}: {text}"
            );
        }
    }
}

#[test]
fn secrets_never_appear_in_debug_display_or_errors() {
    let root_secret = "root secret: correct horse battery staple";
    let caveat_secret = "caveat secret: tr0ub4dor&3";
    let k = RootKey::new(root_secret);
    let ck = RootKey::new(caveat_secret);
    let wrong = RootKey::new("wrong secret");
    let root = Macaroon::mint(&k, "http://svc/", "root-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp")
        .with_third_party_nonce("http://auth/", &ck, "auth-cid", [5; 24])
        .expect("tp");
    let discharge = Macaroon::mint(&ck, "http://auth/", "auth-cid")
        .expect("mint")
        .with_first_party("level = high")
        .expect("fp");
    let bound = discharge.bind_to(&root);
    let first_party_only = Macaroon::mint(&k, "http://svc/", "fp-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp");
    // What the verifier computes with the wrong key for the first-party token.
    let expected_with_wrong_key = Macaroon::mint(&wrong, "", "fp-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp");
    let tv1 = tv1();

    let mut signature_renderings = Vec::new();
    for m in [
        &root,
        &discharge,
        &bound,
        &first_party_only,
        &expected_with_wrong_key,
        &tv1,
    ] {
        signature_renderings.extend(renderings(m.signature()));
    }
    let key_secrets: Vec<(&str, Vec<String>)> = vec![
        (
            "root secret",
            vec![root_secret.to_owned(), hex::encode(root_secret)],
        ),
        (
            "caveat secret",
            vec![caveat_secret.to_owned(), hex::encode(caveat_secret)],
        ),
        (
            "derived root key",
            renderings(&derive(root_secret.as_bytes())),
        ),
        (
            "derived caveat key",
            renderings(&derive(caveat_secret.as_bytes())),
        ),
        ("derived wrong key", renderings(&derive(b"wrong secret"))),
        ("TV1 secret", vec![TV1_KEY.to_owned()]),
        ("derived TV1 key", renderings(&derive(TV1_KEY.as_bytes()))),
    ];
    let mut all_secrets = key_secrets.clone();
    all_secrets.push(("signature", signature_renderings));

    // Not even one byte of a derived key, as a number.
    let tv1_key = key(TV1_KEY);
    let debug = format!("{tv1_key:?} {tv1_key:#?}");
    let first = derive(TV1_KEY.as_bytes())[0];
    assert!(
        !debug.contains(&first.to_string()),
        "RootKey Debug shows a key byte ({first}): {debug}"
    );

    // Keys, macaroons and verifiers.
    let verifier = Verifier::new().satisfy_exact("user = alice").at_time(1);
    let mut texts = vec![
        ("RootKey", format!("{k:?} {k:#?} {ck:?} {wrong:?}")),
        (
            "Macaroon",
            format!(
                "{root:?} {root:#?} {discharge:?} {bound:#?} {first_party_only:?} {tv1:?} {tv1:#?}"
            ),
        ),
        ("Caveat", format!("{:?}", root.caveats())),
        ("Verifier", format!("{verifier:?} {verifier:#?}")),
    ];
    let ok = Verifier::new()
        .satisfy_general(|_| true)
        .verify(&k, &root, std::slice::from_ref(&bound))
        .expect("verifies");
    texts.push(("Verified", format!("{ok:?} {ok:#?}")));
    let parsed = Parsed::from_text(&serialize_ok(&root, Format::V1, "root"), &Limits::default())
        .expect("parse");
    texts.push(("Parsed", format!("{parsed:?}")));

    // Every error of a failing verification, as Display and Debug.
    let all = || Verifier::new().satisfy_general(|_| true);
    let mut errors: Vec<(&str, Error)> = vec![
        (
            "wrong key",
            all()
                .verify(&wrong, &first_party_only, &[])
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "wrong key, third party",
            all()
                .verify(&wrong, &root, std::slice::from_ref(&bound))
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "unsatisfied caveat",
            Verifier::new()
                .verify(&k, &first_party_only, &[])
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "unbound discharge",
            all()
                .verify(&k, &root, std::slice::from_ref(&discharge))
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "discharge from the wrong key",
            all()
                .verify(
                    &k,
                    &root,
                    &[Macaroon::mint(&wrong, "", "auth-cid")
                        .expect("mint")
                        .bind_to(&root)],
                )
                .map(|_| ())
                .unwrap_err(),
        ),
        (
            "missing discharge",
            all().verify(&k, &root, &[]).map(|_| ()).unwrap_err(),
        ),
        (
            "changed caveat",
            all()
                .verify_token(
                    &k,
                    &serialize_ok(&first_party_only, Format::V2Json, "fp")
                        .replace("alice", "mallory"),
                    &[],
                )
                .unwrap_err(),
        ),
    ];
    for format in FORMATS {
        let text = serialize_ok(&first_party_only, format, "fp");
        errors.push((
            "wrong key via verify_token",
            all().verify_token(&wrong, &text, &[]).unwrap_err(),
        ));
    }
    for (what, e) in &errors {
        texts.push((what, format!("{e} | {e:?} | {e:#?}")));
    }
    for (what, text) in &texts {
        assert_secret_free(text, &all_secrets, what);
    }

    // Inspection may show the token's own signature (it is in the token) but never a key.
    for token in [
        serialize_ok(&root, Format::V1, "root"),
        serialize_ok(&bound, Format::V2Json, "bound"),
        serialize_ok(&root, Format::Onedata, "root")[..60].to_owned(),
    ] {
        let report = Inspection::of_text(&token);
        assert_secret_free(&format!("{report:?} {report:#?}"), &key_secrets, "inspect");
    }
}

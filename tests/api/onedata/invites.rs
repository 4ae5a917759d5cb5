//! The Onedata invite token helpers (SPEC §10.2–§10.5): minting `rop` / `ssp` tokens (TV7,
//! §11.7, reproduced byte for byte), and verifying them the way Onezone does: token kind,
//! revocation of temporary tokens, the invite caveat set, expiry and lifetime.

use macaroon_mint::caveat::{ConsumerKind, ConsumerSpec, CountryCode, Interface, IpMask, Unmet};
use macaroon_mint::onedata::{
    invite_token, provider_registration_token, space_support_token, Expiry, IdentifierErrorKind,
    InviteClaims, InviteOptions, InvitePolicy, InviteType, OnedataError, OnedataToken, Persistence,
    Segment, Subject, TokenType, DEFAULT_TEMPORARY_MAX_TTL, INVITE_CAVEATS,
};
use macaroon_mint::{
    AuthContext, Consumer, Error, Format, Macaroon, RootKey, TypedCaveat, VerifyError,
};

/// A non-empty caveat list from literal entries.
macro_rules! list {
    ($($entry:expr),+ $(,)?) => {
        macaroon_mint::caveat::List::try_from(vec![$($entry),+]).expect("a non-empty list")
    };
}

// --- SPEC §11.7 (TV7) -----------------------------------------------------------------------

const TV7_SECRET: &str = "verySecretSecret5";
const TV7_LOCATION: &str = "domain.example.com";
const TV7_TOKEN_ID: &str = "1234567890example-id1234567890e";
const TV7_ROP: &str = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVjaWRlbnRpZmllciAyL25tZC91c3ItaW52aXRhdGlvbi1zZW5kZXIvcm9wOkFkbWluVXNlcklkOi8xMjM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBlCjAwMmZzaWduYXR1cmUgeqAZjO01V9inEh02PXkeRIj2256WD71TxRyBXLrlLqG4sK";
const TV7_ROP_SIG: &str = "7aa0198cefd5f629c487e3d791e4488f6db9e960fbd53c51c815cbae52ea1b8b";
const TV7_SSP: &str = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVhaWRlbnRpZmllciAyL25tZC91c3ItaW52aXRhdGlvbi1zZW5kZXIvc3NwOlNwYWNlSWQ6Z2UvMTIzNDU2Nzg5MGV4YW1wbGUtaWQxMjM00NTY3ODkwZQowMDJmc2lnbmF00dXJlIICA3AFgFAXHLKDfXavXhDw00YeJioSh5rLbBeomcltfVCg";
const TV7_SSP_SIG: &str = "8080dc01601405c72ca0df5dabd7843c3461e262a12879acb6c17a899c96d7d5";
/// The TV7 access token (secret `verySecretSecret1`, identifier `2/tmp-7/usr-uid/act:sessId/…`).
const TV7_ACCESS: &str = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDRhaWRlbnRpZmllciAyL3RtcC003L3Vzci11aWQvYWN00OnNlc3NJZC8xMjM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBhCjAwMWFjaWQgdGltZSA8IDgzNzQ4OTEyMzQKMDAxZGNpZCBpcCA9IDE3Mi45OC4xMS4yMy8zMgowMDEyY2lkIGFzbiA9IDMyMgowMDFjY2lkIGdlby5jb3VudHJ5ID00gUEx8RlIKMDAxZGNpZCBnZW8ucmVnaW9uID00gQXNpYXxFVQowMDFkY2lkIGF1dGhvcml6YXRpb24gPSBub25lCjAwMWVjaWQgc2VydmljZSA9IG96dy1vbmV6b25lCjAwMmNjaWQgY29uc3VtZXIgPSB1c3ItdXNlci1pZHxncnAtZ3JvdXAtaWQKMDAxZWNpZCBpbnRlcmZhY2UgPSBncmFwaHN5bmMKMDAxZWNpZCBhcGkgPSBhbGwvYWxsLyouKi4qOioKMDAxNmNpZCBkYXRhLnJlYWRvbmx5CjAwNGFjaWQgZGF00YS5wYXRoID00gTDNOd1lXTmxNUzltYVd4bE1TNTBlSFE9fEwzTndZV005sTWk5a2FYSXZabWxzWlRJdWRIaDAKMDA00MWNpZCBkYXRhLm9iamVjdGlkID00gMDAwMDAwMDAwMDBDREJEQTY3NzU2OTY00MjMzMTMyMzMyMzYxNjI2MwowMDJmc2lnbmF00dXJlIFzjctImjdheinIatewEE6qZxluQoX63kTHYBEbChVksCg";

/// An Onedata-style secret: 64 lowercase hex characters, whose ASCII text is the key.
const SECRET: &str = "5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c";
const LOCATION: &str = "onezone.example";
const NOW: u64 = 1_700_000_000;

fn key() -> RootKey {
    RootKey::new(SECRET)
}

fn tv7_options() -> InviteOptions {
    InviteOptions {
        token_id: Some(TV7_TOKEN_ID.into()),
        ..InviteOptions::default()
    }
}

fn alice() -> Subject {
    Subject::User("alice".into())
}

/// A request at `now` that knows nothing else yet.
fn at(now: u64) -> (u64, AuthContext) {
    (now, AuthContext::new())
}

fn named_policy() -> InvitePolicy {
    InvitePolicy::default()
}

fn temporary_policy(current: u64) -> InvitePolicy {
    InvitePolicy {
        current_generation: Some(current),
        ..InvitePolicy::default()
    }
}

/// Parses and verifies `text` as an invite of kind `expected`.
fn verify(
    text: &str,
    key: &RootKey,
    expected: InviteType,
    (now, ctx): &(u64, AuthContext),
    policy: &InvitePolicy,
) -> Result<InviteClaims, OnedataError> {
    OnedataToken::parse(text)?.verify_invite(key, expected, *now, ctx, policy)
}

/// The verification error of `result`, which must be an `OnedataError::Macaroon(Error::Verify)`.
fn verify_error(result: Result<InviteClaims, OnedataError>) -> VerifyError {
    match result {
        Err(OnedataError::Macaroon(Error::Verify(e))) => e,
        other => panic!("expected a macaroon verification error, got {other:?}"),
    }
}

/// A hand-built Onedata token (bypassing the minting helpers' checks).
fn raw_token(key: &RootKey, identifier: &str, caveats: &[&str]) -> String {
    let mut m = Macaroon::mint(key, LOCATION, identifier).expect("mint");
    for c in caveats {
        m = m.with_first_party(c).expect("caveat");
    }
    m.serialize(Format::Onedata).expect("serialize")
}

// --- TV7 reproduction -------------------------------------------------------------------------

#[test]
fn tv7_register_oneprovider_token_is_reproduced_byte_for_byte() {
    let minted = provider_registration_token(
        &RootKey::new(TV7_SECRET),
        TV7_LOCATION,
        "invitation-sender",
        "AdminUserId",
        &tv7_options(),
    )
    .expect("mint rop");
    assert_eq!(minted.token, TV7_ROP);
    assert_eq!(minted.macaroon.signature_hex(), TV7_ROP_SIG);
    assert_eq!(
        minted.identifier.to_string(),
        "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e"
    );
    assert_eq!(minted.expiry, None);
    assert!(minted.macaroon.caveats().is_empty());
}

#[test]
fn tv7_support_space_token_is_reproduced_byte_for_byte() {
    let minted = space_support_token(
        &RootKey::new(TV7_SECRET),
        TV7_LOCATION,
        Subject::User("invitation-sender".into()),
        "SpaceId",
        &tv7_options(),
    )
    .expect("mint ssp");
    assert_eq!(minted.token, TV7_SSP);
    assert_eq!(minted.macaroon.signature_hex(), TV7_SSP_SIG);
    assert_eq!(
        minted.identifier.to_string(),
        "2/nmd/usr-invitation-sender/ssp:SpaceId:ge/1234567890example-id1234567890e"
    );
}

#[test]
fn tv7_tokens_verify_and_give_their_claims() {
    let key = RootKey::new(TV7_SECRET);
    let claims = verify(
        TV7_ROP,
        &key,
        InviteType::RegisterOneprovider,
        &at(NOW),
        &named_policy(),
    )
    .expect("TV7 rop verifies");
    assert_eq!(claims.subject, Subject::User("invitation-sender".into()));
    assert_eq!(claims.invite, InviteType::RegisterOneprovider);
    assert_eq!(claims.target, "AdminUserId");
    assert_eq!(claims.parameters, "");
    assert_eq!(claims.token_id, TV7_TOKEN_ID);
    assert_eq!(claims.persistence, Persistence::Named);
    assert_eq!(claims.expiry, None);
    assert_eq!(claims.location, TV7_LOCATION);
    assert_eq!(claims.service, None);
    assert!(claims.caveats.is_empty());

    let claims = verify(
        TV7_SSP,
        &key,
        InviteType::SupportSpace,
        &at(NOW),
        &named_policy(),
    )
    .expect("TV7 ssp verifies");
    assert_eq!(claims.invite, InviteType::SupportSpace);
    assert_eq!(claims.target, "SpaceId");
    assert_eq!(claims.parameters, "ge");
}

#[test]
fn service_indication_is_read_and_reported() {
    for service in ["opw", "opp"] {
        let text = format!("{service}-{TV7_ROP}");
        let token = OnedataToken::parse(&text).expect("parse with service indication");
        assert_eq!(token.service(), Some(service));
        assert_eq!(token.token_id(), TV7_TOKEN_ID);
        assert_eq!(
            token.subject(),
            Some(&Subject::User("invitation-sender".into()))
        );
        let claims = token
            .verify_invite(
                &RootKey::new(TV7_SECRET),
                InviteType::RegisterOneprovider,
                NOW,
                &AuthContext::new(),
                &named_policy(),
            )
            .expect("verifies");
        assert_eq!(claims.service.as_deref(), Some(service));
    }
}

// --- mint → verify ----------------------------------------------------------------------------

#[test]
fn provider_registration_token_round_trip_with_caveats() {
    let options = InviteOptions {
        expiry: Some(Expiry::after(3600, NOW)),
        caveats: vec![
            TypedCaveat::Ip(list!["10.0.0.0/8".parse().expect("mask")]),
            TypedCaveat::Asn(list![322]),
            TypedCaveat::Country {
                negated: false,
                codes: list![CountryCode::new("PL").expect("code")],
            },
            TypedCaveat::Consumer(list![ConsumerSpec::new(ConsumerKind::User, "bob")]),
        ],
        ..InviteOptions::default()
    };
    let minted =
        provider_registration_token(&key(), LOCATION, "alice", "bob", &options).expect("mint");
    let texts: Vec<&[u8]> = minted.macaroon.caveats().iter().map(|c| c.id()).collect();
    assert_eq!(
        texts,
        [
            &b"time < 1700003600"[..],
            b"ip = 10.0.0.0/8",
            b"asn = 322",
            b"geo.country = PL",
            b"consumer = usr-bob",
        ],
        "the expiry comes first, then the caveats in order"
    );
    assert_eq!(minted.expiry, Some(NOW + 3600));
    assert!(!minted.token.starts_with("opw-") && !minted.token.contains(['-', '_']));

    let ctx = (
        NOW + 10,
        AuthContext::new()
            .with_ip("10.1.2.3".parse().expect("ip"))
            .with_asn(322)
            .with_geo(CountryCode::new("PL").expect("code"), None)
            .with_consumer(Consumer::new(ConsumerKind::User, "bob"), vec![]),
    );
    let claims = verify(
        &minted.token,
        &key(),
        InviteType::RegisterOneprovider,
        &ctx,
        &named_policy(),
    )
    .expect("verifies");
    assert_eq!(claims.subject, alice());
    assert_eq!(claims.target, "bob");
    assert_eq!(claims.token_id, minted.identifier.id());
    assert_eq!(claims.expiry, Some(NOW + 3600));
    assert_eq!(claims.location, LOCATION);
    assert_eq!(claims.caveats, {
        let mut all = vec![TypedCaveat::Time(NOW + 3600)];
        all.extend(options.caveats.iter().cloned());
        all
    });

    // The same token from another IP: the ip caveat does not hold.
    let elsewhere = (
        ctx.0,
        ctx.1.clone().with_ip("192.168.1.1".parse().expect("ip")),
    );
    let e = verify_error(verify(
        &minted.token,
        &key(),
        InviteType::RegisterOneprovider,
        &elsewhere,
        &named_policy(),
    ));
    assert!(
        matches!(
            &e,
            VerifyError::CaveatNotSatisfied { index: 1, reason: Unmet::NotAllowed, caveat, .. }
                if caveat == b"ip = 10.0.0.0/8"
        ),
        "{e:?}"
    );
}

#[test]
fn space_support_token_round_trip() {
    let minted = space_support_token(
        &key(),
        LOCATION,
        Subject::Provider("prov1".into()),
        "space1",
        &InviteOptions::default(),
    )
    .expect("mint");
    assert_eq!(
        minted.identifier.subject(),
        &Subject::Provider("prov1".into())
    );
    assert_eq!(
        minted.identifier.token_type(),
        &TokenType::invite(InviteType::SupportSpace, "space1")
    );
    let claims = verify(
        &minted.token,
        &key(),
        InviteType::SupportSpace,
        &at(NOW),
        &named_policy(),
    )
    .expect("verifies");
    assert_eq!(claims.target, "space1");
    assert_eq!(claims.parameters, "ge");
    assert_eq!(claims.subject, Subject::Provider("prov1".into()));
}

#[test]
fn generated_token_ids_are_32_random_lowercase_hex_characters() {
    let mint = || {
        provider_registration_token(&key(), LOCATION, "u", "u", &InviteOptions::default())
            .expect("mint")
    };
    let (a, b) = (mint(), mint());
    for id in [a.identifier.id(), b.identifier.id()] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
            "{id}"
        );
    }
    assert_ne!(a.identifier.id(), b.identifier.id());
    assert_ne!(a.token, b.token);
}

#[test]
fn other_known_invite_types_can_be_minted_and_verified() {
    let minted = invite_token(
        &key(),
        LOCATION,
        alice(),
        InviteType::UserJoinGroup,
        "group1",
        &InviteOptions::default(),
    )
    .expect("mint ujg");
    let claims = verify(
        &minted.token,
        &key(),
        InviteType::UserJoinGroup,
        &at(NOW),
        &named_policy(),
    )
    .expect("verifies");
    assert_eq!(claims.target, "group1");
}

// --- refusals --------------------------------------------------------------------------------

/// A token `verify_invite` must refuse, and how.
struct Refusal {
    why: &'static str,
    token: String,
    key: RootKey,
    /// The invite type the caller asks for.
    asked: InviteType,
    policy: InvitePolicy,
    error: OnedataError,
    /// The error's text, where its wording matters to users.
    text: Option<&'static str>,
}

/// Every way `verify_invite` refuses a token before or at its signature, with the error that
/// says why (and, where the wording matters to users, its text). The kind, the generation and
/// the caveat kinds are checked before the signature, so a wrong key does not hide them.
#[test]
fn invites_are_refused_with_the_error_that_says_why() {
    let identity = raw_token(
        &key(),
        "2/nmd/prv-pid/idn/1234567890example-id1234567890c",
        &[],
    );
    let unknown_code = raw_token(&key(), "2/nmd/usr-alice/xyz:target:/tok", &[]);
    let third_party = Macaroon::mint(&key(), LOCATION, "2/nmd/usr-alice/rop:alice:/tok")
        .expect("mint")
        .with_third_party("auth", &RootKey::new("caveat key"), "cid")
        .expect("third party")
        .serialize(Format::Onedata)
        .expect("serialize");
    let of_generation = |generation| {
        space_support_token(
            &key(),
            LOCATION,
            alice(),
            "space1",
            &temporary(generation, 600),
        )
        .expect("mint")
        .token
    };
    let wrong_type = |expected, found| OnedataError::WrongInviteType { expected, found };
    let table = vec![
        Refusal {
            why: "a support token where a registration is required",
            token: TV7_SSP.into(),
            key: RootKey::new(TV7_SECRET),
            asked: InviteType::RegisterOneprovider,
            policy: named_policy(),
            error: wrong_type(InviteType::RegisterOneprovider, InviteType::SupportSpace),
            text: Some("wrong invite type: expected rop (register Oneprovider), found ssp (support space)"),
        },
        Refusal {
            why: "a registration token where a support is required",
            token: TV7_ROP.into(),
            key: RootKey::new(TV7_SECRET),
            asked: InviteType::SupportSpace,
            policy: named_policy(),
            error: wrong_type(InviteType::SupportSpace, InviteType::RegisterOneprovider),
            text: None,
        },
        Refusal {
            why: "the wrong kind under the wrong key: the kind is checked first",
            token: TV7_SSP.into(),
            key: RootKey::new("not the secret"),
            asked: InviteType::RegisterOneprovider,
            policy: named_policy(),
            error: wrong_type(InviteType::RegisterOneprovider, InviteType::SupportSpace),
            text: None,
        },
        Refusal {
            why: "an access token",
            token: TV7_ACCESS.into(),
            key: RootKey::new("verySecretSecret1"),
            asked: InviteType::RegisterOneprovider,
            policy: temporary_policy(7),
            error: OnedataError::WrongTokenType {
                found: TokenType::Access {
                    session: Some("sessId".into()),
                },
            },
            text: Some("wrong token type: expected an invite token, found an access token (type \"act:sessId\")"),
        },
        Refusal {
            why: "an identity token",
            token: identity,
            key: key(),
            asked: InviteType::SupportSpace,
            policy: named_policy(),
            error: OnedataError::WrongTokenType {
                found: TokenType::Identity,
            },
            text: None,
        },
        Refusal {
            why: "an unknown invite code",
            token: unknown_code.clone(),
            key: key(),
            asked: InviteType::RegisterOneprovider,
            policy: named_policy(),
            error: OnedataError::UnknownInviteType { code: "xyz".into() },
            text: None,
        },
        Refusal {
            why: "an unknown invite code asked for, by a token that has it",
            token: unknown_code,
            key: key(),
            asked: InviteType::Other("xyz".into()),
            policy: named_policy(),
            error: OnedataError::UnknownInviteType { code: "xyz".into() },
            text: None,
        },
        Refusal {
            why: "a third-party caveat",
            token: third_party,
            key: key(),
            asked: InviteType::RegisterOneprovider,
            policy: named_policy(),
            error: OnedataError::ThirdPartyCaveat { index: 0 },
            text: None,
        },
        Refusal {
            why: "a temporary token of an old generation",
            token: of_generation(2),
            key: key(),
            asked: InviteType::SupportSpace,
            policy: temporary_policy(3),
            error: OnedataError::Revoked {
                generation: 2,
                current: 3,
            },
            text: Some("temporary token of generation 2 has been revoked (the current generation is 3)"),
        },
        // The subject's new secret would fail the HMAC, but the error must still say "revoked".
        Refusal {
            why: "a temporary token of an old generation under the new secret",
            token: of_generation(2),
            key: RootKey::new("the new secret of generation 3"),
            asked: InviteType::SupportSpace,
            policy: temporary_policy(3),
            error: OnedataError::Revoked {
                generation: 2,
                current: 3,
            },
            text: None,
        },
        Refusal {
            why: "a temporary token whose generation the caller does not know",
            token: of_generation(1),
            key: key(),
            asked: InviteType::SupportSpace,
            policy: named_policy(),
            error: OnedataError::GenerationUnknown { generation: 1 },
            text: None,
        },
        Refusal {
            why: "the wrong key",
            token: TV7_ROP.into(),
            key: RootKey::new("verySecretSecret6"),
            asked: InviteType::RegisterOneprovider,
            policy: named_policy(),
            error: OnedataError::Macaroon(Error::Verify(VerifyError::SignatureMismatch {
                macaroon: macaroon_mint::MacaroonRole::Root,
                reason: None,
            })),
            text: None,
        },
    ];
    for row in table {
        let err = verify(&row.token, &row.key, row.asked, &at(NOW), &row.policy).unwrap_err();
        assert_eq!(err, row.error, "{}", row.why);
        if let Some(text) = row.text {
            assert_eq!(err.to_string(), text, "{}: the error's text", row.why);
        }
    }
}

// --- token kind ---------------------------------------------------------------------------------

#[test]
fn legacy_identifier_is_refused() {
    let legacy = raw_token(&key(), "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk", &[]);
    let token = OnedataToken::parse(&legacy).expect("a legacy token parses");
    assert_eq!(token.identifier().version(), 1);
    assert_eq!(token.subject(), None);
    assert_eq!(
        token.token_id(),
        "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk"
    );
    let err = token
        .verify_invite(
            &key(),
            InviteType::RegisterOneprovider,
            NOW,
            &AuthContext::new(),
            &named_policy(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        OnedataError::LegacyToken {
            token_id: "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk".into()
        }
    );
    assert!(
        err.to_string().starts_with("legacy (version 1) token"),
        "{err}"
    );
}

#[test]
fn unknown_invite_codes_are_refused_at_mint() {
    let err = invite_token(
        &key(),
        LOCATION,
        alice(),
        InviteType::Other("xyz".into()),
        "t",
        &InviteOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err, OnedataError::UnknownInviteType { code: "xyz".into() });
}

#[test]
fn malformed_identifier_is_an_identifier_error() {
    let text = raw_token(&key(), "2/nmd/usr-alice/rop-AdminUserId/tok", &[]);
    match OnedataToken::parse(&text) {
        Err(OnedataError::Identifier(e)) => {
            assert_eq!((e.segment, e.offset), (Segment::Type, 16));
            assert!(
                matches!(e.kind, IdentifierErrorKind::DashInviteForm { .. }),
                "{e}"
            );
        }
        other => panic!("expected an identifier error, got {other:?}"),
    }
}

#[test]
fn other_formats_are_not_onedata_token_text() {
    let m = Macaroon::mint(
        &RootKey::new(TV7_SECRET),
        TV7_LOCATION,
        "2/nmd/nobody/idn/t",
    )
    .expect("mint");
    for (format, name) in [
        (Format::V1, "v1"),
        (Format::V2, "v2"),
        (Format::V2Json, "v2j"),
    ] {
        let text = m.serialize(format).expect("serialize");
        assert_eq!(
            OnedataToken::parse(&text).unwrap_err(),
            OnedataError::NotOnedataText { found: name },
            "{name}"
        );
    }
}

#[test]
fn damaged_text_is_a_decode_error() {
    let err =
        OnedataToken::parse("MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8").unwrap_err();
    assert!(
        matches!(err, OnedataError::Macaroon(Error::Decode(_))),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "base62: character '-' at offset 47 is not allowed"
    );
}

// --- signature -----------------------------------------------------------------------------------

// --- temporary tokens and revocation -----------------------------------------------------------

fn temporary(generation: u64, ttl: u64) -> InviteOptions {
    InviteOptions {
        persistence: Persistence::Temporary { generation },
        expiry: Some(Expiry::after(ttl, NOW)),
        ..InviteOptions::default()
    }
}

#[test]
fn temporary_token_of_the_current_generation_verifies() {
    let minted =
        provider_registration_token(&key(), LOCATION, "alice", "alice", &temporary(5, 600))
            .expect("mint");
    assert_eq!(
        minted.identifier.persistence(),
        Persistence::Temporary { generation: 5 }
    );
    let claims = verify(
        &minted.token,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &temporary_policy(5),
    )
    .expect("verifies");
    assert_eq!(claims.persistence, Persistence::Temporary { generation: 5 });
    assert_eq!(claims.expiry, Some(NOW + 600));
}

#[test]
fn named_tokens_ignore_the_generation() {
    let minted = space_support_token(
        &key(),
        LOCATION,
        alice(),
        "space1",
        &InviteOptions::default(),
    )
    .expect("mint");
    verify(
        &minted.token,
        &key(),
        InviteType::SupportSpace,
        &at(NOW),
        &temporary_policy(9),
    )
    .expect("a named token has no generation to check");
}

#[test]
fn temporary_token_without_ttl_is_refused_at_mint() {
    let options = InviteOptions {
        persistence: Persistence::Temporary { generation: 1 },
        ..InviteOptions::default()
    };
    let err =
        provider_registration_token(&key(), LOCATION, "alice", "alice", &options).unwrap_err();
    assert_eq!(err, OnedataError::TemporaryWithoutExpiry);
    assert!(err.to_string().contains("needs an expiry"), "{err}");
    let err = space_support_token(&key(), LOCATION, alice(), "s", &options).unwrap_err();
    assert_eq!(err, OnedataError::TemporaryWithoutExpiry);

    // An explicit time caveat is an expiry too.
    let with_time = InviteOptions {
        caveats: vec![TypedCaveat::Time(NOW + 60)],
        ..options
    };
    let minted = provider_registration_token(&key(), LOCATION, "alice", "alice", &with_time)
        .expect("a time caveat is an expiry");
    assert_eq!(minted.macaroon.caveats()[0].id(), b"time < 1700000060");
    assert_eq!(minted.expiry, None, "expiry reports only the ttl's caveat");
}

#[test]
fn temporary_token_living_longer_than_the_cap_is_refused_at_verify() {
    let ttl = DEFAULT_TEMPORARY_MAX_TTL + 1;
    let minted =
        provider_registration_token(&key(), LOCATION, "alice", "alice", &temporary(1, ttl))
            .expect("minting does not cap the lifetime");
    let e = verify_error(verify(
        &minted.token,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &temporary_policy(1),
    ));
    assert_eq!(
        e,
        VerifyError::LifetimeTooLong {
            expiry: NOW + ttl,
            now: NOW,
            max_ttl: DEFAULT_TEMPORARY_MAX_TTL
        }
    );

    // Exactly at the cap is accepted; a policy with a larger cap accepts the longer one.
    let at_cap = provider_registration_token(
        &key(),
        LOCATION,
        "alice",
        "alice",
        &temporary(1, DEFAULT_TEMPORARY_MAX_TTL),
    )
    .expect("mint");
    verify(
        &at_cap.token,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &temporary_policy(1),
    )
    .expect("at the cap");
    let generous = InvitePolicy {
        temporary_max_ttl: ttl,
        ..temporary_policy(1)
    };
    verify(
        &minted.token,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &generous,
    )
    .expect("within a larger cap");
}

#[test]
fn temporary_token_without_expiry_is_refused_at_verify() {
    let text = raw_token(&key(), "2/tmp-1/usr-alice/rop:alice:/tok", &[]);
    let e = verify_error(verify(
        &text,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &temporary_policy(1),
    ));
    assert_eq!(
        e,
        VerifyError::NoExpiry {
            max_ttl: DEFAULT_TEMPORARY_MAX_TTL
        }
    );
}

#[test]
fn named_lifetime_cap_applies_when_set() {
    let options = InviteOptions {
        expiry: Some(Expiry::after(7200, NOW)),
        ..InviteOptions::default()
    };
    let minted = provider_registration_token(&key(), LOCATION, "a", "a", &options).expect("mint");
    let capped = InvitePolicy {
        named_max_ttl: Some(3600),
        ..InvitePolicy::default()
    };
    let e = verify_error(verify(
        &minted.token,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &capped,
    ));
    assert!(
        matches!(e, VerifyError::LifetimeTooLong { max_ttl: 3600, .. }),
        "{e:?}"
    );
}

// --- expiry ----------------------------------------------------------------------------------------

#[test]
fn expiry_holds_until_the_second_before() {
    let options = InviteOptions {
        expiry: Some(Expiry::after(100, NOW)),
        ..InviteOptions::default()
    };
    let minted = space_support_token(&key(), LOCATION, alice(), "space1", &options).expect("mint");
    let n = NOW + 100;
    verify(
        &minted.token,
        &key(),
        InviteType::SupportSpace,
        &at(n - 1),
        &named_policy(),
    )
    .expect("valid at N - 1");
    let e = verify_error(verify(
        &minted.token,
        &key(),
        InviteType::SupportSpace,
        &at(n),
        &named_policy(),
    ));
    assert!(
        matches!(e, VerifyError::Expired { index: 0, expiry, now, .. } if expiry == n && now == n),
        "time < N fails at now == N: {e:?}"
    );

    // A leeway accepts it a little later.
    let lenient = InvitePolicy {
        leeway: 30,
        ..InvitePolicy::default()
    };
    verify(
        &minted.token,
        &key(),
        InviteType::SupportSpace,
        &at(n + 29),
        &lenient,
    )
    .expect("within the leeway");
}

#[test]
fn ttl_errors() {
    let zero = InviteOptions {
        expiry: Some(Expiry::after(0, NOW)),
        ..InviteOptions::default()
    };
    let err = provider_registration_token(&key(), LOCATION, "a", "a", &zero).unwrap_err();
    assert_eq!(err, OnedataError::ZeroTtl);
    // A fixed expiry is written as given (a ttl cannot come without its `now`: the type says so).
    let at = InviteOptions {
        expiry: Some(Expiry::At(NOW + 5)),
        ..InviteOptions::default()
    };
    let minted = provider_registration_token(&key(), LOCATION, "a", "a", &at).expect("mints");
    assert_eq!(minted.expiry, Some(NOW + 5));
    assert_eq!(
        minted.macaroon.caveats()[0].id(),
        format!("time < {}", NOW + 5).as_bytes()
    );

    let overflow = InviteOptions {
        expiry: Some(Expiry::after(u64::MAX, NOW)),
        ..InviteOptions::default()
    };
    let err = provider_registration_token(&key(), LOCATION, "a", "a", &overflow).unwrap_err();
    assert_eq!(
        err,
        OnedataError::ExpiryOverflow {
            now: NOW,
            ttl: u64::MAX
        }
    );
}

// --- caveats ---------------------------------------------------------------------------------------

#[test]
fn unsupported_caveat_on_an_invite_is_not_supported() {
    let text = raw_token(
        &key(),
        "2/nmd/usr-alice/rop:alice:/tok",
        &["interface = rest"],
    );
    let ctx = (NOW, AuthContext::new().with_interface(Interface::Rest));
    let e = verify_error(verify(
        &text,
        &key(),
        InviteType::RegisterOneprovider,
        &ctx,
        &named_policy(),
    ));
    assert!(
        matches!(
            e,
            VerifyError::CaveatNotSatisfied {
                index: 0,
                reason: Unmet::NotSupported {
                    token_kind: "invite"
                },
                ..
            }
        ),
        "even a satisfied interface caveat is refused on an invite: {e:?}"
    );
    assert!(
        e.to_string().contains("not supported on invite tokens"),
        "{e}"
    );
}

#[test]
fn every_form_outside_the_invite_set_is_refused_at_mint() {
    let outside = [
        TypedCaveat::Interface(Interface::Rest),
        TypedCaveat::DataReadonly,
        TypedCaveat::parse(b"service = ozw-onezone").expect("service"),
        TypedCaveat::parse(b"api = all/all/*.*.*:*").expect("api"),
        TypedCaveat::parse(b"authorization = none").expect("scope"),
    ];
    for caveat in outside {
        let options = InviteOptions {
            caveats: vec![TypedCaveat::Asn(list![1]), caveat.clone()],
            ..InviteOptions::default()
        };
        let err = provider_registration_token(&key(), LOCATION, "a", "a", &options).unwrap_err();
        assert_eq!(
            err,
            OnedataError::UnsupportedCaveat {
                index: 1,
                form: caveat.form().expect("typed"),
                text: caveat.to_string()
            }
        );
        assert!(!INVITE_CAVEATS.contains(&caveat.form().expect("typed")));
    }
}

#[test]
fn unknown_caveat_is_refused_at_mint_and_at_verify() {
    let options = InviteOptions {
        caveats: vec![TypedCaveat::Unknown(b"user = alice".to_vec())],
        ..InviteOptions::default()
    };
    let err = provider_registration_token(&key(), LOCATION, "a", "a", &options).unwrap_err();
    assert_eq!(
        err,
        OnedataError::UnknownCaveat {
            index: 0,
            text: "user = alice".into()
        }
    );

    let text = raw_token(&key(), "2/nmd/usr-alice/rop:alice:/tok", &["user = alice"]);
    let e = verify_error(verify(
        &text,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &named_policy(),
    ));
    assert!(
        matches!(&e, VerifyError::UnknownCaveat { index: 0, caveat, .. } if caveat == b"user = alice"),
        "{e:?}"
    );
}

#[test]
fn malformed_caveat_is_refused_at_mint_and_at_verify() {
    // A hand-built consumer whose id would split into two entries does not encode.
    let options = InviteOptions {
        caveats: vec![TypedCaveat::Consumer(list![ConsumerSpec::new(
            ConsumerKind::User,
            "bob|eve"
        )])],
        ..InviteOptions::default()
    };
    let err = provider_registration_token(&key(), LOCATION, "a", "a", &options).unwrap_err();
    assert!(
        matches!(&err, OnedataError::InvalidCaveat { index: 0, error } if error.form == "consumer"),
        "{err:?}"
    );

    let text = raw_token(&key(), "2/nmd/usr-alice/rop:alice:/tok", &["time < abc"]);
    let e = verify_error(verify(
        &text,
        &key(),
        InviteType::RegisterOneprovider,
        &at(NOW),
        &named_policy(),
    ));
    assert!(
        matches!(&e, VerifyError::MalformedCaveat { index: 0, error, .. } if error.form == "time"),
        "{e:?}"
    );
}

#[test]
fn ip_mask_caveat_from_parts() {
    // Hand-built caveats are checked by `encode` before they go into the token.
    let options = InviteOptions {
        caveats: vec![TypedCaveat::Ip(list![IpMask::host(
            "192.168.1.7".parse().expect("ip"),
        )])],
        ..InviteOptions::default()
    };
    let minted = space_support_token(&key(), LOCATION, alice(), "s", &options).expect("mint");
    assert_eq!(minted.macaroon.caveats()[0].id(), b"ip = 192.168.1.7");
}

#[test]
fn identifier_components_are_checked_at_mint() {
    let err = provider_registration_token(&key(), LOCATION, "a/b", "a", &InviteOptions::default())
        .unwrap_err();
    match err {
        OnedataError::Identifier(e) => {
            assert_eq!(e.segment, Segment::Subject);
            assert_eq!(e.kind, IdentifierErrorKind::ForbiddenCharacter { ch: '/' });
        }
        other => panic!("expected an identifier error, got {other:?}"),
    }
    let err = space_support_token(
        &key(),
        LOCATION,
        alice(),
        "sp:ace",
        &InviteOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, OnedataError::Identifier(e) if e.segment == Segment::InviteTarget),
        "{err:?}"
    );
}

#[test]
fn minted_token_debug_redacts_the_token_text() {
    let minted = provider_registration_token(
        &RootKey::new(TV7_SECRET),
        TV7_LOCATION,
        "invitation-sender",
        "AdminUserId",
        &tv7_options(),
    )
    .expect("mint");
    let debug = format!("{minted:?}");
    assert!(!debug.contains(TV7_ROP), "{debug}");
    assert!(!debug.contains(TV7_ROP_SIG), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

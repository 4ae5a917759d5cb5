//! Onedata token identifiers (SPEC §10.2): TV7 identifiers (§11.7), legacy identifiers (§14),
//! every error path, and round trips.

use macaroon_mint::onedata::{
    IdentifierError, IdentifierErrorKind, InviteType, OnedataIdentifier, ParsedIdentifier,
    Persistence, Segment, Subject, TokenType,
};

fn v2(text: &str) -> OnedataIdentifier {
    match OnedataIdentifier::parse(text) {
        Ok(ParsedIdentifier::V2(id)) => id,
        other => panic!("{text:?} did not parse as version 2: {other:?}"),
    }
}

fn err(text: &str) -> IdentifierError {
    match OnedataIdentifier::parse(text) {
        Err(e) => e,
        Ok(parsed) => panic!("{text:?} parsed: {parsed:?}"),
    }
}

fn assert_err(text: &str, segment: Segment, offset: usize, kind: IdentifierErrorKind) {
    let e = err(text);
    assert_eq!(
        (e.segment, e.offset, &e.kind),
        (segment, offset, &kind),
        "{text:?}: {e}"
    );
}

fn s(text: &str) -> String {
    text.to_owned()
}

// ---- TV7 (SPEC §11.7) ----

#[test]
fn tv7_access_temporary_with_session() {
    let text = "2/tmp-7/usr-uid/act:sessId/1234567890example-id1234567890a";
    let id = v2(text);
    assert_eq!(id.version(), 2);
    assert_eq!(id.persistence(), Persistence::Temporary { generation: 7 });
    assert_eq!(id.subject(), &Subject::User(s("uid")));
    assert_eq!(
        id.token_type(),
        &TokenType::Access {
            session: Some(s("sessId"))
        }
    );
    assert_eq!(id.id(), "1234567890example-id1234567890a");
    assert_eq!(id.invite_kind(), None);
    assert_eq!(id.to_string(), text);
}

#[test]
fn tv7_identity_named_provider() {
    let text = "2/nmd/prv-pid/idn/1234567890example-id1234567890c";
    let id = v2(text);
    assert_eq!(id.persistence(), Persistence::Named);
    assert_eq!(id.subject(), &Subject::Provider(s("pid")));
    assert_eq!(id.token_type(), &TokenType::Identity);
    assert_eq!(id.id(), "1234567890example-id1234567890c");
    assert_eq!(id.to_string(), text);
}

#[test]
fn tv7_register_oneprovider() {
    let text = "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e";
    let id = v2(text);
    assert_eq!(id.persistence(), Persistence::Named);
    assert_eq!(id.subject(), &Subject::User(s("invitation-sender")));
    assert_eq!(
        id.token_type(),
        &TokenType::Invite {
            invite: InviteType::RegisterOneprovider,
            target: s("AdminUserId"),
            parameters: s(""),
        }
    );
    assert_eq!(id.invite_kind(), Some(&InviteType::RegisterOneprovider));
    assert_eq!(id.invite_target(), Some("AdminUserId"));
    assert_eq!(id.id(), "1234567890example-id1234567890e");
    assert_eq!(id.to_string(), text);

    let built = OnedataIdentifier::provider_registration(
        Persistence::Named,
        "invitation-sender",
        "AdminUserId",
        "1234567890example-id1234567890e",
    )
    .unwrap();
    assert_eq!(built, id);
    assert_eq!(built.to_string(), text);
}

#[test]
fn tv7_support_space() {
    let text = "2/nmd/usr-invitation-sender/ssp:SpaceId:ge/1234567890example-id1234567890e";
    let id = v2(text);
    assert_eq!(id.subject(), &Subject::User(s("invitation-sender")));
    assert_eq!(
        id.token_type(),
        &TokenType::Invite {
            invite: InviteType::SupportSpace,
            target: s("SpaceId"),
            parameters: s("ge"),
        }
    );
    assert_eq!(id.invite_kind(), Some(&InviteType::SupportSpace));
    assert_eq!(id.to_string(), text);

    let built = OnedataIdentifier::space_support(
        Persistence::Named,
        Subject::User(s("invitation-sender")),
        "SpaceId",
        "1234567890example-id1234567890e",
    )
    .unwrap();
    assert_eq!(built, id);
    assert_eq!(built.to_string(), text);
}

#[test]
fn tv7_via_from_str_and_parse_bytes() {
    for text in [
        "2/tmp-7/usr-uid/act:sessId/1234567890example-id1234567890a",
        "2/nmd/prv-pid/idn/1234567890example-id1234567890c",
        "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e",
        "2/nmd/usr-invitation-sender/ssp:SpaceId:ge/1234567890example-id1234567890e",
    ] {
        let parsed: ParsedIdentifier = text.parse().unwrap();
        assert_eq!(parsed.version(), 2);
        assert_eq!(parsed.to_string(), text);
        assert_eq!(
            OnedataIdentifier::parse_bytes(text.as_bytes()).unwrap(),
            parsed
        );
    }
}

// ---- Legacy (version 1) ----

#[test]
fn legacy_identifiers_from_the_seed_pages() {
    for text in [
        // SPEC §14 B: the truncated identifier prefix shown by the lenient inspector.
        "vcPiHpi0xfmkVNtJtyCH5SoGm5Z",
        // SPEC §14 C.
        "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk",
    ] {
        let parsed = OnedataIdentifier::parse(text).unwrap();
        assert_eq!(parsed, ParsedIdentifier::Legacy { token_id: s(text) });
        assert_eq!(parsed.version(), 1);
        assert_eq!(parsed.token_id(), text);
        assert_eq!(parsed.persistence(), Persistence::Named);
        assert!(parsed.as_v2().is_none());
        assert_eq!(parsed.to_string(), text);
    }
}

#[test]
fn legacy_when_first_fragment_is_not_an_integer() {
    for text in [
        "abc/def",
        "v2/nmd/usr-a/act/id",
        "/nmd/usr-a/act/id",
        " 2/nmd/usr-a/act/id",
        "2x/y",
    ] {
        let parsed = OnedataIdentifier::parse(text).unwrap();
        assert_eq!(parsed.version(), 1, "{text:?}");
        assert_eq!(parsed.token_id(), text);
        assert_eq!(parsed.to_string(), text);
    }
    // No `/` at all: legacy even when the text is an integer.
    assert_eq!(OnedataIdentifier::parse("2").unwrap().version(), 1);
}

#[test]
fn empty_identifier_is_an_error() {
    assert_err("", Segment::Id, 0, IdentifierErrorKind::Empty);
}

// ---- Errors ----

#[test]
fn other_integer_versions() {
    for (text, found) in [
        ("1/nmd/usr-a/act/id", "1"),
        ("3/nmd/usr-a/act/id", "3"),
        ("02/nmd/usr-a/act/id", "02"),
        ("+2/nmd/usr-a/act/id", "+2"),
        ("-1/x", "-1"),
        ("99999999999999999999999/x", "99999999999999999999999"),
    ] {
        assert_err(
            text,
            Segment::Version,
            0,
            IdentifierErrorKind::UnsupportedVersion { found: s(found) },
        );
    }
    assert_eq!(
        err("3/nmd/usr-a/act/id").to_string(),
        "onedata-identifier: version at byte 0: version \"3\" is not supported (only 2)"
    );
}

#[test]
fn wrong_fragment_count() {
    // Too few: reported at the end of the text.
    assert_err(
        "2/nmd/usr-a/act",
        Segment::Identifier,
        15,
        IdentifierErrorKind::FragmentCount { found: 4 },
    );
    assert_err(
        "2/",
        Segment::Identifier,
        2,
        IdentifierErrorKind::FragmentCount { found: 2 },
    );
    // Too many: reported at the `/` that starts the sixth fragment.
    assert_err(
        "2/nmd/usr-a/act/id/extra",
        Segment::Identifier,
        18,
        IdentifierErrorKind::FragmentCount { found: 6 },
    );
    assert_err(
        "2/nmd/usr-a/act/id/",
        Segment::Identifier,
        18,
        IdentifierErrorKind::FragmentCount { found: 6 },
    );
    let e = err("2/nmd/usr-a/act");
    assert!(
        e.to_string()
            .contains("4 '/'-separated fragments, expected 5"),
        "{e}"
    );
}

#[test]
fn empty_components() {
    assert_err(
        "2//usr-a/act/id",
        Segment::Persistence,
        2,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd//act/id",
        Segment::Subject,
        6,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-/act/id",
        Segment::Subject,
        10,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/prv-/act/id",
        Segment::Subject,
        10,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/grp-/act/id",
        Segment::Subject,
        10,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-a//id",
        Segment::Type,
        12,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-a/act:/id",
        Segment::Session,
        16,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-a/act/",
        Segment::Id,
        16,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-a/:t:/id",
        Segment::InviteCode,
        12,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-a/rop::/id",
        Segment::InviteTarget,
        16,
        IdentifierErrorKind::Empty,
    );
    assert_err(
        "2/nmd/usr-a/ssp::ge/id",
        Segment::InviteTarget,
        16,
        IdentifierErrorKind::Empty,
    );
    assert_eq!(
        err("2/nmd/usr-a/act:/id").to_string(),
        "onedata-identifier: session id at byte 16: must not be empty"
    );
}

#[test]
fn bad_persistence() {
    assert_err(
        "2/tmp-x/usr-a/act/id",
        Segment::Persistence,
        2,
        IdentifierErrorKind::BadGeneration { found: s("x") },
    );
    for generation in ["", "-1", "+1", "07", "1.5", "18446744073709551616"] {
        assert_err(
            &format!("2/tmp-{generation}/usr-a/act/id"),
            Segment::Persistence,
            2,
            IdentifierErrorKind::BadGeneration {
                found: s(generation),
            },
        );
    }
    for found in ["named", "NMD", "nmd-1", "tmp7", "temporary"] {
        assert_err(
            &format!("2/{found}/usr-a/act/id"),
            Segment::Persistence,
            2,
            IdentifierErrorKind::BadPersistence { found: s(found) },
        );
    }
    // Boundaries that are fine.
    assert_eq!(
        v2("2/tmp-0/usr-a/act/id").persistence(),
        Persistence::Temporary { generation: 0 }
    );
    let max = "2/tmp-18446744073709551615/usr-a/act/id";
    assert_eq!(
        v2(max).persistence(),
        Persistence::Temporary {
            generation: u64::MAX
        }
    );
    assert_eq!(v2(max).to_string(), max);
    assert_eq!(
        err("2/tmp-x/usr-a/act/id").to_string(),
        "onedata-identifier: persistence at byte 2: generation \"x\" is not a decimal integer \
         (digits only, no leading zero, at most 2^64-1)"
    );
}

#[test]
fn bad_subject_prefix() {
    for found in [
        "usr", "user-a", "USR-a", "ozw-a", "nobody-a", "Nobody", "usr_a",
    ] {
        assert_err(
            &format!("2/nmd/{found}/act/id"),
            Segment::Subject,
            6,
            IdentifierErrorKind::BadSubject { found: s(found) },
        );
    }
    assert_eq!(
        err("2/nmd/xyz-a/act/id").to_string(),
        "onedata-identifier: subject at byte 6: \"xyz-a\" is not usr-<id>, prv-<id>, grp-<id> or nobody"
    );
}

#[test]
fn all_subjects_parse_and_print_back() {
    for (fragment, subject) in [
        ("usr-u1", Subject::User(s("u1"))),
        ("prv-p1", Subject::Provider(s("p1"))),
        ("grp-g1", Subject::Group(s("g1"))),
        ("nobody", Subject::Nobody),
        // Only the prefix is fixed; the id may contain `-`.
        ("usr-a-b-c", Subject::User(s("a-b-c"))),
    ] {
        let text = format!("2/nmd/{fragment}/idn/id");
        let id = v2(&text);
        assert_eq!(id.subject(), &subject);
        assert_eq!(id.to_string(), text);
    }
}

#[test]
fn bad_type() {
    for found in ["access", "ACT", "acts", "idn2", "xyz"] {
        assert_err(
            &format!("2/nmd/usr-a/{found}/id"),
            Segment::Type,
            12,
            IdentifierErrorKind::BadType { found: s(found) },
        );
    }
}

#[test]
fn invite_type_not_three_parts() {
    for (ty, parts) in [
        ("rop", 1),
        ("ssp", 1),
        ("rop:AdminUserId", 2),
        ("ssp:SpaceId:ge:x", 4),
        ("xyz:a", 2),
        ("ujg:a:b:c:d", 5),
    ] {
        assert_err(
            &format!("2/nmd/usr-a/{ty}/id"),
            Segment::Type,
            12,
            IdentifierErrorKind::InviteParts { found: parts },
        );
    }
    assert_eq!(
        err("2/nmd/usr-a/rop:AdminUserId/id").to_string(),
        "onedata-identifier: type at byte 12: invite type has 2 ':'-separated part(s), expected 3 \
         (<code>:<target>:<parameters>)"
    );
}

#[test]
fn withdrawn_dash_forms_are_rejected() {
    for found in ["rop-AdminUserId", "ssp-SpaceId", "rop-", "ssp-a:b:c"] {
        assert_err(
            &format!("2/nmd/usr-a/{found}/id"),
            Segment::Type,
            12,
            IdentifierErrorKind::DashInviteForm { found: s(found) },
        );
    }
    let e = err("2/nmd/usr-a/ssp-SpaceId/id");
    assert_eq!(
        e.to_string(),
        "onedata-identifier: type at byte 12: \"ssp-SpaceId\" is the withdrawn dash form of an \
         invite type (Oct 2019 - Feb 2020 development builds); write \"ssp:<id>:<parameters>\""
    );
}

#[test]
fn release_1902_layout_is_rejected() {
    for persistence in ["pst", "tmp"] {
        assert_err(
            &format!("2/{persistence}/usr-a/act/id"),
            Segment::Persistence,
            2,
            IdentifierErrorKind::Release1902 {
                found: s(persistence),
            },
        );
    }
    assert_err(
        "2/nmd/usr-a/gui-sessId/id",
        Segment::Type,
        12,
        IdentifierErrorKind::Release1902 {
            found: s("gui-sessId"),
        },
    );
    // A 19.02 GUI token: the persistence is reported first.
    assert_err(
        "2/tmp/usr-a/gui-sessId/id",
        Segment::Persistence,
        2,
        IdentifierErrorKind::Release1902 { found: s("tmp") },
    );
    assert_eq!(
        err("2/pst/usr-a/act/id").to_string(),
        "onedata-identifier: persistence at byte 2: \"pst\" belongs to the Onedata 19.02 \
         identifier layout, which current Onedata rejects"
    );
}

#[test]
fn not_utf8() {
    let e = OnedataIdentifier::parse_bytes(b"2/nmd/usr-a/act/\xc3").unwrap_err();
    assert_eq!(
        (e.segment, e.offset, e.kind),
        (Segment::Identifier, 16, IdentifierErrorKind::NotUtf8)
    );
}

#[test]
fn access_session_may_hold_colons() {
    let text = "2/nmd/usr-a/act:s:1:2/id";
    let id = v2(text);
    assert_eq!(
        id.token_type(),
        &TokenType::Access {
            session: Some(s("s:1:2"))
        }
    );
    assert_eq!(id.to_string(), text);
    assert_eq!(
        v2("2/nmd/usr-a/act/id").token_type(),
        &TokenType::Access { session: None }
    );
}

// ---- Invite types ----

#[test]
fn every_invite_code_round_trips() {
    let expected = [
        ("ujg", InviteType::UserJoinGroup),
        ("gjg", InviteType::GroupJoinGroup),
        ("ujs", InviteType::UserJoinSpace),
        ("gjs", InviteType::GroupJoinSpace),
        ("ssp", InviteType::SupportSpace),
        ("hjs", InviteType::HarvesterJoinSpace),
        ("rop", InviteType::RegisterOneprovider),
        ("ujc", InviteType::UserJoinCluster),
        ("gjc", InviteType::GroupJoinCluster),
        ("ujh", InviteType::UserJoinHarvester),
        ("gjh", InviteType::GroupJoinHarvester),
        ("sjh", InviteType::SpaceJoinHarvester),
        ("uji", InviteType::UserJoinAtmInventory),
        ("gji", InviteType::GroupJoinAtmInventory),
    ];
    assert_eq!(
        InviteType::all().collect::<Vec<_>>(),
        expected.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()
    );
    for (code, invite) in expected {
        assert_eq!(InviteType::from_code(code), invite);
        assert_eq!(invite.code(), code);
        assert_eq!(invite.to_string(), code);

        // Parsed text prints back, whatever the parameters.
        for parameters in ["", "ge", "xyz"] {
            let text = format!("2/tmp-3/usr-sender/{code}:Target-1:{parameters}/tok");
            let id = v2(&text);
            assert_eq!(id.invite_kind(), Some(&invite));
            assert_eq!(id.invite_target(), Some("Target-1"));
            assert_eq!(
                id.token_type(),
                &TokenType::Invite {
                    invite: invite.clone(),
                    target: s("Target-1"),
                    parameters: s(parameters),
                }
            );
            assert_eq!(id.to_string(), text);
        }

        // Built with the default parameters: `ge` for ssp only.
        let built = OnedataIdentifier::new(
            Persistence::Named,
            Subject::User(s("sender")),
            TokenType::invite(invite.clone(), "Target-1"),
            "tok",
        )
        .unwrap();
        let parameters = if code == "ssp" { "ge" } else { "" };
        assert_eq!(
            built.to_string(),
            format!("2/nmd/usr-sender/{code}:Target-1:{parameters}/tok")
        );
        assert_eq!(
            OnedataIdentifier::parse(&built.to_string()).unwrap(),
            ParsedIdentifier::V2(built)
        );
    }
}

#[test]
fn unknown_invite_code_parses_as_other_and_prints_back() {
    let text = "2/nmd/usr-a/xyz:Target:params/id";
    let id = v2(text);
    assert_eq!(id.invite_kind(), Some(&InviteType::Other(s("xyz"))));
    assert_eq!(
        id.token_type(),
        &TokenType::Invite {
            invite: InviteType::Other(s("xyz")),
            target: s("Target"),
            parameters: s("params"),
        }
    );
    assert_eq!(id.to_string(), text);
    assert_eq!(InviteType::Other(s("xyz")).code(), "xyz");
    assert_eq!(InviteType::Other(s("xyz")).default_parameters(), "");

    // `idn` with parts is not an identity token; it is an unknown invite code.
    let text = "2/nmd/usr-a/idn:t:/id";
    assert_eq!(v2(text).invite_kind(), Some(&InviteType::Other(s("idn"))));
    assert_eq!(v2(text).to_string(), text);

    // Built from Other: prints back, and a known code is normalised.
    let built = OnedataIdentifier::new(
        Persistence::Named,
        Subject::Nobody,
        TokenType::invite(InviteType::Other(s("qqq")), "t"),
        "id",
    )
    .unwrap();
    assert_eq!(built.to_string(), "2/nmd/nobody/qqq:t:/id");
    let normalised = OnedataIdentifier::new(
        Persistence::Named,
        Subject::Nobody,
        TokenType::invite(InviteType::Other(s("rop")), "t"),
        "id",
    )
    .unwrap();
    assert_eq!(
        normalised.invite_kind(),
        Some(&InviteType::RegisterOneprovider)
    );
}

// ---- Constructors ----

#[test]
fn constructors_check_their_parts() {
    let named = Persistence::Named;
    let e = OnedataIdentifier::provider_registration(named, "", "admin", "id").unwrap_err();
    assert_eq!(
        (e.segment, e.offset, e.kind),
        (Segment::Subject, 10, IdentifierErrorKind::Empty)
    );
    let e = OnedataIdentifier::provider_registration(named, "u", "", "id").unwrap_err();
    assert_eq!(
        (e.segment, e.offset, e.kind),
        (Segment::InviteTarget, 16, IdentifierErrorKind::Empty)
    );
    let e = OnedataIdentifier::provider_registration(named, "u", "admin", "").unwrap_err();
    assert_eq!(
        (e.segment, e.kind),
        (Segment::Id, IdentifierErrorKind::Empty)
    );
    let e = OnedataIdentifier::provider_registration(named, "u", "ad:min", "id").unwrap_err();
    assert_eq!(
        (e.segment, e.offset, e.kind),
        (
            Segment::InviteTarget,
            18,
            IdentifierErrorKind::ForbiddenCharacter { ch: ':' }
        )
    );
    let e =
        OnedataIdentifier::space_support(named, Subject::User(s("u/x")), "s", "id").unwrap_err();
    assert_eq!(
        (e.segment, e.offset, e.kind),
        (
            Segment::Subject,
            11,
            IdentifierErrorKind::ForbiddenCharacter { ch: '/' }
        )
    );
    let e = OnedataIdentifier::space_support(named, Subject::Nobody, "s", "a/b").unwrap_err();
    assert_eq!(
        (e.segment, e.offset, e.kind),
        (
            Segment::Id,
            23,
            IdentifierErrorKind::ForbiddenCharacter { ch: '/' }
        )
    );
    let e = OnedataIdentifier::new(
        named,
        Subject::Nobody,
        TokenType::Access {
            session: Some(s("")),
        },
        "id",
    )
    .unwrap_err();
    assert_eq!(
        (e.segment, e.kind),
        (Segment::Session, IdentifierErrorKind::Empty)
    );
    let e = OnedataIdentifier::new(
        named,
        Subject::Nobody,
        TokenType::Invite {
            invite: InviteType::SupportSpace,
            target: s("s"),
            parameters: s("g:e"),
        },
        "id",
    )
    .unwrap_err();
    assert_eq!(
        (e.segment, e.kind),
        (
            Segment::InviteParameters,
            IdentifierErrorKind::ForbiddenCharacter { ch: ':' }
        )
    );
    let e = OnedataIdentifier::new(
        named,
        Subject::Nobody,
        TokenType::invite(InviteType::Other(s("act")), "t"),
        "id",
    )
    .unwrap_err();
    assert_eq!(
        (e.segment, e.kind),
        (
            Segment::InviteCode,
            IdentifierErrorKind::ReservedInviteCode { code: s("act") }
        )
    );
    let e = OnedataIdentifier::new(
        named,
        Subject::Nobody,
        TokenType::invite(InviteType::Other(s("rop-x")), "t"),
        "id",
    )
    .unwrap_err();
    assert!(
        matches!(e.kind, IdentifierErrorKind::DashInviteForm { .. }),
        "{e}"
    );
}

#[test]
fn constructors_build_access_and_identity() {
    let id = OnedataIdentifier::new(
        Persistence::Temporary { generation: 7 },
        Subject::User(s("uid")),
        TokenType::Access {
            session: Some(s("sessId")),
        },
        "1234567890example-id1234567890a",
    )
    .unwrap();
    assert_eq!(
        id.to_string(),
        "2/tmp-7/usr-uid/act:sessId/1234567890example-id1234567890a"
    );
    let parsed: ParsedIdentifier = id.clone().into();
    assert_eq!(parsed.to_string(), id.to_string());
}

//! The typed caveat language (SPEC §10.4): every form parses, prints back byte for byte, rejects
//! malformed text with its reason and offset, and checks against the context at its edges.

use macaroon_mint::caveat::{
    ApiService, CaveatErrorKind, ConsumerKind, CountryCode, DataPath, Form, Interface, IpMask,
    List, Operation, Region, ScopeSpelling, ServiceKind, TypedCaveat, Unmet,
};
use macaroon_mint::{
    ApiCall, AuthContext, Clock, Consumer, DataAccess, Error, Macaroon, MacaroonRole, RootKey,
    Service, Verifier, VerifyError,
};
use proptest::prelude::*;

/// A non-empty caveat list from literal entries.
macro_rules! list {
    ($($entry:expr),+ $(,)?) => {
        macaroon_mint::caveat::List::try_from(vec![$($entry),+]).expect("a non-empty list")
    };
}

fn parse(text: &str) -> TypedCaveat {
    TypedCaveat::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn check(caveat: &str, ctx: &AuthContext) -> Result<(), Unmet> {
    parse(caveat).check(ctx, None)
}

/// Every form, including TV7's 13 access-token caveats (SPEC §11.7), round trips exactly.
#[test]
fn every_form_round_trips() {
    let forms = [
        "time < 8374891234",
        "time < 0",
        "time < 18446744073709551615",
        "ip = 172.98.11.23/32",
        "ip = 10.0.0.0/8|192.168.1.7|0.0.0.0/0",
        "ip = ::1|2001:db8::/32|::ffff:10.0.0.1/128",
        "asn = 322",
        "asn = 1|4294967295",
        "geo.country = PL|FR",
        "geo.country != US",
        "geo.region = Asia|EU",
        "geo.region != Africa|Antarctica|Asia|Europe|EU|NorthAmerica|Oceania|SouthAmerica",
        "authorization = none",
        "scope = identity_token",
        "service = ozw-onezone",
        "service = opw-*|opp-p1|ozp-*",
        "consumer = usr-user-id|grp-group-id",
        "consumer = prv-*|usr-*",
        "interface = graphsync",
        "interface = rest",
        "interface = oneclient",
        "api = all/all/*.*.*:*",
        "api = ozw/get/user.*.instance|opw/create/file.abc.content:private|all/delete/space.s1.*:auto",
        "data.readonly",
        "data.path = L3NwYWNlMS9maWxlMS50eHQ=|L3NwYWNlMi9kaXIvZmlsZTIudHh0",
        "data.objectid = 00000000000CDBDA677569642331323323616263",
        "data.objectid = abc|DEF",
    ];
    for text in forms {
        let caveat = parse(text);
        assert!(
            !matches!(caveat, TypedCaveat::Unknown(_)),
            "{text} is typed"
        );
        assert_eq!(caveat.to_string(), text);
        assert_eq!(caveat.to_bytes(), text.as_bytes());
        assert_eq!(caveat.encode().unwrap(), text.as_bytes(), "{text}");
    }
}

#[test]
fn parsed_values() {
    assert_eq!(parse("time < 1496140144"), TypedCaveat::Time(1_496_140_144));
    let TypedCaveat::Ip(masks) = parse("ip = 10.0.0.0/8|::1") else {
        panic!()
    };
    assert_eq!(masks[0].prefix_len(), 8);
    assert_eq!(masks[1].prefix_len(), 128);
    assert_eq!(
        parse("geo.country != PL"),
        TypedCaveat::Country {
            negated: true,
            codes: list![CountryCode::new("PL").unwrap()]
        }
    );
    assert_eq!(
        parse("geo.region = EU"),
        TypedCaveat::Region {
            negated: false,
            regions: list![Region::EU]
        }
    );
    assert_eq!(
        parse("authorization = none"),
        TypedCaveat::IdentityScope(ScopeSpelling::AuthorizationNone)
    );
    assert_eq!(
        parse("scope = identity_token"),
        TypedCaveat::IdentityScope(ScopeSpelling::ScopeIdentityToken)
    );
    let TypedCaveat::Service(s) = parse("service = opw-*|ozw-oz1") else {
        panic!()
    };
    assert_eq!(
        (s[0].kind, s[0].id.as_deref()),
        (ServiceKind::OneproviderWorker, None)
    );
    assert_eq!(
        (s[1].kind, s[1].id.as_deref()),
        (ServiceKind::OnezoneWorker, Some("oz1"))
    );
    let TypedCaveat::Consumer(c) = parse("consumer = grp-g1") else {
        panic!()
    };
    assert_eq!(
        (c[0].kind, c[0].id.as_deref()),
        (ConsumerKind::Group, Some("g1"))
    );
    let TypedCaveat::Api(a) = parse("api = ozp/update/cluster.c1.instance:protected") else {
        panic!()
    };
    assert_eq!(a[0].service, ApiService::Only(ServiceKind::OnezonePanel));
    assert_eq!(a[0].operation, Operation::Update);
    assert_eq!(
        (
            a[0].gri.entity_type.as_str(),
            a[0].gri.id.as_str(),
            a[0].gri.aspect.as_str(),
            a[0].gri.scope.as_deref()
        ),
        ("cluster", "c1", "instance", Some("protected"))
    );
    let TypedCaveat::DataPath(p) = parse("data.path = L3NwYWNlMi9kaXIvZmlsZTIudHh0") else {
        panic!()
    };
    assert_eq!(p[0].as_str(), "/space2/dir/file2.txt");
}

#[test]
fn text_of_no_form_is_unknown() {
    for text in [
        &b"account = 3735928559"[..],
        b"",
        b"time<5",
        b"time = 5",
        b"Time < 5",
        b"data.readonlyx",
        b"ip=1.2.3.4",
        b"\xff\x00binary",
        b"geo.city = Paris",
        b"data.readonly\xff",
    ] {
        let caveat = TypedCaveat::parse(text).unwrap();
        assert_eq!(caveat, TypedCaveat::Unknown(text.to_vec()));
        assert_eq!(caveat.to_bytes(), text);
        assert_eq!(caveat.form(), None);
        assert_eq!(caveat.check(&AuthContext::new(), None), Err(Unmet::Unknown));
    }
}

/// Each malformed caveat: its form, the byte offset and the reason.
#[test]
fn malformed_caveats_name_form_offset_and_reason() {
    use CaveatErrorKind as K;
    let cases: Vec<(&[u8], &str, usize, K)> =
        vec![
        (b"time < abc", "time", 7, K::Expected("decimal digits")),
        (b"time < ", "time", 7, K::Expected("decimal digits")),
        (b"time < infinity", "time", 7, K::Expected("decimal digits")),
        (b"time < -1", "time", 7, K::Expected("decimal digits")),
        (b"time < 007", "time", 7, K::LeadingZeros),
        (
            b"time < 18446744073709551616",
            "time",
            7,
            K::OutOfRange { max: u64::MAX },
        ),
        (b"ip = 300.1.1.1", "ip", 5, K::Expected("an IPv4 or IPv6 address")),
        (b"ip = 1.2.3.4/33", "ip", 13, K::PrefixTooLong { max: 32 }),
        (b"ip = ::1/129", "ip", 9, K::PrefixTooLong { max: 128 }),
        (b"ip = 1.2.3.4/", "ip", 13, K::Expected("decimal digits")),
        (b"ip = 1.2.3.4/08", "ip", 13, K::LeadingZeros),
        (b"ip = 10.0.0.0/8||1.1.1.1", "ip", 16, K::EmptyEntry),
        (b"ip = ", "ip", 5, K::EmptyList),
        (
            b"ip = 2001:DB8::/32",
            "ip",
            5,
            K::NotCanonical {
                canonical: "2001:db8::/32".into(),
            },
        ),
        (
            b"ip = 1.2.3.4|0:0:0:0:0:0:0:1",
            "ip",
            13,
            K::NotCanonical {
                canonical: "::1".into(),
            },
        ),
        (
            b"asn = 4294967296",
            "asn",
            6,
            K::OutOfRange {
                max: u64::from(u32::MAX),
            },
        ),
        (b"asn = 12|x", "asn", 9, K::Expected("decimal digits")),
        (
            b"geo.country = PL|fr",
            "geo.country",
            17,
            K::Expected("a two-letter upper-case country code"),
        ),
        (
            b"geo.country != POL",
            "geo.country",
            15,
            K::Expected("a two-letter upper-case country code"),
        ),
        (b"geo.country = ", "geo.country", 14, K::EmptyList),
        (
            b"geo.region = Europe|Atlantis",
            "geo.region",
            20,
            K::Expected(
                "one of Africa, Antarctica, Asia, Europe, EU, NorthAmerica, Oceania, SouthAmerica",
            ),
        ),
        (b"authorization = all", "authorization", 16, K::Expected("`none`")),
        (
            b"scope = access",
            "authorization",
            8,
            K::Expected("`identity_token`"),
        ),
        (
            b"service = xyz-1",
            "service",
            10,
            K::Expected("`ozw-`, `ozp-`, `opw-` or `opp-` and an id or `*`"),
        ),
        (b"service = opw-", "service", 14, K::Expected("an id or `*`")),
        (
            b"service = opw-a b",
            "service",
            15,
            K::Expected("an id without spaces or `/`"),
        ),
        (
            b"consumer = usr-a|usx-b",
            "consumer",
            17,
            K::Expected("`usr-`, `grp-` or `prv-` and an id or `*`"),
        ),
        (b"consumer = ", "consumer", 11, K::EmptyList),
        (
            b"interface = http",
            "interface",
            12,
            K::Expected("`rest`, `oneclient` or `graphsync`"),
        ),
        (
            b"api = any/all/*.*.*",
            "api",
            6,
            K::Expected("`all`, `ozw`, `ozp`, `opw` or `opp`, then `/`"),
        ),
        (
            b"api = all/read/*.*.*",
            "api",
            10,
            K::Expected("`create`, `get`, `update`, `delete` or `all`, then `/`"),
        ),
        (
            b"api = all/all",
            "api",
            13,
            K::Expected("`/` and a GRI pattern type.id.aspect[:scope]"),
        ),
        (
            b"api = all",
            "api",
            9,
            K::Expected("`/` and an operation"),
        ),
        (
            b"api = all/get",
            "api",
            13,
            K::Expected("`/` and a GRI pattern type.id.aspect[:scope]"),
        ),
        (
            b"api = all/all/user..x",
            "api",
            19,
            K::Expected("a GRI id (or `*`) and `.`"),
        ),
        (
            b"api = all/all/user.*",
            "api",
            20,
            K::Expected("a GRI aspect (or `*`)"),
        ),
        (
            b"api = all/all/user.*.*:secret",
            "api",
            23,
            K::Expected("a GRI scope: `private`, `protected`, `shared`, `public`, `auto` or `*`"),
        ),
        (b"data.readonly = true", "data.readonly", 13, K::TrailingText),
        (
            b"data.path = L3NwYWNlMS9maWxlMS50eHQ",
            "data.path",
            12,
            K::Expected("a path in standard base64 with padding"),
        ),
        (
            b"data.path = L3NwYWNlMS9maWxlMS50eHQ=|L_Nw",
            "data.path",
            37,
            K::Expected("a path in standard base64 with padding"),
        ),
        // "space1/file" (no leading slash), "/s1/" (trailing slash), "/" and "/a//b".
        (
            b"data.path = c3BhY2UxL2ZpbGU=",
            "data.path",
            12,
            K::BadPath("does not start with `/`"),
        ),
        (b"data.path = L3MxLw==", "data.path", 12, K::BadPath("ends with `/`")),
        (b"data.path = Lw==", "data.path", 12, K::BadPath("no space id")),
        // "/a/../b" and "/a/."
        (
            b"data.path = L2EvLi4vYg==",
            "data.path",
            12,
            K::BadPath("`.` or `..` component"),
        ),
        (
            b"data.path = L2EvLg==",
            "data.path",
            12,
            K::BadPath("`.` or `..` component"),
        ),
        (
            b"data.path = L2EvL2I=",
            "data.path",
            12,
            K::BadPath("empty path component"),
        ),
        (
            b"data.objectid = 00AB|00XY",
            "data.objectid",
            23,
            K::Expected("hexadecimal digits"),
        ),
        (b"time < 1\xff", "time", 8, K::NotUtf8),
    ];
    for (text, form, offset, kind) in cases {
        let shown = String::from_utf8_lossy(text);
        let err = TypedCaveat::parse(text).expect_err(&shown);
        assert!(
            err.offset <= text.len(),
            "{shown}: offset inside the caveat"
        );
        assert_eq!(
            (err.form, err.offset, &err.kind),
            (form, offset, &kind),
            "{shown}"
        );
        assert!(
            err.to_string().starts_with(&format!("{form} caveat: ")),
            "{err}"
        );
        assert!(
            err.to_string().ends_with(&format!(" at byte {offset}")),
            "{err}"
        );
    }
}

#[test]
fn hand_built_values_that_break_the_grammar_do_not_encode() {
    // An empty list cannot even be built.
    assert!(List::<IpMask>::try_from(vec![]).is_err());
    assert_eq!(
        TypedCaveat::DataObjectId(list!["zz".into()])
            .encode()
            .unwrap_err()
            .kind,
        CaveatErrorKind::Expected("hexadecimal digits")
    );
    // An Unknown holding text of a typed form would change meaning when read back.
    assert_eq!(
        TypedCaveat::Unknown(b"time < 5".to_vec())
            .encode()
            .unwrap_err()
            .kind,
        CaveatErrorKind::NotRepresentable
    );
    assert!(IpMask::new("1.2.3.4".parse().unwrap(), 33).is_err());
    assert!(DataPath::new("relative").is_err());
}

#[test]
fn time_boundary_is_exclusive_and_leeway_extends_it() {
    let ctx = AuthContext::new();
    let at = |now| Some(Clock::at(now));
    let expiry = parse("time < 1000");
    assert_eq!(expiry.check(&ctx, at(999).as_ref()), Ok(()));
    assert_eq!(
        expiry.check(&ctx, at(1000).as_ref()),
        Err(Unmet::Expired {
            expiry: 1000,
            now: 1000
        })
    );
    let lenient = |now| Clock::at(now).with_leeway(5);
    assert_eq!(expiry.check(&ctx, Some(&lenient(1004))), Ok(()));
    assert!(expiry.check(&ctx, Some(&lenient(1005))).is_err());
    // No overflow at the top of the range.
    let forever = parse("time < 18446744073709551615");
    assert_eq!(forever.check(&ctx, Some(&lenient(u64::MAX - 1))), Ok(()));
    assert_eq!(
        parse("time < 0").check(&ctx, at(0).as_ref()),
        Err(Unmet::Expired { expiry: 0, now: 0 })
    );
    // Without a clock, a time caveat cannot hold: it says so.
    assert_eq!(expiry.check(&ctx, None), Err(Unmet::NoClock));
}

#[test]
fn ip_masks_v4_v6_and_cidr_edges() {
    let at = |ip: &str| AuthContext::new().with_ip(ip.parse().unwrap());
    for (caveat, request, want) in [
        // /0 matches every address of its family, and only its family.
        ("ip = 0.0.0.0/0", &at("255.255.255.255"), Ok(())),
        ("ip = 0.0.0.0/0", &at("::1"), Err(Unmet::NotAllowed)),
        ("ip = ::/0", &at("2001:db8::9"), Ok(())),
        ("ip = ::/0", &at("10.0.0.1"), Err(Unmet::NotAllowed)),
        // /32 and a bare address match one host.
        ("ip = 172.98.11.23/32", &at("172.98.11.23"), Ok(())),
        (
            "ip = 172.98.11.23/32",
            &at("172.98.11.24"),
            Err(Unmet::NotAllowed),
        ),
        ("ip = 172.98.11.23", &at("172.98.11.23"), Ok(())),
        (
            "ip = 172.98.11.23",
            &at("172.98.11.22"),
            Err(Unmet::NotAllowed),
        ),
        // Host bits in the mask are ignored; the boundary of a /31.
        ("ip = 10.0.0.7/31", &at("10.0.0.6"), Ok(())),
        ("ip = 10.0.0.7/31", &at("10.0.0.8"), Err(Unmet::NotAllowed)),
        // IPv6 prefixes, and an IPv4-mapped client compared as IPv4.
        ("ip = 2001:db8::/32", &at("2001:db8:ffff::1"), Ok(())),
        (
            "ip = 2001:db8::/32",
            &at("2001:db9::1"),
            Err(Unmet::NotAllowed),
        ),
        ("ip = ::1", &at("::1"), Ok(())),
        ("ip = 192.168.0.0/16", &at("::ffff:192.168.3.4"), Ok(())),
        // Any mask of a list.
        ("ip = 1.1.1.1|10.0.0.0/8", &at("10.200.0.1"), Ok(())),
        (
            "ip = 10.0.0.0/8",
            &AuthContext::new(),
            Err(Unmet::Missing("client IP")),
        ),
    ] {
        assert_eq!(check(caveat, request), want, "{caveat} against {request:?}");
    }
}

#[test]
fn asn_country_and_region_including_negations() {
    let ctx = AuthContext::new()
        .with_asn(322)
        .with_geo(CountryCode::new("PL").unwrap(), Some(Region::Europe));
    let ch = AuthContext::new().with_geo(CountryCode::new("CH").unwrap(), Some(Region::Europe));
    let nothing = AuthContext::new();
    for (caveat, request, want) in [
        ("asn = 1|322", &ctx, Ok(())),
        ("asn = 1|323", &ctx, Err(Unmet::NotAllowed)),
        ("geo.country = PL|FR", &ctx, Ok(())),
        ("geo.country = FR", &ctx, Err(Unmet::NotAllowed)),
        ("geo.country != FR|DE", &ctx, Ok(())),
        ("geo.country != FR|PL", &ctx, Err(Unmet::NotAllowed)),
        // An EU country is in Europe and EU.
        ("geo.region = EU", &ctx, Ok(())),
        ("geo.region = Europe", &ctx, Ok(())),
        ("geo.region = Asia|Africa", &ctx, Err(Unmet::NotAllowed)),
        ("geo.region != Asia", &ctx, Ok(())),
        ("geo.region != EU", &ctx, Err(Unmet::NotAllowed)),
        ("geo.region != Asia|Europe", &ctx, Err(Unmet::NotAllowed)),
        // A European country outside the EU is in Europe only.
        ("geo.region = EU", &ch, Err(Unmet::NotAllowed)),
        ("geo.region != EU", &ch, Ok(())),
        // Unknown facts fail closed, negated or not.
        (
            "geo.country != FR",
            &nothing,
            Err(Unmet::Missing("client country")),
        ),
        (
            "geo.region != Asia",
            &nothing,
            Err(Unmet::Missing("client region")),
        ),
        ("asn = 1", &nothing, Err(Unmet::Missing("client ASN"))),
    ] {
        assert_eq!(check(caveat, request), want, "{caveat} against {request:?}");
    }
}

#[test]
fn scope_service_consumer_interface() {
    let identity = AuthContext::new().in_identity_scope();
    let via = AuthContext::new().with_service(Service::new(ServiceKind::OneproviderWorker, "p1"));
    let user = AuthContext::new().with_consumer(
        Consumer::new(ConsumerKind::User, "u1"),
        vec!["g1".into(), "g2".into()],
    );
    let lone = AuthContext::new().with_consumer(Consumer::new(ConsumerKind::User, "u1"), vec![]);
    let provider =
        AuthContext::new().with_consumer(Consumer::new(ConsumerKind::Provider, "p"), vec![]);
    let rest = AuthContext::new().with_interface(Interface::Rest);
    for (caveat, request, want) in [
        ("authorization = none", &identity, Ok(())),
        ("scope = identity_token", &identity, Ok(())),
        (
            "authorization = none",
            &AuthContext::new(),
            Err(Unmet::NotAllowed),
        ),
        ("service = opw-*", &via, Ok(())),
        ("service = opw-p1", &via, Ok(())),
        ("service = opw-p2|opp-p1", &via, Err(Unmet::NotAllowed)),
        ("service = ozw-*", &via, Err(Unmet::NotAllowed)),
        ("consumer = usr-u1", &user, Ok(())),
        ("consumer = usr-*", &user, Ok(())),
        ("consumer = grp-g2", &user, Ok(())),
        ("consumer = grp-*", &user, Ok(())),
        ("consumer = grp-g3|prv-u1", &user, Err(Unmet::NotAllowed)),
        // Without a membership list, group caveats do not hold.
        ("consumer = grp-*", &lone, Err(Unmet::NotAllowed)),
        ("consumer = prv-p", &provider, Ok(())),
        ("consumer = usr-p", &provider, Err(Unmet::NotAllowed)),
        ("interface = rest", &rest, Ok(())),
        ("interface = oneclient", &rest, Err(Unmet::NotAllowed)),
        (
            "interface = rest",
            &AuthContext::new(),
            Err(Unmet::Missing("interface")),
        ),
    ] {
        assert_eq!(check(caveat, request), want, "{caveat} against {request:?}");
    }
}

#[test]
fn api_patterns() {
    let call = |service, operation, gri: &str, scope: &str| {
        let mut parts = gri.split('.');
        AuthContext::new().with_api(ApiCall {
            service,
            operation,
            entity_type: parts.next().unwrap().into(),
            id: parts.next().unwrap().into(),
            aspect: parts.next().unwrap().into(),
            scope: scope.into(),
        })
    };
    let get_user = call(
        ServiceKind::OnezoneWorker,
        Operation::Get,
        "user.u1.instance",
        "private",
    );
    let shared = call(
        ServiceKind::OnezoneWorker,
        Operation::Get,
        "user.u1.instance",
        "shared",
    );
    for (caveat, request, want) in [
        ("api = all/all/*.*.*:*", &get_user, Ok(())),
        ("api = ozw/get/user.*.*", &get_user, Ok(())),
        ("api = ozw/get/user.u1.instance:private", &get_user, Ok(())),
        ("api = opw/get/user.*.*", &get_user, Err(Unmet::NotAllowed)),
        (
            "api = all/update/user.*.*",
            &get_user,
            Err(Unmet::NotAllowed),
        ),
        ("api = all/get/user.u2.*", &get_user, Err(Unmet::NotAllowed)),
        ("api = all/get/space.*.*", &get_user, Err(Unmet::NotAllowed)),
        // An omitted scope means private.
        ("api = all/get/user.*.*", &shared, Err(Unmet::NotAllowed)),
        ("api = all/get/user.*.*:shared", &shared, Ok(())),
        ("api = all/get/user.*.*:*", &shared, Ok(())),
        (
            "api = all/get/user.*.*|ozw/all/user.u1.*:shared",
            &shared,
            Ok(()),
        ),
        (
            "api = all/all/*.*.*:*",
            &AuthContext::new(),
            Err(Unmet::Missing("API operation")),
        ),
    ] {
        assert_eq!(check(caveat, request), want, "{caveat} against {request:?}");
    }
}

#[test]
fn data_access_caveats_and_nested_paths() {
    let access = |read_only, path: Option<&str>, object_id: Option<&str>| {
        AuthContext::new().with_data(DataAccess {
            read_only,
            path: path.map(Into::into),
            object_id: object_id.map(Into::into),
        })
    };
    let path = |p: &str| {
        format!(
            "data.path = {}",
            DataPath::new(p).unwrap() // written in base64 by Display
        )
    };
    let dir = path("/space1/dir");
    let tv7 = "data.path = L3NwYWNlMS9maWxlMS50eHQ=|L3NwYWNlMi9kaXIvZmlsZTIudHh0";
    let ids = "data.objectid = 00000000000CDBDA677569642331323323616263";
    for (caveat, request, want) in [
        ("data.readonly", &access(true, None, None), Ok(())),
        (
            "data.readonly",
            &access(false, None, None),
            Err(Unmet::NotAllowed),
        ),
        (
            "data.readonly",
            &AuthContext::new(),
            Err(Unmet::Missing("data access")),
        ),
        (
            dir.as_str(),
            &access(false, Some("/space1/dir"), None),
            Ok(()),
        ),
        (
            dir.as_str(),
            &access(false, Some("/space1/dir/a/b.txt"), None),
            Ok(()),
        ),
        (
            dir.as_str(),
            &access(false, Some("/space1/dirx"), None),
            Err(Unmet::NotAllowed),
        ),
        (
            dir.as_str(),
            &access(false, Some("/space1"), None),
            Err(Unmet::NotAllowed),
        ),
        (
            dir.as_str(),
            &access(false, None, Some("00AB")),
            Err(Unmet::Missing("data path")),
        ),
        (
            tv7,
            &access(true, Some("/space2/dir/file2.txt"), None),
            Ok(()),
        ),
        (
            ids,
            &access(true, None, Some("00000000000cdbda677569642331323323616263")),
            Ok(()),
        ),
        (ids, &access(true, None, Some("00")), Err(Unmet::NotAllowed)),
    ] {
        assert_eq!(check(caveat, request), want, "{caveat} against {request:?}");
    }
}

/// TV7's access token (SPEC §11.7): all 13 caveats parse, and verify against a matching context.
#[test]
fn tv7_access_token_verifies_against_a_matching_context() {
    let token = "MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDRhaWRlbnRpZmllciAyL3RtcC003L3Vzci11aWQvYWN00OnNlc3NJZC8xMjM00NTY3ODkwZXhhbXBsZS1pZDEyMzQ1Njc4OTBhCjAwMWFjaWQgdGltZSA8IDgzNzQ4OTEyMzQKMDAxZGNpZCBpcCA9IDE3Mi45OC4xMS4yMy8zMgowMDEyY2lkIGFzbiA9IDMyMgowMDFjY2lkIGdlby5jb3VudHJ5ID00gUEx8RlIKMDAxZGNpZCBnZW8ucmVnaW9uID00gQXNpYXxFVQowMDFkY2lkIGF1dGhvcml6YXRpb24gPSBub25lCjAwMWVjaWQgc2VydmljZSA9IG96dy1vbmV6b25lCjAwMmNjaWQgY29uc3VtZXIgPSB1c3ItdXNlci1pZHxncnAtZ3JvdXAtaWQKMDAxZWNpZCBpbnRlcmZhY2UgPSBncmFwaHN5bmMKMDAxZWNpZCBhcGkgPSBhbGwvYWxsLyouKi4qOioKMDAxNmNpZCBkYXRhLnJlYWRvbmx5CjAwNGFjaWQgZGF00YS5wYXRoID00gTDNOd1lXTmxNUzltYVd4bE1TNTBlSFE9fEwzTndZV005sTWk5a2FYSXZabWxzWlRJdWRIaDAKMDA00MWNpZCBkYXRhLm9iamVjdGlkID00gMDAwMDAwMDAwMDBDREJEQTY3NzU2OTY00MjMzMTMyMzMyMzYxNjI2MwowMDJmc2lnbmF00dXJlIFzjctImjdheinIatewEE6qZxluQoX63kTHYBEbChVksCg";
    let m = Macaroon::parse(token).unwrap();
    assert_eq!(m.caveats().len(), 13);
    for c in m.caveats() {
        let typed = TypedCaveat::parse(c.id()).unwrap();
        assert!(!matches!(typed, TypedCaveat::Unknown(_)));
        assert_eq!(typed.to_bytes(), c.id());
    }
    let key = RootKey::new("verySecretSecret1");
    let now = 8_374_891_233;
    let ctx = AuthContext::new()
        .with_ip("172.98.11.23".parse().unwrap())
        .with_asn(322)
        .with_geo(CountryCode::new("FR").unwrap(), Some(Region::Europe))
        .in_identity_scope()
        .with_service(Service::new(ServiceKind::OnezoneWorker, "onezone"))
        .with_consumer(Consumer::new(ConsumerKind::User, "user-id"), vec![])
        .with_interface(Interface::Graphsync)
        .with_api(ApiCall {
            service: ServiceKind::OneproviderWorker,
            operation: Operation::Get,
            entity_type: "file".into(),
            id: "f".into(),
            aspect: "content".into(),
            scope: "private".into(),
        })
        .with_data(DataAccess {
            read_only: true,
            path: Some("/space1/file1.txt".into()),
            object_id: Some("00000000000CDBDA677569642331323323616263".into()),
        });
    Verifier::new()
        .at_time(now)
        .with_context(&ctx)
        .verify(&key, &m, &[])
        .unwrap();
    Verifier::new()
        .at_time(now)
        .with_context(&ctx)
        .verify_token(&key, token, &[])
        .unwrap();

    // One second later the first caveat has expired.
    assert_eq!(
        Verifier::new()
            .at_time(now + 1)
            .with_context(&ctx)
            .verify_token(&key, token, &[])
            .map(|_| ()),
        Err(Error::Verify(VerifyError::Expired {
            macaroon: MacaroonRole::Root,
            index: 0,
            caveat: b"time < 8374891234".to_vec(),
            expiry: 8_374_891_234,
            now: 8_374_891_234,
        }))
    );
    // From another network, caveat 1 fails and says why.
    let elsewhere = ctx.clone().with_ip("172.98.11.24".parse().unwrap());
    assert_eq!(
        Verifier::new()
            .at_time(now)
            .with_context(&elsewhere)
            .verify(&key, &m, &[])
            .map(|_| ()),
        Err(Error::Verify(VerifyError::CaveatNotSatisfied {
            macaroon: MacaroonRole::Root,
            index: 1,
            caveat: b"ip = 172.98.11.23/32".to_vec(),
            reason: Unmet::NotAllowed,
        }))
    );
}

#[test]
fn verifier_fails_closed_on_unknown_and_malformed_caveats() {
    let key = RootKey::new("k");
    let ctx = AuthContext::new();
    let unknown = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("time < 200")
        .unwrap()
        .with_first_party("account = 1")
        .unwrap();
    let err = Verifier::new()
        .at_time(100)
        .with_context(&ctx)
        .verify(&key, &unknown, &[])
        .unwrap_err();
    assert_eq!(
        err,
        Error::Verify(VerifyError::UnknownCaveat {
            macaroon: MacaroonRole::Root,
            index: 1,
            caveat: b"account = 1".to_vec(),
        })
    );
    assert_eq!(
        err.to_string(),
        "caveat 1 of the root macaroon is unknown: \"account = 1\""
    );
    // Any satisfier may accept: an exact match makes the unknown caveat hold.
    Verifier::new()
        .at_time(100)
        .with_context(&ctx)
        .satisfy_exact("account = 1")
        .verify(&key, &unknown, &[])
        .unwrap();

    let malformed = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("ip = 300.1.1.1")
        .unwrap();
    let err = Verifier::new()
        .with_context(&ctx)
        .verify(&key, &malformed, &[])
        .unwrap_err();
    let Error::Verify(VerifyError::MalformedCaveat {
        index: 0,
        ref caveat,
        ref error,
        ..
    }) = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(caveat, b"ip = 300.1.1.1");
    assert_eq!((error.form, error.offset), ("ip", 5));
    assert_eq!(
        err.to_string(),
        "caveat 0 of the root macaroon is malformed: \"ip = 300.1.1.1\": ip caveat: expected an \
         IPv4 or IPv6 address at byte 5"
    );
    // A general satisfier that accepts everything wins over the typed parser, as documented.
    Verifier::new()
        .with_context(&ctx)
        .satisfy_general(|_| true)
        .verify(&key, &malformed, &[])
        .unwrap();
}

#[test]
fn lifetime_policy() {
    let key = RootKey::new("k");
    let now = 1_000_000;
    let mint = |caveats: &[&str]| {
        let mut m = Macaroon::mint(&key, "", "id").unwrap();
        for c in caveats {
            m = m.with_first_party(c).unwrap();
        }
        m
    };
    let clock = Clock::at(now).with_max_ttl(3600);
    let ctx = AuthContext::new();
    let verify = |m: &Macaroon| {
        Verifier::new()
            .with_context(&ctx)
            .with_clock(clock)
            .verify(&key, m, &[])
            .map(|_| ())
    };
    assert_eq!(verify(&mint(&["time < 1003600"])), Ok(()));
    // The earliest expiry counts.
    assert_eq!(verify(&mint(&["time < 9999999", "time < 1000010"])), Ok(()));
    assert_eq!(
        verify(&mint(&["time < 1003601"])),
        Err(Error::Verify(VerifyError::LifetimeTooLong {
            expiry: 1_003_601,
            now,
            max_ttl: 3600
        }))
    );
    assert_eq!(
        verify(&mint(&[])),
        Err(Error::Verify(VerifyError::NoExpiry { max_ttl: 3600 }))
    );
    // The same checks on the one-pass path from text.
    let text = mint(&["time < 1003601"])
        .serialize(macaroon_mint::Format::V1)
        .unwrap();
    assert_eq!(
        Verifier::new()
            .with_clock(clock)
            .verify_token(&key, &text, &[])
            .map(|_| ()),
        Err(Error::Verify(VerifyError::LifetimeTooLong {
            expiry: 1_003_601,
            now,
            max_ttl: 3600
        }))
    );
    // A later `at_time` replaces the whole clock, cap included: one clock, never two.
    assert_eq!(
        Verifier::new()
            .with_clock(clock)
            .at_time(now)
            .verify(&key, &mint(&[]), &[])
            .map(|_| ()),
        Ok(())
    );
}

fn list<S: Strategy>(item: S) -> impl Strategy<Value = List<S::Value>> {
    proptest::collection::vec(item, 1..4)
        .prop_map(|items| List::try_from(items).expect("1 to 3 entries"))
}

fn arb_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:-]{1,12}".prop_filter("not the wildcard", |s| s != "*")
}

fn arb_typed() -> impl Strategy<Value = TypedCaveat> {
    use macaroon_mint::caveat::{ApiSpec, ConsumerSpec, GriPattern, ServiceSpec};
    let ip = prop_oneof![
        (any::<[u8; 4]>(), proptest::option::of(0u8..=32)).prop_map(|(a, p)| {
            let addr = std::net::IpAddr::from(a);
            p.map_or(IpMask::host(addr), |p| IpMask::new(addr, p).unwrap())
        }),
        (any::<[u8; 16]>(), proptest::option::of(0u8..=128)).prop_map(|(a, p)| {
            let addr = std::net::IpAddr::from(a);
            p.map_or(IpMask::host(addr), |p| IpMask::new(addr, p).unwrap())
        }),
    ];
    let country = "[A-Z]{2}".prop_map(|c| CountryCode::new(&c).unwrap());
    let region = proptest::sample::select(Region::ALL.to_vec());
    let service_kind = proptest::sample::select(ServiceKind::ALL.to_vec());
    let consumer_kind = proptest::sample::select(vec![
        ConsumerKind::User,
        ConsumerKind::Group,
        ConsumerKind::Provider,
    ]);
    let part = prop_oneof![Just("*".to_string()), "[a-z0-9_]{1,8}"];
    let gri = (
        part.clone(),
        part.clone(),
        part,
        proptest::option::of(proptest::sample::select(vec![
            "private",
            "protected",
            "shared",
            "public",
            "auto",
            "*",
        ])),
    )
        .prop_map(|(entity_type, id, aspect, scope)| GriPattern {
            entity_type,
            id,
            aspect,
            scope: scope.map(Into::into),
        });
    let api = (
        proptest::option::of(service_kind.clone()),
        proptest::sample::select(vec![
            Operation::Create,
            Operation::Get,
            Operation::Update,
            Operation::Delete,
            Operation::All,
        ]),
        gri,
    )
        .prop_map(|(s, operation, gri)| ApiSpec {
            service: s.map_or(ApiService::All, ApiService::Only),
            operation,
            gri,
        });
    let path = "(/[A-Za-z0-9 ._é-]{1,6}){1,4}"
        .prop_filter("no . or .. component", |p| {
            p.split('/').all(|c| c != "." && c != "..")
        })
        .prop_map(|p| DataPath::new(&p).unwrap());
    prop_oneof![
        any::<u64>().prop_map(TypedCaveat::Time),
        list(ip).prop_map(TypedCaveat::Ip),
        list(any::<u32>()).prop_map(TypedCaveat::Asn),
        (any::<bool>(), list(country))
            .prop_map(|(negated, codes)| TypedCaveat::Country { negated, codes }),
        (any::<bool>(), list(region))
            .prop_map(|(negated, regions)| TypedCaveat::Region { negated, regions }),
        proptest::sample::select(vec![
            ScopeSpelling::AuthorizationNone,
            ScopeSpelling::ScopeIdentityToken
        ])
        .prop_map(TypedCaveat::IdentityScope),
        list((service_kind, proptest::option::of(arb_id()))).prop_map(|v| TypedCaveat::Service(
            List::try_from(
                v.into_vec()
                    .into_iter()
                    .map(|(kind, id)| ServiceSpec { kind, id })
                    .collect::<Vec<_>>()
            )
            .expect("as many entries")
        )),
        list((consumer_kind, proptest::option::of(arb_id()))).prop_map(|v| TypedCaveat::Consumer(
            List::try_from(
                v.into_vec()
                    .into_iter()
                    .map(|(kind, id)| ConsumerSpec { kind, id })
                    .collect::<Vec<_>>()
            )
            .expect("as many entries")
        )),
        proptest::sample::select(vec![
            Interface::Rest,
            Interface::Oneclient,
            Interface::Graphsync
        ])
        .prop_map(TypedCaveat::Interface),
        list(api).prop_map(TypedCaveat::Api),
        Just(TypedCaveat::DataReadonly),
        list(path).prop_map(TypedCaveat::DataPath),
        list("[0-9A-Fa-f]{1,40}").prop_map(TypedCaveat::DataObjectId),
    ]
}

proptest! {
    /// Display then parse gives the value back, and its bytes are what `encode` returns.
    #[test]
    fn typed_values_round_trip(caveat in arb_typed()) {
        let text = caveat.to_string();
        let parsed = TypedCaveat::parse(text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&parsed, &caveat);
        prop_assert_eq!(caveat.encode().unwrap(), text.as_bytes());
    }

    /// Parse then print gives the same bytes, for any input that parses; nothing panics.
    #[test]
    fn parsed_bytes_print_back(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(caveat) = TypedCaveat::parse(&bytes) {
            prop_assert_eq!(caveat.to_bytes(), bytes);
        }
    }

    /// The same over text built from the grammar's own pieces, where typed forms are likely.
    #[test]
    fn grammar_like_text_prints_back(
        head in proptest::sample::select(vec![
            "time < ", "ip = ", "asn = ", "geo.country = ", "geo.region != ", "service = ",
            "consumer = ", "interface = ", "api = ", "data.path = ", "data.objectid = ",
            "data.readonly", "authorization = ", "scope = ",
        ]),
        body in "[0-9a-fA-F.:/|*=+ -]{0,24}|(usr|grp|opw|ozw|all)[-/]?[a-z*./:]{0,12}",
    ) {
        let text = format!("{head}{body}");
        match TypedCaveat::parse(text.as_bytes()) {
            Ok(caveat) => prop_assert_eq!(caveat.to_string(), text),
            Err(e) => prop_assert!(e.offset <= text.len(), "{}: {}", text, e),
        }
    }
}

/// Review findings: each was a way to accept what should fail.
#[test]
fn the_verifier_has_one_clock_and_typed_checking_uses_it() {
    let key = RootKey::new("k");
    let m = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("time < 1000")
        .unwrap();
    let text = m.serialize(macaroon_mint::Format::V1).unwrap();
    let ctx = AuthContext::new();
    let late = Verifier::new().at_time(5000).with_context(&ctx);
    let expired = Err(Error::Verify(VerifyError::Expired {
        macaroon: MacaroonRole::Root,
        index: 0,
        caveat: b"time < 1000".to_vec(),
        expiry: 1000,
        now: 5000,
    }));
    assert_eq!(late.verify(&key, &m, &[]).map(|_| ()), expired);
    assert_eq!(late.verify_token(&key, &text, &[]).map(|_| ()), expired);
    let early = Verifier::new().with_context(&ctx).at_time(999);
    assert_eq!(early.verify(&key, &m, &[]).map(|_| ()), Ok(()));
    // A context without a clock: the typed checker cannot judge time, and says why.
    assert_eq!(
        Verifier::new()
            .with_context(&ctx)
            .verify(&key, &m, &[])
            .map(|_| ()),
        Err(Error::Verify(VerifyError::CaveatNotSatisfied {
            macaroon: MacaroonRole::Root,
            index: 0,
            caveat: b"time < 1000".to_vec(),
            reason: Unmet::NoClock,
        }))
    );
}

#[test]
fn regions_need_every_fact_they_depend_on() {
    let europe_only = {
        let mut ctx = AuthContext::new();
        ctx.continent = Some(Region::Europe);
        ctx
    };
    // EU membership needs the country.
    assert_eq!(
        check("geo.region != EU", &europe_only),
        Err(Unmet::Missing("client country"))
    );
    assert_eq!(
        check("geo.region = EU", &europe_only),
        Err(Unmet::Missing("client country"))
    );
    // A definite match settles `=` even if another entry is unknown.
    assert_eq!(check("geo.region = EU|Europe", &europe_only), Ok(()));
    assert_eq!(
        check("geo.region != Asia|EU", &europe_only),
        Err(Unmet::Missing("client country"))
    );
    assert_eq!(check("geo.region != Asia|Africa", &europe_only), Ok(()));
    // A country alone: EU members are known to be in Europe and EU, others are unknown.
    let mut fr = AuthContext::new();
    fr.country = Some(CountryCode::new("FR").unwrap());
    assert_eq!(check("geo.region = Europe", &fr), Ok(()));
    assert_eq!(check("geo.region != Asia", &fr), Ok(()));
    let mut us = AuthContext::new();
    us.country = Some(CountryCode::new("US").unwrap());
    assert_eq!(check("geo.region != EU", &us), Ok(()));
    assert_eq!(
        check("geo.region != Asia", &us),
        Err(Unmet::Missing("client region"))
    );
}

#[test]
fn data_paths_cannot_be_escaped() {
    let dir = format!("data.path = {}", DataPath::new("/s/dir").unwrap());
    for escape in [
        "/s/dir/../other/secret",
        "/s/dir/./x",
        "/s/dir//x",
        "/s/dir/",
        "s/dir/x",
    ] {
        let ctx = AuthContext::new().with_data(DataAccess {
            read_only: true,
            path: Some(escape.into()),
            object_id: None,
        });
        assert_eq!(check(&dir, &ctx), Err(Unmet::NotAllowed), "{escape}");
    }
}

#[test]
fn supported_set_is_a_veto_not_a_satisfier() {
    let key = RootKey::new("k");
    let ctx = AuthContext::new().with_interface(Interface::Rest);
    for caveat in ["service = opw-*", "interface = rest", "interface = http"] {
        let m = Macaroon::mint(&key, "", "id")
            .unwrap()
            .with_first_party(caveat)
            .unwrap();
        let err = Verifier::new()
            .with_context(&ctx)
            .with_supported_caveats(&[Form::Time, Form::Ip], "invite")
            .satisfy_general(|_| true)
            .satisfy_exact(caveat)
            .verify(&key, &m, &[])
            .unwrap_err();
        assert_eq!(
            err,
            Error::Verify(VerifyError::CaveatNotSatisfied {
                macaroon: MacaroonRole::Root,
                index: 0,
                caveat: caveat.as_bytes().to_vec(),
                reason: Unmet::NotSupported {
                    token_kind: "invite"
                },
            }),
            "{caveat}"
        );
    }
    // Text of no typed form is still the satisfiers' to judge.
    let m = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("account = 1")
        .unwrap();
    Verifier::new()
        .with_supported_caveats(&[Form::Time], "invite")
        .satisfy_exact("account = 1")
        .verify(&key, &m, &[])
        .unwrap();
}

#[test]
fn time_is_read_by_one_rule_everywhere() {
    let key = RootKey::new("k");
    let m = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("time < 0100")
        .unwrap();
    // Not canonical: no `time <` caveat at all for `at_time`, malformed for typed checking.
    assert!(matches!(
        Verifier::new().at_time(50).verify(&key, &m, &[]),
        Err(Error::Verify(VerifyError::CaveatNotSatisfied {
            reason: Unmet::NoRule,
            ..
        }))
    ));
    let ctx = AuthContext::new();
    assert!(matches!(
        Verifier::new()
            .at_time(50)
            .with_context(&ctx)
            .verify(&key, &m, &[]),
        Err(Error::Verify(VerifyError::MalformedCaveat { .. }))
    ));
}

#[test]
fn a_discharge_cannot_meet_the_roots_lifetime_cap() {
    let key = RootKey::new("root");
    let caveat_key = RootKey::new("third party");
    let root = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_third_party("tp", &caveat_key, "cid")
        .unwrap();
    let discharge = Macaroon::mint(&caveat_key, "tp", "cid")
        .unwrap()
        .with_first_party("time < 1050")
        .unwrap()
        .bind_to(&root);
    let ctx = AuthContext::new();
    assert_eq!(
        Verifier::new()
            .with_context(&ctx)
            .with_clock(Clock::at(1000).with_max_ttl(3600))
            .verify(&key, &root, &[discharge])
            .map(|_| ()),
        Err(Error::Verify(VerifyError::NoExpiry { max_ttl: 3600 }))
    );
}

#[test]
fn ipv4_mapped_networks_match_ipv4_clients() {
    let at = |ip: &str| AuthContext::new().with_ip(ip.parse().unwrap());
    assert_eq!(check("ip = ::ffff:10.0.0.0/104", &at("10.1.2.3")), Ok(()));
    assert_eq!(
        check("ip = ::ffff:10.0.0.0/104", &at("::ffff:10.1.2.3")),
        Ok(())
    );
    assert_eq!(
        check("ip = ::ffff:10.0.0.0/104", &at("11.1.2.3")),
        Err(Unmet::NotAllowed)
    );
    assert_eq!(check("ip = ::ffff:10.1.2.3", &at("10.1.2.3")), Ok(()));
    assert_eq!(check("ip = ::/0", &at("10.1.2.3")), Err(Unmet::NotAllowed));
}

/// Deferred forms (Onedata's `api` caveats, checked per operation): authenticated, parsed and
/// returned, never judged by the verifier; on both verification paths.
#[test]
fn deferred_forms_come_back_for_the_caller() {
    let key = RootKey::new("k");
    let m = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("time < 2000")
        .unwrap()
        .with_first_party("api = ozw/get/user.*.*:*")
        .unwrap()
        .with_first_party("api = ozw/delete/space.s1.*:*")
        .unwrap();
    let text = m.serialize(macaroon_mint::Format::V2).unwrap();
    let ctx = AuthContext::new();
    let verifier = Verifier::new()
        .at_time(1000)
        .with_context(&ctx)
        .defer(&[Form::Api]);
    let by_parse = verifier.verify(&key, &m, &[]).unwrap();
    let by_text = verifier.verify_token(&key, &text, &[]).unwrap();
    for verified in [&by_parse, &by_text] {
        let deferred: Vec<(usize, String)> = verified
            .deferred()
            .iter()
            .map(|d| {
                assert_eq!(d.macaroon, MacaroonRole::Root);
                (d.index, d.caveat.to_string())
            })
            .collect();
        assert_eq!(
            deferred,
            [
                (1, "api = ozw/get/user.*.*:*".to_owned()),
                (2, "api = ozw/delete/space.s1.*:*".to_owned())
            ]
        );
        // The caller's check: an operation neither allows fails at the first, naming it.
        let get_user = AuthContext::new().with_api(ApiCall {
            service: ServiceKind::OnezoneWorker,
            operation: Operation::Get,
            entity_type: "user".into(),
            id: "u1".into(),
            aspect: "instance".into(),
            scope: "private".into(),
        });
        assert_eq!(
            verified.check_deferred(&get_user, None),
            Err(Error::Verify(VerifyError::CaveatNotSatisfied {
                macaroon: MacaroonRole::Root,
                index: 2,
                caveat: b"api = ozw/delete/space.s1.*:*".to_vec(),
                reason: Unmet::NotAllowed,
            }))
        );
    }
    // Without deferral the context (no API call) fails the first api caveat.
    assert!(matches!(
        Verifier::new()
            .at_time(1000)
            .with_context(&ctx)
            .verify(&key, &m, &[]),
        Err(Error::Verify(VerifyError::CaveatNotSatisfied {
            index: 1,
            reason: Unmet::Missing(_),
            ..
        }))
    ));
    // A satisfier is not asked about a deferred form: it still comes back.
    let accepting = Verifier::new()
        .at_time(1000)
        .satisfy_general(|_| true)
        .defer(&[Form::Api]);
    assert_eq!(accepting.verify(&key, &m, &[]).unwrap().deferred().len(), 2);
    // Nothing deferred: nothing comes back.
    let plain = Verifier::new().satisfy_general(|_| true);
    assert!(plain.verify(&key, &m, &[]).unwrap().deferred().is_empty());
}

#[test]
fn deferred_forms_still_fail_closed_when_malformed_or_unsupported() {
    let key = RootKey::new("k");
    let malformed = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("api = nonsense")
        .unwrap();
    assert!(matches!(
        Verifier::new()
            .defer(&[Form::Api])
            .verify(&key, &malformed, &[]),
        Err(Error::Verify(VerifyError::MalformedCaveat { index: 0, .. }))
    ));
    let api = Macaroon::mint(&key, "", "id")
        .unwrap()
        .with_first_party("api = ozw/get/user.*.*:*")
        .unwrap();
    assert!(matches!(
        Verifier::new()
            .with_supported_caveats(&[Form::Time], "invite")
            .defer(&[Form::Api])
            .verify(&key, &api, &[]),
        Err(Error::Verify(VerifyError::CaveatNotSatisfied {
            reason: Unmet::NotSupported {
                token_kind: "invite"
            },
            ..
        }))
    ));
    // A forged token never reaches deferral.
    assert!(matches!(
        Verifier::new()
            .defer(&[Form::Api])
            .verify(&RootKey::new("other"), &api, &[]),
        Err(Error::Verify(VerifyError::SignatureMismatch { .. }))
    ));
}

#[test]
fn forms_have_one_name_each() {
    for form in Form::ALL {
        assert_eq!(form.name().parse::<Form>(), Ok(form));
        assert_eq!(form.to_string(), form.name());
    }
    assert!("scope".parse::<Form>().is_err());
    // Every form a parsed caveat reports is in ALL, and the withdrawn spelling is `authorization`.
    assert_eq!(
        TypedCaveat::parse(b"scope = identity_token")
            .unwrap()
            .form(),
        Some(Form::Authorization)
    );
}

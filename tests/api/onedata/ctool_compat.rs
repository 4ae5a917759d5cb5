//! The 18 tokens Onedata 20.02.20 serialized itself, as onedata/ctool keeps them in
//! `test/tokens_compatibility_tests.erl` (`tests/data/ctool_compat_tokens.json`: each token's
//! text, secret and decoded fields). Access, identity and invite tokens, named and temporary,
//! every caveat kind.
//!
//! The table (`table()`) says what each vector is, read from its identifier and caveat text: the
//! identifier's parts, the request facts that satisfy its caveats and, for each fact, the caveat
//! that fails first without it. Every test walks all 18 vectors and names the one it checks.

use crate::common::*;
use macaroon_mint::caveat::{
    ApiService, ApiSpec, ConsumerKind, ConsumerSpec, CountryCode, DataPath, Form, GriPattern,
    Interface, IpMask, Operation, Region, ScopeSpelling, ServiceKind, ServiceSpec, Unmet,
};
use macaroon_mint::onedata::{
    InvitePolicy, InviteType, OnedataError, OnedataIdentifier, OnedataToken, ParsedIdentifier,
    Persistence, Subject, TokenType, ACCESS_CAVEATS, IDENTITY_CAVEATS, INVITE_CAVEATS,
};
use macaroon_mint::{
    base62_escape, base62_unescape, ApiCall, AuthContext, Clock, Consumer, DataAccess, Encoding,
    Error, Format, Limits, Macaroon, MacaroonRole, RootKey, Service, TypedCaveat, Verifier,
    VerifyError,
};
use macaroon_mint::{Inspection, Parsed};

/// A non-empty caveat list from literal entries.
macro_rules! list {
    ($($entry:expr),+ $(,)?) => {
        macaroon_mint::caveat::List::try_from(vec![$($entry),+]).expect("a non-empty list")
    };
}

const FILE: &str = "ctool_compat_tokens.json";
const LOCATION: &str = "domain.example.com";
/// The `N` of every `time < N` caveat in the vectors (a date in 2235).
const EXPIRY: u64 = 8_374_891_234;
/// When the vectors are verified: before `EXPIRY`.
const NOW: u64 = 1_700_000_000;
const OBJECT_ID: &str = "00000000000CDBDA677569642331323323616263";

/// The access tokens' supported set: the library's [`ACCESS_CAVEATS`] and `authorization`,
/// because the access tokens here are used in identity scope (SPEC §10.4). The identity and
/// invite sets are the library's.
const ACCESS_IN_IDENTITY_SCOPE: [Form; 13] = {
    let mut forms = [Form::Authorization; 13];
    let mut i = 0;
    while i < ACCESS_CAVEATS.len() {
        forms[i] = ACCESS_CAVEATS[i];
        i += 1;
    }
    forms
};

/// One fact about a request that a caveat needs; a vector's context is the list of them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fact {
    Ip(&'static str),
    Asn(u32),
    /// The client's country and continent, as a geo database gives them together.
    Geo(&'static str, Region),
    IdentityScope,
    Service(ServiceKind, &'static str),
    /// A user consuming the token.
    Consumer(&'static str),
    Interface(Interface),
    /// An API call; `get user.uid.instance` (every vector that limits the API allows all of it).
    Api,
    /// The data access only reads.
    DataReadonly,
    /// The data access is to this path.
    DataPath(&'static str),
    /// The data access is to this CDMI object id.
    DataObjectId(&'static str),
}

impl Fact {
    fn add_to(self, ctx: AuthContext) -> AuthContext {
        let data = |ctx: AuthContext, set: &dyn Fn(&mut DataAccess)| {
            let mut data = ctx.data.clone().unwrap_or_default();
            set(&mut data);
            ctx.with_data(data)
        };
        match self {
            Fact::Ip(ip) => ctx.with_ip(ip.parse().expect("test IP")),
            Fact::Asn(asn) => ctx.with_asn(asn),
            Fact::Geo(country, continent) => ctx.with_geo(code(country), Some(continent)),
            Fact::IdentityScope => ctx.in_identity_scope(),
            Fact::Service(kind, id) => ctx.with_service(Service::new(kind, id)),
            Fact::Consumer(user) => {
                ctx.with_consumer(Consumer::new(ConsumerKind::User, user), vec![])
            }
            Fact::Interface(interface) => ctx.with_interface(interface),
            Fact::Api => ctx.with_api(ApiCall {
                service: ServiceKind::OnezoneWorker,
                operation: Operation::Get,
                entity_type: "user".into(),
                id: "uid".into(),
                aspect: "instance".into(),
                scope: "private".into(),
            }),
            Fact::DataReadonly => data(ctx, &|d| d.read_only = true),
            Fact::DataPath(path) => data(ctx, &|d| d.path = Some(path.into())),
            Fact::DataObjectId(id) => data(ctx, &|d| d.object_id = Some(id.into())),
        }
    }
}

/// What the table says about one vector.
struct Expected {
    /// The vector's `test` field: ctool's test function and the line of the token.
    test: &'static str,
    persistence: Persistence,
    subject: Subject,
    token_type: TokenType,
    token_id: &'static str,
    /// The facts that satisfy the caveats, each with the caveat that fails first without it: its
    /// index and why.
    facts: Vec<(Fact, usize, Unmet)>,
    /// Caveats that no request satisfies together with the others (index, why). Verification
    /// grants exactly these by exact match and checks every other caveat against the context.
    contradicts: Vec<(usize, &'static str)>,
}

const GEO_CONTRADICTION: &str = "geo.region = Africa against geo.country = DE|PT: Germany and \
    Portugal are EU members, so a client there is in Europe and EU and never in Africa (SPEC \
    §10.4; Onedata reads both from one geo database record), and a client in Africa is in no \
    listed country";

fn table() -> Vec<Expected> {
    use Unmet::{Missing, NotAllowed};
    let uid = || Subject::User("uid".into());
    let session = || TokenType::Access {
        session: Some("sessId".into()),
    };
    let invite = |test, code: &str, target: &str, parameters: &str| Expected {
        test,
        persistence: Persistence::Named,
        subject: Subject::User("invitation-sender".into()),
        token_type: TokenType::Invite {
            invite: InviteType::from_code(code),
            target: target.into(),
            parameters: parameters.into(),
        },
        token_id: "1234567890example-id1234567890e",
        facts: vec![],
        contradicts: vec![],
    };
    vec![
        // 2/tmp-7/usr-uid/act:sessId/…a: a temporary (generation 7) access token of user `uid`
        // bound to session `sessId`, with all 13 caveat kinds. Its request: from 172.98.11.23
        // (ASN 322) in Poland, in identity scope, through Onezone's worker `onezone`, consumed
        // by user `user-id` over graphsync, calling the API, reading /space1/file1.txt by path
        // and by object id.
        Expected {
            test: "access_token_test (line 60)",
            persistence: Persistence::Temporary { generation: 7 },
            subject: uid(),
            token_type: session(),
            token_id: "1234567890example-id1234567890a",
            facts: vec![
                (Fact::Ip("172.98.11.23"), 1, Missing("client IP")),
                (Fact::Asn(322), 2, Missing("client ASN")),
                (
                    Fact::Geo("PL", Region::Europe),
                    3,
                    Missing("client country"),
                ),
                (Fact::IdentityScope, 5, NotAllowed),
                (
                    Fact::Service(ServiceKind::OnezoneWorker, "onezone"),
                    6,
                    Missing("service"),
                ),
                (Fact::Consumer("user-id"), 7, Missing("consumer")),
                (
                    Fact::Interface(Interface::Graphsync),
                    8,
                    Missing("interface"),
                ),
                (Fact::Api, 9, Missing("API operation")),
                (Fact::DataReadonly, 10, NotAllowed),
                (
                    Fact::DataPath("/space1/file1.txt"),
                    11,
                    Missing("data path"),
                ),
                (Fact::DataObjectId(OBJECT_ID), 12, Missing("data object id")),
            ],
            contradicts: vec![],
        },
        // 2/nmd/usr-uid/act:sessId/…b: the same caveats in reverse order, on a named token.
        // Without the geo facts, `geo.region = Asia|EU` (now before the country) fails first:
        // Asia needs the continent.
        Expected {
            test: "access_token_with_session_test (line 80)",
            persistence: Persistence::Named,
            subject: uid(),
            token_type: session(),
            token_id: "1234567890example-id1234567890b",
            facts: vec![
                (Fact::Ip("172.98.11.23"), 11, Missing("client IP")),
                (Fact::Asn(322), 10, Missing("client ASN")),
                (Fact::Geo("PL", Region::Europe), 8, Missing("client region")),
                (Fact::IdentityScope, 7, NotAllowed),
                (
                    Fact::Service(ServiceKind::OnezoneWorker, "onezone"),
                    6,
                    Missing("service"),
                ),
                (Fact::Consumer("user-id"), 5, Missing("consumer")),
                (
                    Fact::Interface(Interface::Graphsync),
                    4,
                    Missing("interface"),
                ),
                (Fact::Api, 3, Missing("API operation")),
                (Fact::DataReadonly, 2, NotAllowed),
                (Fact::DataPath("/space1/file1.txt"), 1, Missing("data path")),
                (Fact::DataObjectId(OBJECT_ID), 0, Missing("data object id")),
            ],
            contradicts: vec![],
        },
        // 2/nmd/prv-pid/idn/…c: a named identity token of provider `pid`. Request: over REST,
        // consumed by user `user-id`, from 172.98.11.23 (ASN 322) in Germany. Its geo caveats
        // contradict (caveat 0, see GEO_CONTRADICTION).
        Expected {
            test: "identity_token_test (line 109)",
            persistence: Persistence::Named,
            subject: Subject::Provider("pid".into()),
            token_type: TokenType::Identity,
            token_id: "1234567890example-id1234567890c",
            facts: vec![
                (Fact::Interface(Interface::Rest), 1, Missing("interface")),
                (
                    Fact::Geo("DE", Region::Europe),
                    3,
                    Missing("client country"),
                ),
                (Fact::Asn(322), 4, Missing("client ASN")),
                (Fact::Consumer("user-id"), 5, Missing("consumer")),
                (Fact::Ip("172.98.11.23"), 6, Missing("client IP")),
            ],
            contradicts: vec![(0, GEO_CONTRADICTION)],
        },
        // 2/tmp-49/usr-uid/ujs:spaceId:/…d: a temporary (generation 49) invite of user `uid`
        // for a user to join space `spaceId`. Request: from Germany, consumed by user
        // `user-id`, from 11.101.11.234 (ASN 112). Its geo caveats contradict (caveat 1).
        Expected {
            test: "invite_token_with_caveats_test (line 134)",
            persistence: Persistence::Temporary { generation: 49 },
            subject: uid(),
            token_type: TokenType::Invite {
                invite: InviteType::UserJoinSpace,
                target: "spaceId".into(),
                parameters: String::new(),
            },
            token_id: "1234567890example-id1234567890d",
            facts: vec![
                (
                    Fact::Geo("DE", Region::Europe),
                    0,
                    Missing("client country"),
                ),
                (Fact::Consumer("user-id"), 2, Missing("consumer")),
                (Fact::Ip("11.101.11.234"), 4, Missing("client IP")),
                (Fact::Asn(112), 5, Missing("client ASN")),
            ],
            contradicts: vec![(1, GEO_CONTRADICTION)],
        },
        // 2/nmd/usr-invitation-sender/<code>:<target>:<parameters>/…e: named invites of user
        // `invitation-sender` without caveats, one per invite type; `ssp` carries parameters
        // `ge`.
        invite(
            "invite_token_of_different_types_test (line 145)",
            "ujg",
            "GroupId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 151)",
            "gjg",
            "GroupId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 157)",
            "ujs",
            "SpaceId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 163)",
            "gjs",
            "SpaceId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 172)",
            "ssp",
            "SpaceId",
            "ge",
        ),
        invite(
            "invite_token_of_different_types_test (line 178)",
            "hjs",
            "SpaceId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 184)",
            "rop",
            "AdminUserId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 190)",
            "ujc",
            "ClusterId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 196)",
            "gjc",
            "ClusterId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 202)",
            "ujh",
            "HarvesterId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 208)",
            "gjh",
            "HarvesterId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 214)",
            "sjh",
            "HarvesterId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 220)",
            "uji",
            "AtmInventoryId",
            "",
        ),
        invite(
            "invite_token_of_different_types_test (line 226)",
            "gji",
            "AtmInventoryId",
            "",
        ),
    ]
}

fn code(country: &str) -> CountryCode {
    CountryCode::new(country).expect("country code")
}

/// The typed value of each caveat text of the vectors, written out by hand.
fn expected_typed(caveat: &[u8], name: &str) -> TypedCaveat {
    let ip = |address: &str| {
        TypedCaveat::Ip(list![
            IpMask::new(address.parse().expect("IP"), 32).expect("mask")
        ])
    };
    let user = || ConsumerSpec::new(ConsumerKind::User, "user-id");
    let group = || ConsumerSpec::new(ConsumerKind::Group, "group-id");
    match &*String::from_utf8_lossy(caveat) {
        "time < 8374891234" => TypedCaveat::Time(EXPIRY),
        "ip = 172.98.11.23/32" => ip("172.98.11.23"),
        "ip = 11.101.11.234/32" => ip("11.101.11.234"),
        "asn = 322" => TypedCaveat::Asn(list![322]),
        "asn = 112" => TypedCaveat::Asn(list![112]),
        "geo.country = PL|FR" => TypedCaveat::Country {
            negated: false,
            codes: list![code("PL"), code("FR")],
        },
        "geo.country = DE|PT" => TypedCaveat::Country {
            negated: false,
            codes: list![code("DE"), code("PT")],
        },
        "geo.region = Asia|EU" => TypedCaveat::Region {
            negated: false,
            regions: list![Region::Asia, Region::EU],
        },
        "geo.region = Africa" => TypedCaveat::Region {
            negated: false,
            regions: list![Region::Africa],
        },
        "authorization = none" => TypedCaveat::IdentityScope(ScopeSpelling::AuthorizationNone),
        "service = ozw-onezone" => TypedCaveat::Service(list![ServiceSpec::new(
            ServiceKind::OnezoneWorker,
            "onezone",
        )]),
        "consumer = usr-user-id|grp-group-id" => TypedCaveat::Consumer(list![user(), group()]),
        "consumer = grp-group-id|usr-user-id" => TypedCaveat::Consumer(list![group(), user()]),
        "interface = graphsync" => TypedCaveat::Interface(Interface::Graphsync),
        "interface = rest" => TypedCaveat::Interface(Interface::Rest),
        "api = all/all/*.*.*:*" => TypedCaveat::Api(list![ApiSpec {
            service: ApiService::All,
            operation: Operation::All,
            gri: GriPattern {
                entity_type: "*".into(),
                id: "*".into(),
                aspect: "*".into(),
                scope: Some("*".into()),
            },
        }]),
        "data.readonly" => TypedCaveat::DataReadonly,
        "data.path = L3NwYWNlMS9maWxlMS50eHQ=|L3NwYWNlMi9kaXIvZmlsZTIudHh0" => {
            TypedCaveat::DataPath(list![
                DataPath::new("/space1/file1.txt").expect("path"),
                DataPath::new("/space2/dir/file2.txt").expect("path"),
            ])
        }
        "data.objectid = 00000000000CDBDA677569642331323323616263" => {
            TypedCaveat::DataObjectId(list![OBJECT_ID.into()])
        }
        other => panic!("[{name}] caveat {other:?} is not in expected_typed"),
    }
}

/// One vector: the file's fields, decoded, and the table's expectations.
struct Case {
    /// `#<index> <test>`, for assertion messages.
    name: String,
    token: String,
    secret: String,
    location: Vec<u8>,
    identifier: Vec<u8>,
    caveats: Vec<Vec<u8>>,
    signature_hex: String,
    want: Expected,
}

impl Case {
    fn key(&self) -> RootKey {
        key(&self.secret)
    }

    fn parse(&self) -> Macaroon {
        parse_ok(&self.token, &self.name)
    }

    /// The request that satisfies the caveats, without its `skipped`-th fact if any.
    fn request(&self, skipped: Option<usize>) -> AuthContext {
        let facts = self.want.facts.iter().enumerate();
        facts
            .filter(|(j, _)| Some(*j) != skipped)
            .fold(AuthContext::new(), |ctx, (_, (fact, _, _))| {
                fact.add_to(ctx)
            })
    }

    fn context(&self) -> AuthContext {
        self.request(None)
    }

    /// The supported caveat set of the token's kind.
    fn supported(&self) -> (&'static [Form], &'static str) {
        match &self.want.token_type {
            TokenType::Access { .. } => (&ACCESS_IN_IDENTITY_SCOPE, "access"),
            TokenType::Identity => (&IDENTITY_CAVEATS, "identity"),
            _ => (&INVITE_CAVEATS, "invite"),
        }
    }

    /// Typed checking against `ctx` within the token kind's supported set, and an exact grant
    /// for each caveat the table lists as contradicting the others (and for nothing else).
    fn verifier<'a>(&'a self, ctx: &'a AuthContext) -> Verifier<'a> {
        self.verifier_at(Clock::at(NOW), ctx)
    }

    /// [`Case::verifier`] with another clock.
    fn verifier_at<'a>(&'a self, clock: Clock, ctx: &'a AuthContext) -> Verifier<'a> {
        let (forms, kind) = self.supported();
        let verifier = Verifier::new()
            .with_clock(clock)
            .with_context(ctx)
            .with_supported_caveats(forms, kind);
        self.want
            .contradicts
            .iter()
            .fold(verifier, |v, (i, _)| v.satisfy_exact(&self.caveats[*i]))
    }

    /// Verifies the parsed macaroon and, through the text path, the token text; both must agree.
    fn verify(&self, verifier: &Verifier<'_>, key: &RootKey, what: &str) -> Result<(), Error> {
        let m = self.parse();
        let parsed = verifier.verify(key, &m, &[]).map(|_| ());
        let text = verifier.verify_token(key, &self.token, &[]).map(|_| ());
        assert_eq!(
            parsed, text,
            "[{}] {what}: verify and verify_token agree",
            self.name
        );
        parsed
    }

    /// The failure of caveat `index` for `reason`.
    fn unmet(&self, index: usize, reason: Unmet) -> Result<(), Error> {
        Err(Error::Verify(VerifyError::CaveatNotSatisfied {
            macaroon: MacaroonRole::Root,
            index,
            caveat: self.caveats[index].clone(),
            reason,
        }))
    }
}

/// Loads the file and pairs each vector with its table entry, in order.
fn cases() -> Vec<Case> {
    let data = load(FILE);
    let tokens = arr(&data, "tokens", FILE);
    let table = table();
    assert_eq!(tokens.len(), 18, "{FILE}: 18 vectors");
    assert_eq!(
        tokens.len(),
        table.len(),
        "{FILE}: one table entry per vector"
    );
    tokens
        .iter()
        .zip(table)
        .enumerate()
        .map(|(i, (v, want))| {
            let test = s(v, "test", FILE);
            let name = format!("#{i} {test}");
            assert_eq!(test, want.test, "[{name}] the table entry is this vector's");
            let caveats = arr(v, "caveats", &name)
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    let keys: Vec<&String> = c.as_object().expect("caveat object").keys().collect();
                    assert_eq!(
                        keys,
                        ["cid_hex"],
                        "[{name}] caveat {j} is first-party (no vid or cl)"
                    );
                    unhex(s(c, "cid_hex", &name), &name)
                })
                .collect();
            Case {
                token: s(v, "token", &name).to_owned(),
                secret: s(v, "secret", &name).to_owned(),
                location: unhex(s(v, "location_hex", &name), &name),
                identifier: unhex(s(v, "identifier_hex", &name), &name),
                caveats,
                signature_hex: s(v, "signature_hex", &name).to_owned(),
                name,
                want,
            }
        })
        .collect()
}

#[test]
fn the_file_is_ctools_compatibility_vectors() {
    let data = load(FILE);
    let source = s(&data, "source", FILE);
    for part in [
        "onedata/ctool",
        "tokens_compatibility_tests.erl",
        "Onedata 20.02.20",
    ] {
        assert!(source.contains(part), "{FILE}: source names {part:?}");
    }
    let cases = cases();
    let kinds =
        |pick: fn(&TokenType) -> bool| cases.iter().filter(|c| pick(&c.want.token_type)).count();
    assert_eq!(kinds(|t| matches!(t, TokenType::Access { .. })), 2);
    assert_eq!(kinds(|t| matches!(t, TokenType::Identity)), 1);
    assert_eq!(kinds(|t| matches!(t, TokenType::Invite { .. })), 15);
    // Every invite type Onedata writes appears once among the typed invites.
    for invite in InviteType::all() {
        let found = cases[4..]
            .iter()
            .filter(|c| {
                matches!(&c.want.token_type, TokenType::Invite { invite: i, .. } if *i == invite)
            })
            .count();
        assert_eq!(found, 1, "{FILE}: one invite of type {invite}");
    }
}

#[test]
fn every_vector_parses_and_inspects_to_its_fields() {
    for case in cases() {
        let name = &case.name;
        let m = case.parse();
        let parsed = Parsed::from_text(&case.token, &Limits::default())
            .unwrap_or_else(|e| panic!("[{name}] Parsed::from_text: {e}"));
        assert_eq!(
            parsed.encoding,
            Encoding::Onedata { service: None },
            "[{name}] detected as Onedata text without a service indication"
        );
        assert_eq!(
            parsed.macaroon, m,
            "[{name}] Parsed::from_text gives parse's macaroon"
        );
        let inspection = Inspection::of_text(&case.token);
        assert_eq!(
            inspection.parsed.map(|p| p.macaroon).ok(),
            Some(m.clone()),
            "[{name}] inspect parses it strictly"
        );
        assert!(
            inspection.recovered.is_none(),
            "[{name}] nothing to recover"
        );
        let token = OnedataToken::parse(&case.token)
            .unwrap_or_else(|e| panic!("[{name}] OnedataToken::parse: {e}"));
        assert_eq!(token.macaroon(), &m, "[{name}] OnedataToken's macaroon");
        assert_eq!(token.service(), None, "[{name}] OnedataToken's service");

        assert_eq!(m.location(), case.location, "[{name}] location");
        assert_eq!(m.location(), LOCATION.as_bytes(), "[{name}] location text");
        assert_eq!(m.identifier(), case.identifier, "[{name}] identifier");
        assert_eq!(
            m.caveats().len(),
            case.caveats.len(),
            "[{name}] caveat count"
        );
        for (i, (c, want)) in m.caveats().iter().zip(&case.caveats).enumerate() {
            assert_eq!(c.id(), want.as_slice(), "[{name}] caveat {i} id");
            assert_eq!(c.verification_id(), None, "[{name}] caveat {i} vid");
            assert_eq!(c.location(), b"", "[{name}] caveat {i} location");
        }
        assert_eq!(
            m.signature_hex(),
            case.signature_hex,
            "[{name}] signature_hex"
        );
        assert_eq!(
            m.signature(),
            &unhex32(&case.signature_hex, name),
            "[{name}] signature bytes"
        );
    }
}

#[test]
fn every_vector_reserializes_to_the_same_text() {
    for case in cases() {
        let name = &case.name;
        let m = case.parse();
        assert_eq!(
            serialize_ok(&m, Format::Onedata, name),
            case.token,
            "[{name}] Format::Onedata gives Onedata's text byte for byte"
        );
        let v1 = serialize_ok(&m, Format::V1, name);
        assert_eq!(
            base62_unescape(&case.token).unwrap_or_else(|e| panic!("[{name}] unescape: {e}")),
            v1,
            "[{name}] the unescaped text is our V1 text"
        );
        assert_eq!(
            base62_escape(&v1),
            case.token,
            "[{name}] escaping V1 gives the text"
        );
        assert_eq!(
            parse_ok(&v1, name),
            m,
            "[{name}] the V1 text parses to the same macaroon"
        );
    }
}

#[test]
fn every_identifier_parses_and_prints_back() {
    for case in cases() {
        let name = &case.name;
        let want = &case.want;
        let parsed = OnedataIdentifier::parse_bytes(&case.identifier)
            .unwrap_or_else(|e| panic!("[{name}] identifier: {e}"));
        assert_eq!(parsed.version(), 2, "[{name}] version");
        assert_eq!(parsed.token_id(), want.token_id, "[{name}] token id");
        assert_eq!(
            parsed.persistence(),
            want.persistence,
            "[{name}] persistence"
        );
        let ParsedIdentifier::V2(id) = &parsed else {
            panic!("[{name}] not a version 2 identifier: {parsed}")
        };
        assert_eq!(id.version(), 2, "[{name}] version of the v2 identifier");
        assert_eq!(id.persistence(), want.persistence, "[{name}] persistence");
        assert_eq!(id.subject(), &want.subject, "[{name}] subject");
        assert_eq!(id.token_type(), &want.token_type, "[{name}] type");
        assert_eq!(id.id(), want.token_id, "[{name}] id");
        let (kind, target) = match &want.token_type {
            TokenType::Invite { invite, target, .. } => (Some(invite), Some(target.as_str())),
            _ => (None, None),
        };
        assert_eq!(id.invite_kind(), kind, "[{name}] invite kind");
        assert_eq!(id.invite_target(), target, "[{name}] invite target");
        assert_eq!(
            parsed.to_string().as_bytes(),
            case.identifier,
            "[{name}] prints back byte for byte"
        );
        let text = std::str::from_utf8(&case.identifier).expect("UTF-8 identifier");
        assert_eq!(
            text.parse::<ParsedIdentifier>().as_ref(),
            Ok(&parsed),
            "[{name}] FromStr agrees with parse_bytes"
        );
        let token = OnedataToken::parse(&case.token)
            .unwrap_or_else(|e| panic!("[{name}] OnedataToken::parse: {e}"));
        assert_eq!(
            token.identifier(),
            &parsed,
            "[{name}] OnedataToken's identifier"
        );
        assert_eq!(
            token.token_id(),
            want.token_id,
            "[{name}] OnedataToken's id"
        );
        assert_eq!(
            token.subject(),
            Some(&want.subject),
            "[{name}] OnedataToken's subject"
        );
    }
}

#[test]
fn every_caveat_is_typed_and_prints_back() {
    for case in cases() {
        for (i, caveat) in case.caveats.iter().enumerate() {
            let name = format!("{} caveat {i}", case.name);
            let typed = TypedCaveat::parse(caveat)
                .unwrap_or_else(|e| panic!("[{name}] {caveat:?} does not parse: {e}"));
            assert_eq!(typed, expected_typed(caveat, &name), "[{name}] typed value");
            assert_eq!(&typed.to_bytes(), caveat, "[{name}] prints back");
            assert_eq!(typed.encode().as_ref(), Ok(caveat), "[{name}] encodes back");
            let form = typed.form().expect("typed");
            assert!(
                case.supported().0.contains(&form),
                "[{name}] {form} is in the {} token's supported set",
                case.supported().1
            );
        }
    }
}

#[test]
fn every_vector_verifies_under_its_secret_in_its_context() {
    for case in cases() {
        let name = &case.name;
        let ctx = case.context();
        let result = case.verify(&case.verifier(&ctx), &case.key(), "its context");
        assert_eq!(result, Ok(()), "[{name}] verifies in {ctx:?}");
        assert!(
            case.parse().is_signed_by(&case.key()),
            "[{name}] is_signed_by"
        );
        // What the contradicting caveat's grant stands in for: without it, the context fails it.
        for &(index, why) in &case.want.contradicts {
            let bare = Verifier::new().at_time(NOW).with_context(&ctx);
            assert_eq!(
                case.verify(&bare, &case.key(), "no grant"),
                case.unmet(index, Unmet::NotAllowed),
                "[{name}] without the grant, caveat {index} fails: {why}"
            );
        }
    }
}

#[test]
fn no_vector_verifies_under_another_secret() {
    let cases = cases();
    let mut secrets: Vec<&str> = cases.iter().map(|c| c.secret.as_str()).collect();
    secrets.dedup();
    assert_eq!(secrets.len(), 5, "{FILE}: five distinct secrets");
    for case in &cases {
        let name = &case.name;
        let ctx = case.context();
        let mut others: Vec<String> = secrets
            .iter()
            .filter(|s| **s != case.secret)
            .map(|s| s.to_string())
            .collect();
        others.push(case.secret[..case.secret.len() - 1].to_owned());
        others.push(case.secret.to_uppercase());
        for other in &others {
            assert_eq!(
                case.verify(&case.verifier(&ctx), &key(other), other),
                Err(Error::Verify(VerifyError::SignatureMismatch {
                    macaroon: MacaroonRole::Root,
                    reason: None,
                })),
                "[{name}] under {other:?}"
            );
            assert!(
                !case.parse().is_signed_by(&key(other)),
                "[{name}] is_signed_by {other:?}"
            );
        }
    }
}

#[test]
fn a_missing_fact_fails_closed_at_the_caveat_that_needs_it() {
    for case in cases() {
        let name = &case.name;
        assert_eq!(
            case.want.facts.is_empty(),
            case.caveats.is_empty(),
            "[{name}] the table lists facts exactly for the tokens with caveats"
        );
        for (j, &(fact, index, reason)) in case.want.facts.iter().enumerate() {
            let ctx = case.request(Some(j));
            assert_eq!(
                case.verify(&case.verifier(&ctx), &case.key(), &format!("no {fact:?}")),
                case.unmet(index, reason),
                "[{name}] without {fact:?}"
            );
        }
        if !case.caveats.is_empty() {
            let nothing = AuthContext::new();
            assert!(
                case.verify(&case.verifier(&nothing), &case.key(), "no facts")
                    .is_err(),
                "[{name}] fails with no facts"
            );
        }
    }
}

#[test]
fn time_caveats_hold_until_their_second() {
    let mut expiring = 0;
    for case in cases() {
        let name = &case.name;
        let Some(index) = case.caveats.iter().position(|c| c.starts_with(b"time < ")) else {
            continue;
        };
        expiring += 1;
        let ctx = case.context();
        assert_eq!(
            case.verify(
                &case.verifier_at(Clock::at(EXPIRY - 1), &ctx),
                &case.key(),
                "last second"
            ),
            Ok(()),
            "[{name}] holds at {}",
            EXPIRY - 1
        );
        assert_eq!(
            case.verify(
                &case.verifier_at(Clock::at(EXPIRY), &ctx),
                &case.key(),
                "expired"
            ),
            Err(Error::Verify(VerifyError::Expired {
                macaroon: MacaroonRole::Root,
                index,
                caveat: case.caveats[index].clone(),
                expiry: EXPIRY,
                now: EXPIRY,
            })),
            "[{name}] expired at {EXPIRY}"
        );
    }
    assert_eq!(expiring, 4, "{FILE}: four vectors expire");
}

#[test]
fn invite_tokens_verify_as_onezone_does() {
    let mut invites = 0;
    for case in cases() {
        let name = &case.name;
        let TokenType::Invite {
            invite,
            target,
            parameters,
        } = &case.want.token_type
        else {
            continue;
        };
        invites += 1;
        let token = OnedataToken::parse(&case.token)
            .unwrap_or_else(|e| panic!("[{name}] OnedataToken::parse: {e}"));
        let ctx = case.context();
        let (policy, max_ttl) = match case.want.persistence {
            Persistence::Named => (InvitePolicy::default(), None),
            Persistence::Temporary { generation } => {
                let policy = InvitePolicy {
                    current_generation: Some(generation),
                    temporary_max_ttl: EXPIRY - NOW,
                    ..InvitePolicy::default()
                };
                (policy, Some(EXPIRY - NOW))
            }
        };
        let verified = token.verify_invite(&case.key(), invite.clone(), NOW, &ctx, &policy);
        match case.want.contradicts.as_slice() {
            [] => {
                let claims = verified.unwrap_or_else(|e| panic!("[{name}] verify_invite: {e}"));
                assert_eq!(claims.subject, case.want.subject, "[{name}] subject");
                assert_eq!(&claims.invite, invite, "[{name}] invite type");
                assert_eq!(&claims.target, target, "[{name}] target");
                assert_eq!(&claims.parameters, parameters, "[{name}] parameters");
                assert_eq!(claims.token_id, case.want.token_id, "[{name}] token id");
                assert_eq!(
                    claims.persistence, case.want.persistence,
                    "[{name}] persistence"
                );
                assert_eq!(claims.location, LOCATION, "[{name}] location");
                assert_eq!(claims.service, None, "[{name}] service");
                let typed: Vec<TypedCaveat> = case
                    .caveats
                    .iter()
                    .map(|c| expected_typed(c, name))
                    .collect();
                assert_eq!(
                    claims.expiry,
                    TypedCaveat::earliest_expiry(&typed),
                    "[{name}] expiry"
                );
                assert_eq!(claims.caveats, typed, "[{name}] caveats");
            }
            &[(index, why)] => {
                // verify_invite cannot accept it: no request satisfies all its caveats. It gets
                // past the kind, the generation and the signature, and fails at the caveat.
                assert_eq!(
                    verified.map(|_| ()),
                    Err(OnedataError::Macaroon(
                        case.unmet(index, Unmet::NotAllowed).unwrap_err()
                    )),
                    "[{name}] verify_invite fails at caveat {index}: {why}"
                );
                // The checks verify_invite makes (invite caveat set, lifetime cap), with the
                // contradicting caveat granted, accept every other caveat.
                let clock = |max_ttl: Option<u64>| match max_ttl {
                    Some(max_ttl) => Clock::at(NOW).with_max_ttl(max_ttl),
                    None => Clock::at(NOW),
                };
                let verifier = case.verifier_at(clock(max_ttl), &ctx);
                assert_eq!(
                    case.verify(&verifier, &case.key(), "invite checks"),
                    Ok(()),
                    "[{name}] every other caveat holds under the invite checks"
                );
                if let Some(ttl) = max_ttl {
                    let shorter = case.verifier_at(clock(Some(ttl - 1)), &ctx);
                    assert_eq!(
                        case.verify(&shorter, &case.key(), "shorter cap"),
                        Err(Error::Verify(VerifyError::LifetimeTooLong {
                            expiry: EXPIRY,
                            now: NOW,
                            max_ttl: ttl - 1,
                        })),
                        "[{name}] lives longer than a cap of {} s",
                        ttl - 1
                    );
                }
            }
            more => panic!("[{name}] one contradiction expected, the table lists {more:?}"),
        }

        // Another invite type, another secret, another generation.
        let other = InviteType::all()
            .find(|t| t != invite)
            .expect("another invite type");
        assert_eq!(
            token
                .verify_invite(&case.key(), other.clone(), NOW, &ctx, &policy)
                .map(|_| ()),
            Err(OnedataError::WrongInviteType {
                expected: other,
                found: invite.clone(),
            }),
            "[{name}] as another invite type"
        );
        assert_eq!(
            token
                .verify_invite(&key("verySecretSecret"), invite.clone(), NOW, &ctx, &policy)
                .map(|_| ()),
            Err(OnedataError::Macaroon(Error::Verify(
                VerifyError::SignatureMismatch {
                    macaroon: MacaroonRole::Root,
                    reason: None,
                }
            ))),
            "[{name}] under another secret"
        );
        if let Persistence::Temporary { generation } = case.want.persistence {
            let next = InvitePolicy {
                current_generation: Some(generation + 1),
                ..policy
            };
            assert_eq!(
                token
                    .verify_invite(&case.key(), invite.clone(), NOW, &ctx, &next)
                    .map(|_| ()),
                Err(OnedataError::Revoked {
                    generation,
                    current: generation + 1,
                }),
                "[{name}] after its generation was revoked"
            );
            let unknown = InvitePolicy {
                current_generation: None,
                ..policy
            };
            assert_eq!(
                token
                    .verify_invite(&case.key(), invite.clone(), NOW, &ctx, &unknown)
                    .map(|_| ()),
                Err(OnedataError::GenerationUnknown { generation }),
                "[{name}] with no current generation"
            );
        }
    }
    assert_eq!(invites, 15, "{FILE}: 15 invite tokens");
}

#[test]
fn access_and_identity_tokens_are_not_invites() {
    for case in cases() {
        let name = &case.name;
        if matches!(case.want.token_type, TokenType::Invite { .. }) {
            continue;
        }
        let token = OnedataToken::parse(&case.token)
            .unwrap_or_else(|e| panic!("[{name}] OnedataToken::parse: {e}"));
        assert_eq!(
            token
                .verify_invite(
                    &case.key(),
                    InviteType::UserJoinSpace,
                    NOW,
                    &case.context(),
                    &InvitePolicy::default(),
                )
                .map(|_| ()),
            Err(OnedataError::WrongTokenType {
                found: case.want.token_type.clone(),
            }),
            "[{name}] is refused as an invite"
        );
    }
}

#[test]
fn the_geo_caveats_of_two_vectors_contradict() {
    let mut contradicting = 0;
    for case in cases() {
        let name = &case.name;
        let [(region, _)] = case.want.contradicts[..] else {
            assert!(case.want.contradicts.is_empty(), "[{name}] at most one");
            continue;
        };
        contradicting += 1;
        let country = case
            .caveats
            .iter()
            .position(|c| c == b"geo.country = DE|PT")
            .unwrap_or_else(|| panic!("[{name}] has geo.country = DE|PT"));
        assert_eq!(
            case.caveats[region], b"geo.region = Africa",
            "[{name}] region"
        );
        let with_geo =
            |country_code, continent| case.context().with_geo(code(country_code), Some(continent));
        // From Germany or Portugal: the country holds, the region does not.
        for eu in ["DE", "PT"] {
            let ctx = with_geo(eu, Region::Europe);
            assert_eq!(
                case.verify(
                    &Verifier::new().at_time(NOW).with_context(&ctx),
                    &case.key(),
                    eu
                ),
                case.unmet(region, Unmet::NotAllowed),
                "[{name}] from {eu}, caveat {region} fails"
            );
        }
        // From Africa: the region holds, the country does not.
        let ctx = with_geo("ZA", Region::Africa);
        let granted = Verifier::new()
            .at_time(NOW)
            .with_context(&ctx)
            .satisfy_exact(&case.caveats[country]);
        assert_eq!(
            case.verify(&granted, &case.key(), "ZA, country granted"),
            Ok(()),
            "[{name}] from ZA, with the country granted instead, the rest holds"
        );
        assert_eq!(
            case.verify(
                &Verifier::new().at_time(NOW).with_context(&ctx),
                &case.key(),
                "ZA"
            ),
            case.unmet(country, Unmet::NotAllowed),
            "[{name}] from ZA, caveat {country} fails"
        );
    }
    assert_eq!(contradicting, 2, "{FILE}: two vectors contradict");
}

//! `caveat_parse`: the typed caveat parser never panics, prints back exactly what it read, and
//! Display → parse is the identity on typed values, including hand-built ones.
//!
//! First byte `B` + bytes: a [`Built`] value decoded with `arbitrary`; anything else: caveat text.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use macaroon_mint::caveat::{
    ApiService, ApiSpec, ConsumerKind, ConsumerSpec, CountryCode, DataPath, GriPattern, Interface,
    IpMask, List, Operation, Region, ScopeSpelling, ServiceKind, ServiceSpec, TypedCaveat,
};
use macaroon_mint::{AuthContext, Clock};

/// The `caveat_parse` target.
pub fn caveat_parse(data: &[u8]) {
    match data.split_first() {
        Some((b'B', rest)) => {
            if let Ok(built) = Built::arbitrary(&mut arbitrary::Unstructured::new(rest)) {
                built_value(&built);
            }
        }
        _ => text(data),
    }
}

/// Parses caveat text: Ok prints back byte for byte, errors point inside it.
pub fn text(data: &[u8]) {
    match TypedCaveat::parse(data) {
        Ok(c) => {
            assert_eq!(
                c.to_bytes(),
                data,
                "to_bytes differs from the parsed text: {c:?}"
            );
            match &c {
                TypedCaveat::Unknown(bytes) => assert_eq!(bytes, data),
                typed => {
                    let shown = typed.to_string();
                    assert_eq!(
                        shown.as_bytes(),
                        data,
                        "Display differs from the parsed text"
                    );
                    assert_eq!(TypedCaveat::parse(shown.as_bytes()).as_ref(), Ok(typed));
                }
            }
            assert_eq!(
                c.encode().as_deref(),
                Ok(data),
                "encode refuses a parsed caveat"
            );
            let _ = c.form();
            for (clock, ctx) in contexts(data) {
                let _ = c.check(&ctx, clock.as_ref());
            }
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(
                e.offset <= data.len(),
                "caveat error offset outside input: {e:?}"
            );
        }
    }
}

/// A few clocks and request contexts derived from the input, for the checkers.
fn contexts(data: &[u8]) -> Vec<(Option<Clock>, AuthContext)> {
    let n = data
        .iter()
        .fold(0u64, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    vec![
        (Some(Clock::at(n)), AuthContext::new()),
        (
            Some(Clock::at(n >> 8).with_leeway(n & 0xff)),
            AuthContext::new()
                .with_ip(IpAddr::V4(Ipv4Addr::from(n as u32)))
                .with_asn(n as u32)
                .with_interface(Interface::Rest)
                .in_identity_scope(),
        ),
        (
            Some(Clock::at(u64::MAX).with_leeway(u64::MAX)),
            AuthContext::new().with_ip(IpAddr::V6(Ipv6Addr::from(u128::from(n)))),
        ),
        (None, AuthContext::new()),
    ]
}

/// A hand-built typed caveat, from parts the constructors accept.
#[derive(Arbitrary, Debug)]
pub enum Built {
    /// `time < N`
    Time(u64),
    /// `ip = …`: (IPv4 or IPv6 bits, prefix or bare)
    Ip(Vec<(bool, u128, Option<u8>)>),
    /// `asn = …`
    Asn(Vec<u32>),
    /// `geo.country`
    Country(bool, Vec<[u8; 2]>),
    /// `geo.region`
    Region(bool, Vec<u8>),
    /// Identity scope, either spelling.
    Scope(bool),
    /// `service = …`: (kind, id or wildcard)
    Service(Vec<(u8, Option<String>)>),
    /// `consumer = …`
    Consumer(Vec<(u8, Option<String>)>),
    /// `interface = …`
    Interface(u8),
    /// `api = …`: (service, operation, type, id, aspect, scope)
    Api(Vec<(u8, u8, String, String, String, Option<String>)>),
    /// `data.readonly`
    DataReadonly,
    /// `data.path = …`
    DataPath(Vec<String>),
    /// `data.objectid = …`
    DataObjectId(Vec<String>),
    /// Anything.
    Unknown(Vec<u8>),
}

fn simple_id(s: &Option<String>) -> bool {
    s.as_deref()
        .is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Builds the value; `must_encode` says whether every part is one the grammar can always write.
fn build(b: &Built) -> Option<(TypedCaveat, bool)> {
    let pick = |i: u8, n: usize| usize::from(i) % n;
    let services = ServiceKind::ALL;
    let consumers = [
        ConsumerKind::User,
        ConsumerKind::Group,
        ConsumerKind::Provider,
    ];
    let interfaces = [Interface::Rest, Interface::Oneclient, Interface::Graphsync];
    let operations = [
        Operation::Create,
        Operation::Get,
        Operation::Update,
        Operation::Delete,
        Operation::All,
    ];
    Some(match b {
        Built::Time(n) => (TypedCaveat::Time(*n), true),
        Built::Ip(masks) => {
            let masks = masks
                .iter()
                .map(|&(v4, bits, prefix)| {
                    let addr = if v4 {
                        IpAddr::V4(Ipv4Addr::from(bits as u32))
                    } else {
                        IpAddr::V6(Ipv6Addr::from(bits))
                    };
                    match prefix {
                        Some(p) => IpMask::new(addr, p).ok(),
                        None => Some(IpMask::host(addr)),
                    }
                })
                .collect::<Option<Vec<_>>>()?;
            let ok = !masks.is_empty();
            (TypedCaveat::Ip(List::try_from(masks).ok()?), ok)
        }
        Built::Asn(v) => (TypedCaveat::Asn(List::try_from(v.clone()).ok()?), true),
        Built::Country(negated, codes) => {
            let codes = codes
                .iter()
                .map(|c| CountryCode::new(core::str::from_utf8(c).ok()?).ok())
                .collect::<Option<Vec<_>>>()?;
            let ok = !codes.is_empty();
            let negated = *negated;
            let codes = List::try_from(codes).ok()?;
            (TypedCaveat::Country { negated, codes }, ok)
        }
        Built::Region(negated, regions) => {
            let regions: Vec<Region> = regions
                .iter()
                .map(|&r| Region::ALL[pick(r, Region::ALL.len())])
                .collect();
            let ok = !regions.is_empty();
            let negated = *negated;
            let regions = List::try_from(regions).ok()?;
            (TypedCaveat::Region { negated, regions }, ok)
        }
        Built::Scope(old) => {
            let spelling = if *old {
                ScopeSpelling::ScopeIdentityToken
            } else {
                ScopeSpelling::AuthorizationNone
            };
            (TypedCaveat::IdentityScope(spelling), true)
        }
        Built::Service(v) => {
            let ok = !v.is_empty() && v.iter().all(|(_, id)| simple_id(id));
            let specs = v
                .iter()
                .map(|(k, id)| {
                    let kind = services[pick(*k, services.len())];
                    match id {
                        Some(id) => ServiceSpec::new(kind, id.clone()),
                        None => ServiceSpec::any(kind),
                    }
                })
                .collect::<Vec<_>>();
            (TypedCaveat::Service(List::try_from(specs).ok()?), ok)
        }
        Built::Consumer(v) => {
            let ok = !v.is_empty() && v.iter().all(|(_, id)| simple_id(id));
            let specs = v
                .iter()
                .map(|(k, id)| {
                    let kind = consumers[pick(*k, consumers.len())];
                    match id {
                        Some(id) => ConsumerSpec::new(kind, id.clone()),
                        None => ConsumerSpec::any(kind),
                    }
                })
                .collect::<Vec<_>>();
            (TypedCaveat::Consumer(List::try_from(specs).ok()?), ok)
        }
        Built::Interface(i) => (
            TypedCaveat::Interface(interfaces[pick(*i, interfaces.len())]),
            true,
        ),
        Built::Api(v) => {
            let specs = v
                .iter()
                .map(|(s, o, t, id, aspect, scope)| ApiSpec {
                    service: match pick(*s, services.len() + 1) {
                        0 => ApiService::All,
                        k => ApiService::Only(services[k - 1]),
                    },
                    operation: operations[pick(*o, operations.len())],
                    gri: GriPattern {
                        entity_type: t.clone(),
                        id: id.clone(),
                        aspect: aspect.clone(),
                        scope: scope.clone(),
                    },
                })
                .collect::<Vec<_>>();
            (TypedCaveat::Api(List::try_from(specs).ok()?), false)
        }
        Built::DataReadonly => (TypedCaveat::DataReadonly, true),
        Built::DataPath(paths) => {
            let paths = paths
                .iter()
                .map(|p| DataPath::new(p).ok())
                .collect::<Option<Vec<_>>>()?;
            let ok = !paths.is_empty();
            (TypedCaveat::DataPath(List::try_from(paths).ok()?), ok)
        }
        Built::DataObjectId(ids) => (
            TypedCaveat::DataObjectId(List::try_from(ids.clone()).ok()?),
            false,
        ),
        Built::Unknown(bytes) => (TypedCaveat::Unknown(bytes.clone()), false),
    })
}

/// A hand-built value: if it encodes, the text parses back to it and prints as itself.
pub fn built_value(b: &Built) {
    let Some((value, must_encode)) = build(b) else {
        return;
    };
    match value.encode() {
        Ok(bytes) => {
            assert_eq!(bytes, value.to_bytes(), "encode differs from to_bytes");
            assert_eq!(TypedCaveat::parse(&bytes).as_ref(), Ok(&value));
            if !matches!(value, TypedCaveat::Unknown(_)) {
                assert_eq!(value.to_string().as_bytes(), bytes, "Display differs");
            }
            text(&bytes);
        }
        Err(e) => {
            assert!(!must_encode, "{value:?} should be writable but: {e}");
            let _ = e.to_string();
        }
    }
}
